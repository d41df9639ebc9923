//! Driving this crate's futures to completion on a plain thread (the `_blocking` methods).
//!
//! Every blocking method polls the very same future as its async twin, with a waker that
//! unparks the calling thread. So there is one code path for waiting, one place where a wait
//! starts and stops, and the blocking forms inherit the async forms' fairness and
//! cancellation behaviour.

use std::future::Future;

/// Polls `fut` on the current thread until it completes, parking the thread in between.
#[cfg(not(loom))]
pub(crate) fn block_on<F: Future>(fut: F) -> F::Output {
    use std::{
        pin::pin,
        sync::Arc,
        task::{Context, Poll, Wake, Waker},
        thread::{self, Thread},
    };

    struct Unparker(Thread);
    impl Wake for Unparker {
        fn wake(self: Arc<Self>) {
            self.0.unpark();
        }
        fn wake_by_ref(self: &Arc<Self>) {
            self.0.unpark();
        }
    }
    thread_local! {
        static WAKER: Waker = Waker::from(Arc::new(Unparker(thread::current())));
    }

    let mut fut = pin!(fut);
    WAKER.with(|waker| {
        let mut cx = Context::from_waker(waker);
        loop {
            if let Poll::Ready(v) = fut.as_mut().poll(&mut cx) {
                return v;
            }
            // A spurious or stale unpark only costs one more poll.
            thread::park();
        }
    })
}

/// Under loom, a blocked thread waits on a loom `Condvar` that its waker signals (loom
/// explores the interleavings around it; a spin loop would never terminate under loom).
#[cfg(loom)]
pub(crate) fn block_on<F: Future>(fut: F) -> F::Output {
    use loom::sync::{Condvar, Mutex};
    use std::{
        pin::pin,
        sync::Arc,
        task::{Context, Poll, Wake, Waker},
    };

    struct Parker {
        woken: Mutex<bool>,
        cv: Condvar,
    }
    impl Wake for Parker {
        fn wake(self: Arc<Self>) {
            *self.woken.lock().unwrap() = true;
            self.cv.notify_one();
        }
    }

    let parker = Arc::new(Parker {
        woken: Mutex::new(false),
        cv: Condvar::new(),
    });
    let waker = Waker::from(Arc::clone(&parker));
    let mut cx = Context::from_waker(&waker);
    let mut fut = pin!(fut);
    loop {
        if let Poll::Ready(v) = fut.as_mut().poll(&mut cx) {
            return v;
        }
        let mut woken = parker.woken.lock().unwrap();
        while !*woken {
            woken = parker.cv.wait(woken).unwrap();
        }
        *woken = false;
    }
}
