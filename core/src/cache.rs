//! Response cache (pipeline step 2): answers repeatable requests without an upstream call.
//!
//! [`chat_key`]/[`embedding_key`] name a request by what decides its answer;
//! [`is_cacheable`] says whether a call may use the cache at all; [`ResponseCache`] holds the
//! answers, bounded in bytes, each with its route's TTL, coalescing concurrent misses, with an
//! optional [`SharedCache`] tier behind it.

mod control;
mod flight;
mod key;
mod store;
mod tier;
mod value;

pub use control::{CacheControl, is_cacheable, is_deterministic};
pub use key::{CacheKey, chat_key, embedding_key};
pub use store::{Lookup, ResponseCache};
pub use tier::SharedCache;
pub use value::CacheValue;
