//! The scheduler's side of timers: an idle runtime (every worker parked) wakes for the next
//! deadline, and a newly registered *earlier* deadline re-arms the sleeping worker instead of
//! waiting for the later one.

mod common;

use goro_executor::{runtime::Builder, time};
use std::time::{Duration, Instant};

#[test]
fn earlier_timer_rearms_a_parked_worker() {
    let _w = common::watchdog("earlier_timer_rearms_a_parked_worker", 30);
    for workers in [1, 2] {
        let rt = Builder::new().worker_threads(workers).build().unwrap();
        // A far timer: a worker takes the timer role and sleeps until it.
        let far = rt.spawn(time::sleep(Duration::from_secs(20)));
        // Let the runtime go idle (the far sleep is registered, workers park).
        std::thread::sleep(Duration::from_millis(20));
        let t0 = Instant::now();
        // An earlier timer, registered from outside any worker.
        let near = rt.spawn(async {
            time::sleep(Duration::from_millis(30)).await;
            Instant::now()
        });
        let fired = rt.block_on(near).unwrap();
        let took = fired - t0;
        assert!(took >= Duration::from_millis(30), "early: {took:?}");
        assert!(
            took < Duration::from_secs(5),
            "the near timer waited for the far one: {took:?}"
        );
        far.abort();
        assert!(rt.block_on(far).unwrap_err().is_cancelled());
    }
}

#[test]
fn idle_runtime_wakes_for_a_chain_of_sleeps() {
    let _w = common::watchdog("idle_runtime_wakes_for_a_chain_of_sleeps", 30);
    let rt = Builder::new().worker_threads(2).build().unwrap();
    let t0 = Instant::now();
    let h = rt.spawn(async {
        for _ in 0..10 {
            time::sleep(Duration::from_millis(5)).await;
        }
    });
    rt.block_on(h).unwrap();
    let took = t0.elapsed();
    assert!(took >= Duration::from_millis(50), "early: {took:?}");
    assert!(took < Duration::from_secs(5), "stalled: {took:?}");
}
