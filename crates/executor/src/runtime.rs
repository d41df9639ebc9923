//! Explicit control over runtimes: [`Builder`], [`Runtime`], [`Handle`].
//!
//! Most programs never touch this module: [`spawn`](crate::spawn) and
//! [`block_on`](fn@crate::block_on) use a global runtime that starts on first use with
//! `GORO_MAXPROCS` worker threads (default: the number of available cores), like Go's
//! `GOMAXPROCS`. Build a [`Runtime`] to choose the number of workers, to run several isolated
//! pools, or to shut one down (which cancels its tasks).
//!
//! Inside a task of a runtime, `goro_executor::spawn`, [`Handle::current`] and
//! [`num_goroutines`] refer to that runtime; outside any, to the global one.
//!
//! # Examples
//!
//! ```
//! use goro_executor::runtime::Builder;
//!
//! let rt = Builder::new().worker_threads(2).build()?;
//! let answer = rt.block_on(async {
//!     // Spawns onto `rt`, since we are inside it.
//!     goro_executor::spawn(async { 40 + 2 }).await.unwrap()
//! });
//! assert_eq!(answer, 42);
//! # Ok::<(), std::io::Error>(())
//! ```

pub use crate::task::{JoinError, JoinHandle};
use crate::{
    blocking,
    idle::MAX_WORKERS,
    scheduler::{self, Shared},
};
use std::{
    fmt,
    future::Future,
    io,
    panic::Location,
    sync::{Arc, OnceLock},
    thread,
    time::{Duration, Instant},
};

/// The environment variable that sets the global runtime's number of worker threads (Go's
/// `GOMAXPROCS`): a whole number from 1 to 65,535; unset or empty means one worker per
/// available core. An invalid value makes the first use of the global runtime panic with a
/// message naming the variable and the accepted values; [`Builder::build`] without
/// [`Builder::worker_threads`] returns that message as an error instead.
///
/// # Examples
///
/// ```
/// assert_eq!(goro_executor::runtime::MAXPROCS_ENV, "GORO_MAXPROCS");
/// // `GORO_MAXPROCS=4 cargo run` runs the global runtime on four workers.
/// ```
pub const MAXPROCS_ENV: &str = "GORO_MAXPROCS";

/// Default cap on the blocking pool's threads.
const DEFAULT_MAX_BLOCKING: usize = 512;
/// How long an idle blocking-pool thread lingers before exiting.
const DEFAULT_KEEP_ALIVE: Duration = Duration::from_secs(10);

/// Configures and builds a [`Runtime`].
///
/// # Examples
///
/// ```
/// use goro_executor::runtime::Builder;
///
/// let rt = Builder::new()
///     .worker_threads(4)
///     .thread_name("my-pool".to_string())
///     .build()?;
/// assert_eq!(rt.block_on(async { 1 + 1 }), 2);
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct Builder {
    worker_threads: Option<usize>,
    thread_name: String,
    max_blocking_threads: usize,
    keep_alive: Duration,
}

impl Default for Builder {
    fn default() -> Self {
        Builder::new()
    }
}

