//! Scheduler stress: wakeups from every direction while workers keep parking and waking. A
//! lost wakeup (a task queued while every worker sleeps) shows up as a hang, which the
//! watchdog turns into a failure.

mod common;

use goro_executor::{runtime::Builder, spawn, yield_now};
use std::{
    sync::{
        atomic::{AtomicUsize, Ordering::SeqCst},
        Arc,
    },
    time::Duration,
};

#[test]
fn wakeups_from_foreign_threads_while_workers_park() {
    let _w = common::watchdog("wakeups_from_foreign_threads_while_workers_park", 60);
    for workers in [1, 2, 4] {
        let rt = Builder::new().worker_threads(workers).build().unwrap();
        for round in 0..20 {
            let mut senders = Vec::new();
            let handles: Vec<_> = (0..200)
                .map(|i| {
                    let (tx, rx) = futures::channel::oneshot::channel::<usize>();
                    senders.push(tx);
                    rt.spawn(async move { rx.await.unwrap() + i })
                })
                .collect();
            // Wake them from two foreign threads, with pauses so that workers go to sleep
            // between bursts.
            let mut second = senders.split_off(100);
            let t = std::thread::spawn(move || {
                for (k, tx) in second.drain(..).enumerate() {
                    if k % 25 == 0 {
                        std::thread::yield_now();
                    }
                    tx.send(round).unwrap();
                }
            });
            for (k, tx) in senders.into_iter().enumerate() {
                if k % 30 == 0 {
                    std::thread::sleep(Duration::from_micros(50));
                }
                tx.send(round).unwrap();
            }
            t.join().unwrap();
            for (i, h) in handles.into_iter().enumerate() {
                assert_eq!(rt.block_on(h).unwrap(), round + i);
            }
        }
    }
}

#[test]
fn tasks_waking_tasks_across_workers() {
    let _w = common::watchdog("tasks_waking_tasks_across_workers", 60);
    let rt = Builder::new().worker_threads(4).build().unwrap();
    let done = Arc::new(AtomicUsize::new(0));
    // Rings of tasks passing a token around, with yields mixed in.
    let rings: Vec<_> = (0..50)
        .map(|r| {
            let done = done.clone();
            rt.spawn(async move {
                const N: usize = 20;
                let mut txs = Vec::new();
                let mut rxs = Vec::new();
                for _ in 0..N {
                    let (tx, rx) = futures::channel::mpsc::unbounded::<usize>();
                    txs.push(tx);
                    rxs.push(rx);
                }
                let mut hs = Vec::new();
                for (i, mut rx) in rxs.into_iter().enumerate() {
                    let next = txs[(i + 1) % N].clone();
                    hs.push(spawn(async move {
                        use futures::StreamExt;
                        let mut seen = 0;
                        while let Some(hops) = rx.next().await {
                            seen += 1;
                            if (hops + r) % 3 == 0 {
                                yield_now().await;
                            }
                            if hops == 0 {
                                break;
                            }
                            if next.unbounded_send(hops - 1).is_err() {
                                break;
                            }
                        }
                        seen
                    }));
                }
                txs[0].unbounded_send(N * 10).unwrap();
                drop(txs);
                let mut total = 0;
                for h in hs {
                    total += h.await.unwrap();
                }
                done.fetch_add(1, SeqCst);
                total
            })
        })
        .collect();
    for h in rings {
        // N * 10 + 1 messages go around each ring.
        assert_eq!(rt.block_on(h).unwrap(), 201);
    }
    assert_eq!(done.load(SeqCst), 50);
    assert_eq!(rt.handle().num_goroutines(), 0);
}
