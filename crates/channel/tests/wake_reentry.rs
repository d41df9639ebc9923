//! Wakers that use channels from inside `wake`. An async send or receive that completes a
//! waiting task wakes it before it releases the channel lock (`lock.rs`, "Waking under the
//! lock"), so each of these would deadlock if the lock were simply held across the wake:
//! the waker locks the same channel again, drops the woken future (which gives its value
//! back and closes the channel), blocks on another channel whose counterpart first needs
//! this channel's lock, or panics. Every test runs under a watchdog.
#![cfg(not(loom))]

mod common;

use common::{watchdog, Counted};
use goro_channel::{bounded, Receiver, Sender, TryRecvError};
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

/// The woken task's waker sends on the channel it was woken from.
#[test]
fn waker_sends_on_the_same_channel() {
    let _w = watchdog("waker_sends_on_the_same_channel", 20);
    for flavor in [Some(0), Some(1), Some(4), None] {
        let (tx, rx): (Sender<u32>, Receiver<u32>) = match flavor {
            Some(n) => bounded(n),
            None => goro_channel::unbounded(),
        };
        let sent_in_wake = Arc::new(Mutex::new(None));
        let (tx2, seen) = (tx.clone(), sent_in_wake.clone());
        let w = waker(move || {
            *seen.lock().unwrap() = Some(tx2.try_send(42).is_ok());
        });
        let mut recv = Box::pin(rx.recv());
        assert!(poll_once(recv.as_mut(), &w).is_pending());
        // Completes the waiting receive, whose waker runs `try_send` on this channel.
        assert!(matches!(poll_noop(tx.send(1)), Poll::Ready(Ok(()))));
        assert_eq!(poll_once(recv.as_mut(), &w), Poll::Ready(Ok(1)));
        drop(recv);
        let in_wake = sent_in_wake.lock().unwrap().take();
        match flavor {
            // No receiver waits on the rendezvous any more: the nested send finds no taker.
            Some(0) => {
                assert_eq!(in_wake, Some(false), "{flavor:?}");
                assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
            }
            _ => {
                assert_eq!(in_wake, Some(true), "{flavor:?}");
                assert_eq!(rx.try_recv(), Ok(42), "{flavor:?}");
            }
        }
        // The lock is free again.
        assert!(tx.try_send(3).is_ok() || flavor == Some(0));
    }
}

/// The waker drops the woken future on the spot, as an executor that is shutting down does:
/// the completed receive gives its value back to the channel and drops the last receiver,
/// which closes the channel and drops what is buffered. Each value is dropped exactly once.
#[test]
fn waker_drops_the_woken_future() {
    let _w = watchdog("waker_drops_the_woken_future", 20);
    for cap in [0, 1, 3] {
        let drops = Arc::new(AtomicUsize::new(0));
        let (tx, rx) = bounded::<Counted>(cap);
        type Pending = Pin<Box<dyn Future<Output = Option<usize>> + Send>>;
        let slot: Arc<Mutex<Option<Pending>>> = Arc::new(Mutex::new(None));
        let s = slot.clone();
        let w = waker(move || drop(s.lock().unwrap().take()));
        let mut fut: Pending = Box::pin(async move { rx.recv().await.ok().map(|c| c.id) });
        assert!(poll_once(fut.as_mut(), &w).is_pending());
        *slot.lock().unwrap() = Some(fut);
        assert!(matches!(
            poll_noop(tx.send(Counted::new(1, &drops))),
            Poll::Ready(Ok(()))
        ));
        assert!(slot.lock().unwrap().is_none(), "the waker ran");
        assert!(
            tx.is_closed(),
            "dropping the only receiver closed the channel"
        );
        assert_eq!(drops.load(Ordering::SeqCst), 1, "cap {cap}: dropped once");
        assert!(tx.try_send(Counted::new(2, &drops)).is_err());
        assert_eq!(drops.load(Ordering::SeqCst), 2);
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
        let x_rx2 = x_rx.clone();
        let other = std::thread::spawn(move || {
            while !in_wake.load(Ordering::SeqCst) {
                std::thread::yield_now();
            }
            // Takes the lock of the channel whose wake is still running.
            let _ = x_rx2.len();
            y_rx.recv_blocking().unwrap()
        });
        let mut recv = Box::pin(x_rx.recv());
        assert!(poll_once(recv.as_mut(), &w).is_pending());
        assert!(matches!(poll_noop(x_tx.send(round)), Poll::Ready(Ok(()))));
        assert_eq!(other.join().unwrap(), 7);
        assert_eq!(
            poll_once(recv.as_mut(), Waker::noop()),
            Poll::Ready(Ok(round))
        );
    }
}

/// The waker wakes a task waiting on a second channel (a wake under that channel's lock
/// nested inside this one's), and the second task's waker sends back on the first channel.
#[test]
fn nested_wakes_across_two_channels() {
    let _w = watchdog("nested_wakes_across_two_channels", 20);
    let (a_tx, a_rx) = bounded::<u32>(1);
    let (b_tx, b_rx) = bounded::<u32>(1);
    let a_tx2 = a_tx.clone();
    let inner = waker(move || {
        let _ = a_tx2.try_send(99);
    });
    let mut b_recv = Box::pin(b_rx.recv());
    assert!(poll_once(b_recv.as_mut(), &inner).is_pending());
    let b_tx2 = b_tx.clone();
    let outer = waker(move || {
        // Completes the task waiting on `b`, whose waker sends on `a`.
        assert!(matches!(poll_noop(b_tx2.send(5)), Poll::Ready(Ok(()))));
    });
    let mut a_recv = Box::pin(a_rx.recv());
    assert!(poll_once(a_recv.as_mut(), &outer).is_pending());
    assert!(matches!(poll_noop(a_tx.send(1)), Poll::Ready(Ok(()))));
    assert_eq!(
        poll_once(a_recv.as_mut(), Waker::noop()),
        Poll::Ready(Ok(1))
    );
    assert_eq!(
        poll_once(b_recv.as_mut(), Waker::noop()),
        Poll::Ready(Ok(5))
    );
    assert_eq!(a_rx.try_recv(), Ok(99));
    // Both locks are free.
    assert!(a_tx.try_send(2).is_ok() && b_tx.try_send(3).is_ok());
}

/// A waker that panics: the panic reaches the caller of the send, and the lock is released.
#[test]
fn panicking_waker_releases_the_lock() {
    let _w = watchdog("panicking_waker_releases_the_lock", 20);
    let (tx, rx) = bounded::<u32>(1);
    let w = waker(|| panic!("waker panics"));
    let mut recv = Box::pin(rx.recv());
    assert!(poll_once(recv.as_mut(), &w).is_pending());
    let sent = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| poll_noop(tx.send(1))));
    assert!(sent.is_err(), "the waker's panic propagates");
    // The value was delivered before the wake, and the lock is free.
    assert_eq!(poll_once(recv.as_mut(), Waker::noop()), Poll::Ready(Ok(1)));
    assert!(tx.try_send(2).is_ok());
    assert_eq!(rx.try_recv(), Ok(2));
}
