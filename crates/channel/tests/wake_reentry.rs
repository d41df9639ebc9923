//! Wakers that use channels from inside `wake`. An async receive that completes a waiting
//! sender wakes it before it releases the channel lock (`lock.rs`, "Waking under the
//! lock"), so each of these would deadlock if the lock were simply held across the wake:
//! the sender's waker uses the same channel again, drops the woken future (which drops the
//! last sender and closes the channel), blocks on another channel whose counterpart first
//! needs this channel's lock, or wakes under a second channel's lock in turn. Every test
//! runs under a watchdog.
#![cfg(not(loom))]

mod common;

use common::{watchdog, Counted};
use goro_channel::{bounded, TryRecvError, TrySendError};
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Wake, Waker};

/// A waker that runs a closure at every wake.
struct OnWake(Box<dyn Fn() + Send + Sync>);

impl Wake for OnWake {
    fn wake(self: Arc<Self>) {
        (self.0)();
    }
    fn wake_by_ref(self: &Arc<Self>) {
        (self.0)();
    }
}

fn waker(f: impl Fn() + Send + Sync + 'static) -> Waker {
    Waker::from(Arc::new(OnWake(Box::new(f))))
}

fn poll_once<F: Future + ?Sized>(f: Pin<&mut F>, waker: &Waker) -> Poll<F::Output> {
    f.poll(&mut Context::from_waker(waker))
}

fn poll_noop<F: Future>(f: F) -> Poll<F::Output> {
    let mut f = std::pin::pin!(f);
    poll_once(f.as_mut(), Waker::noop())
}

/// Fills a `bounded(cap)` channel and leaves a send of `pending` waiting on it with waker
/// `w`; a receive then completes it. Returns what that receive got.
fn complete_pending_send(
    cap: usize,
    tx: &goro_channel::Sender<u32>,
    rx: &goro_channel::Receiver<u32>,
    pending: u32,
    w: &Waker,
) -> u32 {
    for i in 0..cap as u32 {
        tx.try_send(i).unwrap();
    }
    let mut send = Box::pin(tx.send(pending));
    assert!(poll_once(send.as_mut(), w).is_pending());
    // Takes the oldest value and completes the waiting send, whose waker then runs.
    let got = match poll_noop(rx.recv()) {
        Poll::Ready(Ok(v)) => v,
        other => panic!("the receive completes: {other:?}"),
    };
    assert_eq!(poll_once(send.as_mut(), Waker::noop()), Poll::Ready(Ok(())));
    got
}

/// The woken sender's waker receives from and sends on the channel it was woken from.
#[test]
fn waker_uses_the_same_channel() {
    let _w = watchdog("waker_uses_the_same_channel", 20);
    for cap in [0, 1, 4] {
        let (tx, rx) = bounded::<u32>(cap);
        let in_wake = Arc::new(Mutex::new(None));
        let (tx2, rx2, seen) = (tx.clone(), rx.clone(), in_wake.clone());
        let w = waker(move || {
            let r = rx2.try_recv();
            let s = tx2.try_send(42);
            *seen.lock().unwrap() = Some((r, s.is_ok()));
        });
        let got = complete_pending_send(cap, &tx, &rx, 100, &w);
        let (r, sent) = in_wake.lock().unwrap().take().expect("the waker ran");
        let mut values = vec![got];
        values.extend(r.ok());
        values.extend(rx.try_iter());
        if cap == 0 {
            // The receive took the pending value itself; nobody waits on the rendezvous.
            assert_eq!(r, Err(TryRecvError::Empty));
            assert!(!sent);
            assert_eq!(values, vec![100]);
        } else {
            // The waker's receive freed a slot for its send.
            assert!(sent, "cap {cap}");
            let mut expected: Vec<u32> = (0..cap as u32).collect();
            expected.extend([100, 42]);
            assert_eq!(values, expected, "cap {cap}: FIFO, each value once");
        }
        // The lock is free again.
        assert!(tx.try_send(7).is_ok() || cap == 0);
    }
}

/// The waker drops the woken future on the spot, as an executor that is shutting down does:
/// the future owns the only sender, whose drop closes the channel (under its lock).
#[test]
fn waker_drops_the_woken_future() {
    let _w = watchdog("waker_drops_the_woken_future", 20);
    for cap in [0, 1, 3] {
        let drops = Arc::new(AtomicUsize::new(0));
        let (tx, rx) = bounded::<Counted>(cap);
        for i in 0..cap {
            tx.try_send(Counted::new(i, &drops)).unwrap();
        }
        type Pending = Pin<Box<dyn Future<Output = bool> + Send>>;
        let slot: Arc<Mutex<Option<Pending>>> = Arc::new(Mutex::new(None));
        let s = slot.clone();
        let w = waker(move || drop(s.lock().unwrap().take()));
        let value = Counted::new(cap, &drops);
        let mut fut: Pending = Box::pin(async move { tx.send(value).await.is_ok() });
        assert!(poll_once(fut.as_mut(), &w).is_pending());
        *slot.lock().unwrap() = Some(fut);
        let first = match poll_noop(rx.recv()) {
            Poll::Ready(Ok(v)) => v.id,
            other => panic!("cap {cap}: the receive completes: {:?}", other.is_ready()),
        };
        assert!(slot.lock().unwrap().is_none(), "the waker ran");
        assert!(
            rx.is_closed(),
            "dropping the only sender closed the channel"
        );
        let mut ids = vec![first];
        ids.extend(rx.try_iter().map(|c| c.id));
        assert_eq!(
            ids,
            (0..=cap).collect::<Vec<_>>(),
            "cap {cap}: each value once"
        );
        assert!(matches!(rx.try_recv(), Err(TryRecvError::Closed)));
        assert_eq!(
            drops.load(Ordering::SeqCst),
            cap + 1,
            "cap {cap}: dropped once"
        );
    }
}

