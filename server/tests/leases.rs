//! The lease endpoint over real HTTP (`docs/budgets.md`), on SQLite and PostgreSQL:
//! concurrent instances never hold more than the budget, returned and expired leases give
//! back their rest, rate shares never sum past the limit (cooling included), usage carries
//! lease ids, crossings are recorded once, bad input is a typed 4xx, leases outlive a
//! server restart, and people see a budget's live leases.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::HashMap;
use std::time::Duration;

use axum::http::StatusCode;
use serde_json::{Value, json};
use switchyard_server::rbac::Role;
use switchyard_server::store::LeaseSettings;
use switchyard_server::util::now_ms;

use common::app::TestApp;
use common::databases;
use common::usage::event;

/// An app of tenant A in a department of its own, with a key: (app id, key secret).
async fn app_with_key(app: &TestApp, n: usize) -> (String, String) {
    let fx = app.fixture(n).await;
    (fx.app, fx.key_secret)
}

/// Creates `body` under `/api/v1/{what}` as tenant A's admin: the new id.
async fn create(app: &TestApp, what: &str, body: Value) -> String {
    let (status, b) = app
        .call(
            "POST",
            &format!("/api/v1/{what}"),
            Some(&app.admin_a),
            Some(body),
        )
        .await;
    assert_eq!(status, 201, "{b}");
    b["id"].as_str().unwrap().to_owned()
}

/// An app with a key and a hard budget of `amount_usd` a `period` on it: (app id, key, budget id).
async fn budgeted_app(app: &TestApp, period: &str, amount_usd: f64) -> (String, String, String) {
    let (app_id, key) = app_with_key(app, 1).await;
    let budget = create(
        app,
        "budgets",
        json!({"name": "b", "scope": "app", "scope_ref": app_id, "period": period,
               "amount_usd": amount_usd, "mode": "hard"}),
    )
    .await;
    (app_id, key, budget)
}

struct Sdk {
    http: reqwest::Client,
    base: String,
    key: String,
}

impl Sdk {
    fn new(base: &str, key: &str) -> Sdk {
        Sdk {
            http: reqwest::Client::new(),
            base: base.to_owned(),
            key: key.to_owned(),
        }
    }

    async fn post(&self, path: &str, body: Value) -> (u16, Value) {
        let r = self
            .http
            .post(format!("{}{path}", self.base))
            .bearer_auth(&self.key)
            .json(&body)
            .send()
            .await
            .unwrap();
        let status = r.status().as_u16();
        let text = r.text().await.unwrap();
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    async fn lease(&self, body: Value) -> (u16, Value) {
        self.post("/sdk/v1/leases", body).await
    }

    /// Usage of `cost_usd` under `lease`, now.
    async fn spend(&self, lease: &str, model: &str, cost_usd: f64) -> Value {
        let mut e = event(now_ms(), model, "d", cost_usd, 10.0);
        e["lease"] = json!(lease);
        let (status, ack) = self.post("/sdk/v1/usage", json!({"events": [e]})).await;
        assert_eq!(status, 200, "{ack}");
        ack
    }
}

fn granted(grant: &Value, id: &str) -> f64 {
    grant["budgets"]
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["id"] == id)
        .unwrap()["granted_usd"]
        .as_f64()
        .unwrap()
}

fn share(grant: &Value, id: &str) -> i64 {
    grant["limits"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["id"] == id)
        .unwrap()["rpm"]
        .as_i64()
        .unwrap()
}

async fn budget_state(app: &TestApp, id: &str) -> Value {
    let (status, b) = app
        .call(
            "GET",
            &format!("/api/v1/budgets/{id}"),
            Some(&app.admin_a),
            None,
        )
        .await;
    assert_eq!(status, 200, "{b}");
    b["state"].clone()
}

