//! Loom model of the timer-role protocol of `src/scheduler.rs` (`Core::park` and
//! `Shared::unpark_for_timer`): when a timer deadline is registered while workers go to sleep,
//! some worker always ends up either sleeping *with a timeout* on that deadline or woken to
//! re-evaluate it; none may sleep indefinitely with nobody watching the deadline.
//!
//! The workers follow `Core::park`: join the sleepers (`Idle`), then loop: if a deadline is
//! set, try to take the role (SeqCst CAS), fence, re-read the deadline and sleep with a
//! timeout (here: success) or without; otherwise sleep until unparked. The driver stores the
//! deadline and calls `unpark_for_timer`: fence, then unpark the role holder, or wake a
//! sleeper under the sleepers lock. A lost wakeup shows up as a loom deadlock.
//!
//! Run: `RUSTFLAGS="--cfg loom" cargo test -p goro-executor --release --test loom_timer_role`
#![cfg(loom)]

use goro_executor::idle::Idle;
use loom::{
    sync::{
        atomic::{fence, AtomicBool, AtomicUsize, Ordering::SeqCst},
        Arc, Condvar, Mutex,
    },
    thread,
};

const WORKERS: usize = 2;
const NO_OWNER: usize = usize::MAX;
const MAIN: usize = WORKERS;

/// `std::thread::park`/`unpark` semantics (see `loom_idle.rs` for why not loom's own park).
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

struct Model {
    idle: Idle,
    /// The driver's earliest deadline: 0 = none.
    deadline: AtomicUsize,
    timer_owner: AtomicUsize,
    parkers: Vec<Parker>,
    /// Some worker is watching the deadline (timed sleep) or was woken to look at it.
    watched: AtomicBool,
    stop: AtomicBool,
}

impl Model {
    /// `Shared::unpark_for_timer`.
    fn unpark_for_timer(&self) {
        fence(SeqCst);
        let owner = self.timer_owner.load(SeqCst);
        if owner != NO_OWNER {
            self.parkers[owner].unpark();
            return;
        }
        if let Some(w) = self.idle.worker_to_notify_forced() {
            self.parkers[w].unpark();
        }
    }

    fn watched(&self) {
        self.watched.store(true, SeqCst);
        self.parkers[MAIN].unpark();
    }
}

/// `Core::park`, from joining the sleepers on.
fn worker(m: Arc<Model>, idx: usize) {
    m.idle.transition_worker_to_parked(idx, false);
    loop {
        if m.stop.load(SeqCst) {
            return;
        }
        if m.deadline.load(SeqCst) != 0
            && m.timer_owner
                .compare_exchange(NO_OWNER, idx, SeqCst, SeqCst)
                .is_ok()
        {
            fence(SeqCst);
            if m.deadline.load(SeqCst) != 0 {
                // `park_timeout(deadline - now)`: this worker will wake for the timer.
                m.watched();
                m.timer_owner.store(NO_OWNER, SeqCst);
                return;
            }
            m.parkers[idx].park();
            m.timer_owner.store(NO_OWNER, SeqCst);
        } else {
            m.parkers[idx].park();
        }
        if m.stop.load(SeqCst) {
            return;
        }
        if !m.idle.is_parked(idx) {
            // Woken as a searcher: it runs the loop again, which fires due timers and,
            // before parking, re-reads the deadline.
            m.watched();
            return;
        }
    }
}

#[test]
fn a_new_deadline_is_always_watched() {
    let mut b = loom::model::Builder::new();
    // Our bound, or a smaller one from LOOM_MAX_PREEMPTIONS (CI caps it for speed).
    b.preemption_bound = Some(b.preemption_bound.map_or(3, |env| env.min(3)));
    b.check(|| {
        let m = Arc::new(Model {
            idle: Idle::new(WORKERS),
            deadline: AtomicUsize::new(0),
            timer_owner: AtomicUsize::new(NO_OWNER),
            parkers: (0..=WORKERS).map(|_| Parker::new()).collect(),
            watched: AtomicBool::new(false),
            stop: AtomicBool::new(false),
        });
        let workers: Vec<_> = (0..WORKERS)
            .map(|i| {
                let m = m.clone();
                thread::spawn(move || worker(m, i))
            })
            .collect();
        // The driver, registering a timer from a task on some other thread.
        m.deadline.store(1, SeqCst);
        m.unpark_for_timer();
        while !m.watched.load(SeqCst) {
            m.parkers[MAIN].park();
        }
        m.stop.store(true, SeqCst);
        for p in &m.parkers[..WORKERS] {
            p.unpark();
        }
        for w in workers {
            w.join().unwrap();
        }
    });
}
