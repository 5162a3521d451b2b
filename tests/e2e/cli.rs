//! The operator's tour, through the CLI against a real node process.

use std::os::unix::fs::PermissionsExt;

use serde_json::Value;
use vouch_protocol::{
    Claim, Evidence, Keypair, ReportCategory, Statement, Subject, VERSION, encode_signed,
    write_record,
};

use crate::harness::NodeDir;

#[test]
fn init_refuses_to_overwrite_and_keeps_secrets_private() {
    let node = NodeDir::new();
    let id = node.ok(&["id"]);
    let again = node.cli(&["init"]);
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("refusing to overwrite"));
    assert_eq!(node.ok(&["id"]), id, "the identity is unchanged");
    for secret in ["node.key", "api.token"] {
        let mode = std::fs::metadata(node.path().join(secret))
            .expect("stat")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "{secret} must be 0600");
    }
}

#[test]
fn operator_commands_fail_clearly_when_the_node_is_not_running() {
    let node = NodeDir::new();
    let out = node.cli(&["query", "192.0.2.1"]);
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("not running"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn output_into_a_closed_pipe_ends_quietly() {
    // `vouch id | head -c 0`: the reader is gone before anything is written.
    let node = NodeDir::new();
    let (reader, writer) = std::io::pipe().expect("pipe");
    drop(reader);
    let out = std::process::Command::new(crate::harness::vouch_bin())
        .args(["--data-dir", &node.path().display().to_string(), "id"])
        .stdout(writer)
        .output()
        .expect("run vouch id");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{:?}: {stderr}", out.status);
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[test]
fn bad_arguments_are_refused_before_anything_is_sent() {
    let node = NodeDir::new();
    for args in [
        &["report", "not a host"][..],
        &["trust", "add", "zz"],
        &["trust", "add", &"11".repeat(32), "--weight", "101"],
        &["report", "192.0.2.1", "--count", "0"],
        &["endorse", "192.0.2.1", "--category", "bogus"],
    ] {
        let out = node.cli(args);
        assert!(!out.status.success(), "{args:?} should fail");
        assert!(!out.stderr.is_empty(), "{args:?} should say why");
    }
}

#[test]
fn tour_survives_restart_and_kill_9() {
    let alice = NodeDir::new();
    let bob_id = NodeDir::new().ok(&["id"]).trim().to_owned();
    let running = alice.start();

    alice.ok(&["trust", "add", &bob_id, "--weight", "70"]);
    let list = alice.ok(&["trust", "list"]);
    assert!(list.contains(&bob_id) && list.contains("70"), "{list}");

    alice.ok(&[
        "report",
        "203.0.113.9",
        "--category",
        "phishing",
        "--count",
        "12",
        "--relay",
        "198.51.100.1",
    ]);
    alice.ok(&["endorse", "mail.example.org", "--category", "operator"]);
    let explained = alice.ok(&["query", "203.0.113.9", "--explain"]);
    assert!(
        explained.contains("SUSPECT") && explained.contains("Phishing x12"),
        "{explained}"
    );
    let json: Value =
        serde_json::from_str(&alice.ok(&["query", "mail.example.org", "--json"])).expect("json");
    assert_eq!(json["verdict"], "allow");

    // Clean restart: everything is still there.
    assert!(running.stop(), "node exits cleanly on SIGTERM");
    let running = alice.start();
    let json: Value =
        serde_json::from_str(&alice.ok(&["query", "203.0.113.9", "--json"])).expect("json");
    assert_eq!(json["verdict"], "suspect");
    let status: Value = serde_json::from_str(&alice.ok(&["status", "--json"])).expect("json");
    assert_eq!(status["statements"], 3);
    assert_eq!(
        status["trust_edges"], 1,
        "the trust graph is rebuilt from the store"
    );

    // An acknowledged write survives kill -9.
    alice.ok(&["retract", "report", "203.0.113.9"]);
    running.kill_hard();
    let running = alice.start();
    let json: Value =
        serde_json::from_str(&alice.ok(&["query", "203.0.113.9", "--json"])).expect("json");
    assert_eq!(json["verdict"], "neutral", "the retraction was durable");
    alice.ok(&["trust", "remove", &bob_id]);
    assert!(alice.ok(&["trust", "list"]).contains("vouches for nobody"));
    assert!(running.stop());
}

#[test]
fn a_bad_config_stops_the_node_with_a_clear_error() {
    let node = NodeDir::new();
    std::fs::write(node.path().join("config.toml"), "[api]\nlisten = 7701\n").expect("write");
    let out = node.cli(&["run"]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("config.toml") && stderr.contains("listen"),
        "{stderr}"
    );
}

#[test]
fn a_raw_message_from_a_file_or_standard_input_becomes_reports() {
    let node = NodeDir::new();
    let running = node.start();
    let messages = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/data/messages");
    let plain = format!("{messages}/plain.eml");
    let out = node.ok(&["report", "--message", &plain, "--source", "junk"]);
    assert!(out.contains("origin 45.142.120.10"), "{out}");
    assert!(
        out.lines()
            .any(|l| l.starts_with("reported") && l.contains("origin")),
        "{out}"
    );
    assert!(out.contains("mail.spamsender.example"), "{out}");
    let explained = node.ok(&["query", "45.142.120.10", "--explain"]);
    assert!(explained.contains("SOURCE"), "{explained}");
    assert!(explained.contains("junk"), "{explained}");

    // Standard input, and --ham withdrawing what was reported.
    let mut child = std::process::Command::new(crate::harness::vouch_bin())
        .arg("--data-dir")
        .arg(node.path())
        .args(["report", "--message", "-", "--ham"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("spawn");
    {
        use std::io::Write;
        let raw = std::fs::read(&plain).expect("read");
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(&raw)
            .expect("write");
    }
    let out = child.wait_with_output().expect("wait");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    assert!(text.contains("withdrawn"), "{text}");
    let answer: Value =
        serde_json::from_str(&node.ok(&["query", "45.142.120.10", "--json"])).expect("json");
    assert_eq!(answer["verdict"], "neutral", "{answer}");

    // Nothing outside the operator's hosts: a clear error, non-zero exit.
    let internal = format!("{messages}/internal.eml");
    let out = node.cli(&["report", "--message", &internal]);
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("nothing outside"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let missing = node.cli(&["report", "--message", "/nonexistent/message.eml"]);
    assert!(!missing.status.success());
    assert!(String::from_utf8_lossy(&missing.stderr).contains("/nonexistent/message.eml"));
    assert!(running.stop());
}

#[test]
fn id_dns_prints_the_record_operators_publish() {
    let node = NodeDir::new();
    let id = node.ok(&["id"]).trim().to_owned();
    let out = node.cli(&["id", "--dns", "Mail.Example.ORG."]);
    assert!(out.status.success());
    let record = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        record.trim(),
        format!("_vouch.mail.example.org. 3600 IN TXT \"v=vouch1; k={id}\"")
    );
    // Without an external address it says the record names none.
    assert!(String::from_utf8_lossy(&out.stderr).contains("no [p2p] external address"));
    let bad = node.cli(&["id", "--dns", "not a domain"]);
    assert!(!bad.status.success());
    assert!(!bad.stderr.is_empty());
}

#[test]
fn an_export_imported_into_another_node_brings_the_statements_along() {
    let alice = NodeDir::new();
    let alice_id = alice.ok(&["id"]).trim().to_owned();
    let alice_running = alice.start();
    alice.ok(&["report", "203.0.113.20", "--category", "phishing"]);
    alice.ok(&["endorse", "198.51.100.20"]);
    let file = alice.path().join("alice.vouch");
    let file = file.display().to_string();
    let out = alice.cli(&["export", "--output", &file]);
    assert!(out.status.success(), "{out:?}");
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("exported 2 statements"),
        "{out:?}"
    );
    // To standard output, the same bytes.
    let to_stdout = alice.cli(&["export"]);
    assert_eq!(to_stdout.stdout, std::fs::read(&file).expect("read export"));
    assert!(alice_running.stop());

    let bob = NodeDir::new();
    let _bob_running = bob.start();
    bob.ok(&["trust", "add", &alice_id]);
    let imported = bob.ok(&["import", &file]);
    assert!(
        imported
            .lines()
            .any(|l| l.split_whitespace().eq(["received", "2"])),
        "{imported}"
    );
    assert!(
        imported
            .lines()
            .any(|l| l.split_whitespace().eq(["stored", "2"])),
        "{imported}"
    );
    let json: Value =
        serde_json::from_str(&bob.ok(&["query", "203.0.113.20", "--json"])).expect("json");
    assert_eq!(
        json["explanation"][0]["author"],
        alice_id.as_str(),
        "{json}"
    );

    // Anything but an export file is refused before anything is sent.
    let garbage = bob.path().join("garbage");
    std::fs::write(&garbage, b"\xff\xff\xff\xffnot an export").expect("write");
    let out = bob.cli(&["import", &garbage.display().to_string()]);
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("not an export file"),
        "{out:?}"
    );
}

#[test]
fn an_import_too_big_for_one_request_stores_every_statement_trust_first() {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs();
    let statement = |subject, claim| Statement {
        version: VERSION,
        subject,
        created_at: now - 60,
        expires_at: now + 86_400,
        claim,
    };
    // The node trusts the hub, the hub vouches for 100 operators, and
    // each of those for 180 more, who report.
    let key = |group: u8, n: u32| {
        let mut secret = [group; 32];
        secret[..4].copy_from_slice(&n.to_be_bytes());
        Keypair::from_secret_bytes(secret)
    };
    let hub = key(0x51, 0);
    let vouched: Vec<Keypair> = (0..100).map(|n| key(0x52, n)).collect();
    let authors: Vec<Keypair> = (0..18_000).map(|n| key(0x53, n)).collect();
    let mut file = Vec::new();
    let write = |file: &mut Vec<u8>, signed| {
        write_record(file, &encode_signed(&signed).expect("encode"));
    };
    let trust = || Claim::Trust { weight: 100 };
    // The reports first in the file: the import still sends the trust
    // statements before them.
    let reports = 2 * authors.len() as u32;
    for i in 0..reports {
        let author = &authors[i as usize % authors.len()];
        let claim = Claim::Report {
            category: ReportCategory::Spam,
            count: 1,
            evidence: Evidence::default(),
        };
        let address = std::net::Ipv4Addr::from(0x2d00_0000 + i);
        write(
            &mut file,
            author.sign(statement(Subject::Ip(address.into()), claim)),
        );
    }
    let reports_end = file.len();
    for operator in &vouched {
        write(
            &mut file,
            hub.sign(statement(Subject::Node(operator.public()), trust())),
        );
    }
    for (i, author) in authors.iter().enumerate() {
        let voucher = &vouched[i % vouched.len()];
        write(
            &mut file,
            voucher.sign(statement(Subject::Node(author.public()), trust())),
        );
    }
    // The second request of trust statements vouches for authors whom
    // the first request's make trusted.
    assert!(
        file.len() - reports_end > vouch_node::MAX_IMPORT_BYTES,
        "the trust statements take two requests"
    );
    assert!(
        reports_end > 2 * vouch_node::MAX_IMPORT_BYTES,
        "the reports take more than two requests"
    );

    let node = NodeDir::new();
    let _running = node.start();
    node.ok(&["trust", "add", &hub.public().to_string()]);
    let path = node.path().join("many.vouch");
    std::fs::write(&path, &file).expect("write");
    let held = || -> u64 {
        let status: Value = serde_json::from_str(&node.ok(&["status", "--json"])).expect("json");
        status["statements"]
            .as_u64()
            .expect("a count of statements")
    };
    let before = held();
    let imported = node.ok(&["import", &path.display().to_string()]);
    let count = |key: &str| {
        imported
            .lines()
            .find_map(|l| {
                let mut words = l.split_whitespace();
                (words.next() == Some(key)).then(|| words.next()?.parse::<u32>().ok())?
            })
            .unwrap_or_else(|| panic!("no {key} in {imported}"))
    };
    let total = reports + (vouched.len() + authors.len()) as u32;
    assert_eq!(count("received"), total, "{imported}");
    // Every author was vouched for before its statements arrived: none
    // is a stranger's.
    assert_eq!(count("stored"), total, "{imported}");
    assert_eq!(count("stored_stranger"), 0, "{imported}");
    assert_eq!(held() - before, u64::from(total));
}
