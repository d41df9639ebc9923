//! Channel benchmarks, after crossbeam-channel's suite: goro beside async-channel, flume,
//! kanal and tokio's mpsc (async, all on the same goro runtime with 2 workers, so only the
//! channel differs), and beside crossbeam-channel for the blocking API (plain threads).
//!
//! Workloads, N = 200,000 `usize` messages per iteration:
//! * `seq`: one task sends N, then receives N (unbounded and `bounded(N)` only);
//! * `spsc`: one sending task, one receiving task;
//! * `mpsc`: 4 sending tasks, one receiving task;
//! * `mpmc`: 4 sending tasks, 4 receiving tasks;
//!
//! each for `unbounded`, `bounded(1)`, `bounded(100)` and `rendezvous` where the peer has
//! it (async-channel and tokio have no rendezvous; tokio's receiver is single-consumer;
//! flume sits out `mpmc`, where its async receivers can hang: see `peers::flume`).
//! Criterion groups are named `WORKLOAD_FLAVOR` (async) and `blocking_WORKLOAD_FLAVOR`;
//! `benches/report.py` turns the results into the ratio table of BENCHMARKS.md.
//!
//! Run: `cargo bench --bench channel -- --warm-up-time 1 --measurement-time 3`.

#![allow(missing_docs, unreachable_pub)] // a bench binary, not a public API

use criterion::{criterion_group, criterion_main, Criterion};
use goro::runtime::Runtime;
use std::time::Duration;

const N: usize = 200_000;
const SENDERS: usize = 4;
const RECEIVERS: usize = 4;

fn runtime() -> Runtime {
    goro::runtime::Builder::new()
        .worker_threads(2)
        .build()
        .expect("runtime")
}

/// One async channel implementation, as a module with `new`, `send`, `recv`.
mod peers {
    pub mod goro_chan {
        pub type Tx = goro::chan::Sender<usize>;
        pub type Rx = goro::chan::Receiver<usize>;
        pub const RENDEZVOUS: bool = true;
        pub const MPMC: bool = true;
        pub fn new(cap: Option<usize>) -> (Tx, Rx) {
            match cap {
                Some(c) => goro::chan::bounded(c),
                None => goro::chan::unbounded(),
            }
        }
        pub async fn send(tx: &Tx, v: usize) {
            tx.send(v).await.unwrap();
        }
        pub async fn recv(rx: &mut Rx) -> Option<usize> {
            rx.recv().await.ok()
        }
        pub fn clone_rx(rx: &Rx) -> Rx {
            rx.clone()
        }
    }

    pub mod async_channel {
        pub type Tx = ::async_channel::Sender<usize>;
        pub type Rx = ::async_channel::Receiver<usize>;
        pub const RENDEZVOUS: bool = false;
        pub const MPMC: bool = true;
        pub fn new(cap: Option<usize>) -> (Tx, Rx) {
            match cap {
                Some(c) => ::async_channel::bounded(c),
                None => ::async_channel::unbounded(),
            }
        }
        pub async fn send(tx: &Tx, v: usize) {
            tx.send(v).await.unwrap();
        }
        pub async fn recv(rx: &mut Rx) -> Option<usize> {
            rx.recv().await.ok()
        }
        pub fn clone_rx(rx: &Rx) -> Rx {
            rx.clone()
        }
    }

    pub mod flume {
        pub type Tx = ::flume::Sender<usize>;
        pub type Rx = ::flume::Receiver<usize>;
        pub const RENDEZVOUS: bool = true;
        /// Not in the `mpmc` rows: flume 0.11's async receivers lose a wake-up now and then
        /// with several of them on one bounded channel, and the run hangs (seen in this
        /// bench, and reproduced alone: 4 + 4 tasks on `bounded(1)`, one run in about 1,500
        /// hung on goro's runtime and on tokio's alike).
        pub const MPMC: bool = false;
        pub fn new(cap: Option<usize>) -> (Tx, Rx) {
            match cap {
                Some(c) => ::flume::bounded(c),
                None => ::flume::unbounded(),
            }
        }
        pub async fn send(tx: &Tx, v: usize) {
            tx.send_async(v).await.unwrap();
        }
        pub async fn recv(rx: &mut Rx) -> Option<usize> {
            rx.recv_async().await.ok()
        }
        pub fn clone_rx(rx: &Rx) -> Rx {
            rx.clone()
        }
    }

