//! `RwMutex<T>`: Go's `sync.RWMutex`, many readers or one writer.
//!
//! # Design
//!
//! After Go's `sync/rwmutex.go` and `async-lock`'s `RwLock` (both read, neither copied):
//! writers take turns on a writer mutex, readers count themselves in one atomic word, and two
//! notification lists ([`Notify`]) hold the readers waiting for a writer to leave and the
//! writer waiting for the readers to leave.
//!
//! ```text
//! state: | readers (bits 4..) | R_STARVING (3) | W_WAITING (2) | R_WAITING (1) | WRITER (0) |
//! ```
//!
//! * **Read lock**: one CAS adds a reader while `WRITER` is clear. **Read unlock**: one
//!   `fetch_sub`; the last reader out wakes the writer if `W_WAITING` is set.
//! * **Write lock**: (1) take the writer mutex, a [`RawSemaphore`] with the `Mutex` policy (Go's
//!   normal and starvation modes among writers); (2) set `WRITER`: from here new readers are
//!   refused, so *a waiting writer blocks new readers* and cannot be starved by them; (3) wait
//!   until the readers already in have left. **Write unlock**: clear `WRITER`, wake the waiting
//!   readers, release the writer mutex.
//! * **Readers are woken, not admitted** (normal mode): when a woken reader runs it competes for
//!   the lock again. A running writer is thus never held up by readers that are not running
//!   (handing the lock to sleeping tasks is what makes strict FIFO locks slow under contention:
//!   every hand-off waits for a task switch). **Starvation mode** (Go's rule, after its mutex): a
//!   reader that has waited more than 1 ms and finds a writer again sets `R_STARVING`; the next
//!   write unlock then *admits* every waiting reader — counts them in, in the same atomic step
//!   that clears `WRITER`, and wakes them already holding the lock — so no writer gets in
//!   before them and readers are not starved by a stream of writers either.
//! * **No lost wake-ups**: a reader registers under the reader list's lock with a CAS that sets
//!   `R_WAITING` only if `WRITER` is still set; the writer clears `WRITER` before it looks at
//!   `R_WAITING`, and notifies (and clears `R_WAITING`) under the same list lock, while it still
//!   holds the writer mutex (so `WRITER` cannot be set again meanwhile). Symmetrically, the
//!   writer registers with a CAS that sets `W_WAITING` only while readers remain, and the last
//!   reader's decrement returns the flag.
//! * **Spinning**: a blocked reader or a draining writer spins a few rounds before it registers
//!   (critical sections are usually short; not on a single CPU; see `batch.rs`).
//! * **Cancellation**: a dropped `read()` leaves the list, and unlocks if it had been admitted;
//!   a dropped `write()` leaves the writer mutex's queue, or, once it has set `WRITER`, unlocks
//!   the way a writer does (waking the readers it had blocked).

use crate::{
    batch::{backoff, multicore, Policy, RawSemaphore, SPIN_ROUNDS},
    block::block_on,
    loom::AtomicUsize,
    queue::Notify,
};
use std::{
    cell::UnsafeCell,
    fmt,
    future::Future,
    marker::PhantomData,
    mem::ManuallyDrop,
    ops::{Deref, DerefMut},
    pin::Pin,
    sync::atomic::Ordering::{AcqRel, Acquire, Relaxed, Release},
    task::{Context, Poll},
};

const WRITER: usize = 0b0001;
const R_WAITING: usize = 0b0010;
const W_WAITING: usize = 0b0100;
const R_STARVING: usize = 0b1000;
const SHIFT: u32 = 4;
const ONE_READER: usize = 1 << SHIFT;

/// The most read guards that can exist at once (only reachable by leaking guards).
const MAX_READERS: usize = usize::MAX >> (SHIFT + 1);

fn readers(s: usize) -> usize {
    s >> SHIFT
}

