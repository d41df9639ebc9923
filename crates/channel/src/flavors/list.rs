//! The unbounded flavor: a queue of blocks, whose senders do not take the channel lock.
//!
//! A send on an unbounded channel never waits, so it does not need what the channel lock
//! protects (the waiter queues) unless a receiver is waiting. The queue is therefore split
//! in two ends, as in Michael and Scott's two-lock queue:
//!
//! * the **tail** ([`Shared`], on the heap): senders append under a lock of their own, the
//!   tail lock, and publish each value by adding to `state`, the count of values ever
//!   pushed; a sender and a receiver working at the same time touch different locks;
//! * the **head** ([`Head`], in the channel's locked state): receivers take values under the
//!   channel lock, as from any other flavor, up to the count they read from `state`.
//!
//! Values are appended to the last block and taken from the first; a full last block gets a
//! fresh block behind it (linked before the value that needs it is published), twice its
//! size up to a bound, and the receiving end frees a block once it has moved past it (one
//! spare is kept for the senders to reuse, so a steady stream that crosses block boundaries
//! does not allocate).
//! crossbeam's `list` flavor has the same shape, with a lock-free tail.
//!
//! # Waking a waiting receiver
//!
//! `state` is `pushed << 1 | WAITING`, where `WAITING` says that receivers are queued on the
//! channel (it mirrors the channel's `RECVQ` flag, set and cleared under the channel lock).
//! A sender adds to `state` with one read-modify-write, which returns the bit; a receiver
//! that registers sets the bit with one read-modify-write, and before the channel lock is
//! released the channel checks for values it has not seen ([`Inner::deliver_queued`]).
//! Both are read-modify-writes of one atomic, so they are totally ordered: either the
//! sender's add comes first, and the registering receiver's check sees the value, or the
//! receiver's bit comes first, and the sender sees it and takes the channel lock, whose
//! release hands the value to the receiver. No wake-up is lost, and no ordering stronger
//! than Acquire/Release is needed.
//!
//! # Closing
//!
//! The tail has its own `closed` flag, set under the tail lock by the channel's close (which
//! holds the channel lock). A send that got the tail lock first is published before the
//! close, so the receivers see it before they see "closed"; a send that got it after fails.
//!
//! [`Inner::deliver_queued`]: crate::chan::Inner

use crate::lock::{Contention, RawLock};
use crate::loom::{AtomicPtr, AtomicUsize, Ordering, UnsafeCell};
use std::mem::MaybeUninit;
use std::ptr::{self, NonNull};

/// Bytes of the first block, and the most a block grows to: blocks double from the first
/// size up to the largest as the queue grows, so a queue that fills up allocates rarely (a
/// few dozen blocks for 200,000 `usize`s), while an idle channel of large values holds
/// little memory. The largest stays below glibc's default mmap threshold (128 KiB): a
/// block that size would be mapped and unmapped at each allocation and release.
const FIRST_BLOCK_BYTES: usize = 512;
const MAX_BLOCK_BYTES: usize = 32 * 1024;

/// The `WAITING` bit of `state`; the count of pushed values sits above it.
const WAITING: usize = 1;
/// One pushed value, in `state`.
const ONE: usize = 2;

type Slot<T> = UnsafeCell<MaybeUninit<T>>;

struct Block<T> {
    next: AtomicPtr<Block<T>>,
    slots: Box<[Slot<T>]>,
}

impl<T> Block<T> {
    /// The first slot (the boxed slice's address is stable for the block's life).
    ///
    /// # Safety
    /// `b` is a live block.
    unsafe fn slots(b: *mut Block<T>) -> NonNull<Slot<T>> {
        // SAFETY: the caller's obligation.
        NonNull::from(unsafe { &(*b).slots[0] })
    }

    fn alloc(n: usize) -> *mut Block<T> {
        Box::into_raw(Box::new(Block {
            next: AtomicPtr::new(ptr::null_mut()),
            slots: (0..n)
                .map(|_| UnsafeCell::new(MaybeUninit::uninit()))
                .collect(),
        }))
    }

