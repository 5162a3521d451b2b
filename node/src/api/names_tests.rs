//! Operators known by their domains, through the API, against a DNS server
//! on loopback.

use serde_json::{Value, json};
use vouch_protocol::{EndorseCategory, ReportCategory};

use crate::clock::unix_now;
use crate::names::render_record;
use crate::names::test_dns::TestDns;
use crate::test_node::{TestNode, peer};

async fn call(node: &TestNode, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
    let http = reqwest::Client::new();
    let url = format!("http://{}{path}", node.api);
    let request = match method {
        "GET" => http.get(url),
        _ => http
            .post(url)
            .bearer_auth(&node.token)
            .json(&body.unwrap_or_default()),
    };
    let response = request.send().await.expect("send");
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn vouching_by_domain_pins_the_key_and_explanations_name_operators() {
    let dns = TestDns::start().await;
    let node = TestNode::start(|config| {
        config.names.resolver = Some(dns.addr);
        config.names.timeout_ms = 300;
    })
    .await;
    let (alice, bob, mallory) = (peer(1), peer(2), peer(3));
    dns.set(
        "_vouch.mail.alice.example",
        &[&render_record(&alice.public(), None)],
    );
    let (status, answer) = call(
        &node,
        "POST",
        "/v1/trust",
        Some(json!({ "node": "mail.alice.example", "weight": 80 })),
    )
    .await;
    assert_eq!(status, 200, "{answer}");
    let (_, list) = call(&node, "GET", "/v1/trust", None).await;
    assert_eq!(list["trusted"][0]["node"], alice.public().to_string());
    assert_eq!(list["trusted"][0]["name"], "mail.alice.example (verified)");
    let (_, status) = call(&node, "GET", "/v1/status", None).await;
    assert_eq!(status["names"][0]["domain"], "mail.alice.example");
    assert_eq!(status["names"][0]["state"], "verified");

    // Bob is trusted by key and claims his name; Mallory claims Bob's.
    node.trust(&bob);
    node.trust(&mallory);
    dns.set("_vouch.bob.example", &[&render_record(&bob.public(), None)]);
    node.endorse(&bob, "bob.example", EndorseCategory::Operator);
    node.endorse(&mallory, "bob.example", EndorseCategory::Operator);
    for author in [&alice, &bob, &mallory] {
        node.report(author, "192.0.2.77", ReportCategory::Spam, 60);
    }
    node.state.trust.recompute_if_dirty();
    // The first lookup shows keys and queues the unnamed ones for a check.
    let (_, first) = call(&node, "GET", "/v1/reputation/192.0.2.77", None).await;
    let names = |r: &Value| -> Vec<(String, String)> {
        r["explanation"]
            .as_array()
            .expect("explanation")
            .iter()
            .map(|c| {
                (
                    c["author"].as_str().unwrap_or_default().to_owned(),
                    c["author_name"].as_str().unwrap_or_default().to_owned(),
                )
            })
            .collect()
    };
    assert!(names(&first).contains(&(
        alice.public().to_string(),
        "mail.alice.example (verified)".into()
    )));
    node.state.names.check_claims(unix_now()).await;
    let (_, second) = call(&node, "GET", "/v1/reputation/192.0.2.77", None).await;
    let named = names(&second);
    assert!(
        named.contains(&(bob.public().to_string(), "bob.example (verified)".into())),
        "{second}"
    );
    assert!(
        named.contains(&(
            mallory.public().to_string(),
            "bob.example (MISMATCH)".into()
        )),
        "{second}"
    );
    node.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_domain_without_a_usable_record_is_refused_with_the_reason() {
    let dns = TestDns::start().await;
    let node = TestNode::start(|config| {
        config.names.resolver = Some(dns.addr);
        config.names.timeout_ms = 300;
    })
    .await;
    dns.set("_vouch.broken.example", &["v=vouch1; k=nothex"]);
    for (domain, says) in [
        ("missing.example", "no Vouch record"),
        ("broken.example", "does not parse"),
    ] {
        let (status, answer) = call(
            &node,
            "POST",
            "/v1/trust",
            Some(json!({ "node": domain, "weight": 50 })),
        )
        .await;
        assert_eq!(status, 422, "{answer}");
        assert_eq!(answer["error"]["code"], "name_lookup_failed");
        assert!(
            answer["error"]["message"]
                .as_str()
                .unwrap_or_default()
                .contains(says),
            "{answer}"
        );
    }
    let (_, list) = call(&node, "GET", "/v1/trust", None).await;
    assert!(list["trusted"].as_array().is_some_and(Vec::is_empty));
    node.stop().await;
}
