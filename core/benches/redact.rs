//! Redaction throughput (MB/s) on a realistic support prompt: a system prompt, a customer
//! thread with an email, a phone number and a card in it, and an answer; and on the same
//! size of text with no PII at all (the common case, one pass of the pattern set).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use switchyard::redact::redact;

const SYSTEM: &str = "You are the support assistant of Acme Travel. Answer in the customer's \
language, in at most five sentences. Never promise refunds above the fare rules; quote the \
booking reference (e.g. ACM-2024-118842) when you refer to a booking. Today is 2024-12-07, \
11:39 UTC; the refund policy is version 3.2.1. ";

const THREAD: &str = "Hello, I booked flight AC 118 on 2024-11-30 (order 20241130-7782, 2 \
passengers) and was charged twice on my card 4111 1111 1111 1111. Please call me on \
+44 20 7946 0958 or write to jane.doe@example.co.uk. My previous ticket was 0142 3371 \
and the amount was 1,299.00 EUR. Thanks! ";

const ANSWER: &str = "I am sorry about the double charge on booking ACM-2024-118842. I have \
opened case 55-20931; the duplicate payment will be returned to the original card within 5 \
to 7 business days. You will receive a confirmation at the address on file. ";

fn prompt(parts: &[&str], bytes: usize) -> String {
    let mut text = String::new();
    while text.len() < bytes {
        for part in parts {
            text.push_str(part);
        }
    }
    text
}

fn redaction(c: &mut Criterion) {
    let with_pii = prompt(&[SYSTEM, THREAD, ANSWER], 4096);
    let clean = prompt(&[SYSTEM, ANSWER], 4096);
    assert!(redact(&with_pii).contains("[CARD]"));
    assert_eq!(redact(&clean), clean.as_str());
    let mut group = c.benchmark_group("redact");
    for (name, text) in [("support_prompt_4k", &with_pii), ("no_pii_4k", &clean)] {
        group.throughput(Throughput::Bytes(text.len() as u64));
        group.bench_function(name, |b| b.iter(|| redact(black_box(text))));
    }
    group.finish();
}

criterion_group!(benches, redaction);
criterion_main!(benches);
