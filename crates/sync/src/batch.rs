//! The batch semaphore under `Mutex`, `Semaphore`, `OnceCell`, `Once` and `RwMutex`'s writers.
//!
//! # Design
//!
//! One atomic word and one waiter [`Queue`] under a small lock, after
//! tokio's `batch_semaphore.rs` and Go's `sync/mutex.go` (both read, neither copied):
//!
//! ```text
//! state: | available permits (bits 3..) | WOKEN (bit 2) | HANDOFF (bit 1) | WAITERS (bit 0) |
//! ```
//!
//! * `WAITERS` is set while the FIFO holds a waiter.
//! * `HANDOFF` says released permits go straight to the waiters at the front of the FIFO,
//!   instead of into the counter. A *fair* semaphore (`Semaphore`, `OnceCell`) has it set for
//!   life; a *barging* one (`Mutex`, `RwMutex`'s writers) sets it only in Go's starvation mode.
//! * `WOKEN` (barging only, Go's `mutexWoken`) says one queued waiter has been woken by a release
//!   and has not run yet. While it is set, releases put their permit back with one CAS and wake
//!   nobody: the woken waiter will see the permit when it runs.
//!
//! The three flags only change with the queue lock held; outside it, the fast paths only move
//! permits, each in one CAS that reads the flags in the same word.
//!
//! **Acquire.** The fast path is one CAS that takes `n` permits from the counter. It is refused
//! while `WAITERS` and `HANDOFF` are both set, so nobody overtakes a queued waiter of a fair
//! semaphore or of a starving mutex. Otherwise the acquirer locks the queue, retries, and
//! enqueues itself at the back. In handoff mode it takes the permits that are there as a down
//! payment, in the same CAS that sets `WAITERS`, so that *while anyone waits on a fair semaphore
//! the counter holds no permits* — the invariant that makes the fast-path rule enough for FIFO
//! order, and lets a large acquisition collect its permits from departing holders without
//! small ones slipping in.
//!
//! **Release.** With no waiters (or, barging, with a woken waiter on its way), one CAS adds the
//! permits back. Otherwise the releaser locks the queue: in handoff mode it assigns the permits
//! to the front waiters in order (a waiter is granted, unlinked and woken once it has all it
//! asked for; the last may keep a partial sum) and puts only the rest in the counter; in barging
//! mode it puts them in the counter and, unless `WOKEN` is set, wakes the front waiter and sets
//! `WOKEN`, in the same atomic step. The woken waiter competes for the permit with newcomers.
//!
//! **Grant flags.** A granted waiter whose key is below `FLAG_SLOTS` (64) learns of the grant
//! from its bit in `granted`, set with Release by the granter under the queue lock; the owner's
//! next poll sees it with one Acquire load, clears it and completes without the lock. The slot
//! stays *parked* until the owner has cleared its bit, and is freed by the next acquirer that
//! holds the lock (see `queue.rs`). A cancelled owner finds its grant under the lock instead
//! (the slot is unlinked), clears its bit and releases the permits. Waiters with larger keys
//! find their grant under the lock, as the owner removes its own record.
//!
//! **No lost wake-ups.** A queued waiter checks the counter and registers its waker with the
//! queue locked. In handoff mode permits cannot reach the counter then (the release fast path
//! needs `WAITERS` clear). In barging mode they can, but only while `WOKEN` is set; the woken
//! waiter gives up `WOKEN` with a CAS that also observes that the counter is empty, so a release
//! after that CAS sees `WOKEN` clear, takes the slow path, and blocks on the queue lock until the
//! waiter's waker is registered.
//!
//! **Starvation (barging mode, Go's rule).** A woken waiter that fails to get the lock
//! after waiting more than 1 ms sets `HANDOFF` (in the CAS that clears `WOKEN`, so the counter is
//! empty at that point): from then on the lock is handed to the front waiter on every release,
//! and newcomers queue. A waiter handed the lock that waited less than 1 ms, or that empties the
//! queue, clears `HANDOFF` again. No waiter is marked woken in handoff mode.
//!
//! **Spinning (barging mode).** A mutex acquirer that finds the lock taken spins a few rounds
//! before it queues (if the process can use more than one CPU), watching the state word for the
//! permit to come back, as Go's mutex, `std` and `parking_lot` do: critical sections are
//! usually short, and a wait of a few hundred nanoseconds then costs no task switch and no
//! wake-up. Spinning only reads the state and takes the permit through the fast path, so it
//! changes no rule above; it stops at once in starvation mode. Fair semaphores never spin:
//! their releases hand permits to queued waiters, so a spinning newcomer could not get them
//! anyway.
//!
//! **Cancellation.** A waiter's future removes its record when dropped. If it had been granted
//! permits (or a partial sum), they are released again through the same path, so they go to the
//! next waiter; a woken barging waiter passes its wake-up (and `WOKEN`) on to the new front
//! waiter.

