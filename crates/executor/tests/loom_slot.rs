//! Loom model of the LIFO slot (`src/slot.rs`): the owner puts and takes while another worker
//! takes (as a thief does from a stuck worker); every value leaves the slot exactly once,
//! whether taken, displaced by a put, or dropped with the slot.
//!
//! Run: `RUSTFLAGS="--cfg loom" cargo test -p goro-executor --release --test loom_slot`
#![cfg(loom)]

use goro_executor::slot::Slot;
use loom::{
    sync::{
        atomic::{AtomicUsize, Ordering::SeqCst},
        Arc,
    },
    thread,
};

/// A value that records its drop, so that a value lost or freed twice shows.
struct Tracked(usize, Arc<AtomicUsize>);

impl Drop for Tracked {
    fn drop(&mut self) {
        self.1.fetch_add(1 << (8 * self.0), SeqCst);
    }
}

fn model(f: impl Fn() + Sync + Send + 'static) {
    let mut b = loom::model::Builder::new();
    b.preemption_bound = Some(b.preemption_bound.map_or(4, |env| env.min(4)));
    b.check(f);
}

#[test]
fn owner_puts_and_takes_while_a_thief_takes() {
    model(|| {
        let drops = Arc::new(AtomicUsize::new(0));
        let slot = Arc::new(Slot::<Box<Tracked>>::new());
        let thief = {
            let slot = slot.clone();
            thread::spawn(move || {
                let got = slot.take();
                got.map(|t| t.0)
            })
        };
        // Owner: put 0, put 1 (displacing 0 unless the thief took it), take.
        let mut owner_got = Vec::new();
        if let Some(prev) = slot.put(Box::new(Tracked(0, drops.clone()))) {
            owner_got.push(prev.0);
        }
        if let Some(prev) = slot.put(Box::new(Tracked(1, drops.clone()))) {
            owner_got.push(prev.0);
        }
        if let Some(t) = slot.take() {
            owner_got.push(t.0);
        }
        let stolen = thief.join().unwrap();
        let mut all = owner_got;
        all.extend(stolen);
        all.sort_unstable();
        // Each value reached exactly one party (the owner's last take empties the slot
        // unless the thief came after it and found nothing).
        assert_eq!(all, vec![0, 1]);
        drop(slot);
        // Each value dropped exactly once.
        assert_eq!(drops.load(SeqCst), 1 | (1 << 8));
    });
}

#[test]
fn value_left_in_the_slot_is_dropped_once() {
    model(|| {
        let drops = Arc::new(AtomicUsize::new(0));
        let slot = Arc::new(Slot::<Box<Tracked>>::new());
        assert!(slot.put(Box::new(Tracked(0, drops.clone()))).is_none());
        let thief = {
            let slot = slot.clone();
            thread::spawn(move || slot.take().is_some())
        };
        let owner_took = slot.take().is_some();
        let thief_took = thief.join().unwrap();
        assert!(owner_took ^ thief_took, "exactly one party takes the value");
        drop(slot);
        assert_eq!(drops.load(SeqCst), 1);
    });
}
