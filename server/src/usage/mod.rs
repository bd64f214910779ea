//! Usage shipped by SDKs: what an event must be to be kept ([`validate`]), and the fixed
//! latency histogram the per-minute rollups carry ([`histogram`]), and the pruning of raw
//! events past their retention ([`retention`]).

pub mod histogram;
pub mod retention;
pub mod validate;
