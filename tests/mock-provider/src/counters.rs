//! What a session saw: call counters and the recorded requests tests assert on.

use std::collections::{BTreeMap, HashMap, VecDeque};

use serde::{Deserialize, Serialize};

/// Oldest requests are dropped past this, so a load run cannot exhaust memory.
pub(crate) const MAX_RECORDED: usize = 10_000;

/// Call counts; failed and faulted calls count too.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counters {
    /// Every provider call.
    pub total: u64,
    /// Calls per upstream model name.
    pub models: BTreeMap<String, u64>,
    /// Calls per path, without the `/s/{session}` prefix.
    pub paths: BTreeMap<String, u64>,
}

/// One received provider call.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RecordedRequest {
    /// HTTP method.
    pub method: String,
    /// Path without the session prefix.
    pub path: String,
    /// Raw query string, if any.
    pub query: Option<String>,
    /// Headers with lowercased names; repeated headers joined with ", ".
    pub headers: BTreeMap<String, String>,
    /// The JSON body (a string when the body was not JSON, null when empty).
    pub body: serde_json::Value,
}

/// Mutable counters and log of one session; lives behind the session's mutex.
#[derive(Debug, Default)]
pub(crate) struct Tally {
    total: u64,
    models: HashMap<String, u64>,
    paths: HashMap<String, u64>,
    requests: VecDeque<RecordedRequest>,
}

impl Tally {
    /// Count and record one call; keys are only allocated the first time they are seen.
    pub(crate) fn record(&mut self, model: Option<&str>, request: RecordedRequest) {
        self.total += 1;
        if let Some(model) = model {
            bump(&mut self.models, model);
        }
        bump(&mut self.paths, &request.path);
        if self.requests.len() >= MAX_RECORDED {
            self.requests.pop_front();
        }
        self.requests.push_back(request);
    }

    pub(crate) fn counters(&self) -> Counters {
        Counters {
            total: self.total,
            models: self.models.iter().map(|(k, v)| (k.clone(), *v)).collect(),
            paths: self.paths.iter().map(|(k, v)| (k.clone(), *v)).collect(),
        }
    }

    pub(crate) fn requests(&self) -> Vec<RecordedRequest> {
        self.requests.iter().cloned().collect()
    }
}

fn bump(map: &mut HashMap<String, u64>, key: &str) {
    match map.get_mut(key) {
        Some(n) => *n += 1,
        None => {
            map.insert(key.to_owned(), 1);
        }
    }
}
