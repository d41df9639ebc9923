//! The registry of live goroutines: what `num_goroutines` counts, what shutdown cancels, and
//! what a goroutine dump will list.
//!
//! # Design
//!
//! A sharded slab: `shards` mutex-protected vectors of entries with a free list each. A task
//! reserves its entry at spawn (in the spawning thread's shard, so workers rarely contend) and
//! removes it when its future is dropped (see `Wrapped`'s `Drop` in `task.rs`). An entry holds
//! the spawn site (`#[track_caller]` location) and a pointer to the task's `TaskMeta`.
//!
//! Cost: one uncontended lock/unlock at spawn and one at completion, like tokio's `OwnedTasks`.
//!
//! # Why the pointers are valid
//!
//! The entry is removed in the wrapper's `Drop`, which runs before async-task frees the
//! allocation holding the `TaskMeta`, and which must take the shard lock to remove it. So
//! while a thread holds the shard lock and sees an entry, the pointed-to `TaskMeta` is alive.

use crate::task::TaskMeta;
use std::{panic::Location, ptr::NonNull, sync::Mutex};

/// Where a task's entry lives.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Slot {
    shard: u32,
    index: u32,
}

struct Entry {
    meta: NonNull<TaskMeta>,
    location: &'static Location<'static>,
}

#[derive(Default)]
struct Shard {
    entries: Vec<Option<Entry>>,
    free: Vec<u32>,
    live: usize,
}

/// See the module note.
pub(crate) struct Registry {
    shards: Box<[CachePadded<Mutex<Shard>>]>,
}

// SAFETY: the `NonNull<TaskMeta>` in entries are only dereferenced under the shard lock, while
// the task is known to be alive (module note); `TaskMeta` is `Sync`.
unsafe impl Send for Registry {}
// SAFETY: as above.
unsafe impl Sync for Registry {}

#[repr(align(128))]
struct CachePadded<T>(T);

impl std::fmt::Debug for Registry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Registry")
            .field("live", &self.len())
            .finish()
    }
}

/// A reserved entry; filled in once the task exists.
pub(crate) struct Reservation<'a> {
    guard: std::sync::MutexGuard<'a, Shard>,
    slot: Slot,
}

impl Reservation<'_> {
    pub(crate) fn slot(&self) -> Slot {
        self.slot
    }

    /// Fills the reserved entry and releases the shard lock.
    pub(crate) fn fill(mut self, meta: &TaskMeta, location: &'static Location<'static>) {
        self.guard.entries[self.slot.index as usize] = Some(Entry {
            meta: NonNull::from(meta),
            location,
        });
    }
}

fn lock(m: &Mutex<Shard>) -> std::sync::MutexGuard<'_, Shard> {
    // No user code runs under this lock; a poisoned shard is still consistent.
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Registry {
    pub(crate) fn new(num_shards: usize) -> Registry {
        let n = num_shards.next_power_of_two().max(1);
        Registry {
            shards: (0..n)
                .map(|_| CachePadded(Mutex::new(Shard::default())))
                .collect(),
        }
    }

    /// Reserves an entry in shard `hint % shards` and keeps that shard locked until the
    /// reservation is filled (so the entry is never seen half-made).
    pub(crate) fn reserve(&self, hint: usize) -> Reservation<'_> {
        let shard = hint & (self.shards.len() - 1);
        let mut guard = lock(&self.shards[shard].0);
        let index = match guard.free.pop() {
            Some(i) => i,
            None => {
                guard.entries.push(None);
                (guard.entries.len() - 1) as u32
            }
        };
        guard.live += 1;
        Reservation {
            guard,
            slot: Slot {
                shard: shard as u32,
                index,
            },
        }
    }

    pub(crate) fn remove(&self, slot: Slot) {
        let mut guard = lock(&self.shards[slot.shard as usize].0);
        let entry = guard.entries[slot.index as usize].take();
        debug_assert!(entry.is_some());
        guard.free.push(slot.index);
        guard.live -= 1;
        // Give memory back after a burst of tasks.
        if guard.live == 0 && guard.entries.len() > 1024 {
            guard.entries = Vec::new();
            guard.free = Vec::new();
        }
    }

    /// Number of live tasks.
    pub(crate) fn len(&self) -> usize {
        self.shards.iter().map(|s| lock(&s.0).live).sum()
    }

    /// Marks every live task aborted and returns their wakers (to wake with no lock held).
    pub(crate) fn abort_all(&self) -> Vec<std::task::Waker> {
        let mut wakers = Vec::new();
        for shard in self.shards.iter() {
            let guard = lock(&shard.0);
            for entry in guard.entries.iter().flatten() {
                // SAFETY: the entry is present and we hold its shard lock: the task is alive
                // (module note).
                let meta = unsafe { entry.meta.as_ref() };
                wakers.extend(meta.abort_take_waker());
            }
        }
        wakers
    }

    /// The spawn sites of the live tasks (for diagnostics).
    pub(crate) fn spawn_sites(&self) -> Vec<&'static Location<'static>> {
        let mut sites = Vec::new();
        for shard in self.shards.iter() {
            let guard = lock(&shard.0);
            sites.extend(guard.entries.iter().flatten().map(|e| e.location));
        }
        sites
    }
}
