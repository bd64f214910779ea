//! Several server replicas — three real `switchyard` processes — on one PostgreSQL
//! database (`docs/operations.md`): started together on an empty database they migrate it
//! once; an activation on one reaches an SDK client long-polling another within a second,
//! and a key revoked on one is refused by another as quickly; concurrent lease requests
//! spread over the replicas never grant more than the budget; a usage batch posted to
//! several replicas at once, and retried, is counted once; each background job runs on
//! exactly one replica, and killing it hands the job to another within the bound.
//!
//! PostgreSQL only (`make test` starts one): with SQLite there is one server process.
//! `sizing` (ignored; `bench/replicas.sh`) measures the figures `docs/operations.md` gives.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::HashMap;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use switchyard_server::cluster::leader::Job;
use switchyard_server::store::Store;

/// One test at a time: their timings are asserted, and each starts three servers.
static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

struct Replica {
    url: String,
    addr: String,
    child: Option<Child>,
}

/// Three replicas on one fresh database, a tenant with an app, its key and an active
/// config.
struct Cluster {
    dir: PathBuf,
    bin: PathBuf,
    db: String,
    store: Store,
    replicas: Vec<Replica>,
    http: reqwest::Client,
    admin: String,
    app: String,
    key: String,
    key_id: String,
}

fn free_addr() -> String {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().to_string()
}

fn document(weight: f64) -> Value {
    json!({
        "version": 1,
        "providers": {"openai": {"kind": "openai", "api_key": "${OPENAI_API_KEY}"}},
        "models": {"chat": {"deployments": [{"provider": "openai", "model": "gpt-4o-mini", "weight": weight}]}}
    })
}

impl Cluster {
    /// `None` without a test PostgreSQL (outside `make test`).
    async fn start(n: usize) -> Option<Cluster> {
        let db = common::postgres_url().await?;
        // A private copy of the binary: another build may replace the target's meanwhile.
        let dir = std::env::temp_dir().join(format!(
            "sy-replicas-{}",
            switchyard_server::util::random_hex(6)
        ));
        std::fs::create_dir_all(&dir).unwrap();
        let bin = dir.join("switchyard");
        // SWITCHYARD_SERVER_BIN: a binary copied aside right after its build.
        let built = std::env::var("SWITCHYARD_SERVER_BIN")
            .unwrap_or_else(|_| env!("CARGO_BIN_EXE_switchyard").to_owned());
        std::fs::copy(built, &bin).unwrap();
        let mut cluster = Cluster {
            dir,
            bin,
            db: db.clone(),
            // Connected (not migrated) before the replicas start: they migrate, together.
            store: Store::new(switchyard_server::db::Db::connect(&db).await.unwrap()),
            replicas: Vec::new(),
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(90))
                .build()
                .unwrap(),
            admin: String::new(),
            app: String::new(),
            key: String::new(),
            key_id: String::new(),
        };
        for i in 0..n {
            let addr = free_addr();
            let child = cluster.spawn(i, &addr);
            cluster.replicas.push(Replica {
                url: format!("http://{addr}"),
                addr,
                child: Some(child),
            });
        }
        for i in 0..n {
            cluster.wait_ready(i).await;
        }
        // Every migration applied once, though three processes ran them at once.
        let (applied, distinct): (i64, i64) =
            sqlx::query_as("SELECT COUNT(*), COUNT(DISTINCT version) FROM schema_migrations")
                .fetch_one(&cluster.store.db.pool)
                .await
                .unwrap();
        let expected = switchyard_server::db::MIGRATIONS.len() as i64;
        assert_eq!((applied, distinct), (expected, expected));

