//! Spend and throughput control: budgets by scope (reserve, then settle) and rate limits.

mod budgets;
mod gcra;
mod period;
mod rate_limit;
mod scope;
mod source;

pub use budgets::{BudgetEvent, BudgetRefusal, Budgets, Reservation};
pub use period::{calendar_start, civil_from_days, days_from_civil};
pub use rate_limit::{CapacityGate, RateLimits};
pub use scope::CallScope;
pub use source::{AccountKey, BudgetSource, InMemoryBudgets};
