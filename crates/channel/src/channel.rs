//! The public channel API: constructors, [`Sender`], [`Receiver`], their futures, iterators,
//! `Stream` and `Sink`.

use crate::chan::{Chan, RecvAttempt, SendAttempt};
use crate::err::{
    RecvError, RecvTimeoutError, SendError, SendTimeoutError, TryRecvError, TrySendError,
};
use crate::loom::Arc;
use crate::ops::{self, Op, RecvOp, SendOp};
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

/// Creates a channel with room for `cap` values (Go's `make(chan T, cap)`).
///
/// A send waits while the buffer is full; a receive waits while it is empty.
/// `bounded(0)` is a [`rendezvous`] channel.
///
/// # Examples
///
/// ```
/// let (tx, rx) = goro_channel::bounded(2);
/// tx.send_blocking(1).unwrap();
/// tx.send_blocking(2).unwrap();
/// assert!(tx.is_full());
/// assert_eq!(rx.recv_blocking(), Ok(1));
/// assert_eq!(rx.capacity(), Some(2));
/// ```
pub fn bounded<T>(cap: usize) -> (Sender<T>, Receiver<T>) {
    with_capacity(Some(cap))
}

/// Creates a channel with no limit on buffered values; sends never wait.
///
/// # Examples
///
/// ```
/// let (tx, rx) = goro_channel::unbounded();
/// for i in 0..1000 {
///     tx.try_send(i).unwrap();
/// }
/// assert_eq!(rx.len(), 1000);
/// assert_eq!(rx.capacity(), None);
/// ```
pub fn unbounded<T>() -> (Sender<T>, Receiver<T>) {
    with_capacity(None)
}

/// Creates a channel without a buffer (Go's `make(chan T)`): a send completes only when a
/// receiver takes the value.
///
/// It is the same as `bounded(0)`: `capacity()` is `Some(0)`, and the channel is always
/// both empty and full.
///
/// # Examples
///
/// ```
/// let (tx, rx) = goro_channel::rendezvous();
/// // Nobody is receiving yet, so a non-waiting send fails.
/// assert!(tx.try_send(1).is_err());
/// let t = std::thread::spawn(move || tx.send_blocking(2));
/// assert_eq!(rx.recv_blocking(), Ok(2));
/// t.join().unwrap().unwrap();
/// ```
pub fn rendezvous<T>() -> (Sender<T>, Receiver<T>) {
    with_capacity(Some(0))
}

fn with_capacity<T>(cap: Option<usize>) -> (Sender<T>, Receiver<T>) {
    let chan = Arc::new(Chan::new(cap));
    (
        Sender { chan: chan.clone() },
        Receiver {
            chan,
            stream: None,
            terminated: false,
        },
    )
}

/// The sending side of a channel. Clone it for more senders; the channel closes when the
/// last sender (or the last receiver) is dropped.
pub struct Sender<T> {
    pub(crate) chan: Arc<Chan<T>>,
}

/// The receiving side of a channel. Clone it for more receivers (each value goes to exactly
/// one of them); the channel closes when the last receiver (or the last sender) is dropped.
pub struct Receiver<T> {
    pub(crate) chan: Arc<Chan<T>>,
    /// The wait of the `Stream` implementation, boxed (a `Receiver` moves) and kept for
    /// reuse: allocated at the stream's first wait, then never again.
    stream: Option<Box<Op<T>>>,
    terminated: bool,
}

