//! Loom models of the timer driver (`src/time/`):
//!
//! * `earliest.rs`, the lock-free earliest-deadline protocol: a shard raising its deadline and
//!   recomputing the global minimum never hides a deadline another thread is lowering (the
//!   ABA case where `fetch_min` changes nothing included).
//! * `driver.rs`, on the real driver code with loom's locks: a worker firing a timer while its
//!   task polls it with a new waker never loses the wake-up; firing vs `Timer::stop` leaves no
//!   stale value in the channel; firing vs dropping the timer frees the entry.
//!
//! Run: `RUSTFLAGS="--cfg loom" cargo test -p goro-executor --release --test loom_time`
#![cfg(loom)]

use goro_executor::time::loom_models as models;

#[test]
fn earliest_raise_vs_lower_never_loses_a_deadline() {
    models::raise_vs_lower_never_loses_a_deadline();
}

#[test]
fn earliest_two_recomputes_and_a_lower() {
    models::two_recomputes_and_a_lower();
}

#[test]
fn driver_fire_vs_poll_never_loses_the_wakeup() {
    models::fire_vs_poll_never_loses_the_wakeup();
}

#[test]
fn driver_fire_vs_stop_leaves_no_stale_value() {
    models::fire_vs_stop_leaves_no_stale_value();
}

#[test]
fn driver_fire_vs_drop_frees_the_entry() {
    models::fire_vs_drop_frees_the_entry();
}
