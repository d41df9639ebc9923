//! Select: wait on several sends and receives, exactly one of which takes effect.
//!
//! # Protocol
//!
//! A select is a list of cases (a receive on a channel, or a send of a value on one), each a
//! [`Selectable`]. Running it goes through three steps, built on the waiter protocol of
//! [`waiter`](crate::waiter):
//!
//! 1. **Try** (`try_cases`): visit the cases in a fresh random order (Go's `pollorder`;
//!    written order when biased) and attempt each one without waiting, taking only that
//!    case's channel lock. The first that can proceed takes effect and the select is over.
//!    Nothing is allocated. A case whose channel's readiness hint (kept by the channel at
//!    every unlock) says it cannot proceed is skipped without taking its lock, so a select
//!    with one ready case takes the one lock the plain operation would take. A stale hint
//!    only sends the select to step 2, which decides under the locks.
//! 2. **Lock all, check, register** (`lock_check_register`): lock every distinct channel of
//!    the select in address order (Go's `lockorder`, so concurrent selects cannot deadlock),
//!    try every case again in a new random order, and if none can proceed, push one packet
//!    per case, all sharing one [`Waiter`], before releasing the locks. Since the check and
//!    the registration happen under all the locks, no counterpart can slip in between.
//!    Each case carries its packet inline and the waiter lives in the select itself, so
//!    registering allocates nothing. The async select *owns* its cases (and gives them back
//!    on completion), so the packets are pinned with the future: leaking the future leaks
//!    them, it can never free them while they are queued.
//! 3. **Wait** for the waiter's token to be completed by a counterpart: `DONE(case)` says
//!    which case took effect (the counterpart already moved the value). The select then
//!    withdraws its other packets (one lock per channel) and returns the case's index.
//!
//! Exactly once: the try and check steps perform at most one operation, by the select
//! itself, and return at once; in the wait step, only the one counterpart that wins the CAS
//! on the shared token performs an operation, on one case; every other packet is stale from
//! that moment and is skipped by everyone. A select never pairs with itself (it is never
//! registered while it is active).
//!
//! Cancellation (a dropped select future, a blocking select that times out): the owner CASes
//! the token to `ABORTED`. Winning means nothing happened and never will: withdraw every
//! packet (a send case's value is dropped with it). Losing means a case took effect: if it
//! was a receive, its value is given back to the channel ([`requeue`]),
//! so nothing is lost; if it was a send, the value was delivered (at most once).

use crate::chan::{Chan, RecvAttempt, SendAttempt, RECV_READY, SEND_READY};
use crate::err::{RecvError, SelectTimeoutError, SendError, TrySelectError};
use crate::lock::Contention;
use crate::ops::{finish_recv, requeue};
use crate::waiter::{expired, Backoff, Done, LazyWaiter, Packet, Waiter, Wake};
use crate::{Receiver, Sender};
use std::fmt;
use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

/// One case of a select, type-erased. Implementation detail of [`select!`](crate::select!)
/// and [`Select`]; not meant to be implemented outside this crate.
#[doc(hidden)]
pub trait Selectable {
    /// Identity of the case's channel (operation check).
    fn chan_addr(&self) -> usize;
    /// The channel's lock-order key ([`Chan::lock_key`]).
    fn lock_key(&self) -> usize;
    /// Whether this is a send case.
    fn is_send(&self) -> bool;
    /// Whether the case's channel is a rendezvous channel.
    fn is_rendezvous(&self) -> bool;
    /// Locks the case's channel.
    fn raw_lock(&self, how: Contention);
    /// Unlocks the case's channel.
    ///
    /// # Safety
    /// The caller holds the lock taken by `raw_lock`.
    unsafe fn raw_unlock(&self);
    /// Attempts the operation without waiting. `Some` if it took effect (or found the
    /// channel closed), with the outcome stored in the case and the wake-up of a
    /// counterpart it completed: if `locked`, the caller holds the channel lock and must
    /// deliver it after releasing all locks; otherwise it was delivered already.
    ///
    /// If not `locked`, it takes the lock itself, waiting as `how` says.
    ///
    /// # Safety
    /// If `locked`, the caller holds this case's channel lock.
    unsafe fn try_fire(&mut self, locked: bool, how: Contention) -> Option<Wake>;
    /// Queues this case's packet as case `index` of `waiter`.
    ///
    /// # Safety
    /// The caller holds this case's channel lock; the case and `waiter` stay in place
    /// until `complete` or `withdraw` is called.
    unsafe fn register(&mut self, waiter: &Waiter, index: usize);
    /// A counterpart completed this case: take the outcome from the packet.
    fn complete(&mut self, closed: bool);
    /// Another case took effect, or the select withdrew: remove this case's packet.
    fn withdraw(&mut self);
    /// The select was dropped after this case completed: give a received value back.
    fn give_back(&mut self);
}

/// Where a case stands. Receive: `GOT` holds the value in the packet's slot. Send: the
/// value is in the slot from creation until `SENT` (or `TAKEN` after a `CLOSED`).
const IDLE: u8 = 0;
const REGISTERED: u8 = 1;
const GOT: u8 = 2;
const SENT: u8 = 2;
const CLOSED: u8 = 3;
const TAKEN: u8 = 4;

/// A receive case. Implementation detail of [`select!`](crate::select!).
#[doc(hidden)]
pub struct RecvCase<'a, T> {
    chan: &'a Chan<T>,
    /// The wait's packet; also where the received value is kept until `take_result`.
    packet: Packet<T>,
    state: u8,
}

impl<T> fmt::Debug for RecvCase<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RecvCase")
            .field("state", &self.state)
            .finish_non_exhaustive()
    }
}

impl<'a, T> RecvCase<'a, T> {
    /// A receive on `rx`.
    #[inline]
    pub fn new(rx: &'a Receiver<T>) -> Self {
        RecvCase {
            chan: &rx.chan,
            packet: Packet::new(None),
            state: IDLE,
        }
    }

