//! Go's `sync` package, one primitive per section, written with `goro::sync`: `Once`,
//! `OnceCell`, `RwMutex`, `Cond`, `Semaphore` (x/sync/semaphore), `atomic` counters and
//! `atomic::Value`.
//!
//!     cargo run --release --example sync
//!
//! Every section checks its own result.

use goro::sync::atomic::{self, AtomicU64, Ordering};
use goro::sync::{Cond, Mutex, Once, OnceCell, RwMutex, Semaphore, WaitGroup};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

#[goro::main]
async fn main() {
    once().await;
    once_cell().await;
    rwmutex().await;
    cond().await;
    semaphore().await;
    atomics().await;
    println!("\nsync example finished");
}

fn section(title: &str) {
    println!("\n== {title}");
}

/// As in Go (`var setup sync.Once` at package level), a `Once` can be a global: goro's
/// `sync` constructors are `const`.
static SETUP: Once = Once::new();
static SETUP_RUNS: AtomicU64 = AtomicU64::new(0);

/// `sync.Once`: many goroutines, one initialisation.
async fn once() {
    section("sync.Once");
    let wg = WaitGroup::new();
    for _ in 0..8 {
        wg.go(async move {
            SETUP.call_once(|| {
                SETUP_RUNS.fetch_add(1, Ordering::SeqCst);
            });
        });
    }
    wg.wait().await;
    println!(
        "8 goroutines called setup.Do; it ran {} time",
        SETUP_RUNS.load(Ordering::SeqCst)
    );
    assert_eq!(SETUP_RUNS.load(Ordering::SeqCst), 1);
    assert!(SETUP.is_completed());
}

/// A lazily initialised value (Go: `sync.OnceValue`), initialised by async code.
async fn once_cell() {
    section("OnceCell (sync.OnceValue)");
    let config: OnceCell<HashMap<&str, u32>> = OnceCell::new();
    let load = || async {
        goro::time::sleep(Duration::from_millis(2)).await; // pretend to read a file
        HashMap::from([("workers", 4), ("retries", 3)])
    };
    // Two concurrent callers: one runs `load`, the other waits for it.
    let (a, b) = futures::join!(config.get_or_init(load), config.get_or_init(load));
    println!("workers = {}, retries = {}", a["workers"], b["retries"]);
    assert!(std::ptr::eq(a, b), "both callers got the one value");
}

/// `sync.RWMutex`: a cache read by many, written by few.
async fn rwmutex() {
    section("sync.RWMutex");
    let cache = Arc::new(RwMutex::new(HashMap::<u32, String>::new()));
    let wg = WaitGroup::new();
    for w in 0..2u32 {
        let cache = cache.clone();
        wg.go(async move {
            for k in 0..50 {
                cache.write().await.insert(k * 2 + w, format!("v{k}"));
            }
        });
    }
    let hits = Arc::new(AtomicU64::new(0));
    for _ in 0..4 {
        let (cache, hits) = (cache.clone(), hits.clone());
        wg.go(async move {
            for k in 0..100 {
                if cache.read().await.contains_key(&k) {
                    hits.fetch_add(1, Ordering::Relaxed);
                }
                goro::yield_now().await;
            }
        });
    }
    wg.wait().await;
    let len = cache.read().await.len();
    println!(
        "cache holds {len} entries; readers saw {} hits",
        hits.load(Ordering::Relaxed)
    );
    assert_eq!(len, 100);
}

/// `sync.Cond`: a bounded queue whose consumers wait for items.
async fn cond() {
    section("sync.Cond");
    let queue = Arc::new((Mutex::new(Vec::<u32>::new()), Cond::new()));
    let total = Arc::new(AtomicU64::new(0));
    let wg = WaitGroup::new();
    for _ in 0..3 {
        let (queue, total) = (queue.clone(), total.clone());
        wg.go(async move {
            let (items, ready) = &*queue;
            loop {
                let mut q = items.lock().await;
                while q.is_empty() {
                    q = ready.wait(q).await;
                }
                let item = q.remove(0);
                drop(q);
                if item == 0 {
                    return; // the stop marker
                }
                total.fetch_add(u64::from(item), Ordering::SeqCst);
            }
        });
    }
    let (items, ready) = &*queue;
    for i in 1..=30 {
        items.lock().await.push(i);
        ready.signal();
    }
    items.lock().await.extend([0, 0, 0]);
    ready.broadcast();
    wg.wait().await;
    println!("3 consumers summed {}", total.load(Ordering::SeqCst));
    assert_eq!(total.load(Ordering::SeqCst), (1..=30).sum::<u64>());
}

/// `semaphore.Weighted`: at most 3 units of work in flight; a big job takes 2.
async fn semaphore() {
    section("semaphore.Weighted");
    let sem = Arc::new(Semaphore::new(3));
    let in_flight = Arc::new(AtomicU64::new(0));
    let peak = Arc::new(AtomicU64::new(0));
    let wg = WaitGroup::new();
    for job in 0..12u64 {
        let (sem, in_flight, peak) = (sem.clone(), in_flight.clone(), peak.clone());
        wg.go(async move {
            let weight = if job % 4 == 0 { 2 } else { 1 };
            let _permit = sem.acquire(weight).await.expect("weight <= 3");
            let now = in_flight.fetch_add(weight as u64, Ordering::SeqCst) + weight as u64;
            peak.fetch_max(now, Ordering::SeqCst);
            goro::time::sleep(Duration::from_millis(2)).await;
            in_flight.fetch_sub(weight as u64, Ordering::SeqCst);
        });
    }
    wg.wait().await;
    println!(
        "peak units in flight: {} (limit 3)",
        peak.load(Ordering::SeqCst)
    );
    assert!(peak.load(Ordering::SeqCst) <= 3);
    assert!(
        sem.acquire(4).await.is_err(),
        "more than the total is an error, not a hang"
    );
}

/// `sync/atomic`: a counter (`AddInt64`) and a configuration swapped as a whole
/// (`atomic.Value` / `atomic.Pointer`).
async fn atomics() {
    section("sync/atomic");
    let ops = Arc::new(AtomicU64::new(0));
    let config = Arc::new(atomic::Value::new(Arc::new(String::from("v1"))));
    let wg = WaitGroup::new();
    for _ in 0..50 {
        let (ops, config) = (ops.clone(), config.clone());
        wg.go(async move {
            for _ in 0..1000 {
                ops.fetch_add(1, Ordering::Relaxed); // atomic.AddUint64(&ops, 1)
            }
            let seen = config.load(); // a whole snapshot, never a torn one
            assert!(seen.as_str() == "v1" || seen.as_str() == "v2");
        });
    }
    config.store(Arc::new(String::from("v2")));
    wg.wait().await;
    println!(
        "ops: {}, config: {}",
        ops.load(Ordering::SeqCst),
        config.load()
    );
    assert_eq!(ops.load(Ordering::SeqCst), 50_000);
    assert_eq!(config.load().as_str(), "v2");
}
