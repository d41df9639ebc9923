//! loom model of `RwMutex`: readers and writers exclude each other, no wake-up is lost between
//! the reader count, the writer flag and the two wait lists, a writer that gives up while
//! waiting for readers lets the readers it blocked in, and starving readers (under loom: a
//! reader that has to wait a second time) are admitted by the next write unlock.
//!
//! Run: `RUSTFLAGS="--cfg loom" cargo test -p goro-sync --release --test loom_rwmutex`
#![cfg(loom)]

mod loom_support;
use loom_support::*;

use goro_sync::{RwMutex, RwMutexWriteGuard};
use loom::{
    sync::{
        atomic::{AtomicUsize, Ordering::SeqCst},
        Arc,
    },
    thread,
};
use std::task::Poll;

const WRITING: usize = 1 << 16;

/// Who is inside: readers count 1 each, a writer `WRITING`.
fn enter(inside: &AtomicUsize, writer: bool) {
    let prev = inside.fetch_add(if writer { WRITING } else { 1 }, SeqCst);
    if writer {
        assert_eq!(prev, 0, "a writer got in beside someone");
    } else {
        assert!(prev < WRITING, "a reader got in beside a writer");
    }
}

fn leave(inside: &AtomicUsize, writer: bool) {
    inside.fetch_sub(if writer { WRITING } else { 1 }, SeqCst);
}

fn read(lock: &RwMutex<usize>, inside: &AtomicUsize) -> usize {
    let g = lock.read_blocking();
    enter(inside, false);
    let v = *g;
    leave(inside, false);
    v
}

fn write(lock: &RwMutex<usize>, inside: &AtomicUsize) {
    let mut g = lock.write_blocking();
    enter(inside, true);
    *g += 1;
    leave(inside, true);
}

/// A writer and a reader race a reader on the main thread: exclusion holds, nobody is
/// stranded (a lost wake-up would be a loom deadlock), and the write is seen afterwards.
#[test]
fn readers_and_a_writer_exclude_each_other() {
    model(|| {
        let lock = Arc::new(RwMutex::new(0));
        let inside = Arc::new(AtomicUsize::new(0));
        let (l1, i1) = (lock.clone(), inside.clone());
        let w = thread::spawn(move || write(&l1, &i1));
        let (l2, i2) = (lock.clone(), inside.clone());
        let r = thread::spawn(move || read(&l2, &i2));
        let seen = read(&lock, &inside);
        assert!(seen <= 1);
        w.join().unwrap();
        r.join().unwrap();
        assert_eq!(*lock.try_read().expect("left locked"), 1);
        assert!(lock.try_write().is_some());
    });
}

/// Two writers and a reader: writers take turns on the writer mutex (barging, hand-off
/// under loom's starvation rule) while the reader waits for them.
#[test]
fn two_writers_and_a_reader() {
    model(|| {
        let lock = Arc::new(RwMutex::new(0));
        let inside = Arc::new(AtomicUsize::new(0));
        let ws: Vec<_> = (0..2)
            .map(|_| {
                let (l, i) = (lock.clone(), inside.clone());
                thread::spawn(move || write(&l, &i))
            })
            .collect();
        read(&lock, &inside);
        for w in ws {
            w.join().unwrap();
        }
        assert_eq!(*lock.try_read().expect("left locked"), 2);
    });
}

/// A writer waiting for a reader to leave gives up (its future is dropped) while another
/// reader, blocked by it, waits: that reader must get in, and the lock must end up free.
#[test]
fn cancelled_draining_writer_lets_blocked_readers_in() {
    model(|| {
        let lock = Arc::new(RwMutex::new(0));
        let r1 = lock.try_read().unwrap();
        let l1 = lock.clone();
        let writer = thread::spawn(move || {
            let mut fut = l1.write();
            if let Poll::Ready(g) = poll_once(&mut fut) {
                drop(g);
            }
            drop(fut);
        });
        let l2 = lock.clone();
        let reader = thread::spawn(move || *l2.read_blocking());
        drop(r1);
        writer.join().unwrap();
        assert_eq!(reader.join().unwrap(), 0);
        assert!(lock.try_write().is_some(), "left locked");
    });
}

/// A reader that is woken by one writer's unlock but overtaken by the next writer has to
/// wait again; under loom that makes it starved, so the next write unlock admits it. Both
/// ways of getting in (competing, admission) must respect exclusion and strand nobody; an
/// admitted reader whose future is dropped must give the read lock back.
#[test]
fn starving_reader_is_admitted() {
    model(|| {
        let lock = Arc::new(RwMutex::new(0));
        let inside = Arc::new(AtomicUsize::new(0));
        let w1 = lock.try_write().unwrap();
        let (l, i) = (lock.clone(), inside.clone());
        let reader = thread::spawn(move || read(&l, &i));
        let (l, i) = (lock.clone(), inside.clone());
        let writer = thread::spawn(move || write(&l, &i));
        drop(w1);
        // A reader that may be admitted and is then dropped without being polled again.
        let mut fut = lock.read();
        if let Poll::Ready(g) = poll_once(&mut fut) {
            drop(g);
        }
        drop(fut);
        reader.join().unwrap();
        writer.join().unwrap();
        assert!(lock.try_write().is_some(), "left locked");
    });
}

/// Downgrading lets a blocked reader in, but not a writer.
#[test]
fn downgrade_admits_readers_not_writers() {
    model(|| {
        let lock = Arc::new(RwMutex::new(0));
        let inside = Arc::new(AtomicUsize::new(0));
        let mut w = lock.write_blocking();
        *w = 5;
        let (l, i) = (lock.clone(), inside.clone());
        let reader = thread::spawn(move || read(&l, &i));
        let l = lock.clone();
        let writer = thread::spawn(move || *l.write_blocking() += 1);
        let r = RwMutexWriteGuard::downgrade(w);
        assert_eq!(*r, 5, "no writer between the write and the downgraded read");
        drop(r);
        let seen = reader.join().unwrap();
        assert!(seen == 5 || seen == 6);
        writer.join().unwrap();
        assert_eq!(*lock.try_read().unwrap(), 6);
    });
}
