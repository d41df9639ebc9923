//! Spawning: from tasks, from the main thread, from foreign threads; many tasks; deep
//! chains; results, panics and `is_finished`.

mod common;

use goro_executor::{block_on, runtime::Builder, spawn, yield_now, JoinHandle};
use std::{
    sync::{
        atomic::{AtomicUsize, Ordering::SeqCst},
        Arc,
    },
    time::Duration,
};

#[test]
fn smoke() {
    let _w = common::watchdog("smoke", 10);
    assert_eq!(block_on(spawn(async { 1 + 1 })).unwrap(), 2);
}

#[test]
fn million_tasks_all_complete() {
    let _w = common::watchdog("million_tasks_all_complete", 60);
    const N: usize = 1_000_000;
    let rt = Builder::new().worker_threads(2).build().unwrap();
    let done = Arc::new(AtomicUsize::new(0));
    let (tx, rx) = futures::channel::oneshot::channel::<()>();
    let tx = Arc::new(std::sync::Mutex::new(Some(tx)));
    for _ in 0..N {
        let done = done.clone();
        let tx = tx.clone();
        drop(rt.spawn(async move {
            if done.fetch_add(1, SeqCst) + 1 == N {
                tx.lock().unwrap().take().unwrap().send(()).unwrap();
            }
        }));
    }
    rt.block_on(rx).unwrap();
    assert_eq!(done.load(SeqCst), N);
}

#[test]
fn spawn_from_tasks() {
    let _w = common::watchdog("spawn_from_tasks", 20);
    let rt = Builder::new().worker_threads(2).build().unwrap();
    let total = rt.block_on(async {
        let parents: Vec<JoinHandle<usize>> = (0..100)
            .map(|i| {
                spawn(async move {
                    let kids: Vec<_> = (0..100).map(|j| spawn(async move { i * j })).collect();
                    let mut s = 0;
                    for k in kids {
                        s += k.await.unwrap();
                    }
                    s
                })
            })
            .collect();
        let mut s = 0;
        for p in parents {
            s += p.await.unwrap();
        }
        s
    });
    assert_eq!(total, (0..100).sum::<usize>() * (0..100).sum::<usize>());
}

