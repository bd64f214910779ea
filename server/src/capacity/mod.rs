//! Capacity planning (`docs/capacity.md`): demand forecasts from the hourly sums of the
//! usage rollups.

pub mod forecast;
