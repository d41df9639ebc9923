//! The time API on real runtimes: sleeps, timeouts, Go's After/Tick/Timer/Ticker, Interval.
//!
//! Timing assertions are lower bounds only ("never early"); anything that waits has a generous
//! deadline so a broken driver fails the test instead of hanging it.

use futures::StreamExt;
use goro_executor::{
    block_on,
    runtime::Builder,
    spawn,
    time::{self, Elapsed, Ticker, Timer},
};
use std::{
    sync::{
        atomic::{AtomicUsize, Ordering::SeqCst},
        Arc,
    },
    time::{Duration, Instant},
};

/// Generous upper bound for anything that must happen "soon".
const PATIENCE: Duration = Duration::from_secs(20);

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// Runs `fut` on the current thread with a deadline (a hang fails instead of blocking CI).
fn run<T>(fut: impl std::future::Future<Output = T>) -> T {
    block_on(async { time::timeout(PATIENCE, fut).await.expect("test timed out") })
}

// ---- sleep / never early -------------------------------------------------------------------

#[test]
fn sleep_from_block_on_is_never_early() {
    run(async {
        for d in [0u64, 1, 2, 3, 5, 8, 13, 21] {
            let start = Instant::now();
            time::sleep(ms(d)).await;
            assert!(start.elapsed() >= ms(d), "sleep({d} ms) woke early");
        }
    });
}

#[test]
fn sleep_until_past_is_immediate() {
    run(async {
        let past = Instant::now();
        std::thread::sleep(ms(2));
        time::sleep_until(past).await;
        time::sleep(Duration::ZERO).await;
    });
}

#[test]
fn sleeps_in_tasks_are_never_early() {
    let rt = Builder::new().worker_threads(2).build().unwrap();
    let early = Arc::new(AtomicUsize::new(0));
    let handles: Vec<_> = (0..200u64)
        .map(|i| {
            let early = early.clone();
            rt.spawn(async move {
                let d = ms(1 + i % 37);
                let deadline = Instant::now() + d;
                time::sleep(d).await;
                if Instant::now() < deadline {
                    early.fetch_add(1, SeqCst);
                }
            })
        })
        .collect();
    rt.block_on(async {
        time::timeout(PATIENCE, async {
            for h in handles {
                h.await.unwrap();
            }
        })
        .await
        .expect("sleeps did not complete");
    });
    assert_eq!(early.load(SeqCst), 0);
}

#[test]
fn timers_fire_in_deadline_order() {
    // Fire times (the Instant each Timer delivers) are non-decreasing in deadline order, and
    // each is at or after its deadline, whatever the creation order.
    run(async {
        let base = Instant::now() + ms(20);
        let order = [9u64, 3, 7, 0, 5, 1, 8, 2, 6, 4];
        let timers: Vec<(u64, Timer)> = order
            .iter()
            .map(|&i| {
                let deadline = base + ms(3 * i);
                (i, Timer::new(deadline - Instant::now()))
            })
            .collect();
        let mut fired = Vec::new();
        for (i, t) in &timers {
            fired.push((*i, t.recv().await.unwrap()));
        }
        fired.sort_by_key(|&(i, _)| i);
        for (i, at) in &fired {
            assert!(*at >= base + ms(3 * i), "timer {i} fired early");
        }
        for w in fired.windows(2) {
            assert!(
                w[0].1 <= w[1].1,
                "timer {} fired after timer {}",
                w[0].0,
                w[1].0
            );
        }
    });
}

#[test]
fn huge_durations_saturate() {
    run(async {
        let r = time::timeout(ms(5), time::sleep(Duration::MAX)).await;
        assert_eq!(
            r,
            Err::<(), _>(
                time::timeout(ms(0), std::future::pending::<()>())
                    .await
                    .unwrap_err()
            )
        );
        let t = Timer::new(Duration::MAX);
        assert!(t.stop());
        let rx = time::after(Duration::MAX);
        assert!(rx.try_recv().is_err());
        let far = time::sleep(Duration::MAX).deadline();
        assert!(far > Instant::now() + Duration::from_secs(86_400 * 365));
    });
}

