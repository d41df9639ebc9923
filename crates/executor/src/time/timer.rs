//! Go's channel timers: `after`, `tick`, `Timer` and `Ticker`.

use super::driver::{self, Registration};
use goro_channel::{Receiver, RecvError};
use std::{
    fmt,
    time::{Duration, Instant},
};

/// Go's `time.After`: a channel that receives the current `Instant` once `duration` has
/// elapsed.
///
/// It receives exactly one value. Like Go's, the channel then stays open (a second receive
/// waits, it does not fail), so a `select!` loop that keeps the same `after` channel waits
/// instead of spinning. The driver keeps the channel's sender only while a receiver lives: an
/// `after` whose receivers are all dropped is reclaimed (when it fires, or at the next sweep of
/// abandoned timers), so `after` in a loop does not leak.
///
/// From a runtime's task it is driven by that runtime, elsewhere by the global runtime. A huge
/// `duration` saturates (about 30 years) instead of overflowing.
///
/// # Examples
///
/// ```
/// use goro_executor::time;
/// use std::time::{Duration, Instant};
///
/// goro_executor::block_on(async {
///     let start = Instant::now();
///     let rx = time::after(Duration::from_millis(5));
///     let fired_at = rx.recv().await.unwrap();
///     assert!(fired_at >= start + Duration::from_millis(5));
///     assert!(rx.try_recv().is_err()); // exactly one value, and the channel is still open
///     assert!(!rx.is_closed());
/// });
/// ```
pub fn after(duration: Duration) -> Receiver<Instant> {
    let (tx, rx) = goro_channel::bounded(1);
    let deadline = driver::deadline_after(duration);
    let notify = driver::once_notify(tx);
    super::with_driver(|d| d.register(deadline, Instant::now(), notify, false));
    rx
}

/// Go's `time.Tick`: a channel that receives the current `Instant` every `period`.
///
/// The channel holds one tick: a receiver slower than `period` misses ticks instead of
/// finding them piled up (as in Go). The ticks stop, and the driver forgets the timer, once
/// every receiver is dropped. Periods are rounded up to whole milliseconds (the driver's
/// resolution).
///
/// # Examples
///
/// ```
/// use goro_executor::time;
/// use std::time::Duration;
///
/// goro_executor::block_on(async {
///     let ticks = time::tick(Duration::from_millis(2));
///     let a = ticks.recv().await.unwrap();
///     let b = ticks.recv().await.unwrap();
///     assert!(b > a);
/// });
/// ```
///
/// # Panics
///
/// If `period` is zero.
pub fn tick(period: Duration) -> Receiver<Instant> {
    check_period(period, "tick");
    let (tx, rx) = goro_channel::bounded(1);
    let deadline = driver::deadline_after(period);
    let notify = driver::tick_notify(tx, driver::period_ticks(period));
    super::with_driver(|d| d.register(deadline, Instant::now(), notify, false));
    rx
}

fn check_period(period: Duration, what: &str) {
    assert!(
        !period.is_zero(),
        "goro::time::{what}: the period must be greater than zero (got a zero Duration)"
    );
}

/// Go's `time.Timer`: sends the current `Instant` on its channel once, when it fires.
///
/// [`stop`](Timer::stop) and [`reset`](Timer::reset) follow Go 1.23: after either returns, a
/// receive never sees a stale value from before the call. The channel stays open while the
/// `Timer` lives; dropping the `Timer` removes its driver entry and closes the channel (a
/// cloned receiver then gets `RecvError`).
///
/// # Examples
///
/// ```
/// use goro_executor::time::Timer;
/// use std::time::{Duration, Instant};
///
/// goro_executor::block_on(async {
///     let start = Instant::now();
///     let timer = Timer::new(Duration::from_millis(5));
///     let at = timer.recv().await.unwrap();
///     assert!(at >= start + Duration::from_millis(5));
///     assert!(!timer.stop()); // already fired and received
/// });
/// ```
pub struct Timer {
    rx: Receiver<Instant>,
    registration: Registration,
}

impl fmt::Debug for Timer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Timer")
            .field("pending", &self.registration.is_pending())
            .finish()
    }
}

