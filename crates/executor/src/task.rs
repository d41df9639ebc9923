//! Tasks: the wrapper every spawned future runs in, [`JoinHandle`] and [`JoinError`].
//!
//! # Design
//!
//! A goroutine is one `async-task` allocation holding, side by side, its future, its schedule
//! function and a [`TaskMeta`] (async-task's "metadata"). The future is wrapped in
//! [`Wrapped`], which
//!
//! 1. catches panics of `poll` (and of the future's drop), so a panicking task completes with
//!    `Err(JoinError::panic)` and never unwinds into a worker;
//! 2. checks the abort flag before every poll, so [`JoinHandle::abort`] (which only has `&self`
//!    and therefore cannot use async-task's by-value `cancel`) turns the task into
//!    `Err(JoinError::cancelled)` at its next poll;
//! 3. the first time the future returns `Pending` (the task parks), keeps the task's own waker
//!    in [`TaskMeta`] and enters the task in the runtime's registry, so that abort and runtime
//!    shutdown can wake a parked task. A task that completes in its first poll skips both.
//!    The waker is taken out when the future is dropped, which breaks the reference cycle
//!    (task -> meta -> waker -> task);
//! 4. when the future is dropped, removes the registry entry and counts the task as finished;
//! 5. wraps the result in [`Output`], whose destructor catches panics: async-task drops a
//!    detached task's output on the worker under an abort-on-panic guard.
//!
//! Abort protocol: `abort` stores the flag (SeqCst), then wakes through the `AtomicWaker`. The
//! wrapper loads the flag before polling; at its first `Pending` it registers with the
//! `AtomicWaker`, then loads the flag again (SeqCst) and, if set, wakes itself. Both sides
//! touch the `AtomicWaker` state with AcqRel RMWs, which are totally ordered: either the
//! abort's wake finds the registered waker, or the registration comes after the wake and the
//! wrapper's second load sees the flag. Either way the aborted task is polled again and
//! completes as cancelled. Later parks need no registration: `async-task` gives every poll of
//! a task a waker of that same task.

use crate::registry::Slot;
use atomic_waker::AtomicWaker;
use std::{
    any::Any,
    fmt,
    future::Future,
    mem::ManuallyDrop,
    panic::{catch_unwind, AssertUnwindSafe, Location},
    pin::Pin,
    ptr::NonNull,
    sync::atomic::{
        AtomicBool, AtomicU64,
        Ordering::{Relaxed, SeqCst},
    },
    task::{Context, Poll},
};

/// `TaskMeta::slot` when the task has no registry entry.
const NO_SLOT: u64 = u64::MAX;

/// Per-task data, stored inside the async-task allocation (its "metadata").
pub(crate) struct TaskMeta {
    aborted: AtomicBool,
    /// The task's own waker, from its first park until its future is dropped.
    waker: AtomicWaker,
    /// Whether this is a goroutine (counted, registered when parked) rather than a blocking
    /// job.
    goroutine: bool,
    /// The task's registry entry (`Slot` bits), or `NO_SLOT`.
    slot: AtomicU64,
    /// Where the task was spawned (`#[track_caller]`).
    location: &'static Location<'static>,
    /// The runtime this task belongs to. The pointee is kept alive by the `Arc<Shared>` the
    /// task's schedule function owns, which lives in the same allocation and is dropped only
    /// after the future.
    shared: NonNull<crate::scheduler::Shared>,
}

// SAFETY: `shared` points to a `Shared`, which is `Send + Sync`, kept alive as described on the
// field; the other fields are thread-safe.
unsafe impl Send for TaskMeta {}
// SAFETY: as above.
unsafe impl Sync for TaskMeta {}

impl fmt::Debug for TaskMeta {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TaskMeta")
            .field("aborted", &self.aborted.load(SeqCst))
            .field("location", &self.location)
            .finish_non_exhaustive()
    }
}

