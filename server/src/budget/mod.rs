//! Server-side budgets and rate limits (`docs/budgets.md`): their periods in the tenant's
//! time zone ([`period`]) and how the pool is shared out among leases ([`share`]). The
//! SQL is in `store::budgets` and `store::leases`.

pub mod period;
pub mod share;
