//! The blocking pool: threads for `spawn_blocking`, grown on demand and shrunk when idle.
//!
//! # Design
//!
//! A blocking job is an ordinary async-task task (so it gets the same `JoinHandle`, panic
//! catching and abort-before-start) whose future runs the closure in a single poll and whose
//! schedule function pushes it onto this pool's FIFO queue instead of a worker's run queue.
//!
//! Protocol, all under one mutex (jobs are long; the lock is not the bottleneck):
//!
//! 1. `schedule`: push the job. If more threads wait idle than have already been notified,
//!    notify one (and count it in `notified`); otherwise, below `max_threads`, start a thread.
//! 2. A pool thread pops and runs jobs until the queue is empty, then waits on the condvar as
//!    `idle`. On waking it consumes one `notified` if there is one and goes back to 2; a
//!    thread that waited `keep_alive` without being notified exits (the pool shrinks).
//! 3. `shutdown`: refuse new jobs, drop the queued ones (their handles report cancellation),
//!    wake every thread; running jobs finish, then their threads exit. `wait` blocks until
//!    every thread has exited, or a deadline passes.
//!
//! The `notified` counter is what keeps the pool from both over-spawning (a job pushed while a
//! thread idles reuses it) and losing wakeups (a notified-but-not-yet-running thread is not
//! counted as available twice).

use crate::{scheduler::Shared, task::Runnable};
use std::{
    cell::Cell,
    collections::VecDeque,
    panic::{catch_unwind, AssertUnwindSafe},
    ptr,
    sync::{Arc, Condvar, Mutex, MutexGuard},
    time::{Duration, Instant},
};

/// See the module note.
pub(crate) struct Pool {
    state: Mutex<State>,
    cv: Condvar,
    done_cv: Condvar,
    max_threads: usize,
    keep_alive: Duration,
    thread_name: String,
}

#[derive(Default)]
struct State {
    queue: VecDeque<Runnable>,
    threads: usize,
    idle: usize,
    notified: usize,
    shutdown: bool,
    next_id: usize,
}

impl std::fmt::Debug for Pool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let st = self.lock();
        f.debug_struct("Pool")
            .field("threads", &st.threads)
            .field("idle", &st.idle)
            .field("queued", &st.queue.len())
            .finish()
    }
}

impl Pool {
    pub(crate) fn new(max_threads: usize, keep_alive: Duration, thread_name: String) -> Pool {
        Pool {
            state: Mutex::new(State::default()),
            cv: Condvar::new(),
            done_cv: Condvar::new(),
            max_threads: max_threads.max(1),
            keep_alive,
            thread_name,
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // No user code runs under this lock.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(crate) fn schedule(&self, job: Runnable, shared: &Arc<Shared>) {
        let mut st = self.lock();
        if st.shutdown {
            drop(st);
            drop(job); // cancels it: its JoinHandle reports cancellation
            return;
        }
        st.queue.push_back(job);
        if st.idle > st.notified {
            st.notified += 1;
            self.cv.notify_one();
        } else if st.threads < self.max_threads {
            st.threads += 1;
            let id = st.next_id;
            st.next_id += 1;
            let shared2 = shared.clone();
            let spawned = std::thread::Builder::new()
                .name(format!("{}-blocking-{id}", self.thread_name))
                .spawn(move || run_thread(shared2));
            if spawned.is_err() {
                // Could not start a thread: an existing one (if any) will get to the job.
                st.threads -= 1;
                if st.threads == 0 {
                    let job = st.queue.pop_back();
                    drop(st);
                    drop(job);
                }
            }
        }
    }

    pub(crate) fn shutdown(&self) {
        let mut st = self.lock();
        st.shutdown = true;
        let queued = std::mem::take(&mut st.queue);
        self.cv.notify_all();
        drop(st);
        drop(queued);
    }

    /// Waits until every pool thread has exited (but the calling one, if it is a thread of
    /// this pool). Returns `false` if `deadline` passed first.
    pub(crate) fn wait(&self, deadline: Option<Instant>) -> bool {
        let own = usize::from(CURRENT_POOL.with(|p| ptr::eq(p.get(), self)));
        let mut st = self.lock();
        while st.threads > own {
            match deadline {
                None => st = self.done_cv.wait(st).unwrap_or_else(|e| e.into_inner()),
                Some(d) => {
                    let now = Instant::now();
                    if now >= d {
                        return false;
                    }
                    st = self
                        .done_cv
                        .wait_timeout(st, d - now)
                        .unwrap_or_else(|e| e.into_inner())
                        .0;
                }
            }
        }
        true
    }
}

thread_local! {
    /// The pool the current thread belongs to, if it is a pool thread.
    static CURRENT_POOL: Cell<*const Pool> = const { Cell::new(ptr::null()) };
}

fn run_thread(shared: Arc<Shared>) {
    let _enter = crate::scheduler::enter(&crate::runtime::Handle::from_shared(shared.clone()));
    let pool = &shared.blocking;
    CURRENT_POOL.with(|p| p.set(pool));
    let mut st = pool.lock();
    loop {
        if let Some(job) = st.queue.pop_front() {
            drop(st);
            // The job's wrapper catches panics; this backstop keeps the thread's accounting
            // right whatever happens.
            let _ = catch_unwind(AssertUnwindSafe(|| job.run()));
            st = pool.lock();
            continue;
        }
        if st.shutdown {
            break;
        }
        st.idle += 1;
        let (guard, res) = pool
            .cv
            .wait_timeout(st, pool.keep_alive)
            .unwrap_or_else(|e| e.into_inner());
        st = guard;
        st.idle -= 1;
        if st.notified > 0 {
            st.notified -= 1;
            continue;
        }
        if res.timed_out() && st.queue.is_empty() {
            break;
        }
    }
    st.threads -= 1;
    pool.done_cv.notify_all();
}
