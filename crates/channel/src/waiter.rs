//! The waiter protocol: how a blocked operation waits, and how exactly one of a select's cases
//! takes effect.
//!
//! # Design
//!
//! This is Go's runtime design (`runtime/chan.go`, `runtime/select.go`: a lock per channel,
//! queues of waiting `sudog`s, direct hand-off, `selectDone`), adapted to futures that can be
//! dropped at any await point.
//!
//! * Every channel has one lock, and under it a buffer and two queues of waiting operations:
//!   `recvq` (receivers waiting for a value) and `sendq` (senders waiting with their value).
//!   A queue entry is a [`Packet`]: which [`Waiter`] it belongs to, which case of that waiter
//!   it is, and a slot for the value (a sender's value travels in its packet; a receiver's
//!   packet is where a sender puts the value it hands over).
//! * A [`Waiter`] is one blocked party: a plain `send`/`recv` (one packet) or a whole select
//!   (one packet per case, on as many channels). Its state word is the *selection token*:
//!
//!   ```text
//!   WAITING --claim (counterpart, CAS)--> BUSY --finish--> DONE(case, closed?)
//!      \
//!       `--abort (owner, CAS)--> ABORTED
//!   ```
//!
//!   Only one CAS out of `WAITING` can succeed, so a waiter is completed at most once, by at
//!   most one counterpart, on exactly one case; or it withdraws. There is no way back to
//!   `WAITING`, so any entry whose waiter is not `WAITING` is stale and is simply dropped from
//!   a queue by whoever meets it.
//! * **Who completes a hand-off.** Always the *active* party: the one that arrives at a
//!   channel holding its lock and finds a waiting counterpart. It claims the counterpart
//!   (`WAITING -> BUSY`), moves the value (into the receiver's slot, or out of the sender's
//!   slot), marks it `DONE(case)` (Release) and, after unlocking, wakes it. A rendezvous
//!   send therefore completes exactly when a receiver has taken its value, and a select on
//!   either side of the hand-off is committed by that single CAS.
//! * **Registration.** An operation first tries without waiting (one channel lock per case,
//!   no allocation). If nothing is ready, it takes the locks of all its channels (in address
//!   order, each once), checks every case again, and only then pushes one packet per case and
//!   releases the locks. Because the check and the registration happen under all the locks,
//!   a counterpart cannot become ready in between (no lost wake-up), and two selects can
//!   never both sit waiting on opposite sides of the same channel: the second one to lock
//!   finds the first one's packet. An active party is never registered anywhere, so it never
//!   pairs with itself and never needs to claim its own token.
//! * **Close.** `close` marks the channel closed and completes every waiting packet with
//!   `DONE(case, closed)`: senders take their value back from their slot, receivers look at
//!   the channel once more (draining anything still buffered) and then report closed.
//! * **Withdrawing (drop, timeout).** The owner CASes `WAITING -> ABORTED`. If that wins,
//!   nobody will ever touch its packets again; it removes them from the queues (one lock per
//!   channel) and takes back the value of a send. If it loses, it waits out `BUSY` (a few
//!   instructions under a channel lock) and then owns a `DONE(case)`: a send was delivered;
//!   a receive holds a value in its slot that nobody will return to the user, so it is given
//!   back to the channel ([`requeue`](crate::chan::Inner::requeue)): handed to the next waiting
//!   receiver or put back at the front of the buffer. That is how a woken waiter that no
//!   longer needs its wake-up passes it on, and why dropping a receive never loses a value.
//!
//! # Memory ordering
//!
//! Slots are plain cells; who may touch a slot is decided by the state word:
//! the owner before registration and after it observed `DONE` (Acquire) or won `ABORTED`;
//! a counterpart only between its winning claim and its `DONE` store (Release). Values put
//! in a slot before registration reach the counterpart through the channel lock.

use crate::loom::{lock, thread, Arc, AtomicUsize, Mutex, Ordering, UnsafeCell};
use std::fmt;
use std::task::Waker;
use std::time::Instant;

