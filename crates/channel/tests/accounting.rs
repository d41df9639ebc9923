//! Accounting: values that count their drops go through random interleavings of every
//! operation (async, blocking, try, timeout, select), with futures dropped at random
//! points. At the end each value was received exactly once or dropped exactly once, never
//! both, never neither (DESIGN.md guarantees 1 and 2); and no value is ever dropped on a
//! consumer's side without being received (a cancelled receive never loses a value).
mod common;

use futures::task::noop_waker;
use goro_channel::{bounded, select, unbounded, Receiver, Sender};
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::thread;
use std::time::Duration;

/// A value whose fate is recorded: received (by a consumer) or dropped (anywhere).
struct Tracked {
    id: usize,
    book: Arc<Book>,
    received: bool,
}

struct Book {
    received: Vec<AtomicUsize>,
    dropped: Vec<AtomicUsize>,
    /// Dropped on a consumer thread without being received: a receive lost it.
    lost: Vec<AtomicUsize>,
}

thread_local!(static CONSUMER: std::cell::Cell<bool> = const { std::cell::Cell::new(false) });

impl Drop for Tracked {
    fn drop(&mut self) {
        if self.received {
            self.book.received[self.id].fetch_add(1, Ordering::SeqCst);
        } else {
            self.book.dropped[self.id].fetch_add(1, Ordering::SeqCst);
            if CONSUMER.with(|c| c.get()) {
                self.book.lost[self.id].fetch_add(1, Ordering::SeqCst);
            }
        }
    }
}

fn take(mut v: Tracked) {
    v.received = true;
}

/// Polls `fut` up to `polls` times with a no-op waker, then drops it if not finished.
fn poll_some<F: Future>(fut: F, polls: usize) -> Option<F::Output> {
    let mut fut = Box::pin(fut);
    let waker = noop_waker();
    let mut cx = Context::from_waker(&waker);
    for _ in 0..polls {
        if let Poll::Ready(v) = Pin::as_mut(&mut fut).poll(&mut cx) {
            return Some(v);
        }
        thread::yield_now();
    }
    None
}

