//! Tokens before the call: what budgets reserve and rate limits admit.
//!
//! Estimates are meant to err high: a budget reservation that undershoots lets a call
//! overspend, one that overshoots only holds a little headroom until the call settles.
//!
//! Cost, measured by `benches/budget.rs` on a ~300-byte two-message request: tiktoken
//! ~11 µs, the heuristic ~45 ns. We keep tiktoken for OpenAI models anyway: it is <0.01%
//! of any upstream call, the output reservation dominates short prompts' estimates, and
//! exact counts keep TPM admission in step with the provider's own TPM accounting. Long
//! prompts cost proportionally more (it is linear in the text). A profile of the whole
//! pipeline did show it (~4% of a call's CPU against an in-process mock), so admission
//! counts exactly only when a TPM limit applies, or a priced hard budget has no room for
//! [`prompt_tokens_bound`]; repeated texts are looked up, not re-tokenized (`memo`).

mod memo;

use std::sync::LazyLock;

use tiktoken_rs::CoreBPE;

use crate::config::ProviderKind;
use crate::types::{ChatRequest, Content, ContentPart, Message};

/// Output reserved when the request sets no cap. Most chat answers are far shorter; a
/// reservation is released down to the actual cost when the call settles.
pub const DEFAULT_OUTPUT_TOKENS: u64 = 4096;

/// Tokens charged per image part. OpenAI bills a 512 px tile of a high-detail image at
/// 170 tokens + 85 base; 1105 covers a 1024x1024 image in high detail (4 tiles + base,
/// rounded up), and Anthropic's (w*h)/750 gives ~1400 for its 1.15 MP maximum, so this
/// sits between the two. A low-detail OpenAI image is 85, so they are overestimated.
pub const IMAGE_TOKENS: u64 = 1105;

/// OpenAI's documented chat framing: every message costs ~3 tokens around its content
/// (role and separators), a `name` one more, and the reply is primed with 3.
const TOKENS_PER_MESSAGE: u64 = 3;
const TOKENS_PER_NAME: u64 = 1;
const REPLY_PRIMING: u64 = 3;

/// Heuristic for providers whose tokenizer we do not ship: 3.5 UTF-8 bytes per token.
/// English runs ~4 characters per token on Claude and Gemini tokenizers, so 3.5 errs high
/// for prose and about even for code. Bytes, not chars: CJK and other non-Latin scripts
/// take 2-3 bytes per char and about a token per char or two, so counting bytes keeps
/// them from being underestimated 2-3x, and a length is O(1) where a char count is not.
const HEURISTIC_BYTES_PER_TOKEN: f64 = 3.5;

/// Which byte-pair encoding an OpenAI model uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Encoding {
    O200k,
    Cl100k,
}

static O200K: LazyLock<Option<CoreBPE>> =
    LazyLock::new(|| load("o200k_base", tiktoken_rs::o200k_base));
static CL100K: LazyLock<Option<CoreBPE>> =
    LazyLock::new(|| load("cl100k_base", tiktoken_rs::cl100k_base));

/// Loads both encodings on a background thread. Parsing a BPE takes ~100 ms (far more in
/// a debug build); doing it when a config that counts tokens exactly is built keeps it off
/// the first call's latency. The tables then hold ~70 MB for the life of the process, so a
/// config that never counts exactly never loads them (they load on first use otherwise).
pub fn warm_up_in_background() {
    static STARTED: std::sync::Once = std::sync::Once::new();
    STARTED.call_once(|| {
        let spawned = std::thread::Builder::new()
            .name("switchyard-tokenizer-warm-up".into())
            .spawn(|| {
                LazyLock::force(&O200K);
                LazyLock::force(&CL100K);
            });
        if let Err(error) = spawned {
            tracing::debug!(%error, "tokenizer warm-up thread not started; the first call loads it");
        }
    });
}

fn load<E: std::fmt::Display>(name: &str, f: fn() -> Result<CoreBPE, E>) -> Option<CoreBPE> {
    match f() {
        Ok(bpe) => Some(bpe),
        Err(err) => {
            tracing::error!(encoding = name, error = %err, "tokenizer failed to load; using the character heuristic");
            None
        }
    }
}