        let boot = cluster
            .store
            .bootstrap(&common::ctx(), "acme", "admin", "x")
            .await
            .unwrap();
        cluster.admin = boot.token;
        let root = cluster.api(0, "GET", "/api/v1/departments", None).await["items"][0]["id"]
            .as_str()
            .unwrap()
            .to_owned();
        let app = cluster
            .api(
                0,
                "POST",
                "/api/v1/apps",
                Some(json!({"department_id": root, "name": "billing"})),
            )
            .await;
        cluster.app = app["id"].as_str().unwrap().to_owned();
        let key = cluster
            .api(
                0,
                "POST",
                &format!("/api/v1/apps/{}/keys", cluster.app),
                Some(json!({"name": "k"})),
            )
            .await;
        cluster.key = key["secret"].as_str().unwrap().to_owned();
        cluster.key_id = key["id"].as_str().unwrap().to_owned();
        cluster.activate(0, 1.0).await;
        Some(cluster)
    }

    fn spawn(&self, i: usize, addr: &str) -> Child {
        let log = std::fs::File::create(self.dir.join(format!("replica-{i}.log"))).unwrap();
        Command::new(&self.bin)
            .env("SWITCHYARD_DATABASE_URL", &self.db)
            .env(
                "SWITCHYARD_LOG",
                std::env::var("REPLICAS_LOG").unwrap_or_else(|_| "info".into()),
            )
            .env("HOSTNAME", format!("replica-{i}"))
            // The test events are dated November 2026: keep them inside the retention.
            .args(["serve", "--listen", addr, "--usage-retention-days", "36500"])
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap()
    }

    async fn wait_ready(&self, i: usize) {
        let until = Instant::now() + Duration::from_secs(60);
        loop {
            let ready = self
                .http
                .get(format!("{}/readyz", self.replicas[i].url))
                .send()
                .await
                .is_ok_and(|r| r.status() == 200);
            if ready {
                return;
            }
            assert!(
                Instant::now() < until,
                "replica {i} never became ready: {}",
                self.log(i)
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    fn log(&self, i: usize) -> String {
        std::fs::read_to_string(self.dir.join(format!("replica-{i}.log"))).unwrap_or_default()
    }

    /// The admin's request to replica `i`; the JSON answer of a 2xx.
    async fn api(&self, i: usize, method: &str, path: &str, body: Option<Value>) -> Value {
        let mut req = self
            .http
            .request(
                method.parse().unwrap(),
                format!("{}{path}", self.replicas[i].url),
            )
            .bearer_auth(&self.admin);
        if let Some(body) = body {
            req = req
                .header("content-type", "application/json")
                .body(body.to_string());
        }
        let response = req.send().await.unwrap();
        let status = response.status();
        let text = response.text().await.unwrap();
        assert!(status.is_success(), "{method} {path}: {status} {text}");
        serde_json::from_str(&text).unwrap_or(Value::Null)
    }

    /// A new version of the config with `weight`, created and then activated on replica
    /// `i`: its number, and when the activation was answered.
    async fn activate(&self, i: usize, weight: f64) -> (i64, Instant) {
        let v = self
            .api(
                i,
                "POST",
                "/api/v1/configs",
                Some(json!({"document": document(weight)})),
            )
            .await;
        let id = v["id"].as_str().unwrap().to_owned();
        self.api(i, "POST", &format!("/api/v1/configs/{id}/activate"), None)
            .await;
        (v["number"].as_i64().unwrap(), Instant::now())
    }

    /// The SDK's config request to replica `i` (a long-poll with `wait` and `etag`):
    /// status, ETag, version number.
    async fn sdk_config(
        &self,
        i: usize,
        key: &str,
        wait: Option<(u64, &str)>,
    ) -> (u16, String, i64) {
        let mut url = format!("{}/sdk/v1/config", self.replicas[i].url);
        if let Some((secs, etag)) = wait {
            url.push_str(&format!("?wait={secs}&etag={}", etag.trim_matches('"')));
        }
        let r = self.http.get(url).bearer_auth(key).send().await.unwrap();
        let header = |name: &str| {
            r.headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_owned()
        };
        let etag = header("etag");
        let number = header("x-switchyard-config-version").parse().unwrap_or(0);
        (r.status().as_u16(), etag, number)
    }

    async fn metrics(&self, i: usize) -> Option<HashMap<String, f64>> {
        let text = self
            .http
            .get(format!("{}/metrics", self.replicas[i].url))
            .timeout(Duration::from_secs(2))
            .send()
            .await
            .ok()?
            .text()
            .await
            .ok()?;
        Some(
            text.lines()
                .filter(|l| !l.starts_with('#'))
                .filter_map(|l| l.rsplit_once(' '))
                .filter_map(|(k, v)| Some((k.to_owned(), v.parse().ok()?)))
                .collect(),
        )
    }

    /// (leading, passes run) of `job` on each live replica (`None` for a dead one).
    async fn jobs(&self, job: Job) -> Vec<Option<(bool, f64)>> {
        let mut out = Vec::new();
        for i in 0..self.replicas.len() {
            if self.replicas[i].child.is_none() {
                out.push(None);
                continue;
            }
            let m = self.metrics(i).await;
            out.push(m.map(|m| {
                let name = job.name();
                (
                    m.get(&format!("switchyard_leader{{job=\"{name}\"}}")) == Some(&1.0),
                    m.get(&format!("switchyard_job_runs_total{{job=\"{name}\"}}"))
                        .copied()
                        .unwrap_or(0.0),
                )
            }));
        }
        out
    }

    /// The replicas leading `job`.
    async fn leaders_of(&self, job: Job) -> Vec<usize> {
        self.jobs(job)
            .await
            .iter()
            .enumerate()
            .filter(|(_, s)| s.is_some_and(|(leading, _)| leading))
            .map(|(i, _)| i)
            .collect()
    }

    /// Sessions of this database holding `job`'s advisory lock.
    async fn lock_holders(&self, job: Job) -> i64 {
        let key = job.lock_key();
        let (n,): (i64,) = sqlx::query_as(
            "SELECT COUNT(*) FROM pg_locks WHERE locktype = 'advisory' AND granted \
             AND database = (SELECT oid FROM pg_database WHERE datname = current_database()) \
             AND classid::text::bigint = $1 AND objid::text::bigint = $2 AND objsubid = 1",
        )
        .bind(key >> 32)
        .bind(key & 0xffff_ffff)
        .fetch_one(&self.store.db.pool)
        .await
        .unwrap();
        n
    }

    fn kill(&mut self, i: usize) {
        if let Some(mut child) = self.replicas[i].child.take() {
            child.kill().unwrap(); // SIGKILL: no goodbye to the database
            child.wait().unwrap();
        }
    }

    fn restart(&mut self, i: usize) {
        let addr = self.replicas[i].addr.clone();
        self.replicas[i].child = Some(self.spawn(i, &addr));
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        for i in 0..self.replicas.len() {
            self.kill(i);
        }
        if std::thread::panicking() {
            eprintln!("the replicas' logs are kept in {}", self.dir.display());
        } else {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

fn median(mut xs: Vec<f64>) -> f64 {
    xs.sort_by(f64::total_cmp);
    xs[xs.len() / 2]
}

#[tokio::test(flavor = "multi_thread")]
async fn an_activation_on_one_replica_reaches_clients_long_polling_another_within_a_second() {
    let _serial = SERIAL.lock().await;
    let Some(c) = Cluster::start(3).await else {
        return;
    };
    let (status, mut etag, mut number) = c.sdk_config(1, &c.key, None).await;
    assert_eq!(status, 200);
    let mut latencies = Vec::new();
    for round in 0..10 {
        eprintln!("round {round}");
        // Long-polls on replicas 1 and 2; the activation on replica 0.
        let polls: Vec<_> = [1, 2]
            .into_iter()
            .map(|i| {
                let (http, url, key, etag) = (
                    c.http.clone(),
                    format!(
                        "{}/sdk/v1/config?wait=30&etag={}",
                        c.replicas[i].url,
                        etag.trim_matches('"')
                    ),
                    c.key.clone(),
                    etag.clone(),
                );
                tokio::spawn(async move {
                    let r = http.get(url).bearer_auth(key).send().await.unwrap();
                    let at = Instant::now();
                    let new = r.headers()["etag"].to_str().unwrap().to_owned();
                    let n: i64 = r.headers()["x-switchyard-config-version"]
                        .to_str()
                        .unwrap()
                        .parse()
                        .unwrap();
                    assert_eq!(r.status(), 200, "a long-poll ended without a new config");
                    assert_ne!(new, etag);
                    (at, new, n)
                })
            })
            .collect();
        // Let both requests park on their replicas.
        tokio::time::sleep(Duration::from_millis(300)).await;
        let (activated, answered) = c.activate(0, 2.0 + f64::from(round)).await;
        for poll in polls {
            let (at, new, n) = poll.await.unwrap();
            assert_eq!(n, activated);
            let latency = at.saturating_duration_since(answered).as_secs_f64();
            latencies.push(latency);
            etag = new;
            number = n;
        }
    }
    let worst = latencies.iter().copied().fold(0.0, f64::max);
    eprintln!(
        "activation on replica 0 -> long-polls on replicas 1 and 2: median {:.1} ms, max {:.1} ms ({} wake-ups)",
        median(latencies.clone()) * 1000.0,
        worst * 1000.0,
        latencies.len()
    );
    assert!(
        worst < 1.0,
        "an activation took {worst:.3} s to reach another replica"
    );
    assert_eq!(number, 11);

    // A key revoked on replica 0 is refused by replica 1, which had just verified it (and
    // would otherwise trust it for its cache's 5 s).
    assert_eq!(c.sdk_config(1, &c.key, None).await.0, 200);
    c.api(
        0,
        "POST",
        &format!("/api/v1/keys/{}/revoke", c.key_id),
        None,
    )
    .await;
    let revoked = Instant::now();
    loop {
        let (status, _, _) = c.sdk_config(1, &c.key, None).await;
        if status == 401 {
            break;
        }
        assert_eq!(status, 200);
        assert!(
            revoked.elapsed() < Duration::from_secs(1),
            "a key revoked on another replica still accepted after 1 s"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    eprintln!(
        "key revoked on replica 0 refused by replica 1 after {:.1} ms",
        revoked.elapsed().as_secs_f64() * 1000.0
    );
}

/// An SDK's `POST` of JSON `body` to `url` with app key `key`: the JSON answer of a 200.
async fn sdk_post(http: &reqwest::Client, url: &str, key: &str, body: String) -> Value {
    let r = http
        .post(url)
        .bearer_auth(key)
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .unwrap();
    let status = r.status();
    let text = r.text().await.unwrap();
    assert_eq!(status, 200, "{text}");
    serde_json::from_str(&text).unwrap()
}

/// The lease request of instance `instance` (renewing `lease`), asking `want` USD of
/// `budget`.
fn lease_body(instance: &str, lease: Option<&str>, budget: &str, want: f64) -> String {
    let mut body = json!({"instance": instance, "want": [{"id": budget, "amount": want}]});
    if let Some(lease) = lease {
        body["lease"] = json!(lease);
    }
    body.to_string()
}

#[tokio::test(flavor = "multi_thread")]
async fn concurrent_leases_over_the_replicas_never_grant_more_than_the_budget() {
    let _serial = SERIAL.lock().await;
    let Some(c) = Cluster::start(3).await else {
        return;
    };
    let budget = c
        .api(
            0,
            "POST",
            "/api/v1/budgets",
            Some(
                json!({"name": "b", "scope": "app", "scope_ref": c.app, "period": "month",
                        "amount_usd": 1.0, "mode": "hard"}),
            ),
        )
        .await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    const INSTANCES: usize = 48;
    // Each instance asks for a quarter of the budget, then renews asking for more: twelve
    // times the budget asked for, all at once, spread over the three replicas.
    let mut leases: Vec<Option<String>> = vec![None; INSTANCES];
    let mut granted = vec![0.0f64; INSTANCES];
    for round in 0..3 {
        let tasks: Vec<_> = (0..INSTANCES)
            .map(|n| {
                let url = format!("{}/sdk/v1/leases", c.replicas[(n + round) % 3].url);
                let body = lease_body(
                    &format!("instance-{n}"),
                    leases[n].as_deref(),
                    &budget,
                    0.25,
                );
                let (http, key) = (c.http.clone(), c.key.clone());
                tokio::spawn(async move { sdk_post(&http, &url, &key, body).await })
            })
            .collect();
        for (n, task) in tasks.into_iter().enumerate() {
            let grant = task.await.unwrap();
            leases[n] = Some(grant["lease"].as_str().unwrap().to_owned());
            granted[n] = grant["budgets"][0]["granted_usd"].as_f64().unwrap();
        }
        let total: f64 = granted.iter().sum();
        eprintln!("round {round}: {total:.6} USD granted to {INSTANCES} instances");
        assert!(
            total <= 1.0 + 1e-9,
            "round {round}: {total} USD granted of a 1 USD budget"
        );
    }
    let (stored,): (i64,) = sqlx::query_as(
        "SELECT CAST(COALESCE(SUM(granted), 0) AS BIGINT) FROM lease_slices WHERE subject_id = $1",
    )
    .bind(&budget)
    .fetch_one(&c.store.db.pool)
    .await
    .unwrap();
    assert!(stored <= 1_000_000, "{stored} micro-dollars granted");
    // The budget was contended, not trivially respected: most of it was handed out.
    assert!(stored >= 900_000, "only {stored} micro-dollars granted");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_usage_batch_posted_to_several_replicas_and_retried_is_counted_once() {
    let _serial = SERIAL.lock().await;
    let Some(c) = Cluster::start(3).await else {
        return;
    };
    const BATCHES: usize = 8;
    const PER_BATCH: usize = 250;
    let bodies: Vec<String> = (0..BATCHES)
        .map(|b| {
            let events = common::usage::batch_of(PER_BATCH, common::usage::T0 + b as i64 * 1000);
            json!({"dropped": 0, "events": events}).to_string()
        })
        .collect();
    let (mut accepted, mut duplicates) = (0, 0);
    // Every batch to the three replicas at once; then, as an SDK retrying batches whose
    // ack it lost, every batch again to each replica.
    for round in 0..2 {
        let mut tasks = Vec::new();
        for body in &bodies {
            for r in &c.replicas {
                let (http, url, key, body) = (
                    c.http.clone(),
                    format!("{}/sdk/v1/usage", r.url),
                    c.key.clone(),
                    body.clone(),
                );
                tasks.push(tokio::spawn(async move {
                    sdk_post(&http, &url, &key, body).await
                }));
            }
        }
        for t in tasks {
            let ack = t.await.unwrap();
            accepted += ack["accepted"].as_u64().unwrap();
            duplicates += ack["duplicates"].as_u64().unwrap();
        }
        eprintln!("round {round}: {accepted} accepted, {duplicates} duplicates so far");
    }
    let n = (BATCHES * PER_BATCH) as u64;
    // Each event accepted by exactly one replica; the five other deliveries are duplicates.
    assert_eq!((accepted, duplicates), (n, 5 * n));
    let (raw, calls, _, hist) = common::usage::totals(&c.store).await;
    assert_eq!((raw, calls, hist), (n as i64, n as i64, n as i64));
    let (raw_sums, rolled) = common::usage::rollups_vs_raw(&c.store).await;
    assert_eq!(raw_sums, rolled);
}

/// Waits until exactly one live replica leads every job: the leader of each.
async fn one_leader_each(c: &Cluster, within: Duration) -> HashMap<&'static str, usize> {
    let until = Instant::now() + within;
    loop {
        let mut found = HashMap::new();
        for job in Job::ALL {
            let leaders = c.leaders_of(job).await;
            assert!(leaders.len() <= 1, "{}: led by {leaders:?}", job.name());
            if let [one] = leaders[..] {
                found.insert(job.name(), one);
            }
        }
        if found.len() == Job::ALL.len() {
            return found;
        }
        assert!(
            Instant::now() < until,
            "no single leader for every job within {within:?}: {found:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn each_job_runs_on_one_replica_and_a_killed_leader_hands_over_within_the_bound() {
    let _serial = SERIAL.lock().await;
    let Some(mut c) = Cluster::start(3).await else {
        return;
    };
    let leaders = one_leader_each(&c, Duration::from_secs(5)).await;
    for job in Job::ALL {
        assert_eq!(c.lock_holders(job).await, 1, "{}", job.name());
    }
    // Over 6 s (three rollout passes, one alert pass at least) only the leader runs them.
    let before = (c.jobs(Job::Rollouts).await, c.jobs(Job::Alerts).await);
    tokio::time::sleep(Duration::from_secs(6)).await;
    let after = (c.jobs(Job::Rollouts).await, c.jobs(Job::Alerts).await);
    for (job, before, after) in [
        (Job::Rollouts, &before.0, &after.0),
        (Job::Alerts, &before.1, &after.1),
    ] {
        for i in 0..3 {
            let ran = after[i].unwrap().1 - before[i].unwrap().1;
            if i == leaders[job.name()] {
                assert!(ran >= 1.0, "{}: the leader ran no pass", job.name());
            } else {
                assert_eq!(
                    ran,
                    0.0,
                    "{}: replica {i} ran a pass, not leading",
                    job.name()
                );
            }
        }
    }

    // Kill the leader (of the rollouts; it took every lock first, so likely of all), twice.
    let mut handovers = Vec::new();
    for _ in 0..2 {
        let gone = leaders_now(&c, Job::Rollouts).await;
        c.kill(gone);
        let killed = Instant::now();
        let next = one_leader_each(&c, Duration::from_secs(5)).await;
        let took = killed.elapsed();
        handovers.push(took.as_secs_f64());
        assert!(next.values().all(|&i| i != gone));
        // The new leader runs the job: a rollout pass within its 2 s period.
        let new = next["rollouts"];
        let runs = c.jobs(Job::Rollouts).await[new].unwrap().1;
        let until = Instant::now() + Duration::from_secs(4);
        while c.jobs(Job::Rollouts).await[new].unwrap().1 <= runs {
            assert!(Instant::now() < until, "the new leader ran no rollout pass");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        for job in Job::ALL {
            assert_eq!(c.lock_holders(job).await, 1, "{}", job.name());
        }
    }
    eprintln!(
        "leadership handed over {:.0} ms and {:.0} ms after the leader was killed",
        handovers[0] * 1000.0,
        handovers[1] * 1000.0
    );
    // The bound: a follower tries for the locks every second (docs/operations.md).
    assert!(handovers.iter().all(|t| *t < 3.0), "{handovers:?}");

    // A replica that comes back follows: the jobs stay where they are.
    let last = one_leader_each(&c, Duration::from_secs(1)).await;
    let back = (0..3).find(|i| c.replicas[*i].child.is_none()).unwrap();
    c.restart(back);
    c.wait_ready(back).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(one_leader_each(&c, Duration::from_secs(1)).await, last);
}

async fn leaders_now(c: &Cluster, job: Job) -> usize {
    c.leaders_of(job).await[0]
}

/// Resident memory of a process, in bytes.
fn rss(pid: u32) -> f64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let kb: f64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .unwrap()
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .unwrap();
    kb * 1024.0
}

/// Posts every body over `connections` concurrent senders to the replicas `to`: events/s.
async fn ingest(c: &Cluster, to: &[usize], bodies: &[String], connections: usize) -> f64 {
    let queue = std::sync::Arc::new(std::sync::Mutex::new(bodies.to_vec()));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for n in 0..connections * to.len() {
        let url = format!("{}/sdk/v1/usage", c.replicas[to[n % to.len()]].url);
        let (http, key, queue) = (c.http.clone(), c.key.clone(), queue.clone());
        tasks.push(tokio::spawn(async move {
            let mut events = 0u64;
            loop {
                let Some(body) = queue.lock().unwrap().pop() else {
                    return events;
                };
                let ack = sdk_post(&http, &url, &key, body).await;
                events += ack["accepted"].as_u64().unwrap();
            }
        }));
    }
    let mut events = 0;
    for t in tasks {
        events += t.await.unwrap();
    }
    events as f64 / started.elapsed().as_secs_f64()
}

/// Not a test: the sizing figures `docs/operations.md` gives (`bench/replicas.sh`), each
/// the median of `SIZING_RUNS` runs (3).
#[tokio::test(flavor = "multi_thread")]
#[ignore = "a measurement, run by bench/replicas.sh"]
async fn sizing() {
    let _serial = SERIAL.lock().await;
    let runs: usize = std::env::var("SIZING_RUNS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(3);
    let polls: usize = std::env::var("SIZING_POLLS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(1000);
    let c = Cluster::start(3)
        .await
        .expect("SWITCHYARD_TEST_POSTGRES_URL must name a PostgreSQL server");

    // Usage ingestion: batches of 1000 events, 4 connections per replica.
    let (mut one, mut three) = (Vec::new(), Vec::new());
    for run in 0..runs {
        let batches = |k: i64| -> Vec<String> {
            (0..20)
                .map(|b| {
                    let events = common::usage::batch_of(
                        1000,
                        common::usage::T0 + (run as i64 * 100 + k * 40 + b) * 1000,
                    );
                    json!({"dropped": 0, "events": events}).to_string()
                })
                .collect()
        };
        one.push(ingest(&c, &[0], &batches(0), 4).await);
        three.push(ingest(&c, &[0, 1, 2], &batches(1), 4).await);
    }
    eprintln!(
        "usage ingestion: {:.0} events/s into one replica, {:.0} events/s into three together (medians of {runs})",
        median(one),
        median(three)
    );

    // Long-polls held on replica 1, then woken by an activation on replica 0.
    let pid = c.replicas[1].child.as_ref().unwrap().id();
    let (mut per_thousand, mut wake_all, mut wake_median) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..runs {
        let (_, etag, _) = c.sdk_config(1, &c.key, None).await;
        tokio::time::sleep(Duration::from_millis(500)).await;
        let before = rss(pid);
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(90))
            .build()
            .unwrap();
        let tasks: Vec<_> = (0..polls)
            .map(|_| {
                let url = format!(
                    "{}/sdk/v1/config?wait=60&etag={}",
                    c.replicas[1].url,
                    etag.trim_matches('"')
                );
                let (http, key) = (http.clone(), c.key.clone());
                tokio::spawn(async move {
                    let r = http.get(url).bearer_auth(key).send().await.unwrap();
                    assert_eq!(r.status(), 200);
                    Instant::now()
                })
            })
            .collect();
        // Until every request is parked: the replica's memory stops growing.
        tokio::time::sleep(Duration::from_secs(3)).await;
        let held = rss(pid);
        per_thousand.push((held - before) / polls as f64 * 1000.0 / 1e6);
        let (_, answered) = c.activate(0, 100.0 + per_thousand.len() as f64).await;
        let mut woken = Vec::new();
        for t in tasks {
            woken.push(
                t.await
                    .unwrap()
                    .saturating_duration_since(answered)
                    .as_secs_f64(),
            );
        }
        wake_median.push(median(woken.clone()));
        wake_all.push(woken.iter().copied().fold(0.0, f64::max));
    }
    eprintln!(
        "{polls} long-polls on one replica: {:.2} MB of memory per 1000; an activation on another replica answered them all in {:.0} ms (median client {:.0} ms) (medians of {runs})",
        median(per_thousand),
        median(wake_all) * 1000.0,
        median(wake_median) * 1000.0
    );

    // Lease grants: 64 instances renewing as fast as they are answered, over 3 replicas.
    let budget = c
        .api(
            0,
            "POST",
            "/api/v1/budgets",
            Some(
                json!({"name": "sizing", "scope": "app", "scope_ref": c.app, "period": "month",
                        "amount_usd": 1000.0, "mode": "hard"}),
            ),
        )
        .await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut rates = Vec::new();
    for run in 0..runs {
        let started = Instant::now();
        let tasks: Vec<_> = (0..64)
            .map(|n| {
                let url = format!("{}/sdk/v1/leases", c.replicas[n % 3].url);
                let (http, key, budget) = (c.http.clone(), c.key.clone(), budget.clone());
                tokio::spawn(async move {
                    let mut lease: Option<String> = None;
                    let mut grants = 0u64;
                    while started.elapsed() < Duration::from_secs(5) {
                        let body =
                            lease_body(&format!("s{run}-{n}"), lease.as_deref(), &budget, 0.01);
                        let grant = sdk_post(&http, &url, &key, body).await;
                        lease = grant["lease"].as_str().map(str::to_owned);
                        grants += 1;
                    }
                    grants
                })
            })
            .collect();
        let mut grants = 0;
        for t in tasks {
            grants += t.await.unwrap();
        }
        rates.push(grants as f64 / started.elapsed().as_secs_f64());
    }
    eprintln!(
        "lease grants: {:.0}/s over three replicas, 64 instances on one budget (median of {runs})",
        median(rates)
    );
}
