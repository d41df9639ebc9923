//! The one switch between `std` and `loom` synchronisation types.
//!
//! Every module of the crate takes its locks and atomics from here, so that building with
//! `RUSTFLAGS="--cfg loom"` swaps them all for loom's model-checked versions at once (the same
//! arrangement as tokio's `src/loom/mod.rs`).

#[cfg(loom)]
pub(crate) use loom::{
    hint::spin_loop,
    sync::{
        atomic::{AtomicU64, AtomicUsize},
        Mutex, MutexGuard, RwLock,
    },
};
#[cfg(not(loom))]
pub(crate) use std::{
    hint::spin_loop,
    sync::{
        atomic::{AtomicU64, AtomicUsize},
        Mutex, MutexGuard, RwLock,
    },
};

/// Locks `m`, ignoring poisoning: the crate's internal locks only guard bookkeeping that is
/// never left half-updated by a panic (no user code runs while they are held).
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}
