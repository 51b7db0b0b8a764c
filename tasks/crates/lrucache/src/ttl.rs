//! A cache whose entries expire after a time-to-live.

use crate::clock::{deadline, is_expired, Clock, ManualClock};
use crate::stats::Stats;
use std::collections::HashMap;
use std::hash::Hash;

#[derive(Debug, Clone)]
struct Entry<V> {
    value: V,
    expires_at: u64,
    /// Insertion order, used to break ties between equal deadlines.
    seq: u64,
}

/// A bounded cache whose entries expire `ttl` ticks after they are written.
///
/// An entry stored at time `t` with ttl `d` is live while `now < t + d`.
/// A ttl of `u64::MAX` never expires. When the cache is full, expired
/// entries are purged first; if it is still full, the entry closest to
/// expiry is evicted (the oldest write wins ties). Every public method reads
/// the clock at most once.
#[derive(Debug, Clone)]
pub struct TtlCache<K, V, C: Clock = ManualClock> {
    entries: HashMap<K, Entry<V>>,
    clock: C,
    default_ttl: u64,
    capacity: usize,
    seq: u64,
    stats: Stats,
}

impl<K: Clone + Eq + Hash, V, C: Clock> TtlCache<K, V, C> {
    pub fn new(capacity: usize, default_ttl: u64, clock: C) -> Self {
        TtlCache {
            entries: HashMap::new(),
            clock,
            default_ttl,
            capacity,
            seq: 0,
            stats: Stats::default(),
        }
    }

    pub fn capacity(&self) -> usize {
        self.capacity
    }

    pub fn default_ttl(&self) -> u64 {
        self.default_ttl
    }

    pub fn stats(&self) -> Stats {
        self.stats
    }

    pub fn clock(&self) -> &C {
        &self.clock
    }

    /// Entries stored, including expired ones not yet purged.
    pub fn stored_len(&self) -> usize {
        self.entries.len()
    }

