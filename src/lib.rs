//! # goro: Go's concurrency model, in Rust
//!
//! goroutines, channels, `select` and the `sync` package, built on Rust futures.
//!
//! | Go                                   | goro                                                  |
//! |--------------------------------------|-------------------------------------------------------|
//! | `go f()`                             | `goro::spawn(async { f().await })`                    |
//! | `func main()`                        | `#[goro::main] async fn main()` or `goro::block_on`   |
//! | `make(chan T)`                       | `goro::chan::rendezvous::<T>()`                       |
//! | `make(chan T, n)`                    | `goro::chan::bounded::<T>(n)`                         |
//! | `ch <- v`                            | `tx.send(v).await?` (`send_blocking` on a thread)     |
//! | `v, ok := <-ch`                      | `rx.recv().await` (`Err` once closed and drained)     |
//! | `for v := range ch`                  | `while let Ok(v) = rx.recv().await` / `rx.iter()`     |
//! | `close(ch)`                          | `tx.close()`, or drop every sender                    |
//! | `select { case v := <-ch: ... }`     | `goro::select! { recv(rx) -> v => ... }`              |
//! | `case <-time.After(d)`               | `recv(goro::time::after(d)) -> _ => ...`              |
//! | `sync.WaitGroup`, `sync.Mutex`       | `goro::sync::WaitGroup`, `goro::sync::Mutex`          |
//! | `runtime.Gosched()`                  | `goro::yield_now().await`                             |
//! | `GOMAXPROCS`                         | `GORO_MAXPROCS`, or `goro::runtime::Builder`          |
//!
//! ```
//! use std::time::Duration;
//!
//! goro::block_on(async {
//!     let (tx, rx) = goro::chan::bounded(8);
//!     for id in 0..3 {
//!         let tx = tx.clone();
//!         goro::spawn(async move { tx.send(id * 10).await.unwrap() });
//!     }
//!     drop(tx);
//!     let mut total = 0;
//!     loop {
//!         goro::select! {
//!             recv(rx) -> v => match v {
//!                 Ok(v) => total += v,
//!                 Err(_) => break, // closed: every sender is gone
//!             },
//!             recv(goro::time::after(Duration::from_secs(5))) -> _ => panic!("too slow"),
//!         }
//!     }
//!     assert_eq!(total, 30);
//! });
//! ```
//!
//! The pieces live in their own crates and are re-exported here: the runtime
//! ([`spawn`], [`block_on`], [`runtime`], [`time`]) from `goro-executor`, channels and
//! select ([`chan`], [`select!`]) from `goro-channel`, and [`sync`] from `goro-sync`.
//! Channels and locks do not need goro's runtime: they work on any executor and from plain
//! threads.

pub use goro_executor::{block_on, spawn, spawn_blocking, yield_now, JoinError, JoinHandle};

/// The runtime: explicit runtimes ([`runtime::Builder`]), handles, and goroutine counts.
pub use goro_executor::runtime;

/// Go's `time` package: `sleep`, `timeout`, `after`, `tick`, `Timer`, `Ticker`, driven by
/// the goro runtime.
pub use goro_executor::time;

/// Channels with Go semantics, and the dynamic [`Select`](chan::Select).
pub use goro_channel as chan;

/// Go's `sync` package: `Mutex`, `RwMutex`, `WaitGroup`, `Once`, `OnceCell`, `Cond`,
/// `Semaphore`, `ErrGroup`, `atomic`.
pub use goro_sync as sync;

pub use goro_macros::{main, test};

#[doc(hidden)]
pub use goro_macros::__select;

/// Go's `select` in async code: waits until one of several channel operations can proceed
/// and performs exactly that one.
///
/// The syntax and semantics are those of [`chan::select!`](goro_channel::select!), plus
/// `default(timeout) => ...`, which goro's timer makes available in async code too (it
/// becomes a receive on [`time::after`]).
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// goro::block_on(async {
///     let (_tx, rx) = goro::chan::unbounded::<u8>();
///     let r = goro::select! {
///         recv(rx) -> v => v.ok(),
///         default(Duration::from_millis(5)) => None,
///     };
///     assert_eq!(r, None);
/// });
/// ```
///
/// # Errors at compile time
/// A malformed arm is reported at its own tokens, with the accepted forms:
///
/// ```compile_fail
/// # async fn f(rx: goro::chan::Receiver<u8>) {
/// goro::select! {
///     recieve(rx) -> v => v,   // error: select: unexpected `recieve`; accepted arms: ...
/// }
/// # }
/// ```
#[macro_export]
macro_rules! select {
    ($($tokens:tt)*) => {
        $crate::__select!($crate; future false; $($tokens)*)
    };
}

/// Like [`select!`], but when several cases are ready the first in written order wins.
///
/// # Examples
///
/// ```
/// goro::block_on(async {
///     let (tx, rx) = goro::chan::bounded(1);
///     let (tx2, rx2) = goro::chan::bounded(1);
///     tx.send(1).await.unwrap();
///     tx2.send(2).await.unwrap();
///     let v = goro::select_biased! {
///         recv(rx) -> v => v.unwrap(),
///         recv(rx2) -> v => v.unwrap(),
///     };
///     assert_eq!(v, 1);
/// });
/// ```
#[macro_export]
macro_rules! select_biased {
    ($($tokens:tt)*) => {
        $crate::__select!($crate; future true; $($tokens)*)
    };
}

/// [`select!`] for plain threads: blocks the thread instead of awaiting; `default(timeout)`
/// waits at most `timeout`. The syntax and semantics are those of
/// [`chan::select_blocking!`](goro_channel::select_blocking!), with errors on malformed arms
/// reported at their tokens.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// let (tx, rx) = goro::chan::bounded::<u8>(1);
/// tx.try_send(7).unwrap();
/// let v = goro::select_blocking! {
///     recv(rx) -> v => v.unwrap(),
///     default(Duration::from_millis(5)) => 0,
/// };
/// assert_eq!(v, 7);
/// ```
#[macro_export]
macro_rules! select_blocking {
    ($($tokens:tt)*) => {
        $crate::__select!($crate; thread false; $($tokens)*)
    };
}
