//! The registry of live goroutines: what `num_goroutines` counts, what shutdown cancels, and
//! what a goroutine dump will list.
//!
//! # Design
//!
//! Two parts, both sharded so that each worker mostly touches its own cache lines:
//!
//! * **Counters.** Spawning adds one to the spawning thread's shard counter; dropping a task's
//!   future subtracts one from the *dropping* thread's shard counter. `len` sums the shards.
//!   A shard can go negative; the sum cannot once the operations it reflects are visible
//!   (a task's increment happens before its schedule, which happens before its drop).
//! * **Parked tasks.** A task enters the slab of entries only when it first returns `Pending`
//!   (see `Wrapped::poll` in `task.rs`): a task that completes in its first poll never parks
//!   and never pays for the registry's lock. Queued tasks do not need an entry: shutdown drops
//!   them from the queues; parked tasks are reachable only through here. An entry holds the
//!   spawn site (`#[track_caller]`) and a pointer to the task's `TaskMeta`; it is removed when
//!   the future is dropped.
//!
//! Cost: nothing for tasks that finish in one poll beyond two uncontended atomic adds; one
//! lock/unlock at the first park and one at completion for the others (like tokio's
//! `OwnedTasks`, which locks at every spawn).
//!
//! # Why the pointers are valid
//!
//! The entry is removed in the wrapper's `Drop`, which runs before async-task frees the
//! allocation holding the `TaskMeta`, and which must take the shard lock to remove it. So
//! while a thread holds the shard lock and sees an entry, the pointed-to `TaskMeta` is alive.

use crate::task::TaskMeta;
use std::{
    panic::Location,
    ptr::NonNull,
    sync::{
        atomic::{AtomicIsize, Ordering::Relaxed},
        Mutex,
    },
};

/// Where a task's entry lives, packed in a `u64` (`shard << 32 | index`).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Slot {
    shard: u32,
    index: u32,
}

impl Slot {
    pub(crate) fn to_bits(self) -> u64 {
        ((self.shard as u64) << 32) | self.index as u64
    }

    pub(crate) fn from_bits(bits: u64) -> Slot {
        Slot {
            shard: (bits >> 32) as u32,
            index: bits as u32,
        }
    }
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
    counts: Box<[CachePadded<AtomicIsize>]>,
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
            counts: (0..n).map(|_| CachePadded(AtomicIsize::new(0))).collect(),
        }
    }

    fn mask(&self) -> usize {
        self.shards.len() - 1
    }

    /// A goroutine was spawned from a thread with shard hint `hint`.
    pub(crate) fn task_started(&self, hint: usize) {
        // Relaxed: a statistic; the ordering that makes the sum exact when quiescent comes
        // from the task's schedule/complete handoffs (module note).
        self.counts[hint & self.mask()].0.fetch_add(1, Relaxed);
    }

    /// A goroutine's future was dropped on a thread with shard hint `hint`.
    pub(crate) fn task_finished(&self, hint: usize) {
        // Relaxed: see `task_started`.
        self.counts[hint & self.mask()].0.fetch_sub(1, Relaxed);
    }

    /// Number of live goroutines (spawned, future not yet dropped).
    pub(crate) fn len(&self) -> usize {
        // Relaxed: see `task_started`.
        let sum: isize = self.counts.iter().map(|c| c.0.load(Relaxed)).sum();
        sum.max(0) as usize
    }

    /// Enters a parked task into shard `hint`.
    pub(crate) fn register(
        &self,
        hint: usize,
        meta: &TaskMeta,
        location: &'static Location<'static>,
    ) -> Slot {
        let shard = hint & self.mask();
        let mut guard = lock(&self.shards[shard].0);
        let entry = Some(Entry {
            meta: NonNull::from(meta),
            location,
        });
        let index = match guard.free.pop() {
            Some(i) => {
                guard.entries[i as usize] = entry;
                i
            }
            None => {
                guard.entries.push(entry);
                (guard.entries.len() - 1) as u32
            }
        };
        guard.live += 1;
        Slot {
            shard: shard as u32,
            index,
        }
    }

    pub(crate) fn remove(&self, slot: Slot) {
        let mut guard = lock(&self.shards[slot.shard as usize].0);
        let entry = guard.entries[slot.index as usize].take();
        debug_assert!(entry.is_some());
        guard.free.push(slot.index);
        guard.live -= 1;
        // Give memory back after a burst of parked tasks.
        if guard.live == 0 && guard.entries.len() > 1024 {
            guard.entries = Vec::new();
            guard.free = Vec::new();
        }
    }

    /// Marks every parked task aborted and returns their wakers (to wake with no lock held).
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

    /// The spawn sites of the goroutines that have parked at least once and are still live.
    pub(crate) fn spawn_sites(&self) -> Vec<&'static Location<'static>> {
        let mut sites = Vec::new();
        for shard in self.shards.iter() {
            let guard = lock(&shard.0);
            sites.extend(guard.entries.iter().flatten().map(|e| e.location));
        }
        sites
    }
}
