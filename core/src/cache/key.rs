//! Cache keys: a stable 128-bit hash of what decides a request's answer, and nothing else.
//!
//! The request is hashed through a borrowed, canonical view of it (fixed field order, sorted
//! `extra` keys, `stop` always a list) streamed straight into the hasher, so a hit costs no
//! big allocation. Fields that cannot change the answer (`user`, `metadata`, `stream`,
//! `stream_options`) are left out: a streamed and a non-streamed call share a key.

use std::fmt;
use std::io;

use serde::ser::{SerializeMap, SerializeSeq};
use serde::{Serialize, Serializer};
use serde_json::Value;
use xxhash_rust::xxh3::Xxh3;

use crate::types::{
    ChatRequest, EmbeddingInput, EmbeddingRequest, Extra, Message, ResponseFormat, Stop, Tool,
    ToolChoice,
};

/// Identifies one cacheable request. Hex-formatted (32 digits) for the shared tier.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct CacheKey(u128);

impl CacheKey {
    /// The raw hash, for callers that key their own maps by it.
    pub fn as_u128(self) -> u128 {
        self.0
    }
}

impl From<u128> for CacheKey {
    fn from(value: u128) -> Self {
        CacheKey(value)
    }
}

impl fmt::Display for CacheKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:032x}", self.0)
    }
}

/// Domain tags: a chat and an embedding request can never share a key, and a change to the
/// canonical form bumps the version instead of silently serving answers keyed the old way.
const CHAT_DOMAIN: &[u8] = b"switchyard/chat/v1\0";
const EMBEDDING_DOMAIN: &[u8] = b"switchyard/embedding/v1\0";

/// The key of a chat request sent to model `alias`.
pub fn chat_key(alias: &str, request: &ChatRequest) -> CacheKey {
    hash_canonical(CHAT_DOMAIN, &ChatKeyView::new(alias, request))
}

/// The key of an embedding request sent to model `alias`.
pub fn embedding_key(alias: &str, request: &EmbeddingRequest) -> CacheKey {
    hash_canonical(EMBEDDING_DOMAIN, &EmbeddingKeyView::new(alias, request))
}

/// Streams the canonical JSON of `view` into xxh3-128.
fn hash_canonical<T: Serialize>(domain: &[u8], view: &T) -> CacheKey {
    let mut writer = HashWriter::new();
    writer.hasher.update(domain);
    match serde_json::to_writer(&mut writer, view) {
        Ok(()) => CacheKey(writer.finish()),
        Err(error) => {
            // Unreachable with today's types (string keys only); if it ever happens, a key
            // nothing else shares makes the request a miss rather than a wrong answer.
            tracing::warn!(%error, "cache key: request did not serialise; not caching it");
            CacheKey(rand::random())
        }
    }
}

/// Feeds serialised bytes to the hasher without building the string. serde_json writes in
/// many tiny pieces (a quote, a colon), so they are gathered in a stack buffer first: one
/// hasher update per 256 bytes instead of per token.
struct HashWriter {
    hasher: Xxh3,
    buf: [u8; 256],
    len: usize,
}

impl HashWriter {
    fn new() -> Self {
        HashWriter {
            hasher: Xxh3::new(),
            buf: [0; 256],
            len: 0,
        }
    }

    fn drain(&mut self) {
        self.hasher.update(&self.buf[..self.len]);
        self.len = 0;
    }

    fn finish(mut self) -> u128 {
        self.drain();
        self.hasher.digest128()
    }
}

impl io::Write for HashWriter {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        if self.len + bytes.len() > self.buf.len() {
            self.drain();
        }
        if bytes.len() >= self.buf.len() {
            self.hasher.update(bytes);
        } else {
            self.buf[self.len..self.len + bytes.len()].copy_from_slice(bytes);
            self.len += bytes.len();
        }
        Ok(bytes.len())
    }

    fn write_all(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.write(bytes).map(drop)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// The canonical form of a chat request: every field that may change the answer, in a fixed
/// order. `model` is replaced by the alias the caller routed by.
#[derive(Serialize)]
struct ChatKeyView<'a> {
    alias: &'a str,
    messages: &'a [Message],
    tools: Option<&'a [Tool]>,
    tool_choice: Option<&'a ToolChoice>,
    parallel_tool_calls: Option<bool>,
    response_format: Option<&'a ResponseFormat>,
    temperature: Option<f64>,
    top_p: Option<f64>,
    /// `max_completion_tokens`, else `max_tokens`: the two spellings of one limit.
    max_output_tokens: Option<u32>,
    stop: StopList<'a>,
    seed: Option<i64>,
    n: Option<u32>,
    presence_penalty: Option<f64>,
    frequency_penalty: Option<f64>,
    extra: SortedExtra<'a>,
}

