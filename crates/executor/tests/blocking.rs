//! The blocking pool: it grows so blocking jobs don't stall goroutines, reports panics, and
//! shrinks when idle.

mod common;

use goro_executor::{runtime::Builder, spawn_blocking};
use std::{
    sync::{mpsc, Arc, Barrier},
    time::{Duration, Instant},
};

#[test]
fn sixty_four_sleeping_jobs_do_not_stall_async_tasks() {
    let _w = common::watchdog("sixty_four_sleeping_jobs_do_not_stall_async_tasks", 30);
    let rt = Builder::new().worker_threads(2).build().unwrap();
    // 64 jobs that all block until every one of them has started: this only completes if the
    // pool runs all 64 at once (it grows on demand).
    let barrier = Arc::new(Barrier::new(65));
    let (release_tx, release_rx) = mpsc::channel::<()>();
    let release_rx = Arc::new(std::sync::Mutex::new(release_rx));
    let jobs: Vec<_> = (0..64)
        .map(|i| {
            let barrier = barrier.clone();
            let release_rx = release_rx.clone();
            rt.spawn_blocking(move || {
                barrier.wait();
                // Hold the thread (a "sleep") until the async work below is done.
                let _ = release_rx
                    .lock()
                    .unwrap()
                    .recv_timeout(Duration::from_secs(10));
                i
            })
        })
        .collect();
    barrier.wait(); // all 64 are blocked on their threads now
                    // Async tasks still run promptly on the workers.
    let t0 = Instant::now();
    let sum = rt.block_on(async {
        let hs: Vec<_> = (0..1000u64)
            .map(|i| goro_executor::spawn(async move { i }))
            .collect();
        let mut s = 0;
        for h in hs {
            s += h.await.unwrap();
        }
        s
    });
    assert_eq!(sum, 999 * 1000 / 2);
    assert!(t0.elapsed() < Duration::from_secs(5));
    for _ in 0..64 {
        release_tx.send(()).unwrap();
    }
    let mut got: Vec<_> = jobs.into_iter().map(|j| rt.block_on(j).unwrap()).collect();
    got.sort_unstable();
    assert_eq!(got, (0..64).collect::<Vec<_>>());
}

#[test]
fn blocking_panic_is_reported() {
    let _w = common::watchdog("blocking_panic_is_reported", 20);
    let h = spawn_blocking(|| -> u8 { panic!("blocking boom") });
    let err = goro_executor::block_on(h).unwrap_err();
    assert!(err.is_panic());
    assert_eq!(err.to_string(), "task panicked: blocking boom");
    // The pool still works.
    assert_eq!(goro_executor::block_on(spawn_blocking(|| 3)).unwrap(), 3);
}

#[test]
fn pool_shrinks_when_idle_and_threads_are_reused() {
    let _w = common::watchdog("pool_shrinks_when_idle_and_threads_are_reused", 20);
    let rt = Builder::new()
        .worker_threads(1)
        .thread_keep_alive(Duration::from_millis(50))
        .build()
        .unwrap();
    // Sequential jobs reuse one thread.
    let first = rt
        .block_on(rt.spawn_blocking(|| std::thread::current().id()))
        .unwrap();
    let second = rt
        .block_on(rt.spawn_blocking(|| std::thread::current().id()))
        .unwrap();
    assert_eq!(first, second);
    // After the keep-alive, the idle thread exits: a new job runs on a new thread.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        std::thread::sleep(Duration::from_millis(60));
        let id = rt
            .block_on(rt.spawn_blocking(|| std::thread::current().id()))
            .unwrap();
        if id != first {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "blocking thread never exited when idle"
        );
    }
}

#[test]
fn abort_blocking_job_before_it_starts() {
    let _w = common::watchdog("abort_blocking_job_before_it_starts", 20);
    let rt = Builder::new()
        .worker_threads(1)
        .max_blocking_threads(1)
        .build()
        .unwrap();
    let (release_tx, release_rx) = mpsc::channel::<()>();
    let (started_tx, started_rx) = mpsc::channel::<()>();
    let first = rt.spawn_blocking(move || {
        started_tx.send(()).unwrap();
        let _ = release_rx.recv_timeout(Duration::from_secs(10));
    });
    started_rx.recv_timeout(Duration::from_secs(10)).unwrap();
    let queued = rt.spawn_blocking(|| panic!("must not run"));
    queued.abort();
    release_tx.send(()).unwrap();
    rt.block_on(first).unwrap();
    assert!(rt.block_on(queued).unwrap_err().is_cancelled());
}

#[test]
fn drop_runtime_from_its_own_blocking_thread_does_not_hang() {
    let _w = common::watchdog(
        "drop_runtime_from_its_own_blocking_thread_does_not_hang",
        20,
    );
    let rt = Builder::new().worker_threads(1).build().unwrap();
    let slot = Arc::new(std::sync::Mutex::new(
        None::<goro_executor::runtime::Runtime>,
    ));
    let slot2 = slot.clone();
    let (tx, rx) = mpsc::channel();
    let (go_tx, go_rx) = mpsc::channel::<()>();
    drop(rt.spawn_blocking(move || {
        go_rx.recv_timeout(Duration::from_secs(10)).unwrap();
        drop(slot2.lock().unwrap().take());
        tx.send(()).unwrap();
    }));
    *slot.lock().unwrap() = Some(rt);
    go_tx.send(()).unwrap();
    rx.recv_timeout(Duration::from_secs(10)).unwrap();
}
