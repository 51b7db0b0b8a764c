//! A least-recently-used cache with a fixed capacity.

use crate::list::OrderList;
use crate::stats::Stats;
use std::collections::HashMap;
use std::hash::Hash;

/// Keeps at most `capacity` entries; inserting into a full cache evicts
/// the entry that was used least recently. `get`, `get_mut` and `put`
/// count as uses; `peek` and `contains` do not.
///
/// A cache with capacity 0 stores nothing.
#[derive(Debug, Clone)]
pub struct LruCache<K, V> {
    map: HashMap<K, usize>,
    order: OrderList<(K, V)>,
    capacity: usize,
    stats: Stats,
}

impl<K: Clone + Eq + Hash, V> LruCache<K, V> {
    pub fn new(capacity: usize) -> Self {
        LruCache {
            map: HashMap::with_capacity(capacity),
            order: OrderList::new(),
            capacity,
            stats: Stats::default(),
        }
    }

    pub fn capacity(&self) -> usize {
        self.capacity
    }

    pub fn len(&self) -> usize {
        self.order.len()
    }

    pub fn is_empty(&self) -> bool {
        self.order.is_empty()
    }

    pub fn is_full(&self) -> bool {
        self.order.len() >= self.capacity
    }

    pub fn stats(&self) -> Stats {
        self.stats
    }

    pub fn reset_stats(&mut self) {
        self.stats = Stats::default();
    }

    /// Looks `key` up and marks it most recently used.
    pub fn get(&mut self, key: &K) -> Option<&V> {
        let Some(&idx) = self.map.get(key) else {
            self.stats.misses += 1;
            return None;
        };
        self.stats.hits += 1;
        self.order.move_to_front(idx);
        self.order.get(idx).map(|(_, v)| v)
    }

    /// Like [`get`](Self::get) but returns a mutable reference.
    pub fn get_mut(&mut self, key: &K) -> Option<&mut V> {
        let Some(&idx) = self.map.get(key) else {
            self.stats.misses += 1;
            return None;
        };
        self.stats.hits += 1;
        self.order.move_to_front(idx);
        self.order.get_mut(idx).map(|(_, v)| v)
    }

    /// Looks `key` up without touching recency or statistics.
    pub fn peek(&self, key: &K) -> Option<&V> {
        let idx = *self.map.get(key)?;
        self.order.get(idx).map(|(_, v)| v)
    }

    pub fn contains(&self, key: &K) -> bool {
        self.map.contains_key(key)
    }

    /// Stores `key`, returning whatever left the cache because of it: the
    /// old `(key, value)` when the key was present, otherwise the evicted
    /// least recently used entry, if the cache was full. With capacity 0 the
    /// given pair comes straight back.
    pub fn push(&mut self, key: K, value: V) -> Option<(K, V)> {
        if self.capacity == 0 {
            return Some((key, value));
        }
        if let Some(&idx) = self.map.get(&key) {
            self.stats.updates += 1;
            self.order.move_to_front(idx);
            let slot = self.order.get_mut(idx).expect("mapped handle is live");
            let old = std::mem::replace(&mut slot.1, value);
            return Some((key, old));
        }
        let evicted = if self.order.len() >= self.capacity {
            self.evict_lru()
        } else {
            None
        };
        let idx = self.order.push_front((key.clone(), value));
        self.map.insert(key, idx);
        self.stats.inserts += 1;
        evicted
    }

    /// Stores `key`; returns the previous value for this key, if any.
    /// Evictions are reported only through [`stats`](Self::stats).
    pub fn put(&mut self, key: K, value: V) -> Option<V> {
        let existed = self.map.contains_key(&key);
        let displaced = self.push(key, value);
        if existed {
            displaced.map(|(_, v)| v)
        } else {
            None
        }
    }

    /// Returns the cached value, computing and storing it on a miss.
    pub fn get_or_insert_with<F: FnOnce() -> V>(&mut self, key: K, make: F) -> Option<&V> {
        if self.map.contains_key(&key) {
            return self.get(&key);
        }
        self.stats.misses += 1;
        if self.capacity == 0 {
            return None;
        }
        self.push(key.clone(), make());
        self.peek(&key)
    }

    pub fn remove(&mut self, key: &K) -> Option<V> {
        let idx = self.map.remove(key)?;
        self.order.remove(idx).map(|(_, v)| v)
    }

    /// Removes and returns the least recently used entry (not counted as
    /// an eviction).
    pub fn pop_lru(&mut self) -> Option<(K, V)> {
        let (key, value) = self.order.pop_back()?;
        self.map.remove(&key);
        Some((key, value))
    }

