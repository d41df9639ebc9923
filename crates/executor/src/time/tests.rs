//! Unit tests of the timer driver on its own (no runtime): a test drives it by hand.

use super::{
    driver::{self, Driver},
    Sleep,
};
use std::{
    future::Future,
    panic::{catch_unwind, AssertUnwindSafe},
    pin::Pin,
    sync::{
        atomic::{AtomicUsize, Ordering::SeqCst},
        Arc,
    },
    task::{Context, Poll, Wake, Waker},
    thread,
    time::{Duration, Instant},
};

#[derive(Default)]
struct CountWaker(AtomicUsize);

impl Wake for CountWaker {
    fn wake(self: Arc<Self>) {
        self.0.fetch_add(1, SeqCst);
    }
}

fn driver() -> (Driver, Arc<AtomicUsize>) {
    let unparks = Arc::new(AtomicUsize::new(0));
    let u = unparks.clone();
    let d = Driver::with_shards(
        3,
        Arc::new(move || {
            u.fetch_add(1, SeqCst);
        }),
    );
    (d, unparks)
}

/// Runs the driver until `done()` or a generous deadline; returns whether `done()` held.
fn drive_until(d: &Driver, mut done: impl FnMut() -> bool) -> bool {
    let give_up = Instant::now() + Duration::from_secs(10);
    while Instant::now() < give_up {
        d.process_expired();
        if done() {
            return true;
        }
        thread::sleep(Duration::from_micros(200));
    }
    false
}

#[test]
fn sleep_fires_never_early_then_frees_on_drop() {
    let (d, _) = driver();
    let w = Arc::new(CountWaker::default());
    let waker = Waker::from(w.clone());
    let mut cx = Context::from_waker(&waker);
    let deadline = Instant::now() + Duration::from_millis(5);
    let mut s = Sleep::registered_with(&d, deadline, &mut cx);
    assert_eq!(d.timer_count(), 1);
    assert!(Pin::new(&mut s).poll(&mut cx).is_pending());
    assert!(d.next_deadline().unwrap() <= deadline + Duration::from_millis(1));
    assert!(drive_until(&d, || w.0.load(SeqCst) > 0));
    assert!(Instant::now() >= deadline, "fired early");
    assert_eq!(Pin::new(&mut s).poll(&mut cx), Poll::Ready(()));
    drop(s);
    assert_eq!(d.timer_count(), 0);
    assert_eq!(d.next_deadline(), None);
}

#[test]
fn cancel_by_drop_removes_entries() {
    let (d, _) = driver();
    let w = Arc::new(CountWaker::default());
    let waker = Waker::from(w.clone());
    let mut cx = Context::from_waker(&waker);
    // Deadlines far enough ahead that even a slow run (valgrind) registers them all in time.
    let first = Instant::now() + Duration::from_millis(1000);
    let sleeps: Vec<Sleep> = (0..2_000u32)
        .map(|i| Sleep::registered_with(&d, first + Duration::from_micros(50) * i, &mut cx))
        .collect();
    assert!(
        Instant::now() < first,
        "registration took too long for this test"
    );
    assert_eq!(d.timer_count(), 2_000);
    drop(sleeps);
    assert_eq!(d.timer_count(), 0);
    // Once they would all be due, nothing fires.
    thread::sleep(first + Duration::from_millis(110) - Instant::now());
    assert_eq!(d.process_expired(), 0);
    assert_eq!(w.0.load(SeqCst), 0);
    // The stale earliest deadline was recomputed away.
    assert_eq!(d.next_deadline(), None);
}

#[test]
fn unpark_only_when_earliest_lowers() {
    let (d, unparks) = driver();
    let w = Arc::new(CountWaker::default());
    let waker = Waker::from(w.clone());
    let mut cx = Context::from_waker(&waker);
    let now = Instant::now();
    let _a = Sleep::registered_with(&d, now + Duration::from_secs(100), &mut cx);
    assert_eq!(unparks.load(SeqCst), 1);
    let _b = Sleep::registered_with(&d, now + Duration::from_secs(200), &mut cx);
    assert_eq!(unparks.load(SeqCst), 1);
    let _c = Sleep::registered_with(&d, now + Duration::from_secs(50), &mut cx);
    assert_eq!(unparks.load(SeqCst), 2);
    let next = d.next_deadline().unwrap();
    assert!(next <= now + Duration::from_secs(50) + Duration::from_millis(1));
}

#[test]
fn fires_in_deadline_order() {
    let (d, _) = driver();
    let order = Arc::new(std::sync::Mutex::new(Vec::new()));
    struct Push(usize, Arc<std::sync::Mutex<Vec<usize>>>);
    impl Wake for Push {
        fn wake(self: Arc<Self>) {
            self.1.lock().unwrap().push(self.0);
        }
    }
    let base = Instant::now() + Duration::from_millis(300);
    let mut sleeps = Vec::new();
    // Insert in scrambled order; deadlines 2 ms apart, all in one shard.
    for i in [7usize, 2, 9, 0, 5, 3, 8, 1, 6, 4] {
        let waker = Waker::from(Arc::new(Push(i, order.clone())));
        let mut cx = Context::from_waker(&waker);
        let at = base + Duration::from_millis(2 * i as u64);
        sleeps.push(Sleep::registered_with(&d, at, &mut cx));
    }
    assert!(
        Instant::now() < base,
        "registration took too long for this test"
    );
    // Process only after all are due: a single batch must still come out in order.
    thread::sleep(base + Duration::from_millis(30) - Instant::now());
    assert!(drive_until(&d, || order.lock().unwrap().len() == 10));
    assert_eq!(*order.lock().unwrap(), (0..10).collect::<Vec<_>>());
}

