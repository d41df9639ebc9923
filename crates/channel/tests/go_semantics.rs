//! Go's channel and select semantics, re-expressed from the Go spec and Go's classic
//! programs. Each section says what it checks.
mod common;

use goro_channel::{
    bounded, rendezvous, select, select_biased, select_blocking, unbounded, Receiver, RecvError,
    Select, SendError, Sender,
};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::Duration;

// ---- select: random choice among ready cases (spec: "a single one is chosen via a
// uniform pseudo-random selection"). Statistical, with generous bounds.
#[test]
fn select_chooses_uniformly_among_ready_cases() {
    let (tx1, rx1) = unbounded::<u8>();
    let (tx2, rx2) = unbounded::<u8>();
    let (tx3, rx3) = unbounded::<u8>();
    let mut counts = [0usize; 3];
    const N: usize = 6000;
    for _ in 0..N {
        tx1.try_send(1).unwrap();
        tx2.try_send(2).unwrap();
        tx3.try_send(3).unwrap();
        let i = select_blocking! {
            recv(rx1) -> _ => 0,
            recv(rx2) -> _ => 1,
            recv(rx3) -> _ => 2,
        };
        counts[i] += 1;
        // Drain the other two so every round starts with all three ready.
        for rx in [&rx1, &rx2, &rx3] {
            let _ = rx.try_recv();
        }
    }
    for c in counts {
        assert!(c > N / 3 - N / 10 && c < N / 3 + N / 10, "{counts:?}");
    }
}

#[test]
fn select_biased_takes_the_first_ready_case() {
    futures::executor::block_on(async {
        let (tx1, rx1) = unbounded::<u8>();
        let (tx2, rx2) = unbounded::<u8>();
        for _ in 0..100 {
            tx1.try_send(1).unwrap();
            tx2.try_send(2).unwrap();
            let v = select_biased! {
                recv(rx1) -> v => v.unwrap(),
                recv(rx2) -> v => v.unwrap(),
            };
            assert_eq!(v, 1);
            assert_eq!(rx2.try_recv(), Ok(2));
        }
    });
}

// ---- default: taken only when no case is ready.
#[test]
fn default_only_when_nothing_ready() {
    futures::executor::block_on(async {
        let (tx, rx) = bounded::<u8>(1);
        let r = select! { recv(rx) -> _ => "recv", default => "default" };
        assert_eq!(r, "default");
        tx.send(1).await.unwrap();
        let r = select! { recv(rx) -> _ => "recv", default => "default" };
        assert_eq!(r, "recv");
        // A full channel: the send case is not ready.
        tx.send(1).await.unwrap();
        let r = select! { send(tx, 2) -> _ => "send", default => "default" };
        assert_eq!(r, "default");
        assert_eq!(rx.try_recv(), Ok(1));
        assert!(rx.try_recv().is_err());
    });
}

// ---- closed channels are ready: recv gets Err, send gets its value back.
#[test]
fn closed_channel_cases_are_ready() {
    futures::executor::block_on(async {
        let (tx, rx) = rendezvous::<String>();
        let (_keep, never) = unbounded::<u8>();
        tx.close();
        let r = select! {
            recv(never) -> _ => None,
            send(tx, String::from("v")) -> r => Some(r),
        };
        assert_eq!(r, Some(Err(SendError(String::from("v")))));
        let r = select! {
            recv(never) -> _ => None,
            recv(rx) -> v => Some(v),
        };
        assert_eq!(r, Some(Err(RecvError)));
    });
}

// ---- a select waiting on a channel that gets closed wakes with the closed case.
#[test]
fn close_wakes_waiting_select() {
    let _w = common::watchdog("close_wakes_waiting_select", 10);
    let (tx, rx) = rendezvous::<u8>();
    let (_tx2, rx2) = unbounded::<u8>();
    let t = thread::spawn(move || {
        select_blocking! {
            recv(rx) -> v => v,
            recv(rx2) -> _ => Ok(0),
        }
    });
    drop(tx);
    assert_eq!(t.join().unwrap(), Err(RecvError));
}

