//! The work-stealing scheduler: worker threads, where a woken task goes, and how idle workers
//! sleep and wake.
//!
//! # Algorithm
//!
//! This is the design of Go's runtime scheduler (`proc.go`: per-P run queues, `runnext`, a
//! global run queue checked every 61 schedticks, spinning Ms) as tokio's multi-thread
//! scheduler (`worker.rs`) also implements it:
//!
//! * every worker owns a bounded local queue ([`crate::queue`]) that others steal half of;
//! * a global injector (`concurrent-queue`) takes tasks scheduled from outside the workers and
//!   the overflow of full local queues;
//! * a LIFO slot per worker holds the task most recently woken *by the running task* (a
//!   message receiver, a freshly spawned child); it runs right after the current task, so
//!   message passing between two tasks stays on one worker and in cache;
//! * idle workers park through [`crate::idle`], which wakes at most one worker per burst of
//!   new work and bounds the number of searching (stealing) workers.
//!
//! # Where a woken task goes (`Shared::schedule`)
//!
//! 1. Woken on one of this runtime's workers while a task runs, not by itself: into the LIFO
//!    slot; the task it displaces goes to the back of the local queue, and a parked worker is
//!    notified if there is now more than one task here (something to steal; "Monitor" says
//!    what happens to a lone task behind a task that never returns).
//! 2. Woken by itself while running (`yield_now`, as async-task reports through
//!    `ScheduleInfo::woken_while_running`), or woken on a worker outside any task (timers):
//!    the back of the local queue, behind the ready tasks.
//! 3. Anywhere else (another thread, another runtime): the injector, then notify.
//!
//! # Fairness
//!
//! * The LIFO slot runs at most `LIFO_BUDGET` tasks in a row; then the slot's task goes to the
//!   back of the local queue, so two tasks ping-ponging cannot starve the queue.
//! * Every `GLOBAL_INTERVAL` ticks the worker takes from the injector before its own queue, so
//!   a busy local queue cannot starve tasks scheduled from outside (Go uses 61 as well).
//! * `yield_now` goes to the back of the local queue (rule 2).
//!
//! # Worker loop
//!
//! ```text
//! loop {
//!     tick += 1
//!     every GLOBAL_INTERVAL ticks: fire due timers; injector first
//!     task = LIFO chain / local queue / injector batch / steal half from a random victim
//!     found  -> (leave searching; if we were the last searcher, wake one more) run it
//!     none   -> park: fire due timers; go to sleep in `idle`; if we were the last searcher,
//!               re-check every queue and wake a worker if one has work; sleep until
//!               notified (one sleeper also sleeps with a timeout until the next timer)
//! }
//! ```
//!
//! # Monitor
//!
//! A task that never returns from `poll` (a CPU-bound loop) keeps the tasks queued behind it
//! on its worker, and the LIFO slot is not in the stealable queue: with a plain slot,
//! `spawn(child); loop {}` starved the child for good, however many workers were idle. Go's
//! `sysmon` is the backstop there; ours is the monitor thread (`run_monitor`). Every
//! `MONITOR_MIN` (backing off to `MONITOR_MAX` while no worker runs anything) it reads each
//! worker's poll counter. A worker whose counter has not moved since the last check while
//! tasks wait in its queue or its LIFO slot is stuck: the monitor records the poll it is
//! stuck in (`stuck_at`) and notifies a parked worker. Thieves take from a stuck worker's
//! LIFO slot as well as from its queue (the slot is an atomic pointer, `slot.rs`, so a task
//! leaves it exactly once), so the waiting tasks run within one or two check intervals
//! (10-20 ms; Go's `sysmon` preempts after 10 ms). `tests/starvation.rs` checks both cases:
//! a child spawned by a spinning parent, and tasks woken by one.
//!
//! The monitor stays off the hot path: workers only store their poll counter (a plain store
//! to their own line) at each poll.
//!
//! # Timers
//!
//! The runtime owns one `time::Driver`. Workers fire due timers every `GLOBAL_INTERVAL` ticks
//! and before parking. Of the parked workers, one at a time takes the *timer role*
//! (`timer_owner`) and sleeps with a timeout until the driver's next deadline; the others sleep
//! until notified. When a timer with an earlier deadline is registered, the driver calls
//! [`Shared::unpark_for_timer`]: it unparks the role holder (which re-reads the deadline), or,
//! if none, wakes one sleeper under the sleepers lock so it takes the role. A worker reads the
//! deadline only after joining the sleepers under that same lock, so either it sees the new
//! deadline or the driver's callback sees it asleep and wakes it. `tests/loom_timer_role.rs`
//! model-checks this protocol.
//!
//! # Shutdown protocol (`Runtime` drop / `shutdown_timeout`)
//!
//! 1. Set `shutdown`, close the injector (schedules from anywhere now drop the task, which
//!    drops its future), shut the blocking pool, unpark every worker, wake the monitor (which
//!    exits).
//! 2. Each worker leaves its loop, detaches from the thread-local context, and drops the tasks
//!    in its LIFO slot and local queue.
//! 3. The runtime waits for the workers (up to the timeout) and joins them.
//! 4. It drains the injector, then marks every task left in the registry (the parked ones)
//!    aborted and wakes them: their schedule finds the injector closed and drops them, which
//!    drops their futures. Then the timer driver drops its pending timers.

