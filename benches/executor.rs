//! Executor benchmarks: goro beside tokio (multi-thread) and async-executor, all with two
//! worker threads, one criterion group per workload (issue 2):
//!
//! * `spawn_many_local`: one task spawns 10,000 tasks and waits for all;
//! * `spawn_many_remote`: the bench thread spawns 10,000 tasks and waits;
//! * `yield_many`: 200 tasks each `yield_now` 1,000 times;
//! * `ping_pong`: 1,000 task pairs exchanging one message there and back;
//! * `chained_spawn`: a task spawns a child that spawns a child ... depth 1,000.
//!
//! Run: `cargo bench --bench executor -- --warm-up-time 1 --measurement-time 3`.
//!
//! Memory per parked task (100,000 tasks parked on one `event_listener::Event`, resident
//! memory growth from `/proc/self/statm`), each runtime in a fresh child process:
//! `cargo bench --bench executor -- --parked-memory`.

// `criterion_group!` generates an undocumented `pub fn`.
#![allow(missing_docs)]

use criterion::{criterion_group, Criterion};
use event_listener::{Event, Listener};
use std::{
    future::Future,
    pin::Pin,
    sync::{
        atomic::{AtomicUsize, Ordering::SeqCst},
        Arc,
    },
    task::{Context, Poll},
};

const WORKERS: usize = 2;
const NUM_SPAWN: usize = 10_000;
const NUM_YIELD_TASKS: usize = 200;
const NUM_YIELDS: usize = 1_000;
const NUM_PINGS: usize = 1_000;
const CHAIN_DEPTH: usize = 1_000;
const NUM_PARKED: usize = 100_000;

/// A countdown latch the same for every runtime: the last `done()` wakes the waiter.
struct Latch {
    remaining: AtomicUsize,
    event: Event,
}

impl Latch {
    fn new(n: usize) -> Arc<Latch> {
        Arc::new(Latch {
            remaining: AtomicUsize::new(n),
            event: Event::new(),
        })
    }

    fn done(&self) {
        if self.remaining.fetch_sub(1, SeqCst) == 1 {
            self.event.notify(usize::MAX);
        }
    }

    async fn wait(&self) {
        loop {
            if self.remaining.load(SeqCst) == 0 {
                return;
            }
            let l = self.event.listen();
            if self.remaining.load(SeqCst) == 0 {
                return;
            }
            l.await;
        }
    }

    fn wait_blocking(&self) {
        loop {
            if self.remaining.load(SeqCst) == 0 {
                return;
            }
            let l = self.event.listen();
            if self.remaining.load(SeqCst) == 0 {
                return;
            }
            l.wait();
        }
    }
}

/// The three runtimes behind one interface.
trait Rt: Sync {
    fn spawn<F: Future<Output = ()> + Send + 'static>(&self, f: F);
    /// Spawn from inside a task of this runtime (the runtime's own free function).
    fn spawn_inner<F: Future<Output = ()> + Send + 'static>(f: F);
    fn yield_now() -> impl Future<Output = ()> + Send;
}

struct Goro(goro_executor::runtime::Runtime);

impl Rt for Goro {
    fn spawn<F: Future<Output = ()> + Send + 'static>(&self, f: F) {
        drop(self.0.spawn(f));
    }
    fn spawn_inner<F: Future<Output = ()> + Send + 'static>(f: F) {
        drop(goro_executor::spawn(f));
    }
    fn yield_now() -> impl Future<Output = ()> + Send {
        goro_executor::yield_now()
    }
}

struct Tokio(tokio::runtime::Runtime);

impl Rt for Tokio {
    fn spawn<F: Future<Output = ()> + Send + 'static>(&self, f: F) {
        drop(self.0.spawn(f));
    }
    fn spawn_inner<F: Future<Output = ()> + Send + 'static>(f: F) {
        drop(tokio::spawn(f));
    }
    fn yield_now() -> impl Future<Output = ()> + Send {
        tokio::task::yield_now()
    }
}

/// async-executor's `Executor`, run by `WORKERS` threads (as smol's multi-threaded setup).
struct Smol;

