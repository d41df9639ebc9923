//! The shared channel object and its locked operations.
//!
//! A [`Chan`] is one lock ([`RawLock`]) over [`Inner`]: the flavor's buffer, the `closed`
//! flag, the values given back by cancelled receivers, and the two waiter queues of the
//! protocol described in [`waiter`](crate::waiter). Every function on `Inner` runs with the
//! lock held and never blocks, allocates only to grow a queue, and never drops a user value
//! (values to drop are handed back to the caller, who drops them after unlocking, so a
//! panicking `Drop` can never leave a channel locked).
//!
//! A waiter found by a locked operation is completed (`finish`) under the lock but woken
//! only after the lock is released: the operations return the packets to wake as
//! [`Wake`] values.

use crate::flavors::{array, list, zero, Buffer};
use crate::lock::RawLock;
use crate::loom::{Arc, AtomicBool, AtomicU8, AtomicUsize, Ordering, UnsafeCell};
use crate::waiter::Packet;
use std::collections::VecDeque;

/// A completed waiter to wake once the channel lock is released.
#[must_use = "a completed waiter must be woken"]
pub(crate) struct Wake<T>(Option<Arc<Packet<T>>>);

impl<T> Wake<T> {
    pub(crate) fn none() -> Self {
        Wake(None)
    }

    /// Wakes the waiter (call after unlocking).
    #[inline]
    pub(crate) fn wake(self) {
        if let Some(p) = self.0 {
            p.waiter().notify();
        }
    }
}

/// Result of a send attempt under the lock.
pub(crate) enum SendAttempt<T> {
    Sent(Wake<T>),
    Full(T),
    Closed(T),
}

/// Result of a receive attempt under the lock.
pub(crate) enum RecvAttempt<T> {
    Received(T, Wake<T>),
    Empty,
    Closed,
}

pub(crate) struct Inner<T> {
    buf: Buffer<T>,
    /// Values handed back by receivers that were cancelled after a hand-off; older than
    /// anything in `buf`, so they are received first.
    returned: VecDeque<T>,
    closed: bool,
    recvq: VecDeque<Arc<Packet<T>>>,
    sendq: VecDeque<Arc<Packet<T>>>,
}

/// Claims the first live waiter of `queue`, dropping stale entries on the way.
#[inline]
fn claim_first<T>(queue: &mut VecDeque<Arc<Packet<T>>>) -> Option<Arc<Packet<T>>> {
    while let Some(p) = queue.pop_front() {
        if p.waiter().try_claim() {
            return Some(p);
        }
    }
    None
}

impl<T> Inner<T> {
    /// Sends without waiting.
    #[inline]
    pub(crate) fn send(&mut self, value: T) -> SendAttempt<T> {
        if self.closed {
            return SendAttempt::Closed(value);
        }
        if let Some(p) = claim_first(&mut self.recvq) {
            // SAFETY: we won the claim on p's waiter and have not finished it.
            unsafe { p.put(value) };
            p.waiter().finish(p.case(), false);
            return SendAttempt::Sent(Wake(Some(p)));
        }
        match self.buf.push(value) {
            Ok(()) => SendAttempt::Sent(Wake::none()),
            Err(value) => SendAttempt::Full(value),
        }
    }

    /// Receives without waiting.
    #[inline]
    pub(crate) fn recv(&mut self) -> RecvAttempt<T> {
        if let Some(v) = self.returned.pop_front() {
            return RecvAttempt::Received(v, Wake::none());
        }
        if let Some(v) = self.buf.pop() {
            // A slot freed up: move the first waiting sender's value into the buffer.
            let mut wake = Wake::none();
            if let Some(p) = claim_first(&mut self.sendq) {
                // SAFETY: we won the claim on p's waiter and have not finished it.
                let moved = unsafe { p.take() }.expect("a waiting sender holds its value");
                if self.buf.push(moved).is_err() {
                    unreachable!("a slot was just freed");
                }
                p.waiter().finish(p.case(), false);
                wake = Wake(Some(p));
            }
            return RecvAttempt::Received(v, wake);
        }
        if let Some(p) = claim_first(&mut self.sendq) {
            // SAFETY: we won the claim on p's waiter and have not finished it.
            let v = unsafe { p.take() }.expect("a waiting sender holds its value");
            p.waiter().finish(p.case(), false);
            return RecvAttempt::Received(v, Wake(Some(p)));
        }
        if self.closed {
            RecvAttempt::Closed
        } else {
            RecvAttempt::Empty
        }
    }

    /// Queues a blocked sender (its value is in the packet).
    pub(crate) fn register_sender(&mut self, p: Arc<Packet<T>>) {
        self.sendq.push_back(p);
    }

