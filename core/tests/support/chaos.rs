//! The chaos harness: seeded fault mixes on a mock primary, calls through one client,
//! and what they show (latency, throughput, errors, upstream calls). Shared by the bounded
//! suite (`tests/chaos.rs`) and the long bench (`examples/chaos.rs`), so both measure alike.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use switchyard::config::Config;
use switchyard::types::{ChatRequest, Message};
use switchyard::{CallOptions, Client, Error};
use switchyard_mock_provider::{Fault, MockServer, Script, Step};

/// Per-attempt limit with hangs in the mix: what a hang costs.
pub const TIMEOUT_MS: u64 = 250;
/// Per-attempt limit without hangs: long (a common production value), so that an attempt
/// stuck on a connection the mock tore down or left half-written shows as a 30 s call
/// instead of hiding in a short timeout.
pub const LONG_TIMEOUT_MS: u64 = 30_000;
/// A latency spike: slow, but an answer, well under the attempt timeout.
pub const SPIKE_MS: u64 = 60;
/// The short `retry-after-ms` the 429s carry.
pub const RETRY_AFTER_MS: u64 = 20;
pub const MAX_ATTEMPTS: u32 = 3;
pub const MAX_BACKOFF_MS: u64 = 40;

/// Every fault the mock can serve, plus the latency spike.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Status500,
    Status503,
    RateLimited,
    Reset,
    Malformed,
    Cut,
    Spike,
    Hang,
    Stall,
}

pub const KINDS: [Kind; 9] = [
    Kind::Status500,
    Kind::Status503,
    Kind::RateLimited,
    Kind::Reset,
    Kind::Malformed,
    Kind::Cut,
    Kind::Spike,
    Kind::Hang,
    Kind::Stall,
];

impl Kind {
    /// Faults only the client's attempt timeout ends.
    pub fn waits_for_the_timeout(self) -> bool {
        matches!(self, Kind::Hang | Kind::Stall)
    }

    fn step(self) -> Step {
        let mut step = Step::default();
        match self {
            Kind::Status500 => step.status = Some(500),
            Kind::Status503 => step.status = Some(503),
            Kind::RateLimited => {
                step.status = Some(429);
                step.retry_after_ms = Some(RETRY_AFTER_MS);
            }
            Kind::Reset => step.fault = Some(Fault::Reset),
            Kind::Malformed => step.fault = Some(Fault::Malformed),
            Kind::Cut => step.fault = Some(Fault::Cut),
            Kind::Spike => step.latency_ms = Some(SPIKE_MS),
            Kind::Hang => step.fault = Some(Fault::Hang),
            Kind::Stall => step.fault = Some(Fault::Stall),
        }
        step
    }
}

/// One run's shape.
#[derive(Debug, Clone, Copy)]
pub struct Mix {
    /// Share of the primary's answers that are faulty, in percent.
    pub percent: u32,
    pub seed: u64,
    pub fallback: bool,
    pub stream: bool,
    pub callers: usize,
    pub calls: usize,
    /// With the hang fault (and a short attempt timeout), or without (and a long one).
    pub hangs: bool,
}

impl Mix {
    /// The per-attempt timeout this mix runs with.
    pub fn timeout_ms(&self) -> u64 {
        if self.hangs {
            TIMEOUT_MS
        } else {
            LONG_TIMEOUT_MS
        }
    }
}

/// The primary's answers, one step per upstream call, in order; healthy once they run out.
pub fn primary_steps(mix: &Mix) -> (Vec<Step>, Vec<Option<Kind>>) {
    let mut rng = StdRng::seed_from_u64(mix.seed);
    let kinds: Vec<Kind> = KINDS
        .iter()
        .copied()
        .filter(|k| mix.hangs || !k.waits_for_the_timeout())
        .collect();
    let len = mix.calls * MAX_ATTEMPTS as usize;
    let mut steps = Vec::with_capacity(len + 1);
    let mut served = Vec::with_capacity(len);
    for _ in 0..len {
        if rng.random_range(0..100) < mix.percent {
            let kind = kinds[rng.random_range(0..kinds.len())];
            steps.push(kind.step());
            served.push(Some(kind));
        } else {
            steps.push(Step::default());
            served.push(None);
        }
    }
    steps.push(Step::default());
    (steps, served)
}

