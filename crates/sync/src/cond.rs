//! `Cond`: Go's `sync.Cond`, paired with this crate's [`Mutex`](crate::Mutex).
//!
//! A [`Notify`] list. `wait` registers the waiter *before* it unlocks the mutex, so a
//! `signal` sent by anyone who takes the mutex after that point finds it in the list.

use crate::{block::block_on, mutex::MutexGuard, queue::Notify};
use std::{
    fmt,
    future::Future,
    pin::Pin,
    task::{Context, Poll},
};

/// A condition variable, like Go's `sync.Cond`: tasks wait for a condition on data guarded by a
/// [`Mutex`](crate::Mutex) and are woken by [`signal`](Cond::signal) or
/// [`broadcast`](Cond::broadcast).
///
/// As in Go, a woken waiter should re-check its condition in a loop: another task may have
/// changed the data between the wake-up and the re-lock. Unlike Go's, a `Cond` is not bound to
/// one mutex; each `wait` names the guard it releases.
///
/// # Examples
///
/// ```
/// use goro_sync::{Cond, Mutex};
/// use std::sync::Arc;
///
/// let pair = Arc::new((Mutex::new(false), Cond::new()));
/// let pair2 = Arc::clone(&pair);
/// std::thread::spawn(move || {
///     let (ready, cond) = &*pair2;
///     *ready.lock_blocking() = true;
///     cond.signal();
/// });
/// let (ready, cond) = &*pair;
/// let mut guard = ready.lock_blocking();
/// while !*guard {
///     guard = cond.wait_blocking(guard);
/// }
/// assert!(*guard);
/// ```
pub struct Cond {
    waiters: Notify,
}

impl Cond {
    crate::loom::const_unless_loom! {
        /// Creates a condition variable with no waiters (a `const fn`: it can be a `static`).
        ///
        /// # Examples
        ///
        /// ```
        /// let cond = goro_sync::Cond::new();
        /// assert_eq!(cond.waiters(), 0);
        /// cond.signal(); // nobody waits: nothing happens
        /// ```
        ///
        /// # Panics
        ///
        /// Never panics.
        pub fn new() -> Self {
            Cond {
                waiters: Notify::new(),
            }
        }
    }