/// gpt-4o, gpt-4.1, gpt-5 and the o-series use o200k; older GPT-4/3.5 and the
/// embeddings models cl100k. Unknown names on OpenAI-compatible servers (Llama, Qwen,
/// DeepSeek...) use neither: the heuristic is as good a guess and cheaper.
fn encoding_for(model: &str) -> Option<Encoding> {
    let m = model.rsplit('/').next().unwrap_or(model);
    let o_series =
        m.len() > 1 && m.starts_with('o') && m.as_bytes().get(1).is_some_and(u8::is_ascii_digit);
    if m.starts_with("gpt-4o")
        || m.starts_with("gpt-4.1")
        || m.starts_with("gpt-4.5")
        || m.starts_with("gpt-5")
        || m.starts_with("chatgpt-4o")
        || o_series
    {
        Some(Encoding::O200k)
    } else if m.starts_with("gpt-4") || m.starts_with("gpt-3.5") || m.starts_with("text-embedding-")
    {
        Some(Encoding::Cl100k)
    } else {
        None
    }
}

fn bpe_for(kind: ProviderKind, model: &str) -> Option<&'static CoreBPE> {
    if !matches!(kind, ProviderKind::OpenAi | ProviderKind::Azure) {
        return None;
    }
    match encoding_for(model)? {
        Encoding::O200k => O200K.as_ref(),
        Encoding::Cl100k => CL100K.as_ref(),
    }
}

/// Prompt tokens of `request` as `upstream_model` at `kind` will count them, before the call.
///
/// OpenAI and Azure models with a known encoding are tokenized with tiktoken plus OpenAI's
/// per-message framing. Other providers and unknown models use ceil(bytes / 3.5) plus the
/// same framing: deliberately high (see [`HEURISTIC_BYTES_PER_TOKEN`]), because the number
/// sizes a budget reservation. Images count [`IMAGE_TOKENS`] each; tools count their JSON.
pub fn prompt_tokens(kind: ProviderKind, upstream_model: &str, request: &ChatRequest) -> u64 {
    match bpe_for(kind, upstream_model) {
        Some(bpe) => framed_tokens(request, &|text| counted(bpe, text)),
        None => framed_tokens(request, &heuristic_tokens),
    }
}

/// A bound [`prompt_tokens`] never exceeds, in nanoseconds instead of microseconds: a
/// byte-level BPE token spans at least one byte, so a text's bytes bound its tokens.
/// Models without a shipped tokenizer get the heuristic itself, which is already cheap.
///
/// A budget with room for the bound need not know the exact count: admission reserves
/// the bound and tokenizes only when the bound does not fit (see the pipeline's `admit`).
pub fn prompt_tokens_bound(kind: ProviderKind, upstream_model: &str, request: &ChatRequest) -> u64 {
    match bpe_for(kind, upstream_model) {
        Some(_) => framed_tokens(request, &|text| text.len() as u64),
        None => framed_tokens(request, &heuristic_tokens),
    }
}

/// A request's prompt with each text counted by `count`, plus the chat framing.
fn framed_tokens(request: &ChatRequest, count: &dyn Fn(&str) -> u64) -> u64 {
    let mut total = REPLY_PRIMING;
    for message in &request.messages {
        total = total.saturating_add(message_tokens(message, count));
    }
    if let Some(tools) = &request.tools {
        for tool in tools {
            // Providers render tools in their own formats; the JSON is a fair, slightly high proxy.
            let json = serde_json::to_string(tool).unwrap_or_default();
            total = total.saturating_add(count(&json));
        }
    }
    if let Some(format) = &request.response_format {
        let json = serde_json::to_string(format).unwrap_or_default();
        total = total.saturating_add(count(&json));
    }
    total
}

/// Texts shorter than this are tokenized every time: hashing them would cost about as
/// much.
const MEMO_MIN_BYTES: usize = 16;

