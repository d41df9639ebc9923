//! loom model of `Mutex`: mutual exclusion, barging vs. hand-off (under loom a waiter counts as
//! starved after losing two races, so both a woken waiter losing in normal mode and hand-off
//! mode are explored), unlocks that skip the wake-up while a woken waiter is on its way (Go's
//! `mutexWoken`), and cancellation of a waiter that may have been woken or handed the lock.
//!
//! Run: `RUSTFLAGS="--cfg loom" cargo test -p goro-sync --release --test loom_mutex`
#![cfg(loom)]

mod loom_support;
use loom_support::*;

use goro_sync::Mutex;
use loom::{
    sync::{
        atomic::{AtomicBool, Ordering::SeqCst},
        Arc,
    },
    thread,
};
use std::task::Poll;

fn critical(m: &Mutex<usize>, inside: &AtomicBool) {
    let mut g = m.lock_blocking();
    assert!(!inside.swap(true, SeqCst), "two holders");
    *g += 1;
    inside.store(false, SeqCst);
}

#[test]
fn two_threads_exclude_each_other() {
    model(|| {
        let m = Arc::new(Mutex::new(0));
        let inside = Arc::new(AtomicBool::new(false));
        let (m1, i1) = (m.clone(), inside.clone());
        let t = thread::spawn(move || {
            critical(&m1, &i1);
            critical(&m1, &i1);
        });
        critical(&m, &inside);
        t.join().unwrap();
        assert_eq!(*m.try_lock().unwrap(), 3);
    });
}

#[test]
fn three_lockers_with_barging_and_handoff() {
    model(|| {
        let m = Arc::new(Mutex::new(0));
        let inside = Arc::new(AtomicBool::new(false));
        let ts: Vec<_> = (0..2)
            .map(|_| {
                let (m, inside) = (m.clone(), inside.clone());
                thread::spawn(move || critical(&m, &inside))
            })
            .collect();
        critical(&m, &inside);
        for t in ts {
            t.join().unwrap();
        }
        assert_eq!(*m.try_lock().unwrap(), 3);
        assert_eq!(m.waiters(), 0);
        assert!(!m.is_starving());
    });
}

/// A blocked waiter races a thread that locks twice: the waiter may be woken, lose, be woken
/// again and lose again (starvation mode), with unlocks in between that skip the wake-up while
/// it is on its way. It must always get the lock in the end.
#[test]
fn woken_waiter_losing_twice_is_not_stranded() {
    model(|| {
        let m = Arc::new(Mutex::new(0));
        let inside = Arc::new(AtomicBool::new(false));
        let g = m.try_lock().unwrap();
        let (m1, i1) = (m.clone(), inside.clone());
        let waiter = thread::spawn(move || critical(&m1, &i1));
        let (m2, i2) = (m.clone(), inside.clone());
        let barger = thread::spawn(move || {
            critical(&m2, &i2);
            critical(&m2, &i2);
        });
        drop(g);
        waiter.join().unwrap();
        barger.join().unwrap();
        assert_eq!(*m.try_lock().expect("left locked"), 3);
        assert_eq!(m.waiters(), 0);
        assert!(!m.is_starving());
    });
}

/// A waiter is dropped after one poll while the holder unlocks and a third thread locks:
/// the lock is never left held and the third thread is never stranded.
#[test]
fn cancelled_waiter_never_strands_the_lock() {
    model(|| {
        let m = Arc::new(Mutex::new(0));
        let g = m.try_lock().unwrap();
        let m1 = m.clone();
        let canceller = thread::spawn(move || {
            let mut fut = m1.lock();
            if let Poll::Ready(g) = poll_once(&mut fut) {
                drop(g);
            }
            drop(fut);
        });
        let m2 = m.clone();
        let locker = thread::spawn(move || *m2.lock_blocking() += 1);
        drop(g);
        canceller.join().unwrap();
        locker.join().unwrap();
        assert_eq!(*m.try_lock().expect("lock left held"), 1);
        assert_eq!(m.waiters(), 0);
    });
}
