//! Loom model of the local run queue (`src/queue.rs`): under every interleaving of the owner
//! pushing and popping and other workers stealing half, each task is taken exactly once.
//!
//! Run: `RUSTFLAGS="--cfg loom" cargo test -p goro-executor --release --test loom_queue`
#![cfg(loom)]

use goro_executor::queue::{self, Overflow, CAP};
use loom::{sync::Mutex, thread};
use std::sync::Arc;

/// The injector stand-in: records what overflowed.
#[derive(Default)]
struct Inject(Mutex<Vec<usize>>);

impl Overflow<usize> for Inject {
    fn push(&self, task: usize) {
        self.0.lock().unwrap().push(task);
    }
}

fn model(f: impl Fn() + Sync + Send + 'static) {
    let mut b = loom::model::Builder::new();
    // Our bound, or a smaller one from LOOM_MAX_PREEMPTIONS (CI caps it for speed).
    b.preemption_bound = Some(b.preemption_bound.map_or(5, |env| env.min(5)));
    b.check(f);
}

/// Every value in `0..n` was seen exactly once.
fn assert_exactly_once(mut seen: Vec<usize>, n: usize) {
    seen.sort_unstable();
    assert_eq!(seen, (0..n).collect::<Vec<_>>());
}

#[test]
fn owner_pops_while_one_worker_steals() {
    model(|| {
        let (local, steal) = queue::local::<usize>();
        let inject = Arc::new(Inject::default());
        let th = thread::spawn(move || {
            let (mine, _) = queue::local::<usize>();
            let mut got = Vec::new();
            if let Some(t) = steal.steal_into(&mine) {
                got.push(t);
                while let Some(t) = mine.pop() {
                    got.push(t);
                }
            }
            got
        });
        let mut seen = Vec::new();
        for i in 0..3 {
            local.push_back(i, &*inject);
        }
        if let Some(t) = local.pop() {
            seen.push(t);
        }
        seen.extend(th.join().unwrap());
        while let Some(t) = local.pop() {
            seen.push(t);
        }
        seen.extend(inject.0.lock().unwrap().drain(..));
        assert_exactly_once(seen, 3);
    });
}

#[test]
fn overflow_while_a_worker_steals() {
    model(|| {
        let (local, steal) = queue::local::<usize>();
        let inject = Arc::new(Inject::default());
        // Fill the queue before the stealer starts, then push past capacity concurrently
        // with the steal: exercises both overflow paths (half to the injector, and "full
        // while a steal is in progress").
        for i in 0..CAP {
            local.push_back(i, &*inject);
        }
        let th = thread::spawn(move || {
            let (mine, _) = queue::local::<usize>();
            let mut got = Vec::new();
            if let Some(t) = steal.steal_into(&mine) {
                got.push(t);
                while let Some(t) = mine.pop() {
                    got.push(t);
                }
            }
            got
        });
        local.push_back(CAP, &*inject);
        local.push_back(CAP + 1, &*inject);
        let mut seen = th.join().unwrap();
        while let Some(t) = local.pop() {
            seen.push(t);
        }
        seen.extend(inject.0.lock().unwrap().drain(..));
        assert_exactly_once(seen, CAP + 2);
    });
}

#[test]
fn two_stealers_and_the_owner() {
    model(|| {
        let (local, steal) = queue::local::<usize>();
        let inject = Arc::new(Inject::default());
        for i in 0..2 {
            local.push_back(i, &*inject);
        }
        let stealers: Vec<_> = (0..2)
            .map(|_| {
                let steal = steal.clone();
                thread::spawn(move || {
                    let (mine, _) = queue::local::<usize>();
                    let mut got = Vec::new();
                    if let Some(t) = steal.steal_into(&mine) {
                        got.push(t);
                        while let Some(t) = mine.pop() {
                            got.push(t);
                        }
                    }
                    got
                })
            })
            .collect();
        let mut seen = Vec::new();
        local.push_back(2, &*inject);
        if let Some(t) = local.pop() {
            seen.push(t);
        }
        for s in stealers {
            seen.extend(s.join().unwrap());
        }
        while let Some(t) = local.pop() {
            seen.push(t);
        }
        seen.extend(inject.0.lock().unwrap().drain(..));
        assert_exactly_once(seen, 3);
    });
}

#[test]
fn dropping_a_queue_drops_its_tasks() {
    model(|| {
        let (local, steal) = queue::local::<Arc<()>>();
        let inject = Inject::default();
        let counted = Arc::new(());
        struct Sink;
        impl Overflow<Arc<()>> for Sink {
            fn push(&self, _: Arc<()>) {}
        }
        let _ = inject;
        for _ in 0..3 {
            local.push_back(counted.clone(), &Sink);
        }
        let th = thread::spawn(move || {
            let (mine, _) = queue::local::<Arc<()>>();
            drop(steal.steal_into(&mine));
            // `mine` dropped with whatever was stolen into it.
        });
        drop(local.pop());
        th.join().unwrap();
        drop(local);
        assert_eq!(Arc::strong_count(&counted), 1);
    });
}