use crate::{
    loom::{lock, spin_loop, AtomicU64, AtomicUsize, Mutex, MutexGuard},
    queue::{set_waker, Queue, WakeList, FLAG_SLOTS},
};
use std::{
    fmt,
    sync::atomic::Ordering::{AcqRel, Acquire, Relaxed, Release},
    task::{Context, Poll, Waker},
};

const WAITERS: usize = 0b001;
const HANDOFF: usize = 0b010;
const WOKEN: usize = 0b100;
const BLOCKED: usize = WAITERS | HANDOFF;
const SHIFT: u32 = 3;
const ONE: usize = 1 << SHIFT;

/// The largest number of permits a semaphore can hold (leaves headroom so that adding permits
/// never overflows the state word).
pub(crate) const MAX_PERMITS: usize = usize::MAX >> (SHIFT + 1);

/// How long a waiter may wait before a barging semaphore switches to handoff (Go: 1 ms).
#[cfg(not(loom))]
pub(crate) const STARVATION_THRESHOLD: std::time::Duration = std::time::Duration::from_millis(1);

/// Spin rounds before a lock queues. Round `i` backs off for `2^i` pause instructions, so the
/// whole spin is 15 pauses, a few hundred nanoseconds: about what a task switch and wake-up
/// cost, the break-even point of spin-then-park. (Under loom one round keeps the path modelled
/// without multiplying the interleavings.)
pub(crate) const SPIN_ROUNDS: u32 = if cfg!(loom) { 1 } else { 4 };

/// What a release does with its permits.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Policy {
    /// Go's mutex: permits go back to the counter and a woken waiter competes with newcomers
    /// (handoff only in starvation mode); acquirers spin briefly before they queue.
    Barging,
    /// FIFO handoff to the queued waiters (`Semaphore`, `OnceCell`).
    Fair,
}

struct Waiter {
    waker: Option<Waker>,
    /// Permits still missing.
    needed: usize,
    /// Permits already handed to this waiter (returned if it is cancelled).
    assigned: usize,
    /// Barging mode: woken by a release and not yet re-polled (the waiter `WOKEN` refers to).
    notified: bool,
    /// When it started waiting (barging mode only: fair semaphores never read a clock).
    #[cfg(not(loom))]
    since: Option<std::time::Instant>,
    /// Under loom time does not pass; a waiter counts as starved once it lost two races (so
    /// models see a woken waiter lose in normal mode, and starvation mode too).
    #[cfg(loom)]
    lost: u32,
}

// A waiter's slot is one cache line (see `queue.rs`); keep `Waiter` small enough for that.
#[cfg(all(not(loom), target_pointer_width = "64"))]
const _: () = assert!(crate::queue::slot_size::<Waiter>() == 64);

impl Waiter {
    fn starved(&self) -> bool {
        #[cfg(not(loom))]
        return self
            .since
            .is_some_and(|t| t.elapsed() >= STARVATION_THRESHOLD);
        #[cfg(loom)]
        return self.lost >= 2;
    }
}

/// Whether the process may run on more than one CPU: spinning only pays off if the holder can
/// run meanwhile (Go's `active_spin` rule). Asked once, then cached.
#[cfg(not(loom))]
pub(crate) fn multicore() -> bool {
    use std::sync::atomic::AtomicU8;
    // 0: not known yet, 1: one CPU, 2: more.
    static CPUS: AtomicU8 = AtomicU8::new(0);
    // Relaxed: a cache of a value every thread computes the same way.
    match CPUS.load(Relaxed) {
        0 => {
            let multi = std::thread::available_parallelism().map_or(true, |n| n.get() > 1);
            CPUS.store(if multi { 2 } else { 1 }, Relaxed);
            multi
        }
        n => n == 2,
    }
}