// ---- timeout ---------------------------------------------------------------------------------

#[test]
fn timeout_ok_and_elapsed() {
    run(async {
        assert_eq!(time::timeout(ms(50), async { 5 }).await, Ok(5));
        // A ready future wins even with a zero limit.
        assert_eq!(time::timeout(Duration::ZERO, async { 6 }).await, Ok(6));
        let start = Instant::now();
        let r = time::timeout(ms(10), std::future::pending::<u8>()).await;
        assert!(r.is_err());
        assert!(start.elapsed() >= ms(10));
        let e: Elapsed = r.unwrap_err();
        assert_eq!(e.to_string(), "deadline has elapsed");
        let _: &dyn std::error::Error = &e;
        assert!(format!("{e:?}").contains("Elapsed"));
        // The inner future finishing first.
        let r = time::timeout(ms(500), time::sleep(ms(5))).await;
        assert_eq!(r, Ok(()));
    });
}

// ---- after -----------------------------------------------------------------------------------

#[test]
fn after_delivers_one_instant_then_stays_open() {
    run(async {
        let start = Instant::now();
        let rx = time::after(ms(5));
        let at = rx.recv().await.unwrap();
        assert!(at >= start + ms(5));
        // A second receive waits (the channel is open and empty) instead of failing.
        let second = time::timeout(ms(30), rx.recv()).await;
        assert!(
            second.is_err(),
            "after delivered twice or closed: {second:?}"
        );
        assert!(!rx.is_closed());
    });
}

#[test]
fn after_as_a_timeout_in_select() {
    run(async {
        let (tx, rx) = goro_channel::bounded::<u32>(1);
        // Nothing sent: the timeout case wins.
        let start = Instant::now();
        let got = goro_channel::select! {
            recv(rx) -> v => Some(v.unwrap()),
            recv(time::after(ms(10))) -> t => { assert!(t.is_ok()); None }
        };
        assert_eq!(got, None);
        assert!(start.elapsed() >= ms(10));
        // A value ready: it wins over a long timeout.
        tx.send(7).await.unwrap();
        let got = goro_channel::select! {
            recv(rx) -> v => Some(v.unwrap()),
            recv(time::after(Duration::from_secs(60))) -> _ => None,
        };
        assert_eq!(got, Some(7));
        // A select loop reusing one `after` channel: fires once, then waits (no spinning).
        let timeout = time::after(ms(5));
        let mut fired = 0;
        let mut rounds = 0;
        while rounds < 3 {
            rounds += 1;
            goro_channel::select! {
                recv(timeout) -> _ => fired += 1,
                recv(time::after(ms(20))) -> _ => {},
            }
        }
        assert_eq!(fired, 1);
    });
}

#[test]
fn after_from_plain_threads_with_select_blocking() {
    let (_tx, rx) = goro_channel::bounded::<u32>(1);
    let t = std::thread::spawn(move || {
        let start = Instant::now();
        let got = goro_channel::select_blocking! {
            recv(rx) -> _ => false,
            recv(time::after(ms(10))) -> _ => true,
        };
        assert!(got && start.elapsed() >= ms(10));
        let at = time::after(ms(3)).recv_timeout(PATIENCE).unwrap();
        assert!(at >= start);
    });
    t.join().unwrap();
}

#[test]
fn abandoned_afters_in_a_loop_complete() {
    // The Go idiom of a fresh `after` per iteration, with the value channel always winning.
    run(async {
        let (tx, rx) = goro_channel::bounded::<u32>(1);
        for i in 0..20_000 {
            tx.send(i).await.unwrap();
            let v = goro_channel::select! {
                recv(rx) -> v => v.unwrap(),
                recv(time::after(Duration::from_secs(30))) -> _ => unreachable!(),
            };
            assert_eq!(v, i);
        }
    });
}

// ---- Timer -----------------------------------------------------------------------------------