use crate::{
    idle::Idle,
    queue::{self, Local, Steal},
    registry::Registry,
    slot::Slot,
    task::{BlockingTask, JoinHandle, Runnable, TaskMeta, Wrapped},
    time,
};
use concurrent_queue::ConcurrentQueue;
use std::{
    cell::{Cell, RefCell},
    future::Future,
    panic::{catch_unwind, AssertUnwindSafe, Location},
    ptr,
    sync::{
        atomic::{
            fence, AtomicBool, AtomicUsize,
            Ordering::{Relaxed, SeqCst},
        },
        Arc, Condvar, Mutex, OnceLock,
    },
    thread::{self, Thread},
    time::{Duration, Instant},
};

/// Ticks between two checks of the injector ahead of the local queue (and of the timers).
const GLOBAL_INTERVAL: u32 = 61;
/// Tasks run in a row from the LIFO slot before it yields to the local queue.
const LIFO_BUDGET: u32 = 3;
/// No worker holds the timer role.
const NO_OWNER: usize = usize::MAX;
/// The monitor's check interval while workers run tasks, and the longest one it backs off
/// to while they are all idle. Go's `sysmon` preempts a goroutine after 10 ms as well. With
/// a 1 ms interval a `select_rx` harness ran about 20% slower (the monitor's wake-ups
/// preempt busy workers on a 2-core machine); 10 ms measured within noise of no monitor.
const MONITOR_MIN: Duration = Duration::from_millis(10);
const MONITOR_MAX: Duration = Duration::from_millis(100);
/// `Remote::stuck_at` when the monitor has not found the worker stuck.
const NOT_STUCK: usize = usize::MAX;

/// State shared by a runtime's workers and handles.
pub(crate) struct Shared {
    injector: ConcurrentQueue<Runnable>,
    remotes: Box<[Remote]>,
    idle: Idle,
    pub(crate) registry: Registry,
    driver: time::Driver,
    pub(crate) blocking: crate::blocking::Pool,
    shutdown: AtomicBool,
    timer_owner: AtomicUsize,
    exited: Mutex<usize>,
    exited_cv: Condvar,
    /// The monitor sleeps on this between checks; shutdown wakes it.
    monitor: Mutex<()>,
    monitor_cv: Condvar,
}

/// The part of a worker that other threads see. The fields the worker writes on every poll
/// or hand-off live in their own cache lines (`Owned`), apart from the ones thieves read on
/// every steal attempt: sharing a line made `yield_many` 1.6-2.9x slower in an A/B run (9.2
/// and 16.9 ms against 5.8-6.1 ms), as a searching worker's reads kept taking the line from
/// the owner.
struct Remote {
    steal: Steal<Runnable>,
    thread: OnceLock<Thread>,
    /// The `polls` value during which the monitor found this worker stuck with queued tasks,
    /// or `NOT_STUCK`. Thieves may take the LIFO slot while `polls` still equals it.
    stuck_at: AtomicUsize,
    owned: Owned,
}

/// Written by the owner; read by others only when the monitor found the owner stuck (and by
/// the monitor itself, every check interval).
#[repr(align(128))]
struct Owned {
    /// The LIFO slot (see "Where a woken task goes"); other workers take from it only while
    /// `stuck_at` says the owner is stuck (see "Monitor").
    lifo: Slot<Runnable>,
    /// Polls this worker has started.
    polls: AtomicUsize,
}