impl TaskMeta {
    pub(crate) fn new(
        goroutine: bool,
        location: &'static Location<'static>,
        shared: &crate::scheduler::Shared,
    ) -> TaskMeta {
        TaskMeta {
            aborted: AtomicBool::new(false),
            waker: AtomicWaker::new(),
            goroutine,
            slot: AtomicU64::new(NO_SLOT),
            location,
            shared: NonNull::from(shared),
        }
    }

    fn shared(&self) -> &crate::scheduler::Shared {
        // SAFETY: see the field: the runtime outlives the future, and every caller is the
        // future (its poll or drop).
        unsafe { self.shared.as_ref() }
    }

    /// Requests cancellation: the task completes with `JoinError::cancelled` at its next poll
    /// (it is woken if parked). No effect on a task that already completed.
    pub(crate) fn abort(&self) {
        self.aborted.store(true, SeqCst);
        self.waker.wake();
    }

    /// Like `abort`, but returns the waker instead of waking (for callers holding a lock).
    pub(crate) fn abort_take_waker(&self) -> Option<std::task::Waker> {
        self.aborted.store(true, SeqCst);
        self.waker.take()
    }
}

/// The runnable task type of this crate.
pub(crate) type Runnable = async_task::Runnable<TaskMeta>;

/// The future a task runs: the user's future plus panic catching, abort and registry upkeep.
pub(crate) struct Wrapped<'a, F> {
    meta: &'a TaskMeta,
    /// `None` once completed (or dropped early).
    fut: Option<F>,
    /// Whether the task has parked once (waker kept, registry entry made).
    parked_once: bool,
}

impl<'a, F> Wrapped<'a, F> {
    pub(crate) fn new(fut: F, meta: &'a TaskMeta) -> Self {
        Wrapped {
            meta,
            fut: Some(fut),
            parked_once: false,
        }
    }

    /// Step 3 of the module note, at the first `Pending`.
    #[cold]
    fn first_park(&mut self, cx: &mut Context<'_>) {
        self.parked_once = true;
        self.meta.waker.register(cx.waker());
        if self.meta.goroutine {
            let shared = self.meta.shared();
            let slot = shared.registry.register(
                crate::scheduler::shard_hint(),
                self.meta,
                self.meta.location,
            );
            // Relaxed: read back only by this task's own future (its drop), which runs after
            // this poll on whichever thread, ordered by async-task's AcqRel state handoff.
            self.meta.slot.store(slot.to_bits(), Relaxed);
        }
        // Second half of the abort protocol (module note).
        if self.meta.aborted.load(SeqCst) {
            cx.waker().wake_by_ref();
        }
    }
}

impl<F: Future> Future for Wrapped<'_, F> {
    type Output = Output<Result<F::Output, JoinError>>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        self.poll_inner(cx).map(Output::new)
    }
}

impl<F: Future> Wrapped<'_, F> {
    fn poll_inner(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Result<F::Output, JoinError>> {
        // SAFETY: we never move `fut` out of `self`; it is only polled in place and dropped in
        // place (assigning `None` runs its destructor where it lies), as `Pin` requires.
        let this = unsafe { self.get_unchecked_mut() };
        if this.meta.aborted.load(SeqCst) {
            let res = match catch_unwind(AssertUnwindSafe(|| this.fut = None)) {
                Ok(()) => Err(JoinError::cancelled()),
                Err(payload) => Err(JoinError::panic(payload)),
            };
            return Poll::Ready(res);
        }
        let Some(fut) = this.fut.as_mut() else {
            return Poll::Ready(Err(JoinError::cancelled()));
        };
        // SAFETY: `fut` is structurally pinned (see above).
        let fut = unsafe { Pin::new_unchecked(fut) };
        match catch_unwind(AssertUnwindSafe(|| fut.poll(cx))) {
            Ok(Poll::Pending) => {
                if !this.parked_once {
                    this.first_park(cx);
                }
                Poll::Pending
            }
            Ok(Poll::Ready(v)) => {
                // Drop the finished future now, catching a panicking destructor.
                match catch_unwind(AssertUnwindSafe(|| this.fut = None)) {
                    Ok(()) => Poll::Ready(Ok(v)),
                    Err(payload) => Poll::Ready(Err(JoinError::panic(payload))),
                }
            }
            Err(payload) => {
                // The future is left in an unknown state: drop it (a second panic from its
                // destructor is swallowed, the first one is the one reported).
                let _ = catch_unwind(AssertUnwindSafe(|| this.fut = None));
                Poll::Ready(Err(JoinError::panic(payload)))
            }
        }
    }
}

