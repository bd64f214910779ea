//! A stand-in for the server's lease endpoint: grants slices of its budgets (never more
//! than what is left minus what other live leases hold), fair shares of its rate limits,
//! records every request and return, and can be scripted (410, 503) or stopped and
//! started again on the same port.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use switchyard::sdk_protocol::{
    BudgetSlice, LEASE_RETURN_PATH, LEASES_PATH, LeaseGrant, LeaseRequest, LeaseReturn, LimitSlice,
    ServerDownPolicy, SliceScope, USAGE_PATH, UsageAck,
};

/// A budget the server leases.
#[derive(Debug, Clone)]
pub struct Budget {
    pub id: String,
    pub hard: bool,
    pub limit_usd: f64,
    pub on_server_down: ServerDownPolicy,
    pub model: Option<String>,
    pub reroute_to: Option<String>,
}

impl Budget {
    pub fn hard(id: &str, limit_usd: f64) -> Budget {
        Budget {
            id: id.into(),
            hard: true,
            limit_usd,
            on_server_down: ServerDownPolicy::Deny,
            model: None,
            reroute_to: None,
        }
    }
}

/// A rate limit, split evenly over `instances` shares.
#[derive(Debug, Clone)]
pub struct Limit {
    pub id: String,
    pub rpm: u64,
    pub instances: u64,
    pub on_server_down: ServerDownPolicy,
}

#[derive(Debug, Clone)]
pub struct Policy {
    pub budgets: Vec<Budget>,
    pub limits: Vec<Limit>,
    pub ttl_ms: u64,
    pub refresh_ms: u64,
    /// What a slice without a `want` gets.
    pub default_slice_usd: f64,
}

#[derive(Debug, Default)]
struct Lease {
    granted: HashMap<String, f64>,
    used: HashMap<String, f64>,
    expires_at_ms: u64,
    returned: bool,
}

/// One request as received, with its answer.
#[derive(Debug, Clone)]
pub struct Received {
    pub at: Instant,
    pub request: LeaseRequest,
    pub status: u16,
    pub grant: Option<LeaseGrant>,
}

struct Shared {
    policy: Mutex<Policy>,
    leases: Mutex<HashMap<String, Lease>>,
    received: Mutex<Vec<Received>>,
    returns: Mutex<Vec<(String, LeaseReturn)>>,
    script: Mutex<VecDeque<u16>>,
    next: Mutex<u64>,
}

pub struct LeaseServer {
    pub addr: SocketAddr,
    shared: Arc<Shared>,
    runtime: Option<tokio::runtime::Runtime>,
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64
}

