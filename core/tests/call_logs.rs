//! Call logs on the SDK side (`docs/call-logs.md`): a real `Client` against the mock
//! provider; content checked on the events a memory sink keeps and, for redaction, on the
//! raw batches a stand-in for the server receives and in the spool on disk.

#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "support/collector.rs"]
mod collector;
#[path = "support/config_server.rs"]
mod config_server;
#[cfg(feature = "local")]
#[path = "support/local_model.rs"]
mod local_model;
#[path = "support/spooled.rs"]
mod spooled;

use std::io::Read;
use std::sync::Arc;
use std::time::Duration;

use collector::Collector;
use futures_util::StreamExt;
use serde_json::Value;
use switchyard::config::Config;
use switchyard::telemetry::{CallContent, MemorySink, UsageEvent};
use switchyard::types::{ChatRequest, EmbeddingRequest, Message};
use switchyard::{CallOptions, Client};
use switchyard_mock_provider::{MockServer, Script};

const ANSWER: &str = "Lisbon is lovely in spring.";

async fn mock() -> MockServer {
    let script = format!(
        "models:\n  bad: [ {{ status: 400, error_message: 'the prompt is too long' }} ]\n  \
         tooly: [ {{ content: 'Checking.', tool_calls: [ {{ id: call_1, name: weather, arguments: {{ city: Lisbon }} }} ] }} ]\n  \
         leaky: [ {{ content: 'Reach bob@example.org or +44 20 7946 0958.' }} ]\n  \
         quoting: [ {{ status: 400, error_message: 'cannot email carol@example.net' }} ]\n  \
         masky: [ {{ content: 'Wrote to [EMAIL_1].' }} ]\n  \
         '*': [ {{ content: '{ANSWER}' }} ]\n"
    );
    MockServer::start_with(Script::from_yaml(&script).unwrap())
        .await
        .unwrap()
}

/// Models `chat`, `other`, `broken` (400s), `tools` (a tool call), `leaky` (PII in the
/// answer) and `embed`, with `call_logs` as given (YAML, or empty for none).
fn config(mock: &MockServer, call_logs: &str, extra: &str) -> Config {
    Config::from_yaml(&format!(
        "version: 1\nidentity: {{ tenant: t, app: a }}\n\
         providers: {{ oa: {{ kind: openai, base_url: \"{}/v1\" }} }}\n\
         models:\n\
         \x20 chat: {{ deployments: [ {{ provider: oa, model: m }} ] }}\n\
         \x20 other: {{ deployments: [ {{ provider: oa, model: m }} ] }}\n\
         \x20 broken: {{ deployments: [ {{ provider: oa, model: bad }} ] }}\n\
         \x20 tools: {{ deployments: [ {{ provider: oa, model: tooly }} ] }}\n\
         \x20 leaky: {{ deployments: [ {{ provider: oa, model: leaky }} ] }}\n\
         \x20 quoting: {{ deployments: [ {{ provider: oa, model: quoting }} ] }}\n\
         \x20 embed: {{ deployments: [ {{ provider: oa, model: text-embedding-3-small }} ] }}\n\
         \x20 masky: {{ deployments: [ {{ provider: oa, model: masky }} ] }}\n\
         {call_logs}\n{extra}",
        mock.url()
    ))
    .unwrap()
}

fn client(config: Config) -> (Client, Arc<MemorySink>) {
    let sink = Arc::new(MemorySink::default());
    let client = Client::builder()
        .config(config)
        .usage_sink(sink.clone())
        .build()
        .unwrap();
    (client, sink)
}

fn chat(model: &str, prompt: &str) -> ChatRequest {
    ChatRequest::new(model, vec![Message::user(prompt)])
}

fn content(event: &UsageEvent) -> Option<CallContent> {
    event
        .content
        .as_ref()
        .and_then(|c| c.shipped().map(|c| c.into_owned()))
}

fn cached() -> CallOptions {
    CallOptions {
        cache: switchyard::cache::CacheControl::Enable,
        ..CallOptions::default()
    }
}

fn no_cache() -> CallOptions {
    CallOptions {
        cache: switchyard::cache::CacheControl::Bypass,
        ..CallOptions::default()
    }
}

