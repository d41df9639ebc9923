//! The one switch between `std` and `loom`.
//!
//! Every lock-free structure of this crate (the run queue in `queue.rs`, the idle state in
//! `idle.rs`, the LIFO slot in `slot.rs`) takes its atomics, cells and locks from here, so
//! that `--cfg loom` swaps them for loom's model-checked versions without touching the
//! algorithms. Under `std` the [`UnsafeCell`] wrapper offers loom's closure-style API
//! (`with`, `with_mut`) at zero cost.

#[cfg(loom)]
use loom::sync as inner;
#[cfg(loom)]
pub(crate) use loom::{
    cell::UnsafeCell,
    sync::atomic::{AtomicPtr, AtomicU32, AtomicU64, AtomicUsize},
};

#[cfg(not(loom))]
pub(crate) use self::std_cell::UnsafeCell;
#[cfg(not(loom))]
use std::sync as inner;
#[cfg(not(loom))]
pub(crate) use std::sync::atomic::{AtomicPtr, AtomicU32, AtomicU64, AtomicUsize};

/// A mutex whose `lock` ignores poisoning: no user code runs under the locks of this crate, so
/// the data they guard stays consistent even if a thread panicked while holding one.
#[derive(Debug)]
pub(crate) struct Mutex<T>(inner::Mutex<T>);

impl<T> Mutex<T> {
    pub(crate) fn new(value: T) -> Self {
        Self(inner::Mutex::new(value))
    }

    #[inline]
    pub(crate) fn lock(&self) -> inner::MutexGuard<'_, T> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[cfg(not(loom))]
mod std_cell {
    /// `std::cell::UnsafeCell` with loom's access API.
    #[derive(Debug)]
    pub(crate) struct UnsafeCell<T>(std::cell::UnsafeCell<T>);

    impl<T> UnsafeCell<T> {
        pub(crate) const fn new(value: T) -> Self {
            Self(std::cell::UnsafeCell::new(value))
        }

        /// Calls `f` with a shared raw pointer to the contents.
        #[inline(always)]
        pub(crate) fn with<R>(&self, f: impl FnOnce(*const T) -> R) -> R {
            f(self.0.get())
        }

        /// Calls `f` with a mutable raw pointer to the contents.
        #[inline(always)]
        pub(crate) fn with_mut<R>(&self, f: impl FnOnce(*mut T) -> R) -> R {
            f(self.0.get())
        }
    }
}
