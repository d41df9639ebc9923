//! The waiter queue: the one place where a task starts and stops waiting.
//!
//! # Design
//!
//! Every primitive in this crate parks its waiters in a [`Queue`]: a FIFO of waiter records
//! kept in a slab (a `Vec` of cache-line-sized slots plus a free list) and threaded into a
//! doubly-linked list by slot index. It always lives under a small lock (`std::sync::Mutex`, a
//! futex on Linux) owned by the primitive, so the queue itself needs no atomics and no
//! `unsafe`:
//!
//! * a waiter *starts waiting* with [`Queue::push_back`], which returns its key (slot index);
//!   the future that waits keeps the key;
//! * whoever grants the waiter what it waits for (permits, a notification) *unlinks* it from the
//!   FIFO order ([`Queue::unlink`] / [`Queue::pop_front`]) and marks the record done, but leaves
//!   the slot in place, so the outcome cannot get lost;
//! * the waiter *stops waiting* with [`Queue::remove`], called exactly once by the future that
//!   owns the key — when it completes, or from its `Drop` when it is cancelled. A record that was
//!   granted something and then dropped hands it on (see `batch.rs` and [`Notify`]);
//! * one exception saves the owner a trip through the lock: the batch semaphore tells the owner
//!   of a key below [`FLAG_SLOTS`] about its grant with a bit in an atomic word and *parks* the
//!   slot ([`Queue::park`]) instead of leaving it to the owner; the owner clears its bit and
//!   forgets its key, and the next holder of the lock frees the slot ([`Queue::reclaim`]).
//!
//! Keys are never reused while their owner holds them (only `remove` and `reclaim` free a slot,
//! and `reclaim` only once the owner has dropped the key), so no generation counter is needed.
//! Compared with tokio's intrusive list this costs a slab slot per waiter instead of pinning,
//! which keeps every future `Unpin` and the module free of `unsafe`; the slab is reused, so a
//! steady state allocates nothing.
//!
//! Diagnostics (Go's deadlock detector, goroutine dumps) will hook `push_back` and the end of a
//! wait — `remove`, or for a flag grant the owner's clearing of its bit (`batch.rs`,
//! `RawSemaphore::clear_granted`): they bracket every wait in the crate.
//!
//! Wakers are never called with the lock held: grants collect them in a [`WakeList`] and wake
//! them after unlocking.
//!
//! [`Notify`] is the simplest client: a list of tasks waiting for a notification (used by
//! `WaitGroup`, `Cond` and `RwMutex`). The batch semaphore in `batch.rs` is the other one, and
//! `Mutex`, `Semaphore`, `OnceCell`, `Once` and `RwMutex`'s writers are built on it.

use crate::loom::{lock, Mutex};
use std::{
    fmt,
    task::{Context, Poll, Waker},
};

const NIL: usize = usize::MAX;
/// "No slot" in a slot's links.
const NIL32: u32 = u32::MAX;
/// A slot's `prev` while it is not linked into the FIFO (granted, or free).
const UNLINKED: u32 = u32::MAX - 1;

fn to_link(key: usize) -> u32 {
    if key == NIL {
        NIL32
    } else {
        key as u32
    }
}

fn from_link(link: u32) -> usize {
    if link == NIL32 {
        NIL
    } else {
        link as usize
    }
}

/// One slab slot: a waiter record while used (`val` is `Some`), a free-list link otherwise.
///
/// One cache line each (for the batch semaphore's waiter, whose record is 56 bytes): a grant
/// reads and writes the front waiter's slot from another core than the one that queued it, so
/// a slot straddling two lines would cost two transfers.
#[repr(align(64))]
struct Slot<T> {
    val: Option<T>,
    /// FIFO neighbours while linked (`prev` is `UNLINKED` otherwise, and stale in the head);
    /// `next` is the free-list link while free.
    prev: u32,
    next: u32,
}