    /// The outcome of this case, once it took effect.
    ///
    /// # Panics
    /// If this case did not take effect, or its outcome was already taken.
    #[inline]
    pub fn take_result(&mut self) -> Result<T, RecvError> {
        let state = std::mem::replace(&mut self.state, TAKEN);
        match state {
            // SAFETY: not registered (GOT): the slot is the owner's.
            GOT => Ok(unsafe { self.packet.take() }.expect("a received value is kept")),
            CLOSED => Err(RecvError),
            _ => panic!("select: this receive case did not take effect, or its result was taken"),
        }
    }
}

impl<T> Selectable for RecvCase<'_, T> {
    fn chan_addr(&self) -> usize {
        self.chan.addr()
    }

    fn lock_key(&self) -> usize {
        self.chan.lock_key()
    }

    fn is_send(&self) -> bool {
        false
    }

    fn is_rendezvous(&self) -> bool {
        self.chan.capacity() == Some(0)
    }

    fn raw_lock(&self, how: Contention) {
        self.chan.raw_lock(how)
    }

    unsafe fn raw_unlock(&self) {
        // SAFETY: forwarded obligation.
        unsafe { self.chan.raw_unlock() }
    }

    #[inline]
    unsafe fn try_fire(&mut self, locked: bool, how: Contention) -> Option<Wake> {
        if !locked {
            if self.chan.ready_hint() & RECV_READY == 0 {
                return None;
            }
            self.chan.raw_lock(how);
        }
        // SAFETY: the lock is held (taken above, or by the caller).
        let attempt = unsafe { self.chan.inner_unchecked() }.recv();
        if !locked {
            // SAFETY: taken above; the `&mut Inner` is gone.
            unsafe { self.chan.raw_unlock() };
        }
        match attempt {
            RecvAttempt::Received(v, wake) => {
                // SAFETY: not registered: the slot is the owner's.
                unsafe { self.packet.put(v) };
                self.state = GOT;
                if locked {
                    Some(wake)
                } else {
                    wake.wake();
                    Some(Wake::NONE)
                }
            }
            RecvAttempt::Closed => {
                self.state = CLOSED;
                Some(Wake::NONE)
            }
            RecvAttempt::Empty => None,
        }
    }

    unsafe fn register(&mut self, waiter: &Waiter, index: usize) {
        // SAFETY: not registered; the caller keeps the case and the waiter in place, and
        // holds the lock.
        unsafe {
            self.packet.bind(waiter, index);
            self.chan.inner_unchecked().register_receiver(&self.packet);
        }
        self.state = REGISTERED;
    }

    fn complete(&mut self, closed: bool) {
        debug_assert_eq!(self.state, REGISTERED, "a completed case was registered");
        match finish_recv(self.chan, &self.packet, Done { case: 0, closed }) {
            Ok(v) => {
                // SAFETY: completed (DONE observed): the slot is the owner's again.
                unsafe { self.packet.put(v) };
                self.state = GOT;
            }
            Err(RecvError) => self.state = CLOSED,
        }
    }

    fn withdraw(&mut self) {
        if self.state == REGISTERED {
            self.chan.lock().unregister(&self.packet);
            self.state = IDLE;
        }
    }

    fn give_back(&mut self) {
        if self.state == GOT {
            self.state = TAKEN;
            // SAFETY: GOT: not registered, the slot is the owner's.
            if let Some(v) = unsafe { self.packet.take() } {
                requeue(self.chan, v);
            }
        }
    }
}

/// A send case. Implementation detail of [`select!`](crate::select!).
#[doc(hidden)]
pub struct SendCase<'a, T> {
    chan: &'a Chan<T>,
    /// Holds the value until the case takes effect (and, if the case did not, until the
    /// case is dropped).
    packet: Packet<T>,
    state: u8,
}

impl<T> fmt::Debug for SendCase<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SendCase")
            .field("state", &self.state)
            .finish_non_exhaustive()
    }
}

impl<'a, T> SendCase<'a, T> {
    /// A send of `value` on `tx`.
    #[inline]
    pub fn new(tx: &'a Sender<T>, value: T) -> Self {
        SendCase {
            chan: &tx.chan,
            packet: Packet::new(Some(value)),
            state: IDLE,
        }
    }

    /// The outcome of this case, once it took effect.
    ///
    /// # Panics
    /// If this case did not take effect, or its outcome was already taken.
    #[inline]
    pub fn take_result(&mut self) -> Result<(), SendError<T>> {
        let state = std::mem::replace(&mut self.state, TAKEN);
        match state {
            SENT => Ok(()),
            // SAFETY: not registered (CLOSED): the slot is the owner's.
            CLOSED => Err(SendError(
                unsafe { self.packet.take() }
                    .expect("a send that found the channel closed keeps its value"),
            )),
            _ => panic!("select: this send case did not take effect, or its result was taken"),
        }
    }
}

