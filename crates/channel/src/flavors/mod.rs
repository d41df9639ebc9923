//! Channel flavors: where buffered values live.
//!
//! The three flavors (bounded, unbounded, rendezvous) share one protocol (the channel lock,
//! the waiter queues and direct hand-off in [`chan`](crate::chan)); they differ only in
//! their storage, which is always accessed with the channel lock held. The bounded flavor
//! has two: a ring, and for capacity 1 an inline slot.
//!
//! * [`array`](mod@array): `bounded(n)` with `n > 1`, a fixed ring of `n` slots allocated up front;
//! * `bounded(1)`: a single slot held inline in the [`Buffer`] (so in the channel's first
//!   cache line, beside the lock): a `bounded(1)` channel is a hand-off per value, and each
//!   hand-off then moves one cache line between the two ends instead of two (the lock's and
//!   the ring's);
//! * [`list`]: `unbounded()`, a queue of fixed-size blocks that grows a block at a time and
//!   frees blocks as they drain (no large copies when it grows, memory returned when it
//!   shrinks);
//! * [`zero`]: `rendezvous()` (= `bounded(0)`), no storage at all: every value goes straight
//!   from a sender to a receiver.
//!
//! [`Buffer`] keeps the length and the capacity itself, so the checks every operation makes
//! (is there a value, is there room, the readiness hint) need no dispatch on the flavor;
//! only the storage access does.
//!
//! Layout: `Buffer`, the unbounded flavor's `Blocks` and the channel's `Inner` are
//! `repr(C)` with their hot fields first, so that the length, the capacity, the storage tag
//! and the unbounded queue's cursors (or the inline bounded(1) slot) lie in the channel's
//! first cache line with the lock; a test checks it. Left to the compiler, the length and
//! the cursors landed in the second line, and every operation moved two lines between the
//! cores instead of one (blocking spsc bounded(1): 50-58 ms before, 33-35 ms after, in one
//! A/B run). The `bounded(n)` ring's `VecDeque` header starts at offset 40, so its length
//! field lands in the second line. Putting the capacity behind the storage moves the whole
//! header into the first line, but in an A/B run the `bounded(100)` rows did not improve
//! (async spsc 5.3 / 5.4 -> 5.1 / 4.9 ms, mpsc 8.6 / 8.2 -> 9.3 / 8.8 ms, and two blocking
//! runs of 36 and 74 ms against 13-17 ms: threads that poll the readiness hint then share
//! a line with every write of the critical section), so the header stays where it is and
//! the test leaves it out.

pub(crate) mod array;
pub(crate) mod list;
pub(crate) mod zero;

use crate::chan::{RECV_READY, SEND_READY};

/// The storage of a channel, by flavor. An explicit tag (`repr(u8)`): a niche-encoded
/// discriminant hidden in a field cost several instructions per dispatch.
#[repr(u8)]
enum Store<T> {
    Array(array::Ring<T>),
    /// `bounded(1)`: the one slot inline, in the channel's first cache line with the lock
    /// and the length (see the module note). An `Option`, not a `MaybeUninit`: its tag
    /// repeats what `Buffer::len` says, but the slot stays safe code, dropping a leftover
    /// value included, for one compare per pop.
    One(Option<T>),
    List(list::Blocks<T>),
    Zero(zero::Zero),
}

/// The buffer of a channel: its storage, with the length and capacity. `repr(C)`, hot
/// fields first (see the module note). The readiness is computed from `len` and `cap` (two
/// compares) rather than cached, which keeps it out of the cache line too.
#[repr(C)]
pub(crate) struct Buffer<T> {
    len: usize,
    /// `usize::MAX` for unbounded.
    cap: usize,
    store: Store<T>,
}

impl<T> Buffer<T> {
    /// A buffer for `bounded(cap)` (`Some(0)`: rendezvous) or `unbounded()` (`None`).
    pub(crate) fn new(cap: Option<usize>) -> Self {
        let (cap, store) = match cap {
            None => (usize::MAX, Store::List(list::Blocks::new())),
            Some(0) => (0, Store::Zero(zero::Zero)),
            Some(1) => (1, Store::One(None)),
            Some(n) => (n, Store::Array(array::Ring::new(n))),
        };
        Buffer { len: 0, cap, store }
    }

    /// Appends a value, or gives it back if the buffer is full.
    #[inline]
    pub(crate) fn push(&mut self, value: T) -> Result<(), T> {
        if self.len == self.cap {
            return Err(value);
        }
        match &mut self.store {
            Store::Array(b) => b.push(value),
            Store::One(slot) => {
                debug_assert!(slot.is_none());
                *slot = Some(value);
            }
            Store::List(b) => b.push(value),
            Store::Zero(_) => unreachable!("a rendezvous buffer has no room"),
        }
        self.len += 1;
        Ok(())
    }

    /// Removes the oldest value.
    #[inline]
    pub(crate) fn pop(&mut self) -> Option<T> {
        if self.len == 0 {
            return None;
        }
        self.len -= 1;
        Some(match &mut self.store {
            Store::Array(b) => b.pop(),
            Store::One(slot) => slot.take().expect("the length says a value is there"),
            Store::List(b) => b.pop(),
            Store::Zero(_) => unreachable!("a rendezvous buffer holds no value"),
        })
    }

