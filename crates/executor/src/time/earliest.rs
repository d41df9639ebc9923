//! The earliest deadline over all shards, readable with one atomic load.
//!
//! # Protocol
//!
//! Each shard publishes the start of its earliest occupied slot in `shards[i]` (written only
//! while that shard's lock is held, read by anyone). `global` is a lower bound of the minimum
//! of those values, which workers read with one load to decide whether any timer can be due
//! (and how long to park).
//!
//! * Lowering (a timer inserted ahead of its shard's earliest): store `shards[i]`, then
//!   `fetch_min` into `global`. The caller unparks a worker if `global` went down.
//! * Raising (a shard processed its due timers): store `shards[i]`, then [`Earliest::recompute`]
//!   `global` from all shards with a CAS loop, and after each successful CAS read the shards
//!   again: if their minimum is now lower than what was stored, go round again.
//!
//! # Why `global` never ends up above a shard's value
//!
//! Take a lowering `L` (store `S`, fence, load `G` of `global`, maybe `fetch_min` `F`) and the
//! last successful CAS `C` of a recompute (then fence, then re-read `R`). The two fences are
//! ordered. If `L`'s fence comes first, `R` sees `S`'s value (or a later, legitimately higher
//! one), so either the stored minimum already covered it or the loop goes round and stores the
//! lower minimum. If `C`'s fence comes first, `G` sees `C`'s value or a later one, and `F`
//! brings it down to `S`'s value when needed. A plain "read all, CAS" without the re-read
//! loses a lowering whose `fetch_min` did not change `global` (the ABA case); the loom models
//! below check the protocol. `global` may be *below* the true
//! minimum (a cancelled timer's deadline, say): that only costs one spurious wake-up, after
//! which processing recomputes it.

#[cfg(not(loom))]
use std::sync::atomic::{fence, AtomicU64, Ordering::SeqCst};

#[cfg(loom)]
use loom::sync::atomic::{fence, AtomicU64, Ordering::SeqCst};

/// "No deadline".
pub(super) const NONE: u64 = u64::MAX;

/// See the module documentation.
#[derive(Debug)]
pub(super) struct Earliest {
    global: AtomicU64,
    shards: Box<[Padded]>,
}

/// One shard's value on its own cache lines: shards are written by different threads.
#[derive(Debug)]
#[repr(align(128))]
struct Padded(AtomicU64);

impl Earliest {
    /// All shards empty.
    pub(super) fn new(shards: usize) -> Self {
        Earliest {
            global: AtomicU64::new(NONE),
            shards: (0..shards).map(|_| Padded(AtomicU64::new(NONE))).collect(),
        }
    }

    /// The lower bound of every shard's earliest deadline, `NONE` if no timer is pending.
    pub(super) fn load(&self) -> u64 {
        // SeqCst: pairs with the fetch_min of `lower` and the CAS of `recompute` (see the
        // module note); on x86 a SeqCst load is a plain load anyway.
        self.global.load(SeqCst)
    }

    /// The value last published by `shard`.
    pub(super) fn shard(&self, shard: usize) -> u64 {
        self.shards[shard].0.load(SeqCst)
    }

    /// Shard `shard` (whose lock the caller holds) now has an entry due at `when`. Returns
    /// `true` if that lowered the global earliest deadline (the caller should unpark a worker).
    pub(super) fn lower(&self, shard: usize, when: u64) -> bool {
        let slot = &self.shards[shard].0;
        if when >= slot.load(SeqCst) {
            return false;
        }
        slot.store(when, SeqCst);
        // Store-load (Dekker) pattern with the CAS-then-re-read of `recompute`: either its
        // re-read sees our store, or our load sees its CAS. The fence makes that hold without
        // relying on SeqCst accesses alone (loom models only SeqCst fences).
        fence(SeqCst);
        if when >= self.global.load(SeqCst) {
            return false;
        }
        self.global.fetch_min(when, SeqCst) > when
    }

    /// Shard `shard` (whose lock the caller holds) has `next` as its new earliest deadline,
    /// which may be later than before. Call [`Earliest::recompute`] afterwards.
    pub(super) fn set(&self, shard: usize, next: u64) {
        self.shards[shard].0.store(next, SeqCst);
    }

    fn minimum(&self) -> u64 {
        self.shards
            .iter()
            .map(|s| s.0.load(SeqCst))
            .min()
            .unwrap_or(NONE)
    }

    /// Recomputes `global` from the shards (after some of them went up).
    pub(super) fn recompute(&self) {
        let mut cur = self.global.load(SeqCst);
        loop {
            let min = self.minimum();
            if min == cur {
                return;
            }
            match self.global.compare_exchange(cur, min, SeqCst, SeqCst) {
                Ok(_) => {
                    // Pairs with the fence in `lower` (store-load pattern).
                    fence(SeqCst);
                    // Re-read: a lowering whose fetch_min came before our CAS must be seen now.
                    if self.minimum() >= min {
                        return;
                    }
                    cur = min;
                }
                Err(actual) => cur = actual,
            }
        }
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn lower_and_recompute() {
        let e = Earliest::new(3);
        assert_eq!(e.load(), NONE);
        assert!(e.lower(1, 50));
        assert!(!e.lower(1, 60));
        assert!(!e.lower(2, 70));
        assert!(e.lower(0, 40));
        assert_eq!(e.load(), 40);
        e.set(0, NONE);
        e.recompute();
        assert_eq!(e.load(), 50);
        e.set(1, NONE);
        e.set(2, NONE);
        e.recompute();
        assert_eq!(e.load(), NONE);
    }
}

/// Loom models of the protocol, run by `tests/loom_time.rs` under `--cfg loom`.
#[cfg(loom)]
pub(super) mod loom_models {
    use super::*;
    use loom::{sync::Arc, thread};

    /// A worker raises shard 0 and recomputes while another thread inserts into shard 1 a
    /// deadline that does not lower `global` at the time (the ABA case).
    pub fn raise_vs_lower_never_loses_a_deadline() {
        loom::model(|| {
            let e = Arc::new(Earliest::new(2));
            assert!(e.lower(0, 5));
            let e2 = e.clone();
            let inserter = thread::spawn(move || {
                e2.lower(1, 7);
            });
            e.set(0, 100);
            e.recompute();
            inserter.join().unwrap();
            let global = e.load();
            assert!(global <= e.shard(0).min(e.shard(1)), "global {global}");
        });
    }

    /// Two processors recompute while a third thread lowers (preemptions bounded to keep the
    /// run to seconds; the two-thread model above is exhaustive).
    pub fn two_recomputes_and_a_lower() {
        let mut builder = loom::model::Builder::new();
        builder.preemption_bound = Some(3);
        builder.check(|| {
            let e = Arc::new(Earliest::new(3));
            assert!(e.lower(0, 5));
            assert!(!e.lower(1, 6));
            let a = {
                let e = e.clone();
                thread::spawn(move || {
                    e.set(0, 50);
                    e.recompute();
                })
            };
            let b = {
                let e = e.clone();
                thread::spawn(move || {
                    e.set(1, 60);
                    e.recompute();
                })
            };
            e.lower(2, 8);
            a.join().unwrap();
            b.join().unwrap();
            let global = e.load();
            let min = (0..3).map(|i| e.shard(i)).min().unwrap();
            assert!(global <= min, "global {global} min {min}");
        });
    }
}
