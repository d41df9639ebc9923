//! `RwMutex<T>`: Go's `sync.RWMutex`, many readers or one writer.
//!
//! A [`RawSemaphore`] in fair (handoff) mode holding `MAX_READERS` permits: a reader takes one,
//! a writer takes all of them. Because the semaphore is FIFO and keeps its counter empty while
//! anyone waits, a writer at the front of the queue collects the permits of departing readers
//! while new readers queue behind it: a waiting writer blocks new readers, and writers are never
//! starved by a stream of readers. Readers queued behind a writer are all let in together when
//! it unlocks (until the next queued writer). Downgrading a write guard releases all but one
//! permit.

use crate::{
    batch::{RawSemaphore, MAX_PERMITS},
    block::block_on,
};
use std::{
    cell::UnsafeCell,
    fmt,
    future::Future,
    marker::PhantomData,
    mem::ManuallyDrop,
    ops::{Deref, DerefMut},
    pin::Pin,
    task::{Context, Poll},
};

const MAX_READERS: usize = MAX_PERMITS;

/// A reader-writer lock around a `T`, like Go's `sync.RWMutex`, for async code and plain threads.
///
/// Any number of readers or one writer hold it at a time. Waiters are served in FIFO order: a
/// writer waiting for the readers to leave blocks readers that arrive after it, so writers are
/// not starved, and readers that queued behind a writer all get in when it unlocks. Guards
/// unlock on drop, including during unwinding (no poisoning).
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
    sem: RawSemaphore,
    data: UnsafeCell<T>,
}

// SAFETY: the lock owns a `T` and hands it (by `&mut`) to one writer at a time, possibly on
// another thread: `T: Send`.
unsafe impl<T: ?Sized + Send> Send for RwMutex<T> {}
// SAFETY: readers on several threads share `&T` at once (`T: Sync`), and writers on any thread
// get `&mut T` (`T: Send`).
unsafe impl<T: ?Sized + Send + Sync> Sync for RwMutex<T> {}

impl<T> RwMutex<T> {
    /// Creates an unlocked `RwMutex` holding `value`.
    ///
    /// # Examples
    ///
    /// ```
    /// let lock = goro_sync::RwMutex::new(1);
    /// assert_eq!(*lock.try_read().unwrap(), 1);
    /// ```
    pub fn new(value: T) -> Self {
        RwMutex {
            sem: RawSemaphore::new(MAX_READERS, false),
            data: UnsafeCell::new(value),
        }
    }

    /// Consumes the lock and returns the value.
    ///
    /// # Examples
    ///
    /// ```
    /// let lock = goro_sync::RwMutex::new(3);
    /// assert_eq!(lock.into_inner(), 3);
    /// ```
    pub fn into_inner(self) -> T {
        self.data.into_inner()
    }
}

impl<T: ?Sized> RwMutex<T> {
    /// Locks for reading, waiting while a writer holds the lock or waits for it.
    ///
    /// # Examples
    ///
    /// ```
    /// futures::executor::block_on(async {
    ///     let lock = goro_sync::RwMutex::new(vec![1, 2]);
    ///     assert_eq!(lock.read().await.len(), 2);
    /// });
    /// ```
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: a dropped pending `read()` leaves the queue, and a read lock handed to it in
    /// the meantime is released again.
    pub fn read(&self) -> Read<'_, T> {
        Read {
            lock: Some(self),
            key: None,
        }
    }

    /// Locks for writing, waiting until no reader or writer holds the lock.
    ///
    /// # Examples
    ///
    /// ```
    /// futures::executor::block_on(async {
    ///     let lock = goro_sync::RwMutex::new(vec![1]);
    ///     lock.write().await.push(2);
    ///     assert_eq!(*lock.read().await, [1, 2]);
    /// });
    /// ```
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: a dropped pending `write()` leaves the queue and returns the reader slots
    /// it had already collected, so readers queued behind it get in.
    pub fn write(&self) -> Write<'_, T> {
        Write {
            lock: Some(self),
            key: None,
        }
    }

    /// Locks for reading, blocking the current thread.
    ///
    /// # Examples
    ///
    /// ```
    /// let lock = goro_sync::RwMutex::new(1);
    /// assert_eq!(*lock.read_blocking(), 1);
    /// ```
    ///
    /// # Panics
    ///
    /// Never returns if this thread holds the write lock (deadlock), as in Go.
    pub fn read_blocking(&self) -> RwMutexReadGuard<'_, T> {
        match self.try_read() {
            Some(g) => g,
            None => block_on(self.read()),
        }
    }

    /// Locks for writing, blocking the current thread.
    ///
    /// # Examples
    ///
    /// ```
    /// let lock = goro_sync::RwMutex::new(1);
    /// *lock.write_blocking() = 2;
    /// assert_eq!(*lock.read_blocking(), 2);
    /// ```
    ///
    /// # Panics
    ///
    /// Never returns if this thread holds the lock already (deadlock), as in Go.
    pub fn write_blocking(&self) -> RwMutexWriteGuard<'_, T> {
        match self.try_write() {
            Some(g) => g,
            None => block_on(self.write()),
        }
    }

    /// Locks for reading if that is possible right now (no writer holds or awaits the lock).
    ///
    /// # Examples
    ///
    /// ```
    /// let lock = goro_sync::RwMutex::new(1);
    /// let w = lock.try_write().unwrap();
    /// assert!(lock.try_read().is_none());
    /// drop(w);
    /// assert!(lock.try_read().is_some());
    /// ```
    pub fn try_read(&self) -> Option<RwMutexReadGuard<'_, T>> {
        self.sem.try_acquire(1).then(|| RwMutexReadGuard::new(self))
    }

    /// Locks for writing if nobody holds or awaits the lock right now.
    ///
    /// # Examples
    ///
    /// ```
    /// let lock = goro_sync::RwMutex::new(1);
    /// let r = lock.try_read().unwrap();
    /// assert!(lock.try_write().is_none());
    /// drop(r);
    /// assert!(lock.try_write().is_some());
    /// ```
    pub fn try_write(&self) -> Option<RwMutexWriteGuard<'_, T>> {
        self.sem
            .try_acquire(MAX_READERS)
            .then(|| RwMutexWriteGuard::new(self))
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
    pub fn get_mut(&mut self) -> &mut T {
        self.data.get_mut()
    }
}

