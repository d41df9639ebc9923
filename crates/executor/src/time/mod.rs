//! Go's `time` package for goro: sleeping, timeouts and channel timers, driven by the runtime.
//!
//! | Go | goro |
//! |---|---|
//! | `time.Sleep(d)` | [`sleep(d)`](sleep())`.await` |
//! | sleep until `t` | [`sleep_until(t)`](sleep_until)`.await` |
//! | `select { case v := <-ch: … case <-time.After(d): … }` | `select!` with `recv(`[`after(d)`](after)`)` |
//! | `ctx, _ := context.WithTimeout(…)` around one call | [`timeout(d, fut)`](timeout)`.await` -> `Result<T, Elapsed>` |
//! | `time.Tick(d)` | [`tick(d)`](tick) |
//! | `time.NewTicker(d)`, `t.C`, `t.Stop()`, `t.Reset(d)` | [`Ticker::new(d)`](Ticker::new), [`recv`](Ticker::recv) / [`receiver`](Ticker::receiver), [`stop`](Ticker::stop), [`reset`](Ticker::reset) |
//! | `time.NewTimer(d)`, `t.C`, `t.Stop()`, `t.Reset(d)` | [`Timer::new(d)`](Timer::new), [`recv`](Timer::recv) / [`receiver`](Timer::receiver), [`stop`](Timer::stop), [`reset`](Timer::reset) |
//! | `for range time.Tick(d)` as a stream | [`interval(d)`](interval()) (a `Stream`) |
//!
//! Times are `std::time::{Duration, Instant}`. The resolution is one millisecond: a timer fires
//! at the first millisecond boundary (counted from the runtime's start) at or after its
//! deadline, never before it. A huge duration saturates (about 30 years) instead of
//! overflowing.
//!
//! Timers belong to the runtime current where they are first polled (futures) or created
//! (channel timers): inside a task, that task's runtime; elsewhere (for example in
//! `block_on` on the main thread) the global runtime, whose workers drive them. The channels of
//! [`after`], [`tick`], [`Timer`] and [`Ticker`] are ordinary goro channel receivers, usable in
//! `select!` and from plain threads.
//!
//! # Examples
//!
//! ```
//! use goro_executor::time;
//! use std::time::Duration;
//!
//! goro_executor::block_on(async {
//!     time::sleep(Duration::from_millis(1)).await;
//!     let slow = std::future::pending::<()>();
//!     assert!(time::timeout(Duration::from_millis(5), slow).await.is_err());
//!     let fired = time::after(Duration::from_millis(1)).recv().await;
//!     assert!(fired.is_ok());
//! });
//! ```
//!
//! # How it works
//!
//! Each runtime owns a timer driver: sharded hierarchical timing wheels (1 ms ticks, O(1)
//! insert and cancel) that the workers advance when they look for work, and whose earliest
//! deadline bounds how long an idle worker parks. See `driver.rs` and `wheel.rs` for the
//! design notes.

mod driver;
mod earliest;
mod interval;
mod sleep;
mod timer;
mod wheel;

#[cfg(all(test, not(loom)))]
mod tests;

pub(crate) use driver::Driver;

/// Loom models of the timer driver (`--cfg loom` only), run by `tests/loom_time.rs`.
#[cfg(loom)]
#[doc(hidden)]
pub mod loom_models {
    pub use super::driver::loom_models::{
        fire_vs_drop_frees_the_entry, fire_vs_poll_never_loses_the_wakeup,
        fire_vs_stop_leaves_no_stale_value,
    };
    pub use super::earliest::loom_models::{
        raise_vs_lower_never_loses_a_deadline, two_recomputes_and_a_lower,
    };
}
pub use interval::{interval, Interval};
pub use sleep::{sleep, sleep_until, timeout, Elapsed, Sleep, Timeout};
pub use timer::{after, tick, Ticker, Timer};

/// Calls `f` with the timer driver of the current runtime (the global one outside any
/// runtime), without cloning any handle.
fn with_driver<R>(f: impl FnOnce(&Driver) -> R) -> R {
    crate::runtime::with_current(|handle| f(handle.timer_driver()))
}