    /// Unlocks `guard`'s mutex, waits for a [`signal`](Cond::signal) or
    /// [`broadcast`](Cond::broadcast), then locks the mutex again and returns the new guard.
    ///
    /// The wait is registered before the mutex is unlocked, so a signal sent after that cannot
    /// be missed. Waiters are woken in FIFO order by `signal`.
    ///
    /// # Examples
    ///
    /// ```
    /// use goro_sync::{Cond, Mutex};
    /// use std::sync::Arc;
    /// futures::executor::block_on(async {
    ///     let state = Arc::new((Mutex::new(0), Cond::new()));
    ///     let s2 = Arc::clone(&state);
    ///     std::thread::spawn(move || {
    ///         *s2.0.lock_blocking() = 1;
    ///         s2.1.broadcast();
    ///     });
    ///     let mut g = state.0.lock().await;
    ///     while *g == 0 {
    ///         g = state.1.wait(g).await;
    ///     }
    ///     assert_eq!(*g, 1);
    /// });
    /// ```
    ///
    /// # Panics
    ///
    /// Never panics.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: dropping the future while it waits for the signal leaves the mutex unlocked
    /// (the guard was given up when `wait` was called); a signal it had already received is
    /// passed to the next waiter. Dropping it while it re-locks behaves like dropping
    /// [`Mutex::lock`](crate::Mutex::lock).
    pub async fn wait<'a, T: ?Sized>(&self, guard: MutexGuard<'a, T>) -> MutexGuard<'a, T> {
        let mutex = MutexGuard::mutex(&guard);
        let notified = Notified {
            cond: self,
            key: Some(self.waiters.register()),
        };
        drop(guard);
        notified.await;
        mutex.lock().await
    }

    /// Like [`wait`](Cond::wait), blocking the current thread.
    ///
    /// # Examples
    ///
    /// ```
    /// use goro_sync::{Cond, Mutex};
    /// let m = Mutex::new(());
    /// let cond = Cond::new();
    /// std::thread::scope(|s| {
    ///     let g = m.lock_blocking();
    ///     s.spawn(|| {
    ///         let _g = m.lock_blocking(); // waits until `wait_blocking` unlocks
    ///         cond.signal();
    ///     });
    ///     let g = cond.wait_blocking(g);
    ///     assert!(m.try_lock().is_none(), "the mutex is locked again on return");
    ///     drop(g);
    /// });
    /// ```
    ///
    /// # Panics
    ///
    /// Never panics. Meant for plain threads: inside an async task it would block the worker
    /// thread.
    pub fn wait_blocking<'a, T: ?Sized>(&self, guard: MutexGuard<'a, T>) -> MutexGuard<'a, T> {
        block_on(self.wait(guard))
    }

    /// Wakes the longest-waiting waiter, if any (Go's `Signal`). A signal with nobody waiting
    /// is not remembered.
    ///
    /// # Examples
    ///
    /// ```
    /// use goro_sync::{Cond, Mutex};
    /// use std::{future::Future, pin::pin, task::Context};
    ///
    /// let (m, cond) = (Mutex::new(()), Cond::new());
    /// let mut cx = Context::from_waker(futures::task::noop_waker_ref());
    /// let mut first = pin!(cond.wait(m.lock_blocking()));
    /// assert!(first.as_mut().poll(&mut cx).is_pending());
    /// let mut second = pin!(cond.wait(m.lock_blocking()));
    /// assert!(second.as_mut().poll(&mut cx).is_pending());
    /// cond.signal(); // wakes `first` only
    /// assert_eq!(cond.waiters(), 1);
    /// assert!(second.as_mut().poll(&mut cx).is_pending());
    /// assert!(first.as_mut().poll(&mut cx).is_ready());
    /// ```
    ///
    /// # Panics
    ///
    /// Never panics.
    pub fn signal(&self) {
        self.waiters.notify_one();
    }

    /// Wakes every waiter (Go's `Broadcast`).
    ///
    /// # Examples
    ///
    /// ```
    /// use goro_sync::{Cond, Mutex};
    /// use std::{future::Future, pin::pin, task::Context};
    ///
    /// let (m, cond) = (Mutex::new(()), Cond::new());
    /// let mut cx = Context::from_waker(futures::task::noop_waker_ref());
    /// let mut first = pin!(cond.wait(m.lock_blocking()));
    /// assert!(first.as_mut().poll(&mut cx).is_pending());
    /// let mut second = pin!(cond.wait(m.lock_blocking()));
    /// assert!(second.as_mut().poll(&mut cx).is_pending());
    /// cond.broadcast();
    /// assert_eq!(cond.waiters(), 0);
    /// let g = match first.as_mut().poll(&mut cx) {
    ///     std::task::Poll::Ready(g) => g,
    ///     std::task::Poll::Pending => unreachable!("woken and the mutex is free"),
    /// };
    /// assert!(second.as_mut().poll(&mut cx).is_pending(), "woken, waits for the mutex");
    /// drop(g);
    /// assert!(second.as_mut().poll(&mut cx).is_ready());
    /// ```
    ///
    /// # Panics
    ///
    /// Never panics.
    pub fn broadcast(&self) {
        self.waiters.notify_all();
    }

    /// Number of waiters not yet signalled (a snapshot, for diagnostics and tests).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::{future::Future, pin::pin, task::Context};
    /// let (m, cond) = (goro_sync::Mutex::new(()), goro_sync::Cond::new());
    /// assert_eq!(cond.waiters(), 0);
    /// let mut wait = pin!(cond.wait(m.lock_blocking()));
    /// let mut cx = Context::from_waker(futures::task::noop_waker_ref());
    /// assert!(wait.as_mut().poll(&mut cx).is_pending());
    /// assert_eq!(cond.waiters(), 1);
    /// ```
    ///
    /// # Panics
    ///
    /// Never panics.
    pub fn waiters(&self) -> usize {
        self.waiters.waiting()
    }
}

impl Default for Cond {
    fn default() -> Self {
        Cond::new()
    }
}

impl fmt::Debug for Cond {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Cond")
            .field("waiters", &self.waiters())
            .finish()
    }
}

/// A registered wait for a signal.
struct Notified<'a> {
    cond: &'a Cond,
    key: Option<usize>,
}

impl Future for Notified<'_> {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = &mut *self;
        this.cond
            .waiters
            .poll_wait(cx, &mut this.key, || true)
            .map(|_| ())
    }
}

impl Drop for Notified<'_> {
    fn drop(&mut self) {
        self.cond.waiters.cancel(&mut self.key, true);
    }
}