macro_rules! shared_methods {
    () => {
        /// Closes the channel (Go's `close(ch)`), from either end.
        ///
        /// From then on sends fail and give their value back (a blocked sender is woken with
        /// its value); receivers still get what is buffered, then [`RecvError`].
        /// Returns `true` if this call closed the channel, `false` if it was closed already.
        ///
        /// # Examples
        ///
        /// ```
        /// let (tx, rx) = goro_channel::bounded(1);
        /// tx.send_blocking(1).unwrap();
        /// assert!(tx.close());
        /// assert!(!rx.close());
        /// assert_eq!(rx.recv_blocking(), Ok(1));
        /// assert!(rx.recv_blocking().is_err());
        /// ```
        pub fn close(&self) -> bool {
            self.chan.close()
        }

        /// Whether the channel is closed.
        ///
        /// # Examples
        ///
        /// ```
        /// let (tx, rx) = goro_channel::unbounded::<()>();
        /// assert!(!rx.is_closed());
        /// drop(tx);
        /// assert!(rx.is_closed());
        /// ```
        pub fn is_closed(&self) -> bool {
            self.chan.is_closed()
        }

        /// Number of values buffered in the channel (always 0 for a rendezvous channel).
        ///
        /// # Examples
        ///
        /// ```
        /// let (tx, rx) = goro_channel::bounded(3);
        /// tx.try_send(1).unwrap();
        /// assert_eq!(rx.len(), 1);
        /// ```
        pub fn len(&self) -> usize {
            self.chan.len()
        }

        /// Whether no value is buffered. A rendezvous channel is always empty.
        ///
        /// # Examples
        ///
        /// ```
        /// let (tx, rx) = goro_channel::bounded::<u8>(1);
        /// assert!(rx.is_empty() && tx.is_empty());
        /// ```
        pub fn is_empty(&self) -> bool {
            self.chan.len() == 0
        }

        /// Whether the buffer is full. A rendezvous channel is always full; an unbounded one
        /// never is.
        ///
        /// # Examples
        ///
        /// ```
        /// let (tx, _rx) = goro_channel::bounded(1);
        /// assert!(!tx.is_full());
        /// tx.try_send(()).unwrap();
        /// assert!(tx.is_full());
        /// ```
        pub fn is_full(&self) -> bool {
            match self.chan.capacity() {
                None => false,
                Some(cap) => self.chan.len() >= cap,
            }
        }

        /// The channel's capacity: `Some(n)` for `bounded(n)` (`Some(0)` for rendezvous),
        /// `None` for unbounded.
        ///
        /// # Examples
        ///
        /// ```
        /// let (tx, _rx) = goro_channel::rendezvous::<u8>();
        /// assert_eq!(tx.capacity(), Some(0));
        /// ```
        pub fn capacity(&self) -> Option<usize> {
            self.chan.capacity()
        }
    };
}

