//! Authentication: passwords, bearer tokens, failure limiting, and the request
//! extractors that turn an `Authorization` header into a user or an app identity.

pub mod password;
pub mod principal;
pub mod rate_limit;
pub mod tokens;
