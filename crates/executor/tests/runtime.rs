//! Runtimes: builder errors, current-runtime rules, shutdown with parked tasks, `num_goroutines`,
//! `block_on` misuse, and `GORO_MAXPROCS`.

mod common;

use common::DropCounter;
use goro_executor::{
    block_on,
    runtime::{num_goroutines, Builder, Handle},
    spawn,
};
use std::{
    sync::{
        atomic::{AtomicUsize, Ordering::SeqCst},
        mpsc, Arc,
    },
    time::Duration,
};

#[test]
fn worker_threads_zero_is_an_error() {
    let err = Builder::new().worker_threads(0).build().unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput);
    let msg = err.to_string();
    assert!(
        msg.contains("worker_threads") && msg.contains("at least 1"),
        "{msg}"
    );
}

#[test]
fn thread_names() {
    let _w = common::watchdog("thread_names", 20);
    let rt = Builder::new()
        .worker_threads(2)
        .thread_name("w".to_string())
        .build()
        .unwrap();
    let name = rt
        .block_on(rt.spawn(async { std::thread::current().name().unwrap().to_string() }))
        .unwrap();
    assert!(name == "w-0" || name == "w-1", "{name}");
    let name = rt
        .block_on(rt.spawn_blocking(|| std::thread::current().name().unwrap().to_string()))
        .unwrap();
    assert!(name.starts_with("w-blocking-"), "{name}");
}

#[test]
fn spawn_inside_a_runtime_goes_to_that_runtime() {
    let _w = common::watchdog("spawn_inside_a_runtime_goes_to_that_runtime", 20);
    let rt = Builder::new()
        .worker_threads(1)
        .thread_name("mine".to_string())
        .build()
        .unwrap();
    let name = rt
        .block_on(rt.spawn(async {
            // `goro_executor::spawn` from inside a task of `rt`.
            spawn(async { std::thread::current().name().unwrap().to_string() })
                .await
                .unwrap()
        }))
        .unwrap();
    assert_eq!(name, "mine-0");
    // And from inside rt.block_on.
    let name = rt.block_on(async {
        spawn(async { std::thread::current().name().unwrap().to_string() })
            .await
            .unwrap()
    });
    assert_eq!(name, "mine-0");
    // Handle::current inside a task is that runtime; outside, the global one.
    let inner = rt.block_on(rt.spawn(async { Handle::current() })).unwrap();
    assert!(inner.ptr_eq(rt.handle()));
    assert!(!Handle::current().ptr_eq(rt.handle()));
    // Outside any runtime, spawn goes to the global runtime.
    let name = block_on(spawn(async {
        std::thread::current().name().unwrap().to_string()
    }))
    .unwrap();
    assert!(name.starts_with("goro-worker-"), "{name}");
}

#[test]
fn num_goroutines_counts_live_tasks() {
    let _w = common::watchdog("num_goroutines_counts_live_tasks", 20);
    let rt = Builder::new().worker_threads(2).build().unwrap();
    assert_eq!(rt.handle().num_goroutines(), 0);
    let (tx, rx) = futures::channel::oneshot::channel::<()>();
    let rx = futures::future::FutureExt::shared(rx);
    let handles: Vec<_> = (0..100)
        .map(|_| {
            let rx = rx.clone();
            rt.spawn(async move {
                let _ = rx.await;
            })
        })
        .collect();
    assert_eq!(rt.handle().num_goroutines(), 100);
    assert_eq!(rt.block_on(async { num_goroutines() }), 100);
    // Tasks enter the spawn-site list when they first park: wait for all 100.
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    let sites = loop {
        let sites = rt.handle().goroutine_spawn_sites();
        if sites.len() == 100 {
            break sites;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "only {} parked",
            sites.len()
        );
        std::thread::yield_now();
    };
    assert!(
        sites.iter().all(|l| l.file().ends_with("runtime.rs")),
        "{sites:?}"
    );
    tx.send(()).unwrap();
    for h in handles {
        rt.block_on(h).unwrap();
    }
    assert_eq!(rt.handle().num_goroutines(), 0);
}

#[test]
fn drop_runtime_with_parked_tasks_drops_their_futures() {
    let _w = common::watchdog("drop_runtime_with_parked_tasks_drops_their_futures", 30);
    let live = Arc::new(AtomicUsize::new(0));
    let rt = Builder::new().worker_threads(2).build().unwrap();
    let (started_tx, started_rx) = mpsc::channel();
    let mut handles = Vec::new();
    let mut senders = Vec::new();
    for i in 0..1000 {
        let g = DropCounter::new(&live);
        let started = started_tx.clone();
        let (tx, rx) = futures::channel::oneshot::channel::<()>();
        senders.push(tx);
        handles.push(rt.spawn(async move {
            let _g = g;
            started.send(()).unwrap();
            if i % 2 == 0 {
                std::future::pending::<()>().await; // parked, nobody holds its waker
            } else {
                let _ = rx.await; // parked, a live sender holds its waker
            }
        }));
    }
    for _ in 0..1000 {
        started_rx.recv_timeout(Duration::from_secs(10)).unwrap();
    }
    // Some queued, never-polled tasks too.
    let g = DropCounter::new(&live);
    let queued = rt.spawn(async move {
        let _g = g;
    });
    assert!(live.load(SeqCst) >= 1000);
    drop(rt);
    assert_eq!(
        live.load(SeqCst),
        0,
        "futures left alive after runtime drop"
    );
    for h in handles {
        assert!(block_on(h).unwrap_err().is_cancelled());
    }
    // It either ran before the shutdown or was cancelled.
    let _ = block_on(queued);
    drop(senders);
}