/// Under loom the "CPUs" are loom's threads: always spin (one round).
#[cfg(loom)]
pub(crate) fn multicore() -> bool {
    true
}

/// Backs off for `2^round` pause instructions.
#[inline]
pub(crate) fn backoff(round: u32) {
    for _ in 0..1u32 << round {
        spin_loop();
    }
}

/// A batch semaphore with a FIFO waiter queue; see the module docs.
///
/// `GAP1` and `GAP2` are bytes of padding after `state` and after `granted` (`repr(C)` keeps
/// the fields in this order). The default is none: a `Mutex` stays compact. `Semaphore` pads
/// so that its three kinds of traffic use three different cache lines (see `semaphore.rs`).
#[repr(C)]
pub(crate) struct RawSemaphore<const GAP1: usize = 0, const GAP2: usize = 0> {
    state: AtomicUsize,
    _gap1: [u8; GAP1],
    /// Bit `k`: the waiter with key `k < FLAG_SLOTS` has been granted its permits. Set by the
    /// granter under the queue lock, cleared by the owner, which thus completes without taking
    /// the lock (its slot is reclaimed later, under the lock, by `Queue::reclaim`).
    granted: AtomicU64,
    _gap2: [u8; GAP2],
    waiters: Mutex<Queue<Waiter>>,
    barging: bool,
}

impl<const GAP1: usize, const GAP2: usize> RawSemaphore<GAP1, GAP2> {
    crate::loom::const_unless_loom! {
        /// A semaphore holding `permits`, releasing them as `policy` says.
        pub(crate) fn new(permits: usize, policy: Policy) -> Self {
            // A literal message: a `const fn` cannot format one.
            assert!(
                permits <= MAX_PERMITS,
                "a semaphore holds at most Semaphore::MAX_PERMITS (usize::MAX >> 4) permits"
            );
            let barging = matches!(policy, Policy::Barging);
            let flags = if barging { 0 } else { HANDOFF };
            RawSemaphore {
                state: AtomicUsize::new(permits << SHIFT | flags),
                _gap1: [0; GAP1],
                granted: AtomicU64::new(0),
                _gap2: [0; GAP2],
                waiters: Mutex::new(Queue::new()),
                barging,
            }
        }
    }

    /// Permits in the counter right now.
    pub(crate) fn available(&self) -> usize {
        // Relaxed: a snapshot for callers that only report it.
        self.state.load(Relaxed) >> SHIFT
    }

    /// The mutex fast path: one CAS from "one permit, no flags" to "none".
    #[inline]
    pub(crate) fn try_acquire_one(&self) -> bool {
        // Acquire: taking the permit must see the previous holder's writes (its Release below).
        // Relaxed on failure: nothing was taken.
        self.state
            .compare_exchange(ONE, 0, Acquire, Relaxed)
            .is_ok()
            || self.try_acquire(1)
    }

    /// Whether an acquirer of `n` may take them from the counter in state `s`.
    #[inline]
    fn may_take(s: usize, n: usize) -> bool {
        s & BLOCKED != BLOCKED && s >> SHIFT >= n
    }

    /// Takes `n` permits if they are in the counter and nobody is entitled to them first.
    #[inline]
    pub(crate) fn try_acquire(&self, n: usize) -> bool {
        // Relaxed: the value only seeds the CAS below, which has Acquire on success.
        let mut s = self.state.load(Relaxed);
        loop {
            if !Self::may_take(s, n) {
                return false;
            }
            // Acquire on success: pairs with the Release of whoever put the permits back.
            match self
                .state
                .compare_exchange_weak(s, s - (n << SHIFT), Acquire, Relaxed)
            {
                Ok(_) => return true,
                Err(actual) => s = actual,
            }
        }
    }

    /// The mutex unlock fast path, then the general one.
    #[inline]
    pub(crate) fn release_one(&self) {
        // Release: publishes the critical section to the next acquirer (its Acquire CAS).
        if self
            .state
            .compare_exchange(0, ONE, Release, Relaxed)
            .is_err()
        {
            self.release(1);
        }
    }

