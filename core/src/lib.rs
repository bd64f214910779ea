//! Switchyard engine.

/// The crate version, reported by every binding and the server.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