impl<T> Selectable for SendCase<'_, T> {
    fn chan_addr(&self) -> usize {
        self.chan.addr()
    }

    fn lock_key(&self) -> usize {
        self.chan.lock_key()
    }

    fn is_send(&self) -> bool {
        true
    }

    fn is_rendezvous(&self) -> bool {
        self.chan.capacity() == Some(0)
    }

    fn raw_lock(&self, how: Contention) {
        self.chan.raw_lock(how)
    }

    unsafe fn raw_unlock(&self) {
        // SAFETY: forwarded obligation.
        unsafe { self.chan.raw_unlock() }
    }

    #[inline]
    unsafe fn try_fire(&mut self, locked: bool, how: Contention) -> Option<Wake> {
        if !locked && self.chan.ready_hint() & SEND_READY == 0 {
            return None;
        }
        debug_assert_eq!(self.state, IDLE);
        // SAFETY: not registered: the slot is the owner's.
        let value = unsafe { self.packet.take() }?;
        if !locked {
            self.chan.raw_lock(how);
        }
        // SAFETY: the lock is held (taken above, or by the caller).
        let attempt = unsafe { self.chan.inner_unchecked() }.send(value);
        if !locked {
            // SAFETY: taken above; the `&mut Inner` is gone.
            unsafe { self.chan.raw_unlock() };
        }
        match attempt {
            SendAttempt::Sent(wake) => {
                self.state = SENT;
                if locked {
                    Some(wake)
                } else {
                    wake.wake();
                    Some(Wake::NONE)
                }
            }
            SendAttempt::Closed(v) => {
                // SAFETY: not registered: the slot is the owner's.
                unsafe { self.packet.put(v) };
                self.state = CLOSED;
                Some(Wake::NONE)
            }
            SendAttempt::Full(v) => {
                // SAFETY: not registered: the slot is the owner's.
                unsafe { self.packet.put(v) };
                None
            }
        }
    }

    unsafe fn register(&mut self, waiter: &Waiter, index: usize) {
        // SAFETY: not registered; the caller keeps the case and the waiter in place, and
        // holds the lock.
        unsafe {
            self.packet.bind(waiter, index);
            self.chan.inner_unchecked().register_sender(&self.packet);
        }
        self.state = REGISTERED;
    }

    fn complete(&mut self, closed: bool) {
        debug_assert_eq!(self.state, REGISTERED, "a completed case was registered");
        // A close leaves the value in the slot; a delivery took it.
        self.state = if closed { CLOSED } else { SENT };
    }

    fn withdraw(&mut self) {
        // The select's token is no longer WAITING and was not completed through this
        // packet, so nobody touches its slot: the value stays in the case (and is dropped
        // with it, after the lock is released).
        if self.state == REGISTERED {
            self.chan.lock().unregister(&self.packet);
            self.state = IDLE;
        }
    }

    fn give_back(&mut self) {}
}

/// A list of select cases.
#[doc(hidden)]
pub trait Cases {
    /// Number of cases.
    fn count(&self) -> usize;
    /// Case `i`.
    fn case(&mut self, i: usize) -> &mut dyn Selectable;
}

impl<'c> Cases for [Box<dyn Selectable + Send + 'c>] {
    fn count(&self) -> usize {
        self.len()
    }
    fn case(&mut self, i: usize) -> &mut dyn Selectable {
        &mut *self[i]
    }
}

impl<'c> Cases for Vec<Box<dyn Selectable + Send + 'c>> {
    fn count(&self) -> usize {
        self.len()
    }
    fn case(&mut self, i: usize) -> &mut dyn Selectable {
        &mut *self[i]
    }
}

/// `Cases` for tuples of cases (what `select!` builds): the tuple keeps each case's
/// concrete type, so a select future is `Send` exactly when its cases are.
macro_rules! tuple_cases {
    ($( ($idx:tt $T:ident) )+) => {
        impl<$($T: Selectable),+> Cases for ($($T,)+) {
            fn count(&self) -> usize {
                [$($idx),+].len()
            }
            fn case(&mut self, i: usize) -> &mut dyn Selectable {
                match i {
                    $( $idx => &mut self.$idx, )+
                    _ => panic!("select: case index {i} out of range"),
                }
            }
        }
    };
}

