//! The channel lock.
//!
//! Every channel is protected by one small lock, as in Go's runtime (`hchan.lock`). A select
//! that has to wait locks all of its channels at once, in address order, so it needs a lock
//! it can take and release without a guard tied to one channel type: [`RawLock`].
//!
//! Outside loom it is a test-and-test-and-set lock: one CAS to lock, a plain release store
//! to unlock (a futex-style lock needs a second atomic read-modify-write to unlock, which
//! measured as half the cost of an uncontended send). Critical sections are a few dozen
//! instructions that never block, never run user code and never drop a user value (a wake
//! delivered while the lock is still taken comes after the critical section; see "Waking
//! under the lock"). Long waits, for a value or for room, never happen under this lock:
//! they park in [`waiter`](crate::waiter).
//!
//! # Contention: back off by leaving the core
//!
//! When every core hammers one channel, each acquisition moves the lock's cache line
//! between cores, and a waiter that keeps spinning only makes the holder's next acquisition
//! slower. The contended path therefore tries a few times, spins once with jitter, and then
//! gives the core away: two short naps (a 1 µs sleep, which the kernel's timer slack makes
//! about 50 µs), then 1 ms sleeps. Throughput is what this buys: the other core runs
//! uncontended meanwhile, and a work-stealing executor moves the sleeping worker's runnable
//! tasks to it, so a workload that is nothing but one channel ends up on one core, where it
//! is fastest. kanal's lock backs off in the same shape (spin, two sleeps of zero, then 1 ms),
//! but `std::thread::sleep(Duration::ZERO)` returns at once without a system call (3 ns
//! measured), so its zero sleeps, and ours until 2026-12-03, were two more rounds of polling.
//! Measured on the 2-worker benches (`benches/channel.rs`), a spin-then-`yield_now` lock left
//! `mpsc_bounded100` at 2.5x kanal's time, with both workers busy contending; the 1 ms sleeps
//! bring it to parity, and real naps before them took `mpmc_bounded1` from 50.9 to 40.2 ms
//! and `mpsc_bounded1` from 52.2 to 45.1 ms (medians of 4 interleaved runs; BENCHMARKS.md,
//! "Lock naps").
//! The price is latency under heavy contention only: an uncontended or lightly contended
//! lock never reaches the naps.
//!
//! That schedule is for async tasks only ([`Contention::Task`]). A plain thread's work cannot
//! move to another core, so for blocking calls, and for calls that promise not to wait
//! (`try_send`, `len`), the lock spins, yields a few times and only then naps
//! ([`Contention::Thread`]): with the task schedule, 4 + 4 threads on a `bounded(1)`
//! channel ran 2-6x slower than crossbeam-channel. The spin polls the lock with
//! exponentially growing pauses in between (1, 2, 4 ... 64): a waiter that polls in a tight
//! loop keeps pulling the lock's cache line, which is also where the holder's critical
//! section writes, so every write of the holder misses. Measured with one sender and one
//! receiver thread streaming 200,000 values through an unbounded channel: 47 ms with the
//! tight poll, 12 ms with the growing pauses (crossbeam-channel's lock-free list: 11 ms).
//! The naps at the end replace what used to be a poll without pauses (the no-op zero
//! sleep): in interleaved runs of the blocking `bounded100` and unbounded rows, a nap, a
//! `yield_now` and that poll came out the same, within the noise; a nap is what leaves a
//! preempted holder's core to it when there are more threads than cores.
//!
//! Under loom it is a flag under a loom `Mutex` with a `Condvar` (a lock that blocks
//! instead of spinning, which loom can explore exhaustively).
//!
//! # Waking under the lock
//!
//! An async receive that completes a waiting sender (it took the sender's value, or moved
//! it into the freed slot) wakes that sender before it releases the lock
//! ([`RawLock::wake_then_unlock`]), as kanal does: the woken sender is queued while the
//! other core still finds the lock taken and backs off, which keeps a busy channel's tasks
//! on one core. In alternated runs of the bench binaries before and after (goro's mean) it
//! took `mpsc_bounded1` from 11.9-20.8 ms (6 runs) to 10.6-11.9 ms (3 runs), and
//! `select_both` (`benches/select.rs`) from a median of 14.9 ms to 10.0 ms (BENCHMARKS.md,
//! "Waking under the lock"). Sends still wake a receiver after unlocking: doing it under
//! the lock as well made `select_rx` slower (goro's median of 6 runs 31.9 ms, against
//! 27.6 ms without), its selecting receiver waiting on the senders' locks.
//!
//! A waker is foreign code, and two things it may do would deadlock on a lock held across
//! it: use the same channel (an executor that is shutting down drops the woken task on the
//! spot; its future gives a value back or drops the last `Sender`, and both lock the
//! channel), or wait for something (another lock, a counterpart on another channel) that
//! a thread waiting for our lock holds or provides. So the critical section is over before
//! the wake starts, and the lock is only *kept*, recorded in a thread-local as
//! released-on-demand:
//!
//! * the same thread locking the same lock inside the wake takes it over: it becomes the
//!   holder, and its unlock is the release;
//! * the same thread about to wait for any other lock (contended), to park or back off in a
//!   blocking call, or to wake under another lock, releases the kept one first;
//! * otherwise the lock is released when the wake returns (or unwinds).
//!
//! So a thread never waits for a lock while it keeps one, and never waits for the lock it
//! keeps. What remains is a waker that blocks on something outside goro (its own mutex,
//! say) held by code that waits for this channel: no executor we know blocks in `wake`.
//! `tests/wake_reentry.rs` runs wakers that send, receive, drop handles and block on other
//! channels from inside `wake`.