impl Builder {
    /// A builder with the defaults: `GORO_MAXPROCS` workers if set, else one per available
    /// core; worker threads named `goro-worker-N` (and the monitor, `goro-worker-monitor`);
    /// up to 512 blocking threads kept alive 10 s.
    ///
    /// # Examples
    ///
    /// ```
    /// let rt = goro_executor::runtime::Builder::new().build()?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn new() -> Builder {
        Builder {
            worker_threads: None,
            thread_name: "goro-worker".to_string(),
            max_blocking_threads: DEFAULT_MAX_BLOCKING,
            keep_alive: DEFAULT_KEEP_ALIVE,
        }
    }

    /// Sets the number of worker threads (Go's `GOMAXPROCS`). Must be at least 1 (checked by
    /// [`build`](Self::build)).
    ///
    /// # Examples
    ///
    /// ```
    /// let rt = goro_executor::runtime::Builder::new().worker_threads(1).build()?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn worker_threads(&mut self, n: usize) -> &mut Builder {
        self.worker_threads = Some(n);
        self
    }

    /// Sets the name prefix of the runtime's threads (workers are `{name}-{index}`, blocking
    /// threads `{name}-blocking-{index}`, the monitor `{name}-monitor`).
    ///
    /// # Examples
    ///
    /// ```
    /// let rt = goro_executor::runtime::Builder::new()
    ///     .worker_threads(1)
    ///     .thread_name("io".to_string())
    ///     .build()?;
    /// let name = rt.block_on(async {
    ///     goro_executor::spawn(async { std::thread::current().name().map(String::from) })
    ///         .await
    ///         .unwrap()
    /// });
    /// assert_eq!(name.as_deref(), Some("io-0"));
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn thread_name(&mut self, name: String) -> &mut Builder {
        self.thread_name = name;
        self
    }

    /// Sets the maximum number of threads of the blocking pool (default 512; at least 1).
    ///
    /// # Examples
    ///
    /// ```
    /// let rt = goro_executor::runtime::Builder::new().max_blocking_threads(8).build()?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn max_blocking_threads(&mut self, n: usize) -> &mut Builder {
        self.max_blocking_threads = n.max(1);
        self
    }

    /// Sets how long an idle blocking-pool thread waits for work before exiting (default 10 s).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// let rt = goro_executor::runtime::Builder::new()
    ///     .thread_keep_alive(Duration::from_millis(100))
    ///     .build()?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn thread_keep_alive(&mut self, d: Duration) -> &mut Builder {
        self.keep_alive = d;
        self
    }

    /// Starts the runtime's worker threads.
    ///
    /// # Errors
    ///
    /// `io::ErrorKind::InvalidInput` if `worker_threads(0)` (or more than 65,535) was asked
    /// for, or if `GORO_MAXPROCS` is invalid and no count was given; the error of the OS if a
    /// thread cannot be started.
    ///
    /// # Examples
    ///
    /// ```
    /// use goro_executor::runtime::Builder;
    ///
    /// let err = Builder::new().worker_threads(0).build().unwrap_err();
    /// assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput);
    /// assert!(err.to_string().contains("worker_threads"));
    /// ```
    pub fn build(&mut self) -> io::Result<Runtime> {
        let n = match self.worker_threads {
            Some(0) => {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidInput,
                    "goro runtime: worker_threads must be at least 1 (got 0)",
                ))
            }
            Some(n) if n > MAX_WORKERS => {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidInput,
                    format!("goro runtime: worker_threads must be at most {MAX_WORKERS} (got {n})"),
                ))
            }
            Some(n) => n,
            None => maxprocs_from_env()
                .map_err(|msg| io::Error::new(io::ErrorKind::InvalidInput, msg))?,
        };
        let pool = blocking::Pool::new(
            self.max_blocking_threads,
            self.keep_alive,
            self.thread_name.clone(),
        );
        let (shared, locals) = Shared::new(n, pool);
        // Dropping `rt` on an error below shuts down the threads already started.
        let mut rt = Runtime {
            handle: Handle {
                shared: shared.clone(),
            },
            threads: Vec::with_capacity(n + 1),
        };
        for (index, local) in locals.into_iter().enumerate() {
            let s = shared.clone();
            let spawned = thread::Builder::new()
                .name(format!("{}-{index}", self.thread_name))
                .spawn(move || scheduler::run_worker(s, index, local));
            match spawned {
                Ok(t) => rt.threads.push(t),
                Err(e) => {
                    // The workers never started count as exited, so that the shutdown does
                    // not wait for them.
                    shared.workers_not_started(n - index);
                    return Err(e);
                }
            }
        }
        let monitor = thread::Builder::new()
            .name(format!("{}-monitor", self.thread_name))
            .spawn(move || scheduler::run_monitor(shared))?;
        rt.threads.push(monitor);
        Ok(rt)
    }
}

/// Parses a `GORO_MAXPROCS` value: `None` or empty means `default`.
///
/// # Errors
///
/// A message naming the variable and the accepted values when `value` is not an integer in
/// `1..=65535`.
pub(crate) fn parse_maxprocs(value: Option<&str>, default: usize) -> Result<usize, String> {
    let Some(raw) = value else {
        return Ok(default);
    };
    let v = raw.trim();
    if v.is_empty() {
        return Ok(default);
    }
    match v.parse::<usize>() {
        Ok(n) if (1..=MAX_WORKERS).contains(&n) => Ok(n),
        _ => Err(format!(
            "invalid {MAXPROCS_ENV}={raw:?}: expected a whole number of worker threads from 1 \
             to {MAX_WORKERS} (or leave it unset to use one per available core)"
        )),
    }
}

fn maxprocs_from_env() -> Result<usize, String> {
    let default = thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
        .min(MAX_WORKERS);
    match std::env::var(MAXPROCS_ENV) {
        Ok(v) => parse_maxprocs(Some(&v), default),
        Err(std::env::VarError::NotPresent) => Ok(default),
        Err(std::env::VarError::NotUnicode(v)) => {
            parse_maxprocs(Some(&v.to_string_lossy()), default)
        }
    }
}