    pub mod kanal {
        pub type Tx = ::kanal::AsyncSender<usize>;
        pub type Rx = ::kanal::AsyncReceiver<usize>;
        pub const RENDEZVOUS: bool = true;
        pub const MPMC: bool = true;
        pub fn new(cap: Option<usize>) -> (Tx, Rx) {
            match cap {
                Some(c) => ::kanal::bounded_async(c),
                None => ::kanal::unbounded_async(),
            }
        }
        pub async fn send(tx: &Tx, v: usize) {
            tx.send(v).await.unwrap();
        }
        pub async fn recv(rx: &mut Rx) -> Option<usize> {
            rx.recv().await.ok()
        }
        pub fn clone_rx(rx: &Rx) -> Rx {
            rx.clone()
        }
    }

    pub mod tokio_mpsc {
        /// tokio has two sender types; wrap both behind one.
        #[derive(Clone)]
        pub enum Tx {
            Bounded(::tokio::sync::mpsc::Sender<usize>),
            Unbounded(::tokio::sync::mpsc::UnboundedSender<usize>),
        }
        pub enum Rx {
            Bounded(::tokio::sync::mpsc::Receiver<usize>),
            Unbounded(::tokio::sync::mpsc::UnboundedReceiver<usize>),
        }
        pub const RENDEZVOUS: bool = false;
        pub const MPMC: bool = false;
        pub fn new(cap: Option<usize>) -> (Tx, Rx) {
            match cap {
                Some(c) => {
                    let (t, r) = ::tokio::sync::mpsc::channel(c);
                    (Tx::Bounded(t), Rx::Bounded(r))
                }
                None => {
                    let (t, r) = ::tokio::sync::mpsc::unbounded_channel();
                    (Tx::Unbounded(t), Rx::Unbounded(r))
                }
            }
        }
        pub async fn send(tx: &Tx, v: usize) {
            match tx {
                Tx::Bounded(t) => t.send(v).await.unwrap(),
                Tx::Unbounded(t) => t.send(v).unwrap(),
            }
        }
        pub async fn recv(rx: &mut Rx) -> Option<usize> {
            match rx {
                Rx::Bounded(r) => r.recv().await,
                Rx::Unbounded(r) => r.recv().await,
            }
        }
        pub fn clone_rx(_: &Rx) -> Rx {
            unreachable!("tokio's mpsc receiver is single-consumer")
        }
    }
}

/// The four workloads for one peer module.
macro_rules! async_workloads {
    ($m:ident) => {
        mod $m {
            use super::peers::$m as p;
            use super::{N, RECEIVERS, SENDERS};
            use goro::runtime::Runtime;

            pub const RENDEZVOUS: bool = p::RENDEZVOUS;
            pub const MPMC: bool = p::MPMC;

            pub fn seq(rt: &Runtime, cap: Option<usize>) {
                rt.block_on(async {
                    rt.spawn(async move {
                        let (tx, mut rx) = p::new(cap);
                        for i in 0..N {
                            p::send(&tx, i).await;
                        }
                        for _ in 0..N {
                            p::recv(&mut rx).await.unwrap();
                        }
                    })
                    .await
                    .unwrap();
                });
            }

            pub fn spsc(rt: &Runtime, cap: Option<usize>) {
                let (tx, mut rx) = p::new(cap);
                rt.block_on(async {
                    let s = rt.spawn(async move {
                        for i in 0..N {
                            p::send(&tx, i).await;
                        }
                    });
                    let r = rt.spawn(async move {
                        for _ in 0..N {
                            p::recv(&mut rx).await.unwrap();
                        }
                    });
                    s.await.unwrap();
                    r.await.unwrap();
                });
            }

            pub fn mpsc(rt: &Runtime, cap: Option<usize>) {
                let (tx, mut rx) = p::new(cap);
                rt.block_on(async {
                    let mut hs = Vec::new();
                    for _ in 0..SENDERS {
                        let tx = tx.clone();
                        hs.push(rt.spawn(async move {
                            for i in 0..N / SENDERS {
                                p::send(&tx, i).await;
                            }
                        }));
                    }
                    drop(tx);
                    let r = rt.spawn(async move {
                        for _ in 0..N {
                            p::recv(&mut rx).await.unwrap();
                        }
                    });
                    for h in hs {
                        h.await.unwrap();
                    }
                    r.await.unwrap();
                });
            }

            pub fn mpmc(rt: &Runtime, cap: Option<usize>) {
                let (tx, rx) = p::new(cap);
                rt.block_on(async {
                    let mut hs = Vec::new();
                    for _ in 0..SENDERS {
                        let tx = tx.clone();
                        hs.push(rt.spawn(async move {
                            for i in 0..N / SENDERS {
                                p::send(&tx, i).await;
                            }
                        }));
                    }
                    drop(tx);
                    for _ in 0..RECEIVERS {
                        let mut rx = p::clone_rx(&rx);
                        hs.push(rt.spawn(async move {
                            for _ in 0..N / RECEIVERS {
                                p::recv(&mut rx).await.unwrap();
                            }
                        }));
                    }
                    for h in hs {
                        h.await.unwrap();
                    }
                });
            }
        }
    };
}

