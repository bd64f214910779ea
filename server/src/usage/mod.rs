//! Usage shipped by SDKs: what an event must be to be kept ([`validate`]), the fixed
//! latency histogram the per-minute rollups carry ([`histogram`]), the pruning of raw
//! events past their retention ([`retention`]), and what the reports compute beside SQL:
//! times ([`time`]), the department tree ([`tree`]), cents that add up ([`chargeback`]),
//! cost advice ([`advice`]) and CSV quoting ([`csv`]); the gateway's own calls are
//! recorded by [`recorder`].

pub mod advice;
pub mod chargeback;
pub mod csv;
pub mod histogram;
pub mod leases;
pub mod recorder;
pub mod retention;
pub mod time;
pub mod tree;
pub mod validate;