#[test]
fn timer_stop_and_reset() {
    run(async {
        let t = Timer::new(Duration::from_secs(60));
        assert!(t.stop(), "stopping a pending timer");
        assert!(!t.stop(), "already stopped");
        assert!(!t.reset(ms(2)), "reset of a stopped timer reports inactive");
        let start = Instant::now();
        let at = t.recv().await.unwrap();
        assert!(at >= start);
        assert!(!t.stop(), "fired and received");
        // Fired but not received: stop discards the value and reports true (Go 1.23).
        assert!(!t.reset(ms(1)));
        time::sleep(ms(20)).await;
        assert!(t.stop());
        assert!(
            t.receiver().try_recv().is_err(),
            "no stale value after stop"
        );
        // Reset of a pending timer.
        assert!(!t.reset(Duration::from_secs(60)));
        assert!(t.reset(ms(1)));
        t.recv().await.unwrap();
    });
}

#[test]
fn timer_reset_and_stop_races_from_other_tasks() {
    let rt = Builder::new().worker_threads(2).build().unwrap();
    rt.block_on(async {
        time::timeout(PATIENCE, async {
            for _round in 0..50 {
                let timer = Arc::new(Timer::new(ms(1)));
                let tasks: Vec<_> = (0..8)
                    .map(|i| {
                        let timer = timer.clone();
                        spawn(async move {
                            for j in 0..20 {
                                if (i + j) % 3 == 0 {
                                    timer.stop();
                                } else {
                                    timer.reset(Duration::from_micros(((i * 7 + j) % 3) * 500));
                                }
                                goro_executor::yield_now().await;
                            }
                        })
                    })
                    .collect();
                for t in tasks {
                    t.await.unwrap();
                }
                // Whatever the interleaving, the timer is consistent: one final reset fires
                // exactly once.
                timer.reset(ms(1));
                timer.recv().await.unwrap();
                assert!(time::timeout(ms(5), timer.recv()).await.is_err());
            }
        })
        .await
        .expect("races left a timer stuck");
    });
}

#[test]
fn dropping_a_timer_closes_its_channel() {
    run(async {
        let t = Timer::new(Duration::from_secs(60));
        let rx = t.receiver().clone();
        drop(t);
        assert!(rx.recv().await.is_err());
    });
}

// ---- Ticker / tick / Interval ----------------------------------------------------------------

#[test]
fn ticker_ticks_and_stops() {
    run(async {
        let start = Instant::now();
        let ticker = Ticker::new(ms(2));
        let mut last = start;
        for n in 1..=5u32 {
            let at = ticker.recv().await.unwrap();
            assert!(at >= start + ms(2) * n, "tick {n} early");
            assert!(at > last);
            last = at;
        }
        ticker.stop();
        assert!(
            time::timeout(ms(20), ticker.recv()).await.is_err(),
            "tick after stop"
        );
        ticker.reset(ms(1));
        ticker.recv().await.unwrap();
    });
}

#[test]
fn ticker_with_a_slow_receiver_drops_ticks() {
    run(async {
        let ticker = Ticker::new(ms(1));
        let start = Instant::now();
        // Not receiving for 50 periods.
        time::sleep(ms(50)).await;
        let mut buffered = 0;
        while ticker.receiver().try_recv().is_ok() {
            buffered += 1;
        }
        assert_eq!(buffered, 1, "ticks piled up");
        // Ticks resume, on phase.
        let at = ticker.recv().await.unwrap();
        assert!(at >= start + ms(50));
    });
}

#[test]
fn tick_channel_works_in_select() {
    run(async {
        let ticks = time::tick(ms(2));
        let mut n = 0;
        while n < 3 {
            goro_channel::select! {
                recv(ticks) -> t => { t.unwrap(); n += 1; }
                recv(time::after(PATIENCE)) -> _ => panic!("no tick"),
            }
        }
    });
}

#[test]
#[should_panic(expected = "goro::time::tick: the period must be greater than zero")]
fn zero_tick_period_panics() {
    let _ = time::tick(Duration::ZERO);
}

