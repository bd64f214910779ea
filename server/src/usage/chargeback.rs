//! Rounding money to cents so that rows add up: the total of exact micro-dollars is
//! rounded once (half up), each row is floored to cents, and the cents left over go one
//! each to the rows with the largest remainders (ties: the earlier row). The largest
//! remainder method: every row is off by less than a cent, and the rows sum to the total.

/// Micro-dollars in a cent.
pub const MICROS_PER_CENT: i64 = 10_000;

/// Micro-dollars rounded half up to cents (for non-negative amounts).
pub fn round_cents(micros: i64) -> i64 {
    (micros + MICROS_PER_CENT / 2).div_euclid(MICROS_PER_CENT)
}

/// Each row in cents, summing to `round_cents` of the total.
pub fn allocate_cents(micros: &[i64]) -> Vec<i64> {
    let total = round_cents(micros.iter().sum());
    let mut cents: Vec<i64> = micros
        .iter()
        .map(|m| m.div_euclid(MICROS_PER_CENT))
        .collect();
    let mut left = total - cents.iter().sum::<i64>();
    let mut order: Vec<usize> = (0..micros.len()).collect();
    order.sort_by_key(|&i| (std::cmp::Reverse(micros[i].rem_euclid(MICROS_PER_CENT)), i));
    for i in order {
        if left <= 0 {
            break;
        }
        cents[i] += 1;
        left -= 1;
    }
    cents
}

/// Cents as a decimal string: `1234` -> `12.34`.
pub fn cents_text(cents: i64) -> String {
    let sign = if cents < 0 { "-" } else { "" };
    let c = cents.abs();
    format!("{sign}{}.{:02}", c / 100, c % 100)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_add_up_to_the_rounded_total() {
        // Three rows of a third of a cent each: the total rounds to 1 cent, given to row 0.
        assert_eq!(allocate_cents(&[3333, 3333, 3334]), vec![0, 0, 1]);
        assert_eq!(allocate_cents(&[3334, 3333, 3333]), vec![1, 0, 0]);
        assert_eq!(allocate_cents(&[15_000, 15_000]), vec![2, 1]);
        assert_eq!(allocate_cents(&[]), Vec::<i64>::new());
        let rows: Vec<i64> = (1..200).map(|i| i * 7_919 % 123_457).collect();
        let cents = allocate_cents(&rows);
        assert_eq!(cents.iter().sum::<i64>(), round_cents(rows.iter().sum()));
        for (m, c) in rows.iter().zip(&cents) {
            assert!((c * MICROS_PER_CENT - m).abs() < MICROS_PER_CENT);
        }
        assert_eq!(cents_text(123_456), "1234.56");
        assert_eq!(cents_text(5), "0.05");
    }
}