#[tokio::test]
async fn content_is_absent_unless_opted_in() {
    let mock = mock().await;
    for call_logs in [
        "",
        "call_logs: { content: off }",
        "call_logs: { max_bytes: 4096 }",
    ] {
        let (client, sink) = client(config(&mock, call_logs, ""));
        client
            .chat(chat("chat", "hello"), &no_cache())
            .await
            .unwrap();
        let _ = client.chat(chat("broken", "hello"), &no_cache()).await;
        let events = sink.events();
        assert_eq!(events.len(), 2);
        for event in &events {
            assert!(event.content.is_none(), "{call_logs}: {event:?}");
            let json = serde_json::to_value(event).unwrap();
            assert!(json.get("content").is_none(), "{call_logs}: {json}");
        }
    }
}

/// Without call logs too: tags, metadata and a provider's error text are the caller's or
/// the provider's free text, and reach usage records and logs masked.
#[tokio::test]
async fn labels_and_provider_errors_are_masked_without_call_logs() {
    let mock = mock().await;
    let (client, sink) = client(config(&mock, "", ""));
    let mut options = no_cache();
    options.tags = vec!["team:search".into(), "owner:dave@example.com".into()];
    options
        .metadata
        .insert("callback".into(), "+44 20 7946 0958".into());
    client.chat(chat("chat", "hello"), &options).await.unwrap();
    let error = client
        .chat(chat("quoting", "hello"), &no_cache())
        .await
        .unwrap_err();
    assert!(!error.message().contains("carol@example.net"), "{error}");
    assert!(error.message().contains("[EMAIL]"), "{error}");
    let events = sink.events();
    assert_eq!(events[0].tags, ["team:search", "owner:[EMAIL]"]);
    assert_eq!(events[0].metadata["callback"], "[PHONE]");
    let json = serde_json::to_string(&events).unwrap();
    for secret in ["dave@example.com", "7946 0958", "carol@example.net"] {
        assert!(!json.contains(secret), "{secret} in {json}");
    }
}

#[tokio::test]
async fn all_logs_the_request_and_the_answer() {
    let mock = mock().await;
    let (client, sink) = client(config(&mock, "call_logs: { content: all }", ""));
    let mut request = chat("chat", "One city in spring?");
    request.temperature = Some(0.2);
    client.chat(request, &no_cache()).await.unwrap();
    let event = &sink.events()[0];
    let content = content(event).unwrap();
    assert_eq!(content.request["model"], "chat");
    assert_eq!(content.request["messages"][0]["role"], "user");
    assert_eq!(
        content.request["messages"][0]["content"],
        "One city in spring?"
    );
    assert_eq!(content.request["temperature"], 0.2);
    let response = content.response.clone().unwrap();
    assert_eq!(response["content"], ANSWER);
    assert_eq!(response["finish_reason"], "stop");
    assert!(response.get("tool_calls").is_none());
    assert_eq!(content.error, None);
    assert!(content.redacted && !content.truncated);
    let json = serde_json::to_vec(&content).unwrap();
    assert_eq!(content.original_bytes, json.len() as u64);
    assert!(!event.cache_hit && !event.local);
}

#[tokio::test]
async fn errors_logs_failed_calls_only_with_the_error() {
    let mock = mock().await;
    let (client, sink) = client(config(&mock, "call_logs: { content: errors }", ""));
    client
        .chat(chat("chat", "fine"), &no_cache())
        .await
        .unwrap();
    let failed = client.chat(chat("broken", "too long"), &no_cache()).await;
    assert!(failed.is_err());
    let events = sink.events();
    assert_eq!(events.len(), 2);
    assert!(events[0].content.is_none());
    let content = content(&events[1]).unwrap();
    assert_eq!(content.response, None);
    let error = content.error.unwrap();
    assert!(error.contains("the prompt is too long"), "{error}");
    assert_eq!(content.request["messages"][0]["content"], "too long");
    let json = serde_json::to_value(&events[1]).unwrap();
    assert!(json["content"]["response"].is_null());
}

#[tokio::test]
async fn a_sample_logs_its_share_of_calls() {
    // Cache hits: each is a call of its own, decided on its own, and needs no upstream.
    const CALLS: usize = 2_000;
    const RATE: f64 = 0.1;
    let mock = mock().await;
    let (client, sink) = client(config(&mock, "call_logs: { content: { sample: 0.1 } }", ""));
    for _ in 0..CALLS {
        client
            .chat(chat("chat", "same question"), &cached())
            .await
            .unwrap();
    }
    let events = sink.events();
    assert_eq!(events.len(), CALLS);
    assert!(events.iter().skip(1).all(|e| e.cache_hit));
    let logged = events.iter().filter(|e| e.content.is_some()).count() as f64;
    // ±5σ of a binomial(2000, 0.1): 0.1 ± 0.0335.
    let sigma = (RATE * (1.0 - RATE) / CALLS as f64).sqrt();
    let share = logged / CALLS as f64;
    assert!(
        (share - RATE).abs() <= 5.0 * sigma,
        "{share} of calls logged, expected {RATE} ± {}",
        5.0 * sigma
    );
}