/// 8 instances, concurrently, each spending its whole slice, reporting it as usage with
/// its lease id, and renewing, 25 times over: what they spend never passes the budget,
/// and they get nearly all of it.
#[tokio::test]
async fn concurrent_instances_never_spend_past_the_budget() {
    for (backend, url) in databases().await {
        let app = TestApp::new(&url).await;
        let (_, key, budget) = budgeted_app(&app, "month", 1.0).await;
        let (base, serving) = app.listen().await;
        let started = std::time::Instant::now();
        let mut tasks = Vec::new();
        for i in 0..8 {
            let sdk = Sdk::new(&base, &key);
            let budget = budget.clone();
            tasks.push(tokio::spawn(async move {
                let instance = format!("instance-{i}");
                let (status, mut grant) = sdk.lease(json!({"instance": instance})).await;
                assert_eq!(status, 200, "{grant}");
                let lease = grant["lease"].as_str().unwrap().to_owned();
                let mut spent = 0.0;
                for round in 0..25 {
                    let g = granted(&grant, &budget);
                    let step = ((g - spent) * 1e6).round() / 1e6;
                    if step > 0.0 {
                        sdk.spend(&lease, "chat", step).await;
                        spent += step;
                    }
                    let want = 0.02 + 0.01 * f64::from(i % 3) + 0.001 * f64::from(round);
                    let (status, next) = sdk
                        .lease(json!({"instance": instance, "lease": lease,
                            "used": [{"id": budget, "amount": spent}],
                            "want": [{"id": budget, "amount": want}]}))
                        .await;
                    assert_eq!(status, 200, "{next}");
                    assert!(granted(&next, &budget) >= g, "a grant shrank: {next}");
                    grant = next;
                }
                (spent, granted(&grant, &budget))
            }));
        }
        let (mut total, mut held) = (0.0, 0.0);
        for t in tasks {
            let (spent, granted) = t.await.unwrap();
            total += spent;
            held += granted;
        }
        // What the live slices hold, spent or not, never passes the budget either.
        assert!(
            held <= 1.0 + 1e-9,
            "{backend}: the slices hold {held} of 1 USD"
        );
        serving.abort();
        let state = budget_state(&app, &budget).await;
        eprintln!(
            "{backend}: 8 instances x 25 renewals (and a usage batch each) in {:?}: spent \
             {total:.6} USD of 1.0, slices hold {held:.6}; state {state}",
            started.elapsed()
        );
        assert!(
            total <= 1.0 + 1e-9,
            "{backend}: spent {total} of a 1 USD budget"
        );
        assert!(
            total >= 0.9,
            "{backend}: only {total} of the budget was granted"
        );
        assert!((state["spent_usd"].as_f64().unwrap() - total).abs() < 1e-6);
        assert!(state["remaining_usd"].as_f64().unwrap() >= 0.0);
    }
}