impl<F> Drop for Wrapped<'_, F> {
    fn drop(&mut self) {
        // Drop the user's future first, while the task still counts as live.
        let _ = catch_unwind(AssertUnwindSafe(|| self.fut = None));
        if self.parked_once {
            // Break the task -> meta -> waker -> task cycle.
            drop(self.meta.waker.take());
        }
        if self.meta.goroutine {
            let registry = &self.meta.shared().registry;
            // Relaxed: written by this future's own first park (see `first_park`).
            let slot = self.meta.slot.load(Relaxed);
            if slot != NO_SLOT {
                registry.remove(Slot::from_bits(slot));
            }
            registry.task_finished(crate::scheduler::shard_hint());
        }
    }
}

/// A task's output, whose destructor cannot unwind.
///
/// `async-task` drops the output of a detached task on the worker that completed it, inside
/// an abort-on-panic guard: a value whose `Drop` panics would abort the process. This wrapper
/// catches such a panic (the panic hook has already reported it), so a panicking destructor
/// never takes the runtime down.
pub(crate) struct Output<T>(ManuallyDrop<T>);

impl<T> Output<T> {
    fn new(value: T) -> Self {
        Output(ManuallyDrop::new(value))
    }

    fn into_inner(self) -> T {
        let mut this = ManuallyDrop::new(self);
        // SAFETY: `this` is never used again and its destructor is suppressed, so the value
        // is taken exactly once.
        unsafe { ManuallyDrop::take(&mut this.0) }
    }
}

impl<T> Drop for Output<T> {
    fn drop(&mut self) {
        // SAFETY: `drop` runs once and nothing uses the value afterwards.
        let _ = catch_unwind(AssertUnwindSafe(|| unsafe {
            ManuallyDrop::drop(&mut self.0)
        }));
    }
}

/// A future running a blocking closure in one poll (for the blocking pool).
pub(crate) struct BlockingTask<F>(pub(crate) Option<F>);

impl<F> Unpin for BlockingTask<F> {}

impl<F: FnOnce() -> R, R> Future for BlockingTask<F> {
    type Output = R;

    fn poll(mut self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<R> {
        let f = self
            .0
            .take()
            .expect("blocking task polled after completion");
        Poll::Ready(f())
    }
}

/// An owned permission to await a spawned task's result.
///
/// Awaiting it gives `Ok(value)` when the task completes, or a [`JoinError`] if it panicked or
/// was cancelled (by [`abort`](JoinHandle::abort) or because its runtime shut down).
/// Dropping the handle *detaches* the task: it keeps running, like a goroutine.
///
/// # Examples
///
/// ```
/// let handle = goro_executor::spawn(async { 6 * 7 });
/// assert_eq!(goro_executor::block_on(handle).unwrap(), 42);
/// ```
// Deliberately not `#[must_use]`: `goro::spawn(fut);` is Go's `go f()`, and detaching by
// dropping the handle is the intended use (as with tokio's `JoinHandle`).
pub struct JoinHandle<T> {
    task: Option<async_task::FallibleTask<Output<Result<T, JoinError>>, TaskMeta>>,
    /// The task's metadata; valid as long as `task` holds its reference to the allocation.
    meta: NonNull<TaskMeta>,
    /// The result was handed out.
    done: bool,
}

// SAFETY: `meta` points into the task allocation that `task` keeps alive, and `TaskMeta` is
// `Sync`; `task` itself is `Send` when `T: Send`.
unsafe impl<T: Send> Send for JoinHandle<T> {}
// SAFETY: `&JoinHandle` only allows `abort`/`is_finished`, which use thread-safe state.
unsafe impl<T> Sync for JoinHandle<T> {}

impl<T> Unpin for JoinHandle<T> {}

impl<T> JoinHandle<T> {
    pub(crate) fn new(task: async_task::Task<Output<Result<T, JoinError>>, TaskMeta>) -> Self {
        let meta = NonNull::from(task.metadata());
        JoinHandle {
            task: Some(task.fallible()),
            meta,
            done: false,
        }
    }