#[test]
#[should_panic(expected = "goro::time::Ticker::new: the period must be greater than zero")]
fn zero_ticker_period_panics() {
    let _ = Ticker::new(Duration::ZERO);
}

#[test]
#[should_panic(expected = "goro::time::Ticker::reset: the period must be greater than zero")]
fn zero_ticker_reset_panics() {
    Ticker::new(ms(5)).reset(Duration::ZERO);
}

#[test]
#[should_panic(expected = "goro::time::interval: the period must be greater than zero")]
fn zero_interval_panics() {
    let _ = time::interval(Duration::ZERO);
}

#[test]
fn interval_is_a_stream_that_skips_missed_ticks() {
    run(async {
        let start = Instant::now();
        let mut iv = time::interval(ms(2));
        let ticks: Vec<Instant> = (&mut iv).take(3).collect().await;
        for w in ticks.windows(2) {
            // On phase: a whole number of periods apart (more than one if this thread was
            // descheduled past a tick, which is then skipped).
            let gap = (w[1] - w[0]).as_nanos();
            assert!(
                gap > 0 && gap % ms(2).as_nanos() == 0,
                "ticks off phase: {gap} ns"
            );
        }
        assert!(ticks[0] >= start + ms(2));
        // Falling behind: the next tick is in the future, not a burst of old ones.
        std::thread::sleep(ms(20));
        let behind = Instant::now();
        let next = iv.tick().await;
        let after = iv.tick().await;
        assert!(next <= behind, "first tick after stalling is the one due");
        assert!(after > behind, "missed ticks are skipped");
    });
}

// ---- scale, migration, shutdown ----------------------------------------------------------

#[test]
fn many_concurrent_sleeps_complete() {
    // 1,000,000 in release; 100,000 in debug builds to keep the suite fast.
    let n: usize = if cfg!(debug_assertions) {
        100_000
    } else {
        1_000_000
    };
    let rt = Builder::new().worker_threads(2).build().unwrap();
    let done = Arc::new(AtomicUsize::new(0));
    let pending = Arc::new(AtomicUsize::new(0));
    let peak = Arc::new(AtomicUsize::new(0));
    let (tx, rx) = goro_channel::bounded::<()>(1);
    // Deadlines spread over 100 ms after a common base, late enough that (on a normal
    // machine) every sleep is registered before the first one fires: all pending at once.
    let base = Instant::now()
        + if cfg!(debug_assertions) {
            ms(1500)
        } else {
            ms(4000)
        };
    for i in 0..n {
        let (done, pending, peak, tx) = (done.clone(), pending.clone(), peak.clone(), tx.clone());
        // Detached: completion is counted, not joined.
        drop(rt.spawn(async move {
            peak.fetch_max(pending.fetch_add(1, SeqCst) + 1, SeqCst);
            time::sleep_until(base + ms((i % 100) as u64)).await;
            assert!(Instant::now() >= base, "woke early");
            pending.fetch_sub(1, SeqCst);
            if done.fetch_add(1, SeqCst) + 1 == n {
                let _ = tx.try_send(());
            }
        }));
    }
    drop(tx);
    let r = rx.recv_timeout(Duration::from_secs(120));
    eprintln!("{n} sleeps, at most {} pending at once", peak.load(SeqCst));
    assert!(
        r.is_ok(),
        "only {} of {n} sleeps completed",
        done.load(SeqCst)
    );
}

