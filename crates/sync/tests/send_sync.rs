//! Auto traits of every public type, checked at compile time (the test body only has to
//! compile; each line fails the build if a bound is lost).

use goro_sync::{
    atomic::Value, Acquire, AcquireError, Cond, Lock, LockOwned, Mutex, MutexGuard, Once, OnceCell,
    OwnedMutexGuard, Permit, Read, RwMutex, RwMutexReadGuard, RwMutexWriteGuard, Semaphore, Wait,
    WaitGroup, Write,
};
use std::{cell::Cell, fmt::Debug, future::Future};

fn send<T: Send>() {}
fn sync<T: Sync>() {}
fn send_sync<T: Send + Sync>() {}
fn debug<T: Debug>() {}
fn unpin<T: Unpin>() {}

#[test]
fn public_types_are_send_and_sync() {
    send_sync::<Mutex<u8>>();
    send_sync::<Mutex<Cell<u8>>>(); // like std: only `T: Send` is needed
    send_sync::<MutexGuard<'static, u8>>();
    send::<MutexGuard<'static, Cell<u8>>>();
    send_sync::<OwnedMutexGuard<u8>>();
    send_sync::<Lock<'static, u8>>();
    send_sync::<LockOwned<u8>>();
    send_sync::<RwMutex<u8>>();
    send_sync::<RwMutexReadGuard<'static, u8>>();
    send_sync::<RwMutexWriteGuard<'static, u8>>();
    send_sync::<Read<'static, u8>>();
    send_sync::<Write<'static, u8>>();
    send_sync::<Semaphore>();
    send_sync::<Permit<'static>>();
    send_sync::<Acquire<'static>>();
    send_sync::<AcquireError>();
    send_sync::<WaitGroup>();
    send_sync::<Wait<'static>>();
    send_sync::<Once>();
    send_sync::<OnceCell<u8>>();
    send_sync::<Cond>();
    send_sync::<Value<u8>>();
    send::<Mutex<Cell<u8>>>();
    sync::<Mutex<Cell<u8>>>();
    #[cfg(feature = "spawn")]
    send_sync::<goro_sync::ErrGroup<std::io::Error>>();
}

#[test]
fn async_forms_are_send() {
    fn is_send<F: Future + Send>(_: &F) {}
    let m = Mutex::new(0u8);
    let rw = RwMutex::new(0u8);
    let cell = OnceCell::<u8>::new();
    let cond = Cond::new();
    let once = Once::new();
    is_send(&m.lock());
    is_send(&rw.read());
    is_send(&rw.write());
    is_send(&cell.get_or_init(|| async { 1 }));
    is_send(&cell.get_or_try_init(|| async { Ok::<u8, ()>(1) }));
    is_send(&once.call_once_async(|| async {}));
    let g = m.try_lock().unwrap();
    is_send(&cond.wait(g));
}

#[test]
fn futures_are_unpin_and_everything_is_debug() {
    unpin::<Lock<'static, u8>>();
    unpin::<LockOwned<u8>>();
    unpin::<Read<'static, u8>>();
    unpin::<Write<'static, u8>>();
    unpin::<Acquire<'static>>();
    unpin::<Wait<'static>>();
    debug::<Mutex<u8>>();
    debug::<MutexGuard<'static, u8>>();
    debug::<OwnedMutexGuard<u8>>();
    debug::<Lock<'static, u8>>();
    debug::<LockOwned<u8>>();
    debug::<RwMutex<u8>>();
    debug::<RwMutexReadGuard<'static, u8>>();
    debug::<RwMutexWriteGuard<'static, u8>>();
    debug::<Read<'static, u8>>();
    debug::<Write<'static, u8>>();
    debug::<Semaphore>();
    debug::<Permit<'static>>();
    debug::<Acquire<'static>>();
    debug::<AcquireError>();
    debug::<WaitGroup>();
    debug::<Wait<'static>>();
    debug::<Once>();
    debug::<OnceCell<u8>>();
    debug::<Cond>();
    debug::<Value<u8>>();
    #[cfg(feature = "spawn")]
    debug::<goro_sync::ErrGroup<()>>();
}
