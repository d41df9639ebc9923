//! `Mutex<T>`: Go's `sync.Mutex` guarding a value, for async code and plain threads.
//!
//! # Design
//!
//! A `Mutex` is a [`RawSemaphore`] holding one permit in *barging* mode (see `batch.rs` for the
//! state word, the queue and the proofs):
//!
//! * **Uncontended**, `lock` is one compare-and-swap (`1 permit, no flags` -> `0`) and unlock is
//!   one compare-and-swap back, the same cost as `parking_lot::Mutex`.
//! * **Spinning** (Go's, `std`'s): a locker that finds the mutex held spins a few hundred
//!   nanoseconds, watching for the unlock, before it queues (not on a single CPU, where the
//!   holder could not run meanwhile). `lock_blocking` then also yields its
//!   time slice a few times before it parks the thread (as `parking_lot` does).
//! * **Normal mode** (Go's): waiters queue in FIFO order; an unlock puts the permit back and wakes
//!   the front waiter, which then competes with newly arriving lockers. Arrivals are already
//!   running, so they often win; that keeps throughput high, since a lock can be taken many times
//!   in a row without a context switch. While a woken waiter is on its way, further unlocks wake
//!   nobody and cost one compare-and-swap (Go's `mutexWoken`).
//! * **Starvation mode** (Go's): a woken waiter that loses after having waited more than 1 ms
//!   switches the mutex to direct hand-off. Every unlock then passes ownership to the front
//!   waiter, and arrivals queue behind it. The waiter that receives the lock switches back to
//!   normal mode if it waited less than 1 ms or was the last in the queue. So no waiter is
//!   overtaken for more than about a millisecond's worth of lock turns.
//! * **Cancellation**: a dropped `lock()` future leaves the queue; if it had been handed the lock
//!   meanwhile, it unlocks (handing it on), and if it had been woken it passes the wake-up on.
//! * **Blocking**: after spinning and yielding, `lock_blocking` polls the same future as `lock`
//!   with a thread-parking waker, so both kinds of waiter share one queue.
//!
//! The data lives in an `UnsafeCell`; a guard exists only while its holder owns the permit, so
//! at most one guard exists at a time.

use crate::{
    batch::{Policy, RawSemaphore},
    block::block_on,
};
use std::{
    cell::UnsafeCell,
    fmt,
    future::Future,
    marker::PhantomData,
    ops::{Deref, DerefMut},
    pin::Pin,
    sync::Arc,
    task::{Context, Poll},
};

/// Time slices `lock_blocking` gives up before it parks (none under loom, whose threads are not
/// scheduled by the OS).
const BLOCKING_YIELDS: u32 = if cfg!(loom) { 0 } else { 6 };

/// A mutual-exclusion lock around a `T`, like Go's `sync.Mutex`, usable from async code
/// ([`lock`](Mutex::lock)) and from plain threads ([`lock_blocking`](Mutex::lock_blocking)).
///
/// Uncontended locking is a single atomic operation. Under contention, waiters queue in FIFO
/// order and compete with newcomers (Go's normal mode); a waiter that has waited more than about
/// 1 ms gets the lock handed to it directly (Go's starvation mode), so nobody waits forever. The
/// lock is released when the guard is dropped, including during a panic's unwinding (there is
/// no poisoning).
///
/// Holding a guard across an `.await` is fine; blocking a thread on
/// [`lock_blocking`](Mutex::lock_blocking) inside an async task stalls that worker.
///
/// # Examples
///
/// ```
/// use goro_sync::Mutex;
/// use std::sync::Arc;
///
/// let counter = Arc::new(Mutex::new(0));
/// let held = counter.try_lock().expect("nobody holds it yet");
/// assert!(counter.try_lock().is_none(), "one holder at a time");
/// drop(held);
///
/// let threads: Vec<_> = (0..4)
///     .map(|_| {
///         let counter = Arc::clone(&counter);
///         std::thread::spawn(move || {
///             for _ in 0..100 {
///                 *counter.lock_blocking() += 1;
///             }
///         })
///     })
///     .collect();
/// for t in threads {
///     t.join().unwrap();
/// }
/// futures::executor::block_on(async {
///     assert_eq!(*counter.lock().await, 400);
/// });
/// ```
pub struct Mutex<T: ?Sized> {
    sem: RawSemaphore,
    data: UnsafeCell<T>,
}