/// The client's config: the primary, and the backup as its fallback when asked.
pub fn config(base: &str, fallback: bool, timeout_ms: u64) -> Config {
    let fallbacks = if fallback {
        "fallbacks: { default: [backup] }, "
    } else {
        ""
    };
    let policy = format!(
        "timeout_ms: {timeout_ms}, on_stream_error: restart, \
         retry: {{ max_attempts: {MAX_ATTEMPTS}, initial_backoff_ms: 10, max_backoff_ms: {MAX_BACKOFF_MS} }}"
    );
    Config::from_yaml(&format!(
        "version: 1\nproviders: {{ oa: {{ kind: openai, base_url: \"{base}/v1\" }} }}\n\
         models:\n  chat: {{ deployments: [{{ provider: oa, model: primary }}], {fallbacks}{policy} }}\n  \
         backup: {{ deployments: [{{ provider: oa, model: backup }}], {policy} }}\n"
    ))
    .unwrap()
}

/// What one call came to.
#[derive(Debug)]
pub struct Outcome {
    pub latency: Duration,
    /// `None`: the call was still running at twice what the policy allows, and was dropped.
    pub result: Option<Result<(), Error>>,
}

/// Everything a run shows.
#[derive(Debug)]
pub struct Report {
    pub mix: Mix,
    pub outcomes: Vec<Outcome>,
    pub wall: Duration,
    pub primary_calls: u64,
    pub backup_calls: u64,
    /// Hang and stall faults the primary served (the first `primary_calls` of the plan).
    pub hangs_served: usize,
}

impl Report {
    pub fn failures(&self) -> Vec<&Error> {
        self.outcomes
            .iter()
            .filter_map(|o| o.result.as_ref()?.as_ref().err())
            .collect()
    }

    /// Failures by error code, e.g. `unavailable:12 upstream:3`.
    pub fn failure_kinds(&self) -> String {
        let mut kinds = std::collections::BTreeMap::<&str, usize>::new();
        for error in self.failures() {
            *kinds.entry(error.code()).or_default() += 1;
        }
        let kinds: Vec<String> = kinds.iter().map(|(k, n)| format!("{k}:{n}")).collect();
        kinds.join(" ")
    }

    /// Calls that never ended (dropped by the harness).
    pub fn stuck(&self) -> usize {
        self.outcomes.iter().filter(|o| o.result.is_none()).count()
    }

    /// The latency at quantile `q` (0..=1), nearest rank.
    pub fn quantile(&self, q: f64) -> Duration {
        let mut all: Vec<Duration> = self.outcomes.iter().map(|o| o.latency).collect();
        all.sort();
        let rank = ((q * all.len() as f64).ceil() as usize).clamp(1, all.len());
        all[rank - 1]
    }

    pub fn throughput(&self) -> f64 {
        self.outcomes.len() as f64 / self.wall.as_secs_f64()
    }

    pub fn slowest(&self) -> Duration {
        self.outcomes
            .iter()
            .map(|o| o.latency)
            .max()
            .unwrap_or_default()
    }

    pub fn line(&self) -> String {
        let m = self.mix;
        format!(
            "{:>3}%{} {} {:<6} callers={:<2} calls={:<5} p50={:>7.1?} p99={:>7.1?} max={:>7.1?} {:>7.0} calls/s failures={} [{}] stuck={} upstream={}+{}",
            m.percent,
            if m.hangs { "+hangs" } else { "       " },
            if m.fallback {
                "fallback   "
            } else {
                "no-fallback"
            },
            if m.stream { "stream" } else { "plain" },
            m.callers,
            self.outcomes.len(),
            self.quantile(0.5),
            self.quantile(0.99),
            self.slowest(),
            self.throughput(),
            self.failures().len(),
            self.failure_kinds(),
            self.stuck(),
            self.primary_calls,
            self.backup_calls,
        )
    }
}

