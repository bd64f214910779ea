//! The Switchyard management server: storage, identity, config versions and their
//! distribution to SDK clients, audit, the OpenAI-compatible gateway, and the CLI that
//! runs it all.

pub mod alerts;
pub mod api;
pub mod audit;
pub mod auth;
pub mod budget;
pub mod call_logs;
pub mod capacity;
pub mod cli;
pub mod client_addr;
pub mod cluster;
pub mod config_text;
pub mod crypto;
pub mod db;
pub mod diff;
pub mod error;
pub mod gateway;
pub mod metrics;
pub mod oidc;
pub mod rbac;
pub mod resolve;
pub mod rollout;
pub mod schema_rules;
pub mod sdk_cache;
pub mod state;
pub mod store;
pub mod store_error;
pub mod usage;
pub mod util;