static SMOL: std::sync::OnceLock<Arc<async_executor::Executor<'static>>> =
    std::sync::OnceLock::new();

fn smol_ex() -> &'static Arc<async_executor::Executor<'static>> {
    SMOL.get_or_init(|| {
        let ex = Arc::new(async_executor::Executor::new());
        for i in 0..WORKERS {
            let ex = ex.clone();
            std::thread::Builder::new()
                .name(format!("smol-{i}"))
                .spawn(move || futures::executor::block_on(ex.run(std::future::pending::<()>())))
                .unwrap();
        }
        ex
    })
}

impl Rt for Smol {
    fn spawn<F: Future<Output = ()> + Send + 'static>(&self, f: F) {
        smol_ex().spawn(f).detach();
    }
    fn spawn_inner<F: Future<Output = ()> + Send + 'static>(f: F) {
        smol_ex().spawn(f).detach();
    }
    fn yield_now() -> impl Future<Output = ()> + Send {
        YieldOnce(false)
    }
}

/// `futures_lite::future::yield_now`, for async-executor.
struct YieldOnce(bool);

impl Future for YieldOnce {
    type Output = ();
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.0 {
            Poll::Ready(())
        } else {
            self.0 = true;
            cx.waker().wake_by_ref();
            Poll::Pending
        }
    }
}

fn goro_rt() -> Goro {
    Goro(
        goro_executor::runtime::Builder::new()
            .worker_threads(WORKERS)
            .build()
            .unwrap(),
    )
}

fn tokio_rt() -> Tokio {
    Tokio(
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(WORKERS)
            .enable_all()
            .build()
            .unwrap(),
    )
}

// ---- workloads -------------------------------------------------------------------------

fn spawn_many_local<R: Rt>(rt: &R) {
    let latch = Latch::new(1);
    let outer = latch.clone();
    rt.spawn(async move {
        let inner = Latch::new(NUM_SPAWN);
        for _ in 0..NUM_SPAWN {
            let inner = inner.clone();
            R::spawn_inner(async move { inner.done() });
        }
        inner.wait().await;
        outer.done();
    });
    latch.wait_blocking();
}

fn spawn_many_remote<R: Rt>(rt: &R) {
    let latch = Latch::new(NUM_SPAWN);
    for _ in 0..NUM_SPAWN {
        let latch = latch.clone();
        rt.spawn(async move { latch.done() });
    }
    latch.wait_blocking();
}

fn yield_many<R: Rt>(rt: &R) {
    let latch = Latch::new(NUM_YIELD_TASKS);
    for _ in 0..NUM_YIELD_TASKS {
        let latch = latch.clone();
        rt.spawn(async move {
            for _ in 0..NUM_YIELDS {
                R::yield_now().await;
            }
            latch.done();
        });
    }
    latch.wait_blocking();
}

fn ping_pong<R: Rt>(rt: &R) {
    let latch = Latch::new(NUM_PINGS);
    let l2 = latch.clone();
    rt.spawn(async move {
        for _ in 0..NUM_PINGS {
            let latch = l2.clone();
            R::spawn_inner(async move {
                let (tx1, rx1) = futures::channel::oneshot::channel::<()>();
                let (tx2, rx2) = futures::channel::oneshot::channel::<()>();
                R::spawn_inner(async move {
                    rx1.await.unwrap();
                    tx2.send(()).unwrap();
                });
                tx1.send(()).unwrap();
                rx2.await.unwrap();
                latch.done();
            });
        }
    });
    latch.wait_blocking();
}

fn chain<R: Rt>(n: usize, latch: Arc<Latch>) {
    if n == 0 {
        latch.done();
    } else {
        R::spawn_inner(async move { chain::<R>(n - 1, latch) });
    }
}

fn chained_spawn<R: Rt>(rt: &R) {
    let latch = Latch::new(1);
    let l2 = latch.clone();
    rt.spawn(async move { chain::<R>(CHAIN_DEPTH, l2) });
    latch.wait_blocking();
}

// ---- criterion ---------------------------------------------------------------------------