#[tokio::test]
async fn returned_and_expired_leases_give_back_their_rest() {
    for (backend, url) in databases().await {
        let app = TestApp::new(&url).await.with_leases(LeaseSettings {
            ttl_ms: 400,
            grace_ms: 400,
            window_ms: 60_000,
        });
        let (_, key, budget) = budgeted_app(&app, "day", 10.0).await;
        let (base, serving) = app.listen().await;
        let sdk = Sdk::new(&base, &key);
        // The first slice is 1% of the budget.
        let (_, grant) = sdk.lease(json!({"instance": "a"})).await;
        assert_eq!(granted(&grant, &budget), 0.1, "{backend}");
        assert_eq!(grant["refresh_in_ms"], 133);
        let lease = grant["lease"].as_str().unwrap().to_owned();
        // Renewals that say nothing keep a default's worth in hand, no more: an idle
        // instance does not hoard; one that used 0.04 of it is topped up by 0.04.
        for used in [0.0, 0.0, 0.04, 0.04] {
            let (_, again) = sdk
                .lease(json!({"instance": "a", "lease": lease,
                    "used": [{"id": budget, "amount": used}]}))
                .await;
            assert!(
                (granted(&again, &budget) - 0.1 - used).abs() < 1e-9,
                "{again}"
            );
        }
        let state = budget_state(&app, &budget).await;
        assert_eq!(
            (
                state["reserved_usd"].as_f64(),
                state["live_leases"].as_i64()
            ),
            (Some(0.14), Some(1))
        );
        // Returned having used 0.04 of it: only those stay reserved, until ingested.
        let (status, _) = sdk
            .post(
                &format!("/sdk/v1/leases/{lease}/return"),
                json!({"used": [{"id": budget, "amount": 0.04}]}),
            )
            .await;
        assert_eq!(status, 204);
        let state = budget_state(&app, &budget).await;
        assert_eq!(state["reserved_usd"].as_f64(), Some(0.04), "{state}");
        assert_eq!(state["live_leases"].as_i64(), Some(0));
        sdk.spend(&lease, "chat", 0.04).await;
        let state = budget_state(&app, &budget).await;
        assert_eq!(
            (state["reserved_usd"].as_f64(), state["spent_usd"].as_f64()),
            (Some(0.0), Some(0.04)),
            "{state}"
        );
        // A lease left to expire: still held during the grace, then free.
        let (_, grant) = sdk.lease(json!({"instance": "b"})).await;
        let lease = grant["lease"].as_str().unwrap().to_owned();
        tokio::time::sleep(Duration::from_millis(500)).await;
        let (status, body) = sdk.lease(json!({"instance": "b", "lease": lease})).await;
        assert_eq!(
            (status, body["code"].as_str()),
            (410, Some("gone")),
            "{body}"
        );
        let state = budget_state(&app, &budget).await;
        assert!(state["reserved_usd"].as_f64().unwrap() > 0.09, "{state}");
        tokio::time::sleep(Duration::from_millis(400)).await;
        let state = budget_state(&app, &budget).await;
        assert_eq!(state["reserved_usd"].as_f64(), Some(0.0), "{state}");
        serving.abort();
    }
}

/// Instances come, renew with different wants, and leave; after every grant, the live
/// shares plus the shares given up less than a window ago never pass the limit.
#[tokio::test]
async fn rate_shares_never_sum_past_the_limit() {
    for (backend, url) in databases().await {
        let (window, ttl) = (600, 1_000);
        let app = TestApp::new(&url).await.with_leases(LeaseSettings {
            ttl_ms: ttl,
            grace_ms: 1_000,
            window_ms: window,
        });
        let fx = app.fixture(1).await;
        let limit = create(
            &app,
            "rate-limits",
            json!({"name": "l", "scope": "tenant", "rpm": 100}),
        )
        .await;
        let (base, serving) = app.listen().await;
        let sdk = Sdk::new(&base, &fx.key_secret);
        // (lease, share, usable until) of every share ever held, client-side. A lease's
        // local limiter counts the last window's requests whatever its share was, so in
        // any window a lease makes at most the largest share it held in that window.
        let mut held: Vec<(String, i64, i64)> = Vec::new();
        let mut leases: HashMap<usize, (String, usize, i64)> = HashMap::new();
        let check = |held: &[(String, i64, i64)], at: i64, what: &str| {
            let mut most: HashMap<&str, i64> = HashMap::new();
            for (lease, s, until) in held {
                if *until + window > at {
                    let m = most.entry(lease.as_str()).or_default();
                    *m = (*m).max(*s);
                }
            }
            let counted: i64 = most.values().sum();
            assert!(
                counted <= 100,
                "{backend} {what}: {counted} > 100 ({held:?})"
            );
        };
        for round in 0..12usize {
            for i in 0..4usize {
                let want = 1 + (i * round % 5) * 10;
                let body = match leases.get(&i) {
                    Some((lease, _, _)) => json!({"instance": format!("i{i}"), "lease": lease,
                        "want": [{"id": limit, "amount": want}]}),
                    None => json!({"instance": format!("i{i}"),
                        "want": [{"id": limit, "amount": want}]}),
                };
                let (status, grant) = sdk.lease(body).await;
                assert_eq!(status, 200, "{grant}");
                let now = now_ms();
                let s = share(&grant, &limit);
                // The previous share of this lease ends now; the new one runs on.
                if let Some((_, at, _)) = leases.get(&i) {
                    held[*at].2 = now;
                }
                let lease = grant["lease"].as_str().unwrap().to_owned();
                held.push((lease.clone(), s, i64::MAX - window));
                let expires = grant["expires_at_ms"].as_i64().unwrap();
                leases.insert(i, (lease, held.len() - 1, expires));
                check(&held, now, "after a grant");
            }
            // One instance leaves at every other round.
            if round % 2 == 1 {
                let i = round % 4;
                if let Some((lease, at, _)) = leases.remove(&i) {
                    let (status, _) = sdk
                        .post(&format!("/sdk/v1/leases/{lease}/return"), json!({}))
                        .await;
                    assert_eq!(status, 204);
                    held[at].2 = now_ms();
                }
            }
            if round == 6 {
                // Every lease left to expire: each share counts until its expiry, then one
                // window more; the instances start anew.
                for (_, at, expires) in leases.drain().map(|(_, v)| v) {
                    held[at].2 = expires;
                }
                tokio::time::sleep(Duration::from_millis((window + ttl) as u64)).await;
            }
        }
        let shares: Vec<i64> = held.iter().map(|h| h.1).collect();
        eprintln!("{backend}: shares granted in turn {shares:?}");
        // Shares move: newcomers and busier instances get some, not one holder all.
        assert!(shares.iter().filter(|s| **s > 0).count() > 8, "{shares:?}");
        let (_, state) = app
            .call(
                "GET",
                &format!("/api/v1/rate-limits/{limit}"),
                Some(&app.admin_a),
                None,
            )
            .await;
        assert!(
            state["state"]["rpm_shares"].as_i64().unwrap() <= 100,
            "{state}"
        );
        serving.abort();
    }
}