impl<'a> ChatKeyView<'a> {
    fn new(alias: &'a str, request: &'a ChatRequest) -> Self {
        ChatKeyView {
            alias,
            messages: &request.messages,
            tools: request.tools.as_deref(),
            tool_choice: request.tool_choice.as_ref(),
            parallel_tool_calls: request.parallel_tool_calls,
            response_format: request.response_format.as_ref(),
            temperature: request.temperature,
            top_p: request.top_p,
            max_output_tokens: request.output_token_limit(),
            stop: StopList(request.stop.as_ref()),
            seed: request.seed,
            n: request.n,
            presence_penalty: request.presence_penalty,
            frequency_penalty: request.frequency_penalty,
            extra: SortedExtra(&request.extra),
        }
    }
}

/// The canonical form of an embedding request (without `user`).
#[derive(Serialize)]
struct EmbeddingKeyView<'a> {
    alias: &'a str,
    input: &'a EmbeddingInput,
    encoding_format: Option<&'a str>,
    dimensions: Option<u32>,
    extra: SortedExtra<'a>,
}

impl<'a> EmbeddingKeyView<'a> {
    fn new(alias: &'a str, request: &'a EmbeddingRequest) -> Self {
        EmbeddingKeyView {
            alias,
            input: &request.input,
            encoding_format: request.encoding_format.as_deref(),
            dimensions: request.dimensions,
            extra: SortedExtra(&request.extra),
        }
    }
}

/// `stop` as a list whatever form it came in: `"x"`, `["x"]` and (absent vs `[]`) agree.
struct StopList<'a>(Option<&'a Stop>);

impl Serialize for StopList<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let items: &[String] = match self.0 {
            None => &[],
            Some(Stop::One(one)) => std::slice::from_ref(one),
            Some(Stop::Many(many)) => many,
        };
        let mut seq = serializer.serialize_seq(Some(items.len()))?;
        for item in items {
            seq.serialize_element(item)?;
        }
        seq.end()
    }
}

/// Unmodelled fields by sorted key, so the map's iteration order (insertion order when
/// serde_json's `preserve_order` is on anywhere in the build) cannot change the key.
struct SortedExtra<'a>(&'a Extra);

