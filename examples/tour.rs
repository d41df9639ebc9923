//! A tour of goro for Go programmers: each section is a Go idiom, written with goro.
//!
//!     cargo run --release --example tour
//!
//! Every section checks its own result, so the tour doubles as a smoke test of the whole.

use goro::chan::{self, Receiver, Sender};
use goro::sync::{ErrGroup, Mutex, WaitGroup};
use goro::time;
use std::sync::Arc;
use std::time::Duration;
use std::time::Instant;

#[goro::main]
async fn main() {
    let started = Instant::now();
    goroutines().await;
    panics_are_caught().await;
    buffered_channels().await;
    unbuffered_channels().await;
    close_and_range().await;
    directions().await;
    select_with_timeout().await;
    non_blocking_select().await;
    tickers().await;
    rate_limiting().await;
    mutexes().await;
    worker_pool().await;
    errgroup().await;
    println!("\ntour finished in {:?}", started.elapsed());
}

fn section(title: &str) {
    println!("\n== {title}");
}

/// `go f()` and a `sync.WaitGroup` to wait for them.
async fn goroutines() {
    section("goroutines and a WaitGroup");
    let wg = WaitGroup::new();
    let results = Arc::new(Mutex::new(Vec::new()));
    for id in 0..5 {
        wg.add(1);
        let (wg, results) = (wg.clone(), results.clone());
        goro::spawn(async move {
            results.lock().await.push(id * id);
            wg.done();
        });
    }
    wg.wait().await;
    let mut squares = results.lock().await.clone();
    squares.sort();
    println!("squares computed by 5 goroutines: {squares:?}");
    assert_eq!(squares, [0, 1, 4, 9, 16]);

    // JoinHandle: a goroutine that returns a value.
    let h = goro::spawn(async { (1..=10).sum::<u32>() });
    let sum = h.await.expect("the goroutine finished");
    println!("goroutine returned {sum}");
    println!(
        "live goroutines right now: {}",
        goro::runtime::num_goroutines()
    );
}

/// A panic in a goroutine does not take the program down: it comes back as an error.
async fn panics_are_caught() {
    section("a panicking goroutine");
    let prev = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {})); // keep the tour's output clean
    let h = goro::spawn(async {
        let v: Vec<u8> = Vec::new();
        v[3] // index out of range
    });
    let err = h.await.expect_err("the goroutine panicked");
    std::panic::set_hook(prev);
    println!("caught: is_panic = {}", err.is_panic());
    assert!(err.is_panic());
}

/// `make(chan string, 2)`: sends don't wait until the buffer is full.
async fn buffered_channels() {
    section("buffered channels");
    let (tx, rx) = chan::bounded::<&str>(2);
    tx.send("buffered").await.unwrap();
    tx.send("channel").await.unwrap();
    println!("len {} cap {:?}", rx.len(), rx.capacity());
    let a = rx.recv().await.unwrap();
    let b = rx.recv().await.unwrap();
    println!("{a} {b}");
    assert_eq!((a, b), ("buffered", "channel"));
}

/// `make(chan string)`: a send waits for a receiver (synchronisation).
async fn unbuffered_channels() {
    section("unbuffered channels and synchronisation");
    let (done_tx, done_rx) = chan::rendezvous::<bool>();
    goro::spawn(async move {
        print!("working...");
        time::sleep(Duration::from_millis(20)).await;
        println!("done");
        done_tx.send(true).await.unwrap();
    });
    assert!(done_rx.recv().await.unwrap());
}

/// `close(jobs)` and `for j := range jobs`.
async fn close_and_range() {
    section("closing channels and range");
    let (jobs_tx, jobs_rx) = chan::bounded::<u32>(5);
    let (done_tx, done_rx) = chan::rendezvous::<u32>();
    goro::spawn(async move {
        let mut handled = 0;
        while let Ok(j) = jobs_rx.recv().await {
            println!("received job {j}");
            handled += 1;
        }
        println!("received all jobs");
        done_tx.send(handled).await.unwrap();
    });
    for j in 1..=3 {
        jobs_tx.send(j).await.unwrap();
        println!("sent job {j}");
    }
    jobs_tx.close();
    println!("sent all jobs");
    assert_eq!(done_rx.recv().await.unwrap(), 3);
    // Receiving from a closed, drained channel: Go's `ok == false`.
    assert!(jobs_tx.send(4).await.is_err());
}

/// Channel directions: `chan<- string` is a `Sender`, `<-chan string` a `Receiver`.
async fn directions() {
    section("channel directions");
    async fn ping(pings: &Sender<String>, msg: &str) {
        pings.send(msg.to_string()).await.unwrap();
    }
    async fn pong(pings: &Receiver<String>, pongs: &Sender<String>) {
        let msg = pings.recv().await.unwrap();
        pongs.send(msg).await.unwrap();
    }
    let (pings_tx, pings_rx) = chan::bounded(1);
    let (pongs_tx, pongs_rx) = chan::bounded(1);
    ping(&pings_tx, "passed message").await;
    pong(&pings_rx, &pongs_tx).await;
    let msg = pongs_rx.recv().await.unwrap();
    println!("{msg}");
    assert_eq!(msg, "passed message");
}

