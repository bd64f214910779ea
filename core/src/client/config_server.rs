//! The config from the management server: `GET /sdk/v1/config` with the app's key, then a
//! long-poll the server answers as soon as a new version is activated, so a rollout
//! reaches every SDK in about a round trip without anyone polling hard.
//!
//! The SDK keeps working when the server is down: a running client keeps its config and
//! retries with backoff; a starting one falls back to the last config it wrote to its
//! cache file, if it was given one.

use std::path::PathBuf;
use std::sync::Weak;
use std::time::Duration;

use reqwest::StatusCode;
use reqwest::header::{AUTHORIZATION, ETAG, IF_NONE_MATCH};
use serde::{Deserialize, Serialize};
use tokio::sync::oneshot;

use super::config_cache::{self, Opened};
use crate::config::{Config, ConfigError, Secret};
use crate::error::{Error, ErrorKind, Result};
use crate::files::write_private;
use crate::pipeline::Engine;
use crate::providers::http::{server_client, transport_error};
use crate::retry::reconnect_backoff;
use crate::sdk_protocol::{CONFIG_PATH, CONFIG_VERSION_HEADER, ConfigQuery, MAX_WAIT};

/// Where to fetch the config, and how. Built with [`ConfigServer::new`].
#[derive(Clone, Debug)]
pub struct ConfigServer {
    url: String,
    api_key: Secret,
    wait: Duration,
    start_timeout: Duration,
    cache_file: Option<PathBuf>,
}

impl ConfigServer {
    /// The server's base URL (`http://host:port`) and an app key (`sy_…`, or `${VAR}`).
    pub fn new(url: impl Into<String>, api_key: impl Into<String>) -> ConfigServer {
        ConfigServer {
            url: url.into().trim_end_matches('/').to_owned(),
            api_key: Secret::new(api_key),
            wait: Duration::from_secs(30),
            start_timeout: Duration::from_secs(10),
            cache_file: None,
        }
    }

    /// How long each long-poll is held open (1 to 60 s; default 30 s).
    pub fn long_poll(mut self, wait: Duration) -> ConfigServer {
        self.wait = wait.clamp(Duration::from_secs(1), MAX_WAIT);
        self
    }

    /// How long building the client waits for the first config (default 10 s).
    pub fn start_timeout(mut self, timeout: Duration) -> ConfigServer {
        self.start_timeout = timeout;
        self
    }