impl Remote {
    /// Whether the worker is still in the poll during which the monitor found it stuck.
    fn is_stuck(&self) -> bool {
        // Relaxed: a heuristic; a stale answer only makes a thief skip the slot (the monitor
        // retries at its next check) or take a task its owner was about to run (it then runs
        // here instead: the slot hands it to exactly one of them).
        let at = self.stuck_at.load(Relaxed);
        at != NOT_STUCK && at == self.owned.polls.load(Relaxed)
    }
}

impl Remote {
    fn unpark(&self) {
        if let Some(t) = self.thread.get() {
            t.unpark();
        }
    }
}

impl std::fmt::Debug for Shared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Shared")
            .field("workers", &self.remotes.len())
            .field("injector", &self.injector.len())
            .field("live_tasks", &self.registry.len())
            .field("shutdown", &self.shutdown.load(SeqCst))
            .finish_non_exhaustive()
    }
}

impl queue::Overflow<Runnable> for Shared {
    fn push(&self, task: Runnable) {
        // A closed injector means shutdown: dropping the task drops its future.
        let _ = self.injector.push(task);
    }
}

/// What the current thread is, for the scheduler.
struct Context {
    /// The runtime that `spawn` and `Handle::current` use on this thread, if any.
    handle: RefCell<Option<crate::runtime::Handle>>,
    /// The worker running on this thread, while it runs.
    core: Cell<*const Core>,
    /// Registry shard for spawns from this thread (not a worker).
    shard_hint: Cell<usize>,
}

thread_local! {
    static CONTEXT: Context = const {
        Context {
            handle: RefCell::new(None),
            core: Cell::new(ptr::null()),
            shard_hint: Cell::new(usize::MAX),
        }
    };
}

/// The current thread's runtime handle, if it is inside one.
pub(crate) fn with_context_handle<R>(f: impl FnOnce(Option<&crate::runtime::Handle>) -> R) -> R {
    let mut f = Some(f);
    let done = CONTEXT.try_with(|cx| match cx.handle.try_borrow() {
        Ok(h) => Some((f.take().expect("called once"))(h.as_ref())),
        Err(_) => None,
    });
    if let Ok(Some(r)) = done {
        return r;
    }
    // Thread-local storage already destroyed (thread exit) or borrowed: no current runtime.
    (f.take().expect("called once"))(None)
}

/// Installs `handle` as the current thread's runtime until the guard drops.
pub(crate) fn enter(handle: &crate::runtime::Handle) -> EnterGuard {
    let prev = CONTEXT.with(|cx| cx.handle.replace(Some(handle.clone())));
    EnterGuard { prev }
}

/// Restores the previous current runtime on drop.
pub(crate) struct EnterGuard {
    prev: Option<crate::runtime::Handle>,
}

impl Drop for EnterGuard {
    fn drop(&mut self) {
        let prev = self.prev.take();
        let _ = CONTEXT.try_with(|cx| cx.handle.replace(prev));
    }
}

/// Whether the current thread is a worker of some runtime (where blocking is not allowed).
pub(crate) fn on_worker_thread() -> bool {
    CONTEXT
        .try_with(|cx| !cx.core.get().is_null())
        .unwrap_or(false)
}

/// A worker's own state, on its thread's stack.
struct Core {
    index: usize,
    shared: Arc<Shared>,
    local: Local<Runnable>,
    in_task: Cell<bool>,
    searching: Cell<bool>,
    tick: Cell<u32>,
    rng: Cell<u64>,
}

