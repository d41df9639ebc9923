//! Go's channels and `select` for Rust: for async code on any executor, and for plain
//! threads.
//!
//! ```
//! # futures::executor::block_on(async {
//! let (tx, rx) = goro_channel::bounded(16);          // make(chan i32, 16)
//! std::thread::spawn(move || {
//!     for i in 0..3 {
//!         tx.send_blocking(i).unwrap();               // ch <- i, from a thread
//!     }
//! });                                                 // tx dropped: close(ch)
//! let mut sum = 0;
//! while let Ok(v) = rx.recv().await {                 // v, ok := <-ch
//!     sum += v;
//! }
//! assert_eq!(sum, 3);
//! # });
//! ```
//!
//! # Channels
//!
//! [`bounded`], [`unbounded`] and [`rendezvous`] (= `bounded(0)`, Go's unbuffered
//! `make(chan T)`) return a [`Sender`] and a [`Receiver`]. Both ends can be cloned: any
//! number of senders and receivers, and every value is received exactly once. Each
//! operation comes in three forms: async (`send(v).await`, `recv().await`), blocking for
//! threads (`send_blocking`, `recv_blocking`, `_timeout`, `_deadline`) and non-waiting
//! (`try_send`, `try_recv`). A receiver is also a `Stream` and a blocking `Iterator`
//! (`for v in rx.iter()` is Go's `for v := range ch`); [`Sender::into_sink`] gives a
//! `Sink`.
//!
//! Closing follows Go: [`Sender::close`] (or [`Receiver::close`]) makes every send fail,
//! giving the value back, while receivers drain what is buffered and then get
//! [`RecvError`]. A channel also closes when its last sender or its last receiver is
//! dropped. Values still inside a channel when it is freed are dropped exactly once.
//!
//! # Select
//!
//! [`select!`] waits on several sends and receives and performs exactly one of them,
//! chosen at random among the ready ones; [`select_blocking!`] does the same on a thread;
//! [`Select`] builds a select with a number of cases known only at run time. A select
//! future can be dropped at any point without losing a value.
//!
//! # Guarantees
//!
//! * Nothing is lost or duplicated: every value handed to a channel is received exactly
//!   once, given back in an error, or dropped with the channel.
//! * Dropping a pending `recv()` or select never loses a value; dropping a pending
//!   `send()` delivers its value at most once (it may already have been delivered; if not,
//!   it is dropped and never delivered later).
//! * A panicking `Drop` of a message never leaves a channel locked: values are never
//!   dropped while a channel lock is held.
//!
//! # Waiting costs no allocation
//!
//! A blocked `send()`, `recv()` or select keeps its wait inside itself: the channel queues
//! a pointer to it. That is why those futures are `!Unpin`; `.await` pins them for you, and
//! to poll one by hand, pin it first (`std::pin::pin!(rx.recv())`). A `Receiver` used as a
//! `Stream`, and [`SendSink`], keep one boxed wait each, reused for every item.
//!
//! How it works is described in the design notes of the (private) `waiter`, `chan`, `lock`
//! and `select` modules: one lock per channel, waiting senders and receivers queued under
//! it, direct hand-off between them, and a selection token that lets exactly one
//! counterpart complete a waiting select.

#![warn(missing_docs)]

mod chan;
mod channel;
mod err;
mod flavors;
mod lock;
mod loom;
mod macros;
mod ops;
mod select;
mod waiter;

pub use channel::{
    bounded, rendezvous, unbounded, IntoIter, Iter, Receiver, RecvFuture, SendFuture, SendSink,
    Sender, TryIter,
};
pub use err::{
    RecvError, RecvTimeoutError, SelectTimeoutError, SendError, SendTimeoutError, TryRecvError,
    TrySelectError, TrySendError,
};
pub use select::{Select, SelectedOperation};

/// Implementation details of the select macros. Not public API.
#[doc(hidden)]
pub mod __private {
    pub use crate::lock::Contention;
    pub use crate::select::{
        select_async, select_blocking, select_try, Cases, RecvCase, SelectFuture, Selectable,
        SendCase,
    };
    pub use crate::waiter::{Waiter, Wake};
}
