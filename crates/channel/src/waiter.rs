//! The waiter protocol: how a blocked operation waits, and how exactly one of a select's cases
//! takes effect.
//!
//! # Design
//!
//! This is Go's runtime design (`runtime/chan.go`, `runtime/select.go`: a lock per channel,
//! queues of waiting `sudog`s, direct hand-off, `selectDone`), adapted to futures that can be
//! dropped at any await point, and without an allocation per wait.
//!
//! * Every channel has one lock, and under it a buffer and two queues of waiting operations:
//!   `recvq` (receivers waiting for a value) and `sendq` (senders waiting with their value).
//!   A queue entry is a pointer to a [`Packet`]: which [`Waiter`] it belongs to, which case
//!   of that waiter it is, and a slot for the value (a sender's value travels in its packet;
//!   a receiver's packet is where a sender puts the value it hands over).
//! * **Packets and waiters live in the waiting operation itself** (intrusive, as tokio's
//!   `batch_semaphore` waiters and kanal's signals): in the pinned `send()`/`recv()` or
//!   select future, on the stack of a blocking call, or in a box that a `Receiver` stream or
//!   a `Sink` keeps for reuse. Registering therefore allocates nothing (a queue only grows
//!   its buffer of pointers). Memory safety rests on one invariant: **a packet is in a queue
//!   only while its operation is alive and pinned**: the operation removes every packet it
//!   registered (or sees it removed by the counterpart that completed it) before it returns
//!   or is dropped. A future that is leaked instead of dropped leaks its memory with it, so
//!   the pointers stay valid (Rust's pinning guarantee).
//! * A [`Waiter`] is one blocked party: a plain `send`/`recv` (one packet) or a whole select
//!   (one packet per case, on as many channels). Its state word is the *selection token*:
//!
//!   ```text
//!              claim (counterpart, CAS)             finish
//!   WAITING ---------------------------> BUSY ------------> DONE(case, closed?)
//!    |  ^ \                               ^
//!    |  |  `-- update (owner) --> UPDATING -- claim (counterpart), no wake-up
//!    |  `------ updated (owner) ----'
//!     `-- abort (owner, CAS) --> ABORTED
//!   ```
//!
//!   Only one CAS into `BUSY` or `ABORTED` can succeed, so a waiter is completed at most
//!   once, by at most one counterpart, on exactly one case; or it withdraws. There is no way
//!   back to `WAITING` from `BUSY`, `DONE` or `ABORTED`, so any entry whose waiter is in
//!   one of those states is stale and is dropped from a queue by whoever meets it.
//! * **Who completes a hand-off.** Always the *active* party: the one that arrives at a
//!   channel holding its lock and finds a waiting counterpart. It claims the counterpart
//!   (`-> BUSY`), moves the value (into the receiver's slot, or out of the sender's slot),
//!   takes the counterpart's waker out of the waiter and marks it `DONE(case)` (Release).
//!   From that store on the counterpart may free its packet at any moment, so the claimer
//!   never touches it again: it wakes the waker it took, after unlocking. A rendezvous send
//!   therefore completes exactly when a receiver has taken its value, and a select on either
//!   side of the hand-off is committed by that single CAS.
//! * **A new waker.** A task polled again with a different waker swaps it in under the
//!   `UPDATING` state, which no claimer CAS expects. A counterpart that meets `UPDATING`
//!   claims from it and does not wake (it must not touch the waker being written): the
//!   owner's closing CAS back to `WAITING` then fails, and the owner, which is running at
//!   that moment, sees the completion itself. A re-poll after a wake-up finds `DONE` and
//!   costs one load; only a poll before completion (spurious, or from a combinator) pays
//!   for the two CASes.
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
//!   nobody will ever complete it; it removes its packets from the queues (one lock per
//!   channel) and takes back the value of a send. If it loses, it waits out `BUSY` (a few
//!   instructions under a channel lock) and then owns a `DONE(case)`: a send was delivered;
//!   a receive holds a value in its slot that nobody will return to the user, so it is given
//!   back to the channel ([`requeue`](crate::chan::Inner::requeue)): handed to the next waiting
//!   receiver or put back at the front of the buffer. That is how a woken waiter that no
//!   longer needs its wake-up passes it on, and why dropping a receive never loses a value.
//!
//! # Memory ordering
//!
//! Slots and the waker cell are plain cells; who may touch them is decided by the state word:
//! the owner before registration, while it holds `UPDATING` (waker cell only), and after it
//! observed `DONE` (Acquire) or won `ABORTED`; a counterpart only between its winning claim
//! (Acquire) and its `DONE` store (Release). A packet's fields and a sender's value written
//! before registration reach the counterpart through the channel lock.

