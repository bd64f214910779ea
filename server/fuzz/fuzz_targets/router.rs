//! The whole HTTP router on arbitrary requests: the real axum router, state and store (a
//! temporary SQLite file, or PostgreSQL from `SWITCHYARD_FUZZ_DATABASE_URL`) with a seeded
//! tenant, admin token and app key. Whatever arrives, the server must not panic, must not
//! answer 5xx, must not hang, and every error under `/api` or `/sdk` must be the one JSON
//! error shape.
//!
//! An input is an HTTP request in text, so that seeds are readable and libFuzzer's
//! mutations stay close to requests:
//!
//! ```text
//! PATCH /api/v1/apps/{app}
//! authorization: Bearer {admin}
//! content-type: application/json
//!
//! {"name": "x"}
//! ```
//!
//! `{admin}`, `{other}` (another tenant's admin), `{key}`, `{app}`, `{dept}`, `{user}` are
//! replaced by live values. The connection comes from 10.0.0.1, a trusted proxy, so
//! forwarding headers are parsed too.
#![no_main]

use std::net::SocketAddr;
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{HeaderName, HeaderValue, Method, Request, Uri};
use switchyard_server::auth::password::hash_password_cheap;
use switchyard_server::auth::rate_limit::RateLimiter;
use switchyard_server::client_addr::{ProxyHeader, TrustedProxies, parse_net};
use switchyard_server::crypto::MasterKey;
use switchyard_server::db::Db;
use switchyard_server::rbac::Role;
use switchyard_server::state::{AppState, PasswordCost};
use switchyard_server::store::{
    AuditCtx, NewApp, NewBinding, NewKey, Page, SecretsMode, Store, TokenKind, UserPatch,
};
use tokio::runtime::Runtime;
use tower::ServiceExt;

/// The password of the seeded admin, so that sign-in can succeed.
const PASSWORD: &str = "fuzz-password-123";

/// The live values the placeholders stand for; re-made when a request revokes or breaks one.
#[derive(Default)]
struct Seeds {
    tenant: String,
    admin_user: String,
    admin: String,
    other: String,
    key: String,
    app: String,
    dept: String,
    user: String,
}

struct Harness {
    rt: Runtime,
    router: Router,
    store: Store,
    seeds: Mutex<Seeds>,
}

fn ctx() -> AuditCtx {
    AuditCtx::cli("fuzz")
}

fn harness() -> &'static Harness {
    static HARNESS: OnceLock<Harness> = OnceLock::new();
    HARNESS.get_or_init(|| {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        let (router, store, seeds) = rt.block_on(setup());
        Harness {
            rt,
            router,
            store,
            seeds: Mutex::new(seeds),
        }
    })
}

