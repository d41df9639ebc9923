//! A hierarchical timing wheel over a slab of timer entries.
//!
//! # Algorithm
//!
//! This is the hashed hierarchical timing wheel of Varghese & Lauck ("Hashed and Hierarchical
//! Timing Wheels", SOSP 1987), in the shape tokio's `runtime/time/wheel` popularised: six levels
//! of 64 slots, with a resolution of one tick (1 ms for goro's driver). Level `l` slot `s` holds
//! the entries whose deadline falls in the `s`-th `64^l`-tick window of the current `64^(l+1)`
//! window, so level 0 spans 64 ms, level 1 about 4 s, level 2 about 4.4 min, level 3 about 4.7 h,
//! level 4 about 12.4 days and level 5 about 2.2 years. Deadlines further away than that are
//! "fudged" into the top level and simply re-inserted each time their slot comes round, so any
//! `u64` deadline is accepted (this is how huge durations saturate instead of overflowing).
//!
//! * The level of an entry is given by the highest bit in which its deadline differs from the
//!   wheel's current time (`elapsed`): `level = ilog2((elapsed ^ when) | 63) / 6`.
//! * Each level keeps a 64-bit `occupied` mask, so finding the next non-empty slot is one
//!   rotate and one `trailing_zeros`.
//! * Advancing the wheel takes the earliest occupied slot whose start is due, moves `elapsed`
//!   to that start, fires the entries whose deadline is reached and re-inserts ("cascades") the
//!   others, which now land on a lower level. Repeating this until the next slot start is in
//!   the future fires every due entry, in deadline order (to the tick).
//!
//! # Storage
//!
//! Entries live in a slab (`Vec` plus a free list) and each slot is a doubly linked list of
//! slab indices (`u32`), so insert, cancel and "has it fired" are O(1) and need no `unsafe`
//! and no allocation per timer once the slab has grown. A slot index is stable for the life of
//! the entry, which is what the timer futures keep as their handle.
//!
//! # Why it is correct
//!
//! Invariant: an entry on level `l` agrees with `elapsed` on every bit above level `l`, and
//! differs from it within level `l`; so its slot is strictly after the current slot of its level
//! (the one exception, an entry fudged into the top level, may sit in or before the current top
//! slot and then means "one rotation later"). Hence every entry on a lower level is due before
//! any slot of a higher level starts, and the earliest slot found scanning upwards from level 0
//! is the global earliest. `advance` never moves `elapsed` past an occupied slot's start without
//! emptying that slot, so the invariant is kept, and an entry is reported only when its deadline
//! is at or before the time the caller passed: never early.

#![forbid(unsafe_code)]

/// Number of levels.
const LEVELS: usize = 6;
/// log2 of the number of slots per level.
const BITS: u32 = 6;
/// Slots per level.
const SLOTS: usize = 1 << BITS;
/// Ticks covered by the whole wheel; deadlines further away sit in the top level.
const MAX_SPAN: u64 = 1 << (BITS as u64 * LEVELS as u64);

/// "No entry" in a link or a list head.
const NIL: u32 = u32::MAX;
/// `loc` of an entry that is not linked into any slot.
const UNLINKED: u16 = u16::MAX;

/// The index of an entry in the wheel's slab.
pub(super) type Key = u32;

#[derive(Debug)]
struct Node<T> {
    /// Deadline in ticks (only meaningful while scheduled, kept afterwards for reschedules).
    when: u64,
    prev: u32,
    next: u32,
    /// `level * SLOTS + slot` while linked, `UNLINKED` otherwise.
    loc: u16,
    data: T,
}

#[derive(Debug)]
enum Slot<T> {
    Occupied(Node<T>),
    Vacant { next_free: u32 },
}

/// A hierarchical timing wheel whose entries carry a payload `T`.
#[derive(Debug)]
pub(super) struct Wheel<T> {
    /// The wheel's current time in ticks: everything at or before it has been reported.
    elapsed: u64,
    occupied: [u64; LEVELS],
    heads: [[u32; SLOTS]; LEVELS],
    slab: Vec<Slot<T>>,
    free_head: u32,
    /// Allocated entries (scheduled or not).
    len: usize,
}

impl<T> Wheel<T> {
    /// An empty wheel at time 0.
    pub(super) fn new() -> Self {
        Wheel {
            elapsed: 0,
            occupied: [0; LEVELS],
            heads: [[NIL; SLOTS]; LEVELS],
            slab: Vec::new(),
            free_head: NIL,
            len: 0,
        }
    }

    /// The wheel's current time in ticks.
    pub(super) fn elapsed(&self) -> u64 {
        self.elapsed
    }

    /// Number of allocated entries, scheduled or not.
    pub(super) fn len(&self) -> usize {
        self.len
    }

