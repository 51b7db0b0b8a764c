//! Time sources. Caches never read the wall clock: time is injected.
//!
//! Time is a plain `u64` tick count (milliseconds by convention).

use std::cell::Cell;
use std::rc::Rc;

/// Something that can tell the current time in ticks.
pub trait Clock {
    fn now(&self) -> u64;
}

impl<C: Clock + ?Sized> Clock for &C {
    fn now(&self) -> u64 {
        (**self).now()
    }
}

impl<C: Clock + ?Sized> Clock for Rc<C> {
    fn now(&self) -> u64 {
        (**self).now()
    }
}

/// A clock moved by hand. Clones share the same time, so a test can keep
/// one handle and give another to a cache.
#[derive(Debug, Clone, Default)]
pub struct ManualClock {
    now: Rc<Cell<u64>>,
}

impl ManualClock {
    pub fn new(start: u64) -> Self {
        ManualClock {
            now: Rc::new(Cell::new(start)),
        }
    }

    /// Moves time forward by `ticks`, saturating at `u64::MAX`; returns the new time.
    pub fn advance(&self, ticks: u64) -> u64 {
        let next = self.now.get().saturating_add(ticks);
        self.now.set(next);
        next
    }

    /// Sets the time. Time never goes backwards: an earlier `time` is
    /// ignored and `false` returned.
    pub fn set(&self, time: u64) -> bool {
        if time < self.now.get() {
            return false;
        }
        self.now.set(time);
        true
    }
}

impl Clock for ManualClock {
    fn now(&self) -> u64 {
        self.now.get()
    }
}

/// A clock that moves forward by a fixed step every time it is read.
/// The first reading is `start`.
#[derive(Debug, Clone)]
pub struct StepClock {
    next: Cell<u64>,
    step: u64,
}

impl StepClock {
    pub fn new(start: u64, step: u64) -> Self {
        StepClock {
            next: Cell::new(start),
            step,
        }
    }

    /// How many times the clock has been read so far.
    pub fn readings(&self, start: u64) -> u64 {
        if self.step == 0 {
            return 0;
        }
        (self.next.get() - start) / self.step
    }
}

impl Clock for StepClock {
    fn now(&self) -> u64 {
        let current = self.next.get();
        self.next.set(current.saturating_add(self.step));
        current
    }
}

/// Absolute expiry time for something stored at `now` with `ttl`.
/// Saturates, so a huge ttl means "never".
pub fn deadline(now: u64, ttl: u64) -> u64 {
    now.saturating_add(ttl)
}

/// True when `deadline` has been reached at time `now`.
pub fn is_expired(deadline: u64, now: u64) -> bool {
    deadline != u64::MAX && now >= deadline
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manual_clock_advances_and_shares_time() {
        let clock = ManualClock::new(100);
        let handle = clock.clone();
        assert_eq!(clock.advance(25), 125);
        assert_eq!(handle.now(), 125);
        assert_eq!(handle.advance(5), 130);
        assert_eq!(clock.now(), 130);
    }

    #[test]
    fn manual_clock_never_goes_backwards() {
        let clock = ManualClock::new(50);
        assert!(!clock.set(49));
        assert_eq!(clock.now(), 50);
        assert!(clock.set(50));
        assert!(clock.set(80));
        assert_eq!(clock.now(), 80);
    }

    #[test]
    fn manual_clock_saturates() {
        let clock = ManualClock::new(u64::MAX - 2);
        assert_eq!(clock.advance(10), u64::MAX);
    }

    #[test]
    fn step_clock_moves_on_each_read() {
        let clock = StepClock::new(10, 3);
        assert_eq!(clock.readings(10), 0);
        assert_eq!(clock.now(), 10);
        assert_eq!(clock.now(), 13);
        assert_eq!(clock.now(), 16);
        assert_eq!(clock.readings(10), 3);
        let frozen = StepClock::new(7, 0);
        assert_eq!(frozen.now(), 7);
        assert_eq!(frozen.now(), 7);
        assert_eq!(frozen.readings(7), 0);
    }

    #[test]
    fn clock_through_references() {
        let clock = ManualClock::new(9);
        let by_ref: &dyn Clock = &clock;
        assert_eq!(by_ref.now(), 9);
        let shared = Rc::new(StepClock::new(1, 1));
        assert_eq!(shared.now(), 1);
        assert_eq!(Clock::now(&shared), 2);
    }

    #[test]
    fn deadlines_and_expiry() {
        assert_eq!(deadline(10, 5), 15);
        assert_eq!(deadline(u64::MAX - 1, 5), u64::MAX);
        assert!(!is_expired(15, 14));
        assert!(is_expired(15, 15));
        assert!(is_expired(15, 16));
        assert!(!is_expired(u64::MAX, u64::MAX));
    }
}
