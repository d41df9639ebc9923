//! The unbounded flavor: a queue of fixed-size blocks.
//!
//! Values are appended to the last block and taken from the first; a full last block gets a
//! fresh block behind it, an emptied first block is released (one spare is kept, so a
//! steady stream that crosses block boundaries does not allocate). Growing never copies
//! existing values, and a queue that drains gives its memory back, unlike a single growable
//! ring. crossbeam's `list` flavor has the same shape (lock-free there); here access is
//! serialised by the channel lock, so the blocks are plain memory.
//!
//! Layout: `blocks` holds the blocks in order. Values occupy `head..BLOCK` of the first
//! block, all of the middle ones, and `..tail` of the last one (`head..tail` when there is
//! one block). An empty queue keeps no block, or its one block with `head == tail`.

use std::collections::VecDeque;
use std::mem::MaybeUninit;
use std::ptr::NonNull;

/// Values per block.
const BLOCK: usize = if cfg!(loom) { 2 } else { 32 };

struct Block<T> {
    slots: [MaybeUninit<T>; BLOCK],
}

impl<T> Block<T> {
    fn new() -> Box<Self> {
        Box::new(Block {
            slots: [const { MaybeUninit::uninit() }; BLOCK],
        })
    }
}

pub(crate) struct Blocks<T> {
    blocks: VecDeque<Box<Block<T>>>,
    /// The first and last block (heap addresses are stable however `blocks` moves its
    /// array of boxes); dangling while there is no block.
    first: NonNull<Block<T>>,
    last: NonNull<Block<T>>,
    /// Index of the first value in the first block.
    head: usize,
    /// One past the last value in the last block (`BLOCK` while there is no block, so the
    /// first push allocates one).
    tail: usize,
    spare: Option<Box<Block<T>>>,
}

// SAFETY: the pointers only alias the boxes in `blocks`, owned by this value; it is as
// `Send`/`Sync` as a `VecDeque<T>`.
unsafe impl<T: Send> Send for Blocks<T> {}
// SAFETY: as above.
unsafe impl<T: Sync> Sync for Blocks<T> {}

impl<T> Blocks<T> {
    pub(crate) fn new() -> Self {
        Blocks {
            blocks: VecDeque::new(),
            first: NonNull::dangling(),
            last: NonNull::dangling(),
            head: 0,
            tail: BLOCK,
            spare: None,
        }
    }

    /// Appends a value (any number fit).
    #[inline]
    pub(crate) fn push(&mut self, value: T) {
        if self.tail == BLOCK {
            self.grow();
        }
        // SAFETY: `last` points to the last block (there is one after `grow`), owned by
        // `blocks`; `tail < BLOCK` indexes a free slot of it.
        unsafe { (*self.last.as_ptr()).slots[self.tail].write(value) };
        self.tail += 1;
    }

    #[cold]
    fn grow(&mut self) {
        let mut block = self.spare.take().unwrap_or_else(Block::new);
        self.last = NonNull::from(&mut *block);
        self.blocks.push_back(block);
        self.tail = 0;
        if self.blocks.len() == 1 {
            self.first = self.last;
            self.head = 0;
        }
    }

    /// Removes the oldest value. The caller ([`Buffer`](super::Buffer)) knows one is there.
    #[inline]
    pub(crate) fn pop(&mut self) -> T {
        debug_assert!(!self.is_empty());
        // SAFETY: a value is queued (the caller's length), so `first` points to the first
        // block and `head` indexes its first value, written by `push` and not yet read.
        let value = unsafe { (*self.first.as_ptr()).slots[self.head].assume_init_read() };
        self.head += 1;
        if self.head == BLOCK {
            self.release_first();
        }
        value
    }

    /// The first block is used up: drop it (keeping one spare), or reset the only block.
    #[cold]
    fn release_first(&mut self) {
        self.head = 0;
        if self.blocks.len() == 1 {
            // Empty now (head and tail both reached the end): start over in place.
            self.tail = 0;
            return;
        }
        let block = self.blocks.pop_front();
        if self.spare.is_none() {
            self.spare = block;
        }
        let first = self
            .blocks
            .front_mut()
            .expect("more than one block was queued");
        self.first = NonNull::from(&mut **first);
    }

    /// Whether no value is queued. With more than one block the first holds at least one
    /// (a used-up first block is released at once).
    fn is_empty(&self) -> bool {
        self.blocks.is_empty() || (self.blocks.len() == 1 && self.head == self.tail)
    }
}

impl<T> Drop for Blocks<T> {
    fn drop(&mut self) {
        // The `Buffer` drains values before it is dropped only when the channel says so;
        // here every value still queued is dropped once.
        while !self.is_empty() {
            drop(self.pop());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_keep_fifo_across_block_boundaries() {
        let mut b = Blocks::new();
        assert!(b.is_empty());
        for i in 0..(BLOCK * 3 + 5) {
            b.push(i);
        }
        for i in 0..(BLOCK * 2) {
            assert_eq!(b.pop(), i);
        }
        for i in 0..BLOCK {
            b.push(10_000 + i);
        }
        for i in (BLOCK * 2)..(BLOCK * 3 + 5) {
            assert_eq!(b.pop(), i);
        }
        for i in 0..BLOCK {
            assert!(!b.is_empty());
            assert_eq!(b.pop(), 10_000 + i);
        }
        assert!(b.is_empty());
        assert!(
            b.blocks.len() <= 1,
            "a drained queue keeps at most its one block"
        );
    }

    #[test]
    fn drained_queue_is_reused_and_leftovers_are_dropped_once() {
        use std::rc::Rc;
        let token = Rc::new(());
        let mut b = Blocks::new();
        for round in 0..3 {
            for _ in 0..(BLOCK + round) {
                b.push(token.clone());
            }
            while !b.is_empty() {
                drop(b.pop());
            }
            assert_eq!(Rc::strong_count(&token), 1);
        }
        for _ in 0..(2 * BLOCK + 3) {
            b.push(token.clone());
        }
        drop(b.pop());
        drop(b);
        assert_eq!(
            Rc::strong_count(&token),
            1,
            "dropping the queue drops each value once"
        );
    }
}