    /// Allocates an entry (not scheduled) and returns its key.
    ///
    /// # Panics
    ///
    /// If more than `u32::MAX - 1` entries are alive at once.
    pub(super) fn insert(&mut self, data: T) -> Key {
        let node = Node {
            when: 0,
            prev: NIL,
            next: NIL,
            loc: UNLINKED,
            data,
        };
        self.len += 1;
        if self.free_head != NIL {
            let key = self.free_head;
            let slot = &mut self.slab[key as usize];
            match *slot {
                Slot::Vacant { next_free } => self.free_head = next_free,
                Slot::Occupied(_) => unreachable!("free list points at a live entry"),
            }
            *slot = Slot::Occupied(node);
            key
        } else {
            let key = u32::try_from(self.slab.len())
                .ok()
                .filter(|&k| k != NIL)
                .expect("goro: more than 4 billion timers alive in one shard");
            self.slab.push(Slot::Occupied(node));
            key
        }
    }

    /// Unschedules (if needed) and frees an entry, returning its payload.
    pub(super) fn remove(&mut self, key: Key) -> T {
        self.unschedule(key);
        let old = std::mem::replace(
            &mut self.slab[key as usize],
            Slot::Vacant {
                next_free: self.free_head,
            },
        );
        self.free_head = key;
        self.len -= 1;
        match old {
            Slot::Occupied(node) => node.data,
            Slot::Vacant { .. } => panic!("goro timer wheel: removed a free entry"),
        }
    }

    fn node(&self, key: Key) -> &Node<T> {
        match &self.slab[key as usize] {
            Slot::Occupied(node) => node,
            Slot::Vacant { .. } => panic!("goro timer wheel: used a free entry"),
        }
    }

    fn node_mut(&mut self, key: Key) -> &mut Node<T> {
        match &mut self.slab[key as usize] {
            Slot::Occupied(node) => node,
            Slot::Vacant { .. } => panic!("goro timer wheel: used a free entry"),
        }
    }

    /// The payload of an entry.
    pub(super) fn get_mut(&mut self, key: Key) -> &mut T {
        &mut self.node_mut(key).data
    }

    /// The last deadline an entry was scheduled for.
    pub(super) fn when(&self, key: Key) -> u64 {
        self.node(key).when
    }

    /// Records `when` as the deadline of an unscheduled entry without scheduling it (an entry
    /// fired on the spot; a ticker computes its next deadline from it).
    pub(super) fn set_when(&mut self, key: Key, when: u64) {
        debug_assert!(!self.is_scheduled(key));
        self.node_mut(key).when = when;
    }

    /// Whether `key` is an allocated entry.
    pub(super) fn contains(&self, key: Key) -> bool {
        matches!(self.slab.get(key as usize), Some(Slot::Occupied(_)))
    }

    /// Whether the entry is linked into the wheel (pending).
    pub(super) fn is_scheduled(&self, key: Key) -> bool {
        self.node(key).loc != UNLINKED
    }

    /// Schedules an unscheduled entry for tick `when`.
    ///
    /// Returns `false`, leaving the entry unscheduled, if `when` is already due (at or before
    /// `elapsed`): the caller fires it on the spot.
    pub(super) fn schedule(&mut self, key: Key, when: u64) -> bool {
        debug_assert!(!self.is_scheduled(key), "scheduled twice");
        self.node_mut(key).when = when;
        if when <= self.elapsed {
            return false;
        }
        self.link(key, when);
        true
    }

    /// Unlinks a scheduled entry; returns whether it was scheduled.
    pub(super) fn unschedule(&mut self, key: Key) -> bool {
        let node = self.node(key);
        if node.loc == UNLINKED {
            return false;
        }
        let (loc, prev, next) = (node.loc as usize, node.prev, node.next);
        let (level, slot) = (loc / SLOTS, loc % SLOTS);
        if prev == NIL {
            self.heads[level][slot] = next;
            if next == NIL {
                self.occupied[level] &= !(1u64 << slot);
            }
        } else {
            self.node_mut(prev).next = next;
        }
        if next != NIL {
            self.node_mut(next).prev = prev;
        }
        let node = self.node_mut(key);
        node.loc = UNLINKED;
        node.prev = NIL;
        node.next = NIL;
        true
    }

    fn link(&mut self, key: Key, when: u64) {
        let level = level_for(self.elapsed, when);
        let slot = ((when >> (level as u32 * BITS)) as usize) & (SLOTS - 1);
        let head = self.heads[level][slot];
        if head != NIL {
            self.node_mut(head).prev = key;
        }
        let node = self.node_mut(key);
        node.prev = NIL;
        node.next = head;
        node.loc = (level * SLOTS + slot) as u16;
        self.heads[level][slot] = key;
        self.occupied[level] |= 1u64 << slot;
    }

