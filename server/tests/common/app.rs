//! An in-process server for API tests: the router driven with `oneshot`, two tenants,
//! one user per role in tenant A, and helpers to build requests.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use serde_json::{Value, json};
use switchyard_server::client_addr::TrustedProxies;
use switchyard_server::crypto::MasterKey;
use switchyard_server::rbac::Role;
use switchyard_server::state::{AppState, PasswordCost};
use switchyard_server::store::{NewApp, NewKey, NewProvider, Page, SecretsMode, Store, TokenKind};
use tower::ServiceExt;

use switchyard_server::audit::{AuditKey, AuditKeys};
use switchyard_server::db::Db;

use super::ctx;

/// The password of users made through the API in tests.
pub const PASSWORD: &str = "a long enough password";

pub struct TestApp {
    pub router: Router,
    pub state: AppState,
    pub store: Store,
    pub tenant_a: String,
    pub tenant_b: String,
    pub root_a: String,
    /// Personal tokens of tenant A's users, one per role (tenant-scoped bindings).
    pub tokens: HashMap<Role, String>,
    /// Tenant B's infra_admin.
    pub token_b: String,
    pub admin_a: String,
    /// The issuer and API audience of a provider whose service tokens the test uses
    /// (see `oidc::connect_services`), which the `/api/v1/sso` fixtures keep.
    pub service_provider: std::sync::Mutex<Option<(String, String)>>,
}

pub fn config_doc(weight: f64) -> Value {
    json!({
        "version": 1,
        "providers": {
            "openai": {"kind": "openai", "api_key": "${OPENAI_API_KEY}"},
            "anthropic": {"kind": "anthropic"}
        },
        "models": {
            "chat": {"deployments": [{"provider": "openai", "model": "gpt-4o-mini", "weight": weight}]},
            "claude": {"deployments": [{"provider": "anthropic", "model": "claude-3-5-haiku"}]}
        }
    })
}

/// One app per backend: SQLite, and PostgreSQL when available.
pub async fn apps() -> Vec<TestApp> {
    let mut apps = Vec::new();
    for (_, url) in super::databases().await {
        apps.push(TestApp::new(&url).await);
    }
    apps
}

impl TestApp {
    pub async fn new(url: &str) -> TestApp {
        // Keyed, as a deployment is (docs/audit.md): every API test writes a keyed chain.
        let audit_key = AuditKeys::parse(&AuditKey::generate_base64()).unwrap();
        let db = Db::connect(url)
            .await
            .unwrap()
            .with_audit_keys(Some(audit_key));
        db.migrate().await.unwrap();
        let store = Store::new(db);
        store.adopt_audit_key(&ctx()).await.unwrap();
        let key = MasterKey::from_base64(&MasterKey::generate_base64()).unwrap();
        let mut state = AppState::new(store.clone(), Some(key));
        state.password_cost = PasswordCost::Test;
        // Usage tests post events at fixed dates (November 2026): keep them ingestible.
        state.usage_retention_days = 36_500;
        let router = switchyard_server::api::router(state.clone());
        let a = store.bootstrap(&ctx(), "acme", "admin", "x").await.unwrap();
        let b = store
            .bootstrap(&ctx(), "globex", "admin", "x")
            .await
            .unwrap();
        let root_a = store
            .tenant(&a.tenant.id)
            .list_departments(Page::default())
            .await
            .unwrap()[0]
            .id
            .clone();
        let mut tokens = HashMap::new();
        for role in Role::ALL {
            let t = store.tenant(&a.tenant.id);
            let user = t
                .create_user(&ctx(), role.as_str(), "x", None)
                .await
                .unwrap();
            t.add_binding(&ctx(), &user.id, role, None).await.unwrap();
            let (_, token) = t
                .create_token(&ctx(), &user.id, TokenKind::Personal, "t", None)
                .await
                .unwrap();
            tokens.insert(role, token);
        }
        TestApp {
            router,
            state,
            store,
            tenant_a: a.tenant.id,
            tenant_b: b.tenant.id,
            root_a,
            tokens,
            token_b: b.token,
            admin_a: a.token,
            service_provider: std::sync::Mutex::default(),
        }
    }

