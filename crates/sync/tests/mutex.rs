//! Mutex: mutual exclusion under contention, unwinding, try/owned forms, Go's starvation mode,
//! cancellation of pending `lock()` futures.

mod common;

use common::{count_waker, poll_once, watchdog};
use futures::{executor::ThreadPool, task::SpawnExt};
use goro_sync::{Mutex, WaitGroup};
use std::{
    panic::{catch_unwind, AssertUnwindSafe},
    sync::{
        atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst},
        Arc,
    },
    task::Poll,
    thread,
    time::Duration,
};

#[test]
fn smoke() {
    let m = Mutex::new(1);
    *m.lock_blocking() += 1;
    assert_eq!(*futures::executor::block_on(m.lock()), 2);
    let g = m.try_lock().unwrap();
    assert!(m.try_lock().is_none());
    assert!(m.is_locked());
    drop(g);
    assert!(!m.is_locked());
    assert_eq!(m.into_inner(), 2);
}

#[test]
fn counter_1000_tasks_on_4_threads() {
    let _w = watchdog("counter_1000_tasks_on_4_threads", 60);
    const TASKS: usize = 1000;
    const ITERS: usize = 100;
    let pool = ThreadPool::builder().pool_size(4).create().unwrap();
    let m = Arc::new(Mutex::new(0usize));
    let inside = Arc::new(AtomicBool::new(false));
    let wg = WaitGroup::new();
    for _ in 0..TASKS {
        wg.add(1);
        let (m, wg, inside) = (m.clone(), wg.clone(), inside.clone());
        pool.spawn(async move {
            for i in 0..ITERS {
                let mut g = m.lock().await;
                assert!(!inside.swap(true, SeqCst), "two holders at once");
                *g += 1;
                if i % 10 == 0 {
                    // Hold the lock across a suspension point now and then.
                    common::yield_now().await;
                }
                inside.store(false, SeqCst);
                drop(g);
            }
            wg.done();
        })
        .unwrap();
    }
    wg.wait_blocking();
    assert_eq!(*m.lock_blocking(), TASKS * ITERS);
    assert!(!m.is_locked());
    assert_eq!(m.waiters(), 0);
}

/// Thread `t` of a mixed group adds 1 to `m` `n` times: even threads with `lock_blocking`, odd
/// ones with `lock().await` on a local executor.
fn bump_mixed(m: &Mutex<usize>, t: usize, n: usize) {
    for _ in 0..n {
        if t % 2 == 0 {
            *m.lock_blocking() += 1;
        } else {
            futures::executor::block_on(async { *m.lock().await += 1 });
        }
    }
}

