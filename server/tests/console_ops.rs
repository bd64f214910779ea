//! The server side of the console's operations pages: a config version validated and
//! saved as YAML text with each issue at its line, the audit log's filters, and the audit
//! chain verified for one tenant's auditors without revealing anything of another's.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use axum::http::StatusCode;
use serde_json::{Value, json};
use switchyard_server::rbac::Role;

use common::app::TestApp;
use common::databases;

const GOOD: &str = "\
version: 1
providers:
  openai:
    kind: openai
    api_key: ${OPENAI_API_KEY}
models:
  chat:
    deployments:
      - provider: openai
        model: gpt-4o-mini
";

/// GOOD with the deployment's provider misspelled (line 9).
fn bad() -> String {
    GOOD.replace("provider: openai", "provider: openia")
}

fn lines(issues: &Value) -> Vec<u64> {
    issues
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["line"].as_u64().unwrap())
        .collect()
}

#[tokio::test]
async fn yaml_is_validated_and_saved_with_issues_at_their_lines() {
    for (backend, url) in databases().await {
        let app = TestApp::new(&url).await;
        let ops = &app.tokens[&Role::ModelOps];
        let validate = |yaml: String| {
            app.call(
                "POST",
                "/api/v1/configs/validate",
                Some(ops),
                Some(json!({ "yaml": yaml })),
            )
        };

        let (s, v) = validate(GOOD.into()).await;
        assert_eq!(s, StatusCode::OK, "{backend}: {v}");
        assert_eq!(v, json!({"valid": true, "issues": []}), "{backend}");

        // A semantic issue: core's path, placed at the deployment naming the provider.
        let (s, v) = validate(bad()).await;
        assert_eq!(s, StatusCode::OK, "{backend}: {v}");
        assert_eq!(v["valid"], false);
        assert_eq!(lines(&v["issues"]), [9], "{backend}: {v}");
        assert!(
            v["issues"][0]["path"]
                .as_str()
                .unwrap()
                .starts_with("models.chat.deployments[0]"),
            "{v}"
        );
        assert!(
            v["issues"][0]["message"]
                .as_str()
                .unwrap()
                .contains("openia"),
            "{v}"
        );

        // A syntax error: the parser's place (the unclosed bracket's line or after).
        let (_, v) = validate(GOOD.replace("kind: openai", "kind: [openai")).await;
        assert_eq!(v["valid"], false);
        assert_eq!(v["issues"][0]["path"], "");
        assert!(lines(&v["issues"])[0] >= 4, "{v}");

        // Nothing was stored by validating.
        let (_, list) = app.call("GET", "/api/v1/configs", Some(ops), None).await;
        assert_eq!(list["items"].as_array().unwrap().len(), 0, "{backend}");

        // Saving refuses the same text with the same issues, and stores the fixed one.
        let (s, e) = app
            .call(
                "POST",
                "/api/v1/configs",
                Some(ops),
                Some(json!({ "yaml": bad() })),
            )
            .await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{backend}: {e}");
        assert_eq!(e["code"], "invalid");
        assert_eq!(e["field"], "yaml");
        assert_eq!(lines(&e["issues"]), [9], "{e}");
        assert!(
            e["message"].as_str().unwrap().starts_with("line 9: "),
            "{e}"
        );
        let (s, saved) = app
            .call(
                "POST",
                "/api/v1/configs",
                Some(ops),
                Some(json!({ "yaml": GOOD, "label": "from text" })),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{backend}: {saved}");
        assert_eq!(
            saved["document"]["models"]["chat"]["deployments"][0]["model"],
            "gpt-4o-mini"
        );
        // Both forms at once, or neither, is a bad request; a JSON document's refusal
        // carries no line information.
        let (s, _) = app
            .call(
                "POST",
                "/api/v1/configs",
                Some(ops),
                Some(json!({ "yaml": GOOD, "document": {} })),
            )
            .await;
        assert_eq!(s, StatusCode::BAD_REQUEST);
        let (s, e) = app
            .call(
                "POST",
                "/api/v1/configs",
                Some(ops),
                Some(json!({ "document": {"version": 1, "models": {"x": {"deployments": [{"provider": "nope", "model": "m"}]}}} })),
            )
            .await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{e}");
        assert!(e.get("issues").is_none(), "{e}");

        // Validating needs config.write: an app developer is refused.
        let (s, _) = app
            .call(
                "POST",
                "/api/v1/configs/validate",
                Some(&app.tokens[&Role::AppDeveloper]),
                Some(json!({ "yaml": GOOD })),
            )
            .await;
        assert_eq!(s, StatusCode::FORBIDDEN);
    }
}

#[tokio::test]
async fn the_audit_log_filters_by_actor_action_and_time() {
    let app = TestApp::new(&common::sqlite_url()).await;
    let admin = &app.tokens[&Role::InfraAdmin];
    let (s, _) = app
        .call(
            "POST",
            "/api/v1/departments",
            Some(admin),
            Some(json!({"name": "filtered"})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED);
    let auditor = &app.tokens[&Role::SecurityEngineer];
    let app = &app;
    let list = |q: String| async move {
        let (s, body) = app
            .call(
                "GET",
                &format!("/api/v1/audit?limit=500{q}"),
                Some(auditor),
                None,
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{body}");
        body["items"].as_array().unwrap().clone()
    };
    let all = list(String::new()).await;
    let created = list("&action=department.create".into()).await;
    let admin_id = created[0]["actor"].as_str().unwrap().to_owned();
    let mine = list(format!("&actor={admin_id}")).await;
    assert!(!mine.is_empty() && mine.len() < all.len(), "{mine:?}");
    assert!(mine.iter().all(|r| r["actor"] == admin_id.as_str()));
    let both = list(format!("&actor={admin_id}&action=department.create")).await;
    assert_eq!(both.len(), 1, "{both:?}");
    let at = both[0]["at"].as_i64().unwrap();
    assert_eq!(list(format!("&from={at}&to={}", at + 1)).await.len(), {
        all.iter().filter(|r| r["at"].as_i64() == Some(at)).count()
    });
    assert!(list(format!("&from={}", at + 1)).await.is_empty());
    assert_eq!(list(format!("&to={at}")).await.len(), {
        all.iter()
            .filter(|r| r["at"].as_i64().unwrap() < at)
            .count()
    });
}

/// Edits the `actor` of record `seq` directly in the database, breaking its hash.
async fn tamper(app: &TestApp, seq: i64) {
    sqlx::query("UPDATE audit_log SET actor = 'mallory' WHERE seq = $1")
        .bind(seq)
        .execute(&app.store.db.pool)
        .await
        .unwrap();
}

/// The target (`intact` or `broken`) of the newest `audit.verify` record `token` can read.
async fn last_verification(app: &TestApp, token: &str) -> String {
    let (_, log) = app
        .call(
            "GET",
            "/api/v1/audit?action=audit.verify",
            Some(token),
            None,
        )
        .await;
    log["items"][0]["target"].as_str().unwrap().to_owned()
}

/// The sequence number of a record of `tenant`, the oldest one.
async fn first_record_of(app: &TestApp, tenant: &str) -> i64 {
    let (seq,): (i64,) = sqlx::query_as("SELECT MIN(seq) FROM audit_log WHERE tenant_id = $1")
        .bind(tenant)
        .fetch_one(&app.store.db.pool)
        .await
        .unwrap();
    seq
}

#[tokio::test]
async fn a_tenants_auditor_verifies_the_chain_and_learns_only_of_its_own_records() {
    for (backend, url) in databases().await {
        let app = &TestApp::new(&url).await;
        let auditor = &app.tokens[&Role::SecurityEngineer];
        let verify = |token: String| async move {
            app.call("POST", "/api/v1/audit/verify", Some(&token), None)
                .await
        };
        let (own,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM audit_log WHERE tenant_id = $1")
            .bind(&app.tenant_a)
            .fetch_one(&app.store.db.pool)
            .await
            .unwrap();

        let (s, v) = verify(auditor.clone()).await;
        assert_eq!(s, StatusCode::OK, "{backend}: {v}");
        assert_eq!(v["intact"], true, "{v}");
        assert_eq!(v["records_checked"], own, "{backend}: {v}");
        assert_eq!(v["broken_seq"], Value::Null);
        // The verification is itself audited: one more record of this tenant's.
        assert_eq!(last_verification(app, auditor).await, "intact");
        let (_, v) = verify(auditor.clone()).await;
        assert_eq!(v["records_checked"], own + 1, "{v}");

        // Broken in another tenant's record: tenant A hears it is broken, not where.
        let theirs = first_record_of(app, &app.tenant_b).await;
        tamper(app, theirs).await;
        let (s, v) = verify(auditor.clone()).await;
        assert_eq!(s, StatusCode::OK);
        assert_eq!(v["intact"], false, "{backend}: {v}");
        assert_eq!(v["broken_seq"], Value::Null, "{v}");
        let message = v["message"].as_str().unwrap();
        assert!(message.contains("outside your tenant"), "{v}");
        assert!(message.contains("switchyard audit verify"), "{v}");
        assert!(!message.contains(&theirs.to_string()), "{v}");
        assert_eq!(last_verification(app, auditor).await, "broken");
        // Tenant B's infra_admin holds audit.read too: for it the break is its own.
        let (_, v) = verify(app.token_b.clone()).await;
        assert_eq!(v["intact"], false);
        assert_eq!(v["broken_seq"], theirs, "{backend}: {v}");
        assert!(
            v["message"]
                .as_str()
                .unwrap()
                .contains("one of your records")
        );

        // Broken in tenant A's own record too, an earlier one (A was made first): the
        // walk stops there, and A is told where.
        let ours = first_record_of(app, &app.tenant_a).await;
        assert!(ours < theirs);
        tamper(app, ours).await;
        let (_, v) = verify(auditor.clone()).await;
        assert_eq!(v["intact"], false);
        assert_eq!(v["broken_seq"], ours, "{backend}: {v}");
        assert!(
            v["message"]
                .as_str()
                .unwrap()
                .contains("one of your records")
        );
        let (checked,): (i64,) =
            sqlx::query_as("SELECT COUNT(*) FROM audit_log WHERE tenant_id = $1 AND seq < $2")
                .bind(&app.tenant_a)
                .bind(ours)
                .fetch_one(&app.store.db.pool)
                .await
                .unwrap();
        assert_eq!(v["records_checked"], checked, "{v}");

        // An app developer may not verify.
        let (s, _) = verify(app.tokens[&Role::AppDeveloper].clone()).await;
        assert_eq!(s, StatusCode::FORBIDDEN);
    }
}
