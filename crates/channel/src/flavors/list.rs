//! The unbounded flavor: a queue of fixed-size blocks.
//!
//! Values are appended to the last block and taken from the first; a full last block gets a
//! fresh block behind it, an emptied first block is released (one spare is kept, so a
//! steady stream that crosses block boundaries does not allocate). Growing never copies
//! existing values, and a queue that drains gives its memory back, unlike a single growable
//! ring. crossbeam's `list` flavor has the same shape (lock-free there); here access is
//! serialised by the channel lock, so the blocks are plain memory.
//!
//! Layout: `blocks` holds the blocks in order, each of `BLOCK` slots (about 2 KiB of
//! values). Values occupy `head..BLOCK` of the first block, all of the middle ones, and
//! `..tail` of the last one (`head..tail` when there is one block). An empty queue keeps no
//! block, or its one block with `head == tail`.

use std::collections::VecDeque;
use std::mem::MaybeUninit;
use std::ptr::NonNull;

/// Bytes per block to aim for: big enough that a fast stream allocates rarely, small enough
/// that an idle channel of large values does not hold much memory.
const BLOCK_BYTES: usize = 2048;

type Block<T> = Box<[MaybeUninit<T>]>;

/// `repr(C)` with the cursors every push and pop uses first (24 bytes), so they fit in the
/// channel's first cache line (see the layout note in [`flavors`](super)); `head` and `tail`
/// are `u32`, as a block holds at most 256 values.
#[repr(C)]
pub(crate) struct Blocks<T> {
    /// The first slot of the first and of the last block (a block's heap address is stable
    /// however `blocks` moves its array of boxes); dangling while there is no block.
    first: NonNull<MaybeUninit<T>>,
    last: NonNull<MaybeUninit<T>>,
    /// Index of the first value in the first block.
    head: u32,
    /// One past the last value in the last block (`BLOCK` while there is no block, so the
    /// first push allocates one).
    tail: u32,
    blocks: VecDeque<Block<T>>,
    spare: Option<Block<T>>,
}

// SAFETY: the pointers only alias the blocks in `blocks`, owned by this value; it is as
// `Send`/`Sync` as a `VecDeque<T>`.
unsafe impl<T: Send> Send for Blocks<T> {}
// SAFETY: as above.
unsafe impl<T: Sync> Sync for Blocks<T> {}

impl<T> Blocks<T> {
    /// Values per block: `BLOCK_BYTES` worth, between 16 and 256 (2 under loom, so that
    /// models cross block boundaries).
    const BLOCK: usize = if cfg!(loom) {
        2
    } else {
        let size = if std::mem::size_of::<T>() == 0 {
            1
        } else {
            std::mem::size_of::<T>()
        };
        let n = BLOCK_BYTES / size;
        if n < 16 {
            16
        } else if n > 256 {
            256
        } else {
            n
        }
    };

    pub(crate) fn new() -> Self {
        Blocks {
            blocks: VecDeque::new(),
            first: NonNull::dangling(),
            last: NonNull::dangling(),
            head: 0,
            tail: Self::BLOCK as u32,
            spare: None,
        }
    }

    /// Appends a value (any number fit).
    #[inline]
    pub(crate) fn push(&mut self, value: T) {
        if self.tail as usize == Self::BLOCK {
            self.grow();
        }
        // SAFETY: `last` is the first slot of the last block (there is one after `grow`),
        // owned by `blocks`, of `BLOCK` slots; `tail < BLOCK` indexes a free one.
        unsafe {
            self.last
                .as_ptr()
                .add(self.tail as usize)
                .write(MaybeUninit::new(value))
        };
        self.tail += 1;
    }

    #[cold]
    fn grow(&mut self) {
        let mut block = self.spare.take().unwrap_or_else(|| {
            (0..Self::BLOCK)
                .map(|_| MaybeUninit::uninit())
                .collect::<Block<T>>()
        });
        self.last = NonNull::from(&mut block[0]);
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
        // SAFETY: a value is queued (the caller's length), so `first` is the first slot of
        // the first block and `head < BLOCK` indexes its first value, written by `push` and
        // not yet read.
        let value = unsafe {
            self.first
                .as_ptr()
                .add(self.head as usize)
                .read()
                .assume_init()
        };
        self.head += 1;
        if self.head as usize == Self::BLOCK {
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
        self.first = NonNull::from(&mut first[0]);
    }

    /// Where the cursors (`first`, `last`, `head`, `tail`) start, and how many bytes they
    /// take (a layout test checks they share the lock's cache line).
    #[cfg(test)]
    pub(crate) fn hot_start(&self) -> usize {
        &self.first as *const _ as usize
    }

    #[cfg(test)]
    pub(crate) fn hot_len(&self) -> usize {
        (&self.tail as *const u32 as usize) + std::mem::size_of::<u32>() - self.hot_start()
    }

    /// Whether no value is queued. With more than one block the first holds at least one
    /// (a used-up first block is released at once).
    fn is_empty(&self) -> bool {
        self.blocks.is_empty() || (self.blocks.len() == 1 && self.head == self.tail)
    }
}

impl<T> Drop for Blocks<T> {
    fn drop(&mut self) {
        // Every value still queued is dropped once (the slots themselves are
        // `MaybeUninit`, which the blocks' own drop does not touch).
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
        const B: usize = Blocks::<usize>::BLOCK;
        let mut b = Blocks::new();
        assert!(b.is_empty());
        for i in 0..(B * 3 + 5) {
            b.push(i);
        }
        for i in 0..(B * 2) {
            assert_eq!(b.pop(), i);
        }
        for i in 0..B {
            b.push(10_000 + i);
        }
        for i in (B * 2)..(B * 3 + 5) {
            assert_eq!(b.pop(), i);
        }
        for i in 0..B {
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
    fn block_size_follows_the_value_size() {
        assert_eq!(Blocks::<u64>::BLOCK, 256);
        assert_eq!(Blocks::<[u8; 64]>::BLOCK, 32);
        assert_eq!(Blocks::<[u8; 4096]>::BLOCK, 16);
        assert_eq!(Blocks::<()>::BLOCK, 256);
    }

    #[test]
    fn drained_queue_is_reused_and_leftovers_are_dropped_once() {
        use std::rc::Rc;
        const B: usize = Blocks::<Rc<()>>::BLOCK;
        let token = Rc::new(());
        let mut b = Blocks::new();
        for round in 0..3 {
            for _ in 0..(B + round) {
                b.push(token.clone());
            }
            while !b.is_empty() {
                drop(b.pop());
            }
            assert_eq!(Rc::strong_count(&token), 1);
        }
        for _ in 0..(2 * B + 3) {
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
