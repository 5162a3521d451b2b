//! Real `vouch run` processes on 127.0.0.1, each in its own data directory
//! with a generated key and config; every process is killed when the
//! cluster is dropped, whatever happened.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use serde_json::Value;

/// One node of the testnet.
pub struct Member {
    /// Its data directory.
    pub dir: PathBuf,
    /// Its API base URL.
    pub api: String,
    /// Its API token.
    pub token: String,
    /// Its libp2p peer id.
    pub peer_id: String,
    /// Its multiaddr, ending in /p2p/<peer id>.
    pub addr: String,
    child: Option<Child>,
}

impl Member {
    /// The end of the node's log, for error messages (the directory is
    /// deleted when the run ends).
    fn log_tail(&self) -> String {
        let log = std::fs::read_to_string(self.dir.join("node.log")).unwrap_or_default();
        let lines: Vec<&str> = log.lines().collect();
        lines[lines.len().saturating_sub(20)..].join("\n")
    }
}

/// Every node, killed on drop.
pub struct Cluster {
    /// The nodes, node 0 first (the bootstrap node).
    pub members: Vec<Member>,
    http: reqwest::blocking::Client,
}

/// A free loopback port, held (so no two nodes get the same one) until
/// the listener is dropped just before the nodes start.
fn free_port(held: &mut Vec<TcpListener>) -> anyhow::Result<u16> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let port = listener.local_addr()?.port();
    held.push(listener);
    Ok(port)
}

/// Runs `vouch --data-dir DIR ARGS…` to its end and returns what it printed.
fn vouch_cli(vouch: &Path, dir: &Path, args: &[&str]) -> anyhow::Result<String> {
    let output = Command::new(vouch)
        .arg("--data-dir")
        .arg(dir)
        .args(args)
        .output()
        .with_context(|| format!("running {}", vouch.display()))?;
    if !output.status.success() {
        bail!(
            "vouch {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    Ok(String::from_utf8_lossy(&output.stdout).trim().to_owned())
}

impl Cluster {
    /// Initialises `n` data directories under `root`; node 0 is the
    /// bootstrap node every other node dials first, as in docker/compose.yml.
    pub fn create(vouch: &Path, root: &Path, n: usize) -> anyhow::Result<Cluster> {
        let mut members: Vec<Member> = Vec::with_capacity(n);
        let mut held = Vec::with_capacity(2 * n);
        for i in 0..n {
            let dir = root.join(format!("node{i}"));
            std::fs::create_dir_all(&dir)?;
            vouch_cli(vouch, &dir, &["init"])?;
            let peer_id = vouch_cli(vouch, &dir, &["id", "--peer"])?;
            let (api_port, p2p_port) = (free_port(&mut held)?, free_port(&mut held)?);
            let addr = format!("/ip4/127.0.0.1/tcp/{p2p_port}/p2p/{peer_id}");
            let bootstrap = match members.first() {
                Some(first) => format!("[\"{}\"]", first.addr),
                None => "[]".into(),
            };
            let config = format!(
                "[api]\nlisten = \"127.0.0.1:{api_port}\"\n\n\
                 [policy]\nenabled = false\n\n[dnsbl]\nenabled = false\n\n\
                 [trust]\nrecompute_interval_ms = 200\n\n\
                 [p2p]\nlisten = [\"/ip4/127.0.0.1/tcp/{p2p_port}\"]\nbootstrap = {bootstrap}\n\
                 sync_interval_secs = 10\n"
            );
            std::fs::write(dir.join("config.toml"), config)?;
            let token = std::fs::read_to_string(dir.join("api.token"))?;
            members.push(Member {
                api: format!("http://127.0.0.1:{api_port}"),
                token: token.trim().to_owned(),
                dir,
                peer_id,
                addr,
                child: None,
            });
        }
        Ok(Cluster {
            members,
            http: reqwest::blocking::Client::builder()
                .timeout(Duration::from_secs(10))
                .build()?,
        })
    }

    /// Starts every node and waits (bounded) until each API answers.
    pub fn start(&mut self, vouch: &Path) -> anyhow::Result<()> {
        for member in &mut self.members {
            let log = std::fs::File::create(member.dir.join("node.log"))?;
            let child = Command::new(vouch)
                .arg("--data-dir")
                .arg(&member.dir)
                .arg("run")
                .env("RUST_LOG", "warn")
                .stdout(Stdio::null())
                .stderr(log)
                .spawn()
                .with_context(|| format!("starting {}", vouch.display()))?;
            member.child = Some(child);
        }
        let deadline = Instant::now() + Duration::from_secs(90);
        for i in 0..self.members.len() {
            while self.get(i, "/v1/status").is_err() {
                let exited = self.members[i]
                    .child
                    .as_mut()
                    .and_then(|c| c.try_wait().ok().flatten());
                if let Some(status) = exited {
                    bail!(
                        "node {i} exited ({status}):\n{}",
                        self.members[i].log_tail()
                    );
                }
                if Instant::now() > deadline {
                    bail!(
                        "node {i} did not answer within 90 s:\n{}",
                        self.members[i].log_tail()
                    );
                }
                std::thread::sleep(Duration::from_millis(100));
            }
        }
        Ok(())
    }

    /// GET on node `i`'s API.
    pub fn get(&self, i: usize, path: &str) -> anyhow::Result<Value> {
        let member = &self.members[i];
        let response = self.http.get(format!("{}{path}", member.api)).send()?;
        if !response.status().is_success() {
            bail!("GET {path} on node {i}: {}", response.status());
        }
        Ok(response.json()?)
    }

    /// POST with the token on node `i`'s API.
    pub fn post(&self, i: usize, path: &str, body: &Value) -> anyhow::Result<Value> {
        let member = &self.members[i];
        let response = self
            .http
            .post(format!("{}{path}", member.api))
            .bearer_auth(&member.token)
            .json(body)
            .send()?;
        if !response.status().is_success() {
            bail!("POST {path} on node {i}: {}", response.status());
        }
        Ok(response.json()?)
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        for member in &mut self.members {
            if let Some(mut child) = member.child.take() {
                let _ = child.kill();
                let _ = child.wait();
            }
        }
    }
}
