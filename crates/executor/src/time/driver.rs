//! The timer driver: sharded timing wheels, owned by a runtime and driven by its workers.
//!
//! # Design
//!
//! * **Wheels.** The driver has `N` shards (one per available core by default), each a
//!   [`Wheel`] of timer entries behind its own mutex. A thread inserts into the shard picked by
//!   a per-thread hint, so workers inserting at the same time take different locks: there is no
//!   global lock on the hot path. Cancelling (dropping a `Sleep`) locks the entry's own shard,
//!   whichever thread does it. Insert and cancel are O(1) (see `wheel.rs`).
//! * **Earliest deadline.** Each shard publishes its earliest deadline and the driver keeps a
//!   lower bound of them all in one atomic (see `earliest.rs`). A worker looking for work calls
//!   [`Driver::process_expired`]: with no timer pending that is one atomic load; with timers
//!   pending it is one load plus one read of the monotonic clock (`Instant::now`, a vDSO call on
//!   Linux, no system call) and a comparison, and only when something is due does it lock
//!   shards (with `try_lock`: a shard already being processed by another worker is skipped).
//! * **Parking.** An idle worker parks until [`Driver::next_deadline`]. Inserting a timer that
//!   lowers the earliest deadline calls the `unpark` callback the runtime gave, so a parked
//!   worker re-evaluates its timeout: an idle runtime sleeps exactly until the next deadline
//!   (entries beyond 64 ms first wake the runtime once per level to cascade, as in any
//!   hierarchical wheel).
//! * **Firing.** Deadlines are rounded *up* to the next millisecond since the driver started
//!   and a wheel is advanced only to the current millisecond rounded *down*, so a timer never
//!   fires before its deadline. A fired `Sleep` entry is marked and its waker woken after the
//!   shard lock is released; channel timers (`after`, `tick`, `Timer`, `Ticker`) `try_send` the
//!   firing `Instant` into their bounded(1) channel, so a slow receiver misses ticks instead of
//!   piling them up (as in Go).
//! * **Ownership.** An entry is *owned* when a handle (`Sleep`, `Timer`, `Ticker`) keeps its
//!   key, with an `Arc` of its shard (not of the whole driver: registering a timer touches no
//!   reference count shared by all threads); the handle frees the entry on drop, so dropping a
//!   timer removes its entry, from whichever thread. Entries of
//!   `after(d)` and `tick(d)` have no handle: the driver frees them when they fire (`after`) or
//!   when their channel is closed (`tick`).
//! * **`after` stays open.** Go's `time.After` channel is never closed. The channel of
//!   `after(d)` closes when its last sender drops, so once fired its sender is moved to the
//!   shard's `retired` list, which keeps the channel open while a receiver lives. The list and
//!   the pending unowned entries are swept (senders whose channel is closed, i.e. whose
//!   receivers are all gone, are dropped) when a new `after`/`tick` finds that they have
//!   doubled since the last sweep (and make up at least half the shard). So an abandoned
//!   `after` costs amortised O(1), and the senders kept for dead channels stay within a
//!   constant factor of the shard's live timers (plus 1024): memory is bounded by the
//!   program's peak of live timers, never growing with the total of `after`s ever created.
//! * **Shutdown.** [`Driver::shutdown`] drops every entry's waker and sender, so tasks parked on
//!   timers are released (no reference cycle task -> sleep -> driver -> waker -> task survives)
//!   and receivers of timer channels see them closed. Polling a `Sleep` of a shut-down driver
//!   panics with a clear message; new channel timers come back closed.
//!
//! No user code runs under a shard lock: wakers and senders are woken and dropped after it is
//! released (`try_send` runs under it but only touches the channel's own lock and wakes).

use super::{
    earliest::{Earliest, NONE},
    wheel::{Key, Wheel},
};
use goro_channel::{Sender, TrySendError};
use std::{
    cell::Cell,
    fmt,
    sync::{
        atomic::{AtomicUsize, Ordering::Relaxed},
        Arc, PoisonError, TryLockError,
    },
    task::{Context, Poll, Waker},
    time::{Duration, Instant},
};

// The shard locks come from loom under `--cfg loom`, so the fire-vs-stop model below checks
// the real driver code.
#[cfg(loom)]
use loom::sync::{Mutex, MutexGuard};
#[cfg(not(loom))]
use std::sync::{Mutex, MutexGuard};

