//! Spend and throughput control: budgets by scope (reserve, then settle) and rate limits.

mod budgets;
mod gcra;
mod leased;
mod period;
mod rate_limit;
mod scope;
mod source;
mod window;

pub use budgets::{BudgetEvent, BudgetRefusal, Budgets, RefusalKind, Reservation};
pub use leased::{LeasedHold, RENEW_AT, Reserved, SliceAccount};
pub use period::{calendar_start, civil_from_days, days_from_civil};
pub use rate_limit::{CapacityGate, RateLimits};
pub use scope::CallScope;
pub use source::{AccountKey, BudgetSource, InMemoryBudgets};
pub use window::{SlidingWindow, WINDOW};