    fn evict_lru(&mut self) -> Option<(K, V)> {
        let evicted = self.pop_lru()?;
        self.stats.evictions += 1;
        Some(evicted)
    }

    /// The least recently used entry, without touching it.
    pub fn peek_lru(&self) -> Option<(&K, &V)> {
        self.order.back().map(|(k, v)| (k, v))
    }

    /// Changes the capacity, evicting least recently used entries that no
    /// longer fit. Returns them, least recently used first.
    pub fn resize(&mut self, capacity: usize) -> Vec<(K, V)> {
        let mut evicted = Vec::new();
        while self.order.len() > capacity {
            match self.evict_lru() {
                Some(entry) => evicted.push(entry),
                None => break,
            }
        }
        self.capacity = capacity;
        evicted
    }

    /// Keeps only the entries for which `keep` returns true; returns how
    /// many were removed. Recency order of the survivors is unchanged.
    pub fn retain<F: FnMut(&K, &V) -> bool>(&mut self, mut keep: F) -> usize {
        let doomed: Vec<K> = self
            .order
            .iter()
            .filter(|(k, v)| !keep(k, v))
            .map(|(k, _)| k.clone())
            .collect();
        for key in &doomed {
            self.remove(key);
        }
        doomed.len()
    }

    /// Keys from most to least recently used.
    pub fn keys(&self) -> Vec<&K> {
        self.order.iter().map(|(k, _)| k).collect()
    }

    /// Entries from most to least recently used.
    pub fn iter(&self) -> impl Iterator<Item = (&K, &V)> {
        self.order.iter().map(|(k, v)| (k, v))
    }