    /// # Safety
    /// `b` came from [`alloc`](Self::alloc), holds no value that still needs dropping, and
    /// nobody uses it any more.
    unsafe fn free(b: *mut Block<T>) {
        // SAFETY: the caller's obligation; the slots are `MaybeUninit`, so nothing is dropped
        // twice.
        drop(unsafe { Box::from_raw(b) });
    }
}

/// Keeps a field in a cache line (pair) of its own.
#[repr(align(128))]
struct Padded<T>(T);

/// The senders' end, under the tail lock.
struct Cursor<T> {
    /// The last block (null until the first push), its slots and their number.
    last: *mut Block<T>,
    slots: NonNull<Slot<T>>,
    len: usize,
    /// The next free slot of `last` (`len`, 0, while there is no block, so the first push
    /// allocates one).
    tail: usize,
    closed: bool,
}

/// The part of an unbounded queue that senders use without the channel lock.
pub(crate) struct Shared<T> {
    /// Senders only: the tail lock and what it protects, in a line no receiver touches.
    tail: Padded<(RawLock, UnsafeCell<Cursor<T>>)>,
    /// `pushed << 1 | WAITING`: written by every push, read by the receiving end.
    state: Padded<AtomicUsize>,
    /// How many values the receiving end has taken (written under the channel lock, read
    /// without it for the readiness hint).
    popped: AtomicUsize,
    /// The link to the first block ever allocated (the receiving end starts before it).
    genesis: AtomicPtr<Block<T>>,
    /// A used-up block the receiving end gave back, for the next growth.
    spare: AtomicPtr<Block<T>>,
}

// SAFETY: the cursor is only accessed under the tail lock, the slots are handed from one end
// to the other through `state` (Release/Acquire), and the values are `T: Send`.
unsafe impl<T: Send> Send for Shared<T> {}
// SAFETY: as above.
unsafe impl<T: Send> Sync for Shared<T> {}

/// Slots in a block of `bytes` bytes of `T`, at least 4 and at most 4,096 (under loom, 1
/// for the first block and 2 for the largest, so that models cross block boundaries and
/// see a block grow).
const fn block_len<T>(bytes: usize) -> usize {
    if cfg!(loom) {
        return if bytes == FIRST_BLOCK_BYTES { 1 } else { 2 };
    }
    let size = if std::mem::size_of::<T>() == 0 {
        1
    } else {
        std::mem::size_of::<T>()
    };
    let n = bytes / size;
    if n < 4 {
        4
    } else if n > 4096 {
        4096
    } else {
        n
    }
}

impl<T> Shared<T> {
    const FIRST: usize = block_len::<T>(FIRST_BLOCK_BYTES);
    const MAX: usize = block_len::<T>(MAX_BLOCK_BYTES);

    /// Appends `value` unless the queue was closed. `Ok(true)` if receivers were waiting:
    /// the caller must then take and release the channel lock, which hands them the value.
    #[inline]
    pub(crate) fn push(&self, value: T, how: Contention) -> Result<bool, T> {
        let (lock, cursor) = &self.tail.0;
        lock.lock(how);
        // SAFETY: the tail lock is held.
        let r = cursor.with_mut(|c| unsafe { self.push_locked(&mut *c, value) });
        // SAFETY: taken above.
        unsafe { lock.unlock() };
        r
    }

    /// # Safety
    /// The tail lock is held, `c` is its cursor.
    #[inline]
    unsafe fn push_locked(&self, c: &mut Cursor<T>, value: T) -> Result<bool, T> {
        if c.closed {
            return Err(value);
        }
        if c.tail == c.len {
            self.grow(c);
        }
        // SAFETY: `slots` are the `len` slots of `last` (there is one after `grow`), which
        // only the tail lock's holder writes; slot `tail < len` is free: the receiving end
        // reads only slots published through `state`, and `tail` has not been yet.
        unsafe {
            (*c.slots.as_ptr().add(c.tail)).with_mut(|s| s.write(MaybeUninit::new(value)));
        }
        c.tail += 1;
        // Release: publishes the slot (and a new block's link) to the receiving end, which
        // reads `state` with Acquire. The WAITING bit this returns is decided by the total
        // order of read-modify-writes on `state` (see the module note), so no Acquire is
        // needed to read it: a sender that sees it takes the channel lock, which orders the
        // rest.
        let old = self.state.0.fetch_add(ONE, Ordering::Release);
        Ok(old & WAITING != 0)
    }