impl<T> Sender<T> {
    /// Sends a value, waiting while the channel is full (or, for a rendezvous channel, until
    /// a receiver takes it).
    ///
    /// # Errors
    /// [`SendError`] with the value if the channel is closed (before or while waiting).
    ///
    /// # Cancel safety
    /// Dropping the future either leaves the value delivered (if a receiver already took it)
    /// or drops it; it is never delivered later.
    ///
    /// # Examples
    ///
    /// ```
    /// # futures::executor::block_on(async {
    /// let (tx, rx) = goro_channel::bounded(1);
    /// tx.send(5).await.unwrap();
    /// assert_eq!(rx.recv().await, Ok(5));
    /// drop(rx);
    /// assert_eq!(tx.send(6).await.unwrap_err().into_inner(), 6);
    /// # });
    /// ```
    #[inline(always)]
    pub fn send(&self, value: T) -> SendFuture<'_, T> {
        SendFuture {
            chan: &self.chan,
            op: Op::new(Some(value)),
        }
    }

    /// Sends a value, blocking the thread while the channel is full.
    ///
    /// Meant for plain threads; in async code use [`send`](Self::send).
    ///
    /// # Errors
    /// [`SendError`] with the value if the channel is closed.
    ///
    /// # Examples
    ///
    /// ```
    /// let (tx, rx) = goro_channel::bounded(1);
    /// std::thread::spawn(move || {
    ///     for i in 0..3 {
    ///         tx.send_blocking(i).unwrap();
    ///     }
    /// });
    /// assert_eq!(rx.iter().collect::<Vec<_>>(), [0, 1, 2]);
    /// ```
    pub fn send_blocking(&self, value: T) -> Result<(), SendError<T>> {
        ops::send_until(&self.chan, value, None).map_err(|e| SendError(e.into_inner()))
    }

    /// Sends a value if that is possible without waiting.
    ///
    /// # Errors
    /// [`TrySendError::Full`] if the buffer is full (for a rendezvous channel: no receiver
    /// is waiting), [`TrySendError::Closed`] if the channel is closed; both give the value
    /// back.
    ///
    /// # Examples
    ///
    /// ```
    /// use goro_channel::TrySendError;
    /// let (tx, rx) = goro_channel::bounded(1);
    /// assert_eq!(tx.try_send(1), Ok(()));
    /// assert_eq!(tx.try_send(2), Err(TrySendError::Full(2)));
    /// drop(rx);
    /// assert_eq!(tx.try_send(3), Err(TrySendError::Closed(3)));
    /// ```
    pub fn try_send(&self, value: T) -> Result<(), TrySendError<T>> {
        let mut g = self.chan.lock();
        match g.send(value) {
            SendAttempt::Sent(wake) => {
                drop(g);
                wake.wake();
                Ok(())
            }
            SendAttempt::Full(v) => Err(TrySendError::Full(v)),
            SendAttempt::Closed(v) => Err(TrySendError::Closed(v)),
        }
    }

    /// Sends a value, blocking the thread for at most `timeout`.
    ///
    /// # Errors
    /// [`SendTimeoutError::Timeout`] if there was no room in time,
    /// [`SendTimeoutError::Closed`] if the channel is closed; both give the value back.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// let (tx, rx) = goro_channel::bounded(1);
    /// tx.send_timeout(1, Duration::from_millis(10)).unwrap();
    /// assert!(tx.send_timeout(2, Duration::from_millis(10)).unwrap_err().is_timeout());
    /// # drop(rx);
    /// ```
    pub fn send_timeout(&self, value: T, timeout: Duration) -> Result<(), SendTimeoutError<T>> {
        ops::send_until(&self.chan, value, Instant::now().checked_add(timeout))
    }

    /// Sends a value, blocking the thread until `deadline` at the latest.
    ///
    /// # Errors
    /// As for [`send_timeout`](Self::send_timeout).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::{Duration, Instant};
    /// let (tx, _rx) = goro_channel::rendezvous();
    /// let r = tx.send_deadline(1, Instant::now() + Duration::from_millis(5));
    /// assert!(r.unwrap_err().is_timeout());
    /// ```
    pub fn send_deadline(&self, value: T, deadline: Instant) -> Result<(), SendTimeoutError<T>> {
        ops::send_until(&self.chan, value, Some(deadline))
    }

    /// Whether both handles belong to the same channel.
    ///
    /// # Examples
    ///
    /// ```
    /// let (tx, _rx) = goro_channel::unbounded::<u8>();
    /// let (tx2, _rx2) = goro_channel::unbounded::<u8>();
    /// assert!(tx.same_channel(&tx.clone()));
    /// assert!(!tx.same_channel(&tx2));
    /// ```
    pub fn same_channel(&self, other: &Sender<T>) -> bool {
        Arc::ptr_eq(&self.chan, &other.chan)
    }

    /// Turns the sender into a [`futures_sink::Sink`] (closing the sink closes the
    /// channel).
    ///
    /// # Examples
    ///
    /// ```
    /// use futures::{SinkExt, StreamExt};
    /// # futures::executor::block_on(async {
    /// let (tx, rx) = goro_channel::bounded(4);
    /// let mut sink = tx.into_sink();
    /// sink.send(1).await.unwrap();
    /// sink.close().await.unwrap();
    /// assert_eq!(rx.collect::<Vec<_>>().await, [1]);
    /// # });
    /// ```
    pub fn into_sink(self) -> SendSink<T> {
        SendSink {
            sender: self,
            op: Box::new(Op::new(None)),
        }
    }

    shared_methods!();
}