    /// Gives `n` permits back: to the counter, or to waiters (see module docs).
    #[inline]
    pub(crate) fn release(&self, n: usize) {
        if n == 0 {
            return;
        }
        // Relaxed: the value only seeds the CAS below, which has Release on success.
        let mut s = self.state.load(Relaxed);
        loop {
            // With waiters, only a barging semaphore with a woken waiter on its way (and not
            // in handoff mode) may put the permits back without looking at the queue.
            if s & WAITERS != 0 && s & (HANDOFF | WOKEN) != WOKEN {
                return self.release_slow(n);
            }
            // Release: publishes the holder's writes to the next acquirer's Acquire CAS.
            match self
                .state
                .compare_exchange_weak(s, s + (n << SHIFT), Release, Relaxed)
            {
                Ok(_) => return,
                Err(actual) => s = actual,
            }
        }
    }

    #[cold]
    fn release_slow(&self, n: usize) {
        let mut wakers = WakeList::new();
        let mut q = self.lock();
        self.release_locked(&mut q, n, false, &mut wakers);
        drop(q);
        wakers.wake_all();
    }

    fn lock(&self) -> MutexGuard<'_, Queue<Waiter>> {
        lock(&self.waiters)
    }

    /// Adds `n` permits, clears `clear` and sets `set`, in one atomic step.
    fn update(&self, n: usize, clear: usize, set: usize) {
        if n == 0 && clear == 0 && set == 0 {
            return;
        }
        // AcqRel: Release publishes the releaser's writes with the permits; Acquire keeps this
        // step ordered after fast-path acquirers' CASes on the same word.
        let _ = self.state.fetch_update(AcqRel, Relaxed, |s| {
            Some(((s + (n << SHIFT)) & !clear) | set)
        });
    }

    /// Release with the queue locked. `woken`: the permits (if any) come from a cancelled
    /// barging waiter that had been woken, whose wake-up must be passed on.
    fn release_locked(&self, q: &mut Queue<Waiter>, n: usize, woken: bool, wakers: &mut WakeList) {
        // Relaxed: the flags only change under the queue lock, which we hold; the permit count
        // read here is not used (`update` adds to whatever is there).
        let s = self.state.load(Relaxed);
        if s & HANDOFF != 0 {
            let mut rest = n;
            let mut clear = 0;
            while rest > 0 {
                let Some(k) = q.front() else { break };
                let w = q.get_mut(k);
                let take = rest.min(w.needed);
                w.needed -= take;
                w.assigned += take;
                rest -= take;
                if w.needed == 0 {
                    let starved = self.barging && w.starved();
                    wakers.push(w.waker.take());
                    q.unlink(k);
                    if k < FLAG_SLOTS {
                        // Release: the owner's Acquire load of its bit sees the permits'
                        // history (the releaser's writes).
                        self.granted.fetch_or(1 << k, Release);
                        q.park(k);
                    }
                    if self.barging {
                        // Go: the waiter that gets the lock ends starvation mode if it did
                        // not wait long or was the last one.
                        if !starved || q.is_empty() {
                            clear |= HANDOFF;
                        }
                        break;
                    }
                }
            }
            if q.is_empty() {
                clear |= WAITERS | if self.barging { HANDOFF } else { 0 };
            }
            self.update(rest, clear, 0);
        } else if q.is_empty() {
            self.update(n, WAITERS | WOKEN, 0);
        } else if (n > 0 && s & WOKEN == 0) || woken {
            // Wake the front waiter (it competes for the permits) and mark it as the woken one;
            // a passed-on wake-up keeps `WOKEN` set.
            let k = q.front().expect("queue is not empty");
            let w = q.get_mut(k);
            w.notified = true;
            wakers.push(w.waker.take());
            self.update(n, 0, WOKEN);
        } else {
            // A woken waiter is on its way and will find the permits.
            self.update(n, 0, 0);
        }
    }

    /// Polls an acquisition of `n` permits. `key` is the waiter's record once queued; it is
    /// `None` again when this returns `Ready`.
    #[inline]
    pub(crate) fn poll_acquire(
        &self,
        cx: &Context<'_>,
        n: usize,
        key: &mut Option<usize>,
    ) -> Poll<()> {
        match *key {
            None => {
                // A barging semaphore is a mutex: its one-CAS fast path first.
                let got = if self.barging {
                    debug_assert_eq!(n, 1, "a barging semaphore is a mutex");
                    self.try_acquire_one()
                } else {
                    n == 0 || self.try_acquire(n)
                };
                if got {
                    return Poll::Ready(());
                }
                self.acquire_slow(cx, n, key)
            }
            Some(k) => {
                // Acquire: pairs with the granter's Release.
                if k < FLAG_SLOTS && self.granted.load(Acquire) & (1 << k) != 0 {
                    self.clear_granted(k);
                    *key = None;
                    return Poll::Ready(());
                }
                self.poll_queued(cx, n, key, k)
            }
        }
    }

    /// Frees the parked slots whose owners have seen their grant (call with the queue locked).
    fn reclaim(&self, q: &mut Queue<Waiter>) {
        if q.has_parked() {
            // Relaxed: a parked slot's bit was set under this lock; only its owner clears it.
            q.reclaim(self.granted.load(Relaxed));
        }
    }

    /// The owner of key `k` has seen its grant: its bit goes, and the slot may be reused.
    fn clear_granted(&self, k: usize) {
        // Relaxed: the bit is this owner's alone until the slot is reclaimed, and the reclaim
        // (under the queue lock, after the grant) can only see it set or cleared by us.
        self.granted.fetch_and(!(1 << k), Relaxed);
    }

    /// The first poll of an acquisition that did not get its permits at once: spin (barging
    /// mode), then queue.
    #[cold]
    fn acquire_slow(&self, cx: &Context<'_>, n: usize, key: &mut Option<usize>) -> Poll<()> {
        if self.barging && self.spin_acquire(n) {
            return Poll::Ready(());
        }
        self.enqueue(cx, n, key)
    }

    /// Spins a few rounds waiting for the fast path to succeed (not on a single CPU, where the
    /// holder cannot run meanwhile).
    pub(crate) fn spin_acquire(&self, n: usize) -> bool {
        if !multicore() {
            return false;
        }
        for round in 0..SPIN_ROUNDS {
            backoff(round);
            // Relaxed: a look; the permits are taken by `try_acquire`'s Acquire CAS.
            let s = self.state.load(Relaxed);
            if s & HANDOFF != 0 {
                // Starvation mode: the lock goes to the queue; newcomers line up (Go: no
                // spinning in starvation mode).
                return false;
            }
            if Self::may_take(s, n) && self.try_acquire(n) {
                return true;
            }
        }
        false
    }

    /// Queues the acquirer, after one more try under the lock (`Ready` if it got the permits
    /// after all).
    fn enqueue(&self, cx: &Context<'_>, n: usize, key: &mut Option<usize>) -> Poll<()> {
        // Prepared before the lock is taken, to keep the critical section short (cloning a
        // waker is an atomic increment on the task, often in another core's cache).
        let waker = cx.waker().clone();
        #[cfg(not(loom))]
        let since = self.barging.then(std::time::Instant::now);
        let mut q = self.lock();
        self.reclaim(&mut q);
        // Relaxed: seeds the CASes below.
        let mut s = self.state.load(Relaxed);
        loop {
            let avail = s >> SHIFT;
            if Self::may_take(s, n) {
                // Acquire: as in `try_acquire`.
                match self
                    .state
                    .compare_exchange_weak(s, s - (n << SHIFT), Acquire, Relaxed)
                {
                    Ok(_) => return Poll::Ready(()),
                    Err(actual) => {
                        s = actual;
                        continue;
                    }
                }
            }
            // In handoff mode take what is there as a down payment (keeps the counter empty
            // while anyone waits); a barging waiter takes nothing.
            let take = if s & HANDOFF != 0 { avail.min(n) } else { 0 };
            let new = (s - (take << SHIFT)) | WAITERS;
            // With `WAITERS` and `HANDOFF` set and the queue locked, nobody else can change the
            // word (both fast paths are shut), so an unchanged word needs no CAS (it would only
            // pull the cache line over for nothing).
            let unchanged = new == s && s & BLOCKED == BLOCKED;
            // Acquire: the permits taken carry their releaser's writes.
            match if unchanged {
                Ok(s)
            } else {
                self.state.compare_exchange(s, new, Acquire, Relaxed)
            } {
                Ok(_) => {
                    *key = Some(q.push_back(Waiter {
                        waker: Some(waker),
                        needed: n - take,
                        assigned: take,
                        notified: false,
                        #[cfg(not(loom))]
                        since,
                        #[cfg(loom)]
                        lost: 0,
                    }));
                    return Poll::Pending;
                }
                Err(actual) => s = actual,
            }
        }
    }

    fn poll_queued(
        &self,
        cx: &Context<'_>,
        n: usize,
        key: &mut Option<usize>,
        k: usize,
    ) -> Poll<()> {
        let mut q = self.lock();
        if !q.is_linked(k) {
            // Granted: every permit was handed to us.
            q.remove(k);
            if k < FLAG_SLOTS {
                self.clear_granted(k);
            }
            *key = None;
            return Poll::Ready(());
        }
        if self.barging {
            let last = q.len() == 1;
            let w = q.get_mut(k);
            let notified = w.notified;
            if notified {
                // Woken: whatever happens below, this waiter stops being the woken one.
                w.notified = false;
                #[cfg(loom)]
                {
                    w.lost += 1;
                }
            }
            let starved = notified && w.starved();
            // Relaxed: seeds the CASes; the flags are stable under the lock.
            let mut s = self.state.load(Relaxed);
            loop {
                if s & HANDOFF == 0 && s >> SHIFT >= n {
                    let mut new = s - (n << SHIFT);
                    if notified {
                        new &= !WOKEN;
                    }
                    if last {
                        new &= !(WAITERS | WOKEN);
                    }
                    // Acquire: as in `try_acquire`.
                    match self.state.compare_exchange_weak(s, new, Acquire, Relaxed) {
                        Ok(_) => {
                            q.remove(k);
                            *key = None;
                            return Poll::Ready(());
                        }
                        Err(actual) => {
                            s = actual;
                            continue;
                        }
                    }
                }
                if !notified {
                    break;
                }
                // Woken, and a newcomer got there first. Give up `WOKEN` in a CAS that also
                // sees the counter empty (a release after it takes the slow path and wakes
                // us again) and, if starved, switch to starvation mode in the same step: the
                // counter is empty then, as handoff mode requires.
                let mut new = s & !WOKEN;
                if s & HANDOFF == 0 && starved {
                    new |= HANDOFF;
                }
                // AcqRel: as for `update`.
                match self.state.compare_exchange_weak(s, new, AcqRel, Relaxed) {
                    Ok(_) => break,
                    Err(actual) => s = actual,
                }
            }
        }
        set_waker(&mut q.get_mut(k).waker, cx);
        Poll::Pending
    }

    /// Abandons a queued acquisition; permits already handed to it are released again, and a
    /// wake-up it had received is passed on.
    pub(crate) fn cancel(&self, key: &mut Option<usize>) {
        let Some(k) = key.take() else { return };
        let mut wakers = WakeList::new();
        let mut q = self.lock();
        let (w, was_linked) = q.remove(k);
        if !was_linked && k < FLAG_SLOTS {
            self.clear_granted(k);
        }
        self.release_locked(&mut q, w.assigned, was_linked && w.notified, &mut wakers);
        self.reclaim(&mut q);
        drop(q);
        wakers.wake_all();
    }

    /// Number of queued waiters (diagnostics and tests).
    pub(crate) fn waiting(&self) -> usize {
        self.lock().len()
    }

    /// Addresses of the state word, the grant flags and the queue lock (layout tests).
    #[cfg(test)]
    pub(crate) fn field_addrs(&self) -> [usize; 3] {
        [
            &self.state as *const _ as usize,
            &self.granted as *const _ as usize,
            &self.waiters as *const _ as usize,
        ]
    }

    /// Whether the semaphore is in handoff mode right now.
    pub(crate) fn handoff(&self) -> bool {
        // Relaxed: a snapshot for reporting.
        self.state.load(Relaxed) & HANDOFF != 0
    }
}

impl<const GAP1: usize, const GAP2: usize> fmt::Debug for RawSemaphore<GAP1, GAP2> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RawSemaphore")
            .field("available", &self.available())
            .field("handoff", &self.handoff())
            .finish_non_exhaustive()
    }
}