// ---- expression evaluation: every channel and value expression once, in order.
#[test]
fn case_expressions_evaluated_once_in_order() {
    let order = std::cell::RefCell::new(Vec::new());
    let (tx, rx) = unbounded::<u32>();
    let pick = |name: &'static str| {
        order.borrow_mut().push(name);
    };
    let r = select_blocking! {
        recv({ pick("rx"); &rx }) -> _ => 0,
        send({ pick("tx"); &tx }, { pick("value"); 5 }) -> _ => 1,
    };
    assert_eq!(r, 1);
    assert_eq!(*order.borrow(), ["rx", "tx", "value"]);
    // The losing send value of a select is dropped, not sent.
    let drops = Arc::new(AtomicUsize::new(0));
    let (ctx, crx) = bounded::<common::Counted>(1);
    ctx.try_send(common::Counted::new(0, &drops)).unwrap();
    let r = select_blocking! {
        send(ctx, common::Counted::new(1, &drops)) -> _ => "send",
        recv(rx) -> _ => "recv",
    };
    assert_eq!(r, "recv");
    assert_eq!(drops.load(Ordering::SeqCst), 1);
    assert_eq!(crx.try_recv().unwrap().id, 0);
    assert!(crx.try_recv().is_err());
}

// ---- arm bodies are code of the enclosing function: `?`, `break`, `continue`, `return`.
#[test]
fn arm_bodies_control_flow() {
    fn first_err(rx: &Receiver<u8>) -> Result<u8, RecvError> {
        let v = select_blocking! { recv(rx) -> v => v? };
        Ok(v)
    }
    let (tx, rx) = bounded(4);
    tx.try_send(3).unwrap();
    assert_eq!(first_err(&rx), Ok(3));
    let mut n = 0;
    loop {
        select_blocking! {
            recv(rx) -> v => {
                if v.is_err() {
                    break;
                }
                continue;
            }
            default => {
                n += 1;
                if n == 3 {
                    drop(tx.clone());
                    tx.close();
                }
            }
        }
    }
    assert_eq!(n, 3);
}

// ---- exactly once: many selectors against many senders and receivers on rendezvous and
// bounded channels, send cases included; every value accounted for.
fn exactly_once(cap: usize, async_selectors: bool) {
    const PER: usize = if cfg!(debug_assertions) {
        2_000
    } else {
        20_000
    };
    let (atx, arx) = bounded::<usize>(cap);
    let (btx, brx) = bounded::<usize>(cap);
    let seen = Arc::new(
        (0..4 * PER)
            .map(|_| AtomicUsize::new(0))
            .collect::<Vec<_>>(),
    );
    let rt = common::tokio_rt();
    let mut hs = Vec::new();
    // Two selecting producers: each value goes to A or B, whichever is ready.
    for p in 0..2 {
        let (atx, btx) = (atx.clone(), btx.clone());
        if async_selectors {
            let h = rt.spawn(async move {
                for i in 0..PER {
                    let v = p * PER + i;
                    select! {
                        send(atx, v) -> r => r.unwrap(),
                        send(btx, v) -> r => r.unwrap(),
                    }
                }
            });
            hs.push(thread::spawn(move || {
                futures::executor::block_on(h).unwrap()
            }));
        } else {
            hs.push(thread::spawn(move || {
                for i in 0..PER {
                    let v = p * PER + i;
                    select_blocking! {
                        send(atx, v) -> r => r.unwrap(),
                        send(btx, v) -> r => r.unwrap(),
                    }
                }
            }));
        }
    }
    // Two plain producers, one per channel.
    for (p, tx) in [(2, atx.clone()), (3, btx.clone())] {
        hs.push(thread::spawn(move || {
            for i in 0..PER {
                tx.send_blocking(p * PER + i).unwrap();
            }
        }));
    }
    drop((atx, btx));
    // Selecting consumers (async and blocking) and one plain consumer.
    let done = Arc::new(AtomicUsize::new(0));
    for c in 0..3 {
        let (arx, brx, seen, done) = (arx.clone(), brx.clone(), seen.clone(), done.clone());
        let body = move |v: Result<usize, RecvError>, open: &mut u8| match v {
            Ok(v) => {
                seen[v].fetch_add(1, Ordering::SeqCst);
            }
            Err(_) => *open -= 1,
        };
        if c == 0 {
            let h = rt.spawn(async move {
                let mut open = 2u8;
                let (mut a_open, mut b_open) = (true, true);
                while open > 0 {
                    // Once a channel is closed, stop selecting on it.
                    if a_open && b_open {
                        select! {
                            recv(arx) -> v => { a_open = v.is_ok(); body(v, &mut open) }
                            recv(brx) -> v => { b_open = v.is_ok(); body(v, &mut open) }
                        }
                    } else if a_open {
                        let v = arx.recv().await;
                        a_open = v.is_ok();
                        body(v, &mut open)
                    } else {
                        let v = brx.recv().await;
                        b_open = v.is_ok();
                        body(v, &mut open)
                    }
                }
                done.fetch_add(1, Ordering::SeqCst);
            });
            hs.push(thread::spawn(move || {
                futures::executor::block_on(h).unwrap()
            }));
        } else if c == 1 {
            hs.push(thread::spawn(move || {
                let mut open = 2u8;
                let (mut a_open, mut b_open) = (true, true);
                while open > 0 {
                    if a_open && b_open {
                        select_blocking! {
                            recv(arx) -> v => { a_open = v.is_ok(); body(v, &mut open) }
                            recv(brx) -> v => { b_open = v.is_ok(); body(v, &mut open) }
                        }
                    } else if a_open {
                        let v = arx.recv_blocking();
                        a_open = v.is_ok();
                        body(v, &mut open)
                    } else {
                        let v = brx.recv_blocking();
                        b_open = v.is_ok();
                        body(v, &mut open)
                    }
                }
                done.fetch_add(1, Ordering::SeqCst);
            }));
        } else {
            hs.push(thread::spawn(move || {
                let mut open = 1u8;
                for v in arx.iter() {
                    body(Ok(v), &mut open);
                }
                done.fetch_add(1, Ordering::SeqCst);
            }));
        }
    }
    drop((arx, brx));
    for h in hs {
        h.join().unwrap();
    }
    assert_eq!(done.load(Ordering::SeqCst), 3);
    for (v, c) in seen.iter().enumerate() {
        assert_eq!(
            c.load(Ordering::SeqCst),
            1,
            "value {v} received exactly once"
        );
    }
}

