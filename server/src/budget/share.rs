//! How much of a budget or a rate limit one lease gets, given what is left. Pure
//! arithmetic on integers (micro-dollars, requests or tokens a minute), so the rules can
//! be tested on their own; `store::leases` feeds them what it read under the lock.

/// The smallest slice worth a round trip, and the default first slice's floor: a cent.
pub const MIN_SLICE_MICROS: i64 = 10_000;

/// What a budget slice grows by at this grant: the instance's ask, at most a fair part of
/// what is left (`available` over the instances holding a live slice, at least the
/// default), never more than `available`. The ask is `want`; without one, the default
/// slice (1% of the budget, at least [`MIN_SLICE_MICROS`]) for a first slice, and for a
/// renewal what tops the slice's `headroom` (granted less used) up to the default — so an
/// instance that says nothing keeps a default's worth in hand and never hoards more.
pub fn budget_extra(
    amount: i64,
    available: i64,
    want: Option<i64>,
    headroom: Option<i64>,
    live_instances: i64,
) -> i64 {
    let available = available.max(0);
    let default = (amount / 100).max(MIN_SLICE_MICROS);
    let ask = match (want, headroom) {
        (Some(w), _) => w,
        (None, Some(h)) => default - h,
        (None, None) => default,
    }
    .max(0);
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

/// How far past its ask an instance's rate share may reach: twice, so a busy instance
/// grows (doubling at each renewal, as its ask follows what it used) while an idle one
/// leaves the rest of the limit free for newcomers, who then need not wait for a share
/// given up to finish cooling.
pub const HEADROOM: i64 = 2;

/// An instance's shares of a limit, each given as `(limit, room)` when the limit has
/// it. `want` is in the limit's first unit (requests a minute if it has rpm, else tokens):
/// that share is [`rate_share`], capped at [`HEADROOM`] × `want` when the instance
/// `asked`; a second unit (tpm beside rpm) gets the same fraction of its limit, within
/// its room.
pub fn limit_shares(
    rpm: Option<(i64, i64)>,
    tpm: Option<(i64, i64)>,
    want: i64,
    total_want: i64,
    asked: bool,
) -> (Option<i64>, Option<i64>) {
    let Some((limit, room)) = rpm.or(tpm) else {
        return (None, None);
    };
    let mut first = rate_share(limit, room, want, total_want);
    if asked {
        first = first.min((HEADROOM * want).max(1));
    }
    let follow = |(l, r): (i64, i64)| {
        let same = (i128::from(l) * i128::from(first) / i128::from(limit.max(1))) as i64;
        same.max(i64::from(first > 0)).min(r).max(0)
    };
    match rpm {
        Some(_) => (Some(first), tpm.map(follow)),
        None => (None, Some(first)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_first_slice_is_a_percent_and_at_least_a_cent() {
        assert_eq!(
            budget_extra(100_000_000, 100_000_000, None, None, 1),
            1_000_000
        );
        assert_eq!(
            budget_extra(50_000, 50_000, None, None, 1),
            MIN_SLICE_MICROS
        );
        assert_eq!(budget_extra(50_000, 3_000, None, None, 1), 3_000);
        assert_eq!(budget_extra(50_000, -5, None, None, 1), 0);
    }

    #[test]
    fn a_renewal_without_a_want_only_tops_up_to_the_default() {
        // 0.4 of a 1.0 default still in hand: 0.6 more; a full hand: nothing.
        assert_eq!(
            budget_extra(100_000_000, 50_000_000, None, Some(400_000), 2),
            600_000
        );
        assert_eq!(
            budget_extra(100_000_000, 50_000_000, None, Some(1_000_000), 2),
            0
        );
    }

    #[test]
    fn a_want_is_capped_by_a_fair_part() {
        assert_eq!(
            budget_extra(100_000_000, 40_000_000, Some(30_000_000), Some(0), 4),
            10_000_000
        );
        assert_eq!(
            budget_extra(100_000_000, 40_000_000, Some(2_000_000), None, 4),
            2_000_000
        );
    }

    #[test]
    fn an_ask_caps_the_share_and_tokens_follow_requests() {
        // Alone and asking 30 a minute: 60, not the whole 100.
        assert_eq!(
            limit_shares(Some((100, 100)), None, 30, 30, true),
            (Some(60), None)
        );
        // Without an ask (the first request): the proportional share.
        assert_eq!(
            limit_shares(Some((100, 100)), Some((10_000, 10_000)), 100, 100, false),
            (Some(100), Some(10_000))
        );
        // Tokens take the requests' fraction, within their own room.
        assert_eq!(
            limit_shares(Some((100, 100)), Some((10_000, 1_000)), 20, 80, true),
            (Some(25), Some(1_000))
        );
        // A token-only limit: the ask is in tokens.
        assert_eq!(
            limit_shares(None, Some((10_000, 10_000)), 1_000, 1_000, true),
            (None, Some(2_000))
        );
        assert_eq!(limit_shares(None, None, 1, 1, true), (None, None));
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