impl Shared {
    pub(crate) fn new(
        num_workers: usize,
        blocking: crate::blocking::Pool,
    ) -> (Arc<Shared>, Vec<Local<Runnable>>) {
        let mut locals = Vec::with_capacity(num_workers);
        let mut remotes = Vec::with_capacity(num_workers);
        for _ in 0..num_workers {
            let (local, steal) = queue::local();
            locals.push(local);
            remotes.push(Remote {
                steal,
                thread: OnceLock::new(),
                stuck_at: AtomicUsize::new(NOT_STUCK),
                owned: Owned {
                    lifo: Slot::new(),
                    polls: AtomicUsize::new(0),
                },
            });
        }
        let shared = Arc::new_cyclic(|weak: &std::sync::Weak<Shared>| {
            let weak = weak.clone();
            let unpark: Arc<dyn Fn() + Send + Sync> = Arc::new(move || {
                if let Some(shared) = weak.upgrade() {
                    shared.unpark_for_timer();
                }
            });
            Shared {
                injector: ConcurrentQueue::unbounded(),
                remotes: remotes.into_boxed_slice(),
                idle: Idle::new(num_workers),
                registry: Registry::new(num_workers * 2 + 2),
                driver: time::Driver::new(unpark),
                blocking,
                shutdown: AtomicBool::new(false),
                timer_owner: AtomicUsize::new(NO_OWNER),
                exited: Mutex::new(0),
                exited_cv: Condvar::new(),
                monitor: Mutex::new(()),
                monitor_cv: Condvar::new(),
            }
        });
        (shared, locals)
    }

    pub(crate) fn num_workers(&self) -> usize {
        self.remotes.len()
    }

    pub(crate) fn timer_driver(&self) -> &time::Driver {
        &self.driver
    }

    pub(crate) fn is_shutdown(&self) -> bool {
        self.shutdown.load(SeqCst)
    }

    /// Spawns a goroutine on this runtime.
    pub(crate) fn spawn<F>(
        self: &Arc<Self>,
        fut: F,
        location: &'static Location<'static>,
    ) -> JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        self.registry.task_started(shard_hint());
        let meta = TaskMeta::new(true, location, self);
        let shared = self.clone();
        let schedule = async_task::WithInfo(move |r, info: async_task::ScheduleInfo| {
            shared.schedule(r, info.woken_while_running)
        });
        // SAFETY: `spawn_unchecked` lets the future borrow the task's own metadata, which it
        // outlives by construction (async-task drops the future before the metadata). The
        // future is `Send` (`F: Send`, `&TaskMeta: Send`) and `'static` apart from that
        // borrow, and the schedule function is `Send + Sync + 'static`, so the runnable and
        // its wakers may move to any thread.
        let (runnable, task) = unsafe {
            async_task::Builder::new()
                .metadata(meta)
                .spawn_unchecked(move |m: &TaskMeta| Wrapped::new(fut, m), schedule)
        };
        runnable.schedule();
        JoinHandle::new(task)
    }

    /// Runs `f` on the blocking pool.
    pub(crate) fn spawn_blocking<F, R>(
        self: &Arc<Self>,
        f: F,
        location: &'static Location<'static>,
    ) -> JoinHandle<R>
    where
        F: FnOnce() -> R + Send + 'static,
        R: Send + 'static,
    {
        let meta = TaskMeta::new(false, location, self);
        let shared = self.clone();
        let schedule = move |r: Runnable| shared.blocking.schedule(r, &shared);
        // SAFETY: as in `spawn`: the future borrows only the task's metadata; it and the
        // schedule function are `Send`, the schedule function is `Sync + 'static`.
        let (runnable, task) = unsafe {
            async_task::Builder::new().metadata(meta).spawn_unchecked(
                move |m: &TaskMeta| Wrapped::new(BlockingTask(Some(f)), m),
                schedule,
            )
        };
        runnable.schedule();
        JoinHandle::new(task)
    }

    /// The schedule function of every goroutine (see "Where a woken task goes").
    fn schedule(&self, task: Runnable, woken_while_running: bool) {
        let core = CONTEXT.try_with(|cx| cx.core.get()).unwrap_or(ptr::null());
        if !core.is_null() {
            // SAFETY: `core` is set only while the worker's `Core` lives on this thread's stack
            // (`run_worker` clears it before the `Core` is dropped), and we are on that thread.
            let core = unsafe { &*core };
            if ptr::eq(Arc::as_ptr(&core.shared), self) {
                core.schedule_local(task, woken_while_running);
                return;
            }
        }
        self.schedule_remote(task);
    }

    fn schedule_remote(&self, task: Runnable) {
        if let Err(e) = self.injector.push(task) {
            // Closed: the runtime is shutting down. Dropping the task drops its future.
            drop(e.into_inner());
            return;
        }
        self.notify_parked();
    }

    fn notify_parked(&self) {
        if let Some(worker) = self.idle.worker_to_notify() {
            self.remotes[worker].unpark();
        }
    }

    /// Whether any queue holds a task (a snapshot, for the last searcher's re-check).
    fn has_work(&self) -> bool {
        !self.injector.is_empty()
            || self
                .remotes
                .iter()
                .any(|r| !r.steal.is_empty() || (r.is_stuck() && r.owned.lifo.is_occupied()))
    }

    /// Called by the timer driver when a timer with an earlier deadline was registered.
    pub(crate) fn unpark_for_timer(&self) {
        // SeqCst fence: the driver stored the new deadline before calling us; a worker takes
        // the role with a SeqCst CAS, then a fence, then reads the deadline. The two fences
        // order the store-then-load pairs so one side sees the other (store buffering).
        fence(SeqCst);
        let owner = self.timer_owner.load(SeqCst);
        if owner != NO_OWNER {
            self.remotes[owner].unpark();
            return;
        }
        if let Some(worker) = self.idle.worker_to_notify_forced() {
            self.remotes[worker].unpark();
        }
    }

    /// Step 1 of the shutdown protocol. Returns `false` if shutdown had already begun.
    pub(crate) fn begin_shutdown(&self) -> bool {
        if self.shutdown.swap(true, SeqCst) {
            return false;
        }
        self.injector.close();
        self.blocking.shutdown();
        for r in self.remotes.iter() {
            r.unpark();
        }
        // Under the monitor's lock: it checks the flag under it before every wait.
        let _m = self.monitor.lock().unwrap_or_else(|e| e.into_inner());
        self.monitor_cv.notify_all();
        true
    }

    /// Counts `k` workers whose threads could not be started as exited (for step 3).
    pub(crate) fn workers_not_started(&self, k: usize) {
        let mut exited = self.exited.lock().unwrap_or_else(|e| e.into_inner());
        *exited += k;
        self.exited_cv.notify_all();
    }

    /// Step 3: waits until every worker left its loop. Returns `false` on timeout.
    pub(crate) fn wait_workers(&self, deadline: Option<Instant>) -> bool {
        let mut exited = self.exited.lock().unwrap_or_else(|e| e.into_inner());
        while *exited < self.remotes.len() {
            match deadline {
                None => {
                    exited = self
                        .exited_cv
                        .wait(exited)
                        .unwrap_or_else(|e| e.into_inner())
                }
                Some(d) => {
                    let now = Instant::now();
                    if now >= d {
                        return false;
                    }
                    exited = self
                        .exited_cv
                        .wait_timeout(exited, d - now)
                        .unwrap_or_else(|e| e.into_inner())
                        .0;
                }
            }
        }
        true
    }

    /// Step 4: drops what is still queued, then cancels the parked tasks.
    pub(crate) fn finish_shutdown(&self) {
        while let Ok(task) = self.injector.pop() {
            drop(task);
        }
        for waker in self.registry.abort_all() {
            waker.wake();
        }
        self.driver.shutdown();
    }

    /// Whether the current thread is one of this runtime's workers.
    pub(crate) fn is_own_worker_thread(&self) -> bool {
        let core = CONTEXT.try_with(|cx| cx.core.get()).unwrap_or(ptr::null());
        // SAFETY: see `schedule`.
        !core.is_null() && ptr::eq(Arc::as_ptr(unsafe { &(*core).shared }), self)
    }
}