const TAG_MASK: usize = 0b11;
const WAITING: usize = 0;
const BUSY: usize = 1;
const ABORTED: usize = 2;
const DONE: usize = 3;
const CLOSED_BIT: usize = 0b100;
const CASE_SHIFT: usize = 3;

/// Rounds of spinning (then yielding) before a blocking waiter parks its thread.
const SPIN_STEPS: u32 = 10;

/// How a completed waiter was completed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Done {
    /// The case (packet) that took effect.
    pub(crate) case: usize,
    /// The channel was closed rather than an operation performed.
    pub(crate) closed: bool,
}

/// How a blocked party is woken.
enum Notify {
    /// An async task: the latest waker it was polled with.
    Task(Mutex<Waker>),
    /// A thread parked in a blocking call.
    Thread(Parker),
}

/// Parks and unparks the thread of a blocking waiter.
///
/// Outside loom: std's per-thread park token. Under loom, whose `unpark` cannot be mixed
/// with other blocking primitives in one thread, a flag with a condition variable.
struct Parker {
    #[cfg(not(loom))]
    thread: thread::Thread,
    #[cfg(loom)]
    token: Mutex<bool>,
    #[cfg(loom)]
    cv: loom::sync::Condvar,
}

impl Parker {
    fn new() -> Self {
        Parker {
            #[cfg(not(loom))]
            thread: thread::current(),
            #[cfg(loom)]
            token: Mutex::new(false),
            #[cfg(loom)]
            cv: loom::sync::Condvar::new(),
        }
    }

    fn unpark(&self) {
        #[cfg(not(loom))]
        self.thread.unpark();
        #[cfg(loom)]
        {
            *lock(&self.token) = true;
            self.cv.notify_one();
        }
    }

    /// Waits for an unpark (or a spurious wake-up, or the timeout).
    fn park(&self, timeout: Option<std::time::Duration>) {
        #[cfg(not(loom))]
        match timeout {
            None => thread::park(),
            Some(d) => thread::park_timeout(d),
        }
        #[cfg(loom)]
        {
            let mut token = self.token.lock().unwrap();
            if timeout.is_some() {
                // loom has no time: a timed wait returns at once and the caller's deadline
                // check decides.
                *token = false;
                return;
            }
            while !*token {
                token = self.cv.wait(token).unwrap();
            }
            *token = false;
        }
    }
}

/// One blocked party (a plain operation, or a select over several cases). Public only as
/// an opaque type in the hidden select-macro API.
#[doc(hidden)]
pub struct Waiter {
    state: AtomicUsize,
    notify: Notify,
}

impl fmt::Debug for Waiter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Waiter")
            .field("state", &self.state.load(Ordering::Relaxed))
            .finish()
    }
}

impl Waiter {
    /// A waiter for an async task, woken through `waker`.
    pub(crate) fn task(waker: &Waker) -> Self {
        Waiter {
            state: AtomicUsize::new(WAITING),
            notify: Notify::Task(Mutex::new(waker.clone())),
        }
    }

    /// A waiter for the current thread, woken by unparking it.
    pub(crate) fn thread() -> Self {
        Waiter {
            state: AtomicUsize::new(WAITING),
            notify: Notify::Thread(Parker::new()),
        }
    }

    /// Counterpart side: claim this waiter. At most one claim (or abort) ever succeeds; the
    /// winner must call [`finish`](Self::finish).
    #[inline]
    pub(crate) fn try_claim(&self) -> bool {
        // Acquire pairs with nothing in particular (slot contents reach the claimer through
        // the channel lock); AcqRel keeps the claim ordered before the slot accesses that
        // follow it, which is what the exclusive-access argument relies on.
        self.state
            .compare_exchange(WAITING, BUSY, Ordering::AcqRel, Ordering::Acquire)
            .is_ok()
    }