/// The lock itself, without the data; see the module docs.
struct RawRwLock {
    state: AtomicUsize,
    /// Writers take turns here (Go's `rw.w`).
    writers: RawSemaphore,
    /// Readers waiting for `WRITER` to clear.
    readers_wait: Notify,
    /// The writer (the holder of `writers`) waiting for the readers to leave.
    writer_wait: Notify,
}

impl RawRwLock {
    crate::loom::const_unless_loom! {
        fn new() -> Self {
            RawRwLock {
                state: AtomicUsize::new(0),
                writers: RawSemaphore::new(1, Policy::Barging),
                readers_wait: Notify::new(),
                writer_wait: Notify::new(),
            }
        }
    }

    #[inline]
    fn try_read(&self) -> bool {
        // Relaxed: seeds the CAS, which has Acquire on success.
        let mut s = self.state.load(Relaxed);
        loop {
            if s & WRITER != 0 {
                return false;
            }
            assert!(readers(s) < MAX_READERS, "rwmutex: too many readers");
            // Acquire: pairs with the Release of the last writer's unlock.
            match self
                .state
                .compare_exchange_weak(s, s + ONE_READER, Acquire, Relaxed)
            {
                Ok(_) => return true,
                Err(actual) => s = actual,
            }
        }
    }

    /// Spins a few rounds waiting for the writer to leave, then takes a read lock.
    fn spin_read(&self) -> bool {
        if !multicore() {
            return false;
        }
        for round in 0..SPIN_ROUNDS {
            backoff(round);
            // Relaxed: a look; `try_read` does the acquiring CAS.
            if self.state.load(Relaxed) & WRITER == 0 && self.try_read() {
                return true;
            }
        }
        false
    }

    /// Called under the reader list's lock before a reader registers: sets `R_WAITING` (and,
    /// if it is starving, `R_STARVING`) only if a writer is still there. False if it is gone.
    fn mark_reader_waiting(&self, starved: bool) -> bool {
        let set = R_WAITING | if starved { R_STARVING } else { 0 };
        // Relaxed: the CAS only needs atomicity with the writer's clearing of `WRITER` (a
        // reader that sees it clear retries through `try_read`, which acquires).
        self.state
            .fetch_update(Relaxed, Relaxed, |s| (s & WRITER != 0).then_some(s | set))
            .is_ok()
    }

    #[inline]
    fn read_unlock(&self) {
        // Release: this reader's reads happen before the next writer's writes (its Acquire).
        let prev = self.state.fetch_sub(ONE_READER, Release);
        if readers(prev) == 1 && prev & W_WAITING != 0 {
            self.wake_writer();
        }
    }

    #[cold]
    fn wake_writer(&self) {
        self.writer_wait.notify_one_with(|| {
            // Relaxed: under the writer list's lock, where the flag is set.
            self.state.fetch_and(!W_WAITING, Relaxed);
        });
    }

    /// Takes the writer mutex and sets `WRITER` if there are no readers; false otherwise.
    fn try_write(&self) -> bool {
        if !self.writers.try_acquire_one() {
            return false;
        }
        // Relaxed: seeds the CAS.
        let mut s = self.state.load(Relaxed);
        loop {
            if readers(s) != 0 {
                self.writers.release_one();
                return false;
            }
            // Acquire: pairs with the readers' Release decrements.
            match self
                .state
                .compare_exchange_weak(s, s | WRITER, Acquire, Relaxed)
            {
                Ok(_) => return true,
                Err(actual) => s = actual,
            }
        }
    }

    /// Whether no reader is left (the writer, holding `WRITER`, may go).
    fn drained(&self) -> bool {
        // Acquire: pairs with the readers' Release decrements.
        readers(self.state.load(Acquire)) == 0
    }

    /// Spins a few rounds waiting for the readers to leave.
    fn spin_drain(&self) -> bool {
        if !multicore() {
            return false;
        }
        for round in 0..SPIN_ROUNDS {
            backoff(round);
            if self.drained() {
                return true;
            }
        }
        false
    }

