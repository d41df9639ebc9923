//! `Semaphore`: a weighted, FIFO counting semaphore (Go's `golang.org/x/sync/semaphore`).
//!
//! A [`RawSemaphore`] in fair mode plus the total number of permits, which bounds what one
//! acquisition may ask for. Releases hand permits straight to the queued waiters in FIFO order
//! (see `batch.rs`); a granted waiter with one of the first 64 keys learns of its grant from a
//! flag, without taking the queue lock.

use crate::{
    batch::{Policy, RawSemaphore, MAX_PERMITS},
    block::block_on,
    loom::AtomicUsize,
};
use std::{
    error::Error,
    fmt,
    future::Future,
    pin::Pin,
    sync::atomic::Ordering,
    task::{Context, Poll},
};

/// A weighted counting semaphore with FIFO waiters, for async code and plain threads.
///
/// `acquire(n)` waits until `n` permits are free and no earlier waiter is still waiting: the
/// queue is strictly first come, first served, so a large acquisition is never starved by a
/// stream of small ones (the small ones queue behind it). Permits come back when the
/// [`Permit`] is dropped.
///
/// # Examples
///
/// ```
/// use goro_sync::Semaphore;
/// futures::executor::block_on(async {
///     let sem = Semaphore::new(3);
///     let two = sem.acquire(2).await.unwrap();
///     assert_eq!(sem.available_permits(), 1);
///     assert!(sem.try_acquire(2).is_none());
///     drop(two);
///     assert!(sem.try_acquire(3).is_some());
///     assert!(sem.acquire(4).await.is_err(), "more than the total");
/// });
/// ```
// Layout (`repr(C)`): three kinds of traffic, three cache lines. A busy semaphore has waiters,
// and then every acquire queues and every release hands its permit to the front waiter, both
// under the queue lock, from both cores in turn, while the acquirers read `total` and the
// state word (their fast path, refused while anyone waits: a read, no write) and the granted
// owners set and clear their flags in `granted` without the lock. On one line, each of those
// reads and flag updates pulls the line away from the core holding the lock, in the middle of
// its critical section. So `total` and `state` share the first line (both read far more
// often than written), `granted` has the second, the lock and the queue's header the rest.
// Measured with `benches/sync.rs`'s `semaphore` (8 permits, 64 tasks, 2 workers; medians of
// 5 interleaved runs): 34.5 ms compact, 28.4 ms padded. The price is size: about 340 bytes
// instead of about 100, which a semaphore (usually one per resource pool) can afford; the
// `Mutex` keeps the compact layout.
#[repr(C)]
pub struct Semaphore {
    total: AtomicUsize,
    sem: RawSemaphore<STATE_GAP, GRANTED_GAP>,
}

/// Padding after the state word: `total` + `state` + this = 128 bytes, so the grant flags
/// are more than 64 bytes past the state word, on another line wherever the semaphore sits.
const STATE_GAP: usize = 128 - 2 * std::mem::size_of::<usize>();
/// Padding after the grant flags: the queue lock starts 128 bytes after them.
const GRANTED_GAP: usize = 128 - std::mem::size_of::<u64>();

/// The error of [`Semaphore::acquire`]: more permits were asked for than the semaphore holds in
/// total, so the acquisition could never succeed.
///
/// # Examples
///
/// ```
/// let sem = goro_sync::Semaphore::new(1);
/// let err = sem.acquire_blocking(2).unwrap_err();
/// assert_eq!(err.requested(), 2);
/// assert_eq!(err.to_string(), "semaphore: cannot acquire 2 permits, it only has 1");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AcquireError {
    requested: usize,
    total: usize,
}

impl AcquireError {
    /// The number of permits asked for.
    ///
    /// # Examples
    ///
    /// ```
    /// let sem = goro_sync::Semaphore::new(2);
    /// assert!(sem.acquire_blocking(2).is_ok());
    /// assert_eq!(sem.acquire_blocking(3).unwrap_err().requested(), 3);
    /// ```
    ///
    /// # Panics
    ///
    /// Never panics.
    pub fn requested(&self) -> usize {
        self.requested
    }