    #[cold]
    fn grow(&self, c: &mut Cursor<T>) {
        // Acquire: the receiving end's reads of a spare block's slots happen before this
        // end writes them again (pairs with the AcqRel swap in `Head::advance`).
        let b = self.spare.swap(ptr::null_mut(), Ordering::Acquire);
        let b = if b.is_null() {
            // Double the last block, from the first size up to the largest.
            let n = if c.last.is_null() {
                Self::FIRST
            } else {
                (c.len * 2).min(Self::MAX)
            };
            Block::alloc(n)
        } else {
            // SAFETY: a spare block is owned by whoever takes it out of `spare`.
            // Relaxed: published with the block by the Release below.
            unsafe { (*b).next.store(ptr::null_mut(), Ordering::Relaxed) };
            b
        };
        let link = if c.last.is_null() {
            &self.genesis
        } else {
            // SAFETY: `last` is alive: the receiving end frees a block only after moving
            // past it, which needs this link.
            unsafe { &(*c.last).next }
        };
        // Release: the receiving end follows the link after it read (Acquire) a `state`
        // published after this store; Release here keeps the link valid on its own too.
        link.store(b, Ordering::Release);
        c.last = b;
        // SAFETY: `b` is live.
        c.slots = unsafe { Block::slots(b) };
        // SAFETY: as above.
        c.len = unsafe { &*b }.slots.len();
        c.tail = 0;
    }

    /// Closes the tail: every later push fails. Called with the channel lock held.
    pub(crate) fn close(&self) {
        let (lock, cursor) = &self.tail.0;
        lock.lock(Contention::Thread);
        // SAFETY: the tail lock is held.
        cursor.with_mut(|c| unsafe { (*c).closed = true });
        // SAFETY: taken above.
        unsafe { lock.unlock() };
    }

    /// Sets or clears `WAITING` (under the channel lock, as its `RECVQ` flag changes).
    #[inline]
    pub(crate) fn set_waiting(&self, on: bool) {
        if on {
            // AcqRel: the read-modify-write that orders this registration against the pushes
            // (see the module note); the check that follows reads `state` again.
            self.state.0.fetch_or(WAITING, Ordering::AcqRel);
        } else {
            // Relaxed: with no receiver queued, a sender that still sees the bit only takes
            // the channel lock for nothing.
            self.state.0.fetch_and(!WAITING, Ordering::Relaxed);
        }
    }

    /// Whether values are queued that the receiving end has not taken (a hint: read without
    /// the channel lock).
    #[inline]
    pub(crate) fn has_values(&self) -> bool {
        // Relaxed: a hint; the receive that follows decides under the channel lock.
        self.state.0.load(Ordering::Relaxed) / ONE != self.popped.load(Ordering::Relaxed)
    }
}

/// The receiving end of an unbounded queue, in the channel's locked state (`repr(C)`, the
/// fields every pop uses first, 24 bytes: see the layout note in [`flavors`](super)).
#[repr(C)]
pub(crate) struct Head<T> {
    /// The next slot to read in `first` (dangling before the first block).
    next: NonNull<Slot<T>>,
    /// Slots of `first` not read yet, from `next` on (0 before the first block).
    left: u32,
    /// Values published and not yet taken, as of the last read of `state` (at most
    /// `u32::MAX`: a later read finds the rest).
    avail: u32,
    /// How many values this end has taken (`Shared::popped` is set to it at each read of
    /// `state`).
    popped: usize,
    /// The first block (null before the first block is reached).
    first: *mut Block<T>,
    shared: NonNull<Shared<T>>,
}

// SAFETY: `Head` owns the blocks behind `first` and shares `Shared` with the senders, who
// only use it through its locks and atomics; it is as `Send`/`Sync` as the values.
unsafe impl<T: Send> Send for Head<T> {}
// SAFETY: as above.
unsafe impl<T: Send> Sync for Head<T> {}