#[cfg(not(loom))]
use std::{sync::atomic::Ordering, time::Duration};

/// Contended path: attempts before backing off (the holder is usually mid-section).
#[cfg(not(loom))]
const QUICK_ATTEMPTS: u32 = 4;
/// Back-off rounds that spin (between `SPIN_PAUSES` and three times as many pauses).
#[cfg(not(loom))]
const SPIN_ROUNDS: u32 = 1;
#[cfg(not(loom))]
const SPIN_PAUSES: u32 = 64;
/// Back-off rounds up to this one nap (sleep for [`NAP`]).
#[cfg(not(loom))]
const SLEEP_ROUNDS: u32 = 3;
/// The shortest real sleep: with Linux's default timer slack it lasts about 50 µs. Not
/// zero: `std::thread::sleep(Duration::ZERO)` returns at once without giving the core away.
#[cfg(not(loom))]
const NAP: Duration = Duration::from_micros(1);
#[cfg(not(loom))]
const _: () = assert!(NAP.as_nanos() > 0, "a zero sleep does not leave the core");
/// Later rounds sleep this long.
#[cfg(not(loom))]
const LONG_SLEEP: Duration = Duration::from_millis(1);
/// Attempts after each back-off round.
#[cfg(not(loom))]
const ATTEMPTS_PER_ROUND: u32 = 8;
/// A contended thread polls this many times (with 1, 2, 4 ... up to 64 pauses between
/// polls), then yields this many times, then naps until the lock is free.
#[cfg(not(loom))]
const THREAD_SPINS: u32 = 16;
#[cfg(not(loom))]
const THREAD_YIELDS: u32 = 4;
/// The longest pause between two polls of a contended thread: `1 << MAX_PAUSE_SHIFT` pauses.
#[cfg(not(loom))]
const MAX_PAUSE_SHIFT: u32 = 6;

/// How a contended acquisition waits: the caller says what it is. Public only as an
/// opaque type in the hidden select-macro API.
#[doc(hidden)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Contention {
    /// An async task (a `send()`/`recv()` or select future): back off by sleeping, so that
    /// the executor can move this worker's other tasks to a core that runs uncontended.
    Task,
    /// A plain thread, and every call that promises not to wait (`try_send`, `len`, ...):
    /// spin, then yield, and only then naps of about 50 µs (never the task path's 1 ms sleeps).
    /// A thread's work cannot move elsewhere, so a long sleep only idles it, and a
    /// non-waiting call must not wait long.
    Thread,
}

#[cfg(not(loom))]
std::thread_local! {
    /// The lock this thread keeps across a wake (see "Waking under the lock"), or null.
    static KEPT: std::cell::Cell<*const RawLock> = const { std::cell::Cell::new(std::ptr::null()) };
}