    /// Cancels the task.
    ///
    /// A task that has not completed yet stops at its next poll point: its future is dropped
    /// and awaiting the handle gives a [`JoinError`] with
    /// [`is_cancelled`](JoinError::is_cancelled). A task parked on something is woken for
    /// this. A task that already completed keeps its result. A blocking job
    /// ([`spawn_blocking`](crate::spawn_blocking)) can only be aborted before it starts.
    ///
    /// # Examples
    ///
    /// ```
    /// let handle = goro_executor::spawn(std::future::pending::<()>());
    /// handle.abort();
    /// let err = goro_executor::block_on(handle).unwrap_err();
    /// assert!(err.is_cancelled());
    /// ```
    pub fn abort(&self) {
        self.meta().abort();
    }

    /// Whether the task has completed (with a value, a panic or a cancellation).
    ///
    /// # Examples
    ///
    /// ```
    /// let handle = goro_executor::spawn(async { 1 });
    /// while !handle.is_finished() {
    ///     std::thread::yield_now();
    /// }
    /// assert_eq!(goro_executor::block_on(handle).unwrap(), 1);
    /// ```
    pub fn is_finished(&self) -> bool {
        self.task.as_ref().is_none_or(|t| t.is_finished())
    }

    fn meta(&self) -> &TaskMeta {
        // SAFETY: see the field: `task` (or, after completion, nobody touching it) keeps the
        // allocation alive while `self` exists; we never free it ourselves.
        unsafe { self.meta.as_ref() }
    }
}

impl<T> Drop for JoinHandle<T> {
    fn drop(&mut self) {
        if let Some(task) = self.task.take() {
            task.detach();
        }
    }
}

impl<T> Future for JoinHandle<T> {
    type Output = Result<T, JoinError>;

    /// # Panics
    ///
    /// Panics if polled again after it returned `Ready`.
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        assert!(!self.done, "JoinHandle polled after completion");
        let task = self.task.as_mut().expect("present until drop");
        let res = match Pin::new(task).poll(cx) {
            Poll::Pending => return Poll::Pending,
            Poll::Ready(Some(res)) => res.into_inner(),
            // The task was dropped without completing: its runtime shut down.
            Poll::Ready(None) => Err(JoinError::cancelled()),
        };
        self.done = true;
        Poll::Ready(res)
    }
}

impl<T> fmt::Debug for JoinHandle<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JoinHandle")
            .field("finished", &self.is_finished())
            .finish()
    }
}

/// Why a task did not produce a value: it panicked, or it was cancelled.
///
/// # Examples
///
/// ```
/// let err = goro_executor::block_on(goro_executor::spawn(async { panic!("boom") })).unwrap_err();
/// assert!(err.is_panic());
/// assert_eq!(err.to_string(), "task panicked: boom");
/// let payload = err.into_panic();
/// assert_eq!(payload.downcast_ref::<&str>(), Some(&"boom"));
/// ```
pub struct JoinError {
    repr: Repr,
}

enum Repr {
    Cancelled,
    Panic {
        /// The payload's message, when it is a string (read once, so that `&JoinError` never
        /// touches the payload, which is only `Send`).
        message: Option<String>,
        payload: SendOnly<Box<dyn Any + Send + 'static>>,
    },
}

