//! The process's one tokio runtime, made on first use (and again in a forked child), and
//! the two ways a binding runs a call on it: a thread that waits, or a completion callback.
//! At exit ([`at_exit`]) the runtime stops, and no engine thread enters the host again: a
//! host that is finalizing (Python) must not be called from a thread it no longer knows.

use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use futures_util::FutureExt;
use tokio::runtime::Runtime;

use crate::error::{Error, Result};
use crate::process::PerProcess;

/// How long a waiting thread blocks before handing control back to the host (to run its
/// signal handlers: Ctrl-C in Python).
const SLICE: Duration = Duration::from_millis(50);

/// How long a quiesced runtime may take to stop before a fork.
const FORK_SHUTDOWN: Duration = Duration::from_secs(1);

/// How long exit waits for callbacks already inside the host, then for the runtime's
/// threads to stop.
const EXIT_SHUTDOWN: Duration = Duration::from_secs(2);

/// Set once by [`at_exit`]: from then on no callback enters the host and no runtime is made.
static EXITING: AtomicBool = AtomicBool::new(false);

/// Completion callbacks running now (inside the host): [`at_exit`] waits for them.
static IN_HOST: AtomicUsize = AtomicUsize::new(0);

static RUNTIME: PerProcess<Arc<Runtime>> = PerProcess::new();

/// Calls in flight and streams open in this process (see [`before_fork`]).
static LIVE: AtomicUsize = AtomicUsize::new(0);

/// Counts one call or open stream for as long as it lives.
#[derive(Debug)]
pub struct Live(());

impl Live {
    pub fn new() -> Self {
        LIVE.fetch_add(1, Ordering::SeqCst);
        Live(())
    }
}

impl Default for Live {
    fn default() -> Self {
        Self::new()
    }
}

impl Drop for Live {
    fn drop(&mut self) {
        LIVE.fetch_sub(1, Ordering::SeqCst);
    }
}

/// This process's runtime: multi-threaded, `SWITCHYARD_WORKER_THREADS` workers (default:
/// the cores, 2 to 8).
pub fn runtime() -> Result<Arc<Runtime>> {
    if exiting() {
        return Err(Error::new(
            crate::error::ErrorKind::Unavailable,
            "the process is exiting",
        ));
    }
    RUNTIME.get_or_try_init(|| {
        let workers = std::env::var("SWITCHYARD_WORKER_THREADS")
            .ok()
            .and_then(|v| v.parse::<usize>().ok())
            .filter(|n| *n > 0)
            .unwrap_or_else(|| {
                std::thread::available_parallelism()
                    .map_or(2, |n| n.get())
                    .clamp(2, 8)
            });
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(workers)
            .thread_name("switchyard-worker")
            .enable_all()
            .build()
            .map(Arc::new)
            .map_err(|e| Error::internal(format!("cannot start the tokio runtime: {e}")))
    })
}

/// Call just before the process forks (Python: `os.register_at_fork(before=...)`).
///
/// Pooled HTTP connections are driven by tasks of this runtime, which a child does not
/// inherit. When nothing is in flight, shutting the runtime down here closes them in both
/// processes, and each makes a fresh runtime (and pool) on its next call. With calls in
/// flight the runtime is left alone: the child still gets its own on first use, since
/// every process-wide value is [`PerProcess`].
pub fn before_fork() {
    if LIVE.load(Ordering::SeqCst) != 0 {
        return;
    }
    let Some(runtime) = RUNTIME.take() else {
        return;
    };
    match Arc::try_unwrap(runtime) {
        Ok(runtime) => runtime.shutdown_timeout(FORK_SHUTDOWN),
        Err(shared) => drop(RUNTIME.restore(shared)),
    }
}