/// The size of one slot holding a `T` (for a layout check in `batch.rs`).
#[cfg(all(not(loom), target_pointer_width = "64"))]
pub(crate) const fn slot_size<T>() -> usize {
    std::mem::size_of::<Slot<T>>()
}

/// A FIFO of waiter records in a slab; see the module docs.
pub(crate) struct Queue<T> {
    slots: Vec<Slot<T>>,
    free: usize,
    head: usize,
    tail: usize,
    linked: usize,
    /// Occupied slots (linked or granted).
    used: usize,
    /// Granted slots below [`FLAG_SLOTS`] whose owner learns of the grant from a flag outside
    /// the lock (see `batch.rs`): reclaimed by [`Queue::reclaim`] once the owner has seen it.
    parked: u64,
}

/// How many slots (the lowest keys) have a lock-free grant flag; under loom only one, so that
/// models cover both kinds of slot.
pub(crate) const FLAG_SLOTS: usize = if cfg!(loom) { 1 } else { 64 };

impl<T> Queue<T> {
    pub(crate) const fn new() -> Self {
        Queue {
            slots: Vec::new(),
            free: NIL,
            head: NIL,
            tail: NIL,
            linked: 0,
            used: 0,
            parked: 0,
        }
    }

    /// Starts a wait: appends `val` at the back of the FIFO and returns its key.
    pub(crate) fn push_back(&mut self, val: T) -> usize {
        let slot = Slot {
            val: Some(val),
            prev: to_link(self.tail),
            next: NIL32,
        };
        let key = if self.free != NIL {
            let key = self.free;
            let old = &mut self.slots[key];
            debug_assert!(old.val.is_none(), "free list points at a used slot");
            self.free = from_link(old.next);
            *old = slot;
            key
        } else {
            assert!(self.slots.len() < UNLINKED as usize, "too many waiters");
            self.slots.push(slot);
            self.slots.len() - 1
        };
        if self.tail != NIL {
            self.slots[self.tail].next = to_link(key);
        } else {
            self.head = key;
        }
        self.tail = key;
        self.linked += 1;
        self.used += 1;
        key
    }

    fn used_slot(&self, key: usize) -> &Slot<T> {
        let slot = &self.slots[key];
        assert!(slot.val.is_some(), "waiter key {key} refers to a free slot");
        slot
    }

    /// The key of the waiter at the front of the FIFO.
    pub(crate) fn front(&self) -> Option<usize> {
        (self.head != NIL).then_some(self.head)
    }

    /// Whether any waiter is still in the FIFO (granted records do not count).
    pub(crate) fn is_empty(&self) -> bool {
        self.linked == 0
    }

    /// Number of waiters still in the FIFO.
    pub(crate) fn len(&self) -> usize {
        self.linked
    }

    /// Whether `key` is still waiting in the FIFO (false once granted).
    pub(crate) fn is_linked(&self, key: usize) -> bool {
        self.used_slot(key).prev != UNLINKED
    }

    pub(crate) fn get_mut(&mut self, key: usize) -> &mut T {
        match &mut self.slots[key].val {
            Some(v) => v,
            None => panic!("waiter key {key} refers to a free slot"),
        }
    }

    /// Takes `key` out of the FIFO order, keeping its record (a grant).
    ///
    /// The head's `prev` is never read (and not kept up to date): taking the front waiter, the
    /// common case, then touches only its own slot, not its successor's, which another core
    /// may have written last.
    pub(crate) fn unlink(&mut self, key: usize) {
        let slot = self.used_slot(key);
        if slot.prev == UNLINKED {
            return;
        }
        let next = from_link(slot.next);
        if key == self.head {
            self.head = next;
            if next == NIL {
                self.tail = NIL;
            }
        } else {
            let prev = from_link(slot.prev);
            self.slots[prev].next = to_link(next);
            if next != NIL {
                self.slots[next].prev = to_link(prev);
            } else {
                self.tail = prev;
            }
        }
        let slot = &mut self.slots[key];
        slot.prev = UNLINKED;
        slot.next = NIL32;
        self.linked -= 1;
    }

