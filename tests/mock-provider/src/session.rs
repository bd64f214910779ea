//! Per-session state (script, step cursors, tally) and the registry of sessions.
//!
//! Each session has its own short mutex, so parallel tests on one mock never contend.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, RwLock};

use crate::counters::{Counters, RecordedRequest, Tally};
use crate::script::{CompiledScript, Script, Step};
use crate::usage::UsageBody;

/// A session's script and everything it has seen.
#[derive(Debug)]
pub(crate) struct SessionState {
    inner: Mutex<Inner>,
}

#[derive(Debug)]
struct Inner {
    script: Arc<CompiledScript>,
    /// Per requested model: (step index, calls served by that step).
    cursors: HashMap<String, (usize, u64)>,
    tally: Tally,
    /// Usage batches SDKs shipped to this session.
    usage: Vec<UsageBody>,
}

impl SessionState {
    pub(crate) fn new(script: Script) -> SessionState {
        SessionState {
            inner: Mutex::new(Inner {
                script: Arc::new(CompiledScript::new(script)),
                cursors: HashMap::new(),
                tally: Tally::default(),
                usage: Vec::new(),
            }),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panic elsewhere must not wedge every later test on this session.
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Count and record the call, then pick its step if `check` lets it reach the script.
    ///
    /// `check` runs under the lock against the script in force: `Err` rejects the call
    /// (auth, missing headers) without consuming a step, `Ok(false)` admits it without
    /// consuming one (per-request override), `Ok(true)` consumes the model's next step.
    pub(crate) fn admit<R>(
        &self,
        model: Option<&str>,
        request: RecordedRequest,
        check: impl FnOnce(&CompiledScript) -> Result<bool, R>,
    ) -> (Arc<CompiledScript>, Result<Option<Arc<Step>>, R>) {
        let mut inner = self.lock();
        inner.tally.record(model, request);
        let script = Arc::clone(&inner.script);
        let decision = check(&script).map(|consume| match model {
            Some(model) if consume => script
                .steps_for(model)
                .map(|steps| advance(&mut inner.cursors, model, steps)),
            _ => None,
        });
        (script, decision)
    }

    /// Count and record a call that matched no endpoint.
    pub(crate) fn record(&self, request: RecordedRequest) {
        self.lock().tally.record(None, request);
    }

    pub(crate) fn counters(&self) -> Counters {
        self.lock().tally.counters()
    }

    pub(crate) fn requests(&self) -> Vec<RecordedRequest> {
        self.lock().tally.requests()
    }

    /// Forget counters, requests, usage and step positions; keep the script.
    pub(crate) fn reset(&self) {
        let mut inner = self.lock();
        inner.cursors.clear();
        inner.tally = Tally::default();
        inner.usage.clear();
    }

    pub(crate) fn record_usage(&self, body: UsageBody) {
        self.lock().usage.push(body);
    }

    pub(crate) fn usage(&self) -> Vec<UsageBody> {
        self.lock().usage.clone()
    }

    /// Install a new script and start it from its first steps.
    pub(crate) fn set_script(&self, script: Script) {
        let compiled = Arc::new(CompiledScript::new(script));
        let mut inner = self.lock();
        inner.script = compiled;
        inner.cursors.clear();
        inner.tally = Tally::default();
        inner.usage.clear();
    }
}

/// Take the current step for `model` and move its cursor; the last step repeats.
fn advance(
    cursors: &mut HashMap<String, (usize, u64)>,
    model: &str,
    steps: &[Arc<Step>],
) -> Arc<Step> {
    let cursor = match cursors.get_mut(model) {
        Some(c) => c,
        None => cursors.entry(model.to_owned()).or_insert((0, 0)),
    };
    let last = steps.len() - 1;
    let index = cursor.0.min(last);
    let step = Arc::clone(&steps[index]);
    cursor.1 += 1;
    if index < last && cursor.1 >= step.times.unwrap_or(1) {
        *cursor = (index + 1, 0);
    }
    step
}

/// All sessions of one mock server: the default one plus named ones.
#[derive(Debug)]
pub(crate) struct Registry {
    pub(crate) default: Arc<SessionState>,
    named: RwLock<HashMap<String, Arc<SessionState>>>,
    next: AtomicU64,
}

impl Registry {
    pub(crate) fn new(default_script: Script) -> Registry {
        Registry {
            default: Arc::new(SessionState::new(default_script)),
            named: RwLock::new(HashMap::new()),
            next: AtomicU64::new(1),
        }
    }

    /// Create a session; ids are unique per server and hard to guess across runs.
    pub(crate) fn create(&self, script: Script) -> (String, Arc<SessionState>) {
        let n = self.next.fetch_add(1, Ordering::Relaxed);
        let id = format!("s{n}-{:08x}", rand::random::<u32>());
        let state = Arc::new(SessionState::new(script));
        self.named
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(id.clone(), Arc::clone(&state));
        (id, state)
    }

    pub(crate) fn get(&self, id: &str) -> Option<Arc<SessionState>> {
        self.named
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(id)
            .cloned()
    }

    pub(crate) fn remove(&self, id: &str) -> bool {
        self.named
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(id)
            .is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steps_advance_by_times_and_the_last_repeats() {
        let s = Script::from_yaml(
            "models: { m: [ { times: 2, status: 429 }, { status: 500 }, { content: ok } ] }",
        )
        .unwrap();
        let state = SessionState::new(s);
        let req = || RecordedRequest {
            method: "POST".into(),
            path: "/p".into(),
            query: None,
            headers: Default::default(),
            body: serde_json::Value::Null,
        };
        let statuses: Vec<u16> = (0..6)
            .map(|_| {
                let (_, step) = state.admit(Some("m"), req(), |_| Ok::<_, ()>(true));
                step.unwrap().unwrap().status()
            })
            .collect();
        assert_eq!(statuses, [429, 429, 500, 200, 200, 200]);
        assert_eq!(state.counters().total, 6);
    }
}
