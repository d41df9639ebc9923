//! The waiter queue: the one place where a task starts and stops waiting.
//!
//! # Design
//!
//! Every primitive in this crate parks its waiters in a [`Queue`]: a FIFO of waiter records
//! kept in a slab (a `Vec` of slots plus a free list) and threaded into a doubly-linked list by
//! slot index. It always lives under a small lock (`std::sync::Mutex`, a futex on Linux) owned by
//! the primitive, so the queue itself needs no atomics and no `unsafe`:
//!
//! * a waiter *starts waiting* with [`Queue::push_back`], which returns its key (slot index);
//!   the future that waits keeps the key;
//! * whoever grants the waiter what it waits for (permits, a notification) *unlinks* it from the
//!   FIFO order ([`Queue::unlink`] / [`Queue::pop_front`]) and marks the record done, but leaves
//!   the slot in place, so the outcome cannot get lost;
//! * the waiter *stops waiting* with [`Queue::remove`], called exactly once by the future that
//!   owns the key — when it completes, or from its `Drop` when it is cancelled. A record that was
//!   granted something and then dropped hands it on (see `batch.rs` and [`Notify`]).
//!
//! Keys are never reused while their owner holds them (only `remove` frees a slot), so no
//! generation counter is needed. Compared with tokio's intrusive list this costs a slab slot per
//! waiter instead of pinning, which keeps every future `Unpin` and the module free of `unsafe`;
//! the slab is reused, so a steady state allocates nothing.
//!
//! Diagnostics (Go's deadlock detector, goroutine dumps) will hook `push_back` and `remove`:
//! they bracket every wait in the crate.
//!
//! Wakers are never called with the lock held: grants collect them in a [`WakeList`] and wake
//! them after unlocking.
//!
//! [`Notify`] is the simplest client: a list of tasks waiting for a notification (used by
//! `WaitGroup` and `Cond`). The batch semaphore in `batch.rs` is the other one, and `Mutex`,
//! `RwMutex`, `Semaphore`, `OnceCell` and `Once` are built on it.

use crate::loom::{lock, Mutex};
use std::{
    fmt,
    task::{Context, Poll, Waker},
};

const NIL: usize = usize::MAX;

struct Entry<T> {
    val: T,
    prev: usize,
    next: usize,
    linked: bool,
}

enum Slot<T> {
    Free(usize),
    Used(Entry<T>),
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
}

impl<T> Queue<T> {
    pub(crate) const fn new() -> Self {
        Queue {
            slots: Vec::new(),
            free: NIL,
            head: NIL,
            tail: NIL,
            linked: 0,
            used: 0,
        }
    }

    /// Starts a wait: appends `val` at the back of the FIFO and returns its key.
    pub(crate) fn push_back(&mut self, val: T) -> usize {
        let entry = Entry {
            val,
            prev: self.tail,
            next: NIL,
            linked: true,
        };
        let key = if self.free != NIL {
            let key = self.free;
            match std::mem::replace(&mut self.slots[key], Slot::Used(entry)) {
                Slot::Free(next) => self.free = next,
                Slot::Used(_) => unreachable!("free list points at a used slot"),
            }
            key
        } else {
            self.slots.push(Slot::Used(entry));
            self.slots.len() - 1
        };
        if self.tail != NIL {
            self.entry_mut(self.tail).next = key;
        } else {
            self.head = key;
        }
        self.tail = key;
        self.linked += 1;
        self.used += 1;
        key
    }

    fn entry(&self, key: usize) -> &Entry<T> {
        match &self.slots[key] {
            Slot::Used(e) => e,
            Slot::Free(_) => unreachable!("waiter key {key} refers to a free slot"),
        }
    }

    fn entry_mut(&mut self, key: usize) -> &mut Entry<T> {
        match &mut self.slots[key] {
            Slot::Used(e) => e,
            Slot::Free(_) => unreachable!("waiter key {key} refers to a free slot"),
        }
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
        self.entry(key).linked
    }

    pub(crate) fn get_mut(&mut self, key: usize) -> &mut T {
        &mut self.entry_mut(key).val
    }

