//! The mail-server front-ends under load on loopback, with 1M statements
//! stored (override with VOUCH_BENCH_STATEMENTS):
//!
//! * Postfix policy requests per second over persistent connections;
//! * DNS block-list answers per second over UDP;
//! * the same UDP load against rbldnsd (Debian's `rbldnsd`, when installed)
//!   serving an ip4set zone with the same addresses, as a reference.
//!
//! Run: `cargo bench -p vouch-node --bench mta`
//! Knobs: VOUCH_BENCH_SECONDS (10 per phase), VOUCH_BENCH_CONNECTIONS (32).
//!
//! The load generator runs in the same process as the node, so on a small
//! machine both share its cores; the figures are floors, not ceilings.
//! rbldnsd is single-threaded and answers from a static set; Vouch scores
//! from memory under the trust map (an A record is given again for up to
//! ten seconds from where its address stood, until a write lands or the
//! trust map changes), so the comparison is an anchor for "how far from a
//! static list server", not a like-for-like race.

use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use hickory_server::proto::op::{Message, Query};
use hickory_server::proto::rr::{Name, RecordType};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpStream, UdpSocket};
use vouch_node::{Config, DataDir, Node};

mod fixture;
use fixture::{env, fill, next, sender};

fn main() {
    let total = env("VOUCH_BENCH_STATEMENTS", 1_000_000);
    let connections = env("VOUCH_BENCH_CONNECTIONS", 32);
    let seconds = env("VOUCH_BENCH_SECONDS", 10) as u64;
    let dir = tempfile::tempdir().expect("tempdir");
    let data_dir = DataDir::new(dir.path());
    let me = data_dir.init().expect("init");
    fill(&data_dir, &me, total);

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async move {
        let mut config = Config::default();
        config.api.listen = "127.0.0.1:0".parse().expect("addr");
        config.p2p.enabled = false;
        config.policy.listen = "127.0.0.1:0".parse().expect("addr");
        config.dnsbl.listen = "127.0.0.1:0".parse().expect("addr");
        // Measure answers, not fallbacks: a loaded 2-core box can be slow.
        config.policy.timeout_ms = 5_000;
        config.dnsbl.timeout_ms = 5_000;
        let token = data_dir.token().expect("token");
        let mut node = Node::open_with(&data_dir, config, me, token).expect("open node");
        let listeners = node.bind().await.expect("bind");
        let policy = listeners.mta.policy_addr().expect("policy");
        let dns = listeners.mta.dns_addr().expect("dns");
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let server = tokio::spawn(node.serve(listeners, async move {
            let _ = stopped.await;
        }));

        let (n, lat) = policy_load(policy, connections, seconds, total).await;
        report("policy (vouch)", n, seconds, connections, &lat);
        let (n, lat, lost) = dns_load(dns, connections, seconds, total).await;
        report("dns udp (vouch)", n, seconds, connections, &lat);
        println!("    {lost} queries unanswered within 1s");
        let _ = stop.send(());
        server.await.expect("join").expect("serve");

        match Rbldnsd::start(total) {
            Some(reference) => {
                let (n, lat, lost) = dns_load(reference.addr, connections, seconds, total).await;
                report("dns udp (rbldnsd reference)", n, seconds, connections, &lat);
                println!("    {lost} queries unanswered within 1s");
                drop(reference);
            }
            None => {
                println!("rbldnsd not installed (apt-get install rbldnsd): no reference figure")
            }
        }
    });
}

async fn policy_load(
    addr: SocketAddr,
    connections: usize,
    seconds: u64,
    total: usize,
) -> (usize, Vec<u32>) {
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let mut workers = Vec::new();
    for w in 0..connections {
        workers.push(tokio::spawn(async move {
            let stream = TcpStream::connect(addr).await.expect("connect");
            stream.set_nodelay(true).expect("nodelay");
            let (read, mut write) = stream.into_split();
            let mut reader = BufReader::new(read);
            let mut state = w as u64 + 1;
            let mut latencies = Vec::new();
            let mut line = String::new();
            while Instant::now() < deadline {
                let ip = sender(next(&mut state) % total);
                let request = format!(
                    "request=smtpd_access_policy\nprotocol_state=RCPT\nprotocol_name=ESMTP\n\
                     client_address={ip}\nclient_name=unknown\nhelo_name=mail.example.org\n\
                     sender=a@example.org\nrecipient=b@example.net\ninstance={w}.{}\n\n",
                    latencies.len()
                );
                let t = Instant::now();
                write.write_all(request.as_bytes()).await.expect("write");
                line.clear();
                reader.read_line(&mut line).await.expect("read");
                assert!(line.starts_with("action="), "{line}");
                line.clear();
                reader.read_line(&mut line).await.expect("read");
                latencies.push(t.elapsed().as_micros() as u32);
            }
            latencies
        }));
    }
    let mut all = Vec::new();
    for w in workers {
        all.extend(w.await.expect("worker"));
    }
    (all.len(), all)
}