async_workloads!(goro_chan);
async_workloads!(async_channel);
async_workloads!(flume);
async_workloads!(kanal);
async_workloads!(tokio_mpsc);

const FLAVORS: [(&str, Option<usize>); 4] = [
    ("unbounded", None),
    ("bounded1", Some(1)),
    ("bounded100", Some(100)),
    ("rendezvous", Some(0)),
];

type Workload = fn(&Runtime, Option<usize>);

fn async_benches(c: &mut Criterion) {
    let rt = runtime();
    // (name, rendezvous?, mpmc?, [seq, spsc, mpsc, mpmc])
    let peers: [(&str, bool, bool, [Workload; 4]); 5] = [
        (
            "goro",
            goro_chan::RENDEZVOUS,
            goro_chan::MPMC,
            [
                goro_chan::seq,
                goro_chan::spsc,
                goro_chan::mpsc,
                goro_chan::mpmc,
            ],
        ),
        (
            "async-channel",
            async_channel::RENDEZVOUS,
            async_channel::MPMC,
            [
                async_channel::seq,
                async_channel::spsc,
                async_channel::mpsc,
                async_channel::mpmc,
            ],
        ),
        (
            "flume",
            flume::RENDEZVOUS,
            flume::MPMC,
            [flume::seq, flume::spsc, flume::mpsc, flume::mpmc],
        ),
        (
            "kanal",
            kanal::RENDEZVOUS,
            kanal::MPMC,
            [kanal::seq, kanal::spsc, kanal::mpsc, kanal::mpmc],
        ),
        (
            "tokio",
            tokio_mpsc::RENDEZVOUS,
            tokio_mpsc::MPMC,
            [
                tokio_mpsc::seq,
                tokio_mpsc::spsc,
                tokio_mpsc::mpsc,
                tokio_mpsc::mpmc,
            ],
        ),
    ];
    for (w, workload) in ["seq", "spsc", "mpsc", "mpmc"].into_iter().enumerate() {
        for (flavor, cap) in FLAVORS {
            // seq needs room for all N: unbounded, or bounded(N) instead of the small caps.
            let cap = match (workload, cap) {
                ("seq", Some(0) | Some(1)) => continue,
                ("seq", Some(_)) => Some(N),
                _ => cap,
            };
            let flavor = if workload == "seq" && cap == Some(N) {
                "boundedN"
            } else {
                flavor
            };
            let mut g = c.benchmark_group(format!("{workload}_{flavor}"));
            for (name, rendezvous, mpmc, fns) in peers {
                if (cap == Some(0) && !rendezvous) || (workload == "mpmc" && !mpmc) {
                    continue;
                }
                let f = fns[w];
                g.bench_function(name, |b| b.iter(|| f(&rt, cap)));
            }
            g.finish();
        }
    }
}

/// Blocking API from plain threads: goro's `send_blocking`/`recv_blocking` beside
/// crossbeam-channel.
mod blocking {
    use super::{N, RECEIVERS, SENDERS};
    use std::thread;

    pub trait Chan: Sized {
        type Tx: Clone + Send + 'static;
        type Rx: Clone + Send + 'static;
        fn new(cap: Option<usize>) -> (Self::Tx, Self::Rx);
        fn send(tx: &Self::Tx, v: usize);
        fn recv(rx: &Self::Rx) -> usize;
    }