tuple_cases!((0 S0));
tuple_cases!((0 S0) (1 S1));
tuple_cases!((0 S0) (1 S1) (2 S2));
tuple_cases!((0 S0) (1 S1) (2 S2) (3 S3));
tuple_cases!((0 S0) (1 S1) (2 S2) (3 S3) (4 S4));
tuple_cases!((0 S0) (1 S1) (2 S2) (3 S3) (4 S4) (5 S5));
tuple_cases!((0 S0) (1 S1) (2 S2) (3 S3) (4 S4) (5 S5) (6 S6));
tuple_cases!((0 S0) (1 S1) (2 S2) (3 S3) (4 S4) (5 S5) (6 S6) (7 S7));
tuple_cases!((0 S0) (1 S1) (2 S2) (3 S3) (4 S4) (5 S5) (6 S6) (7 S7) (8 S8));
tuple_cases!((0 S0) (1 S1) (2 S2) (3 S3) (4 S4) (5 S5) (6 S6) (7 S7) (8 S8) (9 S9));
tuple_cases!((0 S0) (1 S1) (2 S2) (3 S3) (4 S4) (5 S5) (6 S6) (7 S7) (8 S8) (9 S9) (10 S10));
tuple_cases!((0 S0) (1 S1) (2 S2) (3 S3) (4 S4) (5 S5) (6 S6) (7 S7) (8 S8) (9 S9) (10 S10) (11 S11));
tuple_cases!((0 S0) (1 S1) (2 S2) (3 S3) (4 S4) (5 S5) (6 S6) (7 S7) (8 S8) (9 S9) (10 S10) (11 S11) (12 S12));
tuple_cases!((0 S0) (1 S1) (2 S2) (3 S3) (4 S4) (5 S5) (6 S6) (7 S7) (8 S8) (9 S9) (10 S10) (11 S11) (12 S12) (13 S13));
tuple_cases!((0 S0) (1 S1) (2 S2) (3 S3) (4 S4) (5 S5) (6 S6) (7 S7) (8 S8) (9 S9) (10 S10) (11 S11) (12 S12) (13 S13) (14 S14));
tuple_cases!((0 S0) (1 S1) (2 S2) (3 S3) (4 S4) (5 S5) (6 S6) (7 S7) (8 S8) (9 S9) (10 S10) (11 S11) (12 S12) (13 S13) (14 S14) (15 S15));
tuple_cases!((0 S0) (1 S1) (2 S2) (3 S3) (4 S4) (5 S5) (6 S6) (7 S7) (8 S8) (9 S9) (10 S10) (11 S11) (12 S12) (13 S13) (14 S14) (15 S15) (16 S16));
tuple_cases!((0 S0) (1 S1) (2 S2) (3 S3) (4 S4) (5 S5) (6 S6) (7 S7) (8 S8) (9 S9) (10 S10) (11 S11) (12 S12) (13 S13) (14 S14) (15 S15) (16 S16) (17 S17));
tuple_cases!((0 S0) (1 S1) (2 S2) (3 S3) (4 S4) (5 S5) (6 S6) (7 S7) (8 S8) (9 S9) (10 S10) (11 S11) (12 S12) (13 S13) (14 S14) (15 S15) (16 S16) (17 S17) (18 S18));
tuple_cases!((0 S0) (1 S1) (2 S2) (3 S3) (4 S4) (5 S5) (6 S6) (7 S7) (8 S8) (9 S9) (10 S10) (11 S11) (12 S12) (13 S13) (14 S14) (15 S15) (16 S16) (17 S17) (18 S18) (19 S19));
tuple_cases!((0 S0) (1 S1) (2 S2) (3 S3) (4 S4) (5 S5) (6 S6) (7 S7) (8 S8) (9 S9) (10 S10) (11 S11) (12 S12) (13 S13) (14 S14) (15 S15) (16 S16) (17 S17) (18 S18) (19 S19) (20 S20));
tuple_cases!((0 S0) (1 S1) (2 S2) (3 S3) (4 S4) (5 S5) (6 S6) (7 S7) (8 S8) (9 S9) (10 S10) (11 S11) (12 S12) (13 S13) (14 S14) (15 S15) (16 S16) (17 S17) (18 S18) (19 S19) (20 S20) (21 S21));
tuple_cases!((0 S0) (1 S1) (2 S2) (3 S3) (4 S4) (5 S5) (6 S6) (7 S7) (8 S8) (9 S9) (10 S10) (11 S11) (12 S12) (13 S13) (14 S14) (15 S15) (16 S16) (17 S17) (18 S18) (19 S19) (20 S20) (21 S21) (22 S22));
tuple_cases!((0 S0) (1 S1) (2 S2) (3 S3) (4 S4) (5 S5) (6 S6) (7 S7) (8 S8) (9 S9) (10 S10) (11 S11) (12 S12) (13 S13) (14 S14) (15 S15) (16 S16) (17 S17) (18 S18) (19 S19) (20 S20) (21 S21) (22 S22) (23 S23));
tuple_cases!((0 S0) (1 S1) (2 S2) (3 S3) (4 S4) (5 S5) (6 S6) (7 S7) (8 S8) (9 S9) (10 S10) (11 S11) (12 S12) (13 S13) (14 S14) (15 S15) (16 S16) (17 S17) (18 S18) (19 S19) (20 S20) (21 S21) (22 S22) (23 S23) (24 S24));
tuple_cases!((0 S0) (1 S1) (2 S2) (3 S3) (4 S4) (5 S5) (6 S6) (7 S7) (8 S8) (9 S9) (10 S10) (11 S11) (12 S12) (13 S13) (14 S14) (15 S15) (16 S16) (17 S17) (18 S18) (19 S19) (20 S20) (21 S21) (22 S22) (23 S23) (24 S24) (25 S25));
tuple_cases!((0 S0) (1 S1) (2 S2) (3 S3) (4 S4) (5 S5) (6 S6) (7 S7) (8 S8) (9 S9) (10 S10) (11 S11) (12 S12) (13 S13) (14 S14) (15 S15) (16 S16) (17 S17) (18 S18) (19 S19) (20 S20) (21 S21) (22 S22) (23 S23) (24 S24) (25 S25) (26 S26));
tuple_cases!((0 S0) (1 S1) (2 S2) (3 S3) (4 S4) (5 S5) (6 S6) (7 S7) (8 S8) (9 S9) (10 S10) (11 S11) (12 S12) (13 S13) (14 S14) (15 S15) (16 S16) (17 S17) (18 S18) (19 S19) (20 S20) (21 S21) (22 S22) (23 S23) (24 S24) (25 S25) (26 S26) (27 S27));
tuple_cases!((0 S0) (1 S1) (2 S2) (3 S3) (4 S4) (5 S5) (6 S6) (7 S7) (8 S8) (9 S9) (10 S10) (11 S11) (12 S12) (13 S13) (14 S14) (15 S15) (16 S16) (17 S17) (18 S18) (19 S19) (20 S20) (21 S21) (22 S22) (23 S23) (24 S24) (25 S25) (26 S26) (27 S27) (28 S28));
tuple_cases!((0 S0) (1 S1) (2 S2) (3 S3) (4 S4) (5 S5) (6 S6) (7 S7) (8 S8) (9 S9) (10 S10) (11 S11) (12 S12) (13 S13) (14 S14) (15 S15) (16 S16) (17 S17) (18 S18) (19 S19) (20 S20) (21 S21) (22 S22) (23 S23) (24 S24) (25 S25) (26 S26) (27 S27) (28 S28) (29 S29));
tuple_cases!((0 S0) (1 S1) (2 S2) (3 S3) (4 S4) (5 S5) (6 S6) (7 S7) (8 S8) (9 S9) (10 S10) (11 S11) (12 S12) (13 S13) (14 S14) (15 S15) (16 S16) (17 S17) (18 S18) (19 S19) (20 S20) (21 S21) (22 S22) (23 S23) (24 S24) (25 S25) (26 S26) (27 S27) (28 S28) (29 S29) (30 S30));
tuple_cases!((0 S0) (1 S1) (2 S2) (3 S3) (4 S4) (5 S5) (6 S6) (7 S7) (8 S8) (9 S9) (10 S10) (11 S11) (12 S12) (13 S13) (14 S14) (15 S15) (16 S16) (17 S17) (18 S18) (19 S19) (20 S20) (21 S21) (22 S22) (23 S23) (24 S24) (25 S25) (26 S26) (27 S27) (28 S28) (29 S29) (30 S30) (31 S31));

/// Case indices, on the stack for up to `INLINE` cases.
struct Order {
    inline: [u8; INLINE],
    heap: Vec<u32>,
    len: usize,
}

const INLINE: usize = 32;

impl Order {
    #[inline]
    fn identity(n: usize) -> Order {
        let mut o = Order {
            inline: [0; INLINE],
            heap: Vec::new(),
            len: n,
        };
        if n > INLINE {
            o.heap = (0..n as u32).collect();
        } else {
            for (i, slot) in o.inline[..n].iter_mut().enumerate() {
                *slot = i as u8;
            }
        }
        o
    }

    #[inline]
    fn get(&self, k: usize) -> usize {
        if self.len > INLINE {
            self.heap[k] as usize
        } else {
            usize::from(self.inline[k])
        }
    }

