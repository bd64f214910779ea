//! The test OpenID provider (`tests/oidc-provider/server.mjs`, the `oidc-provider`
//! package) as a subprocess on 127.0.0.1, and a browser's part of the code flow: its login
//! page filled in with a user's credentials, cookies carried by hand.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::{Value, json};

pub struct TestIdp {
    pub issuer: String,
    child: Child,
    _dir: PathBuf,
}

fn provider_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/oidc-provider")
}

impl TestIdp {
    /// Starts the provider with `config` (`clients`, `users`; see server.mjs), or `None`
    /// (the test skips, saying why) when node is not installed. Its packages must be
    /// installed (`make test` does: `npm ci` in tests/oidc-provider/).
    pub async fn start(config: Value) -> Option<TestIdp> {
        if std::process::Command::new("node")
            .arg("--version")
            .output()
            .is_err()
        {
            eprintln!("node not found: skipping the test against the real OpenID provider");
            return None;
        }
        let dir = provider_dir();
        assert!(
            dir.join("node_modules/oidc-provider").exists(),
            "tests/oidc-provider has no node_modules: run `npm ci --ignore-scripts` there (make test-rust does)"
        );
        let scratch = std::env::temp_dir().join(format!(
            "switchyard-idp-{}",
            switchyard_server::util::random_hex(8)
        ));
        std::fs::create_dir_all(&scratch).unwrap();
        let file = scratch.join("config.json");
        std::fs::write(&file, serde_json::to_vec(&config).unwrap()).unwrap();
        let mut child = Command::new("node")
            .arg(dir.join("server.mjs"))
            .arg(&file)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        // The first line is the issuer; the rest is drained, for the provider's notices
        // would otherwise meet a closed pipe.
        std::thread::spawn(move || {
            let mut reader = BufReader::new(stdout);
            let mut line = String::new();
            let _ = reader.read_line(&mut line);
            let _ = tx.send(line);
            let _ = std::io::copy(&mut reader, &mut std::io::sink());
        });
        let line = rx
            .recv_timeout(Duration::from_secs(30))
            .expect("the OpenID provider did not print its issuer within 30 s");
        let issuer = line.trim().to_owned();
        assert!(
            issuer.starts_with("http://127.0.0.1:"),
            "the OpenID provider exited before printing its issuer"
        );
        Some(TestIdp {
            issuer,
            child,
            _dir: scratch,
        })
    }

    /// Replaces the provider's users (a group removed, a user deleted).
    pub async fn set_users(&self, users: Value) {
        let r = reqwest::Client::new()
            .post(format!("{}/admin/users", self.issuer))
            .json(&users)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 204);
    }

    /// New signing keys at the provider; the old ones are no longer published.
    pub async fn rotate_keys(&self) {
        self.admin("rotate").await;
    }

    /// `POST /admin/{what}` at the provider, without a body.
    async fn admin(&self, what: &str) {
        let r = reqwest::Client::new()
            .post(format!("{}/admin/{what}", self.issuer))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 204);
    }

    /// The next ID token the provider hands out has `claims` changed (merged in), signed
    /// with its own key, or with a key it never published when `foreign_key`.
    pub async fn tamper_next(&self, claims: Value, foreign_key: bool) {
        let r = reqwest::Client::new()
            .post(format!("{}/admin/tamper", self.issuer))
            .json(&serde_json::json!({"claims": claims, "foreign_key": foreign_key}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 204);
    }

    /// The next token request is answered `slow_down`.
    pub async fn slow_down_next(&self) {
        self.admin("slow_down").await;
    }

    /// The key ids the provider publishes now.
    pub async fn kids(&self) -> Vec<String> {
        let jwks: Value = reqwest::get(format!("{}/jwks", self.issuer))
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        jwks["keys"]
            .as_array()
            .unwrap()
            .iter()
            .map(|k| k["kid"].as_str().unwrap().to_owned())
            .collect()
    }
}

