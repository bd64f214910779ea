//! The `switchyard` binary: init, keys, config versions, audit verify (which must fail on
//! a tampered log), master key rotation.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::process::{Command, Output};

fn run(db: &str, env: &[(&str, &str)], args: &[&str]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_switchyard"));
    cmd.env("SWITCHYARD_DATABASE_URL", db)
        .env_remove("SWITCHYARD_MASTER_KEY")
        .args(args);
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().unwrap()
}

fn stdout(o: &Output) -> String {
    assert!(
        o.status.success(),
        "stderr: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stdout).into_owned()
}

#[tokio::test]
async fn operator_commands_work_end_to_end() {
    let db = common::sqlite_url();
    let dir =
        std::env::temp_dir().join(format!("sycli-{}", switchyard_server::util::random_hex(6)));
    std::fs::create_dir_all(&dir).unwrap();

    let out = stdout(&run(
        &db,
        &[],
        &["init", "--tenant", "acme", "--admin", "alice"],
    ));
    assert!(out.contains("token:    syp_"), "{out}");
    // A second init of the same tenant fails and leaves nothing half-written.
    assert!(
        !run(&db, &[], &["init", "--tenant", "acme", "--admin", "bob"])
            .status
            .success()
    );

    let store = common::store(&db).await;
    let tenant = store.tenant_by_name("acme").await.unwrap();
    let t = store.tenant(&tenant.id);
    let root = t.list_departments(Default::default()).await.unwrap()[0]
        .id
        .clone();
    t.create_app(
        &common::ctx(),
        switchyard_server::store::NewApp {
            department_id: root,
            name: "billing".into(),
            allowed_models: None,
            secrets_mode: Default::default(),
        },
    )
    .await
    .unwrap();
    let out = stdout(&run(
        &db,
        &[],
        &[
            "keys",
            "create",
            "--tenant",
            "acme",
            "--app",
            "billing",
            "--expires-in-days",
            "30",
        ],
    ));
    assert!(out.contains("secret: sy_"), "{out}");
    let key_id = out
        .lines()
        .next()
        .unwrap()
        .trim_start_matches("key id: ")
        .to_owned();
    let listed = stdout(&run(
        &db,
        &[],
        &["keys", "list", "--tenant", "acme", "--app", "billing"],
    ));
    assert!(listed.contains(&key_id) && !listed.contains("\"secret\""));
    stdout(&run(
        &db,
        &[],
        &["keys", "revoke", "--tenant", "acme", &key_id],
    ));

    // Config: validate, push, activate, rollback; an invalid file names its path.
    let good = dir.join("good.yaml");
    std::fs::write(&good, "version: 1\nproviders:\n  openai: {kind: openai, api_key: '${OPENAI_API_KEY}'}\nmodels:\n  chat:\n    deployments: [{provider: openai, model: gpt-4o-mini}]\n").unwrap();
    let bad = dir.join("bad.yaml");
    std::fs::write(
        &bad,
        "version: 1\nmodels:\n  chat:\n    deployments: [{provider: nope, model: m}]\n",
    )
    .unwrap();
    stdout(&run(
        &db,
        &[],
        &["config", "validate", good.to_str().unwrap()],
    ));
    let o = run(&db, &[], &["config", "validate", bad.to_str().unwrap()]);
    assert!(!o.status.success() && String::from_utf8_lossy(&o.stderr).contains("models.chat"));
    stdout(&run(
        &db,
        &[],
        &["config", "push", good.to_str().unwrap(), "--tenant", "acme"],
    ));
    stdout(&run(
        &db,
        &[],
        &[
            "config",
            "push",
            good.to_str().unwrap(),
            "--tenant",
            "acme",
            "--label",
            "again",
        ],
    ));
    stdout(&run(
        &db,
        &[],
        &["config", "activate", "--tenant", "acme", "1"],
    ));
    stdout(&run(
        &db,
        &[],
        &["config", "activate", "--tenant", "acme", "2"],
    ));
    assert!(
        stdout(&run(&db, &[], &["config", "rollback", "--tenant", "acme"])).contains("version 1")
    );

    // LiteLLM import (core's converter).
    let litellm = dir.join("litellm.yaml");
    std::fs::write(&litellm, "model_list:\n  - model_name: gpt\n    litellm_params:\n      model: openai/gpt-4o-mini\n      api_key: os.environ/OPENAI_API_KEY\n").unwrap();
    let out = stdout(&run(
        &db,
        &[],
        &["config", "import-litellm", litellm.to_str().unwrap()],
    ));
    assert!(out.contains("gpt-4o-mini"), "{out}");

    // Master key rotation.
    let k1 = stdout(&run(&db, &[], &["master-key", "generate"]))
        .trim()
        .to_owned();
    let k2 = stdout(&run(&db, &[], &["master-key", "generate"]))
        .trim()
        .to_owned();
    let key1 = switchyard_server::crypto::MasterKey::from_base64(&k1).unwrap();
    t.create_provider(
        &common::ctx(),
        Some(&key1),
        switchyard_server::store::NewProvider {
            name: "openai".into(),
            kind: "openai".into(),
            base_url: None,
            credential: Some("sk-x-1234".into()),
        },
    )
    .await
    .unwrap();
    let k2_file = dir.join("k2");
    std::fs::write(&k2_file, &k2).unwrap();
    let out = stdout(&run(
        &db,
        &[("SWITCHYARD_MASTER_KEY", &k1)],
        &[
            "master-key",
            "rotate",
            "--new-key-file",
            k2_file.to_str().unwrap(),
        ],
    ));
    assert!(out.starts_with("1 credential"), "{out}");
    let key2 = switchyard_server::crypto::MasterKey::from_base64(&k2).unwrap();
    assert_eq!(t.open_credentials(&key2).await.unwrap()[0].1, "sk-x-1234");

    // Audit: intact, then tampered.
    assert!(stdout(&run(&db, &[], &["audit", "verify"])).contains("intact"));
    sqlx::query("UPDATE audit_log SET target = 'elsewhere' WHERE seq = 4")
        .execute(&store.db.pool)
        .await
        .unwrap();
    let o = run(&db, &[], &["audit", "verify"]);
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("record 4"));
}

