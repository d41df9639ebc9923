//! Go programs on the whole of goro: goroutines on goro's runtime, channels, `select!` with
//! `time::after`, tickers. Each test says which Go behaviour it checks.
use goro::chan::{self, RecvError};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Aborts the process if a test hangs.
fn watchdog(secs: u64) -> chan::Sender<()> {
    let (tx, rx) = chan::bounded::<()>(1);
    std::thread::spawn(move || {
        if let Err(chan::RecvTimeoutError::Timeout) = rx.recv_timeout(Duration::from_secs(secs)) {
            eprintln!("watchdog: a test hung for {secs} s");
            std::process::abort();
        }
    });
    tx
}

/// `select` with `case <-time.After(d)`: the timeout fires when nothing else is ready, and
/// never before `d`.
#[test]
fn select_times_out_with_after() {
    let _w = watchdog(20);
    goro::block_on(async {
        let (_tx, rx) = chan::rendezvous::<u8>();
        let start = Instant::now();
        let r = goro::select! {
            recv(rx) -> v => Some(v),
            recv(goro::time::after(Duration::from_millis(30))) -> _ => None,
        };
        assert_eq!(r, None);
        assert!(start.elapsed() >= Duration::from_millis(30));
    });
}

/// `default(d)` in async code is the same as a `time.After` case.
#[test]
fn async_default_timeout() {
    let _w = watchdog(20);
    goro::block_on(async {
        let (tx, rx) = chan::bounded::<u8>(1);
        let r = goro::select! {
            recv(rx) -> v => v.ok(),
            default(Duration::from_millis(5)) => None,
        };
        assert_eq!(r, None);
        tx.send(3).await.unwrap();
        let r = goro::select! {
            recv(rx) -> v => v.ok(),
            default(Duration::from_secs(5)) => None,
        };
        assert_eq!(r, Some(3));
    });
}

/// A select loop that reuses one `time.After` channel: once fired, it stays open and does
/// not fire again, so the loop waits instead of spinning.
#[test]
fn reused_after_channel_fires_once() {
    let _w = watchdog(20);
    goro::block_on(async {
        let deadline = goro::time::after(Duration::from_millis(10));
        let (tx, rx) = chan::unbounded::<u32>();
        let mut timeouts = 0;
        let mut got = 0;
        let feeder = goro::spawn(async move {
            goro::time::sleep(Duration::from_millis(40)).await;
            for i in 0..3 {
                tx.send(i).await.unwrap();
            }
        });
        while got < 3 {
            goro::select! {
                recv(deadline) -> _ => timeouts += 1,
                recv(rx) -> v => { v.unwrap(); got += 1; }
            }
        }
        feeder.await.unwrap();
        assert_eq!(timeouts, 1);
    });
}

/// The concurrent prime sieve, with goroutines on goro's runtime.
#[test]
fn prime_sieve_on_goro() {
    let _w = watchdog(30);
    let primes = goro::block_on(async {
        let (tx, mut rx) = chan::rendezvous::<u32>();
        goro::spawn(async move {
            let mut i = 2;
            while tx.send(i).await.is_ok() {
                i += 1;
            }
        });
        let mut primes = Vec::new();
        for _ in 0..25 {
            let prime = rx.recv().await.unwrap();
            primes.push(prime);
            let (ftx, frx) = chan::rendezvous();
            let src = rx;
            goro::spawn(async move {
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
    assert_eq!(primes.last(), Some(&97));
    assert_eq!(primes.len(), 25);
}

/// Goroutines and plain threads on the same unbuffered channel, with selects on both sides.
#[test]
fn goroutines_and_threads_share_channels() {
    let _w = watchdog(60);
    const N: usize = 20_000;
    let (tx, rx) = chan::rendezvous::<usize>();
    let (qtx, qrx) = chan::rendezvous::<()>();
    let seen = Arc::new((0..N).map(|_| AtomicUsize::new(0)).collect::<Vec<_>>());
    let thread_rx = {
        let (rx, qrx, seen) = (rx.clone(), qrx.clone(), seen.clone());
        std::thread::spawn(move || loop {
            goro::select_blocking! {
                recv(rx) -> v => match v {
                    Ok(v) => { seen[v].fetch_add(1, Ordering::SeqCst); }
                    Err(RecvError) => return,
                },
                recv(qrx) -> _ => return,
            }
        })
    };
    let task_rx = {
        let seen = seen.clone();
        goro::spawn(async move {
            while let Ok(v) = rx.recv().await {
                seen[v].fetch_add(1, Ordering::SeqCst);
            }
        })
    };
    goro::block_on(async move {
        let half = goro::spawn({
            let tx = tx.clone();
            async move {
                for i in 0..N / 2 {
                    tx.send(i).await.unwrap();
                }
            }
        });
        for i in N / 2..N {
            tx.send(i).await.unwrap();
        }
        half.await.unwrap();
        drop(tx);
        task_rx.await.unwrap();
    });
    drop(qtx);
    thread_rx.join().unwrap();
    assert!(seen.iter().all(|c| c.load(Ordering::SeqCst) == 1));
}

/// `time.Ticker` with a slow receiver drops ticks instead of queueing them.
#[test]
fn slow_ticker_receiver_drops_ticks() {
    let _w = watchdog(20);
    goro::block_on(async {
        let ticker = goro::time::Ticker::new(Duration::from_millis(5));
        ticker.recv().await.unwrap();
        // Miss many ticks.
        goro::time::sleep(Duration::from_millis(60)).await;
        // At most one tick was kept for us.
        assert!(ticker.receiver().len() <= 1);
        ticker.stop();
    });
}

/// A select future dropped by an enclosing timeout loses nothing (on goro's runtime).
#[test]
fn timeout_around_select_loses_nothing() {
    let _w = watchdog(60);
    const N: usize = 5_000;
    let got = goro::block_on(async {
        let (tx, rx) = chan::rendezvous::<usize>();
        let (tx2, rx2) = chan::bounded::<usize>(1);
        goro::spawn(async move {
            for i in 0..N {
                if i % 2 == 0 {
                    tx.send(i).await.unwrap();
                } else {
                    tx2.send(i).await.unwrap();
                }
            }
        });
        let mut got = vec![0u8; N];
        let mut n = 0;
        while n < N {
            let r = goro::time::timeout(Duration::from_micros(50), async {
                goro::select! {
                    recv(rx) -> v => v,
                    recv(rx2) -> v => v,
                }
            })
            .await;
            if let Ok(Ok(v)) = r {
                got[v] += 1;
                n += 1;
            }
        }
        got
    });
    assert!(got.iter().all(|&c| c == 1));
}