    /// Unlinks the front waiter and returns its key.
    pub(crate) fn pop_front(&mut self) -> Option<usize> {
        let key = self.front()?;
        self.unlink(key);
        Some(key)
    }

    /// Leaves the granted (unlinked) slot `key < FLAG_SLOTS` to be reclaimed later by
    /// [`reclaim`](Queue::reclaim), instead of by its owner's [`remove`](Queue::remove).
    pub(crate) fn park(&mut self, key: usize) {
        debug_assert!(key < FLAG_SLOTS && !self.is_linked(key));
        self.parked |= 1 << key;
    }

    /// Frees the parked slots whose bit is clear in `flags` (their owners have seen their grant
    /// and dropped their keys).
    pub(crate) fn reclaim(&mut self, flags: u64) {
        let mut done = self.parked & !flags;
        self.parked &= !done;
        while done != 0 {
            let key = done.trailing_zeros() as usize;
            done &= done - 1;
            let slot = &mut self.slots[key];
            debug_assert!(slot.val.is_some() && slot.prev == UNLINKED);
            slot.val = None;
            self.free_slot(key);
        }
    }

    /// Whether any slot is parked.
    pub(crate) fn has_parked(&self) -> bool {
        self.parked != 0
    }

    /// Ends a wait: frees `key`'s slot and returns its record and whether it was still linked
    /// (that is, not granted).
    pub(crate) fn remove(&mut self, key: usize) -> (T, bool) {
        if key < FLAG_SLOTS {
            self.parked &= !(1 << key);
        }
        let was_linked = self.is_linked(key);
        self.unlink(key);
        let val = self.slots[key].val.take().expect("checked by `is_linked`");
        self.free_slot(key);
        (val, was_linked)
    }

    /// Puts the emptied slot `key` on the free list.
    fn free_slot(&mut self, key: usize) {
        self.slots[key].next = to_link(self.free);
        self.free = key;
        self.used -= 1;
        if self.used == 0 && self.slots.len() > 64 {
            // Give back the memory of a burst of waiters once they are all gone.
            self.slots = Vec::new();
            self.free = NIL;
        }
    }
}

impl<T> fmt::Debug for Queue<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Queue")
            .field("waiting", &self.linked)
            .finish()
    }
}

/// Wakers collected under a lock, to be woken after it is released.
pub(crate) struct WakeList {
    first: Option<Waker>,
    rest: Vec<Waker>,
}

impl WakeList {
    pub(crate) const fn new() -> Self {
        WakeList {
            first: None,
            rest: Vec::new(),
        }
    }

    pub(crate) fn push(&mut self, waker: Option<Waker>) {
        let Some(w) = waker else { return };
        if self.first.is_none() {
            self.first = Some(w);
        } else {
            self.rest.push(w);
        }
    }

    /// Wakes everything collected. Call with no lock held.
    pub(crate) fn wake_all(self) {
        if let Some(w) = self.first {
            w.wake();
        }
        for w in self.rest {
            w.wake();
        }
    }
}

/// Stores `cx`'s waker in `slot` unless the one already there wakes the same task.
pub(crate) fn set_waker(slot: &mut Option<Waker>, cx: &Context<'_>) {
    match slot {
        Some(w) if w.will_wake(cx.waker()) => {}
        _ => *slot = Some(cx.waker().clone()),
    }
}

struct NotifyWaiter {
    waker: Option<Waker>,
    /// Set by the notifier: what the notification carries (`RwMutex` readers: admitted).
    tag: bool,
}

/// A list of tasks waiting for a notification (`WaitGroup`, `Cond`, `RwMutex`).
///
/// A notified record is unlinked but keeps its slot until its owner removes it, so a
/// notification is never lost between the grant and the owner's next poll. A cancelled owner
/// that had been notified by [`Notify::notify_one`] can hand the notification on. A
/// notification can carry a tag (one bit the owner reads back), and a notifier can run a step
/// under the list lock, where no waiter can register or leave.
pub(crate) struct Notify {
    waiters: Mutex<Queue<NotifyWaiter>>,
}

