//! A load generator for the node's lookups, as a separate process, for
//! `scripts/bench.sh`: C persistent connections, one blocking thread each,
//! ask the Postfix policy server (`policy`) or the HTTP API (`http`) about
//! addresses from a file (`listed`), about its first 1,000 over and over
//! (`repeated`), about addresses nobody listed (`unknown`), or half listed
//! and half unknown (`mixed`) for S seconds, then it prints requests/s and
//! latency percentiles.
//!
//! One thread per connection, so a connection's latency is the server's
//! answer and the kernel's wake-up, never a wait for an event loop that
//! also serves other connections (as wrk's threads do, each with many).
//!
//! Run: `cargo run --release -p vouch-node --example lookup_load --
//! policy|http ADDR ADDRESSES_FILE [CONNECTIONS] [SECONDS]
//! [listed|repeated|unknown|mixed]`

use std::io::{BufRead, BufReader, Error, ErrorKind, Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

/// Largest answer body read: a lookup's answer is a few kilobytes.
const MAX_BODY: usize = 1 << 20;

/// Which front-end is asked, and how.
#[derive(Clone, Copy)]
enum Protocol {
    /// Postfix's policy delegation protocol: attribute lines, a blank
    /// line ends each request and each answer.
    Policy,
    /// `GET /v1/reputation/{address}` over HTTP/1.1 keep-alive.
    Http,
}

impl Protocol {
    fn request(self, address: &str, connection: usize, i: usize) -> String {
        match self {
            Protocol::Policy => format!(
                "request=smtpd_access_policy\nprotocol_state=RCPT\nclient_address={address}\ninstance=load.{connection}.{i}\n\n"
            ),
            Protocol::Http => {
                format!("GET /v1/reputation/{address} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            }
        }
    }

    /// Reads one answer; `false` when the server closed the connection.
    fn read_answer(
        self,
        reader: &mut BufReader<TcpStream>,
        line: &mut String,
        body: &mut Vec<u8>,
    ) -> std::io::Result<bool> {
        let mut length = 0;
        let mut first = true;
        loop {
            line.clear();
            if reader.read_line(line)? == 0 {
                return Ok(false);
            }
            match self {
                Protocol::Policy if line == "\n" => return Ok(true),
                Protocol::Policy => {}
                Protocol::Http if line == "\r\n" => break,
                Protocol::Http if first && !line.starts_with("HTTP/1.1 200") => {
                    return Err(Error::new(ErrorKind::InvalidData, line.trim().to_owned()));
                }
                Protocol::Http => {
                    let lower = line.to_ascii_lowercase();
                    if let Some(value) = lower.strip_prefix("content-length:") {
                        length = value.trim().parse().map_err(|_| {
                            Error::new(ErrorKind::InvalidData, "bad content-length")
                        })?;
                    }
                }
            }
            first = false;
        }
        if length > MAX_BODY {
            return Err(Error::new(ErrorKind::InvalidData, "answer body too large"));
        }
        body.resize(length, 0);
        reader.read_exact(body)?;
        Ok(true)
    }
}

fn main() -> std::io::Result<()> {
    let mut args = std::env::args().skip(1);
    let protocol = match args.next().as_deref() {
        Some("policy") => Protocol::Policy,
        Some("http") => Protocol::Http,
        _ => {
            eprintln!(
                "usage: lookup_load policy|http ADDR ADDRESSES_FILE [CONNECTIONS] [SECONDS] [listed|repeated|unknown|mixed]"
            );
            std::process::exit(2);
        }
    };
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
                let (mut line, mut body) = (String::new(), Vec::new());
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
                    let request = protocol.request(&address, c, i);
                    let started = Instant::now();
                    writer.write_all(request.as_bytes())?;
                    if !protocol.read_answer(&mut reader, &mut line, &mut body)? {
                        return Ok(latencies);
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
    let name = match protocol {
        Protocol::Policy => "policy",
        Protocol::Http => "http",
    };
    println!(
        "{name} {} req/s p50 {:.2} ms p99 {:.2} ms",
        all.len() as u64 / seconds.max(1),
        at(0.5),
        at(0.99)
    );
    Ok(())
}