/// How a fired entry tells its owner.
pub(super) enum Notify {
    /// A `Sleep`: wake this waker (if the future was polled).
    Waker(Option<Waker>),
    /// `after` / `Timer`: send the firing time once.
    Once(Sender<Instant>),
    /// `tick` / `Ticker`: send the firing time every `period` ticks, dropping it when full.
    Tick { tx: Sender<Instant>, period: u64 },
    /// The driver shut down; nothing to notify.
    Dead,
}

struct Entry {
    fired: bool,
    owned: bool,
    notify: Notify,
}

/// Things to wake or drop once the shard lock is released.
#[derive(Default)]
struct Deferred {
    wakers: Vec<Waker>,
    junk: Vec<Notify>,
}

impl Deferred {
    fn run(&mut self) {
        for w in self.wakers.drain(..) {
            w.wake();
        }
        self.junk.clear();
    }
}

struct ShardState {
    wheel: Wheel<Entry>,
    /// Senders of fired `after` channels, kept so those channels stay open.
    retired: Vec<Sender<Instant>>,
    /// Unowned entries still in the wheel.
    unowned: usize,
    /// Sweep when `unowned + retired.len()` reaches this.
    sweep_at: usize,
    shutdown: bool,
}

/// One shard, on its own cache lines so that two shards' locks never share one. Timer handles
/// keep an `Arc` of their shard (not of the whole driver), so registering a timer touches no
/// reference count shared by all threads.
#[repr(align(128))]
struct Shard {
    state: Mutex<ShardState>,
    index: usize,
    common: Arc<Common>,
}

impl Shard {
    fn lock(&self) -> MutexGuard<'_, ShardState> {
        // Poisoning cannot leave a shard inconsistent: no user code runs under its lock.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// A runtime's timer driver (see the module documentation).
///
/// The runtime owns one, calls [`Driver::process_expired`] from its workers and parks them
/// until [`Driver::next_deadline`]; the time API finds it through the current runtime's handle.
pub(crate) struct Driver {
    common: Arc<Common>,
    shards: Box<[Arc<Shard>]>,
}

/// What every shard needs of the driver.
struct Common {
    /// Tick 0: deadlines are whole milliseconds since this instant.
    start: Instant,
    earliest: Earliest,
    unpark: Arc<dyn Fn() + Send + Sync>,
}

impl fmt::Debug for Driver {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Driver")
            .field("shards", &self.shards.len())
            .field("next_deadline", &self.next_deadline())
            .finish_non_exhaustive()
    }
}

/// Far enough to mean "never" and still representable as an `Instant` on every platform.
const FAR_FUTURE: Duration = Duration::from_secs(86_400 * 365 * 30);

/// `now + d`, saturating at about 30 years from now instead of overflowing.
pub(super) fn deadline_after(d: Duration) -> Instant {
    let now = Instant::now();
    now.checked_add(d)
        .unwrap_or_else(|| now.checked_add(FAR_FUTURE).unwrap_or(now))
}

/// The driver's resolution: one wheel tick (1 ms, as tokio's). A timer wakes at the first tick
/// boundary at or after its deadline, so a task that sleeps right after being woken by a timer
/// is late by about one tick; a 250 µs tick cuts the median lateness of `sleep(5 ms)` from
/// 1.0 ms to 0.25 ms at the price of up to four times as many timer wake-ups (see
/// `examples/sleep_lateness.rs`).
const TICK_NANOS: u64 = 1_000_000;

/// A duration in whole ticks, rounded up, at least 1 (the period of a ticker).
pub(super) fn period_ticks(d: Duration) -> u64 {
    let ticks = d.as_nanos().div_ceil(u128::from(TICK_NANOS)).max(1);
    u64::try_from(ticks).unwrap_or(u64::MAX / 2)
}

thread_local! {
    static SHARD_HINT: Cell<usize> = const { Cell::new(usize::MAX) };
}

/// This thread's shard hint: assigned round-robin on first use, so threads spread over shards.
fn shard_hint() -> usize {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    SHARD_HINT
        .try_with(|h| {
            let mut v = h.get();
            if v == usize::MAX {
                // Relaxed: only spreads threads over shards; any value is correct.
                v = NEXT.fetch_add(1, Relaxed);
                h.set(v);
            }
            v
        })
        .unwrap_or(0)
}

impl Driver {
    /// A driver with one shard per available core; `unpark` is called when a timer is inserted
    /// ahead of the earliest known deadline, so that a parked worker re-evaluates its timeout.
    pub(crate) fn new(unpark: Arc<dyn Fn() + Send + Sync>) -> Driver {
        let shards = std::thread::available_parallelism().map_or(4, |n| n.get());
        Self::with_shards(shards.clamp(1, 64), unpark)
    }

