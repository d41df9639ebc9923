//! The per-worker run queue: a bounded single-producer ring buffer that other workers steal
//! half of at a time.
//!
//! # Algorithm
//!
//! The design is the one Go's scheduler (`runqput`/`runqsteal` in `proc.go`) and tokio's
//! `multi_thread/queue.rs` use: a fixed ring of `CAP` slots, a `tail` index written only by the
//! owning worker, and a `head` word packing two 32-bit indices, `(steal, real)`:
//!
//! * `real` is the index of the next task to hand out (by the owner's `pop` or a stealer);
//! * `steal` is equal to `real` when no steal is in progress; while a stealer copies tasks out,
//!   `steal` stays at the first slot it claimed, so the owner does not overwrite slots that are
//!   still being read.
//!
//! Indices grow without bound (wrapping `u32` arithmetic) and are masked into the ring.
//!
//! # Protocols
//!
//! Owner `push_back(task)`:
//! 1. load `head` (Acquire: pairs with the Release of a stealer's final CAS, so its reads of
//!    the slots are finished before we overwrite them);
//! 2. if `tail - steal < CAP` write the slot at `tail`, then store `tail + 1` (Release: the
//!    slot's contents are visible to whoever Acquire-loads that tail);
//! 3. if full and a steal is in progress, give the task to the overflow (the global injector);
//! 4. if full and no steal is in progress, CAS `head` from `(real, real)` to
//!    `(real + CAP/2, real + CAP/2)`, which transfers ownership of half the tasks to this
//!    thread, and move them and the new task to the overflow in one batch. If the CAS fails a
//!    stealer took tasks, so there is room now: retry from 1.
//!
//! Owner `pop()`: CAS `real` one step forward (and `steal` with it when no steal is in
//! progress), then read the slot it passed. Only the owner moves `tail`, so `real == tail`
//! means empty.
//!
//! Stealer `steal_into(dst)`:
//! 1. load `head`; give up if another steal is in progress (`steal != real`);
//! 2. load `tail` (Acquire: pairs with the owner's Release store, so the slots below it are
//!    initialised), take `n = ceil((tail - real) / 2)`;
//! 3. CAS `head` to `(steal, real + n)`: the `n` slots are ours to read, and the owner will
//!    not overwrite them because its capacity test is against `steal`;
//! 4. copy them into the stealer's own queue `dst` (which only the stealer writes);
//! 5. CAS `head` to `(real', real')` to end the steal (AcqRel);
//! 6. publish all but one of the copied tasks with a Release store of `dst.tail`, and run the
//!    remaining one.
//!
//! # Why it is correct
//!
//! Every slot is written only by the owner of its queue, and only when `tail - steal < CAP`,
//! i.e. when no reader (owner pop or stealer) can still be looking at it: a pop reads a slot
//! only after its CAS moved `real` past it, a stealer only between its two CASes, during which
//! `steal` pins the slot. A slot is read exactly once, by the unique thread whose CAS moved
//! `real` past it. The loom model in `tests/loom_queue.rs` checks that no task is lost or
//! duplicated under every interleaving of an owner pushing/popping and two stealers.
#![allow(unreachable_pub)] // `pub` so that the `cfg(loom)` tests can reach it; private otherwise.

use crate::loom::{AtomicU32, AtomicU64, UnsafeCell};
use std::{
    marker::PhantomData,
    mem::MaybeUninit,
    sync::{
        atomic::Ordering::{AcqRel, Acquire, Relaxed, Release},
        Arc,
    },
};

/// Number of slots in a local queue (a power of two). Small under loom to reach the
/// full-queue paths quickly.
pub const CAP: usize = if cfg!(loom) { 4 } else { 256 };
const MASK: usize = CAP - 1;

/// Where the owner sends tasks when its queue is full (the global injector).
pub trait Overflow<T> {
    /// Takes a task that does not fit in the local queue.
    fn push(&self, task: T);
}

struct Inner<T> {
    /// `(steal, real)` packed as `steal << 32 | real`.
    head: AtomicU64,
    /// Written only by the owner.
    tail: AtomicU32,
    buffer: Box<[UnsafeCell<MaybeUninit<T>>]>,
}

// SAFETY: the slots are handed between threads under the protocol in the module note, which
// gives each value a single owner at a time; values move between threads, hence `T: Send`.
unsafe impl<T: Send> Send for Inner<T> {}
// SAFETY: as above; shared access to `Inner` only ever reads a slot that the reader's CAS made
// exclusively its own.
unsafe impl<T: Send> Sync for Inner<T> {}

/// The owner's end of a run queue: push and pop. Not `Sync`, not `Clone`.
pub struct Local<T> {
    inner: Arc<Inner<T>>,
    /// `Local` is used by one thread at a time (it is `Send`, not `Sync`).
    _not_sync: PhantomData<std::cell::Cell<()>>,
}

/// The stealers' end of a run queue.
pub struct Steal<T>(Arc<Inner<T>>);