#[test]
fn exactly_once_rendezvous_blocking_selects() {
    let _w = common::watchdog("exactly_once_rendezvous_blocking_selects", 60);
    exactly_once(0, false);
}

#[test]
fn exactly_once_rendezvous_async_selects() {
    let _w = common::watchdog("exactly_once_rendezvous_async_selects", 60);
    exactly_once(0, true);
}

#[test]
fn exactly_once_bounded_async_selects() {
    let _w = common::watchdog("exactly_once_bounded_async_selects", 60);
    exactly_once(3, true);
}

// ---- selects on both sides of a rendezvous: a select's send meets another select's
// receive; each side sees exactly one case take effect.
#[test]
fn selects_on_both_sides_of_rendezvous() {
    let _w = common::watchdog("selects_on_both_sides_of_rendezvous", 60);
    const N: usize = if cfg!(debug_assertions) {
        5_000
    } else {
        50_000
    };
    let (tx1, rx1) = rendezvous::<usize>();
    let (tx2, rx2) = rendezvous::<usize>();
    let sender = thread::spawn(move || {
        for i in 0..N {
            select_blocking! {
                send(tx1, i) -> r => r.unwrap(),
                send(tx2, i) -> r => r.unwrap(),
            }
        }
    });
    let mut got = Vec::with_capacity(N);
    for _ in 0..N {
        let v = select_blocking! {
            recv(rx1) -> v => v.unwrap(),
            recv(rx2) -> v => v.unwrap(),
        };
        got.push(v);
    }
    sender.join().unwrap();
    assert_eq!(got, (0..N).collect::<Vec<_>>());
    assert!(rx1.try_recv().is_err() && rx2.try_recv().is_err());
}

// ---- select futures dropped at random points lose nothing.
#[test]
fn dropped_select_futures_lose_nothing() {
    let _w = common::watchdog("dropped_select_futures_lose_nothing", 60);
    const N: usize = if cfg!(debug_assertions) {
        3_000
    } else {
        30_000
    };
    let (tx, rx) = rendezvous::<usize>();
    let (tx2, rx2) = bounded::<usize>(2);
    let rt = common::tokio_rt();
    let producer = {
        let (tx, tx2) = (tx.clone(), tx2.clone());
        thread::spawn(move || {
            for i in 0..N {
                if i % 2 == 0 {
                    tx.send_blocking(i).unwrap();
                } else {
                    tx2.send_blocking(i).unwrap();
                }
            }
        })
    };
    drop((tx, tx2));
    let seen = rt.block_on(async move {
        let mut seen = vec![0u8; N];
        let mut received = 0;
        while received < N {
            // Race each select against an immediately-ready timeout sometimes.
            let fut = async {
                select! {
                    recv(rx) -> v => v,
                    recv(rx2) -> v => v,
                }
            };
            let r = if fastrand_bool() {
                tokio::time::timeout(Duration::from_micros(1), fut)
                    .await
                    .ok()
            } else {
                Some(fut.await)
            };
            if let Some(Ok(v)) = r {
                seen[v] += 1;
                received += 1;
            }
        }
        seen
    });
    producer.join().unwrap();
    assert!(seen.iter().all(|&c| c == 1), "every value exactly once");
}