#[tokio::test]
async fn usage_names_only_its_own_apps_leases_and_crossings_are_recorded_once() {
    for (backend, url) in databases().await {
        let app = TestApp::new(&url).await;
        let (app_id, key) = app_with_key(&app, 1).await;
        let (_, other_key) = app_with_key(&app, 2).await;
        let soft = create(
            &app,
            "budgets",
            json!({"name": "soft", "scope": "model", "scope_ref": "chat", "period": "week",
                   "amount_usd": 0.05, "mode": "soft"}),
        )
        .await;
        let hard = create(
            &app,
            "budgets",
            json!({"name": "hard", "scope": "app", "scope_ref": app_id, "period": "day",
                   "amount_usd": 0.1, "mode": "hard"}),
        )
        .await;
        let (base, serving) = app.listen().await;
        let sdk = Sdk::new(&base, &key);
        let other = Sdk::new(&base, &other_key);
        let (_, grant) = sdk.lease(json!({"instance": "a"})).await;
        let lease = grant["lease"].as_str().unwrap().to_owned();
        let ids: Vec<&str> = grant["budgets"]
            .as_array()
            .unwrap()
            .iter()
            .map(|b| b["id"].as_str().unwrap())
            .collect();
        assert!(
            ids.contains(&soft.as_str()) && ids.contains(&hard.as_str()),
            "{grant}"
        );
        // Another app's lease, an unknown one, and a lease that is not a string.
        let (_, theirs) = other.lease(json!({"instance": "b"})).await;
        let theirs = theirs["lease"].as_str().unwrap();
        let mut bad = Vec::new();
        for lease in [json!(theirs), json!("lse_nope"), json!(42)] {
            let mut e = event(now_ms(), "chat", "d", 0.01, 10.0);
            e["lease"] = lease;
            bad.push(e);
        }
        let mut good = event(now_ms(), "chat", "d", 0.03, 10.0);
        good["lease"] = json!(lease);
        bad.push(good);
        let (status, ack) = sdk.post("/sdk/v1/usage", json!({"events": bad})).await;
        assert_eq!(status, 200, "{ack}");
        assert_eq!(ack["accepted"], 1, "{ack}");
        let rejected = ack["rejected"].as_array().unwrap();
        assert_eq!(rejected.len(), 3, "{ack}");
        assert!(rejected.iter().all(|r| r["field"] == "lease"), "{ack}");
        // The lease's slices took the cost: the model budget's and the app budget's.
        let state = budget_state(&app, &hard).await;
        assert_eq!(state["spent_usd"].as_f64(), Some(0.03), "{backend} {state}");
        // Crossing the soft budget (0.06 of 0.05 on chat) and then the hard one (0.12 of
        // 0.1 on the app), each twice over: one event each.
        for model in ["chat", "chat", "other-model", "other-model"] {
            sdk.spend(&lease, model, 0.03).await;
        }
        let (_, events) = app
            .call("GET", "/api/v1/events", Some(&app.admin_a), None)
            .await;
        let mut seen: Vec<(String, String)> = events["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| {
                (
                    e["kind"].as_str().unwrap().into(),
                    e["subject_id"].as_str().unwrap().into(),
                )
            })
            .collect();
        seen.sort();
        assert_eq!(
            seen,
            vec![
                ("budget.exhausted".to_owned(), hard.clone()),
                ("budget.soft_exceeded".to_owned(), soft.clone())
            ],
            "{events}"
        );
        // Pruning with a cutoff past both leases' expiry forgets them (the retention job
        // uses the raw usage's cutoff); usage naming a forgotten lease is refused.
        let pruned = app.store.prune_leases(now_ms() + 3_600_000).await.unwrap();
        assert_eq!(pruned, 2);
        let mut late = event(now_ms(), "chat", "d", 0.01, 10.0);
        late["lease"] = json!(lease);
        let (_, ack) = sdk.post("/sdk/v1/usage", json!({"events": [late]})).await;
        assert_eq!(ack["rejected"][0]["field"], "lease", "{ack}");
        serving.abort();
    }
}