    /// A driver with `shards` shards (at least 1).
    pub(crate) fn with_shards(shards: usize, unpark: Arc<dyn Fn() + Send + Sync>) -> Driver {
        let shards = shards.max(1);
        let common = Arc::new(Common {
            start: Instant::now(),
            earliest: Earliest::new(shards),
            unpark,
        });
        Driver {
            shards: (0..shards)
                .map(|index| {
                    Arc::new(Shard {
                        state: Mutex::new(ShardState {
                            wheel: Wheel::new(),
                            retired: Vec::new(),
                            unowned: 0,
                            sweep_at: SWEEP_MIN,
                            shutdown: false,
                        }),
                        index,
                        common: common.clone(),
                    })
                })
                .collect(),
            common,
        }
    }

    /// Fires every due timer and wakes its waker; returns how many fired. One atomic load when
    /// no timer is pending, one load and a clock read when none is due.
    pub(crate) fn process_expired(&self) -> usize {
        let earliest = self.common.earliest.load();
        if earliest == NONE {
            return 0;
        }
        let now = Instant::now();
        let now_tick = self.common.now_tick(now);
        if now_tick < earliest {
            return 0;
        }
        self.process_due(now, now_tick)
    }

    /// The earliest instant at which a timer may be due (a lower bound: waking then and
    /// calling [`Driver::process_expired`] is always right), `None` if no timer is pending.
    pub(crate) fn next_deadline(&self) -> Option<Instant> {
        match self.common.earliest.load() {
            NONE => None,
            tick => Some(self.common.tick_instant(tick)),
        }
    }

    /// Drops every pending timer's waker and sender; see the module documentation.
    pub(crate) fn shutdown(&self) {
        for shard in self.shards.iter() {
            let mut deferred = Deferred::default();
            let mut st = shard.lock();
            st.shutdown = true;
            for key in st.wheel.keys() {
                let owned = st.wheel.get_mut(key).owned;
                if owned {
                    st.wheel.unschedule(key);
                    let notify = std::mem::replace(&mut st.wheel.get_mut(key).notify, Notify::Dead);
                    deferred.junk.push(notify);
                } else {
                    let entry = st.wheel.remove(key);
                    deferred.junk.push(entry.notify);
                }
            }
            st.unowned = 0;
            let retired = std::mem::take(&mut st.retired);
            self.common.earliest.set(shard.index, NONE);
            drop(st);
            drop(retired);
            deferred.run();
        }
        self.common.earliest.recompute();
    }

    /// Number of timer entries alive (pending, fired-but-not-dropped, or idle).
    #[cfg_attr(not(any(test, loom)), allow(dead_code))]
    pub(crate) fn timer_count(&self) -> usize {
        self.shards.iter().map(|s| s.lock().wheel.len()).sum()
    }
}

const SWEEP_MIN: usize = 1024;

impl Common {
    /// Deadline -> tick, rounded up (so never early), saturating.
    fn deadline_tick(&self, deadline: Instant) -> u64 {
        match deadline.checked_duration_since(self.start) {
            None => 0,
            Some(d) => {
                u64::try_from(d.as_nanos().div_ceil(u128::from(TICK_NANOS))).unwrap_or(NONE - 1)
            }
        }
    }

    /// Now -> tick, rounded down (so never early).
    fn now_tick(&self, now: Instant) -> u64 {
        let d = now.saturating_duration_since(self.start);
        u64::try_from(d.as_nanos() / u128::from(TICK_NANOS)).unwrap_or(NONE - 1)
    }

    fn tick_instant(&self, tick: u64) -> Instant {
        tick.checked_mul(TICK_NANOS)
            .and_then(|nanos| self.start.checked_add(Duration::from_nanos(nanos)))
            .unwrap_or_else(|| deadline_after(FAR_FUTURE))
    }
}