// SAFETY: the mutex hands out access to `T` to one holder at a time, possibly on another
// thread, so sharing or sending it needs only `T: Send` (as for `std::sync::Mutex`).
unsafe impl<T: ?Sized + Send> Send for Mutex<T> {}
// SAFETY: as above: `&Mutex<T>` gives exclusive access to `T` to one thread at a time.
unsafe impl<T: ?Sized + Send> Sync for Mutex<T> {}

impl<T> Mutex<T> {
    crate::loom::const_unless_loom! {
        /// Creates an unlocked mutex holding `value`. A `const fn`, so a mutex can be a
        /// `static`, like a package-level `var mu sync.Mutex` in Go.
        ///
        /// # Examples
        ///
        /// ```
        /// let m = goro_sync::Mutex::new(5);
        /// assert!(!m.is_locked());
        /// assert_eq!(*m.try_lock().unwrap(), 5);
        ///
        /// static HITS: goro_sync::Mutex<u64> = goro_sync::Mutex::new(0);
        /// *HITS.lock_blocking() += 1;
        /// assert_eq!(*HITS.try_lock().unwrap(), 1);
        /// ```
        ///
        /// # Panics
        ///
        /// Never panics.
        pub fn new(value: T) -> Self {
            Mutex {
                sem: RawSemaphore::new(1, Policy::Barging),
                data: UnsafeCell::new(value),
            }
        }
    }

    /// Consumes the mutex and returns the value; no locking is needed as nobody else can hold it.
    ///
    /// # Examples
    ///
    /// ```
    /// let m = goro_sync::Mutex::new(String::from("go"));
    /// m.lock_blocking().push_str("ro");
    /// assert_eq!(m.into_inner(), "goro");
    /// ```
    ///
    /// # Panics
    ///
    /// Never panics.
    pub fn into_inner(self) -> T {
        self.data.into_inner()
    }
}