    /// Removes the oldest value and appends `value` in its place, in one step (the length,
    /// and so the readiness, does not change): a receive that moves a waiting sender's
    /// value into the slot it frees. Gives `value` back if the buffer is empty.
    #[inline]
    pub(crate) fn shift(&mut self, value: T) -> Result<T, T> {
        if self.len == 0 {
            return Err(value);
        }
        Ok(match &mut self.store {
            Store::Array(b) => {
                let oldest = b.pop();
                b.push(value);
                oldest
            }
            Store::One(slot) => slot
                .replace(value)
                .expect("the length says a value is there"),
            Store::List(b) => {
                let oldest = b.pop();
                b.push(value);
                oldest
            }
            Store::Zero(_) => unreachable!("a rendezvous buffer holds no value"),
        })
    }

    /// Which of a push (`SEND_READY`) and a pop (`RECV_READY`) would succeed.
    #[inline]
    pub(crate) fn readiness(&self) -> u8 {
        (u8::from(self.len > 0) * RECV_READY) | (u8::from(self.len < self.cap) * SEND_READY)
    }

    #[inline]
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// The address ranges every operation touches in the buffer itself: the length, the
    /// capacity, the storage tag and, by flavor, the inline slot or the queue's cursors (a
    /// layout test checks they share the lock's cache line).
    #[cfg(test)]
    pub(crate) fn hot_bytes(&self) -> Vec<(&'static str, usize, usize)> {
        use std::mem::size_of_val;
        let mut v = vec![
            (
                "len",
                &self.len as *const usize as usize,
                size_of_val(&self.len),
            ),
            (
                "cap",
                &self.cap as *const usize as usize,
                size_of_val(&self.cap),
            ),
            // The tag is the first byte of a `repr(u8)` enum.
            ("store tag", &self.store as *const Store<T> as usize, 1),
        ];
        match &self.store {
            Store::One(slot) => v.push((
                "inline slot",
                slot as *const Option<T> as usize,
                size_of_val(slot),
            )),
            Store::List(b) => v.push(("list cursors", b.hot_start(), b.hot_len())),
            Store::Array(_) | Store::Zero(_) => {}
        }
        v
    }

    /// Takes every buffered value out (to drop them outside the channel lock).
    pub(crate) fn drain(&mut self) -> Vec<T> {
        let mut out = Vec::with_capacity(self.len);
        while let Some(v) = self.pop() {
            out.push(v);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The bytes every send and receive of each flavor touches lie in the channel's first
    /// cache line, with the lock (see the module note).
    #[test]
    fn hot_fields_share_the_lock_cache_line() {
        fn check(cap: Option<usize>) {
            let chan = crate::chan::Chan::<usize>::new(cap);
            let base = &chan as *const _ as usize;
            let g = chan.lock();
            for (what, start, len) in g.buf().hot_bytes() {
                assert!(
                    start >= base && start + len <= base + 64,
                    "{cap:?}: {what} sits at offset {} of the channel",
                    start.wrapping_sub(base)
                );
            }
        }
        for cap in [None, Some(0), Some(1), Some(100)] {
            check(cap);
        }
    }

    #[test]
    fn bounded1_leftover_is_dropped_once() {
        let token = std::sync::Arc::new(());
        let (tx, rx) = crate::bounded(1);
        tx.try_send(token.clone()).unwrap();
        assert_eq!(std::sync::Arc::strong_count(&token), 2);
        drop((tx, rx));
        assert_eq!(std::sync::Arc::strong_count(&token), 1);
    }

    #[test]
    fn buffer_respects_capacity_and_order() {
        for cap in [Some(2), None] {
            let mut b = Buffer::new(cap);
            assert_eq!(b.readiness(), SEND_READY);
            assert_eq!(b.push(1), Ok(()));
            assert_eq!(b.push(2), Ok(()));
            assert_eq!(b.push(3).is_err(), cap.is_some());
            assert_eq!(b.pop(), Some(1));
            assert_eq!(b.push(4), Ok(()));
            assert_eq!(b.pop(), Some(2));
            if cap.is_none() {
                assert_eq!(b.pop(), Some(3));
            }
            assert_eq!(b.readiness(), RECV_READY | SEND_READY);
            assert_eq!(b.pop(), Some(4));
            assert_eq!(b.pop(), None);
            assert_eq!(b.len(), 0);
        }
        let mut one = Buffer::new(Some(1));
        for round in 0..3 {
            assert_eq!(one.readiness(), SEND_READY);
            assert_eq!(one.push(round), Ok(()));
            assert_eq!(one.readiness(), RECV_READY);
            assert_eq!(one.push(99), Err(99));
            assert_eq!(one.len(), 1);
            assert_eq!(one.pop(), Some(round));
            assert_eq!(one.pop(), None);
        }
        for cap in [Some(1), Some(3), None] {
            let mut b = Buffer::new(cap);
            assert_eq!(
                b.shift(7),
                Err(7),
                "nothing to shift out of an empty buffer"
            );
            b.push(1).unwrap();
            b.push(2).ok();
            let before = (b.len(), b.readiness());
            assert_eq!(b.shift(3), Ok(1), "the oldest leaves");
            assert_eq!((b.len(), b.readiness()), before);
            let rest: Vec<_> = std::iter::from_fn(|| b.pop()).collect();
            let want: &[i32] = if cap == Some(1) { &[3] } else { &[2, 3] };
            assert_eq!(rest, want, "the new value goes to the back");
        }
        let mut z = Buffer::<u8>::new(Some(0));
        assert_eq!(z.push(1), Err(1));
        assert_eq!(z.pop(), None);
        assert_eq!(z.readiness(), 0);
    }
}
