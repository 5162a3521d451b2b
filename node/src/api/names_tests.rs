//! Operators known by their domains, through the API, against a DNS server
//! on loopback.

use serde_json::{Value, json};
use vouch_protocol::{EndorseCategory, ReportCategory};

use super::test_client::ApiClient;
use crate::clock::unix_now;
use crate::names::render_record;
use crate::names::test_dns::TestDns;
use crate::test_support::peer;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn vouching_by_domain_pins_the_key_and_explanations_name_operators() {
    let dns = TestDns::start().await;
    let api = ApiClient::start(|config| {
        config.names.resolver = Some(dns.addr);
        config.names.timeout_ms = 300;
    })
    .await;
    let (alice, bob, mallory) = (peer(1), peer(2), peer(3));
    dns.set(
        "_vouch.mail.alice.example",
        &[&render_record(&alice.public(), None)],
    );
    let (status, answer) = api
        .post(
            "/v1/trust",
            json!({ "node": "mail.alice.example", "weight": 80 }),
        )
        .await;
    assert_eq!(status, 200, "{answer}");
    let (_, list) = api.get("/v1/trust").await;
    assert_eq!(list["trusted"][0]["node"], alice.public().to_string());
    assert_eq!(list["trusted"][0]["name"], "mail.alice.example (verified)");
    let (_, status) = api.get("/v1/status").await;
    assert_eq!(status["names"][0]["domain"], "mail.alice.example");
    assert_eq!(status["names"][0]["state"], "verified");

    // Bob is trusted by key and claims his name; Mallory claims Bob's.
    api.node.trust(&bob);
    api.node.trust(&mallory);
    dns.set("_vouch.bob.example", &[&render_record(&bob.public(), None)]);
    api.node
        .endorse(&bob, "bob.example", EndorseCategory::Operator);
    api.node
        .endorse(&mallory, "bob.example", EndorseCategory::Operator);
    for author in [&alice, &bob, &mallory] {
        api.node
            .report(author, "192.0.2.77", ReportCategory::Spam, 60);
    }
    api.node.state.trust.recompute_if_dirty();
    // The first lookup shows keys and queues the unnamed ones for a check.
    let (_, first) = api.get("/v1/reputation/192.0.2.77").await;
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
    api.node.state.names.check_claims(unix_now()).await;
    let (_, second) = api.get("/v1/reputation/192.0.2.77").await;
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
    api.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_domain_without_a_usable_record_is_refused_with_the_reason() {
    let dns = TestDns::start().await;
    let api = ApiClient::start(|config| {
        config.names.resolver = Some(dns.addr);
        config.names.timeout_ms = 300;
    })
    .await;
    dns.set("_vouch.broken.example", &["v=vouch1; k=nothex"]);
    for (domain, says) in [
        ("missing.example", "no Vouch record"),
        ("broken.example", "does not parse"),
    ] {
        let (status, answer) = api
            .post("/v1/trust", json!({ "node": domain, "weight": 50 }))
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
    let (_, list) = api.get("/v1/trust").await;
    assert!(list["trusted"].as_array().is_some_and(Vec::is_empty));
    api.stop().await;
}
