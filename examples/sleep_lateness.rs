//! Lateness of sleeps on an idle runtime: 1,000 sequential sleeps of 5 ms in one task, for goro,
//! tokio (multi-thread, 2 workers) and async-io (on async-executor, 2 threads). Prints p50,
//! p99 and max of (actual wake time - deadline).
//!
//! Run: `cargo run --release --example sleep_lateness`.

use std::{
    future::Future,
    time::{Duration, Instant},
};

const SLEEPS: usize = 1_000;
const PERIOD: Duration = Duration::from_millis(5);

/// Sleeps `SLEEPS` times with `sleep`, returning each sleep's lateness.
async fn measure<S, F>(sleep: S) -> Vec<Duration>
where
    S: Fn(Duration) -> F,
    F: Future,
{
    let mut late = Vec::with_capacity(SLEEPS);
    for _ in 0..SLEEPS {
        let deadline = Instant::now() + PERIOD;
        sleep(PERIOD).await;
        let now = Instant::now();
        assert!(now >= deadline, "woke early");
        late.push(now - deadline);
    }
    late
}

fn report(name: &str, mut late: Vec<Duration>) {
    late.sort_unstable();
    let pct = |p: f64| late[((late.len() as f64 * p) as usize).min(late.len() - 1)];
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    println!(
        "{name:<10} p50 {:>6.3} ms   p99 {:>6.3} ms   max {:>6.3} ms",
        ms(pct(0.50)),
        ms(pct(0.99)),
        ms(*late.last().unwrap())
    );
}

fn main() {
    println!("lateness of {SLEEPS} sequential sleeps of {PERIOD:?} on an idle runtime");

    let goro = goro_executor::runtime::Builder::new()
        .worker_threads(2)
        .build()
        .unwrap();
    let task = goro.spawn(measure(goro_executor::time::sleep));
    report("goro", goro.block_on(task).unwrap());

    let tokio = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let task = tokio.spawn(measure(tokio::time::sleep));
    report("tokio", tokio.block_on(task).unwrap());

    let ex = std::sync::Arc::new(async_executor::Executor::new());
    let (stop, stopped) = async_channel::bounded::<()>(1);
    let threads: Vec<_> = (0..2)
        .map(|_| {
            let (ex, stopped) = (ex.clone(), stopped.clone());
            std::thread::spawn(move || {
                let _ = async_io::block_on(ex.run(stopped.recv()));
            })
        })
        .collect();
    let task = ex.spawn(measure(async_io::Timer::after));
    report("async-io", async_io::block_on(task));
    drop(stop);
    for t in threads {
        t.join().unwrap();
    }
}
