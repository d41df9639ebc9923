//! Cond: signal wakes one waiter, broadcast wakes all, no signal is lost.

mod common;

use common::watchdog;
use goro_sync::{Cond, Mutex};
use std::{
    sync::{
        atomic::{AtomicUsize, Ordering::SeqCst},
        Arc,
    },
    thread,
};

struct Shared {
    m: Mutex<usize>,
    cond: Cond,
    woken: AtomicUsize,
}

fn spawn_waiters(s: &Arc<Shared>, n: usize) -> Vec<thread::JoinHandle<()>> {
    (0..n)
        .map(|i| {
            let s = s.clone();
            thread::spawn(move || {
                let g = s.m.lock_blocking();
                if i % 2 == 0 {
                    let _g = s.cond.wait_blocking(g);
                } else {
                    futures::executor::block_on(async {
                        let _g = s.cond.wait(g).await;
                    });
                }
                s.woken.fetch_add(1, SeqCst);
            })
        })
        .collect()
}

fn wait_until_waiting(s: &Shared, n: usize) {
    while s.cond.waiters() < n {
        thread::yield_now();
    }
}

#[test]
fn signal_wakes_one() {
    let _w = watchdog("signal_wakes_one", 30);
    let s = Arc::new(Shared {
        m: Mutex::new(0),
        cond: Cond::new(),
        woken: AtomicUsize::new(0),
    });
    let hs = spawn_waiters(&s, 3);
    wait_until_waiting(&s, 3);
    s.cond.signal();
    while s.woken.load(SeqCst) < 1 {
        thread::yield_now();
    }
    assert_eq!(
        s.cond.waiters(),
        2,
        "exactly one waiter was taken off the list"
    );
    s.cond.signal();
    s.cond.signal();
    for h in hs {
        h.join().unwrap();
    }
    assert_eq!(s.woken.load(SeqCst), 3);
}

#[test]
fn broadcast_wakes_all() {
    let _w = watchdog("broadcast_wakes_all", 30);
    let s = Arc::new(Shared {
        m: Mutex::new(0),
        cond: Cond::new(),
        woken: AtomicUsize::new(0),
    });
    let hs = spawn_waiters(&s, 5);
    wait_until_waiting(&s, 5);
    s.cond.broadcast();
    assert_eq!(s.cond.waiters(), 0);
    for h in hs {
        h.join().unwrap();
    }
    assert_eq!(s.woken.load(SeqCst), 5);
}

/// Classic producer/consumer on a condition: no wake-up may be lost.
#[test]
fn producer_consumer_loses_no_signal() {
    let _w = watchdog("producer_consumer_loses_no_signal", 60);
    let s = Arc::new((Mutex::new((0usize, false)), Cond::new()));
    let consumers: Vec<_> = (0..3)
        .map(|_| {
            let s = s.clone();
            thread::spawn(move || {
                let mut taken = 0;
                let mut g = s.0.lock_blocking();
                loop {
                    while g.0 == 0 && !g.1 {
                        g = s.1.wait_blocking(g);
                    }
                    if g.0 == 0 {
                        return taken;
                    }
                    g.0 -= 1;
                    taken += 1;
                }
            })
        })
        .collect();
    for _ in 0..10_000 {
        s.0.lock_blocking().0 += 1;
        s.1.signal();
    }
    s.0.lock_blocking().1 = true;
    s.1.broadcast();
    let total: usize = consumers.into_iter().map(|h| h.join().unwrap()).sum();
    assert_eq!(total, 10_000);
}

#[test]
fn dropped_signalled_waiter_passes_the_signal_on() {
    let m = Mutex::new(());
    let cond = Cond::new();
    let (_, waker) = common::count_waker();
    let mut a = Box::pin(cond.wait(m.lock_blocking()));
    assert!(common::poll_once(&mut a, &waker).is_pending());
    let mut b = Box::pin(cond.wait(m.lock_blocking()));
    assert!(common::poll_once(&mut b, &waker).is_pending());
    cond.signal(); // goes to `a`
    drop(a);
    assert!(
        common::poll_once(&mut b, &waker).is_ready(),
        "b got the signal"
    );
}
