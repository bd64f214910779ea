//! Step 3, admission, on a cache miss: rate limits, then a budget reservation for the
//! call's estimated cost. One admission for every kind of request: what it needs from one
//! is its token estimate ([`Request`]).

use std::sync::Arc;
use std::time::SystemTime;

use super::context::CallContext;
use super::request::Request;
use super::runtime::{ModelRoute, Runtime};
use crate::budget::Reservation;
use crate::config::BudgetAction;
use crate::error::{Error, ErrorKind, Result};
use crate::lease::Verdict;
use crate::pricing;
use crate::types::Usage;

/// How long a call its leased slice refused waits for a renewal to grant more.
const RENEWAL_WAIT: std::time::Duration = std::time::Duration::from_secs(1);

/// Admits the call to `route`, or to the cheaper model a spent hard budget with `reroute`
/// names (then recorded as the call's fallback): the route to call and its reservation.
pub(crate) async fn admit<R: Request>(
    runtime: &Runtime,
    route: &Arc<ModelRoute>,
    request: &R,
    call: &mut CallContext,
) -> Result<(Arc<ModelRoute>, Reservation)> {
    let first = &route.targets[0];
    let exact_prompt = || request.prompt_tokens(first.kind, &first.upstream_model);
    let output_tokens = request.output_tokens();
    let lease = runtime.lease.as_deref();
    if let Some(book) = lease {
        book.first_answer().await;
    }
    // A TPM limit or capacity charges the exact count, as the provider will count it.
    let counted = (runtime.capacity_counts_tokens
        || runtime.limits.counts_tokens(&call.scope)
        || lease.is_some_and(|book| book.counts_tokens(&call.scope.model)))
    .then(exact_prompt);
    let limited_tokens = counted.map_or(0, |prompt| prompt + output_tokens);
    call.capacity_tokens = limited_tokens;
    runtime
        .limits
        .admit(&call.scope, limited_tokens, call.deadline)
        .await?;
    let mut route = route;
    let local_route;
    if let Some(book) = lease {
        call.lease = book.lease_id();
        if book.admit_limits(&call.scope.model, limited_tokens)? == Verdict::Local {
            // A share's lease expired with the server away and its policy is `local`.
            let Some(local) = runtime.local_model.as_deref() else {
                return Err(Error::new(
                    ErrorKind::BudgetUnavailable {
                        budget: "rate limit".into(),
                    },
                    "a leased rate limit expired with the server away, and the config has no local model",
                ));
            };
            local_route = runtime.route(local)?.clone();
            route = &local_route;
            call.fallback = Some(local.to_owned());
            call.fallbacks += 1;
        }
    }
    // A priced hard budget first gets a cheap bound on the prompt: with room for it,
    // the exact count is moot, and tokenizing is the costliest step of admission.
    let priced = route.worst_price().is_some() && runtime.budgets.holds_for(&call.scope);
    let mut prompt_tokens = match counted {
        Some(exact) => exact,
        None if priced => request.prompt_tokens_bound(first.kind, &first.upstream_model),
        None => 0,
    };
    let estimate_usd = |route: &ModelRoute, prompt_tokens: u64| {
        route.worst_price().map_or(0.0, |p| {
            pricing::cost_usd(&p, &Usage::new(prompt_tokens, output_tokens))
        })
    };
    let now = SystemTime::now();
    let mut reserved =
        runtime
            .budgets
            .reserve(&call.scope, estimate_usd(route, prompt_tokens), now);
    if reserved.is_err() && priced && counted.is_none() {
        // The bound did not fit: the exact count decides.
        prompt_tokens = exact_prompt();
        reserved = runtime
            .budgets
            .reserve(&call.scope, estimate_usd(route, prompt_tokens), now);
    }
    if let (Err(refusal), Some(book)) = (&reserved, lease)
        && refusal.leased
    {
        // This instance's slice is spent but the budget is not: wait for the renewal
        // the refusal asked for (never past the call's deadline), then try once more.
        let wait = call.deadline.map_or(RENEWAL_WAIT, |d| {
            d.saturating_duration_since(std::time::Instant::now())
                .min(RENEWAL_WAIT)
        });
        book.renewal(wait).await;
        reserved = runtime.budgets.reserve(
            &call.scope,
            estimate_usd(route, prompt_tokens),
            SystemTime::now(),
        );
    }
    match reserved {
        Ok(reservation) => Ok((route.clone(), reservation)),
        Err(refusal) if refusal.action == BudgetAction::Reroute => {
            let target = refusal.reroute_to.clone().unwrap_or_default();
            let rerouted = runtime.route(&target)?.clone();
            tracing::warn!(budget = %refusal.budget, to = %target, "budget spent: rerouting");
            let reservation = runtime
                .budgets
                .reserve(&call.scope, estimate_usd(&rerouted, prompt_tokens), now)
                .map_err(|refusal| refusal.into_error())?;
            call.fallback = Some(target);
            call.fallbacks += 1;
            Ok((rerouted, reservation))
        }
        Err(refusal) => Err(refusal.into_error()),
    }
}
