//! A throwaway `redis-server` on 127.0.0.1 for the shared-tier tests and bench: a free
//! port, an empty directory, no persistence; killed on drop. [`RedisServer::start_tls`]
//! serves TLS only, with a certificate from a CA made for it (`openssl`). Without `redis-server` on
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
    tls: bool,
}

impl RedisServer {
    pub fn start() -> Option<RedisServer> {
        Self::start_with(false)
    }

    /// A server that speaks TLS only (`rediss://`); its CA is [`RedisServer::ca_file`].
    pub fn start_tls() -> Option<RedisServer> {
        Self::start_with(true)
    }

    fn start_with(tls: bool) -> Option<RedisServer> {
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
            tls,
        };
        if tls {
            server.make_certificates();
        }
        server.spawn();
        Some(server)
    }

    /// A CA, and a certificate it signs for 127.0.0.1 and localhost, in the server's dir.
    fn make_certificates(&self) {
        let openssl = |args: &[&str]| {
            let status = Command::new("openssl")
                .args(args)
                .current_dir(&self.dir)
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .expect("openssl is installed (the Makefile's APT_PACKAGES)");
            assert!(status.success(), "openssl {args:?} failed");
        };
        openssl(&[
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "2",
            "-keyout",
            "ca.key",
            "-out",
            "ca.pem",
            "-subj",
            "/CN=test-ca",
        ]);
        openssl(&[
            "req",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            "server.key",
            "-out",
            "server.csr",
            "-subj",
            "/CN=localhost",
        ]);
        std::fs::write(
            self.dir.join("san.ext"),
            "subjectAltName=DNS:localhost,IP:127.0.0.1\n",
        )
        .unwrap();
        openssl(&[
            "x509",
            "-req",
            "-in",
            "server.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-out",
            "server.pem",
            "-days",
            "2",
            "-extfile",
            "san.ext",
        ]);
    }

    /// The CA that signed a TLS server's certificate (PEM).
    pub fn ca_file(&self) -> String {
        self.dir.join("ca.pem").display().to_string()
    }

    fn spawn(&mut self) {
        let port = self.port.to_string();
        let listen: Vec<&str> = if self.tls {
            vec![
                "--port",
                "0",
                "--tls-port",
                &port,
                "--tls-cert-file",
                "server.pem",
                "--tls-key-file",
                "server.key",
                "--tls-ca-cert-file",
                "ca.pem",
                "--tls-auth-clients",
                "no",
            ]
        } else {
            vec!["--port", &port]
        };
        let child = Command::new("redis-server")
            .args(listen)
            .args(["--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .arg("--dir")
            .arg(&self.dir)
            .current_dir(&self.dir)
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
        let scheme = if self.tls { "rediss" } else { "redis" };
        format!("{scheme}://127.0.0.1:{}/0", self.port)
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
            ca_file: self.tls.then(|| self.ca_file()),
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
