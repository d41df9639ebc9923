//! A worker's LIFO slot: one task, put and taken by its worker, and taken by another worker
//! only when the monitor finds the owner stuck in one poll (see "Monitor" in `scheduler.rs`).
//!
//! Go's `runnext` is stealable for the same reason: a task woken into the slot of a worker
//! whose current task never yields would otherwise never run, however many workers sit idle
//! (with a plain `Cell` slot, `spawn(child); loop {}` starved the child for good).
//!
//! The slot is one atomic pointer. Every access is a `swap` (or a load that only decides
//! whether to swap), so a task leaves the slot exactly once, to whoever swapped it out; the
//! owner's put and take are uncontended swaps on a line that stays in its core's cache
//! unless a thief touched it. `tests/loom_slot.rs` model-checks owner and thief.
#![allow(unreachable_pub)] // `pub` so that the `cfg(loom)` tests can reach it; private otherwise.

use crate::loom::AtomicPtr;
use std::ptr::{self, NonNull};
use std::sync::atomic::Ordering::{AcqRel, Relaxed};

/// A value that travels as one raw pointer (a task handle, or a `Box` in the loom model).
pub trait Raw: Sized {
    /// Gives up the value as a pointer.
    fn into_raw(self) -> NonNull<()>;
    /// Takes back a value given up by [`into_raw`](Raw::into_raw).
    ///
    /// # Safety
    /// `p` came from `into_raw` of the same type and is taken back at most once.
    unsafe fn from_raw(p: NonNull<()>) -> Self;
}

impl Raw for crate::task::Runnable {
    fn into_raw(self) -> NonNull<()> {
        crate::task::Runnable::into_raw(self)
    }

    unsafe fn from_raw(p: NonNull<()>) -> Self {
        // SAFETY: forwarded obligation (`p` came from `Runnable::into_raw`, taken back once).
        unsafe { crate::task::Runnable::from_raw(p) }
    }
}

impl<T> Raw for Box<T> {
    fn into_raw(self) -> NonNull<()> {
        NonNull::from(Box::leak(self)).cast()
    }

    unsafe fn from_raw(p: NonNull<()>) -> Self {
        // SAFETY: forwarded obligation (`p` came from `Box::leak` of a `Box<T>`).
        unsafe { Box::from_raw(p.cast::<T>().as_ptr()) }
    }
}

/// One task, or none.
pub struct Slot<T: Raw> {
    ptr: AtomicPtr<()>,
    _owns: std::marker::PhantomData<T>,
}

// SAFETY: the slot hands each value to exactly one thread (whoever swaps it out), so sharing
// it only moves `T`s between threads.
unsafe impl<T: Raw + Send> Sync for Slot<T> {}
// SAFETY: as above.
unsafe impl<T: Raw + Send> Send for Slot<T> {}

impl<T: Raw> Slot<T> {
    /// An empty slot.
    pub fn new() -> Self {
        Slot {
            ptr: AtomicPtr::new(ptr::null_mut()),
            _owns: std::marker::PhantomData,
        }
    }

    /// Puts `value` in, returning what was there.
    #[inline]
    pub fn put(&self, value: T) -> Option<T> {
        // AcqRel: Release hands the value's memory to whoever swaps it out next; Acquire
        // takes the previous value's from whoever put it.
        let old = self.ptr.swap(value.into_raw().as_ptr(), AcqRel);
        // SAFETY: a non-null pointer in the slot came from `into_raw` of a `T`, and the swap
        // removed it, so only this call takes it back.
        NonNull::new(old).map(|p| unsafe { T::from_raw(p) })
    }

    /// Takes the value out, if any.
    #[inline]
    pub fn take(&self) -> Option<T> {
        // Relaxed: only decides whether to swap; an empty slot costs no write (the swap
        // below does the synchronising).
        if self.ptr.load(Relaxed).is_null() {
            return None;
        }
        // AcqRel: as in `put`.
        let old = self.ptr.swap(ptr::null_mut(), AcqRel);
        // SAFETY: as in `put`.
        NonNull::new(old).map(|p| unsafe { T::from_raw(p) })
    }

    /// Whether the slot holds a value (a snapshot).
    #[inline]
    pub fn is_occupied(&self) -> bool {
        // Relaxed: a snapshot; decisions that matter take the value with `take`.
        !self.ptr.load(Relaxed).is_null()
    }
}

impl<T: Raw> Default for Slot<T> {
    fn default() -> Self {
        Slot::new()
    }
}

impl<T: Raw> Drop for Slot<T> {
    fn drop(&mut self) {
        drop(self.take());
    }
}

impl<T: Raw> std::fmt::Debug for Slot<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Slot")
            .field("occupied", &self.is_occupied())
            .finish()
    }
}