/// Tokenizing is the costliest step of admission (~10 µs for a paragraph), and real
/// traffic repeats its long texts: the system prompt of every call, and every earlier
/// turn of a conversation, re-sent with each new one. So counts are remembered by a
/// 128-bit hash of the text, seeded by the encoding.
fn counted(bpe: &'static CoreBPE, text: &str) -> u64 {
    if text.len() < MEMO_MIN_BYTES {
        return bpe.encode_ordinary(text).len() as u64;
    }
    let seed = std::ptr::from_ref(bpe) as u64;
    let hash = xxhash_rust::xxh3::xxh3_128_with_seed(text.as_bytes(), seed);
    if let Some(tokens) = memo::get(hash) {
        return tokens;
    }
    let tokens = bpe.encode_ordinary(text).len() as u64;
    memo::put(hash, tokens);
    tokens
}

fn message_tokens(message: &Message, count: &dyn Fn(&str) -> u64) -> u64 {
    let mut n = TOKENS_PER_MESSAGE;
    if let Some(name) = &message.name {
        n = n.saturating_add(TOKENS_PER_NAME + count(name));
    }
    match &message.content {
        None => {}
        Some(Content::Text(text)) => n = n.saturating_add(count(text)),
        Some(Content::Parts(parts)) => {
            for part in parts {
                let t = match part {
                    ContentPart::Text { text } => count(text),
                    ContentPart::ImageUrl { .. } => IMAGE_TOKENS,
                    // Audio, files...: their JSON, which for inline data (base64) errs very high.
                    ContentPart::Other(v) => count(&v.to_string()),
                };
                n = n.saturating_add(t);
            }
        }
    }
    if let Some(calls) = &message.tool_calls {
        for call in calls {
            let json = serde_json::to_string(call).unwrap_or_default();
            n = n.saturating_add(count(&json));
        }
    }
    if let Some(id) = &message.tool_call_id {
        n = n.saturating_add(count(id));
    }
    n
}

/// ceil(bytes / 3.5).
fn heuristic_tokens(text: &str) -> u64 {
    (text.len() as f64 / HEURISTIC_BYTES_PER_TOKEN).ceil() as u64
}

/// Tokens of a bare text by the character heuristic: for embeddings input and for the
/// part of a stream that was generated before it broke (no usage chunk arrived).
pub fn text_tokens(text: &str) -> u64 {
    heuristic_tokens(text)
}

