//! The usage series, the cost report with the department tree rolled up, the chargeback
//! (JSON and CSV) adding up to the report's total to the cent, and who sees what, over
//! events seeded through the real ingestion route, on SQLite and PostgreSQL.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::HashMap;

use axum::http::StatusCode;
use serde_json::{Value, json};
use switchyard_server::rbac::Role;

use common::app::TestApp;
use common::usage::{T0, event, post};
use common::{ctx, databases};

const DAY: i64 = 86_400_000;

/// root ─ eng ─ ml
///      └ sales
struct Seeded {
    app: TestApp,
    eng: String,
    ml: String,
    sales: String,
    /// app name -> id
    apps: HashMap<&'static str, String>,
    /// department id -> own cost micros
    own: HashMap<String, i64>,
    /// (model, day index) -> calls
    calls: HashMap<(String, i64), i64>,
    total_micros: i64,
    total_calls: i64,
}

async fn seed(url: &str) -> Seeded {
    let app = TestApp::new(url).await;
    let t = app.store.tenant(&app.tenant_a);
    let eng = t
        .create_department(&ctx(), "eng", Some(&app.root_a))
        .await
        .unwrap()
        .id;
    let ml = t
        .create_department(&ctx(), "ml", Some(&eng))
        .await
        .unwrap()
        .id;
    let sales = t
        .create_department(&ctx(), "sales", Some(&app.root_a))
        .await
        .unwrap()
        .id;
    let mut apps = HashMap::new();
    let mut keys = HashMap::new();
    for (name, dept) in [
        ("portal", &app.root_a),
        ("search", &eng),
        ("ranker", &ml),
        ("crm", &sales),
    ] {
        let (id, secret) = common::app_with_key(&app.store, &app.tenant_a, dept, name).await;
        apps.insert(name, id);
        keys.insert(name, (secret, dept.clone()));
    }
    let mut own: HashMap<String, i64> = HashMap::new();
    let mut calls: HashMap<(String, i64), i64> = HashMap::new();
    let (mut total_micros, mut total_calls) = (0, 0);
    let mut n = 0u64;
    for (name, (secret, dept)) in &keys {
        let mut events = Vec::new();
        for day in 0..5i64 {
            for model in ["chat", "claude"] {
                for i in 0..7i64 {
                    n += 1;
                    // Costs with fractions of a cent, so rounding matters.
                    let micros = (n * 7_919 % 123_457) as i64 + 1;
                    let mut e = event(
                        T0 + day * DAY + i * 61_000,
                        model,
                        &format!("{model}-dep"),
                        micros as f64 / 1e6,
                        100.0 + (i * 150) as f64,
                    );
                    e["tags"] = json!([format!("app:{name}"), "all"]);
                    events.push(e);
                    *own.entry(dept.clone()).or_default() += micros;
                    *calls.entry((model.to_owned(), day)).or_default() += 1;
                    total_micros += micros;
                    total_calls += 1;
                }
            }
        }
        // One event in the next month: outside the period.
        events.push(event(T0 + 25 * DAY, "chat", "chat-dep", 9.0, 10.0));
        let (s, ack) = post(&app, secret, &events, false).await;
        assert_eq!(s, StatusCode::OK, "{ack}");
        assert_eq!(ack["accepted"], 71);
    }
    Seeded {
        app,
        eng,
        ml,
        sales,
        apps,
        own,
        calls,
        total_micros,
        total_calls,
    }
}

async fn get(app: &TestApp, token: &str, uri: &str) -> (StatusCode, Value) {
    app.call("GET", uri, Some(token), None).await
}

const RANGE: &str = "from=2026-11-10T00:00:00Z&to=2026-11-20T00:00:00Z";