use crate::loom::{thread, AtomicUsize, Ordering, UnsafeCell};
use std::fmt;
use std::marker::PhantomPinned;
use std::mem::MaybeUninit;
use std::task::Waker;
use std::time::Instant;

const TAG_MASK: usize = 0b111;
const WAITING: usize = 0;
const UPDATING: usize = 1;
const BUSY: usize = 2;
const ABORTED: usize = 3;
const DONE: usize = 4;
const CLOSED_BIT: usize = 0b1000;
const CASE_SHIFT: usize = 4;

/// Exponential back-off for a thread that waits for something a few hundred nanoseconds
/// away (the other end of a busy channel): spin 1, 2, 4 ... 32 pauses, then yield a few
/// times, then give up (crossbeam's `Backoff` has the same shape).
///
/// A blocking send that waits for room in a buffer of two or more slots spins for three
/// steps only (1, 2, 4 pauses) and yields for the rest ([`for_send`](Self::for_send)). A
/// full deep buffer means the receivers are behind, and when threads outnumber the cores,
/// senders that spin hold the cores those receivers need: `select_rx_blocking` (4 sender
/// threads on their own `bounded(16)` channels, one thread selecting over all four, 2
/// cores) took about 2x as long with the full spin. On `bounded(1)`, where room comes back
/// at every receive, the full spin stays: with the short one the blocking `mpsc_bounded1`
/// and `mpmc_bounded1` rows ran 1.2-2.6x longer (BENCHMARKS.md, "Send back-off").
pub(crate) struct Backoff {
    step: u32,
    spin_steps: u32,
}

impl Backoff {
    const SPIN_STEPS: u32 = 6;
    const SEND_SPIN_STEPS: u32 = 3;
    const STEPS: u32 = 10;

    pub(crate) fn new() -> Self {
        Backoff {
            step: 0,
            spin_steps: Self::SPIN_STEPS,
        }
    }

    /// A back-off that is used up already.
    pub(crate) fn used_up() -> Self {
        Backoff {
            step: Self::STEPS,
            spin_steps: Self::SPIN_STEPS,
        }
    }

    /// A back-off for retrying an operation on `chan` before registering: none for a
    /// rendezvous channel, where only a registered party can be completed.
    pub(crate) fn for_chan<T>(chan: &crate::chan::Chan<T>) -> Self {
        if chan.capacity() == Some(0) {
            Self::used_up()
        } else {
            Self::new()
        }
    }

    /// [`for_chan`](Self::for_chan) for a send waiting for room: the same, except for a
    /// shorter spin on a buffer of two or more slots (see the type's note).
    pub(crate) fn for_send<T>(chan: &crate::chan::Chan<T>) -> Self {
        match chan.capacity() {
            Some(0 | 1) => Self::for_chan(chan),
            _ => Backoff {
                spin_steps: Self::SEND_SPIN_STEPS,
                ..Self::new()
            },
        }
    }

    /// Whether the back-off is used up (the caller should block for real). Under loom it
    /// is used up at once: spinning only multiplies the executions loom explores.
    pub(crate) fn is_done(&self) -> bool {
        cfg!(loom) || self.step >= Self::STEPS
    }

