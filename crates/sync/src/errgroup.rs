//! `ErrGroup<E>`: Go's `golang.org/x/sync/errgroup` on the goro runtime (feature `spawn`).
//!
//! Shared state under a small lock (the first error, the queue of work not started because of
//! the limit, the handles of running tasks) plus a [`WaitGroup`] counting every piece of work
//! that has not finished or been discarded. Each spawned task carries a guard whose `Drop`
//! (completion, panic, or abort) removes its handle, starts the next queued piece if the group
//! has not failed, and calls `done`. The first error marks the group failed, discards the
//! queue and aborts the other running tasks. User futures are only dropped outside the lock.

use crate::WaitGroup;
use goro_executor::JoinHandle;
use std::{
    collections::{HashMap, VecDeque},
    fmt,
    future::Future,
    pin::Pin,
    sync::{Arc, Mutex, MutexGuard},
};

type Work<E> = Pin<Box<dyn Future<Output = Result<(), E>> + Send + 'static>>;

struct State<E> {
    first_error: Option<E>,
    failed: bool,
    limit: Option<usize>,
    running: usize,
    queued: VecDeque<Work<E>>,
    handles: HashMap<u64, JoinHandle<()>>,
    next_id: u64,
}

struct Shared<E> {
    state: Mutex<State<E>>,
    wg: WaitGroup,
}

/// Runs fallible tasks on the goro runtime and returns the first error, like Go's
/// `errgroup.Group` (feature `spawn`).
///
/// [`go`](ErrGroup::go) spawns a task (or queues it, if [`set_limit`](ErrGroup::set_limit)
/// caps how many run at once); [`wait`](ErrGroup::wait) waits for all of them and returns the
/// first error. After the first error the group starts no more queued work and aborts the
/// tasks that still run, as a Go group with a cancelled context would have them stop. Cloning
/// gives another handle to the same group (so tasks can add work to it).
///
/// # Examples
///
/// ```
/// use goro_sync::ErrGroup;
///
/// goro_executor::block_on(async {
///     let mut g: ErrGroup<String> = ErrGroup::new();
///     g.set_limit(2);
///     for i in 0..5 {
///         g.go(async move {
///             if i == 3 { Err(format!("task {i} failed")) } else { Ok(()) }
///         });
///     }
///     assert_eq!(g.wait().await, Err("task 3 failed".to_string()));
/// });
/// ```
pub struct ErrGroup<E> {
    shared: Arc<Shared<E>>,
}

impl<E> Clone for ErrGroup<E> {
    fn clone(&self) -> Self {
        ErrGroup {
            shared: Arc::clone(&self.shared),
        }
    }
}

