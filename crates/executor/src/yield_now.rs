//! `yield_now`: give other tasks a turn.
//!
//! The future wakes its own task and returns `Pending` once. async-task reports a wake of a
//! running task as `woken_while_running`, and the scheduler puts such a task at the *back* of
//! the worker's local queue (not in the LIFO slot), behind every task that is ready.

use std::{
    future::Future,
    pin::Pin,
    task::{Context, Poll},
};

/// Yields to the scheduler: the task goes behind the tasks that are ready to run, like Go's
/// `runtime.Gosched()`.
///
/// # Examples
///
/// ```
/// goro_executor::block_on(async {
///     for _ in 0..3 {
///         goro_executor::yield_now().await;
///     }
/// });
/// ```
pub fn yield_now() -> YieldNow {
    YieldNow { yielded: false }
}

/// The future returned by [`yield_now`].
///
/// # Examples
///
/// ```
/// let fut: goro_executor::YieldNow = goro_executor::yield_now();
/// goro_executor::block_on(fut);
/// ```
#[derive(Debug)]
#[must_use = "futures do nothing unless you `.await` or poll them"]
pub struct YieldNow {
    yielded: bool,
}

impl Future for YieldNow {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.yielded {
            return Poll::Ready(());
        }
        self.yielded = true;
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}
