//! Shared helpers for the channel tests: a watchdog so no test hangs, values that count
//! their drops, and the per-flavor test suite.
#![allow(dead_code, unused_macros)]

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// Aborts the process with a message if the guard is not dropped within `secs`.
pub(crate) struct Watchdog(Arc<AtomicBool>);

pub(crate) fn watchdog(name: &'static str, secs: u64) -> Watchdog {
    let done = Arc::new(AtomicBool::new(false));
    let d = done.clone();
    std::thread::spawn(move || {
        let step = Duration::from_millis(20);
        let mut waited = Duration::ZERO;
        while waited < Duration::from_secs(secs) {
            if d.load(Ordering::SeqCst) {
                return;
            }
            std::thread::sleep(step);
            waited += step;
        }
        eprintln!("watchdog: test `{name}` still running after {secs} s: it hangs");
        std::process::abort();
    });
    Watchdog(done)
}

impl Drop for Watchdog {
    fn drop(&mut self) {
        self.0.store(true, Ordering::SeqCst);
    }
}

/// A value that counts how often values of its family were dropped.
pub(crate) struct Counted {
    pub(crate) id: usize,
    drops: Arc<AtomicUsize>,
}

impl Counted {
    pub(crate) fn new(id: usize, drops: &Arc<AtomicUsize>) -> Self {
        Counted {
            id,
            drops: drops.clone(),
        }
    }
}

impl Drop for Counted {
    fn drop(&mut self) {
        self.drops.fetch_add(1, Ordering::SeqCst);
    }
}

/// A multi-threaded tokio runtime for async tests.
pub(crate) fn tokio_rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

