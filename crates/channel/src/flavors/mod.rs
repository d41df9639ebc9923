//! Channel flavors: where buffered values live.
//!
//! All three flavors share one protocol (the channel lock, the waiter queues and direct
//! hand-off in [`chan`](crate::chan)); they differ only in their buffer, which is always
//! accessed with the channel lock held:
//!
//! * [`array`]: `bounded(n)` with `n > 0`, a fixed ring of `n` slots allocated up front;
//! * [`list`]: `unbounded()`, a queue of fixed-size blocks that grows a block at a time and
//!   frees blocks as they drain (no large copies when it grows, memory returned when it
//!   shrinks);
//! * [`zero`]: `rendezvous()` (= `bounded(0)`), no buffer at all: every value goes straight
//!   from a sender to a receiver.

pub(crate) mod array;
pub(crate) mod list;
pub(crate) mod zero;

/// The buffer of a channel, by flavor.
pub(crate) enum Buffer<T> {
    Array(array::Ring<T>),
    List(list::Blocks<T>),
    Zero(zero::Zero),
}

impl<T> Buffer<T> {
    /// Appends a value, or gives it back if the buffer is full.
    #[inline]
    pub(crate) fn push(&mut self, value: T) -> Result<(), T> {
        match self {
            Buffer::Array(b) => b.push(value),
            Buffer::List(b) => {
                b.push(value);
                Ok(())
            }
            Buffer::Zero(_) => Err(value),
        }
    }

    /// Removes the oldest value.
    #[inline]
    pub(crate) fn pop(&mut self) -> Option<T> {
        match self {
            Buffer::Array(b) => b.pop(),
            Buffer::List(b) => b.pop(),
            Buffer::Zero(_) => None,
        }
    }

    /// Whether a push would succeed.
    pub(crate) fn has_room(&self) -> bool {
        match self {
            Buffer::Array(b) => b.has_room(),
            Buffer::List(_) => true,
            Buffer::Zero(_) => false,
        }
    }

    pub(crate) fn len(&self) -> usize {
        match self {
            Buffer::Array(b) => b.len(),
            Buffer::List(b) => b.len(),
            Buffer::Zero(_) => 0,
        }
    }

    /// Takes every buffered value out (to drop them outside the channel lock).
    pub(crate) fn drain(&mut self) -> Vec<T> {
        let mut out = Vec::with_capacity(self.len());
        while let Some(v) = self.pop() {
            out.push(v);
        }
        out
    }
}
