//! The rendezvous flavor (`bounded(0)`, Go's `make(chan T)`): no buffer.
//!
//! A value moves only from a waiting sender's packet to an arriving receiver, or from an
//! arriving sender into a waiting receiver's packet, both under the channel lock (see
//! [`waiter`](crate::waiter)). A send therefore completes exactly when a receiver has the
//! value. The buffer type is empty; the behaviour lives in the shared protocol.

/// The (absent) buffer of a rendezvous channel.
pub(crate) struct Zero;
