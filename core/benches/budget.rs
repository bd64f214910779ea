//! Per-call overhead of budgets, rate limits and token estimation: all three run on
//! every call before the first byte goes upstream.

use std::hint::black_box;
use std::sync::Arc;
use std::time::SystemTime;

use criterion::{Criterion, criterion_group, criterion_main};
use switchyard::budget::{Budgets, CallScope, InMemoryBudgets, RateLimits};
use switchyard::config::{
    BudgetAction, BudgetConfig, BudgetMode, LimitAction, Period, ProviderKind, RateLimitConfig,
    ScopeKind,
};
use switchyard::estimate;
use switchyard::types::{ChatRequest, Message};

fn budget(name: &str, scope: ScopeKind) -> BudgetConfig {
    BudgetConfig {
        name: name.into(),
        scope,
        value: None,
        period: Period::Day,
        calendar_aligned: true,
        limit_usd: f64::MAX,
        mode: BudgetMode::Hard,
        action: BudgetAction::Reject,
        reroute_to: None,
    }
}

fn scope() -> CallScope {
    CallScope {
        tenant: Some("acme".into()),
        user: Some("user-42".into()),
        ..CallScope::new("chat")
    }
}

/// ~300 bytes of prompt: a short system prompt and a user question.
fn typical_request() -> ChatRequest {
    ChatRequest::new(
        "chat",
        vec![
            Message::system(
                "You are a concise assistant for an online store. Answer in two sentences at most.",
            ),
            Message::user(
                "I ordered a pair of running shoes last Tuesday and the tracking page still says \
                 'label created'. Can you tell me whether that is normal and when I should expect \
                 the parcel to arrive?",
            ),
        ],
    )
}

fn benches(c: &mut Criterion) {
    let budgets = Budgets::new(
        &[
            budget("tenant", ScopeKind::Tenant),
            budget("user", ScopeKind::User),
        ],
        Arc::new(InMemoryBudgets::new()),
    );
    let s = scope();
    c.bench_function("budgets_reserve_settle_2", |b| {
        b.iter(|| {
            let r = budgets.reserve(black_box(&s), 0.01, SystemTime::now()).ok();
            if let Some(r) = r {
                black_box(r.settle(0.008));
            }
        })
    });

    let limits = RateLimits::new(&[RateLimitConfig {
        name: "user".into(),
        scope: ScopeKind::User,
        value: None,
        rpm: Some(u32::MAX),
        tpm: Some(u64::MAX / 1_000_000),
        burst: Some(u32::MAX),
        action: LimitAction::Reject,
        max_wait_ms: 0,
        shared: false,
    }]);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .ok();
    if let Some(rt) = rt {
        c.bench_function("rate_limits_admit_uncontended", |b| {
            b.to_async(&rt)
                .iter(|| async { black_box(limits.admit(black_box(&s), 120, None).await.is_ok()) })
        });
    }

    let req = typical_request();
    let bytes: usize = req.messages.iter().map(|m| m.text().len()).sum();
    eprintln!("typical request: {bytes} bytes of text");
    // Load the encodings before timing.
    black_box(estimate::prompt_tokens(
        ProviderKind::OpenAi,
        "gpt-4o",
        &req,
    ));
    c.bench_function("prompt_tokens_openai_gpt4o", |b| {
        b.iter(|| {
            estimate::prompt_tokens(ProviderKind::OpenAi, black_box("gpt-4o"), black_box(&req))
        })
    });
    c.bench_function("prompt_tokens_anthropic_heuristic", |b| {
        b.iter(|| {
            estimate::prompt_tokens(
                ProviderKind::Anthropic,
                black_box("claude-sonnet-4-5"),
                black_box(&req),
            )
        })
    });
}

criterion_group!(budget_benches, benches);
criterion_main!(budget_benches);
