//! TLS to PostgreSQL, against the test cluster (`server/scripts/test-postgres.sh` runs it
//! with ssl=on and a certificate from a CA made for the run): `verify-full` with the right
//! CA connects and the session is encrypted; the wrong CA fails, saying it is TLS; a plain
//! connection still works.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::PathBuf;

use switchyard_server::db::Db;
use switchyard_server::store::{Store, StoreError};

use common::{PG_TLS_ENV, ctx, postgres_url};

/// A fresh database's URL without its query, and the certificates' directory; `None` (the
/// test skips) outside CI without a cluster.
async fn cluster() -> Option<(String, PathBuf)> {
    let url = postgres_url().await?;
    let Ok(dir) = std::env::var(PG_TLS_ENV) else {
        if std::env::var("CI").is_ok_and(|v| v == "true") {
            panic!("{PG_TLS_ENV} is not set under CI: the TLS tests must run (use `make test`)");
        }
        eprintln!("{PG_TLS_ENV} not set: skipping the PostgreSQL TLS run");
        return None;
    };
    let base = url
        .split_once('?')
        .map_or(url.as_str(), |(b, _)| b)
        .to_owned();
    Some((base, PathBuf::from(dir)))
}

/// Whether this connection's session is encrypted, as the server sees it.
async fn encrypted(db: &Db) -> bool {
    let (ssl,): (String,) =
        sqlx::query_as("SELECT CAST(ssl AS TEXT) FROM pg_stat_ssl WHERE pid = pg_backend_pid()")
            .fetch_one(&db.pool)
            .await
            .unwrap();
    ssl == "true"
}

#[tokio::test]
async fn verify_full_with_the_right_ca_connects_encrypted() {
    let Some((base, tls)) = cluster().await else {
        return;
    };
    let ca = tls.join("ca.crt");
    let url = format!("{base}?sslmode=verify-full&sslrootcert={}", ca.display());
    let db = Db::connect(&url).await.unwrap_or_else(|e| panic!("{e}"));
    assert!(encrypted(&db).await);
    // The whole store works over it.
    db.migrate().await.unwrap();
    let store = Store::new(db);
    let done = store
        .bootstrap(&ctx(), "acme", "admin", "hash")
        .await
        .unwrap();
    assert_eq!(
        store.tenant_by_name("acme").await.unwrap().id,
        done.tenant.id
    );

    // `require` encrypts without checking the certificate; `disable` stays plain.
    let db = Db::connect(&format!("{base}?sslmode=require"))
        .await
        .unwrap();
    assert!(encrypted(&db).await);
    let db = Db::connect(&format!("{base}?sslmode=disable"))
        .await
        .unwrap();
    assert!(!encrypted(&db).await);
}

#[tokio::test]
async fn a_certificate_from_another_ca_is_refused_clearly() {
    let Some((base, tls)) = cluster().await else {
        return;
    };
    for mode in ["verify-full", "verify-ca"] {
        let url = format!(
            "{base}?sslmode={mode}&sslrootcert={}",
            tls.join("other-ca.crt").display()
        );
        let err = Db::connect(&url).await.err().expect("connected");
        let text = err.to_string();
        assert!(matches!(err, StoreError::Tls(_)), "{mode}: {err:?}");
        assert!(
            text.starts_with("TLS to the database failed")
                && text.contains("UnknownIssuer")
                && text.contains("sslrootcert"),
            "{mode}: {text}"
        );
    }
    // A CA file that cannot be read: named.
    let url = format!("{base}?sslmode=verify-full&sslrootcert=/nonexistent/ca%2Ecrt");
    let err = Db::connect(&url).await.err().expect("connected");
    assert!(
        matches!(err, StoreError::Tls(_))
            && err
                .to_string()
                .contains("cannot read sslrootcert /nonexistent/ca.crt"),
        "{err}"
    );
}
