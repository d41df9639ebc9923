//! RwMutex: readers share, writers exclude, a waiting writer blocks new readers, writers are
//! not starved by a stream of readers, readers are not starved by a stream of writers
//! (starvation mode admits them), downgrade, unwinding, cancellation.

mod common;

use common::{count_waker, poll_once, watchdog};
use goro_sync::{RwMutex, RwMutexWriteGuard};
use std::{
    panic::{catch_unwind, AssertUnwindSafe},
    sync::{
        atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst},
        Arc, Barrier,
    },
    task::Poll,
    thread,
    time::Duration,
};

#[test]
fn readers_hold_the_lock_together() {
    let _w = watchdog("readers_hold_the_lock_together", 30);
    const READERS: usize = 4;
    let lock = Arc::new(RwMutex::new(7));
    // Every reader holds its guard while waiting at the barrier: this only finishes if all
    // READERS guards are held at the same time.
    let barrier = Arc::new(Barrier::new(READERS));
    let hs: Vec<_> = (0..READERS)
        .map(|i| {
            let (lock, barrier) = (lock.clone(), barrier.clone());
            thread::spawn(move || {
                if i % 2 == 0 {
                    let g = lock.read_blocking();
                    barrier.wait();
                    *g
                } else {
                    futures::executor::block_on(async {
                        let g = lock.read().await;
                        barrier.wait();
                        *g
                    })
                }
            })
        })
        .collect();
    for h in hs {
        assert_eq!(h.join().unwrap(), 7);
    }
}

#[test]
fn writers_exclude_everyone() {
    let _w = watchdog("writers_exclude_everyone", 60);
    let lock = Arc::new(RwMutex::new(0usize));
    let readers_in = Arc::new(AtomicUsize::new(0));
    let writer_in = Arc::new(AtomicBool::new(false));
    let hs: Vec<_> = (0..4)
        .map(|t| {
            let (lock, readers_in, writer_in) =
                (lock.clone(), readers_in.clone(), writer_in.clone());
            thread::spawn(move || {
                for i in 0..5_000 {
                    if (i + t) % 4 == 0 {
                        let mut g = lock.write_blocking();
                        assert!(!writer_in.swap(true, SeqCst));
                        assert_eq!(readers_in.load(SeqCst), 0);
                        *g += 1;
                        writer_in.store(false, SeqCst);
                    } else {
                        let g = lock.read_blocking();
                        readers_in.fetch_add(1, SeqCst);
                        assert!(!writer_in.load(SeqCst));
                        let _ = *g;
                        readers_in.fetch_sub(1, SeqCst);
                    }
                }
            })
        })
        .collect();
    for h in hs {
        h.join().unwrap();
    }
    assert_eq!(*lock.read_blocking(), 4 * 5_000 / 4);
}

#[test]
fn waiting_writer_blocks_new_readers() {
    let lock = RwMutex::new(());
    let (_, waker) = count_waker();
    let r1 = lock.try_read().unwrap();
    let mut w = lock.write();
    assert!(poll_once(&mut w, &waker).is_pending());
    assert!(
        lock.try_read().is_none(),
        "a queued writer blocks new readers"
    );
    let mut r2 = lock.read();
    assert!(poll_once(&mut r2, &waker).is_pending());
    drop(r1);
    let Poll::Ready(wg) = poll_once(&mut w, &waker) else {
        panic!("writer gets the lock when the last reader leaves")
    };
    assert!(poll_once(&mut r2, &waker).is_pending());
    drop(wg);
    assert!(poll_once(&mut r2, &waker).is_ready());
}

