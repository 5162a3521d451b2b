//! The netem stand-in, for real: in a network namespace of the test's own,
//! with the iptables rules the testnet installs, `vouch-sim delay` holds
//! each packet for its delay, and with no delayer listening the queue is
//! bypassed. Needs root and iptables; says so and passes without them.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use vouch_sim::testnet::delay;

/// `n` one-byte round trips over `stream`, each timed.
fn round_trips(stream: &mut TcpStream, n: usize) -> Vec<Duration> {
    let mut byte = [0u8; 1];
    (0..n)
        .map(|_| {
            let started = Instant::now();
            stream.write_all(b"x").expect("write");
            stream.read_exact(&mut byte).expect("read");
            started.elapsed()
        })
        .collect()
}

fn run(command: &[String]) -> bool {
    Command::new(&command[0])
        .args(&command[1..])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

#[test]
fn the_delayer_holds_each_packet_for_its_delay_and_the_queue_is_bypassed_without_it() {
    // SAFETY: geteuid has no preconditions.
    let root = unsafe { libc::geteuid() } == 0;
    if !root || !run(&["iptables".into(), "--version".into()]) {
        eprintln!("skipped: needs root and iptables");
        return;
    }
    // The namespace belongs to this thread (and what it starts), and goes
    // with it.
    let measured = std::thread::spawn(|| {
        // SAFETY: unshare(2) on this thread alone; no memory is involved.
        if unsafe { libc::unshare(libc::CLONE_NEWNET) } != 0 {
            return None;
        }
        assert!(run(&["ip", "link", "set", "lo", "up"].map(String::from)));
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = listener.local_addr().expect("addr").port();
        for rule in delay::rules(port) {
            assert!(run(&rule), "iptables {rule:?}");
        }
        let echo = std::thread::spawn(move || {
            let (mut peer, _) = listener.accept().expect("accept");
            let mut byte = [0u8; 1];
            while peer.read_exact(&mut byte).is_ok() {
                if peer.write_all(&byte).is_err() {
                    break;
                }
            }
        });
        let mut stream = TcpStream::connect(("127.0.0.1", port)).expect("connect");
        stream.set_nodelay(true).expect("nodelay");
        stream
            .set_read_timeout(Some(Duration::from_secs(5)))
            .expect("timeout");
        let bypassed = round_trips(&mut stream, 5).into_iter().max();

        let mut delayer = Command::new(env!("CARGO_BIN_EXE_vouch-sim"))
            .args(["delay", "--delay-ms", "50", "--jitter-ms", "10"])
            .spawn()
            .expect("start the delayer");
        // The first round trips may beat the delayer to the queue.
        std::thread::sleep(Duration::from_millis(500));
        let delayed = round_trips(&mut stream, 10);
        let delayed = (delayed.iter().min().copied(), delayed.iter().max().copied());
        let _ = delayer.kill();
        let _ = delayer.wait();
        drop(stream);
        let _ = echo.join();
        Some((bypassed, delayed))
    })
    .join()
    .expect("the measuring thread");
    let Some((Some(bypassed), (Some(fastest), Some(slowest)))) = measured else {
        eprintln!("skipped: cannot make a network namespace here");
        return;
    };
    assert!(
        bypassed < Duration::from_millis(40),
        "no delayer: the queue is bypassed ({bypassed:?})"
    );
    // Each packet is delayed once, 40 to 60 ms: a round trip 80 to 120 ms.
    assert!(
        fastest >= Duration::from_millis(80),
        "both ways delayed: {fastest:?}"
    );
    assert!(
        slowest < Duration::from_millis(400),
        "and not much more: {slowest:?}"
    );
}
