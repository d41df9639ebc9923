//! Cancellation at random points: futures of `lock`, `read`/`write` and `acquire` are dropped
//! after a random number of polls, guards are dropped at random times. Throughout, mutual
//! exclusion and the permit bound hold; no wake-up is lost (a waiter that was never woken is
//! never the only thing left); at the end the lock is free and every permit is back.

mod common;

use common::{count_waker, watchdog, CountWaker};
use futures::{future::LocalBoxFuture as BoxFuture, FutureExt};
use goro_sync::{Mutex, RwMutex, Semaphore};
use std::{
    cell::Cell,
    sync::{atomic::Ordering::SeqCst, Arc},
    task::{Context, Poll, Waker},
    thread,
    time::Duration,
};

struct Pending<'a, G> {
    fut: BoxFuture<'a, G>,
    wakes: Arc<CountWaker>,
    waker: Waker,
    seen: usize,
}

impl<G> Pending<'_, G> {
    fn woken(&self) -> bool {
        self.wakes.0.load(SeqCst) > self.seen
    }
    fn poll(&mut self) -> Poll<G> {
        self.seen = self.wakes.0.load(SeqCst);
        self.fut
            .as_mut()
            .poll(&mut Context::from_waker(&self.waker))
    }
}

/// Drives `actors` actors for `steps` random steps; `make` starts a new acquisition.
fn run<'a, G>(
    seed: u64,
    steps: usize,
    actors: usize,
    make: impl Fn(&mut fastrand::Rng) -> BoxFuture<'a, G>,
) {
    let mut rng = fastrand::Rng::with_seed(seed);
    let mut pending: Vec<Option<Pending<'a, G>>> = (0..actors).map(|_| None).collect();
    let mut held: Vec<Option<G>> = (0..actors).map(|_| None).collect();
    let start = |rng: &mut fastrand::Rng| {
        let (wakes, waker) = count_waker();
        Pending {
            fut: make(rng),
            wakes,
            waker,
            seen: 0,
        }
    };
    for _ in 0..steps {
        if rng.u32(..2000) == 0 {
            // Let queued waiters age past Go's 1 ms starvation threshold now and then, so that
            // hand-off mode gets exercised too (this adds coverage; correctness never needs it).
            thread::sleep(Duration::from_millis(2));
        }
        let i = rng.usize(..actors);
        if held[i].is_some() {
            if rng.bool() {
                held[i] = None;
            }
        } else if let Some(p) = &mut pending[i] {
            let woken = p.woken();
            match rng.u32(..10) {
                0 => pending[i] = None, // cancel, woken or not
                _ if woken => {
                    if let Poll::Ready(g) = p.poll() {
                        pending[i] = None;
                        held[i] = Some(g);
                    }
                }
                _ => {}
            }
        } else {
            let mut p = start(&mut rng);
            match p.poll() {
                Poll::Ready(g) => held[i] = Some(g),
                Poll::Pending => pending[i] = Some(p),
            }
        }
    }
    // Drain: release everything held, then only woken futures may be polled (or cancelled).
    // If pending futures remain and none was woken, a wake-up was lost.
    held.iter_mut().for_each(|h| *h = None);
    loop {
        let mut progressed = false;
        let mut left = 0;
        for slot in pending.iter_mut() {
            let Some(p) = slot else { continue };
            left += 1;
            if p.woken() {
                progressed = true;
                if rng.u32(..3) == 0 {
                    // Cancel a woken waiter: its wake-up (or lock) must go to the next one.
                    *slot = None;
                } else if let Poll::Ready(g) = p.poll() {
                    drop(g);
                    *slot = None;
                }
            }
        }
        if left == 0 {
            break;
        }
        assert!(
            progressed,
            "seed {seed}: {left} waiters left and none was woken: lost wake-up"
        );
    }
}

/// Counts holders and checks a bound when a new one arrives.
struct Token<'a>(&'a Cell<usize>, usize);

impl<'a> Token<'a> {
    fn new(inside: &'a Cell<usize>, n: usize, max: usize) -> Self {
        inside.set(inside.get() + n);
        assert!(
            inside.get() <= max,
            "{} units held, at most {max} allowed",
            inside.get()
        );
        Token(inside, n)
    }
}