impl<T> Receiver<T> {
    /// Receives a value, waiting while the channel is empty.
    ///
    /// # Errors
    /// [`RecvError`] once the channel is closed and everything buffered was received.
    ///
    /// # Cancel safety
    /// Dropping the future never loses a value: one that was already handed to it goes
    /// back to the channel, to the next receiver.
    ///
    /// # Examples
    ///
    /// ```
    /// # futures::executor::block_on(async {
    /// let (tx, rx) = goro_channel::unbounded();
    /// tx.send(1).await.unwrap();
    /// drop(tx);
    /// assert_eq!(rx.recv().await, Ok(1));
    /// assert!(rx.recv().await.is_err());
    /// # });
    /// ```
    #[inline(always)]
    pub fn recv(&self) -> RecvFuture<'_, T> {
        RecvFuture {
            chan: &self.chan,
            op: Op::new(None),
        }
    }

    /// Receives a value, blocking the thread while the channel is empty.
    ///
    /// # Errors
    /// [`RecvError`] once the channel is closed and empty.
    ///
    /// # Examples
    ///
    /// ```
    /// let (tx, rx) = goro_channel::bounded(1);
    /// std::thread::spawn(move || tx.send_blocking("hi").unwrap());
    /// assert_eq!(rx.recv_blocking(), Ok("hi"));
    /// assert!(rx.recv_blocking().is_err());
    /// ```
    pub fn recv_blocking(&self) -> Result<T, RecvError> {
        ops::recv_until(&self.chan, None).map_err(|_| RecvError)
    }

    /// Receives a value if one is available without waiting.
    ///
    /// # Errors
    /// [`TryRecvError::Empty`] if nothing is buffered (rendezvous: no sender waiting),
    /// [`TryRecvError::Closed`] if the channel is closed and empty.
    ///
    /// # Examples
    ///
    /// ```
    /// use goro_channel::TryRecvError;
    /// let (tx, rx) = goro_channel::bounded(1);
    /// assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
    /// tx.try_send(1).unwrap();
    /// assert_eq!(rx.try_recv(), Ok(1));
    /// drop(tx);
    /// assert_eq!(rx.try_recv(), Err(TryRecvError::Closed));
    /// ```
    pub fn try_recv(&self) -> Result<T, TryRecvError> {
        let mut g = self.chan.lock();
        match g.recv() {
            RecvAttempt::Received(v, wake) => {
                drop(g);
                wake.wake();
                Ok(v)
            }
            RecvAttempt::Empty => Err(TryRecvError::Empty),
            RecvAttempt::Closed => Err(TryRecvError::Closed),
        }
    }

    /// Receives a value, blocking the thread for at most `timeout`.
    ///
    /// # Errors
    /// [`RecvTimeoutError::Timeout`] if nothing arrived in time,
    /// [`RecvTimeoutError::Closed`] if the channel is closed and empty.
    ///
    /// # Examples
    ///
    /// ```
    /// use goro_channel::RecvTimeoutError;
    /// use std::time::Duration;
    /// let (tx, rx) = goro_channel::unbounded::<u8>();
    /// assert_eq!(rx.recv_timeout(Duration::from_millis(5)), Err(RecvTimeoutError::Timeout));
    /// drop(tx);
    /// assert_eq!(rx.recv_timeout(Duration::from_millis(5)), Err(RecvTimeoutError::Closed));
    /// ```
    pub fn recv_timeout(&self, timeout: Duration) -> Result<T, RecvTimeoutError> {
        ops::recv_until(&self.chan, Instant::now().checked_add(timeout))
    }

    /// Receives a value, blocking the thread until `deadline` at the latest.
    ///
    /// # Errors
    /// As for [`recv_timeout`](Self::recv_timeout).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::{Duration, Instant};
    /// let (_tx, rx) = goro_channel::unbounded::<u8>();
    /// assert!(rx.recv_deadline(Instant::now() + Duration::from_millis(1)).is_err());
    /// ```
    pub fn recv_deadline(&self, deadline: Instant) -> Result<T, RecvTimeoutError> {
        ops::recv_until(&self.chan, Some(deadline))
    }

    /// A blocking iterator over received values that ends when the channel is closed and
    /// empty (Go's `for v := range ch`).
    ///
    /// # Examples
    ///
    /// ```
    /// let (tx, rx) = goro_channel::unbounded();
    /// std::thread::spawn(move || {
    ///     for i in 1..=3 {
    ///         tx.send_blocking(i).unwrap();
    ///     }
    /// });
    /// assert_eq!(rx.iter().sum::<i32>(), 6);
    /// ```
    pub fn iter(&self) -> Iter<'_, T> {
        Iter { rx: self }
    }

    /// An iterator over the values available now, without waiting.
    ///
    /// # Examples
    ///
    /// ```
    /// let (tx, rx) = goro_channel::unbounded();
    /// tx.try_send(1).unwrap();
    /// tx.try_send(2).unwrap();
    /// assert_eq!(rx.try_iter().collect::<Vec<_>>(), [1, 2]);
    /// ```
    pub fn try_iter(&self) -> TryIter<'_, T> {
        TryIter { rx: self }
    }

    /// Whether both handles belong to the same channel.
    ///
    /// # Examples
    ///
    /// ```
    /// let (_tx, rx) = goro_channel::unbounded::<u8>();
    /// assert!(rx.same_channel(&rx.clone()));
    /// ```
    pub fn same_channel(&self, other: &Receiver<T>) -> bool {
        Arc::ptr_eq(&self.chan, &other.chan)
    }

    shared_methods!();
}