impl Driver {
    /// The slow path of `process_expired`: something may be due at `now_tick`.
    fn process_due(&self, now: Instant, now_tick: u64) -> usize {
        let earliest = &self.common.earliest;
        let mut fired = 0;
        let mut keys = Vec::new();
        let mut deferred = Deferred::default();
        let n = self.shards.len();
        let first = shard_hint() % n;
        for i in 0..n {
            let idx = (first + i) % n;
            if earliest.shard(idx) > now_tick {
                continue;
            }
            let mut st = match self.shards[idx].state.try_lock() {
                Ok(guard) => guard,
                Err(TryLockError::Poisoned(p)) => p.into_inner(),
                // Another worker is processing it, or a task is inserting: `global` stays at or
                // below this shard's deadline, so the next call tries again.
                Err(TryLockError::WouldBlock) => continue,
            };
            st.wheel.advance(now_tick, &mut keys);
            fired += keys.len();
            for key in keys.drain(..) {
                st.fire(key, now, &mut deferred);
            }
            let next = st.wheel.next_expiration().unwrap_or(NONE);
            earliest.set(idx, next);
            drop(st);
            deferred.run();
        }
        earliest.recompute();
        fired
    }

    /// Inserts an entry due at `deadline` into this thread's shard (`now` is a recent reading
    /// of the clock). Returns the registration of an owned entry and whether it has already
    /// fired (its deadline had passed); `None` for an unowned one.
    pub(super) fn register(
        &self,
        deadline: Instant,
        now: Instant,
        notify: Notify,
        owned: bool,
    ) -> Option<(Registration, bool)> {
        let shard = &self.shards[shard_hint() % self.shards.len()];
        let common = &*self.common;
        let when = common.deadline_tick(deadline);
        let mut deferred = Deferred::default();
        let mut lowered = false;
        let mut st = shard.lock();
        let result = if st.shutdown {
            deferred.junk.push(notify);
            owned.then(|| {
                let key = st.wheel.insert(Entry {
                    fired: false,
                    owned,
                    notify: Notify::Dead,
                });
                (Registration::new(shard, key), false)
            })
        } else {
            let key = st.wheel.insert(Entry {
                fired: false,
                owned,
                notify,
            });
            if !owned {
                st.unowned += 1;
            }
            if deadline > now && st.wheel.schedule(key, when) {
                lowered = common.earliest.lower(shard.index, when);
            } else {
                // Due already (or the wheel is already past it): fire on the spot.
                st.wheel.set_when(key, when);
                st.fire(key, now, &mut deferred);
                // A ticker re-armed itself: publish its next deadline.
                if let Some(next) = st.next_of(key) {
                    lowered = common.earliest.lower(shard.index, next);
                }
            }
            if !owned {
                st.maybe_sweep(&mut deferred);
            }
            let fired = owned && st.wheel.get_mut(key).fired;
            owned.then(|| (Registration::new(shard, key), fired))
        };
        drop(st);
        deferred.run();
        if lowered {
            (common.unpark)();
        }
        result
    }
}

impl ShardState {
    /// The deadline of `key` if it is (still or again) pending; `None` if it is not, or was
    /// freed (an `after` that fired).
    fn next_of(&self, key: Key) -> Option<u64> {
        self.wheel
            .contains(key)
            .then(|| self.wheel.is_scheduled(key).then(|| self.wheel.when(key)))
            .flatten()
    }

    /// Handles a due entry (already unlinked from the wheel).
    fn fire(&mut self, key: Key, now: Instant, deferred: &mut Deferred) {
        let entry = self.wheel.get_mut(key);
        match &mut entry.notify {
            Notify::Waker(w) => {
                entry.fired = true;
                if let Some(w) = w.take() {
                    deferred.wakers.push(w);
                }
            }
            Notify::Dead => entry.fired = true,
            Notify::Once(tx) => {
                entry.fired = true;
                let closed = matches!(tx.try_send(now), Err(TrySendError::Closed(_)));
                if !entry.owned {
                    self.unowned -= 1;
                    if let Notify::Once(tx) = self.wheel.remove(key).notify {
                        if closed {
                            deferred.junk.push(Notify::Once(tx));
                        } else {
                            // Keep the channel open while its receivers live (Go's After).
                            self.retired.push(tx);
                        }
                    }
                }
            }
            Notify::Tick { tx, period } => {
                let period = *period;
                entry.fired = true;
                let closed = matches!(tx.try_send(now), Err(TrySendError::Closed(_)));
                if closed && !entry.owned {
                    self.unowned -= 1;
                    deferred.junk.push(self.wheel.remove(key).notify);
                    return;
                }
                // Next tick on the original phase, skipping the ones already missed.
                let when = self.wheel.when(key);
                let base = self.wheel.elapsed();
                let missed = base.saturating_sub(when) / period + 1;
                let next = when.saturating_add(missed.saturating_mul(period));
                let next = if next <= base { base + 1 } else { next };
                let scheduled = self.wheel.schedule(key, next);
                debug_assert!(scheduled);
                // The caller publishes the shard's next deadline after processing; a tick
                // re-armed at registration time (due at once) is published by the caller too.
            }
        }
    }

