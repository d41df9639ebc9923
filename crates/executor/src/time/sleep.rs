//! `sleep`, `sleep_until`, `Sleep`, `timeout`, `Timeout` and `Elapsed`.

use super::driver::{self, Registration};
use pin_project_lite::pin_project;
use std::{
    error::Error,
    fmt,
    future::Future,
    pin::Pin,
    task::{Context, Poll},
    time::{Duration, Instant},
};

/// Waits until `duration` has elapsed (Go's `time.Sleep`, without blocking the thread).
///
/// A huge `duration` saturates (about 30 years) instead of overflowing. Nothing is registered
/// with the timer driver until the returned future is first polled, so a `sleep` that is never
/// awaited, or whose deadline has already passed when polled, costs nothing.
///
/// # Examples
///
/// ```
/// use goro_executor::time;
/// use std::time::{Duration, Instant};
///
/// goro_executor::block_on(async {
///     let start = Instant::now();
///     time::sleep(Duration::from_millis(10)).await;
///     assert!(start.elapsed() >= Duration::from_millis(10));
/// });
/// ```
pub fn sleep(duration: Duration) -> Sleep {
    Sleep::new(driver::deadline_after(duration))
}

/// Waits until `deadline` (immediately if it has passed).
///
/// # Examples
///
/// ```
/// use goro_executor::time;
/// use std::time::{Duration, Instant};
///
/// goro_executor::block_on(async {
///     let deadline = Instant::now() + Duration::from_millis(5);
///     time::sleep_until(deadline).await;
///     assert!(Instant::now() >= deadline);
/// });
/// ```
pub fn sleep_until(deadline: Instant) -> Sleep {
    Sleep::new(deadline)
}

/// The future of [`sleep`] and [`sleep_until`]: completes at its deadline, never before.
///
/// It is driven by the timer driver of the runtime current when it is first polled (inside a
/// task: that task's runtime; elsewhere, e.g. in `block_on` on the main thread: the global
/// runtime). Dropping it removes its entry from the driver. It is `Unpin`, so it can be stored
/// in a struct and [`reset`](Sleep::reset) without pinning.
///
/// # Panics
///
/// Polling it after the runtime that drives it has shut down panics.
///
/// # Examples
///
/// ```
/// use goro_executor::time;
/// use std::time::{Duration, Instant};
///
/// goro_executor::block_on(async {
///     let mut s = time::sleep(Duration::from_secs(3600));
///     s.reset(Instant::now() + Duration::from_millis(1));
///     s.await;
/// });
/// ```
#[must_use = "futures do nothing unless you `.await` or poll them"]
pub struct Sleep {
    deadline: Instant,
    registration: Option<Registration>,
}

impl fmt::Debug for Sleep {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sleep")
            .field("deadline", &self.deadline)
            .field("registered", &self.registration.is_some())
            .finish()
    }
}

impl Sleep {
    fn new(deadline: Instant) -> Sleep {
        Sleep {
            deadline,
            registration: None,
        }
    }

    /// The instant this sleep completes at.
    ///
    /// # Examples
    ///
    /// ```
    /// use goro_executor::time;
    /// use std::time::{Duration, Instant};
    ///
    /// let at = Instant::now() + Duration::from_secs(1);
    /// assert_eq!(time::sleep_until(at).deadline(), at);
    /// ```
    pub fn deadline(&self) -> Instant {
        self.deadline
    }

    /// Whether the deadline has passed (the next poll returns `Ready`).
    ///
    /// # Examples
    ///
    /// ```
    /// use goro_executor::time;
    /// use std::time::Duration;
    ///
    /// assert!(time::sleep(Duration::ZERO).is_elapsed());
    /// assert!(!time::sleep(Duration::from_secs(60)).is_elapsed());
    /// ```
    pub fn is_elapsed(&self) -> bool {
        Instant::now() >= self.deadline
    }

    /// Moves the deadline to `deadline`, earlier or later, even if the sleep has completed
    /// already (it then completes again at the new deadline). The driver entry is re-armed in
    /// place, keeping the waker of the task awaiting it.
    ///
    /// # Examples
    ///
    /// ```
    /// use goro_executor::time;
    /// use std::time::{Duration, Instant};
    ///
    /// goro_executor::block_on(async {
    ///     let mut s = time::sleep(Duration::from_millis(1));
    ///     (&mut s).await;
    ///     let again = Instant::now() + Duration::from_millis(2);
    ///     s.reset(again);
    ///     assert_eq!(s.deadline(), again);
    ///     s.await;
    ///     assert!(Instant::now() >= again);
    /// });
    /// ```
    pub fn reset(&mut self, deadline: Instant) {
        self.deadline = deadline;
        if let Some(reg) = &self.registration {
            reg.reset(deadline, None);
        }
    }