    /// The start of the earliest occupied slot: a lower bound on the earliest deadline, exact
    /// when that entry is on level 0. `None` if nothing is scheduled.
    pub(super) fn next_expiration(&self) -> Option<u64> {
        self.next_slot().map(|(_, _, start)| start)
    }

    /// `(level, slot, start tick)` of the earliest occupied slot.
    fn next_slot(&self) -> Option<(usize, usize, u64)> {
        (0..LEVELS).find_map(|level| {
            let occupied = self.occupied[level];
            if occupied == 0 {
                return None;
            }
            let slot_span = 1u64 << (level as u32 * BITS);
            let level_span = slot_span << BITS;
            // Search from the slot after the current one; the current slot comes last, which
            // only the top level can need (a fudged entry meaning "one rotation later").
            let from = ((self.elapsed / slot_span) as usize + 1) % SLOTS;
            let slot =
                (occupied.rotate_right(from as u32).trailing_zeros() as usize + from) % SLOTS;
            let level_start = self.elapsed & !(level_span - 1);
            let mut start = level_start + slot as u64 * slot_span;
            if start <= self.elapsed {
                debug_assert_eq!(level, LEVELS - 1, "wrapped slot below the top level");
                start += level_span;
            }
            Some((level, slot, start))
        })
    }

    /// Advances the wheel to tick `now`, appending the keys of the entries whose deadline is at
    /// or before `now` to `fired`, in deadline order. Fired entries are unlinked but stay
    /// allocated. A `now` before the wheel's current time does nothing.
    pub(super) fn advance(&mut self, now: u64, fired: &mut Vec<Key>) {
        while let Some((level, slot, start)) = self.next_slot() {
            if start > now {
                break;
            }
            let mut cur = std::mem::replace(&mut self.heads[level][slot], NIL);
            self.occupied[level] &= !(1u64 << slot);
            debug_assert!(start >= self.elapsed);
            self.elapsed = start;
            while cur != NIL {
                let node = self.node_mut(cur);
                let (next, when) = (node.next, node.when);
                node.loc = UNLINKED;
                node.prev = NIL;
                node.next = NIL;
                if when <= start {
                    fired.push(cur);
                } else {
                    // Cascade: relative to the new `elapsed` it lands on a lower level (or,
                    // fudged, back on the top level one rotation later).
                    self.link(cur, when);
                }
                cur = next;
            }
        }
        self.elapsed = self.elapsed.max(now);
    }

    /// The keys of every allocated entry (for shutdown and sweeps).
    pub(super) fn keys(&self) -> Vec<Key> {
        self.slab
            .iter()
            .enumerate()
            .filter(|(_, s)| matches!(s, Slot::Occupied(_)))
            .map(|(k, _)| k as Key)
            .collect()
    }
}

/// Bytes one entry with payload `T` takes in the slab.
#[cfg(all(test, not(loom)))]
pub(super) fn slot_size<T>() -> usize {
    std::mem::size_of::<Slot<T>>()
}