impl LeaseServer {
    pub fn start(policy: Policy) -> LeaseServer {
        let mut server = LeaseServer {
            addr: "127.0.0.1:0".parse().unwrap(),
            shared: Arc::new(Shared {
                policy: Mutex::new(policy),
                leases: Mutex::new(HashMap::new()),
                received: Mutex::new(Vec::new()),
                returns: Mutex::new(Vec::new()),
                script: Mutex::new(VecDeque::new()),
                next: Mutex::new(0),
            }),
            runtime: None,
        };
        server.up();
        server
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Starts listening (again) on its port.
    pub fn up(&mut self) {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let listener = std::net::TcpListener::bind(self.addr).unwrap();
        listener.set_nonblocking(true).unwrap();
        let _entered = runtime.enter();
        let listener = tokio::net::TcpListener::from_std(listener).unwrap();
        self.addr = listener.local_addr().unwrap();
        let app = Router::new()
            .route(LEASES_PATH, post(lease))
            .route(LEASE_RETURN_PATH, post(give_back))
            .route(USAGE_PATH, post(|| async { Json(UsageAck::default()) }))
            .with_state(self.shared.clone());
        runtime.spawn(async move { axum::serve(listener, app).await });
        drop(_entered);
        self.runtime = Some(runtime);
    }

    /// Stops listening and drops every open connection: the server is down.
    pub fn stop(&mut self) {
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }

    /// The next lease requests get these statuses, in order; then grants again.
    pub fn script(&self, statuses: impl IntoIterator<Item = u16>) {
        self.shared.script.lock().unwrap().extend(statuses);
    }

    pub fn set_policy(&self, f: impl FnOnce(&mut Policy)) {
        f(&mut self.shared.policy.lock().unwrap());
    }

    pub fn received(&self) -> Vec<Received> {
        self.shared.received.lock().unwrap().clone()
    }

    pub fn returns(&self) -> Vec<(String, LeaseReturn)> {
        self.shared.returns.lock().unwrap().clone()
    }

    /// Every lease's last reported use of `budget`, summed.
    pub fn used(&self, budget: &str) -> f64 {
        self.shared
            .leases
            .lock()
            .unwrap()
            .values()
            .map(|l| l.used.get(budget).copied().unwrap_or(0.0))
            .sum()
    }

    pub async fn wait_for(
        &self,
        limit: std::time::Duration,
        done: impl Fn(&LeaseServer) -> bool,
    ) -> bool {
        let started = Instant::now();
        while started.elapsed() < limit {
            if done(self) {
                return true;
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        done(self)
    }
}

impl Drop for LeaseServer {
    fn drop(&mut self) {
        self.stop();
    }
}

async fn lease(State(shared): State<Arc<Shared>>, Json(request): Json<LeaseRequest>) -> Response {
    let scripted = shared.script.lock().unwrap().pop_front();
    let (status, grant) = match scripted {
        Some(status) => (status, None),
        None => answer(&shared, &request),
    };
    shared.received.lock().unwrap().push(Received {
        at: Instant::now(),
        request,
        status,
        grant: grant.clone(),
    });
    match grant {
        Some(grant) => Json(grant).into_response(),
        None => StatusCode::from_u16(status).unwrap().into_response(),
    }
}

fn answer(shared: &Shared, request: &LeaseRequest) -> (u16, Option<LeaseGrant>) {
    let policy = shared.policy.lock().unwrap().clone();
    let mut leases = shared.leases.lock().unwrap();
    let now = now_ms();
    let id = match &request.lease {
        Some(id) => match leases.get(id) {
            None => return (404, None),
            Some(l) if l.returned || l.expires_at_ms <= now => return (410, None),
            Some(_) => id.clone(),
        },
        None => {
            let mut next = shared.next.lock().unwrap();
            *next += 1;
            let id = format!("lease-{next}");
            leases.insert(id.clone(), Lease::default());
            id
        }
    };
    for u in &request.used {
        leases
            .get_mut(&id)
            .unwrap()
            .used
            .insert(u.id.clone(), u.amount);
    }
    let mut budgets = Vec::new();
    for b in &policy.budgets {
        // What other leases hold: their grant while live, what they used once ended.
        let others: f64 = leases
            .iter()
            .filter(|(other, _)| **other != id)
            .map(|(_, l)| {
                let used = l.used.get(&b.id).copied().unwrap_or(0.0);
                if l.returned || l.expires_at_ms <= now {
                    used
                } else {
                    used.max(l.granted.get(&b.id).copied().unwrap_or(0.0))
                }
            })
            .sum();
        let mine = leases.get_mut(&id).unwrap();
        let used = mine.used.get(&b.id).copied().unwrap_or(0.0);
        let ask = request
            .want
            .iter()
            .find(|w| w.id == b.id)
            .map_or(policy.default_slice_usd, |w| w.amount);
        let available = (b.limit_usd - others - used).max(0.0);
        let before = mine.granted.get(&b.id).copied().unwrap_or(0.0);
        let granted = (used + ask.min(available)).max(before);
        mine.granted.insert(b.id.clone(), granted);
        budgets.push(BudgetSlice {
            id: b.id.clone(),
            name: b.id.clone(),
            scope: if b.model.is_some() {
                SliceScope::Model
            } else {
                SliceScope::App
            },
            model: b.model.clone(),
            hard: b.hard,
            reroute_to: b.reroute_to.clone(),
            on_server_down: b.on_server_down,
            granted_usd: granted,
            limit_usd: b.limit_usd,
            spent_usd: others + used,
            period_start: 0,
            period_end: i64::MAX,
        });
    }
    let limits = policy
        .limits
        .iter()
        .map(|l| LimitSlice {
            id: l.id.clone(),
            name: l.id.clone(),
            scope: SliceScope::App,
            model: None,
            rpm: Some(l.rpm / l.instances.max(1)),
            tpm: None,
            on_server_down: l.on_server_down,
        })
        .collect();
    let mine = leases.get_mut(&id).unwrap();
    mine.expires_at_ms = now + policy.ttl_ms;
    (
        200,
        Some(LeaseGrant {
            lease: id,
            expires_at_ms: mine.expires_at_ms,
            refresh_in_ms: policy.refresh_ms,
            budgets,
            limits,
        }),
    )
}

async fn give_back(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    Json(body): Json<LeaseReturn>,
) -> StatusCode {
    let mut leases = shared.leases.lock().unwrap();
    let Some(lease) = leases.get_mut(&id) else {
        return StatusCode::NOT_FOUND;
    };
    lease.returned = true;
    for u in &body.used {
        lease.used.insert(u.id.clone(), u.amount);
    }
    shared.returns.lock().unwrap().push((id, body));
    StatusCode::NO_CONTENT
}
