//! Export and import through the API: what one node exports, another
//! imports as if back-filled, page by page; broken files are refused.

use serde_json::Value;
use vouch_protocol::{EndorseCategory, ReportCategory, encode_signed, records, write_record};

use super::test_client::ApiClient as TestNode;
use super::{MORE_HEADER, NEXT_HEADER};
use crate::test_support::peer;

/// Every page of `node`'s export, `limit` statements at a time.
async fn export_all(node: &TestNode, limit: usize) -> (Vec<u8>, usize) {
    let (mut file, mut from, mut pages) = (Vec::new(), 0u64, 0);
    loop {
        let response = node
            .http
            .get(format!("{}/v1/export?from={from}&limit={limit}", node.base))
            .bearer_auth(&node.token)
            .send()
            .await
            .expect("send");
        assert_eq!(response.status().as_u16(), 200);
        let header = |name: &str| {
            response
                .headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
                .expect("header")
        };
        let more = header(MORE_HEADER) == "true";
        from = header(NEXT_HEADER).parse().expect("next");
        file.extend_from_slice(&response.bytes().await.expect("body"));
        pages += 1;
        assert!(pages < 100, "export does not end");
        if !more {
            return (file, pages);
        }
    }
}

async fn import(node: &TestNode, file: Vec<u8>) -> (u16, Value) {
    node.post_raw("/v1/import", file).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_exported_and_imported_elsewhere_gives_the_same_verdicts() {
    let alice = TestNode::start(|config| config.p2p.enabled = false).await;
    let reporter = peer(1);
    alice.node.trust(&reporter);
    alice
        .node
        .report(&reporter, "203.0.113.5", ReportCategory::Spam, 60);
    alice.node.report_mine("203.0.113.5");
    alice
        .node
        .endorse_mine("198.51.100.7", EndorseCategory::LegitimateSender);
    let (file, pages) = export_all(&alice, 2).await;
    assert_eq!(records(&file).count(), 4);
    assert!(pages >= 2, "paged: {pages}");

    // Bob vouches for Alice, then imports her file: her trust in the
    // reporter comes first, so the reporter's statement is trusted too.
    let bob = TestNode::start(|config| config.p2p.enabled = false).await;
    let alice_key: vouch_protocol::NodeKey = alice.node_id.parse().expect("key");
    let (status, _) = bob
        .post(
            "/v1/trust",
            serde_json::json!({ "node": alice_key.to_string(), "weight": 100 }),
        )
        .await;
    assert_eq!(status, 200);
    let (status, outcome) = import(&bob, file.clone()).await;
    assert_eq!(status, 200, "{outcome}");
    assert_eq!(outcome["received"], 4);
    assert_eq!(outcome["stored"], 4, "{outcome}");
    // The same statements, each weighed by Bob's own web: Alice and the
    // reporter she vouches for both count.
    let ids = |r: &Value| -> Vec<String> {
        let mut ids: Vec<String> = r["explanation"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|c| c["id"].as_str().unwrap_or_default().to_owned())
            .collect();
        ids.sort();
        ids
    };
    for subject in ["203.0.113.5", "198.51.100.7"] {
        let (_, there) = alice.get(&format!("/v1/reputation/{subject}")).await;
        let (_, here) = bob.get(&format!("/v1/reputation/{subject}")).await;
        assert_eq!(ids(&here), ids(&there), "{subject}: {here}");
        assert!(
            here["explanation"]
                .as_array()
                .into_iter()
                .flatten()
                .all(|c| c["weight"].as_f64().is_some_and(|w| w != 0.0)),
            "{subject}: {here}"
        );
    }
    assert_eq!(ids(&bob.get("/v1/reputation/203.0.113.5").await.1).len(), 2);
    // Importing again changes nothing.
    let (_, again) = import(&bob, file).await;
    assert_eq!(again["duplicate"], 4, "{again}");
    alice.stop().await;
    bob.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn broken_files_are_refused_and_bad_statements_counted_not_stored() {
    let node = TestNode::start(|config| config.p2p.enabled = false).await;
    let count = || node.node.state.store.counts().statements;
    let before = count();
    // A page size outside what the API documents is refused, not clamped.
    for limit in [0, super::MAX_EXPORT_PAGE + 1] {
        let (status, body) = node.get(&format!("/v1/export?limit={limit}")).await;
        assert_eq!(status, 401, "export needs the token: {body}");
        let response = node
            .http
            .get(format!("{}/v1/export?limit={limit}", node.base))
            .bearer_auth(&node.token)
            .send()
            .await
            .expect("send");
        assert_eq!(response.status().as_u16(), 400, "limit={limit}");
    }
    // A record cut short: the whole request is refused, nothing stored.
    let mut file = Vec::new();
    let mut statement = peer(2).sign(vouch_protocol::Statement {
        version: vouch_protocol::VERSION,
        subject: "192.0.2.9".parse().expect("subject"),
        created_at: crate::clock::unix_now(),
        expires_at: crate::clock::unix_now() + 86_400,
        claim: vouch_protocol::Claim::Endorse {
            category: EndorseCategory::LegitimateSender,
        },
    });
    let good = encode_signed(&statement).expect("encode");
    write_record(&mut file, &good);
    let (status, body) = import(&node, file[..file.len() - 1].to_vec()).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["error"]["code"], "invalid_body");
    assert!(
        body["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("truncated record at byte 0")),
        "{body}"
    );
    assert_eq!(count(), before);
    // A forged statement beside a good one: counted by rule, not stored.
    statement.signature[0] ^= 1;
    write_record(&mut file, &encode_signed(&statement).expect("encode"));
    write_record(&mut file, b"not a statement");
    let (status, outcome) = import(&node, file).await;
    assert_eq!(status, 200, "{outcome}");
    assert_eq!(outcome["received"], 3);
    assert_eq!(
        outcome["stored"].as_u64().unwrap_or(0) + outcome["stored_stranger"].as_u64().unwrap_or(0),
        1,
        "{outcome}"
    );
    assert_eq!(outcome["rejected"]["bad_signature"], 1, "{outcome}");
    assert_eq!(outcome["rejected"]["malformed"], 1, "{outcome}");
    // Export and import need the token.
    let unauthenticated = node
        .http
        .get(format!("{}/v1/export", node.base))
        .send()
        .await
        .expect("send");
    assert_eq!(unauthenticated.status().as_u16(), 401);
    node.stop().await;
}
