//! What a select costs on its fast path: a select over 4 channels where one is ready
//! allocates nothing (its cases live on the stack, the ready one is taken on the first
//! pass). Checked with a counting global allocator.
use goro_channel::{bounded, rendezvous, select, select_blocking, unbounded};
use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::future::Future;
use std::pin::pin;
use std::task::{Context, Poll};

struct Counting;

thread_local!(static ALLOCS: Cell<usize> = const { Cell::new(0) });

// SAFETY: forwards to the system allocator; only counts calls.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let _ = ALLOCS.try_with(|n| n.set(n.get() + 1));
        // SAFETY: same contract as ours.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: same contract as ours.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn allocs() -> usize {
    ALLOCS.with(|n| n.get())
}

#[test]
fn select_with_one_ready_case_allocates_nothing() {
    let (t0, r0) = bounded::<u32>(4);
    let (_t1, r1) = unbounded::<u32>();
    let (_t2, r2) = rendezvous::<u32>();
    let (t3, r3) = bounded::<u32>(1);
    t3.try_send(0).unwrap();
    let waker = futures::task::noop_waker();
    let mut cx = Context::from_waker(&waker);
    for round in 0..100 {
        t0.try_send(round).unwrap();
        let before = allocs();
        let fut = pin!(async {
            select! {
                recv(r1) -> _ => None,
                recv(r0) -> v => v.ok(),
                recv(r2) -> _ => None,
                send(t3, 9) -> _ => None,
            }
        });
        let got = fut.poll(&mut cx);
        let during = allocs() - before;
        assert_eq!(got, Poll::Ready(Some(round)));
        assert_eq!(during, 0, "async select allocated {during} times");

        t0.try_send(round).unwrap();
        let before = allocs();
        let got = select_blocking! {
            recv(r1) -> _ => None,
            recv(r0) -> v => v.ok(),
            recv(r2) -> _ => None,
            send(t3, 9) -> _ => None,
        };
        let during = allocs() - before;
        assert_eq!(got, Some(round));
        assert_eq!(during, 0, "blocking select allocated {during} times");
    }
    drop(r3);
}