    pub struct Goro;
    impl Chan for Goro {
        type Tx = goro::chan::Sender<usize>;
        type Rx = goro::chan::Receiver<usize>;
        fn new(cap: Option<usize>) -> (Self::Tx, Self::Rx) {
            match cap {
                Some(c) => goro::chan::bounded(c),
                None => goro::chan::unbounded(),
            }
        }
        fn send(tx: &Self::Tx, v: usize) {
            tx.send_blocking(v).unwrap();
        }
        fn recv(rx: &Self::Rx) -> usize {
            rx.recv_blocking().unwrap()
        }
    }

    pub struct Crossbeam;
    impl Chan for Crossbeam {
        type Tx = crossbeam_channel::Sender<usize>;
        type Rx = crossbeam_channel::Receiver<usize>;
        fn new(cap: Option<usize>) -> (Self::Tx, Self::Rx) {
            match cap {
                Some(c) => crossbeam_channel::bounded(c),
                None => crossbeam_channel::unbounded(),
            }
        }
        fn send(tx: &Self::Tx, v: usize) {
            tx.send(v).unwrap();
        }
        fn recv(rx: &Self::Rx) -> usize {
            rx.recv().unwrap()
        }
    }

    pub fn seq<C: Chan>(cap: Option<usize>) {
        let (tx, rx) = C::new(cap);
        for i in 0..N {
            C::send(&tx, i);
        }
        for _ in 0..N {
            C::recv(&rx);
        }
    }

    pub fn spsc<C: Chan>(cap: Option<usize>) {
        let (tx, rx) = C::new(cap);
        let t = thread::spawn(move || {
            for i in 0..N {
                C::send(&tx, i);
            }
        });
        for _ in 0..N {
            C::recv(&rx);
        }
        t.join().unwrap();
    }

    pub fn mpsc<C: Chan>(cap: Option<usize>) {
        let (tx, rx) = C::new(cap);
        let ts: Vec<_> = (0..SENDERS)
            .map(|_| {
                let tx = tx.clone();
                thread::spawn(move || {
                    for i in 0..N / SENDERS {
                        C::send(&tx, i);
                    }
                })
            })
            .collect();
        for _ in 0..N {
            C::recv(&rx);
        }
        for t in ts {
            t.join().unwrap();
        }
    }

    pub fn mpmc<C: Chan>(cap: Option<usize>) {
        let (tx, rx) = C::new(cap);
        let mut ts: Vec<_> = (0..SENDERS)
            .map(|_| {
                let tx = tx.clone();
                thread::spawn(move || {
                    for i in 0..N / SENDERS {
                        C::send(&tx, i);
                    }
                })
            })
            .collect();
        for _ in 0..RECEIVERS {
            let rx = rx.clone();
            ts.push(thread::spawn(move || {
                for _ in 0..N / RECEIVERS {
                    C::recv(&rx);
                }
            }));
        }
        for t in ts {
            t.join().unwrap();
        }
    }
}

fn blocking_benches(c: &mut Criterion) {
    use blocking::{Crossbeam, Goro};
    type F = fn(Option<usize>);
    let workloads: [(&str, F, F); 4] = [
        ("seq", blocking::seq::<Goro>, blocking::seq::<Crossbeam>),
        ("spsc", blocking::spsc::<Goro>, blocking::spsc::<Crossbeam>),
        ("mpsc", blocking::mpsc::<Goro>, blocking::mpsc::<Crossbeam>),
        ("mpmc", blocking::mpmc::<Goro>, blocking::mpmc::<Crossbeam>),
    ];
    for (workload, goro_f, cb_f) in workloads {
        for (flavor, cap) in FLAVORS {
            let (flavor, cap) = match (workload, cap) {
                ("seq", Some(0) | Some(1)) => continue,
                ("seq", Some(_)) => ("boundedN", Some(N)),
                _ => (flavor, cap),
            };
            let mut g = c.benchmark_group(format!("blocking_{workload}_{flavor}"));
            g.bench_function("goro", |b| b.iter(|| goro_f(cap)));
            g.bench_function("crossbeam-channel", |b| b.iter(|| cb_f(cap)));
            g.finish();
        }
    }
}

fn config() -> Criterion {
    Criterion::default()
        .sample_size(10)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
}

criterion_group! {
    name = benches;
    config = config();
    targets = async_benches, blocking_benches
}
criterion_main!(benches);
