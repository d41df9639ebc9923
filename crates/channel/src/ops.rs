//! The single-channel operations every public call goes through: a send or a receive that
//! tries under the lock and, if it cannot proceed, registers one packet in the same critical
//! section, then waits asynchronously ([`SendWait`], [`RecvWait`]) or by parking the thread
//! ([`send_until`], [`recv_until`]). This is the one place where a plain operation starts
//! and stops waiting.

use crate::chan::{Chan, RecvAttempt, SendAttempt};
use crate::err::{RecvError, RecvTimeoutError, SendError, SendTimeoutError};
use crate::loom::Arc;
use crate::waiter::{expired, Done, Packet, Waiter};
use std::task::{Context, Poll};
use std::time::Instant;

/// Turns the outcome of a completed receive packet into the receive's result.
pub(crate) fn finish_recv<T>(chan: &Chan<T>, p: &Packet<T>, done: Done) -> Result<T, RecvError> {
    if !done.closed {
        // SAFETY: the owner observed DONE (Acquire), so the claimer's slot write is visible
        // and nobody else touches the slot any more.
        return Ok(unsafe { p.take() }.expect("a completed receive holds its value"));
    }
    // Closed: anything a cancelled receiver handed back after the close is still ours to
    // drain before reporting closed.
    let attempt = chan.lock().recv();
    match attempt {
        RecvAttempt::Received(v, wake) => {
            wake.wake();
            Ok(v)
        }
        RecvAttempt::Empty | RecvAttempt::Closed => Err(RecvError),
    }
}

/// Gives back a value that a completed receive will never return to its user.
pub(crate) fn requeue<T>(chan: &Chan<T>, value: T) {
    let wake = chan.lock().requeue(value);
    wake.wake();
}

/// An asynchronous receive in progress (the state of a `recv()` future or of the stream).
#[derive(Debug)]
pub(crate) struct RecvWait<T> {
    packet: Option<Arc<Packet<T>>>,
}

impl<T> RecvWait<T> {
    pub(crate) fn new() -> Self {
        RecvWait { packet: None }
    }

    #[inline]
    pub(crate) fn poll(
        &mut self,
        chan: &Chan<T>,
        cx: &mut Context<'_>,
    ) -> Poll<Result<T, RecvError>> {
        if let Some(p) = &self.packet {
            let Some(done) = p.waiter().poll_done(cx.waker()) else {
                return Poll::Pending;
            };
            let p = self.packet.take().expect("checked above");
            return Poll::Ready(finish_recv(chan, &p, done));
        }
        let mut g = chan.lock();
        match g.recv() {
            RecvAttempt::Received(v, wake) => {
                drop(g);
                wake.wake();
                Poll::Ready(Ok(v))
            }
            RecvAttempt::Closed => Poll::Ready(Err(RecvError)),
            RecvAttempt::Empty => {
                let p = Packet::own(Waiter::task(cx.waker()), None);
                g.register_receiver(p.clone());
                self.packet = Some(p);
                Poll::Pending
            }
        }
    }

    /// Withdraws a pending receive (the future or stream was dropped). A value already
    /// handed to it goes back to the channel.
    #[inline]
    pub(crate) fn cancel(&mut self, chan: &Chan<T>) {
        let Some(p) = self.packet.take() else { return };
        Self::cancel_slow(chan, p);
    }

    #[cold]
    fn cancel_slow(chan: &Chan<T>, p: Arc<Packet<T>>) {
        match p.waiter().abort() {
            Ok(()) => chan.lock().unregister(&p),
            Err(done) => {
                if !done.closed {
                    // SAFETY: we own the packet and observed DONE.
                    if let Some(v) = unsafe { p.take() } {
                        requeue(chan, v);
                    }
                }
            }
        }
    }
}

/// An asynchronous send in progress (the state of a `send()` future or of the sink).
#[derive(Debug)]
pub(crate) struct SendWait<T> {
    value: Option<T>,
    packet: Option<Arc<Packet<T>>>,
}

impl<T> SendWait<T> {
    pub(crate) fn new(value: Option<T>) -> Self {
        SendWait {
            value,
            packet: None,
        }
    }

    /// Whether a value is waiting to be sent (not yet delivered or registered).
    pub(crate) fn is_idle(&self) -> bool {
        self.value.is_none() && self.packet.is_none()
    }

    pub(crate) fn set(&mut self, value: T) {
        debug_assert!(self.is_idle());
        self.value = Some(value);
    }

