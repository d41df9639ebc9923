//! `JoinHandle::abort` on tasks that are queued, parked, running, or already finished.

mod common;

use common::DropCounter;
use goro_executor::{runtime::Builder, yield_now};
use std::{
    sync::{
        atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst},
        mpsc, Arc,
    },
    time::Duration,
};

#[test]
fn abort_parked_task_drops_its_future() {
    let _w = common::watchdog("abort_parked_task_drops_its_future", 20);
    let rt = Builder::new().worker_threads(2).build().unwrap();
    let live = Arc::new(AtomicUsize::new(0));
    let (started_tx, started_rx) = mpsc::channel();
    let guard = DropCounter::new(&live);
    let h = rt.spawn(async move {
        let _guard = guard;
        started_tx.send(()).unwrap();
        std::future::pending::<()>().await;
    });
    started_rx.recv_timeout(Duration::from_secs(10)).unwrap();
    assert_eq!(live.load(SeqCst), 1);
    h.abort();
    let err = rt.block_on(h).unwrap_err();
    assert!(err.is_cancelled());
    assert!(!err.is_panic());
    assert_eq!(err.to_string(), "task was cancelled");
    assert_eq!(live.load(SeqCst), 0);
    assert_eq!(rt.handle().num_goroutines(), 0);
}

#[test]
fn abort_queued_task_never_runs() {
    let _w = common::watchdog("abort_queued_task_never_runs", 20);
    // One worker, kept busy by a blocking-ish task so the second stays queued.
    let rt = Builder::new().worker_threads(1).build().unwrap();
    let (release_tx, release_rx) = mpsc::channel::<()>();
    let (busy_tx, busy_rx) = mpsc::channel::<()>();
    let blocker = rt.spawn(async move {
        busy_tx.send(()).unwrap();
        release_rx.recv_timeout(Duration::from_secs(10)).unwrap();
    });
    busy_rx.recv_timeout(Duration::from_secs(10)).unwrap();
    let ran = Arc::new(AtomicBool::new(false));
    let ran2 = ran.clone();
    let queued = rt.spawn(async move { ran2.store(true, SeqCst) });
    queued.abort();
    release_tx.send(()).unwrap();
    assert!(rt.block_on(queued).unwrap_err().is_cancelled());
    rt.block_on(blocker).unwrap();
    assert!(!ran.load(SeqCst));
}

#[test]
fn abort_running_task_stops_at_next_poll() {
    let _w = common::watchdog("abort_running_task_stops_at_next_poll", 20);
    let rt = Builder::new().worker_threads(2).build().unwrap();
    let polls = Arc::new(AtomicUsize::new(0));
    let p2 = polls.clone();
    let (running_tx, running_rx) = mpsc::channel();
    let h = rt.spawn(async move {
        let mut sent = false;
        loop {
            p2.fetch_add(1, SeqCst);
            if !sent {
                running_tx.send(()).unwrap();
                sent = true;
            }
            yield_now().await;
        }
    });
    running_rx.recv_timeout(Duration::from_secs(10)).unwrap();
    h.abort();
    assert!(rt.block_on(h).unwrap_err().is_cancelled());
    let after = polls.load(SeqCst);
    // Give it a chance to (wrongly) keep running: the count must not move.
    for _ in 0..100 {
        std::thread::yield_now();
    }
    assert_eq!(polls.load(SeqCst), after);
}

#[test]
fn abort_from_inside_the_task_itself() {
    let _w = common::watchdog("abort_from_inside_the_task_itself", 20);
    let rt = Builder::new().worker_threads(1).build().unwrap();
    let (tx, rx) = futures::channel::oneshot::channel::<Arc<goro_executor::JoinHandle<()>>>();
    let reached = Arc::new(AtomicBool::new(false));
    let reached2 = reached.clone();
    let h = Arc::new(rt.spawn(async move {
        let me = rx.await.unwrap();
        me.abort();
        yield_now().await;
        reached2.store(true, SeqCst);
    }));
    tx.send(h.clone()).unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while !h.is_finished() {
        assert!(
            std::time::Instant::now() < deadline,
            "self-aborted task never finished"
        );
        std::thread::yield_now();
    }
    // The task's future (holding the other `Arc`) was dropped before it finished.
    let h = Arc::try_unwrap(h).unwrap();
    assert!(rt.block_on(h).unwrap_err().is_cancelled());
    assert!(!reached.load(SeqCst));
}

#[test]
fn abort_after_completion_keeps_the_result() {
    let _w = common::watchdog("abort_after_completion_keeps_the_result", 20);
    let rt = Builder::new().worker_threads(1).build().unwrap();
    let h = rt.spawn(async { 9 });
    while !h.is_finished() {
        std::thread::yield_now();
    }
    h.abort();
    assert_eq!(rt.block_on(h).unwrap(), 9);
}

#[test]
fn abort_from_another_task() {
    let _w = common::watchdog("abort_from_another_task", 20);
    let rt = Builder::new().worker_threads(2).build().unwrap();
    let victim = rt.spawn(std::future::pending::<u8>());
    let victim = Arc::new(victim);
    let v2 = victim.clone();
    rt.block_on(rt.spawn(async move { v2.abort() })).unwrap();
    let victim = Arc::try_unwrap(victim).unwrap();
    assert!(rt.block_on(victim).unwrap_err().is_cancelled());
}

#[test]
fn abort_many_parked_tasks_concurrently() {
    let _w = common::watchdog("abort_many_parked_tasks_concurrently", 30);
    let rt = Builder::new().worker_threads(2).build().unwrap();
    let live = Arc::new(AtomicUsize::new(0));
    let handles: Vec<_> = (0..10_000)
        .map(|_| {
            let g = DropCounter::new(&live);
            rt.spawn(async move {
                let _g = g;
                std::future::pending::<()>().await
            })
        })
        .collect();
    let (a, b) = handles.split_at(5_000);
    std::thread::scope(|s| {
        s.spawn(|| a.iter().for_each(|h| h.abort()));
        s.spawn(|| b.iter().for_each(|h| h.abort()));
    });
    for h in handles {
        assert!(rt.block_on(h).unwrap_err().is_cancelled());
    }
    assert_eq!(live.load(SeqCst), 0);
    assert_eq!(rt.handle().num_goroutines(), 0);
}
