//! WaitGroup: waits for every `done`, panics on a negative counter, reusable.

mod common;

use common::{count_waker, poll_once, watchdog};
use futures::{executor::ThreadPool, task::SpawnExt};
use goro_sync::WaitGroup;
use std::{
    panic::catch_unwind,
    sync::{
        atomic::{AtomicUsize, Ordering::SeqCst},
        Arc,
    },
    thread,
};

#[test]
fn wait_sees_all_work_done() {
    let _w = watchdog("wait_sees_all_work_done", 60);
    let pool = ThreadPool::builder().pool_size(4).create().unwrap();
    let wg = WaitGroup::new();
    let sum = Arc::new(AtomicUsize::new(0));
    for i in 0..1000 {
        wg.add(1);
        let (wg, sum) = (wg.clone(), sum.clone());
        pool.spawn(async move {
            sum.fetch_add(i, SeqCst);
            wg.done();
        })
        .unwrap();
    }
    let waiters: Vec<_> = (0..3)
        .map(|_| {
            let (wg, sum) = (wg.clone(), sum.clone());
            thread::spawn(move || {
                futures::executor::block_on(wg.wait());
                sum.load(SeqCst)
            })
        })
        .collect();
    wg.wait_blocking();
    assert_eq!(sum.load(SeqCst), 999 * 1000 / 2);
    for w in waiters {
        assert_eq!(w.join().unwrap(), 999 * 1000 / 2);
    }
}

#[test]
fn negative_counter_panics_with_gos_message() {
    let wg = WaitGroup::new();
    wg.add(1);
    wg.done();
    let err = catch_unwind(|| wg.done()).unwrap_err();
    assert_eq!(
        err.downcast_ref::<&str>().copied(),
        Some("sync: negative WaitGroup counter")
    );
    assert_eq!(wg.count(), 0, "the counter is left at zero");
    // And the group still works.
    wg.add(1);
    wg.done();
    wg.wait_blocking();
}

#[test]
fn reuse_after_returning_to_zero() {
    let _w = watchdog("reuse_after_returning_to_zero", 30);
    let wg = WaitGroup::new();
    for round in 0..100 {
        wg.add(2);
        let hs: Vec<_> = (0..2)
            .map(|_| {
                let wg = wg.clone();
                thread::spawn(move || wg.done())
            })
            .collect();
        wg.wait_blocking();
        assert_eq!(wg.count(), 0, "round {round}");
        for h in hs {
            h.join().unwrap();
        }
    }
}

#[test]
fn woken_waiter_returns_even_if_the_group_is_reused() {
    let wg = WaitGroup::new();
    let (wakes, waker) = count_waker();
    wg.add(1);
    let mut w = wg.wait();
    assert!(poll_once(&mut w, &waker).is_pending());
    wg.done();
    assert_eq!(wakes.0.load(SeqCst), 1);
    wg.add(1); // next phase starts before the waiter runs
    assert!(
        poll_once(&mut w, &waker).is_ready(),
        "Go: Wait returns once the counter hit zero"
    );
    let mut w2 = wg.wait();
    assert!(
        poll_once(&mut w2, &waker).is_pending(),
        "a new waiter waits for the new phase"
    );
    drop(w2);
    wg.done();
}

#[test]
fn wait_on_zero_returns_at_once() {
    let wg = WaitGroup::default();
    let (_, waker) = count_waker();
    assert!(poll_once(&mut wg.wait(), &waker).is_ready());
    wg.wait_blocking();
    assert_eq!(format!("{wg:?}"), "WaitGroup { count: 0 }");
}