#[test]
fn spawn_after_shutdown_is_cancelled() {
    let _w = common::watchdog("spawn_after_shutdown_is_cancelled", 20);
    let rt = Builder::new().worker_threads(1).build().unwrap();
    let handle = rt.handle().clone();
    drop(rt);
    let live = Arc::new(AtomicUsize::new(0));
    let g = DropCounter::new(&live);
    let h = handle.spawn(async move {
        let _g = g;
    });
    assert!(block_on(h).unwrap_err().is_cancelled());
    assert_eq!(live.load(SeqCst), 0);
}

#[test]
fn shutdown_timeout_returns_with_a_stuck_task() {
    let _w = common::watchdog("shutdown_timeout_returns_with_a_stuck_task", 20);
    let rt = Builder::new().worker_threads(1).build().unwrap();
    let (started_tx, started_rx) = mpsc::channel();
    let (release_tx, release_rx) = mpsc::channel::<()>();
    drop(rt.spawn(async move {
        started_tx.send(()).unwrap();
        // Blocks the worker thread (misbehaving task) until released.
        let _ = release_rx.recv_timeout(Duration::from_secs(10));
    }));
    started_rx.recv_timeout(Duration::from_secs(10)).unwrap();
    let t0 = std::time::Instant::now();
    rt.shutdown_timeout(Duration::from_millis(100));
    assert!(t0.elapsed() < Duration::from_secs(5));
    release_tx.send(()).unwrap();
}

#[test]
fn block_on_inside_a_task_panics_with_a_clear_message() {
    let _w = common::watchdog("block_on_inside_a_task_panics_with_a_clear_message", 20);
    let rt = Builder::new().worker_threads(1).build().unwrap();
    let err = rt
        .block_on(rt.spawn(async { block_on(async { 1 }) }))
        .unwrap_err();
    assert!(err.is_panic());
    let msg = err.to_string();
    assert!(
        msg.contains("block_on called from inside a goroutine"),
        "{msg}"
    );
    // The runtime is fine afterwards, and block_on from spawn_blocking is allowed.
    let v = rt
        .block_on(rt.spawn(async { goro_executor::spawn_blocking(|| block_on(async { 5 })).await }))
        .unwrap()
        .unwrap();
    assert_eq!(v, 5);
}

#[test]
fn drop_runtime_from_inside_its_own_task_does_not_hang() {
    let _w = common::watchdog("drop_runtime_from_inside_its_own_task_does_not_hang", 20);
    let rt = Builder::new().worker_threads(2).build().unwrap();
    let (tx, rx) = mpsc::channel();
    let (placed_tx, placed_rx) = mpsc::channel::<()>();
    let slot = Arc::new(std::sync::Mutex::new(None));
    let slot2 = slot.clone();
    drop(rt.spawn(async move {
        // Wait (blocking this worker, fine for a test) until the runtime is in the slot.
        placed_rx.recv_timeout(Duration::from_secs(10)).unwrap();
        let rt: Option<goro_executor::runtime::Runtime> = slot2.lock().unwrap().take();
        assert!(rt.is_some());
        drop(rt);
        tx.send(()).unwrap();
    }));
    *slot.lock().unwrap() = Some(rt);
    placed_tx.send(()).unwrap();
    rx.recv_timeout(Duration::from_secs(10)).unwrap();
    assert!(slot.lock().unwrap().is_none());
}

/// Runs this test binary again with `GORO_MAXPROCS` set, executing only `maxprocs_child`.
fn run_child(value: &str) -> std::process::Output {
    std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "maxprocs_child",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("GORO_MAXPROCS", value)
        .env("GORO_TEST_CHILD", "1")
        .output()
        .unwrap()
}

#[test]
fn maxprocs_child() {
    if std::env::var_os("GORO_TEST_CHILD").is_none() {
        return; // only meaningful as the child of `goro_maxprocs_env`
    }
    let name = block_on(spawn(async {
        std::thread::current().name().unwrap().to_string()
    }))
    .unwrap();
    println!("CHILD-RAN-ON {name}");
}

#[test]
fn goro_maxprocs_env() {
    let _w = common::watchdog("goro_maxprocs_env", 60);
    for bad in ["0", "abc"] {
        let out = run_child(bad);
        assert!(!out.status.success(), "GORO_MAXPROCS={bad} should fail");
        let stderr = String::from_utf8_lossy(&out.stderr);
        let stdout = String::from_utf8_lossy(&out.stdout);
        let all = format!("{stdout}{stderr}");
        assert!(all.contains("GORO_MAXPROCS"), "{all}");
        assert!(all.contains(bad), "{all}");
        assert!(all.contains("from 1 to"), "{all}");
    }
    let out = run_child("1");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}");
    assert!(stdout.contains("CHILD-RAN-ON goro-worker-0"), "{stdout}");
}