    #[inline]
    pub(crate) fn poll(
        &mut self,
        chan: &Chan<T>,
        cx: &mut Context<'_>,
    ) -> Poll<Result<(), SendError<T>>> {
        if let Some(p) = &self.packet {
            let Some(done) = p.waiter().poll_done(cx.waker()) else {
                return Poll::Pending;
            };
            let p = self.packet.take().expect("checked above");
            return Poll::Ready(finish_send(&p, done));
        }
        let Some(value) = self.value.take() else {
            return Poll::Ready(Ok(()));
        };
        let mut g = chan.lock();
        match g.send(value) {
            SendAttempt::Sent(wake) => {
                drop(g);
                wake.wake();
                Poll::Ready(Ok(()))
            }
            SendAttempt::Closed(v) => Poll::Ready(Err(SendError(v))),
            SendAttempt::Full(v) => {
                let p = Packet::own(Waiter::task(cx.waker()), Some(v));
                g.register_sender(p.clone());
                self.packet = Some(p);
                Poll::Pending
            }
        }
    }

    /// Withdraws a pending send: either it was delivered already, or its value is dropped
    /// here and never delivered.
    #[inline]
    pub(crate) fn cancel(&mut self, chan: &Chan<T>) {
        let Some(p) = self.packet.take() else { return };
        Self::cancel_slow(chan, p);
    }

    #[cold]
    fn cancel_slow(chan: &Chan<T>, p: Arc<Packet<T>>) {
        if p.waiter().abort().is_ok() {
            chan.lock().unregister(&p);
        }
        // `p` (and any value still in it) is dropped here, after the lock is released.
    }
}

/// Turns the outcome of a completed send packet into the send's result.
pub(crate) fn finish_send<T>(p: &Packet<T>, done: Done) -> Result<(), SendError<T>> {
    if done.closed {
        // SAFETY: the owner observed DONE; a close leaves the value in the slot.
        Err(SendError(
            unsafe { p.take() }.expect("a send completed by close keeps its value"),
        ))
    } else {
        Ok(())
    }
}

/// Blocking send with an optional deadline.
pub(crate) fn send_until<T>(
    chan: &Chan<T>,
    value: T,
    deadline: Option<Instant>,
) -> Result<(), SendTimeoutError<T>> {
    let p = {
        let mut g = chan.lock();
        match g.send(value) {
            SendAttempt::Sent(wake) => {
                drop(g);
                wake.wake();
                return Ok(());
            }
            SendAttempt::Closed(v) => return Err(SendTimeoutError::Closed(v)),
            SendAttempt::Full(v) => {
                if expired(deadline) {
                    return Err(SendTimeoutError::Timeout(v));
                }
                let p = Packet::own(Waiter::thread(), Some(v));
                g.register_sender(p.clone());
                p
            }
        }
    };
    let done = match p.waiter().park(deadline) {
        Some(done) => done,
        None => match p.waiter().abort() {
            Ok(()) => {
                chan.lock().unregister(&p);
                // SAFETY: we won the abort: nobody else will touch the slot.
                let v = unsafe { p.take() }.expect("a withdrawn send keeps its value");
                return Err(SendTimeoutError::Timeout(v));
            }
            Err(done) => done,
        },
    };
    finish_send(&p, done).map_err(|SendError(v)| SendTimeoutError::Closed(v))
}

/// Blocking receive with an optional deadline.
pub(crate) fn recv_until<T>(
    chan: &Chan<T>,
    deadline: Option<Instant>,
) -> Result<T, RecvTimeoutError> {
    let p = {
        let mut g = chan.lock();
        match g.recv() {
            RecvAttempt::Received(v, wake) => {
                drop(g);
                wake.wake();
                return Ok(v);
            }
            RecvAttempt::Closed => return Err(RecvTimeoutError::Closed),
            RecvAttempt::Empty => {
                if expired(deadline) {
                    return Err(RecvTimeoutError::Timeout);
                }
                let p = Packet::own(Waiter::thread(), None);
                g.register_receiver(p.clone());
                p
            }
        }
    };
    let done = match p.waiter().park(deadline) {
        Some(done) => done,
        None => match p.waiter().abort() {
            Ok(()) => {
                chan.lock().unregister(&p);
                return Err(RecvTimeoutError::Timeout);
            }
            Err(done) => done,
        },
    };
    finish_recv(chan, &p, done).map_err(|_| RecvTimeoutError::Closed)
}