#[tokio::test]
async fn content_never_passes_max_bytes() {
    let mock = mock().await;
    for max_bytes in [400u64, 777, 2048] {
        let (client, sink) = client(config(
            &mock,
            &format!("call_logs: {{ content: all, max_bytes: {max_bytes} }}"),
            "",
        ));
        // Multi-byte characters everywhere, so a cut lands inside one unless it is careful.
        let long = "北京的春天很美。Ça va très bien ✓ ".repeat(200);
        let request = ChatRequest::new(
            "chat",
            vec![
                Message::system("Answer briefly."),
                Message::user(long.clone()),
            ],
        );
        client.chat(request, &no_cache()).await.unwrap();
        let event = &sink.events()[0];
        let json = serde_json::to_string(&serde_json::to_value(event).unwrap()["content"]).unwrap();
        assert!(
            json.len() as u64 <= max_bytes,
            "{} > {max_bytes}",
            json.len()
        );
        let content: CallContent = serde_json::from_str(&json).unwrap();
        assert!(content.truncated);
        assert!(content.original_bytes > long.len() as u64);
        // The longest string is cut first; the short system prompt survives.
        assert_eq!(content.request["messages"][0]["content"], "Answer briefly.");
        let kept = content.request["messages"][1]["content"].as_str().unwrap();
        assert!(long.starts_with(kept) && kept.len() < long.len());
    }
}

#[tokio::test]
async fn the_stream_answer_is_assembled_with_its_tool_calls() {
    let mock = mock().await;
    let (client, sink) = client(config(&mock, "call_logs: { content: all }", ""));
    let mut stream = client
        .chat_stream(chat("tools", "Weather in Lisbon?"), &no_cache())
        .await
        .unwrap();
    while let Some(chunk) = stream.next().await {
        chunk.unwrap();
    }
    drop(stream);
    let event = &sink.events()[0];
    assert!(event.stream);
    let response = content(event).unwrap().response.unwrap();
    assert_eq!(response["content"], "Checking.");
    assert_eq!(response["finish_reason"], "tool_calls");
    assert_eq!(response["tool_calls"][0]["function"]["name"], "weather");
    let arguments: Value = serde_json::from_str(
        response["tool_calls"][0]["function"]["arguments"]
            .as_str()
            .unwrap(),
    )
    .unwrap();
    assert_eq!(arguments["city"], "Lisbon");
}

#[tokio::test]
async fn a_cache_hit_is_logged_and_marked() {
    let mock = mock().await;
    let (client, sink) = client(config(&mock, "call_logs: { content: all }", ""));
    for _ in 0..2 {
        client
            .chat(chat("chat", "cached?"), &cached())
            .await
            .unwrap();
    }
    let events = sink.events();
    assert!(!events[0].cache_hit);
    assert!(events[1].cache_hit);
    let response = content(&events[1]).unwrap().response.unwrap();
    assert_eq!(response["content"], ANSWER);
    assert_eq!(serde_json::to_value(&events[1]).unwrap()["cache_hit"], true);
}

#[tokio::test]
async fn a_model_override_replaces_the_default() {
    let mock = mock().await;
    let (client, sink) = client(config(
        &mock,
        "call_logs: { content: off, models: { other: all } }",
        "",
    ));
    client.chat(chat("chat", "a"), &no_cache()).await.unwrap();
    client.chat(chat("other", "b"), &no_cache()).await.unwrap();
    let events = sink.events();
    assert!(events[0].content.is_none());
    assert_eq!(
        content(&events[1]).unwrap().request["messages"][0]["content"],
        "b"
    );
}

#[tokio::test]
async fn a_reload_changes_what_is_logged() {
    let mock = mock().await;
    let (client, sink) = client(config(&mock, "", ""));
    client
        .chat(chat("chat", "before"), &no_cache())
        .await
        .unwrap();
    client
        .reload(config(&mock, "call_logs: { content: all }", ""))
        .unwrap();
    client
        .chat(chat("chat", "after"), &no_cache())
        .await
        .unwrap();
    let events = sink.events();
    assert!(events[0].content.is_none());
    assert!(events[1].content.is_some());
}

