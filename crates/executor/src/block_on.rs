//! `block_on`: drive one future on the calling thread (the main goroutine).
//!
//! # Design
//!
//! The thread polls the future; when it is pending it parks until the future's waker unparks
//! it. The waker is an `Arc` of the thread handle plus a `notified` flag: `wake` sets the flag
//! (AcqRel swap) and unparks only if it was clear; the parked thread clears the flag (AcqRel
//! swap) before each poll. A wake that lands between the poll and the park leaves the flag
//! set, so the thread does not sleep through it (`std::thread::park` also keeps an unpark
//! token). Each thread caches one such waker, so a `block_on` allocates nothing; a nested
//! `block_on` (from inside the future's poll) gets its own.
//!
//! On a runtime worker thread `block_on` panics instead of blocking: a worker that blocks
//! cannot run the tasks the blocked-on future may be waiting for.

use std::{
    cell::Cell,
    future::Future,
    pin::pin,
    sync::{
        atomic::{AtomicBool, Ordering::AcqRel},
        Arc,
    },
    task::{Context, Poll, Wake, Waker},
    thread::{self, Thread},
};

struct ThreadWaker {
    thread: Thread,
    notified: AtomicBool,
}

impl Wake for ThreadWaker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        // AcqRel: Release publishes what the waker's caller wrote before waking; Acquire
        // keeps the check of the old value ordered.
        if !self.notified.swap(true, AcqRel) {
            self.thread.unpark();
        }
    }
}

thread_local! {
    static CACHED: (Arc<ThreadWaker>, Waker, Cell<bool>) = {
        let tw = Arc::new(ThreadWaker { thread: thread::current(), notified: AtomicBool::new(false) });
        let waker = Waker::from(tw.clone());
        (tw, waker, Cell::new(false))
    };
}

#[track_caller]
pub(crate) fn check_not_on_worker() {
    if crate::scheduler::on_worker_thread() {
        panic!(
            "goro: block_on called from inside a goroutine (on a runtime worker thread); \
             blocking the worker could deadlock the runtime. Use `.await` instead, or call \
             block_on from spawn_blocking or a plain thread"
        );
    }
}

/// Runs `fut` to completion on the current thread.
pub(crate) fn block_on<F: Future>(fut: F) -> F::Output {
    let mut fut = pin!(fut);
    let mut run = |tw: &Arc<ThreadWaker>, waker: &Waker| {
        let mut cx = Context::from_waker(waker);
        loop {
            // AcqRel: Acquire pairs with the waker's Release (see `wake_by_ref`).
            tw.notified.swap(false, AcqRel);
            if let Poll::Ready(v) = fut.as_mut().poll(&mut cx) {
                return v;
            }
            // Acquire: as the swap above; a spurious wakeup just re-checks.
            while !tw.notified.load(std::sync::atomic::Ordering::Acquire) {
                thread::park();
            }
        }
    };
    let cached = CACHED.try_with(|(tw, waker, busy)| {
        if busy.replace(true) {
            None
        } else {
            Some((tw.clone(), waker.clone()))
        }
    });
    match cached {
        Ok(Some((tw, waker))) => {
            struct Release;
            impl Drop for Release {
                fn drop(&mut self) {
                    let _ = CACHED.try_with(|(_, _, busy)| busy.set(false));
                }
            }
            let _release = Release;
            run(&tw, &waker)
        }
        _ => {
            let tw = Arc::new(ThreadWaker {
                thread: thread::current(),
                notified: AtomicBool::new(false),
            });
            let waker = Waker::from(tw.clone());
            run(&tw, &waker)
        }
    }
}
