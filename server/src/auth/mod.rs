//! Authentication's parts: passwords, bearer tokens, failure limiting. The request
//! extractors that put them together over HTTP are `api::principal`.

pub mod key_cache;
pub mod login_throttle;
pub mod password;
pub mod rate_limit;
pub mod tokens;