impl Drop for Token<'_> {
    fn drop(&mut self) {
        self.0.set(self.0.get() - self.1);
    }
}

#[test]
fn mutex_random_cancellation() {
    let _w = watchdog("mutex_random_cancellation", 120);
    for seed in 0..40 {
        let m = Mutex::new(0u64);
        let inside = Cell::new(0);
        run(seed, 20_000, 8, |_| {
            let (m, inside) = (&m, &inside);
            async move {
                let mut g = m.lock().await;
                *g += 1;
                (g, Token::new(inside, 1, 1))
            }
            .boxed_local()
        });
        assert!(!m.is_locked(), "seed {seed}: lock left held");
        assert_eq!(m.waiters(), 0);
        assert!(!m.is_starving());
        assert!(m.try_lock().is_some());
    }
}

#[test]
fn rwmutex_random_cancellation() {
    let _w = watchdog("rwmutex_random_cancellation", 120);
    for seed in 0..40 {
        let lock = RwMutex::new(());
        let writers = Cell::new(0);
        let readers = Cell::new(0);
        run(seed, 20_000, 8, |rng| {
            let (lock, writers, readers) = (&lock, &writers, &readers);
            if rng.u32(..4) == 0 {
                async move {
                    let g = lock.write().await;
                    assert_eq!(readers.get(), 0, "writer while readers are in");
                    (Ok(g), Token::new(writers, 1, 1))
                }
                .boxed_local()
            } else {
                async move {
                    let g = lock.read().await;
                    assert_eq!(writers.get(), 0, "reader while a writer is in");
                    (Err(g), Token::new(readers, 1, usize::MAX))
                }
                .boxed_local()
            }
        });
        assert!(lock.try_write().is_some(), "seed {seed}: lock left held");
    }
}

#[test]
fn semaphore_random_cancellation() {
    let _w = watchdog("semaphore_random_cancellation", 120);
    const TOTAL: usize = 6;
    for seed in 0..40 {
        let sem = Semaphore::new(TOTAL);
        let inside = Cell::new(0);
        run(seed, 20_000, 8, |rng| {
            let n = rng.usize(1..=4);
            let (sem, inside) = (&sem, &inside);
            async move {
                let p = sem.acquire(n).await.unwrap();
                (p, Token::new(inside, n, TOTAL))
            }
            .boxed_local()
        });
        assert_eq!(sem.available_permits(), TOTAL, "seed {seed}: permits lost");
        assert_eq!(sem.waiters(), 0);
    }
}

/// Threads race to lock, each lock future raced against a few yields: whichever finishes
/// first wins, so pending lock futures are dropped at random points under real contention.
#[test]
fn threads_cancel_pending_locks_and_acquires() {
    let _w = watchdog("threads_cancel_pending_locks_and_acquires", 120);
    let m = Arc::new(Mutex::new(0usize));
    let sem = Arc::new(Semaphore::new(3));
    let hs: Vec<_> = (0..4)
        .map(|t| {
            let (m, sem) = (m.clone(), sem.clone());
            thread::spawn(move || {
                let mut rng = fastrand::Rng::with_seed(t);
                let mut got = 0usize;
                futures::executor::block_on(async {
                    for _ in 0..20_000 {
                        let yields = rng.usize(0..4);
                        let give_up = async {
                            for _ in 0..yields {
                                common::yield_now().await;
                            }
                        };
                        futures::select_biased! {
                            mut g = m.lock().fuse() => {
                                *g += 1;
                                got += 1;
                                if rng.bool() { common::yield_now().await; }
                            }
                            _ = give_up.fuse() => {}
                        }
                        let n = rng.usize(1..=3);
                        futures::select_biased! {
                            p = sem.acquire(n).fuse() => {
                                assert_eq!(p.unwrap().num_permits(), n);
                            }
                            _ = common::yield_now().fuse() => {}
                        }
                    }
                });
                got
            })
        })
        .collect();
    let got: usize = hs.into_iter().map(|h| h.join().unwrap()).sum();
    assert_eq!(*m.lock_blocking(), got);
    assert!(m.try_lock().is_some());
    assert_eq!(m.waiters(), 0);
    assert_eq!(sem.available_permits(), 3);
    assert_eq!(sem.waiters(), 0);
}