#[tokio::test]
async fn bad_lease_requests_are_typed_4xx_and_leases_survive_a_restart() {
    for (backend, url) in databases().await {
        let app = TestApp::new(&url).await;
        let (app_id, key) = app_with_key(&app, 1).await;
        let (_, other_key) = app_with_key(&app, 2).await;
        let budget = create(
            &app,
            "budgets",
            json!({"name": "b", "scope": "tenant", "period": "month",
                   "amount_usd": 50.0, "mode": "hard"}),
        )
        .await;
        let (base, serving) = app.listen().await;
        let sdk = Sdk::new(&base, &key);
        let (_, grant) = sdk.lease(json!({"instance": "a"})).await;
        let lease = grant["lease"].as_str().unwrap().to_owned();
        let cases = [
            (
                json!({"instance": "a", "want": [{"id": budget, "amount": -1.0}]}),
                422,
                Some("want[0].amount"),
            ),
            (
                json!({"instance": "a", "used": [{"id": budget, "amount": 1e300}]}),
                422,
                Some("used[0].amount"),
            ),
            (json!({"instance": ""}), 422, Some("instance")),
            (json!({"instance": "a", "lease": "lse_nope"}), 404, None),
            (
                json!({"instance": "a", "surprise": 1}),
                400,
                Some("surprise"),
            ),
        ];
        for (body, status, field) in cases {
            let (s, b) = sdk.lease(body.clone()).await;
            assert_eq!(
                (s, b["field"].as_str()),
                (status, field),
                "{backend} {body}: {b}"
            );
        }
        // Another app's lease is unknown to this one, for renewal and return alike.
        let other = Sdk::new(&base, &other_key);
        let (s, _) = other.lease(json!({"instance": "x", "lease": lease})).await;
        assert_eq!(s, 404);
        let (s, _) = other
            .post(&format!("/sdk/v1/leases/{lease}/return"), json!({}))
            .await;
        assert_eq!(s, 404);
        // So is it to an app of another tenant, and its usage may not name it.
        let root_b = app
            .store
            .tenant(&app.tenant_b)
            .list_departments(Default::default())
            .await
            .unwrap()[0]
            .id
            .clone();
        let (_, key_b) = common::app_with_key(&app.store, &app.tenant_b, &root_b, "b").await;
        let theirs = Sdk::new(&base, &key_b);
        let (s, b) = theirs.lease(json!({"instance": "x", "lease": lease})).await;
        assert_eq!((s, b["code"].as_str()), (404, Some("not_found")), "{b}");
        let (s, _) = theirs
            .post(&format!("/sdk/v1/leases/{lease}/return"), json!({}))
            .await;
        assert_eq!(s, 404);
        let mut e = event(now_ms(), "chat", "d", 0.01, 10.0);
        e["lease"] = json!(lease);
        let (s, ack) = theirs.post("/sdk/v1/usage", json!({"events": [e]})).await;
        assert_eq!(
            (s, ack["rejected"][0]["field"].as_str()),
            (422, Some("lease")),
            "{ack}"
        );
        // Tenant B's grant shows none of tenant A's budgets.
        let (s, grant_b) = theirs.lease(json!({"instance": "x"})).await;
        assert_eq!(s, 200);
        assert_eq!(grant_b["budgets"], json!([]), "{grant_b}");
        serving.abort();
        // A new server process on the same database knows the lease.
        let store = common::store(&url).await;
        let state = switchyard_server::state::AppState::new(store, None);
        let router = switchyard_server::api::router(state);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let serving = tokio::spawn(async move {
            axum::serve(
                listener,
                router.into_make_service_with_connect_info::<std::net::SocketAddr>(),
            )
            .await
            .unwrap();
        });
        let sdk = Sdk::new(&base, &key);
        let (s, renewed) = sdk
            .lease(json!({"instance": "a", "lease": lease,
                "want": [{"id": budget, "amount": 1.0}]}))
            .await;
        assert_eq!(s, 200, "{renewed}");
        assert_eq!(renewed["lease"], lease.as_str());
        assert_eq!(granted(&renewed, &budget), 1.5, "{app_id}: {renewed}");
        serving.abort();
    }
}

