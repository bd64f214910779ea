//! The shared tier: what several processes of one service keep in one Redis
//! (`docs/redis.md`) — the response cache's second tier and the rate limits declared
//! `shared`. Redis is never needed for a call to succeed: slow or down, each use falls back
//! to the in-process tier, counted in [`SharedTierSnapshot`] and logged at most every few
//! seconds.

mod cache_tier;
mod connection;
mod limits;
mod stats;

pub use cache_tier::RedisCache;
pub use connection::Redis;
pub(crate) use limits::{BucketSpec, SharedLimits, Taken};
pub use stats::SharedTierSnapshot;
