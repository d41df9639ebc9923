//! The shared channel object and its locked operations.
//!
//! A [`Chan`] is one lock ([`RawLock`]) over [`Inner`]: the flavor's buffer, the `closed`
//! flag, the values given back by cancelled receivers, and the two waiter queues of the
//! protocol described in [`waiter`](crate::waiter). Every function on `Inner` runs with the
//! lock held and never blocks, allocates only to grow a queue or a buffer, and never drops a
//! user value (values to drop are handed back to the caller, who drops them after unlocking,
//! so a panicking `Drop` can never leave a channel locked).
//!
//! A waiter found by a locked operation is completed (`finish`) under the lock and woken
//! once the critical section is over: the operations return the wake-up to deliver as a
//! [`Wake`] value. Blocking calls, selects and sends deliver it after unlocking; async
//! receives just before, with the lock kept in a way that a waker re-entering the channel
//! cannot deadlock on ([`Guard::unlock_waking`], "Waking under the lock" in `lock.rs`).
//!
//! # The fast path
//!
//! `Inner::flags` summarises, in one byte beside the buffer, everything that makes an
//! operation more than a plain buffer push or pop: the channel is closed, receivers or
//! senders are queued, or values were given back. A send with no `CLOSED`/`RECVQ` bit, or a
//! receive with no `SENDQ`/`RETURNED` bit, touches only the lock, this byte and the buffer.
//! The lock, the readiness hint and these hot fields share the channel's first cache line.

use crate::flavors::Buffer;
use crate::lock::{Contention, RawLock};
use crate::loom::{AtomicBool, AtomicU8, AtomicUsize, Ordering, UnsafeCell};
use crate::waiter::{Claim, Packet, Wake};
use std::collections::VecDeque;
use std::ptr::NonNull;

/// Result of a send attempt under the lock.
pub(crate) enum SendAttempt<T> {
    Sent(Wake),
    Full(T),
    Closed(T),
}

/// Result of a receive attempt under the lock.
pub(crate) enum RecvAttempt<T> {
    Received(T, Wake),
    Empty,
    Closed,
}

const CLOSED: u8 = 0b0001;
const RECVQ: u8 = 0b0010;
const SENDQ: u8 = 0b0100;
const RETURNED: u8 = 0b1000;

/// A queue of waiting packets, by address (see the invariant in [`waiter`](crate::waiter)).
pub(crate) struct WaitQueue<T>(VecDeque<NonNull<Packet<T>>>);

impl<T> WaitQueue<T> {
    fn new() -> Self {
        WaitQueue(VecDeque::new())
    }

    fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Claims the first live waiter, dropping stale entries on the way. The caller must
    /// consume the [`Claimed`] before it releases the channel lock.
    #[inline]
    fn claim_first(&mut self) -> Option<Claimed<T>> {
        while let Some(p) = self.0.pop_front() {
            // SAFETY: a queued packet is alive (the module invariant) and bound to a live
            // waiter; we hold the lock under which it was queued.
            if let Some(claim) = unsafe { p.as_ref().waiter() }.try_claim() {
                return Some(Claimed { p, claim });
            }
        }
        None
    }

    fn remove(&mut self, p: NonNull<Packet<T>>) -> bool {
        match self.0.iter().position(|q| *q == p) {
            Some(i) => {
                self.0.remove(i);
                true
            }
            None => false,
        }
    }
}

/// A waiting packet this party claimed; consumed (under the lock) by moving the value and
/// finishing the waiter, which yields the wake-up to deliver after unlocking.
struct Claimed<T> {
    p: NonNull<Packet<T>>,
    claim: Claim,
}

impl<T> Claimed<T> {
    /// Hands `value` to a claimed receiver.
    #[inline]
    fn give(self, value: T) -> Wake {
        // SAFETY: the packet stays alive until its waiter is finished (module invariant of
        // `waiter`), and we hold the claim, so the slot is ours.
        let p = unsafe { self.p.as_ref() };
        // SAFETY: as above.
        unsafe {
            p.put(value);
            p.waiter().finish(self.claim, p.case(), false)
        }
    }

    /// Takes the value of a claimed sender.
    #[inline]
    fn take(self) -> (T, Wake) {
        // SAFETY: as in `give`.
        let p = unsafe { self.p.as_ref() };
        // SAFETY: as in `give`.
        unsafe {
            let v = p.take().expect("a waiting sender holds its value");
            (v, p.waiter().finish(self.claim, p.case(), false))
        }
    }

