//! A call's first poll on its host's thread ([`crate::binding::runtime::start`]) ends where
//! the call would first send a request upstream: the request then goes out from the engine
//! worker that goes on with the call, beside the connection task that writes it. Sent from
//! the host's thread, it wakes one worker for the connection task while the call is handed
//! to another, two sleeping cores woken where one would do (measured through the C ABI:
//! about 25 µs of a 220 µs call to a local mock).

use std::cell::Cell;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

thread_local! {
    static INLINE: Cell<bool> = const { Cell::new(false) };
}

/// Runs `poll` (a call's first poll) with this thread marked as its host's.
pub(crate) fn first_poll<R>(poll: impl FnOnce() -> R) -> R {
    /// Clears the mark even if `poll` unwinds.
    struct Clear;
    impl Drop for Clear {
        fn drop(&mut self) {
            INLINE.with(|inline| inline.set(false));
        }
    }
    INLINE.with(|inline| inline.set(true));
    let _clear = Clear;
    poll()
}

/// Pending once when polled inside [`first_poll`], else ready at once: awaited just before
/// a request is sent.
pub(crate) fn leave_host_thread() -> LeaveHostThread {
    LeaveHostThread { yielded: false }
}

pub(crate) struct LeaveHostThread {
    yielded: bool,
}

impl Future for LeaveHostThread {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.yielded || !INLINE.with(Cell::get) {
            return Poll::Ready(());
        }
        self.yielded = true;
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::task::Waker;

    fn poll_once(future: &mut LeaveHostThread) -> Poll<()> {
        Pin::new(future).poll(&mut Context::from_waker(Waker::noop()))
    }

    #[test]
    fn outside_a_first_poll_it_is_ready_at_once() {
        assert!(poll_once(&mut leave_host_thread()).is_ready());
    }

    #[test]
    fn inside_a_first_poll_it_yields_once_and_is_ready_on_the_next_poll() {
        let mut future = leave_host_thread();
        assert!(first_poll(|| poll_once(&mut future)).is_pending());
        assert!(poll_once(&mut future).is_ready());
        assert!(
            !INLINE.with(Cell::get),
            "the mark is cleared after the poll"
        );
    }

    #[test]
    fn the_mark_is_cleared_when_the_poll_panics() {
        let _ = std::panic::catch_unwind(|| first_poll(|| panic!("boom")));
        assert!(poll_once(&mut leave_host_thread()).is_ready());
    }
}
