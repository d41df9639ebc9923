//! Select benchmarks: goro's `select!` beside `tokio::select!` over tokio's mpsc and
//! `futures::select!` over async-channel (async, all on the same goro runtime with 2
//! workers), and goro's `select_blocking!` beside crossbeam-channel's `select!` (threads).
//!
//! * `select_rx`: 4 channels, each fed by its own task; one receiver selects over all four
//!   until N = 200,000 values arrived.
//! * `select_both`: 4 tasks, 4 shared channels; task `t` sends N/4 values on channel `t`
//!   and receives N/4 from channel `t+1`, selecting over its send and its receive while
//!   both remain.
//!
//! All channels are `bounded(16)`. Groups: `select_rx`, `select_both` (async) and
//! `select_rx_blocking`, `select_both_blocking` (threads).
//!
//! Run: `cargo bench --bench select -- --warm-up-time 1 --measurement-time 3`.
#![allow(missing_docs)] // a bench binary, not a public API

use criterion::{criterion_group, criterion_main, Criterion};
use futures::FutureExt;
use goro::runtime::Runtime;
use std::thread;
use std::time::Duration;

const N: usize = 200_000;
const CAP: usize = 16;

fn runtime() -> Runtime {
    goro::runtime::Builder::new()
        .worker_threads(2)
        .build()
        .expect("runtime")
}

fn goro_rx(rt: &Runtime) {
    let chans: Vec<_> = (0..4).map(|_| goro::chan::bounded::<usize>(CAP)).collect();
    rt.block_on(async {
        for (tx, _) in &chans {
            let tx = tx.clone();
            rt.spawn(async move {
                for i in 0..N / 4 {
                    tx.send(i).await.unwrap();
                }
            });
        }
        // The original senders stay alive until the receiver is done: a drained channel
        // whose senders are all gone is closed, and a closed channel is ready in a select.
        let rxs: Vec<_> = chans.iter().map(|(_, rx)| rx.clone()).collect();
        rt.spawn(async move {
            let [a, b, c, d] = &rxs[..] else {
                unreachable!()
            };
            let mut got = 0;
            while got < N {
                goro::select! {
                    recv(a) -> v => { v.unwrap(); }
                    recv(b) -> v => { v.unwrap(); }
                    recv(c) -> v => { v.unwrap(); }
                    recv(d) -> v => { v.unwrap(); }
                }
                got += 1;
            }
        })
        .await
        .unwrap();
        drop(chans);
    });
}

fn tokio_rx(rt: &Runtime) {
    rt.block_on(async {
        let mut rxs = Vec::new();
        let mut keep = Vec::new();
        for _ in 0..4 {
            let (tx, rx) = tokio::sync::mpsc::channel::<usize>(CAP);
            keep.push(tx.clone());
            rt.spawn(async move {
                for i in 0..N / 4 {
                    tx.send(i).await.unwrap();
                }
            });
            rxs.push(rx);
        }
        rt.spawn(async move {
            let [mut a, mut b, mut c, mut d] = <[_; 4]>::try_from(rxs).ok().unwrap();
            let mut got = 0;
            while got < N {
                tokio::select! {
                    v = a.recv() => { v.unwrap(); }
                    v = b.recv() => { v.unwrap(); }
                    v = c.recv() => { v.unwrap(); }
                    v = d.recv() => { v.unwrap(); }
                }
                got += 1;
            }
        })
        .await
        .unwrap();
        drop(keep);
    });
}

fn futures_rx(rt: &Runtime) {
    rt.block_on(async {
        let mut rxs = Vec::new();
        let mut keep = Vec::new();
        for _ in 0..4 {
            let (tx, rx) = async_channel::bounded::<usize>(CAP);
            keep.push(tx.clone());
            rt.spawn(async move {
                for i in 0..N / 4 {
                    tx.send(i).await.unwrap();
                }
            });
            rxs.push(rx);
        }
        rt.spawn(async move {
            let [a, b, c, d] = &rxs[..] else {
                unreachable!()
            };
            let mut got = 0;
            while got < N {
                futures::select! {
                    v = a.recv().fuse() => { v.unwrap(); }
                    v = b.recv().fuse() => { v.unwrap(); }
                    v = c.recv().fuse() => { v.unwrap(); }
                    v = d.recv().fuse() => { v.unwrap(); }
                }
                got += 1;
            }
        })
        .await
        .unwrap();
        drop(keep);
    });
}