/// Call once as the process exits (Python: `atexit`), with the host's lock released
/// (Python: the GIL) so that callbacks already running can finish.
///
/// Ships the usage events still queued (see [`crate::usage::flush_all`]) and exports the
/// telemetry still buffered, then marks the process as exiting: completion
/// callbacks from then on are dropped without entering the host, calls in flight are
/// dropped (cancelling their upstream requests), and the runtime is shut down, so no
/// engine thread is left to touch a host that is tearing itself down. A thread still
/// blocked in [`block_on`] keeps the runtime alive; it never returns to its host.
pub fn at_exit() {
    flush_usage();
    crate::telemetry::export::shutdown();
    EXITING.store(true, Ordering::SeqCst);
    let until = std::time::Instant::now() + EXIT_SHUTDOWN;
    while IN_HOST.load(Ordering::SeqCst) != 0 && std::time::Instant::now() < until {
        std::thread::sleep(Duration::from_millis(1));
    }
    let Some(runtime) = RUNTIME.take() else {
        return;
    };
    match Arc::try_unwrap(runtime) {
        Ok(runtime) => runtime.shutdown_timeout(EXIT_SHUTDOWN),
        // Dropping it later (from a waiting thread) would join workers at an unknown time.
        Err(shared) => std::mem::forget(shared),
    }
}

/// Returns every server lease (with its final use), then waits for every shipping sink
/// to deliver (or spool) what it holds, on a runtime of its own: the process's runtime
/// keeps running the sinks' tasks meanwhile.
fn flush_usage() {
    match tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
    {
        Ok(waiter) => waiter.block_on(async {
            crate::lease::return_all(crate::lease::RETURN_TIMEOUT).await;
            crate::usage::flush_all(crate::usage::FLUSH_TIMEOUT).await;
        }),
        Err(error) => tracing::warn!(%error, "cannot flush usage at exit"),
    }
}

/// Whether [`at_exit`] has run: the host is going away.
pub fn exiting() -> bool {
    EXITING.load(Ordering::SeqCst)
}

/// Runs `f` (a completion callback entering the host) unless the process is exiting. The
/// count is raised before the flag is read, so [`at_exit`] either sees this callback and
/// waits for it, or this callback sees the flag and stays out.
fn enter_host(f: impl FnOnce()) {
    IN_HOST.fetch_add(1, Ordering::SeqCst);
    if !exiting() {
        f();
    }
    IN_HOST.fetch_sub(1, Ordering::SeqCst);
}

/// Where a waiting thread goes once the process is exiting: returning would take the
/// host's lock during its finalization. The process ends around it.
fn park_forever() -> ! {
    loop {
        std::thread::park();
    }
}

/// Runs `future` to completion on the calling thread. Every [`SLICE`] it calls `between`
/// (the host's signal check); an error there drops the future, which cancels the call,
/// and is returned. A thread still waiting when the process exits (a daemon thread) never
/// returns to its host.
pub fn block_on<F, E>(
    runtime: &Runtime,
    future: F,
    mut between: impl FnMut() -> std::result::Result<(), E>,
) -> std::result::Result<F::Output, E>
where
    F: Future,
{
    let _live = Live::new();
    let mut future = std::pin::pin!(future);
    loop {
        let step = runtime.block_on(async {
            tokio::select! {
                biased;
                out = &mut future => Some(out),
                () = tokio::time::sleep(SLICE) => None,
            }
        });
        if exiting() {
            park_forever();
        }
        match step {
            Some(out) => return Ok(out),
            None => between()?,
        }
    }
}

/// A call started with [`spawn`].
#[derive(Debug)]
pub struct CallHandle {
    abort: tokio::task::AbortHandle,
}

impl CallHandle {
    /// Drops the call (and its upstream request); its callback is never called.
    pub fn cancel(&self) {
        self.abort.abort();
    }

    pub fn is_finished(&self) -> bool {
        self.abort.is_finished()
    }
}