#[tokio::test]
async fn the_series_groups_and_filters_usage() {
    for (_, url) in databases().await {
        let s = seed(&url).await;
        let admin = s.app.admin_a.clone();
        let (st, r) = get(
            &s.app,
            &admin,
            &format!("/api/v1/usage?{RANGE}&step=1d&group_by=model"),
        )
        .await;
        assert_eq!(st, StatusCode::OK, "{r}");
        assert_eq!(r["step_ms"], DAY);
        let series = r["series"].as_array().unwrap();
        assert_eq!(series.len(), 2);
        for sr in series {
            let model = sr["group"].as_str().unwrap();
            let points = sr["points"].as_array().unwrap();
            assert_eq!(points.len(), 5, "{model}");
            for p in points {
                let day = (p["time"].as_i64().unwrap() - T0) / DAY;
                assert_eq!(
                    p["calls"].as_i64().unwrap(),
                    s.calls[&(model.to_owned(), day)]
                );
                assert_eq!(p["prompt_tokens"], p["calls"].as_i64().unwrap() * 100);
                assert_eq!(p["error_rate"], 0.0);
                let (p50, p99) = (
                    p["latency_ms_p50"].as_f64().unwrap(),
                    p["latency_ms_p99"].as_f64().unwrap(),
                );
                // Latencies are 100..=1000 ms.
                assert!(
                    (100.0..=1000.0).contains(&p50) && p50 <= p99 && p99 <= 1000.0,
                    "{p}"
                );
            }
        }
        // Ungrouped, one bucket: every call and the exact cost.
        let (_, r) = get(&s.app, &admin, &format!("/api/v1/usage?{RANGE}&step=10d")).await;
        let p = &r["series"][0]["points"][0];
        assert_eq!(p["calls"].as_i64().unwrap(), s.total_calls);
        assert_eq!(p["cost_micros"].as_i64().unwrap(), s.total_micros);
        assert!(r["series"][0]["group"].is_null());
        // A department filter covers its subtree: eng = search + ranker.
        let (_, r) = get(
            &s.app,
            &admin,
            &format!(
                "/api/v1/usage?{RANGE}&step=10d&department={}&group_by=app",
                s.eng
            ),
        )
        .await;
        let groups: Vec<&str> = r["series"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x["name"].as_str().unwrap())
            .collect();
        assert_eq!(groups.len(), 2, "{r}");
        assert!(groups.contains(&"search") && groups.contains(&"ranker"));
        // Tags (raw events) and the other filters.
        let (_, r) = get(
            &s.app,
            &admin,
            &format!("/api/v1/usage?{RANGE}&step=10d&group_by=tag"),
        )
        .await;
        let by_tag: HashMap<String, i64> = r["series"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| {
                (
                    x["group"].as_str().unwrap().to_owned(),
                    x["points"][0]["calls"].as_i64().unwrap(),
                )
            })
            .collect();
        assert_eq!(by_tag["all"], s.total_calls);
        assert_eq!(by_tag["app:crm"], 70);
        let (_, r) = get(
            &s.app,
            &admin,
            &format!("/api/v1/usage?{RANGE}&step=10d&tag=app:crm&model=claude"),
        )
        .await;
        assert_eq!(r["series"][0]["points"][0]["calls"], 35);
        let (_, r) = get(
            &s.app,
            &admin,
            &format!(
                "/api/v1/usage?{RANGE}&step=10d&app={}&deployment=chat-dep&provider=openai",
                s.apps["crm"]
            ),
        )
        .await;
        assert_eq!(r["series"][0]["points"][0]["calls"], 35);
        // Bad parameters.
        for q in [
            "from=yesterday",
            "step=1s",
            "group_by=colour",
            "from=2026-11-20T00:00:00Z&to=2026-11-10T00:00:00Z",
            "from=0&to=9999999999999&step=1m",
            "nope=1",
        ] {
            let (st, b) = get(&s.app, &admin, &format!("/api/v1/usage?{q}")).await;
            assert_eq!(st, StatusCode::BAD_REQUEST, "{q}: {b}");
        }
    }
}

