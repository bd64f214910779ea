//! Alerts (`docs/alerts.md`): rules per tenant evaluated on the usage rollups, server
//! events and security events; firing and resolved states; notifications to webhook,
//! Slack-compatible and email channels with signed bodies, retries and a delivery log;
//! actions a rule takes when it starts firing.

pub mod actions;
pub mod engine;
pub mod notify;
pub mod rule;
pub mod smtp;

pub use engine::{AlertSettings, spawn};
pub use rule::{Category, Observation, RuleKind, kind_of, new_rule};
