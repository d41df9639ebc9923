//! Sync benchmarks: goro-sync beside tokio::sync and async-lock (async forms, all on one tokio
//! multi-thread runtime with 2 workers, so only the primitive differs), and beside std and
//! parking_lot for the blocking mutex (plain threads).
//!
//! Workloads:
//! * `mutex`: 4 tasks x 50,000 lock / increment / unlock on one mutex;
//! * `mutex_uncontended`: one task, 10,000 lock / increment / unlock;
//! * `rwmutex`: 4 tasks x 50,000 operations, 90% reads, 10% writes;
//! * `waitgroup`: 10,000 tasks each calling `done()` while the main task waits (peers: a
//!   counter + `tokio::sync::Notify`, the usual hand-made WaitGroup, and joining every handle);
//!   every contestant keeps its tasks' handles until it has waited, so that only the waiting
//!   differs. `waitgroup_detached` drops the handles at spawn, as WaitGroup code does (peer:
//!   the counter + Notify; tokio's detached tasks cost more, see the group);
//! * `semaphore`: 8 permits, 64 tasks x 500 acquire / yield / release;
//! * `blocking_mutex_uncontended`: one lock + unlock per iteration (`lock_blocking` vs std vs
//!   parking_lot); `blocking_mutex_2threads`: 2 threads x 50,000 lock / increment / unlock.
//!
//! The multi-task workloads run 4 tasks (64 for `semaphore`) on 2 workers, and whether two of
//! them actually run at the same time depends on where tokio places them, so one contestant's
//! time can move between runs: a lock whose tasks happen to run one after the other does no
//! contended work at all (goro's `mutex` and `rwmutex` then take about 1.3 ms, against about
//! 2 ms and 4 ms when they overlap). Compare ratios within one run, and re-run when in doubt.
//!
//! Run: `cargo bench --bench sync -- --warm-up-time 1 --measurement-time 3`.

#![allow(missing_docs)] // `criterion_group!` generates an undocumented function.

use criterion::measurement::WallTime;
use criterion::{
    black_box, criterion_group, criterion_main, BenchmarkGroup, Criterion, Throughput,
};
use std::sync::{
    atomic::{AtomicUsize, Ordering},
    Arc,
};

const TASKS: usize = 4;
const OPS: usize = 50_000;

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .expect("tokio runtime")
}

/// Runs `TASKS` tasks of `body` on `rt` and waits for them.
fn run_tasks<F, Fut>(rt: &tokio::runtime::Runtime, tasks: usize, body: F)
where
    F: Fn(usize) -> Fut,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    rt.block_on(async {
        let handles: Vec<_> = (0..tasks).map(|i| tokio::spawn(body(i))).collect();
        for h in handles {
            h.await.unwrap();
        }
    });
}

macro_rules! mutex_contestant {
    ($g:expr, $rt:expr, $name:literal, $new:expr, $lock:ident) => {
        $g.bench_function($name, |b| {
            b.iter(|| {
                let m = Arc::new($new);
                run_tasks($rt, TASKS, |_| {
                    let m = m.clone();
                    async move {
                        for _ in 0..OPS {
                            *m.$lock().await += 1;
                        }
                    }
                });
            })
        });
    };
}

fn mutex(c: &mut Criterion) {
    let rt = runtime();
    let mut g = c.benchmark_group("mutex");
    g.throughput(Throughput::Elements((TASKS * OPS) as u64));
    mutex_contestant!(g, &rt, "goro", goro_sync::Mutex::new(0u64), lock);
    mutex_contestant!(g, &rt, "tokio", tokio::sync::Mutex::new(0u64), lock);
    mutex_contestant!(g, &rt, "async_lock", async_lock::Mutex::new(0u64), lock);
    g.finish();
}

fn mutex_uncontended(c: &mut Criterion) {
    const N: usize = 10_000;
    let rt = runtime();
    let mut g = c.benchmark_group("mutex_uncontended");
    g.throughput(Throughput::Elements(N as u64));
    macro_rules! contestant {
        ($name:literal, $new:expr) => {
            let m = $new;
            g.bench_function($name, |b| {
                b.iter(|| {
                    rt.block_on(async {
                        for _ in 0..N {
                            *m.lock().await += 1;
                        }
                    })
                })
            });
        };
    }
    contestant!("goro", goro_sync::Mutex::new(0u64));
    contestant!("tokio", tokio::sync::Mutex::new(0u64));
    contestant!("async_lock", async_lock::Mutex::new(0u64));
    g.finish();
}

fn rwmutex(c: &mut Criterion) {
    let rt = runtime();
    let mut g = c.benchmark_group("rwmutex");
    g.throughput(Throughput::Elements((TASKS * OPS) as u64));
    macro_rules! contestant {
        ($name:literal, $new:expr) => {
            g.bench_function($name, |b| {
                b.iter(|| {
                    let l = Arc::new($new);
                    run_tasks(&rt, TASKS, |t| {
                        let l = l.clone();
                        async move {
                            for i in 0..OPS {
                                if (i + t) % 10 == 0 {
                                    *l.write().await += 1;
                                } else {
                                    black_box(*l.read().await);
                                }
                            }
                        }
                    });
                })
            });
        };
    }
    contestant!("goro", goro_sync::RwMutex::new(0u64));
    contestant!("tokio", tokio::sync::RwLock::new(0u64));
    contestant!("async_lock", async_lock::RwLock::new(0u64));
    g.finish();
}

