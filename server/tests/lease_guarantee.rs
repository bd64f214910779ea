//! The lease guarantee end to end: the real server binary (short lease TTL), real SDK
//! clients — four in this process, four in child processes (this test binary re-run as
//! `child_instance`) — of 64 concurrent callers each, against one hard budget and one RPM
//! limit, on SQLite and PostgreSQL: spend stays within budget + 8 x the largest call, the
//! upstream never sees more than the limit in a minute, through a server restart; and with
//! the server down for good, `deny` answers `budget_unavailable` once the leases expire.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::BTreeMap;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use switchyard::config::Config;
use switchyard::lease::LeaseSettings;
use switchyard::sdk_protocol::ServerDownPolicy;
use switchyard::types::{ChatRequest, Message};
use switchyard::{CallOptions, Client};
use switchyard_mock_provider::{MockServer, Script};
use switchyard_server::store::{BudgetInput, RateLimitInput};

/// The child's arguments, as JSON in this variable.
const CHILD: &str = "SWITCHYARD_LEASE_CHILD";

/// Lease TTL of the server under test (its minimum); SDKs renew every third of it.
const TTL_SECS: u64 = 3;

/// One SDK instance's run.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Run {
    server: String,
    key: String,
    mock: String,
    spool: String,
    callers: usize,
    /// Each caller stops after this many calls or this long, whichever comes first.
    calls: usize,
    run_ms: u64,
}

/// What one instance saw.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct Summary {
    ok: u64,
    /// Errors by code.
    errors: BTreeMap<String, u64>,
    spent_usd: f64,
    largest_usd: f64,
    /// When each call that succeeded began (Unix ms): one begun after every lease
    /// expired was admitted after it, so must not have succeeded under `deny`.
    ok_times_ms: Vec<u64>,
}

impl Summary {
    fn add(&mut self, other: &Summary) {
        self.ok += other.ok;
        for (code, n) in &other.errors {
            *self.errors.entry(code.clone()).or_default() += n;
        }
        self.spent_usd += other.spent_usd;
        self.largest_usd = self.largest_usd.max(other.largest_usd);
        self.ok_times_ms.extend(&other.ok_times_ms);
    }
}

fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64
}

/// One instance: a client of `callers` concurrent callers; shut down (lease returned,
/// usage flushed) at the end.
async fn instance(run: Run) -> Summary {
    // $1000 per 1M tokens: a call of 1 + 10 tokens costs $0.011.
    let config = Config::from_yaml(&format!(
        "version: 1\n\
         providers: {{ oa: {{ kind: openai, base_url: \"{}/v1\" }} }}\n\
         models: {{ chat: {{ deployments: [ {{ provider: oa, model: m, price: {{ input: 1000, output: 1000 }} }} ] }} }}\n\
         usage: {{ server: \"{}\", api_key: \"{}\", spool_dir: \"{}\" }}\n",
        run.mock, run.server, run.key, run.spool
    ))
    .unwrap();
    let client = Client::builder()
        .config(config)
        .lease_settings(LeaseSettings {
            first_grant_wait: Duration::from_secs(5),
            before_first_grant: ServerDownPolicy::Deny,
        })
        .build()
        .unwrap();
    let started = Instant::now();
    let mut callers = Vec::new();
    for _ in 0..run.callers {
        let client = client.clone();
        let run = run.clone();
        callers.push(tokio::spawn(async move {
            let mut summary = Summary::default();
            for _ in 0..run.calls {
                if started.elapsed() > Duration::from_millis(run.run_ms) {
                    break;
                }
                let mut request = ChatRequest::new("chat", vec![Message::user("hi")]);
                request.max_tokens = Some(10);
                let began = now_ms();
                match client.chat(request, &CallOptions::default()).await {
                    Ok(outcome) => {
                        summary.ok += 1;
                        summary.spent_usd += outcome.meta.cost_usd;
                        summary.largest_usd = summary.largest_usd.max(outcome.meta.cost_usd);
                        summary.ok_times_ms.push(began);
                    }
                    Err(e) => {
                        *summary.errors.entry(e.code().to_owned()).or_default() += 1;
                        // Refusals are quick: pace them a little.
                        tokio::time::sleep(Duration::from_millis(20)).await;
                    }
                }
            }
            summary
        }));
    }
    let mut summary = Summary::default();
    for caller in callers {
        summary.add(&caller.await.unwrap());
    }
    client.shutdown().await;
    summary
}