    /// Waits a little longer than last time. `false` (without waiting) once the back-off
    /// is used up.
    pub(crate) fn snooze(&mut self) -> bool {
        if self.is_done() {
            return false;
        }
        crate::lock::release_kept_lock();
        if self.step < self.spin_steps {
            for _ in 0..(1u32 << self.step) {
                std::hint::spin_loop();
            }
        } else {
            thread::yield_now();
        }
        self.step += 1;
        true
    }
}

/// How a completed waiter was completed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Done {
    /// The case (packet) that took effect.
    pub(crate) case: usize,
    /// The channel was closed rather than an operation performed.
    pub(crate) closed: bool,
}

/// Wakes a thread parked in a blocking call, as a [`Waker`] (so that a waiter holds one
/// kind of wake-up whatever it waits in).
///
/// Outside loom it unparks the thread (`std::thread::Thread::unpark`); each thread makes one
/// and clones it for every wait. Under loom, whose `unpark` cannot be mixed with other
/// blocking primitives in one thread, it sets a flag under a loom mutex and signals a
/// condition variable.
#[cfg(not(loom))]
struct ThreadWake(thread::Thread);

#[cfg(not(loom))]
impl std::task::Wake for ThreadWake {
    fn wake(self: std::sync::Arc<Self>) {
        self.0.unpark();
    }
    fn wake_by_ref(self: &std::sync::Arc<Self>) {
        self.0.unpark();
    }
}

#[cfg(not(loom))]
fn thread_waker() -> Waker {
    thread_local! {
        static WAKER: Waker = Waker::from(std::sync::Arc::new(ThreadWake(thread::current())));
    }
    WAKER.with(Waker::clone)
}

#[cfg(loom)]
#[derive(Default)]
pub(crate) struct LoomParker {
    token: crate::loom::Mutex<bool>,
    cv: loom::sync::Condvar,
}

#[cfg(loom)]
struct LoomWake(crate::loom::Arc<LoomParker>);

#[cfg(loom)]
impl std::task::Wake for LoomWake {
    fn wake(self: std::sync::Arc<Self>) {
        self.wake_by_ref();
    }
    fn wake_by_ref(self: &std::sync::Arc<Self>) {
        *self.0.token.lock().unwrap() = true;
        self.0.cv.notify_one();
    }
}

/// A wake-up taken out of a completed waiter, delivered after the channel lock is released
/// or, by an async receive, just before (see `Guard::unlock_waking`).
/// Public only as an opaque type in the hidden select-macro API.
#[doc(hidden)]
#[must_use = "a completed waiter must be woken"]
pub struct Wake(Option<Waker>);

impl fmt::Debug for Wake {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Wake").field(&self.0.is_some()).finish()
    }
}

impl Wake {
    /// No wake-up to deliver.
    pub(crate) const NONE: Wake = Wake(None);

    /// Whether there is no wake-up to deliver.
    #[inline]
    pub(crate) fn is_none(&self) -> bool {
        self.0.is_none()
    }

    /// Wakes the completed party (after unlocking, or through
    /// [`Guard::unlock_waking`](crate::chan::Guard::unlock_waking)).
    #[inline]
    pub(crate) fn wake(self) {
        if let Some(w) = self.0 {
            w.wake();
        }
    }
}

/// A successful claim: the claimer must call [`Waiter::finish`] with it.
#[must_use = "a claimed waiter must be finished"]
pub(crate) struct Claim {
    /// Whether the claimer may take the waker (false when claimed during `UPDATING`: the
    /// owner is running and sees the completion itself).
    take_waker: bool,
}