    /// Completes a claimed waiter with "closed".
    fn close(self) -> Wake {
        // SAFETY: as in `give`.
        let p = unsafe { self.p.as_ref() };
        // SAFETY: as in `give`.
        unsafe { p.waiter().finish(self.claim, p.case(), true) }
    }
}

// The hot fields come first, in this order (`repr(C)`): see the module's fast-path note.
#[repr(C)]
pub(crate) struct Inner<T> {
    flags: u8,
    /// `flag_readiness(flags)`, kept with `flags`.
    flag_ready: u8,
    buf: Buffer<T>,
    /// Values handed back by receivers that were cancelled after a hand-off; older than
    /// anything in `buf`, so they are received first.
    returned: VecDeque<T>,
    recvq: WaitQueue<T>,
    sendq: WaitQueue<T>,
}

impl<T> Inner<T> {
    /// Sets or clears `flag` (all flag changes go through here, to keep `flag_ready`).
    #[inline]
    fn set_flag(&mut self, flag: u8, on: bool) {
        let flags = if on {
            self.flags | flag
        } else {
            self.flags & !flag
        };
        if flags != self.flags {
            self.flags = flags;
            self.flag_ready = flag_readiness(flags);
        }
    }

    /// Sends without waiting.
    #[inline]
    pub(crate) fn send(&mut self, value: T) -> SendAttempt<T> {
        if self.flags & (CLOSED | RECVQ) == 0 {
            return match self.buf.push(value) {
                Ok(()) => SendAttempt::Sent(Wake::NONE),
                Err(value) => SendAttempt::Full(value),
            };
        }
        self.send_slow(value)
    }

    #[inline(never)]
    fn send_slow(&mut self, value: T) -> SendAttempt<T> {
        if self.flags & CLOSED != 0 {
            return SendAttempt::Closed(value);
        }
        let claimed = self.recvq.claim_first();
        let empty = self.recvq.is_empty();
        self.set_flag(RECVQ, !empty);
        if let Some(c) = claimed {
            return SendAttempt::Sent(c.give(value));
        }
        match self.buf.push(value) {
            Ok(()) => SendAttempt::Sent(Wake::NONE),
            Err(value) => SendAttempt::Full(value),
        }
    }

    /// Receives without waiting.
    #[inline]
    pub(crate) fn recv(&mut self) -> RecvAttempt<T> {
        if self.flags & (SENDQ | RETURNED) == 0 {
            if let Some(v) = self.buf.pop() {
                return RecvAttempt::Received(v, Wake::NONE);
            }
            return if self.flags & CLOSED != 0 {
                RecvAttempt::Closed
            } else {
                RecvAttempt::Empty
            };
        }
        self.recv_slow()
    }

    #[inline(never)]
    fn recv_slow(&mut self) -> RecvAttempt<T> {
        if self.flags & RETURNED != 0 {
            if let Some(v) = self.returned.pop_front() {
                let empty = self.returned.is_empty();
                self.set_flag(RETURNED, !empty);
                return RecvAttempt::Received(v, Wake::NONE);
            }
        }
        let claimed = self.sendq.claim_first();
        let empty = self.sendq.is_empty();
        self.set_flag(SENDQ, !empty);
        match claimed {
            Some(c) => {
                let (moved, wake) = c.take();
                // The oldest buffered value leaves and the waiting sender's value takes the
                // freed slot; with nothing buffered (a rendezvous), the sender's value is
                // the one received.
                let v = self.buf.shift(moved).unwrap_or_else(|moved| moved);
                RecvAttempt::Received(v, wake)
            }
            None => match self.buf.pop() {
                Some(v) => RecvAttempt::Received(v, Wake::NONE),
                None if self.flags & CLOSED != 0 => RecvAttempt::Closed,
                None => RecvAttempt::Empty,
            },
        }
    }

    /// Queues a blocked sender (its value is in the packet).
    ///
    /// # Safety
    /// `p` is bound to a waiter and stays alive and in place until it is unregistered or
    /// completed (the module invariant of [`waiter`](crate::waiter)).
    pub(crate) unsafe fn register_sender(&mut self, p: &Packet<T>) {
        self.sendq.0.push_back(NonNull::from(p));
        self.set_flag(SENDQ, true);
    }

    /// Queues a blocked receiver.
    ///
    /// # Safety
    /// As for [`register_sender`](Self::register_sender).
    pub(crate) unsafe fn register_receiver(&mut self, p: &Packet<T>) {
        self.recvq.0.push_back(NonNull::from(p));
        self.set_flag(RECVQ, true);
    }

