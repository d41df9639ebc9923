//! The channel lock.
//!
//! Every channel is protected by one small lock, as in Go's runtime (`hchan.lock`). A select
//! that has to wait locks all of its channels at once, in address order, so it needs a lock
//! it can take and release without a guard tied to one channel type: [`RawLock`].
//!
//! Outside loom it is a test-and-test-and-set spin lock: one CAS to lock, a plain release
//! store to unlock (a futex-style lock needs a second atomic read-modify-write to unlock,
//! which measured as half the cost of an uncontended send). Critical sections are a few
//! dozen instructions that never block, never run user code and never drop a user value,
//! so waiting for the lock is short: a waiter spins briefly, then yields its time slice so
//! that a preempted holder can finish (flume's and kanal's channel locks work the same
//! way). Long waits, for a value or for room, never happen under this lock: they park in
//! [`waiter`](crate::waiter).
//!
//! Under loom it is a flag under a loom `Mutex` with a `Condvar` (a lock that blocks
//! instead of spinning, which loom can explore exhaustively).

#[cfg(not(loom))]
use std::sync::atomic::Ordering;

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

    #[inline]
    pub(crate) fn lock(&self) {
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
            self.lock_contended();
        }
        #[cfg(loom)]
        {
            let mut locked = self.locked.lock().unwrap();
            while *locked {
                locked = self.unlocked.wait(locked).unwrap();
            }
            *locked = true;
        }
    }

    #[cfg(not(loom))]
    #[cold]
    fn lock_contended(&self) {
        let mut spins = 0u32;
        loop {
            // Test before test-and-set: wait on a shared (read-only) copy of the line.
            // Relaxed: only a hint; the CAS below does the acquiring.
            while self.locked.load(Ordering::Relaxed) {
                if spins < 100 {
                    spins += 1;
                    std::hint::spin_loop();
                } else {
                    std::thread::yield_now();
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