    /// Drops the senders of `after`/`tick` channels nobody can receive from any more, once
    /// their number has doubled since the last sweep (amortised O(1) per timer).
    fn maybe_sweep(&mut self, deferred: &mut Deferred) {
        let count = self.unowned + self.retired.len();
        if count < self.sweep_at.max(self.wheel.len() / 2) {
            return;
        }
        self.retired.retain(|tx| !tx.is_closed());
        for key in self.wheel.keys() {
            let entry = self.wheel.get_mut(key);
            let dead = !entry.owned
                && match &entry.notify {
                    Notify::Once(tx) | Notify::Tick { tx, .. } => tx.is_closed(),
                    _ => false,
                };
            if dead {
                self.unowned -= 1;
                deferred.junk.push(self.wheel.remove(key).notify);
            }
        }
        self.sweep_at = SWEEP_MIN.max(2 * (self.unowned + self.retired.len()));
    }
}

/// An owned timer entry: the handle a `Sleep`, `Timer` or `Ticker` keeps. Dropping it removes
/// the entry.
pub(super) struct Registration {
    shard: Arc<Shard>,
    key: Key,
}

impl fmt::Debug for Registration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Registration")
            .field("shard", &self.shard.index)
            .field("key", &self.key)
            .finish()
    }
}

impl Registration {
    fn new(shard: &Arc<Shard>, key: Key) -> Registration {
        Registration {
            shard: shard.clone(),
            key,
        }
    }

    fn lock(&self) -> MutexGuard<'_, ShardState> {
        self.shard.lock()
    }

    /// `Ready` once the entry fired; otherwise stores the waker.
    ///
    /// # Panics
    ///
    /// If the driver has shut down.
    pub(super) fn poll_fired(&self, cx: &mut Context<'_>) -> Poll<()> {
        let mut st = self.lock();
        let entry = st.wheel.get_mut(self.key);
        if entry.fired {
            return Poll::Ready(());
        }
        match &mut entry.notify {
            Notify::Waker(slot) => {
                let old = match slot {
                    Some(w) if w.will_wake(cx.waker()) => None,
                    _ => slot.replace(cx.waker().clone()),
                };
                drop(st);
                drop(old);
                Poll::Pending
            }
            Notify::Dead => {
                drop(st);
                panic!("goro: a timer was polled after the runtime driving it shut down");
            }
            _ => unreachable!("poll_fired on a channel timer"),
        }
    }

    /// Whether the entry is pending in the wheel.
    pub(super) fn is_pending(&self) -> bool {
        self.lock().wheel.is_scheduled(self.key)
    }

    /// Unschedules the entry; returns whether it was pending.
    pub(super) fn stop(&self) -> bool {
        self.lock().wheel.unschedule(self.key)
    }

    /// Re-arms the entry for `deadline` (and, for a ticker, a new period in ticks); returns
    /// whether it was pending. A deadline already passed fires at once.
    pub(super) fn reset(&self, deadline: Instant, period: Option<u64>) -> bool {
        let common = &*self.shard.common;
        let idx = self.shard.index;
        let when = common.deadline_tick(deadline);
        let mut deferred = Deferred::default();
        let mut st = self.lock();
        let was_pending = st.wheel.unschedule(self.key);
        let entry = st.wheel.get_mut(self.key);
        entry.fired = false;
        if let (Notify::Tick { period: p, .. }, Some(new)) = (&mut entry.notify, period) {
            *p = new;
        }
        let mut lowered = false;
        if !matches!(entry.notify, Notify::Dead) {
            let now = Instant::now();
            if deadline > now && st.wheel.schedule(self.key, when) {
                lowered = common.earliest.lower(idx, when);
            } else {
                st.wheel.set_when(self.key, when);
                st.fire(self.key, now, &mut deferred);
                if let Some(next) = st.next_of(self.key) {
                    lowered = common.earliest.lower(idx, next);
                }
            }
        }
        drop(st);
        deferred.run();
        if lowered {
            (common.unpark)();
        }
        was_pending
    }
}

impl Drop for Registration {
    fn drop(&mut self) {
        let mut st = self.lock();
        let entry = st.wheel.remove(self.key);
        drop(st);
        drop(entry);
    }
}

