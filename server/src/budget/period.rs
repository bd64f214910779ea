//! Budget periods (a day, a week from Monday, a calendar month) in the tenant's IANA time
//! zone. `jiff` carries its own copy of the tz database, so a period ends at the same
//! instant on every host, container images without `/usr/share/zoneinfo` included.

use jiff::tz::TimeZone;
use jiff::{Timestamp, ToSpan};
use serde::{Deserialize, Serialize};

use crate::store_error::StoreError;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Period {
    Day,
    Week,
    Month,
}

impl Period {
    pub fn as_str(self) -> &'static str {
        match self {
            Period::Day => "day",
            Period::Week => "week",
            Period::Month => "month",
        }
    }

    pub fn parse(s: &str) -> Option<Period> {
        [Period::Day, Period::Week, Period::Month]
            .into_iter()
            .find(|p| p.as_str() == s)
    }

    /// The period holding `at_ms` in `tz`: `[start, end)` in Unix milliseconds.
    pub fn bounds(self, tz: &TimeZone, at_ms: i64) -> Result<(i64, i64), StoreError> {
        let err = |e: jiff::Error| StoreError::Internal(format!("period arithmetic: {e}"));
        let date = Timestamp::from_millisecond(at_ms)
            .map_err(err)?
            .to_zoned(tz.clone())
            .date();
        let (first, next) = match self {
            Period::Day => (date, date.checked_add(1.day()).map_err(err)?),
            Period::Week => {
                let monday = date
                    .checked_sub(i64::from(date.weekday().to_monday_zero_offset()).days())
                    .map_err(err)?;
                (monday, monday.checked_add(1.week()).map_err(err)?)
            }
            Period::Month => {
                let first = date.first_of_month();
                (first, first.checked_add(1.month()).map_err(err)?)
            }
        };
        let start = first.to_zoned(tz.clone()).map_err(err)?.start_of_day();
        let end = next.to_zoned(tz.clone()).map_err(err)?.start_of_day();
        Ok((
            start.map_err(err)?.timestamp().as_millisecond(),
            end.map_err(err)?.timestamp().as_millisecond(),
        ))
    }
}

/// The tenant's zone by its IANA name; an unknown name is the caller's 422 on `field`.
pub fn zone(field: &str, name: &str) -> Result<TimeZone, StoreError> {
    TimeZone::get(name).map_err(|_| StoreError::invalid(field, "not an IANA time zone name"))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 2026-03-29 is a Sunday, and Europe/Paris moves to summer time that night.
    const SUNDAY_NOON_UTC: i64 = 1_774_785_600_000;

    #[test]
    fn periods_follow_the_zone() {
        let utc = zone("tz", "UTC").unwrap();
        let (s, e) = Period::Day.bounds(&utc, SUNDAY_NOON_UTC).unwrap();
        assert_eq!((s, e - s), (SUNDAY_NOON_UTC - 12 * 3_600_000, 86_400_000));
        let paris = zone("tz", "Europe/Paris").unwrap();
        let (s, e) = Period::Day.bounds(&paris, SUNDAY_NOON_UTC).unwrap();
        // Midnight in Paris is 23:00 UTC the day before; the day is 23 hours long.
        assert_eq!(s, SUNDAY_NOON_UTC - 13 * 3_600_000);
        assert_eq!(e - s, 23 * 3_600_000);
        let (s, e) = Period::Week.bounds(&utc, SUNDAY_NOON_UTC).unwrap();
        assert_eq!(s, SUNDAY_NOON_UTC - (6 * 24 + 12) * 3_600_000);
        assert_eq!(e - s, 7 * 86_400_000);
        let (s, e) = Period::Month.bounds(&utc, SUNDAY_NOON_UTC).unwrap();
        assert_eq!(s, 1_772_323_200_000); // 2026-03-01T00:00Z
        assert_eq!(e - s, 31 * 86_400_000);
        assert!(zone("tz", "Mars/Olympus").is_err());
    }
}