impl<T> Clone for Sender<T> {
    fn clone(&self) -> Self {
        self.chan.add_sender();
        Sender {
            chan: self.chan.clone(),
        }
    }
}

impl<T> Clone for Receiver<T> {
    fn clone(&self) -> Self {
        self.chan.add_receiver();
        Receiver {
            chan: self.chan.clone(),
            stream: None,
            terminated: false,
        }
    }
}

impl<T> Drop for Sender<T> {
    fn drop(&mut self) {
        self.chan.remove_sender();
    }
}

impl<T> Drop for Receiver<T> {
    fn drop(&mut self) {
        if let Some(op) = &mut self.stream {
            RecvOp::cancel(op, &self.chan);
        }
        self.chan.remove_receiver();
    }
}

impl<T> fmt::Debug for Sender<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sender")
            .field("len", &self.len())
            .field("capacity", &self.capacity())
            .field("closed", &self.is_closed())
            .finish()
    }
}

impl<T> fmt::Debug for Receiver<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Receiver")
            .field("len", &self.len())
            .field("capacity", &self.capacity())
            .field("closed", &self.is_closed())
            .finish()
    }
}

/// The future returned by [`Sender::send`].
///
/// It is `!Unpin`: while it waits, the channel holds a pointer to the wait inside it (no
/// allocation per wait). Pin it to poll it by hand (`std::pin::pin!`, `Box::pin`);
/// `.await` does that for you.
#[must_use = "futures do nothing unless you `.await` or poll them"]
pub struct SendFuture<'a, T> {
    chan: &'a Chan<T>,
    op: Op<T>,
}

impl<T> Future for SendFuture<'_, T> {
    type Output = Result<(), SendError<T>>;

    #[inline(always)]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        // SAFETY: nothing is moved out of the pinned future; `op` stays in place until
        // it is unregistered (completion, or `Drop` below).
        let this = unsafe { self.get_unchecked_mut() };
        // SAFETY: `op` is pinned with the future and withdrawn in `Drop`.
        unsafe { SendOp::poll(&mut this.op, this.chan, cx) }
    }
}

impl<T> Drop for SendFuture<'_, T> {
    fn drop(&mut self) {
        SendOp::cancel(&mut self.op, self.chan);
    }
}

impl<T> fmt::Debug for SendFuture<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SendFuture")
            .field("waiting", &self.op.is_registered())
            .finish_non_exhaustive()
    }
}

/// The future returned by [`Receiver::recv`].
///
/// `!Unpin` for the same reason as [`SendFuture`].
#[must_use = "futures do nothing unless you `.await` or poll them"]
pub struct RecvFuture<'a, T> {
    chan: &'a Chan<T>,
    op: Op<T>,
}

impl<T> Future for RecvFuture<'_, T> {
    type Output = Result<T, RecvError>;

    #[inline(always)]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        // SAFETY: as in `SendFuture::poll`.
        let this = unsafe { self.get_unchecked_mut() };
        // SAFETY: `op` is pinned with the future and withdrawn in `Drop`.
        unsafe { RecvOp::poll(&mut this.op, this.chan, cx) }
    }
}

impl<T> Drop for RecvFuture<'_, T> {
    fn drop(&mut self) {
        RecvOp::cancel(&mut self.op, self.chan);
    }
}

impl<T> fmt::Debug for RecvFuture<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RecvFuture")
            .field("waiting", &self.op.is_registered())
            .finish_non_exhaustive()
    }
}