    /// Keep the last config received in `path` (written atomically, owner-only, sealed
    /// with a key derived from the app key), and start from it when the server cannot be
    /// reached. It holds whatever provider keys the server sends this app, encrypted.
    pub fn cache_file(mut self, path: impl Into<PathBuf>) -> ConfigServer {
        self.cache_file = Some(path.into());
        self
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    /// The app key, which usage events are shipped with too.
    pub(crate) fn api_key(&self) -> &Secret {
        &self.api_key
    }
}

/// A config as received, with the ETag to send back and the version it came from.
#[derive(Serialize, Deserialize)]
struct Received {
    etag: String,
    version: Option<u64>,
    config: serde_json::Value,
}

/// The first config, fetched before the client exists: from the server, else from the
/// cache file. Runs on a thread of its own, so building a client inside an async runtime
/// works; the caller waits at most the start timeout.
pub(crate) fn first_config(server: &ConfigServer) -> Result<(Config, Option<String>)> {
    let fetched = std::thread::scope(|scope| {
        scope
            .spawn(|| {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .map_err(|e| Error::new(ErrorKind::Unavailable, e.to_string()))?;
                let http = server_client()?;
                runtime.block_on(fetch(&http, server, None, Duration::ZERO))
            })
            .join()
            .unwrap_or_else(|_| {
                Err(Error::new(
                    ErrorKind::Unavailable,
                    "the config fetch panicked",
                ))
            })
    });
    let error = match fetched {
        Ok(Some(received)) => {
            let config = parse(&received)?;
            store(server, &received);
            tracing::info!(server = %server.url, version = ?received.version, "config fetched from the server");
            return Ok((config, Some(received.etag)));
        }
        Ok(None) => Error::new(
            ErrorKind::Upstream { status: 304 },
            "the server answered 304 to a request without an ETag",
        ),
        Err(error) => error,
    };
    match load(server) {
        Some((config, etag)) => {
            tracing::warn!(server = %server.url, %error, "the server is unreachable; starting from the cached config");
            Ok((config, Some(etag)))
        }
        None => Err(error),
    }
}

/// Long-polls the server until dropped, swapping in each newly activated config.
pub(crate) struct ConfigPoller {
    _stop: oneshot::Sender<()>,
}

impl ConfigPoller {
    pub fn spawn(server: ConfigServer, etag: Option<String>, client: Weak<Engine>) -> ConfigPoller {
        let (stop, stopped) = oneshot::channel();
        crate::process::run_on_own_thread(
            "switchyard-config-poll",
            poll(server, etag, client, stopped),
        );
        ConfigPoller { _stop: stop }
    }
}

async fn poll(
    server: ConfigServer,
    mut etag: Option<String>,
    client: Weak<Engine>,
    mut stopped: oneshot::Receiver<()>,
) {
    let http = match server_client() {
        Ok(http) => http,
        Err(error) => {
            tracing::error!(%error, "cannot start the config poller");
            return;
        }
    };
    let mut failures: u32 = 0;
    loop {
        let outcome = tokio::select! {
            _ = &mut stopped => return,
            outcome = fetch(&http, &server, etag.as_deref(), server.wait) => outcome,
        };
        let Some(inner) = client.upgrade() else {
            return;
        };
        let error = match outcome {
            Ok(Some(received)) => {
                failures = 0;
                // The ETag moves on even when the config is refused, so the next poll
                // waits for a newer version instead of fetching the same one again.
                etag = Some(received.etag.clone());
                match parse(&received).and_then(|config| inner.reload(config)) {
                    Ok(()) => {
                        store(&server, &received);
                        tracing::info!(server = %server.url, version = ?received.version, "config from the server applied");
                    }
                    Err(error) => {
                        tracing::error!(server = %server.url, version = ?received.version, %error, "config from the server rejected; keeping the running one")
                    }
                }
                continue;
            }
            Ok(None) => {
                failures = 0;
                continue;
            }
            Err(error) => error,
        };
        drop(inner);
        failures = failures.saturating_add(1);
        let delay = reconnect_backoff(failures);
        tracing::warn!(server = %server.url, %error, retry_in = ?delay, "cannot reach the config server; keeping the running config");
        tokio::select! {
            _ = &mut stopped => return,
            () = tokio::time::sleep(delay) => {}
        }
    }
}

/// One request: `Some` for a new config, `None` when the one we have (`etag`) is current.
async fn fetch(
    http: &reqwest::Client,
    server: &ConfigServer,
    etag: Option<&str>,
    wait: Duration,
) -> Result<Option<Received>> {
    let key = server.api_key.resolve().ok_or_else(|| {
        Error::new(
            ErrorKind::Auth,
            format!(
                "no API key for the config server: {} is unset",
                server.api_key.masked()
            ),
        )
    })?;
    let mut request = http
        .get(format!("{}{CONFIG_PATH}", server.url))
        .query(&ConfigQuery::long_poll(wait))
        .header(AUTHORIZATION, format!("Bearer {key}"))
        .timeout(wait + server.start_timeout);
    if let Some(etag) = etag {
        request = request.header(IF_NONE_MATCH, etag);
    }
    let response = request.send().await.map_err(transport_error)?;
    let status = response.status();
    let header = |name: &str| {
        response
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    let received_etag = header(ETAG.as_str());
    let version = header(CONFIG_VERSION_HEADER).and_then(|v| v.parse().ok());
    if status == StatusCode::NOT_MODIFIED {
        return Ok(None);
    }
    let body = response.bytes().await.map_err(transport_error)?;
    if !status.is_success() {
        return Err(server_error(status, &body));
    }
    let config = serde_json::from_slice(&body).map_err(|e| {
        Error::new(
            ErrorKind::Upstream {
                status: status.as_u16(),
            },
            format!("the config server sent a body that is not JSON: {e}"),
        )
    })?;
    Ok(Some(Received {
        etag: received_etag.unwrap_or_default(),
        version,
        config,
    }))
}

/// The server's error body is `{code, message, field}`; its message is kept.
fn server_error(status: StatusCode, body: &[u8]) -> Error {
    let message = serde_json::from_slice::<serde_json::Value>(body)
        .ok()
        .and_then(|v| v.get("message").and_then(|m| m.as_str()).map(str::to_owned))
        .unwrap_or_else(|| String::from_utf8_lossy(body).chars().take(200).collect());
    let kind = match status {
        StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => ErrorKind::Auth,
        StatusCode::NOT_FOUND => ErrorKind::Unavailable,
        StatusCode::TOO_MANY_REQUESTS => ErrorKind::RateLimited { retry_after: None },
        status => ErrorKind::Upstream {
            status: status.as_u16(),
        },
    };
    let detail = if status == StatusCode::NOT_FOUND {
        "the tenant has no active config version".to_owned()
    } else {
        message
    };
    Error::new(kind, format!("config server {status}: {detail}"))
}

fn parse(received: &Received) -> Result<Config> {
    Config::from_json_value(received.config.clone()).map_err(Error::from)
}

/// Writes the cache file, sealed under the app key (`config_cache`), beside itself and
/// renames it in, so a reader never sees half.
fn store(server: &ConfigServer, received: &Received) {
    let Some(path) = &server.cache_file else {
        return;
    };
    let Some(app_key) = server.api_key.resolve() else {
        return;
    };
    let written = serde_json::to_vec(received)
        .map_err(std::io::Error::other)
        .and_then(|bytes| config_cache::seal(&app_key, &bytes).map_err(std::io::Error::other))
        .and_then(|sealed| write_private(path, &sealed));
    if let Err(error) = written {
        tracing::warn!(path = %path.display(), %error, "cannot write the config cache file");
    }
}

/// The cached config, if the file opens with this app key and holds a valid config. A
/// plain-text file from an older version is used once and rewritten sealed.
fn load(server: &ConfigServer) -> Option<(Config, String)> {
    let path = server.cache_file.as_ref()?;
    let bytes = std::fs::read(path).ok()?;
    let app_key = server.api_key.resolve()?;
    let (plain, legacy) = match config_cache::open(&app_key, &bytes) {
        Ok(Opened::Sealed(plain)) => (plain, false),
        Ok(Opened::Plain(plain)) => (plain, true),
        Err(error) => {
            tracing::warn!(path = %path.display(), %error, "the config cache file is ignored");
            return None;
        }
    };
    let read = serde_json::from_slice::<Received>(&plain)
        .map_err(|e| ConfigError::single("", format!("{}: {e}", path.display())).into())
        .and_then(|received| {
            let config = parse(&received)?;
            if legacy {
                store(server, &received);
                tracing::info!(path = %path.display(), "the plain-text config cache file was rewritten sealed");
            }
            Ok((config, received.etag))
        });
    match read {
        Ok(found) => Some(found),
        Err(error) => {
            let error: Error = error;
            tracing::warn!(path = %path.display(), %error, "the config cache file is unusable");
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PROVIDER_KEY: &str = "sk-live-0123456789abcdef";

    fn received() -> Received {
        Received {
            etag: "\"v7\"".into(),
            version: Some(7),
            config: serde_json::json!({
                "version": 1,
                "providers": {"openai": {"kind": "openai", "api_key": PROVIDER_KEY}},
                "models": {"chat": {"deployments": [{"provider": "openai", "model": "gpt-4o-mini"}]}}
            }),
        }
    }

    fn server(path: &std::path::Path, app_key: &str) -> ConfigServer {
        ConfigServer::new("http://127.0.0.1:9", app_key).cache_file(path)
    }

    fn temp_file() -> PathBuf {
        let nonce: u64 = rand::random();
        std::env::temp_dir().join(format!("sy-config-cache-{nonce:x}.json"))
    }

    fn contains(haystack: &[u8], needle: &[u8]) -> bool {
        haystack.windows(needle.len()).any(|w| w == needle)
    }

    #[test]
    fn the_file_holds_no_provider_key_and_reads_back_with_the_app_key() {
        let path = temp_file();
        let ours = server(&path, "sy_app_one");
        store(&ours, &received());
        let on_disk = std::fs::read(&path).unwrap();
        assert!(!contains(&on_disk, PROVIDER_KEY.as_bytes()));
        assert!(!contains(&on_disk, b"gpt-4o-mini"));
        let (config, etag) = load(&ours).expect("round trip");
        assert_eq!(etag, "\"v7\"");
        assert!(config.models.contains_key("chat"));
        // Another app key cannot read it: the file is ignored, not misread.
        assert!(load(&server(&path, "sy_app_two")).is_none());
        let _ = std::fs::remove_file(&path);
    }

    #[test]
    fn a_plain_file_from_an_older_version_is_read_once_and_rewritten_sealed() {
        let path = temp_file();
        let plain = serde_json::to_vec(&received()).unwrap();
        assert!(contains(&plain, PROVIDER_KEY.as_bytes()));
        std::fs::write(&path, &plain).unwrap();
        let ours = server(&path, "sy_app_one");
        let (config, _) = load(&ours).expect("the older file is still used");
        assert!(config.models.contains_key("chat"));
        let on_disk = std::fs::read(&path).unwrap();
        assert!(
            !contains(&on_disk, PROVIDER_KEY.as_bytes()),
            "rewritten sealed"
        );
        assert!(load(&ours).is_some());
        let _ = std::fs::remove_file(&path);
    }
}
