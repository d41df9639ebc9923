#![allow(missing_docs)] // criterion_group! generates undocumented functions
//! Timer benchmarks: goro beside tokio's time (multi-thread runtime) and async-io's `Timer` on
//! async-executor, all with 2 worker threads, in the same run.
//!
//! * `timer_churn`: 100,000 tasks each wrap a ready future in a 1 s timeout (created and
//!   cancelled without firing). Every runtime registers a timer lazily on first poll, so this
//!   measures the timeout's fast path plus the spawn.
//! * `timer_churn_registered`: the same, but the wrapped future yields once, so each timer is
//!   really inserted into the driver and then cancelled (removed) when the task finishes.
//! * `sleep_many`: 100,000 tasks each sleep 10 ms concurrently.
//!
//! Run: `cargo bench --bench time`.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use std::{future::Future, sync::Arc, time::Duration};

const TASKS: usize = 100_000;
const WORKERS: usize = 2;

/// One runtime under test: spawns `TASKS` copies of a task and waits for all of them.
trait Bench {
    fn run_all<F, Fut>(&self, make: F)
    where
        F: Fn() -> Fut,
        Fut: Future<Output = ()> + Send + 'static;
}

struct Goro(goro_executor::runtime::Runtime);

impl Bench for Goro {
    fn run_all<F, Fut>(&self, make: F)
    where
        F: Fn() -> Fut,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let rt = &self.0;
        rt.block_on(async {
            let handles: Vec<_> = (0..TASKS).map(|_| rt.spawn(make())).collect();
            for h in handles {
                h.await.unwrap();
            }
        });
    }
}

struct Tokio(tokio::runtime::Runtime);

impl Bench for Tokio {
    fn run_all<F, Fut>(&self, make: F)
    where
        F: Fn() -> Fut,
        Fut: Future<Output = ()> + Send + 'static,
    {
        self.0.block_on(async {
            let handles: Vec<_> = (0..TASKS).map(|_| tokio::spawn(make())).collect();
            for h in handles {
                h.await.unwrap();
            }
        });
    }
}

/// async-executor driven by `WORKERS` threads; timers from async-io.
struct Smol {
    ex: Arc<async_executor::Executor<'static>>,
    stop: Option<async_channel::Sender<()>>,
    threads: Vec<std::thread::JoinHandle<()>>,
}

impl Smol {
    fn new() -> Smol {
        let ex = Arc::new(async_executor::Executor::new());
        let (stop, stopped) = async_channel::bounded::<()>(1);
        let threads = (0..WORKERS)
            .map(|_| {
                let ex = ex.clone();
                let stopped = stopped.clone();
                std::thread::spawn(move || {
                    let _ = async_io::block_on(ex.run(stopped.recv()));
                })
            })
            .collect();
        Smol {
            ex,
            stop: Some(stop),
            threads,
        }
    }
}

impl Drop for Smol {
    fn drop(&mut self) {
        drop(self.stop.take());
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}

impl Bench for Smol {
    fn run_all<F, Fut>(&self, make: F)
    where
        F: Fn() -> Fut,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let handles: Vec<_> = (0..TASKS).map(|_| self.ex.spawn(make())).collect();
        async_io::block_on(async {
            for h in handles {
                h.await;
            }
        });
    }
}

fn runtimes() -> (Goro, Tokio, Smol) {
    let goro = Goro(
        goro_executor::runtime::Builder::new()
            .worker_threads(WORKERS)
            .build()
            .unwrap(),
    );
    let tokio = Tokio(
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(WORKERS)
            .enable_all()
            .build()
            .unwrap(),
    );
    (goro, tokio, Smol::new())
}

/// async-io has no `timeout`: race the future against a `Timer`, as `futures-lite::or` would.
async fn smol_timeout<F: Future + Unpin>(d: Duration, fut: F) -> Option<F::Output> {
    let timer = async_io::Timer::after(d);
    match futures::future::select(fut, timer).await {
        futures::future::Either::Left((v, _)) => Some(v),
        futures::future::Either::Right(_) => None,
    }
}

/// A future that is pending once (and wakes itself), then ready: forces timer registration.
fn yield_once() -> impl Future<Output = ()> + Unpin + Send {
    let mut yielded = false;
    std::future::poll_fn(move |cx| {
        if yielded {
            std::task::Poll::Ready(())
        } else {
            yielded = true;
            cx.waker().wake_by_ref();
            std::task::Poll::Pending
        }
    })
}

fn timer_churn(c: &mut Criterion) {
    let (goro, tokio, smol) = runtimes();
    let second = Duration::from_secs(1);
    let mut g = c.benchmark_group("timer_churn");
    g.sample_size(20);
    g.bench_function(BenchmarkId::new("goro", TASKS), |b| {
        b.iter(|| {
            goro.run_all(|| async move {
                let r = goro_executor::time::timeout(second, std::future::ready(1)).await;
                assert!(r.is_ok());
            })
        })
    });
    g.bench_function(BenchmarkId::new("tokio", TASKS), |b| {
        b.iter(|| {
            tokio.run_all(|| async move {
                let r = tokio::time::timeout(second, std::future::ready(1)).await;
                assert!(r.is_ok());
            })
        })
    });
    g.bench_function(BenchmarkId::new("async-io", TASKS), |b| {
        b.iter(|| {
            smol.run_all(|| async move {
                let r = smol_timeout(second, std::future::ready(1)).await;
                assert!(r.is_some());
            })
        })
    });
    g.finish();

    let mut g = c.benchmark_group("timer_churn_registered");
    g.sample_size(20);
    g.bench_function(BenchmarkId::new("goro", TASKS), |b| {
        b.iter(|| {
            goro.run_all(|| async move {
                let r = goro_executor::time::timeout(second, yield_once()).await;
                assert!(r.is_ok());
            })
        })
    });
    g.bench_function(BenchmarkId::new("tokio", TASKS), |b| {
        b.iter(|| {
            tokio.run_all(|| async move {
                let r = tokio::time::timeout(second, yield_once()).await;
                assert!(r.is_ok());
            })
        })
    });
    g.bench_function(BenchmarkId::new("async-io", TASKS), |b| {
        b.iter(|| {
            smol.run_all(|| async move {
                let r = smol_timeout(second, yield_once()).await;
                assert!(r.is_some());
            })
        })
    });
    g.finish();
}

fn sleep_many(c: &mut Criterion) {
    let (goro, tokio, smol) = runtimes();
    let d = Duration::from_millis(10);
    let mut g = c.benchmark_group("sleep_many");
    g.sample_size(20);
    g.bench_function(BenchmarkId::new("goro", TASKS), |b| {
        b.iter(|| goro.run_all(|| goro_executor::time::sleep(d)))
    });
    g.bench_function(BenchmarkId::new("tokio", TASKS), |b| {
        b.iter(|| tokio.run_all(|| tokio::time::sleep(d)))
    });
    g.bench_function(BenchmarkId::new("async-io", TASKS), |b| {
        b.iter(|| {
            smol.run_all(|| async move {
                async_io::Timer::after(d).await;
            })
        })
    });
    g.finish();
}

criterion_group!(benches, timer_churn, sleep_many);
criterion_main!(benches);