    /// Serves the router on a loopback port until the task is aborted: its base URL.
    pub async fn listen(&self) -> (String, tokio::task::JoinHandle<()>) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let service = self
            .router
            .clone()
            .into_make_service_with_connect_info::<std::net::SocketAddr>();
        let task = tokio::spawn(async move {
            axum::serve(listener, service).await.unwrap();
        });
        (url, task)
    }

    /// The same app with other lease timings (short ones, for tests).
    pub fn with_leases(mut self, leases: switchyard_server::store::LeaseSettings) -> TestApp {
        self.state.leases = leases;
        self.router = switchyard_server::api::router(self.state.clone());
        self
    }

    /// The same app with its OpenID key refetches spaced by `min_refetch` (short, for
    /// tests of the provider's key rotation).
    pub fn with_oidc_refetch(mut self, min_refetch: std::time::Duration) -> TestApp {
        self.state.oidc =
            std::sync::Arc::new(switchyard_server::oidc::ProviderCache::new(min_refetch));
        self.router = switchyard_server::api::router(self.state.clone());
        self
    }

    /// The same app, with `proxies` trusted for forwarding headers.
    pub fn behind(mut self, proxies: TrustedProxies) -> TestApp {
        self.state.proxies = std::sync::Arc::new(proxies);
        self.router = switchyard_server::api::router(self.state.clone());
        self
    }

    pub async fn send(&self, req: Request<Body>) -> (StatusCode, Value, axum::http::HeaderMap) {
        let response = self.router.clone().oneshot(req).await.unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .unwrap();
        let body = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes)
                .unwrap_or(Value::String(String::from_utf8_lossy(&bytes).into_owned()))
        };
        (status, body, headers)
    }

    pub async fn call(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let (s, b, _) = self.send(request(method, path, token, body)).await;
        (s, b)
    }

    /// Signs in with a password: `(status, {token, expires_at})`.
    pub async fn login(&self, tenant: &str, username: &str, password: &str) -> (StatusCode, Value) {
        self.call(
            "POST",
            "/api/v1/auth/login",
            None,
            Some(json!({"tenant": tenant, "username": username, "password": password})),
        )
        .await
    }

    /// A new user of tenant A, made through the API by its admin, holding `bindings`
    /// (`[{role, department_id?}]`), signed in: its session token.
    pub async fn user_with(&self, username: &str, bindings: Value) -> String {
        let admin = Some(self.admin_a.as_str());
        let (s, user) = self
            .call(
                "POST",
                "/api/v1/users",
                admin,
                Some(json!({"username": username, "password": PASSWORD})),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{user}");
        let path = format!("/api/v1/users/{}", user["id"].as_str().unwrap());
        let (s, b) = self
            .call("PATCH", &path, admin, Some(json!({"bindings": bindings})))
            .await;
        assert_eq!(s, StatusCode::OK, "{b}");
        let (_, login) = self.login("acme", username, PASSWORD).await;
        login["token"].as_str().unwrap().to_owned()
    }

    /// Fresh objects in tenant A for one request to act on.
    pub async fn fixture(&self, n: usize) -> Fixture {
        let t = self.store.tenant(&self.tenant_a);
        let dept = t
            .create_department(&ctx(), &format!("dept{n}"), Some(&self.root_a))
            .await
            .unwrap();
        let app = t
            .create_app(
                &ctx(),
                NewApp {
                    department_id: dept.id.clone(),
                    name: format!("app{n}"),
                    allowed_models: None,
                    secrets_mode: SecretsMode::None,
                },
            )
            .await
            .unwrap();
        let (key, secret) = t
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
        let user = t
            .create_user(&ctx(), &format!("user{n}"), "x", None)
            .await
            .unwrap();
        let provider = t
            .create_provider(
                &ctx(),
                self.state.master_key.as_deref(),
                NewProvider {
                    name: format!("prov{n}"),
                    kind: "openai".into(),
                    base_url: None,
                    credential: Some("sk-fixture-9999".into()),
                },
            )
            .await
            .unwrap();
        let v1 = t
            .create_version(&ctx(), &config_doc(1.0), None)
            .await
            .unwrap();
        t.activate(&ctx(), &v1.id).await.unwrap();
        let v2 = t
            .create_version(&ctx(), &config_doc(2.0), None)
            .await
            .unwrap();
        t.activate(&ctx(), &v2.id).await.unwrap();
        let budget = t
            .create_budget(
                &ctx(),
                serde_json::from_value(json!({
                    "name": format!("budget{n}"), "scope": "app", "scope_ref": app.id,
                    "period": "month", "amount_usd": 10.0, "mode": "hard"
                }))
                .unwrap(),
            )
            .await
            .unwrap();
        let limit = t
            .create_rate_limit(
                &ctx(),
                serde_json::from_value(json!({
                    "name": format!("limit{n}"), "scope": "department", "scope_ref": dept.id,
                    "rpm": 600
                }))
                .unwrap(),
            )
            .await
            .unwrap();
        let price_model = format!("fx-model-{n}");
        t.set_price(
            &ctx(),
            &price_model,
            serde_json::from_value(json!({"input": 1.0, "output": 2.0})).unwrap(),
        )
        .await
        .unwrap();
        let channel = t
            .create_alert_channel(
                &ctx(),
                self.state.master_key.as_deref(),
                serde_json::from_value(json!({
                    "name": format!("channel{n}"), "kind": "webhook",
                    "url": "http://127.0.0.1:9/hook", "secret": "whsec-fixture"
                }))
                .unwrap(),
            )
            .await
            .unwrap();
        let mut alert_rules = Vec::new();
        for (kind, params) in [
            ("error_rate", json!({"window_minutes": 5, "threshold": 0.5})),
            ("budget_percent", json!({"percent": 80})),
            ("auth_failures", json!({"window_ms": 60000, "count": 5})),
        ] {
            let rule = switchyard_server::alerts::new_rule(
                &format!("{kind}{n}"),
                kind,
                params,
                vec![channel.id.clone()],
                None,
                None,
                None,
            )
            .unwrap();
            alert_rules.push(t.create_alert_rule(&ctx(), rule).await.unwrap().id);
        }
        let [health_rule, cost_rule, security_rule] = <[String; 3]>::try_from(alert_rules).unwrap();
        Fixture {
            n,
            channel: channel.id,
            health_rule,
            cost_rule,
            security_rule,
            dept: dept.id,
            app: app.id,
            key: key.id,
            key_secret: secret,
            user: user.id,
            provider: provider.id,
            version: v1.id,
            budget: budget.id,
            limit: limit.id,
            price_model,
            rollout: String::new(),
            call_log: String::new(),
            sso_rule: String::new(),
        }
    }

    /// [`TestApp::fixture`], plus for a rollout route a live rollout of model `fx-live{n}`
    /// (and a model `fx-new{n}` for a new one), both in a newly activated version.
    pub async fn fixture_for(&self, n: usize, path: &str) -> Fixture {
        let mut fx = self.fixture(n).await;
        if path.starts_with("/api/v1/call-logs") {
            fx.call_log = super::usage::logged_call(self, &fx, "the fixture's question").await;
            return fx;
        }
        if path.starts_with("/api/v1/sso/rules") {
            let input =
                serde_json::from_value(json!({"group": format!("fx{n}"), "role": "model_ops"}))
                    .unwrap();
            fx.sso_rule = self
                .store
                .tenant(&self.tenant_a)
                .create_group_rule(&ctx(), input)
                .await
                .unwrap()
                .id;
            return fx;
        }
        if path == "/api/v1/sso" {
            // The tenant's OpenID provider, for the read and the delete to find. A provider
            // that accepts service tokens keeps its issuer and API audience: the walk's
            // callers may be services whose identity depends on them (a PUT or DELETE
            // before this one may have removed them).
            let tenant = self.store.tenant(&self.tenant_a);
            let (issuer, api_audience) = match self.service_provider.lock().unwrap().clone() {
                Some((issuer, audience)) => (issuer, Some(audience)),
                None => ("https://idp.example.com".to_owned(), None),
            };
            let input = serde_json::from_value(json!({
                "issuer": issuer, "client_id": format!("fx{n}"),
                "redirect_uri": "https://switchyard.example.com/api/v1/auth/oidc/callback",
                "client_secret": "fixture-secret", "api_audience": api_audience,
            }))
            .unwrap();
            tenant
                .put_sso(&ctx(), self.state.master_key.as_deref(), input)
                .await
                .unwrap();
            return fx;
        }
        if !path.starts_with("/api/v1/rollouts") {
            return fx;
        }
        let mut doc = config_doc(2.0);
        for model in [format!("fx-live{n}"), format!("fx-new{n}")] {
            doc["models"][model] = json!({"deployments": [
                {"provider": "openai", "model": "gpt-4o-mini", "name": "a", "version": "v1"},
                {"provider": "openai", "model": "gpt-4o", "name": "b", "version": "v2"}
            ]});
        }
        let t = self.store.tenant(&self.tenant_a);
        let v = t.create_version(&ctx(), &doc, None).await.unwrap();
        t.activate(&ctx(), &v.id).await.unwrap();
        let new = serde_json::from_value(json!({
            "name": format!("fx{n}"), "model": format!("fx-live{n}"), "baseline": "v1",
            "candidate": "v2", "steps": [{"percent": 10}, {"percent": 100}]
        }))
        .unwrap();
        let rollout = switchyard_server::rollout::start(&self.state, &ctx(), &self.tenant_a, &new)
            .await
            .unwrap();
        fx.rollout = rollout.id;
        fx
    }

    /// Stores `document` as a version and activates it, as `token`'s user (an infra_admin).
    pub async fn activate(&self, token: &str, document: Value) {
        let (status, version) = self
            .call(
                "POST",
                "/api/v1/configs",
                Some(token),
                Some(json!({"document": document})),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{version}");
        let id = version["id"].as_str().unwrap();
        let (status, body) = self
            .call(
                "POST",
                &format!("/api/v1/configs/{id}/activate"),
                Some(token),
                None,
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }

    /// A new app of tenant A in the root department (limited to `allowed` models when
    /// given), made through the API, and a key for it: the key's secret.
    /// The SDK config `key`'s app gets now: (body, ETag).
    pub async fn sdk_config(&self, key: &str) -> (Value, String) {
        let (s, body, headers) = self
            .send(request("GET", "/sdk/v1/config", Some(key), None))
            .await;
        assert_eq!(s, StatusCode::OK, "{body}");
        (body, headers["etag"].to_str().unwrap().to_owned())
    }

    /// A long-poll for a config other than `etag` (30 s at most), running in the
    /// background: its (status, ETag, body).
    pub fn long_poll(
        &self,
        key: &str,
        etag: &str,
    ) -> tokio::task::JoinHandle<(StatusCode, String, Value)> {
        let router = self.router.clone();
        let req = request(
            "GET",
            &format!("/sdk/v1/config?wait=30&etag={}", etag.trim_matches('"')),
            Some(key),
            None,
        );
        tokio::spawn(async move {
            let r = router.oneshot(req).await.unwrap();
            let status = r.status();
            let etag = r.headers()["etag"].to_str().unwrap().to_owned();
            let bytes = axum::body::to_bytes(r.into_body(), usize::MAX)
                .await
                .unwrap();
            (status, etag, serde_json::from_slice(&bytes).unwrap())
        })
    }

    pub async fn app_key(&self, name: &str, allowed: Option<Value>) -> String {
        let admin = Some(self.admin_a.as_str());
        let mut body = json!({"department_id": self.root_a, "name": name});
        if let Some(allowed) = allowed {
            body["allowed_models"] = allowed;
        }
        let (status, created) = self.call("POST", "/api/v1/apps", admin, Some(body)).await;
        assert_eq!(status, StatusCode::CREATED, "{created}");
        let id = created["id"].as_str().unwrap();
        let (_, key) = self
            .call(
                "POST",
                &format!("/api/v1/apps/{id}/keys"),
                admin,
                Some(json!({"name": "sdk"})),
            )
            .await;
        key["secret"].as_str().unwrap().to_owned()
    }
}

pub struct Fixture {
    pub n: usize,
    pub dept: String,
    pub app: String,
    pub key: String,
    pub key_secret: String,
    pub user: String,
    pub provider: String,
    /// An inactive version.
    pub version: String,
    /// A budget of the app, a rate limit of the department, a price override.
    pub budget: String,
    pub limit: String,
    pub price_model: String,
    /// A live rollout, for the rollout routes ([`TestApp::fixture_for`]); else empty.
    pub rollout: String,
    /// A logged call of the app, for the call-log routes ([`TestApp::fixture_for`]).
    pub call_log: String,
    /// A group rule of tenant A's provider (for the `/api/v1/sso/rules/{id}` routes).
    pub sso_rule: String,
    /// An alert channel, and an alert rule of each category.
    pub channel: String,
    pub health_rule: String,
    pub cost_rule: String,
    pub security_rule: String,
}

impl Fixture {
    /// The id a route's `{id}` stands for.
    pub fn id_for(&self, path: &str) -> &str {
        if path.starts_with("/api/v1/departments") {
            &self.dept
        } else if path.starts_with("/api/v1/apps") {
            &self.app
        } else if path.starts_with("/api/v1/keys") {
            &self.key
        } else if path.starts_with("/api/v1/users") {
            &self.user
        } else if path.starts_with("/api/v1/providers") {
            &self.provider
        } else if path.starts_with("/api/v1/budgets") {
            &self.budget
        } else if path.starts_with("/api/v1/rate-limits") {
            &self.limit
        } else if path.starts_with("/api/v1/prices") {
            &self.price_model
        } else if path.starts_with("/api/v1/rollouts") {
            &self.rollout
        } else if path.starts_with("/api/v1/sso/rules") {
            &self.sso_rule
        } else if path.starts_with("/api/v1/call-logs") {
            &self.call_log
        } else if path.starts_with("/api/v1/alerts/health") {
            &self.health_rule
        } else if path.starts_with("/api/v1/alerts/cost") {
            &self.cost_rule
        } else if path.starts_with("/api/v1/alerts/security") {
            &self.security_rule
        } else {
            &self.version
        }
    }

    /// The query string a route needs (`?period=` for the cost reports), or `""`.
    pub fn query_for(&self, path: &str) -> &'static str {
        if path.starts_with("/api/v1/costs") {
            "?period=2026-11"
        } else if path == "/api/v1/usage" {
            "?from=2026-11-01T00:00:00Z&to=2026-12-01T00:00:00Z&step=1d&group_by=app"
        } else {
            ""
        }
    }

    /// A valid body for a write route.
    pub fn body_for(&self, method: &str, path: &str) -> Option<Value> {
        let n = self.n;
        Some(match (method, path) {
            ("POST", "/api/v1/departments") => json!({"name": format!("new{n}")}),
            ("POST", "/api/v1/apps") => {
                json!({"department_id": self.dept, "name": format!("newapp{n}")})
            }
            ("POST", "/api/v1/apps/{id}/keys") => json!({"name": "ci"}),
            ("POST", "/api/v1/users") => {
                json!({"username": format!("newuser{n}"), "password": "a long enough password"})
            }
            ("POST", "/api/v1/users/{id}/bindings") => json!({"role": "model_ops"}),
            ("POST", "/api/v1/providers") => {
                json!({"name": format!("newprov{n}"), "kind": "openai", "credential": "sk-abc-1234"})
            }
            ("PUT", "/api/v1/providers/{id}/credential") => {
                json!({"credential": "sk-rotated-5678"})
            }
            ("POST", "/api/v1/configs") => json!({"document": config_doc(3.0), "label": "x"}),
            ("POST", "/api/v1/configs/validate") => json!({"yaml": "version: 1\n"}),
            ("PATCH", "/api/v1/departments/{id}") => json!({"name": format!("renamed{n}")}),
            ("PATCH", "/api/v1/apps/{id}") => {
                json!({"name": format!("renamed{n}"), "allowed_models": ["chat"]})
            }
            ("PATCH", "/api/v1/users/{id}") => {
                json!({"display_name": format!("User {n}"), "bindings": [{"role": "model_ops"}]})
            }
            ("POST", "/api/v1/budgets") => json!({
                "name": format!("newbudget{n}"), "scope": "department", "scope_ref": self.dept,
                "period": "day", "amount_usd": 5.0, "mode": "soft"
            }),
            ("PATCH", "/api/v1/budgets/{id}") => json!({"amount_usd": 20.0}),
            ("POST", "/api/v1/rate-limits") => json!({
                "name": format!("newlimit{n}"), "scope": "app", "scope_ref": self.app, "tpm": 10000
            }),
            ("PATCH", "/api/v1/rate-limits/{id}") => json!({"rpm": 1200, "tpm": null}),
            ("PUT", "/api/v1/prices/{id}") => json!({"input": 0.5, "output": 1.5}),
            ("PUT", "/api/v1/apps/{id}/call-logs") => json!({"content": "all"}),
            ("POST", "/api/v1/rollouts") => json!({
                "name": format!("new{n}"), "model": format!("fx-new{n}"), "baseline": "v1",
                "candidate": "v2", "steps": [{"percent": 5}, {"percent": 100}]
            }),
            ("POST", "/api/v1/alert-channels") => json!({
                "name": format!("newchannel{n}"), "kind": "slack", "url": "https://hooks.example/x"
            }),
            ("POST", "/api/v1/alerts/health/rules") => json!({
                "name": format!("newhealth{n}"), "kind": "p95_latency", "channel_ids": [self.channel],
                "params": {"window_minutes": 5, "threshold_ms": 2000}
            }),
            ("POST", "/api/v1/alerts/cost/rules") => json!({
                "name": format!("newcost{n}"), "kind": "spend_anomaly", "channel_ids": [self.channel],
                "params": {"window_minutes": 60, "baseline_hours": 168, "factor": 3}
            }),
            ("POST", "/api/v1/alerts/security/rules") => json!({
                "name": format!("newsecurity{n}"), "kind": "auth_failures", "channel_ids": [self.channel],
                "params": {"window_ms": 300000, "count": 20}
            }),
            ("POST", "/api/v1/sso/rules") => json!({
                "group": format!("group{n}"), "role": "app_developer", "department_id": self.dept
            }),
            ("PUT", "/api/v1/sso") => json!({
                "issuer": "https://idp.example.com/realms/x", "client_id": format!("sy{n}"),
                "redirect_uri": "https://switchyard.example.com/api/v1/auth/oidc/callback",
                "scopes": ["openid", "groups"], "sso_required": true, "break_glass": ["admin"]
            }),
            ("POST", "/api/v1/tenants") => {
                json!({"tenant": format!("tenant{n}"), "username": "boss"})
            }
            _ => return None,
        })
    }
}

pub fn request(
    method: &str,
    path: &str,
    token: Option<&str>,
    body: Option<Value>,
) -> Request<Body> {
    let mut builder = Request::builder().method(method).uri(path);
    if let Some(token) = token {
        builder = builder.header("authorization", format!("Bearer {token}"));
    }
    match body {
        Some(body) => builder
            .header("content-type", "application/json")
            .body(Body::from(body.to_string()))
            .unwrap(),
        None => builder.body(Body::empty()).unwrap(),
    }
}

/// `req` as if it came over a connection from `peer` (an IP address).
pub fn from_peer(peer: &str, mut req: Request<Body>) -> Request<Body> {
    let addr = std::net::SocketAddr::new(peer.parse().unwrap(), 40000);
    req.extensions_mut()
        .insert(axum::extract::ConnectInfo(addr));
    req
}
