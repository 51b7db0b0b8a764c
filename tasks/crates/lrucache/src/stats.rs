//! Counters describing how a cache has been used.

use std::fmt;

/// Cache usage counters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stats {
    /// Lookups that found a live entry.
    pub hits: u64,
    /// Lookups that found nothing (or only an expired entry).
    pub misses: u64,
    /// New keys stored.
    pub inserts: u64,
    /// Existing keys overwritten.
    pub updates: u64,
    /// Entries dropped to make room.
    pub evictions: u64,
    /// Entries dropped because their time ran out.
    pub expirations: u64,
}

impl Stats {
    /// Total lookups.
    pub fn lookups(&self) -> u64 {
        self.hits + self.misses
    }

    /// Fraction of lookups that hit, or `None` before the first lookup.
    pub fn hit_rate(&self) -> Option<f64> {
        let total = self.lookups();
        if total == 0 {
            return None;
        }
        Some(self.hits as f64 / total as f64)
    }

    /// Entries removed by the cache itself (evictions plus expirations).
    pub fn removals(&self) -> u64 {
        self.evictions + self.expirations
    }

    /// Field-wise sum.
    pub fn merge(&self, other: &Stats) -> Stats {
        Stats {
            hits: self.hits + other.hits,
            misses: self.misses + other.misses,
            inserts: self.inserts + other.inserts,
            updates: self.updates + other.updates,
            evictions: self.evictions + other.evictions,
            expirations: self.expirations + other.expirations,
        }
    }

    /// What happened since the `earlier` snapshot (field-wise difference,
    /// clamped at zero).
    pub fn since(&self, earlier: &Stats) -> Stats {
        Stats {
            hits: self.hits.saturating_sub(earlier.hits),
            misses: self.misses.saturating_sub(earlier.misses),
            inserts: self.inserts.saturating_sub(earlier.inserts),
            updates: self.updates.saturating_sub(earlier.updates),
            evictions: self.evictions.saturating_sub(earlier.evictions),
            expirations: self.expirations.saturating_sub(earlier.expirations),
        }
    }
}

/// Formats a ratio as a percentage with one decimal, e.g. `66.7%`.
pub fn format_percent(ratio: f64) -> String {
    let tenths = (ratio * 1000.0).round() as u64;
    format!("{}.{}%", tenths / 10, tenths % 10)
}

impl fmt::Display for Stats {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let rate = match self.hit_rate() {
            Some(r) => format_percent(r),
            None => "n/a".to_string(),
        };
        write!(
            f,
            "hits={} misses={} hit_rate={} inserts={} updates={} evictions={} expirations={}",
            self.hits,
            self.misses,
            rate,
            self.inserts,
            self.updates,
            self.evictions,
            self.expirations
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Stats {
        Stats {
            hits: 2,
            misses: 1,
            inserts: 4,
            updates: 1,
            evictions: 3,
            expirations: 2,
        }
    }

    #[test]
    fn hit_rate_none_before_lookups() {
        assert_eq!(Stats::default().hit_rate(), None);
        assert_eq!(Stats::default().lookups(), 0);
    }

    #[test]
    fn hit_rate_fraction() {
        let s = sample();
        assert_eq!(s.lookups(), 3);
        assert!((s.hit_rate().unwrap() - 2.0 / 3.0).abs() < 1e-12);
        let all_miss = Stats {
            misses: 4,
            ..Stats::default()
        };
        assert_eq!(all_miss.hit_rate(), Some(0.0));
    }

    #[test]
    fn removals_sum() {
        assert_eq!(sample().removals(), 5);
    }

    #[test]
    fn merge_and_since_are_inverse() {
        let a = sample();
        let b = Stats {
            hits: 10,
            misses: 0,
            inserts: 1,
            updates: 5,
            evictions: 1,
            expirations: 7,
        };
        let sum = a.merge(&b);
        assert_eq!(
            sum,
            Stats {
                hits: 12,
                misses: 1,
                inserts: 5,
                updates: 6,
                evictions: 4,
                expirations: 9
            }
        );
        assert_eq!(sum.since(&a), b);
        assert_eq!(sum.since(&b), a);
    }

    #[test]
    fn since_saturates() {
        let later = Stats {
            hits: 1,
            ..Stats::default()
        };
        let diff = later.since(&sample());
        assert_eq!(
            diff,
            Stats {
                hits: 0,
                ..Stats::default()
            }
        );
    }

    #[test]
    fn percent_formatting() {
        assert_eq!(format_percent(2.0 / 3.0), "66.7%");
        assert_eq!(format_percent(0.0), "0.0%");
        assert_eq!(format_percent(1.0), "100.0%");
        assert_eq!(format_percent(0.125), "12.5%");
        assert_eq!(format_percent(0.0004), "0.0%");
    }

    #[test]
    fn display() {
        assert_eq!(
            sample().to_string(),
            "hits=2 misses=1 hit_rate=66.7% inserts=4 updates=1 evictions=3 expirations=2"
        );
        assert!(Stats::default().to_string().contains("hit_rate=n/a"));
    }
}
