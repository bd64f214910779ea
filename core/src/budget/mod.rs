//! Spend and throughput control: budgets by scope (reserve, then settle) and rate limits.