/// Readers keep overlapping so the lock is never free of readers; a writer must still get in,
/// and readers that arrive after it must wait for it.
#[test]
fn writer_not_starved_by_reader_stream() {
    let _w = watchdog("writer_not_starved_by_reader_stream", 60);
    const BOUND: usize = 10_000_000;
    let lock = Arc::new(RwMutex::new(0u64));
    let reads = Arc::new(AtomicUsize::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let readers: Vec<_> = (0..3)
        .map(|_| {
            let (lock, reads, stop) = (lock.clone(), reads.clone(), stop.clone());
            thread::spawn(move || {
                while !stop.load(SeqCst) && reads.load(SeqCst) < BOUND {
                    let _g = lock.read_blocking();
                    reads.fetch_add(1, SeqCst);
                }
            })
        })
        .collect();
    while reads.load(SeqCst) < 1000 {
        std::hint::spin_loop();
    }
    let mut worst = 0;
    for _ in 0..50 {
        let before = reads.load(SeqCst);
        *lock.write_blocking() += 1;
        worst = worst.max(reads.load(SeqCst) - before);
    }
    stop.store(true, SeqCst);
    for r in readers {
        r.join().unwrap();
    }
    assert!(worst < BOUND / 2, "writer waited through {worst} reads");
    assert_eq!(*lock.read_blocking(), 50);
}

#[test]
fn downgrade_admits_queued_readers() {
    let lock = RwMutex::new(1);
    let (_, waker) = count_waker();
    let mut w = lock.write_blocking();
    let mut r = lock.read();
    assert!(poll_once(&mut r, &waker).is_pending());
    *w = 2;
    let rg = RwMutexWriteGuard::downgrade(w);
    let Poll::Ready(r2) = poll_once(&mut r, &waker) else {
        panic!("queued reader gets in after downgrade")
    };
    assert_eq!(*rg + *r2, 4);
    assert!(lock.try_write().is_none());
    drop((rg, r2));
    assert!(lock.try_write().is_some());
}

#[test]
fn cancelled_writer_lets_queued_readers_in() {
    let lock = RwMutex::new(());
    let (wakes, waker) = count_waker();
    let r1 = lock.try_read().unwrap();
    let mut w = lock.write();
    assert!(poll_once(&mut w, &waker).is_pending());
    let mut r2 = lock.read();
    assert!(poll_once(&mut r2, &waker).is_pending());
    let before = wakes.0.load(SeqCst);
    drop(w);
    assert!(wakes.0.load(SeqCst) > before, "the queued reader was woken");
    assert!(poll_once(&mut r2, &waker).is_ready());
    drop(r1);
    assert!(lock.try_write().is_some(), "nothing stays locked");
}

#[test]
fn try_forms_and_into_inner() {
    let mut lock = RwMutex::new(vec![1]);
    lock.get_mut().push(2);
    {
        let r = lock.try_read().unwrap();
        assert!(lock.try_write().is_none());
        assert_eq!(r.len(), 2);
    }
    lock.try_write().unwrap().push(3);
    assert_eq!(format!("{lock:?}"), "RwMutex { data: [1, 2, 3], .. }");
    assert_eq!(lock.into_inner(), [1, 2, 3]);
}

/// Go's rule, deterministically: a reader that has waited more than 1 ms and is overtaken by
/// another writer sets starvation mode; the next write unlock then lets it in (holding the
/// read lock when it runs) before the writer waiting behind.
#[test]
fn starving_reader_is_admitted_by_the_next_write_unlock() {
    let lock = RwMutex::new(0);
    let (r_wakes, r_waker) = count_waker();
    let (_, w_waker) = count_waker();
    let w1 = lock.try_write().unwrap();
    let mut r = lock.read();
    assert!(poll_once(&mut r, &r_waker).is_pending());
    // Only a lower bound on the elapsed time matters here.
    thread::sleep(Duration::from_millis(3));
    drop(w1); // wakes the reader ...
    assert_eq!(r_wakes.0.load(SeqCst), 1);
    let w2 = lock.try_write().expect("... but a writer gets in first");
    assert!(
        poll_once(&mut r, &r_waker).is_pending(),
        "overtaken: waits again, starving"
    );
    let mut w3 = lock.write();
    assert!(poll_once(&mut w3, &w_waker).is_pending());
    drop(w2); // admits the starving reader
    assert_eq!(r_wakes.0.load(SeqCst), 2);
    assert!(
        lock.try_write().is_none(),
        "the admitted reader holds the lock"
    );
    assert!(
        poll_once(&mut w3, &w_waker).is_pending(),
        "w3 waits for the admitted reader"
    );
    let Poll::Ready(g) = poll_once(&mut r, &r_waker) else {
        panic!("the admitted reader completes")
    };
    assert_eq!(*g, 0);
    drop(g);
    let Poll::Ready(mut g3) = poll_once(&mut w3, &w_waker) else {
        panic!("then the writer")
    };
    *g3 += 1;
    drop(g3);
    assert_eq!(*lock.try_read().unwrap(), 1);
}

/// An admitted reader whose future is dropped before it runs gives the read lock back.
#[test]
fn dropped_admitted_reader_unlocks() {
    let lock = RwMutex::new(());
    let (_, waker) = count_waker();
    let w1 = lock.try_write().unwrap();
    let mut r = lock.read();
    assert!(poll_once(&mut r, &waker).is_pending());
    thread::sleep(Duration::from_millis(3));
    drop(w1);
    let w2 = lock.try_write().unwrap();
    assert!(poll_once(&mut r, &waker).is_pending());
    drop(w2); // admits `r`
    assert!(lock.try_write().is_none());
    drop(r);
    assert!(
        lock.try_write().is_some(),
        "the admitted read lock was released"
    );
}

/// Writers keep the lock busy back to back (each re-locks at once); readers must still get in
/// within a bounded number of writes.
#[test]
fn reader_not_starved_by_writer_stream() {
    let _w = watchdog("reader_not_starved_by_writer_stream", 60);
    const BOUND: usize = 10_000_000;
    let lock = Arc::new(RwMutex::new(0u64));
    let writes = Arc::new(AtomicUsize::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let writers: Vec<_> = (0..2)
        .map(|_| {
            let (lock, writes, stop) = (lock.clone(), writes.clone(), stop.clone());
            thread::spawn(move || {
                while !stop.load(SeqCst) && writes.load(SeqCst) < BOUND {
                    *lock.write_blocking() += 1;
                    writes.fetch_add(1, SeqCst);
                }
            })
        })
        .collect();
    while writes.load(SeqCst) < 1000 {
        std::hint::spin_loop();
    }
    let mut worst = 0;
    for i in 0..50 {
        let before = writes.load(SeqCst);
        let v = if i % 2 == 0 {
            *lock.read_blocking()
        } else {
            futures::executor::block_on(async { *lock.read().await })
        };
        assert!(v > 0);
        worst = worst.max(writes.load(SeqCst) - before);
    }
    stop.store(true, SeqCst);
    for w in writers {
        w.join().unwrap();
    }
    assert!(worst < BOUND / 2, "reader waited through {worst} writes");
}

#[test]
fn unwind_releases_read_and_write_locks() {
    let lock = Arc::new(RwMutex::new(0));
    let l2 = lock.clone();
    let r = thread::spawn(move || {
        let mut g = l2.write_blocking();
        *g += 1;
        panic!("boom while writing");
    })
    .join();
    assert!(r.is_err());
    assert_eq!(
        *lock.try_read().expect("write lock released during unwind"),
        1
    );
    let r = catch_unwind(AssertUnwindSafe(|| {
        futures::executor::block_on(async {
            let _g = lock.read().await;
            panic!("boom while reading");
        })
    }));
    assert!(r.is_err());
    assert!(
        lock.try_write().is_some(),
        "read lock released during unwind"
    );
}

/// A writer waiting for the writer mutex (behind another writer) does not block readers by
/// itself; once it holds it, it does.
#[test]
fn queued_writers_take_turns() {
    let lock = RwMutex::new(0);
    let (_, waker) = count_waker();
    let mut w1 = lock.write_blocking();
    let mut w2 = lock.write();
    assert!(poll_once(&mut w2, &waker).is_pending());
    let mut r = lock.read();
    assert!(poll_once(&mut r, &waker).is_pending(), "w1 holds the lock");
    *w1 += 1;
    drop(w1);
    // Both are woken; whoever runs first gets in, the other waits.
    let Poll::Ready(mut g2) = poll_once(&mut w2, &waker) else {
        panic!("the lock is free: w2 gets it")
    };
    assert!(
        poll_once(&mut r, &waker).is_pending(),
        "w2 blocks the reader"
    );
    *g2 += 1;
    drop(g2);
    let Poll::Ready(g) = poll_once(&mut r, &waker) else {
        panic!("the reader gets in after w2")
    };
    assert_eq!(*g, 2);
}
