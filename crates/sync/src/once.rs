//! `OnceCell<T>` and `Once`: one-time initialisation (Go's `sync.Once`, `sync.OnceValue`).
//!
//! The value lives in a `std::sync::OnceLock`; who may run the initialiser is decided by a
//! one-permit fair [`RawSemaphore`]. The first caller takes the permit and runs its
//! initialiser; later callers queue for the permit in FIFO order and, once they get it, find
//! the value set and pass the permit on. If the initialiser panics, fails, or its future is
//! dropped, the permit goes back and the next queued caller runs *its* initialiser, so the cell
//! is never stuck half-initialised.

use crate::{
    batch::{Policy, RawSemaphore},
    block::block_on,
};
use std::{
    fmt,
    future::Future,
    pin::Pin,
    sync::OnceLock,
    task::{Context, Poll},
};

/// A cell written once, by the first caller of [`get_or_init`](OnceCell::get_or_init); for
/// async code and plain threads.
///
/// Concurrent callers wait for the initialiser that runs, then all see its value. If that
/// initialiser panics, returns an error, or is cancelled, the cell stays empty and the next
/// waiting caller runs its own initialiser.
///
/// # Examples
///
/// ```
/// use goro_sync::OnceCell;
/// static CONFIG: std::sync::LazyLock<OnceCell<String>> = std::sync::LazyLock::new(OnceCell::new);
///
/// futures::executor::block_on(async {
///     let v = CONFIG.get_or_init(|| async { "loaded".to_string() }).await;
///     assert_eq!(v, "loaded");
///     let again = CONFIG.get_or_init(|| async { unreachable!() }).await;
///     assert_eq!(again, "loaded");
/// });
/// ```
pub struct OnceCell<T> {
    value: OnceLock<T>,
    init: RawSemaphore,
}

impl<T> OnceCell<T> {
    crate::loom::const_unless_loom! {
        /// Creates an empty cell. A `const fn`: a cell can be a `static`, initialised by
        /// whichever task gets there first.
        ///
        /// # Examples
        ///
        /// ```
        /// let cell = goro_sync::OnceCell::<u8>::new();
        /// assert!(cell.get().is_none());
        ///
        /// static PORT: goro_sync::OnceCell<u16> = goro_sync::OnceCell::new();
        /// assert_eq!(*PORT.get_or_init_blocking(|| 8080), 8080);
        /// assert_eq!(PORT.get(), Some(&8080));
        /// ```
        ///
        /// # Panics
        ///
        /// Never panics.
        pub fn new() -> Self {
            OnceCell {
                value: OnceLock::new(),
                init: RawSemaphore::new(1, Policy::Fair),
            }
        }
    }

    /// The value, if the cell has been initialised.
    ///
    /// # Examples
    ///
    /// ```
    /// let cell = goro_sync::OnceCell::new();
    /// assert_eq!(cell.get(), None);
    /// cell.get_or_init_blocking(|| 3);
    /// assert_eq!(cell.get(), Some(&3));
    /// ```
    ///
    /// # Panics
    ///
    /// Never panics.
    pub fn get(&self) -> Option<&T> {
        self.value.get()
    }

    /// Returns the value, running `init` to produce it if the cell is empty.
    ///
    /// Only one initialiser runs at a time; concurrent callers wait (FIFO) for it and then
    /// return its value without running theirs.
    ///
    /// # Examples
    ///
    /// ```
    /// futures::executor::block_on(async {
    ///     let cell = goro_sync::OnceCell::new();
    ///     assert_eq!(*cell.get_or_init(|| async { 1 }).await, 1);
    ///     assert_eq!(*cell.get_or_init(|| async { 2 }).await, 1);
    /// });
    /// ```
    ///
    /// # Panics
    ///
    /// If `init` panics, the panic propagates and the cell stays empty (the next caller
    /// initialises it).
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: dropping the future while it waits leaves the queue; dropping it while its
    /// initialiser runs abandons that initialiser and lets the next caller run its own.
    pub async fn get_or_init<F, Fut>(&self, init: F) -> &T
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = T>,
    {
        match self
            .get_or_try_init(|| async { Ok::<T, std::convert::Infallible>(init().await) })
            .await
        {
            Ok(v) => v,
            Err(never) => match never {},
        }
    }

