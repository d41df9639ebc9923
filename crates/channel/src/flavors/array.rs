//! The bounded flavor: a ring buffer of fixed capacity, allocated once.
//!
//! The ring is `std`'s `VecDeque`, created with the channel's capacity and never allowed to
//! grow past it, so it never reallocates. Access is serialised by the channel lock, so the
//! ring needs no atomics of its own (Go's `hchan.buf` is the same design).

use std::collections::VecDeque;

pub(crate) struct Ring<T> {
    buf: VecDeque<T>,
    cap: usize,
}

impl<T> Ring<T> {
    /// A ring with room for `cap` values (`cap > 0`).
    pub(crate) fn new(cap: usize) -> Self {
        debug_assert!(cap > 0);
        // Allocate eagerly up to a sane bound; a huge capacity grows on demand instead of
        // reserving gigabytes for a channel that may never fill.
        Ring {
            buf: VecDeque::with_capacity(cap.min(1 << 16)),
            cap,
        }
    }

    #[inline]
    pub(crate) fn push(&mut self, value: T) -> Result<(), T> {
        if self.buf.len() < self.cap {
            self.buf.push_back(value);
            Ok(())
        } else {
            Err(value)
        }
    }

    #[inline]
    pub(crate) fn pop(&mut self) -> Option<T> {
        self.buf.pop_front()
    }

    pub(crate) fn has_room(&self) -> bool {
        self.buf.len() < self.cap
    }

    pub(crate) fn len(&self) -> usize {
        self.buf.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ring_respects_capacity_and_order() {
        let mut r = Ring::new(2);
        assert_eq!(r.push(1), Ok(()));
        assert_eq!(r.push(2), Ok(()));
        assert_eq!(r.push(3), Err(3));
        assert_eq!(r.pop(), Some(1));
        assert_eq!(r.push(4), Ok(()));
        assert_eq!(r.pop(), Some(2));
        assert_eq!(r.pop(), Some(4));
        assert_eq!(r.pop(), None);
    }
}
