//! The times report queries name: an instant (RFC 3339 or Unix milliseconds), a step
//! (`1m`, `15m`, `1h`, `1d`: whole minutes, since rollups are per minute) and a period
//! (`2026-11`: a calendar month in UTC). Dates without a date crate, by core's civil
//! arithmetic.

use switchyard::budget::{civil_from_days, days_from_civil};

const MINUTE_MS: i64 = 60_000;
const DAY_MS: i64 = 86_400_000;

/// An instant: Unix milliseconds (digits only) or RFC 3339
/// (`2026-11-10T08:00:00Z`, `2026-11-10T08:00:00.250+01:00`).
pub fn parse_instant(text: &str) -> Option<i64> {
    let t = text.trim();
    if !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit()) {
        return t.parse().ok();
    }
    let b = t.as_bytes();
    if b.len() < 20 || b[4] != b'-' || b[7] != b'-' || !matches!(b[10], b'T' | b't' | b' ') {
        return None;
    }
    let num = |r: std::ops::Range<usize>| -> Option<i64> {
        let s = t.get(r)?;
        s.bytes()
            .all(|c| c.is_ascii_digit())
            .then(|| s.parse().ok())?
    };
    let (y, mo, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (h, mi, s) = (num(11..13)?, num(14..16)?, num(17..19)?);
    if b[13] != b':' || b[16] != b':' || !(1..=12).contains(&mo) || !(1..=31).contains(&d) {
        return None;
    }
    if h > 23 || mi > 59 || s > 60 {
        return None;
    }
    let mut rest = &t[19..];
    let mut millis = 0;
    if let Some(frac) = rest.strip_prefix('.') {
        let digits = frac.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return None;
        }
        let first3: String = frac[..digits].chars().chain("00".chars()).take(3).collect();
        millis = first3.parse().ok()?;
        rest = &frac[digits..];
    }
    let offset_min = match rest {
        "Z" | "z" => 0,
        _ => {
            let rb = rest.as_bytes();
            if rb.len() != 6 || rb[3] != b':' {
                return None;
            }
            let sign = match rb[0] {
                b'+' => 1,
                b'-' => -1,
                _ => return None,
            };
            let oh: i64 = rest.get(1..3)?.parse().ok()?;
            let om: i64 = rest.get(4..6)?.parse().ok()?;
            sign * (oh * 60 + om)
        }
    };
    let days = days_from_civil(y, mo, d);
    Some(days * DAY_MS + ((h * 60 + mi - offset_min) * 60 + s) * 1000 + millis)
}

/// A step: `<n>m`, `<n>h` or `<n>d`, in milliseconds.
pub fn parse_step(text: &str) -> Option<i64> {
    let t = text.trim();
    let unit = match t.chars().last()? {
        'm' => MINUTE_MS,
        'h' => 60 * MINUTE_MS,
        'd' => DAY_MS,
        _ => return None,
    };
    let n: i64 = t[..t.len() - 1].parse().ok()?;
    (1..=366 * 24 * 60).contains(&n).then(|| n * unit)
}

/// A calendar month `YYYY-MM` in UTC: `[start, end)` in Unix milliseconds.
pub fn parse_period(text: &str) -> Option<(i64, i64)> {
    let (y, m) = text.trim().split_once('-')?;
    if y.len() != 4 || m.len() != 2 {
        return None;
    }
    let y: i64 = y.parse().ok()?;
    let m: i64 = m.parse().ok()?;
    if !(1..=12).contains(&m) || y < 1970 {
        return None;
    }
    let start = days_from_civil(y, m, 1) * DAY_MS;
    let (ny, nm) = if m == 12 { (y + 1, 1) } else { (y, m + 1) };
    Some((start, days_from_civil(ny, nm, 1) * DAY_MS))
}

/// The calendar period of a budget containing `now_ms`: `[start, end)` in Unix ms.
pub fn budget_period(period: switchyard::config::Period, now_ms: i64) -> (i64, i64) {
    use switchyard::config::Period;
    let start = switchyard::budget::calendar_start(period, now_ms.div_euclid(1000)) * 1000;
    let end = match period {
        Period::Minute => start + MINUTE_MS,
        Period::Hour => start + 60 * MINUTE_MS,
        Period::Day => start + DAY_MS,
        Period::Week => start + 7 * DAY_MS,
        Period::Month => {
            let (y, m, _) = civil_from_days(start.div_euclid(DAY_MS));
            let (ny, nm) = if m == 12 { (y + 1, 1) } else { (y, m + 1) };
            days_from_civil(ny, nm, 1) * DAY_MS
        }
    };
    (start, end)
}

/// The `YYYY-MM` period containing `ms`.
pub fn period_of(ms: i64) -> String {
    let (y, m, _) = civil_from_days(ms.div_euclid(DAY_MS));
    format!("{y:04}-{m:02}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instants_steps_and_periods() {
        let t = 1_794_268_800_000; // 2026-11-10T00:00:00Z
        assert_eq!(parse_instant("2026-11-10T00:00:00Z"), Some(t));
        assert_eq!(parse_instant("2026-11-10T01:00:00.5+01:00"), Some(t + 500));
        assert_eq!(parse_instant("2026-11-09T23:00:00-01:00"), Some(t));
        assert_eq!(parse_instant(&t.to_string()), Some(t));
        for bad in [
            "",
            "2026-11-10",
            "2026-13-10T00:00:00Z",
            "yesterday",
            "2026-11-10T00:00:00",
        ] {
            assert_eq!(parse_instant(bad), None, "{bad}");
        }
        assert_eq!(parse_step("1m"), Some(60_000));
        assert_eq!(parse_step("2h"), Some(7_200_000));
        assert_eq!(parse_step("1d"), Some(86_400_000));
        assert_eq!(parse_step("0m"), None);
        assert_eq!(parse_step("1s"), None);
        assert_eq!(
            parse_period("2026-11"),
            Some((1_793_491_200_000, 1_796_083_200_000))
        );
        assert_eq!(
            parse_period("2026-12").map(|p| p.1),
            parse_period("2027-01").map(|p| p.0)
        );
        assert_eq!(parse_period("2026-13"), None);
        assert_eq!(period_of(t), "2026-11");
        use switchyard::config::Period;
        let nov = parse_period("2026-11").unwrap();
        assert_eq!(budget_period(Period::Month, t + 5), nov);
        assert_eq!(budget_period(Period::Day, t + 5), (t, t + 86_400_000));
    }
}