/// Makes a `Send` value `Sync` by never giving out `&T`: it is only reachable by value.
struct SendOnly<T>(T);

// SAFETY: no `&T` is ever handed out (the only access is `into_inner(self)`), so sharing a
// `&SendOnly<T>` between threads cannot expose `T` to concurrent access.
unsafe impl<T: Send> Sync for SendOnly<T> {}

impl JoinError {
    pub(crate) fn cancelled() -> JoinError {
        JoinError {
            repr: Repr::Cancelled,
        }
    }

    pub(crate) fn panic(payload: Box<dyn Any + Send + 'static>) -> JoinError {
        let message = if let Some(s) = payload.downcast_ref::<&'static str>() {
            Some((*s).to_owned())
        } else {
            payload.downcast_ref::<String>().cloned()
        };
        JoinError {
            repr: Repr::Panic {
                message,
                payload: SendOnly(payload),
            },
        }
    }

    /// Whether the task was cancelled ([`JoinHandle::abort`], or its runtime shut down).
    ///
    /// # Examples
    ///
    /// ```
    /// let h = goro_executor::spawn(std::future::pending::<()>());
    /// h.abort();
    /// assert!(goro_executor::block_on(h).unwrap_err().is_cancelled());
    /// ```
    pub fn is_cancelled(&self) -> bool {
        matches!(self.repr, Repr::Cancelled)
    }

    /// Whether the task panicked.
    ///
    /// # Examples
    ///
    /// ```
    /// let h = goro_executor::spawn(async { panic!("oops") });
    /// assert!(goro_executor::block_on(h).unwrap_err().is_panic());
    /// ```
    pub fn is_panic(&self) -> bool {
        matches!(self.repr, Repr::Panic { .. })
    }

    /// The panic payload, to inspect or to re-raise with [`std::panic::resume_unwind`].
    ///
    /// # Panics
    ///
    /// Panics if the error is not a panic ([`is_panic`](Self::is_panic) is `false`).
    ///
    /// # Examples
    ///
    /// ```
    /// let h = goro_executor::spawn(async { std::panic::panic_any(7u32) });
    /// let payload = goro_executor::block_on(h).unwrap_err().into_panic();
    /// assert_eq!(payload.downcast_ref::<u32>(), Some(&7));
    /// ```
    pub fn into_panic(self) -> Box<dyn Any + Send + 'static> {
        self.try_into_panic()
            .expect("JoinError::into_panic called on a cancelled task's error")
    }

    /// The panic payload, or the error back if the task was cancelled.
    ///
    /// # Examples
    ///
    /// ```
    /// let h = goro_executor::spawn(std::future::pending::<()>());
    /// h.abort();
    /// let err = goro_executor::block_on(h).unwrap_err();
    /// assert!(err.try_into_panic().is_err());
    /// ```
    pub fn try_into_panic(self) -> Result<Box<dyn Any + Send + 'static>, JoinError> {
        match self.repr {
            Repr::Panic { payload, .. } => Ok(payload.0),
            Repr::Cancelled => Err(self),
        }
    }
}

impl fmt::Display for JoinError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.repr {
            Repr::Cancelled => f.write_str("task was cancelled"),
            Repr::Panic {
                message: Some(m), ..
            } => write!(f, "task panicked: {m}"),
            Repr::Panic { message: None, .. } => f.write_str("task panicked"),
        }
    }
}

impl fmt::Debug for JoinError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.repr {
            Repr::Cancelled => f.write_str("JoinError::Cancelled"),
            Repr::Panic { message, .. } => f
                .debug_tuple("JoinError::Panic")
                .field(&message.as_deref().unwrap_or("<non-string payload>"))
                .finish(),
        }
    }
}

impl std::error::Error for JoinError {}

impl From<JoinError> for std::io::Error {
    fn from(e: JoinError) -> std::io::Error {
        std::io::Error::other(e.to_string())
    }
}