/// One blocked party (a plain operation, or a select over several cases). Public only as
/// an opaque type in the hidden select-macro API.
#[doc(hidden)]
pub struct Waiter {
    state: AtomicUsize,
    /// What wakes the owner: its task's waker, or its thread's.
    waker: UnsafeCell<Option<Waker>>,
    /// Under loom: what a blocked owner waits on.
    #[cfg(loom)]
    parker: crate::loom::Arc<LoomParker>,
    _pin: PhantomPinned,
}

// SAFETY: the cells are accessed only by the one party the state word designates (see the
// module's memory-ordering section); everything else is atomic. Wakers are `Send + Sync`.
unsafe impl Send for Waiter {}
// SAFETY: as above.
unsafe impl Sync for Waiter {}

impl fmt::Debug for Waiter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Waiter")
            .field("state", &self.state.load(Ordering::Relaxed))
            .finish()
    }
}

impl Default for Waiter {
    fn default() -> Self {
        Self::new()
    }
}

impl Waiter {
    /// An idle waiter; arm it with [`arm_task`](Self::arm_task) or
    /// [`arm_thread`](Self::arm_thread) before registering it.
    pub(crate) fn new() -> Self {
        Waiter {
            state: AtomicUsize::new(WAITING),
            waker: UnsafeCell::new(None),
            #[cfg(loom)]
            parker: Default::default(),
            _pin: PhantomPinned,
        }
    }

    /// Owner side, before registration: wait as an async task woken through `waker`.
    ///
    /// # Safety
    /// The waiter is not registered anywhere (nobody else accesses it).
    pub(crate) unsafe fn arm_task(&self, waker: &Waker) {
        // Relaxed: not shared yet; registration publishes it through the channel lock.
        self.state.store(WAITING, Ordering::Relaxed);
        // SAFETY: not shared (the caller's obligation).
        self.waker.with_mut(|w| unsafe {
            match &mut *w {
                Some(old) if old.will_wake(waker) => {}
                slot => *slot = Some(waker.clone()),
            }
        });
    }

    /// Owner side, before registration: wait by parking the current thread.
    ///
    /// # Safety
    /// As for [`arm_task`](Self::arm_task).
    pub(crate) unsafe fn arm_thread(&self) {
        // Relaxed: not shared yet.
        self.state.store(WAITING, Ordering::Relaxed);
        #[cfg(not(loom))]
        let waker = thread_waker();
        #[cfg(loom)]
        let waker = Waker::from(std::sync::Arc::new(LoomWake(self.parker.clone())));
        // SAFETY: not shared (the caller's obligation).
        self.waker.with_mut(|w| unsafe { *w = Some(waker) });
    }

    /// Counterpart side: claim this waiter. At most one claim (or abort) ever succeeds; the
    /// winner must call [`finish`](Self::finish).
    #[inline]
    pub(crate) fn try_claim(&self) -> Option<Claim> {
        // AcqRel on success: Acquire makes the owner's last waker update (Release) visible
        // before we take the waker; Release is not needed but AcqRel is what a claim is.
        match self
            .state
            .compare_exchange(WAITING, BUSY, Ordering::AcqRel, Ordering::Relaxed)
        {
            Ok(_) => Some(Claim { take_waker: true }),
            Err(_) => self.try_claim_slow(),
        }
    }

    #[cold]
    fn try_claim_slow(&self) -> Option<Claim> {
        loop {
            // Relaxed: the CASes below do the synchronising.
            match self.state.load(Ordering::Relaxed) {
                WAITING => {
                    if self
                        .state
                        .compare_exchange(WAITING, BUSY, Ordering::AcqRel, Ordering::Relaxed)
                        .is_ok()
                    {
                        return Some(Claim { take_waker: true });
                    }
                }
                UPDATING => {
                    // The owner is writing its waker: claim without touching it. Acquire
                    // is enough; we read nothing the owner is writing.
                    if self
                        .state
                        .compare_exchange(UPDATING, BUSY, Ordering::Acquire, Ordering::Relaxed)
                        .is_ok()
                    {
                        return Some(Claim { take_waker: false });
                    }
                }
                _ => return None,
            }
        }
    }

