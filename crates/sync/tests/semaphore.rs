//! Semaphore: bounded concurrency, FIFO order for large acquisitions, errors, permits returned.

mod common;

use common::{count_waker, poll_once, watchdog};
use futures::{executor::ThreadPool, task::SpawnExt};
use goro_sync::{Semaphore, WaitGroup};
use std::{
    sync::{
        atomic::{AtomicUsize, Ordering::SeqCst},
        Arc,
    },
    task::Poll,
};

#[test]
fn max_concurrency_never_above_permits() {
    let _w = watchdog("max_concurrency_never_above_permits", 60);
    const PERMITS: usize = 8;
    let pool = ThreadPool::builder().pool_size(4).create().unwrap();
    let sem = Arc::new(Semaphore::new(PERMITS));
    let inside = Arc::new(AtomicUsize::new(0));
    let max = Arc::new(AtomicUsize::new(0));
    let wg = WaitGroup::new();
    for t in 0..64 {
        wg.add(1);
        let (sem, inside, max, wg) = (sem.clone(), inside.clone(), max.clone(), wg.clone());
        pool.spawn(async move {
            for i in 0..200 {
                let n = 1 + (t + i) % 3;
                let _p = sem.acquire(n).await.unwrap();
                let now = inside.fetch_add(n, SeqCst) + n;
                max.fetch_max(now, SeqCst);
                assert!(now <= PERMITS, "{now} permits in use");
                common::yield_now().await;
                inside.fetch_sub(n, SeqCst);
            }
            wg.done();
        })
        .unwrap();
    }
    wg.wait_blocking();
    assert!(max.load(SeqCst) <= PERMITS);
    assert_eq!(sem.available_permits(), PERMITS);
    assert_eq!(sem.waiters(), 0);
}

#[test]
fn large_acquire_is_served_first_in_fifo_order() {
    let sem = Semaphore::new(4);
    let (_, waker) = count_waker();
    let small_held = sem.try_acquire(1).unwrap();
    let mut big = sem.acquire(4);
    assert!(poll_once(&mut big, &waker).is_pending());
    // 3 permits are free, but the big acquisition is first in line: nobody may take them.
    assert!(sem.try_acquire(1).is_none());
    let mut small = sem.acquire(1);
    assert!(poll_once(&mut small, &waker).is_pending());
    drop(small_held);
    let Poll::Ready(Ok(p)) = poll_once(&mut big, &waker) else {
        panic!("big acquisition completes first")
    };
    assert!(poll_once(&mut small, &waker).is_pending());
    drop(p);
    assert!(matches!(poll_once(&mut small, &waker), Poll::Ready(Ok(_))));
    assert_eq!(sem.available_permits(), 4);
}

#[test]
fn acquiring_more_than_the_total_is_an_error() {
    let sem = Semaphore::new(2);
    let err = futures::executor::block_on(sem.acquire(3)).unwrap_err();
    assert_eq!((err.requested(), err.total()), (3, 2));
    assert!(sem.acquire_blocking(3).is_err());
    assert!(sem.try_acquire(3).is_none());
    sem.add_permits(1);
    assert_eq!(sem.acquire_blocking(3).unwrap().num_permits(), 3);
}

#[test]
fn add_permits_wakes_waiters() {
    let _w = watchdog("add_permits_wakes_waiters", 30);
    let sem = Arc::new(Semaphore::new(0));
    let s2 = sem.clone();
    let t = std::thread::spawn(move || s2.acquire_blocking(0).is_ok());
    assert!(t.join().unwrap(), "zero permits never wait");
    let s2 = sem.clone();
    let t = std::thread::spawn(move || {
        assert!(s2.acquire_blocking(2).is_err(), "total is 0");
        s2.add_permits(0);
    });
    t.join().unwrap();
    sem.add_permits(2);
    let held = sem.try_acquire(2).unwrap();
    let s2 = sem.clone();
    let t = std::thread::spawn(move || s2.acquire_blocking(2).map(|p| p.num_permits()));
    while sem.waiters() == 0 {
        std::thread::yield_now();
    }
    sem.add_permits(1); // the queued waiter gets this one as a down payment
    assert_eq!(sem.available_permits(), 0);
    drop(held); // and one of these
    assert_eq!(t.join().unwrap(), Ok(2));
    assert_eq!(sem.available_permits(), 3);
    assert_eq!(sem.total_permits(), 3);
}

#[test]
fn cancelled_acquire_returns_its_partial_permits() {
    let sem = Semaphore::new(3);
    let (_, waker) = count_waker();
    let p = sem.try_acquire(2).unwrap();
    let mut big = sem.acquire(3);
    assert!(poll_once(&mut big, &waker).is_pending()); // took 1 as a down payment
    assert_eq!(sem.available_permits(), 0);
    let mut small = sem.acquire(1);
    assert!(poll_once(&mut small, &waker).is_pending());
    drop(big);
    assert!(matches!(poll_once(&mut small, &waker), Poll::Ready(Ok(_))));
    drop(small);
    drop(p);
    assert_eq!(sem.available_permits(), 3);
}

/// More waiters than there are lock-free grant flags (64): waiters with large keys find their
/// grant under the lock. Every waiter is served, in FIFO order, and every slot comes back.
#[test]
fn many_waiters_beyond_the_flag_slots_are_served_in_fifo_order() {
    const N: usize = 200;
    let sem = Semaphore::new(1);
    let (_, waker) = count_waker();
    let held = sem.try_acquire(1).unwrap();
    let mut futs: Vec<_> = (0..N).map(|_| sem.acquire(1)).collect();
    for f in &mut futs {
        assert!(poll_once(f, &waker).is_pending());
    }
    assert_eq!(sem.waiters(), N);
    drop(held);
    for i in 0..N {
        // Only the front waiter has been granted; nobody behind it.
        for later in futs.iter_mut().skip(i + 1).step_by(37) {
            assert!(poll_once(later, &waker).is_pending(), "overtaken at {i}");
        }
        let Poll::Ready(Ok(p)) = poll_once(&mut futs[i], &waker) else {
            panic!("waiter {i} was not granted in turn")
        };
        drop(p);
    }
    drop(futs);
    assert_eq!(sem.waiters(), 0);
    assert_eq!(sem.available_permits(), 1);
    // Slots are reused cleanly afterwards (no stale grant).
    let p = sem.try_acquire(1).unwrap();
    let mut f = sem.acquire(1);
    assert!(poll_once(&mut f, &waker).is_pending());
    assert!(poll_once(&mut f, &waker).is_pending());
    drop(p);
    assert!(matches!(poll_once(&mut f, &waker), Poll::Ready(Ok(_))));
}

#[test]
fn unwind_returns_permits() {
    let sem = Arc::new(Semaphore::new(2));
    let s2 = sem.clone();
    let r = std::thread::spawn(move || {
        let _p = s2.acquire_blocking(2).unwrap();
        panic!("boom while holding permits");
    })
    .join();
    assert!(r.is_err());
    assert_eq!(sem.available_permits(), 2);
}