    /// The semaphore's total number of permits when the request was made.
    ///
    /// # Examples
    ///
    /// ```
    /// let sem = goro_sync::Semaphore::new(2);
    /// assert_eq!(sem.acquire_blocking(3).unwrap_err().total(), 2);
    /// sem.add_permits(1);
    /// assert!(sem.acquire_blocking(3).is_ok(), "the total grew");
    /// ```
    ///
    /// # Panics
    ///
    /// Never panics.
    pub fn total(&self) -> usize {
        self.total
    }
}

impl fmt::Display for AcquireError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "semaphore: cannot acquire {} permits, it only has {}",
            self.requested, self.total
        )
    }
}

impl Error for AcquireError {}

impl Semaphore {
    /// The largest number of permits a semaphore can hold in total (`usize::MAX >> 4`).
    ///
    /// # Examples
    ///
    /// ```
    /// use goro_sync::Semaphore;
    /// assert_eq!(Semaphore::new(Semaphore::MAX_PERMITS).total_permits(), Semaphore::MAX_PERMITS);
    /// assert!(std::panic::catch_unwind(|| Semaphore::new(Semaphore::MAX_PERMITS + 1)).is_err());
    /// ```
    pub const MAX_PERMITS: usize = MAX_PERMITS;

    crate::loom::const_unless_loom! {
        /// Creates a semaphore holding `permits` permits. A `const fn`: a semaphore can be
        /// a `static` (and a `const` count that is too large fails to compile).
        ///
        /// # Examples
        ///
        /// ```
        /// let sem = goro_sync::Semaphore::new(8);
        /// assert_eq!(sem.available_permits(), 8);
        /// assert!(sem.try_acquire(8).is_some());
        /// assert!(sem.try_acquire(9).is_none());
        ///
        /// static DOWNLOADS: goro_sync::Semaphore = goro_sync::Semaphore::new(4);
        /// let _slot = DOWNLOADS.acquire_blocking(1).unwrap();
        /// assert_eq!(DOWNLOADS.available_permits(), 3);
        /// ```
        ///
        /// # Panics
        ///
        /// If `permits` exceeds [`Semaphore::MAX_PERMITS`], with the message `a semaphore
        /// holds at most Semaphore::MAX_PERMITS (usize::MAX >> 4) permits`.
        pub fn new(permits: usize) -> Self {
            Semaphore {
                sem: RawSemaphore::new(permits, Policy::Fair),
                total: AtomicUsize::new(permits),
            }
        }
    }