    /// Queues a blocked receiver.
    pub(crate) fn register_receiver(&mut self, p: Arc<Packet<T>>) {
        self.recvq.push_back(p);
    }

    /// Removes a withdrawn packet from whichever queue holds it.
    pub(crate) fn unregister(&mut self, p: &Arc<Packet<T>>) {
        if let Some(i) = self.recvq.iter().position(|q| Arc::ptr_eq(q, p)) {
            self.recvq.remove(i);
        } else if let Some(i) = self.sendq.iter().position(|q| Arc::ptr_eq(q, p)) {
            self.sendq.remove(i);
        }
    }

    /// Gives back a value that a cancelled receiver was handed but never returned: to the
    /// next waiting receiver, or to the front of the channel.
    pub(crate) fn requeue(&mut self, value: T) -> Wake<T> {
        if let Some(p) = claim_first(&mut self.recvq) {
            // SAFETY: we won the claim on p's waiter and have not finished it.
            unsafe { p.put(value) };
            p.waiter().finish(p.case(), false);
            return Wake(Some(p));
        }
        self.returned.push_front(value);
        Wake::none()
    }

    /// Closes the channel; completes every waiter as `closed`. Returns whether this call
    /// closed it, and the waiters to wake.
    pub(crate) fn close(&mut self) -> (bool, Vec<Arc<Packet<T>>>) {
        if self.closed {
            return (false, Vec::new());
        }
        self.closed = true;
        let mut woken = Vec::new();
        for p in self.recvq.drain(..).chain(self.sendq.drain(..)) {
            if p.waiter().try_claim() {
                p.waiter().finish(p.case(), true);
                woken.push(p);
            }
        }
        (true, woken)
    }

    /// Takes every buffered value out, to be dropped after unlocking.
    pub(crate) fn take_all(&mut self) -> (VecDeque<T>, Vec<T>) {
        (std::mem::take(&mut self.returned), self.buf.drain())
    }

    pub(crate) fn len(&self) -> usize {
        self.returned.len() + self.buf.len()
    }

    /// Which operations could proceed right now (a hint for select's first pass).
    #[inline]
    fn readiness(&self) -> u8 {
        if self.closed {
            return RECV_READY | SEND_READY;
        }
        let mut r = 0;
        if !self.returned.is_empty() || self.buf.len() > 0 || !self.sendq.is_empty() {
            r |= RECV_READY;
        }
        if !self.recvq.is_empty() || self.buf.has_room() {
            r |= SEND_READY;
        }
        r
    }
}

/// Readiness hint: a receive might proceed.
pub(crate) const RECV_READY: u8 = 0b01;
/// Readiness hint: a send might proceed.
pub(crate) const SEND_READY: u8 = 0b10;

/// The channel shared by all senders and receivers.
pub(crate) struct Chan<T> {
    lock: RawLock,
    inner: UnsafeCell<Inner<T>>,
    cap: Option<usize>,
    closed: AtomicBool,
    /// `RECV_READY`/`SEND_READY` as of the last unlock. Only a hint: it lets a select skip
    /// (without locking) channels that were not ready a moment ago; every decision that
    /// matters is taken under the lock.
    ready: AtomicU8,
    senders: AtomicUsize,
    receivers: AtomicUsize,
}

// SAFETY: `inner` is only accessed with `lock` held, so sharing a `Chan` between threads
// only moves `T` values between them: `T: Send` suffices.
unsafe impl<T: Send> Send for Chan<T> {}
// SAFETY: as above.
unsafe impl<T: Send> Sync for Chan<T> {}

impl<T> Chan<T> {
    /// A channel of capacity `cap` (`None`: unbounded), with one sender and one receiver.
    pub(crate) fn new(cap: Option<usize>) -> Self {
        let buf = match cap {
            None => Buffer::List(list::Blocks::new()),
            Some(0) => Buffer::Zero(zero::Zero),
            Some(n) => Buffer::Array(array::Ring::new(n)),
        };
        Chan {
            lock: RawLock::new(),
            inner: UnsafeCell::new(Inner {
                buf,
                returned: VecDeque::new(),
                closed: false,
                recvq: VecDeque::new(),
                sendq: VecDeque::new(),
            }),
            cap,
            closed: AtomicBool::new(false),
            ready: AtomicU8::new(if cap == Some(0) { 0 } else { SEND_READY }),
            senders: AtomicUsize::new(1),
            receivers: AtomicUsize::new(1),
        }
    }