    /// Removes a withdrawn packet from whichever queue holds it (if a counterpart has not
    /// already dropped it as stale).
    pub(crate) fn unregister(&mut self, p: &Packet<T>) {
        let p = NonNull::from(p);
        if self.recvq.remove(p) {
            let empty = self.recvq.is_empty();
            self.set_flag(RECVQ, !empty);
        } else if self.sendq.remove(p) {
            let empty = self.sendq.is_empty();
            self.set_flag(SENDQ, !empty);
        }
    }

    /// Gives back a value that a cancelled receiver was handed but never returned: to the
    /// next waiting receiver, or to the front of the channel.
    pub(crate) fn requeue(&mut self, value: T) -> Wake {
        let claimed = self.recvq.claim_first();
        let empty = self.recvq.is_empty();
        self.set_flag(RECVQ, !empty);
        match claimed {
            Some(c) => c.give(value),
            None => {
                self.returned.push_front(value);
                self.set_flag(RETURNED, true);
                Wake::NONE
            }
        }
    }

    /// Closes the channel; completes every waiter as `closed`. Returns whether this call
    /// closed it, and the wake-ups to deliver.
    pub(crate) fn close(&mut self) -> (bool, Vec<Wake>) {
        if self.flags & CLOSED != 0 {
            return (false, Vec::new());
        }
        self.set_flag(CLOSED, true);
        let mut woken = Vec::new();
        for q in [&mut self.recvq, &mut self.sendq] {
            while let Some(c) = q.claim_first() {
                woken.push(c.close());
            }
        }
        self.set_flag(RECVQ | SENDQ, false);
        (true, woken)
    }

    /// Takes every buffered value out, to be dropped after unlocking.
    pub(crate) fn take_all(&mut self) -> (VecDeque<T>, Vec<T>) {
        self.set_flag(RETURNED, false);
        (std::mem::take(&mut self.returned), self.buf.drain())
    }

    pub(crate) fn len(&self) -> usize {
        self.returned.len() + self.buf.len()
    }

    #[cfg(test)]
    pub(crate) fn buf(&self) -> &Buffer<T> {
        &self.buf
    }

    /// Which operations could proceed right now (a hint for select's first pass): what
    /// the buffer allows, and what the flags add. Both parts are kept up to date as they
    /// change, so this is one OR at every unlock.
    #[inline]
    fn readiness(&self) -> u8 {
        self.buf.readiness() | self.flag_ready
    }
}

/// What the flags alone make ready: waiting senders or given-back values can be received,
/// waiting receivers can be sent to, and on a closed channel everything is "ready" (it
/// fails at once).
fn flag_readiness(flags: u8) -> u8 {
    let mut r = 0;
    if flags & CLOSED != 0 {
        r |= RECV_READY | SEND_READY;
    }
    if flags & (SENDQ | RETURNED) != 0 {
        r |= RECV_READY;
    }
    if flags & RECVQ != 0 {
        r |= SEND_READY;
    }
    r
}

/// Readiness hint: a receive might proceed.
pub(crate) const RECV_READY: u8 = 0b01;
/// Readiness hint: a send might proceed.
pub(crate) const SEND_READY: u8 = 0b10;

/// The channel shared by all senders and receivers.
///
/// `repr(C)` with the lock, the hint and [`Inner`]'s hot fields first, aligned to a cache
/// line so that they share one.
#[repr(C, align(64))]
pub(crate) struct Chan<T> {
    lock: RawLock,
    /// `RECV_READY`/`SEND_READY` as of the last unlock. Only a hint: it lets a select skip
    /// (without locking) channels that were not ready a moment ago; every decision that
    /// matters is taken under the lock.
    ready: AtomicU8,
    inner: UnsafeCell<Inner<T>>,
    cap: Option<usize>,
    closed: AtomicBool,
    senders: AtomicUsize,
    receivers: AtomicUsize,
    /// Creation order (see `lock_key`).
    #[cfg(loom)]
    seq: usize,
}

// SAFETY: `inner` is only accessed with `lock` held, so sharing a `Chan` between threads
// only moves `T` values between them (the queued packets are the waiting operations', which
// the protocol hands to one party at a time): `T: Send` suffices.
unsafe impl<T: Send> Send for Chan<T> {}
// SAFETY: as above.
unsafe impl<T: Send> Sync for Chan<T> {}

