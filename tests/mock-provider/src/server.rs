//! The listener and connection tasks, and the in-process `MockServer`/`Session` handles.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;

use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::net::{TcpListener, TcpStream};
use tokio_util::sync::CancellationToken;

use crate::counters::{Counters, RecordedRequest};
use crate::faults::ConnCtl;
use crate::router::{self, App};
use crate::script::{Script, Step};
use crate::session::{Registry, SessionState};
use crate::usage::UsageBody;

/// A running mock; it stops (and drops every open connection) when dropped.
#[derive(Debug)]
pub struct MockServer {
    addr: SocketAddr,
    app: Arc<App>,
    shutdown: CancellationToken,
}

/// An isolated script/counter space on a `MockServer`, reached under `/s/{id}`.
#[derive(Debug, Clone)]
pub struct Session {
    id: String,
    url: String,
    state: Arc<SessionState>,
}

impl MockServer {
    /// Start on `127.0.0.1:0` with an empty default script.
    pub async fn start() -> std::io::Result<MockServer> {
        MockServer::start_with(Script::default()).await
    }

    /// Start on `127.0.0.1:0` with `script` as the default session's script.
    pub async fn start_with(script: Script) -> std::io::Result<MockServer> {
        MockServer::bind(SocketAddr::from(([127, 0, 0, 1], 0)), script).await
    }

    /// Start on `127.0.0.1:0` on a thread of its own with a one-worker runtime, so that a
    /// load run's client does not share its workers with the mock. The thread ends when the
    /// server is shut down (or this handle dropped).
    pub fn start_on_own_thread(script: Script) -> std::io::Result<MockServer> {
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::Builder::new()
            .name("switchyard-mock".into())
            .spawn(move || {
                let runtime = tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(1)
                    .enable_all()
                    .build();
                let runtime = match runtime {
                    Ok(runtime) => runtime,
                    Err(e) => {
                        let _ = tx.send(Err(e));
                        return;
                    }
                };
                runtime.block_on(async move {
                    let started = MockServer::start_with(script).await;
                    let stopped = started.as_ref().ok().map(|m| m.shutdown.clone());
                    if tx.send(started).is_ok() {
                        if let Some(stopped) = stopped {
                            stopped.cancelled().await;
                        }
                    }
                });
            })?;
        rx.recv()
            .map_err(|_| std::io::Error::other("the mock's thread ended before it started"))?
    }

    /// Start on `addr`, which must be a loopback address: the mock has no auth of its own.
    pub async fn bind(addr: SocketAddr, script: Script) -> std::io::Result<MockServer> {
        if !addr.ip().is_loopback() {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                format!("refusing to bind non-loopback address {addr}"),
            ));
        }
        let listener = TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        let app = Arc::new(App {
            registry: Registry::new(script),
            default_step: Arc::new(Step::default()),
        });
        let shutdown = CancellationToken::new();
        tokio::spawn(accept_loop(listener, Arc::clone(&app), shutdown.clone()));
        tracing::debug!(%addr, "mock provider started");
        Ok(MockServer {
            addr,
            app,
            shutdown,
        })
    }

    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Create a session with its own script, steps and counters.
    pub fn session(&self, script: Script) -> Session {
        let (id, state) = self.app.registry.create(script);
        Session {
            url: format!("{}/s/{id}", self.url()),
            id,
            state,
        }
    }

    /// Replace the default session's script (and reset its steps and counters).
    pub fn set_script(&self, script: Script) {
        self.app.registry.default.set_script(script);
    }

    /// Reset the default session's steps, counters and recorded requests.
    pub fn reset(&self) {
        self.app.registry.default.reset();
    }

    /// The default session's counters.
    pub fn counters(&self) -> Counters {
        self.app.registry.default.counters()
    }

    /// The default session's recorded requests, oldest first.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.app.registry.default.requests()
    }

    /// Stop accepting and close every connection (also done on drop).
    pub fn shutdown(&self) {
        self.shutdown.cancel();
    }
}

impl Drop for MockServer {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

impl Session {
    /// The session id used in `/s/{id}`.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// `http://127.0.0.1:PORT/s/ID`: put a provider's usual path after it.
    pub fn url(&self) -> String {
        self.url.clone()
    }

    /// This session's counters.
    pub fn counters(&self) -> Counters {
        self.state.counters()
    }

    /// This session's recorded requests, oldest first.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.state.requests()
    }

    /// The usage batches SDKs shipped to this session (`POST /s/ID/sdk/v1/usage`).
    pub fn usage(&self) -> Vec<UsageBody> {
        self.state.usage()
    }

    /// Replace this session's script (and reset its steps and counters).
    pub fn set_script(&self, script: Script) {
        self.state.set_script(script);
    }

    /// Reset this session's steps, counters and recorded requests.
    pub fn reset(&self) {
        self.state.reset();
    }
}

async fn accept_loop(listener: TcpListener, app: Arc<App>, shutdown: CancellationToken) {
    loop {
        let accepted = tokio::select! {
            () = shutdown.cancelled() => return,
            r = listener.accept() => r,
        };
        match accepted {
            Ok((stream, _)) => {
                tokio::spawn(serve_connection(stream, Arc::clone(&app), shutdown.clone()));
            }
            Err(e) => {
                // Usually fd exhaustion; back off instead of spinning.
                tracing::warn!(error = %e, "accept failed");
                tokio::time::sleep(std::time::Duration::from_millis(10)).await;
            }
        }
    }
}

/// A second handle on the socket so a `reset` fault can set SO_LINGER 0 after hyper
/// has taken ownership of the stream; closing with linger 0 sends an RST.
#[cfg(unix)]
fn linger_handle(stream: &TcpStream) -> Option<socket2::Socket> {
    use std::os::fd::AsFd;
    stream
        .as_fd()
        .try_clone_to_owned()
        .ok()
        .map(socket2::Socket::from)
}

#[cfg(not(unix))]
fn linger_handle(_stream: &TcpStream) -> Option<socket2::Socket> {
    None
}

async fn serve_connection(stream: TcpStream, app: Arc<App>, shutdown: CancellationToken) {
    if let Err(e) = stream.set_nodelay(true) {
        tracing::debug!(error = %e, "set_nodelay failed");
    }
    let handle = linger_handle(&stream);
    let ctl = Arc::new(ConnCtl::default());
    let service = {
        let ctl = Arc::clone(&ctl);
        service_fn(move |req| {
            let app = Arc::clone(&app);
            let ctl = Arc::clone(&ctl);
            async move { Ok::<_, Infallible>(router::handle(&app, req, &ctl).await) }
        })
    };
    let conn = http1::Builder::new()
        .keep_alive(true)
        .serve_connection(TokioIo::new(stream), service);
    tokio::select! {
        r = conn => {
            if let Err(e) = r {
                tracing::debug!(error = %e, "connection ended with an error");
            }
        }
        () = ctl.reset_requested() => {
            if let Some(h) = &handle {
                if let Err(e) = h.set_linger(Some(std::time::Duration::ZERO)) {
                    tracing::warn!(error = %e, "could not set SO_LINGER for reset fault");
                }
            }
        }
        () = shutdown.cancelled() => {}
    }
    // `conn` (and its fd) is gone; dropping `handle` now performs the final close.
    drop(handle);
}