impl Timer {
    /// A timer that fires once `duration` has elapsed (Go's `time.NewTimer`).
    ///
    /// # Examples
    ///
    /// ```
    /// use goro_executor::time::Timer;
    /// use std::time::Duration;
    ///
    /// let timer = Timer::new(Duration::from_secs(60));
    /// assert!(timer.stop());
    /// ```
    pub fn new(duration: Duration) -> Timer {
        let (tx, rx) = goro_channel::bounded(1);
        let deadline = driver::deadline_after(duration);
        let notify = driver::once_notify(tx);
        let (registration, _) =
            super::with_driver(|d| d.register(deadline, Instant::now(), notify, true))
                .expect("an owned entry always has a registration");
        Timer { rx, registration }
    }

    /// Waits for the timer to fire and returns the `Instant` it fired at.
    ///
    /// # Errors
    ///
    /// `RecvError` only if the channel was closed through [`receiver`](Timer::receiver) or the
    /// runtime driving the timer shut down.
    ///
    /// # Cancel safety
    ///
    /// Dropping the future before it completes loses nothing: the value stays in the channel.
    ///
    /// # Examples
    ///
    /// ```
    /// use goro_executor::time::Timer;
    /// use std::time::Duration;
    ///
    /// goro_executor::block_on(async {
    ///     let timer = Timer::new(Duration::from_millis(1));
    ///     assert!(timer.recv().await.is_ok());
    /// });
    /// ```
    pub async fn recv(&self) -> Result<Instant, RecvError> {
        self.rx.recv().await
    }

    /// The timer's channel, for `select!`.
    ///
    /// # Examples
    ///
    /// ```
    /// use goro_executor::time::Timer;
    /// use std::time::Duration;
    ///
    /// let timer = Timer::new(Duration::ZERO);
    /// let got = goro_executor::block_on(timer.receiver().recv());
    /// assert!(got.is_ok());
    /// ```
    pub fn receiver(&self) -> &Receiver<Instant> {
        &self.rx
    }

    /// Stops the timer. Returns `true` if that prevented a value from being received: the
    /// timer was pending, or it had fired but its value had not been received yet (the value
    /// is discarded). Returns `false` if it was already stopped or its value was received.
    ///
    /// # Examples
    ///
    /// ```
    /// use goro_executor::time::Timer;
    /// use std::time::Duration;
    ///
    /// let timer = Timer::new(Duration::from_secs(60));
    /// assert!(timer.stop());
    /// assert!(!timer.stop());
    /// assert!(timer.receiver().try_recv().is_err());
    /// ```
    pub fn stop(&self) -> bool {
        let stopped = self.registration.stop();
        let discarded = self.rx.try_recv().is_ok();
        stopped || discarded
    }

    /// Re-arms the timer to fire once `duration` has elapsed from now. Returns what
    /// [`stop`](Timer::stop) would have (`true` if the timer was active), as Go's `Reset`.
    ///
    /// # Examples
    ///
    /// ```
    /// use goro_executor::time::Timer;
    /// use std::time::{Duration, Instant};
    ///
    /// goro_executor::block_on(async {
    ///     let timer = Timer::new(Duration::from_secs(60));
    ///     assert!(timer.reset(Duration::from_millis(2)));
    ///     let start = Instant::now();
    ///     timer.recv().await.unwrap();
    ///     assert!(!timer.reset(Duration::from_millis(1)));
    ///     assert!(timer.recv().await.unwrap() >= start);
    /// });
    /// ```
    pub fn reset(&self, duration: Duration) -> bool {
        let was_active = self.stop();
        self.registration
            .reset(driver::deadline_after(duration), None);
        was_active
    }
}

