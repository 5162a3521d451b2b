//! API tests over a real TCP socket on 127.0.0.1, against a real store
//! (the message, names and archive endpoints have files of their own).

use std::collections::BTreeSet;

use super::test_client::ApiClient as TestNode;
use crate::test_support;
use serde_json::{Value, json};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn report_then_query_explains_the_verdict() {
    let node = TestNode::start(|config| config.api.max_batch = 10).await;
    let (status, body) = node
        .post(
            "/v1/report",
            json!({ "subject": "192.0.2.1", "category": "phishing", "count": 4 }),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["outcome"], "stored");
    let (status, r) = node.get("/v1/reputation/192.0.2.1").await;
    assert_eq!(status, 200);
    // My report is one voice: suspect. A block needs a second one.
    assert_eq!(r["verdict"], "suspect");
    assert!(r["score"].as_f64().expect("score") < 0.0);
    assert_eq!(r["explanation"][0]["author"], node.node_id.as_str());
    assert_eq!(r["explanation"][0]["category"], "Phishing x4");
    let (_, unknown) = node.get("/v1/reputation/192.0.2.2").await;
    assert_eq!(unknown["verdict"], "neutral");
    node.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retract_removes_the_effect_of_a_report() {
    let node = TestNode::start(|config| config.api.max_batch = 10).await;
    node.post("/v1/report", json!({ "subject": "spam.example" }))
        .await;
    assert_eq!(
        node.get("/v1/reputation/spam.example").await.1["verdict"],
        "suspect"
    );
    let (status, _) = node
        .post(
            "/v1/retract",
            json!({ "subject": "spam.example", "kind": "report" }),
        )
        .await;
    assert_eq!(status, 200);
    let (_, r) = node.get("/v1/reputation/spam.example").await;
    assert_eq!(r["verdict"], "neutral");
    assert_eq!(r["reported"], 0.0);
    node.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cidr_subjects_work_in_the_path() {
    let node = TestNode::start(|config| config.api.max_batch = 10).await;
    let (status, body) = node
        .post(
            "/v1/endorse",
            json!({ "subject": "198.51.100.77/24", "category": "operator" }),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let (status, r) = node.get("/v1/reputation/198.51.100.0/24").await;
    assert_eq!(status, 200);
    assert_eq!(r["subject"], "198.51.100.0/24");
    assert_eq!(r["verdict"], "allow");
    let (_, s) = node.get("/v1/statements/198.51.100.0%2F24").await;
    assert_eq!(s["statements"][0]["category"], "operator");
    node.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writes_need_the_token() {
    let node = TestNode::start(|config| config.api.max_batch = 10).await;
    for token in ["", "wrong"] {
        let response = node
            .http
            .post(format!("{}/v1/report", node.base))
            .bearer_auth(token)
            .json(&json!({ "subject": "192.0.2.1" }))
            .send()
            .await
            .expect("send");
        assert_eq!(response.status().as_u16(), 401);
        let body: Value = response.json().await.expect("json");
        assert_eq!(body["error"]["code"], "unauthorized");
    }
    assert_eq!(
        node.get("/v1/status").await.1["statements"],
        0,
        "nothing was written"
    );
    node.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_gets_a_clear_4xx_and_changes_nothing() {
    let node = TestNode::start(|config| config.api.max_batch = 10).await;
    let cases = [
        (
            "/v1/report",
            json!({ "subject": "not a domain!" }),
            400,
            "bad_subject",
        ),
        (
            "/v1/report",
            json!({ "subject": "192.0.2.0/33" }),
            400,
            "bad_subject",
        ),
        (
            "/v1/report",
            json!({ "subject": "192.0.2.1", "count": 0 }),
            400,
            "statement_rejected",
        ),
        (
            "/v1/report",
            json!({ "subject": "192.0.2.1", "ttl_hours": 100000 }),
            400,
            "statement_rejected",
        ),
        (
            "/v1/report",
            json!({ "subject": "192.0.2.1", "relay_chain": ["nope"] }),
            400,
            "invalid_body",
        ),
        (
            "/v1/report",
            json!({ "subject": "192.0.2.1", "surprise": 1 }),
            400,
            "invalid_body",
        ),
        (
            "/v1/trust",
            json!({ "node": "abc", "weight": 10 }),
            400,
            "invalid_body",
        ),
        (
            "/v1/trust",
            json!({ "node": node.node_id, "weight": 10 }),
            400,
            "statement_rejected",
        ),
        (
            "/v1/trust",
            json!({ "node": "11".repeat(32), "weight": 101 }),
            400,
            "statement_rejected",
        ),
        (
            "/v1/endorse",
            json!({ "subject": "11".repeat(32) }),
            400,
            "not_a_sender",
        ),
        (
            "/v1/reputation",
            json!({ "subjects": vec!["192.0.2.1"; 11] }),
            413,
            "batch_too_large",
        ),
    ];
    for (path, body, status, code) in cases {
        let (got, answer) = node.post(path, body.clone()).await;
        assert_eq!(
            (got, answer["error"]["code"].as_str()),
            (status, Some(code)),
            "{path} {body}"
        );
    }
    let huge = json!({ "subject": "x".repeat(100_000) });
    assert_eq!(node.post("/v1/report", huge).await.0, 413);
    let response = node
        .http
        .post(format!("{}/v1/reputation", node.base))
        .body("{not json")
        .header("content-type", "application/json")
        .send()
        .await
        .expect("send");
    assert_eq!(response.status().as_u16(), 400);
    assert_eq!(node.get("/v1/reputation/bad..name").await.0, 400);
    assert_eq!(node.get("/v1/nothing-here").await.0, 404);
    assert_eq!(node.get("/v1/status").await.1["statements"], 0);
    node.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn batch_answers_in_order_with_per_item_errors() {
    let node = TestNode::start(|config| config.api.max_batch = 10).await;
    node.post("/v1/report", json!({ "subject": "192.0.2.9" }))
        .await;
    let (status, body) = node
        .post(
            "/v1/reputation",
            json!({ "subjects": ["192.0.2.9", "bad..name", "example.org"] }),
        )
        .await;
    assert_eq!(status, 200);
    let results = body["results"].as_array().expect("results");
    assert_eq!(results.len(), 3);
    assert_eq!(results[0]["verdict"], "suspect");
    assert!(
        results[1]["error"]
            .as_str()
            .expect("error")
            .contains("bad..name")
    );
    assert_eq!(results[2]["verdict"], "neutral");
    node.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn trust_list_status_and_metrics() {
    let node = TestNode::start(|config| config.api.max_batch = 10).await;
    let friend = "22".repeat(32);
    let (status, _) = node
        .post("/v1/trust", json!({ "node": friend, "weight": 80 }))
        .await;
    assert_eq!(status, 200);
    let (_, list) = node.get("/v1/trust").await;
    assert_eq!(list["trusted"][0]["node"], friend.as_str());
    assert_eq!(list["trusted"][0]["weight"], 80);
    assert!(
        list["trusted"][0]["trust"].as_f64().expect("trust") > 0.1,
        "trust is recomputed before the write returns"
    );
    node.post("/v1/trust", json!({ "node": friend, "weight": 0 }))
        .await;
    assert_eq!(
        node.get("/v1/trust").await.1["trusted"]
            .as_array()
            .map(Vec::len),
        Some(0)
    );
    let (_, status) = node.get("/v1/status").await;
    assert_eq!(status["node_id"], node.node_id.as_str());
    assert_eq!(status["statements"], 1);
    let (code, body) = node.get("/v1/reputation/192.0.2.1").await;
    assert_eq!(code, 200, "{body}");
    let metrics = node
        .http
        .get(format!("{}/metrics", node.base))
        .send()
        .await
        .expect("send")
        .text()
        .await
        .expect("text");
    assert!(
        metrics.contains("vouch_ingested_total{outcome=\"stored\"} 2"),
        "{metrics}"
    );
    assert!(
        metrics.contains("vouch_lookups_total{verdict=\"neutral\"} 1"),
        "{metrics}"
    );
    node.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openapi_document_lists_exactly_the_routes() {
    let node = TestNode::start(|config| config.api.max_batch = 10).await;
    let (status, doc) = node.get("/v1/openapi.json").await;
    assert_eq!(status, 200);
    assert_eq!(doc["openapi"], "3.0.3");
    let documented: BTreeSet<(String, String)> = doc["paths"]
        .as_object()
        .expect("paths")
        .iter()
        .flat_map(|(path, ops)| {
            ops.as_object()
                .expect("ops")
                .keys()
                .map(move |m| (path.clone(), m.clone()))
        })
        .collect();
    // Every documented operation is routed (not 404/405), and vice versa.
    for (path, method) in &documented {
        let url = format!("{}{}", node.base, path.replace("{subject}", "192.0.2.1"));
        let response = match method.as_str() {
            "get" => node.http.get(url).send().await,
            _ => {
                node.http
                    .post(url)
                    .bearer_auth(&node.token)
                    .json(&json!({}))
                    .send()
                    .await
            }
        }
        .expect("send");
        let code = response.status().as_u16();
        assert!(
            code != 404 && code != 405,
            "{method} {path} is documented but answers {code}"
        );
    }
    let routed: BTreeSet<(String, String)> = [
        ("/v1/reputation/{subject}", "get"),
        ("/v1/reputation", "post"),
        ("/v1/statements/{subject}", "get"),
        ("/v1/status", "get"),
        ("/v1/peers", "get"),
        ("/v1/trust", "get"),
        ("/v1/trust", "post"),
        ("/v1/endorse", "post"),
        ("/v1/report", "post"),
        ("/v1/report/message", "post"),
        ("/v1/retract", "post"),
        ("/v1/remediate", "post"),
        ("/v1/export", "get"),
        ("/v1/import", "post"),
        ("/metrics", "get"),
        ("/v1/openapi.json", "get"),
    ]
    .iter()
    .map(|(p, m)| (p.to_string(), m.to_string()))
    .collect();
    assert_eq!(documented, routed);
    node.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn remediation_travels_with_the_listing() {
    let node = TestNode::start(|config| config.api.max_batch = 10).await;
    node.post("/v1/report", json!({ "subject": "192.0.2.44" }))
        .await;
    let (status, body) = node
        .post(
            "/v1/remediate",
            json!({ "subject": "192.0.2.44", "note": "open relay closed" }),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let (_, r) = node.get("/v1/reputation/192.0.2.44").await;
    assert!(r["remediated_at"].as_u64().is_some(), "{r}");
    let notes: Vec<&Value> = r["explanation"]
        .as_array()
        .expect("explanation")
        .iter()
        .filter(|c| c["kind"] == "remediate")
        .collect();
    assert_eq!(notes.len(), 1, "{r}");
    assert!(
        notes[0]["category"]
            .as_str()
            .expect("note")
            .contains("open relay closed")
    );
    let (status, body) = node
        .post(
            "/v1/remediate",
            json!({ "subject": "192.0.2.44", "note": "x", "remediated_at": 4_000_000_000u64 }),
        )
        .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (400, Some("statement_rejected"))
    );
    let (status, _) = node
        .post(
            "/v1/remediate",
            json!({ "subject": "192.0.2.44", "note": "y".repeat(300) }),
        )
        .await;
    assert_eq!(status, 400);
    node.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn trust_names_a_node_by_key_peer_id_or_multiaddr_and_peers_are_listed() {
    let node = TestNode::start(|config| config.api.max_batch = 10).await;
    let other = crate::test_support::peer(9).public();
    let peer = crate::p2p::identity::peer_id(&other).expect("peer id");
    for name in [
        other.to_string(),
        peer.to_string(),
        format!("/ip4/127.0.0.1/tcp/9/p2p/{peer}"),
    ] {
        let (status, body) = node
            .post("/v1/trust", json!({"node": name, "weight": 50}))
            .await;
        assert_eq!(status, 200, "{name}: {body}");
    }
    let (status, list) = node.get("/v1/trust").await;
    assert_eq!(status, 200);
    assert_eq!(list["trusted"][0]["node"], other.to_string(), "{list}");
    let (status, body) = node
        .post(
            "/v1/trust",
            json!({"node": "/ip4/127.0.0.1/tcp/9", "weight": 50}),
        )
        .await;
    assert_eq!(status, 400);
    assert!(
        body["error"]["message"]
            .as_str()
            .expect("message")
            .contains("/p2p/"),
        "{body}"
    );
    // The multiaddr was handed to the network, which now knows the peer.
    let (status, peers) = node.get("/v1/peers").await;
    assert_eq!(status, 200);
    assert_eq!(peers["network"], true);
    assert!(
        peers["peers"]
            .as_array()
            .expect("peers")
            .iter()
            .any(|p| p["peer_id"] == peer.to_string()),
        "{peers}"
    );
    let (_, status_body) = node.get("/v1/status").await;
    assert!(
        status_body["listen_addrs"][0]
            .as_str()
            .expect("addr")
            .contains("/p2p/"),
        "{status_body}"
    );
    node.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_whose_body_never_comes_gets_408_in_time() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    let node = test_support::TestNode::start(|config| config.api.request_timeout_ms = 300).await;
    let mut stream = tokio::net::TcpStream::connect(node.api)
        .await
        .expect("connect");
    let head = format!(
        "POST /v1/report HTTP/1.1\r\nHost: vouch\r\nAuthorization: Bearer {}\r\n\
         Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{{",
        node.token
    );
    stream.write_all(head.as_bytes()).await.expect("write");
    let started = std::time::Instant::now();
    let mut answer = vec![0u8; 512];
    let n = tokio::time::timeout(std::time::Duration::from_secs(5), stream.read(&mut answer))
        .await
        .expect("answered in time")
        .expect("read");
    let text = String::from_utf8_lossy(&answer[..n]);
    assert!(text.starts_with("HTTP/1.1 408"), "{text}");
    assert!(started.elapsed() < std::time::Duration::from_secs(3));
    node.stop().await;
}
