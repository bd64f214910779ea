//! What guardrails cost on a typical 2 KB chat request (a system prompt and a customer
//! message with an e-mail, a phone number and a card in it): the stage alone (five deny
//! patterns, two topic rules, PII masking into a copy of the request), and a whole call
//! through `Client::chat` against the in-process mock with and without that section.
//! Compare the medians within one run (`docs/guardrails.md` quotes them).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use switchyard::config::{Config, GuardrailsConfig};
use switchyard::guardrails::{Guardrails, Texts};
use switchyard::types::{ChatRequest, Message};
use switchyard::{CallOptions, Client};
use switchyard_mock_provider::{MockServer, Script};

const GUARDRAILS: &str = r#"
deny:
  - { name: project-codename, pattern: "(?i)project\\s+(nightingale|kestrel|osprey)" }
  - { name: internal-host, pattern: "\\b[a-z0-9-]+\\.corp\\.acme\\.internal\\b" }
  - { name: source-code-leak, pattern: "(?i)BEGIN (RSA|OPENSSH) PRIVATE KEY" }
  - { name: jailbreak, pattern: "(?i)ignore (all|previous) instructions" }
  - { name: export-control, pattern: "(?i)\\bITAR\\b|\\bEAR99\\b" }
topics:
  - { name: legal-advice, keywords: [sue, lawsuit, "legal advice", attorney] }
  - { name: medical, keywords: [diagnosis, prescription, dosage] }
pii: { restore: true }
"#;

const SYSTEM: &str = "You are the support assistant of Acme Travel. Answer in the customer's \
language, in at most five sentences. Never promise refunds above the fare rules; quote the \
booking reference when you refer to a booking. ";

const THREAD: &str = "Hello, I booked flight AC 118 on 2024-11-30 (order 20241130-7782, 2 \
passengers) and was charged twice on my card 4111 1111 1111 1111. Please call me on \
+44 20 7946 0958 or write to jane.doe@example.co.uk. Thanks! ";

/// About `bytes` of text made of `part` repeated.
fn text(part: &str, bytes: usize) -> String {
    part.repeat(bytes.div_ceil(part.len()))
}

fn request() -> ChatRequest {
    let mut request = ChatRequest::new(
        "chat",
        vec![
            Message::system(text(SYSTEM, 600)),
            Message::user(text(THREAD, 1400)),
        ],
    );
    request.max_tokens = Some(64);
    request
}

fn stage(c: &mut Criterion) {
    let config: GuardrailsConfig = serde_norway::from_str(GUARDRAILS).unwrap();
    let guard = Guardrails::build(&config).unwrap().unwrap();
    let request = request();
    let bytes: usize = request.texts().iter().map(|t| t.len()).sum();
    assert!((1900..2600).contains(&bytes), "{bytes} bytes");
    let masker = guard.masker().unwrap();
    let (masked, _) = masker.mask(&request).unwrap().unwrap();
    assert!(masked.messages[1].text().contains("[CARD_1]"));
    let mut group = c.benchmark_group("guardrails_stage_2k");
    group.bench_function("deny_and_topics", |b| {
        b.iter(|| {
            for text in black_box(&request).texts() {
                guard.check_text(text).unwrap();
            }
        })
    });
    group.bench_function("deny_topics_and_masking", |b| {
        b.iter(|| {
            for text in black_box(&request).texts() {
                guard.check_text(text).unwrap();
            }
            masker.mask(black_box(&request)).unwrap()
        })
    });
    group.finish();
}

fn call(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let mock = runtime
        .block_on(MockServer::start_with(
            Script::from_yaml("models: { '*': [ { content: \"Refund sent to [EMAIL_1].\" } ] }")
                .unwrap(),
        ))
        .unwrap();
    let base = mock.url();
    let plain = format!(
        "version: 1\nproviders: {{ oa: {{ kind: openai, base_url: \"{base}/v1\", api_key: sk-bench }} }}\n\
         models: {{ chat: {{ deployments: [{{ provider: oa, model: gpt-4o-mini }}], cache: {{ mode: off }} }} }}\n"
    );
    let indented: String = GUARDRAILS.lines().map(|l| format!("  {l}\n")).collect();
    let guarded = format!("{plain}guardrails:\n{indented}");
    let client = |yaml: &str| {
        Client::builder()
            .config(Config::from_yaml(yaml).unwrap())
            .build()
            .unwrap()
    };
    let (plain, guarded) = (client(&plain), client(&guarded));
    let options = CallOptions::default();
    let answer = runtime.block_on(guarded.chat(request(), &options)).unwrap();
    assert_eq!(
        answer.response.text(),
        "Refund sent to jane.doe@example.co.uk."
    );
    let mut group = c.benchmark_group("guardrails_call_2k");
    for (name, client) in [("none", &plain), ("deny_topics_masking_restore", &guarded)] {
        group.bench_function(name, |b| {
            b.to_async(&runtime).iter(|| {
                let client = client.clone();
                let options = options.clone();
                async move { client.chat(request(), &options).await.unwrap() }
            })
        });
    }
    group.finish();
}

criterion_group!(benches, stage, call);
criterion_main!(benches);
