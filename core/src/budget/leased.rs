//! A leased budget account: this instance's slice of a server-side budget, spent locally.
//!
//! The sibling of [`BudgetSource`](super::BudgetSource) for a slice: one account whose
//! limit is the slice's `granted_usd`, which the server raises at each renewal. It is
//! lock-free (one compare-and-swap per reservation), so a leased call costs about what an
//! in-memory budget does.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use super::source::sane;

/// One budget slice's account under one lease, in one period.
#[derive(Debug)]
pub struct SliceAccount {
    /// Settled spend plus what calls in flight reserved, as `f64` bits: what the lease
    /// reports `used`.
    committed: AtomicU64,
    /// The cumulative amount this instance may commit (`BudgetSlice::granted_usd`).
    granted: AtomicU64,
    /// Set once the account passed [`RENEW_AT`] of its grant (or refused a call), so the
    /// renewer is woken once per grant, not once per call.
    renew_asked: AtomicBool,
    /// The last renewal asked for refused calls' demand and did not grow the grant: the
    /// pool is spent or held elsewhere, so a refused call should not wait for the next.
    stalled: AtomicBool,
    /// Refused demand was handed to the renewer since the last grant.
    asked: AtomicBool,
    /// What refused reservations asked for since the renewer last looked (`f64` bits):
    /// demand the spend rate cannot show, since a refused call spends nothing.
    denied: AtomicU64,
}

/// A reservation held in a leased account, released or settled with the call's
/// [`Reservation`](super::Reservation).
#[derive(Debug)]
pub struct LeasedHold {
    pub account: std::sync::Arc<SliceAccount>,
    pub reserved: f64,
}

/// The share of a grant past which the renewer is asked to renew early.
pub const RENEW_AT: f64 = 0.8;

/// What a reservation did to the account.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reserved {
    /// Held; `renew` when this call is the first to pass [`RENEW_AT`] of the grant.
    Held { renew: bool },
    /// Committed plus the amount would pass the grant; `renew` as above.
    Refused { renew: bool },
}

fn load(a: &AtomicU64) -> f64 {
    f64::from_bits(a.load(Ordering::Acquire))
}

/// Adds `delta` (which may be negative) to an `f64` held as bits, never going below 0.
fn add(a: &AtomicU64, delta: f64) -> f64 {
    let mut after = 0.0;
    let _ = a.fetch_update(Ordering::AcqRel, Ordering::Acquire, |bits| {
        after = (f64::from_bits(bits) + delta).max(0.0);
        Some(after.to_bits())
    });
    after
}

impl SliceAccount {
    pub fn new(granted_usd: f64) -> SliceAccount {
        SliceAccount {
            committed: AtomicU64::new(0f64.to_bits()),
            granted: AtomicU64::new(sane(granted_usd).to_bits()),
            renew_asked: AtomicBool::new(false),
            stalled: AtomicBool::new(false),
            asked: AtomicBool::new(false),
            denied: AtomicU64::new(0f64.to_bits()),
        }
    }

    /// A renewal's grant. Lowering it is allowed (the server never does within a period),
    /// and applies to the next reservation.
    pub fn set_granted(&self, granted_usd: f64) {
        let granted_usd = sane(granted_usd);
        let before = f64::from_bits(self.granted.swap(granted_usd.to_bits(), Ordering::AcqRel));
        let asked = self.asked.swap(false, Ordering::AcqRel);
        self.stalled
            .store(asked && granted_usd <= before, Ordering::Release);
        self.renew_asked.store(false, Ordering::Release);
    }

    /// Whether the last renewal left the grant where it was though refused calls asked
    /// for more.
    pub fn stalled(&self) -> bool {
        self.stalled.load(Ordering::Acquire)
    }

    pub fn granted(&self) -> f64 {
        load(&self.granted)
    }

    /// Settled spend plus reservations in flight.
    pub fn committed(&self) -> f64 {
        load(&self.committed)
    }

