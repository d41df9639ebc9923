//! Atomics: std's atomic integers re-exported, and [`Value`], an atomically swapped `Arc<T>`.
//!
//! Go's `sync/atomic` functions map onto methods of Rust's atomic types. Every Rust method takes
//! an [`Ordering`]; Go's atomics are sequentially consistent, so `Ordering::SeqCst` is the exact
//! equivalent (weaker orderings are an optimisation Go does not offer).
//!
//! | Go                                   | Rust                                                  |
//! |--------------------------------------|-------------------------------------------------------|
//! | `atomic.Int64`, `atomic.Int32`       | [`AtomicI64`], [`AtomicI32`]                          |
//! | `atomic.Uint64`, `atomic.Uint32`, `atomic.Uintptr` | [`AtomicU64`], [`AtomicU32`], [`AtomicUsize`] |
//! | `atomic.Bool`                        | [`AtomicBool`]                                        |
//! | `atomic.Pointer[T]`                  | [`AtomicPtr`] (raw), or [`Value<T>`] (safe, `Arc<T>`) |
//! | `atomic.Value`                       | [`Value<T>`]                                          |
//! | `AddInt64(&x, d)` / `x.Add(d)`       | `x.fetch_add(d, SeqCst) + d` (Go returns the *new* value, `fetch_add` the old) |
//! | `x.Add(-d)` (subtract)               | `x.fetch_sub(d, SeqCst) - d`                          |
//! | `LoadInt64(&x)` / `x.Load()`         | `x.load(SeqCst)`                                      |
//! | `StoreInt64(&x, v)` / `x.Store(v)`   | `x.store(v, SeqCst)`                                  |
//! | `SwapInt64(&x, v)` / `x.Swap(v)`     | `x.swap(v, SeqCst)` (returns the old value, as Go)    |
//! | `CompareAndSwapInt64(&x, old, new)`  | `x.compare_exchange(old, new, SeqCst, SeqCst).is_ok()` |
//! | `AndInt64` / `OrInt64` (Go 1.23)     | `x.fetch_and(m, SeqCst)` / `x.fetch_or(m, SeqCst)`    |
//! | `v.Load()` / `v.Store(x)` on `atomic.Value` | [`Value::load`] / [`Value::store`]             |
//! | `v.Swap(x)` / `v.CompareAndSwap(old, new)`  | [`Value::swap`] / [`Value::compare_and_swap`]  |
//!
//! # Examples
//!
//! ```
//! use goro_sync::atomic::{AtomicI64, Ordering::SeqCst};
//!
//! let hits = AtomicI64::new(0);
//! assert_eq!(hits.fetch_add(5, SeqCst) + 5, 5); // Go: hits.Add(5) == 5
//! assert!(hits.compare_exchange(5, 7, SeqCst, SeqCst).is_ok()); // Go: CompareAndSwap(5, 7)
//! assert_eq!(hits.load(SeqCst), 7);
//! ```

use crate::loom::RwLock;
use std::{fmt, sync::Arc};

pub use std::sync::atomic::{
    compiler_fence, fence, AtomicBool, AtomicI16, AtomicI32, AtomicI64, AtomicI8, AtomicIsize,
    AtomicPtr, AtomicU16, AtomicU32, AtomicU64, AtomicU8, AtomicUsize, Ordering,
};

/// An atomically replaceable `Arc<T>`, like Go's `atomic.Value` / `atomic.Pointer[T]`.
///
/// Readers get a clone of the current `Arc` ([`load`](Value::load)); writers replace it
/// ([`store`](Value::store), [`swap`](Value::swap),
/// [`compare_and_swap`](Value::compare_and_swap)). Old values stay alive as long as a reader
/// holds them.
///
/// Implemented with a reader-writer lock held only for an `Arc` clone or pointer swap (a few
/// nanoseconds, no user code runs under it), which makes it obviously sound; every operation
/// is linearizable. It never blocks for longer than such a swap.
///
/// # Examples
///
/// ```
/// use goro_sync::atomic::Value;
/// use std::sync::Arc;
///
/// let config = Value::new(Arc::new("v1"));
/// let seen = config.load();
/// config.store(Arc::new("v2"));
/// assert_eq!(*seen, "v1");
/// assert_eq!(*config.load(), "v2");
/// ```
pub struct Value<T> {
    current: RwLock<Arc<T>>,
}

