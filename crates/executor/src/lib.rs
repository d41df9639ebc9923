//! goro-executor: the scheduler that runs goroutines.
//!
//! A goroutine is a `Send + 'static` future [`spawn`]ed onto a pool of worker threads. The
//! pool is a work-stealing scheduler in the style of Go's runtime: per-worker run queues, a
//! global injector, a LIFO slot so that a task woken by the running task runs next, and
//! parking that wakes only as many workers as there is work for.
//!
//! ```
//! use goro_executor::{block_on, spawn};
//!
//! let handles: Vec<_> = (0..10u64).map(|i| spawn(async move { i * i })).collect();
//! let sum: u64 = block_on(async {
//!     let mut sum = 0;
//!     for h in handles {
//!         sum += h.await.unwrap();
//!     }
//!     sum
//! });
//! assert_eq!(sum, 285);
//! ```
//!
//! The free functions use the *current* runtime: inside a task, the runtime running it;
//! elsewhere a global runtime started on first use with `GORO_MAXPROCS` workers (default: one
//! per available core). [`runtime::Builder`] builds explicit runtimes.
//!
//! Modules, each opening with a note on its mechanism:
//! `scheduler` (workers, LIFO slot, fairness, parking, shutdown), `queue` (the stealable
//! local run queue), `idle` (who sleeps, who wakes), `task` (the task wrapper, [`JoinHandle`],
//! [`JoinError`]), `registry` (live goroutines), `blocking` (the blocking pool),
//! `block_on`, [`runtime`] and [`time`].

mod block_on;
mod blocking;
mod loom;
mod registry;
mod scheduler;
mod task;
mod yield_now;

#[cfg(not(loom))]
mod idle;
#[cfg(not(loom))]
mod queue;
#[cfg(not(loom))]
mod slot;

/// The idle state and the local run queue, public only for the loom models in `tests/`.
#[cfg(loom)]
#[doc(hidden)]
pub mod idle;
/// See [`idle`].
#[cfg(loom)]
#[doc(hidden)]
pub mod queue;
/// See [`idle`].
#[cfg(loom)]
#[doc(hidden)]
pub mod slot;

pub mod runtime;
pub mod time;

pub use task::{JoinError, JoinHandle};
pub use yield_now::{yield_now, YieldNow};

use std::{future::Future, panic::Location};

/// Spawns a goroutine: runs `fut` on the current runtime's worker threads.
///
/// The returned [`JoinHandle`] gives the result; dropping it detaches the task, which keeps
/// running (like `go f()`). A panic inside the task is caught and reported through the handle
/// as a [`JoinError`]; it never takes a worker down.
///
/// Inside a task of a [`runtime::Runtime`] (or its `block_on`) the task goes to that runtime;
/// anywhere else, to the global runtime.
///
/// # Panics
///
/// Panics if the global runtime has to start and `GORO_MAXPROCS` is invalid.
///
/// # Examples
///
/// ```
/// let h = goro_executor::spawn(async {
///     let child = goro_executor::spawn(async { 2 });
///     child.await.unwrap() + 1
/// });
/// assert_eq!(goro_executor::block_on(h).unwrap(), 3);
/// ```
#[track_caller]
pub fn spawn<F>(fut: F) -> JoinHandle<F::Output>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    let location = Location::caller();
    runtime::with_current(move |h| h.shared.spawn(fut, location))
}

/// Runs a blocking closure on the current runtime's blocking pool, a separate set of threads
/// that grows on demand (up to 512 by default) and shrinks when idle, so that blocking calls
/// do not stall the goroutines.
///
/// [`JoinHandle::abort`] only has an effect before the closure starts.
///
/// # Panics
///
/// Panics if the global runtime has to start and `GORO_MAXPROCS` is invalid. A panic inside
/// `f` is reported through the handle.
///
/// # Examples
///
/// ```
/// let h = goro_executor::spawn_blocking(|| {
///     std::thread::sleep(std::time::Duration::from_millis(10));
///     "done"
/// });
/// assert_eq!(goro_executor::block_on(h).unwrap(), "done");
/// ```
#[track_caller]
pub fn spawn_blocking<F, R>(f: F) -> JoinHandle<R>
where
    F: FnOnce() -> R + Send + 'static,
    R: Send + 'static,
{
    let location = Location::caller();
    runtime::with_current(move |h| h.shared.spawn_blocking(f, location))
}

/// Runs `fut` to completion on the current thread, the "main goroutine": spawned tasks run on
/// the worker threads meanwhile.
///
/// # Panics
///
/// A panic in `fut` propagates to the caller. Calling `block_on` on a runtime worker thread
/// (from inside a goroutine) panics with a message saying so, rather than blocking the worker:
/// use `.await` there, or [`spawn_blocking`].
///
/// # Examples
///
/// ```
/// let v = goro_executor::block_on(async { 1 + 2 });
/// assert_eq!(v, 3);
/// ```
#[track_caller]
pub fn block_on<F: Future>(fut: F) -> F::Output {
    block_on::check_not_on_worker();
    block_on::block_on(fut)
}
