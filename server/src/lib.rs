//! The Switchyard management server: storage, identity, config versions and their
//! distribution to SDK clients, audit, and the CLI that runs it all.

pub mod audit;
pub mod auth;
pub mod crypto;
pub mod db;
pub mod diff;
pub mod rbac;
pub mod store;
pub mod util;