fn fastrand_bool() -> bool {
    use std::cell::Cell;
    thread_local!(static S: Cell<u64> = const { Cell::new(0x9E37_79B9_7F4A_7C15) });
    S.with(|s| {
        let mut x = s.get();
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        s.set(x);
        x & 1 == 0
    })
}

// ---- dynamic Select (Go's reflect.Select).
#[test]
fn dynamic_select_over_many_channels() {
    let _w = common::watchdog("dynamic_select_over_many_channels", 20);
    let chans: Vec<(Sender<usize>, Receiver<usize>)> = (0..40).map(|_| bounded(1)).collect();
    let senders: Vec<Sender<usize>> = chans.iter().map(|(t, _)| t.clone()).collect();
    // Keep the original senders, so that no channel closes (a closed channel is ready).
    let (_keep, rxs): (Vec<Sender<usize>>, Vec<Receiver<usize>>) = chans.into_iter().unzip();
    let t = thread::spawn(move || {
        for (i, tx) in senders.iter().enumerate().rev() {
            tx.send_blocking(i).unwrap();
        }
    });
    let mut got = Vec::new();
    for _ in 0..40 {
        let mut sel = Select::new();
        for rx in &rxs {
            sel.recv(rx);
        }
        let op = sel.select_blocking();
        let i = op.index();
        assert_eq!(op.recv(&rxs[i]), Ok(i));
        got.push(i);
    }
    got.sort();
    assert_eq!(got, (0..40).collect::<Vec<_>>());
    t.join().unwrap();
}

#[test]
#[should_panic(expected = "pass the receiver of the selected case")]
fn dynamic_select_rejects_wrong_receiver() {
    let (tx, rx) = bounded::<u8>(1);
    let (_tx2, rx2) = bounded::<u8>(1);
    tx.try_send(1).unwrap();
    let mut sel = Select::new();
    sel.recv(&rx);
    let op = sel.try_select().unwrap();
    let _ = op.recv(&rx2);
}

// ---- classic programs.

/// Go's concurrent prime sieve: a daisy chain of filters over rendezvous channels.
#[test]
fn prime_sieve() {
    let _w = common::watchdog("prime_sieve", 30);
    let rt = common::tokio_rt();
    let primes = rt.block_on(async {
        let (tx, mut rx) = rendezvous::<u32>();
        tokio::spawn(async move {
            let mut i = 2;
            while tx.send(i).await.is_ok() {
                i += 1;
            }
        });
        let mut primes = Vec::new();
        for _ in 0..30 {
            let prime = rx.recv().await.unwrap();
            primes.push(prime);
            let (ftx, frx) = rendezvous();
            let src = rx;
            tokio::spawn(async move {
                while let Ok(v) = src.recv().await {
                    if v % prime != 0 && ftx.send(v).await.is_err() {
                        return;
                    }
                }
            });
            rx = frx;
        }
        primes
    });
    assert_eq!(
        primes,
        [
            2, 3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37, 41, 43, 47, 53, 59, 61, 67, 71, 73, 79, 83,
            89, 97, 101, 103, 107, 109, 113
        ]
    );
}

/// Go's daisy chain ("Go Concurrency Patterns"): 10,000 goroutines passing a value along.
#[test]
fn daisy_chain() {
    let _w = common::watchdog("daisy_chain", 30);
    let rt = common::tokio_rt();
    let n = 10_000;
    let v = rt.block_on(async {
        let (leftmost_tx, leftmost_rx) = rendezvous::<u32>();
        let mut right_rx = leftmost_rx;
        let mut first_tx = Some(leftmost_tx);
        for _ in 0..n {
            let (tx, rx) = rendezvous::<u32>();
            let from = right_rx;
            tokio::spawn(async move {
                let v = from.recv().await.unwrap();
                tx.send(v + 1).await.unwrap();
            });
            right_rx = rx;
        }
        let tx = first_tx.take().unwrap();
        tokio::spawn(async move { tx.send(1).await.unwrap() });
        right_rx.recv().await.unwrap()
    });
    assert_eq!(v, n + 1);
}