    /// Takes `key` out of the FIFO order, keeping its record (a grant).
    pub(crate) fn unlink(&mut self, key: usize) {
        let (prev, next, linked) = {
            let e = self.entry(key);
            (e.prev, e.next, e.linked)
        };
        if !linked {
            return;
        }
        if prev != NIL {
            self.entry_mut(prev).next = next;
        } else {
            self.head = next;
        }
        if next != NIL {
            self.entry_mut(next).prev = prev;
        } else {
            self.tail = prev;
        }
        let e = self.entry_mut(key);
        e.linked = false;
        e.prev = NIL;
        e.next = NIL;
        self.linked -= 1;
    }

    /// Unlinks the front waiter and returns its key.
    pub(crate) fn pop_front(&mut self) -> Option<usize> {
        let key = self.front()?;
        self.unlink(key);
        Some(key)
    }

    /// Ends a wait: frees `key`'s slot and returns its record and whether it was still linked
    /// (that is, not granted).
    pub(crate) fn remove(&mut self, key: usize) -> (T, bool) {
        let was_linked = self.is_linked(key);
        self.unlink(key);
        match std::mem::replace(&mut self.slots[key], Slot::Free(self.free)) {
            Slot::Used(e) => {
                self.free = key;
                self.used -= 1;
                if self.used == 0 && self.slots.len() > 64 {
                    // Give back the memory of a burst of waiters once they are all gone.
                    self.slots = Vec::new();
                    self.free = NIL;
                }
                (e.val, was_linked)
            }
            Slot::Free(_) => unreachable!("waiter key {key} removed twice"),
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
}

/// A list of tasks waiting for a notification (`WaitGroup`, `Cond`).
///
/// A notified record is unlinked but keeps its slot until its owner removes it, so a
/// notification is never lost between the grant and the owner's next poll. A cancelled owner
/// that had been notified by [`Notify::notify_one`] can hand the notification on.
pub(crate) struct Notify {
    waiters: Mutex<Queue<NotifyWaiter>>,
}

impl Notify {
    pub(crate) fn new() -> Self {
        Notify {
            waiters: Mutex::new(Queue::new()),
        }
    }

    /// Registers a new waiter now, without a waker yet; returns its key.
    pub(crate) fn register(&self) -> usize {
        lock(&self.waiters).push_back(NotifyWaiter { waker: None })
    }

    /// Polls a wait. With no key yet, `ready` is checked under the list lock (so a notifier
    /// that makes it true after the check finds this waiter in the list) and the waiter is
    /// registered if it is false. With a key, completes once the waiter has been notified.
    pub(crate) fn poll_wait(
        &self,
        cx: &Context<'_>,
        key: &mut Option<usize>,
        ready: impl FnOnce() -> bool,
    ) -> Poll<()> {
        let mut q = lock(&self.waiters);
        match *key {
            None => {
                if ready() {
                    return Poll::Ready(());
                }
                *key = Some(q.push_back(NotifyWaiter {
                    waker: Some(cx.waker().clone()),
                }));
                Poll::Pending
            }
            Some(k) => {
                if q.is_linked(k) {
                    set_waker(&mut q.get_mut(k).waker, cx);
                    Poll::Pending
                } else {
                    q.remove(k);
                    *key = None;
                    Poll::Ready(())
                }
            }
        }
    }

    /// Abandons a wait. If the waiter had already been notified and `pass_on` is set, the
    /// notification goes to the next waiter instead, so a dropped waiter never swallows it.
    pub(crate) fn cancel(&self, key: &mut Option<usize>, pass_on: bool) {
        let Some(k) = key.take() else { return };
        let mut q = lock(&self.waiters);
        let (_, was_waiting) = q.remove(k);
        if !was_waiting && pass_on {
            let mut wakers = WakeList::new();
            Self::notify_one_locked(&mut q, &mut wakers);
            drop(q);
            wakers.wake_all();
        }
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
        let mut wakers = WakeList::new();
        let mut q = lock(&self.waiters);
        let found = Self::notify_one_locked(&mut q, &mut wakers);
        drop(q);
        wakers.wake_all();
        found
    }

    /// Notifies every waiter registered now.
    pub(crate) fn notify_all(&self) {
        let mut wakers = WakeList::new();
        let mut q = lock(&self.waiters);
        while Self::notify_one_locked(&mut q, &mut wakers) {}
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