/// Output tokens to reserve: the request's cap, or [`DEFAULT_OUTPUT_TOKENS`] without one.
/// `n` choices multiply it, since each is billed.
pub fn output_tokens(request: &ChatRequest) -> u64 {
    let per_choice = request
        .output_token_limit()
        .map_or(DEFAULT_OUTPUT_TOKENS, u64::from);
    per_choice.saturating_mul(u64::from(request.n.unwrap_or(1).max(1)))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::types::{ImageUrl, Tool};

    fn req(messages: Vec<Message>) -> ChatRequest {
        ChatRequest::new("alias", messages)
    }

    #[test]
    fn openai_count_matches_documented_framing() {
        // "hello world" is 2 tokens in both o200k and cl100k.
        let r = req(vec![Message::user("hello world")]);
        assert_eq!(prompt_tokens(ProviderKind::OpenAi, "gpt-4o", &r), 3 + 2 + 3);
        assert_eq!(prompt_tokens(ProviderKind::Azure, "gpt-4", &r), 3 + 2 + 3);
        let two = req(vec![
            Message::system("hello world"),
            Message::user("hello world"),
        ]);
        assert_eq!(
            prompt_tokens(ProviderKind::OpenAi, "gpt-4.1-mini", &two),
            3 + 2 * 5
        );
    }

    #[test]
    fn the_bound_is_never_below_the_exact_count() {
        let texts = [
            "hello world",
            "Suggest one city to visit in spring, request 42.",
            "日本語のテキストはトークンが多い。",
            "fn main() { println!(\"{}\", 1 + 2); }",
            "",
        ];
        for text in texts {
            let r = req(vec![Message::system("Be brief."), Message::user(text)]);
            for model in ["gpt-4o-mini", "gpt-4"] {
                let exact = prompt_tokens(ProviderKind::OpenAi, model, &r);
                let bound = prompt_tokens_bound(ProviderKind::OpenAi, model, &r);
                assert!(
                    bound >= exact,
                    "{model} {text:?}: bound {bound} < exact {exact}"
                );
            }
            // Without a tokenizer the heuristic is both.
            assert_eq!(
                prompt_tokens_bound(ProviderKind::Anthropic, "claude-x", &r),
                prompt_tokens(ProviderKind::Anthropic, "claude-x", &r)
            );
        }
    }

    #[test]
    fn encodings_by_model() {
        assert_eq!(encoding_for("gpt-4o-mini"), Some(Encoding::O200k));
        assert_eq!(encoding_for("gpt-5-nano"), Some(Encoding::O200k));
        assert_eq!(encoding_for("o3"), Some(Encoding::O200k));
        assert_eq!(encoding_for("o4-mini-2025-04-16"), Some(Encoding::O200k));
        assert_eq!(encoding_for("gpt-4-turbo"), Some(Encoding::Cl100k));
        assert_eq!(encoding_for("gpt-3.5-turbo"), Some(Encoding::Cl100k));
        assert_eq!(
            encoding_for("text-embedding-3-small"),
            Some(Encoding::Cl100k)
        );
        assert_eq!(encoding_for("openai/gpt-4o"), Some(Encoding::O200k));
        assert_eq!(encoding_for("llama-3.1-8b"), None);
        assert_eq!(encoding_for("omni"), None);
        assert_eq!(encoding_for(""), None);
    }

    #[test]
    fn heuristic_errs_high_for_prose() {
        let text = "The quick brown fox jumps over the lazy dog. ".repeat(20);
        let r = req(vec![Message::user(text.clone())]);
        let heuristic = prompt_tokens(ProviderKind::Anthropic, "claude-sonnet-4-5", &r);
        let exact = prompt_tokens(ProviderKind::OpenAi, "gpt-4o", &r);
        assert!(heuristic > exact, "{heuristic} vs {exact}");
        assert_eq!(heuristic, 3 + 3 + (text.len() as f64 / 3.5).ceil() as u64);
        // An unknown model on an OpenAI-compatible server uses the heuristic too.
        assert_eq!(
            prompt_tokens(ProviderKind::OpenAi, "llama-3.1-8b", &r),
            heuristic
        );
    }

    #[test]
    fn images_and_tools_count() {
        let base = req(vec![Message::user("look")]);
        let mut with_image = base.clone();
        with_image.messages[0].content = Some(Content::Parts(vec![
            ContentPart::Text {
                text: "look".into(),
            },
            ContentPart::ImageUrl {
                image_url: ImageUrl {
                    url: "https://example.com/a.png".into(),
                    detail: None,
                    extra: Default::default(),
                },
            },
        ]));
        let b = prompt_tokens(ProviderKind::OpenAi, "gpt-4o", &base);
        let i = prompt_tokens(ProviderKind::OpenAi, "gpt-4o", &with_image);
        assert_eq!(i, b + IMAGE_TOKENS);

        let mut with_tool = base.clone();
        with_tool.tools = Some(vec![Tool::function(
            "get_weather",
            "Weather for a city",
            json!({"type": "object", "properties": {"city": {"type": "string"}}}),
        )]);
        assert!(prompt_tokens(ProviderKind::Gemini, "gemini-2.5-flash", &with_tool) > b + 10);
    }

    #[test]
    fn empty_and_odd_input_do_not_panic() {
        let r = req(vec![]);
        assert_eq!(prompt_tokens(ProviderKind::OpenAi, "gpt-4o", &r), 3);
        let mut m = Message::assistant("");
        m.content = None;
        let r = req(vec![m, Message::user("日本語のテキスト\u{0}\u{FFFF}")]);
        assert!(prompt_tokens(ProviderKind::Anthropic, "x", &r) > 6);
        assert!(prompt_tokens(ProviderKind::OpenAi, "gpt-4o", &r) > 6);
    }

    #[test]
    fn output_limit_or_default() {
        let mut r = req(vec![Message::user("hi")]);
        assert_eq!(output_tokens(&r), DEFAULT_OUTPUT_TOKENS);
        r.max_tokens = Some(100);
        assert_eq!(output_tokens(&r), 100);
        r.max_completion_tokens = Some(50);
        assert_eq!(output_tokens(&r), 50);
        r.n = Some(3);
        assert_eq!(output_tokens(&r), 150);
        r.n = Some(0);
        assert_eq!(output_tokens(&r), 50);
    }
}