    /// Waits (registered in the writer list under `key`) until the readers have left.
    fn poll_drain(&self, cx: &Context<'_>, key: &mut Option<usize>) -> Poll<()> {
        loop {
            if key.is_some() && self.writer_wait.poll_wait(cx, key, || false).is_pending() {
                return Poll::Pending;
            }
            if self.drained() {
                return Poll::Ready(());
            }
            if self
                .writer_wait
                .poll_wait(cx, key, || !self.mark_writer_waiting())
                .is_pending()
            {
                return Poll::Pending;
            }
        }
    }

    /// Called under the writer list's lock before the writer registers: sets `W_WAITING` only
    /// if readers remain. False if they are gone.
    fn mark_writer_waiting(&self) -> bool {
        // AcqRel / Acquire: a failure (no readers left) lets the writer in, so it must see the
        // readers' Release decrements.
        self.state
            .fetch_update(AcqRel, Acquire, |s| {
                (readers(s) != 0).then_some(s | W_WAITING)
            })
            .is_ok()
    }

    /// Ends a writer's turn (an unlock, a downgrade with `readers = 1`, or a cancelled
    /// `write()` that had set `WRITER`): clears `WRITER`, adds `readers`, wakes or admits the
    /// waiting readers, releases the writer mutex.
    fn unlock_write(&self, readers: usize) {
        // Relaxed: only chooses the path; a reader setting `R_STARVING` after this look is
        // admitted by the next writer's unlock instead.
        if self.state.load(Relaxed) & R_STARVING != 0 {
            self.readers_wait.notify_all_with(true, |waiting| {
                // Release: the admitted readers, and readers arriving later, see the writer's
                // writes. (Under the list lock: exactly the `waiting` readers are admitted.)
                let add = (waiting + readers) * ONE_READER;
                let _ = self.state.fetch_update(Release, Relaxed, |s| {
                    Some((s + add) & !(WRITER | W_WAITING | R_WAITING | R_STARVING))
                });
            });
        } else {
            // Release: as above.
            let prev = self
                .state
                .fetch_update(Release, Relaxed, |s| {
                    Some((s + readers * ONE_READER) & !(WRITER | W_WAITING))
                })
                .expect("the closure always returns Some");
            if prev & R_WAITING != 0 {
                self.readers_wait.notify_all_with(false, |_| {
                    // Relaxed: under the reader list's lock, where the flag is set.
                    self.state.fetch_and(!R_WAITING, Relaxed);
                });
            }
        }
        self.writers.release_one();
    }
}

/// A reader-writer lock around a `T`, like Go's `sync.RWMutex`, for async code and plain threads.
///
/// Any number of readers or one writer hold it at a time. A writer that is waiting for the
/// readers to leave blocks readers that arrive after it, so writers are not starved by a stream
/// of readers; writers take turns like the waiters of a [`Mutex`](crate::Mutex) (Go's normal
/// and starvation modes). Readers blocked by a writer are woken when it unlocks and compete for
/// the lock again; once one of them has waited more than about 1 ms, the next writer's unlock
/// lets all of them in before any other writer, so readers are not starved either. Guards unlock
/// on drop, including during unwinding (no poisoning).
///
/// # Examples
///
/// ```
/// use goro_sync::RwMutex;
/// futures::executor::block_on(async {
///     let lock = RwMutex::new(5);
///     {
///         let r1 = lock.read().await;
///         let r2 = lock.read().await;
///         assert_eq!(*r1 + *r2, 10);
///         assert!(lock.try_write().is_none(), "readers are in");
///     }
///     *lock.write().await += 1;
///     assert_eq!(*lock.read().await, 6);
/// });
/// ```
pub struct RwMutex<T: ?Sized> {
    raw: RawRwLock,
    data: UnsafeCell<T>,
}