/// Builds the notifier of a `Sleep`.
pub(super) fn waker_notify(waker: Waker) -> Notify {
    Notify::Waker(Some(waker))
}

/// Builds the notifier of `after` / `Timer`.
pub(super) fn once_notify(tx: Sender<Instant>) -> Notify {
    Notify::Once(tx)
}

/// Builds the notifier of `tick` / `Ticker`.
pub(super) fn tick_notify(tx: Sender<Instant>, period: u64) -> Notify {
    Notify::Tick { tx, period }
}

#[cfg(all(test, not(loom)))]
mod size_tests {
    use super::*;

    /// Memory per pending timer: one slab slot in the driver (56 bytes on x86-64), plus the
    /// handle in the future (a `Sleep` is 32 bytes).
    #[test]
    fn entry_and_handle_sizes() {
        let slot = super::super::wheel::slot_size::<Entry>();
        assert!(slot <= 64, "a timer entry takes {slot} bytes");
        assert!(std::mem::size_of::<super::super::Sleep>() <= 40);
        assert!(std::mem::size_of::<Registration>() <= 16);
    }
}

/// Loom models of fire-vs-poll/stop/drop on the real driver (its shard locks are loom's under
/// `--cfg loom`), run by `tests/loom_time.rs`.
#[cfg(loom)]
pub(super) mod loom_models {
    use super::*;
    use loom::{
        sync::atomic::{AtomicBool, Ordering::SeqCst},
        thread,
    };
    use std::task::Wake;

    /// A driver with one timer entry registered and already due.
    fn due_entry(notify: Notify) -> (Arc<Driver>, Registration) {
        let driver = Arc::new(Driver::with_shards(1, Arc::new(|| {})));
        let deadline = Instant::now() + Duration::from_millis(1);
        let (reg, fired) = driver
            .register(deadline, Instant::now(), notify, true)
            .expect("owned");
        assert!(!fired);
        // Wait (outside the model's interleavings) until the entry is due.
        while Instant::now() < deadline + Duration::from_millis(1) {
            std::hint::spin_loop();
        }
        (driver, reg)
    }

    struct Flag(AtomicBool);
    impl Wake for Flag {
        fn wake(self: Arc<Self>) {
            self.0.store(true, SeqCst);
        }
    }

    /// A worker fires the entry while the task polls it with a new waker: the poll sees it
    /// fired, or the new waker is woken. No lost wake-up.
    pub fn fire_vs_poll_never_loses_the_wakeup() {
        loom::model(|| {
            let first = Arc::new(Flag(AtomicBool::new(false)));
            let (driver, reg) = due_entry(Notify::Waker(Some(Waker::from(first.clone()))));
            let worker = {
                let driver = driver.clone();
                thread::spawn(move || {
                    driver.process_expired();
                })
            };
            let second = Arc::new(Flag(AtomicBool::new(false)));
            let waker = Waker::from(second.clone());
            let polled = reg.poll_fired(&mut Context::from_waker(&waker));
            worker.join().unwrap();
            let woken = first.0.load(SeqCst) || second.0.load(SeqCst);
            assert!(polled.is_ready() || second.0.load(SeqCst), "lost wake-up");
            assert!(woken);
            drop(reg);
            assert_eq!(driver.timer_count(), 0);
        });
    }

    /// A worker fires a `Timer` while another thread stops it: `stop` reports that it
    /// prevented the value (it always can here) and no stale value is left in the channel.
    pub fn fire_vs_stop_leaves_no_stale_value() {
        loom::model(|| {
            let (tx, rx) = goro_channel::bounded(1);
            let (driver, reg) = due_entry(Notify::Once(tx));
            let worker = {
                let driver = driver.clone();
                thread::spawn(move || {
                    driver.process_expired();
                })
            };
            // `Timer::stop`.
            let stopped = reg.stop() | rx.try_recv().is_ok();
            worker.join().unwrap();
            assert!(stopped);
            assert!(rx.try_recv().is_err(), "stale value after stop");
            assert!(!reg.is_pending());
        });
    }

    /// A worker fires the entry while another thread drops (cancels) it.
    pub fn fire_vs_drop_frees_the_entry() {
        loom::model(|| {
            let (driver, reg) = due_entry(Notify::Waker(None));
            let worker = {
                let driver = driver.clone();
                thread::spawn(move || {
                    driver.process_expired();
                })
            };
            drop(reg);
            worker.join().unwrap();
            assert_eq!(driver.timer_count(), 0);
            assert_eq!(driver.process_expired(), 0);
        });
    }
}