    /// Removes every entry; statistics are kept.
    pub fn clear(&mut self) {
        self.map.clear();
        self.order.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn filled(capacity: usize, keys: &[u32]) -> LruCache<u32, String> {
        let mut cache = LruCache::new(capacity);
        for &k in keys {
            cache.put(k, format!("v{k}"));
        }
        cache
    }

    #[test]
    fn evicts_least_recently_used() {
        let mut cache = filled(2, &[1, 2]);
        assert_eq!(cache.get(&1).map(String::as_str), Some("v1"));
        cache.put(3, "v3".into());
        assert!(cache.contains(&1));
        assert!(!cache.contains(&2));
        assert!(cache.contains(&3));
        assert_eq!(cache.stats().evictions, 1);
    }

    #[test]
    fn push_reports_evicted_entry() {
        let mut cache = filled(2, &[1, 2]);
        assert_eq!(cache.push(3, "v3".into()), Some((1, "v1".to_string())));
        assert_eq!(cache.push(4, "v4".into()), Some((2, "v2".to_string())));
        assert_eq!(cache.keys(), vec![&4, &3]);
    }

    #[test]
    fn push_existing_key_returns_old_pair() {
        let mut cache = filled(2, &[1, 2]);
        assert_eq!(cache.push(1, "new".into()), Some((1, "v1".to_string())));
        assert_eq!(cache.len(), 2);
        assert_eq!(cache.keys(), vec![&1, &2]);
        let stats = cache.stats();
        assert_eq!((stats.inserts, stats.updates, stats.evictions), (2, 1, 0));
    }

    #[test]
    fn put_returns_previous_value_only() {
        let mut cache = LruCache::new(1);
        assert_eq!(cache.put("a", 1), None);
        assert_eq!(cache.put("a", 2), Some(1));
        assert_eq!(cache.put("b", 3), None);
        assert_eq!(cache.peek(&"a"), None);
        assert_eq!(cache.peek(&"b"), Some(&3));
    }

    #[test]
    fn fills_exactly_to_capacity() {
        let cache = filled(3, &[1, 2, 3]);
        assert_eq!(cache.len(), 3);
        assert!(cache.is_full());
        assert_eq!(cache.stats().evictions, 0);
        let cache = filled(3, &[1, 2]);
        assert!(!cache.is_full());
    }

    #[test]
    fn zero_capacity_stores_nothing() {
        let mut cache = LruCache::new(0);
        assert_eq!(cache.push(1, 'x'), Some((1, 'x')));
        assert_eq!(cache.put(2, 'y'), None);
        assert!(cache.is_empty());
        assert!(cache.is_full());
        assert_eq!(cache.get_or_insert_with(3, || 'z'), None);
        assert_eq!(cache.stats().inserts, 0);
    }

    #[test]
    fn hits_and_misses_counted() {
        let mut cache = filled(2, &[1]);
        assert!(cache.get(&1).is_some());
        assert!(cache.get(&1).is_some());
        assert!(cache.get(&9).is_none());
        assert!(cache.get_mut(&8).is_none());
        let stats = cache.stats();
        assert_eq!((stats.hits, stats.misses), (2, 2));
        assert!(cache.get_mut(&1).is_some());
        assert_eq!(cache.stats().hits, 3);
        cache.reset_stats();
        assert_eq!(cache.stats(), Stats::default());
    }

    #[test]
    fn peek_does_not_change_order_or_stats() {
        let mut cache = filled(2, &[1, 2]);
        assert_eq!(cache.peek(&1).map(String::as_str), Some("v1"));
        cache.put(3, "v3".into());
        assert!(!cache.contains(&1));
        assert_eq!(cache.stats().hits, 0);
        assert_eq!(cache.stats().misses, 0);
    }

    #[test]
    fn get_mut_updates_value_and_recency() {
        let mut cache = filled(2, &[1, 2]);
        cache.get_mut(&1).unwrap().push('!');
        assert_eq!(cache.keys(), vec![&1, &2]);
        assert_eq!(cache.peek(&1).map(String::as_str), Some("v1!"));
        assert_eq!(cache.peek_lru(), Some((&2, &"v2".to_string())));
    }

    #[test]
    fn get_or_insert_with_computes_once() {
        let mut cache = LruCache::new(2);
        let mut calls = 0;
        for _ in 0..3 {
            let v = cache.get_or_insert_with("k", || {
                calls += 1;
                42
            });
            assert_eq!(v, Some(&42));
        }
        assert_eq!(calls, 1);
        let stats = cache.stats();
        assert_eq!((stats.hits, stats.misses, stats.inserts), (2, 1, 1));
        let mut single = LruCache::new(1);
        assert_eq!(single.get_or_insert_with(1, || 'a'), Some(&'a'));
        assert_eq!(single.get_or_insert_with(2, || 'b'), Some(&'b'));
        assert_eq!(single.stats().evictions, 1);
    }

    #[test]
    fn remove_and_pop_lru() {
        let mut cache = filled(3, &[1, 2, 3]);
        assert_eq!(cache.remove(&2), Some("v2".to_string()));
        assert_eq!(cache.remove(&2), None);
        assert_eq!(cache.pop_lru(), Some((1, "v1".to_string())));
        assert_eq!(cache.pop_lru(), Some((3, "v3".to_string())));
        assert_eq!(cache.pop_lru(), None);
        assert_eq!(cache.stats().evictions, 0);
    }

    #[test]
    fn resize_down_evicts_oldest_first() {
        let mut cache = filled(4, &[1, 2, 3, 4]);
        cache.get(&1);
        let evicted = cache.resize(2);
        assert_eq!(evicted, vec![(2, "v2".to_string()), (3, "v3".to_string())]);
        assert_eq!(cache.capacity(), 2);
        assert_eq!(cache.keys(), vec![&1, &4]);
        assert_eq!(cache.stats().evictions, 2);
    }

    #[test]
    fn resize_up_keeps_everything() {
        let mut cache = filled(2, &[1, 2]);
        assert!(cache.resize(3).is_empty());
        assert!(cache.resize(2).is_empty());
        cache.resize(5);
        cache.put(3, "v3".into());
        cache.put(4, "v4".into());
        assert_eq!(cache.len(), 4);
        assert_eq!(cache.stats().evictions, 0);
    }

    #[test]
    fn retain_filters_and_keeps_order() {
        let mut cache = filled(5, &[1, 2, 3, 4, 5]);
        let removed = cache.retain(|k, _| k % 2 == 1);
        assert_eq!(removed, 2);
        assert_eq!(cache.keys(), vec![&5, &3, &1]);
        let pairs: Vec<(u32, String)> = cache.iter().map(|(k, v)| (*k, v.clone())).collect();
        assert_eq!(pairs[0], (5, "v5".to_string()));
    }

    #[test]
    fn clear_keeps_stats() {
        let mut cache = filled(2, &[1, 2, 3]);
        cache.clear();
        assert!(cache.is_empty());
        assert_eq!(cache.get(&3), None);
        assert_eq!(cache.stats().evictions, 1);
        assert_eq!(cache.stats().misses, 1);
        cache.put(7, "v7".into());
        assert_eq!(cache.keys(), vec![&7]);
    }
}
