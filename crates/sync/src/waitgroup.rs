//! `WaitGroup`: Go's `sync.WaitGroup`.
//!
//! A counter and a [`Notify`] list. `done()` that brings the counter to zero notifies every
//! waiter registered at that moment; a waiter checks the counter under the list lock before
//! registering, so it cannot miss that notification, and once notified it returns even if the
//! group has been reused (`add`) since — Go's behaviour.

use crate::{block::block_on, loom::AtomicUsize, queue::Notify};
use std::{
    fmt,
    future::Future,
    pin::Pin,
    sync::{
        atomic::Ordering::{AcqRel, Acquire},
        Arc,
    },
    task::{Context, Poll},
};

// `repr(C)`, counter first: with std's current `Arc` layout (strong and weak counts, then the
// value) it sits 16 bytes after the strong count, on the same cache line for 3 of the 4
// 16-byte-aligned addresses an allocation can start at, so every task's clone, `done()` and
// drop touch one line. Left to Rust, the counter went after the 80-byte `Notify`, 96 bytes
// from the strong count, and each task moved two lines.
#[repr(C)]
struct Inner {
    count: AtomicUsize,
    waiters: Notify,
}

/// Waits for a collection of tasks or threads to finish, like Go's `sync.WaitGroup`.
///
/// Cloning is cheap (an `Arc`); every clone is the same group. Call [`add`](WaitGroup::add)
/// before starting work, [`done`](WaitGroup::done) when a piece finishes, and
/// [`wait`](WaitGroup::wait) (or [`wait_blocking`](WaitGroup::wait_blocking)) to wait until the
/// counter is zero. A group can be reused once the counter is back at zero.
///
/// # Examples
///
/// ```
/// use goro_sync::WaitGroup;
///
/// let wg = WaitGroup::new();
/// for _ in 0..3 {
///     wg.add(1);
///     let wg = wg.clone();
///     std::thread::spawn(move || wg.done());
/// }
/// wg.wait_blocking();
/// assert_eq!(wg.count(), 0);
/// ```
#[derive(Clone)]
pub struct WaitGroup {
    inner: Arc<Inner>,
}

impl WaitGroup {
    /// Creates a group with a counter of zero.
    ///
    /// # Examples
    ///
    /// ```
    /// let wg = goro_sync::WaitGroup::new();
    /// assert_eq!(wg.count(), 0);
    /// wg.wait_blocking(); // zero already: returns at once
    /// ```
    ///
    /// # Panics
    ///
    /// Never panics.
    pub fn new() -> Self {
        WaitGroup {
            inner: Arc::new(Inner {
                count: AtomicUsize::new(0),
                waiters: Notify::new(),
            }),
        }
    }

    /// Adds `n` to the counter.
    ///
    /// # Examples
    ///
    /// ```
    /// let wg = goro_sync::WaitGroup::new();
    /// wg.add(2);
    /// assert_eq!(wg.count(), 2);
    /// let overflow = std::panic::catch_unwind(|| wg.add(usize::MAX));
    /// assert!(overflow.is_err());
    /// assert_eq!(wg.count(), 2, "a failed add changes nothing");
    /// ```
    ///
    /// # Panics
    ///
    /// With `sync: WaitGroup counter overflow` if the counter would overflow `usize` (the
    /// counter is left as it was).
    #[track_caller]
    pub fn add(&self, n: usize) {
        // AcqRel: orders this add with the `done`s that will bring the counter back down.
        let old = self.inner.count.fetch_add(n, AcqRel);
        if old.checked_add(n).is_none() {
            self.inner.count.fetch_sub(n, AcqRel);
            panic!("sync: WaitGroup counter overflow");
        }
    }

    /// Decrements the counter; when it reaches zero, every waiter is woken.
    ///
    /// # Examples
    ///
    /// ```
    /// let wg = goro_sync::WaitGroup::new();
    /// wg.add(1);
    /// wg.done();
    /// assert_eq!(wg.count(), 0);
    /// ```
    ///
    /// # Panics
    ///
    /// With Go's message `sync: negative WaitGroup counter` if the counter is already zero (the
    /// counter stays at zero).
    ///
    /// ```should_panic
    /// goro_sync::WaitGroup::new().done(); // panics: sync: negative WaitGroup counter
    /// ```
    #[inline]
    #[track_caller]
    pub fn done(&self) {
        // AcqRel: Release publishes this worker's writes to the waiter (which loads with
        // Acquire); Acquire makes the last `done` see the other workers' writes too.
        let old = self.inner.count.fetch_sub(1, AcqRel);
        if old <= 1 {
            self.last_done(old);
        }
    }

    /// The end of `done` when the counter was 1 (wake the waiters) or 0 (misuse).
    #[cold]
    #[track_caller]
    fn last_done(&self, old: usize) {
        if old == 0 {
            // AcqRel: undo the wrap-around before reporting the misuse.
            self.inner.count.fetch_add(1, AcqRel);
            panic!("sync: negative WaitGroup counter");
        }
        self.inner.waiters.notify_all();
    }