#[cfg(loom)]
loom::thread_local! {
    static KEPT: std::cell::Cell<*const RawLock> = std::cell::Cell::new(std::ptr::null());
}

/// Releases the lock this thread keeps across a wake, if any. Every wait in this crate
/// (parking for a counterpart, backing off) calls it first, so that a waker that blocks on
/// a channel operation does not keep the lock of the channel it was woken from.
#[inline]
pub(crate) fn release_kept_lock() {
    let kept = KEPT.with(|k| {
        let kept = k.get();
        if !kept.is_null() {
            k.set(std::ptr::null());
        }
        kept
    });
    if !kept.is_null() {
        // SAFETY: `kept` was recorded by `wake_then_unlock` on this thread, whose frame
        // (further down this thread's stack) holds that lock with its critical section
        // finished; clearing the record moved the release to us.
        unsafe { (*kept).unlock() };
    }
}

/// A lock with no data and no guard; callers pair `lock` and `unlock` themselves.
pub(crate) struct RawLock {
    #[cfg(not(loom))]
    locked: std::sync::atomic::AtomicBool,
    #[cfg(loom)]
    locked: loom::sync::Mutex<bool>,
    #[cfg(loom)]
    unlocked: loom::sync::Condvar,
}

impl RawLock {
    #[inline]
    pub(crate) fn new() -> Self {
        RawLock {
            #[cfg(not(loom))]
            locked: std::sync::atomic::AtomicBool::new(false),
            #[cfg(loom)]
            locked: loom::sync::Mutex::new(false),
            #[cfg(loom)]
            unlocked: loom::sync::Condvar::new(),
        }
    }

    /// Takes the lock; if it is contended, waits the way `how` says.
    #[inline]
    pub(crate) fn lock(&self, how: Contention) {
        #[cfg(loom)]
        let _ = how;
        #[cfg(test)]
        LOCKS_TAKEN.with(|n| n.set(n.get() + 1));
        #[cfg(not(loom))]
        if self
            .locked
            // Acquire: pairs with the Release store in `unlock`, so the critical section
            // sees everything the previous holder wrote.
            .compare_exchange_weak(false, true, Ordering::Acquire, Ordering::Relaxed)
            .is_err()
        {
            match how {
                Contention::Task => self.lock_contended(),
                Contention::Thread => self.lock_contended_thread(),
            }
        }
        #[cfg(loom)]
        {
            let mut locked = self.locked.lock().unwrap();
            if *locked {
                drop(locked);
                if self.release_kept() {
                    return;
                }
                locked = self.locked.lock().unwrap();
            }
            while *locked {
                locked = self.unlocked.wait(locked).unwrap();
            }
            *locked = true;
        }
    }

    /// The contended path of a thread: test-and-test-and-set, polling with growing pauses,
    /// then yielding, and, if the lock stays contended that long, naps.
    #[cfg(not(loom))]
    #[cold]
    fn lock_contended_thread(&self) {
        if self.release_kept() {
            return;
        }
        let mut waits = 0u32;
        loop {
            // Relaxed: only a hint; the CAS below does the acquiring.
            while self.locked.load(Ordering::Relaxed) {
                waits = waits.saturating_add(1);
                if waits < THREAD_SPINS {
                    for _ in 0..(1u32 << waits.min(MAX_PAUSE_SHIFT)) {
                        std::hint::spin_loop();
                    }
                } else if waits < THREAD_SPINS + THREAD_YIELDS {
                    std::thread::yield_now();
                } else {
                    // This long, the holder is most likely not running (preempted, with
                    // more threads than cores): polling on would keep a core from it.
                    std::thread::sleep(NAP);
                }
            }
            if self
                .locked
                // Acquire: as in `lock`.
                .compare_exchange_weak(false, true, Ordering::Acquire, Ordering::Relaxed)
                .is_ok()
            {
                return;
            }
        }
    }

