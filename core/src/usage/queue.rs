//! The event queue between the calls and the batcher: lock-free and bounded, and never
//! wakes anyone. A call pays a clone and a push; the batcher comes for the events on its
//! own tick, so no call makes a syscall to wake it.

use std::sync::atomic::{AtomicUsize, Ordering};

use crossbeam_queue::SegQueue;

use crate::telemetry::UsageEvent;

#[derive(Debug)]
pub(crate) struct EventQueue {
    events: SegQueue<UsageEvent>,
    len: AtomicUsize,
    capacity: usize,
}

impl EventQueue {
    pub fn new(capacity: usize) -> EventQueue {
        EventQueue {
            events: SegQueue::new(),
            len: AtomicUsize::new(0),
            capacity,
        }
    }

    /// Queues the event, or answers false when the queue is full.
    pub fn push(&self, event: &UsageEvent) -> bool {
        if self.len.fetch_add(1, Ordering::AcqRel) >= self.capacity {
            self.len.fetch_sub(1, Ordering::AcqRel);
            return false;
        }
        self.events.push(event.clone());
        true
    }

    pub fn pop(&self) -> Option<UsageEvent> {
        let event = self.events.pop()?;
        self.len.fetch_sub(1, Ordering::AcqRel);
        Some(event)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_queue_refuses_until_emptied() {
        let event: UsageEvent = serde_json::from_value(serde_json::json!({
            "id": "x", "time_ms": 0, "tenant": null, "app": null, "user": null,
            "model": "m", "deployment": null, "provider": null, "upstream_model": null,
            "prompt_tokens": 0, "completion_tokens": 0, "cached_tokens": 0, "cost_usd": 0.0,
            "latency_ms": 0.0, "ttft_ms": null, "status": "ok", "cache_hit": false,
            "attempts": 1, "fallback": null, "local": false, "stream": false, "tags": [],
            "metadata": {}
        }))
        .unwrap();
        let queue = EventQueue::new(2);
        assert!(queue.push(&event) && queue.push(&event));
        assert!(!queue.push(&event));
        assert!(queue.pop().is_some());
        assert!(queue.push(&event));
        assert!(queue.pop().is_some() && queue.pop().is_some() && queue.pop().is_none());
    }
}