// SAFETY: the lock owns a `T` and hands it (by `&mut`) to one writer at a time, possibly on
// another thread: `T: Send`.
unsafe impl<T: ?Sized + Send> Send for RwMutex<T> {}
// SAFETY: readers on several threads share `&T` at once (`T: Sync`), and writers on any thread
// get `&mut T` (`T: Send`).
unsafe impl<T: ?Sized + Send + Sync> Sync for RwMutex<T> {}

impl<T> RwMutex<T> {
    crate::loom::const_unless_loom! {
        /// Creates an unlocked `RwMutex` holding `value`. A `const fn`: it can initialise
        /// a `static`.
        ///
        /// # Examples
        ///
        /// ```
        /// let lock = goro_sync::RwMutex::new(1);
        /// assert_eq!(*lock.try_read().unwrap(), 1);
        /// assert!(lock.try_write().is_some());
        ///
        /// static CONFIG: goro_sync::RwMutex<&str> = goro_sync::RwMutex::new("default");
        /// *CONFIG.write_blocking() = "tuned";
        /// assert_eq!(*CONFIG.read_blocking(), "tuned");
        /// ```
        ///
        /// # Panics
        ///
        /// Never panics.
        pub fn new(value: T) -> Self {
            RwMutex {
                raw: RawRwLock::new(),
                data: UnsafeCell::new(value),
            }
        }
    }

    /// Consumes the lock and returns the value; no locking is needed as nobody else can hold
    /// it.
    ///
    /// # Examples
    ///
    /// ```
    /// let lock = goro_sync::RwMutex::new(3);
    /// *lock.write_blocking() += 1;
    /// assert_eq!(lock.into_inner(), 4);
    /// ```
    ///
    /// # Panics
    ///
    /// Never panics.
    pub fn into_inner(self) -> T {
        self.data.into_inner()
    }
}