    /// Counterpart side: publish the outcome of a successful claim and take the wake-up,
    /// to deliver with [`Wake::wake`] after releasing the channel lock. After this call the
    /// claimer must not touch the waiter or its packets again: the owner may free them.
    #[inline]
    pub(crate) fn finish(&self, claim: Claim, case: usize, closed: bool) -> Wake {
        let wake = if claim.take_waker {
            // SAFETY: we hold the claim (BUSY), taken from WAITING: the owner does not touch
            // the waker cell until it observes DONE.
            Wake(self.waker.with_mut(|w| unsafe { (*w).take() }))
        } else {
            Wake::NONE
        };
        let word = DONE | if closed { CLOSED_BIT } else { 0 } | (case << CASE_SHIFT);
        // Release: publishes the slot write (and the emptied waker cell) to the owner's
        // Acquire load in `done`.
        self.state.store(word, Ordering::Release);
        wake
    }

    /// Owner side: the outcome, if a counterpart completed this waiter.
    #[inline]
    pub(crate) fn done(&self) -> Option<Done> {
        // Acquire: pairs with the Release in `finish`, making the slot contents visible.
        decode(self.state.load(Ordering::Acquire))
    }

    /// Owner side, async waiters: the outcome if completed; otherwise make sure `waker` is
    /// the one that will be woken.
    #[inline]
    pub(crate) fn poll_done(&self, waker: &Waker) -> Option<Done> {
        match self.done() {
            Some(d) => Some(d),
            None => self.update_waker(waker),
        }
    }

    /// A poll before completion (spurious, or from a combinator that polls everything it
    /// holds): take `UPDATING` to look at the stored waker, and replace it if it would not
    /// wake the current task.
    #[cold]
    fn update_waker(&self, waker: &Waker) -> Option<Done> {
        // Acquire on failure is not needed: `wait_done` re-loads with Acquire.
        if self
            .state
            .compare_exchange(WAITING, UPDATING, Ordering::Acquire, Ordering::Relaxed)
            .is_err()
        {
            // Claimed (BUSY) or DONE: the outcome is moments away.
            return Some(self.wait_done());
        }
        // SAFETY: we hold UPDATING; a claimer that meets it does not touch the cell.
        self.waker.with_mut(|w| unsafe {
            match &mut *w {
                Some(old) if old.will_wake(waker) => {}
                slot => *slot = Some(waker.clone()),
            }
        });
        // Release: a claimer's Acquire CAS from WAITING sees the new waker.
        if self
            .state
            .compare_exchange(UPDATING, WAITING, Ordering::Release, Ordering::Relaxed)
            .is_err()
        {
            // A counterpart claimed us meanwhile (and will not wake us): we are running,
            // so wait for its DONE here.
            return Some(self.wait_done());
        }
        None
    }

    /// Owner side: withdraw. `Ok` if nobody completed this waiter (and nobody ever will);
    /// otherwise the outcome of the counterpart that did.
    pub(crate) fn abort(&self) -> Result<(), Done> {
        // Acquire on failure is not needed: `wait_done` re-loads with Acquire.
        match self
            .state
            .compare_exchange(WAITING, ABORTED, Ordering::Relaxed, Ordering::Relaxed)
        {
            Ok(_) => Ok(()),
            Err(_) => Err(self.wait_done()),
        }
    }

    /// Waits out a claimer's `BUSY` window (a few instructions under a channel lock).
    fn wait_done(&self) -> Done {
        let mut spins = 0u32;
        loop {
            if let Some(d) = self.done() {
                return d;
            }
            spins += 1;
            if spins < 64 && !cfg!(loom) {
                std::hint::spin_loop();
            } else {
                thread::yield_now();
            }
        }
    }