/// The server serves `call_logs` as JSON (`{"sample": 1.0}`); a new version is followed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_policy_from_the_config_server_takes_effect_on_its_next_version() {
    let mock = mock().await;
    let mut document = serde_json::json!({
        "version": 1,
        "providers": {"oa": {"kind": "openai", "base_url": format!("{}/v1", mock.url())}},
        "models": {"chat": {"deployments": [{"provider": "oa", "model": "m"}]}},
    });
    let (url, server) = config_server::start(document.clone()).await;
    let sink = Arc::new(MemorySink::default());
    let builder = Client::builder()
        .server(switchyard::ConfigServer::new(&url, "sy_test").long_poll(Duration::from_secs(1)))
        .usage_sink(sink.clone());
    let client = tokio::task::spawn_blocking(move || builder.build())
        .await
        .unwrap()
        .unwrap();
    client
        .chat(chat("chat", "before"), &no_cache())
        .await
        .unwrap();

    document["call_logs"] = serde_json::json!({"content": {"sample": 1.0}});
    server.published.send_replace(("\"v2\"".into(), document));
    let started = std::time::Instant::now();
    while client.config().call_logs.is_none() {
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "v2 never applied"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    client
        .chat(chat("chat", "after"), &no_cache())
        .await
        .unwrap();
    let events = sink.events();
    assert!(events[0].content.is_none());
    assert_eq!(
        content(&events[1]).unwrap().request["messages"][0]["content"],
        "after"
    );
    client.shutdown().await;
}

#[tokio::test]
async fn embeddings_log_the_inputs_not_the_vectors() {
    let mock = mock().await;
    let (client, sink) = client(config(&mock, "call_logs: { content: all }", ""));
    let request =
        EmbeddingRequest::new("embed", vec!["first text".to_owned(), "second".to_owned()]);
    let answer = client.embed(request, &no_cache()).await.unwrap();
    let content = content(&sink.events()[0]).unwrap();
    assert_eq!(content.request["input"][0], "first text");
    let response = content.response.unwrap();
    assert_eq!(response["vectors"], 2);
    let dimensions = answer.response.data[0].embedding.len();
    assert_eq!(response["dimensions"], dimensions);
    assert!(response.get("embedding").is_none() && response.get("data").is_none());
}

const SECRETS: [&str; 5] = [
    "alice@example.com",
    "4111 1111 1111 1111",
    "sk-proj-Zx9AbCdEfGhIjKlMnOpQrStUv",
    "bob@example.org",
    "7946 0958",
];

fn leaky_prompt() -> ChatRequest {
    chat(
        "leaky",
        "I am alice@example.com, card 4111 1111 1111 1111, key sk-proj-Zx9AbCdEfGhIjKlMnOpQrStUv",
    )
}

#[tokio::test]
async fn redaction_happens_before_the_wire() {
    let mock = mock().await;
    let collector = Collector::start();
    let usage = format!(
        "usage: {{ server: \"{}\", api_key: sy_test, spool_dir: \"{}\" }}",
        collector.url(),
        std::env::temp_dir()
            .join(format!("sy-calllog-wire-{:016x}", rand::random::<u64>()))
            .display()
    );
    let client = Client::builder()
        .config(config(&mock, "call_logs: { content: all }", &usage))
        .build()
        .unwrap();
    client.chat(leaky_prompt(), &no_cache()).await.unwrap();
    client.flush().await;
    collector
        .wait_for_events(1, Duration::from_secs(5))
        .await
        .unwrap();
    let raw: String = collector.received().iter().map(|r| r.raw.clone()).collect();
    for secret in SECRETS {
        assert!(!raw.contains(secret), "{secret} on the wire: {raw}");
    }
    for placeholder in ["[EMAIL]", "[CARD]", "[API_KEY]", "[PHONE]"] {
        assert!(raw.contains(placeholder), "no {placeholder}: {raw}");
    }
    let event = &collector.events()[0];
    assert_eq!(event["content"]["redacted"], true);
    assert_eq!(
        event["content"]["response"]["content"],
        "Reach [EMAIL] or [PHONE]."
    );
}

