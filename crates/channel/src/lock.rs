//! The channel lock.
//!
//! Every channel is protected by one small lock, as in Go's runtime (`hchan.lock`). A select
//! that has to wait locks all of its channels at once, in address order, so it needs a lock
//! it can take and release without a guard tied to one channel type: [`RawLock`].
//!
//! Outside loom this is `parking_lot`'s raw mutex (one CAS to lock and unlock when
//! uncontended, adaptive spinning, then parking). Under loom it is a flag under a loom
//! `Mutex` with a `Condvar` (a lock that blocks instead of spinning, which loom can explore
//! exhaustively).

#[cfg(not(loom))]
use parking_lot::lock_api::RawMutex as _;

/// A lock with no data and no guard; callers pair `lock` and `unlock` themselves.
pub(crate) struct RawLock {
    #[cfg(not(loom))]
    raw: parking_lot::RawMutex,
    #[cfg(loom)]
    locked: loom::sync::Mutex<bool>,
    #[cfg(loom)]
    unlocked: loom::sync::Condvar,
}

impl RawLock {
    pub(crate) fn new() -> Self {
        RawLock {
            #[cfg(not(loom))]
            raw: parking_lot::RawMutex::INIT,
            #[cfg(loom)]
            locked: loom::sync::Mutex::new(false),
            #[cfg(loom)]
            unlocked: loom::sync::Condvar::new(),
        }
    }

    pub(crate) fn lock(&self) {
        #[cfg(test)]
        LOCKS_TAKEN.with(|n| n.set(n.get() + 1));
        #[cfg(not(loom))]
        self.raw.lock();
        #[cfg(loom)]
        {
            let mut locked = self.locked.lock().unwrap();
            while *locked {
                locked = self.unlocked.wait(locked).unwrap();
            }
            *locked = true;
        }
    }

    /// Releases the lock.
    ///
    /// # Safety
    /// The caller holds the lock (a `lock` call not yet paired with an `unlock`).
    pub(crate) unsafe fn unlock(&self) {
        #[cfg(not(loom))]
        // SAFETY: the caller holds the lock, which is what `RawMutex::unlock` requires.
        unsafe {
            self.raw.unlock()
        };
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
