//! How much of a budget or a rate limit one lease gets, given what is left. Pure
//! arithmetic on integers (micro-dollars, requests or tokens a minute), so the rules can
//! be tested on their own; `store::leases` feeds them what it read under the lock.

/// The smallest slice worth a round trip, and the default first slice's floor: a cent.
pub const MIN_SLICE_MICROS: i64 = 10_000;

/// What a budget slice grows by at this grant: the instance's ask (`want`, else the
/// default first slice: 1% of the budget, at least [`MIN_SLICE_MICROS`]), at most a fair
/// part of what is left (`available` over the instances holding a live slice, at least the
/// default), never more than `available`.
pub fn budget_extra(amount: i64, available: i64, want: Option<i64>, live_instances: i64) -> i64 {
    let available = available.max(0);
    let default = (amount / 100).max(MIN_SLICE_MICROS);
    let ask = want.unwrap_or(default).max(0);
    let fair = (available / live_instances.max(1)).max(default);
    ask.min(fair).min(available)
}

/// One instance's share of a rate limit of `limit` a minute: in proportion to its `want`
/// among the live instances' wants (`total_want` includes its own), at least 1, and never
/// more than `room` (the limit less the other live shares and the shares still cooling).
pub fn rate_share(limit: i64, room: i64, want: i64, total_want: i64) -> i64 {
    let want = want.max(1);
    let total = total_want.max(want);
    let target = (i128::from(limit) * i128::from(want) / i128::from(total)) as i64;
    target.max(1).min(room).max(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_first_slice_is_a_percent_and_at_least_a_cent() {
        assert_eq!(budget_extra(100_000_000, 100_000_000, None, 1), 1_000_000);
        assert_eq!(budget_extra(50_000, 50_000, None, 1), MIN_SLICE_MICROS);
        assert_eq!(budget_extra(50_000, 3_000, None, 1), 3_000);
        assert_eq!(budget_extra(50_000, -5, None, 1), 0);
    }

    #[test]
    fn a_want_is_capped_by_a_fair_part() {
        assert_eq!(
            budget_extra(100_000_000, 40_000_000, Some(30_000_000), 4),
            10_000_000
        );
        assert_eq!(
            budget_extra(100_000_000, 40_000_000, Some(2_000_000), 4),
            2_000_000
        );
    }

    #[test]
    fn rate_shares_follow_wants_within_the_room() {
        assert_eq!(rate_share(600, 600, 1, 3), 200);
        assert_eq!(rate_share(600, 100, 1, 3), 100);
        assert_eq!(rate_share(600, 600, 3, 4), 450);
        assert_eq!(rate_share(2, 2, 1, 100), 1);
        assert_eq!(rate_share(2, 0, 1, 100), 0);
    }
}