/// Go's `time.Ticker`: sends the current `Instant` on its channel every period.
///
/// The channel holds one tick, so a slow receiver misses ticks rather than piling them up.
/// Ticks keep their phase (every `period` from the start, skipping missed ones). Dropping the
/// `Ticker` removes its driver entry and closes the channel.
///
/// # Examples
///
/// ```
/// use goro_executor::time::Ticker;
/// use std::time::Duration;
///
/// goro_executor::block_on(async {
///     let ticker = Ticker::new(Duration::from_millis(2));
///     for _ in 0..3 {
///         ticker.recv().await.unwrap();
///     }
///     ticker.stop();
/// });
/// ```
pub struct Ticker {
    rx: Receiver<Instant>,
    registration: Registration,
}

impl fmt::Debug for Ticker {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Ticker")
            .field("running", &self.registration.is_pending())
            .finish()
    }
}

impl Ticker {
    /// A ticker firing every `period`, the first time one `period` from now (Go's
    /// `time.NewTicker`). Periods are rounded up to whole milliseconds.
    ///
    /// # Panics
    ///
    /// If `period` is zero.
    ///
    /// # Examples
    ///
    /// ```
    /// use goro_executor::time::Ticker;
    /// use std::time::Duration;
    ///
    /// let ticker = Ticker::new(Duration::from_millis(10));
    /// ticker.stop();
    /// ```
    pub fn new(period: Duration) -> Ticker {
        check_period(period, "Ticker::new");
        let (tx, rx) = goro_channel::bounded(1);
        let deadline = driver::deadline_after(period);
        let notify = driver::tick_notify(tx, driver::period_ticks(period));
        let (registration, _) =
            super::with_driver(|d| d.register(deadline, Instant::now(), notify, true))
                .expect("an owned entry always has a registration");
        Ticker { rx, registration }
    }

    /// Waits for the next tick and returns the `Instant` it fired at.
    ///
    /// # Errors
    ///
    /// `RecvError` only if the channel was closed through [`receiver`](Ticker::receiver) or the
    /// runtime driving the ticker shut down.
    ///
    /// # Examples
    ///
    /// ```
    /// use goro_executor::time::Ticker;
    /// use std::time::Duration;
    ///
    /// goro_executor::block_on(async {
    ///     let ticker = Ticker::new(Duration::from_millis(1));
    ///     assert!(ticker.recv().await.is_ok());
    /// });
    /// ```
    pub async fn recv(&self) -> Result<Instant, RecvError> {
        self.rx.recv().await
    }

    /// The ticker's channel, for `select!`.
    ///
    /// # Examples
    ///
    /// ```
    /// use goro_executor::time::Ticker;
    /// use std::time::Duration;
    ///
    /// let ticker = Ticker::new(Duration::from_millis(1));
    /// assert!(goro_executor::block_on(ticker.receiver().recv()).is_ok());
    /// ```
    pub fn receiver(&self) -> &Receiver<Instant> {
        &self.rx
    }

    /// Stops the ticker: no tick is sent after this returns, and a tick sent but not yet
    /// received is discarded. The channel stays open; [`reset`](Ticker::reset) restarts it.
    ///
    /// # Examples
    ///
    /// ```
    /// use goro_executor::time::Ticker;
    /// use std::time::Duration;
    ///
    /// let ticker = Ticker::new(Duration::from_millis(1));
    /// ticker.stop();
    /// std::thread::sleep(Duration::from_millis(5));
    /// assert!(ticker.receiver().try_recv().is_err());
    /// ```
    pub fn stop(&self) {
        self.registration.stop();
        let _ = self.rx.try_recv();
    }

    /// Stops the ticker and restarts it with a new `period`: the next tick comes one `period`
    /// from now (Go's `Ticker.Reset`).
    ///
    /// # Panics
    ///
    /// If `period` is zero.
    ///
    /// # Examples
    ///
    /// ```
    /// use goro_executor::time::Ticker;
    /// use std::time::Duration;
    ///
    /// goro_executor::block_on(async {
    ///     let ticker = Ticker::new(Duration::from_secs(3600));
    ///     ticker.reset(Duration::from_millis(1));
    ///     assert!(ticker.recv().await.is_ok());
    /// });
    /// ```
    pub fn reset(&self, period: Duration) {
        check_period(period, "Ticker::reset");
        self.stop();
        self.registration.reset(
            driver::deadline_after(period),
            Some(driver::period_ticks(period)),
        );
    }
}
