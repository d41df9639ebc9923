//! `bounded(1)`, which keeps its one slot inline in the channel (a storage of its own, beside
//! the ring of `bounded(n)`): the shared suite.
mod common;

common::flavor_tests!(bounded1, Some(1));

fn bounded1<T>() -> (Sender<T>, Receiver<T>) {
    bounded(1)
}
