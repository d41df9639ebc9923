//! loom model of `WaitGroup`: a waiter never misses the counter reaching zero, sees the
//! workers' writes, and the group can be reused.
//!
//! Run: `RUSTFLAGS="--cfg loom" cargo test -p goro-sync --release --test loom_waitgroup`
#![cfg(loom)]

mod loom_support;
use loom_support::*;

use goro_sync::WaitGroup;
use loom::{
    sync::{
        atomic::{AtomicUsize, Ordering::Relaxed},
        Arc,
    },
    thread,
};

#[test]
fn wait_sees_every_done() {
    model(|| {
        let wg = WaitGroup::new();
        let work = Arc::new(AtomicUsize::new(0));
        wg.add(2);
        let ts: Vec<_> = (0..2)
            .map(|_| {
                let (wg, work) = (wg.clone(), work.clone());
                // Relaxed on purpose: the WaitGroup must provide the ordering.
                thread::spawn(move || {
                    work.fetch_add(1, Relaxed);
                    wg.done();
                })
            })
            .collect();
        wg.wait_blocking();
        assert_eq!(work.load(Relaxed), 2);
        assert_eq!(wg.count(), 0);
        for t in ts {
            t.join().unwrap();
        }
    });
}

#[test]
fn two_waiters_and_reuse() {
    model(|| {
        let wg = WaitGroup::new();
        wg.add(1);
        let w2 = wg.clone();
        let waiter = thread::spawn(move || w2.wait_blocking());
        let w3 = wg.clone();
        let worker = thread::spawn(move || w3.done());
        wg.wait_blocking();
        waiter.join().unwrap();
        worker.join().unwrap();
        // Reuse after returning to zero.
        wg.add(1);
        let w4 = wg.clone();
        let worker = thread::spawn(move || w4.done());
        wg.wait_blocking();
        worker.join().unwrap();
    });
}