    /// Waits until the counter is zero.
    ///
    /// Completes at once if it is zero now. A waiter woken by the counter reaching zero
    /// completes even if the group was reused with `add` before it ran.
    ///
    /// # Examples
    ///
    /// ```
    /// use goro_sync::WaitGroup;
    /// futures::executor::block_on(async {
    ///     let wg = WaitGroup::new();
    ///     wg.add(1);
    ///     let w = wg.clone();
    ///     std::thread::spawn(move || w.done());
    ///     wg.wait().await;
    ///     assert_eq!(wg.count(), 0);
    /// });
    /// ```
    ///
    /// # Panics
    ///
    /// Never panics.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: a dropped `wait()` simply stops waiting.
    pub fn wait(&self) -> Wait<'_> {
        Wait {
            wg: self,
            key: None,
        }
    }

    /// Blocks the current thread until the counter is zero; see [`wait`](WaitGroup::wait).
    ///
    /// # Examples
    ///
    /// ```
    /// let wg = goro_sync::WaitGroup::new();
    /// wg.add(1);
    /// let w = wg.clone();
    /// let t = std::thread::spawn(move || w.done());
    /// wg.wait_blocking();
    /// assert_eq!(wg.count(), 0);
    /// t.join().unwrap();
    /// ```
    ///
    /// # Panics
    ///
    /// Never panics.
    pub fn wait_blocking(&self) {
        if self.count() != 0 {
            block_on(self.wait());
        }
    }

    /// Runs `fut` as a goroutine counted by this group: `add(1)` now, `done()` when it finishes
    /// (also if it panics or is aborted). Go's `WaitGroup.Go`. Needs the crate feature `spawn`.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::{Arc, atomic::{AtomicU32, Ordering}};
    /// let wg = goro_sync::WaitGroup::new();
    /// let hits = Arc::new(AtomicU32::new(0));
    /// for _ in 0..8 {
    ///     let hits = hits.clone();
    ///     wg.go(async move { hits.fetch_add(1, Ordering::SeqCst); });
    /// }
    /// wg.wait_blocking();
    /// assert_eq!(hits.load(Ordering::SeqCst), 8);
    /// ```
    ///
    /// # Panics
    ///
    /// If the goro runtime has to start and cannot (see `goro_executor::spawn`). A panic inside
    /// `fut` is caught by the runtime and still counts as `done`.
    #[cfg(feature = "spawn")]
    #[track_caller]
    pub fn go<F>(&self, fut: F)
    where
        F: Future<Output = ()> + Send + 'static,
    {
        struct Done(WaitGroup);
        impl Drop for Done {
            fn drop(&mut self) {
                self.0.done();
            }
        }
        self.add(1);
        let done = Done(self.clone());
        drop(goro_executor::spawn(async move {
            let _done = done;
            fut.await;
        }));
    }

    /// The counter's current value (a snapshot).
    ///
    /// # Examples
    ///
    /// ```
    /// let wg = goro_sync::WaitGroup::new();
    /// assert_eq!(wg.count(), 0);
    /// wg.add(3);
    /// wg.done();
    /// assert_eq!(wg.count(), 2);
    /// ```
    ///
    /// # Panics
    ///
    /// Never panics.
    pub fn count(&self) -> usize {
        // Acquire: a zero seen here makes the finished workers' writes visible.
        self.inner.count.load(Acquire)
    }
}

impl Default for WaitGroup {
    fn default() -> Self {
        WaitGroup::new()
    }
}

impl fmt::Debug for WaitGroup {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WaitGroup")
            .field("count", &self.count())
            .finish()
    }
}

/// The future returned by [`WaitGroup::wait`].
///
/// # Examples
///
/// ```
/// use std::{future::Future, pin::Pin, task::Context};
/// let wg = goro_sync::WaitGroup::new();
/// wg.add(1);
/// let mut wait = wg.wait();
/// let mut cx = Context::from_waker(futures::task::noop_waker_ref());
/// assert!(Pin::new(&mut wait).poll(&mut cx).is_pending(), "the counter is 1");
/// wg.done();
/// assert!(Pin::new(&mut wait).poll(&mut cx).is_ready());
/// ```
///
/// # Cancel safety
///
/// Dropping it just stops waiting; nothing else is affected.
#[must_use = "futures do nothing unless you `.await` or poll them"]
pub struct Wait<'a> {
    wg: &'a WaitGroup,
    key: Option<usize>,
}

impl Future for Wait<'_> {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = &mut *self;
        let inner = &this.wg.inner;
        if this.key.is_none() && this.wg.count() == 0 {
            return Poll::Ready(());
        }
        // Acquire: as in `count`.
        inner
            .waiters
            .poll_wait(cx, &mut this.key, || inner.count.load(Acquire) == 0)
            .map(|_| ())
    }
}

impl Drop for Wait<'_> {
    fn drop(&mut self) {
        self.wg.inner.waiters.cancel(&mut self.key, false);
    }
}

impl fmt::Debug for Wait<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Wait")
            .field("count", &self.wg.count())
            .finish_non_exhaustive()
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::Inner;

    #[test]
    fn counter_comes_first_next_to_the_arc_counts() {
        // The `Arc`'s counts precede `Inner`; the counter must follow them directly (see
        // the note on `Inner`), not the 80-byte `Notify`.
        assert_eq!(std::mem::offset_of!(Inner, count), 0);
    }
}
