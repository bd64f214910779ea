//! What happened on each call, three ways: `tracing` spans named after OpenTelemetry's
//! GenAI conventions, in-process metrics readable as a snapshot (and, when exported, the
//! conventions' GenAI client metrics), and one usage event per call handed to a
//! [`UsageSink`].

pub mod export;
mod histogram;
#[cfg(feature = "otlp")]
mod instruments;
mod metrics;
mod operation;
#[cfg(feature = "otlp")]
mod otlp;
mod span;
mod usage;

pub use histogram::{Histogram, HistogramSnapshot};
#[cfg(feature = "otlp")]
pub(crate) use instruments::record_shared_fallback;
pub use metrics::{DeploymentSnapshot, Metrics, MetricsSnapshot, Outcome};
pub use operation::{GenAiOperation, record_gen_ai_operation};
#[cfg(feature = "otlp")]
pub use otlp::{OtlpGuard, otlp_layer};
pub use span::{attempt_span, call_span};
pub use usage::{CallContent, CallStatus, EventContent, MemorySink, UsageEvent, UsageSink};