impl Drop for TestIdp {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self._dir);
    }
}

/// A browser without redirects followed by itself: each hop is taken by `Browser::go`,
/// so the test sees where the provider sends it, and cookies are kept by hand.
pub struct Browser {
    http: reqwest::Client,
    cookies: Vec<(String, String)>,
}

impl Default for Browser {
    fn default() -> Self {
        Browser {
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
            cookies: Vec::new(),
        }
    }
}

impl Browser {
    fn keep_cookies(&mut self, r: &reqwest::Response) {
        for v in r.headers().get_all(reqwest::header::SET_COOKIE) {
            let pair = v.to_str().unwrap().split(';').next().unwrap();
            let (name, value) = pair.split_once('=').unwrap();
            self.cookies.retain(|(n, _)| n != name);
            self.cookies.push((name.to_owned(), value.to_owned()));
        }
    }

    fn cookie_header(&self) -> String {
        self.cookies
            .iter()
            .map(|(n, v)| format!("{n}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    async fn send(&mut self, req: reqwest::RequestBuilder) -> (u16, Option<String>, String) {
        let r = req
            .header(reqwest::header::COOKIE, self.cookie_header())
            .send()
            .await
            .unwrap();
        self.keep_cookies(&r);
        let status = r.status().as_u16();
        let location = r
            .headers()
            .get(reqwest::header::LOCATION)
            .map(|l| l.to_str().unwrap().to_owned());
        (status, location, r.text().await.unwrap())
    }

    /// GET `url`: (status, Location, body).
    pub async fn get(&mut self, url: &str) -> (u16, Option<String>, String) {
        let req = self.http.get(url);
        self.send(req).await
    }

    /// Signs in at the provider, starting from its authorization URL: its login page
    /// filled with `user` and `password`. Answers where the provider sends the browser
    /// back (the relying party's redirect URI with `code` and `state`), or, when the
    /// provider refuses the credentials, `Err(status)`.
    pub async fn sign_in_at_provider(
        &mut self,
        authorize: &str,
        user: &str,
        password: &str,
    ) -> Result<String, u16> {
        let (status, login_page, _) = self.get(authorize).await;
        assert_eq!(
            status, 303,
            "the provider's authorization endpoint: {status}"
        );
        let (status, back, body) = self
            .log_in(&url_origin(authorize), &login_page.unwrap(), user, password)
            .await?;
        assert_eq!(status, 303, "the provider's resume: {body}");
        Ok(back.unwrap())
    }

    /// The provider's login page at `login_page` filled in; answers the provider's
    /// resume step (status, Location, body), or `Err(status)` for refused credentials.
    async fn log_in(
        &mut self,
        base: &str,
        login_page: &str,
        user: &str,
        password: &str,
    ) -> Result<(u16, Option<String>, String), u16> {
        let page = absolute(base, login_page);
        let (status, _, _) = self.get(&page).await;
        assert_eq!(status, 200);
        let req = self
            .http
            .post(format!("{page}/login"))
            .form(&[("login", user), ("password", password)]);
        let (status, resume, _) = self.send(req).await;
        if status != 303 {
            return Err(status);
        }
        Ok(self.get(&absolute(base, &resume.unwrap())).await)
    }

    /// The person's part of a device sign-in (RFC 8628) at the provider's own pages:
    /// `verification` (the URI with the user code filled in) opened, the code confirmed
    /// (or, when `approve` is false, the sign-in aborted there), then the login page with
    /// `user`'s credentials. Answers the last page's body.
    pub async fn device_sign_in(
        &mut self,
        verification: &str,
        approve: bool,
        user: &str,
        password: &str,
    ) -> String {
        let base = url_origin(verification);
        // The page that posts the code (a self-submitting form with the provider's
        // anti-forgery token), then the confirmation page with the code shown.
        let (status, _, page) = self.get(verification).await;
        assert_eq!(status, 200, "{page}");
        let action = html_attr(&page, "action=\"");
        let code = hidden(&page, "user_code");
        let req = self
            .http
            .post(&action)
            .form(&[("xsrf", hidden(&page, "xsrf")), ("user_code", code.clone())]);
        let (status, _, confirm) = self.send(req).await;
        assert_eq!(status, 200, "{confirm}");
        assert!(confirm.contains(&code), "the code is shown: {confirm}");
        let xsrf = hidden(&confirm, "xsrf");
        let choice = if approve { "confirm" } else { "abort" };
        let req = self.http.post(&action).form(&[
            ("xsrf", xsrf.as_str()),
            ("user_code", code.as_str()),
            (choice, "yes"),
        ]);
        let (status, login_page, body) = self.send(req).await;
        if !approve {
            return body;
        }
        assert_eq!(status, 303, "after confirming: {body}");
        let (mut status, mut next, mut body) = self
            .log_in(&base, &login_page.unwrap(), user, password)
            .await
            .unwrap_or_else(|s| panic!("the provider refused {user}'s password: {s}"));
        while status == 303 {
            (status, next, body) = self.get(&absolute(&base, &next.unwrap())).await;
        }
        body
    }
}

/// The value of the hidden input `name` in a provider's page.
fn hidden(page: &str, name: &str) -> String {
    let at = page
        .find(&format!("name=\"{name}\""))
        .unwrap_or_else(|| panic!("no {name} in {page}"));
    html_attr(&page[at..], "value=\"")
}

/// The first attribute value after `prefix` (which ends in its opening quote).
fn html_attr(html: &str, prefix: &str) -> String {
    let start = html
        .find(prefix)
        .unwrap_or_else(|| panic!("no {prefix} in {html}"))
        + prefix.len();
    let end = html[start..].find('"').unwrap() + start;
    html[start..end].replace("&amp;", "&")
}

fn url_origin(url: &str) -> String {
    let after = url.find("://").map(|i| i + 3).unwrap_or(0);
    let end = url[after..]
        .find('/')
        .map(|i| i + after)
        .unwrap_or(url.len());
    url[..end].to_owned()
}

fn absolute(origin: &str, location: &str) -> String {
    if location.starts_with("http://") || location.starts_with("https://") {
        location.to_owned()
    } else {
        format!("{origin}{location}")
    }
}

/// The audience (resource) the test provider's service tokens carry and the tenant's
/// `api_audience` names.
pub const API_AUDIENCE: &str = "https://switchyard.test/api";
/// The secret of every service client [`connect_services`] registers.
pub const SERVICE_SECRET: &str = "service-secret";

/// The test provider with the console's client `switchyard` and `users`, set as tenant
/// A's provider by its infra_admin; `None` when node is missing.
pub async fn connect(app: &super::app::TestApp, base: &str, users: Value) -> Option<TestIdp> {
    connect_services(app, base, users, &[]).await
}

/// [`connect`], and `services` registered as client credentials clients whose JWT access
/// tokens carry [`API_AUDIENCE`], which the tenant accepts.
pub async fn connect_services(
    app: &super::app::TestApp,
    base: &str,
    users: Value,
    services: &[&str],
) -> Option<TestIdp> {
    connect_with(app, base, users, services, json!({})).await
}

/// Tenant A's provider settings for the test provider at `issuer`, the server at `base`:
/// the console's client `switchyard`, accepting service tokens when `services`.
pub fn sso_settings(issuer: &str, base: &str, services: bool) -> Value {
    json!({
        "issuer": issuer, "client_id": "switchyard", "client_secret": "client-secret",
        "redirect_uri": format!("{base}/api/v1/auth/oidc/callback"),
        "scopes": ["openid", "profile", "email", "groups"],
        "api_audience": if services { json!(API_AUDIENCE) } else { Value::Null },
    })
}

/// `PUT /api/v1/sso` as tenant A's infra_admin; it must succeed.
pub async fn set_sso(app: &super::app::TestApp, settings: Value) {
    let (s, body) = app
        .call("PUT", "/api/v1/sso", Some(&app.admin_a), Some(settings))
        .await;
    assert_eq!(s, axum::http::StatusCode::OK, "{body}");
}

/// The device authorization grant (RFC 8628), which the console's client `switchyard` is
/// registered for beside the code flow.
pub const DEVICE_GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";

/// [`connect_services`], with `extra` merged into the provider's configuration (e.g.
/// `device_code_ttl`).
pub async fn connect_with(
    app: &super::app::TestApp,
    base: &str,
    users: Value,
    services: &[&str],
    extra: Value,
) -> Option<TestIdp> {
    let callback = format!("{base}/api/v1/auth/oidc/callback");
    let mut clients = vec![json!({
        "client_id": "switchyard", "client_secret": "client-secret",
        "redirect_uris": [callback], "id_token_signed_response_alg": "RS256",
        "grant_types": ["authorization_code", DEVICE_GRANT],
    })];
    clients.extend(services.iter().map(|c| {
        json!({"client_id": c, "client_secret": SERVICE_SECRET,
            "grant_types": ["client_credentials"], "redirect_uris": [], "response_types": []})
    }));
    let mut config = json!({
        "clients": clients, "users": users, "api_resource": API_AUDIENCE,
    });
    for (k, v) in extra.as_object().unwrap() {
        config[k] = v.clone();
    }
    let idp = TestIdp::start(config).await?;
    set_sso(app, sso_settings(&idp.issuer, base, !services.is_empty())).await;
    if !services.is_empty() {
        *app.service_provider.lock().unwrap() = Some((idp.issuer.clone(), API_AUDIENCE.into()));
    }
    Some(idp)
}

impl TestIdp {
    /// A service's access token by the client credentials grant, for `resource`.
    pub async fn service_token_for(&self, client: &str, resource: &str) -> String {
        let answer: Value = reqwest::Client::new()
            .post(format!("{}/token", self.issuer))
            .basic_auth(client, Some(SERVICE_SECRET))
            .form(&[
                ("grant_type", "client_credentials"),
                ("scope", "api"),
                ("resource", resource),
            ])
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        answer["access_token"]
            .as_str()
            .unwrap_or_else(|| panic!("no access token: {answer}"))
            .to_owned()
    }

    /// A service's access token for the API.
    pub async fn service_token(&self, client: &str) -> String {
        self.service_token_for(client, API_AUDIENCE).await
    }
}

/// A whole console sign-in through the server's routes: start, the provider's login
/// page, the callback. Answers the callback URL the provider sent the browser to, and
/// where the server then sent it (the console, with the token or an error in the
/// fragment).
pub async fn console_sign_in(base: &str, user: &str, password: &str) -> (String, u16, String) {
    let mut browser = Browser::default();
    let (status, to_provider, body) = browser
        .get(&format!(
            "{base}/api/v1/auth/oidc/start?tenant=acme&return_to=/ui/apps"
        ))
        .await;
    assert_eq!(status, 303, "{body}");
    let back = browser
        .sign_in_at_provider(&to_provider.unwrap(), user, password)
        .await
        .unwrap();
    assert!(back.starts_with(base), "{back}");
    let (status, to_console, _) = browser.get(&back).await;
    (back, status, to_console.unwrap_or_default())
}

/// `GET /api/v1/me` with the session the console was handed at `location`.
pub async fn me_of(app: &super::app::TestApp, location: &str) -> (axum::http::StatusCode, Value) {
    let token = fragment_token(location);
    app.call("GET", "/api/v1/me", Some(&token), None).await
}

pub fn fragment_token(location: &str) -> String {
    location
        .split_once("#token=")
        .unwrap_or_else(|| panic!("no token in {location}"))
        .1
        .to_owned()
}