impl<T: ?Sized> RwMutex<T> {
    /// Locks for reading, waiting (asynchronously) while a writer holds the lock or waits for
    /// it.
    ///
    /// Completes on the first poll when no writer is in the way.
    ///
    /// # Examples
    ///
    /// ```
    /// futures::executor::block_on(async {
    ///     let lock = goro_sync::RwMutex::new(vec![1, 2]);
    ///     let r = lock.read().await;
    ///     assert_eq!(r.len(), 2);
    ///     assert!(lock.try_read().is_some(), "readers share the lock");
    ///     assert!(lock.try_write().is_none(), "but exclude writers");
    /// });
    /// ```
    ///
    /// # Panics
    ///
    /// Polling the returned future panics if about `usize::MAX >> 5` read guards exist at
    /// once (only possible by leaking guards), or if it is polled again after it completed.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: a dropped pending `read()` stops waiting; if it had been let in meanwhile
    /// (starvation mode), it unlocks again, so it never holds the lock.
    pub fn read(&self) -> Read<'_, T> {
        Read {
            lock: Some(self),
            key: None,
            spun: false,
            #[cfg(not(loom))]
            since: None,
            #[cfg(loom)]
            waits: 0,
        }
    }

    /// Locks for writing, waiting (asynchronously) until no reader or writer holds the lock.
    ///
    /// Once this writer's turn has come, readers that arrive are refused until it has locked
    /// and unlocked.
    ///
    /// # Examples
    ///
    /// ```
    /// futures::executor::block_on(async {
    ///     let lock = goro_sync::RwMutex::new(vec![1]);
    ///     let mut w = lock.write().await;
    ///     w.push(2);
    ///     assert!(lock.try_read().is_none(), "a writer excludes readers");
    ///     drop(w);
    ///     assert_eq!(*lock.read().await, [1, 2]);
    /// });
    /// ```
    ///
    /// # Panics
    ///
    /// Polling the returned future again after it completed panics.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: a dropped pending `write()` leaves the writers' queue, or, if it was
    /// already waiting for readers to leave, lets in the readers it had blocked; the lock is
    /// never left held.
    pub fn write(&self) -> Write<'_, T> {
        Write {
            lock: Some(self),
            key: None,
            draining: false,
            drain_key: None,
        }
    }

    /// Locks for reading, blocking the current thread; see [`read`](RwMutex::read).
    ///
    /// Meant for plain threads: inside an async task it would block the worker thread.
    ///
    /// # Examples
    ///
    /// ```
    /// let lock = goro_sync::RwMutex::new(1);
    /// let r = lock.read_blocking();
    /// assert_eq!(*r, 1);
    /// assert!(lock.try_write().is_none());
    /// ```
    ///
    /// # Panics
    ///
    /// If about `usize::MAX >> 5` read guards exist at once (only possible by leaking guards).
    /// It never returns (deadlock, as in Go) if this thread holds the write lock.
    pub fn read_blocking(&self) -> RwMutexReadGuard<'_, T> {
        match self.try_read() {
            Some(g) => g,
            None => block_on(self.read()),
        }
    }

    /// Locks for writing, blocking the current thread; see [`write`](RwMutex::write).
    ///
    /// Meant for plain threads: inside an async task it would block the worker thread.
    ///
    /// # Examples
    ///
    /// ```
    /// let lock = goro_sync::RwMutex::new(1);
    /// let mut w = lock.write_blocking();
    /// *w = 2;
    /// assert!(lock.try_read().is_none());
    /// drop(w);
    /// assert_eq!(*lock.read_blocking(), 2);
    /// ```
    ///
    /// # Panics
    ///
    /// Never panics. It never returns (deadlock, as in Go) if this thread holds the lock
    /// already.
    pub fn write_blocking(&self) -> RwMutexWriteGuard<'_, T> {
        match self.try_write() {
            Some(g) => g,
            None => block_on(self.write()),
        }
    }

    /// Locks for reading if no writer holds or awaits the lock right now.
    ///
    /// # Examples
    ///
    /// ```
    /// let lock = goro_sync::RwMutex::new(1);
    /// let w = lock.try_write().unwrap();
    /// assert!(lock.try_read().is_none(), "a writer is in");
    /// drop(w);
    /// assert!(lock.try_read().is_some());
    /// ```
    ///
    /// # Panics
    ///
    /// If about `usize::MAX >> 5` read guards exist at once (only possible by leaking guards).
    pub fn try_read(&self) -> Option<RwMutexReadGuard<'_, T>> {
        self.raw.try_read().then(|| RwMutexReadGuard::new(self))
    }

    /// Locks for writing if nobody holds or awaits the lock right now.
    ///
    /// # Examples
    ///
    /// ```
    /// let lock = goro_sync::RwMutex::new(1);
    /// let r = lock.try_read().unwrap();
    /// assert!(lock.try_write().is_none(), "a reader is in");
    /// drop(r);
    /// assert!(lock.try_write().is_some());
    /// ```
    ///
    /// # Panics
    ///
    /// Never panics.
    pub fn try_write(&self) -> Option<RwMutexWriteGuard<'_, T>> {
        self.raw.try_write().then(|| RwMutexWriteGuard::new(self))
    }

    /// Returns a mutable reference to the value; `&mut self` proves nobody holds the lock.
    ///
    /// # Examples
    ///
    /// ```
    /// let mut lock = goro_sync::RwMutex::new(1);
    /// *lock.get_mut() += 1;
    /// assert_eq!(lock.into_inner(), 2);
    /// ```
    ///
    /// # Panics
    ///
    /// Never panics.
    pub fn get_mut(&mut self) -> &mut T {
        self.data.get_mut()
    }
}

impl<T: Default> Default for RwMutex<T> {
    fn default() -> Self {
        RwMutex::new(T::default())
    }
}

impl<T> From<T> for RwMutex<T> {
    fn from(value: T) -> Self {
        RwMutex::new(value)
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for RwMutex<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("RwMutex");
        match self.try_read() {
            Some(guard) => d.field("data", &&*guard),
            None => d.field("data", &format_args!("<locked>")),
        };
        d.finish_non_exhaustive()
    }
}

