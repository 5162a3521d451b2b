//! Crash consistency: `vouch run` killed with SIGKILL at arbitrary moments
//! while the operator's writes stream in keeps every write it acknowledged,
//! and its counts match what it holds.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Value, json};

use crate::harness::NodeDir;

/// Kills in the test; `VOUCH_CRASH_KILLS=500 cargo test -p vouch-cli --test
/// e2e crash` soaks longer.
fn kills() -> u64 {
    std::env::var("VOUCH_CRASH_KILLS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20)
}

/// The API base URL and token of a node directory.
fn api(node: &NodeDir) -> (String, String) {
    let config = std::fs::read_to_string(node.path().join("config.toml")).expect("config");
    let listen = config
        .lines()
        .find_map(|l| l.strip_prefix("listen = \"127.0.0.1:"))
        .and_then(|rest| rest.strip_suffix('"'))
        .expect("api port");
    let token = std::fs::read_to_string(node.path().join("api.token")).expect("token");
    (
        format!("http://127.0.0.1:{listen}"),
        token.trim().to_owned(),
    )
}

#[test]
fn acknowledged_writes_survive_kill_9_and_counts_match_contents() {
    let node = NodeDir::new();
    let (base, token) = api(&node);
    let http = reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()
        .expect("client");
    let acknowledged: Arc<Mutex<Vec<String>>> = Arc::default();
    let mut attempted: Vec<String> = Vec::new();
    let kills = kills();
    for round in 0..kills {
        let running = node.start();
        let stop = Arc::new(AtomicBool::new(false));
        let writer = {
            let (http, base, token) = (http.clone(), base.clone(), token.clone());
            let (acknowledged, stop) = (acknowledged.clone(), stop.clone());
            std::thread::spawn(move || {
                let mut tried = Vec::new();
                for i in 0..10_000u32 {
                    if stop.load(Ordering::SeqCst) {
                        break;
                    }
                    let subject = format!("r{round}-w{i}.crash.example");
                    tried.push(subject.clone());
                    let answer = http
                        .post(format!("{base}/v1/report"))
                        .bearer_auth(&token)
                        .json(&json!({ "subject": subject }))
                        .send();
                    match answer {
                        Ok(r) if r.status().is_success() => {
                            acknowledged.lock().expect("lock").push(subject)
                        }
                        _ => break,
                    }
                }
                tried
            })
        };
        // A different moment each round: 30..=290 ms into the stream.
        std::thread::sleep(Duration::from_millis(30 + (round * 97) % 261));
        running.kill_hard();
        stop.store(true, Ordering::SeqCst);
        attempted.extend(writer.join().expect("writer"));
    }
    let running = node.start();
    let acknowledged = acknowledged.lock().expect("lock").clone();
    assert!(
        acknowledged.len() as u64 > kills,
        "writes were made between the kills"
    );
    let held = |subject: &str| -> usize {
        let answer: Value = http
            .get(format!("{base}/v1/statements/{subject}"))
            .send()
            .expect("send")
            .json()
            .expect("json");
        answer["statements"].as_array().map_or(0, Vec::len)
    };
    for subject in &acknowledged {
        assert_eq!(held(subject), 1, "acknowledged {subject} was lost");
    }
    // Every statement the store counts is one of the writes (a write whose
    // answer the kill cut off may be there or not), and nothing else.
    let status: Value = http
        .get(format!("{base}/v1/status"))
        .send()
        .expect("send")
        .json()
        .expect("json");
    let counted = status["statements"].as_u64().expect("count") as usize;
    let present = attempted.iter().filter(|s| held(s) == 1).count();
    assert_eq!(counted, present, "the count matches the contents");
    assert!(present >= acknowledged.len() && present <= acknowledged.len() + kills as usize);
    assert!(running.stop());
}
