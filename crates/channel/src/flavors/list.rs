//! The unbounded flavor: a queue of fixed-size blocks.
//!
//! Values are appended to the last block and taken from the first; a full last block gets a
//! fresh block behind it, an emptied first block is released (one spare is kept to avoid
//! allocating on every block boundary in a steady stream). Growing never copies existing
//! values, and a queue that drains gives its memory back, unlike a single growable ring.
//! Access is serialised by the channel lock.

use std::collections::VecDeque;

/// Values per block.
const BLOCK: usize = if cfg!(loom) { 2 } else { 64 };

pub(crate) struct Blocks<T> {
    blocks: VecDeque<VecDeque<T>>,
    spare: Option<VecDeque<T>>,
    len: usize,
}

impl<T> Blocks<T> {
    pub(crate) fn new() -> Self {
        Blocks {
            blocks: VecDeque::new(),
            spare: None,
            len: 0,
        }
    }

    #[inline]
    pub(crate) fn push(&mut self, value: T) {
        match self.blocks.back_mut() {
            Some(last) if last.len() < BLOCK => last.push_back(value),
            _ => {
                let mut block = self
                    .spare
                    .take()
                    .unwrap_or_else(|| VecDeque::with_capacity(BLOCK));
                block.push_back(value);
                self.blocks.push_back(block);
            }
        }
        self.len += 1;
    }

    #[inline]
    pub(crate) fn pop(&mut self) -> Option<T> {
        let first = self.blocks.front_mut()?;
        let value = first.pop_front();
        debug_assert!(value.is_some(), "an empty block stays queued");
        if first.is_empty() {
            let block = self.blocks.pop_front();
            if self.spare.is_none() {
                self.spare = block;
            }
        }
        self.len -= 1;
        value
    }

    pub(crate) fn len(&self) -> usize {
        self.len
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_keep_fifo_across_block_boundaries() {
        let mut b = Blocks::new();
        for i in 0..(BLOCK * 3 + 5) {
            b.push(i);
        }
        assert_eq!(b.len(), BLOCK * 3 + 5);
        for i in 0..(BLOCK * 2) {
            assert_eq!(b.pop(), Some(i));
        }
        for i in 0..BLOCK {
            b.push(10_000 + i);
        }
        for i in (BLOCK * 2)..(BLOCK * 3 + 5) {
            assert_eq!(b.pop(), Some(i));
        }
        for i in 0..BLOCK {
            assert_eq!(b.pop(), Some(10_000 + i));
        }
        assert_eq!(b.pop(), None);
        assert_eq!(b.len(), 0);
        assert!(b.blocks.is_empty());
    }
}
