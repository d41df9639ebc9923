//! Which workers sleep, and which one to wake: parking without a thundering herd.
//!
//! # Algorithm
//!
//! Go's scheduler (`wakep`, `nmspinning` in `proc.go`) and tokio's `multi_thread/idle.rs` keep
//! two counters and a list:
//!
//! * `num_unparked`: workers that are not asleep;
//! * `num_searching`: unparked workers that have no task and are looking for one (stealing);
//! * `sleepers`: the indices of parked workers (under a mutex; touched only on the slow path
//!   of going to sleep or being woken).
//!
//! The two counters share one atomic word so that they change together.
//!
//! # Protocols
//!
//! * *New work* (`worker_to_notify`, after pushing a task to any queue): if some worker is
//!   already searching, do nothing (it will find the task); if every worker is awake, do
//!   nothing. Otherwise, under the lock, wake one sleeper and count it as searching. So a
//!   burst of spawns wakes one worker, which wakes the next only once it found work (below),
//!   rather than every worker at once.
//! * *Start searching* (`transition_worker_to_searching`): allowed only while fewer than half
//!   of the workers search, which bounds the number of spinning stealers.
//! * *Found work* (`transition_worker_from_searching`): returns whether this was the last
//!   searcher; if so the worker wakes another one (there may be more work behind this task).
//! * *Park* (`transition_worker_to_parked`): under the lock, decrement the counters and join
//!   `sleepers`. If the worker was the last searcher it re-checks every queue afterwards and
//!   wakes a worker if it finds anything.
//!
//! # Why no wakeup is lost
//!
//! A producer pushes its task and then reads the state with a SeqCst read-modify-write
//! (`fetch_add(0)`), never a plain load; a parking searcher decrements the state with a SeqCst
//! RMW and then reads the queues. RMWs on one atomic are totally ordered: if the producer's
//! comes first, the parker's RMW synchronises with it and the parker's re-check sees the task;
//! if the parker's comes first, the producer sees one searcher fewer and, if none is left,
//! wakes a sleeper. The loom model in `tests/loom_idle.rs` checks this.
#![allow(unreachable_pub)] // `pub` so that the `cfg(loom)` tests can reach it; private otherwise.

use crate::loom::{AtomicUsize, Mutex};
use std::sync::atomic::Ordering::SeqCst;

const UNPARK_SHIFT: usize = 16;
const SEARCH_MASK: usize = (1 << UNPARK_SHIFT) - 1;

/// Largest number of workers the packed state can count.
pub const MAX_WORKERS: usize = SEARCH_MASK;

/// The idle state of a pool of workers.
#[derive(Debug)]
pub struct Idle {
    /// `num_unparked << UNPARK_SHIFT | num_searching`.
    state: AtomicUsize,
    sleepers: Mutex<Vec<usize>>,
    num_workers: usize,
}

fn num_searching(state: usize) -> usize {
    state & SEARCH_MASK
}

fn num_unparked(state: usize) -> usize {
    state >> UNPARK_SHIFT
}

impl Idle {
    /// All `num_workers` start unparked and not searching.
    pub fn new(num_workers: usize) -> Idle {
        assert!(num_workers > 0 && num_workers <= MAX_WORKERS);
        Idle {
            state: AtomicUsize::new(num_workers << UNPARK_SHIFT),
            sleepers: Mutex::new(Vec::with_capacity(num_workers)),
            num_workers,
        }
    }

    /// Called after new work was queued: returns the index of a parked worker to wake, now
    /// counted as unparked and searching, or `None` if a searching worker will find the work.
    pub fn worker_to_notify(&self) -> Option<usize> {
        if !self.notify_should_wakeup() {
            return None;
        }
        let mut sleepers = self.sleepers.lock();
        if !self.notify_should_wakeup() {
            return None;
        }
        let worker = sleepers.pop()?;
        // SeqCst: part of the protocol's total order on `state` (module note).
        self.state.fetch_add(1 | (1 << UNPARK_SHIFT), SeqCst);
        Some(worker)
    }

    /// Wakes a parked worker even if others are searching (used when a timer needs a worker
    /// to sleep on its deadline). Returns its index, counted as unparked and searching.
    pub fn worker_to_notify_forced(&self) -> Option<usize> {
        let mut sleepers = self.sleepers.lock();
        let worker = sleepers.pop()?;
        // SeqCst: see `worker_to_notify`.
        self.state.fetch_add(1 | (1 << UNPARK_SHIFT), SeqCst);
        Some(worker)
    }

    fn notify_should_wakeup(&self) -> bool {
        // A SeqCst RMW, not a load: it must be ordered after the caller's push of the task
        // (see "Why no wakeup is lost").
        let state = self.state.fetch_add(0, SeqCst);
        num_searching(state) == 0 && num_unparked(state) < self.num_workers
    }

    /// A worker out of local work asks to search; refused when half the workers already do.
    pub fn transition_worker_to_searching(&self) -> bool {
        let state = self.state.load(SeqCst);
        if 2 * num_searching(state) >= self.num_workers {
            return false;
        }
        // The check and the increment are not atomic together: the bound is a heuristic, it
        // may be exceeded by a few racing workers, which is harmless.
        self.state.fetch_add(1, SeqCst);
        true
    }

    /// A searching worker found work. Returns `true` if it was the last searcher, in which
    /// case the caller must wake another worker if there is more work.
    pub fn transition_worker_from_searching(&self) -> bool {
        let prev = self.state.fetch_sub(1, SeqCst);
        debug_assert!(num_searching(prev) > 0);
        num_searching(prev) == 1
    }

    /// Worker `worker` goes to sleep. Returns `true` if it was the last searcher, in which
    /// case the caller must re-check all queues and call `worker_to_notify` if any has work.
    pub fn transition_worker_to_parked(&self, worker: usize, is_searching: bool) -> bool {
        let mut sleepers = self.sleepers.lock();
        let dec = (1 << UNPARK_SHIFT) | usize::from(is_searching);
        let prev = self.state.fetch_sub(dec, SeqCst);
        debug_assert!(num_unparked(prev) > 0);
        sleepers.push(worker);
        is_searching && num_searching(prev) == 1
    }

    /// Whether `worker` is still in the sleepers list (it has not been chosen to wake).
    pub fn is_parked(&self, worker: usize) -> bool {
        self.sleepers.lock().contains(&worker)
    }

    /// Worker `worker` wakes up on its own (a timer deadline): takes it off the sleepers list
    /// and counts it as unparked, not searching. Returns `false` if somebody woke it already.
    pub fn unpark_worker_by_id(&self, worker: usize) -> bool {
        let mut sleepers = self.sleepers.lock();
        match sleepers.iter().position(|&w| w == worker) {
            Some(i) => {
                sleepers.swap_remove(i);
                self.state.fetch_add(1 << UNPARK_SHIFT, SeqCst);
                true
            }
            None => false,
        }
    }

    /// Number of workers currently searching.
    #[cfg_attr(not(loom), allow(dead_code))] // used by the loom model
    pub fn num_searching(&self) -> usize {
        num_searching(self.state.load(SeqCst))
    }

    /// Number of workers currently unparked.
    #[cfg_attr(not(loom), allow(dead_code))] // used by the loom model
    pub fn num_unparked(&self) -> usize {
        num_unparked(self.state.load(SeqCst))
    }
}