impl<T> Clone for Steal<T> {
    fn clone(&self) -> Self {
        Steal(self.0.clone())
    }
}

impl<T> std::fmt::Debug for Local<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Local")
            .field("len", &self.inner.len())
            .finish()
    }
}

impl<T> std::fmt::Debug for Steal<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Steal").field("len", &self.0.len()).finish()
    }
}

fn unpack(head: u64) -> (u32, u32) {
    ((head >> 32) as u32, head as u32)
}

fn pack(steal: u32, real: u32) -> u64 {
    ((steal as u64) << 32) | real as u64
}

/// Creates a run queue, returning the owner's and the stealers' ends.
pub fn local<T>() -> (Local<T>, Steal<T>) {
    let buffer = (0..CAP)
        .map(|_| UnsafeCell::new(MaybeUninit::uninit()))
        .collect();
    let inner = Arc::new(Inner {
        head: AtomicU64::new(0),
        tail: AtomicU32::new(0),
        buffer,
    });
    (
        Local {
            inner: inner.clone(),
            _not_sync: PhantomData,
        },
        Steal(inner),
    )
}

impl<T> Inner<T> {
    fn len(&self) -> usize {
        // Acquire on both: a snapshot for heuristics (is there work to steal?); it may be stale
        // by the time it is used, which every caller tolerates.
        let (_, real) = unpack(self.head.load(Acquire));
        let tail = self.tail.load(Acquire);
        tail.wrapping_sub(real) as usize
    }

    /// Reads the value out of slot `pos`.
    ///
    /// # Safety
    /// The caller must own slot `pos` under the module protocol (its CAS moved `real` past it)
    /// and the slot must hold an initialised value that nobody else will read.
    unsafe fn take(&self, pos: u32) -> T {
        self.buffer[pos as usize & MASK]
            // SAFETY: guaranteed by the caller.
            .with(|p| unsafe { p.read().assume_init() })
    }

    /// Writes `value` into slot `pos`.
    ///
    /// # Safety
    /// Only the owner of this queue may write, and only into a slot no reader can access
    /// (`pos - steal < CAP`).
    unsafe fn put(&self, pos: u32, value: T) {
        self.buffer[pos as usize & MASK]
            // SAFETY: guaranteed by the caller.
            .with_mut(|p| unsafe { p.write(MaybeUninit::new(value)) });
    }
}

impl<T> Drop for Inner<T> {
    fn drop(&mut self) {
        // Exclusive access: no steal is in progress, the live values are `real..tail`.
        let (_, real) = unpack(self.head.load(Relaxed)); // Relaxed: `&mut self`, no concurrency.
        let tail = self.tail.load(Relaxed); // Relaxed: as above.
        let mut pos = real;
        while pos != tail {
            // SAFETY: slots in `real..tail` hold values nobody else owns any more.
            drop(unsafe { self.take(pos) });
            pos = pos.wrapping_add(1);
        }
    }
}

impl<T> Local<T> {
    /// Number of queued tasks (a snapshot).
    pub fn len(&self) -> usize {
        self.inner.len()
    }

    /// Whether the queue is empty (a snapshot).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Pushes `task` at the back; when the queue is full, moves half of it and `task` to
    /// `overflow`.
    pub fn push_back(&self, mut task: T, overflow: &impl Overflow<T>) {
        loop {
            // Acquire: pairs with a stealer's Release CAS that ended its steal, so its reads of
            // the slots happen before we overwrite them.
            let head = self.inner.head.load(Acquire);
            let (steal, real) = unpack(head);
            // Relaxed: only this thread writes `tail`.
            let tail = self.inner.tail.load(Relaxed);

            if tail.wrapping_sub(steal) < CAP as u32 {
                // SAFETY: we are the owner, and `tail - steal < CAP` means no reader is at this
                // slot.
                unsafe { self.inner.put(tail, task) };
                // Release: publishes the slot to stealers that Acquire-load `tail`.
                self.inner.tail.store(tail.wrapping_add(1), Release);
                return;
            }
            if steal != real {
                // Full, and a stealer is copying: it is about to make room; don't wait for it.
                overflow.push(task);
                return;
            }
            match self.push_overflow(task, real, overflow) {
                Ok(()) => return,
                Err(t) => task = t,
            }
        }
    }

    /// Moves the older half of a full queue, then `task`, to `overflow`.
    fn push_overflow(&self, task: T, real: u32, overflow: &impl Overflow<T>) -> Result<(), T> {
        let half = (CAP / 2) as u32;
        let prev = pack(real, real);
        let next_real = real.wrapping_add(half);
        let next = pack(next_real, next_real);
        // Relaxed on both sides: the slots we claim were written by this thread, so no
        // acquire is needed to read them; a failure only means a stealer made room.
        if self
            .inner
            .head
            .compare_exchange(prev, next, Relaxed, Relaxed)
            .is_err()
        {
            return Err(task);
        }
        for i in 0..half {
            // SAFETY: our CAS moved `real` past these slots with no steal in progress, so they
            // are ours alone; they are initialised because the queue was full.
            overflow.push(unsafe { self.inner.take(real.wrapping_add(i)) });
        }
        overflow.push(task);
        Ok(())
    }