/// The future returned by [`RwMutex::read`].
///
/// # Examples
///
/// ```
/// use std::{future::Future, pin::Pin, task::{Context, Poll}};
/// let lock = goro_sync::RwMutex::new(1);
/// let w = lock.try_write().unwrap();
/// let mut fut = lock.read();
/// let mut cx = Context::from_waker(futures::task::noop_waker_ref());
/// assert!(Pin::new(&mut fut).poll(&mut cx).is_pending(), "a writer is in");
/// drop(w);
/// assert!(matches!(Pin::new(&mut fut).poll(&mut cx), Poll::Ready(_)));
/// ```
///
/// # Panics
///
/// Polling it again after it completed panics.
///
/// # Cancel safety
///
/// Dropping it before completion never leaves a read lock held or a waiter stuck.
#[must_use = "futures do nothing unless you `.await` or poll them"]
pub struct Read<'a, T: ?Sized> {
    lock: Option<&'a RwMutex<T>>,
    /// Registered in the reader list.
    key: Option<usize>,
    /// Has spun once already.
    spun: bool,
    /// When it first had to wait (for starvation mode).
    #[cfg(not(loom))]
    since: Option<std::time::Instant>,
    /// Under loom time does not pass: a reader counts as starved when it has to wait again.
    #[cfg(loom)]
    waits: u32,
}

impl<T: ?Sized> Read<'_, T> {
    fn starved(&self) -> bool {
        #[cfg(not(loom))]
        return self
            .since
            .is_some_and(|t| t.elapsed() >= crate::batch::STARVATION_THRESHOLD);
        #[cfg(loom)]
        return self.waits > 0;
    }
}

impl<'a, T: ?Sized> Future for Read<'a, T> {
    type Output = RwMutexReadGuard<'a, T>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = &mut *self;
        let lock = this.lock.expect("`Read` polled after completion");
        let raw = &lock.raw;
        loop {
            if this.key.is_some() {
                match raw.readers_wait.poll_wait(cx, &mut this.key, || false) {
                    Poll::Pending => return Poll::Pending,
                    // Admitted by the writer's unlock (starvation mode): we hold the lock.
                    Poll::Ready(true) => break,
                    // Woken: try again.
                    Poll::Ready(false) => {}
                }
            }
            if raw.try_read() {
                break;
            }
            if !this.spun {
                this.spun = true;
                if raw.spin_read() {
                    break;
                }
            }
            let starved = this.starved();
            match raw
                .readers_wait
                .poll_wait(cx, &mut this.key, || !raw.mark_reader_waiting(starved))
            {
                Poll::Pending => {
                    #[cfg(not(loom))]
                    this.since.get_or_insert_with(std::time::Instant::now);
                    #[cfg(loom)]
                    {
                        this.waits += 1;
                    }
                    return Poll::Pending;
                }
                // The writer left before we registered: try again.
                Poll::Ready(_) => {}
            }
        }
        this.lock = None;
        Poll::Ready(RwMutexReadGuard::new(lock))
    }
}

impl<T: ?Sized> Drop for Read<'_, T> {
    fn drop(&mut self) {
        if let Some(lock) = self.lock {
            if lock.raw.readers_wait.cancel(&mut self.key, false) {
                // Admitted meanwhile: give the read lock back.
                lock.raw.read_unlock();
            }
        }
    }
}

impl<T: ?Sized> fmt::Debug for Read<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Read")
            .field("queued", &self.key.is_some())
            .finish_non_exhaustive()
    }
}