    #[inline]
    fn swap(&mut self, a: usize, b: usize) {
        if self.len > INLINE {
            self.heap.swap(a, b);
        } else {
            self.inline.swap(a, b);
        }
    }

    /// The `k`-th case to visit: written order when `biased`, otherwise a uniformly random
    /// permutation drawn one step at a time (Fisher-Yates from the front), so that a select
    /// whose first visited case is ready draws one random number, not one per case.
    /// Visit `k = 0, 1, ...` in turn.
    #[inline]
    fn next(&mut self, k: usize, biased: bool) -> usize {
        // loom needs deterministic executions: there, the order is the written one (the
        // protocol does not depend on the order, only fairness does).
        if !biased && !cfg!(loom) && k + 1 < self.len {
            let j = k + fastrand::usize(..self.len - k);
            self.swap(k, j);
        }
        self.get(k)
    }

    /// Cases sorted by lock key (lock order).
    fn lock_order<C: Cases + ?Sized>(cases: &mut C) -> Vec<usize> {
        let mut o: Vec<usize> = (0..cases.count()).collect();
        o.sort_unstable_by_key(|&i| cases.case(i).lock_key());
        o
    }
}

/// Step 1: try every case once, each under its own lock.
#[inline]
fn try_cases<C: Cases + ?Sized>(cases: &mut C, biased: bool, how: Contention) -> Option<usize> {
    let n = cases.count();
    let mut order = Order::identity(n);
    for k in 0..n {
        let i = order.next(k, biased);
        // SAFETY: `locked == false`: each case takes its own lock.
        if unsafe { cases.case(i).try_fire(false, how) }.is_some() {
            return Some(i);
        }
    }
    None
}

/// Step 2: under all locks, check again; if nothing is ready and a `waiter` (armed) is
/// given, register every case's packet with it. `Ok(case)` if a case took effect; `Err(())`
/// if none did (and the packets are registered, if a waiter was given).
fn lock_check_register<C: Cases + ?Sized>(
    cases: &mut C,
    biased: bool,
    waiter: Option<&Waiter>,
    how: Contention,
) -> Result<usize, ()> {
    let n = cases.count();
    let lock_order = Order::lock_order(cases);
    let mut last = None;
    for &i in &lock_order {
        let c = cases.case(i);
        let key = c.lock_key();
        if last != Some(key) {
            c.raw_lock(how);
            last = Some(key);
        }
    }
    let mut fired = None;
    let mut order = Order::identity(n);
    for k in 0..n {
        let i = order.next(k, biased);
        // SAFETY: every channel of the select is locked above.
        if let Some(wake) = unsafe { cases.case(i).try_fire(true, how) } {
            fired = Some((i, wake));
            break;
        }
    }
    if fired.is_none() {
        if let Some(w) = waiter {
            for i in 0..n {
                // SAFETY: every channel of the select is locked above; the callers keep the
                // cases and the waiter in place until they are withdrawn or completed.
                unsafe { cases.case(i).register(w, i) };
            }
        }
    }
    let mut last = None;
    for &i in &lock_order {
        let c = cases.case(i);
        let key = c.lock_key();
        if last != Some(key) {
            // SAFETY: locked once per distinct channel above; no `&mut Inner` survives.
            unsafe { c.raw_unlock() };
            last = Some(key);
        }
    }
    match fired {
        Some((i, wake)) => {
            wake.wake();
            Ok(i)
        }
        None => Err(()),
    }
}

/// Step 3 epilogue: case `done.case` took effect; withdraw the others.
fn finish<C: Cases + ?Sized>(cases: &mut C, done: Done) -> usize {
    for i in 0..cases.count() {
        if i == done.case {
            cases.case(i).complete(done.closed);
        } else {
            cases.case(i).withdraw();
        }
    }
    done.case
}

/// Withdraws a registered select that will not be waited on any more (dropped, timed out).
/// Returns the case that took effect anyway, if one did.
fn abort<C: Cases + ?Sized>(cases: &mut C, waiter: &Waiter) -> Option<usize> {
    match waiter.abort() {
        Ok(()) => {
            for i in 0..cases.count() {
                cases.case(i).withdraw();
            }
            None
        }
        Err(done) => Some(finish(cases, done)),
    }
}

/// Runs a select without waiting: the index of the case that took effect, if any was ready.
#[doc(hidden)]
pub fn select_try<C: Cases + ?Sized>(cases: &mut C, biased: bool) -> Option<usize> {
    if let Some(i) = try_cases(cases, biased, Contention::Thread) {
        return Some(i);
    }
    // Nothing was ready when each case was looked at alone; confirm under all locks, so
    // that "no case is ready" is true at one instant (as Go's `select` with `default`).
    lock_check_register(cases, biased, None, Contention::Thread).ok()
}

/// Withdraws a blocking select's packets if the call unwinds while they are registered.
struct Withdraw<'c, C: Cases + ?Sized> {
    cases: &'c mut C,
    waiter: &'c Waiter,
    registered: bool,
}

impl<C: Cases + ?Sized> Drop for Withdraw<'_, C> {
    fn drop(&mut self) {
        if self.registered {
            if let Some(i) = abort(self.cases, self.waiter) {
                self.cases.case(i).give_back();
            }
        }
    }
}

/// Runs a select, blocking the thread until a case takes effect or `deadline` passes.
#[doc(hidden)]
pub fn select_blocking<C: Cases + ?Sized>(
    cases: &mut C,
    biased: bool,
    deadline: Option<Instant>,
) -> Option<usize> {
    if let Some(i) = try_cases(cases, biased, Contention::Thread) {
        return Some(i);
    }
    // As a blocking send or receive does: on buffered channels, retry for a moment before
    // registering (the other ends are usually microseconds away). Not with a rendezvous
    // case, which only a registered party can complete.
    let mut backoff = if (0..cases.count()).any(|i| cases.case(i).is_rendezvous()) {
        Backoff::used_up()
    } else {
        Backoff::new()
    };
    while !expired(deadline) && backoff.snooze() {
        if let Some(i) = try_cases(cases, biased, Contention::Thread) {
            return Some(i);
        }
    }
    if expired(deadline) {
        return lock_check_register(cases, biased, None, Contention::Thread).ok();
    }
    let waiter = Waiter::new();
    // SAFETY: not registered yet.
    unsafe { waiter.arm_thread() };
    if let Ok(i) = lock_check_register(cases, biased, Some(&waiter), Contention::Thread) {
        return Some(i);
    }
    // The cases and the waiter stay on this frame (borrowed by the guard) until every
    // packet is withdrawn or completed, also if this unwinds.
    let mut guard = Withdraw {
        cases,
        waiter: &waiter,
        registered: true,
    };
    let fired = match waiter.park(deadline) {
        Some(done) => Some(finish(guard.cases, done)),
        None => abort(guard.cases, &waiter),
    };
    guard.registered = false;
    fired
}

