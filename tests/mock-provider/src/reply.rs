//! The provider-neutral answer to one call, derived from the step and the request.
//!
//! Each provider module only translates this into its own wire format, so all
//! three agree on text, chunking, tool calls and usage for the same step.

use std::time::Duration;

use crate::script::{Defaults, FinishReason, Step, ToolCall};

/// What the mock assistant says, before any provider formatting.
pub(crate) struct Reply<'a> {
    pub(crate) model: &'a str,
    /// Reply text; `None` when the step only makes tool calls.
    pub(crate) text: Option<String>,
    /// Stream deltas; their concatenation equals `text`.
    pub(crate) chunks: Vec<String>,
    pub(crate) tool_calls: &'a [ToolCall],
    pub(crate) finish: FinishReason,
    pub(crate) prompt_tokens: u64,
    pub(crate) completion_tokens: u64,
    pub(crate) cached_tokens: u64,
}

impl<'a> Reply<'a> {
    pub(crate) fn new(
        step: &'a Step,
        model: &'a str,
        body: &serde_json::Value,
        raw: &[u8],
    ) -> Reply<'a> {
        let text = if step.echo {
            Some(String::from_utf8_lossy(raw).into_owned())
        } else if let Some(chunks) = &step.chunks {
            Some(chunks.concat())
        } else if let Some(content) = &step.content {
            Some(content.clone())
        } else if step.tool_calls.is_empty() {
            Some(format!("Hello from {model}"))
        } else {
            None
        };
        let chunks = match (&step.chunks, &text) {
            (Some(chunks), _) if !step.echo => chunks.clone(),
            (_, Some(text)) => split_words(text),
            (_, None) => Vec::new(),
        };
        let finish = step.finish_reason.unwrap_or(if step.tool_calls.is_empty() {
            FinishReason::Stop
        } else {
            FinishReason::ToolCalls
        });
        let usage = step.usage.unwrap_or_default();
        let prompt_tokens = usage
            .prompt_tokens
            .unwrap_or_else(|| estimate_prompt_tokens(body));
        let completion_tokens = usage
            .completion_tokens
            .unwrap_or((chunks.len() + step.tool_calls.len()) as u64);
        Reply {
            model,
            text,
            chunks,
            tool_calls: &step.tool_calls,
            finish,
            prompt_tokens,
            completion_tokens,
            cached_tokens: usage.cached_tokens.unwrap_or(0),
        }
    }
}

/// Stream pacing resolved from the step and the script defaults.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Pacing {
    pub(crate) ttft: Duration,
    pub(crate) inter_token: Duration,
}

impl Pacing {
    pub(crate) fn new(step: &Step, defaults: Defaults) -> Pacing {
        Pacing {
            ttft: Duration::from_millis(step.ttft_ms.unwrap_or(defaults.ttft_ms)),
            inter_token: Duration::from_millis(
                step.inter_token_ms.unwrap_or(defaults.inter_token_ms),
            ),
        }
    }
}

/// Delay before the response headers: latency plus uniform jitter.
pub(crate) fn header_delay(step: &Step, defaults: Defaults) -> Duration {
    let latency = step.latency_ms.unwrap_or(defaults.latency_ms);
    let jitter = step.jitter_ms.unwrap_or(defaults.jitter_ms);
    let extra = if jitter == 0 {
        0
    } else {
        rand::random_range(0..=jitter)
    };
    Duration::from_millis(latency + extra)
}

/// Split text into word-sized pieces, each starting with its leading whitespace,
/// so that the pieces concatenate back to the text exactly.
pub(crate) fn split_words(text: &str) -> Vec<String> {
    let mut pieces = Vec::new();
    let mut start = 0;
    let mut prev_space = true;
    for (i, c) in text.char_indices() {
        let space = c.is_whitespace();
        if space && !prev_space && i > start {
            pieces.push(text[start..i].to_owned());
            start = i;
        }
        prev_space = space;
    }
    if start < text.len() {
        pieces.push(text[start..].to_owned());
    }
    pieces
}

/// Split tool-call arguments into at least two pieces (when long enough) so clients
/// must reassemble them.
pub(crate) fn split_arguments(args: &str) -> Vec<String> {
    let chars: Vec<char> = args.chars().collect();
    if chars.len() < 2 {
        return vec![args.to_owned()];
    }
    let size = chars.len().div_ceil(3).max(1);
    chars
        .chunks(size)
        .map(|c| c.iter().collect::<String>())
        .collect()
}

/// Keys whose string values are message text in any of the three request formats.
const TEXT_KEYS: [&str; 5] = ["content", "text", "system", "input", "prompt"];

/// Default prompt tokens: ceil(characters of all message text / 4).
pub(crate) fn estimate_prompt_tokens(body: &serde_json::Value) -> u64 {
    (text_chars(body, false) as u64).div_ceil(4)
}

fn text_chars(v: &serde_json::Value, counting: bool) -> usize {
    match v {
        serde_json::Value::String(s) if counting => s.chars().count(),
        serde_json::Value::Array(items) => items.iter().map(|x| text_chars(x, counting)).sum(),
        serde_json::Value::Object(map) => map
            .iter()
            .map(|(k, x)| {
                text_chars(
                    x,
                    TEXT_KEYS.contains(&k.as_str()) || (counting && k == "parts"),
                )
            })
            .sum(),
        _ => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_keep_their_spaces() {
        assert_eq!(
            split_words("Hello there  friend"),
            ["Hello", " there", "  friend"]
        );
        assert_eq!(split_words(" lead"), [" lead"]);
        assert!(split_words("").is_empty());
    }

    #[test]
    fn arguments_split_in_at_least_two() {
        let parts = split_arguments(r#"{"city":"Paris"}"#);
        assert!(parts.len() >= 2);
        assert_eq!(parts.concat(), r#"{"city":"Paris"}"#);
    }

    #[test]
    fn prompt_tokens_count_message_text_only() {
        let body = serde_json::json!({
            "model": "m",
            "messages": [{"role": "user", "content": "12345678"},
                         {"role": "user", "content": [{"type": "text", "text": "1"}]}]
        });
        assert_eq!(estimate_prompt_tokens(&body), 3);
    }
}