/// `select` with `time.After`.
async fn select_with_timeout() {
    section("select with timeouts");
    let (c1_tx, c1) = chan::bounded::<&str>(1);
    goro::spawn(async move {
        time::sleep(Duration::from_millis(200)).await;
        c1_tx.send("result 1").await.ok();
    });
    let r1 = goro::select! {
        recv(c1) -> res => res.unwrap(),
        recv(time::after(Duration::from_millis(50))) -> _ => "timeout 1",
    };
    println!("{r1}");
    assert_eq!(r1, "timeout 1");

    let (c2_tx, c2) = chan::bounded::<&str>(1);
    goro::spawn(async move {
        time::sleep(Duration::from_millis(20)).await;
        c2_tx.send("result 2").await.ok();
    });
    let r2 = goro::select! {
        recv(c2) -> res => res.unwrap(),
        recv(time::after(Duration::from_secs(3))) -> _ => "timeout 2",
    };
    println!("{r2}");
    assert_eq!(r2, "result 2");
}

/// `select` with `default`: non-blocking sends and receives.
async fn non_blocking_select() {
    section("non-blocking channel operations");
    let (messages_tx, messages) = chan::rendezvous::<&str>();
    let r = goro::select! {
        recv(messages) -> msg => format!("received message {}", msg.unwrap()),
        default => "no message received".to_string(),
    };
    println!("{r}");
    let r = goro::select! {
        send(messages_tx, "hi") -> _ => "sent message",
        default => "no message sent",
    };
    println!("{r}");
    assert_eq!(r, "no message sent");
}

/// `time.NewTicker` and a slow receiver: ticks are dropped, not queued.
async fn tickers() {
    section("tickers");
    let ticker = time::Ticker::new(Duration::from_millis(10));
    let start = Instant::now();
    for _ in 0..3 {
        let t = ticker.recv().await.unwrap();
        println!("tick at {:?}", t.duration_since(start));
    }
    ticker.stop();
    println!("ticker stopped");
}

/// Rate limiting with `time.Tick`: at most one request per 20 ms.
async fn rate_limiting() {
    section("rate limiting");
    let (requests_tx, requests) = chan::bounded::<u32>(5);
    for i in 1..=5 {
        requests_tx.send(i).await.unwrap();
    }
    requests_tx.close();
    let limiter = time::tick(Duration::from_millis(20));
    let start = Instant::now();
    let mut last = Duration::ZERO;
    while let Ok(req) = requests.recv().await {
        limiter.recv().await.unwrap();
        last = start.elapsed();
        println!("request {req} at {last:?}");
    }
    assert!(
        last >= Duration::from_millis(80),
        "5 requests took {last:?}"
    );
}

/// `sync.Mutex` guarding a map updated by many goroutines.
async fn mutexes() {
    section("mutexes");
    let counters = Arc::new(Mutex::new(std::collections::HashMap::<&str, u32>::new()));
    let wg = WaitGroup::new();
    for (name, n) in [("a", 10_000), ("a", 10_000), ("b", 10_000)] {
        wg.add(1);
        let (counters, wg) = (counters.clone(), wg.clone());
        goro::spawn(async move {
            for _ in 0..n {
                *counters.lock().await.entry(name).or_default() += 1;
            }
            wg.done();
        });
    }
    wg.wait().await;
    let c = counters.lock().await;
    println!("a = {}, b = {}", c["a"], c["b"]);
    assert_eq!((c["a"], c["b"]), (20_000, 10_000));
}

/// Worker pools: 3 workers, 9 jobs, results collected from a channel.
async fn worker_pool() {
    section("worker pools");
    let (jobs_tx, jobs) = chan::bounded::<u32>(100);
    let (results_tx, results) = chan::bounded::<u32>(100);
    for w in 1..=3 {
        let (jobs, results_tx) = (jobs.clone(), results_tx.clone());
        goro::spawn(async move {
            while let Ok(j) = jobs.recv().await {
                println!("worker {w} started  job {j}");
                time::sleep(Duration::from_millis(10)).await;
                println!("worker {w} finished job {j}");
                results_tx.send(j * 2).await.unwrap();
            }
        });
    }
    drop(results_tx);
    for j in 1..=9 {
        jobs_tx.send(j).await.unwrap();
    }
    jobs_tx.close();
    let mut total = 0;
    while let Ok(r) = results.recv().await {
        total += r;
    }
    println!("sum of results: {total}");
    assert_eq!(total, 2 * (1..=9).sum::<u32>());
}

/// `errgroup.Group`: run fallible goroutines, at most 2 at a time, and get the first error;
/// after it, work that has not started yet never starts and running work is cancelled.
async fn errgroup() {
    section("errgroup");
    let mut g = ErrGroup::new();
    g.set_limit(2);
    let fetched = Arc::new(Mutex::new(Vec::new()));
    for url in ["bad.example", "a.example", "b.example", "c.example"] {
        let fetched = fetched.clone();
        g.go(async move {
            if url.starts_with("bad") {
                return Err(format!("fetch {url}: connection refused"));
            }
            time::sleep(Duration::from_millis(5)).await;
            fetched.lock().await.push(url);
            Ok(())
        });
    }
    let err = g.wait().await.expect_err("one fetch fails");
    let fetched = fetched.lock().await.clone();
    println!("first error: {err}; fetched before it: {fetched:?}");
    assert_eq!(err, "fetch bad.example: connection refused");
    assert!(
        !fetched.contains(&"b.example") && !fetched.contains(&"c.example"),
        "queued work after the error never ran"
    );

    // WaitGroup::go is `wg.Add(1); go func() { defer wg.Done(); ... }()`.
    let wg = WaitGroup::new();
    let hits = Arc::new(std::sync::atomic::AtomicU32::new(0));
    for _ in 0..4 {
        let hits = hits.clone();
        wg.go(async move {
            hits.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        });
    }
    wg.wait().await;
    println!(
        "wg.go ran {} goroutines",
        hits.load(std::sync::atomic::Ordering::Relaxed)
    );
    assert_eq!(hits.load(std::sync::atomic::Ordering::Relaxed), 4);
}