#[test]
fn shutdown_drops_wakers_and_poll_then_panics() {
    let (d, _) = driver();
    let w = Arc::new(CountWaker::default());
    let waker = Waker::from(w.clone());
    let mut cx = Context::from_waker(&waker);
    let mut s = Sleep::registered_with(&d, Instant::now() + Duration::from_secs(60), &mut cx);
    drop(waker);
    assert_eq!(Arc::strong_count(&w), 2, "the driver holds the waker");
    d.shutdown();
    assert_eq!(Arc::strong_count(&w), 1, "shutdown dropped the waker");
    assert_eq!(d.next_deadline(), None);
    let waker = Waker::from(w.clone());
    let mut cx = Context::from_waker(&waker);
    let err = catch_unwind(AssertUnwindSafe(|| Pin::new(&mut s).poll(&mut cx))).unwrap_err();
    let msg = err.downcast_ref::<&str>().copied().unwrap_or_default();
    assert!(msg.contains("shut down"), "{msg}");
    drop(s);
    assert_eq!(d.timer_count(), 0);
}

#[test]
fn reset_moves_deadline_both_ways() {
    let (d, _) = driver();
    let w = Arc::new(CountWaker::default());
    let waker = Waker::from(w.clone());
    let mut cx = Context::from_waker(&waker);
    let start = Instant::now();
    let mut s = Sleep::registered_with(&d, start + Duration::from_secs(3600), &mut cx);
    let soon = Instant::now() + Duration::from_millis(3);
    s.reset(soon);
    assert!(drive_until(&d, || w.0.load(SeqCst) == 1));
    assert!(Instant::now() >= soon);
    assert!(Pin::new(&mut s).poll(&mut cx).is_ready());
    // Re-arm after firing, into the past: fires at once.
    s.reset(start);
    assert!(Pin::new(&mut s).poll(&mut cx).is_ready());
    // And far away again: pending.
    s.reset(Instant::now() + Duration::from_secs(3600));
    assert!(Pin::new(&mut s).poll(&mut cx).is_pending());
    assert_eq!(d.timer_count(), 1);
}

#[test]
fn after_entry_fires_once_keeps_channel_open_and_is_swept() {
    let (d, _) = driver();
    let (tx, rx) = goro_channel::bounded(1);
    let at = Instant::now() + Duration::from_millis(2);
    assert!(d
        .register(at, Instant::now(), driver::once_notify(tx), false)
        .is_none());
    assert!(drive_until(&d, || !rx.is_empty()));
    let fired = rx.try_recv().unwrap();
    assert!(fired >= at);
    assert_eq!(d.timer_count(), 0, "a fired after entry is freed");
    assert!(!rx.is_closed(), "Go's After channel stays open");
    assert!(rx.try_recv().is_err());

    // Abandoned afters (receivers dropped before firing) are swept, not kept until they fire.
    let far = Instant::now() + Duration::from_secs(3600);
    for _ in 0..20_000 {
        let (tx, rx) = goro_channel::bounded(1);
        let _ = d.register(far, Instant::now(), driver::once_notify(tx), false);
        drop(rx);
    }
    assert!(d.timer_count() < 10_000, "{} left", d.timer_count());
}

#[test]
fn tick_entry_drops_ticks_for_a_slow_receiver() {
    let (d, _) = driver();
    let (tx, rx) = goro_channel::bounded(1);
    let _ = d.register(
        Instant::now() + Duration::from_millis(1),
        Instant::now(),
        driver::tick_notify(tx, 1),
        false,
    );
    let end = Instant::now() + Duration::from_millis(30);
    drive_until(&d, || Instant::now() >= end);
    assert_eq!(rx.len(), 1, "ticks must not pile up");
    let a = rx.try_recv().unwrap();
    assert!(drive_until(&d, || !rx.is_empty()));
    assert!(rx.try_recv().unwrap() > a);
    // Dropping the receiver ends the ticker at its next firing.
    drop(rx);
    assert!(drive_until(&d, || d.timer_count() == 0));
}

#[test]
fn far_future_and_past_deadlines() {
    let (d, _) = driver();
    let w = Arc::new(CountWaker::default());
    let waker = Waker::from(w.clone());
    let mut cx = Context::from_waker(&waker);
    let far = driver::deadline_after(Duration::MAX);
    assert!(far > Instant::now() + Duration::from_secs(86_400 * 365));
    let mut s = Sleep::registered_with(&d, far, &mut cx);
    assert!(Pin::new(&mut s).poll(&mut cx).is_pending());
    let past = Instant::now();
    thread::sleep(Duration::from_millis(2));
    let mut p = Sleep::registered_with(&d, past, &mut cx);
    assert!(Pin::new(&mut p).poll(&mut cx).is_ready());
    d.process_expired();
    assert!(Pin::new(&mut s).poll(&mut cx).is_pending());
}