fn group(c: &mut Criterion, name: &str, goro: &Goro, tokio: &Tokio, f: Workloads) {
    let mut g = c.benchmark_group(name);
    g.bench_function("goro", |b| b.iter(|| (f.goro)(goro)));
    g.bench_function("tokio", |b| b.iter(|| (f.tokio)(tokio)));
    g.bench_function("async-executor", |b| b.iter(|| (f.smol)(&Smol)));
    g.finish();
}

#[derive(Clone, Copy)]
struct Workloads {
    goro: fn(&Goro),
    tokio: fn(&Tokio),
    smol: fn(&Smol),
}

macro_rules! workloads {
    ($f:ident) => {
        Workloads {
            goro: $f::<Goro>,
            tokio: $f::<Tokio>,
            smol: $f::<Smol>,
        }
    };
}

fn executor_benches(c: &mut Criterion) {
    let goro = goro_rt();
    let tokio = tokio_rt();
    group(
        c,
        "spawn_many_local",
        &goro,
        &tokio,
        workloads!(spawn_many_local),
    );
    group(
        c,
        "spawn_many_remote",
        &goro,
        &tokio,
        workloads!(spawn_many_remote),
    );
    group(c, "yield_many", &goro, &tokio, workloads!(yield_many));
    group(c, "ping_pong", &goro, &tokio, workloads!(ping_pong));
    group(c, "chained_spawn", &goro, &tokio, workloads!(chained_spawn));
}

criterion_group!(benches, executor_benches);

// ---- memory per parked task --------------------------------------------------------------

fn resident_bytes() -> usize {
    let statm = std::fs::read_to_string("/proc/self/statm").expect("/proc/self/statm");
    let pages: usize = statm
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .expect("statm resident field");
    pages * page_size()
}

fn page_size() -> usize {
    // `statm` counts pages; 4 KiB on these machines (`getconf PAGESIZE`), overridable.
    std::env::var("PAGESIZE")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(4096)
}

fn parked_memory_of<R: Rt>(rt: &R) -> f64 {
    let event = Arc::new(Event::new());
    let started = Latch::new(NUM_PARKED);
    let finished = Latch::new(NUM_PARKED);
    // Warm up allocator and runtime with a small round first.
    let warm = Latch::new(1000);
    for _ in 0..1000 {
        let warm = warm.clone();
        rt.spawn(async move { warm.done() });
    }
    warm.wait_blocking();
    let before = resident_bytes();
    for _ in 0..NUM_PARKED {
        let event = event.clone();
        let started = started.clone();
        let finished = finished.clone();
        rt.spawn(async move {
            let listener = event.listen();
            started.done();
            listener.await;
            finished.done();
        });
    }
    started.wait_blocking();
    let after = resident_bytes();
    event.notify(usize::MAX);
    finished.wait_blocking();
    (after.saturating_sub(before)) as f64 / NUM_PARKED as f64
}

fn parked_memory_child(which: &str) {
    let per_task = match which {
        "goro" => parked_memory_of(&goro_rt()),
        "tokio" => parked_memory_of(&tokio_rt()),
        "async-executor" => parked_memory_of(&Smol),
        other => panic!("unknown runtime {other}"),
    };
    println!("{which}: {per_task:.0} bytes per parked task ({NUM_PARKED} tasks, RSS growth)");
}

fn parked_memory() {
    let exe = std::env::current_exe().unwrap();
    for which in ["goro", "tokio", "async-executor"] {
        let out = std::process::Command::new(&exe)
            .arg(format!("--parked-memory-child={which}"))
            .output()
            .expect("run child");
        print!("{}", String::from_utf8_lossy(&out.stdout));
        if !out.status.success() {
            eprint!("{}", String::from_utf8_lossy(&out.stderr));
        }
    }
}

fn main() {
    for arg in std::env::args() {
        if arg == "--parked-memory" {
            parked_memory();
            return;
        }
        if let Some(which) = arg.strip_prefix("--parked-memory-child=") {
            parked_memory_child(which);
            return;
        }
    }
    benches();
    Criterion::default().configure_from_args().final_summary();
}
