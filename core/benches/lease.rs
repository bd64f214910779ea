//! A call's admission under a lease against today's in-memory budget, in the same run:
//! the reservation and settle of one (and two) budgets, each way; and the sliding window
//! a leased rate-limit share is counted in.

use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use criterion::{Criterion, criterion_group, criterion_main};
use switchyard::budget::{Budgets, CallScope, InMemoryBudgets, SlidingWindow};
use switchyard::config::{BudgetAction, BudgetConfig, BudgetMode, Period, ScopeKind};
use switchyard::lease::{LeaseBook, LeaseSettings};
use switchyard::sdk_protocol::{BudgetSlice, LeaseGrant, ServerDownPolicy, SliceScope};

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

fn slice(id: &str, scope: SliceScope, model: Option<&str>) -> BudgetSlice {
    BudgetSlice {
        id: id.into(),
        name: id.into(),
        scope,
        model: model.map(str::to_owned),
        hard: true,
        reroute_to: None,
        on_server_down: ServerDownPolicy::Deny,
        granted_usd: f64::MAX,
        limit_usd: f64::MAX,
        spent_usd: 0.0,
        period_start: 0,
        period_end: i64::MAX,
    }
}

fn leased(slices: Vec<BudgetSlice>) -> Budgets {
    let book = Arc::new(LeaseBook::new(LeaseSettings::default()));
    book.install(&LeaseGrant {
        lease: "bench".into(),
        // A day from now: the grant is live for the whole run.
        expires_at_ms: (SystemTime::now() + Duration::from_secs(86_400))
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_or(u64::MAX, |d| d.as_millis() as u64),
        refresh_in_ms: 10_000,
        budgets: slices,
        limits: Vec::new(),
    });
    Budgets::new(&[], Arc::new(InMemoryBudgets::new())).with_lease(book, None)
}

fn reserve_settle(c: &mut Criterion, name: &str, budgets: &Budgets, scope: &CallScope) {
    c.bench_function(name, |b| {
        b.iter(|| {
            if let Ok(r) = budgets.reserve(black_box(scope), 0.01, SystemTime::now()) {
                black_box(r.settle(0.008));
            }
        })
    });
}

fn benches(c: &mut Criterion) {
    let scope = CallScope {
        tenant: Some("acme".into()),
        app: Some("shop".into()),
        ..CallScope::new("chat")
    };
    let memory_1 = Budgets::new(
        &[budget("tenant", ScopeKind::Tenant)],
        Arc::new(InMemoryBudgets::new()),
    );
    let lease_1 = leased(vec![slice("app", SliceScope::App, None)]);
    let memory_2 = Budgets::new(
        &[
            budget("tenant", ScopeKind::Tenant),
            budget("model", ScopeKind::Model),
        ],
        Arc::new(InMemoryBudgets::new()),
    );
    let lease_2 = leased(vec![
        slice("app", SliceScope::App, None),
        slice("model", SliceScope::Model, Some("chat")),
    ]);
    reserve_settle(c, "admission_in_memory_budget_1", &memory_1, &scope);
    reserve_settle(c, "admission_leased_budget_1", &lease_1, &scope);
    reserve_settle(c, "admission_in_memory_budget_2", &memory_2, &scope);
    reserve_settle(c, "admission_leased_budget_2", &lease_2, &scope);

    // A share of 100,000 rpm, one admission a millisecond: the log holds a minute of them.
    let window = SlidingWindow::new();
    let start = Instant::now();
    let mut tick = 0u64;
    c.bench_function("rpm_share_window_admit", |b| {
        b.iter(|| {
            tick += 1;
            let now = start + Duration::from_millis(tick);
            black_box(window.try_admit(now, Some(100_000), None, 0).is_ok())
        })
    });
}

criterion_group!(lease_benches, benches);
criterion_main!(lease_benches);