fn goro_both(rt: &Runtime) {
    let chans: Vec<_> = (0..4).map(|_| goro::chan::bounded::<usize>(CAP)).collect();
    rt.block_on(async {
        let mut hs = Vec::new();
        for t in 0..4 {
            let tx = chans[t].0.clone();
            let rx = chans[(t + 1) % 4].1.clone();
            hs.push(rt.spawn(async move {
                let (mut sent, mut got) = (0, 0);
                while sent < N / 4 || got < N / 4 {
                    if sent < N / 4 && got < N / 4 {
                        goro::select! {
                            send(tx, sent) -> r => { r.unwrap(); sent += 1; }
                            recv(rx) -> v => { v.unwrap(); got += 1; }
                        }
                    } else if sent < N / 4 {
                        tx.send(sent).await.unwrap();
                        sent += 1;
                    } else {
                        rx.recv().await.unwrap();
                        got += 1;
                    }
                }
            }));
        }
        for h in hs {
            h.await.unwrap();
        }
    });
}

fn tokio_both(rt: &Runtime) {
    let mut txs = Vec::new();
    let mut rxs = Vec::new();
    for _ in 0..4 {
        let (tx, rx) = tokio::sync::mpsc::channel::<usize>(CAP);
        txs.push(tx);
        rxs.push(Some(rx));
    }
    rt.block_on(async {
        let mut hs = Vec::new();
        for t in 0..4 {
            let tx = txs[t].clone();
            let mut rx = rxs[(t + 1) % 4].take().unwrap();
            hs.push(rt.spawn(async move {
                let (mut sent, mut got) = (0, 0);
                while sent < N / 4 || got < N / 4 {
                    if sent < N / 4 && got < N / 4 {
                        tokio::select! {
                            r = tx.send(sent) => { r.unwrap(); sent += 1; }
                            v = rx.recv() => { v.unwrap(); got += 1; }
                        }
                    } else if sent < N / 4 {
                        tx.send(sent).await.unwrap();
                        sent += 1;
                    } else {
                        rx.recv().await.unwrap();
                        got += 1;
                    }
                }
            }));
        }
        drop(txs);
        for h in hs {
            h.await.unwrap();
        }
    });
}

fn futures_both(rt: &Runtime) {
    let chans: Vec<_> = (0..4)
        .map(|_| async_channel::bounded::<usize>(CAP))
        .collect();
    rt.block_on(async {
        let mut hs = Vec::new();
        for t in 0..4 {
            let tx = chans[t].0.clone();
            let rx = chans[(t + 1) % 4].1.clone();
            hs.push(rt.spawn(async move {
                let (mut sent, mut got) = (0, 0);
                while sent < N / 4 || got < N / 4 {
                    if sent < N / 4 && got < N / 4 {
                        futures::select! {
                            r = tx.send(sent).fuse() => { r.unwrap(); sent += 1; }
                            v = rx.recv().fuse() => { v.unwrap(); got += 1; }
                        }
                    } else if sent < N / 4 {
                        tx.send(sent).await.unwrap();
                        sent += 1;
                    } else {
                        rx.recv().await.unwrap();
                        got += 1;
                    }
                }
            }));
        }
        for h in hs {
            h.await.unwrap();
        }
    });
}

fn goro_rx_blocking() {
    let chans: Vec<_> = (0..4).map(|_| goro::chan::bounded::<usize>(CAP)).collect();
    let ts: Vec<_> = chans
        .iter()
        .map(|(tx, _)| {
            let tx = tx.clone();
            thread::spawn(move || {
                for i in 0..N / 4 {
                    tx.send_blocking(i).unwrap();
                }
            })
        })
        .collect();
    let [(_, a), (_, b), (_, c), (_, d)] = &chans[..] else {
        unreachable!()
    };
    for _ in 0..N {
        goro::select_blocking! {
            recv(a) -> v => { v.unwrap(); }
            recv(b) -> v => { v.unwrap(); }
            recv(c) -> v => { v.unwrap(); }
            recv(d) -> v => { v.unwrap(); }
        }
    }
    for t in ts {
        t.join().unwrap();
    }
}

