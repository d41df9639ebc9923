//! The bounded flavor: a ring buffer of fixed capacity, allocated once.
//!
//! The ring is `std`'s `VecDeque`, created with the channel's capacity; [`Buffer`] never
//! lets it hold more than that, so it never reallocates. Access is serialised by the channel
//! lock, so the ring needs no atomics of its own (Go's `hchan.buf` is the same design).
//!
//! [`Buffer`]: super::Buffer

use std::collections::VecDeque;

pub(crate) struct Ring<T> {
    buf: VecDeque<T>,
}

impl<T> Ring<T> {
    /// A ring with room for `cap` values (`cap > 0`).
    pub(crate) fn new(cap: usize) -> Self {
        debug_assert!(cap > 0);
        // Allocate eagerly up to a sane bound; a huge capacity grows on demand instead of
        // reserving gigabytes for a channel that may never fill.
        Ring {
            buf: VecDeque::with_capacity(cap.min(1 << 16)),
        }
    }

    /// Appends a value (the caller checked the capacity).
    #[inline]
    pub(crate) fn push(&mut self, value: T) {
        self.buf.push_back(value);
    }

    /// Removes the oldest value (the caller checked there is one).
    #[inline]
    pub(crate) fn pop(&mut self) -> T {
        self.buf
            .pop_front()
            .expect("the buffer's length says a value is there")
    }
}