/// Runs a select asynchronously over the cases it takes: resolves to the index of the case
/// that took effect, whose outcome is then in [`SelectFuture::cases`].
#[doc(hidden)]
#[inline]
pub fn select_async<C: Cases>(cases: C, biased: bool) -> SelectFuture<C> {
    SelectFuture {
        cases,
        waiter: LazyWaiter::new(),
        biased,
        state: IDLE,
    }
}

/// The future of an asynchronous select; resolves to the index of the case that took
/// effect. Dropping it before completion withdraws every case, losing no value.
///
/// It owns its cases and their packets, and the shared waiter, so it is `!Unpin`: the
/// channels point into it while it waits. `select!` pins it in place, awaits it through the
/// pin, and then reads the outcome from [`cases`](Self::cases) (no copy of the cases in or
/// out of the future).
#[doc(hidden)]
#[must_use = "futures do nothing unless you `.await` or poll them"]
pub struct SelectFuture<C: Cases> {
    cases: C,
    waiter: LazyWaiter,
    biased: bool,
    /// `IDLE`, `REGISTERED`, or `TAKEN` once complete.
    state: u8,
}

impl<C: Cases> SelectFuture<C> {
    /// The cases, once the select completed (the outcome is in the case that took effect).
    ///
    /// # Panics
    /// If the select is waiting (its packets are queued: the cases must not move).
    #[inline]
    pub fn cases(self: Pin<&mut Self>) -> &mut C {
        assert!(
            self.state != REGISTERED,
            "select: cases taken while the select is waiting"
        );
        // SAFETY: not registered: no channel points into the cases, so handing them out
        // (even to be moved) cannot invalidate a pointer; the waiter is not handed out.
        unsafe { &mut self.get_unchecked_mut().cases }
    }
}

impl<C: Cases> fmt::Debug for SelectFuture<C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SelectFuture")
            .field("cases", &self.cases.count())
            .field("biased", &self.biased)
            .field("waiting", &(self.state == REGISTERED))
            .finish()
    }
}

impl<C: Cases> Future for SelectFuture<C> {
    type Output = usize;

    #[inline]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<usize> {
        // SAFETY: the cases and the waiter are not moved while registered (`cases()`
        // refuses then).
        let this = unsafe { self.get_unchecked_mut() };
        let index = match this.state {
            REGISTERED => {
                let Some(done) = this.waiter.get().poll_done(cx.waker()) else {
                    return Poll::Pending;
                };
                this.state = IDLE;
                finish(&mut this.cases, done)
            }
            IDLE => match try_cases(&mut this.cases, this.biased, Contention::Task) {
                Some(i) => i,
                None => {
                    let waiter = this.waiter.get_or_init();
                    // SAFETY: not registered.
                    unsafe { waiter.arm_task(cx.waker()) };
                    match lock_check_register(
                        &mut this.cases,
                        this.biased,
                        Some(waiter),
                        Contention::Task,
                    ) {
                        Ok(i) => i,
                        Err(()) => {
                            this.state = REGISTERED;
                            return Poll::Pending;
                        }
                    }
                }
            },
            _ => panic!("select future polled after completion"),
        };
        this.state = TAKEN;
        Poll::Ready(index)
    }
}

impl<C: Cases> Drop for SelectFuture<C> {
    fn drop(&mut self) {
        if self.state == REGISTERED {
            if let Some(i) = abort(&mut self.cases, self.waiter.get()) {
                self.cases.case(i).give_back();
            }
        }
    }
}

/// The cases of a dynamic [`Select`] while an async select owns them: put back into the
/// `Select` when the select completes or is dropped.
struct Lent<'h, 'a> {
    home: &'h mut Vec<Box<dyn Selectable + Send + 'a>>,
    cases: Vec<Box<dyn Selectable + Send + 'a>>,
}

impl Cases for Lent<'_, '_> {
    fn count(&self) -> usize {
        self.cases.len()
    }
    fn case(&mut self, i: usize) -> &mut dyn Selectable {
        &mut *self.cases[i]
    }
}

impl Drop for Lent<'_, '_> {
    fn drop(&mut self) {
        *self.home = std::mem::take(&mut self.cases);
    }
}

/// A select whose cases are added at run time (Go's `reflect.Select`).
///
/// Add receive and send operations, then run it with [`select`](Self::select) (async),
/// [`select_blocking`](Self::select_blocking), [`try_select`](Self::try_select) or
/// [`select_timeout`](Self::select_timeout). Exactly one operation takes effect; the
/// [`SelectedOperation`] says which, and gives its outcome through
/// [`recv`](SelectedOperation::recv) or [`send`](SelectedOperation::send).
///
/// Among several ready cases one is chosen uniformly at random (see
/// [`biased`](Self::biased) to prefer the order of addition). A case on a closed channel is
/// ready. Values of send cases that did not take effect are dropped with the `Select`.
///
/// Cases need `T: Send`, so that a `Select` can be held across an `.await` in a spawned
/// task; the [`select!`](crate::select!) macro has no such bound.
///
/// # Examples
///
/// ```
/// use goro_channel::Select;
/// let (tx1, rx1) = goro_channel::bounded::<i32>(1);
/// let (tx2, rx2) = goro_channel::bounded::<i32>(1);
/// tx2.try_send(20).unwrap();
/// let rxs = [rx1, rx2];
///
/// let mut sel = Select::new();
/// for rx in &rxs {
///     sel.recv(rx);
/// }
/// let op = sel.select_blocking();
/// assert_eq!(op.index(), 1);
/// assert_eq!(op.recv(&rxs[op.index()]), Ok(20));
/// # drop(tx1);
/// ```
pub struct Select<'a> {
    cases: Vec<Box<dyn Selectable + Send + 'a>>,
    biased: bool,
}