    /// Acquires `n` permits, waiting in FIFO order until they are free.
    ///
    /// Fails at once with [`AcquireError`] if `n` is larger than the total number of permits.
    /// Acquiring 0 permits succeeds at once.
    ///
    /// # Examples
    ///
    /// ```
    /// futures::executor::block_on(async {
    ///     let sem = goro_sync::Semaphore::new(2);
    ///     let p = sem.acquire(2).await.unwrap();
    ///     assert_eq!(p.num_permits(), 2);
    ///     assert!(sem.acquire(3).await.is_err(), "more than the total: fails at once");
    /// });
    /// ```
    ///
    /// # Errors
    ///
    /// The future resolves to [`AcquireError`] at once if `n` exceeds the total number of
    /// permits.
    ///
    /// # Panics
    ///
    /// Polling the returned future again after it completed panics.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: dropping the future before it completes returns any permits it had been
    /// handed, which go to the next waiters.
    pub fn acquire(&self, n: usize) -> Acquire<'_> {
        Acquire {
            sem: Some(self),
            n,
            key: None,
        }
    }

    /// Acquires `n` permits, blocking the current thread; see [`acquire`](Semaphore::acquire).
    ///
    /// # Examples
    ///
    /// ```
    /// let sem = goro_sync::Semaphore::new(2);
    /// let p = sem.acquire_blocking(1).unwrap();
    /// assert_eq!(sem.available_permits(), 1);
    /// drop(p);
    /// assert!(sem.acquire_blocking(5).is_err());
    /// ```
    ///
    /// # Errors
    ///
    /// [`AcquireError`] if `n` exceeds the total number of permits.
    ///
    /// # Panics
    ///
    /// Never panics.
    pub fn acquire_blocking(&self, n: usize) -> Result<Permit<'_>, AcquireError> {
        block_on(self.acquire(n))
    }

    /// Acquires `n` permits if they are free now and nobody is queued before this caller.
    ///
    /// # Examples
    ///
    /// ```
    /// let sem = goro_sync::Semaphore::new(2);
    /// let p = sem.try_acquire(2).unwrap();
    /// assert!(sem.try_acquire(1).is_none());
    /// drop(p);
    /// assert!(sem.try_acquire(3).is_none(), "more than the total");
    /// ```
    ///
    /// # Panics
    ///
    /// Never panics.
    pub fn try_acquire(&self, n: usize) -> Option<Permit<'_>> {
        self.sem.try_acquire(n).then(|| Permit { sem: self, n })
    }

    /// Adds `n` permits to the semaphore (and to its total); waiters are served first.
    ///
    /// # Examples
    ///
    /// ```
    /// let sem = goro_sync::Semaphore::new(0);
    /// assert!(sem.try_acquire(1).is_none());
    /// sem.add_permits(2);
    /// assert_eq!(sem.available_permits(), 2);
    /// assert_eq!(sem.total_permits(), 2);
    /// ```
    ///
    /// # Panics
    ///
    /// If the total would exceed [`Semaphore::MAX_PERMITS`] (the semaphore is left as it was).
    ///
    /// ```should_panic
    /// let sem = goro_sync::Semaphore::new(goro_sync::Semaphore::MAX_PERMITS);
    /// sem.add_permits(1); // panics
    /// ```
    pub fn add_permits(&self, n: usize) {
        // AcqRel: orders the new total before the permits become available below.
        let old = self.total.fetch_add(n, Ordering::AcqRel);
        if old.checked_add(n).is_none_or(|t| t > MAX_PERMITS) {
            self.total.fetch_sub(n, Ordering::AcqRel);
            panic!("semaphore: adding {n} permits exceeds the maximum of {MAX_PERMITS}");
        }
        self.sem.release(n);
    }

    /// Permits free right now (a snapshot).
    ///
    /// # Examples
    ///
    /// ```
    /// let sem = goro_sync::Semaphore::new(3);
    /// let p = sem.try_acquire(1);
    /// assert_eq!(sem.available_permits(), 2);
    /// drop(p);
    /// assert_eq!(sem.available_permits(), 3);
    /// ```
    ///
    /// # Panics
    ///
    /// Never panics.
    pub fn available_permits(&self) -> usize {
        self.sem.available()
    }

    /// The total number of permits: the initial number plus those added.
    ///
    /// # Examples
    ///
    /// ```
    /// let sem = goro_sync::Semaphore::new(3);
    /// let _p = sem.try_acquire(1);
    /// assert_eq!(sem.total_permits(), 3, "permits in use still count");
    /// ```
    ///
    /// # Panics
    ///
    /// Never panics.
    pub fn total_permits(&self) -> usize {
        // Acquire: pairs with `add_permits`.
        self.total.load(Ordering::Acquire)
    }

    /// Number of queued acquisitions (a snapshot, for diagnostics and tests).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::{future::Future, pin::Pin, task::Context};
    /// let sem = goro_sync::Semaphore::new(1);
    /// assert_eq!(sem.waiters(), 0);
    /// let mut fut = sem.acquire(1);
    /// let mut cx = Context::from_waker(futures::task::noop_waker_ref());
    /// let held = Pin::new(&mut fut).poll(&mut cx); // takes the permit
    /// let mut second = sem.acquire(1);
    /// assert!(Pin::new(&mut second).poll(&mut cx).is_pending());
    /// assert_eq!(sem.waiters(), 1);
    /// drop(held);
    /// ```
    ///
    /// # Panics
    ///
    /// Never panics.
    pub fn waiters(&self) -> usize {
        self.sem.waiting()
    }
}

impl fmt::Debug for Semaphore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Semaphore")
            .field("available", &self.available_permits())
            .field("total", &self.total_permits())
            .finish()
    }
}

