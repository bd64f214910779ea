//! The `usage` section: where this client ships its usage events, and its spool on disk.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::{ConfigIssue, Secret};

/// The spool's default cap on disk.
pub const DEFAULT_SPOOL_MAX_BYTES: u64 = 256 * 1024 * 1024;

/// Ships every call's usage event to the management server (`POST /sdk/v1/usage`). A
/// client that takes its config from the server ships there without this section.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct UsageConfig {
    /// The management server's base URL (`https://switchyard.example.com`).
    pub server: String,
    /// The app key the events are sent with; the server takes tenant and app from it.
    pub api_key: Secret,
    /// Where batches wait while the server cannot be reached (default: under the OS cache
    /// directory). Each server and key gets a subdirectory of its own.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub spool_dir: Option<PathBuf>,
    /// The spool's cap in bytes; at the cap the oldest batches are dropped (default 256 MiB).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub spool_max_bytes: Option<u64>,
}

impl UsageConfig {
    pub(crate) fn validate(&self, issues: &mut Vec<ConfigIssue>) {
        if !(self.server.starts_with("http://") || self.server.starts_with("https://")) {
            issues.push(ConfigIssue::new(
                "usage.server",
                "must be an http:// or https:// URL",
            ));
        }
        if self.spool_max_bytes == Some(0) {
            issues.push(ConfigIssue::new("usage.spool_max_bytes", "must be > 0"));
        }
    }
}