impl fmt::Debug for Select<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Select")
            .field("cases", &self.cases.len())
            .field("biased", &self.biased)
            .finish()
    }
}

impl Default for Select<'_> {
    fn default() -> Self {
        Self::new()
    }
}

impl<'a> Select<'a> {
    /// An empty select (fair: ready cases are chosen uniformly at random).
    ///
    /// # Examples
    ///
    /// ```
    /// let sel = goro_channel::Select::new();
    /// # drop(sel);
    /// ```
    pub fn new() -> Self {
        Select {
            cases: Vec::new(),
            biased: false,
        }
    }

    /// An empty select that checks its cases in the order they were added.
    ///
    /// # Examples
    ///
    /// ```
    /// let (tx, rx) = goro_channel::bounded(2);
    /// tx.try_send(1).unwrap();
    /// let mut sel = goro_channel::Select::biased();
    /// sel.recv(&rx);
    /// sel.send(&tx, 2);
    /// assert_eq!(sel.try_select().unwrap().index(), 0);
    /// ```
    pub fn biased() -> Self {
        Select {
            cases: Vec::new(),
            biased: true,
        }
    }

    /// Adds a receive on `rx`; returns the case's index.
    ///
    /// # Examples
    ///
    /// ```
    /// let (_tx, rx) = goro_channel::unbounded::<u8>();
    /// let mut sel = goro_channel::Select::new();
    /// assert_eq!(sel.recv(&rx), 0);
    /// ```
    pub fn recv<T: Send>(&mut self, rx: &'a Receiver<T>) -> usize {
        self.cases.push(Box::new(RecvCase::new(rx)));
        self.cases.len() - 1
    }

    /// Adds a send of `value` on `tx`; returns the case's index.
    ///
    /// # Examples
    ///
    /// ```
    /// let (tx, rx) = goro_channel::bounded(1);
    /// let mut sel = goro_channel::Select::new();
    /// let i = sel.send(&tx, "x");
    /// let op = sel.select_blocking();
    /// assert_eq!(op.index(), i);
    /// assert_eq!(op.send(&tx), Ok(()));
    /// assert_eq!(rx.try_recv(), Ok("x"));
    /// ```
    pub fn send<T: Send>(&mut self, tx: &'a Sender<T>, value: T) -> usize {
        self.cases.push(Box::new(SendCase::new(tx, value)));
        self.cases.len() - 1
    }

    /// Waits asynchronously until one case takes effect.
    ///
    /// # Panics
    /// If the select has no cases (it could never complete).
    ///
    /// # Cancel safety
    /// Dropping the future withdraws every case; a value received meanwhile goes back to
    /// its channel, a send is delivered at most once.
    ///
    /// # Examples
    ///
    /// ```
    /// # futures::executor::block_on(async {
    /// let (tx, rx) = goro_channel::unbounded();
    /// tx.send(1).await.unwrap();
    /// let mut sel = goro_channel::Select::new();
    /// sel.recv(&rx);
    /// let op = sel.select().await;
    /// assert_eq!(op.recv(&rx), Ok(1));
    /// # });
    /// ```
    pub async fn select(&mut self) -> SelectedOperation<'_, 'a> {
        self.assert_not_empty();
        let cases = std::mem::take(&mut self.cases);
        let lent = Lent {
            home: &mut self.cases,
            cases,
        };
        let biased = self.biased;
        let index = {
            let mut fut = std::pin::pin!(select_async(lent, biased));
            fut.as_mut().await
            // The future, and with it the `Lent`, which puts the cases back, is dropped
            // at the end of this block.
        };
        SelectedOperation::new(self, index)
    }

    /// Blocks the thread until one case takes effect.
    ///
    /// # Panics
    /// If the select has no cases.
    ///
    /// # Examples
    ///
    /// ```
    /// let (tx, rx) = goro_channel::rendezvous();
    /// std::thread::spawn(move || tx.send_blocking(3).unwrap());
    /// let mut sel = goro_channel::Select::new();
    /// sel.recv(&rx);
    /// assert_eq!(sel.select_blocking().recv(&rx), Ok(3));
    /// ```
    pub fn select_blocking(&mut self) -> SelectedOperation<'_, 'a> {
        self.assert_not_empty();
        let index = select_blocking(&mut self.cases[..], self.biased, None)
            .expect("a select without deadline completes");
        SelectedOperation::new(self, index)
    }

    /// Takes a case that is ready now, if any.
    ///
    /// # Errors
    /// [`TrySelectError`] if no case is ready.
    ///
    /// # Examples
    ///
    /// ```
    /// let (_tx, rx) = goro_channel::unbounded::<u8>();
    /// let mut sel = goro_channel::Select::new();
    /// sel.recv(&rx);
    /// assert!(sel.try_select().is_err());
    /// ```
    pub fn try_select(&mut self) -> Result<SelectedOperation<'_, 'a>, TrySelectError> {
        match select_try(&mut self.cases[..], self.biased) {
            Some(index) => Ok(SelectedOperation::new(self, index)),
            None => Err(TrySelectError),
        }
    }

    /// Blocks the thread until one case takes effect or `timeout` passes.
    ///
    /// # Errors
    /// [`SelectTimeoutError`] if no case became ready in time.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// let (_tx, rx) = goro_channel::unbounded::<u8>();
    /// let mut sel = goro_channel::Select::new();
    /// sel.recv(&rx);
    /// assert!(sel.select_timeout(Duration::from_millis(5)).is_err());
    /// ```
    pub fn select_timeout(
        &mut self,
        timeout: Duration,
    ) -> Result<SelectedOperation<'_, 'a>, SelectTimeoutError> {
        match Instant::now().checked_add(timeout) {
            Some(deadline) => self.select_deadline(deadline),
            None => Ok(self.select_blocking()),
        }
    }

