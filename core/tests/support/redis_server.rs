//! A throwaway `redis-server` on 127.0.0.1 for the shared-tier tests and bench: a free
//! port, an empty directory, no persistence; killed on drop. Without `redis-server` on
//! the PATH, [`RedisServer::start`] says so loudly and returns `None` (the test skips);
//! `make test` always has it (the Makefile's APT_PACKAGES).

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use switchyard::config::{RedisConfig, Secret, SharedCacheConfig};
use switchyard::shared::{Redis, RedisCache};

pub struct RedisServer {
    child: Option<Child>,
    port: u16,
    dir: PathBuf,
}

impl RedisServer {
    pub fn start() -> Option<RedisServer> {
        if Command::new("redis-server")
            .arg("--version")
            .stdout(Stdio::null())
            .status()
            .is_err()
        {
            eprintln!(
                "\n*** SKIPPED: redis-server is not installed (apt-get install redis-server); \
                 the shared-tier tests did not run ***\n"
            );
            return None;
        }
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let dir =
            std::env::temp_dir().join(format!("switchyard-redis-{}-{port}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let mut server = RedisServer {
            child: None,
            port,
            dir,
        };
        server.spawn();
        Some(server)
    }

    fn spawn(&mut self) {
        let child = Command::new("redis-server")
            .args(["--port", &self.port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .arg("--dir")
            .arg(&self.dir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        self.child = Some(child);
        let until = Instant::now() + Duration::from_secs(10);
        while TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(Instant::now() < until, "redis-server did not start");
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/0", self.port)
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// A cache tier on this server, as `cache.shared` would build it.
    pub fn cache_tier(
        &self,
        timeout_ms: u64,
        max_entry_bytes: u64,
        coalesce_wait_ms: u64,
    ) -> RedisCache {
        let redis = Redis::from_config(&RedisConfig {
            url: Secret::new(self.url()),
            key_prefix: "test:".into(),
            timeout_ms,
        })
        .unwrap()
        .unwrap();
        RedisCache::new(
            Arc::new(redis),
            &SharedCacheConfig {
                max_entry_bytes,
                coalesce_wait_ms,
            },
        )
    }

    /// Kills the server (Redis down); [`RedisServer::restart`] brings it back on the same port.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            child.kill().ok();
            child.wait().ok();
        }
    }

    pub fn restart(&mut self) {
        self.kill();
        self.spawn();
    }

    /// Freezes the server (SIGSTOP: connections stay open, nothing answers) or thaws it.
    pub fn freeze(&self, frozen: bool) {
        let pid = self.child.as_ref().unwrap().id().to_string();
        let signal = if frozen { "-STOP" } else { "-CONT" };
        Command::new("kill").args([signal, &pid]).status().unwrap();
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        if let Some(child) = &self.child {
            Command::new("kill")
                .args(["-CONT", &child.id().to_string()])
                .status()
                .ok();
        }
        self.kill();
        std::fs::remove_dir_all(&self.dir).ok();
    }
}