/// The future returned by [`Semaphore::acquire`].
///
/// # Examples
///
/// ```
/// use std::{future::Future, pin::Pin, task::{Context, Poll}};
/// let sem = goro_sync::Semaphore::new(2);
/// let p = sem.try_acquire(1).unwrap();
/// let mut fut = sem.acquire(2);
/// let mut cx = Context::from_waker(futures::task::noop_waker_ref());
/// assert!(Pin::new(&mut fut).poll(&mut cx).is_pending(), "only 1 of 2 is free");
/// drop(p);
/// assert!(matches!(Pin::new(&mut fut).poll(&mut cx), Poll::Ready(Ok(_))));
/// ```
///
/// # Panics
///
/// Polling it again after it completed panics.
///
/// # Cancel safety
///
/// Dropping it before completion returns the permits it had already been handed.
#[must_use = "futures do nothing unless you `.await` or poll them"]
pub struct Acquire<'a> {
    sem: Option<&'a Semaphore>,
    n: usize,
    key: Option<usize>,
}

impl<'a> Future for Acquire<'a> {
    type Output = Result<Permit<'a>, AcquireError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = &mut *self;
        let sem = this.sem.expect("`Acquire` polled after completion");
        if this.key.is_none() {
            let total = sem.total_permits();
            if this.n > total {
                this.sem = None;
                return Poll::Ready(Err(AcquireError {
                    requested: this.n,
                    total,
                }));
            }
        }
        match sem.sem.poll_acquire(cx, this.n, &mut this.key) {
            Poll::Ready(()) => {
                this.sem = None;
                Poll::Ready(Ok(Permit { sem, n: this.n }))
            }
            Poll::Pending => Poll::Pending,
        }
    }
}

impl Drop for Acquire<'_> {
    fn drop(&mut self) {
        if let Some(sem) = self.sem {
            sem.sem.cancel(&mut self.key);
        }
    }
}

impl fmt::Debug for Acquire<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Acquire")
            .field("permits", &self.n)
            .field("queued", &self.key.is_some())
            .finish_non_exhaustive()
    }
}

/// Permits taken from a [`Semaphore`]; they go back when this is dropped.
///
/// # Examples
///
/// ```
/// let sem = goro_sync::Semaphore::new(4);
/// let p = sem.try_acquire(3).unwrap();
/// assert_eq!(p.num_permits(), 3);
/// drop(p);
/// assert_eq!(sem.available_permits(), 4);
/// ```
#[must_use = "permits are returned as soon as the Permit is dropped"]
pub struct Permit<'a> {
    sem: &'a Semaphore,
    n: usize,
}

impl Permit<'_> {
    /// How many permits this holds.
    ///
    /// # Examples
    ///
    /// ```
    /// let sem = goro_sync::Semaphore::new(4);
    /// let p = sem.try_acquire(3).unwrap();
    /// assert_eq!(p.num_permits(), 3);
    /// assert!(sem.try_acquire(2).is_none());
    /// ```
    ///
    /// # Panics
    ///
    /// Never panics.
    pub fn num_permits(&self) -> usize {
        self.n
    }
}

impl Drop for Permit<'_> {
    fn drop(&mut self) {
        self.sem.sem.release(self.n);
    }
}

impl fmt::Debug for Permit<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Permit").field("permits", &self.n).finish()
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::Semaphore;

    /// The padded layout (see the comment on `Semaphore`): `total` + `state`, `granted` and the
    /// queue lock are on three different cache lines wherever the semaphore sits, which holds
    /// when at least 64 bytes lie between the last byte of one and the first of the next; the
    /// mutex's semaphore stays compact.
    #[test]
    fn hot_fields_on_separate_cache_lines() {
        let sem = Semaphore::new(1);
        let total = &sem.total as *const _ as usize;
        let [state, granted, waiters] = sem.sem.field_addrs();
        assert!(
            total < state && state < granted && granted < waiters,
            "field order"
        );
        // `x + 7`: the last byte of an 8-byte field.
        assert!(
            granted - (state + 7) >= 64,
            "state and granted may share a line"
        );
        assert!(
            waiters - (granted + 7) >= 64,
            "granted and the lock may share a line"
        );
        let mutex = std::mem::size_of::<crate::Mutex<u64>>();
        assert!(mutex <= 128, "the Mutex grew to {mutex} bytes");
    }
}
