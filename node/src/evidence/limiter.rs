//! At most so many automatic reports an hour: a mail loop or a flood into
//! the Junk folder must not turn this node into a firehose on the network.

use std::sync::Mutex;

/// A fixed budget per clock hour.
#[derive(Debug)]
pub struct HourlyLimit {
    max: u32,
    /// (hour number, reports admitted in it).
    used: Mutex<(u64, u32)>,
}

impl HourlyLimit {
    /// `max` reports an hour.
    pub fn new(max: u32) -> HourlyLimit {
        HourlyLimit {
            max,
            used: Mutex::new((0, 0)),
        }
    }

    /// Takes one report from the budget of the hour `now` (Unix seconds)
    /// falls in; false when it is spent.
    pub fn admit(&self, now: u64) -> bool {
        let hour = now / 3600;
        let mut used = self
            .used
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if used.0 != hour {
            *used = (hour, 0);
        }
        if used.1 >= self.max {
            return false;
        }
        used.1 += 1;
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_budget_is_spent_within_an_hour_and_refilled_in_the_next() {
        let limit = HourlyLimit::new(3);
        let hour = 1_800_000_000 / 3600 * 3600;
        assert!((0..3).all(|i| limit.admit(hour + i)));
        assert!(!limit.admit(hour + 3599));
        assert!(limit.admit(hour + 3600));
        assert!(!HourlyLimit::new(0).admit(hour));
    }
}