    /// Counterpart side: publish the outcome of a successful claim. Call
    /// [`notify`](Self::notify) afterwards (after releasing the channel lock).
    #[inline]
    pub(crate) fn finish(&self, case: usize, closed: bool) {
        let word = DONE | if closed { CLOSED_BIT } else { 0 } | (case << CASE_SHIFT);
        // Release: publishes the slot write to the owner's Acquire load in `done`.
        self.state.store(word, Ordering::Release);
    }

    /// Wakes the owner (spurious wake-ups are harmless: the owner re-reads the state).
    #[inline]
    pub(crate) fn notify(&self) {
        match &self.notify {
            // `wake_by_ref` under the waker's own lock (not the channel's): no clone and
            // drop of the waker, two atomic read-modify-writes fewer per hand-off. Waking
            // only schedules the task; it never re-enters this waiter.
            Notify::Task(w) => lock(w).wake_by_ref(),
            Notify::Thread(t) => t.unpark(),
        }
    }

    /// Owner side: the outcome, if a counterpart completed this waiter.
    #[inline]
    pub(crate) fn done(&self) -> Option<Done> {
        // Acquire: pairs with the Release in `finish`, making the slot contents visible.
        decode(self.state.load(Ordering::Acquire))
    }

    /// Owner side, async waiters: the outcome if completed; otherwise remember `waker`
    /// (registered before the second look, so a completion in between is not missed).
    #[inline]
    pub(crate) fn poll_done(&self, waker: &Waker) -> Option<Done> {
        if let Some(d) = self.done() {
            return Some(d);
        }
        self.set_waker(waker);
        self.done()
    }

    /// Owner side: replace the waker if the task was polled with a different one.
    #[inline]
    pub(crate) fn set_waker(&self, waker: &Waker) {
        if let Notify::Task(w) = &self.notify {
            let mut w = lock(w);
            if !w.will_wake(waker) {
                *w = waker.clone();
            }
        }
    }

    /// Owner side: withdraw. `Ok` if nobody completed this waiter (and nobody ever will);
    /// otherwise the outcome of the counterpart that did.
    pub(crate) fn abort(&self) -> Result<(), Done> {
        // AcqRel/Acquire: on failure we may go on to read a slot, which needs the claimer's
        // writes; the loop below re-loads with Acquire until DONE.
        match self
            .state
            .compare_exchange(WAITING, ABORTED, Ordering::AcqRel, Ordering::Acquire)
        {
            Ok(_) => Ok(()),
            Err(_) => Err(self.wait_done_spin()),
        }
    }

    /// Waits out a claimer's `BUSY` window (a few instructions under a channel lock).
    fn wait_done_spin(&self) -> Done {
        let mut spins = 0u32;
        loop {
            if let Some(d) = self.done() {
                return d;
            }
            spins += 1;
            if spins < 64 {
                std::hint::spin_loop();
            } else {
                thread::yield_now();
            }
        }
    }

    fn park_notify(&self, timeout: Option<std::time::Duration>) {
        match &self.notify {
            Notify::Thread(p) => p.park(timeout),
            Notify::Task(_) => unreachable!("only thread waiters park"),
        }
    }

    /// Owner side, blocking waiters: park until completed or until `deadline`.
    /// Returns `None` on timeout, after which the caller must [`abort`](Self::abort).
    pub(crate) fn park(&self, deadline: Option<Instant>) -> Option<Done> {
        // A counterpart is often only a few hundred nanoseconds away (the other end of a
        // busy channel): spin briefly, then yield a few times, before paying for a real
        // park and unpark (crossbeam's `Backoff` does the same).
        if !cfg!(loom) {
            for step in 0..SPIN_STEPS {
                if let Some(d) = self.done() {
                    return Some(d);
                }
                if step < 6 {
                    for _ in 0..(1u32 << step) {
                        std::hint::spin_loop();
                    }
                } else {
                    thread::yield_now();
                }
            }
        }
        loop {
            if let Some(d) = self.done() {
                return Some(d);
            }
            match deadline {
                None => self.park_notify(None),
                // loom has no clock: a deadline expires at the first wait, and loom explores
                // every interleaving of that timeout with the counterpart's completion.
                Some(_) if cfg!(loom) => return None,
                Some(deadline) => {
                    let now = Instant::now();
                    if now >= deadline {
                        return None;
                    }
                    self.park_notify(Some(deadline - now));
                }
            }
        }
    }
}

