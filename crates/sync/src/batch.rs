//! The batch semaphore under `Mutex`, `RwMutex`, `Semaphore`, `OnceCell` and `Once`.
//!
//! # Design
//!
//! One atomic word and one waiter [`Queue`](crate::queue::Queue) under a small lock, after
//! tokio's `batch_semaphore.rs` and Go's `sync/mutex.go` (both read, neither copied):
//!
//! ```text
//! state: | available permits (bits 2..) | HANDOFF (bit 1) | WAITERS (bit 0) |
//! ```
//!
//! * `WAITERS` is set while the FIFO holds a waiter. It is only changed with the queue lock held.
//! * `HANDOFF` says released permits go straight to the waiters at the front of the FIFO,
//!   instead of into the counter. A *fair* semaphore (`Semaphore`, `RwMutex`, `OnceCell`) has
//!   it set for life; a *barging* one (`Mutex`) sets it only in Go's starvation mode.
//!
//! **Acquire.** The fast path is one CAS that takes `n` permits from the counter. It is refused
//! while `WAITERS` and `HANDOFF` are both set, so nobody overtakes a queued waiter of a fair
//! semaphore or of a starving mutex. Otherwise the acquirer locks the queue, retries, and
//! enqueues itself at the back. In handoff mode it takes the permits that are there as a down
//! payment, in the same CAS that sets `WAITERS`, so that *while anyone waits on a fair semaphore
//! the counter holds no permits* — the invariant that makes the fast-path rule enough for FIFO
//! order, and lets a writer needing every permit of an `RwMutex` collect them from departing
//! readers without new readers slipping in.
//!
//! **Release.** With no waiters, one CAS adds the permits back. Otherwise the releaser locks the
//! queue: in handoff mode it assigns the permits to the front waiters in order (a waiter is
//! granted, unlinked and woken once it has all it asked for; the last may keep a partial sum)
//! and puts only the rest in the counter; in barging mode it puts them in the counter and wakes
//! the front waiter (unless it was already woken), which then competes for them with newcomers.
//! While the queue is locked, permits can only leave the counter (the release fast path needs
//! `WAITERS` clear), so a waiter that checks the counter and then registers its waker under
//! the lock cannot miss a release.
//!
//! **Starvation (barging mode, Go's rule).** A woken front waiter that fails to get the lock
//! after waiting more than 1 ms sets `HANDOFF`: from then on the lock is handed to the front
//! waiter on every release, and newcomers queue. A waiter handed the lock that waited less than
//! 1 ms, or that empties the queue, clears `HANDOFF` again.
//!
//! **Cancellation.** A waiter's future removes its record when dropped. If it had been granted
//! permits (or a partial sum), they are released again through the same path, so they go to the
//! next waiter; a woken barging waiter passes its wake-up on to the new front waiter.

use crate::{
    loom::{lock, AtomicUsize, Mutex, MutexGuard},
    queue::{set_waker, Queue, WakeList},
};
use std::{
    fmt,
    sync::atomic::Ordering::{AcqRel, Acquire, Relaxed, Release},
    task::{Context, Poll, Waker},
};

const WAITERS: usize = 0b01;
const HANDOFF: usize = 0b10;
const BLOCKED: usize = WAITERS | HANDOFF;
const SHIFT: usize = 2;
const ONE: usize = 1 << SHIFT;

/// The largest number of permits a semaphore can hold (leaves headroom so that adding permits
/// never overflows the state word).
pub(crate) const MAX_PERMITS: usize = usize::MAX >> (SHIFT + 1);

/// How long a waiter may wait before a barging semaphore switches to handoff (Go: 1 ms).
#[cfg(not(loom))]
const STARVATION_THRESHOLD: std::time::Duration = std::time::Duration::from_millis(1);

struct Waiter {
    waker: Option<Waker>,
    /// Permits still missing.
    needed: usize,
    /// Permits already handed to this waiter (returned if it is cancelled).
    assigned: usize,
    /// Barging mode: woken by a release and not yet re-polled.
    notified: bool,
    /// When it started waiting (barging mode only: fair semaphores never read a clock).
    #[cfg(not(loom))]
    since: Option<std::time::Instant>,
    /// Under loom time does not pass; a waiter counts as starved once it lost a race.
    #[cfg(loom)]
    lost: u32,
}

impl Waiter {
    fn starved(&self) -> bool {
        #[cfg(not(loom))]
        return self
            .since
            .is_some_and(|t| t.elapsed() >= STARVATION_THRESHOLD);
        #[cfg(loom)]
        return self.lost > 0;
    }
}

/// A batch semaphore with a FIFO waiter queue; see the module docs.
pub(crate) struct RawSemaphore {
    state: AtomicUsize,
    waiters: Mutex<Queue<Waiter>>,
    barging: bool,
}