/// A pool of worker threads running goroutines, with its blocking pool and timers.
///
/// Dropping a `Runtime` shuts it down: tasks still queued or parked are cancelled (their
/// futures are dropped, their [`JoinHandle`]s report [`JoinError::is_cancelled`]), then the
/// worker threads are joined. Use [`shutdown_timeout`](Runtime::shutdown_timeout) to bound the
/// wait.
///
/// # Examples
///
/// ```
/// let rt = goro_executor::runtime::Builder::new().worker_threads(2).build()?;
/// let h = rt.spawn(async { "hi" });
/// assert_eq!(rt.block_on(h).unwrap(), "hi");
/// # Ok::<(), std::io::Error>(())
/// ```
pub struct Runtime {
    handle: Handle,
    threads: Vec<thread::JoinHandle<()>>,
}

impl fmt::Debug for Runtime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Runtime")
            .field("workers", &self.handle.shared.num_workers())
            .finish_non_exhaustive()
    }
}

impl Runtime {
    /// Builds a runtime with the default [`Builder`] settings.
    ///
    /// # Errors
    ///
    /// As [`Builder::build`].
    ///
    /// # Examples
    ///
    /// ```
    /// let rt = goro_executor::runtime::Runtime::new()?;
    /// assert_eq!(rt.block_on(async { 5 }), 5);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn new() -> io::Result<Runtime> {
        Builder::new().build()
    }

    /// Runs `fut` to completion on the current thread, with this runtime as the current one
    /// (so `goro_executor::spawn` inside it spawns here).
    ///
    /// # Panics
    ///
    /// Propagates a panic of `fut`. Panics if called on a runtime worker thread (from inside
    /// a task): await the future instead.
    ///
    /// # Examples
    ///
    /// ```
    /// let rt = goro_executor::runtime::Builder::new().worker_threads(1).build()?;
    /// assert_eq!(rt.block_on(async { 2 * 21 }), 42);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    #[track_caller]
    pub fn block_on<F: Future>(&self, fut: F) -> F::Output {
        self.handle.block_on(fut)
    }

    /// Spawns a goroutine on this runtime. See [`crate::spawn`].
    ///
    /// # Examples
    ///
    /// ```
    /// let rt = goro_executor::runtime::Builder::new().worker_threads(1).build()?;
    /// let h = rt.spawn(async { 7 });
    /// assert_eq!(rt.block_on(h).unwrap(), 7);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    #[track_caller]
    pub fn spawn<F>(&self, fut: F) -> JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        self.handle.spawn(fut)
    }

    /// Runs a blocking closure on this runtime's blocking pool. See [`crate::spawn_blocking`].
    ///
    /// # Examples
    ///
    /// ```
    /// let rt = goro_executor::runtime::Builder::new().worker_threads(1).build()?;
    /// let h = rt.spawn_blocking(|| 3);
    /// assert_eq!(rt.block_on(h).unwrap(), 3);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    #[track_caller]
    pub fn spawn_blocking<F, R>(&self, f: F) -> JoinHandle<R>
    where
        F: FnOnce() -> R + Send + 'static,
        R: Send + 'static,
    {
        self.handle.spawn_blocking(f)
    }

    /// A handle to this runtime, to spawn from elsewhere.
    ///
    /// # Examples
    ///
    /// ```
    /// let rt = goro_executor::runtime::Builder::new().worker_threads(1).build()?;
    /// let handle = rt.handle().clone();
    /// let h = std::thread::spawn(move || handle.spawn(async { 1 })).join().unwrap();
    /// assert_eq!(rt.block_on(h).unwrap(), 1);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn handle(&self) -> &Handle {
        &self.handle
    }

    /// Shuts the runtime down, waiting at most `timeout` for the workers (and the blocking
    /// pool's running jobs) to finish. Tasks are cancelled as for a drop; threads still busy
    /// after `timeout` are left to finish on their own.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// let rt = goro_executor::runtime::Builder::new().worker_threads(1).build()?;
    /// let h = rt.spawn(std::future::pending::<()>());
    /// rt.shutdown_timeout(Duration::from_secs(5));
    /// assert!(goro_executor::block_on(h).unwrap_err().is_cancelled());
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn shutdown_timeout(mut self, timeout: Duration) {
        self.shutdown(Some(Instant::now() + timeout));
    }

    fn shutdown(&mut self, deadline: Option<Instant>) {
        let shared = self.handle.shared.clone();
        if !shared.begin_shutdown() {
            return;
        }
        let joined = !shared.is_own_worker_thread() && shared.wait_workers(deadline);
        if joined {
            for t in self.threads.drain(..) {
                let _ = t.join();
            }
        }
        shared.finish_shutdown();
        if !scheduler::on_worker_thread() {
            shared.blocking.wait(deadline);
        }
    }
}