/// The behaviour every flavor shares. `$make` is `|| -> (Sender<T>, Receiver<T>)` for any
/// `T`, written as a generic fn name.
macro_rules! flavor_tests {
    ($make:ident, $cap:expr) => {
        use goro_channel::*;
        use std::future::Future;
        use std::sync::atomic::{AtomicUsize, Ordering};
        use std::sync::Arc;
        use std::thread;
        use std::time::Duration;

        #[test]
        fn smoke() {
            let _w = common::watchdog("smoke", 10);
            let (tx, rx) = $make::<i32>();
            let t = thread::spawn(move || tx.send_blocking(7).unwrap());
            assert_eq!(rx.recv_blocking(), Ok(7));
            t.join().unwrap();
            assert_eq!(rx.recv_blocking(), Err(RecvError));
        }

        #[test]
        fn capacity() {
            let (tx, rx) = $make::<()>();
            assert_eq!(tx.capacity(), $cap);
            assert_eq!(rx.capacity(), $cap);
        }

        #[test]
        fn len_empty_full() {
            let (tx, rx) = $make::<u32>();
            assert_eq!(tx.len(), 0);
            assert!(tx.is_empty() && rx.is_empty());
            match $cap {
                Some(0) => {
                    assert!(tx.is_full() && rx.is_full());
                    assert!(tx.try_send(1).unwrap_err().is_full());
                }
                Some(n) => {
                    for i in 0..n as u32 {
                        assert!(!tx.is_full());
                        tx.try_send(i).unwrap();
                    }
                    assert!(tx.is_full() && rx.is_full());
                    assert_eq!(rx.len(), n);
                    assert!(!rx.is_empty());
                    assert!(tx.try_send(99).unwrap_err().is_full());
                }
                None => {
                    for i in 0..1000 {
                        tx.try_send(i).unwrap();
                    }
                    assert!(!tx.is_full());
                    assert_eq!(rx.len(), 1000);
                }
            }
        }

        #[test]
        fn close_wakes_receiver() {
            let _w = common::watchdog("close_wakes_receiver", 10);
            let (tx, rx) = $make::<i32>();
            let rx2 = rx.clone();
            let t = thread::spawn(move || rx2.recv_blocking());
            let t2 = {
                let rx = rx.clone();
                thread::spawn(move || futures::executor::block_on(rx.recv()))
            };
            // Whether or not the receivers are parked yet, close must end both receives.
            assert!(tx.close());
            assert!(!tx.close());
            assert_eq!(t.join().unwrap(), Err(RecvError));
            assert_eq!(t2.join().unwrap(), Err(RecvError));
        }

        #[test]
        fn close_wakes_sender() {
            let _w = common::watchdog("close_wakes_sender", 10);
            let (tx, rx) = $make::<i32>();
            if let Some(n) = $cap {
                for i in 0..n as i32 {
                    tx.try_send(i).unwrap();
                }
            } else {
                return; // an unbounded send never waits
            }
            let tx2 = tx.clone();
            let t = thread::spawn(move || tx2.send_blocking(100));
            let tx3 = tx.clone();
            let t2 = thread::spawn(move || futures::executor::block_on(tx3.send(200)));
            rx.close();
            assert_eq!(t.join().unwrap(), Err(SendError(100)));
            assert_eq!(t2.join().unwrap(), Err(SendError(200)));
            // What was buffered before the close is still received, then closed.
            let drained: Vec<i32> = rx.try_iter().collect();
            assert_eq!(drained.len(), $cap.unwrap());
            assert_eq!(rx.try_recv(), Err(TryRecvError::Closed));
        }

        #[test]
        fn drop_all_senders() {
            let (tx, rx) = $make::<i32>();
            let tx2 = tx.clone();
            drop(tx);
            assert!(!rx.is_closed());
            drop(tx2);
            assert!(rx.is_closed());
            assert_eq!(rx.try_recv(), Err(TryRecvError::Closed));
        }

        #[test]
        fn drop_all_receivers() {
            let drops = Arc::new(AtomicUsize::new(0));
            let (tx, rx) = $make::<common::Counted>();
            if $cap != Some(0) {
                tx.try_send(common::Counted::new(1, &drops)).unwrap();
            }
            let rx2 = rx.clone();
            drop(rx);
            assert!(!tx.is_closed());
            drop(rx2);
            assert!(tx.is_closed());
            let expected = if $cap == Some(0) { 0 } else { 1 };
            // The buffered value is dropped when the last receiver goes.
            assert_eq!(drops.load(Ordering::SeqCst), expected);
            let e = tx.try_send(common::Counted::new(2, &drops)).unwrap_err();
            assert!(e.is_closed());
            assert_eq!(e.into_inner().id, 2);
            assert_eq!(drops.load(Ordering::SeqCst), expected + 1);
        }

        #[test]
        fn forget_blocked_sender() {
            let _w = common::watchdog("forget_blocked_sender", 10);
            let drops = Arc::new(AtomicUsize::new(0));
            let (tx, rx) = $make::<common::Counted>();
            let fill = $cap.unwrap_or(0);
            for i in 0..fill {
                tx.try_send(common::Counted::new(i, &drops)).unwrap();
            }
            {
                // A send future polled once (registered as waiting) and then dropped.
                let fut = tx.send(common::Counted::new(1000, &drops));
                let mut fut = Box::pin(fut);
                let waker = futures::task::noop_waker();
                let mut cx = std::task::Context::from_waker(&waker);
                let pending = fut.as_mut().poll(&mut cx).is_pending();
                assert_eq!(pending, $cap.is_some(), "only a bounded send waits");
            }
            let got: Vec<usize> = rx.try_iter().map(|c| c.id).collect();
            if $cap.is_some() {
                // The forgotten value is never delivered.
                assert_eq!(got, (0..fill).collect::<Vec<_>>());
            } else {
                assert_eq!(got, vec![1000]);
            }
            drop(tx);
            drop(rx);
            assert_eq!(drops.load(Ordering::SeqCst), fill + 1);
        }

        #[test]
        fn fifo_per_sender() {
            let _w = common::watchdog("fifo_per_sender", 30);
            const N: usize = if cfg!(debug_assertions) {
                20_000
            } else {
                100_000
            };
            let (tx, rx) = $make::<(usize, usize)>();
            let mut hs = Vec::new();
            for s in 0..4 {
                let tx = tx.clone();
                hs.push(thread::spawn(move || {
                    for i in 0..N {
                        tx.send_blocking((s, i)).unwrap();
                    }
                }));
            }
            drop(tx);
            let mut next = [0usize; 4];
            for (s, i) in rx.iter() {
                assert_eq!(next[s], i, "values of one sender arrive in order");
                next[s] += 1;
            }
            assert_eq!(next, [N; 4]);
            for h in hs {
                h.join().unwrap();
            }
        }

        #[test]
        fn mpmc_8x8_every_value_once() {
            let _w = common::watchdog("mpmc_8x8_every_value_once", 60);
            const PER: usize = if cfg!(debug_assertions) {
                5_000
            } else {
                50_000
            };
            let (tx, rx) = $make::<usize>();
            let seen = Arc::new(
                (0..8 * PER)
                    .map(|_| AtomicUsize::new(0))
                    .collect::<Vec<_>>(),
            );
            let rt = common::tokio_rt();
            let mut hs = Vec::new();
            for s in 0..8 {
                let tx = tx.clone();
                if s % 2 == 0 {
                    hs.push(thread::spawn(move || {
                        for i in 0..PER {
                            tx.send_blocking(s * PER + i).unwrap();
                        }
                    }));
                } else {
                    let h = rt.spawn(async move {
                        for i in 0..PER {
                            tx.send(s * PER + i).await.unwrap();
                        }
                    });
                    hs.push(thread::spawn(move || {
                        futures::executor::block_on(h).unwrap();
                    }));
                }
            }
            drop(tx);
            for r in 0..8 {
                let rx = rx.clone();
                let seen = seen.clone();
                if r % 2 == 0 {
                    hs.push(thread::spawn(move || {
                        for v in rx.iter() {
                            seen[v].fetch_add(1, Ordering::SeqCst);
                        }
                    }));
                } else {
                    let h = rt.spawn(async move {
                        while let Ok(v) = rx.recv().await {
                            seen[v].fetch_add(1, Ordering::SeqCst);
                        }
                    });
                    hs.push(thread::spawn(move || {
                        futures::executor::block_on(h).unwrap();
                    }));
                }
            }
            drop(rx);
            for h in hs {
                h.join().unwrap();
            }
            for (v, c) in seen.iter().enumerate() {
                assert_eq!(c.load(Ordering::SeqCst), 1, "value {v} received once");
            }
        }

        #[test]
        fn timeouts() {
            let (tx, rx) = $make::<i32>();
            assert_eq!(
                rx.recv_timeout(Duration::from_millis(5)),
                Err(RecvTimeoutError::Timeout)
            );
            if let Some(n) = $cap {
                for i in 0..n as i32 {
                    tx.try_send(i).unwrap();
                }
                assert_eq!(
                    tx.send_timeout(9, Duration::from_millis(5)),
                    Err(SendTimeoutError::Timeout(9))
                );
            }
            drop(tx);
            let left: Vec<i32> = rx.iter().collect();
            assert_eq!(left.len(), $cap.unwrap_or(0));
            assert_eq!(
                rx.recv_timeout(Duration::from_millis(5)),
                Err(RecvTimeoutError::Closed)
            );
        }

        #[test]
        fn stream_and_sink() {
            use futures::{SinkExt, StreamExt};
            let _w = common::watchdog("stream_and_sink", 20);
            let rt = common::tokio_rt();
            rt.block_on(async {
                let (tx, rx) = $make::<u32>();
                let producer = tokio::spawn(async move {
                    let mut sink = tx.into_sink();
                    for i in 0..100 {
                        sink.send(i).await.unwrap();
                    }
                    sink.close().await.unwrap();
                });
                let all: Vec<u32> = rx.collect().await;
                assert_eq!(all, (0..100).collect::<Vec<_>>());
                producer.await.unwrap();
            });
        }

        #[test]
        fn send_sync_debug() {
            fn assert_send_sync<X: Send + Sync>() {}
            assert_send_sync::<Sender<u8>>();
            assert_send_sync::<Receiver<u8>>();
            let (tx, rx) = $make::<std::rc::Rc<u8>>();
            // No `T: Debug` needed, and non-Send values work within one thread.
            let s = format!("{tx:?} {rx:?}");
            assert!(s.contains("Sender") && s.contains("Receiver"));
        }
    };
}
#[allow(unused_imports)]
pub(crate) use flavor_tests;
