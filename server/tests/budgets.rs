//! Budgets, rate limits and prices through the management API, on SQLite and PostgreSQL:
//! CRUD with audit, validation that names the field and writes nothing, the state of a
//! budget from ingested usage, the config permission split, and price overrides reaching
//! SDKs (a long-poll wakes with a new ETag).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use axum::http::StatusCode;
use serde_json::{Value, json};
use switchyard_server::rbac::Role;
use switchyard_server::util::now_ms;

use common::app::{TestApp, apps, config_doc};
use common::usage::{event, post};

fn budget(name: &str, scope: &str, scope_ref: Option<&str>, amount: Value) -> Value {
    json!({"name": name, "scope": scope, "scope_ref": scope_ref, "period": "month",
           "amount_usd": amount, "mode": "hard"})
}

async fn count(app: &TestApp, what: &str) -> usize {
    let (s, b) = app
        .call("GET", &format!("/api/v1/{what}"), Some(&app.admin_a), None)
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    b["items"].as_array().unwrap().len()
}

#[tokio::test]
async fn budgets_are_created_read_changed_and_deleted_with_their_state() {
    for app in apps().await {
        let fx = app.fixture(1).await;
        let rm = Some(app.tokens[&Role::ResourceManager].as_str());
        let (s, created) = app
            .call(
                "POST",
                "/api/v1/budgets",
                rm,
                Some(budget("team", "department", Some(&fx.dept), json!(2.5))),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{created}");
        assert_eq!(created["on_server_down"], "deny");
        let id = created["id"].as_str().unwrap();
        // Usage of the department's app this month counts; last year's does not.
        let now = now_ms();
        let events = [
            event(now, "chat", "d", 0.75, 10.0),
            event(now - 400 * 86_400_000, "chat", "d", 5.0, 10.0),
        ];
        let (s, ack) = post(&app, &fx.key_secret, &events, false).await;
        assert_eq!(s, StatusCode::OK, "{ack}");
        let (s, got) = app
            .call("GET", &format!("/api/v1/budgets/{id}"), rm, None)
            .await;
        assert_eq!(s, StatusCode::OK, "{got}");
        let state = &got["state"];
        assert_eq!(state["spent_usd"], 0.75, "{got}");
        assert_eq!(state["reserved_usd"], 0.0);
        assert_eq!(state["remaining_usd"], 1.75);
        assert!(state["period_start"].as_i64().unwrap() <= now);
        assert!(state["period_end"].as_i64().unwrap() > now);
        let (s, patched) = app
            .call(
                "PATCH",
                &format!("/api/v1/budgets/{id}"),
                rm,
                Some(json!({"amount_usd": 1.0, "mode": "soft", "on_server_down": "allow"})),
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{patched}");
        assert_eq!(
            (
                &patched["amount_usd"],
                &patched["mode"],
                &patched["scope_ref"]
            ),
            (&json!(1.0), &json!("soft"), &json!(fx.dept))
        );
        // Again: nothing changes, nothing is written.
        let (s, again) = app
            .call(
                "PATCH",
                &format!("/api/v1/budgets/{id}"),
                rm,
                Some(json!({"amount_usd": 1.0})),
            )
            .await;
        assert_eq!(
            (s, &again["updated_at"]),
            (StatusCode::OK, &patched["updated_at"])
        );
        let (_, audit) = app
            .call("GET", "/api/v1/audit?limit=500", Some(&app.admin_a), None)
            .await;
        let actions: Vec<&str> = audit["items"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["target"] == id)
            .map(|e| e["action"].as_str().unwrap())
            .collect();
        assert_eq!(
            actions.iter().filter(|a| **a == "budget.update").count(),
            1,
            "{actions:?}"
        );
        assert!(actions.contains(&"budget.create"), "{actions:?}");
        let (s, _) = app
            .call("DELETE", &format!("/api/v1/budgets/{id}"), rm, None)
            .await;
        assert_eq!(s, StatusCode::NO_CONTENT);
        let (s, _) = app
            .call("GET", &format!("/api/v1/budgets/{id}"), rm, None)
            .await;
        assert_eq!(s, StatusCode::NOT_FOUND);
    }
}

#[tokio::test]
async fn bad_budgets_limits_and_prices_name_the_field_and_write_nothing() {
    for app in apps().await {
        let before = (
            count(&app, "budgets").await,
            count(&app, "rate-limits").await,
        );
        let admin = Some(app.admin_a.as_str());
        let bad = [
            (budget("a", "tenant", None, json!(-1.0)), "amount_usd"),
            (budget("a", "tenant", None, json!(0)), "amount_usd"),
            (budget("a", "tenant", None, json!(2e9)), "amount_usd"),
            (budget("a", "galaxy", None, json!(1.0)), "scope"),
            (budget("a", "tenant", Some("x"), json!(1.0)), "scope_ref"),
            (budget("a", "department", None, json!(1.0)), "scope_ref"),
            (
                budget("a", "department", Some("dep_nope"), json!(1.0)),
                "scope_ref",
            ),
            (
                budget("a", "app", Some("app_nope"), json!(1.0)),
                "scope_ref",
            ),
            (budget("", "tenant", None, json!(1.0)), "name"),
            (
                json!({"name": "a", "scope": "tenant", "period": "fortnight",
                       "amount_usd": 1.0, "mode": "hard"}),
                "period",
            ),
            (
                json!({"name": "a", "scope": "tenant", "period": "day",
                       "amount_usd": 1.0, "mode": "maybe"}),
                "mode",
            ),
            (
                json!({"name": "a", "scope": "tenant", "period": "day", "amount_usd": 1.0,
                       "mode": "soft", "reroute_to": "local"}),
                "reroute_to",
            ),
            (
                json!({"name": "a", "scope": "tenant", "period": "day", "amount_usd": 1.0,
                       "mode": "hard", "on_server_down": "panic"}),
                "on_server_down",
            ),
        ];
        for (body, field) in bad {
            let (s, b) = app
                .call("POST", "/api/v1/budgets", admin, Some(body.clone()))
                .await;
            assert_eq!(
                (s, b["field"].as_str()),
                (StatusCode::UNPROCESSABLE_ENTITY, Some(field)),
                "{body}: {b}"
            );
        }
        // Not a number at all (JSON has no NaN): a 400 naming the field.
        let (s, b) = app
            .call(
                "POST",
                "/api/v1/budgets",
                admin,
                Some(budget("a", "tenant", None, json!("NaN"))),
            )
            .await;
        assert_eq!(
            (s, b["field"].as_str()),
            (StatusCode::BAD_REQUEST, Some("amount_usd")),
            "{b}"
        );
        for (body, field) in [
            (json!({"name": "l", "scope": "tenant", "rpm": -5}), "rpm"),
            (json!({"name": "l", "scope": "tenant", "tpm": 0}), "tpm"),
            (json!({"name": "l", "scope": "tenant"}), "rpm"),
            (
                json!({"name": "l", "scope": "app", "scope_ref": "app_nope", "rpm": 5}),
                "scope_ref",
            ),
        ] {
            let (s, b) = app
                .call("POST", "/api/v1/rate-limits", admin, Some(body.clone()))
                .await;
            assert_eq!(
                (s, b["field"].as_str()),
                (StatusCode::UNPROCESSABLE_ENTITY, Some(field)),
                "{body}: {b}"
            );
        }
        for (body, field) in [
            (json!({"input": -1.0, "output": 1.0}), "input"),
            (json!({"input": 1.0, "output": 1e12}), "output"),
            (
                json!({"input": 1.0, "output": 1.0, "cached_input": -0.1}),
                "cached_input",
            ),
        ] {
            let (s, b) = app
                .call(
                    "PUT",
                    "/api/v1/prices/gpt-4o-mini",
                    admin,
                    Some(body.clone()),
                )
                .await;
            assert_eq!(
                (s, b["field"].as_str()),
                (StatusCode::UNPROCESSABLE_ENTITY, Some(field)),
                "{body}: {b}"
            );
        }
        let after = (
            count(&app, "budgets").await,
            count(&app, "rate-limits").await,
        );
        assert_eq!(before, after);
        let (_, prices) = app.call("GET", "/api/v1/prices", admin, None).await;
        assert_eq!(prices, json!([]));
    }
}

#[tokio::test]
async fn rate_limits_are_changed_and_keep_their_bounds() {
    for app in apps().await {
        let rm = Some(app.tokens[&Role::ResourceManager].as_str());
        let (s, l) = app
            .call(
                "POST",
                "/api/v1/rate-limits",
                rm,
                Some(json!({"name": "rpm", "scope": "model", "scope_ref": "chat", "rpm": 60})),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{l}");
        let path = format!("/api/v1/rate-limits/{}", l["id"].as_str().unwrap());
        let (s, b) = app
            .call("PATCH", &path, rm, Some(json!({"rpm": null})))
            .await;
        assert_eq!(
            (s, b["field"].as_str()),
            (StatusCode::UNPROCESSABLE_ENTITY, Some("rpm")),
            "{b}"
        );
        let (s, b) = app
            .call("PATCH", &path, rm, Some(json!({"rpm": null, "tpm": 5000})))
            .await;
        assert_eq!(s, StatusCode::OK, "{b}");
        assert_eq!((&b["rpm"], &b["tpm"]), (&Value::Null, &json!(5000)));
        let (s, b) = app.call("GET", &path, rm, None).await;
        assert_eq!(s, StatusCode::OK);
        assert_eq!(b["state"]["live_leases"], 0, "{b}");
        let (s, _) = app.call("DELETE", &path, rm, None).await;
        assert_eq!(s, StatusCode::NO_CONTENT);
        let (s, _) = app.call("DELETE", &path, rm, None).await;
        assert_eq!(s, StatusCode::NOT_FOUND);
    }
}

/// Budgets and rate limits are resource_manager's, the rest of the document model_ops':
/// a version needs the permission of every section it changes.
#[tokio::test]
async fn a_config_version_needs_the_permission_of_the_sections_it_changes() {
    for app in apps().await {
        let rm = app.tokens[&Role::ResourceManager].clone();
        let ops = app.tokens[&Role::ModelOps].clone();
        app.activate(&app.admin_a, config_doc(1.0)).await;
        let mut with_budget = config_doc(1.0);
        with_budget["budgets"] =
            json!([{"name": "daily", "scope": "tenant", "period": "day", "limit_usd": 5.0}]);
        // The last against the latest version (with the budget): only a weight changes.
        let mut both = with_budget.clone();
        both["models"]["chat"]["deployments"][0]["weight"] = json!(3.0);
        let cases = [
            (&ops, with_budget.clone(), StatusCode::FORBIDDEN),
            (&rm, config_doc(2.0), StatusCode::FORBIDDEN),
            (&rm, with_budget.clone(), StatusCode::CREATED),
            (&ops, both, StatusCode::CREATED),
        ];
        for (token, document, expected) in cases {
            let (s, b) = app
                .call(
                    "POST",
                    "/api/v1/configs",
                    Some(token),
                    Some(json!({"document": document})),
                )
                .await;
            assert_eq!(s, expected, "{b}");
        }
    }
}

/// The config `key`'s SDK gets: (body, ETag).
#[tokio::test]
async fn price_overrides_reach_sdks_and_wake_their_long_polls() {
    for app in apps().await {
        let admin = app.admin_a.clone();
        app.activate(&admin, config_doc(1.0)).await;
        let key = app.app_key("priced", None).await;
        let (body, etag) = app.sdk_config(&key).await;
        assert!(
            body["models"]["chat"]["deployments"][0]["price"].is_null(),
            "{body}"
        );
        let poll = app.long_poll(&key, &etag);
        tokio::time::sleep(Duration::from_millis(200)).await;
        let (s, b) = app
            .call(
                "PUT",
                "/api/v1/prices/gpt-4o-mini",
                Some(&app.tokens[&Role::ResourceManager]),
                Some(json!({"input": 0.1, "output": 0.4, "cached_input": 0.05})),
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{b}");
        let (status, new_etag, config) = tokio::time::timeout(Duration::from_secs(10), poll)
            .await
            .expect("the long-poll woke")
            .unwrap();
        assert_eq!(status, StatusCode::OK);
        assert_ne!(new_etag, etag);
        assert_eq!(
            config["models"]["chat"]["deployments"][0]["price"],
            json!({"input": 0.1, "output": 0.4, "cached_input": 0.05})
        );
        // Another upstream model's deployments keep their own.
        assert!(config["models"]["claude"]["deployments"][0]["price"].is_null());
        let (s, _) = app
            .call("DELETE", "/api/v1/prices/gpt-4o-mini", Some(&admin), None)
            .await;
        assert_eq!(s, StatusCode::NO_CONTENT);
        let (body, _) = app.sdk_config(&key).await;
        assert!(body["models"]["chat"]["deployments"][0]["price"].is_null());
    }
}
