//! The container side of the testnet: each node in its own container
//! (Podman or Docker, the same commands) on a network of its own, its API
//! published on 127.0.0.1 and its data directory bind-mounted from the
//! host, so the runner reads the key and token `vouch init` wrote.
//! Network behaviour is shaped inside the containers (they get
//! `NET_ADMIN`): `tc netem` (or iptables and a delayer, see [`delay`](super::delay))
//! for delay and loss, blackhole routes for partitions. Everything made is removed on drop.

use std::path::Path;
use std::process::{Command, Output};

use anyhow::{Context, bail};

/// The port a node's API listens on inside its container.
pub const API_PORT: u16 = 7701;
/// The port a node's libp2p transport listens on inside its container.
pub const P2P_PORT: u16 = 7702;
/// The image's user, who must own the bind-mounted data directories.
const IMAGE_UID: u32 = 10001;

/// A container network and the containers started on it.
pub struct Containers {
    /// `podman` or `docker`.
    program: String,
    /// The image every node runs.
    pub image: String,
    /// The network's name, unique to this run.
    pub network: String,
    containers: Vec<String>,
}

impl Containers {
    fn command(&self, args: &[&str]) -> anyhow::Result<Output> {
        Command::new(&self.program)
            .args(args)
            .output()
            .with_context(|| {
                format!(
                    "running {} (is it installed, and are you root?)",
                    self.program
                )
            })
    }

    /// Runs the engine and fails with its error output unless it succeeds.
    fn ok(&self, args: &[&str]) -> anyhow::Result<String> {
        let output = self.command(args)?;
        if !output.status.success() {
            bail!(
                "{} {}: {}",
                self.program,
                args.join(" "),
                String::from_utf8_lossy(&output.stderr).trim()
            );
        }
        Ok(String::from_utf8_lossy(&output.stdout).trim().to_owned())
    }

    /// Creates the run's network with `program` (`podman` or `docker`);
    /// fails early when the image is missing.
    pub fn create(program: &str, image: &str) -> anyhow::Result<Containers> {
        let containers = Containers {
            program: program.to_owned(),
            image: image.to_owned(),
            network: format!("vouch-testnet-{}", std::process::id()),
            containers: Vec::new(),
        };
        containers
            .ok(&["image", "inspect", image])
            .with_context(|| format!("no image {image}: build it with docker/image.sh"))?;
        containers.ok(&["network", "create", &containers.network])?;
        Ok(containers)
    }

    /// The container name of node `i` (also its host name on the network).
    pub fn name(&self, i: usize) -> String {
        format!("{}-node{i}", self.network)
    }

    /// Makes `dir` (a data directory `vouch init` wrote), and everything
    /// in it, the image user's.
    pub fn hand_over(dir: &Path) -> anyhow::Result<()> {
        std::os::unix::fs::chown(dir, Some(IMAGE_UID), Some(IMAGE_UID))?;
        if dir.is_dir() && !dir.is_symlink() {
            for entry in std::fs::read_dir(dir)? {
                Self::hand_over(&entry?.path())?;
            }
        }
        Ok(())
    }

    /// Starts node `i`: `vouch run` on `dir`, its API on 127.0.0.1:`api_port`.
    pub fn run(&mut self, i: usize, dir: &Path, api_port: u16) -> anyhow::Result<()> {
        let name = self.name(i);
        let publish = format!("127.0.0.1:{api_port}:{API_PORT}");
        let volume = format!("{}:/data", dir.display());
        // Healthchecks need systemd timers under Podman; the runner polls
        // the API itself.
        let no_healthcheck: &[&str] = if self.program == "podman" {
            &["--health-cmd", "none"]
        } else {
            &["--no-healthcheck"]
        };
        let mut args = vec![
            "run",
            "--detach",
            "--name",
            &name,
            "--network",
            &self.network,
            "--cap-add",
            "NET_ADMIN",
            "--env",
            "RUST_LOG=warn",
            "--publish",
            &publish,
            "--volume",
            &volume,
        ];
        args.extend_from_slice(no_healthcheck);
        args.extend_from_slice(&[self.image.as_str(), "run"]);
        self.ok(&args)?;
        self.containers.push(name);
        Ok(())
    }

    /// Runs a command as root inside node `i`'s container.
    pub fn exec(&self, i: usize, command: &[&str]) -> anyhow::Result<String> {
        let name = self.name(i);
        let mut args = vec!["exec", "--user", "root", name.as_str()];
        args.extend_from_slice(command);
        self.ok(&args)
    }

    /// Node `i`'s address on the network.
    pub fn address(&self, i: usize) -> anyhow::Result<String> {
        let address = self.ok(&[
            "inspect",
            "--format",
            "{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}",
            &self.name(i),
        ])?;
        if address.is_empty() {
            bail!("node {i} has no address");
        }
        Ok(address)
    }

    /// The host's id of node `i`'s first process (for `nsenter`).
    pub fn pid(&self, i: usize) -> anyhow::Result<u32> {
        let pid = self.ok(&["inspect", "--format", "{{.State.Pid}}", &self.name(i)])?;
        pid.parse()
            .with_context(|| format!("node {i}'s process id {pid:?}"))
    }

    /// Stops node `i` (SIGTERM, then SIGKILL after 5 s).
    pub fn stop(&self, i: usize) -> anyhow::Result<()> {
        self.ok(&["stop", "--time", "5", &self.name(i)]).map(drop)
    }

    /// Starts node `i` again, on the data it had.
    pub fn restart(&self, i: usize) -> anyhow::Result<()> {
        self.ok(&["start", &self.name(i)]).map(drop)
    }

    /// Whether node `i`'s container is running.
    pub fn is_running(&self, i: usize) -> bool {
        self.ok(&["inspect", "--format", "{{.State.Running}}", &self.name(i)])
            .is_ok_and(|state| state == "true")
    }

    /// The end of node `i`'s log.
    pub fn log_tail(&self, i: usize) -> String {
        self.command(&["logs", "--tail", "20", &self.name(i)])
            .map(|o| {
                format!(
                    "{}{}",
                    String::from_utf8_lossy(&o.stdout),
                    String::from_utf8_lossy(&o.stderr)
                )
            })
            .unwrap_or_default()
    }
}

impl Drop for Containers {
    fn drop(&mut self) {
        for name in &self.containers {
            let _ = self.command(&["rm", "--force", name]);
        }
        let _ = self.command(&["network", "rm", &self.network]);
    }
}