impl Notify {
    crate::loom::const_unless_loom! {
        pub(crate) fn new() -> Self {
            Notify {
                waiters: Mutex::new(Queue::new()),
            }
        }
    }

    /// Registers a new waiter now, without a waker yet; returns its key.
    pub(crate) fn register(&self) -> usize {
        lock(&self.waiters).push_back(NotifyWaiter {
            waker: None,
            tag: false,
        })
    }

    /// Polls a wait. With no key yet, `ready` is checked under the list lock (so a notifier
    /// that makes it true after the check finds this waiter in the list) and the waiter is
    /// registered if it is false; `Ready(false)` if it was true. With a key, completes once the
    /// waiter has been notified, with the notification's tag.
    pub(crate) fn poll_wait(
        &self,
        cx: &Context<'_>,
        key: &mut Option<usize>,
        ready: impl FnOnce() -> bool,
    ) -> Poll<bool> {
        let mut q = lock(&self.waiters);
        match *key {
            None => {
                if ready() {
                    return Poll::Ready(false);
                }
                *key = Some(q.push_back(NotifyWaiter {
                    waker: Some(cx.waker().clone()),
                    tag: false,
                }));
                Poll::Pending
            }
            Some(k) => {
                if q.is_linked(k) {
                    set_waker(&mut q.get_mut(k).waker, cx);
                    Poll::Pending
                } else {
                    let (w, _) = q.remove(k);
                    *key = None;
                    Poll::Ready(w.tag)
                }
            }
        }
    }

    /// Abandons a wait. If the waiter had already been notified and `pass_on` is set, the
    /// notification goes to the next waiter instead, so a dropped waiter never swallows it.
    /// Returns whether a notification with the tag set had reached it (its owner undoes what
    /// the tag granted).
    pub(crate) fn cancel(&self, key: &mut Option<usize>, pass_on: bool) -> bool {
        let Some(k) = key.take() else { return false };
        let mut q = lock(&self.waiters);
        let (w, was_waiting) = q.remove(k);
        if !was_waiting && pass_on {
            let mut wakers = WakeList::new();
            Self::notify_one_locked(&mut q, &mut wakers);
            drop(q);
            wakers.wake_all();
        }
        !was_waiting && w.tag
    }

    fn notify_one_locked(q: &mut Queue<NotifyWaiter>, wakers: &mut WakeList) -> bool {
        match q.pop_front() {
            Some(k) => {
                wakers.push(q.get_mut(k).waker.take());
                true
            }
            None => false,
        }
    }

    /// Notifies the longest-waiting waiter, if any; returns whether there was one.
    pub(crate) fn notify_one(&self) -> bool {
        self.notify_one_with(|| {})
    }

    /// Like [`notify_one`](Notify::notify_one), running `f` first under the list lock.
    pub(crate) fn notify_one_with(&self, f: impl FnOnce()) -> bool {
        let mut wakers = WakeList::new();
        let mut q = lock(&self.waiters);
        f();
        let found = Self::notify_one_locked(&mut q, &mut wakers);
        drop(q);
        wakers.wake_all();
        found
    }

    /// Notifies every waiter registered now.
    pub(crate) fn notify_all(&self) {
        self.notify_all_with(false, |_| {});
    }

    /// Notifies every waiter registered now with `tag`, running `f(n)` first under the list
    /// lock, where `n` is their number (so the waiters notified are exactly those counted).
    pub(crate) fn notify_all_with(&self, tag: bool, f: impl FnOnce(usize)) {
        let mut wakers = WakeList::new();
        let mut q = lock(&self.waiters);
        f(q.len());
        while let Some(k) = q.pop_front() {
            let w = q.get_mut(k);
            w.tag = tag;
            wakers.push(w.waker.take());
        }
        drop(q);
        wakers.wake_all();
    }

