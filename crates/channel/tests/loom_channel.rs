//! loom models of the channel protocol: hand-off, close, cancellation and the selection
//! token, with 2–3 participants. Run with
//! `RUSTFLAGS="--cfg loom" cargo test -p goro-channel --release --test loom_channel`.
#![cfg(loom)]

use goro_channel::{bounded, rendezvous, select, select_blocking, unbounded, RecvError};
use loom::thread;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc as StdArc;
use std::task::{Context, Poll};

fn model(f: impl Fn() + Sync + Send + 'static) {
    let mut b = loom::model::Builder::new();
    b.preemption_bound = Some(3);
    b.check(f);
}

/// Rendezvous: a blocking send meets a blocking receive; the value arrives once.
#[test]
fn rendezvous_handoff() {
    model(|| {
        let (tx, rx) = rendezvous::<u32>();
        let t = thread::spawn(move || tx.send_blocking(7).unwrap());
        assert_eq!(rx.recv_blocking(), Ok(7));
        t.join().unwrap();
    });
}

/// Bounded(1): two senders, one receiver, a close racing with them. Every value is either
/// received or given back, never both.
#[test]
fn bounded_send_recv_close() {
    model(|| {
        let (tx, rx) = bounded::<u32>(1);
        let tx2 = tx.clone();
        let a = thread::spawn(move || tx.send_blocking(1).map_err(|e| e.0));
        let b = thread::spawn(move || {
            let r = tx2.send_blocking(2).map_err(|e| e.0);
            tx2.close();
            r
        });
        let mut got = Vec::new();
        while let Ok(v) = rx.recv_blocking() {
            got.push(v);
        }
        let ra = a.join().unwrap();
        let rb = b.join().unwrap();
        for (v, r) in [(1, ra), (2, rb)] {
            let received = got.contains(&v);
            assert_eq!(
                received,
                r.is_ok(),
                "value {v}: received iff the send succeeded"
            );
        }
    });
}

/// A select over two channels with a sender on each: exactly one case takes effect and the
/// other value stays in its channel.
#[test]
fn select_exactly_one_of_two() {
    model(|| {
        let (tx1, rx1) = rendezvous::<u32>();
        let (tx2, rx2) = rendezvous::<u32>();
        let a = thread::spawn(move || tx1.send_blocking(1).is_ok());
        let b = thread::spawn(move || tx2.send_blocking(2).is_ok());
        let v = select_blocking! {
            recv(rx1) -> v => v.unwrap(),
            recv(rx2) -> v => v.unwrap(),
        };
        // Release the other sender by closing its channel.
        let (sent1, sent2) = if v == 1 {
            rx2.close();
            (a.join().unwrap(), b.join().unwrap())
        } else {
            rx1.close();
            (a.join().unwrap(), b.join().unwrap())
        };
        assert!(sent1 ^ sent2, "exactly one send completed");
        assert_eq!(sent1, v == 1);
    });
}

/// A select's send meets another select's receive on a rendezvous channel.
#[test]
fn selects_on_both_sides() {
    model(|| {
        let (tx, rx) = rendezvous::<u32>();
        let (qtx, qrx) = rendezvous::<u32>();
        let s = thread::spawn(move || {
            select_blocking! {
                send(tx, 5) -> r => r.is_ok(),
                recv(qrx) -> _ => false,
            }
        });
        let got = select_blocking! {
            recv(rx) -> v => v.ok(),
        };
        assert_eq!(got, Some(5));
        assert!(s.join().unwrap());
        drop(qtx);
    });
}

fn noop_cx() -> Context<'static> {
    Context::from_waker(futures::task::noop_waker_ref())
}

/// A receive future that was handed a value and is then dropped gives the value back: the
/// next receive gets it, exactly once.
#[test]
fn dropped_recv_future_gives_value_back() {
    model(|| {
        let (tx, rx) = rendezvous::<u32>();
        let rx2 = rx.clone();
        let mut fut = Box::pin(rx.recv());
        assert!(Pin::as_mut(&mut fut).poll(&mut noop_cx()).is_pending());
        let t = thread::spawn(move || tx.send_blocking(9).is_ok());
        // Dropped either before the sender arrives (withdrawn) or after it handed the
        // value over (given back to the channel).
        drop(fut);
        assert_eq!(rx2.recv_blocking(), Ok(9));
        assert!(t.join().unwrap());
        assert!(rx2.try_recv().is_err());
    });
}