impl Drop for Runtime {
    fn drop(&mut self) {
        self.shutdown(None);
    }
}

/// A cheap, clonable reference to a runtime, to spawn onto it from anywhere.
///
/// # Examples
///
/// ```
/// use goro_executor::runtime::Handle;
///
/// // Outside any runtime, the current one is the global runtime.
/// let h = Handle::current().spawn(async { 1 });
/// assert_eq!(goro_executor::block_on(h).unwrap(), 1);
/// ```
#[derive(Clone)]
pub struct Handle {
    pub(crate) shared: Arc<Shared>,
}

impl fmt::Debug for Handle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Handle")
            .field("workers", &self.shared.num_workers())
            .finish_non_exhaustive()
    }
}

/// The global runtime: it lives as long as the process (statics are never dropped).
static GLOBAL: OnceLock<Runtime> = OnceLock::new();

/// The global runtime's handle, starting the runtime on first use.
fn global() -> &'static Handle {
    &GLOBAL
        .get_or_init(|| {
            let n = match maxprocs_from_env() {
                Ok(n) => n,
                Err(msg) => panic!("{msg}"),
            };
            Builder::new()
                .worker_threads(n)
                .build()
                .unwrap_or_else(|e| panic!("goro: cannot start the global runtime: {e}"))
        })
        .handle
}

/// Calls `f` with the current runtime: the one whose task (or `block_on`) is running on this
/// thread, else the global runtime. Does not clone the handle.
pub(crate) fn with_current<R>(f: impl FnOnce(&Handle) -> R) -> R {
    scheduler::with_context_handle(|h| match h {
        Some(h) => f(h),
        None => f(global()),
    })
}

impl Handle {
    pub(crate) fn from_shared(shared: Arc<Shared>) -> Handle {
        Handle { shared }
    }

    /// The current runtime: inside a task (or [`Runtime::block_on`]) of a runtime, that
    /// runtime; anywhere else, the global runtime (started on first use).
    ///
    /// # Panics
    ///
    /// Panics if the global runtime has to start and `GORO_MAXPROCS` is invalid.
    ///
    /// # Examples
    ///
    /// ```
    /// use goro_executor::runtime::{Builder, Handle};
    ///
    /// let rt = Builder::new().worker_threads(1).build()?;
    /// let inner = rt.block_on(async { Handle::current() });
    /// assert!(inner.ptr_eq(rt.handle()));
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn current() -> Handle {
        with_current(|h| h.clone())
    }

    /// Whether two handles refer to the same runtime.
    ///
    /// # Examples
    ///
    /// ```
    /// let rt = goro_executor::runtime::Builder::new().worker_threads(1).build()?;
    /// assert!(rt.handle().ptr_eq(&rt.handle().clone()));
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn ptr_eq(&self, other: &Handle) -> bool {
        Arc::ptr_eq(&self.shared, &other.shared)
    }

