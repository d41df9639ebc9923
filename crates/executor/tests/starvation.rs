//! A task queued behind a task that never yields runs anyway, on another worker: the
//! scheduler's monitor (see `scheduler.rs`, "Monitor") hands it to a parked worker.

mod common;

use goro_executor::runtime::Builder;
use std::{
    sync::{
        atomic::{AtomicBool, Ordering::SeqCst},
        Arc,
    },
    time::{Duration, Instant},
};

/// Spins (never yielding) until `flag` is set or `limit` passes; returns whether it was set.
fn spin_until(flag: &AtomicBool, limit: Duration) -> bool {
    let start = Instant::now();
    while !flag.load(SeqCst) {
        if start.elapsed() > limit {
            return false;
        }
        std::hint::spin_loop();
    }
    true
}

#[test]
fn child_spawned_by_a_spinning_task_runs() {
    let _w = common::watchdog("child_spawned_by_a_spinning_task_runs", 30);
    let rt = Builder::new().worker_threads(2).build().unwrap();
    for _ in 0..20 {
        let flag = Arc::new(AtomicBool::new(false));
        let f = flag.clone();
        let parent = rt.spawn(async move {
            // The child lands in this worker's LIFO slot, the only task queued here.
            let f2 = f.clone();
            drop(goro_executor::spawn(async move { f2.store(true, SeqCst) }));
            spin_until(&f, Duration::from_secs(5))
        });
        assert!(rt.block_on(parent).unwrap(), "the child never ran");
    }
}

#[test]
fn task_woken_by_a_spinning_task_runs() {
    let _w = common::watchdog("task_woken_by_a_spinning_task_runs", 30);
    let rt = Builder::new().worker_threads(2).build().unwrap();
    for _ in 0..20 {
        let flag = Arc::new(AtomicBool::new(false));
        let (tx1, rx1) = futures::channel::oneshot::channel::<()>();
        let (tx2, rx2) = futures::channel::oneshot::channel::<()>();
        let f1 = flag.clone();
        let f2 = flag.clone();
        let a = rt.spawn(async move {
            rx1.await.unwrap();
            f1.store(true, SeqCst);
        });
        let b = rt.spawn(async move {
            rx2.await.unwrap();
            f2.store(true, SeqCst);
        });
        let (go_tx, go_rx) = futures::channel::oneshot::channel::<()>();
        let f = flag.clone();
        let waker = rt.spawn(async move {
            go_rx.await.unwrap();
            // Two wakes: one task into the LIFO slot, the other into the local queue.
            tx1.send(()).unwrap();
            tx2.send(()).unwrap();
            spin_until(&f, Duration::from_secs(5))
        });
        // Let the others park waiting.
        std::thread::sleep(Duration::from_millis(5));
        go_tx.send(()).unwrap();
        assert!(rt.block_on(waker).unwrap(), "neither woken task ran");
        rt.block_on(a).unwrap();
        rt.block_on(b).unwrap();
    }
}
