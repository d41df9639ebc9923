//! Shared helpers for the executor's integration tests.
#![allow(dead_code)]

use std::{sync::mpsc, time::Duration};

/// Aborts the whole test process with a message if not dropped within `secs` seconds, so a
/// hang becomes a failure instead of a stuck CI job.
pub(crate) struct Watchdog(Option<mpsc::Sender<()>>);

pub(crate) fn watchdog(name: &'static str, secs: u64) -> Watchdog {
    let (tx, rx) = mpsc::channel::<()>();
    std::thread::spawn(move || {
        if let Err(mpsc::RecvTimeoutError::Timeout) = rx.recv_timeout(Duration::from_secs(secs)) {
            eprintln!("watchdog: test `{name}` did not finish within {secs} s; aborting");
            std::process::abort();
        }
    });
    Watchdog(Some(tx))
}

impl Drop for Watchdog {
    fn drop(&mut self) {
        if let Some(tx) = self.0.take() {
            let _ = tx.send(());
        }
    }
}

/// Counts live instances (drops decrement), to check that futures are dropped.
pub(crate) struct DropCounter(pub(crate) std::sync::Arc<std::sync::atomic::AtomicUsize>);

impl DropCounter {
    pub(crate) fn new(c: &std::sync::Arc<std::sync::atomic::AtomicUsize>) -> DropCounter {
        c.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        DropCounter(c.clone())
    }
}

impl Drop for DropCounter {
    fn drop(&mut self) {
        self.0.fetch_sub(1, std::sync::atomic::Ordering::SeqCst);
    }
}