#[tokio::test]
async fn the_cost_report_rolls_the_tree_up_and_the_chargeback_adds_up_to_the_cent() {
    for (_, url) in databases().await {
        let s = seed(&url).await;
        let admin = s.app.admin_a.clone();
        let (st, r) = get(
            &s.app,
            &admin,
            "/api/v1/costs/report?period=2026-11&group_by=department",
        )
        .await;
        assert_eq!(st, StatusCode::OK, "{r}");
        assert_eq!(r["total"]["cost_micros"].as_i64().unwrap(), s.total_micros);
        let items: HashMap<String, Value> = r["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| (i["key"].as_str().unwrap().to_owned(), i.clone()))
            .collect();
        let own = |d: &str| s.own.get(d).copied().unwrap_or(0);
        let total = |d: &str| items[d]["total"]["cost_micros"].as_i64().unwrap();
        assert_eq!(total(&s.ml), own(&s.ml));
        assert_eq!(total(&s.eng), own(&s.eng) + own(&s.ml));
        assert_eq!(total(&s.sales), own(&s.sales));
        assert_eq!(total(&s.app.root_a), s.total_micros);
        assert_eq!(
            items[&s.app.root_a]["own"]["cost_micros"].as_i64().unwrap(),
            own(&s.app.root_a)
        );
        assert_eq!(items[&s.ml]["name"], "root / eng / ml");

        for group in ["app", "model"] {
            let (_, r) = get(
                &s.app,
                &admin,
                &format!("/api/v1/costs/report?period=2026-11&group_by={group}"),
            )
            .await;
            let sum: i64 = r["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|i| i["total"]["cost_micros"].as_i64().unwrap())
                .sum();
            assert_eq!(sum, s.total_micros, "{group}");
        }

        let cents = |t: &str| -> i64 {
            let (d, c) = t.split_once('.').unwrap();
            d.parse::<i64>().unwrap() * 100 + c.parse::<i64>().unwrap()
        };
        let report_cents = cents(r["total_cost_usd_cents"].as_str().unwrap());
        assert_eq!(report_cents, (s.total_micros + 5_000) / 10_000);
        let (st, c) = get(
            &s.app,
            &admin,
            "/api/v1/costs/chargeback?period=2026-11&format=json",
        )
        .await;
        assert_eq!(st, StatusCode::OK, "{c}");
        let rows = c["rows"].as_array().unwrap();
        assert_eq!(rows.len(), 4);
        assert_eq!(c["total_cost_micros"].as_i64().unwrap(), s.total_micros);
        assert_eq!(cents(c["total_cost_usd"].as_str().unwrap()), report_cents);
        let row_cents: i64 = rows
            .iter()
            .map(|r| cents(r["cost_usd"].as_str().unwrap()))
            .sum();
        assert_eq!(row_cents, report_cents);
        for r in rows {
            let exact = r["cost_micros"].as_i64().unwrap();
            assert!(
                (cents(r["cost_usd"].as_str().unwrap()) * 10_000 - exact).abs() < 10_000,
                "{r}"
            );
        }

        let req = common::app::request(
            "GET",
            "/api/v1/costs/chargeback?period=2026-11&format=csv",
            Some(&admin),
            None,
        );
        let (st, csv, headers) = s.app.send(req).await;
        assert_eq!(st, StatusCode::OK);
        assert!(
            headers["content-type"]
                .to_str()
                .unwrap()
                .starts_with("text/csv")
        );
        let csv = csv.as_str().unwrap().to_owned();
        let lines: Vec<&str> = csv.lines().collect();
        assert_eq!(
            lines[0],
            "period,department_id,department,app_id,app,calls,prompt_tokens,completion_tokens,cached_tokens,cost_micros,cost_usd"
        );
        assert_eq!(lines.len(), 5);
        let csv_cents: i64 = lines[1..]
            .iter()
            .map(|l| cents(l.rsplit(',').next().unwrap()))
            .sum();
        assert_eq!(csv_cents, report_cents);
        // Another month is empty, and a bad period is a 400.
        let (_, r) = get(&s.app, &admin, "/api/v1/costs/report?period=2026-10").await;
        assert_eq!(r["total"]["calls"], 0);
        for q in [
            "period=2026-13",
            "period=nov",
            "period=2026-11&group_by=tag",
            "period=2026-11&format=xml",
        ] {
            let uri = if q.contains("format") {
                format!("/api/v1/costs/chargeback?{q}")
            } else {
                format!("/api/v1/costs/report?{q}")
            };
            let (st, b) = get(&s.app, &admin, &uri).await;
            assert_eq!(st, StatusCode::BAD_REQUEST, "{q}: {b}");
        }
    }
}

#[tokio::test]
async fn each_role_sees_its_reach() {
    for (_, url) in databases().await {
        let s = seed(&url).await;
        let series_total = |r: &Value| -> i64 {
            r["series"]
                .as_array()
                .unwrap()
                .iter()
                .flat_map(|x| x["points"].as_array().unwrap())
                .map(|p| p["calls"].as_i64().unwrap())
                .sum()
        };
        let usage = format!("/api/v1/usage?{RANGE}&step=10d&group_by=app");
        let report = "/api/v1/costs/report?period=2026-11";
        // Tenant-wide bindings.
        for role in Role::ALL {
            let token = s.app.tokens[&role].clone();
            let (st, r) = get(&s.app, &token, &usage).await;
            let may = matches!(
                role,
                Role::InfraAdmin
                    | Role::ResourceManager
                    | Role::SecurityEngineer
                    | Role::AppDeveloper
            );
            assert_eq!(st.is_success(), may, "{role:?} usage: {st}");
            if may {
                assert_eq!(series_total(&r), s.total_calls, "{role:?}");
            }
            let (st, _) = get(&s.app, &token, report).await;
            let may = matches!(
                role,
                Role::InfraAdmin | Role::ResourceManager | Role::SecurityEngineer
            );
            assert_eq!(st.is_success(), may, "{role:?} costs: {st}");
        }
        // An app developer bound to eng sees eng and ml's apps only.
        let dev = s
            .app
            .user_with(
                "dev",
                json!([{"role": "app_developer", "department_id": s.eng}]),
            )
            .await;
        let (st, r) = get(&s.app, &dev, &usage).await;
        assert_eq!(st, StatusCode::OK, "{r}");
        let names: Vec<&str> = r["series"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x["name"].as_str().unwrap())
            .collect();
        assert_eq!(names.len(), 2, "{r}");
        assert!(names.contains(&"search") && names.contains(&"ranker"));
        assert_eq!(series_total(&r), 140);
        assert_eq!(
            get(&s.app, &dev, &format!("{usage}&department={}", s.ml))
                .await
                .0,
            StatusCode::OK
        );
        assert_eq!(
            get(&s.app, &dev, &format!("{usage}&department={}", s.sales))
                .await
                .0,
            StatusCode::NOT_FOUND
        );
        assert_eq!(get(&s.app, &dev, report).await.0, StatusCode::FORBIDDEN);
        // A resource manager bound to sales: its report and chargeback hold sales only.
        let rm = s
            .app
            .user_with(
                "rm",
                json!([{"role": "resource_manager", "department_id": s.sales}]),
            )
            .await;
        let (st, r) = get(&s.app, &rm, report).await;
        assert_eq!(st, StatusCode::OK, "{r}");
        let keys: Vec<&str> = r["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["key"].as_str().unwrap())
            .collect();
        assert_eq!(keys, vec![s.sales.as_str()]);
        assert_eq!(r["total"]["cost_micros"].as_i64().unwrap(), s.own[&s.sales]);
        let (_, c) = get(&s.app, &rm, "/api/v1/costs/chargeback?period=2026-11").await;
        assert_eq!(c["rows"].as_array().unwrap().len(), 1);
        assert_eq!(c["rows"][0]["app"], "crm");
        assert_eq!(
            get(&s.app, &rm, &format!("{report}&department={}", s.eng))
                .await
                .0,
            StatusCode::NOT_FOUND
        );
        // Tenant B sees none of it.
        let (_, r) = get(&s.app, &s.app.token_b, &usage).await;
        assert_eq!(series_total(&r), 0);
        let (_, r) = get(&s.app, &s.app.token_b, report).await;
        assert_eq!(r["total"]["calls"], 0);
    }
}

#[tokio::test]
async fn advice_items_carry_figures_from_the_data_and_the_active_config() {
    for (_, url) in databases().await {
        let app = TestApp::new(&url).await;
        let admin = app.admin_a.clone();
        let doc = json!({
            "version": 1,
            "providers": {"openai": {"kind": "openai"}},
            "models": {"chat": {"deployments": [
                {"name": "big", "provider": "openai", "model": "gpt-4o", "price": {"input": 2.5, "output": 10.0}},
                {"name": "small", "provider": "openai", "model": "gpt-4o-mini", "price": {"input": 0.15, "output": 0.6}},
                {"name": "spare", "provider": "openai", "model": "gpt-4.1"}
            ]}},
            "budgets": [{"name": "daily", "scope": "tenant", "period": "day", "limit_usd": 0.05}]
        });
        let (s, v) = app
            .call(
                "POST",
                "/api/v1/configs",
                Some(&admin),
                Some(json!({"document": doc})),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
        // The fixture activates versions of its own: ours is activated after it.
        let f = app.fixture(1).await;
        let (s, _) = app
            .call(
                "POST",
                &format!("/api/v1/configs/{}/activate", v["id"].as_str().unwrap()),
                Some(&admin),
                None,
            )
            .await;
        assert_eq!(s, StatusCode::OK);

        let now = switchyard_server::util::now_ms();
        // Whole minutes back from now, inside today and this month (or the minute itself).
        let base = now - now.rem_euclid(60_000);
        let at = |k: i64| (base - k * 60_000).max(base - base.rem_euclid(86_400_000));
        let mut events = Vec::new();
        let one = |dep: &str, cost: f64, minute: i64, user: String| {
            let mut e = event(at(minute), "chat", dep, cost, 300.0);
            e["prompt_tokens"] = json!(1000);
            e["completion_tokens"] = json!(500);
            e["cached_tokens"] = json!(0);
            e["user"] = json!(user);
            e
        };
        for i in 0..10 {
            let mut e = one("big", 0.0075, i % 5, format!("b{i}"));
            if i == 0 {
                e["status"] = json!({"error": {"code": "timeout"}});
            }
            events.push(e);
            events.push(one("small", 0.00045, i % 5, format!("s{i}")));
        }
        // Three alike calls in one minute: two a cache would have answered.
        for _ in 0..3 {
            let mut e = one("small", 0.00045, 0, "same".into());
            e["prompt_tokens"] = json!(77);
            events.push(e);
        }
        // Two answered by the local model (free).
        for i in 0..2 {
            let mut e = one("local/smollm", 0.0, 1, format!("l{i}"));
            e["local"] = json!(true);
            events.push(e);
        }
        let (s, ack) = post(&app, &f.key_secret, &events, false).await;
        assert_eq!(s, StatusCode::OK, "{ack}");
        assert_eq!(ack["accepted"], 25);

        let period = switchyard_server::usage::time::period_of(now);
        let (s, r) = get(
            &app,
            &admin,
            &format!("/api/v1/costs/advice?period={period}"),
        )
        .await;
        assert_eq!(s, StatusCode::OK, "{r}");
        let items = r["items"].as_array().unwrap();
        let find = |kind: &str, subject: &str| {
            items
                .iter()
                .find(|i| i["kind"] == kind && i["subject"].as_str().unwrap().contains(subject))
                .unwrap_or_else(|| panic!("no {kind} {subject} in {r}"))
                .clone()
        };
        let close = |a: &Value, b: f64| (a.as_f64().unwrap() - b).abs() < 1e-6;
        // 2 of the 3 alike calls, $0.00045 each.
        let cache = find("cache", "/ chat");
        assert!(close(&cache["usd"], 0.0009), "{cache}");
        assert_eq!(cache["estimate"], true);
        // big's tokens (10 x 1000 in, 500 out) at small's price: $0.0045 instead of $0.075.
        let cheaper = find("cheaper_deployment", "chat / big");
        assert!(close(&cheaper["usd"], 0.075 - 0.0045), "{cheaper}");
        assert!(cheaper["message"].as_str().unwrap().contains("small"));
        // big's error rate (10%) is above small's (0%): small is never told to go to big.
        assert!(
            !items
                .iter()
                .any(|i| i["kind"] == "cheaper_deployment" && i["subject"] == "chat / small")
        );
        let unused = find("unused_deployment", "chat / spare");
        assert_eq!(unused["usd"], 0.0);
        // 2 local calls at chat's average upstream cost ((0.075 + 13 x 0.00045) / 23).
        let local = find("local_share", "chat");
        assert!(
            close(&local["usd"], 2.0 * (0.075 + 13.0 * 0.00045) / 23.0),
            "{local}"
        );
        // $0.08085 spent today against a $0.05 daily budget: over at any pace; the figure is
        // the projection (spend / elapsed share of the day) minus the limit.
        let spent = 0.075 + 13.0 * 0.00045;
        let elapsed = (now.rem_euclid(86_400_000).max(1) as f64 / 86_400_000.0).min(1.0);
        let pace = find("budget_pace", "daily (tenant)");
        let expected = spent / elapsed - 0.05;
        // The server's clock moved on a little since `now`.
        assert!(
            (pace["usd"].as_f64().unwrap() - expected).abs() / expected < 0.01,
            "{pace}"
        );
        // cost.read: an app developer may not; a bad period is a 400.
        assert_eq!(
            get(
                &app,
                &app.tokens[&Role::AppDeveloper],
                &format!("/api/v1/costs/advice?period={period}")
            )
            .await
            .0,
            StatusCode::FORBIDDEN
        );
        assert_eq!(
            get(&app, &admin, "/api/v1/costs/advice?period=x").await.0,
            StatusCode::BAD_REQUEST
        );
    }
}

/// The fields of one CSV line whose values hold no quotes (all of this seed's do not).
fn csv_fields(line: &str) -> Vec<&str> {
    line.split(',').collect()
}

#[tokio::test]
async fn the_cost_report_covers_any_range_and_grouping_and_downloads_as_csv() {
    for (_, url) in databases().await {
        let s = seed(&url).await;
        let admin = s.app.admin_a.clone();
        // Days 1 and 2 only, by deployment.
        let (from, to) = (T0 + DAY, T0 + 3 * DAY);
        let uri = format!("/api/v1/costs/report?from={from}&to={to}&group_by=deployment");
        let (st, r) = get(&s.app, &admin, &uri).await;
        assert_eq!(st, StatusCode::OK, "{r}");
        assert!(r["period"].is_null());
        assert_eq!(r["from"], from);
        let items = r["items"].as_array().unwrap();
        let keys: Vec<&str> = items.iter().map(|i| i["key"].as_str().unwrap()).collect();
        assert_eq!(keys, ["chat-dep", "claude-dep"]);
        for (item, model) in items.iter().zip(["chat", "claude"]) {
            let seeded = s.calls[&(model.to_owned(), 1)] + s.calls[&(model.to_owned(), 2)];
            assert_eq!(item["total"]["calls"].as_i64().unwrap(), seeded, "{item}");
        }

        // The same report as CSV: a download, one line per item, the JSON's figures.
        let req = common::app::request("GET", &format!("{uri}&format=csv"), Some(&admin), None);
        let (st, csv, headers) = s.app.send(req).await;
        assert_eq!(st, StatusCode::OK);
        assert_eq!(headers["content-type"], "text/csv; charset=utf-8");
        assert_eq!(
            headers["content-disposition"].to_str().unwrap(),
            format!("attachment; filename=\"costs-deployment-{from}-{to}.csv\"")
        );
        let csv = csv.as_str().unwrap().to_owned();
        assert!(csv.ends_with("\r\n"));
        let lines: Vec<&str> = csv.lines().collect();
        assert_eq!(
            lines[0],
            "key,name,parent_id,calls,errors,prompt_tokens,completion_tokens,cached_tokens,cost_micros,cost_usd,error_rate,cache_hit_rate,local_share,latency_ms_p50,latency_ms_p95,own_calls,own_cost_micros"
        );
        assert_eq!(lines.len(), 1 + items.len());
        for (line, item) in lines[1..].iter().zip(items) {
            let f = csv_fields(line);
            assert_eq!(f[0], item["key"].as_str().unwrap());
            assert_eq!(f[3].parse::<i64>().unwrap(), item["total"]["calls"]);
            let micros = item["total"]["cost_micros"].as_i64().unwrap();
            assert_eq!(f[8].parse::<i64>().unwrap(), micros);
            assert_eq!(
                f[9],
                format!("{}.{:06}", micros / 1_000_000, micros % 1_000_000)
            );
            let p95 = item["total"]["latency_ms_p95"].as_f64().unwrap();
            assert_eq!(f[14].parse::<f64>().unwrap(), p95);
        }

        // By department over the month: the tree rolled up, names quoted only if needed.
        let req = common::app::request(
            "GET",
            "/api/v1/costs/report?period=2026-11&group_by=department&format=csv",
            Some(&admin),
            None,
        );
        let (st, csv, headers) = s.app.send(req).await;
        assert_eq!(st, StatusCode::OK);
        assert!(
            headers["content-disposition"]
                .to_str()
                .unwrap()
                .contains("costs-department-2026-11.csv")
        );
        let csv = csv.as_str().unwrap().to_owned();
        let row = |id: &str| -> Vec<String> {
            csv.lines()
                .find(|l| l.starts_with(id))
                .map(|l| csv_fields(l).into_iter().map(str::to_owned).collect())
                .unwrap()
        };
        let root = row(&s.app.root_a);
        assert_eq!(root[8].parse::<i64>().unwrap(), s.total_micros);
        let ml = row(&s.ml);
        assert_eq!(ml[1], "root / eng / ml");
        assert_eq!(ml[2], s.eng);
        assert_eq!(ml[16].parse::<i64>().unwrap(), s.own[&s.ml]);

        // The span is a month or a range; deployment is the only grouping added.
        for q in [
            "period=2026-11&from=0",
            "group_by=app",
            "from=2026-11-12T00:00:00Z&to=2026-11-11T00:00:00Z",
            "period=2026-11&group_by=provider",
            "from=yesterday",
        ] {
            let (st, r) = get(&s.app, &admin, &format!("/api/v1/costs/report?{q}")).await;
            assert_eq!(st, StatusCode::BAD_REQUEST, "{q}: {r}");
        }
        // The CSV needs cost.read like the JSON.
        let ops = s.app.tokens[&Role::ModelOps].clone();
        let (st, _) = get(&s.app, &ops, &format!("{uri}&format=csv")).await;
        assert_eq!(st, StatusCode::FORBIDDEN);
    }
}