fn crossbeam_rx_blocking() {
    let chans: Vec<_> = (0..4)
        .map(|_| crossbeam_channel::bounded::<usize>(CAP))
        .collect();
    let ts: Vec<_> = chans
        .iter()
        .map(|(tx, _)| {
            let tx = tx.clone();
            thread::spawn(move || {
                for i in 0..N / 4 {
                    tx.send(i).unwrap();
                }
            })
        })
        .collect();
    let [(_, a), (_, b), (_, c), (_, d)] = &chans[..] else {
        unreachable!()
    };
    for _ in 0..N {
        crossbeam_channel::select! {
            recv(a) -> v => { v.unwrap(); }
            recv(b) -> v => { v.unwrap(); }
            recv(c) -> v => { v.unwrap(); }
            recv(d) -> v => { v.unwrap(); }
        }
    }
    for t in ts {
        t.join().unwrap();
    }
}

fn goro_both_blocking() {
    let chans: Vec<_> = (0..4).map(|_| goro::chan::bounded::<usize>(CAP)).collect();
    let ts: Vec<_> = (0..4)
        .map(|t| {
            let tx = chans[t].0.clone();
            let rx = chans[(t + 1) % 4].1.clone();
            thread::spawn(move || {
                let (mut sent, mut got) = (0, 0);
                while sent < N / 4 || got < N / 4 {
                    if sent < N / 4 && got < N / 4 {
                        goro::select_blocking! {
                            send(tx, sent) -> r => { r.unwrap(); sent += 1; }
                            recv(rx) -> v => { v.unwrap(); got += 1; }
                        }
                    } else if sent < N / 4 {
                        tx.send_blocking(sent).unwrap();
                        sent += 1;
                    } else {
                        rx.recv_blocking().unwrap();
                        got += 1;
                    }
                }
            })
        })
        .collect();
    for t in ts {
        t.join().unwrap();
    }
}

fn crossbeam_both_blocking() {
    let chans: Vec<_> = (0..4)
        .map(|_| crossbeam_channel::bounded::<usize>(CAP))
        .collect();
    let ts: Vec<_> = (0..4)
        .map(|t| {
            let tx = chans[t].0.clone();
            let rx = chans[(t + 1) % 4].1.clone();
            thread::spawn(move || {
                let (mut sent, mut got) = (0, 0);
                while sent < N / 4 || got < N / 4 {
                    if sent < N / 4 && got < N / 4 {
                        crossbeam_channel::select! {
                            send(tx, sent) -> r => { r.unwrap(); sent += 1; }
                            recv(rx) -> v => { v.unwrap(); got += 1; }
                        }
                    } else if sent < N / 4 {
                        tx.send(sent).unwrap();
                        sent += 1;
                    } else {
                        rx.recv().unwrap();
                        got += 1;
                    }
                }
            })
        })
        .collect();
    for t in ts {
        t.join().unwrap();
    }
}

fn benches(c: &mut Criterion) {
    let rt = runtime();
    let mut g = c.benchmark_group("select_rx");
    g.bench_function("goro", |b| b.iter(|| goro_rx(&rt)));
    g.bench_function("tokio", |b| b.iter(|| tokio_rx(&rt)));
    g.bench_function("futures+async-channel", |b| b.iter(|| futures_rx(&rt)));
    g.finish();
    let mut g = c.benchmark_group("select_both");
    g.bench_function("goro", |b| b.iter(|| goro_both(&rt)));
    g.bench_function("tokio", |b| b.iter(|| tokio_both(&rt)));
    g.bench_function("futures+async-channel", |b| b.iter(|| futures_both(&rt)));
    g.finish();
    let mut g = c.benchmark_group("select_rx_blocking");
    g.bench_function("goro", |b| b.iter(goro_rx_blocking));
    g.bench_function("crossbeam-channel", |b| b.iter(crossbeam_rx_blocking));
    g.finish();
    let mut g = c.benchmark_group("select_both_blocking");
    g.bench_function("goro", |b| b.iter(goro_both_blocking));
    g.bench_function("crossbeam-channel", |b| b.iter(crossbeam_both_blocking));
    g.finish();
}

fn config() -> Criterion {
    Criterion::default()
        .sample_size(10)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
}

criterion_group! {
    name = select;
    config = config();
    targets = benches
}
criterion_main!(select);
