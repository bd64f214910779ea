//! Test databases: a fresh SQLite file always, and a fresh PostgreSQL database when
//! `SWITCHYARD_TEST_POSTGRES_URL` names a server (`make test` starts one). Under CI the
//! PostgreSQL run is required: a missing URL fails instead of skipping.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

pub mod app;
pub mod oidc;
pub mod smtp;
pub mod usage;

use std::str::FromStr;

use sqlx::Executor;
use sqlx::any::AnyConnectOptions;
use switchyard_server::db::Db;
use switchyard_server::store::{AuditCtx, Store};

pub const PG_ENV: &str = "SWITCHYARD_TEST_POSTGRES_URL";
/// The directory of the test cluster's certificates (`ca.crt`, `other-ca.crt`).
pub const PG_TLS_ENV: &str = "SWITCHYARD_TEST_POSTGRES_TLS_DIR";

pub fn sqlite_url() -> String {
    let dir = std::env::temp_dir().join(format!(
        "switchyard-test-{}",
        switchyard_server::util::random_hex(8)
    ));
    std::fs::create_dir_all(&dir).unwrap();
    format!("sqlite://{}", dir.join("test.db").display())
}

/// A new empty database on the test PostgreSQL server, or `None` outside CI without one.
pub async fn postgres_url() -> Option<String> {
    let Ok(admin) = std::env::var(PG_ENV) else {
        if std::env::var("CI").is_ok_and(|v| v == "true") {
            panic!("{PG_ENV} is not set under CI: the PostgreSQL tests must run (use `make test`)");
        }
        eprintln!("{PG_ENV} not set: skipping the PostgreSQL run");
        return None;
    };
    sqlx::any::install_default_drivers();
    let name = format!("sy_{}", switchyard_server::util::random_hex(6));
    let opts = AnyConnectOptions::from_str(&admin).unwrap();
    let pool = sqlx::any::AnyPoolOptions::new()
        .max_connections(1)
        .connect_with(opts)
        .await
        .unwrap();
    pool.execute(format!("CREATE DATABASE {name}").as_str())
        .await
        .unwrap();
    pool.close().await;
    Some(with_database(&admin, &name))
}

/// `url` naming database `name` instead, its query (`?sslmode=…`) kept.
pub fn with_database(url: &str, name: &str) -> String {
    let (path, query) = url.split_once('?').unwrap_or((url, ""));
    let base = path.rsplit_once('/').map(|(b, _)| b).unwrap();
    let query = if query.is_empty() {
        String::new()
    } else {
        format!("?{query}")
    };
    format!("{base}/{name}{query}")
}

/// Every backend to run a test against: SQLite, then PostgreSQL when available.
pub async fn databases() -> Vec<(&'static str, String)> {
    let mut dbs = vec![("sqlite", sqlite_url())];
    if let Some(url) = postgres_url().await {
        dbs.push(("postgres", url));
    }
    dbs
}

pub async fn store(url: &str) -> Store {
    let db = Db::connect(url).await.unwrap();
    db.migrate().await.unwrap();
    Store::new(db)
}

pub fn ctx() -> AuditCtx {
    AuditCtx {
        actor: "tester".into(),
        role: "infra_admin".into(),
        source: "127.0.0.1".into(),
    }
}

/// A new app `name` in `department_id` of `tenant`, with one key: (app id, key secret).
pub async fn app_with_key(
    store: &Store,
    tenant: &str,
    department_id: &str,
    name: &str,
) -> (String, String) {
    use switchyard_server::store::{NewApp, NewKey};
    let t = store.tenant(tenant);
    let app = t
        .create_app(
            &ctx(),
            NewApp {
                department_id: department_id.to_owned(),
                name: name.into(),
                allowed_models: None,
                secrets_mode: Default::default(),
            },
        )
        .await
        .unwrap();
    let (_, secret) = t
        .create_key(
            &ctx(),
            NewKey {
                app_id: app.id.clone(),
                name: "k".into(),
                expires_at: None,
            },
        )
        .await
        .unwrap();
    (app.id, secret)
}