fn get(addr: &str, path: &str, token: Option<&str>) -> Option<String> {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(addr).ok()?;
    let auth = token
        .map(|t| format!("authorization: Bearer {t}\r\n"))
        .unwrap_or_default();
    write!(
        s,
        "GET {path} HTTP/1.1\r\nhost: x\r\n{auth}connection: close\r\n\r\n"
    )
    .ok()?;
    let mut out = String::new();
    s.read_to_string(&mut out).ok()?;
    Some(out)
}

#[tokio::test]
async fn serve_gets_ready_and_shuts_down_gracefully_with_long_polls_open() {
    let db = common::sqlite_url();
    let out = stdout(&run(&db, &[], &["init", "--tenant", "acme"]));
    let token = out
        .lines()
        .find_map(|l| l.strip_prefix("token:    "))
        .unwrap()
        .to_owned();
    let store = common::store(&db).await;
    let t = store.tenant(&store.tenant_by_name("acme").await.unwrap().id);
    let root = t.list_departments(Default::default()).await.unwrap()[0]
        .id
        .clone();
    let app = t
        .create_app(
            &common::ctx(),
            switchyard_server::store::NewApp {
                department_id: root,
                name: "a".into(),
                allowed_models: None,
                secrets_mode: Default::default(),
            },
        )
        .await
        .unwrap();
    let (_, key) = t
        .create_key(
            &common::ctx(),
            switchyard_server::store::NewKey {
                app_id: app.id,
                name: "k".into(),
                expires_at: None,
            },
        )
        .await
        .unwrap();
    let v = t
        .create_version(&common::ctx(), &common::app::config_doc(1.0), None)
        .await
        .unwrap();
    t.activate(&common::ctx(), &v.id).await.unwrap();

    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let addr = format!("127.0.0.1:{port}");
    let start = std::time::Instant::now();
    let mut child = Command::new(env!("CARGO_BIN_EXE_switchyard"))
        .env("SWITCHYARD_DATABASE_URL", &db)
        .args(["serve", "--listen", &addr])
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    while get(&addr, "/readyz", None).is_none_or(|r| !r.starts_with("HTTP/1.1 200")) {
        assert!(
            start.elapsed() < std::time::Duration::from_secs(10),
            "not ready"
        );
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    eprintln!("ready after {:?} (debug build)", start.elapsed());
    assert!(
        get(&addr, "/api/v1/me", Some(&token))
            .unwrap()
            .starts_with("HTTP/1.1 200")
    );

    // A long-poll in flight must not hold shutdown up.
    let first = get(&addr, "/sdk/v1/config", Some(&key)).unwrap();
    let etag = first
        .lines()
        .find_map(|l| l.strip_prefix("etag: "))
        .unwrap()
        .trim_matches('"')
        .to_owned();
    let (addr2, key2) = (addr.clone(), key.clone());
    let poll = std::thread::spawn(move || {
        get(
            &addr2,
            &format!("/sdk/v1/config?wait=60&etag={etag}"),
            Some(&key2),
        )
    });
    std::thread::sleep(std::time::Duration::from_millis(300));
    let stop = std::time::Instant::now();
    Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    let status = child.wait().unwrap();
    assert!(status.success(), "{status:?}");
    assert!(
        stop.elapsed() < std::time::Duration::from_secs(5),
        "shutdown took {:?}",
        stop.elapsed()
    );
    assert!(poll.join().unwrap().unwrap().starts_with("HTTP/1.1 304"));
}

#[tokio::test]
async fn the_first_init_makes_an_operator_and_the_flag_is_set_only_by_the_cli() {
    let db = common::sqlite_url();
    let admin_line = |out: &str| {
        out.lines()
            .find(|l| l.starts_with("admin:"))
            .unwrap()
            .to_owned()
    };
    let first = stdout(&run(&db, &[], &["init", "--tenant", "acme"]));
    assert!(
        admin_line(&first).ends_with("(infra_admin, operator)"),
        "{first}"
    );
    let second = stdout(&run(&db, &[], &["init", "--tenant", "globex"]));
    assert!(admin_line(&second).ends_with("(infra_admin)"), "{second}");
    let third = stdout(&run(
        &db,
        &[],
        &["init", "--tenant", "initech", "--operator"],
    ));
    assert!(admin_line(&third).contains("operator"), "{third}");

    let store = common::store(&db).await;
    let is_operator = |tenant: &'static str| {
        let store = store.clone();
        async move {
            let t = store.tenant_by_name(tenant).await.unwrap();
            store
                .tenant(&t.id)
                .user_by_username("admin")
                .await
                .unwrap()
                .operator
        }
    };
    assert!(!is_operator("globex").await);
    stdout(&run(
        &db,
        &[],
        &["operator", "grant", "--tenant", "globex", "--user", "admin"],
    ));
    assert!(is_operator("globex").await);
    stdout(&run(
        &db,
        &[],
        &["operator", "revoke", "--tenant", "acme", "--user", "admin"],
    ));
    assert!(!is_operator("acme").await);
    let o = run(
        &db,
        &[],
        &["operator", "grant", "--tenant", "acme", "--user", "nobody"],
    );
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("no user nobody"));
    assert!(stdout(&run(&db, &[], &["audit", "verify"])).contains("intact"));
}

