//! ErrGroup and WaitGroup::go on the goro runtime (feature `spawn`): the first error is
//! returned, the limit bounds concurrency, and after the first error queued work never starts
//! and running work is aborted.
#![cfg(feature = "spawn")]

mod common;

use common::watchdog;
use goro_executor::{block_on, yield_now};
use goro_sync::{ErrGroup, WaitGroup};
use std::sync::{
    atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst},
    Arc,
};

#[test]
fn wait_returns_the_first_error() {
    let _w = watchdog("wait_returns_the_first_error", 30);
    block_on(async {
        let g = ErrGroup::new();
        for i in 0..20 {
            g.go(async move {
                yield_now().await;
                if i == 7 {
                    Err(i)
                } else {
                    Ok(())
                }
            });
        }
        assert_eq!(g.wait().await, Err(7));
        assert_eq!(g.wait().await, Ok(()), "the error is handed out once");
    });
}

#[test]
fn all_ok_waits_for_everything() {
    let _w = watchdog("all_ok_waits_for_everything", 30);
    block_on(async {
        let g: ErrGroup<()> = ErrGroup::new();
        let done = Arc::new(AtomicUsize::new(0));
        for _ in 0..200 {
            let done = done.clone();
            g.go(async move {
                yield_now().await;
                done.fetch_add(1, SeqCst);
                Ok(())
            });
        }
        assert_eq!(g.wait().await, Ok(()));
        assert_eq!(done.load(SeqCst), 200);
    });
}

#[test]
fn limit_bounds_concurrency() {
    let _w = watchdog("limit_bounds_concurrency", 30);
    block_on(async {
        let mut g: ErrGroup<()> = ErrGroup::new();
        g.set_limit(3);
        let inside = Arc::new(AtomicUsize::new(0));
        let max = Arc::new(AtomicUsize::new(0));
        let ran = Arc::new(AtomicUsize::new(0));
        for _ in 0..60 {
            let (inside, max, ran) = (inside.clone(), max.clone(), ran.clone());
            g.go(async move {
                let now = inside.fetch_add(1, SeqCst) + 1;
                max.fetch_max(now, SeqCst);
                for _ in 0..3 {
                    yield_now().await;
                }
                inside.fetch_sub(1, SeqCst);
                ran.fetch_add(1, SeqCst);
                Ok(())
            });
        }
        g.wait().await.unwrap();
        assert!(max.load(SeqCst) <= 3, "{} ran at once", max.load(SeqCst));
        assert_eq!(ran.load(SeqCst), 60);
    });
}

#[test]
fn after_an_error_queued_work_never_starts() {
    let _w = watchdog("after_an_error_queued_work_never_starts", 30);
    block_on(async {
        let mut g = ErrGroup::new();
        g.set_limit(1);
        let started = Arc::new(AtomicUsize::new(0));
        g.go(async { Err("first") });
        for _ in 0..10 {
            let started = started.clone();
            g.go(async move {
                started.fetch_add(1, SeqCst);
                Ok(())
            });
        }
        assert_eq!(g.wait().await, Err("first"));
        assert_eq!(started.load(SeqCst), 0);
        // A failed group starts nothing new either.
        let started2 = started.clone();
        g.go(async move {
            started2.fetch_add(1, SeqCst);
            Ok(())
        });
        g.wait().await.unwrap();
        assert_eq!(started.load(SeqCst), 0);
    });
}

#[test]
fn after_an_error_running_work_is_aborted() {
    let _w = watchdog("after_an_error_running_work_is_aborted", 30);
    struct SetOnDrop(Arc<AtomicBool>);
    impl Drop for SetOnDrop {
        fn drop(&mut self) {
            self.0.store(true, SeqCst);
        }
    }
    block_on(async {
        let g = ErrGroup::new();
        let dropped = Arc::new(AtomicBool::new(false));
        let d = dropped.clone();
        // Would never finish on its own: `wait` returns only because it is aborted.
        g.go(async move {
            let _flag = SetOnDrop(d);
            std::future::pending::<Result<(), &str>>().await
        });
        g.go(async {
            yield_now().await;
            Err("stop")
        });
        assert_eq!(g.wait().await, Err("stop"));
        assert!(dropped.load(SeqCst), "the pending task was aborted");
    });
}

#[test]
fn a_panicking_task_counts_as_finished() {
    let _w = watchdog("a_panicking_task_counts_as_finished", 30);
    block_on(async {
        let g: ErrGroup<()> = ErrGroup::new();
        g.go(async { panic!("task panics") });
        g.go(async { Ok(()) });
        assert_eq!(g.wait().await, Ok(()));
    });
}

#[test]
fn waitgroup_go_counts_each_task() {
    let _w = watchdog("waitgroup_go_counts_each_task", 30);
    let wg = WaitGroup::new();
    let hits = Arc::new(AtomicUsize::new(0));
    for i in 0..500 {
        let hits = hits.clone();
        wg.go(async move {
            if i % 2 == 0 {
                yield_now().await;
            }
            hits.fetch_add(1, SeqCst);
        });
    }
    wg.wait_blocking();
    assert_eq!(hits.load(SeqCst), 500);
    // A panicking goroutine still calls done.
    wg.go(async { panic!("boom") });
    block_on(wg.wait());
    assert_eq!(wg.count(), 0);
}
