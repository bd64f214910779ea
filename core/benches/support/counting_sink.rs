//! A usage sink that only counts: it costs what the cheapest real sink's enqueue would.

use std::sync::atomic::{AtomicU64, Ordering};

use switchyard::telemetry::{UsageEvent, UsageSink};

#[derive(Default)]
pub struct CountingSink(AtomicU64);

impl UsageSink for CountingSink {
    fn record(&self, _event: &UsageEvent) {
        self.0.fetch_add(1, Ordering::Relaxed);
    }
}