    fn park_once(&self, timeout: Option<std::time::Duration>) {
        #[cfg(not(loom))]
        match timeout {
            None => thread::park(),
            Some(d) => thread::park_timeout(d),
        }
        #[cfg(loom)]
        {
            let p = &self.parker;
            let mut token = p.token.lock().unwrap();
            if timeout.is_some() {
                // loom has no time: a timed wait returns at once and the caller's deadline
                // check decides.
                *token = false;
                return;
            }
            while !*token {
                token = p.cv.wait(token).unwrap();
            }
            *token = false;
        }
    }

    /// Owner side, blocking waiters: park until completed or until `deadline`.
    /// Returns `None` on timeout, after which the caller must [`abort`](Self::abort).
    pub(crate) fn park(&self, deadline: Option<Instant>) -> Option<Done> {
        crate::lock::release_kept_lock();
        // The counterpart is often only moments away: back off before paying for a real
        // park and unpark.
        let mut backoff = Backoff::new();
        loop {
            if let Some(d) = self.done() {
                return Some(d);
            }
            if !backoff.snooze() {
                break;
            }
        }
        loop {
            if let Some(d) = self.done() {
                return Some(d);
            }
            match deadline {
                None => self.park_once(None),
                // loom has no clock: a deadline expires at the first wait, and loom explores
                // every interleaving of that timeout with the counterpart's completion.
                Some(_) if cfg!(loom) => return None,
                Some(deadline) => {
                    let now = Instant::now();
                    if now >= deadline {
                        return None;
                    }
                    self.park_once(Some(deadline - now));
                }
            }
        }
    }
}

/// A [`Waiter`] created on first use, with the "registered" flag of the operation that
/// owns it: most operations never wait, and their futures are moved at least once before
/// being polled, so the waiter's memory stays uninitialised until an operation actually
/// registers.
pub(crate) struct LazyWaiter {
    waiter: MaybeUninit<Waiter>,
    state: u8,
}

const LAZY_UNINIT: u8 = 0;
const LAZY_IDLE: u8 = 1;
const LAZY_REGISTERED: u8 = 2;

impl LazyWaiter {
    #[inline(always)]
    pub(crate) const fn new() -> Self {
        LazyWaiter {
            waiter: MaybeUninit::uninit(),
            state: LAZY_UNINIT,
        }
    }

    /// The waiter, created now if needed.
    #[inline]
    pub(crate) fn get_or_init(&mut self) -> &Waiter {
        if self.state == LAZY_UNINIT {
            self.waiter.write(Waiter::new());
            self.state = LAZY_IDLE;
        }
        // SAFETY: initialised above or earlier.
        unsafe { self.waiter.assume_init_ref() }
    }

    /// The waiter, which must have been created.
    ///
    /// # Panics
    /// If it was not (a bug in this crate).
    #[inline]
    pub(crate) fn get(&self) -> &Waiter {
        assert!(
            self.state != LAZY_UNINIT,
            "goro-channel: waiter used before it was armed"
        );
        // SAFETY: initialised (checked above).
        unsafe { self.waiter.assume_init_ref() }
    }

    /// Whether the owning operation's packets are (or may still be) queued.
    #[inline(always)]
    pub(crate) fn is_registered(&self) -> bool {
        self.state == LAZY_REGISTERED
    }

    /// Records that the owning operation registered (`true`) or is no longer registered.
    #[inline]
    pub(crate) fn set_registered(&mut self, registered: bool) {
        debug_assert!(self.state != LAZY_UNINIT);
        self.state = if registered {
            LAZY_REGISTERED
        } else {
            LAZY_IDLE
        };
    }
}

impl Drop for LazyWaiter {
    #[inline]
    fn drop(&mut self) {
        if self.state != LAZY_UNINIT {
            self.drop_waiter();
        }
    }
}

