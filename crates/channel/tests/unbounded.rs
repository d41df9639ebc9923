//! The unbounded flavor: the shared suite plus growth checks.
mod common;

common::flavor_tests!(unbounded, None::<usize>);

#[test]
fn grows_and_drains_in_order() {
    let (tx, rx) = unbounded();
    for i in 0..100_000 {
        tx.try_send(i).unwrap();
    }
    assert_eq!(rx.len(), 100_000);
    for i in 0..100_000 {
        assert_eq!(rx.try_recv(), Ok(i));
    }
    assert!(rx.is_empty());
    let _ = Duration::ZERO;
    let _ = thread::current();
}

#[test]
fn values_left_are_dropped_once_with_the_channel() {
    let drops = Arc::new(AtomicUsize::new(0));
    let (tx, rx) = unbounded();
    for i in 0..1000 {
        tx.try_send(common::Counted::new(i, &drops)).unwrap();
    }
    drop(rx.try_recv().unwrap());
    assert_eq!(drops.load(Ordering::SeqCst), 1);
    drop(tx);
    assert_eq!(drops.load(Ordering::SeqCst), 1);
    drop(rx);
    assert_eq!(drops.load(Ordering::SeqCst), 1000);
}