impl<T: Default> Default for RwMutex<T> {
    fn default() -> Self {
        RwMutex::new(T::default())
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

macro_rules! lock_future {
    ($(#[$doc:meta])* $name:ident, $guard:ident, $permits:expr) => {
        $(#[$doc])*
        #[must_use = "futures do nothing unless you `.await` or poll them"]
        pub struct $name<'a, T: ?Sized> {
            lock: Option<&'a RwMutex<T>>,
            key: Option<usize>,
        }

        impl<'a, T: ?Sized> Future for $name<'a, T> {
            type Output = $guard<'a, T>;

            fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
                let this = &mut *self;
                let lock = this
                    .lock
                    .expect(concat!("`", stringify!($name), "` polled after completion"));
                match lock.sem.poll_acquire(cx, $permits, &mut this.key) {
                    Poll::Ready(()) => {
                        this.lock = None;
                        Poll::Ready($guard::new(lock))
                    }
                    Poll::Pending => Poll::Pending,
                }
            }
        }

        impl<T: ?Sized> Drop for $name<'_, T> {
            fn drop(&mut self) {
                if let Some(lock) = self.lock {
                    lock.sem.cancel(&mut self.key);
                }
            }
        }

        impl<T: ?Sized> fmt::Debug for $name<'_, T> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.debug_struct(stringify!($name))
                    .field("queued", &self.key.is_some())
                    .finish_non_exhaustive()
            }
        }
    };
}

lock_future!(
    /// The future returned by [`RwMutex::read`].
    ///
    /// # Cancel safety
    ///
    /// Dropping it before completion never leaves a read lock held or a waiter stuck.
    Read,
    RwMutexReadGuard,
    1
);
lock_future!(
    /// The future returned by [`RwMutex::write`].
    ///
    /// # Cancel safety
    ///
    /// Dropping it before completion returns the reader slots it had collected, so nothing stays
    /// locked and queued readers proceed.
    Write,
    RwMutexWriteGuard,
    MAX_READERS
);

/// Shared access to the value of an [`RwMutex`]; releases the read lock when dropped.
///
/// # Examples
///
/// ```
/// let lock = goro_sync::RwMutex::new(2);
/// let a = lock.read_blocking();
/// let b = lock.read_blocking();
/// assert_eq!(*a * *b, 4);
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
        // SAFETY: a read guard holds one permit, so no writer (which needs all of them) holds
        // the lock; only shared references exist.
        unsafe { &*self.lock.data.get() }
    }
}

impl<T: ?Sized> Drop for RwMutexReadGuard<'_, T> {
    fn drop(&mut self) {
        self.lock.sem.release(1);
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for RwMutexReadGuard<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}

/// Exclusive access to the value of an [`RwMutex`]; releases the write lock when dropped.
///
/// # Examples
///
/// ```
/// let lock = goro_sync::RwMutex::new(1);
/// let mut w = lock.write_blocking();
/// *w += 1;
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
    /// queued behind this writer get in at once.
    ///
    /// # Examples
    ///
    /// ```
    /// let lock = goro_sync::RwMutex::new(String::new());
    /// let mut w = lock.write_blocking();
    /// w.push('x');
    /// let r = goro_sync::RwMutexWriteGuard::downgrade(w);
    /// assert_eq!(*r, "x");
    /// assert!(lock.try_write().is_none());
    /// ```
    pub fn downgrade(this: Self) -> RwMutexReadGuard<'a, T> {
        let this = ManuallyDrop::new(this);
        this.lock.sem.release(MAX_READERS - 1);
        RwMutexReadGuard::new(this.lock)
    }
}

impl<T: ?Sized> Deref for RwMutexWriteGuard<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        // SAFETY: a write guard holds every permit, so it is the only guard of this lock.
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
        self.lock.sem.release(MAX_READERS);
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for RwMutexWriteGuard<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}
