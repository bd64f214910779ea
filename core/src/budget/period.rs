//! Where a budget period starts, in UTC, without a date crate.
//!
//! Calendar-aligned periods start at minute/hour/day boundaries, on Mondays (ISO weeks)
//! and on the 1st of the month. Rolling periods are fixed-length windows laid end to end
//! from an anchor (the budget's first use in this process): a rolling month is 30 days.

use crate::config::Period;

const MINUTE: i64 = 60;
const HOUR: i64 = 3_600;
const DAY: i64 = 86_400;
const WEEK: i64 = 7 * DAY;
const ROLLING_MONTH: i64 = 30 * DAY;

/// Length of a rolling period in seconds.
pub(crate) fn rolling_len(period: Period) -> i64 {
    match period {
        Period::Minute => MINUTE,
        Period::Hour => HOUR,
        Period::Day => DAY,
        Period::Week => WEEK,
        Period::Month => ROLLING_MONTH,
    }
}

/// Start (unix secs) of the calendar period containing `now` (also the server's budget
/// pace advice).
pub fn calendar_start(period: Period, now: i64) -> i64 {
    match period {
        Period::Minute => floor_to(now, MINUTE),
        Period::Hour => floor_to(now, HOUR),
        Period::Day => floor_to(now, DAY),
        Period::Week => {
            let day = now.div_euclid(DAY);
            // 1970-01-01 was a Thursday: Monday-based weekday = (day + 3) mod 7.
            (day - (day + 3).rem_euclid(7)) * DAY
        }
        Period::Month => {
            let (y, m, _) = civil_from_days(now.div_euclid(DAY));
            days_from_civil(y, m, 1) * DAY
        }
    }
}

/// Start of the rolling window containing `now`, windows laid from `anchor`.
pub(crate) fn rolling_start(period: Period, anchor: i64, now: i64) -> i64 {
    let len = rolling_len(period);
    anchor + (now - anchor).div_euclid(len) * len
}

fn floor_to(t: i64, unit: i64) -> i64 {
    t - t.rem_euclid(unit)
}

/// (year, month 1-12, day 1-31) of a day count since 1970-01-01 (H. Hinnant's algorithm).
pub fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

/// Days since 1970-01-01 of a civil date (also the server's report periods).
pub fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let mp = if m > 2 { m - 3 } else { m + 9 };
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    // 2026-11-26T13:45:30Z, a Thursday.
    const T: i64 = 1_795_700_730;

    #[test]
    fn civil_round_trip() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(days_from_civil(2026, 11, 26), T / DAY);
        assert_eq!(civil_from_days(T / DAY), (2026, 11, 26));
        assert_eq!(civil_from_days(days_from_civil(2024, 2, 29)), (2024, 2, 29));
        assert_eq!(civil_from_days(-1), (1969, 12, 31));
    }

    #[test]
    fn calendar_boundaries() {
        assert_eq!(calendar_start(Period::Minute, T), T - 30);
        assert_eq!(calendar_start(Period::Hour, T), T - 45 * 60 - 30);
        let midnight = days_from_civil(2026, 11, 26) * DAY;
        assert_eq!(calendar_start(Period::Day, T), midnight);
        assert_eq!(
            calendar_start(Period::Week, T),
            days_from_civil(2026, 11, 23) * DAY
        );
        assert_eq!(
            calendar_start(Period::Month, T),
            days_from_civil(2026, 11, 1) * DAY
        );
        // A Monday starts its own week; a Sunday belongs to the week before.
        let monday = days_from_civil(2026, 11, 23) * DAY;
        assert_eq!(calendar_start(Period::Week, monday), monday);
        assert_eq!(calendar_start(Period::Week, monday - 1), monday - WEEK);
        // March 1st in a leap year, and the epoch.
        let mar = days_from_civil(2024, 3, 1) * DAY;
        assert_eq!(
            calendar_start(Period::Month, mar - 1),
            days_from_civil(2024, 2, 1) * DAY
        );
        assert_eq!(calendar_start(Period::Month, 0), 0);
    }

    #[test]
    fn rolling_windows_from_anchor() {
        let a = 1_000;
        assert_eq!(rolling_start(Period::Hour, a, a), a);
        assert_eq!(rolling_start(Period::Hour, a, a + HOUR - 1), a);
        assert_eq!(rolling_start(Period::Hour, a, a + HOUR), a + HOUR);
        assert_eq!(rolling_start(Period::Month, a, a + 31 * DAY), a + 30 * DAY);
        // A clock that steps back before the anchor still lands on a window boundary.
        assert_eq!(rolling_start(Period::Minute, a, a - 1), a - MINUTE);
    }

    #[test]
    fn extreme_times_do_not_panic() {
        for p in [
            Period::Minute,
            Period::Hour,
            Period::Day,
            Period::Week,
            Period::Month,
        ] {
            let _ = calendar_start(p, 0);
            let _ = calendar_start(p, 253_402_300_799); // 9999-12-31
            let _ = calendar_start(p, -62_135_596_800); // year 1
        }
    }
}