#[test]
fn a_trusted_proxy_must_be_an_address_or_network() {
    let o = run(
        &common::sqlite_url(),
        &[],
        &["serve", "--trusted-proxy", "proxy.local"],
    );
    assert!(!o.status.success());
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("not an IP address or CIDR network"),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
}

#[tokio::test]
async fn usage_report_and_export_read_the_database() {
    use common::usage::{T0, event};
    use switchyard_server::usage::validate::{Window, check};

    let db = common::sqlite_url();
    stdout(&run(&db, &[], &["init", "--tenant", "acme"]));
    let store = common::store(&db).await;
    let tenant = store.tenant_by_name("acme").await.unwrap();
    let t = store.tenant(&tenant.id);
    let root = t.list_departments(Default::default()).await.unwrap()[0]
        .id
        .clone();
    let mut micros = 0;
    for (n, name) in ["billing", "search"].into_iter().enumerate() {
        let app = t
            .create_app(
                &common::ctx(),
                switchyard_server::store::NewApp {
                    department_id: root.clone(),
                    name: name.into(),
                    allowed_models: None,
                    secrets_mode: Default::default(),
                },
            )
            .await
            .unwrap();
        let sender = t.usage_sender(&app.id).await.unwrap();
        let events = (0..9)
            .map(|i| {
                let cost = 1_111 * (i + 1 + n as i64 * 10);
                micros += cost;
                let e = event(
                    T0 + i * 3_600_000,
                    if i % 2 == 0 { "chat" } else { "claude" },
                    "d",
                    cost as f64 / 1e6,
                    20.0,
                );
                check(0, e, &sender, Window::at(T0, 30)).unwrap()
            })
            .collect();
        t.ingest_usage(&sender, events).await.unwrap();
    }

    let out = stdout(&run(
        &db,
        &[],
        &[
            "usage",
            "report",
            "--tenant",
            "acme",
            "--from",
            "2026-11-10T00:00:00Z",
            "--to",
            "2026-11-11T00:00:00Z",
            "--step",
            "1d",
            "--group-by",
            "model",
        ],
    ));
    let report: serde_json::Value = serde_json::from_str(&out).unwrap();
    let calls: Vec<i64> = report["series"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["points"][0]["calls"].as_i64().unwrap())
        .collect();
    assert_eq!(calls, vec![10, 8], "{out}");

    let csv = stdout(&run(
        &db,
        &[],
        &[
            "usage", "export", "--tenant", "acme", "--period", "2026-11", "--format", "csv",
        ],
    ));
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines.len(), 3, "{csv}");
    assert!(lines[0].starts_with("period,department_id,department,app_id,app,"));
    let cents: i64 = lines[1..]
        .iter()
        .map(|l| {
            l.rsplit(',')
                .next()
                .unwrap()
                .replace('.', "")
                .parse::<i64>()
                .unwrap()
        })
        .sum();
    assert_eq!(cents, (micros + 5_000) / 10_000);
    let json = stdout(&run(
        &db,
        &[],
        &[
            "usage", "export", "--tenant", "acme", "--period", "2026-11", "--format", "json",
        ],
    ));
    let json: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(json["total_cost_micros"].as_i64().unwrap(), micros);
    assert_eq!(json["rows"][0]["app"], "billing");
    // A bad period or format fails with a message.
    let o = run(
        &db,
        &[],
        &["usage", "export", "--tenant", "acme", "--period", "11/2026"],
    );
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("YYYY-MM"));
}

