//! Call logs, the SDK's side (`docs/call-logs.md`): which calls log their content
//! (`policy.rs`), what the call path keeps of them (`capture.rs`: owned copies, nothing
//! serialized), and how that becomes the shipped [`CallContent`](crate::telemetry::CallContent)
//! off the call path: redacted by [`crate::redact`], then cut to `max_bytes` (`cap.rs`).

mod cap;
mod capture;
mod policy;

pub use capture::{Answer, Asked, Captured};
pub(crate) use policy::logs;
