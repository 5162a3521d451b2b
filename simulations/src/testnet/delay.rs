//! Delay and loss where the kernel has no netem (`sch_netem`): iptables
//! hands every packet a node sends from or to its libp2p port to an
//! NFQUEUE, and a delayer in the node's network namespace holds each one
//! for the delay (uniform within ± the jitter, as netem's `delay 100ms
//! 20ms`) before letting it go, or drops it with the loss probability.
//! Shaping a node's outgoing packets only, as netem on its interface
//! would, each packet is delayed once. The queue is bypassed if no
//! delayer listens, so a delayer that dies leaves the network as it was.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::io::ErrorKind;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::Context;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// The queue the packets go through, inside each node's own namespace.
pub const QUEUE: u16 = 0;

/// What the delayer does to each packet.
#[derive(Debug, Clone, Copy)]
pub struct Shaping {
    /// Mean delay.
    pub delay: Duration,
    /// Most the delay varies either way (uniformly).
    pub jitter: Duration,
    /// Probability a packet is dropped.
    pub loss: f64,
}

impl Shaping {
    /// The delay for one packet.
    fn sample(&self, rng: &mut impl Rng) -> Duration {
        let jitter = self.jitter.as_secs_f64();
        let delay = self.delay.as_secs_f64() + rng.random_range(-jitter..=jitter);
        Duration::from_secs_f64(delay.max(0.0))
    }
}

/// A packet held until `at`; `seq` keeps packets due at the same moment
/// in arrival order.
struct Held {
    at: Instant,
    seq: u64,
    message: nfq::Message,
}

impl PartialEq for Held {
    fn eq(&self, other: &Self) -> bool {
        (self.at, self.seq) == (other.at, other.seq)
    }
}

impl Eq for Held {}

impl PartialOrd for Held {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Held {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        (self.at, self.seq).cmp(&(other.at, other.seq))
    }
}

/// Packets held at once, at most: past it, packets go through at once
/// (the kernel queue's own limit is the same).
const MAX_HELD: u32 = 10_000;

/// Takes packets from [`QUEUE`] in the current network namespace and lets
/// each go after its delay, or drops it; runs until killed (or `stop`
/// turns true, for tests).
pub fn run(shaping: Shaping, seed: u64, stop: impl Fn() -> bool) -> anyhow::Result<()> {
    let mut queue = nfq::Queue::open().context("opening a netfilter queue socket (root?)")?;
    queue.bind(QUEUE).context("binding the netfilter queue")?;
    // The verdict needs only the packet's id, not its bytes.
    queue.set_copy_range(QUEUE, 0)?;
    queue.set_queue_max_len(QUEUE, MAX_HELD)?;
    queue.set_fail_open(QUEUE, true)?;
    queue.set_nonblocking(true);
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut held: BinaryHeap<Reverse<Held>> = BinaryHeap::new();
    let mut seq = 0u64;
    while !stop() {
        loop {
            match queue.recv() {
                Ok(mut message) => {
                    let verdict = if rng.random_bool(shaping.loss) {
                        nfq::Verdict::Drop
                    } else {
                        nfq::Verdict::Accept
                    };
                    message.set_verdict(verdict);
                    seq += 1;
                    held.push(Reverse(Held {
                        at: Instant::now() + shaping.sample(&mut rng),
                        seq,
                        message,
                    }));
                }
                Err(error) if error.kind() == ErrorKind::WouldBlock => break,
                Err(error) => return Err(error).context("reading the netfilter queue"),
            }
        }
        let now = Instant::now();
        while held.peek().is_some_and(|Reverse(h)| h.at <= now) {
            if let Some(Reverse(due)) = held.pop() {
                queue.verdict(due.message)?;
            }
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    Ok(())
}

/// A delayer process in another process's network namespace; killed when
/// dropped.
pub struct Delayer {
    child: Child,
}

impl Delayer {
    /// Starts `vouch_sim delay` (this very program) in the network
    /// namespace of process `pid`, with `nsenter` (needs root).
    pub fn start(vouch_sim: &Path, pid: u32, shaping: Shaping, seed: u64) -> anyhow::Result<Self> {
        let child = Command::new("nsenter")
            .arg("--target")
            .arg(pid.to_string())
            .arg("--net")
            .arg(vouch_sim)
            .args([
                "delay",
                "--delay-ms",
                &shaping.delay.as_millis().to_string(),
                "--jitter-ms",
                &shaping.jitter.as_millis().to_string(),
                "--loss",
                &shaping.loss.to_string(),
                "--seed",
                &seed.to_string(),
            ])
            .stdin(Stdio::null())
            .spawn()
            .context("running nsenter (util-linux; root)")?;
        Ok(Delayer { child })
    }
}

impl Drop for Delayer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The iptables rules (inside the node's namespace) that queue what the
/// node sends from or to `port`.
pub fn rules(port: u16) -> [Vec<String>; 2] {
    ["--sport", "--dport"].map(|direction| {
        [
            "iptables",
            "-A",
            "OUTPUT",
            "-p",
            "tcp",
            direction,
            &port.to_string(),
            "-j",
            "NFQUEUE",
            "--queue-num",
            &QUEUE.to_string(),
            "--queue-bypass",
        ]
        .map(str::to_owned)
        .to_vec()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_vary_within_the_jitter_and_never_go_negative() {
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let shaping = Shaping {
            delay: Duration::from_millis(100),
            jitter: Duration::from_millis(20),
            loss: 0.0,
        };
        let samples: Vec<Duration> = (0..1000).map(|_| shaping.sample(&mut rng)).collect();
        let (least, most) = (
            samples.iter().min().copied().unwrap_or_default(),
            samples.iter().max().copied().unwrap_or_default(),
        );
        assert!(least >= Duration::from_millis(80) && least < Duration::from_millis(85));
        assert!(most <= Duration::from_millis(120) && most > Duration::from_millis(115));
        let wide = Shaping {
            delay: Duration::from_millis(5),
            jitter: Duration::from_millis(20),
            loss: 0.0,
        };
        assert!((0..1000).all(|_| wide.sample(&mut rng) <= Duration::from_millis(25)));
    }
}