/// Whether `deadline` has passed. Under loom there is no clock (reading the real one would
/// make executions irreproducible): a deadline never counts as passed before a wait, and
/// every wait with a deadline times out at once (see [`Waiter::park`]), which loom then
/// interleaves with the counterpart's completion.
pub(crate) fn expired(deadline: Option<Instant>) -> bool {
    !cfg!(loom) && deadline.is_some_and(|d| d <= Instant::now())
}

#[inline]
fn decode(word: usize) -> Option<Done> {
    if word & TAG_MASK == DONE {
        Some(Done {
            case: word >> CASE_SHIFT,
            closed: word & CLOSED_BIT != 0,
        })
    } else {
        None
    }
}

/// Which waiter a packet belongs to: its own (plain operation, one allocation) or a select's
/// shared one.
enum WaiterRef {
    Own(Waiter),
    Shared(Arc<Waiter>),
}

/// One case of a blocked operation, as queued on a channel.
pub(crate) struct Packet<T> {
    waiter: WaiterRef,
    case: usize,
    slot: UnsafeCell<Option<T>>,
}

// SAFETY: a packet moves values of type `T` between threads (so `T: Send` is required) and
// the slot is only accessed by one party at a time, as the state protocol above decides.
unsafe impl<T: Send> Send for Packet<T> {}
// SAFETY: as above: shared references only ever give exclusive slot access to the one party
// the state word designates.
unsafe impl<T: Send> Sync for Packet<T> {}

impl<T> fmt::Debug for Packet<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Packet")
            .field("waiter", self.waiter())
            .field("case", &self.case)
            .finish_non_exhaustive()
    }
}

impl<T> Packet<T> {
    /// A packet with its own waiter (a plain send or receive), holding `value`.
    pub(crate) fn own(waiter: Waiter, value: Option<T>) -> Arc<Self> {
        Arc::new(Packet {
            waiter: WaiterRef::Own(waiter),
            case: 0,
            slot: UnsafeCell::new(value),
        })
    }

    /// A packet for case `case` of a select sharing `waiter`.
    pub(crate) fn shared(waiter: &Arc<Waiter>, case: usize, value: Option<T>) -> Arc<Self> {
        Arc::new(Packet {
            waiter: WaiterRef::Shared(waiter.clone()),
            case,
            slot: UnsafeCell::new(value),
        })
    }

    #[inline]
    pub(crate) fn waiter(&self) -> &Waiter {
        match &self.waiter {
            WaiterRef::Own(w) => w,
            WaiterRef::Shared(w) => w,
        }
    }

    #[inline]
    pub(crate) fn case(&self) -> usize {
        self.case
    }

    /// Takes the value out of the slot.
    ///
    /// # Safety
    /// The caller has exclusive access to the slot under the protocol: it won the claim on
    /// this packet's waiter (and has not finished it yet), or it is the owner and observed
    /// `DONE` or won the abort, or the packet is not yet shared.
    pub(crate) unsafe fn take(&self) -> Option<T> {
        // SAFETY: exclusive access is the caller's obligation (see above).
        self.slot.with_mut(|p| unsafe { (*p).take() })
    }

    /// Puts a value into the slot.
    ///
    /// # Safety
    /// As for [`take`](Self::take).
    pub(crate) unsafe fn put(&self, value: T) {
        // SAFETY: exclusive access is the caller's obligation (see above).
        self.slot.with_mut(|p| unsafe { *p = Some(value) })
    }
}