/// The future returned by [`RwMutex::write`].
///
/// # Examples
///
/// ```
/// use std::{future::Future, pin::Pin, task::{Context, Poll}};
/// let lock = goro_sync::RwMutex::new(1);
/// let r = lock.try_read().unwrap();
/// let mut fut = lock.write();
/// let mut cx = Context::from_waker(futures::task::noop_waker_ref());
/// assert!(Pin::new(&mut fut).poll(&mut cx).is_pending(), "waits for the reader");
/// assert!(lock.try_read().is_none(), "and blocks new readers meanwhile");
/// drop(r);
/// assert!(matches!(Pin::new(&mut fut).poll(&mut cx), Poll::Ready(_)));
/// ```
///
/// # Panics
///
/// Polling it again after it completed panics.
///
/// # Cancel safety
///
/// Dropping it before completion never leaves the lock held; readers it had blocked are let
/// in.
#[must_use = "futures do nothing unless you `.await` or poll them"]
pub struct Write<'a, T: ?Sized> {
    lock: Option<&'a RwMutex<T>>,
    /// Queued for the writer mutex.
    key: Option<usize>,
    /// Holds the writer mutex and has set `WRITER`: waiting for the readers to leave.
    draining: bool,
    /// Registered in the writer list while draining.
    drain_key: Option<usize>,
}

impl<'a, T: ?Sized> Future for Write<'a, T> {
    type Output = RwMutexWriteGuard<'a, T>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = &mut *self;
        let lock = this.lock.expect("`Write` polled after completion");
        let raw = &lock.raw;
        if !this.draining {
            if raw.writers.poll_acquire(cx, 1, &mut this.key).is_pending() {
                return Poll::Pending;
            }
            this.draining = true;
            // AcqRel: Acquire pairs with the readers' Release decrements (if none is left we
            // go at once); from here on new readers are refused.
            let prev = raw.state.fetch_or(WRITER, AcqRel);
            if readers(prev) != 0
                && !raw.spin_drain()
                && raw.poll_drain(cx, &mut this.drain_key).is_pending()
            {
                return Poll::Pending;
            }
        } else if raw.poll_drain(cx, &mut this.drain_key).is_pending() {
            return Poll::Pending;
        }
        this.lock = None;
        this.draining = false;
        Poll::Ready(RwMutexWriteGuard::new(lock))
    }
}

impl<T: ?Sized> Drop for Write<'_, T> {
    fn drop(&mut self) {
        let Some(lock) = self.lock else { return };
        if self.draining {
            lock.raw.writer_wait.cancel(&mut self.drain_key, false);
            lock.raw.unlock_write(0);
        } else {
            lock.raw.writers.cancel(&mut self.key);
        }
    }
}

impl<T: ?Sized> fmt::Debug for Write<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Write")
            .field("queued", &(self.key.is_some() || self.drain_key.is_some()))
            .field("draining", &self.draining)
            .finish_non_exhaustive()
    }
}

/// Shared access to the value of an [`RwMutex`]; releases the read lock when dropped (also
/// during unwinding).
///
/// # Examples
///
/// ```
/// let lock = goro_sync::RwMutex::new(2);
/// let a = lock.read_blocking();
/// let b = lock.read_blocking();
/// assert_eq!(*a * *b, 4);
/// assert!(lock.try_write().is_none());
/// drop((a, b));
/// assert!(lock.try_write().is_some());
/// ```
#[must_use = "if unused the RwMutex will immediately unlock"]
pub struct RwMutexReadGuard<'a, T: ?Sized> {
    lock: &'a RwMutex<T>,
    _not_auto: PhantomData<*const ()>,
}

// SAFETY: a read guard gives `&T`; moving it to another thread while other readers keep
// theirs shares `T` across threads: `T: Sync`.
unsafe impl<T: ?Sized + Sync> Send for RwMutexReadGuard<'_, T> {}
// SAFETY: sharing a read guard shares `&T`: `T: Sync`.
unsafe impl<T: ?Sized + Sync> Sync for RwMutexReadGuard<'_, T> {}