#[test]
fn spawn_from_foreign_threads() {
    let _w = common::watchdog("spawn_from_foreign_threads", 20);
    let rt = Builder::new().worker_threads(2).build().unwrap();
    let handles: Vec<_> = (0..8)
        .map(|t| {
            let h = rt.handle().clone();
            std::thread::spawn(move || {
                (0..1000)
                    .map(|i| h.spawn(async move { t * 1000 + i }))
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    let mut all = Vec::new();
    for h in handles {
        for jh in h.join().unwrap() {
            all.push(rt.block_on(jh).unwrap());
        }
    }
    all.sort_unstable();
    assert_eq!(all, (0..8000).collect::<Vec<_>>());
}

#[test]
fn global_spawn_from_main_thread_and_foreign_thread() {
    let _w = common::watchdog("global_spawn", 20);
    let h = spawn(async { 5 });
    assert_eq!(block_on(h).unwrap(), 5);
    let v = std::thread::spawn(|| block_on(spawn(async { 6 })).unwrap())
        .join()
        .unwrap();
    assert_eq!(v, 6);
}

#[test]
fn nested_spawn_chain_100_000() {
    let _w = common::watchdog("nested_spawn_chain_100_000", 30);
    fn chain(n: usize, done: futures::channel::oneshot::Sender<usize>) {
        if n == 0 {
            done.send(0).unwrap();
        } else {
            drop(spawn(async move { chain(n - 1, done) }));
        }
    }
    let rt = Builder::new().worker_threads(2).build().unwrap();
    let (tx, rx) = futures::channel::oneshot::channel();
    rt.block_on(async move {
        chain(100_000, tx);
        rx.await.unwrap()
    });
    // Awaiting each child from its parent (a chain of JoinHandles) also works.
    fn nest(n: usize) -> futures::future::BoxFuture<'static, usize> {
        Box::pin(async move {
            if n == 0 {
                0
            } else {
                spawn(nest(n - 1)).await.unwrap() + 1
            }
        })
    }
    assert_eq!(rt.block_on(spawn(nest(10_000))).unwrap(), 10_000);
}

#[test]
fn panic_is_caught_and_worker_survives() {
    let _w = common::watchdog("panic_is_caught_and_worker_survives", 20);
    let rt = Builder::new().worker_threads(1).build().unwrap();
    for i in 0..10 {
        let err = rt
            .block_on(rt.spawn(async move {
                if i >= 0 {
                    panic!("boom {i}");
                }
            }))
            .unwrap_err();
        assert!(err.is_panic());
        assert!(!err.is_cancelled());
        assert_eq!(err.to_string(), format!("task panicked: boom {i}"));
        assert!(format!("{err:?}").contains("boom"));
        let payload = err.into_panic();
        assert_eq!(
            payload.downcast_ref::<String>().unwrap(),
            &format!("boom {i}")
        );
    }
    // The single worker still runs tasks.
    assert_eq!(rt.block_on(rt.spawn(async { 7 })).unwrap(), 7);
}

#[test]
fn panic_in_block_on_future_propagates() {
    let r = std::panic::catch_unwind(|| block_on(async { panic!("main goroutine") }));
    let payload = r.unwrap_err();
    assert_eq!(payload.downcast_ref::<&str>(), Some(&"main goroutine"));
}

#[test]
fn is_finished_and_detach() {
    let _w = common::watchdog("is_finished_and_detach", 20);
    let rt = Builder::new().worker_threads(1).build().unwrap();
    let (tx, rx) = futures::channel::oneshot::channel::<()>();
    let h = rt.spawn(async move { rx.await.unwrap() });
    assert!(!h.is_finished());
    tx.send(()).unwrap();
    rt.block_on(h).unwrap();

    // A dropped handle detaches: the task still runs.
    let (tx, rx) = std::sync::mpsc::channel();
    drop(rt.spawn(async move {
        yield_now().await;
        tx.send(42).unwrap();
    }));
    assert_eq!(rx.recv_timeout(Duration::from_secs(10)).unwrap(), 42);
}

#[test]
fn futures_spawn_trait() {
    use futures::task::{Spawn, SpawnExt};
    let _w = common::watchdog("futures_spawn_trait", 20);
    fn run_with<S: Spawn>(s: &S) -> futures::channel::oneshot::Receiver<u32> {
        let (tx, rx) = futures::channel::oneshot::channel();
        s.spawn(async move {
            tx.send(11).unwrap();
        })
        .unwrap();
        rx
    }
    let rt = Builder::new().worker_threads(1).build().unwrap();
    assert_eq!(rt.block_on(run_with(&rt)).unwrap(), 11);
    let handle = rt.handle().clone();
    assert_eq!(rt.block_on(run_with(&handle)).unwrap(), 11);
    let h = handle.spawn_with_handle(async { 3 }).unwrap();
    assert_eq!(rt.block_on(h), 3);
    assert!(handle.status().is_ok());
    drop(rt);
    assert!(handle.status().is_err());
    assert!(SpawnExt::spawn(&handle, async {}).is_err());
}

#[test]
fn yield_now_lets_others_run() {
    let _w = common::watchdog("yield_now_lets_others_run", 20);
    // One worker: a task spinning on yield_now must let the other task set the flag.
    let rt = Builder::new().worker_threads(1).build().unwrap();
    let flag = Arc::new(AtomicUsize::new(0));
    let f2 = flag.clone();
    let spinner = rt.spawn(async move {
        let mut spins = 0u64;
        while f2.load(SeqCst) == 0 {
            yield_now().await;
            spins += 1;
        }
        spins
    });
    let f3 = flag.clone();
    let setter = rt.spawn(async move { f3.store(1, SeqCst) });
    rt.block_on(setter).unwrap();
    assert!(rt.block_on(spinner).is_ok());
}

#[test]
fn self_waking_task_does_not_starve_others() {
    let _w = common::watchdog("self_waking_task_does_not_starve_others", 20);
    // Two tasks that keep waking each other (ping-pong through the LIFO slot) must not starve
    // a third task on the same single worker.
    let rt = Builder::new().worker_threads(1).build().unwrap();
    let stop = Arc::new(AtomicUsize::new(0));
    let (a_tx, mut a_rx) = futures::channel::mpsc::unbounded::<()>();
    let (b_tx, mut b_rx) = futures::channel::mpsc::unbounded::<()>();
    let s1 = stop.clone();
    let b_tx2 = b_tx.clone();
    let ping = rt.spawn(async move {
        use futures::StreamExt;
        while a_rx.next().await.is_some() {
            if s1.load(SeqCst) == 1 {
                break;
            }
            b_tx2.unbounded_send(()).unwrap();
        }
    });
    let s2 = stop.clone();
    let a_tx2 = a_tx.clone();
    let pong = rt.spawn(async move {
        use futures::StreamExt;
        while b_rx.next().await.is_some() {
            if s2.load(SeqCst) == 1 {
                let _ = a_tx2.unbounded_send(());
                break;
            }
            a_tx2.unbounded_send(()).unwrap();
        }
    });
    a_tx.unbounded_send(()).unwrap();
    let s3 = stop.clone();
    let third = rt.spawn(async move { s3.store(1, SeqCst) });
    rt.block_on(third).unwrap();
    rt.block_on(ping).unwrap();
    drop(b_tx);
    drop(a_tx);
    rt.block_on(pong).unwrap();
}

struct PanicOnDrop;

impl Drop for PanicOnDrop {
    fn drop(&mut self) {
        if !std::thread::panicking() {
            panic!("PanicOnDrop dropped");
        }
    }
}

#[test]
fn panicking_drops_do_not_take_the_worker_down() {
    let _w = common::watchdog("panicking_drops_do_not_take_the_worker_down", 20);
    let rt = Builder::new().worker_threads(1).build().unwrap();
    // The output of a detached task is dropped on the worker.
    for _ in 0..10 {
        drop(rt.spawn(async { PanicOnDrop }));
    }
    // A future whose destructor panics when it completes...
    let h = rt.spawn(async {
        let _guard = PanicOnDrop;
    });
    assert!(rt.block_on(h).unwrap_err().is_panic());
    // ...and when it is aborted while parked.
    let h = rt.spawn(async {
        let _guard = PanicOnDrop;
        std::future::pending::<()>().await;
    });
    while rt.handle().goroutine_spawn_sites().is_empty() {
        std::thread::yield_now();
    }
    h.abort();
    assert!(rt.block_on(h).unwrap_err().is_panic());
    // The single worker still runs tasks.
    assert_eq!(rt.block_on(rt.spawn(async { 5 })).unwrap(), 5);
    assert_eq!(rt.handle().num_goroutines(), 0);
}