    /// Like [`get_or_init`](OnceCell::get_or_init) with a fallible initialiser: an error is
    /// returned to this caller and leaves the cell empty.
    ///
    /// # Examples
    ///
    /// ```
    /// futures::executor::block_on(async {
    ///     let cell = goro_sync::OnceCell::new();
    ///     let err = cell.get_or_try_init(|| async { Err("offline") }).await;
    ///     assert_eq!(err, Err("offline"));
    ///     assert!(cell.get().is_none());
    ///     let ok = cell.get_or_try_init(|| async { Ok::<_, &str>(7) }).await;
    ///     assert_eq!(ok, Ok(&7));
    /// });
    /// ```
    ///
    /// # Errors
    ///
    /// The error of this caller's `init`, if it ran and failed.
    ///
    /// # Panics
    ///
    /// If `init` panics, the panic propagates and the cell stays empty.
    ///
    /// # Cancel safety
    ///
    /// As for [`get_or_init`](OnceCell::get_or_init).
    pub async fn get_or_try_init<E, F, Fut>(&self, init: F) -> Result<&T, E>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<T, E>>,
    {
        if let Some(v) = self.value.get() {
            return Ok(v);
        }
        let _turn = InitTurn {
            cell: self,
            key: None,
            done: false,
        }
        .await;
        if let Some(v) = self.value.get() {
            return Ok(v);
        }
        let value = init().await?;
        Ok(self.value.get_or_init(|| value))
    }

    /// Like [`get_or_init`](OnceCell::get_or_init) for plain threads, with a synchronous
    /// initialiser; blocks while another caller initialises.
    ///
    /// # Examples
    ///
    /// ```
    /// let cell = goro_sync::OnceCell::new();
    /// assert_eq!(*cell.get_or_init_blocking(|| 5), 5);
    /// assert_eq!(*cell.get_or_init_blocking(|| 6), 5, "already set");
    /// ```
    ///
    /// # Panics
    ///
    /// If `init` panics, the panic propagates and the cell stays empty.
    pub fn get_or_init_blocking<F: FnOnce() -> T>(&self, init: F) -> &T {
        if let Some(v) = self.value.get() {
            return v;
        }
        block_on(self.get_or_init(|| std::future::ready(init())))
    }

    /// Consumes the cell and returns its value, if any.
    ///
    /// # Examples
    ///
    /// ```
    /// let cell = goro_sync::OnceCell::new();
    /// cell.get_or_init_blocking(|| 'x');
    /// assert_eq!(cell.into_inner(), Some('x'));
    /// assert_eq!(goro_sync::OnceCell::<char>::new().into_inner(), None);
    /// ```
    ///
    /// # Panics
    ///
    /// Never panics.
    pub fn into_inner(self) -> Option<T> {
        self.value.into_inner()
    }
}

impl<T> Default for OnceCell<T> {
    fn default() -> Self {
        OnceCell::new()
    }
}

impl<T: fmt::Debug> fmt::Debug for OnceCell<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("OnceCell").field(&self.get()).finish()
    }
}

/// Waits for the right to run the initialiser; the returned guard gives it back.
struct InitTurn<'a, T> {
    cell: &'a OnceCell<T>,
    key: Option<usize>,
    done: bool,
}

impl<'a, T> Future for InitTurn<'a, T> {
    type Output = TurnGuard<'a, T>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = &mut *self;
        match this.cell.init.poll_acquire(cx, 1, &mut this.key) {
            Poll::Ready(()) => {
                this.done = true;
                Poll::Ready(TurnGuard { cell: this.cell })
            }
            Poll::Pending => Poll::Pending,
        }
    }
}

impl<T> Drop for InitTurn<'_, T> {
    fn drop(&mut self) {
        if !self.done {
            self.cell.init.cancel(&mut self.key);
        }
    }
}

struct TurnGuard<'a, T> {
    cell: &'a OnceCell<T>,
}

impl<T> Drop for TurnGuard<'_, T> {
    fn drop(&mut self) {
        // Also runs on panic or cancellation of the initialiser: the next caller gets its turn.
        self.cell.init.release(1);
    }
}

