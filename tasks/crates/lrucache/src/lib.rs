//! In-memory caches: a least-recently-used cache and a time-to-live cache.
//!
//! Time is injected through the [`Clock`] trait ([`ManualClock`] for
//! tests and simulations), so nothing here reads the wall clock. Both
//! caches keep [`Stats`] (hits, misses, inserts, updates, evictions,
//! expirations).

pub mod clock;
pub mod list;
pub mod lru;
pub mod stats;
pub mod ttl;

pub use clock::{Clock, ManualClock, StepClock};
pub use lru::LruCache;
pub use stats::Stats;
pub use ttl::TtlCache;

use std::hash::Hash;

/// The operations both caches share.
pub trait Cache<K, V> {
    fn get(&mut self, key: &K) -> Option<&V>;
    fn put(&mut self, key: K, value: V) -> Option<V>;
    fn remove(&mut self, key: &K) -> Option<V>;
    fn len(&self) -> usize;
    fn stats(&self) -> Stats;

    fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl<K: Clone + Eq + Hash, V> Cache<K, V> for LruCache<K, V> {
    fn get(&mut self, key: &K) -> Option<&V> {
        LruCache::get(self, key)
    }
    fn put(&mut self, key: K, value: V) -> Option<V> {
        LruCache::put(self, key, value)
    }
    fn remove(&mut self, key: &K) -> Option<V> {
        LruCache::remove(self, key)
    }
    fn len(&self) -> usize {
        LruCache::len(self)
    }
    fn stats(&self) -> Stats {
        LruCache::stats(self)
    }
}

impl<K: Clone + Eq + Hash, V, C: Clock> Cache<K, V> for TtlCache<K, V, C> {
    fn get(&mut self, key: &K) -> Option<&V> {
        TtlCache::get(self, key)
    }
    fn put(&mut self, key: K, value: V) -> Option<V> {
        TtlCache::insert(self, key, value)
    }
    fn remove(&mut self, key: &K) -> Option<V> {
        TtlCache::remove(self, key)
    }
    fn len(&self) -> usize {
        TtlCache::len(self)
    }
    fn stats(&self) -> Stats {
        TtlCache::stats(self)
    }
}

/// Returns the cached value for `key`, or computes it with `compute`,
/// stores it and returns it.
pub fn get_or_compute<K, V, C, F>(cache: &mut C, key: K, compute: F) -> V
where
    K: Clone,
    V: Clone,
    C: Cache<K, V> + ?Sized,
    F: FnOnce(&K) -> V,
{
    if let Some(value) = cache.get(&key) {
        return value.clone();
    }
    let value = compute(&key);
    cache.put(key, value.clone());
    value
}

/// Replays `keys` against `cache`, computing misses with `compute`; returns
/// how many lookups hit.
pub fn replay<K, V, C, F>(cache: &mut C, keys: &[K], mut compute: F) -> usize
where
    K: Clone,
    V: Clone,
    C: Cache<K, V> + ?Sized,
    F: FnMut(&K) -> V,
{
    let before = cache.stats().hits;
    for key in keys {
        get_or_compute(cache, key.clone(), &mut compute);
    }
    (cache.stats().hits - before) as usize
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn get_or_compute_caches_result() {
        let mut cache = LruCache::new(2);
        let mut calls = Vec::new();
        let mut square = |k: &u32| {
            calls.push(*k);
            k * k
        };
        assert_eq!(get_or_compute(&mut cache, 3, &mut square), 9);
        assert_eq!(get_or_compute(&mut cache, 3, &mut square), 9);
        assert_eq!(get_or_compute(&mut cache, 4, &mut square), 16);
        assert_eq!(calls, vec![3, 4]);
    }

    #[test]
    fn replay_counts_hits_lru() {
        let mut cache: LruCache<u32, u32> = LruCache::new(2);
        let hits = replay(&mut cache, &[1, 2, 1, 3, 2, 1], |k| k + 100);
        // 1 miss, 2 miss, 1 hit, 3 miss (evicts 2), 2 miss (evicts 1), 1 miss
        assert_eq!(hits, 1);
        assert_eq!(cache.stats().misses, 5);
        assert_eq!(cache.stats().evictions, 3);
        // the cache now holds 1 and 2; a second replay counts only its own hits
        assert_eq!(replay(&mut cache, &[1, 2, 1, 4], |k| k + 100), 3);
        assert_eq!(cache.stats().hits, 4);
    }

    #[test]
    fn replay_counts_hits_ttl() {
        let clock = StepClock::new(0, 1);
        let mut cache: TtlCache<u32, u32, &StepClock> = TtlCache::new(8, 3, &clock);
        // each get and each insert reads the clock once
        let hits = replay(&mut cache, &[7, 7, 7, 7], |k| *k);
        // t0 get miss, t1 insert (deadline 4), t2 get hit, t3 get hit, t4 get expired, t5 insert
        assert_eq!(hits, 2);
        assert_eq!(cache.stats().expirations, 1);
    }

    #[test]
    fn trait_objects_work_for_both() {
        let clock = ManualClock::new(0);
        let mut caches: Vec<Box<dyn Cache<&str, i32>>> = vec![
            Box::new(LruCache::new(4)),
            Box::new(TtlCache::new(4, 10, clock.clone())),
        ];
        for cache in caches.iter_mut() {
            assert!(cache.is_empty());
            assert_eq!(cache.put("x", 1), None);
            assert_eq!(cache.put("x", 2), Some(1));
            assert_eq!(cache.get(&"x"), Some(&2));
            assert_eq!(cache.len(), 1);
            assert_eq!(cache.remove(&"x"), Some(2));
            assert_eq!(cache.stats().hits, 1);
        }
    }
}
