//! Per-peer limits: token buckets for message and request rates, and
//! strikes that get an abusive peer disconnected and banned.

use std::time::Instant;

/// A token bucket: `rate` tokens a second, at most `burst` saved up.
#[derive(Debug, Clone)]
pub struct TokenBucket {
    rate: f64,
    burst: f64,
    tokens: f64,
    last: Instant,
}

impl TokenBucket {
    /// A full bucket.
    pub fn new(rate: f64, burst: f64, now: Instant) -> Self {
        TokenBucket {
            rate,
            burst,
            tokens: burst,
            last: now,
        }
    }

    /// Takes one token if there is one.
    pub fn take(&mut self, now: Instant) -> bool {
        let elapsed = now.saturating_duration_since(self.last).as_secs_f64();
        self.tokens = (self.tokens + elapsed * self.rate).min(self.burst);
        self.last = now;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

/// Why a peer earned strikes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Offence {
    /// Sent an invalid statement (forged, malformed, oversized) in a
    /// back-fill page, which gossipsub's scoring does not see.
    Invalid,
    /// Gossiped an invalid statement: gossipsub's invalid-message penalty
    /// (P4) already counts it, so it costs no strikes on top.
    InvalidGossip,
    /// Sent messages or requests faster than its rate limit.
    Flooding,
    /// Did not read what we sent it fast enough (its queue overflowed).
    Slow,
}

impl Offence {
    /// Strikes it costs.
    pub fn strikes(self) -> u32 {
        match self {
            Offence::Invalid => 10,
            Offence::InvalidGossip => 0,
            Offence::Flooding | Offence::Slow => 1,
        }
    }

    /// Name in logs and metrics.
    pub fn as_str(self) -> &'static str {
        match self {
            Offence::Invalid | Offence::InvalidGossip => "invalid_statements",
            Offence::Flooding => "rate_limit",
            Offence::Slow => "slow",
        }
    }
}

/// One peer's standing.
#[derive(Debug, Clone)]
pub struct PeerLimits {
    /// Gossiped statements.
    pub messages: TokenBucket,
    /// Back-fill requests served.
    pub requests: TokenBucket,
    /// Strikes earned so far; halved every minute.
    pub strikes: u32,
    /// Invalid statements received from this peer, ever.
    pub invalid: u64,
}

impl PeerLimits {
    /// Fresh limits for a newly seen peer.
    pub fn new(config: &super::Config, now: Instant) -> Self {
        PeerLimits {
            messages: TokenBucket::new(config.messages_per_sec, config.message_burst, now),
            requests: TokenBucket::new(
                config.sync_requests_per_min / 60.0,
                (config.sync_requests_per_min / 6.0).max(4.0),
                now,
            ),
            strikes: 0,
            invalid: 0,
        }
    }

    /// Records an offence; true when the peer has now used up `max_strikes`.
    pub fn strike(&mut self, offence: Offence, max_strikes: u32) -> bool {
        if matches!(offence, Offence::Invalid | Offence::InvalidGossip) {
            self.invalid += 1;
        }
        self.strikes = self.strikes.saturating_add(offence.strikes());
        self.strikes >= max_strikes
    }

    /// Forgives half the strikes (called once a minute).
    pub fn forgive(&mut self) {
        self.strikes /= 2;
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn a_bucket_allows_its_burst_then_its_rate() {
        let start = Instant::now();
        let mut bucket = TokenBucket::new(10.0, 5.0, start);
        assert_eq!((0..8).filter(|_| bucket.take(start)).count(), 5);
        let later = start + Duration::from_millis(300);
        assert_eq!((0..8).filter(|_| bucket.take(later)).count(), 3);
    }

    #[test]
    fn invalid_statements_cost_more_than_flooding_and_strikes_are_forgiven() {
        let config = crate::p2p::Config {
            max_strikes: 25,
            ..Default::default()
        };
        let mut limits = PeerLimits::new(&config, Instant::now());
        assert!(!limits.strike(Offence::Invalid, config.max_strikes));
        assert!(!limits.strike(Offence::Flooding, config.max_strikes));
        limits.forgive();
        assert_eq!(limits.strikes, 5);
        assert!(!limits.strike(Offence::Invalid, config.max_strikes));
        assert!(limits.strike(Offence::Invalid, config.max_strikes));
        assert_eq!(limits.invalid, 3);
    }
}
