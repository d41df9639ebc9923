//! loom model of the waiter queue and the batch semaphore under it: FIFO hand-off, partial
//! (down-payment) grants, grants seen through the lock-free flag (key 0 under loom) or under
//! the lock (other keys), slot reuse, cancellation of queued and granted waiters,
//! notification lists.
//!
//! Run: `RUSTFLAGS="--cfg loom" cargo test -p goro-sync --release --test loom_queue`
#![cfg(loom)]

mod loom_support;
use loom_support::*;

use goro_sync::{Cond, Mutex, Semaphore};
use loom::{
    sync::{
        atomic::{AtomicUsize, Ordering::SeqCst},
        Arc,
    },
    thread,
};

/// A big and a small acquisition race with the holder's release: permits are conserved and
/// never over-granted.
#[test]
fn weighted_acquires_conserve_permits() {
    model(|| {
        let sem = Arc::new(Semaphore::new(2));
        let s1 = sem.clone();
        let big = thread::spawn(move || {
            let p = s1.acquire_blocking(2).unwrap();
            assert_eq!(s1.available_permits(), 0);
            drop(p);
        });
        let s2 = sem.clone();
        let small = thread::spawn(move || {
            let p = s2.acquire_blocking(1).unwrap();
            assert!(s2.available_permits() <= 1);
            drop(p);
        });
        big.join().unwrap();
        small.join().unwrap();
        assert_eq!(sem.available_permits(), 2);
        assert_eq!(sem.waiters(), 0);
    });
}

/// A queued acquisition is dropped while the holder releases: whether or not it had been
/// granted the permit, the permit ends up back in the semaphore.
#[test]
fn cancelled_waiter_returns_what_it_got() {
    model(|| {
        let sem = Arc::new(Semaphore::new(1));
        let held = sem.try_acquire(1).unwrap();
        let s1 = sem.clone();
        let t = thread::spawn(move || {
            let mut fut = s1.acquire(1);
            let r = poll_once(&mut fut);
            drop(r);
            drop(fut);
        });
        drop(held);
        t.join().unwrap();
        assert_eq!(sem.available_permits(), 1);
        assert_eq!(sem.waiters(), 0);
        // The slot is reused without a stale grant: a new waiter really waits.
        let p = sem.try_acquire(1).unwrap();
        let mut fut = sem.acquire(1);
        assert!(poll_once(&mut fut).is_pending());
        assert!(
            poll_once(&mut fut).is_pending(),
            "granted by a stale outcome"
        );
        drop(fut);
        drop(p);
        assert_eq!(sem.available_permits(), 1);
    });
}

/// Two blocked acquirers (one on the flag slot, one on a locked slot, whichever way the race
/// goes) are granted in turn while slots are reclaimed: never two holders of one permit, and
/// nobody is stranded.
#[test]
fn flag_and_locked_grants_with_slot_reuse() {
    model(|| {
        let sem = Arc::new(Semaphore::new(1));
        let inside = Arc::new(AtomicUsize::new(0));
        let held = sem.try_acquire(1).unwrap();
        let ts: Vec<_> = (0..2)
            .map(|_| {
                let (sem, inside) = (sem.clone(), inside.clone());
                thread::spawn(move || {
                    let p = sem.acquire_blocking(1).unwrap();
                    assert_eq!(inside.fetch_add(1, SeqCst), 0, "two holders");
                    inside.fetch_sub(1, SeqCst);
                    drop(p);
                })
            })
            .collect();
        drop(held);
        for t in ts {
            t.join().unwrap();
        }
        assert_eq!(sem.available_permits(), 1);
        assert_eq!(sem.waiters(), 0);
    });
}

/// A partially granted (down payment) waiter is cancelled while a small waiter is queued
/// behind it: the small one must still get its permit.
#[test]
fn cancelled_partial_grant_is_passed_on() {
    model(|| {
        let sem = Arc::new(Semaphore::new(2));
        let held = sem.try_acquire(1).unwrap();
        let mut big = sem.acquire(2);
        assert!(poll_once(&mut big).is_pending()); // took 1 as a down payment
        let s1 = sem.clone();
        let small = thread::spawn(move || {
            drop(s1.acquire_blocking(1).unwrap());
        });
        drop(big);
        drop(held);
        small.join().unwrap();
        assert_eq!(sem.available_permits(), 2);
    });
}

/// Cond: a signal sent after the waiter registered is never lost.
#[test]
fn cond_signal_is_not_lost() {
    model(|| {
        let state = Arc::new((Mutex::new(false), Cond::new()));
        let s1 = state.clone();
        let t = thread::spawn(move || {
            *s1.0.lock_blocking() = true;
            s1.1.signal();
        });
        let mut g = state.0.lock_blocking();
        while !*g {
            g = state.1.wait_blocking(g);
        }
        drop(g);
        t.join().unwrap();
    });
}
