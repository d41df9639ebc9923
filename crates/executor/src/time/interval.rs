//! `Interval`: periodic ticks as a `Stream`.

use super::{driver, sleep::Sleep};
use futures_core::Stream;
use std::{
    fmt,
    future::{poll_fn, Future},
    pin::Pin,
    task::{Context, Poll},
    time::{Duration, Instant},
};

/// A stream yielding an `Instant` every `period`, the first one `period` from now.
///
/// Unlike tokio's `interval`, the first tick comes after one period, as with Go's `Ticker`.
/// A consumer that falls behind skips the missed ticks (the next deadline is the first one
/// still in the future, keeping the phase) instead of receiving a burst.
///
/// # Panics
///
/// If `period` is zero.
///
/// # Examples
///
/// ```
/// use futures::StreamExt;
/// use goro_executor::time;
/// use std::time::Duration;
///
/// goro_executor::block_on(async {
///     let ticks: Vec<_> = time::interval(Duration::from_millis(1)).take(3).collect().await;
///     assert!(ticks[0] < ticks[1] && ticks[1] < ticks[2]);
/// });
/// ```
pub fn interval(period: Duration) -> Interval {
    assert!(
        !period.is_zero(),
        "goro::time::interval: the period must be greater than zero (got a zero Duration)"
    );
    Interval {
        sleep: super::sleep_until(driver::deadline_after(period)),
        period,
    }
}

/// The stream of [`interval`].
///
/// # Examples
///
/// ```
/// use goro_executor::time;
/// use std::time::{Duration, Instant};
///
/// goro_executor::block_on(async {
///     let start = Instant::now();
///     let mut iv = time::interval(Duration::from_millis(2));
///     let first = iv.tick().await;
///     assert!(first >= start + Duration::from_millis(2));
///     assert_eq!(iv.period(), Duration::from_millis(2));
/// });
/// ```
#[must_use = "streams do nothing unless polled"]
pub struct Interval {
    sleep: Sleep,
    period: Duration,
}

impl fmt::Debug for Interval {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Interval")
            .field("period", &self.period)
            .field("next", &self.sleep.deadline())
            .finish()
    }
}

impl Interval {
    /// Waits for the next tick and returns its scheduled `Instant`.
    ///
    /// # Cancel safety
    ///
    /// Dropping the future before it completes loses no tick.
    ///
    /// # Examples
    ///
    /// ```
    /// use goro_executor::time;
    /// use std::time::Duration;
    ///
    /// goro_executor::block_on(async {
    ///     let mut iv = time::interval(Duration::from_millis(1));
    ///     let a = iv.tick().await;
    ///     let b = iv.tick().await;
    ///     assert!(b >= a + Duration::from_millis(1));
    /// });
    /// ```
    pub async fn tick(&mut self) -> Instant {
        poll_fn(|cx| self.poll_tick(cx)).await
    }

    /// Polls for the next tick.
    ///
    /// # Examples
    ///
    /// ```
    /// use goro_executor::time;
    /// use std::{future::poll_fn, time::Duration};
    ///
    /// goro_executor::block_on(async {
    ///     let mut iv = time::interval(Duration::from_millis(1));
    ///     poll_fn(|cx| iv.poll_tick(cx)).await;
    /// });
    /// ```
    pub fn poll_tick(&mut self, cx: &mut Context<'_>) -> Poll<Instant> {
        if Pin::new(&mut self.sleep).poll(cx).is_pending() {
            return Poll::Pending;
        }
        let due = self.sleep.deadline();
        let now = Instant::now();
        let period = self.period.as_nanos();
        // The first deadline after `now` on the original phase (missed ticks are skipped).
        let steps = now.saturating_duration_since(due).as_nanos() / period + 1;
        let advance = u64::try_from(period.saturating_mul(steps)).unwrap_or(u64::MAX);
        let next = due
            .checked_add(Duration::from_nanos(advance))
            .unwrap_or_else(|| driver::deadline_after(Duration::MAX));
        self.sleep.reset(next);
        Poll::Ready(due)
    }

    /// The period.
    ///
    /// # Examples
    ///
    /// ```
    /// use goro_executor::time;
    /// use std::time::Duration;
    ///
    /// assert_eq!(time::interval(Duration::from_secs(1)).period(), Duration::from_secs(1));
    /// ```
    pub fn period(&self) -> Duration {
        self.period
    }

    /// Restarts the interval: the next tick comes one period from now.
    ///
    /// # Examples
    ///
    /// ```
    /// use goro_executor::time;
    /// use std::time::{Duration, Instant};
    ///
    /// goro_executor::block_on(async {
    ///     let mut iv = time::interval(Duration::from_millis(2));
    ///     let start = Instant::now();
    ///     iv.reset();
    ///     assert!(iv.tick().await >= start + Duration::from_millis(2));
    /// });
    /// ```
    pub fn reset(&mut self) {
        self.sleep.reset(driver::deadline_after(self.period));
    }
}

impl Stream for Interval {
    type Item = Instant;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Instant>> {
        self.get_mut().poll_tick(cx).map(Some)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (usize::MAX, None)
    }
}