impl RawSemaphore {
    /// A semaphore holding `permits`. `barging` selects Go-mutex behaviour (see module docs).
    pub(crate) fn new(permits: usize, barging: bool) -> Self {
        assert!(
            permits <= MAX_PERMITS,
            "a semaphore holds at most {MAX_PERMITS} permits"
        );
        let flags = if barging { 0 } else { HANDOFF };
        RawSemaphore {
            state: AtomicUsize::new(permits << SHIFT | flags),
            waiters: Mutex::new(Queue::new()),
            barging,
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

    /// Takes `n` permits if they are in the counter and nobody is entitled to them first.
    #[inline]
    pub(crate) fn try_acquire(&self, n: usize) -> bool {
        // Relaxed: the value only seeds the CAS below, which has Acquire on success.
        let mut s = self.state.load(Relaxed);
        loop {
            if s & BLOCKED == BLOCKED || s >> SHIFT < n {
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
            if s & WAITERS != 0 {
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

    /// Adds `n` permits and clears `clear`, in one atomic step.
    fn add_and_clear(&self, n: usize, clear: usize) {
        if n == 0 && clear == 0 {
            return;
        }
        // AcqRel: Release publishes the releaser's writes with the permits; Acquire keeps this
        // step ordered after fast-path acquirers' CASes on the same word.
        let _ = self
            .state
            .fetch_update(AcqRel, Relaxed, |s| Some((s + (n << SHIFT)) & !clear));
    }

    /// Release with the queue locked. `pass_on`: a cancelled, woken barging waiter passes its
    /// wake-up on.
    fn release_locked(
        &self,
        q: &mut Queue<Waiter>,
        n: usize,
        pass_on: bool,
        wakers: &mut WakeList,
    ) {
        // Relaxed: the flags only change under the queue lock, which we hold.
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
                    if self.barging && (!starved || q.is_empty()) {
                        // Go: the waiter that gets the lock ends starvation mode if it did
                        // not wait long or was the last one.
                        clear |= HANDOFF;
                        break;
                    }
                }
            }
            if q.is_empty() {
                clear |= WAITERS | if self.barging { HANDOFF } else { 0 };
            }
            self.add_and_clear(rest, clear);
        } else {
            let clear = if q.is_empty() { WAITERS } else { 0 };
            self.add_and_clear(n, clear);
            if n > 0 || pass_on {
                if let Some(k) = q.front() {
                    let w = q.get_mut(k);
                    if !w.notified {
                        w.notified = true;
                        wakers.push(w.waker.take());
                    }
                }
            }
        }
    }

    /// Polls an acquisition of `n` permits. `key` is the waiter's record once queued; it is
    /// `None` again when this returns `Ready`.
    pub(crate) fn poll_acquire(
        &self,
        cx: &Context<'_>,
        n: usize,
        key: &mut Option<usize>,
    ) -> Poll<()> {
        match *key {
            None => {
                if n == 0 || self.try_acquire(n) {
                    return Poll::Ready(());
                }
                self.enqueue(cx, n, key)
            }
            Some(k) => self.poll_queued(cx, n, key, k),
        }
    }

    #[cold]
    fn enqueue(&self, cx: &Context<'_>, n: usize, key: &mut Option<usize>) -> Poll<()> {
        let mut q = self.lock();
        // Relaxed: seeds the CASes below.
        let mut s = self.state.load(Relaxed);
        loop {
            let avail = s >> SHIFT;
            if s & BLOCKED != BLOCKED && avail >= n {
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
            // Acquire: the permits taken carry their releaser's writes.
            match self
                .state
                .compare_exchange(s, (s - (take << SHIFT)) | WAITERS, Acquire, Relaxed)
            {
                Ok(_) => {
                    *key = Some(q.push_back(Waiter {
                        waker: Some(cx.waker().clone()),
                        needed: n - take,
                        assigned: take,
                        notified: false,
                        #[cfg(not(loom))]
                        since: self.barging.then(std::time::Instant::now),
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
            *key = None;
            return Poll::Ready(());
        }
        if self.barging {
            // Relaxed: seeds the CAS; flags are stable under the lock.
            let mut s = self.state.load(Relaxed);
            while s & HANDOFF == 0 && s >> SHIFT >= n {
                // Acquire: as in `try_acquire`.
                match self
                    .state
                    .compare_exchange_weak(s, s - (n << SHIFT), Acquire, Relaxed)
                {
                    Ok(_) => {
                        q.remove(k);
                        *key = None;
                        if q.is_empty() {
                            self.add_and_clear(0, WAITERS | HANDOFF);
                        }
                        return Poll::Ready(());
                    }
                    Err(actual) => s = actual,
                }
            }
            let w = q.get_mut(k);
            if w.notified {
                // Woken, and a newcomer got there first.
                #[cfg(loom)]
                {
                    w.lost += 1;
                }
                if s & HANDOFF == 0 && w.starved() {
                    // Starvation mode: the counter is empty (we just failed to take a permit
                    // and nothing can add one while we hold the lock), so from here on every
                    // release hands the lock to the front of the queue.
                    // AcqRel: as for `add_and_clear`.
                    self.state.fetch_or(HANDOFF, AcqRel);
                }
            }
            w.notified = false;
        }
        set_waker(&mut q.get_mut(k).waker, cx);
        Poll::Pending
    }

    /// Abandons a queued acquisition; permits already handed to it are released again.
    pub(crate) fn cancel(&self, key: &mut Option<usize>) {
        let Some(k) = key.take() else { return };
        let mut wakers = WakeList::new();
        let mut q = self.lock();
        let (w, _) = q.remove(k);
        self.release_locked(&mut q, w.assigned, w.notified, &mut wakers);
        drop(q);
        wakers.wake_all();
    }

    /// Number of queued waiters (diagnostics and tests).
    pub(crate) fn waiting(&self) -> usize {
        self.lock().len()
    }

    /// Whether the semaphore is in handoff mode right now.
    pub(crate) fn handoff(&self) -> bool {
        // Relaxed: a snapshot for reporting.
        self.state.load(Relaxed) & HANDOFF != 0
    }
}

impl fmt::Debug for RawSemaphore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RawSemaphore")
            .field("available", &self.available())
            .field("handoff", &self.handoff())
            .finish_non_exhaustive()
    }
}