    /// The contended path of an async task: a few quick attempts, then back off, first by
    /// spinning and then by giving the core away (see the module note for why sleeping
    /// beats spinning on a channel that every core hammers).
    #[cfg(not(loom))]
    #[cold]
    fn lock_contended(&self) {
        if self.release_kept() {
            return;
        }
        // Test before test-and-set: look at a shared (read-only) copy of the line and CAS
        // only when it says free. Relaxed: only a hint; the CAS does the acquiring.
        let attempt = || {
            !self.locked.load(Ordering::Relaxed)
                && self
                    .locked
                    // Acquire: as in `lock`.
                    .compare_exchange(false, true, Ordering::Acquire, Ordering::Relaxed)
                    .is_ok()
        };
        for i in 0..QUICK_ATTEMPTS {
            for _ in 0..(1u32 << i) {
                std::hint::spin_loop();
            }
            if attempt() {
                return;
            }
        }
        let mut round = 0u32;
        loop {
            match round {
                // Spin with jitter, so that contending cores fall out of step.
                0..SPIN_ROUNDS => {
                    for _ in 0..(SPIN_PAUSES + fastrand::u32(..SPIN_PAUSES * 2)) {
                        std::hint::spin_loop();
                    }
                }
                // Give the core away for a moment (unlike `yield_now`, which returns at
                // once when no other thread waits for this core).
                SPIN_ROUNDS..SLEEP_ROUNDS => std::thread::sleep(NAP),
                // Still contended: step out long enough for the executor to move this
                // core's other tasks elsewhere.
                _ => std::thread::sleep(LONG_SLEEP),
            }
            round = round.saturating_add(1);
            for _ in 0..ATTEMPTS_PER_ROUND {
                if attempt() {
                    return;
                }
                std::hint::spin_loop();
            }
        }
    }

    /// Called before this thread waits for `self`: if this thread keeps a lock across a
    /// wake, either that lock is `self` (taken over: returns `true`, the caller now holds
    /// it) or it is released, so that no thread waits while it keeps a lock.
    #[cold]
    fn release_kept(&self) -> bool {
        if self.unkeep() {
            return true;
        }
        release_kept_lock();
        false
    }

    /// If this thread keeps `self` across a wake, clears that record (the caller now owns
    /// the release) and returns `true`.
    fn unkeep(&self) -> bool {
        KEPT.with(|k| {
            let kept = std::ptr::eq(k.get(), self);
            if kept {
                k.set(std::ptr::null());
            }
            kept
        })
    }

    /// Runs `wake`, then releases the lock, which the caller holds with its critical
    /// section finished (nothing is read or written under it any more). The lock is kept
    /// during `wake` as "Waking under the lock" says: taken over if `wake` locks it again
    /// on this thread, released early if `wake` waits for another lock, released here
    /// otherwise (also if `wake` panics).
    ///
    /// # Safety
    /// The caller holds the lock and holds no reference into the data it protects.
    #[inline]
    pub(crate) unsafe fn wake_then_unlock(&self, wake: impl FnOnce()) {
        struct Release<'a>(&'a RawLock);
        impl Drop for Release<'_> {
            fn drop(&mut self) {
                // Still recorded as kept: nobody took it over or released it.
                if self.0.unkeep() {
                    // SAFETY: we held the lock and nobody took the release from us.
                    unsafe { self.0.unlock() };
                }
            }
        }
        // A wake under another lock still running on this thread (it completed an
        // operation on a second channel) releases that lock first: one kept lock at most.
        release_kept_lock();
        KEPT.with(|k| k.set(self));
        let release = Release(self);
        wake();
        drop(release);
    }

    /// Releases the lock.
    ///
    /// # Safety
    /// The caller holds the lock (a `lock` call not yet paired with an `unlock`).
    #[inline]
    pub(crate) unsafe fn unlock(&self) {
        #[cfg(not(loom))]
        // Release: publishes the critical section to the next `lock` (Acquire).
        self.locked.store(false, Ordering::Release);
        #[cfg(loom)]
        {
            *self.locked.lock().unwrap() = false;
            self.unlocked.notify_one();
        }
    }
}

#[cfg(test)]
thread_local! {
    /// Locks taken by this thread (unit tests check what an operation costs).
    pub(crate) static LOCKS_TAKEN: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}