/// The level an entry due at `when` goes on, seen from time `elapsed`.
fn level_for(elapsed: u64, when: u64) -> usize {
    let masked = (elapsed ^ when) | (SLOTS as u64 - 1);
    if masked >= MAX_SPAN {
        return LEVELS - 1;
    }
    masked.ilog2() as usize / BITS as usize
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    fn drain(w: &mut Wheel<u64>, now: u64) -> Vec<u64> {
        let mut fired = Vec::new();
        w.advance(now, &mut fired);
        fired.into_iter().map(|k| w.remove(k)).collect()
    }

    fn add(w: &mut Wheel<u64>, when: u64) -> Key {
        let k = w.insert(when);
        assert!(w.schedule(k, when));
        k
    }

    #[test]
    fn level_for_boundaries() {
        assert_eq!(level_for(0, 1), 0);
        assert_eq!(level_for(0, 63), 0);
        assert_eq!(level_for(0, 64), 1);
        assert_eq!(level_for(0, 4095), 1);
        assert_eq!(level_for(0, 4096), 2);
        assert_eq!(level_for(0, MAX_SPAN - 1), 5);
        assert_eq!(level_for(0, MAX_SPAN), 5);
        assert_eq!(level_for(0, u64::MAX), 5);
        assert_eq!(level_for(63, 64), 1);
    }

    #[test]
    fn fires_each_level_exactly_on_time() {
        for &when in &[
            1u64, 2, 63, 64, 65, 100, 4095, 4096, 5000, 300_000, 20_000_000,
        ] {
            let mut w = Wheel::new();
            add(&mut w, when);
            // Step forward in uneven strides; nothing may fire before `when`.
            let mut t = 0;
            while t + 7 < when {
                t += 7 + t / 3;
                let t = t.min(when - 1);
                assert!(drain(&mut w, t).is_empty(), "early at {t} for {when}");
            }
            assert_eq!(drain(&mut w, when), vec![when], "deadline {when}");
            assert_eq!(w.len(), 0);
        }
    }

    #[test]
    fn fires_in_deadline_order_across_levels() {
        let mut w = Wheel::new();
        let mut deadlines: Vec<u64> = (0..2000u64).map(|i| (i * 7919) % 100_000 + 1).collect();
        for &d in &deadlines {
            add(&mut w, d);
        }
        // One big jump: must come back sorted.
        let fired = drain(&mut w, 200_000);
        deadlines.sort_unstable();
        assert_eq!(fired, deadlines);
        assert_eq!(w.next_expiration(), None);
    }

    #[test]
    fn incremental_advance_never_early_never_late() {
        let mut w = Wheel::new();
        for i in 0..500u64 {
            add(&mut w, 1 + i * i % 9000);
        }
        let mut now = 0;
        while w.len() > 0 {
            now += 13;
            let fired = drain(&mut w, now);
            for when in fired {
                assert!(when <= now && when > now - 13, "when {when} now {now}");
            }
        }
    }

    #[test]
    fn cancel_removes_entry() {
        let mut w = Wheel::new();
        let a = add(&mut w, 10);
        let b = add(&mut w, 10);
        let c = add(&mut w, 5000);
        assert!(w.unschedule(a));
        assert!(!w.unschedule(a));
        w.remove(a);
        w.remove(c);
        assert_eq!(w.len(), 1);
        assert_eq!(drain(&mut w, 10_000), vec![10]);
        let _ = b;
        assert_eq!(w.next_expiration(), None);
        // Slots are reused.
        let d = w.insert(0);
        assert!(d == a || d == b || d == c);
    }

    #[test]
    fn already_due_is_refused() {
        let mut w = Wheel::<u64>::new();
        drain(&mut w, 100);
        let k = w.insert(0);
        assert!(!w.schedule(k, 100));
        assert!(!w.schedule(k, 3));
        assert!(!w.is_scheduled(k));
        assert!(w.schedule(k, 101));
        assert_eq!(w.next_expiration(), Some(101));
    }

    #[test]
    fn far_future_saturates_and_cascades() {
        let mut w = Wheel::new();
        let far = MAX_SPAN * 3 + 12345;
        add(&mut w, far);
        add(&mut w, u64::MAX - 1);
        let mut now = 0;
        let mut steps = 0;
        // Jump slot start to slot start: every intermediate wake is a lower bound.
        while let Some(next) = w.next_expiration() {
            assert!(next <= far, "the next expiration is a lower bound");
            now = next;
            let fired = drain(&mut w, now);
            if !fired.is_empty() {
                assert_eq!(fired, vec![far]);
                assert_eq!(now, far);
                break;
            }
            steps += 1;
            assert!(steps < 1000, "too many cascades");
        }
        assert_eq!(now, far);
        assert_eq!(w.len(), 1);
    }

    #[test]
    fn top_level_wrap() {
        let mut w = Wheel::new();
        drain(&mut w, MAX_SPAN - 10);
        let when = w.elapsed() + MAX_SPAN - 1;
        add(&mut w, when);
        let next = w.next_expiration().unwrap();
        assert!(next > w.elapsed() && next <= when);
        assert!(drain(&mut w, when - 1).is_empty());
        assert_eq!(drain(&mut w, when), vec![when]);
    }

    #[test]
    fn random_ops_against_model() {
        let mut w = Wheel::new();
        let mut live: Vec<(Key, u64)> = Vec::new();
        let mut now = 0u64;
        let mut rng = fastrand::Rng::with_seed(7);
        for _ in 0..20_000 {
            match rng.u8(0..4) {
                0 | 1 => {
                    let span = [70u64, 5000, 400_000][rng.usize(0..3)];
                    let when = now + 1 + rng.u64(0..span);
                    let k = w.insert(when);
                    assert!(w.schedule(k, when));
                    live.push((k, when));
                }
                2 if !live.is_empty() => {
                    let (k, _) = live.swap_remove(rng.usize(0..live.len()));
                    w.remove(k);
                }
                _ => {
                    now += rng.u64(0..3000);
                    let fired = drain(&mut w, now);
                    let mut expect: Vec<u64> =
                        live.iter().map(|&(_, d)| d).filter(|&d| d <= now).collect();
                    expect.sort_unstable();
                    let mut got = fired.clone();
                    got.sort_unstable();
                    assert_eq!(got, expect);
                    assert!(fired.windows(2).all(|p| p[0] <= p[1]), "order {fired:?}");
                    live.retain(|&(_, d)| d > now);
                }
            }
            assert_eq!(w.len(), live.len());
        }
    }
}