#[test]
fn timer_created_on_one_worker_dropped_or_awaited_on_another() {
    let rt = Builder::new().worker_threads(2).build().unwrap();
    rt.block_on(async {
        time::timeout(PATIENCE, async {
            for _ in 0..200 {
                // Register in one task (first poll), then move it to another task.
                let mut s = time::sleep(ms(3));
                assert!(futures::poll!(&mut s).is_pending());
                let mut s2 = time::sleep(Duration::from_secs(60));
                assert!(futures::poll!(&mut s2).is_pending());
                let (tx, rx) = goro_channel::bounded(1);
                let other = spawn(async move {
                    let (s, s2): (time::Sleep, time::Sleep) = rx.recv().await.unwrap();
                    drop(s2); // cancelled from a different task / worker
                    s.await; // completed on a different task / worker
                });
                tx.send((s, s2)).await.unwrap();
                other.await.unwrap();
            }
            // And dropped on a plain thread.
            let mut s = time::sleep(Duration::from_secs(60));
            assert!(futures::poll!(&mut s).is_pending());
            std::thread::spawn(move || drop(s)).join().unwrap();
        })
        .await
        .expect("migrated timers did not complete");
    });
}

struct DropCount(Arc<AtomicUsize>);
impl Drop for DropCount {
    fn drop(&mut self) {
        self.0.fetch_add(1, SeqCst);
    }
}

#[test]
fn runtime_shutdown_with_pending_timers_releases_them() {
    let rt = Builder::new().worker_threads(2).build().unwrap();
    let dropped = Arc::new(AtomicUsize::new(0));
    let (started_tx, started_rx) = goro_channel::bounded::<()>(100);
    for i in 0..100 {
        let guard = DropCount(dropped.clone());
        let started_tx = started_tx.clone();
        drop(rt.spawn(async move {
            let _guard = guard;
            let _ = started_tx.try_send(());
            if i % 2 == 0 {
                time::sleep(Duration::from_secs(3600)).await;
            } else {
                let t = Timer::new(Duration::from_secs(3600));
                let _ = t.recv().await;
            }
        }));
    }
    for _ in 0..100 {
        started_rx.recv_timeout(PATIENCE).unwrap();
    }
    // A channel timer of that runtime, watched from a plain thread.
    let after_rx = rt.block_on(async { time::after(Duration::from_secs(3600)) });
    let start = Instant::now();
    rt.shutdown_timeout(Duration::from_secs(5));
    assert!(start.elapsed() < PATIENCE);
    assert_eq!(
        dropped.load(SeqCst),
        100,
        "pending timers' tasks were not released"
    );
    // The driver dropped its sender: receivers see the channel closed instead of hanging.
    assert!(after_rx.recv_timeout(PATIENCE).is_err());
    assert!(after_rx.is_closed());
}

#[test]
fn timers_in_an_explicit_runtime_use_it() {
    let rt = Builder::new().worker_threads(1).build().unwrap();
    let h = rt.spawn(async {
        let start = Instant::now();
        time::sleep(ms(5)).await;
        let t = time::after(ms(1)).recv().await.unwrap();
        (start, t)
    });
    let (start, t) = rt.block_on(async { time::timeout(PATIENCE, h).await.unwrap().unwrap() });
    assert!(t >= start + ms(5));
}

#[test]
fn timer_receiver_in_select() {
    run(async {
        // Take the start time before creating the timer: its deadline is measured from
        // `Timer::new`, so a start taken after it could see less than 3 ms elapse.
        let start = Instant::now();
        let timer = Timer::new(ms(3));
        let (_tx, rx) = goro_channel::bounded::<u8>(1);
        let fired = goro_channel::select! {
            recv(rx) -> _ => false,
            recv(timer.receiver()) -> t => t.is_ok(),
        };
        assert!(fired && start.elapsed() >= ms(3));
    });
}

#[test]
fn public_types_are_send_sync_debug() {
    fn check<T: Send + Sync + std::fmt::Debug>() {}
    check::<time::Sleep>();
    check::<time::Timeout<time::Sleep>>();
    check::<time::Elapsed>();
    check::<time::Interval>();
    check::<Timer>();
    check::<Ticker>();
    // The futures returned by async methods are Send too (usable in spawned tasks).
    fn send<T: Send>(_: &T) {}
    let t = Timer::new(Duration::from_secs(60));
    send(&t.recv());
    let k = Ticker::new(Duration::from_secs(60));
    send(&k.recv());
    let mut iv = time::interval(Duration::from_secs(60));
    send(&iv.tick());
}