    /// Spawns a goroutine on this runtime. See [`crate::spawn`].
    ///
    /// # Examples
    ///
    /// ```
    /// let rt = goro_executor::runtime::Builder::new().worker_threads(1).build()?;
    /// let h = rt.handle().spawn(async { 5 });
    /// assert_eq!(rt.block_on(h).unwrap(), 5);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    #[track_caller]
    pub fn spawn<F>(&self, fut: F) -> JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        self.shared.spawn(fut, Location::caller())
    }

    /// Runs a blocking closure on this runtime's blocking pool. See [`crate::spawn_blocking`].
    ///
    /// # Examples
    ///
    /// ```
    /// let rt = goro_executor::runtime::Builder::new().worker_threads(1).build()?;
    /// let h = rt.handle().spawn_blocking(|| 4);
    /// assert_eq!(rt.block_on(h).unwrap(), 4);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    #[track_caller]
    pub fn spawn_blocking<F, R>(&self, f: F) -> JoinHandle<R>
    where
        F: FnOnce() -> R + Send + 'static,
        R: Send + 'static,
    {
        self.shared.spawn_blocking(f, Location::caller())
    }

    /// Runs `fut` to completion on the current thread with this runtime as the current one.
    ///
    /// # Panics
    ///
    /// As [`Runtime::block_on`].
    ///
    /// # Examples
    ///
    /// ```
    /// let rt = goro_executor::runtime::Builder::new().worker_threads(1).build()?;
    /// assert_eq!(rt.handle().block_on(async { 9 }), 9);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    #[track_caller]
    pub fn block_on<F: Future>(&self, fut: F) -> F::Output {
        crate::block_on::check_not_on_worker();
        let _enter = scheduler::enter(self);
        crate::block_on::block_on(fut)
    }

    /// Number of live goroutines of this runtime (spawned, not yet completed or cancelled;
    /// blocking jobs are not counted).
    ///
    /// # Examples
    ///
    /// ```
    /// let rt = goro_executor::runtime::Builder::new().worker_threads(1).build()?;
    /// assert_eq!(rt.handle().num_goroutines(), 0);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn num_goroutines(&self) -> usize {
        self.shared.registry.len()
    }

    /// The spawn sites (`file:line:column`) of this runtime's parked goroutines (live tasks
    /// that have waited at least once; tasks still queued for their first run are not
    /// listed), in no particular order: the start of a goroutine dump.
    ///
    /// # Examples
    ///
    /// ```
    /// let rt = goro_executor::runtime::Builder::new().worker_threads(1).build()?;
    /// let (tx, rx) = std::sync::mpsc::channel();
    /// let h = rt.spawn(async move {
    ///     tx.send(()).unwrap();
    ///     std::future::pending::<()>().await
    /// });
    /// rx.recv().unwrap();
    /// // The task parks right after sending.
    /// let sites = loop {
    ///     let sites = rt.handle().goroutine_spawn_sites();
    ///     if !sites.is_empty() {
    ///         break sites;
    ///     }
    ///     std::thread::yield_now();
    /// };
    /// assert_eq!(sites.len(), 1);
    /// assert!(sites[0].file().ends_with(".rs"));
    /// h.abort();
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn goroutine_spawn_sites(&self) -> Vec<&'static Location<'static>> {
        self.shared.registry.spawn_sites()
    }

    /// The runtime's timer driver (for the time module).
    pub(crate) fn timer_driver(&self) -> &crate::time::Driver {
        self.shared.timer_driver()
    }
}

/// Number of live goroutines of the current runtime (see [`Handle::current`]).
///
/// # Examples
///
/// ```
/// use goro_executor::runtime::{num_goroutines, Builder};
///
/// let rt = Builder::new().worker_threads(1).build()?;
/// let (n_before, h) = rt.block_on(async {
///     (num_goroutines(), goro_executor::spawn(std::future::pending::<()>()))
/// });
/// assert_eq!(n_before, 0);
/// assert_eq!(rt.handle().num_goroutines(), 1);
/// h.abort();
/// assert!(rt.block_on(h).unwrap_err().is_cancelled());
/// assert_eq!(rt.handle().num_goroutines(), 0);
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn num_goroutines() -> usize {
    with_current(|h| h.num_goroutines())
}

impl futures_task::Spawn for Handle {
    fn spawn_obj(
        &self,
        future: futures_task::FutureObj<'static, ()>,
    ) -> Result<(), futures_task::SpawnError> {
        if self.shared.is_shutdown() {
            return Err(futures_task::SpawnError::shutdown());
        }
        drop(self.spawn(future));
        Ok(())
    }

    fn status(&self) -> Result<(), futures_task::SpawnError> {
        if self.shared.is_shutdown() {
            Err(futures_task::SpawnError::shutdown())
        } else {
            Ok(())
        }
    }
}

impl futures_task::Spawn for Runtime {
    fn spawn_obj(
        &self,
        future: futures_task::FutureObj<'static, ()>,
    ) -> Result<(), futures_task::SpawnError> {
        self.handle.spawn_obj(future)
    }

    fn status(&self) -> Result<(), futures_task::SpawnError> {
        self.handle.status()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maxprocs_unset_or_empty_is_default() {
        assert_eq!(parse_maxprocs(None, 3), Ok(3));
        assert_eq!(parse_maxprocs(Some(""), 3), Ok(3));
        assert_eq!(parse_maxprocs(Some("  "), 3), Ok(3));
    }

    #[test]
    fn maxprocs_valid_values() {
        assert_eq!(parse_maxprocs(Some("1"), 3), Ok(1));
        assert_eq!(parse_maxprocs(Some(" 8 "), 3), Ok(8));
        assert_eq!(parse_maxprocs(Some("65535"), 3), Ok(65535));
    }

    #[test]
    fn maxprocs_bad_values_name_the_variable_and_accepted_values() {
        for bad in ["0", "abc", "-1", "1.5", "65536", "99999999999999999999999"] {
            let msg = parse_maxprocs(Some(bad), 3).unwrap_err();
            assert!(msg.contains("GORO_MAXPROCS"), "{msg}");
            assert!(msg.contains("from 1 to 65535"), "{msg}");
            assert!(msg.contains(bad), "{msg}");
        }
    }
}