    /// Number of waiters not yet notified.
    pub(crate) fn waiting(&self) -> usize {
        lock(&self.waiters).len()
    }
}

impl fmt::Debug for Notify {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Notify")
            .field("waiting", &self.waiting())
            .finish()
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::Queue;

    #[test]
    fn fifo_order_unlink_and_reuse() {
        let mut q = Queue::new();
        let a = q.push_back('a');
        let b = q.push_back('b');
        let c = q.push_back('c');
        assert_eq!(q.len(), 3);
        q.unlink(b);
        assert_eq!(q.pop_front(), Some(a));
        assert_eq!(q.front(), Some(c));
        assert_eq!(q.remove(b), ('b', false));
        assert_eq!(q.remove(c), ('c', true));
        assert!(q.is_empty());
        let d = q.push_back('d');
        assert!(d == b || d == c, "a freed slot is reused");
        assert_eq!(q.remove(a), ('a', false));
        assert_eq!(q.remove(d), ('d', true));
    }

    #[test]
    fn parked_slots_are_reclaimed_once_their_flag_is_clear() {
        let mut q = Queue::new();
        let a = q.push_back('a');
        let b = q.push_back('b');
        let c = q.push_back('c');
        for k in [a, b] {
            q.unlink(k);
            q.park(k);
        }
        assert!(q.has_parked());
        // `a`'s owner has seen its grant (flag clear), `b`'s not yet.
        q.reclaim(1 << b);
        assert!(q.has_parked());
        assert_eq!(q.push_back('d'), a, "the reclaimed slot is reused");
        assert_ne!(q.push_back('e'), b, "a parked slot is not");
        q.reclaim(0);
        assert!(!q.has_parked());
        assert_eq!(q.remove(c), ('c', true));
        assert_eq!(q.push_back('f'), c);
        assert_eq!(q.push_back('g'), b, "and `b`'s slot once its flag is clear");
    }

    /// Random pushes, front pops and middle unlinks against a `VecDeque` model.
    #[test]
    fn matches_a_model_under_random_operations() {
        use std::collections::VecDeque;
        let mut rng = 0x2545_f491_4f6c_dd1d_u64;
        let mut next = || {
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            rng
        };
        let mut q = Queue::new();
        let mut model: VecDeque<(usize, u64)> = VecDeque::new();
        let mut granted: Vec<(usize, u64)> = Vec::new();
        for i in 0..20_000u64 {
            match next() % 4 {
                0 | 1 => model.push_back((q.push_back(i), i)),
                2 => {
                    if let Some(k) = q.pop_front() {
                        let (mk, v) = model.pop_front().unwrap();
                        assert_eq!(k, mk);
                        granted.push((k, v));
                    }
                }
                _ => {
                    if !model.is_empty() {
                        let at = (next() as usize) % model.len();
                        let (k, v) = model.remove(at).unwrap();
                        assert_eq!(q.remove(k), (v, true));
                    }
                }
            }
            if next() % 3 == 0 {
                if let Some((k, v)) = granted.pop() {
                    assert_eq!(q.remove(k), (v, false));
                }
            }
            assert_eq!(q.len(), model.len());
            assert_eq!(q.front(), model.front().map(|e| e.0));
        }
        while let Some((k, v)) = model.pop_front() {
            assert_eq!(q.pop_front(), Some(k));
            assert_eq!(q.remove(k), (v, false));
        }
        for (k, v) in granted {
            assert_eq!(q.remove(k), (v, false));
        }
        assert!(q.is_empty());
    }

    #[test]
    fn burst_memory_is_given_back() {
        let mut q = Queue::new();
        let keys: Vec<_> = (0..100).map(|i| q.push_back(i)).collect();
        while q.pop_front().is_some() {} // all granted, slots still held
        assert_eq!(q.slots.len(), 100);
        for k in keys {
            q.remove(k);
        }
        assert!(q.slots.is_empty());
        assert_eq!(q.push_back(7), 0);
    }
}
