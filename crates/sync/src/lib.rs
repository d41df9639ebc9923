//! Go's `sync` package as async primitives that also work from plain threads.
//!
//! Every primitive here is runtime-agnostic: its futures work on any executor (goro's, tokio,
//! `futures::executor`), and each has a `_blocking` twin for plain threads. Blocking forms poll
//! the same futures, so both wait in the same fair queue.
//!
//! | Go                          | goro-sync                                                  |
//! |-----------------------------|------------------------------------------------------------|
//! | `sync.Mutex`                | [`Mutex<T>`]: `lock().await`, `lock_blocking()`, `try_lock()` |
//! | `sync.RWMutex`              | [`RwMutex<T>`]: `read`/`write`, `_blocking` and `try_` forms |
//! | `sync.WaitGroup`            | [`WaitGroup`]: `add`, `done`, `wait().await`, `go(fut)`    |
//! | `sync.Once`                 | [`Once`]: `call_once(\|\| ..)`                              |
//! | `sync.OnceValue`            | [`OnceCell<T>`]: `get_or_init(\|\| async { .. }).await`    |
//! | `sync.Cond`                 | [`Cond`]: `wait(guard).await`, `signal()`, `broadcast()`   |
//! | `x/sync/semaphore`          | [`Semaphore`]: `acquire(n).await`, weighted, FIFO          |
//! | `x/sync/errgroup`           | `ErrGroup<E>` (feature `spawn`): `go`, `set_limit`, `wait` |
//! | `sync/atomic`               | [`atomic`]: std's atomics, a name table, [`atomic::Value`] |
//!
//! # Example
//!
//! ```
//! use goro_sync::{Mutex, WaitGroup};
//! use std::sync::Arc;
//!
//! let total = Arc::new(Mutex::new(0));
//! let wg = WaitGroup::new();
//! for i in 1..=10 {
//!     wg.add(1);
//!     let (total, wg) = (Arc::clone(&total), wg.clone());
//!     std::thread::spawn(move || {
//!         futures::executor::block_on(async { *total.lock().await += i });
//!         wg.done();
//!     });
//! }
//! wg.wait_blocking();
//! assert_eq!(*total.lock_blocking(), 55);
//! ```
//!
//! # How it works
//!
//! `Mutex`, `Semaphore`, `OnceCell` and `Once` share one batch semaphore with a FIFO waiter
//! queue (`batch.rs`, `queue.rs`): Go's barging mutex with its starvation mode for `Mutex`, FIFO
//! hand-off for the others. `WaitGroup` and `Cond` use a notification list on the same queue;
//! `RwMutex` combines a mutex for its writers, an atomic reader count and two notification
//! lists, after Go's `sync.RWMutex` (`rwmutex.rs`). Every wait in the crate starts and ends in
//! that queue. All futures are `Unpin` and cancellation-safe: dropping one never leaves a lock
//! held, permits lost, or a waiter stuck.

pub mod atomic;
mod batch;
mod block;
mod cond;
#[cfg(feature = "spawn")]
mod errgroup;
mod loom;
mod mutex;
mod once;
mod queue;
mod rwmutex;
mod semaphore;
mod waitgroup;

pub use cond::Cond;
#[cfg(feature = "spawn")]
pub use errgroup::ErrGroup;
pub use mutex::{Lock, LockOwned, Mutex, MutexGuard, OwnedMutexGuard};
pub use once::{Once, OnceCell};
pub use rwmutex::{Read, RwMutex, RwMutexReadGuard, RwMutexWriteGuard, Write};
pub use semaphore::{Acquire, AcquireError, Permit, Semaphore};
pub use waitgroup::{Wait, WaitGroup};