impl<T> Head<T> {
    pub(crate) fn new() -> Self {
        let shared = Box::new(Shared {
            tail: Padded((
                RawLock::new(),
                UnsafeCell::new(Cursor {
                    last: ptr::null_mut(),
                    slots: NonNull::dangling(),
                    len: 0,
                    tail: 0,
                    closed: false,
                }),
            )),
            state: Padded(AtomicUsize::new(0)),
            popped: AtomicUsize::new(0),
            genesis: AtomicPtr::new(ptr::null_mut()),
            spare: AtomicPtr::new(ptr::null_mut()),
        });
        Head {
            next: NonNull::dangling(),
            left: 0,
            avail: 0,
            popped: 0,
            first: ptr::null_mut(),
            shared: NonNull::from(Box::leak(shared)),
        }
    }

    /// The senders' part, which lives as long as this end (for the channel's fast path).
    pub(crate) fn shared(&self) -> NonNull<Shared<T>> {
        self.shared
    }

    fn sh(&self) -> &Shared<T> {
        // SAFETY: `shared` is freed only by this end's drop.
        unsafe { self.shared.as_ref() }
    }

    /// Whether a value is there to take (reads `state` when the last reading is used up).
    #[inline]
    pub(crate) fn has_value(&mut self) -> bool {
        self.avail > 0 || self.refresh()
    }

    #[inline(never)]
    fn refresh(&mut self) -> bool {
        // Acquire: pairs with the push's Release, so the published slots (and block links)
        // are visible.
        let sh = self.sh();
        // Relaxed: read only as a hint (`Shared::has_values`), which may run behind: it
        // then says "values" for values already taken, never the other way round.
        sh.popped.store(self.popped, Ordering::Relaxed);
        let pushed = sh.state.0.load(Ordering::Acquire) / ONE;
        let n = pushed.wrapping_sub(self.popped);
        self.avail = n.min(u32::MAX as usize) as u32;
        self.avail > 0
    }

    /// Removes the oldest value, if one is published.
    #[inline]
    pub(crate) fn pop(&mut self) -> Option<T> {
        if !self.has_value() {
            return None;
        }
        if self.left == 0 {
            self.advance();
        }
        // SAFETY: `next` is a slot of the live block `first` (after `advance`, `left > 0`
        // slots remain from it), and it holds a value published through `state` (counted
        // in `avail`) and not yet taken.
        let v = unsafe { (*self.next.as_ptr()).with(|s| s.read().assume_init()) };
        // SAFETY: at most one past the block's last slot, never read before `advance`.
        self.next = unsafe { self.next.add(1) };
        self.left -= 1;
        self.avail -= 1;
        self.popped = self.popped.wrapping_add(1);
        Some(v)
    }

    /// Moves on to the next block (which exists: a value published beyond the current one
    /// was pushed after its block was linked), releasing the used-up one.
    #[cold]
    fn advance(&mut self) {
        let shared = self.shared;
        // SAFETY: `shared` is freed only by this end's drop.
        let sh = unsafe { shared.as_ref() };
        let link = if self.first.is_null() {
            &sh.genesis
        } else {
            // SAFETY: `first` is alive until it is released below.
            unsafe { &(*self.first).next }
        };
        // Acquire: pairs with the Release store in `grow`.
        let block = link.load(Ordering::Acquire);
        debug_assert!(!block.is_null(), "a published value's block is linked");
        let old = std::mem::replace(&mut self.first, block);
        // SAFETY: `block` is live (linked, not yet released).
        self.next = unsafe { Block::slots(block) };
        // SAFETY: as above; a block has at most 4,096 slots.
        self.left = unsafe { &*block }.slots.len() as u32;
        if !old.is_null() {
            // AcqRel: Release so that the reads of its slots happen before a sender reuses
            // it (pairs with the Acquire swap in `grow`); Acquire for the block taken back.
            let prev = sh.spare.swap(old, Ordering::AcqRel);
            if !prev.is_null() {
                // SAFETY: a block in `spare` is empty and owned by whoever takes it out.
                unsafe { Block::free(prev) };
            }
        }
    }

