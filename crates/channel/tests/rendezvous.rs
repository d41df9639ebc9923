//! The rendezvous flavor (`bounded(0)`): the shared suite plus synchronisation checks.
mod common;

common::flavor_tests!(rendezvous, Some(0));

#[test]
fn send_completes_only_when_received() {
    let _w = common::watchdog("send_completes_only_when_received", 20);
    for round in 0..20 {
        let (tx, rx) = rendezvous::<u32>();
        let sent = Arc::new(AtomicUsize::new(0));
        let s2 = sent.clone();
        let t = thread::spawn(move || {
            tx.send_blocking(round).unwrap();
            s2.store(1, Ordering::SeqCst);
        });
        // Give a wrongly buffered send every chance to complete early. (The sleep only
        // gives the bug room to show; a correct channel passes whatever the timing.)
        thread::sleep(Duration::from_millis(2));
        assert_eq!(
            sent.load(Ordering::SeqCst),
            0,
            "send completed with no receiver"
        );
        assert!(rx.is_empty());
        assert_eq!(rx.recv_blocking(), Ok(round));
        t.join().unwrap();
        assert_eq!(sent.load(Ordering::SeqCst), 1);
    }
}

#[test]
fn try_send_succeeds_with_a_waiting_receiver() {
    let _w = common::watchdog("try_send_succeeds_with_a_waiting_receiver", 10);
    let (tx, rx) = rendezvous::<u32>();
    assert!(tx.try_send(1).unwrap_err().is_full());
    let t = thread::spawn(move || rx.recv_blocking());
    // Keep trying until the receiver is parked; then exactly one try_send succeeds.
    let mut v = 2;
    loop {
        match tx.try_send(v) {
            Ok(()) => break,
            Err(TrySendError::Full(back)) => {
                v = back;
                thread::yield_now();
            }
            Err(TrySendError::Closed(_)) => panic!("closed"),
        }
    }
    assert_eq!(t.join().unwrap(), Ok(2));
    let _ = Duration::ZERO;
}

#[test]
fn try_recv_succeeds_with_a_waiting_sender() {
    let _w = common::watchdog("try_recv_succeeds_with_a_waiting_sender", 10);
    let (tx, rx) = rendezvous::<u32>();
    assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
    let t = thread::spawn(move || tx.send_blocking(5));
    let v = loop {
        match rx.try_recv() {
            Ok(v) => break v,
            Err(TryRecvError::Empty) => thread::yield_now(),
            Err(TryRecvError::Closed) => panic!("closed"),
        }
    };
    assert_eq!(v, 5);
    t.join().unwrap().unwrap();
}