impl Serialize for SortedExtra<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut entries: Vec<(&String, &Value)> = self.0.iter().collect();
        entries.sort_unstable_by(|a, b| a.0.cmp(b.0));
        let mut map = serializer.serialize_map(Some(entries.len()))?;
        for (key, value) in entries {
            map.serialize_entry(key, value)?;
        }
        map.end()
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use serde_json::json;

    use super::*;
    use crate::types::{Message, Stop, StreamOptions};

    fn request() -> ChatRequest {
        ChatRequest::new(
            "gpt",
            vec![
                Message::system("You are terse."),
                Message::user("What is the capital of France?"),
            ],
        )
    }

    #[test]
    fn equal_requests_hash_equal() {
        assert_eq!(chat_key("fast", &request()), chat_key("fast", &request()));
    }

    #[test]
    fn user_metadata_and_streaming_do_not_change_the_key() {
        let base = chat_key("fast", &request());
        let mut other = request();
        other.user = Some("alice".into());
        other.metadata = Some(BTreeMap::from([("team".into(), "a".into())]));
        other.stream = Some(true);
        other.stream_options = Some(StreamOptions {
            include_usage: Some(true),
            ..StreamOptions::default()
        });
        assert_eq!(chat_key("fast", &other), base);
    }

    #[test]
    fn model_field_is_replaced_by_the_alias() {
        let mut other = request();
        other.model = "something-else".into();
        assert_eq!(chat_key("fast", &other), chat_key("fast", &request()));
        assert_ne!(chat_key("slow", &request()), chat_key("fast", &request()));
    }

    #[test]
    fn answer_shaping_fields_change_the_key() {
        let base = chat_key("fast", &request());
        let variants: Vec<fn(&mut ChatRequest)> = vec![
            |r| r.temperature = Some(0.7),
            |r| r.top_p = Some(0.9),
            |r| r.max_tokens = Some(10),
            |r| r.seed = Some(1),
            |r| r.n = Some(2),
            |r| r.presence_penalty = Some(0.5),
            |r| r.frequency_penalty = Some(0.5),
            |r| r.parallel_tool_calls = Some(false),
            |r| r.tool_choice = Some(ToolChoice::Auto),
            |r| r.response_format = Some(ResponseFormat::JsonObject),
            |r| r.stop = Some(Stop::One("x".into())),
            |r| r.tools = Some(vec![Tool::function("f", "d", json!({}))]),
            |r| r.messages.push(Message::user("more")),
            |r| {
                r.extra.insert("logit_bias".into(), json!({"50256": -100}));
            },
        ];
        for (i, change) in variants.iter().enumerate() {
            let mut other = request();
            change(&mut other);
            assert_ne!(chat_key("fast", &other), base, "variant {i}");
        }
    }

    #[test]
    fn different_temperature_different_key() {
        let mut a = request();
        a.temperature = Some(0.0);
        let mut b = request();
        b.temperature = Some(1.0);
        assert_ne!(chat_key("fast", &a), chat_key("fast", &b));
    }

    #[test]
    fn stop_string_equals_one_element_list() {
        let mut one = request();
        one.stop = Some(Stop::One("x".into()));
        let mut many = request();
        many.stop = Some(Stop::Many(vec!["x".into()]));
        assert_eq!(chat_key("fast", &one), chat_key("fast", &many));
        let mut two = request();
        two.stop = Some(Stop::Many(vec!["x".into(), "y".into()]));
        assert_ne!(chat_key("fast", &one), chat_key("fast", &two));
    }

    #[test]
    fn both_spellings_of_the_output_limit_agree() {
        let mut legacy = request();
        legacy.max_tokens = Some(64);
        let mut current = request();
        current.max_completion_tokens = Some(64);
        assert_eq!(chat_key("fast", &legacy), chat_key("fast", &current));
    }

    #[test]
    fn extra_insertion_order_does_not_matter() {
        let mut a = request();
        a.extra.insert("b".into(), json!(1));
        a.extra.insert("a".into(), json!(2));
        let mut b = request();
        b.extra.insert("a".into(), json!(2));
        b.extra.insert("b".into(), json!(1));
        assert_eq!(chat_key("fast", &a), chat_key("fast", &b));
    }

    #[test]
    fn key_is_stable_across_runs_and_builds() {
        // Pinned: if this changes, bump CHAT_DOMAIN so shared-tier entries keyed the old way
        // are not read back under a different meaning.
        assert_eq!(
            chat_key("fast", &request()).to_string(),
            "262fa4258faf67db937119404337d42a"
        );
    }

    #[test]
    fn canonical_form_is_what_gets_hashed() {
        let mut r = request();
        r.stop = Some(Stop::One("x".into()));
        r.user = Some("alice".into());
        r.extra.insert("z".into(), json!(1));
        r.extra.insert("a".into(), json!(true));
        let text = serde_json::to_string(&ChatKeyView::new("fast", &r)).unwrap();
        assert_eq!(
            text,
            r#"{"alias":"fast","messages":[{"role":"system","content":"You are terse."},{"role":"user","content":"What is the capital of France?"}],"tools":null,"tool_choice":null,"parallel_tool_calls":null,"response_format":null,"temperature":null,"top_p":null,"max_output_tokens":null,"stop":["x"],"seed":null,"n":null,"presence_penalty":null,"frequency_penalty":null,"extra":{"a":true,"z":1}}"#
        );
        let mut expected = CHAT_DOMAIN.to_vec();
        expected.extend_from_slice(text.as_bytes());
        assert_eq!(
            chat_key("fast", &r).as_u128(),
            xxhash_rust::xxh3::xxh3_128(&expected)
        );
    }

    #[test]
    fn buffering_hashes_exactly_the_serialised_bytes() {
        for len in [0, 200, 255, 256, 257, 1000, 10_000] {
            let mut r = request();
            r.messages.push(Message::user("y".repeat(len)));
            let text = serde_json::to_string(&ChatKeyView::new("fast", &r)).unwrap();
            let mut expected = CHAT_DOMAIN.to_vec();
            expected.extend_from_slice(text.as_bytes());
            assert_eq!(
                chat_key("fast", &r).as_u128(),
                xxhash_rust::xxh3::xxh3_128(&expected),
                "len {len}"
            );
        }
    }

    #[test]
    fn embedding_keys_ignore_user_and_differ_from_chat() {
        let mut a = EmbeddingRequest::new("embed", "hello");
        let base = embedding_key("embed", &a);
        a.user = Some("bob".into());
        assert_eq!(embedding_key("embed", &a), base);
        a.dimensions = Some(256);
        assert_ne!(embedding_key("embed", &a), base);
        let other_input = EmbeddingRequest::new("embed", "world");
        assert_ne!(embedding_key("embed", &other_input), base);
    }

    #[test]
    fn display_is_32_hex_digits() {
        assert_eq!(CacheKey(0xab).to_string(), format!("{:0>32}", "ab"));
        assert_eq!(CacheKey(u128::MAX).to_string().len(), 32);
    }
}