/// An async select dropped while a sender completes it: the value is not lost.
#[test]
fn dropped_select_future_loses_nothing() {
    model(|| {
        let (tx, rx) = unbounded::<u32>();
        let (_tx2, rx2) = unbounded::<u32>();
        let got = StdArc::new(AtomicUsize::new(0));
        let g = got.clone();
        let t = thread::spawn(move || {
            tx.send_blocking(3).unwrap();
        });
        {
            let mut fut = Box::pin(async {
                select! {
                    recv(rx) -> v => v.ok(),
                    recv(rx2) -> v => v.ok(),
                }
            });
            if let Poll::Ready(Some(v)) = Pin::as_mut(&mut fut).poll(&mut noop_cx()) {
                g.fetch_add(v as usize, Ordering::SeqCst);
            }
        }
        t.join().unwrap();
        let rest = rx.try_recv().map(|v| v as usize).unwrap_or(0);
        assert_eq!(
            got.load(Ordering::SeqCst) + rest,
            3,
            "the value arrived exactly once"
        );
        let _ = RecvError;
    });
}

/// Unbounded: a sender, a closer and a receiver; what was sent before the close is drained,
/// a send after the close fails with its value.
#[test]
fn unbounded_send_close_recv() {
    model(|| {
        let (tx, rx) = unbounded::<u32>();
        let tx2 = tx.clone();
        let a = thread::spawn(move || tx.send_blocking(1).is_ok());
        let b = thread::spawn(move || {
            tx2.close();
        });
        let mut got = Vec::new();
        while let Ok(v) = rx.recv_blocking() {
            got.push(v);
        }
        let sent = a.join().unwrap();
        b.join().unwrap();
        assert_eq!(got.contains(&1), sent);
        assert_eq!(rx.recv_blocking(), Err(RecvError));
    });
}

/// A blocking receive that times out while a sender arrives: the value is received once,
/// either by that receive or by the next one.
#[test]
fn recv_timeout_races_with_send() {
    model(|| {
        let (tx, rx) = bounded::<u32>(1);
        let t = thread::spawn(move || tx.send_blocking(4).is_ok());
        let first = rx.recv_timeout(std::time::Duration::from_millis(1)).ok();
        assert!(t.join().unwrap());
        let second = rx.try_recv().ok();
        assert_eq!(first.or(second), Some(4));
        assert!(first.is_none() || second.is_none());
    });
}

/// A waker that records whether it was woken.
fn flag_waker() -> (std::task::Waker, StdArc<std::sync::atomic::AtomicBool>) {
    struct Flag(StdArc<std::sync::atomic::AtomicBool>);
    impl std::task::Wake for Flag {
        fn wake(self: StdArc<Self>) {
            self.0.store(true, Ordering::SeqCst);
        }
    }
    let flag = StdArc::new(std::sync::atomic::AtomicBool::new(false));
    (
        std::task::Waker::from(StdArc::new(Flag(flag.clone()))),
        flag,
    )
}

/// A pending receive polled again with a new waker while a sender completes it: the
/// completion is never lost. Either the second poll sees the value, or the sender wakes
/// the new waker (not the old one) and the next poll sees it.
#[test]
fn repoll_with_new_waker_races_with_sender() {
    model(|| {
        let (tx, rx) = bounded::<u32>(1);
        let (w1, _woken1) = flag_waker();
        let (w2, woken2) = flag_waker();
        let mut fut = Box::pin(rx.recv());
        assert!(Pin::as_mut(&mut fut)
            .poll(&mut Context::from_waker(&w1))
            .is_pending());
        let t = thread::spawn(move || tx.send_blocking(8).is_ok());
        match Pin::as_mut(&mut fut).poll(&mut Context::from_waker(&w2)) {
            Poll::Ready(v) => assert_eq!(v, Ok(8)),
            Poll::Pending => {
                assert!(t.join().unwrap());
                assert!(
                    woken2.load(Ordering::SeqCst),
                    "the sender woke the current waker"
                );
                let r = Pin::as_mut(&mut fut).poll(&mut noop_cx());
                assert_eq!(r, Poll::Ready(Ok(8)));
                return;
            }
        }
        assert!(t.join().unwrap());
    });
}