/// The registry shard of this thread (a worker's index, else a random per-thread number).
pub(crate) fn shard_hint() -> usize {
    CONTEXT
        .try_with(|cx| {
            let core = cx.core.get();
            if !core.is_null() {
                // SAFETY: see `Shared::schedule`.
                return unsafe { (*core).index };
            }
            let mut hint = cx.shard_hint.get();
            if hint == usize::MAX {
                hint = fastrand::usize(..usize::MAX);
                cx.shard_hint.set(hint);
            }
            hint
        })
        .unwrap_or(0)
}

/// The body of worker thread `index`.
pub(crate) fn run_worker(shared: Arc<Shared>, index: usize, local: Local<Runnable>) {
    let _ = shared.remotes[index].thread.set(thread::current());
    let core = Core {
        index,
        shared: shared.clone(),
        local,
        in_task: Cell::new(false),
        searching: Cell::new(false),
        tick: Cell::new(0),
        rng: Cell::new(0x9E37_79B9_7F4A_7C15 ^ (index as u64 + 1)),
    };
    let _enter = enter(&crate::runtime::Handle::from_shared(shared.clone()));
    {
        /// Clears the thread-local `core` pointer even if `run` unwinds, so it never dangles.
        struct Detach;
        impl Drop for Detach {
            fn drop(&mut self) {
                let _ = CONTEXT.try_with(|cx| cx.core.set(ptr::null()));
            }
        }
        CONTEXT.with(|cx| cx.core.set(&core));
        let _detach = Detach;
        core.run();
        // Shutdown step 2. `_detach` detaches first, so that tasks woken by the drops below
        // go to the closed injector (and are dropped) instead of into the queue being drained.
    }
    drop(core.remote().owned.lifo.take());
    while let Some(task) = core.local.pop() {
        drop(task);
    }
    let mut exited = shared.exited.lock().unwrap_or_else(|e| e.into_inner());
    *exited += 1;
    shared.exited_cv.notify_all();
}