/// Runs a closure exactly once, like Go's `sync.Once`; concurrent callers wait for it.
///
/// Unlike Go's `Once`, a closure that panics does not count: the `Once` stays incomplete and
/// the next caller runs its own closure (the same rule as [`OnceCell`]).
///
/// # Examples
///
/// ```
/// use goro_sync::Once;
/// use std::sync::atomic::{AtomicU32, Ordering};
///
/// let once = Once::new();
/// let runs = AtomicU32::new(0);
/// std::thread::scope(|s| {
///     for _ in 0..4 {
///         s.spawn(|| once.call_once(|| { runs.fetch_add(1, Ordering::SeqCst); }));
///     }
/// });
/// assert_eq!(runs.load(Ordering::SeqCst), 1);
/// assert!(once.is_completed());
/// ```
pub struct Once {
    cell: OnceCell<()>,
}

impl Once {
    crate::loom::const_unless_loom! {
        /// Creates a `Once` that has not run. A `const fn`, so it can be a `static` (Go's
        /// package-level `var once sync.Once`).
        ///
        /// # Examples
        ///
        /// ```
        /// assert!(!goro_sync::Once::new().is_completed());
        ///
        /// static SETUP: goro_sync::Once = goro_sync::Once::new();
        /// SETUP.call_once(|| println!("set up"));
        /// assert!(SETUP.is_completed());
        /// ```
        ///
        /// # Panics
        ///
        /// Never panics.
        pub fn new() -> Self {
            Once {
                cell: OnceCell::new(),
            }
        }
    }

    /// Runs `f` if no call has completed yet; otherwise returns at once. While another caller's
    /// closure runs, this blocks the thread until it finishes.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::panic::{catch_unwind, AssertUnwindSafe};
    ///
    /// let once = goro_sync::Once::new();
    /// let failed = catch_unwind(AssertUnwindSafe(|| once.call_once(|| panic!("boom"))));
    /// assert!(failed.is_err() && !once.is_completed(), "a panicking call does not count");
    /// let mut n = 0;
    /// once.call_once(|| n += 1);
    /// once.call_once(|| n += 1);
    /// assert_eq!(n, 1);
    /// ```
    ///
    /// # Panics
    ///
    /// If `f` panics, the panic propagates and the `Once` stays incomplete.
    pub fn call_once<F: FnOnce()>(&self, f: F) {
        self.cell.get_or_init_blocking(f);
    }

    /// The async form of [`call_once`](Once::call_once): runs the future `f` returns if no call
    /// has completed yet; concurrent callers wait without blocking their thread.
    ///
    /// # Examples
    ///
    /// ```
    /// futures::executor::block_on(async {
    ///     let once = goro_sync::Once::new();
    ///     let runs = std::cell::Cell::new(0);
    ///     once.call_once_async(|| async { runs.set(runs.get() + 1) }).await;
    ///     once.call_once_async(|| async { unreachable!("completed already") }).await;
    ///     assert!(once.is_completed());
    ///     assert_eq!(runs.get(), 1);
    /// });
    /// ```
    ///
    /// # Panics
    ///
    /// If the future panics, the panic propagates and the `Once` stays incomplete.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: dropping the future while it waits for another caller's closure only stops
    /// waiting; dropping it while its own closure's future runs leaves the `Once` incomplete,
    /// and the next caller runs its closure.
    pub async fn call_once_async<F, Fut>(&self, f: F)
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = ()>,
    {
        self.cell.get_or_init(f).await;
    }

    /// Whether a call has completed.
    ///
    /// # Examples
    ///
    /// ```
    /// let once = goro_sync::Once::new();
    /// assert!(!once.is_completed());
    /// once.call_once(|| {});
    /// assert!(once.is_completed());
    /// ```
    ///
    /// # Panics
    ///
    /// Never panics.
    pub fn is_completed(&self) -> bool {
        self.cell.get().is_some()
    }
}

impl Default for Once {
    fn default() -> Self {
        Once::new()
    }
}

impl fmt::Debug for Once {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Once")
            .field("completed", &self.is_completed())
            .finish()
    }
}