    /// Appends a value with the channel lock held (select's send cases, and a send that
    /// found only withdrawn receivers queued): through the tail lock like any send. The
    /// channel's `CLOSED` flag was checked under the channel lock, which the close also
    /// holds, so this cannot fail.
    pub(crate) fn push_locked(&mut self, value: T) {
        let r = self.sh().push(value, Contention::Thread);
        debug_assert!(
            r.is_ok(),
            "a push under the channel lock found the tail closed"
        );
        // A receiver queued meanwhile is served when the channel lock is released.
        drop(r);
    }

    /// Number of values queued (exact: read under the channel lock).
    pub(crate) fn len(&self) -> usize {
        // Acquire: as in `refresh`.
        (self.sh().state.0.load(Ordering::Acquire) / ONE).wrapping_sub(self.popped)
    }

    /// Sets or clears the senders' `WAITING` bit (see [`Shared::set_waiting`]).
    #[inline]
    pub(crate) fn set_waiting(&self, on: bool) {
        self.sh().set_waiting(on);
    }

    /// Closes the sending end (see [`Shared::close`]).
    pub(crate) fn close_tail(&self) {
        self.sh().close();
    }

    /// The readiness hint's part: whether a value was published as of the last reading.
    #[inline]
    pub(crate) fn maybe_ready(&self) -> bool {
        self.avail > 0
    }

    /// Where the fields every pop reads start, and how many bytes they take (a layout test
    /// checks they share the lock's cache line).
    #[cfg(test)]
    pub(crate) fn hot_start(&self) -> usize {
        &self.next as *const _ as usize
    }

    #[cfg(test)]
    pub(crate) fn hot_len(&self) -> usize {
        (&self.popped as *const usize as usize) + std::mem::size_of::<usize>() - self.hot_start()
    }
}

