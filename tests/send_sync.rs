//! Every public type is `Send`/`Sync` where it should be, checked at compile time.
#![allow(dead_code)]

fn send<T: Send>() {}
fn sync<T: Sync>() {}
fn send_sync<T: Send + Sync>() {}

#[test]
fn public_types_are_send_and_sync() {
    send_sync::<goro::JoinHandle<u8>>();
    send_sync::<goro::JoinError>();
    send_sync::<goro::runtime::Runtime>();
    send_sync::<goro::runtime::Handle>();
    send_sync::<goro::chan::Sender<u8>>();
    send_sync::<goro::chan::Receiver<u8>>();
    send_sync::<goro::chan::SendError<u8>>();
    send_sync::<goro::chan::RecvError>();
    send::<goro::chan::SendFuture<'static, u8>>();
    send::<goro::chan::RecvFuture<'static, u8>>();
    send::<goro::chan::Select<'static>>();
    send_sync::<goro::sync::Mutex<u8>>();
    send_sync::<goro::sync::RwMutex<u8>>();
    send_sync::<goro::sync::WaitGroup>();
    send_sync::<goro::sync::Once>();
    send_sync::<goro::sync::OnceCell<u8>>();
    send_sync::<goro::sync::Cond>();
    send_sync::<goro::sync::Semaphore>();
    send_sync::<goro::time::Timer>();
    send_sync::<goro::time::Ticker>();
    send::<goro::time::Sleep>();
    sync::<goro::time::Elapsed>();
}

/// A select future over `Send` channels is `Send`, so it can run in a spawned task.
#[test]
fn select_future_is_send() {
    let (tx, rx) = goro::chan::bounded::<u8>(1);
    let h = goro::spawn(async move {
        goro::select! {
            send(tx, 1) -> r => r.is_ok(),
            recv(rx) -> _ => false,
        }
    });
    assert!(goro::block_on(h).unwrap());
}