/// The longest a call may take when the upstream answered or closed every attempt at once:
/// each route's attempts (spikes at worst), backoffs and Retry-After waits, with room for a
/// loaded 2-core machine. Well under one attempt timeout per route.
pub fn answered_bound() -> Duration {
    let per_route = MAX_ATTEMPTS as u64 * SPIKE_MS
        + (MAX_ATTEMPTS as u64 - 1) * (MAX_BACKOFF_MS + RETRY_AFTER_MS * 2);
    Duration::from_millis(2 * per_route + 400)
}

/// The longest any call of `mix` may take under the policy: every attempt of both routes
/// timing out on a hang (none when the mix has no hangs).
pub fn policy_bound(mix: &Mix) -> Duration {
    let hangs = if mix.hangs {
        2 * u64::from(MAX_ATTEMPTS)
    } else {
        0
    };
    Duration::from_millis(hangs * mix.timeout_ms()) + answered_bound()
}

/// One call, plain or streamed; a stream's restart marker discards the partial text.
async fn one_call(client: &Client, stream: bool) -> Result<(), Error> {
    let request = ChatRequest::new("chat", vec![Message::user("hi")]);
    let options = CallOptions::default();
    let text = if stream {
        let mut chunks = client.chat_stream(request, &options).await?;
        let mut text = String::new();
        while let Some(chunk) = chunks.next().await {
            let chunk = chunk?;
            if chunk.extra.get("switchyard").is_some() {
                text.clear();
            }
            text.push_str(chunk.text());
        }
        text
    } else {
        client.chat(request, &options).await?.response.text()
    };
    assert!(
        text == "Hello from primary" || text == "Hello from backup",
        "a call answered {text:?}"
    );
    Ok(())
}

/// Runs `mix` against its own session of `mock` with a fresh client (fresh health).
pub async fn run(mock: &MockServer, mix: Mix) -> Report {
    let (steps, served) = primary_steps(&mix);
    let mut script = Script::default();
    script.models.insert("primary".into(), steps);
    script.models.insert("backup".into(), vec![Step::default()]);
    let session = mock.session(script);
    let client = Arc::new(
        Client::builder()
            .config(config(&session.url(), mix.fallback, mix.timeout_ms()))
            .build()
            .unwrap(),
    );
    let started = Instant::now();
    let per_caller = mix.calls / mix.callers;
    let tasks: Vec<_> = (0..mix.callers)
        .map(|_| {
            let client = Arc::clone(&client);
            tokio::spawn(async move {
                let mut outcomes = Vec::with_capacity(per_caller);
                for _ in 0..per_caller {
                    let began = Instant::now();
                    let limit = policy_bound(&mix) * 2;
                    let result = tokio::time::timeout(limit, one_call(&client, mix.stream))
                        .await
                        .ok();
                    outcomes.push(Outcome {
                        latency: began.elapsed(),
                        result,
                    });
                }
                outcomes
            })
        })
        .collect();
    let mut outcomes = Vec::with_capacity(mix.calls);
    for task in tasks {
        outcomes.extend(task.await.unwrap());
    }
    let wall = started.elapsed();
    let counters = session.counters();
    let primary_calls = counters.models.get("primary").copied().unwrap_or(0);
    let backup_calls = counters.models.get("backup").copied().unwrap_or(0);
    let hangs_served = served
        .iter()
        .take(primary_calls as usize)
        .filter(|k| k.is_some_and(Kind::waits_for_the_timeout))
        .count();
    Report {
        mix,
        outcomes,
        wall,
        primary_calls,
        backup_calls,
        hangs_served,
    }
}
