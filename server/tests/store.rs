//! The store against SQLite and PostgreSQL: migrations, tenant scoping, transactions,
//! keys, config versions, the audit chain and key rotation.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use serde_json::json;
use switchyard_server::crypto::MasterKey;
use switchyard_server::store::audit_log as audit;
use switchyard_server::store::{NewApp, NewKey, NewProvider, Page, SecretsMode, Store, StoreError};

use common::{ctx, databases, store};

async fn root_department(s: &Store, tenant: &str) -> String {
    s.tenant(tenant)
        .list_departments(Page::default())
        .await
        .unwrap()[0]
        .id
        .clone()
}

fn config_doc(weight: f64) -> serde_json::Value {
    json!({
        "version": 1,
        "providers": {"openai": {"kind": "openai", "api_key": "${OPENAI_API_KEY}"}},
        "models": {"chat": {"deployments": [{"provider": "openai", "model": "gpt-4o-mini", "weight": weight}]}}
    })
}

#[tokio::test]
async fn store_behaves_the_same_on_every_backend() {
    for (backend, url) in databases().await {
        eprintln!("backend: {backend}");
        let s = store(&url).await;
        // Migrations are idempotent.
        assert_eq!(s.db.migrate().await.unwrap(), 0, "{backend}");
        let a = s.bootstrap(&ctx(), "acme", "admin", "hash").await.unwrap();
        let b = s
            .bootstrap(&ctx(), "globex", "admin", "hash")
            .await
            .unwrap();

        // A failed bootstrap (duplicate tenant) leaves nothing behind.
        let err = s
            .bootstrap(&ctx(), "acme", "other", "hash")
            .await
            .err()
            .unwrap();
        assert!(
            matches!(err, StoreError::Conflict { ref field, .. } if field == "tenant"),
            "{backend}: {err:?}"
        );
        assert_eq!(s.tenant_count().await.unwrap(), 2);
        assert!(s.login_record("acme", "other").await.unwrap().is_none());

        // Tenant scoping: B cannot see A's app, by id or in lists.
        let ta = s.tenant(&a.tenant.id);
        let tb = s.tenant(&b.tenant.id);
        let dep = root_department(&s, &a.tenant.id).await;
        let app = ta
            .create_app(
                &ctx(),
                NewApp {
                    department_id: dep.clone(),
                    name: "billing".into(),
                    allowed_models: None,
                    secrets_mode: SecretsMode::None,
                },
            )
            .await
            .unwrap();
        assert!(
            matches!(tb.get_app(&app.id).await, Err(StoreError::NotFound)),
            "{backend}"
        );
        assert!(
            tb.list_apps(None, Page::default())
                .await
                .unwrap()
                .is_empty()
        );
        // B cannot attach an app to A's department either.
        let err = tb
            .create_app(
                &ctx(),
                NewApp {
                    department_id: dep.clone(),
                    name: "x".into(),
                    allowed_models: None,
                    secrets_mode: SecretsMode::None,
                },
            )
            .await
            .err()
            .unwrap();
        assert!(matches!(err, StoreError::Invalid { ref field, .. } if field == "department_id"));

        // Keys: shown once, hash-only, revocable, tenant-scoped.
        let (key, secret) = ta
            .create_key(
                &ctx(),
                NewKey {
                    app_id: app.id.clone(),
                    name: "ci".into(),
                    expires_at: None,
                },
            )
            .await
            .unwrap();
        let auth = s.authenticate_app_key(&secret).await.unwrap().unwrap();
        assert_eq!(
            (auth.tenant_id.as_str(), auth.app_id.as_str()),
            (a.tenant.id.as_str(), app.id.as_str())
        );
        assert!(
            s.authenticate_app_key(&secret.replace(&secret[secret.len() - 4..], "0000"))
                .await
                .unwrap()
                .is_none()
        );
        assert!(matches!(
            tb.revoke_key(&ctx(), &key.id).await,
            Err(StoreError::NotFound)
        ));
        ta.revoke_key(&ctx(), &key.id).await.unwrap();
        assert!(s.authenticate_app_key(&secret).await.unwrap().is_none());

        // Deleting an app removes its keys in the same transaction.
        ta.delete_app(&ctx(), &app.id).await.unwrap();
        let (n,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM app_keys")
            .fetch_one(&s.db.pool)
            .await
            .unwrap();
        assert_eq!(n, 0, "{backend}");

        // Config versions: invalid rejected with the field, activate, roll back.
        let err = ta.create_version(&ctx(), &json!({"version": 1, "models": {"chat": {"deployments": [{"provider": "nope", "model": "m"}]}}}), None).await.err().unwrap();
        assert!(
            matches!(err, StoreError::Invalid { ref field, .. } if field.starts_with("models.chat")),
            "{backend}: {err:?}"
        );
        let err = ta.create_version(&ctx(), &json!({"version": 1, "providers": {"o": {"kind": "openai", "api_key": "sk-literal"}}}), None).await.err().unwrap();
        assert!(
            matches!(err, StoreError::Invalid { ref field, .. } if field == "providers.o.api_key")
        );
        let v1 = ta
            .create_version(&ctx(), &config_doc(1.0), Some("first"))
            .await
            .unwrap();
        let v2 = ta
            .create_version(&ctx(), &config_doc(2.0), None)
            .await
            .unwrap();
        assert_eq!((v1.number, v2.number), (1, 2));
        assert_eq!(v2.diff[0]["path"], "models.chat.deployments[0].weight");
        ta.activate(&ctx(), "1").await.unwrap();
        ta.activate(&ctx(), &v2.id).await.unwrap();
        let (active, version) = ta.rollback(&ctx()).await.unwrap();
        assert_eq!(
            (active.version_id.as_str(), version.number),
            (v1.id.as_str(), 1)
        );
        assert!(matches!(
            tb.get_version(&v1.id).await,
            Err(StoreError::NotFound)
        ));
        assert!(tb.active().await.unwrap().is_none());

        // Providers: sealed at rest, hint only, rotation moves every row at once.
        let k1 = MasterKey::from_base64(&MasterKey::generate_base64()).unwrap();
        let k2 = MasterKey::from_base64(&MasterKey::generate_base64()).unwrap();
        let p = ta
            .create_provider(
                &ctx(),
                Some(&k1),
                NewProvider {
                    name: "openai".into(),
                    kind: "openai".into(),
                    base_url: None,
                    credential: Some("sk-live-abcd1234".into()),
                },
            )
            .await
            .unwrap();
        assert_eq!(p.credential_hint.as_deref(), Some("…1234"));
        let (raw,): (String,) = sqlx::query_as("SELECT credential FROM providers")
            .fetch_one(&s.db.pool)
            .await
            .unwrap();
        assert!(!raw.contains("sk-live"));
        assert_eq!(s.rotate_master_key(&ctx(), &k1, &k2).await.unwrap(), 1);
        assert_eq!(
            ta.open_credentials(&k2).await.unwrap(),
            vec![("openai".to_owned(), "sk-live-abcd1234".to_owned())]
        );
        assert!(ta.open_credentials(&k1).await.is_err());

        // The audit chain verifies, and detects an edit, a deletion and an insertion.
        let mut conn = s.db.pool.acquire().await.unwrap();
        let report = audit::verify(&mut conn, None).await.unwrap();
        assert!(report.problem.is_none(), "{backend}: {report:?}");
        assert!(report.records >= 10);
        sqlx::query("UPDATE audit_log SET actor = 'mallory' WHERE seq = 3")
            .execute(&mut *conn)
            .await
            .unwrap();
        let report = audit::verify(&mut conn, None).await.unwrap();
        assert!(
            report.problem.as_deref().unwrap().contains("record 3"),
            "{report:?}"
        );
        sqlx::query("UPDATE audit_log SET actor = 'tester' WHERE seq = 3")
            .execute(&mut *conn)
            .await
            .unwrap();
        assert!(
            audit::verify(&mut conn, None)
                .await
                .unwrap()
                .problem
                .is_none()
        );
        let (last,): (i64,) = sqlx::query_as("SELECT MAX(seq) FROM audit_log")
            .fetch_one(&mut *conn)
            .await
            .unwrap();
        sqlx::query("DELETE FROM audit_log WHERE seq = $1")
            .bind(last)
            .execute(&mut *conn)
            .await
            .unwrap();
        assert!(
            audit::verify(&mut conn, None)
                .await
                .unwrap()
                .problem
                .is_some(),
            "tail deletion"
        );
        sqlx::query("DELETE FROM audit_log WHERE seq = 2")
            .execute(&mut *conn)
            .await
            .unwrap();
        assert!(
            audit::verify(&mut conn, None)
                .await
                .unwrap()
                .problem
                .unwrap()
                .contains("record 3")
        );
    }
}

#[tokio::test]
async fn concurrent_writes_keep_the_chain_intact() {
    for (backend, url) in databases().await {
        let s = store(&url).await;
        let a = s.bootstrap(&ctx(), "acme", "admin", "hash").await.unwrap();
        let dep = root_department(&s, &a.tenant.id).await;
        let mut tasks = Vec::new();
        for i in 0..20 {
            let s = s.clone();
            let (tenant, dep) = (a.tenant.id.clone(), dep.clone());
            tasks.push(tokio::spawn(async move {
                s.tenant(&tenant)
                    .create_app(
                        &ctx(),
                        NewApp {
                            department_id: dep,
                            name: format!("app{i}"),
                            allowed_models: None,
                            secrets_mode: SecretsMode::None,
                        },
                    )
                    .await
                    .unwrap();
            }));
        }
        for t in tasks {
            t.await.unwrap();
        }
        let mut conn = s.db.pool.acquire().await.unwrap();
        let report = audit::verify(&mut conn, None).await.unwrap();
        assert_eq!((report.records, report.problem), (21, None), "{backend}");
    }
}

#[tokio::test]
async fn replicas_migrating_at_once_all_start() {
    for (backend, url) in databases().await {
        let mut tasks = Vec::new();
        for _ in 0..4 {
            let url = url.clone();
            tasks.push(tokio::spawn(async move {
                let db = switchyard_server::db::Db::connect(&url).await.unwrap();
                db.migrate().await
            }));
        }
        let mut applied = 0;
        for t in tasks {
            applied += t
                .await
                .unwrap()
                .unwrap_or_else(|e| panic!("{backend}: {e}"));
        }
        assert_eq!(
            applied,
            switchyard_server::db::MIGRATIONS.len(),
            "{backend}: each migration is applied by exactly one replica"
        );
    }
}
