//! The testnet's nodes: real `vouch run` processes on 127.0.0.1, or one
//! container each (see [`super::containers`]), each node in its own
//! data directory with a generated key and config. Every process or
//! container is stopped when the cluster is dropped, whatever happened.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use serde_json::Value;

use super::containers::{self, Containers};

/// Where the nodes run.
#[derive(Debug, Clone)]
pub enum Engine {
    /// Processes on 127.0.0.1.
    Processes,
    /// Containers of `image` on a network of their own, run by `program`
    /// (`podman` or `docker`).
    Containers {
        /// `podman` or `docker`.
        program: String,
        /// The image.
        image: String,
    },
}

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
    vouch: PathBuf,
    containers: Option<Containers>,
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
    /// Initialises `n` data directories under `root` with `vouch`; node 0
    /// is the bootstrap node every other node dials first, as in
    /// docker/compose.yml.
    pub fn create(vouch: &Path, root: &Path, n: usize, engine: &Engine) -> anyhow::Result<Cluster> {
        let containers = match engine {
            Engine::Processes => None,
            Engine::Containers { program, image } => Some(Containers::create(program, image)?),
        };
        let mut members: Vec<Member> = Vec::with_capacity(n);
        let mut held = Vec::with_capacity(2 * n);
        for i in 0..n {
            let dir = root.join(format!("node{i}"));
            std::fs::create_dir_all(&dir)?;
            vouch_cli(vouch, &dir, &["init"])?;
            let peer_id = vouch_cli(vouch, &dir, &["id", "--peer"])?;
            let api_port = free_port(&mut held)?;
            let bootstrap = match members.first() {
                Some(first) => format!("[\"{}\"]", first.addr),
                None => "[]".into(),
            };
            let (api_listen, p2p_listen, addr, external) = match &containers {
                None => {
                    let p2p_port = free_port(&mut held)?;
                    (
                        format!("127.0.0.1:{api_port}"),
                        format!("/ip4/127.0.0.1/tcp/{p2p_port}"),
                        format!("/ip4/127.0.0.1/tcp/{p2p_port}/p2p/{peer_id}"),
                        String::new(),
                    )
                }
                Some(containers) => {
                    let host = format!("/dns4/{}/tcp/{}", containers.name(i), containers::P2P_PORT);
                    (
                        format!("0.0.0.0:{}", containers::API_PORT),
                        format!("/ip4/0.0.0.0/tcp/{}", containers::P2P_PORT),
                        format!("{host}/p2p/{peer_id}"),
                        format!("external = [\"{host}\"]\n"),
                    )
                }
            };
            let config = format!(
                "[api]\nlisten = \"{api_listen}\"\n\n\
                 [policy]\nenabled = false\n\n[dnsbl]\nenabled = false\n\n\
                 [trust]\nrecompute_interval_ms = 200\n\n\
                 [p2p]\nlisten = [\"{p2p_listen}\"]\n{external}bootstrap = {bootstrap}\n\
                 sync_interval_secs = 10\n"
            );
            std::fs::write(dir.join("config.toml"), config)?;
            let token = std::fs::read_to_string(dir.join("api.token"))?;
            if containers.is_some() {
                Containers::hand_over(&dir)?;
            }
            members.push(Member {
                api: format!("http://127.0.0.1:{api_port}"),
                token: token.trim().to_owned(),
                dir,
                peer_id,
                addr,
                child: None,
            });
        }
        drop(held);
        Ok(Cluster {
            members,
            http: reqwest::blocking::Client::builder()
                .timeout(Duration::from_secs(10))
                .build()?,
            vouch: vouch.to_owned(),
            containers,
        })
    }

    /// The containers, when the nodes run in containers.
    pub fn containers(&self) -> Option<&Containers> {
        self.containers.as_ref()
    }

    /// Starts every node and waits (bounded) until each API answers.
    pub fn start(&mut self) -> anyhow::Result<()> {
        for i in 0..self.members.len() {
            self.launch(i)?;
        }
        for i in 0..self.members.len() {
            self.wait_ready(i)?;
        }
        Ok(())
    }

    fn launch(&mut self, i: usize) -> anyhow::Result<()> {
        if let Some(containers) = &mut self.containers {
            let port = self.members[i]
                .api
                .rsplit(':')
                .next()
                .and_then(|p| p.parse().ok())
                .context("API port")?;
            return containers.run(i, &self.members[i].dir, port);
        }
        let member = &mut self.members[i];
        let log = std::fs::File::options()
            .create(true)
            .append(true)
            .open(member.dir.join("node.log"))?;
        let child = Command::new(&self.vouch)
            .arg("--data-dir")
            .arg(&member.dir)
            .arg("run")
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .with_context(|| format!("starting {}", self.vouch.display()))?;
        member.child = Some(child);
        Ok(())
    }

    /// Waits (at most 90 s) until node `i`'s API answers.
    pub fn wait_ready(&mut self, i: usize) -> anyhow::Result<()> {
        let deadline = Instant::now() + Duration::from_secs(90);
        while self.get(i, "/v1/status").is_err() {
            let exited = match &self.containers {
                Some(containers) => !containers.is_running(i),
                None => self.members[i]
                    .child
                    .as_mut()
                    .is_none_or(|c| c.try_wait().ok().flatten().is_some()),
            };
            if exited {
                bail!("node {i} exited:\n{}", self.log_tail(i));
            }
            if Instant::now() > deadline {
                bail!("node {i} did not answer within 90 s:\n{}", self.log_tail(i));
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        Ok(())
    }

    fn log_tail(&self, i: usize) -> String {
        match &self.containers {
            Some(containers) => containers.log_tail(i),
            None => self.members[i].log_tail(),
        }
    }

    /// Stops node `i` (its data stays).
    pub fn stop(&mut self, i: usize) -> anyhow::Result<()> {
        if let Some(containers) = &self.containers {
            return containers.stop(i);
        }
        if let Some(mut child) = self.members[i].child.take() {
            child.kill()?;
            child.wait()?;
        }
        Ok(())
    }

    /// Starts node `i` again on its data and waits until it answers.
    pub fn restart(&mut self, i: usize) -> anyhow::Result<()> {
        match &self.containers {
            Some(containers) => containers.restart(i)?,
            None => self.launch(i)?,
        }
        self.wait_ready(i)
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

impl Cluster {
    /// POST of raw bytes with the token on node `i`'s API.
    pub fn post_bytes(&self, i: usize, path: &str, body: Vec<u8>) -> anyhow::Result<Value> {
        let member = &self.members[i];
        let response = self
            .http
            .post(format!("{}{path}", member.api))
            .bearer_auth(&member.token)
            .header("content-type", "application/octet-stream")
            .body(body)
            .send()?;
        if !response.status().is_success() {
            bail!("POST {path} on node {i}: {}", response.status());
        }
        Ok(response.json()?)
    }

    /// Deletes node `i`'s database (stopped first): it starts again as a
    /// new node with the same key.
    pub fn forget(&self, i: usize) -> anyhow::Result<()> {
        let db = self.members[i].dir.join("db");
        if db.exists() {
            std::fs::remove_dir_all(&db).with_context(|| format!("deleting {}", db.display()))?;
        }
        Ok(())
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