impl<T> futures_core::Stream for Receiver<T> {
    type Item = T;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<T>> {
        let this = self.get_mut();
        if this.terminated {
            return Poll::Ready(None);
        }
        let op = this.stream.get_or_insert_with(|| Box::new(Op::new(None)));
        // SAFETY: the op is boxed: it stays in place however the receiver moves, until it
        // is withdrawn in `Receiver::drop` (or completes).
        match unsafe { RecvOp::poll(op, &this.chan, cx) } {
            Poll::Ready(Ok(v)) => Poll::Ready(Some(v)),
            Poll::Ready(Err(RecvError)) => {
                this.terminated = true;
                Poll::Ready(None)
            }
            Poll::Pending => Poll::Pending,
        }
    }
}

impl<T> futures_core::FusedStream for Receiver<T> {
    fn is_terminated(&self) -> bool {
        self.terminated
    }
}

/// A blocking iterator over a [`Receiver`], from [`Receiver::iter`].
pub struct Iter<'a, T> {
    rx: &'a Receiver<T>,
}

impl<T> Iterator for Iter<'_, T> {
    type Item = T;
    fn next(&mut self) -> Option<T> {
        self.rx.recv_blocking().ok()
    }
}

impl<T> fmt::Debug for Iter<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Iter").finish_non_exhaustive()
    }
}

/// A non-waiting iterator over a [`Receiver`], from [`Receiver::try_iter`].
pub struct TryIter<'a, T> {
    rx: &'a Receiver<T>,
}

impl<T> Iterator for TryIter<'_, T> {
    type Item = T;
    fn next(&mut self) -> Option<T> {
        self.rx.try_recv().ok()
    }
}

impl<T> fmt::Debug for TryIter<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TryIter").finish_non_exhaustive()
    }
}

/// An owning blocking iterator over a [`Receiver`].
pub struct IntoIter<T> {
    rx: Receiver<T>,
}

impl<T> Iterator for IntoIter<T> {
    type Item = T;
    fn next(&mut self) -> Option<T> {
        self.rx.recv_blocking().ok()
    }
}

impl<T> fmt::Debug for IntoIter<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IntoIter").finish_non_exhaustive()
    }
}

impl<'a, T> IntoIterator for &'a Receiver<T> {
    type Item = T;
    type IntoIter = Iter<'a, T>;
    fn into_iter(self) -> Iter<'a, T> {
        self.iter()
    }
}

impl<T> IntoIterator for Receiver<T> {
    type Item = T;
    type IntoIter = IntoIter<T>;
    fn into_iter(self) -> IntoIter<T> {
        IntoIter { rx: self }
    }
}

/// A [`Sender`] as a [`futures_sink::Sink`], from [`Sender::into_sink`].
///
/// `start_send` parks the item; `poll_ready`/`poll_flush` drive its send. `poll_close`
/// flushes and then closes the channel.
pub struct SendSink<T> {
    sender: Sender<T>,
    /// The send in progress, boxed so that the sink can move while it waits.
    op: Box<Op<T>>,
}

impl<T> SendSink<T> {
    /// The underlying sender.
    pub fn sender(&self) -> &Sender<T> {
        &self.sender
    }

    fn poll_op(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), SendError<T>>> {
        // SAFETY: the op is boxed and withdrawn in `Drop`.
        unsafe { SendOp::poll(&mut self.op, &self.sender.chan, cx) }
    }
}

impl<T> fmt::Debug for SendSink<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SendSink")
            .field("sender", &self.sender)
            .finish_non_exhaustive()
    }
}

impl<T> futures_sink::Sink<T> for SendSink<T> {
    type Error = SendError<T>;

    fn poll_ready(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.get_mut().poll_op(cx)
    }

    fn start_send(self: Pin<&mut Self>, item: T) -> Result<(), Self::Error> {
        let this = self.get_mut();
        assert!(
            !this.op.is_registered() && !this.op.has_value(),
            "SendSink::start_send called without poll_ready returning Ready first"
        );
        this.op.set_value(item);
        Ok(())
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.get_mut().poll_op(cx)
    }

    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        let this = self.get_mut();
        match this.poll_op(cx) {
            Poll::Ready(r) => {
                this.sender.close();
                Poll::Ready(r)
            }
            Poll::Pending => Poll::Pending,
        }
    }
}

impl<T> Drop for SendSink<T> {
    fn drop(&mut self) {
        SendOp::cancel(&mut self.op, &self.sender.chan);
    }
}