#[tokio::test]
async fn budget_and_price_commands_show_state_and_refuse_bad_input() {
    let db = common::sqlite_url();
    stdout(&run(&db, &[], &["init", "--tenant", "acme"]));
    let created = stdout(&run(
        &db,
        &[],
        &[
            "budget",
            "create",
            "--tenant",
            "acme",
            "--name",
            "monthly",
            "--scope",
            "tenant",
            "--period",
            "month",
            "--amount-usd",
            "12.5",
        ],
    ));
    let created: serde_json::Value = serde_json::from_str(&created).unwrap();
    let id = created["id"].as_str().unwrap();
    let shown: serde_json::Value = serde_json::from_str(&stdout(&run(
        &db,
        &[],
        &["budget", "show", "--tenant", "acme", id],
    )))
    .unwrap();
    let state = &shown["state"];
    assert_eq!(
        (
            &state["spent_usd"],
            &state["reserved_usd"],
            &state["remaining_usd"]
        ),
        (
            &serde_json::json!(0.0),
            &serde_json::json!(0.0),
            &serde_json::json!(12.5)
        )
    );
    assert!(state["period_end"].as_i64().unwrap() > switchyard_server::util::now_ms());
    // Periods follow the tenant's time zone: UTC+14 starts its month 14 hours earlier.
    stdout(&run(
        &db,
        &[],
        &[
            "budget",
            "time-zone",
            "--tenant",
            "acme",
            "Pacific/Kiritimati",
        ],
    ));
    let shifted: serde_json::Value = serde_json::from_str(&stdout(&run(
        &db,
        &[],
        &["budget", "show", "--tenant", "acme", id],
    )))
    .unwrap();
    let utc_start = state["period_start"].as_i64().unwrap();
    let kiritimati_start = shifted["state"]["period_start"].as_i64().unwrap();
    assert!(
        kiritimati_start == utc_start - 14 * 3_600_000 || kiritimati_start > utc_start,
        "{utc_start} {kiritimati_start}"
    );
    assert!(
        !run(
            &db,
            &[],
            &["budget", "time-zone", "--tenant", "acme", "Mars/Olympus"]
        )
        .status
        .success()
    );
    let list = stdout(&run(&db, &[], &["budget", "list", "--tenant", "acme"]));
    assert!(list.contains(id), "{list}");
    let bad = run(
        &db,
        &[],
        &[
            "budget",
            "create",
            "--tenant",
            "acme",
            "--name",
            "x",
            "--scope",
            "app",
            "--scope-ref",
            "app_nope",
            "--period",
            "day",
            "--amount-usd",
            "1",
        ],
    );
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("scope_ref"));
    stdout(&run(
        &db,
        &[],
        &["budget", "delete", "--tenant", "acme", id],
    ));
    assert!(!stdout(&run(&db, &[], &["budget", "list", "--tenant", "acme"])).contains(id));

    stdout(&run(
        &db,
        &[],
        &[
            "price",
            "set",
            "--tenant",
            "acme",
            "gpt-4o-mini",
            "--input",
            "0.15",
            "--output",
            "0.6",
        ],
    ));
    let prices = stdout(&run(&db, &[], &["price", "list", "--tenant", "acme"]));
    assert!(prices.contains("\"input\": 0.15"), "{prices}");
    stdout(&run(
        &db,
        &[],
        &["price", "delete", "--tenant", "acme", "gpt-4o-mini"],
    ));
    assert_eq!(
        stdout(&run(&db, &[], &["price", "list", "--tenant", "acme"])).trim(),
        "[]"
    );
}