/// The waker blocks on another channel, and the thread it waits for needs the first
/// channel's lock before it receives: the lock must not be kept while the waker waits.
#[test]
fn waker_blocks_on_another_channel() {
    let _w = watchdog("waker_blocks_on_another_channel", 20);
    for round in 0..50 {
        let (x_tx, x_rx) = bounded::<u32>(1);
        let (y_tx, y_rx) = bounded::<u32>(0);
        let in_wake = Arc::new(AtomicBool::new(false));
        let flag = in_wake.clone();
        let w = waker(move || {
            flag.store(true, Ordering::SeqCst);
            y_tx.send_blocking(7).unwrap();
        });
        let x_tx2 = x_tx.clone();
        let other = std::thread::spawn(move || {
            while !in_wake.load(Ordering::SeqCst) {
                std::thread::yield_now();
            }
            // Takes the lock of the channel whose wake is still running.
            assert!(x_tx2.is_full());
            y_rx.recv_blocking().unwrap()
        });
        assert_eq!(complete_pending_send(1, &x_tx, &x_rx, round + 1, &w), 0);
        assert_eq!(other.join().unwrap(), 7);
        assert_eq!(x_rx.try_recv(), Ok(round + 1));
    }
}

/// The waker completes a send waiting on a second channel (a wake under that channel's
/// lock, nested inside this one's), whose waker uses the first channel again.
#[test]
fn nested_wakes_across_two_channels() {
    let _w = watchdog("nested_wakes_across_two_channels", 20);
    let (a_tx, a_rx) = bounded::<u32>(1);
    let (b_tx, b_rx) = bounded::<u32>(1);
    let (a_tx2, a_rx2) = (a_tx.clone(), a_rx.clone());
    let inner_saw = Arc::new(Mutex::new(None));
    let seen = inner_saw.clone();
    let inner = waker(move || {
        let r = a_rx2.try_recv();
        let s = a_tx2.try_send(99);
        *seen.lock().unwrap() = Some((r, s.map_err(|e| matches!(e, TrySendError::Full(_)))));
    });
    b_tx.try_send(10).unwrap();
    let mut b_send = Box::pin(b_tx.send(11));
    assert!(poll_once(b_send.as_mut(), &inner).is_pending());
    let b_rx2 = b_rx.clone();
    let outer = waker(move || {
        // Completes the send waiting on `b`, whose waker uses `a`.
        assert_eq!(poll_noop(b_rx2.recv()), Poll::Ready(Ok(10)));
    });
    let got = complete_pending_send(1, &a_tx, &a_rx, 1, &outer);
    assert_eq!(got, 0);
    assert_eq!(
        inner_saw.lock().unwrap().take(),
        Some((Ok(1), Ok(()))),
        "the inner waker took the value the outer receive moved in, and refilled the slot"
    );
    assert_eq!(
        poll_once(b_send.as_mut(), Waker::noop()),
        Poll::Ready(Ok(()))
    );
    assert_eq!(a_rx.try_recv(), Ok(99));
    assert_eq!(b_rx.try_recv(), Ok(11));
    // Both locks are free.
    assert!(a_tx.try_send(2).is_ok() && b_tx.try_send(3).is_ok());
}

/// A waker that panics: the panic reaches the caller of the receive, and the lock is
/// released.
#[test]
fn panicking_waker_releases_the_lock() {
    let _w = watchdog("panicking_waker_releases_the_lock", 20);
    let (tx, rx) = bounded::<u32>(1);
    tx.try_send(1).unwrap();
    let w = waker(|| panic!("waker panics"));
    let mut send = Box::pin(tx.send(2));
    assert!(poll_once(send.as_mut(), &w).is_pending());
    let got = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| poll_noop(rx.recv())));
    assert!(got.is_err(), "the waker's panic propagates");
    // The value was moved in before the wake, and the lock is free.
    assert_eq!(poll_once(send.as_mut(), Waker::noop()), Poll::Ready(Ok(())));
    assert_eq!(rx.try_recv(), Ok(2));
    assert!(tx.try_send(3).is_ok());
}
