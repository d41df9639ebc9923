//! Once and OnceCell: exactly one initialiser runs under contention; a panicking, failing or
//! cancelled initialiser leaves the cell usable.

mod common;

use common::{count_waker, poll_once, watchdog};
use futures::{executor::ThreadPool, task::SpawnExt};
use goro_sync::{Once, OnceCell, WaitGroup};
use std::{
    future::Future,
    panic::{catch_unwind, AssertUnwindSafe},
    pin::pin,
    sync::{
        atomic::{AtomicUsize, Ordering::SeqCst},
        Arc,
    },
    thread,
};

#[test]
fn once_runs_exactly_once_under_contention() {
    let _w = watchdog("once_runs_exactly_once_under_contention", 30);
    let once = Arc::new(Once::new());
    let runs = Arc::new(AtomicUsize::new(0));
    let hs: Vec<_> = (0..8)
        .map(|_| {
            let (once, runs) = (once.clone(), runs.clone());
            thread::spawn(move || {
                once.call_once(|| {
                    runs.fetch_add(1, SeqCst);
                    thread::yield_now();
                });
                // Every caller returns only after the call completed.
                assert!(once.is_completed());
            })
        })
        .collect();
    for h in hs {
        h.join().unwrap();
    }
    assert_eq!(runs.load(SeqCst), 1);
}

#[test]
fn once_cell_initialises_once_among_many_tasks() {
    let _w = watchdog("once_cell_initialises_once_among_many_tasks", 30);
    let pool = ThreadPool::builder().pool_size(4).create().unwrap();
    let cell = Arc::new(OnceCell::new());
    let runs = Arc::new(AtomicUsize::new(0));
    let wg = WaitGroup::new();
    for i in 0..200 {
        wg.add(1);
        let (cell, runs, wg) = (cell.clone(), runs.clone(), wg.clone());
        pool.spawn(async move {
            let v = cell
                .get_or_init(|| async {
                    runs.fetch_add(1, SeqCst);
                    common::yield_now().await;
                    i
                })
                .await;
            assert_eq!(Some(v), cell.get());
            wg.done();
        })
        .unwrap();
    }
    wg.wait_blocking();
    assert_eq!(runs.load(SeqCst), 1);
}

#[test]
fn panicking_initialiser_leaves_the_cell_usable() {
    let cell = OnceCell::new();
    let r = catch_unwind(AssertUnwindSafe(|| {
        cell.get_or_init_blocking(|| -> u32 { panic!("init failed") })
    }));
    assert!(r.is_err());
    assert!(cell.get().is_none());
    assert_eq!(*cell.get_or_init_blocking(|| 2), 2);

    let once = Once::new();
    let r = catch_unwind(AssertUnwindSafe(|| once.call_once(|| panic!("boom"))));
    assert!(r.is_err());
    assert!(!once.is_completed());
    let mut ran = false;
    once.call_once(|| ran = true);
    assert!(ran && once.is_completed());
}

#[test]
fn panicking_initialiser_hands_over_to_a_waiting_caller() {
    let _w = watchdog("panicking_initialiser_hands_over_to_a_waiting_caller", 30);
    let cell = Arc::new(OnceCell::new());
    let (_, waker) = count_waker();
    let c2 = cell.clone();
    // The first caller's initialiser stays pending until we let it panic.
    let mut first = pin!(c2.get_or_init(|| async {
        common::yield_now().await;
        panic!("first initialiser fails")
    }));
    assert!(first
        .as_mut()
        .poll(&mut std::task::Context::from_waker(&waker))
        .is_pending());
    let c3 = cell.clone();
    let second = thread::spawn(move || *c3.get_or_init_blocking(|| 9));
    let r = catch_unwind(AssertUnwindSafe(|| {
        let _ = first
            .as_mut()
            .poll(&mut std::task::Context::from_waker(&waker));
    }));
    assert!(r.is_err());
    assert_eq!(second.join().unwrap(), 9);
}

#[test]
fn cancelled_initialiser_leaves_the_cell_usable() {
    let cell = OnceCell::new();
    let (_, waker) = count_waker();
    {
        let mut fut = Box::pin(cell.get_or_init(std::future::pending::<u8>));
        assert!(poll_once(&mut fut, &waker).is_pending());
        let mut second = Box::pin(cell.get_or_init(|| async { 1 }));
        assert!(
            poll_once(&mut second, &waker).is_pending(),
            "waits for the first"
        );
        drop(fut); // the running initialiser is cancelled
        assert!(matches!(
            poll_once(&mut second, &waker),
            std::task::Poll::Ready(&1)
        ));
    }
    assert_eq!(cell.get(), Some(&1));
}

#[test]
fn try_init_error_leaves_the_cell_empty() {
    let cell: OnceCell<u8> = OnceCell::new();
    let r = futures::executor::block_on(cell.get_or_try_init(|| async { Err("no") }));
    assert_eq!(r, Err("no"));
    assert!(cell.get().is_none());
    let r = futures::executor::block_on(cell.get_or_try_init(|| async { Ok::<_, ()>(4) }));
    assert_eq!(r, Ok(&4));
    assert_eq!(cell.into_inner(), Some(4));
}

#[test]
fn once_async_form() {
    let once = Once::default();
    let runs = AtomicUsize::new(0);
    futures::executor::block_on(async {
        for _ in 0..3 {
            once.call_once_async(|| async {
                runs.fetch_add(1, SeqCst);
            })
            .await;
        }
    });
    assert_eq!(runs.load(SeqCst), 1);
    assert_eq!(format!("{once:?}"), "Once { completed: true }");
}
