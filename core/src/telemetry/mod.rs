//! What happened on each call, three ways: `tracing` spans named after OpenTelemetry's
//! GenAI conventions, in-process metrics readable as a snapshot, and one usage event per
//! call handed to a [`UsageSink`].

mod histogram;
mod metrics;
#[cfg(feature = "otlp")]
mod otlp;
mod span;
mod usage;

pub use histogram::{Histogram, HistogramSnapshot};
pub use metrics::{DeploymentSnapshot, Metrics, MetricsSnapshot, Outcome};
#[cfg(feature = "otlp")]
pub use otlp::{OtlpGuard, otlp_layer};
pub use span::{attempt_span, call_span};
pub use usage::{CallStatus, MemorySink, UsageEvent, UsageSink};