impl<T> Chan<T> {
    /// A channel of capacity `cap` (`None`: unbounded), with one sender and one receiver.
    pub(crate) fn new(cap: Option<usize>) -> Self {
        let buf = Buffer::new(cap);
        let ready = buf.readiness();
        Chan {
            lock: RawLock::new(),
            ready: AtomicU8::new(ready),
            inner: UnsafeCell::new(Inner {
                flags: 0,
                flag_ready: 0,
                buf,
                returned: VecDeque::new(),
                recvq: WaitQueue::new(),
                sendq: WaitQueue::new(),
            }),
            cap,
            closed: AtomicBool::new(false),
            senders: AtomicUsize::new(1),
            receivers: AtomicUsize::new(1),
            #[cfg(loom)]
            seq: {
                // std's atomic, not loom's: a plain counter outside the model.
                static SEQ: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
                SEQ.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
            },
        }
    }

    /// Locks the channel (from a thread, or a call that does not wait).
    #[inline]
    pub(crate) fn lock(&self) -> Guard<'_, T> {
        self.lock_as(Contention::Thread)
    }

    /// Locks the channel, waiting as `how` says if it is contended.
    #[inline]
    pub(crate) fn lock_as(&self, how: Contention) -> Guard<'_, T> {
        self.lock.lock(how);
        Guard { chan: self }
    }

    /// Takes the lock without a guard (select locks several channels at once).
    #[inline]
    pub(crate) fn raw_lock(&self, how: Contention) {
        self.lock.lock(how);
    }

    /// Releases a lock taken with [`raw_lock`](Self::raw_lock).
    ///
    /// # Safety
    /// The caller holds the lock and holds no `&mut Inner` obtained under it any more.
    #[inline]
    pub(crate) unsafe fn raw_unlock(&self) {
        // SAFETY: forwarded obligation.
        unsafe { self.publish_readiness() };
        // SAFETY: the caller holds the lock.
        unsafe { self.lock.unlock() }
    }

    /// Stores the readiness hint of the state as it is now.
    ///
    /// # Safety
    /// The caller holds the lock and holds no `&mut Inner` obtained under it any more.
    #[inline]
    unsafe fn publish_readiness(&self) {
        // SAFETY: the caller holds the lock, so reading the state is exclusive.
        let ready = self.inner.with(|p| unsafe { (*p).readiness() });
        // Relaxed: a hint; the unlock that follows (Release) publishes it with everything
        // else, and a stale value only sends a select down its locked path.
        self.ready.store(ready, Ordering::Relaxed);
    }

    /// The readiness hint (`RECV_READY`/`SEND_READY` bits), read without the lock.
    #[inline]
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
    #[inline]
    pub(crate) unsafe fn inner_unchecked(&self) -> &mut Inner<T> {
        // SAFETY: the lock gives exclusive access (the caller's obligation).
        self.inner.with_mut(|p| unsafe { &mut *p })
    }

    /// Identity of the channel, for `same_channel` and the select's case checks.
    pub(crate) fn addr(&self) -> usize {
        self as *const Self as *const u8 as usize
    }

    /// The key select sorts its channels by to lock them (a total order over live
    /// channels). The address, except under loom, where allocation addresses differ between
    /// executions and would make them irreproducible: there, the creation order.
    #[inline]
    pub(crate) fn lock_key(&self) -> usize {
        #[cfg(loom)]
        return self.seq;
        #[cfg(not(loom))]
        self.addr()
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
        for w in woken {
            w.wake();
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

impl<T> Guard<'_, T> {
    /// Delivers `wake` and then releases the lock: the woken party is queued before the
    /// other side can take the lock (see "Waking under the lock" in `lock.rs`, which also
    /// says why a waker that uses this channel again does not deadlock).
    #[inline]
    pub(crate) fn unlock_waking(self, wake: Wake) {
        if wake.is_none() {
            return drop(self);
        }
        let chan = self.chan;
        // The release happens below, not in `Drop`.
        std::mem::forget(self);
        // SAFETY: the forgotten guard held the lock, and nothing borrowed from it is live.
        unsafe {
            chan.publish_readiness();
            chan.lock.wake_then_unlock(|| wake.wake());
        }
    }
}

impl<T> std::ops::Deref for Guard<'_, T> {
    type Target = Inner<T>;
    #[inline]
    fn deref(&self) -> &Inner<T> {
        // SAFETY: the guard holds the lock; shared access through `&self` only.
        self.chan.inner.with(|p| unsafe { &*p })
    }
}

impl<T> std::ops::DerefMut for Guard<'_, T> {
    #[inline]
    fn deref_mut(&mut self) -> &mut Inner<T> {
        // SAFETY: the guard holds the lock, and `&mut self` makes this the only reference.
        unsafe { self.chan.inner_unchecked() }
    }
}

impl<T> Drop for Guard<'_, T> {
    #[inline]
    fn drop(&mut self) {
        // SAFETY: the guard holds the lock; no reference derived from it outlives the guard.
        unsafe { self.chan.raw_unlock() }
    }
}
