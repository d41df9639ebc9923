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

/// Declares a constructor that is a `const fn` outside loom (loom's types have no const
/// constructors), so that goro's locks can live in a `static`, as Go's package-level
/// `var mu sync.Mutex` does.
macro_rules! const_unless_loom {
    ($(#[$attr:meta])* $vis:vis fn $name:ident($($arg:ident: $ty:ty),* $(,)?) -> $ret:ty $body:block) => {
        $(#[$attr])*
        #[cfg(not(loom))]
        $vis const fn $name($($arg: $ty),*) -> $ret $body

        $(#[$attr])*
        #[cfg(loom)]
        $vis fn $name($($arg: $ty),*) -> $ret $body
    };
}
pub(crate) use const_unless_loom;

/// Locks `m`, ignoring poisoning: the crate's internal locks only guard bookkeeping that is
/// never left half-updated by a panic (no user code runs while they are held).
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}