async fn setup() -> (Router, Store, Seeds) {
    let url = std::env::var("SWITCHYARD_FUZZ_DATABASE_URL").unwrap_or_else(|_| {
        let dir = std::env::temp_dir().join(format!("switchyard-fuzz-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        format!("sqlite://{}", dir.join("fuzz.db").display())
    });
    let db = Db::connect(&url).await.expect("database");
    db.migrate().await.expect("migrate");
    let store = Store::new(db);
    let key = MasterKey::from_base64(&MasterKey::generate_base64()).expect("key");
    let mut state = AppState::new(store.clone(), Some(key));
    state.password_cost = PasswordCost::Test;
    // Failed sign-ins must not shut the fuzzer out after ten tries.
    state.limiter = std::sync::Arc::new(RateLimiter::new(u32::MAX, Duration::from_secs(60)));
    state.proxies = std::sync::Arc::new(TrustedProxies::new(
        vec![parse_net("10.0.0.0/8").expect("net")],
        ProxyHeader::XForwardedFor,
    ));
    // Long-polls answer at once, as on shutdown: a wait is not a hang.
    state.shutdown.send_replace(true);
    let hash = hash_password_cheap(PASSWORD).expect("hash");
    let suffix = switchyard_server::util::random_hex(4);
    let a = store
        .bootstrap(&ctx(), &format!("acme{suffix}"), "admin", &hash)
        .await
        .expect("tenant a");
    let b = store
        .bootstrap(&ctx(), &format!("globex{suffix}"), "admin", &hash)
        .await
        .expect("tenant b");
    let t = store.tenant(&a.tenant.id);
    let dept = t.list_departments(Page::default()).await.expect("depts")[0]
        .id
        .clone();
    let user = t
        .create_user(&ctx(), "someone", &hash, None)
        .await
        .expect("user");
    let doc = serde_json::json!({
        "version": 1,
        "providers": {"openai": {"kind": "openai", "api_key": "${OPENAI_API_KEY}"}},
        "models": {
            "chat": {"deployments": [{"provider": "openai", "model": "gpt-4o-mini"}],
                     "fallbacks": {"default": ["small"]}},
            "small": {"deployments": [{"provider": "openai", "model": "gpt-4o-mini"}]}
        }
    });
    let v = t.create_version(&ctx(), &doc, None).await.expect("version");
    t.activate(&ctx(), &v.id).await.expect("activate");
    let mut seeds = Seeds {
        tenant: a.tenant.id,
        admin_user: a.user.id,
        admin: a.token,
        other: b.token,
        dept,
        user: user.id,
        ..Seeds::default()
    };
    reseed_app(&store, &mut seeds).await;
    let router = switchyard_server::api::router(state);
    (router, store, seeds)
}

async fn reseed_app(store: &Store, seeds: &mut Seeds) {
    let t = store.tenant(&seeds.tenant);
    let app = t
        .create_app(
            &ctx(),
            NewApp {
                department_id: seeds.dept.clone(),
                name: format!("app-{}", switchyard_server::util::random_hex(4)),
                allowed_models: None,
                secrets_mode: SecretsMode::Direct,
            },
        )
        .await
        .expect("app");
    let (_, key) = t
        .create_key(
            &ctx(),
            NewKey {
                app_id: app.id.clone(),
                name: "fuzz".into(),
                expires_at: None,
            },
        )
        .await
        .expect("key");
    seeds.app = app.id;
    seeds.key = key;
}

/// Puts back what the last request took away: the admin's token, its infra_admin role,
/// the app and its key (a fuzzer that signs out once would otherwise be locked out).
async fn repair(store: &Store, seeds: &mut Seeds) {
    let auth = store
        .authenticate_user_token(&seeds.admin)
        .await
        .expect("auth");
    let is_admin = auth.as_ref().is_some_and(|a| {
        a.bindings
            .iter()
            .any(|b| b.role == Role::InfraAdmin && b.department_id.is_none())
    });
    let t = store.tenant(&seeds.tenant);
    if !is_admin {
        t.update_user(
            &ctx(),
            &seeds.admin_user,
            UserPatch {
                disabled: Some(false),
                bindings: Some(vec![NewBinding {
                    role: Role::InfraAdmin,
                    department_id: None,
                }]),
                ..UserPatch::default()
            },
        )
        .await
        .expect("re-enable admin");
    }
    if auth.is_none() {
        let (_, token) = t
            .create_token(&ctx(), &seeds.admin_user, TokenKind::Personal, "fuzz", None)
            .await
            .expect("token");
        seeds.admin = token;
    }
    if store
        .authenticate_app_key(&seeds.key)
        .await
        .expect("key auth")
        .is_none()
    {
        reseed_app(store, seeds).await;
    }
}

/// The request `data` describes, or `None` when it is not one an HTTP server could
/// receive (hyper refuses those before the router sees them).
fn request(data: &[u8], seeds: &Seeds) -> Option<Request<Body>> {
    let split = data.windows(2).position(|w| w == b"\n\n");
    let (head, body) = match split {
        Some(i) => (&data[..i], &data[i + 2..]),
        None => (data, &b""[..]),
    };
    let fill = |text: &str| {
        text.replace("{admin}", &seeds.admin)
            .replace("{other}", &seeds.other)
            .replace("{key}", &seeds.key)
            .replace("{app}", &seeds.app)
            .replace("{dept}", &seeds.dept)
            .replace("{user}", &seeds.user)
    };
    let head = fill(std::str::from_utf8(head).ok()?);
    let body = fill(&String::from_utf8_lossy(body));
    let mut lines = head.lines();
    let (method, target) = lines.next()?.split_once(' ')?;
    let mut builder = Request::builder()
        .method(Method::from_bytes(method.as_bytes()).ok()?)
        .uri(target.parse::<Uri>().ok()?);
    for line in lines {
        let (name, value) = line.split_once(':')?;
        builder = builder.header(
            HeaderName::from_bytes(name.trim().as_bytes()).ok()?,
            HeaderValue::from_str(value.trim()).ok()?,
        );
    }
    let mut req = builder.body(Body::from(body)).ok()?;
    req.extensions_mut()
        .insert(ConnectInfo(SocketAddr::from(([10, 0, 0, 1], 40000))));
    Some(req)
}

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let h = harness();
    let mut seeds = h.seeds.lock().expect("seeds");
    let Some(req) = request(data, &seeds) else {
        return;
    };
    let method = req.method().clone();
    let uri = req.uri().clone();
    let (status, body) = h.rt.block_on(async {
        let response = tokio::time::timeout(Duration::from_secs(10), h.router.clone().oneshot(req))
            .await
            .unwrap_or_else(|_| panic!("{method} {uri}: no answer in 10 s"))
            .expect("infallible");
        let status = response.status();
        let body = axum::body::to_bytes(response.into_body(), 64 << 20)
            .await
            .expect("body");
        (status, body)
    });
    let text = String::from_utf8_lossy(&body);
    assert!(
        !status.is_server_error(),
        "{method} {uri} -> {status}: {text}"
    );
    let path = uri.path();
    if status.is_client_error()
        && method != Method::HEAD
        && (path.starts_with("/api/") || path.starts_with("/sdk/"))
    {
        let shaped = serde_json::from_slice::<serde_json::Value>(&body)
            .ok()
            .is_some_and(|v| v["code"].is_string() && v["message"].is_string());
        assert!(
            shaped,
            "{method} {uri} -> {status}: not the error shape: {text}"
        );
    }
    h.rt.block_on(repair(&h.store, &mut seeds));
});
