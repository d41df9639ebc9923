//! Loom model of the idle/parking protocol (`src/idle.rs`): a task queued by a producer is
//! always picked up, i.e. no interleaving leaves it queued while every worker sleeps.
//!
//! The workers below follow the scheduler's loop (`src/scheduler.rs`): take work, else start
//! searching (bounded), else park through `Idle`, re-checking the queue if they were the last
//! searcher; a producer pushes then notifies. A lost wakeup shows up as a loom deadlock (all
//! threads parked).
//!
//! Run: `RUSTFLAGS="--cfg loom" cargo test -p goro-executor --release --test loom_idle`
#![cfg(loom)]

use goro_executor::idle::Idle;
use loom::{
    sync::{
        atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst},
        Arc, Condvar, Mutex,
    },
    thread,
};

const WORKERS: usize = 2;

struct Pool {
    idle: Idle,
    /// Queued tasks (the run queues and the injector, collapsed into one counter).
    work: AtomicUsize,
    done: AtomicUsize,
    stop: AtomicBool,
    /// One parker per worker, then one for the main thread: `std::thread::park`/`unpark`
    /// semantics (a token that an early unpark leaves for the next park). Modelled with a
    /// mutex and condvar because loom's own `park` loses a token that arrives while the
    /// thread is blocked on a loom mutex, which std's does not.
    parkers: Vec<Parker>,
}

struct Parker {
    token: Mutex<bool>,
    cv: Condvar,
}

impl Parker {
    fn new() -> Parker {
        Parker {
            token: Mutex::new(false),
            cv: Condvar::new(),
        }
    }

    fn park(&self) {
        let mut token = self.token.lock().unwrap();
        while !*token {
            token = self.cv.wait(token).unwrap();
        }
        *token = false;
    }

    fn unpark(&self) {
        *self.token.lock().unwrap() = true;
        self.cv.notify_one();
    }
}

const MAIN: usize = WORKERS;

impl Pool {
    fn notify(&self) {
        if let Some(w) = self.idle.worker_to_notify() {
            self.unpark(w);
        }
    }

    fn unpark(&self, w: usize) {
        self.parkers[w].unpark();
    }

    fn park(&self, w: usize) {
        self.parkers[w].park();
    }

    fn take(&self) -> bool {
        let mut n = self.work.load(SeqCst);
        while n > 0 {
            match self.work.compare_exchange(n, n - 1, SeqCst, SeqCst) {
                Ok(_) => return true,
                Err(a) => n = a,
            }
        }
        false
    }

    /// Producer side: queue a task, then notify (as `Shared::schedule_remote`).
    fn push(&self) {
        self.work.fetch_add(1, SeqCst);
        self.notify();
    }
}

fn worker(pool: Arc<Pool>, idx: usize) {
    let mut searching = false;
    loop {
        if pool.take() {
            if searching {
                searching = false;
                if pool.idle.transition_worker_from_searching() {
                    pool.notify();
                }
            }
            pool.done.fetch_add(1, SeqCst);
            pool.unpark(MAIN);
            continue;
        }
        if !searching && pool.idle.transition_worker_to_searching() {
            searching = true;
            continue; // look once more as a searcher (the steal pass)
        }
        if pool.stop.load(SeqCst) {
            if searching {
                pool.idle.transition_worker_from_searching();
            }
            return;
        }
        // Parking ends the search; `searching` is set again below only if we are woken.
        let last = pool.idle.transition_worker_to_parked(idx, searching);
        if last && pool.work.load(SeqCst) > 0 {
            pool.notify();
        }
        loop {
            pool.park(idx);
            if pool.stop.load(SeqCst) {
                if !pool.idle.is_parked(idx) {
                    // A notifier picked us and counted us as searching.
                    pool.idle.transition_worker_from_searching();
                }
                return;
            }
            if !pool.idle.is_parked(idx) {
                searching = true;
                break;
            }
        }
    }
}

fn run(tasks: usize, producers: usize, preemptions: usize) {
    let mut b = loom::model::Builder::new();
    // Our bound, or a smaller one from LOOM_MAX_PREEMPTIONS (CI caps it for speed).
    b.preemption_bound = Some(
        b.preemption_bound
            .map_or(preemptions, |env| env.min(preemptions)),
    );
    b.check(move || {
        let pool = Arc::new(Pool {
            idle: Idle::new(WORKERS),
            work: AtomicUsize::new(0),
            done: AtomicUsize::new(0),
            stop: AtomicBool::new(false),
            parkers: (0..=WORKERS).map(|_| Parker::new()).collect(),
        });
        let workers: Vec<_> = (0..WORKERS)
            .map(|i| {
                let p = pool.clone();
                thread::spawn(move || worker(p, i))
            })
            .collect();
        let extra: Vec<_> = (1..producers)
            .map(|_| {
                let p = pool.clone();
                thread::spawn(move || p.push())
            })
            .collect();
        for _ in 0..tasks + 1 - producers {
            pool.push();
        }
        while pool.done.load(SeqCst) < tasks {
            pool.park(MAIN);
        }
        for e in extra {
            e.join().unwrap();
        }
        pool.stop.store(true, SeqCst);
        for w in 0..WORKERS {
            pool.unpark(w);
        }
        for w in workers {
            w.join().unwrap();
        }
        assert_eq!(pool.work.load(SeqCst), 0);
        assert_eq!(pool.done.load(SeqCst), tasks);
    });
}

#[test]
fn one_task_is_always_picked_up() {
    run(1, 1, 2);
}

#[test]
fn two_tasks_from_one_producer_are_picked_up() {
    run(2, 1, 2);
}

#[test]
fn two_tasks_from_two_producers_are_picked_up() {
    // Four threads: a smaller preemption bound keeps the run under a minute.
    run(2, 2, 1);
}