async fn dns_load(
    addr: SocketAddr,
    connections: usize,
    seconds: u64,
    total: usize,
) -> (usize, Vec<u32>, usize) {
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let mut workers = Vec::new();
    for w in 0..connections {
        workers.push(tokio::spawn(async move {
            let socket = UdpSocket::bind("127.0.0.1:0").await.expect("bind");
            socket.connect(addr).await.expect("connect");
            let mut state = w as u64 + 1000;
            let mut latencies = Vec::new();
            let mut lost = 0usize;
            let mut buf = vec![0u8; 1500];
            while Instant::now() < deadline {
                let [a, b, c, d] = sender(next(&mut state) % total).octets();
                let name = format!("{d}.{c}.{b}.{a}.bl.vouch.local.");
                let mut message = Message::query();
                message.add_query(Query::query(
                    Name::from_ascii(&name).expect("name"),
                    RecordType::A,
                ));
                let id = message.metadata.id;
                let packet = message.to_vec().expect("encode");
                let t = Instant::now();
                socket.send(&packet).await.expect("send");
                loop {
                    match tokio::time::timeout(Duration::from_secs(1), socket.recv(&mut buf)).await
                    {
                        Ok(Ok(n)) if n >= 2 && u16::from_be_bytes([buf[0], buf[1]]) == id => {
                            latencies.push(t.elapsed().as_micros() as u32);
                            break;
                        }
                        Ok(_) => continue,
                        Err(_) => {
                            lost += 1;
                            break;
                        }
                    }
                }
            }
            (latencies, lost)
        }));
    }
    let (mut all, mut lost) = (Vec::new(), 0);
    for w in workers {
        let (l, n) = w.await.expect("worker");
        all.extend(l);
        lost += n;
    }
    (all.len(), all, lost)
}

fn report(what: &str, answered: usize, seconds: u64, connections: usize, latencies: &[u32]) {
    let mut sorted = latencies.to_vec();
    sorted.sort_unstable();
    let pct = |p: f64| {
        sorted
            .get(((sorted.len() as f64 * p) as usize).min(sorted.len().saturating_sub(1)))
            .copied()
            .unwrap_or(0)
    };
    println!(
        "{what}: {answered} answers in {seconds}s over {connections} clients = {:.0}/s; \
         latency p50 {}µs p99 {}µs",
        answered as f64 / seconds as f64,
        pct(0.50),
        pct(0.99)
    );
}

/// rbldnsd serving `bl.vouch.local` as an ip4set of the same senders.
struct Rbldnsd {
    child: Child,
    addr: SocketAddr,
    _dir: tempfile::TempDir,
}

impl Rbldnsd {
    fn start(total: usize) -> Option<Rbldnsd> {
        let binary = ["/usr/sbin/rbldnsd", "/usr/bin/rbldnsd"]
            .into_iter()
            .find(|p| std::path::Path::new(p).exists())?;
        let dir = tempfile::tempdir().expect("tempdir");
        let mut zone = String::with_capacity(total * 14);
        zone.push_str(":127.0.0.2:Listed by the rbldnsd reference\n");
        for i in 0..total {
            zone.push_str(&sender(i).to_string());
            zone.push('\n');
        }
        std::fs::write(dir.path().join("zone"), zone).expect("zone");
        use std::os::unix::fs::PermissionsExt;
        let _ = std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755));
        let port = std::net::UdpSocket::bind("127.0.0.1:0")
            .and_then(|s| s.local_addr())
            .expect("free port")
            .port();
        let child = Command::new(binary)
            .args(["-n", "-q", "-r"])
            .arg(dir.path())
            .args([
                "-b",
                &format!("127.0.0.1/{port}"),
                "bl.vouch.local:ip4set:zone",
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .ok()?;
        let addr = SocketAddr::from(([127, 0, 0, 1], port));
        // rbldnsd loads the zone before it answers; wait for the test point.
        let probe = std::net::UdpSocket::bind("127.0.0.1:0").ok()?;
        probe
            .set_read_timeout(Some(Duration::from_millis(200)))
            .ok()?;
        let mut message = Message::query();
        message.add_query(Query::query(
            Name::from_ascii("2.0.0.127.bl.vouch.local.").ok()?,
            RecordType::A,
        ));
        let packet = message.to_vec().ok()?;
        let mut rbldnsd = Rbldnsd {
            child,
            addr,
            _dir: dir,
        };
        for _ in 0..300 {
            let _ = probe.send_to(&packet, addr);
            let mut buf = [0u8; 512];
            if probe.recv(&mut buf).is_ok() {
                return Some(rbldnsd);
            }
            if let Ok(Some(_)) = rbldnsd.child.try_wait() {
                return None;
            }
        }
        let _ = rbldnsd.child.kill();
        None
    }
}

impl Drop for Rbldnsd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
