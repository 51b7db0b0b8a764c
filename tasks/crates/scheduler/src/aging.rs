//! Priority aging: tasks that wait long enough get temporary priority boosts.

/// Highest valid priority.
pub const MAX_PRIORITY: u8 = 9;

/// Every `interval` ticks spent waiting raises a task's effective priority by one,
/// up to `max_boost` levels and never above [`MAX_PRIORITY`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AgingPolicy {
    pub interval: u64,
    pub max_boost: u8,
}

impl AgingPolicy {
    pub fn new(interval: u64, max_boost: u8) -> Self {
        AgingPolicy {
            interval,
            max_boost,
        }
    }

    /// No aging at all.
    pub fn none() -> Self {
        AgingPolicy {
            interval: 0,
            max_boost: 0,
        }
    }

    pub fn is_enabled(&self) -> bool {
        self.interval > 0 && self.max_boost > 0
    }

    /// Boost earned after waiting `waited` ticks.
    pub fn boost(&self, waited: u64) -> u8 {
        if !self.is_enabled() {
            return 0;
        }
        let steps = waited / self.interval;
        if steps >= u64::from(self.max_boost) {
            self.max_boost
        } else {
            steps as u8
        }
    }

    /// Base priority plus boost, capped at [`MAX_PRIORITY`].
    pub fn effective(&self, base: u8, waited: u64) -> u8 {
        base.saturating_add(self.boost(waited)).min(MAX_PRIORITY)
    }

    /// Further waiting ticks until the next boost level, or `None` when no further
    /// boost can be earned.
    pub fn ticks_until_next_boost(&self, base: u8, waited: u64) -> Option<u64> {
        if !self.is_enabled() || self.boost(waited) == self.max_boost {
            return None;
        }
        if self.effective(base, waited) == MAX_PRIORITY {
            return None;
        }
        let next_level = waited / self.interval + 1;
        Some(next_level * self.interval - waited)
    }
}

impl Default for AgingPolicy {
    fn default() -> Self {
        AgingPolicy::new(4, 2)
    }
}

/// Ticks to spare before a task with `remaining` work misses `deadline` at tick `now`;
/// negative when it can no longer make it.
pub fn slack(now: u64, deadline: u64, remaining: u64) -> i64 {
    deadline as i64 - now as i64 - remaining as i64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn boost_grows_per_interval_and_caps() {
        let policy = AgingPolicy::new(3, 2);
        assert_eq!(policy.boost(0), 0);
        assert_eq!(policy.boost(2), 0);
        assert_eq!(policy.boost(3), 1);
        assert_eq!(policy.boost(5), 1);
        assert_eq!(policy.boost(6), 2);
        assert_eq!(policy.boost(100), 2);
    }

    #[test]
    fn disabled_policy_never_boosts() {
        assert_eq!(AgingPolicy::none().boost(1_000), 0);
        assert_eq!(AgingPolicy::new(0, 3).boost(1_000), 0);
        assert_eq!(AgingPolicy::new(2, 0).effective(4, 1_000), 4);
        assert!(!AgingPolicy::new(0, 3).is_enabled());
        assert!(AgingPolicy::default().is_enabled());
    }

    #[test]
    fn effective_priority_is_capped() {
        let policy = AgingPolicy::new(1, 5);
        assert_eq!(policy.effective(2, 3), 5);
        assert_eq!(policy.effective(7, 3), MAX_PRIORITY);
        assert_eq!(policy.effective(9, 0), 9);
    }

    #[test]
    fn ticks_until_next_boost() {
        let policy = AgingPolicy::new(4, 2);
        assert_eq!(policy.ticks_until_next_boost(1, 0), Some(4));
        assert_eq!(policy.ticks_until_next_boost(1, 3), Some(1));
        assert_eq!(policy.ticks_until_next_boost(1, 4), Some(4));
        assert_eq!(policy.ticks_until_next_boost(1, 8), None);
        assert_eq!(policy.ticks_until_next_boost(9, 0), None);
        assert_eq!(AgingPolicy::none().ticks_until_next_boost(1, 0), None);
    }

    #[test]
    fn slack_can_go_negative() {
        assert_eq!(slack(2, 10, 3), 5);
        assert_eq!(slack(7, 10, 3), 0);
        assert_eq!(slack(9, 10, 3), -2);
    }
}