fn run(cap: Option<usize>, seed: u64) {
    const PER: usize = if cfg!(debug_assertions) {
        1_500
    } else {
        15_000
    };
    const PRODUCERS: usize = 3;
    let total = PER * PRODUCERS;
    let book = Arc::new(Book {
        received: (0..total).map(|_| AtomicUsize::new(0)).collect(),
        dropped: (0..total).map(|_| AtomicUsize::new(0)).collect(),
        lost: (0..total).map(|_| AtomicUsize::new(0)).collect(),
    });
    let (tx, rx): (Sender<Tracked>, Receiver<Tracked>) = match cap {
        Some(c) => bounded(c),
        None => unbounded(),
    };
    let (tx2, rx2): (Sender<Tracked>, Receiver<Tracked>) = bounded(1);
    let consumed = Arc::new(AtomicUsize::new(0));
    let mut hs = Vec::new();
    for p in 0..PRODUCERS {
        let (tx, tx2, rx2, book) = (tx.clone(), tx2.clone(), rx2.clone(), book.clone());
        hs.push(thread::spawn(move || {
            let mut rng = fastrand::Rng::with_seed(seed ^ (p as u64 * 7919));
            for i in 0..PER {
                let v = Tracked {
                    id: p * PER + i,
                    book: book.clone(),
                    received: false,
                };
                match rng.usize(0..6) {
                    0 => {
                        let _ = tx.send_blocking(v);
                    }
                    1 => {
                        // try_send; on failure the value comes back and is dropped here.
                        let _ = tx.try_send(v);
                    }
                    2 => {
                        let _ = tx.send_timeout(v, Duration::from_micros(rng.u64(0..50)));
                    }
                    3 => {
                        // An async send polled a few times, then maybe dropped.
                        let _ = poll_some(tx.send(v), rng.usize(1..4));
                    }
                    4 => {
                        let _ = poll_some(
                            async {
                                select! {
                                    send(tx, v) -> r => r.is_ok(),
                                    recv(rx2) -> r => { if let Ok(r) = r { take(r) } false }
                                }
                            },
                            rng.usize(1..4),
                        );
                    }
                    _ => {
                        let _ = tx2.send_timeout(v, Duration::from_micros(rng.u64(0..50)));
                    }
                }
            }
        }));
    }
    drop((tx, tx2));
    for c in 0..3 {
        let (rx, rx2, consumed) = (rx.clone(), rx2.clone(), consumed.clone());
        hs.push(thread::spawn(move || {
            CONSUMER.with(|f| f.set(true));
            let mut rng = fastrand::Rng::with_seed(seed.wrapping_mul(31) ^ c);
            loop {
                if rx.is_closed() && rx.is_empty() && rx2.is_closed() && rx2.is_empty() {
                    // Drain whatever a cancelled receiver may have handed back.
                    for v in rx.try_iter().chain(rx2.try_iter()) {
                        take(v);
                        consumed.fetch_add(1, Ordering::SeqCst);
                    }
                    if rx.try_recv().is_err() && rx2.try_recv().is_err() {
                        return;
                    }
                    continue;
                }
                let got = match rng.usize(0..5) {
                    0 => rx.recv_timeout(Duration::from_micros(rng.u64(0..100))).ok(),
                    1 => rx.try_recv().ok(),
                    2 => poll_some(rx.recv(), rng.usize(1..4)).and_then(|r| r.ok()),
                    3 => poll_some(
                        async {
                            select! {
                                recv(rx) -> v => v.ok(),
                                recv(rx2) -> v => v.ok(),
                            }
                        },
                        rng.usize(1..4),
                    )
                    .flatten(),
                    _ => rx2
                        .recv_timeout(Duration::from_micros(rng.u64(0..100)))
                        .ok(),
                };
                if let Some(v) = got {
                    take(v);
                    consumed.fetch_add(1, Ordering::SeqCst);
                }
            }
        }));
    }
    drop((rx, rx2));
    for h in hs {
        h.join().unwrap();
    }
    for id in 0..total {
        let r = book.received[id].load(Ordering::SeqCst);
        let d = book.dropped[id].load(Ordering::SeqCst);
        let lost = book.lost[id].load(Ordering::SeqCst);
        assert_eq!(
            lost, 0,
            "value {id} was lost by a cancelled receive (cap {cap:?}, seed {seed})"
        );
        assert_eq!(
            r + d,
            1,
            "value {id}: received {r} times, dropped {d} times (cap {cap:?}, seed {seed})"
        );
    }
}

#[test]
fn accounting_rendezvous() {
    let _w = common::watchdog("accounting_rendezvous", 120);
    for seed in 1..=3 {
        run(Some(0), seed);
    }
}

#[test]
fn accounting_bounded() {
    let _w = common::watchdog("accounting_bounded", 120);
    for seed in 1..=3 {
        run(Some(2), seed);
    }
}

#[test]
fn accounting_unbounded() {
    let _w = common::watchdog("accounting_unbounded", 120);
    for seed in 1..=3 {
        run(None, seed);
    }
}

/// Soak: `GORO_SOAK_SECS=600 cargo test --release -p goro-channel --test accounting soak`.
#[test]
fn soak() {
    let secs: u64 = match std::env::var("GORO_SOAK_SECS") {
        Ok(s) => s
            .parse()
            .expect("GORO_SOAK_SECS must be a whole number of seconds"),
        Err(_) => return,
    };
    let end = std::time::Instant::now() + Duration::from_secs(secs);
    let mut seed = 100;
    while std::time::Instant::now() < end {
        for cap in [Some(0), Some(1), Some(3), None] {
            run(cap, seed);
        }
        seed += 1;
    }
}