/// The body of the monitor thread (see "Monitor").
pub(crate) fn run_monitor(shared: Arc<Shared>) {
    // The poll counters as of the last check (`usize::MAX`: none yet).
    let mut last = vec![usize::MAX; shared.remotes.len()];
    let mut interval = MONITOR_MIN;
    let mut guard = shared.monitor.lock().unwrap_or_else(|e| e.into_inner());
    loop {
        if shared.is_shutdown() {
            return;
        }
        guard = shared
            .monitor_cv
            .wait_timeout(guard, interval)
            .unwrap_or_else(|e| e.into_inner())
            .0;
        if shared.is_shutdown() {
            return;
        }
        let mut active = false;
        for (r, last) in shared.remotes.iter().zip(last.iter_mut()) {
            // Relaxed: see `Core::poll`.
            let polls = r.owned.polls.load(Relaxed);
            if polls != *last {
                *last = polls;
                active = true;
            } else if !r.steal.is_empty() || r.owned.lifo.is_occupied() {
                // The same poll since the last check, with tasks waiting behind it.
                active = true;
                // Relaxed: a hint for thieves (see `Remote::is_stuck`); the notification
                // below, or the next check's, gets a worker to read it.
                r.stuck_at.store(polls, Relaxed);
                shared.notify_parked();
            }
        }
        interval = if active {
            MONITOR_MIN
        } else {
            (interval * 2).min(MONITOR_MAX)
        };
    }
}

impl Core {
    fn remote(&self) -> &Remote {
        &self.shared.remotes[self.index]
    }

    fn owned(&self) -> &Owned {
        &self.remote().owned
    }

    fn run(&self) {
        let shared = &*self.shared;
        while !shared.is_shutdown() {
            let tick = self.tick.get().wrapping_add(1);
            self.tick.set(tick);
            let task = if tick % GLOBAL_INTERVAL == 0 {
                shared.driver.process_expired();
                shared.injector.pop().ok().or_else(|| self.local.pop())
            } else {
                self.local.pop().or_else(|| self.pop_injector())
            };
            if let Some(task) = task {
                self.run_task(task);
                continue;
            }
            if let Some(task) = self.steal_work() {
                self.run_task(task);
                continue;
            }
            self.park();
        }
    }

    /// Takes a task from the injector, and a fair share more into the local queue.
    fn pop_injector(&self) -> Option<Runnable> {
        let shared = &*self.shared;
        if shared.injector.is_empty() {
            return None;
        }
        let first = shared.injector.pop().ok()?;
        let share = shared.injector.len() / shared.remotes.len();
        let room = queue::CAP / 2 - self.local.len().min(queue::CAP / 2);
        let n = share.min(room).min(64);
        let mut moved = 0;
        for _ in 0..n {
            match shared.injector.pop() {
                Ok(task) => {
                    self.local.push_back(task, shared);
                    moved += 1;
                }
                Err(_) => break,
            }
        }
        if moved > 0 {
            shared.notify_parked();
        }
        Some(first)
    }

