//! Step 7 for spend: the actual cost of a call replaces its budget reservation.

use crate::budget::Reservation;

/// Settles `reservation` at `cost_usd`, warning of each soft budget the call went past.
pub(crate) fn settle(reservation: Reservation, cost_usd: f64) {
    for event in reservation.settle(cost_usd) {
        tracing::warn!(
            budget = %event.budget,
            scope = %event.scope_value,
            spent_usd = event.spent_usd,
            limit_usd = event.limit_usd,
            "soft budget exceeded"
        );
    }
}