impl<T: ?Sized> Mutex<T> {
    /// Locks the mutex, waiting (asynchronously) until it is available.
    ///
    /// When the lock is free and nobody is starving in the queue this completes on the first
    /// poll. Otherwise the task spins briefly, then queues in FIFO order (see the type docs for
    /// Go's normal and starvation modes).
    ///
    /// # Examples
    ///
    /// ```
    /// use goro_sync::Mutex;
    /// futures::executor::block_on(async {
    ///     let m = Mutex::new(vec![1]);
    ///     let mut g = m.lock().await;
    ///     g.push(2);
    ///     assert!(m.try_lock().is_none(), "held by `g`");
    ///     drop(g);
    ///     assert_eq!(*m.lock().await, [1, 2]);
    /// });
    /// ```
    ///
    /// # Panics
    ///
    /// Polling the returned future again after it completed panics.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: dropping the future before it completes leaves the queue; if the lock had
    /// already been handed to it, it is passed on to the next waiter (or released).
    pub fn lock(&self) -> Lock<'_, T> {
        Lock {
            mutex: Some(self),
            key: None,
        }
    }

    /// Locks the mutex, blocking the current thread until it is available.
    ///
    /// Spins, yields a few times, then parks in the same FIFO queue as
    /// [`lock`](Mutex::lock). Meant for plain threads; inside an async task it would block the
    /// worker thread, prefer `lock().await` there.
    ///
    /// # Examples
    ///
    /// ```
    /// use goro_sync::Mutex;
    /// use std::sync::Arc;
    ///
    /// let m = Arc::new(Mutex::new(1));
    /// let g = m.lock_blocking();
    /// let m2 = Arc::clone(&m);
    /// let t = std::thread::spawn(move || *m2.lock_blocking() += 1); // waits for `g`
    /// assert_eq!(*g, 1);
    /// drop(g);
    /// t.join().unwrap();
    /// assert_eq!(*m.lock_blocking(), 2);
    /// ```
    ///
    /// # Panics
    ///
    /// Never panics. It never returns (a deadlock, as in Go) if the current thread already
    /// holds the lock.
    #[inline]
    pub fn lock_blocking(&self) -> MutexGuard<'_, T> {
        match self.try_lock() {
            Some(guard) => guard,
            None => self.lock_blocking_slow(),
        }
    }

    #[cold]
    fn lock_blocking_slow(&self) -> MutexGuard<'_, T> {
        // A thread about to park first spins, then yields its time slice a few times (as
        // `parking_lot` does): parking costs a system call on each side, and on a loaded
        // machine the holder may just need the CPU to finish. Skipped in starvation mode.
        if self.sem.spin_acquire(1) {
            return MutexGuard::new(self);
        }
        for _ in 0..BLOCKING_YIELDS {
            if self.sem.handoff() {
                break;
            }
            std::thread::yield_now();
            if let Some(guard) = self.try_lock() {
                return guard;
            }
        }
        block_on(self.lock())
    }

    /// Locks the mutex if it is free right now and no starving waiter is entitled to it first;
    /// `None` otherwise. Never waits.
    ///
    /// # Examples
    ///
    /// ```
    /// let m = goro_sync::Mutex::new(1);
    /// let g = m.try_lock().expect("free");
    /// assert!(m.try_lock().is_none(), "already locked");
    /// drop(g);
    /// assert!(m.try_lock().is_some());
    /// ```
    ///
    /// # Panics
    ///
    /// Never panics.
    #[inline]
    pub fn try_lock(&self) -> Option<MutexGuard<'_, T>> {
        self.sem.try_acquire_one().then(|| MutexGuard::new(self))
    }

    /// Returns a mutable reference to the value; `&mut self` proves nobody holds the lock.
    ///
    /// # Examples
    ///
    /// ```
    /// let mut m = goro_sync::Mutex::new(1);
    /// *m.get_mut() = 7;
    /// assert_eq!(*m.lock_blocking(), 7);
    /// ```
    ///
    /// # Panics
    ///
    /// Never panics.
    pub fn get_mut(&mut self) -> &mut T {
        self.data.get_mut()
    }

    /// Whether the mutex is locked right now (a snapshot, for diagnostics and tests).
    ///
    /// # Examples
    ///
    /// ```
    /// let m = goro_sync::Mutex::new(());
    /// let g = m.lock_blocking();
    /// assert!(m.is_locked());
    /// drop(g);
    /// assert!(!m.is_locked());
    /// ```
    ///
    /// # Panics
    ///
    /// Never panics.
    pub fn is_locked(&self) -> bool {
        self.sem.available() == 0
    }

    /// Locks an `Arc`-shared mutex and returns a guard that owns a clone of the `Arc`, so it is
    /// `'static` and can be moved into spawned tasks.
    ///
    /// Behaves like [`lock`](Mutex::lock) otherwise.
    ///
    /// # Examples
    ///
    /// ```
    /// use goro_sync::Mutex;
    /// use std::sync::Arc;
    /// futures::executor::block_on(async {
    ///     let m = Arc::new(Mutex::new(0));
    ///     let mut guard = m.lock_owned().await;
    ///     assert!(m.try_lock().is_none(), "held by the owned guard");
    ///     let t = std::thread::spawn(move || *guard += 1);
    ///     t.join().unwrap();
    ///     assert_eq!(*m.lock().await, 1);
    /// });
    /// ```
    ///
    /// # Panics
    ///
    /// Polling the returned future again after it completed panics.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe, as [`lock`](Mutex::lock).
    pub fn lock_owned(self: &Arc<Self>) -> LockOwned<T> {
        LockOwned {
            mutex: Some(Arc::clone(self)),
            key: None,
        }
    }

    /// Like [`try_lock`](Mutex::try_lock), returning an owned guard.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::Arc;
    /// let m = Arc::new(goro_sync::Mutex::new(0));
    /// let g = m.try_lock_owned().unwrap();
    /// assert!(m.try_lock_owned().is_none());
    /// drop(g);
    /// assert!(m.try_lock_owned().is_some());
    /// ```
    ///
    /// # Panics
    ///
    /// Never panics.
    pub fn try_lock_owned(self: &Arc<Self>) -> Option<OwnedMutexGuard<T>> {
        self.sem.try_acquire_one().then(|| OwnedMutexGuard {
            mutex: Arc::clone(self),
        })
    }

    /// Releases the permit; called by guards.
    #[inline]
    fn unlock(&self) {
        self.sem.release_one();
    }
}

impl<T: Default> Default for Mutex<T> {
    fn default() -> Self {
        Mutex::new(T::default())
    }
}

impl<T> From<T> for Mutex<T> {
    fn from(value: T) -> Self {
        Mutex::new(value)
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for Mutex<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("Mutex");
        match self.try_lock() {
            Some(guard) => d.field("data", &&*guard),
            None => d.field("data", &format_args!("<locked>")),
        };
        d.finish_non_exhaustive()
    }
}