    fn next_rand(&self) -> u64 {
        // xorshift64*: victim selection only needs to spread stealers out.
        let mut x = self.rng.get();
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.rng.set(x);
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn steal_work(&self) -> Option<Runnable> {
        let shared = &*self.shared;
        if !self.searching.get() {
            if !shared.idle.transition_worker_to_searching() {
                return None;
            }
            self.searching.set(true);
        }
        let n = shared.remotes.len();
        let start = (self.next_rand() % n as u64) as usize;
        for i in 0..n {
            let victim = (start + i) % n;
            if victim == self.index {
                continue;
            }
            let remote = &shared.remotes[victim];
            if let Some(task) = remote.steal.steal_into(&self.local) {
                return Some(task);
            }
            if remote.is_stuck() {
                if let Some(task) = remote.owned.lifo.take() {
                    return Some(task);
                }
            }
        }
        self.pop_injector()
    }

    fn run_task(&self, task: Runnable) {
        let shared = &*self.shared;
        if self.searching.replace(false) && shared.idle.transition_worker_from_searching() {
            // We were the last searcher: there may be more work behind this task.
            shared.notify_parked();
        }
        self.poll(task);
        let mut budget = LIFO_BUDGET;
        while let Some(task) = self.owned().lifo.take() {
            if budget == 0 {
                self.local.push_back(task, shared);
                self.notify_if_stealable();
                break;
            }
            budget -= 1;
            self.poll(task);
        }
    }

    fn poll(&self, task: Runnable) {
        // Relaxed: only this worker writes the counter, and the monitor needs to see it move
        // eventually, not in order with anything else.
        let polls = &self.owned().polls;
        polls.store(polls.load(Relaxed).wrapping_add(1), Relaxed);
        self.in_task.set(true);
        // `Wrapped` catches the future's panics; this is a backstop so that nothing (not even
        // a bug in a waker) unwinds through the worker loop.
        let _ = catch_unwind(AssertUnwindSafe(|| task.run()));
        self.in_task.set(false);
    }

    fn schedule_local(&self, task: Runnable, woken_while_running: bool) {
        let shared = &*self.shared;
        if woken_while_running || !self.in_task.get() {
            self.local.push_back(task, shared);
            self.notify_if_stealable();
        } else if let Some(prev) = self.owned().lifo.put(task) {
            self.local.push_back(prev, shared);
            self.notify_if_stealable();
        }
    }

    /// Wakes a parked worker if this one holds more tasks than the one it runs next (tokio's
    /// `should_notify_others`). With a single task there is nothing to steal: this worker
    /// runs it, when the current task returns (or, if that task never returns, a worker the
    /// monitor wakes steals it; see "Monitor"). A searching worker does not notify here; when
    /// it finds work it leaves the searching state and, if it was the last searcher,
    /// notifies then (`run_task`).
    fn notify_if_stealable(&self) {
        if !self.searching.get()
            && self.local.len() + usize::from(self.owned().lifo.is_occupied()) > 1
        {
            self.shared.notify_parked();
        }
    }

    fn park(&self) {
        let shared = &*self.shared;
        // An expired timer is work: fire them before sleeping.
        shared.driver.process_expired();
        if !self.local.is_empty() || self.owned().lifo.is_occupied() {
            return;
        }
        let was_searching = self.searching.replace(false);
        if shared
            .idle
            .transition_worker_to_parked(self.index, was_searching)
            && shared.has_work()
        {
            // We were the last searcher, and work arrived meanwhile: don't let it sit.
            shared.notify_parked();
        }
        loop {
            if shared.is_shutdown() {
                return;
            }
            let mut timed = None;
            if shared.driver.next_deadline().is_some()
                && shared
                    .timer_owner
                    .compare_exchange(NO_OWNER, self.index, SeqCst, SeqCst)
                    .is_ok()
            {
                // SeqCst fence: pairs with the one in `unpark_for_timer` (see there).
                fence(SeqCst);
                if let Some(deadline) = shared.driver.next_deadline() {
                    let now = Instant::now();
                    if deadline > now {
                        thread::park_timeout(deadline - now);
                    }
                    timed = Some(deadline);
                } else {
                    thread::park();
                }
                shared.timer_owner.store(NO_OWNER, SeqCst);
            } else {
                thread::park();
            }
            if shared.is_shutdown() {
                return;
            }
            if let Some(deadline) = timed {
                if Instant::now() >= deadline && shared.idle.unpark_worker_by_id(self.index) {
                    // Woken by the clock: fire the timers; the woken tasks land in our queue.
                    shared.driver.process_expired();
                    return;
                }
            }
            if !shared.idle.is_parked(self.index) {
                // A notifier chose us and counted us as searching.
                self.searching.set(true);
                return;
            }
        }
    }
}

#[allow(dead_code)]
fn _assert_send_sync() {
    fn is<T: Send + Sync>() {}
    is::<Shared>();
}
