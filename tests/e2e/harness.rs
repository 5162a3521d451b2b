//! Starting and stopping `vouch run` processes in temporary data directories.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

/// The binary under test.
pub fn vouch_bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_vouch"))
}

/// A free loopback port (bound then released; good enough for tests).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port()
}

/// A data directory with `init` done and the API on a free port.
pub struct NodeDir {
    pub dir: tempfile::TempDir,
}

impl NodeDir {
    pub fn new() -> NodeDir {
        let dir = tempfile::tempdir().expect("tempdir");
        let port = free_port();
        let out = vouch(dir.path(), &["init"]);
        assert!(
            out.status.success(),
            "init failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let config = dir.path().join("config.toml");
        // The policy, DNS and network servers take any free port: these tests use the API.
        let text = format!(
            "[api]\nlisten = \"127.0.0.1:{port}\"\n\n[policy]\nlisten = \"127.0.0.1:0\"\n\n[dnsbl]\nlisten = \"127.0.0.1:0\"\n\n[p2p]\nlisten = [\"/ip4/127.0.0.1/tcp/0\"]\n"
        );
        std::fs::write(&config, text).expect("write config");
        NodeDir { dir }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Runs a CLI command against this data directory.
    pub fn cli(&self, args: &[&str]) -> Output {
        vouch(self.path(), args)
    }

    /// Runs a CLI command that must succeed; returns its stdout.
    pub fn ok(&self, args: &[&str]) -> String {
        let out = self.cli(args);
        assert!(
            out.status.success(),
            "vouch {args:?} failed: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Starts `vouch run` and waits until the API answers.
    pub fn start(&self) -> Running {
        let child = Command::new(vouch_bin())
            .args(["--data-dir", &self.path().display().to_string(), "run"])
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn vouch run");
        let running = Running { child };
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if self.cli(&["status"]).status.success() {
                return running;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("node did not answer within 30s");
    }
}

/// Runs `vouch --data-dir DIR ARGS…`.
pub fn vouch(data_dir: &Path, args: &[&str]) -> Output {
    Command::new(vouch_bin())
        .arg("--data-dir")
        .arg(data_dir)
        .args(args)
        .env_remove("VOUCH_API")
        .output()
        .expect("run vouch")
}

/// A running node process; killed when dropped.
pub struct Running {
    child: Child,
}

impl Running {
    /// Stops with SIGTERM and waits (bounded) for a clean exit.
    pub fn stop(mut self) -> bool {
        let pid = self.child.id().to_string();
        let _ = Command::new("kill").args(["-TERM", &pid]).status();
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                return status.success();
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        false
    }

    /// Kills with SIGKILL (no chance to flush anything).
    pub fn kill_hard(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