    /// Reserves `amount` if committed + amount <= granted (`limited`), or whatever the
    /// grant (`!limited`: a soft budget, or a hard one let through by its policy).
    pub fn try_reserve(&self, amount: f64, limited: bool) -> Reserved {
        let amount = sane(amount);
        let granted = self.granted();
        let mut after = 0.0;
        let held = self
            .committed
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |bits| {
                after = f64::from_bits(bits) + amount;
                (!limited || after <= granted).then_some(after.to_bits())
            })
            .is_ok();
        let renew = (!held || after >= granted * RENEW_AT)
            && !self.renew_asked.swap(true, Ordering::AcqRel);
        if held {
            Reserved::Held { renew }
        } else {
            add(&self.denied, amount);
            Reserved::Refused { renew }
        }
    }

    /// What refused reservations asked for since the last call of this.
    pub fn take_denied(&self) -> f64 {
        let denied = f64::from_bits(self.denied.swap(0f64.to_bits(), Ordering::AcqRel));
        if denied > 0.0 {
            self.asked.store(true, Ordering::Release);
        }
        denied
    }

    /// Replaces a reservation by the actual cost (recorded even past the grant). Returns
    /// the committed amount after it.
    pub fn settle(&self, reserved: f64, actual: f64) -> f64 {
        add(&self.committed, sane(actual) - sane(reserved))
    }

    pub fn release(&self, reserved: f64) {
        add(&self.committed, -sane(reserved));
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;

    #[test]
    fn reserves_within_the_grant_and_renews_once() {
        let a = SliceAccount::new(1.0);
        assert_eq!(a.try_reserve(0.5, true), Reserved::Held { renew: false });
        assert_eq!(a.try_reserve(0.4, true), Reserved::Held { renew: true });
        assert_eq!(a.try_reserve(0.2, true), Reserved::Refused { renew: false });
        assert!((a.committed() - 0.9).abs() < 1e-12);
        assert!((a.take_denied() - 0.2).abs() < 1e-12);
        assert_eq!(a.take_denied(), 0.0);
        // Settled below its estimate: room again.
        assert!((a.settle(0.5, 0.3) - 0.7).abs() < 1e-12);
        assert_eq!(a.try_reserve(0.2, true), Reserved::Held { renew: false });
        a.release(0.2);
        // A renewal raises the grant and re-arms the early renewal.
        a.set_granted(2.0);
        assert_eq!(a.try_reserve(1.0, true), Reserved::Held { renew: true });
        // Unlimited (soft, or allowed by policy) passes the grant.
        assert_eq!(a.try_reserve(5.0, false), Reserved::Held { renew: false });
        assert!((a.committed() - 6.7).abs() < 1e-12);
    }

    #[test]
    fn a_renewal_that_grants_none_of_the_refused_demand_stalls() {
        let a = SliceAccount::new(1.0);
        assert!(matches!(a.try_reserve(0.9, true), Reserved::Held { .. }));
        // Renewed with nothing asked: the same grant is no sign of a spent pool.
        a.set_granted(1.0);
        assert!(!a.stalled());
        assert!(matches!(a.try_reserve(0.2, true), Reserved::Refused { .. }));
        assert!(a.take_denied() > 0.0);
        a.set_granted(1.0);
        assert!(
            a.stalled(),
            "refused demand asked for, nothing more granted"
        );
        a.set_granted(1.5);
        assert!(!a.stalled());
    }

    #[test]
    fn an_underestimate_is_recorded_past_the_grant() {
        let a = SliceAccount::new(1.0);
        assert!(matches!(a.try_reserve(1.0, true), Reserved::Held { .. }));
        assert!((a.settle(1.0, 1.5) - 1.5).abs() < 1e-12);
        assert!(matches!(
            a.try_reserve(0.01, true),
            Reserved::Refused { .. }
        ));
    }

    #[test]
    fn concurrent_reservations_never_pass_the_grant() {
        let a = Arc::new(SliceAccount::new(1.0));
        let threads: Vec<_> = (0..8)
            .map(|_| {
                let a = Arc::clone(&a);
                std::thread::spawn(move || {
                    (0..1000)
                        .filter(|_| matches!(a.try_reserve(0.003, true), Reserved::Held { .. }))
                        .count()
                })
            })
            .collect();
        let held: usize = threads.into_iter().map(|t| t.join().unwrap()).sum();
        assert_eq!(held, 333, "1.0 / 0.003 reservations fit, no more");
        assert!(a.committed() <= 1.0 + 1e-9);
    }
}