impl LazyWaiter {
    #[cold]
    fn drop_waiter(&mut self) {
        // SAFETY: initialised (checked by the caller), and dropped only here.
        unsafe { self.waiter.assume_init_drop() }
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

/// One case of a blocked operation, as queued on a channel (by address: see the module's
/// invariant).
///
/// A fresh packet initialises only its slot: it is created for every `send()`/`recv()`
/// future, most of which never wait, and a future is moved (copied) at least once before
/// it is polled, so its unused parts are left uninitialised.
pub(crate) struct Packet<T> {
    slot: UnsafeCell<Option<T>>,
    /// The waiter this packet belongs to and which case of it this is; written by
    /// [`bind`](Self::bind) before the packet is registered, read only afterwards.
    meta: UnsafeCell<MaybeUninit<(*const Waiter, usize)>>,
    _pin: PhantomPinned,
}

// SAFETY: a packet moves values of type `T` between threads (so `T: Send` is required);
// its cells are only accessed by one party at a time, as the state protocol decides, and
// the waiter it points to is `Sync`.
unsafe impl<T: Send> Send for Packet<T> {}
// SAFETY: as above.
unsafe impl<T: Send> Sync for Packet<T> {}

impl<T> fmt::Debug for Packet<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Packet").finish_non_exhaustive()
    }
}

impl<T> Packet<T> {
    /// A packet holding `value` (a send's value, or `None` for a receive).
    #[inline(always)]
    pub(crate) fn new(value: Option<T>) -> Self {
        Packet {
            slot: UnsafeCell::new(value),
            meta: UnsafeCell::new(MaybeUninit::uninit()),
            _pin: PhantomPinned,
        }
    }

    /// Owner side, before registering: tie this packet to case `case` of `waiter`.
    ///
    /// # Safety
    /// The packet is not registered anywhere; `waiter` outlives every registration of it.
    #[inline]
    pub(crate) unsafe fn bind(&self, waiter: &Waiter, case: usize) {
        // SAFETY: not shared (the caller's obligation).
        self.meta.with_mut(|m| unsafe {
            (*m).write((waiter as *const Waiter, case));
        });
    }

    /// The waiter this packet belongs to.
    ///
    /// # Safety
    /// The packet was bound and is registered (or its owner is asking): the waiter is alive.
    #[inline]
    pub(crate) unsafe fn waiter(&self) -> &Waiter {
        // SAFETY: bound before registration (the caller's obligation), read-only while
        // registered; the waiter outlives the registration.
        unsafe { &*self.meta.with(|m| (*m).assume_init().0) }
    }

    /// Which case of its waiter this packet is.
    ///
    /// # Safety
    /// As for [`waiter`](Self::waiter).
    #[inline]
    pub(crate) unsafe fn case(&self) -> usize {
        // SAFETY: as in `waiter`.
        unsafe { self.meta.with(|m| (*m).assume_init().1) }
    }

    /// Takes the value out of the slot.
    ///
    /// # Safety
    /// The caller has exclusive access to the slot under the protocol: it won the claim on
    /// this packet's waiter (and has not finished it yet), or it is the owner and the packet
    /// is not registered, or it observed `DONE` or won the abort.
    #[inline]
    pub(crate) unsafe fn take(&self) -> Option<T> {
        // SAFETY: exclusive access is the caller's obligation (see above).
        self.slot.with_mut(|p| unsafe { (*p).take() })
    }

    /// Puts a value into the slot.
    ///
    /// # Safety
    /// As for [`take`](Self::take).
    #[inline]
    pub(crate) unsafe fn put(&self, value: T) {
        // SAFETY: exclusive access is the caller's obligation (see above).
        self.slot.with_mut(|p| unsafe { *p = Some(value) })
    }

    /// Whether the slot holds a value.
    ///
    /// # Safety
    /// As for [`take`](Self::take).
    pub(crate) unsafe fn is_full(&self) -> bool {
        // SAFETY: exclusive access is the caller's obligation (see above).
        self.slot.with(|p| unsafe { (*p).is_some() })
    }
}