/// Spawns `n` tasks of `task` on the current tokio runtime: with `keep`, the `JoinHandle`s
/// are returned (for the caller to drop after it has waited); otherwise each is dropped at
/// spawn and the result is empty.
fn spawn_n<F, Fut>(n: usize, keep: bool, task: F) -> Vec<tokio::task::JoinHandle<()>>
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let mut hs = Vec::with_capacity(if keep { n } else { 0 });
    for _ in 0..n {
        let h = tokio::spawn(task());
        if keep {
            hs.push(h);
        }
    }
    hs
}

fn waitgroup(c: &mut Criterion) {
    const N: usize = 10_000;
    let rt = runtime();

    // `waitgroup`: every contestant keeps the `JoinHandle`s until it has waited, so the
    // tasks' spawn and free cost is the same for all and only the waiting differs.
    // `waitgroup_detached`: the way a WaitGroup is used, handles dropped at spawn. On tokio a
    // detached task costs more than one whose handle is kept (dropping the handle of a
    // running task races the worker for the task state, and the worker then frees the task),
    // about 1.5x here; joining handles cannot take part, so the peer is the counter + Notify.
    for (group, keep) in [("waitgroup", true), ("waitgroup_detached", false)] {
        let mut g = c.benchmark_group(group);
        g.throughput(Throughput::Elements(N as u64));
        g.bench_function("goro", |b| {
            b.iter(|| {
                rt.block_on(async {
                    let wg = goro_sync::WaitGroup::new();
                    wg.add(N);
                    let hs = spawn_n(N, keep, || {
                        let wg = wg.clone();
                        async move { wg.done() }
                    });
                    wg.wait().await;
                    drop(hs);
                })
            })
        });
        g.bench_function("tokio_notify_counter", |b| {
            b.iter(|| {
                rt.block_on(async {
                    let state = Arc::new((AtomicUsize::new(N), tokio::sync::Notify::new()));
                    let hs = spawn_n(N, keep, || {
                        let state = state.clone();
                        async move {
                            if state.0.fetch_sub(1, Ordering::AcqRel) == 1 {
                                state.1.notify_one();
                            }
                        }
                    });
                    while state.0.load(Ordering::Acquire) != 0 {
                        state.1.notified().await;
                    }
                    drop(hs);
                })
            })
        });
        if keep {
            g.bench_function("tokio_join_all", |b| {
                b.iter(|| {
                    rt.block_on(async {
                        for h in spawn_n(N, true, || async {}) {
                            h.await.unwrap();
                        }
                    })
                })
            });
        }
        g.finish();
    }
}

fn semaphore(c: &mut Criterion) {
    const PERMITS: usize = 8;
    const SEM_TASKS: usize = 64;
    const SEM_OPS: usize = 500;
    let rt = runtime();
    let mut g = c.benchmark_group("semaphore");
    g.throughput(Throughput::Elements((SEM_TASKS * SEM_OPS) as u64));
    macro_rules! contestant {
        ($name:literal, $new:expr, |$s:ident| $acquire:expr) => {
            g.bench_function($name, |b| {
                b.iter(|| {
                    let sem = Arc::new($new);
                    run_tasks(&rt, SEM_TASKS, |_| {
                        let $s = sem.clone();
                        async move {
                            for _ in 0..SEM_OPS {
                                let _permit = $acquire;
                                tokio::task::yield_now().await;
                            }
                        }
                    });
                })
            });
        };
    }
    contestant!("goro", goro_sync::Semaphore::new(PERMITS), |s| s
        .acquire(1)
        .await
        .unwrap());
    contestant!("tokio", tokio::sync::Semaphore::new(PERMITS), |s| s
        .acquire()
        .await
        .unwrap());
    contestant!("async_lock", async_lock::Semaphore::new(PERMITS), |s| s
        .acquire()
        .await);
    g.finish();
}

fn blocking_mutex(c: &mut Criterion) {
    fn uncontended<L>(g: &mut BenchmarkGroup<'_, WallTime>, name: &str, lock: L)
    where
        L: Fn(),
    {
        g.bench_function(name, |b| b.iter(&lock));
    }
    let mut g = c.benchmark_group("blocking_mutex_uncontended");
    g.throughput(Throughput::Elements(1));
    let goro = goro_sync::Mutex::new(0u64);
    let std_m = std::sync::Mutex::new(0u64);
    let pl = parking_lot::Mutex::new(0u64);
    uncontended(&mut g, "goro", || *black_box(&goro).lock_blocking() += 1);
    uncontended(&mut g, "std", || *black_box(&std_m).lock().unwrap() += 1);
    uncontended(&mut g, "parking_lot", || *black_box(&pl).lock() += 1);
    g.finish();

    let mut g = c.benchmark_group("blocking_mutex_2threads");
    g.throughput(Throughput::Elements((2 * OPS) as u64));
    macro_rules! contestant {
        ($name:literal, $new:expr, |$m:ident| $lock:expr) => {
            g.bench_function($name, |b| {
                b.iter(|| {
                    let m = $new;
                    std::thread::scope(|s| {
                        for _ in 0..2 {
                            s.spawn(|| {
                                let $m = &m;
                                for _ in 0..OPS {
                                    *$lock += 1;
                                }
                            });
                        }
                    });
                })
            });
        };
    }
    contestant!("goro", goro_sync::Mutex::new(0u64), |m| m.lock_blocking());
    contestant!("std", std::sync::Mutex::new(0u64), |m| m.lock().unwrap());
    contestant!("parking_lot", parking_lot::Mutex::new(0u64), |m| m.lock());
    g.finish();
}

criterion_group!(
    benches,
    mutex,
    mutex_uncontended,
    rwmutex,
    waitgroup,
    semaphore,
    blocking_mutex
);
criterion_main!(benches);