/// A pending send future dropped while a receiver drains the channel: its value is
/// delivered at most once, and dropped if not delivered.
#[test]
fn dropped_send_future_delivers_at_most_once() {
    use std::sync::atomic::AtomicUsize;
    struct Counted(u32, StdArc<AtomicUsize>);
    impl Drop for Counted {
        fn drop(&mut self) {
            self.1.fetch_add(1, Ordering::SeqCst);
        }
    }
    model(|| {
        let drops = StdArc::new(AtomicUsize::new(0));
        let (tx, rx) = bounded::<Counted>(1);
        tx.try_send(Counted(1, drops.clone())).ok().unwrap();
        let t = thread::spawn(move || {
            let mut got = Vec::new();
            while let Ok(v) = rx.recv_blocking() {
                got.push(v.0);
            }
            got
        });
        {
            let mut fut = Box::pin(tx.send(Counted(2, drops.clone())));
            let _ = Pin::as_mut(&mut fut).poll(&mut noop_cx());
            // Dropped pending (withdrawn or already delivered) or completed.
        }
        drop(tx);
        let got = t.join().unwrap();
        assert_eq!(got[0], 1);
        assert!(got.len() <= 2);
        assert_eq!(
            drops.load(Ordering::SeqCst),
            2,
            "both values were dropped exactly once (received ones after the receive)"
        );
    });
}

/// An async receive wakes the sender it completed while the channel lock is still taken,
/// and that sender's waker receives from the same channel (it takes the kept lock over)
/// while a third thread contends for the lock. Nothing deadlocks, and every value is
/// received exactly once.
#[test]
fn waker_reenters_the_channel_it_was_woken_from() {
    struct RecvInWake(goro_channel::Receiver<u32>, StdArc<AtomicUsize>);
    impl std::task::Wake for RecvInWake {
        fn wake(self: StdArc<Self>) {
            if let Ok(v) = self.0.try_recv() {
                self.1.store(v as usize + 1, Ordering::SeqCst);
            }
        }
    }
    model(|| {
        let (tx, rx) = bounded::<u32>(1);
        tx.try_send(0).unwrap();
        let in_wake = StdArc::new(AtomicUsize::new(0));
        let w = std::task::Waker::from(StdArc::new(RecvInWake(rx.clone(), in_wake.clone())));
        let mut send = Box::pin(tx.send(1));
        assert!(Pin::as_mut(&mut send)
            .poll(&mut Context::from_waker(&w))
            .is_pending());
        let rx_t = rx.clone();
        let t = thread::spawn(move || {
            let mut recv = Box::pin(rx_t.recv());
            match Pin::as_mut(&mut recv).poll(&mut noop_cx()) {
                Poll::Ready(Ok(v)) => v,
                other => panic!("the channel was full: {other:?}"),
            }
        });
        let tx_u = tx.clone();
        let u = thread::spawn(move || tx_u.try_send(2).is_ok());
        let first = t.join().unwrap();
        let sent_2 = u.join().unwrap();
        assert_eq!(
            Pin::as_mut(&mut send).poll(&mut noop_cx()),
            Poll::Ready(Ok(()))
        );
        let mut got = vec![first];
        if let Some(v) = in_wake.load(Ordering::SeqCst).checked_sub(1) {
            got.push(v as u32);
        }
        while let Ok(v) = rx.try_recv() {
            got.push(v);
        }
        got.sort_unstable();
        let expected: Vec<u32> = if sent_2 { vec![0, 1, 2] } else { vec![0, 1] };
        assert_eq!(got, expected);
    });
}