/// Runs `future` on the runtime and hands its result to `done`, on a worker thread. A
/// panic inside becomes an `internal` error, never an unwinding worker. Once the process
/// is exiting, `done` is never called (the result is dropped).
pub fn spawn<F, T>(future: F, done: impl FnOnce(Result<T>) + Send + 'static) -> Result<CallHandle>
where
    F: Future<Output = Result<T>> + Send + 'static,
    T: Send + 'static,
{
    let runtime = runtime()?;
    Ok(finish_on(
        &runtime,
        Box::pin(guarded(future)),
        Live::new(),
        done,
    ))
}

/// Runs `future` for up to [`inline_window`] while the calling thread waits, and hands its
/// result to `done` on the calling thread if it ends within it (then `None`); a call still
/// going on by then ends as with [`spawn`] (then its handle).
///
/// The first poll happens here: a call that needs no I/O (a cache hit, a refused request)
/// ends in it, with no thread hand-off at all. A call that waits goes on on a worker, beside
/// the connection tasks it waits on, and wakes this thread once at its end: polled here
/// instead, every frame of its answer would be a round of wake-ups between the two threads
/// (hyper hands a body over one frame at a time), each the wake-up of a sleeping core on an
/// idle machine, tens of microseconds. For hosts whose calling threads may block (Go, C):
/// an event loop's thread must not, and a runtime thread (a callback starting another
/// call) never does, so there the call is spawned at once.
pub fn start<F, T>(
    future: F,
    done: impl FnOnce(Result<T>) + Send + 'static,
) -> Result<Option<CallHandle>>
where
    F: Future<Output = Result<T>> + Send + 'static,
    T: Send + 'static,
{
    let window = inline_window();
    if window.is_zero() || tokio::runtime::Handle::try_current().is_ok() {
        return spawn(future, done).map(Some);
    }
    let until = std::time::Instant::now() + window;
    let runtime = runtime()?;
    let live = Live::new();
    let mut future = Box::pin(guarded(future));
    // A waker that does nothing is enough: a future left pending is polled again on the
    // worker at once, and that poll sees whatever became ready meanwhile.
    let first = {
        let _context = runtime.enter();
        let mut context = Context::from_waker(Waker::noop());
        future.as_mut().poll(&mut context)
    };
    if let Poll::Ready(out) = first {
        drop(live);
        done(out);
        return Ok(None);
    }
    let handoff = Arc::new(Handoff::default());
    let finished = Arc::clone(&handoff);
    let task = runtime.spawn(async move {
        let _live = live;
        let out = future.await;
        if let Some((done, out)) = finished.finish(out) {
            enter_host(|| done(out));
        }
    });
    match handoff.wait(until, done) {
        Some((done, out)) => {
            done(out);
            Ok(None)
        }
        None => Ok(Some(CallHandle {
            abort: task.abort_handle(),
        })),
    }
}

/// The result of a call moved to a worker, on its way to the thread waiting for it, or,
/// once that thread has stopped waiting, to the callback the thread left behind.
struct Handoff<T> {
    state: Mutex<Waiter<T>>,
    ready: Condvar,
}

enum Waiter<T> {
    Waiting,
    Ready(Result<T>),
    Left(Callback<T>),
    Done,
}

type Callback<T> = Box<dyn FnOnce(Result<T>) + Send>;

impl<T> Default for Handoff<T> {
    fn default() -> Self {
        Handoff {
            state: Mutex::new(Waiter::Waiting),
            ready: Condvar::new(),
        }
    }
}

impl<T> Handoff<T> {
    fn lock(&self) -> MutexGuard<'_, Waiter<T>> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// On the worker, as the call ends: the callback to call with `out` here if the waiting
    /// thread has left, else `None` (the thread takes `out`).
    fn finish(&self, out: Result<T>) -> Option<(Callback<T>, Result<T>)> {
        let mut state = self.lock();
        match std::mem::replace(&mut *state, Waiter::Done) {
            Waiter::Left(done) => Some((done, out)),
            _ => {
                *state = Waiter::Ready(out);
                // Woken after the lock is released, the waiting thread finds it free
                // instead of sleeping on it once more.
                drop(state);
                self.ready.notify_one();
                None
            }
        }
    }

    /// On the calling thread: the result if it comes before `until` (with `done` back, to
    /// call here), else `None`, leaving `done` for the worker.
    fn wait<D>(&self, until: std::time::Instant, done: D) -> Option<(D, Result<T>)>
    where
        D: FnOnce(Result<T>) + Send + 'static,
    {
        let mut state = self.lock();
        while matches!(*state, Waiter::Waiting) {
            let left = until.saturating_duration_since(std::time::Instant::now());
            if left.is_zero() {
                break;
            }
            state = self
                .ready
                .wait_timeout(state, left)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
        match std::mem::replace(&mut *state, Waiter::Done) {
            Waiter::Ready(out) => Some((done, out)),
            _ => {
                *state = Waiter::Left(Box::new(done));
                None
            }
        }
    }
}

/// How long [`start`] keeps a call on the calling thread: `SWITCHYARD_INLINE_WAIT_US`
/// microseconds (0: never), by default 1 ms, far above a call that needs no upstream or a
/// nearby one and far below one a model answers.
pub fn inline_window() -> Duration {
    static WINDOW: std::sync::OnceLock<Duration> = std::sync::OnceLock::new();
    *WINDOW.get_or_init(|| {
        let micros = std::env::var("SWITCHYARD_INLINE_WAIT_US")
            .ok()
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(1_000);
        Duration::from_micros(micros)
    })
}

/// `future` with a panic inside turned into an `internal` error.
fn guarded<T>(future: impl Future<Output = Result<T>>) -> impl Future<Output = Result<T>> {
    AssertUnwindSafe(future)
        .catch_unwind()
        .map(|out| out.unwrap_or_else(|panic| Err(panicked(panic.as_ref()))))
}

/// Drives `future` to its end on `runtime`, then hands the result to `done` (unless the
/// process is exiting by then).
fn finish_on<T: Send + 'static>(
    runtime: &Runtime,
    future: std::pin::Pin<Box<impl Future<Output = Result<T>> + Send + 'static>>,
    live: Live,
    done: impl FnOnce(Result<T>) + Send + 'static,
) -> CallHandle {
    let handle = runtime.spawn(async move {
        let _live = live;
        let out = future.await;
        enter_host(|| done(out));
    });
    CallHandle {
        abort: handle.abort_handle(),
    }
}

/// Runs `f`, turning a panic into an `internal` error: a binding never lets one unwind
/// into its host.
pub fn catch_panic<T>(f: impl FnOnce() -> T) -> Result<T> {
    std::panic::catch_unwind(AssertUnwindSafe(f)).map_err(|panic| panicked(panic.as_ref()))
}

fn panicked(panic: &(dyn std::any::Any + Send)) -> Error {
    let message = if let Some(s) = panic.downcast_ref::<&str>() {
        (*s).to_owned()
    } else if let Some(s) = panic.downcast_ref::<String>() {
        s.clone()
    } else {
        "unknown panic".to_owned()
    };
    Error::internal(format!(
        "internal error in switchyard (a Rust panic): {message}"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn block_on_returns_the_output_and_checks_between_slices() {
        let runtime = runtime().unwrap();
        let mut checks = 0;
        let out = block_on(
            &runtime,
            async {
                tokio::time::sleep(Duration::from_millis(120)).await;
                7
            },
            || {
                checks += 1;
                Ok::<_, ()>(())
            },
        );
        assert_eq!(out, Ok(7));
        assert!(checks >= 2);
    }

    #[test]
    fn an_error_between_slices_drops_the_future() {
        let runtime = runtime().unwrap();
        let out = block_on(&runtime, std::future::pending::<()>(), || {
            Err("interrupted")
        });
        assert_eq!(out, Err("interrupted"));
    }

    #[test]
    fn spawn_delivers_results_and_panics_as_errors() {
        let (tx, rx) = std::sync::mpsc::channel();
        let sent = tx.clone();
        spawn(async { Ok(1) }, move |out| sent.send(out).unwrap()).unwrap();
        assert_eq!(rx.recv().unwrap(), Ok(1));
        #[allow(clippy::panic)]
        spawn(async { panic!("boom") }, move |out: Result<()>| {
            tx.send(out.map(|()| 0)).unwrap()
        })
        .unwrap();
        let error = rx.recv().unwrap().unwrap_err();
        assert_eq!(error.code(), "internal");
        assert!(error.message().contains("boom"));
    }

    #[test]
    fn start_ends_a_quick_call_on_the_calling_thread() {
        let caller = std::thread::current().id();
        let (tx, rx) = std::sync::mpsc::channel();
        let handle = start(async { Ok(3) }, move |out| {
            tx.send((out, std::thread::current().id())).unwrap()
        })
        .unwrap();
        assert!(handle.is_none(), "no handle: the callback has run");
        assert_eq!(rx.try_recv().unwrap(), (Ok(3), caller));
    }

    #[test]
    fn start_waits_for_a_call_that_goes_on_on_a_worker() {
        let caller = std::thread::current().id();
        for _ in 0..50 {
            let (tx, rx) = std::sync::mpsc::channel();
            // Pending at the first poll, done at the next, on a worker.
            let handle = start(
                async {
                    tokio::task::yield_now().await;
                    Ok(6)
                },
                move |out| tx.send((out, std::thread::current().id())).unwrap(),
            )
            .unwrap();
            let (out, thread) = rx.recv_timeout(Duration::from_secs(5)).unwrap();
            assert_eq!(out, Ok(6));
            // Here exactly when no handle came back (a busy machine may take the window).
            assert_eq!(thread == caller, handle.is_none());
            assert!(rx.try_recv().is_err(), "one callback");
        }
    }

    #[test]
    fn start_moves_a_slow_call_to_the_runtime() {
        let caller = std::thread::current().id();
        let (tx, rx) = std::sync::mpsc::channel();
        let slow = inline_window() * 20;
        let handle = start(
            async move {
                tokio::time::sleep(slow).await;
                Ok(4)
            },
            move |out| tx.send((out, std::thread::current().id())).unwrap(),
        )
        .unwrap();
        assert!(handle.is_some(), "still running after the window");
        assert!(rx.try_recv().is_err());
        let (out, thread) = rx.recv_timeout(Duration::from_secs(5)).unwrap();
        assert_eq!(out, Ok(4));
        assert_ne!(thread, caller, "ended on a worker");
    }

    #[test]
    fn start_on_a_runtime_thread_spawns_and_never_blocks_it() {
        let (tx, rx) = std::sync::mpsc::channel();
        runtime().unwrap().block_on(async {
            let handle = start(async { Ok(5) }, move |out| tx.send(out).unwrap()).unwrap();
            assert!(handle.is_some());
        });
        assert_eq!(rx.recv_timeout(Duration::from_secs(5)).unwrap(), Ok(5));
        #[allow(clippy::panic)]
        let panicked = start(async { panic!("inline boom") }, |out: Result<()>| {
            assert!(out.unwrap_err().message().contains("inline boom"));
        });
        assert!(
            panicked.unwrap().is_none(),
            "a panic inline is an error, not an unwind"
        );
    }

    #[test]
    fn a_canceled_call_never_calls_back() {
        let (tx, rx) = std::sync::mpsc::channel::<()>();
        let handle = spawn(std::future::pending::<Result<()>>(), move |_| {
            tx.send(()).unwrap()
        })
        .unwrap();
        handle.cancel();
        assert!(rx.recv_timeout(Duration::from_millis(200)).is_err());
    }

    /// Exit is process-wide, so it is tried in a child process of the test binary.
    #[test]
    fn at_exit_stops_callbacks_and_the_runtime() {
        if std::env::var_os("SWITCHYARD_TEST_AT_EXIT").is_none() {
            let exe = std::env::current_exe().unwrap();
            let out = std::process::Command::new(exe)
                .args([
                    "--exact",
                    "binding::runtime::tests::at_exit_stops_callbacks_and_the_runtime",
                    "--nocapture",
                ])
                .env("SWITCHYARD_TEST_AT_EXIT", "1")
                .output()
                .unwrap();
            let stdout = String::from_utf8_lossy(&out.stdout);
            assert!(out.status.success(), "{stdout}");
            assert!(stdout.contains("1 passed"), "{stdout}");
            return;
        }
        let (tx, rx) = std::sync::mpsc::channel::<&str>();
        // A callback already inside the host when exit begins is waited for.
        let (entered_tx, entered) = std::sync::mpsc::channel::<()>();
        let inside = tx.clone();
        spawn(async { Ok(()) }, move |_| {
            entered_tx.send(()).unwrap();
            std::thread::sleep(Duration::from_millis(100));
            inside.send("finished inside").unwrap();
        })
        .unwrap();
        entered.recv().unwrap();
        // A call still in flight at exit never calls back.
        let late = tx.clone();
        spawn(
            async {
                tokio::time::sleep(Duration::from_millis(300)).await;
                Ok(())
            },
            move |_| late.send("late").unwrap(),
        )
        .unwrap();
        let weak = Arc::downgrade(&runtime().unwrap());
        at_exit();
        assert_eq!(rx.try_recv(), Ok("finished inside"));
        assert!(exiting());
        assert!(weak.upgrade().is_none(), "the runtime was shut down");
        assert_eq!(runtime().unwrap_err().code(), "unavailable");
        assert!(rx.recv_timeout(Duration::from_millis(500)).is_err());
        let mut called = false;
        enter_host(|| called = true);
        assert!(!called);
    }
}