impl<'a, T: ?Sized> RwMutexReadGuard<'a, T> {
    fn new(lock: &'a RwMutex<T>) -> Self {
        RwMutexReadGuard {
            lock,
            _not_auto: PhantomData,
        }
    }
}

impl<T: ?Sized> Deref for RwMutexReadGuard<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        // SAFETY: a read guard is counted in the reader count, so no writer holds the lock (a
        // writer waits for the count to reach zero); only shared references exist.
        unsafe { &*self.lock.data.get() }
    }
}

impl<T: ?Sized> Drop for RwMutexReadGuard<'_, T> {
    fn drop(&mut self) {
        self.lock.raw.read_unlock();
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for RwMutexReadGuard<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}

impl<T: ?Sized + fmt::Display> fmt::Display for RwMutexReadGuard<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&**self, f)
    }
}

/// Exclusive access to the value of an [`RwMutex`]; releases the write lock when dropped (also
/// during unwinding).
///
/// # Examples
///
/// ```
/// let lock = goro_sync::RwMutex::new(1);
/// let mut w = lock.write_blocking();
/// *w += 1;
/// assert!(lock.try_read().is_none());
/// let r = goro_sync::RwMutexWriteGuard::downgrade(w);
/// assert_eq!(*r, 2);
/// assert!(lock.try_read().is_some(), "other readers may join after a downgrade");
/// ```
#[must_use = "if unused the RwMutex will immediately unlock"]
pub struct RwMutexWriteGuard<'a, T: ?Sized> {
    lock: &'a RwMutex<T>,
    _not_auto: PhantomData<*const ()>,
}

// SAFETY: moving a write guard moves `&mut T` access to another thread (`T: Send`); it may then
// be downgraded to a read guard shared with other readers (`T: Sync`).
unsafe impl<T: ?Sized + Send + Sync> Send for RwMutexWriteGuard<'_, T> {}
// SAFETY: sharing a write guard shares `&T`: `T: Sync` (and `Send` as above).
unsafe impl<T: ?Sized + Send + Sync> Sync for RwMutexWriteGuard<'_, T> {}

impl<'a, T: ?Sized> RwMutexWriteGuard<'a, T> {
    fn new(lock: &'a RwMutex<T>) -> Self {
        RwMutexWriteGuard {
            lock,
            _not_auto: PhantomData,
        }
    }

    /// Turns the write lock into a read lock without letting a writer in between; readers
    /// waiting for this writer get in at once.
    ///
    /// # Examples
    ///
    /// ```
    /// let lock = goro_sync::RwMutex::new(String::new());
    /// let mut w = lock.write_blocking();
    /// w.push('x');
    /// let r = goro_sync::RwMutexWriteGuard::downgrade(w);
    /// assert_eq!(*r, "x");
    /// assert!(lock.try_write().is_none(), "still read-locked");
    /// assert!(lock.try_read().is_some());
    /// ```
    ///
    /// # Panics
    ///
    /// Never panics.
    pub fn downgrade(this: Self) -> RwMutexReadGuard<'a, T> {
        let this = ManuallyDrop::new(this);
        this.lock.raw.unlock_write(1);
        RwMutexReadGuard::new(this.lock)
    }
}

impl<T: ?Sized> Deref for RwMutexWriteGuard<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        // SAFETY: a write guard exists only while `WRITER` is set and the reader count is zero
        // (new readers are refused), so it is the only guard of this lock.
        unsafe { &*self.lock.data.get() }
    }
}

impl<T: ?Sized> DerefMut for RwMutexWriteGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: as in `deref`; `&mut self` makes this the only access through the guard.
        unsafe { &mut *self.lock.data.get() }
    }
}

impl<T: ?Sized> Drop for RwMutexWriteGuard<'_, T> {
    fn drop(&mut self) {
        self.lock.raw.unlock_write(0);
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for RwMutexWriteGuard<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}

impl<T: ?Sized + fmt::Display> fmt::Display for RwMutexWriteGuard<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&**self, f)
    }
}