/// The future returned by [`Mutex::lock`].
///
/// # Examples
///
/// ```
/// use std::{future::Future, pin::Pin, task::{Context, Poll}};
/// let m = goro_sync::Mutex::new(0);
/// let held = m.try_lock().unwrap();
/// let mut fut = m.lock();
/// let mut cx = Context::from_waker(futures::task::noop_waker_ref());
/// assert!(Pin::new(&mut fut).poll(&mut cx).is_pending(), "waits for `held`");
/// drop(held);
/// assert!(matches!(Pin::new(&mut fut).poll(&mut cx), Poll::Ready(_)));
/// ```
///
/// # Panics
///
/// Polling it again after it completed panics.
///
/// # Cancel safety
///
/// Dropping it before completion never leaves the mutex locked or a waiter stuck.
#[must_use = "futures do nothing unless you `.await` or poll them"]
pub struct Lock<'a, T: ?Sized> {
    mutex: Option<&'a Mutex<T>>,
    key: Option<usize>,
}

impl<'a, T: ?Sized> Future for Lock<'a, T> {
    type Output = MutexGuard<'a, T>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = &mut *self;
        let mutex = this.mutex.expect("`Lock` polled after completion");
        match mutex.sem.poll_acquire(cx, 1, &mut this.key) {
            Poll::Ready(()) => {
                this.mutex = None;
                Poll::Ready(MutexGuard::new(mutex))
            }
            Poll::Pending => Poll::Pending,
        }
    }
}

impl<T: ?Sized> Drop for Lock<'_, T> {
    fn drop(&mut self) {
        if let Some(mutex) = self.mutex {
            mutex.sem.cancel(&mut self.key);
        }
    }
}

impl<T: ?Sized> fmt::Debug for Lock<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Lock")
            .field("queued", &self.key.is_some())
            .finish_non_exhaustive()
    }
}

/// The future returned by [`Mutex::lock_owned`].
///
/// # Examples
///
/// ```
/// use std::sync::Arc;
/// let m = Arc::new(goro_sync::Mutex::new(0));
/// let fut = m.lock_owned(); // 'static: can be moved into a spawned task
/// let guard = futures::executor::block_on(fut);
/// assert!(m.try_lock().is_none());
/// drop(guard);
/// assert!(m.try_lock().is_some());
/// ```
///
/// # Panics
///
/// Polling it again after it completed panics.
///
/// # Cancel safety
///
/// Dropping it before completion never leaves the mutex locked or a waiter stuck.
#[must_use = "futures do nothing unless you `.await` or poll them"]
pub struct LockOwned<T: ?Sized> {
    mutex: Option<Arc<Mutex<T>>>,
    key: Option<usize>,
}

impl<T: ?Sized> Future for LockOwned<T> {
    type Output = OwnedMutexGuard<T>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = &mut *self;
        let mutex = this
            .mutex
            .as_ref()
            .expect("`LockOwned` polled after completion");
        match mutex.sem.poll_acquire(cx, 1, &mut this.key) {
            Poll::Ready(()) => Poll::Ready(OwnedMutexGuard {
                mutex: this.mutex.take().expect("checked above"),
            }),
            Poll::Pending => Poll::Pending,
        }
    }
}

impl<T: ?Sized> Drop for LockOwned<T> {
    fn drop(&mut self) {
        if let Some(mutex) = &self.mutex {
            mutex.sem.cancel(&mut self.key);
        }
    }
}

impl<T: ?Sized> fmt::Debug for LockOwned<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LockOwned")
            .field("queued", &self.key.is_some())
            .finish_non_exhaustive()
    }
}

/// Exclusive access to the value of a [`Mutex`]; unlocks when dropped (also during unwinding).
///
/// # Examples
///
/// ```
/// let m = goro_sync::Mutex::new(1);
/// {
///     let mut g = m.lock_blocking();
///     *g += 1;
/// } // unlocked here
/// assert_eq!(*m.try_lock().unwrap(), 2);
/// ```
#[must_use = "if unused the Mutex will immediately unlock"]
pub struct MutexGuard<'a, T: ?Sized> {
    mutex: &'a Mutex<T>,
    /// Opts out of the auto traits; the impls below state the right bounds.
    _not_auto: PhantomData<*const ()>,
}

// SAFETY: moving the guard to another thread moves the exclusive access to `T` with it, which
// needs `T: Send`; the unlock it performs on drop is thread-agnostic.
unsafe impl<T: ?Sized + Send> Send for MutexGuard<'_, T> {}
// SAFETY: a shared `&MutexGuard` only gives out `&T`, which needs `T: Sync` to be shared.
unsafe impl<T: ?Sized + Send + Sync> Sync for MutexGuard<'_, T> {}

