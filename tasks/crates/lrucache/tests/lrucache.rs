//! Scenario tests through the public API.

use lrucache::{get_or_compute, Cache, LruCache, ManualClock, Stats, TtlCache};

#[test]
fn lru_access_pattern_matches_reference_model() {
    // A tiny reference model: a Vec ordered from most to least recent.
    let mut cache = LruCache::new(3);
    let mut model: Vec<u32> = Vec::new();
    let ops = [1, 2, 3, 1, 4, 2, 5, 1, 3, 3, 6, 2];
    for &key in &ops {
        if cache.get(&key).is_none() {
            cache.put(key, key * 10);
        }
        if let Some(pos) = model.iter().position(|&k| k == key) {
            model.remove(pos);
        }
        model.insert(0, key);
        model.truncate(3);
        let keys: Vec<u32> = cache.keys().into_iter().copied().collect();
        assert_eq!(keys, model, "after accessing {key}");
    }
    let stats = cache.stats();
    assert_eq!(stats.hits + stats.misses, ops.len() as u64);
    assert_eq!(stats.hits, 2);
    assert_eq!(stats.evictions, 7);
}

#[test]
fn session_store_expires_idle_sessions() {
    let clock = ManualClock::new(0);
    let mut sessions: TtlCache<String, &str> = TtlCache::new(100, 30, clock.clone());
    sessions.insert("alice".into(), "token-a");
    clock.advance(10);
    sessions.insert("bob".into(), "token-b");
    clock.advance(15);
    assert!(sessions.touch(&"alice".to_string()));
    clock.advance(20);
    assert_eq!(sessions.get(&"alice".to_string()), Some(&"token-a"));
    assert_eq!(sessions.get(&"bob".to_string()), None);
    clock.advance(10);
    assert_eq!(sessions.get(&"alice".to_string()), None);
    assert!(sessions.is_empty());
    let stats = sessions.stats();
    assert_eq!((stats.hits, stats.misses, stats.expirations), (1, 2, 2));
}

#[test]
fn memoised_fibonacci_with_lru() {
    fn fib(n: u64, cache: &mut LruCache<u64, u64>) -> u64 {
        if n < 2 {
            return n;
        }
        if let Some(&v) = cache.get(&n) {
            return v;
        }
        let v = fib(n - 1, cache) + fib(n - 2, cache);
        cache.put(n, v);
        v
    }
    let mut cache = LruCache::new(8);
    assert_eq!(fib(50, &mut cache), 12_586_269_025);
    assert_eq!(cache.len(), 8);
    assert_eq!(cache.peek_lru().map(|(k, _)| *k), Some(43));
}

#[test]
fn get_or_compute_through_trait_object() {
    let clock = ManualClock::new(500);
    let mut ttl: TtlCache<u32, String> = TtlCache::new(2, 100, clock.clone());
    let cache: &mut dyn Cache<u32, String> = &mut ttl;
    let mut computed = 0;
    for key in [1, 1, 2, 1, 3, 1] {
        get_or_compute(cache, key, |k| {
            computed += 1;
            format!("#{k}")
        });
    }
    // 1 miss, 1 hit, 2 miss, 1 hit, 3 miss (evicts 1, soonest deadline), 1 miss
    assert_eq!(computed, 4);
    assert_eq!(cache.stats().evictions, 2);
    assert_eq!(cache.len(), 2);
}

#[test]
fn stats_difference_between_snapshots() {
    let mut cache = LruCache::new(2);
    cache.put('a', 1);
    cache.get(&'a');
    let snapshot = cache.stats();
    cache.put('b', 2);
    cache.put('c', 3);
    cache.get(&'a');
    cache.get(&'c');
    let delta = cache.stats().since(&snapshot);
    assert_eq!(
        delta,
        Stats {
            hits: 1,
            misses: 1,
            inserts: 2,
            updates: 0,
            evictions: 1,
            expirations: 0,
        }
    );
    assert_eq!(
        delta.to_string(),
        "hits=1 misses=1 hit_rate=50.0% inserts=2 updates=0 evictions=1 expirations=0"
    );
}

#[test]
fn shrinking_then_growing_lru() {
    let mut cache = LruCache::new(5);
    for k in 0..5 {
        cache.put(k, k);
    }
    let evicted: Vec<i32> = cache.resize(1).into_iter().map(|(k, _)| k).collect();
    assert_eq!(evicted, vec![0, 1, 2, 3]);
    assert_eq!(cache.keys(), vec![&4]);
    cache.resize(3);
    cache.put(9, 9);
    cache.put(8, 8);
    assert_eq!(cache.keys(), vec![&8, &9, &4]);
    cache.put(7, 7);
    assert_eq!(cache.keys(), vec![&7, &8, &9]);
}