impl<E: Send + 'static> ErrGroup<E> {
    /// Creates an empty group with no concurrency limit.
    ///
    /// # Examples
    ///
    /// ```
    /// let g: goro_sync::ErrGroup<std::io::Error> = goro_sync::ErrGroup::new();
    /// assert!(goro_executor::block_on(g.wait()).is_ok(), "no work: no error");
    /// ```
    ///
    /// # Panics
    ///
    /// Never panics.
    pub fn new() -> Self {
        ErrGroup {
            shared: Arc::new(Shared {
                state: Mutex::new(State {
                    first_error: None,
                    failed: false,
                    limit: None,
                    running: 0,
                    queued: VecDeque::new(),
                    handles: HashMap::new(),
                    next_id: 0,
                }),
                wg: WaitGroup::new(),
            }),
        }
    }

    /// Limits how many of the group's tasks run at once to `n`; work beyond it is queued (in
    /// order) and started as running tasks finish. Affects work started from now on.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::{Arc, atomic::{AtomicUsize, Ordering::SeqCst}};
    /// goro_executor::block_on(async {
    ///     let mut g: goro_sync::ErrGroup<()> = goro_sync::ErrGroup::new();
    ///     g.set_limit(2);
    ///     let (inside, max) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    ///     for _ in 0..8 {
    ///         let (inside, max) = (inside.clone(), max.clone());
    ///         g.go(async move {
    ///             max.fetch_max(inside.fetch_add(1, SeqCst) + 1, SeqCst);
    ///             goro_executor::yield_now().await;
    ///             inside.fetch_sub(1, SeqCst);
    ///             Ok(())
    ///         });
    ///     }
    ///     g.wait().await.unwrap();
    ///     assert!(max.load(SeqCst) <= 2, "never more than the limit at once");
    /// });
    /// ```
    ///
    /// ```should_panic
    /// let mut g: goro_sync::ErrGroup<()> = goro_sync::ErrGroup::new();
    /// g.set_limit(0); // panics: no work could ever start
    /// ```
    ///
    /// # Panics
    ///
    /// If `n` is 0 (no work could ever start).
    pub fn set_limit(&mut self, n: usize) {
        assert!(n > 0, "errgroup: limit must be at least 1");
        lock(&self.shared.state).limit = Some(n);
    }

    /// Runs `fut` as a task of the group (spawned on the current goro runtime), or queues it if
    /// the limit is reached. If the group has already failed, `fut` is dropped without running.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::{Arc, atomic::{AtomicU32, Ordering}};
    /// goro_executor::block_on(async {
    ///     let g: goro_sync::ErrGroup<()> = goro_sync::ErrGroup::new();
    ///     let n = Arc::new(AtomicU32::new(0));
    ///     for _ in 0..10 {
    ///         let n = n.clone();
    ///         g.go(async move { n.fetch_add(1, Ordering::SeqCst); Ok(()) });
    ///     }
    ///     g.wait().await.unwrap();
    ///     assert_eq!(n.load(Ordering::SeqCst), 10);
    /// });
    /// ```
    ///
    /// # Panics
    ///
    /// If the goro runtime has to start and cannot (see `goro_executor::spawn`). A panic inside
    /// `fut` is caught by the runtime; the group counts the task as finished without error.
    #[track_caller]
    pub fn go<F>(&self, fut: F)
    where
        F: Future<Output = Result<(), E>> + Send + 'static,
    {
        self.shared.wg.add(1);
        let mut st = lock(&self.shared.state);
        if st.failed {
            drop(st);
            drop(fut);
            self.shared.wg.done();
            return;
        }
        if st.limit.is_some_and(|l| st.running >= l) {
            st.queued.push_back(Box::pin(fut));
            return;
        }
        Shared::start(&self.shared, &mut st, Box::pin(fut));
    }

    /// Waits until every task of the group has finished (or was discarded after a failure) and
    /// returns the first error, if any. The error is handed out once; a later `wait` returns
    /// `Ok(())` unless a new error occurred.
    ///
    /// # Examples
    ///
    /// ```
    /// goro_executor::block_on(async {
    ///     let g = goro_sync::ErrGroup::new();
    ///     g.go(async { Err::<(), _>("bad") });
    ///     g.go(async { Ok(()) });
    ///     assert_eq!(g.wait().await, Err("bad"));
    /// });
    /// ```
    ///
    /// # Errors
    ///
    /// The first error returned by a task of the group.
    ///
    /// # Panics
    ///
    /// Never panics (a panicking task counts as finished without error).
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: dropping the future only stops waiting; the tasks keep running and the
    /// error stays for the next `wait`.
    pub async fn wait(&self) -> Result<(), E> {
        self.shared.wg.wait().await;
        match lock(&self.shared.state).first_error.take() {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }
}

impl<E: Send + 'static> Shared<E> {
    /// Spawns `work` as a running task. Called with the state locked, so the task's own
    /// clean-up (which locks it too) always finds its handle inserted.
    #[track_caller]
    fn start(this: &Arc<Self>, st: &mut State<E>, work: Work<E>) {
        let id = st.next_id;
        st.next_id += 1;
        st.running += 1;
        let finish = Finish {
            shared: Arc::clone(this),
            id,
        };
        let handle = goro_executor::spawn(async move {
            let finish = finish;
            if let Err(e) = work.await {
                finish.shared.fail(Some(e), finish.id);
            }
        });
        st.handles.insert(id, handle);
    }

    /// Records the first error; on the first failure discards the queue and aborts the other
    /// running tasks.
    fn fail(&self, error: Option<E>, me: u64) {
        let mut st = lock(&self.state);
        if let Some(e) = error {
            if st.first_error.is_none() && !st.failed {
                st.first_error = Some(e);
            }
        }
        if st.failed {
            return;
        }
        st.failed = true;
        let discarded = std::mem::take(&mut st.queued);
        for (id, handle) in &st.handles {
            if *id != me {
                handle.abort();
            }
        }
        drop(st);
        let n = discarded.len();
        drop(discarded);
        for _ in 0..n {
            self.wg.done();
        }
    }
}

/// Clean-up of one task of the group; runs on completion, panic, or abort.
struct Finish<E: Send + 'static> {
    shared: Arc<Shared<E>>,
    id: u64,
}

impl<E: Send + 'static> Drop for Finish<E> {
    fn drop(&mut self) {
        let shared = &self.shared;
        let mut st = lock(&shared.state);
        let own = st.handles.remove(&self.id);
        st.running -= 1;
        let mut discarded = VecDeque::new();
        if st.failed {
            discarded = std::mem::take(&mut st.queued);
        } else if st.limit.is_none_or(|l| st.running < l) {
            if let Some(next) = st.queued.pop_front() {
                Shared::start(shared, &mut st, next);
            }
        }
        drop(st);
        drop(own);
        let n = discarded.len();
        drop(discarded);
        for _ in 0..n + 1 {
            shared.wg.done();
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl<E: Send + 'static> Default for ErrGroup<E> {
    fn default() -> Self {
        ErrGroup::new()
    }
}

impl<E> fmt::Debug for ErrGroup<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let st = lock(&self.shared.state);
        f.debug_struct("ErrGroup")
            .field("running", &st.running)
            .field("queued", &st.queued.len())
            .field("failed", &st.failed)
            .field("limit", &st.limit)
            .finish()
    }
}