    /// Locks the channel.
    #[inline]
    pub(crate) fn lock(&self) -> Guard<'_, T> {
        self.lock.lock();
        Guard { chan: self }
    }

    /// Takes the lock without a guard (select locks several channels at once).
    pub(crate) fn raw_lock(&self) {
        self.lock.lock();
    }

    /// Releases a lock taken with [`raw_lock`](Self::raw_lock).
    ///
    /// # Safety
    /// The caller holds the lock and holds no `&mut Inner` obtained under it any more.
    #[inline]
    pub(crate) unsafe fn raw_unlock(&self) {
        // SAFETY: the caller holds the lock, so reading the state is exclusive.
        let ready = self.inner.with(|p| unsafe { (*p).readiness() });
        // Relaxed: a hint; the unlock below (Release) publishes it with everything else,
        // and a stale value only sends a select down its locked path.
        self.ready.store(ready, Ordering::Relaxed);
        // SAFETY: the caller holds the lock.
        unsafe { self.lock.unlock() }
    }

    /// The readiness hint (`RECV_READY`/`SEND_READY` bits), read without the lock.
    pub(crate) fn ready_hint(&self) -> u8 {
        // Relaxed: see the field.
        self.ready.load(Ordering::Relaxed)
    }

    /// The locked state.
    ///
    /// # Safety
    /// The caller holds the lock (via [`raw_lock`](Self::raw_lock)) for as long as it uses
    /// the returned reference, and creates no other reference to it meanwhile.
    #[allow(clippy::mut_from_ref)]
    pub(crate) unsafe fn inner_unchecked(&self) -> &mut Inner<T> {
        // SAFETY: the lock gives exclusive access (the caller's obligation).
        self.inner.with_mut(|p| unsafe { &mut *p })
    }

    /// Identity of the channel, for lock ordering and `same_channel`.
    pub(crate) fn addr(&self) -> usize {
        self as *const Self as *const u8 as usize
    }

    pub(crate) fn capacity(&self) -> Option<usize> {
        self.cap
    }

    pub(crate) fn is_closed(&self) -> bool {
        // Acquire: pairs with the Release store in `close`; a caller that sees `true` sees
        // the channel as it was closed.
        self.closed.load(Ordering::Acquire)
    }

    /// Closes the channel (Go's `close(ch)`), waking every blocked party.
    pub(crate) fn close(&self) -> bool {
        let (closed, woken) = {
            let mut g = self.lock();
            let r = g.close();
            if r.0 {
                // Release: see `is_closed`.
                self.closed.store(true, Ordering::Release);
            }
            r
        };
        for p in woken {
            p.waiter().notify();
        }
        closed
    }

    /// Number of values in the channel.
    pub(crate) fn len(&self) -> usize {
        self.lock().len()
    }

    pub(crate) fn add_sender(&self) {
        // Relaxed: a new handle is cloned from a live one, which keeps the count above zero.
        self.senders.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn add_receiver(&self) {
        // Relaxed: as in `add_sender`.
        self.receivers.fetch_add(1, Ordering::Relaxed);
    }

    /// Drops one sender handle; the last one closes the channel.
    pub(crate) fn remove_sender(&self) {
        // AcqRel: the last decrement must see every other handle's operations before it
        // closes (as with `Arc`'s strong count).
        if self.senders.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.close();
        }
    }

    /// Drops one receiver handle; the last one closes the channel and drops what is
    /// buffered (nobody can receive it any more).
    pub(crate) fn remove_receiver(&self) {
        // AcqRel: as in `remove_sender`.
        if self.receivers.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.close();
            let leftovers = self.lock().take_all();
            drop(leftovers);
        }
    }
}

impl<T> Drop for Chan<T> {
    fn drop(&mut self) {
        // Values still buffered are dropped here, exactly once, with the channel.
        let leftovers = self.lock().take_all();
        drop(leftovers);
    }
}

/// The channel lock, held.
pub(crate) struct Guard<'a, T> {
    chan: &'a Chan<T>,
}

impl<T> std::ops::Deref for Guard<'_, T> {
    type Target = Inner<T>;
    fn deref(&self) -> &Inner<T> {
        // SAFETY: the guard holds the lock; shared access through `&self` only.
        self.chan.inner.with(|p| unsafe { &*p })
    }
}

impl<T> std::ops::DerefMut for Guard<'_, T> {
    fn deref_mut(&mut self) -> &mut Inner<T> {
        // SAFETY: the guard holds the lock, and `&mut self` makes this the only reference.
        unsafe { self.chan.inner_unchecked() }
    }
}

impl<T> Drop for Guard<'_, T> {
    fn drop(&mut self) {
        // SAFETY: the guard holds the lock; no reference derived from it outlives the guard.
        unsafe { self.chan.raw_unlock() }
    }
}
