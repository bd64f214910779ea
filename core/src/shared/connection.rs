//! The one connection to Redis a client shares between its cache tier and its limits: a
//! timeout on every operation, a short pause after a failure so a dead Redis costs calls
//! nothing, a reconnect on the first use after it, and a warning at most every few seconds.

use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use ::redis::RedisResult;
use ::redis::aio::{ConnectionManager, ConnectionManagerConfig};

use super::stats::{Purpose, SharedTierSnapshot, Stats};
use crate::config::{ConfigError, RedisConfig};
use crate::process::PerProcess;

/// After a failure, Redis is left alone this long: calls use the in-process tier at once
/// rather than each waiting out a timeout.
const PAUSE_AFTER_FAILURE: Duration = Duration::from_secs(1);

/// What opens each certificate in a PEM file.
const PEM_CERTIFICATE: &[u8] = b"-----BEGIN CERTIFICATE-----";

/// At most one warning per this interval; the ones in between are counted in the next.
const WARN_EVERY: Duration = Duration::from_secs(10);

/// A Redis server shared by the processes of a service. Cheap to share behind an `Arc`.
pub struct Redis {
    client: ::redis::Client,
    /// Made on first use in this process (a forked child makes its own).
    connection: PerProcess<ConnectionManager>,
    timeout: Duration,
    prefix: String,
    base: Instant,
    /// Milliseconds since `base` before which Redis is not tried.
    paused_until_ms: AtomicU64,
    /// Milliseconds since `base` of the last warning (0: none yet).
    warned_at_ms: AtomicU64,
    unwarned: AtomicU64,
    pub(crate) stats: Stats,
}

impl std::fmt::Debug for Redis {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Redis")
            .field("timeout", &self.timeout)
            .field("prefix", &self.prefix)
            .finish_non_exhaustive()
    }
}

/// The client for `url`; a `rediss://` one trusts `ca_file`'s CA when given (a private CA),
/// the system's trust store otherwise.
fn client(url: &str, ca_file: Option<&str>) -> Result<::redis::Client, ConfigError> {
    let invalid = |e: ::redis::RedisError| {
        ConfigError::single("redis.url", format!("not a valid Redis URL: {e}"))
    };
    let Some(path) = ca_file else {
        return ::redis::Client::open(url).map_err(invalid);
    };
    let pem = std::fs::read(path)
        .map_err(|e| ConfigError::single("redis.ca_file", format!("cannot read {path}: {e}")))?;
    // The library takes a file with no certificate in it for an empty trust store, and
    // every connection would fail later with a vaguer error.
    if !pem
        .windows(PEM_CERTIFICATE.len())
        .any(|w| w == PEM_CERTIFICATE)
    {
        return Err(ConfigError::single(
            "redis.ca_file",
            format!("{path} holds no PEM certificate"),
        ));
    }
    let certificates = ::redis::TlsCertificates {
        client_tls: None,
        root_cert: Some(pem),
    };
    ::redis::Client::build_with_tls(url, certificates).map_err(|e| {
        ConfigError::single("redis.ca_file", format!("not a usable CA for {path}: {e}"))
    })
}

impl Redis {
    /// The server `config` names; `Ok(None)` when its URL is a `${VAR}` that is unset
    /// (the service then runs without Redis, and says so). Connects on first use.
    pub fn from_config(config: &RedisConfig) -> Result<Option<Redis>, ConfigError> {
        let Some(url) = config.url.resolve() else {
            tracing::warn!(
                url = %config.url.masked(),
                "redis: the URL's variable is unset; running without the shared tier"
            );
            return Ok(None);
        };
        if let Some(problem) = crate::config::redis_url_problem(&url) {
            return Err(ConfigError::single("redis.url", problem));
        }
        let client = client(&url, config.ca_file.as_deref())?;
        Ok(Some(Redis {
            client,
            connection: PerProcess::new(),
            timeout: Duration::from_millis(config.timeout_ms),
            prefix: config.key_prefix.clone(),
            base: Instant::now(),
            paused_until_ms: AtomicU64::new(0),
            warned_at_ms: AtomicU64::new(0),
            unwarned: AtomicU64::new(0),
            stats: Stats::default(),
        }))
    }

    /// `name` under this service's key prefix.
    pub(crate) fn key(&self, name: &str) -> String {
        format!("{}{name}", self.prefix)
    }

    /// What the tier did so far.
    pub fn snapshot(&self) -> SharedTierSnapshot {
        self.stats.snapshot()
    }

    /// Runs `op` on the connection within the timeout. `None` (counted as a fallback for
    /// `purpose`, and warned about) when Redis is paused, fails or is too slow.
    pub(crate) async fn run<T, F, Fut>(&self, purpose: Purpose, op: F) -> Option<T>
    where
        F: FnOnce(ConnectionManager) -> Fut,
        Fut: Future<Output = RedisResult<T>>,
    {
        if self.elapsed_ms() < self.paused_until_ms.load(Ordering::Relaxed) {
            self.stats.fallback(purpose);
            return None;
        }
        let connection = match self.connection.get_or_try_init(|| {
            let config = ConnectionManagerConfig::new()
                .set_connection_timeout(Some(self.timeout))
                .set_response_timeout(Some(self.timeout))
                .set_number_of_retries(1);
            ConnectionManager::new_lazy_with_config(self.client.clone(), config)
        }) {
            Ok(connection) => connection,
            Err(error) => {
                self.failed(purpose, &error.to_string(), true);
                return None;
            }
        };
        match tokio::time::timeout(self.timeout, op(connection)).await {
            Ok(Ok(value)) => Some(value),
            Ok(Err(error)) => {
                let unreachable = error.is_io_error()
                    || error.is_timeout()
                    || error.is_connection_refusal()
                    || error.is_connection_dropped();
                self.failed(purpose, &error.to_string(), unreachable);
                None
            }
            Err(_) => {
                self.failed(purpose, "timed out", true);
                None
            }
        }
    }

    /// Counts and (rate-limited) warns about a failed operation. An unreachable Redis is
    /// paused and its connection dropped: the first use after the pause connects anew.
    fn failed(&self, purpose: Purpose, error: &str, unreachable: bool) {
        self.stats.fallback(purpose);
        let now = self.elapsed_ms();
        if unreachable {
            let pause = u64::try_from(PAUSE_AFTER_FAILURE.as_millis()).unwrap_or(u64::MAX);
            self.paused_until_ms.store(now + pause, Ordering::Relaxed);
            drop(self.connection.take());
        }
        let last = self.warned_at_ms.load(Ordering::Relaxed);
        let every = u64::try_from(WARN_EVERY.as_millis()).unwrap_or(u64::MAX);
        let due = last == 0 || now.saturating_sub(last) >= every;
        if due
            && self
                .warned_at_ms
                .compare_exchange(last, now.max(1), Ordering::Relaxed, Ordering::Relaxed)
                .is_ok()
        {
            let unwarned = self.unwarned.swap(0, Ordering::Relaxed);
            tracing::warn!(
                error,
                tier = purpose.name(),
                failures_since_last_warning = unwarned,
                "redis: an operation failed; going on with the in-process tier"
            );
        } else {
            self.unwarned.fetch_add(1, Ordering::Relaxed);
        }
    }

    fn elapsed_ms(&self) -> u64 {
        u64::try_from(self.base.elapsed().as_millis()).unwrap_or(u64::MAX)
    }
}
