//! Go by Example's timeouts, timers, tickers and rate limiting, in goro.
//!
//! Run: `cargo run --release --example timeouts_tickers`.

use goro::time::{self, Ticker, Timer};
use std::{
    sync::Arc,
    time::{Duration, Instant},
};

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// Timeouts: `select` on a result channel and `time.After`.
async fn timeouts() {
    let (tx, rx) = goro::chan::bounded::<&str>(1);
    goro::spawn(async move {
        time::sleep(ms(40)).await;
        let _ = tx.send("result 1").await;
    });
    goro::select! {
        recv(rx) -> res => println!("{}", res.unwrap()),
        recv(time::after(ms(10))) -> _ => println!("timeout 1"),
    }

    let (tx, rx) = goro::chan::bounded::<&str>(1);
    goro::spawn(async move {
        time::sleep(ms(10)).await;
        let _ = tx.send("result 2").await;
    });
    goro::select! {
        recv(rx) -> res => println!("{}", res.unwrap()),
        recv(time::after(ms(100))) -> _ => println!("timeout 2"),
    }

    // The same with `timeout` around a future.
    match time::timeout(ms(10), time::sleep(ms(100))).await {
        Ok(()) => println!("slept"),
        Err(e) => println!("timeout 3: {e}"),
    }
}

/// Timers: fire once; can be stopped before they fire.
async fn timers() {
    let timer1 = Timer::new(ms(20));
    timer1.recv().await.unwrap();
    println!("Timer 1 fired");

    // Shared with a waiting task (Go's goroutine reading `timer2.C`), stopped before it fires.
    let timer2 = Arc::new(Timer::new(ms(20)));
    let t2 = timer2.clone();
    let waiter = goro::spawn(async move {
        let _ = t2.recv().await;
        println!("Timer 2 fired");
    });
    if timer2.stop() {
        println!("Timer 2 stopped");
    }
    time::sleep(ms(40)).await; // it would have fired by now
    waiter.abort(); // the waiter blocks forever otherwise, as in Go

    let timer3 = Timer::new(Duration::from_secs(1));
    println!("Timer 3 stopped: {}", timer3.stop());
}

/// Tickers: fire every period until stopped.
async fn tickers() {
    let ticker = Ticker::new(ms(10));
    let (done_tx, done_rx) = goro::chan::bounded::<()>(1);
    goro::spawn(async move {
        time::sleep(ms(35)).await;
        let _ = done_tx.send(()).await;
    });
    let start = Instant::now();
    loop {
        goro::select! {
            recv(done_rx) -> _ => break,
            recv(ticker.receiver()) -> t => {
                println!("Tick at {:?}", t.unwrap() - start);
            }
        }
    }
    ticker.stop();
    println!("Ticker stopped");
}

/// Rate limiting: serve one request per tick; then allow bursts of 3.
async fn rate_limiting() {
    let (req_tx, req_rx) = goro::chan::bounded::<u32>(5);
    for i in 1..=5 {
        req_tx.send(i).await.unwrap();
    }
    req_tx.close();
    let limiter = time::tick(ms(20));
    let start = Instant::now();
    while let Ok(req) = req_rx.recv().await {
        limiter.recv().await.unwrap();
        println!("request {req} at {:?}", start.elapsed());
    }

    // A bursty limiter: a buffered channel of tokens, refilled by a ticker.
    let (burst_tx, burst_rx) = goro::chan::bounded::<Instant>(3);
    for _ in 0..3 {
        burst_tx.send(Instant::now()).await.unwrap();
    }
    goro::spawn(async move {
        let refill = time::tick(ms(20));
        while let Ok(t) = refill.recv().await {
            if burst_tx.send(t).await.is_err() {
                break;
            }
        }
    });
    let (req_tx, req_rx) = goro::chan::bounded::<u32>(5);
    for i in 1..=5 {
        req_tx.send(i).await.unwrap();
    }
    req_tx.close();
    let start = Instant::now();
    while let Ok(req) = req_rx.recv().await {
        burst_rx.recv().await.unwrap();
        println!("bursty request {req} at {:?}", start.elapsed());
    }
}

#[goro::main]
async fn main() {
    timeouts().await;
    timers().await;
    tickers().await;
    rate_limiting().await;
}
