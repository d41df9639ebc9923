//! Helpers shared by the loom models (`loom_*.rs`): the model runner with the preemption
//! bound these models use, and a single poll with a no-op waker.
#![allow(dead_code)]

use futures::task::noop_waker;
use std::{
    future::Future,
    pin::Pin,
    task::{Context, Poll},
};

/// Checks `f` under loom, exploring interleavings with at most 3 preemptions.
pub(crate) fn model(f: impl Fn() + Sync + Send + 'static) {
    let mut b = loom::model::Builder::new();
    b.preemption_bound = Some(3);
    b.check(f);
}

/// Polls `f` once with a waker that does nothing.
pub(crate) fn poll_once<F: Future + Unpin>(f: &mut F) -> Poll<F::Output> {
    let waker = noop_waker();
    Pin::new(f).poll(&mut Context::from_waker(&waker))
}
