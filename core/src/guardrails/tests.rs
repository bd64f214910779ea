use super::*;
use crate::config::GuardrailsConfig;
use crate::types::{ChatChunk, ChatRequest, Delta, FinishReason};

fn guard(yaml: &str) -> Guardrails {
    let config: GuardrailsConfig = serde_norway::from_str(yaml).unwrap();
    Guardrails::build(&config).unwrap().unwrap()
}

fn chat(text: &str) -> ChatRequest {
    serde_json::from_value(serde_json::json!({
        "model": "chat",
        "messages": [{"role": "user", "content": text}],
    }))
    .unwrap()
}

#[test]
fn a_deny_pattern_and_a_topic_name_their_rule() {
    let g = guard(
        r#"
deny: [{ name: project-x, pattern: "(?i)project\\s+nightingale" }]
topics: [{ name: legal-advice, keywords: ["sue", "legal advice"], patterns: ["lawsuit"] }]
"#,
    );
    let e = g
        .check_text("Tell me about Project  Nightingale")
        .unwrap_err();
    assert_eq!(
        (e.code(), e.rule()),
        ("policy_violation", Some("project-x"))
    );
    assert!(!e.is_retryable());
    let e = g.check_text("Can I SUE my landlord?").unwrap_err();
    assert_eq!(e.rule(), Some("topic:legal-advice"));
    let e = g.check_text("I need legal\nadvice").unwrap_err();
    assert_eq!(e.rule(), Some("topic:legal-advice"));
    // Whole words only: "pursue" holds "sue".
    assert!(g.check_text("We pursue growth").is_ok());
}

#[test]
fn the_allow_list_refuses_other_models() {
    let g = guard("allowed_models: [chat]");
    assert!(g.check_model("chat").is_ok());
    let e = g.check_model("big").unwrap_err();
    assert_eq!(e.rule(), Some(ALLOWED_MODELS_RULE));
}

#[test]
fn masking_numbers_placeholders_per_kind_and_restores_them() {
    let g = guard("pii: { restore: true }");
    let request = chat(
        "Mail alice@example.com or bob@example.org, again alice@example.com; call +44 20 7946 0958",
    );
    let (masked, done) = g.masker().unwrap().mask(&request).unwrap().unwrap();
    let text = masked.messages[0].text();
    assert_eq!(
        text,
        "Mail [EMAIL_1] or [EMAIL_2], again [EMAIL_1]; call [PHONE_1]"
    );
    assert_eq!(done.counts[&crate::redact::PiiKind::Email], 3);
    assert_eq!(done.counts[&crate::redact::PiiKind::Phone], 1);
    let restorer = Restorer::new(done.originals);
    assert_eq!(
        restorer.restore("Wrote to [EMAIL_2] and [EMAIL_1] [x] [EMAIL_9]"),
        "Wrote to bob@example.org and alice@example.com [x] [EMAIL_9]"
    );
    assert!(
        g.masker()
            .unwrap()
            .mask(&chat("nothing here"))
            .unwrap()
            .is_none()
    );
}

#[test]
fn masking_keeps_to_the_kinds_asked_for() {
    let g = guard("pii: { kinds: [card] }");
    let request = chat("card 4111 1111 1111 1111, mail a@example.com");
    let (masked, _) = g.masker().unwrap().mask(&request).unwrap().unwrap();
    assert_eq!(
        masked.messages[0].text(),
        "card [CARD_1], mail a@example.com"
    );
}

#[test]
fn a_stream_restores_placeholders_split_across_chunks() {
    let restorer = Restorer::new(vec![("[EMAIL_1]".into(), "a@example.com".into())]);
    let mut stream = StreamRestorer::new(restorer);
    let pieces = ["Hi [EM", "AIL_", "1], and [not", " one] ok [EMA"];
    let mut out = String::new();
    for piece in pieces {
        let mut chunk = ChatChunk::new("id", "m", 0).with_delta(
            0,
            Delta {
                content: Some(piece.into()),
                ..Delta::default()
            },
            None,
        );
        stream.chunk(&mut chunk);
        out.push_str(chunk.text());
    }
    assert_eq!(out, "Hi a@example.com, and [not one] ok ");
    let mut last = ChatChunk::new("id", "m", 0).with_delta(
        0,
        Delta {
            content: Some("IL_1]".into()),
            ..Delta::default()
        },
        Some(FinishReason::Stop),
    );
    stream.chunk(&mut last);
    assert_eq!(last.text(), "a@example.com");
    assert!(stream.rest().is_empty());
}