#[tokio::test]
async fn redaction_happens_before_the_spool() {
    let mock = mock().await;
    let collector = Collector::down();
    let spool =
        std::env::temp_dir().join(format!("sy-calllog-spool-{:016x}", rand::random::<u64>()));
    let usage = format!(
        "usage: {{ server: \"{}\", api_key: sy_test, spool_dir: \"{}\" }}",
        collector.url(),
        spool.display()
    );
    let client = Client::builder()
        .config(config(&mock, "call_logs: { content: all }", &usage))
        .build()
        .unwrap();
    client.chat(leaky_prompt(), &no_cache()).await.unwrap();
    client.flush().await;
    let mut text = String::new();
    for path in spooled::spooled(&spool) {
        let bytes = std::fs::read(&path).unwrap();
        flate2::read::GzDecoder::new(&bytes[..])
            .read_to_string(&mut text)
            .unwrap();
    }
    assert!(text.contains("[EMAIL]"), "nothing spooled: {text:?}");
    for secret in SECRETS {
        assert!(!text.contains(secret), "{secret} in the spool: {text}");
    }
    let _ = std::fs::remove_dir_all(&spool);
}

#[tokio::test]
async fn redact_false_ships_the_content_as_it_was() {
    let mock = mock().await;
    let (client, sink) = client(config(
        &mock,
        "call_logs: { content: all, redact: false }",
        "",
    ));
    client.chat(leaky_prompt(), &no_cache()).await.unwrap();
    let content = content(&sink.events()[0]).unwrap();
    assert!(!content.redacted);
    let json = serde_json::to_string(&content).unwrap();
    assert!(json.contains("alice@example.com"));
}

#[cfg(feature = "local")]
#[tokio::test]
async fn an_answer_of_the_local_model_is_logged_and_marked() {
    let config = Config::from_yaml(&format!(
        "version: 1\ncache: {{ mode: off }}\n\
         providers: {{ local: {{ kind: local, model_path: \"{}\", threads: 1, context_size: 640 }} }}\n\
         models: {{ local: {{ deployments: [ {{ provider: local, model: smollm2-135m-instruct }} ] }} }}\n\
         call_logs: {{ content: all }}\n",
        local_model::model_path().display()
    ))
    .unwrap();
    let (client, sink) = client(config);
    let mut request = chat("local", "Name one colour.");
    request.max_tokens = Some(8);
    let outcome = client.chat(request, &no_cache()).await.unwrap();
    let event = &sink.events()[0];
    assert!(event.local);
    let response = content(event).unwrap().response.unwrap();
    let said = outcome.response.choices[0].message.content.clone();
    assert_eq!(response["content"], serde_json::to_value(said).unwrap());
    assert_eq!(serde_json::to_value(event).unwrap()["local"], true);
}

/// Guardrails mask before anything is kept: with redaction off, the logged request and
/// answer hold placeholders while the caller reads the originals; the event counts what
/// was masked, and a refused call's event names its rule.
#[tokio::test]
async fn guardrails_mask_before_the_log_and_refusals_name_their_rule() {
    let mock = mock().await;
    let guardrails = "guardrails:\n  deny: [ { name: no-nightingale, pattern: \"(?i)nightingale\" } ]\n  \
                      pii: { restore: true }\n";
    let (client, sink) = client(config(
        &mock,
        "call_logs: { content: all, redact: false }",
        guardrails,
    ));
    let answer = client
        .chat(
            chat(
                "masky",
                "Mail ann@example.com, ann@example.com, +44 20 7946 0958",
            ),
            &no_cache(),
        )
        .await
        .unwrap();
    assert_eq!(answer.response.text(), "Wrote to ann@example.com.");
    let refused = client
        .chat(chat("chat", "Project Nightingale"), &no_cache())
        .await
        .unwrap_err();
    assert_eq!(refused.rule(), Some("no-nightingale"));
    let events = sink.events();
    assert_eq!(events.len(), 2);
    let json = serde_json::to_value(&events[0]).unwrap();
    assert_eq!(json["masked"], serde_json::json!({"email": 2, "phone": 1}));
    assert!(json.get("rule").is_none(), "{json}");
    let logged = serde_json::to_string(&content(&events[0]).unwrap()).unwrap();
    assert!(
        logged.contains("Mail [EMAIL_1], [EMAIL_1], [PHONE_1]"),
        "{logged}"
    );
    assert!(logged.contains("Wrote to [EMAIL_1]."), "{logged}");
    assert!(!logged.contains("ann@example.com"), "{logged}");
    let json = serde_json::to_value(&events[1]).unwrap();
    assert_eq!(json["status"]["error"]["code"], "policy_violation");
    assert_eq!(json["rule"], "no-nightingale");
    assert_eq!(events[1].attempts, 0);
}