impl<T> Drop for Head<T> {
    fn drop(&mut self) {
        // Every value still queued is dropped once (no sender is left: the channel is being
        // freed).
        while let Some(v) = self.pop() {
            drop(v);
        }
        let sh = self.sh();
        let mut b = if self.first.is_null() {
            sh.genesis.load(Ordering::Acquire)
        } else {
            self.first
        };
        while !b.is_null() {
            // SAFETY: the blocks from `first` on are owned by the queue and hold no value any
            // more; nobody else uses them.
            let next = unsafe { (*b).next.load(Ordering::Acquire) };
            // SAFETY: as above.
            unsafe { Block::free(b) };
            b = next;
        }
        let spare = sh.spare.swap(ptr::null_mut(), Ordering::Acquire);
        if !spare.is_null() {
            // SAFETY: the spare block is empty and unused.
            unsafe { Block::free(spare) };
        }
        // SAFETY: allocated in `new` by `Box`; the channel that shared it is being freed.
        drop(unsafe { Box::from_raw(self.shared.as_ptr()) });
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    fn push(h: &Head<usize>, v: usize) {
        // SAFETY: `shared` lives as long as `h`.
        let sh = unsafe { h.shared().as_ref() };
        assert_eq!(sh.push(v, Contention::Thread), Ok(false));
    }

    #[test]
    fn keeps_fifo_across_block_boundaries() {
        const B: usize = block_len::<usize>(MAX_BLOCK_BYTES);
        let mut h = Head::new();
        assert_eq!(h.pop(), None);
        for i in 0..(B * 3 + 5) {
            push(&h, i);
        }
        assert_eq!(h.len(), B * 3 + 5);
        for i in 0..(B * 2) {
            assert_eq!(h.pop(), Some(i));
        }
        for i in 0..B {
            push(&h, 10_000 + i);
        }
        for i in (B * 2)..(B * 3 + 5) {
            assert_eq!(h.pop(), Some(i));
        }
        for i in 0..B {
            assert_eq!(h.pop(), Some(10_000 + i));
        }
        assert_eq!(h.pop(), None);
        assert_eq!(h.len(), 0);
    }

    #[test]
    fn block_size_follows_the_value_size() {
        assert_eq!(block_len::<u64>(FIRST_BLOCK_BYTES), 64);
        assert_eq!(block_len::<u64>(MAX_BLOCK_BYTES), 4096);
        assert_eq!(block_len::<[u8; 64]>(MAX_BLOCK_BYTES), 512);
        assert_eq!(block_len::<[u8; 4096]>(FIRST_BLOCK_BYTES), 4);
        assert_eq!(block_len::<[u8; 4096]>(MAX_BLOCK_BYTES), 8);
        assert_eq!(block_len::<()>(MAX_BLOCK_BYTES), 4096);
    }

    #[test]
    fn blocks_double_up_to_the_largest() {
        let h = Head::<usize>::new();
        for i in 0..100_000 {
            push(&h, i);
        }
        // SAFETY: `shared` lives as long as `h`.
        let sh = unsafe { h.shared().as_ref() };
        let mut sizes = Vec::new();
        let mut b = sh.genesis.load(Ordering::Relaxed);
        while !b.is_null() {
            // SAFETY: the blocks are alive while `h` is.
            let block = unsafe { &*b };
            sizes.push(block.slots.len());
            b = block.next.load(Ordering::Relaxed);
        }
        assert_eq!(&sizes[..7], [64, 128, 256, 512, 1024, 2048, 4096]);
        assert!(sizes[7..].iter().all(|n| *n == 4096));
        let total: usize = sizes.iter().sum();
        assert!(
            (100_000..100_000 + 4096).contains(&total),
            "{total} slots for 100,000 values"
        );
    }

    #[test]
    fn leftovers_are_dropped_once_and_a_closed_tail_refuses() {
        use std::sync::Arc;
        const B: usize = block_len::<Arc<()>>(MAX_BLOCK_BYTES);
        let token = Arc::new(());
        let mut h = Head::new();
        // SAFETY: `shared` lives as long as `h`.
        let sh = unsafe { h.shared().as_ref() };
        for round in 0..3 {
            for _ in 0..(B + round) {
                assert!(sh.push(token.clone(), Contention::Thread).is_ok());
            }
            while let Some(v) = h.pop() {
                drop(v);
            }
            assert_eq!(Arc::strong_count(&token), 1);
        }
        for _ in 0..(2 * B + 3) {
            assert!(sh.push(token.clone(), Contention::Thread).is_ok());
        }
        sh.close();
        assert!(sh.push(token.clone(), Contention::Thread).is_err());
        drop(h.pop());
        drop(h);
        assert_eq!(
            Arc::strong_count(&token),
            1,
            "dropping the queue drops each value once"
        );
    }

    #[test]
    fn waiting_bit_is_reported_to_the_next_push() {
        let h = Head::<usize>::new();
        // SAFETY: `shared` lives as long as `h`.
        let sh = unsafe { h.shared().as_ref() };
        sh.set_waiting(true);
        assert_eq!(sh.push(1, Contention::Thread), Ok(true));
        assert!(sh.has_values());
        sh.set_waiting(false);
        assert_eq!(sh.push(2, Contention::Thread), Ok(false));
    }

    #[test]
    fn concurrent_senders_keep_their_own_order() {
        const PER: usize = 20_000;
        let mut h = Head::<usize>::new();
        let sh = h.shared();
        struct P<T>(NonNull<Shared<T>>);
        // SAFETY: `Shared` is `Sync`; the pointer outlives the threads (joined below).
        unsafe impl<T: Send> Send for P<T> {}
        let threads: Vec<_> = (0..3)
            .map(|t| {
                let p = P(sh);
                std::thread::spawn(move || {
                    let p = p;
                    for i in 0..PER {
                        // SAFETY: as above.
                        let _ = unsafe { p.0.as_ref() }.push(t * PER + i, Contention::Thread);
                    }
                })
            })
            .collect();
        let mut next = [0, PER, 2 * PER];
        let mut got = 0;
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        while got < 3 * PER {
            assert!(std::time::Instant::now() < deadline, "values went missing");
            if let Some(v) = h.pop() {
                let t = v / PER;
                assert_eq!(v, next[t], "sender {t}'s values out of order");
                next[t] += 1;
                got += 1;
            }
        }
        for t in threads {
            t.join().unwrap();
        }
        assert_eq!(h.pop(), None);
    }
}