/// People see a budget's live leases: which instance of which app holds how much of it
/// this period; a returned lease leaves the list, another tenant's budget is not found.
#[tokio::test]
async fn a_budgets_live_leases_are_listed_for_people() {
    for (backend, url) in databases().await {
        let app = TestApp::new(&url).await;
        let (app_id, key, budget) = budgeted_app(&app, "month", 10.0).await;
        let (base, serving) = app.listen().await;
        let sdk = Sdk::new(&base, &key);
        let mut leases = Vec::new();
        for instance in ["web-1", "web-2"] {
            let (status, grant) = sdk.lease(json!({"instance": instance})).await;
            assert_eq!(status, 200, "{grant}");
            leases.push(grant["lease"].as_str().unwrap().to_owned());
        }
        sdk.spend(&leases[0], "chat", 0.03).await;
        let list = |token: String| {
            let app = &app;
            let uri = format!("/api/v1/budgets/{budget}/leases");
            async move { app.call("GET", &uri, Some(&token), None).await }
        };
        let (status, body) = list(app.tokens[&Role::ModelOps].clone()).await;
        assert_eq!(status, StatusCode::OK, "{backend}: {body}");
        let items = body["items"].as_array().unwrap();
        let instances: Vec<&str> = items
            .iter()
            .map(|l| l["instance"].as_str().unwrap())
            .collect();
        assert_eq!(instances, ["web-1", "web-2"], "{body}");
        assert_eq!(items[0]["lease_id"], leases[0]);
        assert_eq!(items[0]["app_id"], app_id);
        assert_eq!(items[0]["granted_usd"], 0.1);
        assert_eq!(items[0]["ingested_usd"], 0.03, "{body}");
        assert!(items[0]["expires_at"].as_i64().unwrap() > now_ms());
        // The list agrees with the budget's own count of live leases.
        let state = budget_state(&app, &budget).await;
        assert_eq!(state["live_leases"].as_u64(), Some(items.len() as u64));

        let (status, _) = sdk
            .post(&format!("/sdk/v1/leases/{}/return", leases[1]), json!({}))
            .await;
        assert_eq!(status, 204);
        let (_, body) = list(app.admin_a.clone()).await;
        assert_eq!(body["items"].as_array().unwrap().len(), 1, "{body}");
        // Tenant B's admin does not find tenant A's budget; an app developer may not read.
        let (status, _) = list(app.token_b.clone()).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        let (status, _) = list(app.tokens[&Role::AppDeveloper].clone()).await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        serving.abort();
    }
}