#[test]
fn counter_blocking_threads_and_tasks_mixed() {
    let _w = watchdog("counter_blocking_threads_and_tasks_mixed", 60);
    let m = Arc::new(Mutex::new(0usize));
    let handles: Vec<_> = (0..4)
        .map(|t| {
            let m = m.clone();
            thread::spawn(move || bump_mixed(&m, t, 20_000))
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    assert_eq!(*m.lock_blocking(), 80_000);
}

#[test]
fn static_mutex_and_once_shared_by_threads_and_tasks() {
    // Go's package-level `var mu sync.Mutex` / `var once sync.Once`: `const` constructors.
    static COUNT: Mutex<usize> = Mutex::new(0);
    static INIT: goro_sync::Once = goro_sync::Once::new();
    static RUNS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let _w = watchdog("static_mutex_and_once_shared_by_threads_and_tasks", 60);
    let handles: Vec<_> = (0..4)
        .map(|t| {
            thread::spawn(move || {
                for _ in 0..100 {
                    INIT.call_once(|| {
                        RUNS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    });
                }
                bump_mixed(&COUNT, t, 10_000);
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    assert_eq!(*COUNT.lock_blocking(), 40_000);
    assert_eq!(RUNS.load(std::sync::atomic::Ordering::Relaxed), 1);
}

#[test]
fn unwind_releases_the_lock() {
    let m = Arc::new(Mutex::new(0));
    let m2 = m.clone();
    let r = thread::spawn(move || {
        let mut g = m2.lock_blocking();
        *g += 1;
        panic!("boom while holding the lock");
    })
    .join();
    assert!(r.is_err());
    // No poisoning: the value is intact and the lock free.
    assert_eq!(*m.try_lock().expect("released during unwind"), 1);

    let r = catch_unwind(AssertUnwindSafe(|| {
        futures::executor::block_on(async {
            let _g = m.lock().await;
            panic!("async boom");
        })
    }));
    assert!(r.is_err());
    assert!(m.try_lock().is_some());
}

#[test]
fn owned_guard_moves_across_threads() {
    let m = Arc::new(Mutex::new(Vec::new()));
    let mut g = futures::executor::block_on(m.lock_owned());
    let m2 = m.clone();
    let waiter = thread::spawn(move || m2.lock_blocking().len());
    g.push(1);
    thread::spawn(move || {
        g.push(2);
    })
    .join()
    .unwrap();
    assert_eq!(waiter.join().unwrap(), 2);
}

#[test]
fn get_mut_and_default() {
    let mut m: Mutex<Vec<u8>> = Mutex::default();
    m.get_mut().push(3);
    assert_eq!(format!("{m:?}"), "Mutex { data: [3], .. }");
    let g = m.lock_blocking();
    assert_eq!(format!("{m:?}"), "Mutex { data: <locked>, .. }");
    drop(g);
}

/// Deterministic walk through Go's starvation mode: a waiter that has waited more than 1 ms and
/// then loses a race switches the mutex to hand-off; newcomers can no longer barge; the waiter
/// gets the lock on the next unlock; the mode ends when the queue is empty.
#[test]
fn starvation_mode_hands_off_to_a_starved_waiter() {
    let m = Mutex::new(());
    let (wakes, waker) = count_waker();
    let g1 = m.try_lock().unwrap();
    let mut waiter = m.lock();
    assert!(poll_once(&mut waiter, &waker).is_pending());
    assert_eq!(m.waiters(), 1);
    // Only a lower bound on the elapsed time matters here.
    thread::sleep(Duration::from_millis(3));
    drop(g1);
    assert_eq!(wakes.0.load(SeqCst), 1, "unlock wakes the front waiter");
    // Normal mode: a newcomer may barge in before the woken waiter runs.
    let g2 = m.try_lock().expect("barging allowed in normal mode");
    assert!(poll_once(&mut waiter, &waker).is_pending());
    assert!(
        m.is_starving(),
        "a starved waiter that lost switches to starvation mode"
    );
    assert!(m.try_lock().is_none(), "no barging in starvation mode");
    drop(g2);
    assert_eq!(wakes.0.load(SeqCst), 2, "hand-off wakes the waiter");
    assert!(m.is_locked(), "the lock was handed over, not released");
    let Poll::Ready(g3) = poll_once(&mut waiter, &waker) else {
        panic!("hand-off must complete the waiter")
    };
    assert!(!m.is_starving(), "the last waiter ends starvation mode");
    drop(g3);
    assert!(m.try_lock().is_some());
}

/// A waiter is never overtaken forever: two threads hammer the lock (re-locking immediately
/// after each unlock, so a woken waiter nearly always loses in normal mode) while a third thread
/// waits for it. Starvation mode must get it through within a bounded number of turns.
#[test]
fn waiter_is_not_overtaken_forever() {
    let _w = watchdog("waiter_is_not_overtaken_forever", 60);
    const BOUND: usize = 20_000_000;
    let m = Arc::new(Mutex::new(()));
    let turns = Arc::new(AtomicUsize::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let hammers: Vec<_> = (0..2)
        .map(|_| {
            let (m, turns, stop) = (m.clone(), turns.clone(), stop.clone());
            thread::spawn(move || {
                while !stop.load(SeqCst) && turns.load(SeqCst) < BOUND {
                    let _g = m.lock_blocking();
                    turns.fetch_add(1, SeqCst);
                }
            })
        })
        .collect();
    while turns.load(SeqCst) < 1000 {
        std::hint::spin_loop();
    }
    let mut overtaken = Vec::new();
    for _ in 0..20 {
        let before = turns.load(SeqCst);
        let g = m.lock_blocking();
        overtaken.push(turns.load(SeqCst) - before);
        drop(g);
    }
    stop.store(true, SeqCst);
    for h in hammers {
        h.join().unwrap();
    }
    let worst = *overtaken.iter().max().unwrap();
    assert!(
        worst < BOUND / 2,
        "waiter overtaken {worst} times (all: {overtaken:?})"
    );
}

#[test]
fn dropped_pending_lock_leaves_queue() {
    let m = Mutex::new(0);
    let (_, waker) = count_waker();
    let g = m.try_lock().unwrap();
    let mut a = m.lock();
    let mut b = m.lock();
    assert!(poll_once(&mut a, &waker).is_pending());
    assert!(poll_once(&mut b, &waker).is_pending());
    assert_eq!(m.waiters(), 2);
    drop(a);
    assert_eq!(m.waiters(), 1);
    drop(g);
    assert!(matches!(poll_once(&mut b, &waker), Poll::Ready(_)));
    assert_eq!(m.waiters(), 0);
    assert!(m.try_lock().is_some());
}

/// A waiter that was handed the lock (starvation mode) and is then dropped passes it on.
#[test]
fn dropped_waiter_that_was_handed_the_lock_passes_it_on() {
    let m = Mutex::new(());
    let (wakes, waker) = count_waker();
    let g1 = m.try_lock().unwrap();
    let mut a = m.lock();
    assert!(poll_once(&mut a, &waker).is_pending());
    thread::sleep(Duration::from_millis(3));
    drop(g1);
    let g2 = m.try_lock().unwrap();
    assert!(poll_once(&mut a, &waker).is_pending());
    assert!(m.is_starving());
    let mut b = m.lock();
    assert!(poll_once(&mut b, &waker).is_pending());
    drop(g2); // hands the lock to `a`
    assert!(m.is_locked());
    let before = wakes.0.load(SeqCst);
    drop(a); // `a` never saw it: it must go to `b`
    assert!(wakes.0.load(SeqCst) > before, "b was woken");
    assert!(matches!(poll_once(&mut b, &waker), Poll::Ready(_)));
    assert!(!m.is_locked());
    assert!(m.try_lock().is_some());
}

/// A woken waiter that is dropped before it runs passes the wake-up on (normal mode).
#[test]
fn dropped_woken_waiter_passes_the_wakeup_on() {
    let m = Mutex::new(());
    let (a_wakes, a_waker) = count_waker();
    let (b_wakes, b_waker) = count_waker();
    let g = m.try_lock().unwrap();
    let mut a = m.lock();
    let mut b = m.lock();
    assert!(poll_once(&mut a, &a_waker).is_pending());
    assert!(poll_once(&mut b, &b_waker).is_pending());
    drop(g);
    assert_eq!(a_wakes.0.load(SeqCst), 1);
    assert_eq!(b_wakes.0.load(SeqCst), 0);
    drop(a);
    assert_eq!(b_wakes.0.load(SeqCst), 1, "the wake-up went to b");
    assert!(matches!(poll_once(&mut b, &b_waker), Poll::Ready(_)));
}

/// Go's `mutexWoken`: while a woken waiter has not run yet, unlocks wake nobody else (they only
/// put the permit back); the woken waiter then finds the lock free. Once it has run and lost,
/// the next unlock wakes a waiter again.
#[test]
fn unlocks_while_a_woken_waiter_is_on_its_way_wake_nobody_else() {
    let m = Mutex::new(());
    let (a_wakes, a_waker) = count_waker();
    let (b_wakes, b_waker) = count_waker();
    let g = m.try_lock().unwrap();
    let mut a = m.lock();
    let mut b = m.lock();
    assert!(poll_once(&mut a, &a_waker).is_pending());
    assert!(poll_once(&mut b, &b_waker).is_pending());
    drop(g);
    assert_eq!(a_wakes.0.load(SeqCst), 1, "the front waiter is woken");
    // Newcomers barge in and out while `a` is on its way.
    for _ in 0..3 {
        drop(m.try_lock().expect("normal mode: barging allowed"));
    }
    assert_eq!(a_wakes.0.load(SeqCst), 1, "no second wake-up for a");
    assert_eq!(b_wakes.0.load(SeqCst), 0, "and none for b");
    // `a` runs, finds the lock taken by a newcomer, and waits again.
    let g = m.try_lock().unwrap();
    assert!(poll_once(&mut a, &a_waker).is_pending());
    drop(g);
    assert_eq!(
        a_wakes.0.load(SeqCst),
        2,
        "after `a` lost, an unlock wakes it again"
    );
    let Poll::Ready(ga) = poll_once(&mut a, &a_waker) else {
        panic!("the woken waiter finds the lock free")
    };
    assert_eq!(b_wakes.0.load(SeqCst), 0);
    drop(ga);
    assert_eq!(b_wakes.0.load(SeqCst), 1, "then b is woken");
    assert!(matches!(poll_once(&mut b, &b_waker), Poll::Ready(_)));
    assert_eq!(m.waiters(), 0);
}

/// Blocking lockers spin, yield and park while async lockers on other threads queue: nobody is
/// stranded and the count is exact.
#[test]
fn blocking_and_async_lockers_with_short_and_long_critical_sections() {
    let _w = watchdog(
        "blocking_and_async_lockers_with_short_and_long_critical_sections",
        60,
    );
    let m = Arc::new(Mutex::new(0usize));
    let handles: Vec<_> = (0..4)
        .map(|t| {
            let m = m.clone();
            thread::spawn(move || {
                for i in 0..5_000 {
                    if t % 2 == 0 {
                        let mut g = m.lock_blocking();
                        *g += 1;
                        if i % 500 == 0 {
                            // A long hold now and then, so that waiters really park.
                            thread::sleep(Duration::from_micros(200));
                        }
                    } else {
                        futures::executor::block_on(async { *m.lock().await += 1 });
                    }
                }
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    assert_eq!(*m.lock_blocking(), 20_000);
    assert_eq!(m.waiters(), 0);
    assert!(!m.is_starving());
}