impl<'a, T: ?Sized> MutexGuard<'a, T> {
    fn new(mutex: &'a Mutex<T>) -> Self {
        MutexGuard {
            mutex,
            _not_auto: PhantomData,
        }
    }

    /// The mutex this guard locks (used by [`Cond`](crate::Cond) to lock it again).
    pub(crate) fn mutex(guard: &Self) -> &'a Mutex<T> {
        guard.mutex
    }
}

impl<T: ?Sized> Deref for MutexGuard<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        // SAFETY: the guard exists only while it owns the mutex's single permit, so no other
        // reference to the data is live.
        unsafe { &*self.mutex.data.get() }
    }
}

impl<T: ?Sized> DerefMut for MutexGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: as in `deref`; `&mut self` makes this the only access through the guard.
        unsafe { &mut *self.mutex.data.get() }
    }
}

impl<T: ?Sized> Drop for MutexGuard<'_, T> {
    #[inline]
    fn drop(&mut self) {
        self.mutex.unlock();
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for MutexGuard<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}

impl<T: ?Sized + fmt::Display> fmt::Display for MutexGuard<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&**self, f)
    }
}

/// Like [`MutexGuard`], but owning an `Arc` of its mutex, so it is `'static`.
///
/// # Examples
///
/// ```
/// use std::sync::Arc;
/// let m = Arc::new(goro_sync::Mutex::new(0));
/// let mut g = m.try_lock_owned().unwrap();
/// *g += 1;
/// assert!(std::sync::Arc::ptr_eq(goro_sync::OwnedMutexGuard::mutex(&g), &m));
/// ```
#[must_use = "if unused the Mutex will immediately unlock"]
pub struct OwnedMutexGuard<T: ?Sized> {
    mutex: Arc<Mutex<T>>,
}

impl<T: ?Sized> OwnedMutexGuard<T> {
    /// The `Arc` of the mutex this guard locks.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::Arc;
    /// let m = Arc::new(goro_sync::Mutex::new(()));
    /// let g = m.try_lock_owned().unwrap();
    /// assert!(Arc::ptr_eq(goro_sync::OwnedMutexGuard::mutex(&g), &m));
    /// assert!(goro_sync::OwnedMutexGuard::mutex(&g).is_locked());
    /// ```
    ///
    /// # Panics
    ///
    /// Never panics.
    pub fn mutex(guard: &Self) -> &Arc<Mutex<T>> {
        &guard.mutex
    }
}

impl<T: ?Sized> Deref for OwnedMutexGuard<T> {
    type Target = T;
    fn deref(&self) -> &T {
        // SAFETY: the guard exists only while it owns the mutex's single permit.
        unsafe { &*self.mutex.data.get() }
    }
}

impl<T: ?Sized> DerefMut for OwnedMutexGuard<T> {
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: as in `deref`; `&mut self` makes this the only access through the guard.
        unsafe { &mut *self.mutex.data.get() }
    }
}

impl<T: ?Sized> Drop for OwnedMutexGuard<T> {
    fn drop(&mut self) {
        self.mutex.unlock();
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for OwnedMutexGuard<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}

impl<T: ?Sized> Mutex<T> {
    /// Number of tasks or threads queued for the lock (a snapshot, for diagnostics and tests).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::{future::Future, pin::Pin, task::Context};
    /// let m = goro_sync::Mutex::new(());
    /// assert_eq!(m.waiters(), 0);
    /// let held = m.try_lock().unwrap();
    /// let mut fut = m.lock();
    /// let mut cx = Context::from_waker(futures::task::noop_waker_ref());
    /// assert!(Pin::new(&mut fut).poll(&mut cx).is_pending());
    /// assert_eq!(m.waiters(), 1);
    /// drop(fut); // a cancelled waiter leaves the queue
    /// assert_eq!(m.waiters(), 0);
    /// # drop(held);
    /// ```
    ///
    /// # Panics
    ///
    /// Never panics.
    pub fn waiters(&self) -> usize {
        self.sem.waiting()
    }

    /// Whether the mutex is in Go's starvation mode (direct hand-off) right now.
    ///
    /// # Examples
    ///
    /// ```
    /// let m = goro_sync::Mutex::new(());
    /// let _g = m.lock_blocking();
    /// assert!(!m.is_starving(), "only a waiter that waited over 1 ms starts it");
    /// ```
    ///
    /// # Panics
    ///
    /// Never panics.
    pub fn is_starving(&self) -> bool {
        self.sem.handoff()
    }
}