    /// Pops the task at the front.
    pub fn pop(&self) -> Option<T> {
        // Acquire: see `push_back`.
        let mut head = self.inner.head.load(Acquire);
        let pos = loop {
            let (steal, real) = unpack(head);
            // Relaxed: only this thread writes `tail`.
            let tail = self.inner.tail.load(Relaxed);
            if real == tail {
                return None;
            }
            let next_real = real.wrapping_add(1);
            let next = if steal == real {
                pack(next_real, next_real)
            } else {
                pack(steal, next_real)
            };
            // AcqRel/Acquire: orders with stealers' CASes on `head`; the slot itself was
            // written by this thread.
            match self
                .inner
                .head
                .compare_exchange(head, next, AcqRel, Acquire)
            {
                Ok(_) => break real,
                Err(actual) => head = actual,
            }
        };
        // SAFETY: our CAS moved `real` past `pos`, which is below `tail`, so it is initialised
        // and ours alone.
        Some(unsafe { self.inner.take(pos) })
    }
}

impl<T> Steal<T> {
    /// Number of queued tasks (a snapshot).
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether the queue is empty (a snapshot).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Steals about half of this queue into `dst` (the stealing worker's own queue) and
    /// returns one of the stolen tasks to run right away.
    pub fn steal_into(&self, dst: &Local<T>) -> Option<T> {
        // Relaxed: `dst` is ours, only we write its tail.
        let dst_tail = dst.inner.tail.load(Relaxed);
        // Acquire: see `Local::push_back`.
        let (dst_steal, _) = unpack(dst.inner.head.load(Acquire));
        if dst_tail.wrapping_sub(dst_steal) > (CAP / 2) as u32 {
            // Our own queue is more than half full: run that first.
            return None;
        }
        let n = self.steal_into_inner(dst, dst_tail);
        if n == 0 {
            return None;
        }
        let n = n - 1;
        // SAFETY: `steal_into_inner` wrote `n + 1` values at `dst_tail..`; we have not
        // published them yet, so they are ours.
        let ret = unsafe { dst.inner.take(dst_tail.wrapping_add(n)) };
        if n > 0 {
            // Release: publishes the copied slots.
            dst.inner.tail.store(dst_tail.wrapping_add(n), Release);
        }
        Some(ret)
    }

    fn steal_into_inner(&self, dst: &Local<T>, dst_tail: u32) -> u32 {
        // Acquire: pairs with the AcqRel CASes of the owner and other stealers.
        let mut prev = self.0.head.load(Acquire);
        let (first, n) = loop {
            let (steal, real) = unpack(prev);
            if steal != real {
                return 0; // another worker is stealing from this queue
            }
            // Acquire: pairs with the owner's Release store, so slots below `tail` are written.
            let tail = self.0.tail.load(Acquire);
            let avail = tail.wrapping_sub(real);
            let n = avail - avail / 2;
            if n == 0 || n > (CAP / 2) as u32 {
                // Empty, or `prev` is stale (the CAS below would fail anyway).
                if n == 0 {
                    return 0;
                }
                prev = self.0.head.load(Acquire);
                continue;
            }
            let next = pack(steal, real.wrapping_add(n));
            // AcqRel: Acquire orders our slot reads after the claim; Release is not needed for
            // the claim itself, but keeps the CAS symmetric with the owner's.
            match self.0.head.compare_exchange(prev, next, AcqRel, Acquire) {
                Ok(_) => break (real, n),
                Err(actual) => prev = actual,
            }
        };

        for i in 0..n {
            // SAFETY: our CAS claimed `first..first + n` (below `tail`, so initialised), and
            // `steal` pins them against the owner's writes until we end the steal.
            let task = unsafe { self.0.take(first.wrapping_add(i)) };
            // SAFETY: `dst` is our own queue, and the room check in `steal_into` left at
            // least `CAP / 2 >= n` free slots after `dst_tail`.
            unsafe { dst.inner.put(dst_tail.wrapping_add(i), task) };
        }

        // End the steal: move `steal` up to `real`.
        let mut prev = pack(first, first.wrapping_add(n));
        loop {
            let (_, real) = unpack(prev);
            let next = pack(real, real);
            // AcqRel: Release makes our slot reads happen before the owner's later overwrite
            // (it Acquire-loads `head`).
            match self.0.head.compare_exchange(prev, next, AcqRel, Acquire) {
                Ok(_) => return n,
                Err(actual) => {
                    // Only the owner's pops can have moved `real` meanwhile.
                    debug_assert_eq!(unpack(actual).0, first);
                    prev = actual;
                }
            }
        }
    }
}