impl<T> Value<T> {
    /// Creates a `Value` holding `value`.
    ///
    /// # Examples
    ///
    /// ```
    /// let v = goro_sync::atomic::Value::new(std::sync::Arc::new(1));
    /// assert_eq!(*v.load(), 1);
    /// ```
    ///
    /// # Panics
    ///
    /// Never panics.
    pub fn new(value: Arc<T>) -> Self {
        Value {
            current: RwLock::new(value),
        }
    }

    /// Returns (a clone of) the current `Arc` (Go's `Load`).
    ///
    /// # Examples
    ///
    /// ```
    /// let v = goro_sync::atomic::Value::new(std::sync::Arc::new("a"));
    /// assert_eq!(*v.load(), "a");
    /// ```
    ///
    /// # Panics
    ///
    /// Never panics.
    pub fn load(&self) -> Arc<T> {
        Arc::clone(&self.current.read().unwrap_or_else(|e| e.into_inner()))
    }

    /// Replaces the current value (Go's `Store`); the old `Arc` is dropped outside the lock.
    ///
    /// # Examples
    ///
    /// ```
    /// let v = goro_sync::atomic::Value::new(std::sync::Arc::new(1));
    /// v.store(std::sync::Arc::new(2));
    /// assert_eq!(*v.load(), 2);
    /// ```
    ///
    /// # Panics
    ///
    /// Never panics.
    pub fn store(&self, value: Arc<T>) {
        drop(self.swap(value));
    }

    /// Replaces the current value and returns the old one (Go's `Swap`).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::Arc;
    /// let v = goro_sync::atomic::Value::new(Arc::new(1));
    /// assert_eq!(*v.swap(Arc::new(2)), 1);
    /// assert_eq!(*v.load(), 2);
    /// ```
    ///
    /// # Panics
    ///
    /// Never panics.
    pub fn swap(&self, value: Arc<T>) -> Arc<T> {
        let mut guard = self.current.write().unwrap_or_else(|e| e.into_inner());
        std::mem::replace(&mut *guard, value)
    }

    /// Stores `new` if the current value is `current` (the same allocation, compared with
    /// [`Arc::ptr_eq`]) — Go's `CompareAndSwap`. Returns `Ok(previous)` if it swapped, or
    /// `Err(actual)` with the value that is there instead (and drops `new`).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::Arc;
    /// let first = Arc::new(1);
    /// let v = goro_sync::atomic::Value::new(Arc::clone(&first));
    /// assert!(v.compare_and_swap(&first, Arc::new(2)).is_ok());
    /// let actual = v.compare_and_swap(&first, Arc::new(3)).unwrap_err();
    /// assert_eq!(*actual, 2);
    /// ```
    ///
    /// # Errors
    ///
    /// `Err(actual)` when the current value is not `current`.
    ///
    /// # Panics
    ///
    /// Never panics.
    pub fn compare_and_swap(&self, current: &Arc<T>, new: Arc<T>) -> Result<Arc<T>, Arc<T>> {
        let mut guard = self.current.write().unwrap_or_else(|e| e.into_inner());
        if Arc::ptr_eq(&guard, current) {
            Ok(std::mem::replace(&mut *guard, new))
        } else {
            Err(Arc::clone(&guard))
        }
    }

    /// Consumes the `Value` and returns the current `Arc`.
    ///
    /// # Examples
    ///
    /// ```
    /// let v = goro_sync::atomic::Value::new(std::sync::Arc::new(4));
    /// assert_eq!(*v.into_inner(), 4);
    /// ```
    ///
    /// # Panics
    ///
    /// Never panics.
    pub fn into_inner(self) -> Arc<T> {
        self.current.into_inner().unwrap_or_else(|e| e.into_inner())
    }
}

impl<T: Default> Default for Value<T> {
    fn default() -> Self {
        Value::new(Arc::new(T::default()))
    }
}

impl<T: fmt::Debug> fmt::Debug for Value<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Value").field(&self.load()).finish()
    }
}
