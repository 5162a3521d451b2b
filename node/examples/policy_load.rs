//! A load generator for the Postfix policy server, as a separate process,
//! for `scripts/bench.sh`: C persistent connections ask about addresses
//! from a file (`listed`), about its first 1,000 over and over
//! (`repeated`), about addresses nobody listed (`unknown`), or half listed
//! and half unknown (`mixed`) for S seconds, then it prints requests/s
//! and latency percentiles.
//!
//! Run: `cargo run --release -p vouch-node --example policy_load --
//! ADDR ADDRESSES_FILE [CONNECTIONS] [SECONDS] [listed|repeated|unknown|mixed]`

use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

fn main() -> std::io::Result<()> {
    let mut args = std::env::args().skip(1);
    let server = args.next().unwrap_or_else(|| "127.0.0.1:10040".into());
    let file = args
        .next()
        .unwrap_or_else(|| "bench-data/listed.txt".into());
    let connections: usize = args.next().and_then(|n| n.parse().ok()).unwrap_or(32);
    let seconds: u64 = args.next().and_then(|n| n.parse().ok()).unwrap_or(10);
    let mode = args.next().unwrap_or_else(|| "mixed".into());
    let listed: Vec<String> = std::fs::read_to_string(&file)?
        .lines()
        .map(str::to_owned)
        .collect();
    let listed = std::sync::Arc::new(listed);
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let workers: Vec<_> = (0..connections)
        .map(|c| {
            let (server, listed, mode) = (server.clone(), listed.clone(), mode.clone());
            std::thread::spawn(move || -> std::io::Result<Vec<Duration>> {
                let stream = TcpStream::connect(&server)?;
                stream.set_nodelay(true)?;
                let mut reader = BufReader::new(stream.try_clone()?);
                let mut writer = stream;
                let mut latencies = Vec::new();
                let mut line = String::new();
                let mut i = c * 7919;
                while Instant::now() < deadline {
                    i = i.wrapping_add(104_729);
                    let ask_listed = match mode.as_str() {
                        "listed" | "repeated" => true,
                        "unknown" => false,
                        _ => i % 2 == 0,
                    };
                    let among = if mode == "repeated" {
                        listed.len().min(1000)
                    } else {
                        listed.len()
                    };
                    let address = if ask_listed && among > 0 {
                        listed[i % among].clone()
                    } else {
                        format!("45.{}.{}.{}", (i >> 16) & 255, (i >> 8) & 255, i & 255)
                    };
                    let request = format!(
                        "request=smtpd_access_policy\nprotocol_state=RCPT\nclient_address={address}\ninstance=load.{c}.{i}\n\n"
                    );
                    let started = Instant::now();
                    writer.write_all(request.as_bytes())?;
                    loop {
                        line.clear();
                        if reader.read_line(&mut line)? == 0 {
                            return Ok(latencies);
                        }
                        if line == "\n" {
                            break;
                        }
                    }
                    latencies.push(started.elapsed());
                }
                Ok(latencies)
            })
        })
        .collect();
    let mut all: Vec<Duration> = Vec::new();
    for worker in workers {
        match worker.join() {
            Ok(Ok(latencies)) => all.extend(latencies),
            Ok(Err(error)) => eprintln!("a connection failed: {error}"),
            Err(_) => eprintln!("a connection thread panicked"),
        }
    }
    all.sort();
    let at = |q: f64| {
        all.get(((all.len() as f64 * q) as usize).min(all.len().saturating_sub(1)))
            .map_or(0.0, |d| d.as_secs_f64() * 1000.0)
    };
    println!(
        "policy {} req/s p50 {:.2} ms p99 {:.2} ms",
        all.len() as u64 / seconds.max(1),
        at(0.5),
        at(0.99)
    );
    Ok(())
}