/// Not a test of its own: the body of a child process (see [`spawn_child`]).
#[test]
#[ignore = "run as a child process by the tests of this file"]
fn child_instance() {
    let run: Run = serde_json::from_str(&std::env::var(CHILD).unwrap()).unwrap();
    let summary = tokio::runtime::Runtime::new()
        .unwrap()
        .block_on(instance(run));
    println!("SUMMARY {}", serde_json::to_string(&summary).unwrap());
}

fn spawn_child(run: &Run) -> Child {
    Command::new(std::env::current_exe().unwrap())
        .args(["--ignored", "--exact", "child_instance", "--nocapture"])
        .env(CHILD, serde_json::to_string(run).unwrap())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

fn child_summary(child: Child) -> Summary {
    let out = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let line = stdout
        .lines()
        .find_map(|l| l.strip_prefix("SUMMARY "))
        .unwrap_or_else(|| panic!("a child instance failed: {stdout}"));
    serde_json::from_str(line).unwrap()
}

fn serve(db: &str, addr: &str) -> Child {
    Command::new(env!("CARGO_BIN_EXE_switchyard"))
        .env("SWITCHYARD_DATABASE_URL", db)
        .args([
            "serve",
            "--listen",
            addr,
            "--lease-ttl-secs",
            &TTL_SECS.to_string(),
            "--lease-grace-secs",
            "3",
        ])
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

async fn wait_listening(addr: &str) {
    let until = Instant::now() + Duration::from_secs(20);
    while tokio::net::TcpStream::connect(addr).await.is_err() {
        assert!(
            Instant::now() < until,
            "the server never listened on {addr}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// A tenant with one app and its key, the server serving it, and a mock provider.
struct Setup {
    store: switchyard_server::store::Store,
    tenant: String,
    app: String,
    key: String,
    db: String,
    addr: String,
    server: Child,
    mock: MockServer,
    spool: std::path::PathBuf,
}

impl Setup {
    async fn new(db: &str) -> Setup {
        let store = common::store(db).await;
        let boot = store
            .bootstrap(&common::ctx(), "acme", "admin", "x")
            .await
            .unwrap();
        let t = store.tenant(&boot.tenant.id);
        let root = t.list_departments(Default::default()).await.unwrap()[0]
            .id
            .clone();
        let (app, key) = common::app_with_key(&store, &boot.tenant.id, &root, "a").await;
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let addr = format!("127.0.0.1:{port}");
        let server = serve(db, &addr);
        wait_listening(&addr).await;
        let mock = MockServer::start_with(
            Script::from_yaml(
                "defaults: { latency_ms: 20 }\n\
                 models: { '*': [ { usage: { prompt_tokens: 1, completion_tokens: 10 } } ] }",
            )
            .unwrap(),
        )
        .await
        .unwrap();
        let spool = std::env::temp_dir().join(format!(
            "sy-lease-e2e-{}",
            switchyard_server::util::random_hex(6)
        ));
        std::fs::create_dir_all(&spool).unwrap();
        Setup {
            tenant: boot.tenant.id,
            store,
            app,
            key,
            db: db.to_owned(),
            addr,
            server,
            mock,
            spool,
        }
    }

    fn run(&self, calls: usize, run_ms: u64) -> Run {
        Run {
            server: format!("http://{}", self.addr),
            key: self.key.clone(),
            mock: self.mock.url(),
            spool: self.spool.display().to_string(),
            callers: 64,
            calls,
            run_ms,
        }
    }

    async fn budget(&self, amount_usd: f64, on_server_down: &str) -> String {
        self.store
            .tenant(&self.tenant)
            .create_budget(
                &common::ctx(),
                BudgetInput {
                    name: "b".into(),
                    scope: "app".into(),
                    scope_ref: Some(self.app.clone()),
                    period: "month".into(),
                    amount_usd,
                    mode: "hard".into(),
                    reroute_to: None,
                    on_server_down: Some(on_server_down.into()),
                },
            )
            .await
            .unwrap()
            .id
    }

    /// Spend the server ingested under budget `id`.
    async fn spent(&self, id: &str) -> f64 {
        self.store
            .tenant(&self.tenant)
            .get_budget(id, 3_000)
            .await
            .unwrap()
            .state
            .unwrap()
            .spent_usd
    }

    fn kill(&mut self) {
        self.server.kill().unwrap();
        self.server.wait().unwrap();
    }

    fn restart(&mut self) {
        self.server = serve(&self.db, &self.addr);
    }

    /// Eight instances, four of them child processes, run at once; `during` runs
    /// meanwhile (a restart, a kill). Their summaries, summed.
    async fn eight(&mut self, run: Run, during: impl AsyncFnOnce(&mut Setup)) -> Summary {
        let children: Vec<Child> = (0..4).map(|_| spawn_child(&run)).collect();
        let local: Vec<_> = (0..4)
            .map(|_| tokio::spawn(instance(run.clone())))
            .collect();
        during(self).await;
        let mut total = Summary::default();
        for task in local {
            total.add(&task.await.unwrap());
        }
        let children = tokio::task::spawn_blocking(move || {
            children.into_iter().map(child_summary).collect::<Vec<_>>()
        })
        .await
        .unwrap();
        for child in &children {
            total.add(child);
        }
        total
    }
}

impl Drop for Setup {
    fn drop(&mut self) {
        let _ = self.server.kill();
        let _ = self.server.wait();
    }
}

async fn hard_budget_holds(restart: bool) {
    for (backend, db) in common::databases().await {
        let mut setup = Setup::new(&db).await;
        // With a restart, a budget that lasts past it: the instances spend through it.
        let (limit, run) = if restart {
            (30.0, setup.run(1_000, 5_000))
        } else {
            (0.5, setup.run(8, 15_000))
        };
        let budget = setup.budget(limit, "deny").await;
        let restarted = std::sync::Arc::new(std::sync::Mutex::new(0u64));
        let at = restarted.clone();
        let total = setup
            .eight(run, async move |s: &mut Setup| {
                if restart {
                    // Killed while the first slices are being spent, back 600 ms later:
                    // most of the budget is spent after the restart.
                    tokio::time::sleep(Duration::from_millis(400)).await;
                    s.kill();
                    tokio::time::sleep(Duration::from_millis(600)).await;
                    s.restart();
                    *at.lock().unwrap() = now_ms();
                }
            })
            .await;
        let restarted = *restarted.lock().unwrap();
        let after_restart = total
            .ok_times_ms
            .iter()
            .filter(|t| restart && **t > restarted)
            .count();
        // Everything the instances spent was shipped at their shutdown.
        let mut ingested = 0.0;
        let until = Instant::now() + Duration::from_secs(10);
        while Instant::now() < until {
            ingested = setup.spent(&budget).await;
            if (ingested - total.spent_usd).abs() < 1e-6 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let bound = limit + 8.0 * total.largest_usd;
        eprintln!(
            "{backend}{}: 8 instances x 64 callers, hard budget ${limit}: ingested ${ingested:.4} \
             (clients ${:.4}), largest call ${:.4}, bound ${bound:.4}; {} ok ({after_restart} \
             after the restart), errors {:?}",
            if restart { " with a restart" } else { "" },
            total.spent_usd,
            total.largest_usd,
            total.ok,
            total.errors
        );
        if restart {
            assert!(
                after_restart > 0,
                "{backend}: nothing spent after the restart"
            );
        }
        assert!(
            (ingested - total.spent_usd).abs() < 1e-6,
            "{backend}: the server ingested {ingested}, the clients spent {}",
            total.spent_usd
        );
        assert!(ingested <= bound, "{backend}: spent {ingested} > {bound}");
        assert!(
            total.errors.get("budget_exceeded").copied().unwrap_or(0) > 0,
            "{backend}: the budget should run out: {total:?}"
        );
        assert!(
            ingested >= limit * 0.5,
            "{backend}: only {ingested} of {limit} was granted"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn eight_instances_never_overspend_a_hard_budget() {
    hard_budget_holds(false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_guarantee_holds_through_a_server_restart() {
    hard_budget_holds(true).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn eight_instances_never_pass_an_rpm_limit() {
    for (backend, db) in common::databases().await {
        let mut setup = Setup::new(&db).await;
        let rpm = 120;
        setup
            .store
            .tenant(&setup.tenant)
            .create_rate_limit(
                &common::ctx(),
                RateLimitInput {
                    name: "l".into(),
                    scope: "app".into(),
                    scope_ref: Some(setup.app.clone()),
                    rpm: Some(rpm),
                    tpm: None,
                    on_server_down: None,
                },
            )
            .await
            .unwrap();
        let run = setup.run(4, 8_000);
        let started = Instant::now();
        let total = setup.eight(run, async |_: &mut Setup| {}).await;
        let elapsed = started.elapsed();
        let upstream = setup.mock.counters().total;
        eprintln!(
            "{backend}: 8 instances x 64 callers, {rpm} rpm: {upstream} upstream calls in \
             {elapsed:?}; {} ok, errors {:?}",
            total.ok, total.errors
        );
        // The whole run fits in one minute: every call is in the same window.
        assert!(elapsed < Duration::from_secs(60));
        assert!(
            upstream <= rpm as u64,
            "{backend}: {upstream} calls in a minute"
        );
        assert_eq!(total.ok, upstream, "{backend}");
        assert!(total.errors.get("rate_limited").copied().unwrap_or(0) > 0);
        assert!(
            upstream >= (rpm / 4) as u64,
            "{backend}: only {upstream} admitted"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn with_the_server_down_for_good_deny_answers_budget_unavailable_after_expiry() {
    for (backend, db) in common::databases().await {
        let mut setup = Setup::new(&db).await;
        let limit = 100.0;
        setup.budget(limit, "deny").await;
        let run = setup.run(1_000, 3_000 + TTL_SECS * 1000 + 2_000);
        let down_at = std::sync::Arc::new(std::sync::Mutex::new(0u64));
        let down = down_at.clone();
        let total = setup
            .eight(run, async move |s: &mut Setup| {
                tokio::time::sleep(Duration::from_millis(3000)).await;
                *down.lock().unwrap() = now_ms();
                s.kill();
            })
            .await;
        let down_at = *down_at.lock().unwrap();
        // A grant lives at most a TTL after the last renewal before the kill: a call begun
        // later was admitted later (calls begun before may finish later on a busy host).
        let late = total
            .ok_times_ms
            .iter()
            .filter(|t| **t > down_at + TTL_SECS * 1000 + 500)
            .count();
        let unavailable = total.errors.get("budget_unavailable").copied().unwrap_or(0);
        eprintln!(
            "{backend}: server down for good: {} ok ({late} past expiry), {unavailable} \
             budget_unavailable, errors {:?}",
            total.ok, total.errors
        );
        assert!(total.ok > 0);
        assert!(unavailable > 0, "{backend}: {total:?}");
        assert_eq!(late, 0, "{backend}: calls passed after every lease expired");
        assert!(total.spent_usd <= limit);
    }
}