/// Pipeline with a quit channel: the consumer stops early, closing `quit`; the producer's
/// select sees it and returns.
#[test]
fn pipeline_with_quit() {
    let _w = common::watchdog("pipeline_with_quit", 20);
    let rt = common::tokio_rt();
    rt.block_on(async {
        let (out_tx, out_rx) = rendezvous::<u64>();
        let (quit_tx, quit_rx) = rendezvous::<()>();
        let producer = tokio::spawn(async move {
            let (mut x, mut y) = (0u64, 1u64);
            loop {
                select! {
                    send(out_tx, x) -> r => { r.unwrap(); (x, y) = (y, x + y); }
                    recv(quit_rx) -> _ => return "quit",
                }
            }
        });
        let mut fib = Vec::new();
        for _ in 0..10 {
            fib.push(out_rx.recv().await.unwrap());
        }
        drop(quit_tx);
        assert_eq!(producer.await.unwrap(), "quit");
        assert_eq!(fib, [0, 1, 1, 2, 3, 5, 8, 13, 21, 34]);
    });
}

/// Fan-in with select from several producers until all are closed.
#[test]
fn fan_in_with_select() {
    let _w = common::watchdog("fan_in_with_select", 20);
    let rt = common::tokio_rt();
    rt.block_on(async {
        let (atx, arx) = unbounded::<u32>();
        let (btx, brx) = bounded::<u32>(1);
        tokio::spawn(async move {
            for i in 0..500 {
                atx.send(i).await.unwrap();
            }
        });
        tokio::spawn(async move {
            for i in 500..1000 {
                btx.send(i).await.unwrap();
            }
        });
        let (mut sum, mut open) = (0u32, 2);
        let (mut a_done, mut b_done) = (false, false);
        while open > 0 {
            select! {
                recv(arx) -> v => match v {
                    Ok(v) => sum += v,
                    Err(_) if !a_done => { a_done = true; open -= 1; }
                    Err(_) => tokio::task::yield_now().await,
                },
                recv(brx) -> v => match v {
                    Ok(v) => sum += v,
                    Err(_) if !b_done => { b_done = true; open -= 1; }
                    Err(_) => tokio::task::yield_now().await,
                },
            }
        }
        assert_eq!(sum, (0..1000).sum::<u32>());
    });
}

/// Timeouts the Go way: a select on a channel that something closes later (a thread stands
/// in for `time.After`).
#[test]
fn timeout_with_select() {
    let _w = common::watchdog("timeout_with_select", 20);
    let (_work_tx, work_rx) = rendezvous::<u32>();
    let (timer_tx, timer_rx) = rendezvous::<()>();
    let timer = thread::spawn(move || {
        thread::sleep(Duration::from_millis(10));
        drop(timer_tx);
    });
    let r = futures::executor::block_on(async {
        select! {
            recv(work_rx) -> v => Some(v),
            recv(timer_rx) -> _ => None,
        }
    });
    assert_eq!(r, None);
    timer.join().unwrap();
    // And the blocking form with default(timeout).
    let r = select_blocking! {
        recv(work_rx) -> _ => "work",
        default(Duration::from_millis(5)) => "timeout",
    };
    assert_eq!(r, "timeout");
}

/// Blocking selects from threads mixed with async selects on the same channels.
#[test]
fn blocking_and_async_selects_share_channels() {
    let _w = common::watchdog("blocking_and_async_selects_share_channels", 60);
    const N: usize = if cfg!(debug_assertions) {
        2_000
    } else {
        20_000
    };
    let (tx, rx) = rendezvous::<usize>();
    let (ack_tx, ack_rx) = unbounded::<usize>();
    let rt = common::tokio_rt();
    let t = {
        let rx = rx.clone();
        let ack_tx = ack_tx.clone();
        thread::spawn(move || loop {
            let v = select_blocking! { recv(rx) -> v => v };
            match v {
                Ok(v) => ack_tx.send_blocking(v).unwrap(),
                Err(_) => return,
            }
        })
    };
    let a = {
        let ack_tx = ack_tx.clone();
        rt.spawn(async move {
            loop {
                let v = select! { recv(rx) -> v => v };
                match v {
                    Ok(v) => ack_tx.send(v).await.unwrap(),
                    Err(_) => return,
                }
            }
        })
    };
    drop(ack_tx);
    for i in 0..N {
        select_blocking! { send(tx, i) -> r => r.unwrap() }
    }
    drop(tx);
    t.join().unwrap();
    rt.block_on(a).unwrap();
    let mut got: Vec<usize> = ack_rx.iter().collect();
    got.sort();
    assert_eq!(got, (0..N).collect::<Vec<_>>());
}
