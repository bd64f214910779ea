//! What a call costs: a pinned price table shipped with the crate, and the arithmetic.
//!
//! Prices live in `data/prices.json` (USD per 1M tokens, with the date they were taken) so
//! a price change is a data diff, not a code change. Deployments can override them.

use std::sync::LazyLock;

use serde::Deserialize;

use crate::config::{DeploymentConfig, Price, ProviderKind};
use crate::types::Usage;

const BUILTIN_JSON: &str = include_str!("../data/prices.json");

/// One row of the shipped table.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
struct Entry {
    provider: PriceProvider,
    model: String,
    input: f64,
    output: f64,
    #[serde(default)]
    cached_input: Option<f64>,
}

/// The price table knows three price lists; Azure bills OpenAI's models at OpenAI's list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "snake_case")]
enum PriceProvider {
    #[serde(rename = "openai")]
    OpenAi,
    Anthropic,
    Gemini,
    /// Bedrock's own list, by model id (`amazon.nova-pro-v1:0`).
    Bedrock,
}

impl PriceProvider {
    fn of(kind: ProviderKind) -> Option<Self> {
        match kind {
            ProviderKind::OpenAi | ProviderKind::Azure => Some(PriceProvider::OpenAi),
            ProviderKind::Anthropic => Some(PriceProvider::Anthropic),
            ProviderKind::Gemini => Some(PriceProvider::Gemini),
            ProviderKind::Bedrock => Some(PriceProvider::Bedrock),
            // Presets and Azure AI serve other vendors' models under their own names, and
            // Vertex's prices are not in the table yet: priced by the deployment's `price`
            // until the table lists them (else 0).
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct TableFile {
    taken: String,
    source: String,
    models: Vec<Entry>,
}

/// Model prices by provider, as of `taken`.
#[derive(Debug, Clone, Default)]
pub struct PriceTable {
    taken: String,
    source: String,
    entries: Vec<Entry>,
}

static BUILTIN: LazyLock<PriceTable> = LazyLock::new(|| {
    match PriceTable::from_json(BUILTIN_JSON) {
        Ok(table) => table,
        Err(err) => {
            // A unit test parses the file, so this only happens if that test was skipped.
            tracing::error!(error = %err, "shipped price table is malformed; costs will be unknown");
            PriceTable::default()
        }
    }
});

impl PriceTable {
    /// The table shipped in the crate, parsed on first use.
    pub fn builtin() -> &'static PriceTable {
        &BUILTIN
    }

    /// Parses a table in the `data/prices.json` format; negative or non-finite prices are refused.
    pub fn from_json(json: &str) -> Result<PriceTable, serde_json::Error> {
        let file: TableFile = serde_json::from_str(json)?;
        for e in &file.models {
            let prices = [e.input, e.output, e.cached_input.unwrap_or(0.0)];
            if prices.iter().any(|p| !(p.is_finite() && *p >= 0.0)) {
                return Err(serde::de::Error::custom(format!(
                    "model '{}': prices must be finite and >= 0",
                    e.model
                )));
            }
        }
        Ok(PriceTable {
            taken: file.taken,
            source: file.source,
            entries: file.models,
        })
    }

    /// The date (YYYY-MM-DD) the prices were taken.
    pub fn taken(&self) -> &str {
        &self.taken
    }

    pub fn source(&self) -> &str {
        &self.source
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The price of `model` at `kind`: an exact name first, else the longest entry that is
    /// the name minus a version suffix (`gpt-4o-2024-08-06`, `claude-3-5-sonnet-20241022`,
    /// `claude-sonnet-4-5-latest`, `gemini-2.0-flash-001`). `gpt-4o` never prices
    /// `gpt-4o-mini-...`: what follows the entry must be only a version.
    pub fn lookup(&self, kind: ProviderKind, model: &str) -> Option<Price> {
        let provider = PriceProvider::of(kind)?;
        // A cross-region inference profile (`us.`, `eu.`, `apac.`, `global.`) bills as its model.
        let model = match provider {
            PriceProvider::Bedrock => model
                .split_once('.')
                .filter(|(geo, rest)| geo.len() <= 6 && rest.contains('.'))
                .map_or(model, |(_, rest)| rest),
            _ => model,
        };
        let mut best: Option<&Entry> = None;
        for e in self.entries.iter().filter(|e| e.provider == provider) {
            if e.model == model {
                return Some(e.price());
            }
            let versioned = model
                .strip_prefix(e.model.as_str())
                .and_then(|rest| rest.strip_prefix('-'))
                .is_some_and(is_version_suffix);
            if versioned && best.is_none_or(|b| e.model.len() > b.model.len()) {
                best = Some(e);
            }
        }
        best.map(Entry::price)
    }
}

impl Entry {
    fn price(&self) -> Price {
        Price {
            input: self.input,
            output: self.output,
            cached_input: self.cached_input,
        }
    }
}

/// `latest`, or dash-separated groups of digits (`2024-08-06`, `20241022`, `001`).
fn is_version_suffix(rest: &str) -> bool {
    rest == "latest"
        || (!rest.is_empty()
            && rest
                .split('-')
                .all(|g| !g.is_empty() && g.bytes().all(|b| b.is_ascii_digit())))
}

/// USD for one call: cached prompt tokens at `cached_input` (or `input` when the price has
/// none), the rest of the prompt at `input`, completion tokens at `output`.
pub fn cost_usd(price: &Price, usage: &Usage) -> f64 {
    let cached = usage.cached_tokens().min(usage.prompt_tokens);
    let fresh = usage.prompt_tokens - cached;
    let cached_rate = price.cached_input.unwrap_or(price.input);
    let usd = (fresh as f64 * price.input
        + cached as f64 * cached_rate
        + usage.completion_tokens as f64 * price.output)
        / 1_000_000.0;
    if usd.is_finite() { usd.max(0.0) } else { 0.0 }
}

/// The price of a deployment: its own `price` override, else the shipped table. A local
/// (in-process) model costs nothing unless its deployment says otherwise.
pub fn price_for(deployment: &DeploymentConfig, kind: ProviderKind) -> Option<Price> {
    if kind == ProviderKind::Local {
        return Some(deployment.price.unwrap_or(Price {
            input: 0.0,
            output: 0.0,
            cached_input: None,
        }));
    }
    deployment
        .price
        .or_else(|| PriceTable::builtin().lookup(kind, &deployment.model))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bedrock_ids_and_inference_profiles_are_priced() {
        let t = PriceTable::builtin();
        let nova = t
            .lookup(ProviderKind::Bedrock, "amazon.nova-pro-v1:0")
            .unwrap();
        assert_eq!((nova.input, nova.output), (0.80, 3.20));
        let profile = t
            .lookup(
                ProviderKind::Bedrock,
                "us.anthropic.claude-3-5-haiku-20241022-v1:0",
            )
            .unwrap();
        assert_eq!(profile.input, 0.80);
        assert!(
            t.lookup(ProviderKind::Bedrock, "amazon.titan-text-lite-v1")
                .is_none()
        );
    }

    #[test]
    fn shipped_table_parses_and_is_dated() {
        let table = PriceTable::from_json(BUILTIN_JSON).unwrap();
        assert!(table.len() >= 25);
        let t = table.taken();
        assert_eq!(t.len(), 10, "taken must be YYYY-MM-DD: {t}");
        assert!(t.as_bytes()[4] == b'-' && t.as_bytes()[7] == b'-');
        assert!(!table.source().is_empty());
        assert_eq!(PriceTable::builtin().len(), table.len());
    }

    #[test]
    fn shipped_table_has_no_duplicates() {
        let table = PriceTable::builtin();
        let mut seen = std::collections::HashSet::new();
        for e in &table.entries {
            assert!(
                seen.insert((e.provider, e.model.clone())),
                "dup {}",
                e.model
            );
        }
    }

    #[test]
    fn exact_and_dated_names() {
        let t = PriceTable::builtin();
        let mini = t.lookup(ProviderKind::OpenAi, "gpt-4o-mini").unwrap();
        assert_eq!(mini.input, 0.15);
        assert_eq!(mini.output, 0.60);
        assert_eq!(mini.cached_input, Some(0.075));
        let dated = t.lookup(ProviderKind::OpenAi, "gpt-4o-2024-08-06").unwrap();
        assert_eq!(dated.input, 2.50);
        let dated_mini = t
            .lookup(ProviderKind::OpenAi, "gpt-4o-mini-2024-07-18")
            .unwrap();
        assert_eq!(dated_mini, mini);
        let sonnet = t
            .lookup(ProviderKind::Anthropic, "claude-3-5-sonnet-20241022")
            .unwrap();
        assert_eq!(sonnet.input, 3.0);
        let s45 = t
            .lookup(ProviderKind::Anthropic, "claude-sonnet-4-5-20250929")
            .unwrap();
        assert_eq!(s45.cached_input, Some(0.30));
        let opus4 = t
            .lookup(ProviderKind::Anthropic, "claude-opus-4-20250514")
            .unwrap();
        assert_eq!(opus4.input, 15.0);
        let opus45 = t
            .lookup(ProviderKind::Anthropic, "claude-opus-4-5-20251101")
            .unwrap();
        assert_eq!(opus45.input, 5.0);
        let latest = t
            .lookup(ProviderKind::Anthropic, "claude-3-7-sonnet-latest")
            .unwrap();
        assert_eq!(latest.output, 15.0);
        let flash = t
            .lookup(ProviderKind::Gemini, "gemini-2.0-flash-001")
            .unwrap();
        assert_eq!(flash.input, 0.10);
    }

    #[test]
    fn prefix_must_be_followed_by_a_version() {
        let t = PriceTable::builtin();
        // gpt-4o must not price an unknown gpt-4o variant.
        assert_eq!(t.lookup(ProviderKind::OpenAi, "gpt-4o-audio-preview"), None);
        assert_eq!(t.lookup(ProviderKind::OpenAi, "gpt-4o-"), None);
        assert_eq!(t.lookup(ProviderKind::OpenAi, "gpt-4oo"), None);
        // gemini-2.5-flash must not price gemini-2.5-flash-lite: it has its own entry.
        let lite = t
            .lookup(ProviderKind::Gemini, "gemini-2.5-flash-lite")
            .unwrap();
        assert_eq!(lite.input, 0.10);
        assert_eq!(
            t.lookup(ProviderKind::Gemini, "gemini-2.5-flash-image"),
            None
        );
        assert_eq!(t.lookup(ProviderKind::OpenAi, ""), None);
    }

    #[test]
    fn providers_are_separate_and_azure_uses_openai() {
        let t = PriceTable::builtin();
        assert_eq!(t.lookup(ProviderKind::Anthropic, "gpt-4o"), None);
        assert_eq!(
            t.lookup(ProviderKind::Azure, "gpt-4.1"),
            t.lookup(ProviderKind::OpenAi, "gpt-4.1")
        );
    }

    #[test]
    fn cost_splits_cached_fresh_and_output() {
        let price = Price {
            input: 2.0,
            output: 8.0,
            cached_input: Some(0.5),
        };
        let usage = Usage::new(1_000_000, 500_000).with_cached_tokens(400_000);
        let usd = cost_usd(&price, &usage);
        assert!(
            (usd - (0.6 * 2.0 + 0.4 * 0.5 + 0.5 * 8.0)).abs() < 1e-9,
            "{usd}"
        );
        // No cached price: cached tokens cost the input rate.
        let plain = Price {
            cached_input: None,
            ..price
        };
        assert!((cost_usd(&plain, &usage) - (2.0 + 4.0)).abs() < 1e-9);
        // More cached tokens than prompt tokens (a provider bug) does not underflow.
        let odd = Usage::new(10, 0).with_cached_tokens(50);
        assert!(cost_usd(&price, &odd) >= 0.0);
    }

    #[test]
    fn override_wins() {
        let mut d = DeploymentConfig::new("openai", "gpt-4o");
        assert_eq!(price_for(&d, ProviderKind::OpenAi).unwrap().input, 2.5);
        d.price = Some(Price {
            input: 1.0,
            output: 1.0,
            cached_input: None,
        });
        assert_eq!(price_for(&d, ProviderKind::OpenAi).unwrap().input, 1.0);
        let unknown = DeploymentConfig::new("local", "llama-3-8b");
        assert_eq!(price_for(&unknown, ProviderKind::OpenAi), None);
    }

    #[test]
    fn malformed_tables_are_errors() {
        assert!(PriceTable::from_json("{").is_err());
        let neg = r#"{"taken":"2026-01-01","source":"x","models":[
            {"provider":"openai","model":"m","input":-1,"output":1}]}"#;
        assert!(PriceTable::from_json(neg).is_err());
    }
}
