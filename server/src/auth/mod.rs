//! Authentication: passwords, bearer tokens, and the request extractors that turn an
//! `Authorization` header into a [`Principal`] (users) or an app identity (SDK).

pub mod password;
pub mod tokens;