    /// Creates a sleep already registered with `driver` (for the driver's own tests).
    #[cfg(all(test, not(loom)))]
    pub(super) fn registered_with(
        driver: &driver::Driver,
        deadline: Instant,
        cx: &mut Context<'_>,
    ) -> Sleep {
        let (reg, _) = driver
            .register(
                deadline,
                Instant::now(),
                driver::waker_notify(cx.waker().clone()),
                true,
            )
            .expect("owned");
        Sleep {
            deadline,
            registration: Some(reg),
        }
    }
}

impl Future for Sleep {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.get_mut();
        match &this.registration {
            Some(reg) => reg.poll_fired(cx),
            None => {
                let now = Instant::now();
                if now >= this.deadline {
                    return Poll::Ready(());
                }
                let notify = driver::waker_notify(cx.waker().clone());
                let deadline = this.deadline;
                let (reg, fired) = super::with_driver(|d| d.register(deadline, now, notify, true))
                    .expect("an owned entry always has a registration");
                this.registration = Some(reg);
                if fired {
                    Poll::Ready(())
                } else {
                    Poll::Pending
                }
            }
        }
    }
}

/// Error of [`timeout`]: the deadline passed before the future completed.
///
/// # Examples
///
/// ```
/// use goro_executor::time;
/// use std::time::Duration;
///
/// goro_executor::block_on(async {
///     let err = time::timeout(Duration::from_millis(1), std::future::pending::<()>())
///         .await
///         .unwrap_err();
///     assert_eq!(err.to_string(), "deadline has elapsed");
/// });
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Elapsed(());

impl fmt::Display for Elapsed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("deadline has elapsed")
    }
}

impl Error for Elapsed {}

/// Runs `future` with a time limit: `Ok(output)` if it completes within `duration`, otherwise
/// `Err(Elapsed)` and `future` is dropped (cancelled).
///
/// The future is polled before the timer is looked at, so a future that is ready at once
/// completes with `Ok` even with a zero duration, and never touches the timer driver.
///
/// # Examples
///
/// ```
/// use goro_executor::time::{self, Elapsed};
/// use std::time::Duration;
///
/// goro_executor::block_on(async {
///     assert_eq!(time::timeout(Duration::from_secs(1), async { 7 }).await, Ok(7));
///     let slow = time::sleep(Duration::from_secs(60));
///     let r: Result<(), Elapsed> = time::timeout(Duration::from_millis(5), slow).await;
///     assert!(r.is_err());
/// });
/// ```
pub fn timeout<F: Future>(duration: Duration, future: F) -> Timeout<F> {
    Timeout {
        future,
        sleep: sleep(duration),
    }
}

pin_project! {
    /// The future of [`timeout`].
    ///
    /// # Examples
    ///
    /// ```
    /// use goro_executor::time::{self, Timeout};
    /// use std::time::Duration;
    ///
    /// let t: Timeout<_> = time::timeout(Duration::from_millis(1), async { 1 });
    /// assert_eq!(goro_executor::block_on(t), Ok(1));
    /// ```
    #[must_use = "futures do nothing unless you `.await` or poll them"]
    pub struct Timeout<F> {
        #[pin]
        future: F,
        sleep: Sleep,
    }
}

impl<F: fmt::Debug> fmt::Debug for Timeout<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Timeout")
            .field("future", &self.future)
            .field("sleep", &self.sleep)
            .finish()
    }
}

impl<F> Timeout<F> {
    /// The wrapped future.
    ///
    /// # Examples
    ///
    /// ```
    /// use goro_executor::time;
    /// use std::time::Duration;
    ///
    /// let t = time::timeout(Duration::from_secs(1), std::future::ready(3));
    /// assert_eq!(goro_executor::block_on(t.into_inner()), 3);
    /// ```
    pub fn into_inner(self) -> F {
        self.future
    }
}

impl<F: Future> Future for Timeout<F> {
    type Output = Result<F::Output, Elapsed>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        if let Poll::Ready(v) = this.future.poll(cx) {
            return Poll::Ready(Ok(v));
        }
        match Pin::new(this.sleep).poll(cx) {
            Poll::Ready(()) => Poll::Ready(Err(Elapsed(()))),
            Poll::Pending => Poll::Pending,
        }
    }
}