    /// Live entries at the current time.
    pub fn len(&self) -> usize {
        let now = self.clock.now();
        self.entries
            .values()
            .filter(|e| !is_expired(e.expires_at, now))
            .count()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Stores `key` with the default ttl; see [`insert_with_ttl`](Self::insert_with_ttl).
    pub fn insert(&mut self, key: K, value: V) -> Option<V> {
        self.insert_with_ttl(key, value, self.default_ttl)
    }

    /// Stores `key` for `ttl` ticks. Returns the previous value if the key
    /// was present and still live. With capacity 0 nothing is stored.
    pub fn insert_with_ttl(&mut self, key: K, value: V, ttl: u64) -> Option<V> {
        if self.capacity == 0 {
            return None;
        }
        let now = self.clock.now();
        let expires_at = deadline(now, ttl);
        self.seq += 1;
        let seq = self.seq;
        if let Some(entry) = self.entries.get_mut(&key) {
            let was_live = !is_expired(entry.expires_at, now);
            let old = std::mem::replace(&mut entry.value, value);
            entry.expires_at = expires_at;
            entry.seq = seq;
            if was_live {
                self.stats.updates += 1;
                return Some(old);
            }
            self.stats.expirations += 1;
            self.stats.inserts += 1;
            return None;
        }
        if self.entries.len() >= self.capacity {
            self.purge_at(now);
            if self.entries.len() >= self.capacity {
                self.evict_soonest();
            }
        }
        self.entries.insert(
            key,
            Entry {
                value,
                expires_at,
                seq,
            },
        );
        self.stats.inserts += 1;
        None
    }

    fn evict_soonest(&mut self) {
        let victim = self
            .entries
            .iter()
            .min_by_key(|(_, e)| (e.expires_at, e.seq))
            .map(|(k, _)| k.clone());
        if let Some(key) = victim {
            self.entries.remove(&key);
            self.stats.evictions += 1;
        }
    }

    /// Looks `key` up. An expired entry is removed and counts as a miss.
    pub fn get(&mut self, key: &K) -> Option<&V> {
        let now = self.clock.now();
        let expired = match self.entries.get(key) {
            None => {
                self.stats.misses += 1;
                return None;
            }
            Some(entry) => is_expired(entry.expires_at, now),
        };
        if expired {
            self.entries.remove(key);
            self.stats.expirations += 1;
            self.stats.misses += 1;
            return None;
        }
        self.stats.hits += 1;
        self.entries.get(key).map(|e| &e.value)
    }

    /// Looks `key` up without removing expired entries or counting stats.
    pub fn peek(&self, key: &K) -> Option<&V> {
        let now = self.clock.now();
        self.entries
            .get(key)
            .filter(|e| !is_expired(e.expires_at, now))
            .map(|e| &e.value)
    }

    /// Ticks left before `key` expires; `None` if absent or expired.
    pub fn ttl_remaining(&self, key: &K) -> Option<u64> {
        let now = self.clock.now();
        let entry = self.entries.get(key)?;
        if is_expired(entry.expires_at, now) {
            return None;
        }
        Some(entry.expires_at - now)
    }

    /// Restarts `key`'s default ttl from now. `false` if absent or expired.
    pub fn touch(&mut self, key: &K) -> bool {
        let now = self.clock.now();
        match self.entries.get_mut(key) {
            Some(entry) if !is_expired(entry.expires_at, now) => {
                entry.expires_at = deadline(now, self.default_ttl);
                true
            }
            _ => false,
        }
    }

    /// Pushes `key`'s deadline back by `extra` ticks; returns the new
    /// deadline, or `None` if absent or expired.
    pub fn extend(&mut self, key: &K, extra: u64) -> Option<u64> {
        let now = self.clock.now();
        let entry = self.entries.get_mut(key)?;
        if is_expired(entry.expires_at, now) {
            return None;
        }
        entry.expires_at = deadline(entry.expires_at, extra);
        Some(entry.expires_at)
    }

    /// Removes `key`, returning its value if it was live. An expired entry
    /// is dropped too (counted as an expiration) and `None` returned.
    pub fn remove(&mut self, key: &K) -> Option<V> {
        let now = self.clock.now();
        let entry = self.entries.remove(key)?;
        if is_expired(entry.expires_at, now) {
            self.stats.expirations += 1;
            return None;
        }
        Some(entry.value)
    }

    fn purge_at(&mut self, now: u64) -> usize {
        let before = self.entries.len();
        self.entries.retain(|_, e| !is_expired(e.expires_at, now));
        let purged = before - self.entries.len();
        self.stats.expirations += purged as u64;
        purged
    }

    /// Drops every expired entry; returns how many.
    pub fn purge_expired(&mut self) -> usize {
        let now = self.clock.now();
        self.purge_at(now)
    }

    /// The earliest deadline among live entries.
    pub fn next_expiry(&self) -> Option<u64> {
        let now = self.clock.now();
        self.entries
            .values()
            .map(|e| e.expires_at)
            .filter(|&t| !is_expired(t, now))
            .min()
    }

    /// Live keys sorted by deadline, soonest first (oldest write first on ties).
    pub fn keys_by_expiry(&self) -> Vec<&K> {
        let now = self.clock.now();
        let mut live: Vec<(&K, &Entry<V>)> = self
            .entries
            .iter()
            .filter(|(_, e)| !is_expired(e.expires_at, now))
            .collect();
        live.sort_by_key(|(_, e)| (e.expires_at, e.seq));
        live.into_iter().map(|(k, _)| k).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::StepClock;

    fn setup(capacity: usize, ttl: u64) -> (ManualClock, TtlCache<&'static str, i32>) {
        let clock = ManualClock::new(1000);
        let cache = TtlCache::new(capacity, ttl, clock.clone());
        (clock, cache)
    }

    #[test]
    fn entry_lives_until_deadline_exclusive() {
        let (clock, mut cache) = setup(4, 10);
        cache.insert("a", 1);
        clock.advance(9);
        assert_eq!(cache.get(&"a"), Some(&1));
        clock.advance(1);
        assert_eq!(cache.get(&"a"), None);
        assert_eq!(cache.stored_len(), 0);
        let stats = cache.stats();
        assert_eq!((stats.hits, stats.misses, stats.expirations), (1, 1, 1));
        assert_eq!(cache.get(&"never"), None);
        assert_eq!(cache.stats().misses, 2);
    }

    #[test]
    fn zero_ttl_expires_immediately() {
        let (_clock, mut cache) = setup(4, 10);
        cache.insert_with_ttl("a", 1, 0);
        assert_eq!(cache.peek(&"a"), None);
        assert_eq!(cache.len(), 0);
        assert_eq!(cache.stored_len(), 1);
    }

    #[test]
    fn max_ttl_never_expires() {
        let (clock, mut cache) = setup(4, u64::MAX);
        cache.insert("a", 1);
        clock.advance(u64::MAX);
        assert_eq!(cache.get(&"a"), Some(&1));
        assert_eq!(cache.ttl_remaining(&"a"), Some(0));
    }

    #[test]
    fn overwrite_live_and_expired() {
        let (clock, mut cache) = setup(4, 10);
        assert_eq!(cache.insert("a", 1), None);
        assert_eq!(cache.insert("a", 2), Some(1));
        clock.advance(10);
        assert_eq!(cache.insert("a", 3), None);
        assert_eq!(cache.peek(&"a"), Some(&3));
        let stats = cache.stats();
        assert_eq!((stats.inserts, stats.updates, stats.expirations), (2, 1, 1));
    }

    #[test]
    fn ttl_remaining_counts_down() {
        let (clock, mut cache) = setup(4, 10);
        cache.insert_with_ttl("a", 1, 30);
        assert_eq!(cache.ttl_remaining(&"a"), Some(30));
        clock.advance(12);
        assert_eq!(cache.ttl_remaining(&"a"), Some(18));
        clock.advance(18);
        assert_eq!(cache.ttl_remaining(&"a"), None);
        assert_eq!(cache.ttl_remaining(&"zz"), None);
    }

    #[test]
    fn full_cache_purges_expired_before_evicting() {
        let (clock, mut cache) = setup(2, 10);
        cache.insert_with_ttl("short", 1, 5);
        cache.insert_with_ttl("long", 2, 50);
        clock.advance(5);
        cache.insert("new", 3);
        assert_eq!(cache.peek(&"long"), Some(&2));
        assert_eq!(cache.peek(&"new"), Some(&3));
        let stats = cache.stats();
        assert_eq!((stats.evictions, stats.expirations), (0, 1));
    }

    #[test]
    fn full_cache_evicts_soonest_deadline() {
        let (_clock, mut cache) = setup(3, 10);
        cache.insert_with_ttl("a", 1, 30);
        cache.insert_with_ttl("b", 2, 20);
        cache.insert_with_ttl("c", 3, 40);
        cache.insert("d", 4);
        assert_eq!(cache.stored_len(), 3);
        assert_eq!(cache.peek(&"b"), None);
        assert_eq!(cache.peek(&"d"), Some(&4));
        assert_eq!(cache.keys_by_expiry(), vec![&"d", &"a", &"c"]);
    }

    #[test]
    fn eviction_picks_earliest_then_oldest() {
        let (_clock, mut cache) = setup(3, 10);
        cache.insert("a", 1);
        cache.insert("b", 2);
        cache.insert("c", 3);
        cache.insert("d", 4);
        assert_eq!(cache.peek(&"a"), None);
        assert_eq!(cache.keys_by_expiry(), vec![&"b", &"c", &"d"]);
        assert_eq!(cache.stats().evictions, 1);
    }

    #[test]
    fn capacity_zero_stores_nothing() {
        let (_clock, mut cache) = setup(0, 10);
        assert_eq!(cache.insert("a", 1), None);
        assert!(cache.is_empty());
        assert_eq!(cache.stats().inserts, 0);
    }

    #[test]
    fn touch_and_extend() {
        let (clock, mut cache) = setup(4, 10);
        cache.insert("a", 1);
        clock.advance(8);
        assert!(cache.touch(&"a"));
        assert_eq!(cache.ttl_remaining(&"a"), Some(10));
        assert_eq!(cache.extend(&"a", 5), Some(1023));
        assert_eq!(cache.ttl_remaining(&"a"), Some(15));
        clock.advance(15);
        assert!(!cache.touch(&"a"));
        assert_eq!(cache.extend(&"a", 5), None);
        assert!(!cache.touch(&"missing"));
    }

    #[test]
    fn remove_live_and_expired() {
        let (clock, mut cache) = setup(4, 10);
        cache.insert("a", 1);
        cache.insert_with_ttl("b", 2, 3);
        assert_eq!(cache.remove(&"a"), Some(1));
        assert_eq!(cache.remove(&"a"), None);
        clock.advance(3);
        assert_eq!(cache.remove(&"b"), None);
        assert_eq!(cache.stored_len(), 0);
        assert_eq!(cache.stats().expirations, 1);
    }

    #[test]
    fn purge_and_next_expiry() {
        let (clock, mut cache) = setup(8, 10);
        cache.insert_with_ttl("a", 1, 5);
        cache.insert_with_ttl("b", 2, 7);
        cache.insert_with_ttl("c", 3, 20);
        assert_eq!(cache.next_expiry(), Some(1005));
        clock.advance(7);
        assert_eq!(cache.next_expiry(), Some(1020));
        assert_eq!(cache.len(), 1);
        assert_eq!(cache.stored_len(), 3);
        assert_eq!(cache.purge_expired(), 2);
        assert_eq!(cache.purge_expired(), 0);
        assert_eq!(cache.stored_len(), 1);
        clock.advance(13);
        assert_eq!(cache.next_expiry(), None);
    }

    #[test]
    fn step_clock_reads_once_per_call() {
        let clock = StepClock::new(0, 4);
        let mut cache = TtlCache::new(4, 10, &clock);
        cache.insert("a", 1);
        assert_eq!(cache.get(&"a"), Some(&1));
        assert_eq!(cache.get(&"a"), Some(&1));
        assert_eq!(cache.get(&"a"), None);
        assert_eq!(clock.readings(0), 4);
        assert_eq!(cache.default_ttl(), 10);
        assert_eq!(cache.capacity(), 4);
    }
}