    /// Blocks the thread until one case takes effect or `deadline` passes.
    ///
    /// # Errors
    /// [`SelectTimeoutError`] if no case became ready in time.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::{Duration, Instant};
    /// let (tx, rx) = goro_channel::bounded(1);
    /// tx.try_send(9).unwrap();
    /// let mut sel = goro_channel::Select::new();
    /// sel.recv(&rx);
    /// let op = sel.select_deadline(Instant::now() + Duration::from_secs(1)).unwrap();
    /// assert_eq!(op.recv(&rx), Ok(9));
    /// ```
    pub fn select_deadline(
        &mut self,
        deadline: Instant,
    ) -> Result<SelectedOperation<'_, 'a>, SelectTimeoutError> {
        match select_blocking(&mut self.cases[..], self.biased, Some(deadline)) {
            Some(index) => Ok(SelectedOperation::new(self, index)),
            None => Err(SelectTimeoutError),
        }
    }

    fn assert_not_empty(&self) {
        assert!(
            !self.cases.is_empty(),
            "Select has no cases: add at least one with `recv` or `send` (an empty select would block forever)"
        );
    }
}

/// The case of a [`Select`] that took effect. Get its outcome with
/// [`recv`](Self::recv) or [`send`](Self::send), passing the same channel end that was
/// added for the case.
#[must_use = "the outcome of the operation (a received value, or a send error) is inside"]
pub struct SelectedOperation<'s, 'a> {
    index: usize,
    case: *mut (dyn Selectable + Send + 'a),
    _select: PhantomData<&'s mut Select<'a>>,
}

impl fmt::Debug for SelectedOperation<'_, '_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SelectedOperation")
            .field("index", &self.index)
            .finish()
    }
}

impl<'s, 'a> SelectedOperation<'s, 'a> {
    fn new(sel: &'s mut Select<'a>, index: usize) -> Self {
        let case: &mut (dyn Selectable + Send + 'a) = &mut *sel.cases[index];
        SelectedOperation {
            index,
            case,
            _select: PhantomData,
        }
    }

    /// Index of the case that took effect (as returned when it was added).
    pub fn index(&self) -> usize {
        self.index
    }

    /// The outcome of the receive case that took effect.
    ///
    /// # Panics
    /// If `rx` is not the channel of the selected case, if the selected case is a send, or
    /// if the outcome was already taken.
    ///
    /// # Examples
    ///
    /// See [`Select`].
    pub fn recv<T: 'a>(&self, rx: &Receiver<T>) -> Result<T, RecvError> {
        // SAFETY: `case` points into the `Select` that this operation borrows mutably for
        // 's, so it is alive and nothing else accesses it meanwhile.
        let case = unsafe { &mut *self.case };
        assert!(
            !case.is_send() && case.chan_addr() == rx.chan.addr(),
            "SelectedOperation::recv: pass the receiver of the selected case (case {} is a {} on another channel)",
            self.index,
            if case.is_send() { "send" } else { "receive" },
        );
        // SAFETY: the case is a receive on the channel at `rx`'s address. Two live channels
        // never share an address, and a channel's element type is fixed, so the case is a
        // `RecvCase<'a, T>`.
        let case = unsafe { &mut *(self.case as *mut RecvCase<'a, T>) };
        case.take_result()
    }

    /// The outcome of the send case that took effect.
    ///
    /// # Panics
    /// If `tx` is not the channel of the selected case, if the selected case is a receive,
    /// or if the outcome was already taken.
    ///
    /// # Examples
    ///
    /// See [`Select::send`].
    pub fn send<T: 'a>(&self, tx: &Sender<T>) -> Result<(), SendError<T>> {
        // SAFETY: as in `recv`.
        let case = unsafe { &mut *self.case };
        assert!(
            case.is_send() && case.chan_addr() == tx.chan.addr(),
            "SelectedOperation::send: pass the sender of the selected case (case {} is a {} on another channel)",
            self.index,
            if case.is_send() { "send" } else { "receive" },
        );
        // SAFETY: as in `recv`: the case is a `SendCase<'a, T>`.
        let case = unsafe { &mut *(self.case as *mut SendCase<'a, T>) };
        case.take_result()
    }
}

// SAFETY: a `SelectedOperation` is an exclusive borrow of a `Select` in disguise; it may go
// where `&mut Select` may go.
unsafe impl<'s, 'a> Send for SelectedOperation<'s, 'a> where &'s mut Select<'a>: Send {}

#[cfg(all(test, not(loom)))]
mod tests {
    use crate::lock::LOCKS_TAKEN;
    use crate::{bounded, rendezvous, unbounded};

    fn locks_during<R>(f: impl FnOnce() -> R) -> (R, usize) {
        let before = LOCKS_TAKEN.with(|n| n.get());
        let r = f();
        (r, LOCKS_TAKEN.with(|n| n.get()) - before)
    }

    /// A select over 4 channels where one is ready takes exactly the one lock a plain
    /// receive would take, whatever order the cases are visited in.
    #[test]
    fn select_with_one_ready_case_takes_one_lock() {
        let (t0, r0) = bounded::<u32>(4);
        let (_t1, r1) = unbounded::<u32>();
        let (_t2, r2) = rendezvous::<u32>();
        let (t3, r3) = bounded::<u32>(1);
        t3.try_send(0).unwrap(); // full: a send on it is not ready
        let (_, plain) = locks_during(|| {
            t0.try_send(1).unwrap();
            r0.try_recv().unwrap()
        });
        assert_eq!(plain, 2, "a plain send and receive take one lock each");
        for round in 0..200 {
            t0.try_send(round).unwrap();
            let (v, locks) = locks_during(|| {
                crate::select_blocking! {
                    recv(r1) -> _ => None,
                    recv(r0) -> v => v.ok(),
                    recv(r2) -> _ => None,
                    send(t3, 9) -> _ => None,
                }
            });
            assert_eq!(v, Some(round));
            assert_eq!(locks, 1, "round {round}: only the ready channel is locked");
        }
        drop(r3);
    }
}
