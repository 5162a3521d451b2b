//! `POST /v1/report/message` over a real socket against a real store, with
//! the messages in tests/data/messages.

use serde_json::{Value, json};

use super::test_client::ApiClient;
use crate::test_support::message_fixture;

/// A test message, owned.
macro_rules! fixture {
    ($name:literal) => {
        message_fixture!($name).to_vec()
    };
}

/// Posts a raw message to `/v1/report/message` with `query`.
async fn message(api: &ApiClient, query: &str, raw: Vec<u8>) -> (u16, Value) {
    api.post_raw(&format!("/v1/report/message{query}"), raw)
        .await
}

/// (action, role, subject) of every line of an answer.
fn actions(answer: &Value) -> Vec<(String, String, String)> {
    answer["subjects"]
        .as_array()
        .expect("subjects")
        .iter()
        .map(|s| {
            (
                s["action"].as_str().unwrap_or_default().to_owned(),
                s["role"].as_str().unwrap_or_default().to_owned(),
                s["subject"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect()
}

fn line(action: &str, role: &str, subject: &str) -> (String, String, String) {
    (action.into(), role.into(), subject.into())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_message_reports_its_origin_helo_and_envelope_domain_and_says_where_it_came_from() {
    let api = ApiClient::start(|_| {}).await;
    let (status, answer) = message(&api, "?source=junk", fixture!("plain.eml")).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["origin"], "45.142.120.10");
    assert_eq!(
        actions(&answer),
        vec![
            line("reported", "origin", "45.142.120.10"),
            line("reported", "helo", "mail.spamsender.example"),
            line("reported", "envelope_sender", "offers.spamsender.example"),
        ]
    );
    let r = api.get("/v1/reputation/45.142.120.10").await.1;
    assert_eq!(r["verdict"], "suspect", "{r}");
    assert_eq!(r["explanation"][0]["source"], "junk");
    assert_eq!(r["explanation"][0]["category"], "Spam x1");
    let domain = api.get("/v1/reputation/mail.spamsender.example").await.1;
    assert_eq!(domain["explanation"][0]["source"], "junk");

    // The same sender again within the hour raises the count.
    let (_, again) = message(&api, "", fixture!("plain.eml")).await;
    assert!(
        actions(&again)
            .iter()
            .all(|(action, ..)| action == "counted"),
        "{again}"
    );
    assert_eq!(again["subjects"][0]["count"], 2);
    let r = api.get("/v1/reputation/45.142.120.10").await.1;
    assert_eq!(r["explanation"][0]["category"], "Spam x2");
    assert_eq!(r["explanation"][0]["source"], "message");

    // A typed report says so too.
    let (status, _) = api
        .post("/v1/report", json!({ "subject": "45.142.120.99" }))
        .await;
    assert_eq!(status, 200);
    let typed = api.get("/v1/reputation/45.142.120.99").await.1;
    assert_eq!(typed["explanation"][0]["source"], "cli");
    let metrics = api.node.metrics();
    assert!(
        metrics.contains(r#"vouch_auto_reports_total{source="junk",action="reported"} 3"#),
        "{metrics}"
    );
    api.node.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ham_withdraws_the_reports_and_endorses_and_an_endorsed_host_is_not_reported() {
    let api = ApiClient::start(|_| {}).await;
    let (status, _) = message(&api, "", fixture!("ipv6.eml")).await;
    assert_eq!(status, 200);
    let origin = "2a00:1450:4864:20::42a";
    assert_eq!(
        api.get(&format!("/v1/reputation/{origin}")).await.1["verdict"],
        "suspect"
    );
    let (status, answer) = message(&api, "?ham=true&endorse=true", fixture!("ipv6.eml")).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(
        actions(&answer),
        vec![
            line("withdrawn", "origin", origin),
            line("endorsed", "origin", origin),
            line("withdrawn", "helo", "v6.spamsender.example"),
        ]
    );
    assert_eq!(
        api.get(&format!("/v1/reputation/{origin}")).await.1["verdict"],
        "allow"
    );
    // Ham for a message never reported changes nothing.
    let (_, nothing) = message(&api, "?ham=true", fixture!("arc.eml")).await;
    assert_eq!(nothing["subjects"][0]["action"], "unchanged");
    // Now the operator vouches for the sender: its spam is not reported.
    let (_, skipped) = message(&api, "", fixture!("ipv6.eml")).await;
    assert_eq!(skipped["subjects"][0]["action"], "skipped", "{skipped}");
    assert!(
        skipped["subjects"][0]["reason"]
            .as_str()
            .unwrap_or_default()
            .contains("endorses")
    );
    api.node.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spam_through_an_endorsed_forwarder_counts_against_the_source_behind_it() {
    let api = ApiClient::start(|_| {}).await;
    let (status, _) = api
        .post(
            "/v1/endorse",
            json!({ "subject": "185.12.64.1", "category": "forwarder" }),
        )
        .await;
    assert_eq!(status, 200);
    let (status, answer) = message(&api, "", fixture!("forwarded.eml")).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["origin"], "185.12.64.1");
    assert_eq!(answer["relay_chain"], json!(["81.2.69.161"]));
    assert_eq!(answer["subjects"][0]["action"], "reported");
    let source = api.get("/v1/reputation/81.2.69.161").await.1;
    assert!(source["reported"].as_f64().unwrap_or(0.0) > 0.0, "{source}");
    assert_eq!(source["explanation"][0]["signal"], "relayed");
    let forwarder = api.get("/v1/reputation/185.12.64.1").await.1;
    assert_ne!(forwarder["verdict"], "suspect", "{forwarder}");
    api.node.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn own_hosts_are_skipped_and_the_hourly_budget_holds() {
    let api = ApiClient::start(|config| {
        config.mta.own_hosts = vec!["mx.offers.spamsender.example".into()];
        config.mta.max_reports_per_hour = 2;
    })
    .await;
    // The envelope domain contains one of "our" hosts: never reported.
    let (_, answer) = message(&api, "", fixture!("plain.eml")).await;
    assert_eq!(
        actions(&answer),
        vec![
            line("reported", "origin", "45.142.120.10"),
            line("reported", "helo", "mail.spamsender.example"),
            line("skipped", "envelope_sender", "offers.spamsender.example"),
        ],
        "{answer}"
    );
    let (_, list) = message(&api, "", fixture!("mailing-list.eml")).await;
    assert_eq!(list["subjects"][0]["action"], "rate_limited", "{list}");
    assert!(
        api.get("/v1/reputation/193.0.6.139").await.1["explanation"]
            .as_array()
            .is_some_and(Vec::is_empty)
    );
    let metrics = api.node.metrics();
    assert!(
        metrics.contains(r#"vouch_auto_reports_total{source="message",action="rate_limited"}"#),
        "{metrics}"
    );
    api.node.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_report_names_off_only_the_origin_is_reported() {
    let api = ApiClient::start(|config| config.mta.report_names = false).await;
    let (status, answer) = message(&api, "", fixture!("plain.eml")).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(
        actions(&answer),
        vec![line("reported", "origin", "45.142.120.10")]
    );
    api.node.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unusable_messages_get_clear_errors_and_big_ones_are_capped() {
    let api = ApiClient::start(|config| config.mta.max_message_bytes = 1 << 20).await;
    let (status, internal) = message(&api, "", fixture!("internal.eml")).await;
    assert_eq!(status, 422);
    assert_eq!(internal["error"]["code"], "unusable_message");
    assert!(
        internal["error"]["message"]
            .as_str()
            .unwrap_or_default()
            .contains("nothing outside")
    );
    let (status, malformed) = message(&api, "", fixture!("malformed.eml")).await;
    assert_eq!(status, 422, "{malformed}");
    let (status, _) = message(&api, "", Vec::new()).await;
    assert_eq!(status, 422);
    let (status, truncated) = message(&api, "", fixture!("truncated.eml")).await;
    assert_eq!(status, 200, "{truncated}");
    assert_eq!(truncated["origin"], "45.142.120.10");
    let (status, odd) = message(&api, "?endorse=true", fixture!("plain.eml")).await;
    assert_eq!(status, 400, "{odd}");
    let (status, odd) = message(&api, "?category=junk", fixture!("plain.eml")).await;
    assert_eq!(status, 400, "{odd}");
    let mut big = fixture!("arc.eml");
    big.extend(std::iter::repeat_n(b'x', 2 << 20));
    let (status, too_big) = message(&api, "", big).await;
    assert_eq!(status, 413, "{too_big}");
    assert_eq!(too_big["error"]["code"], "body_too_large");
    let response = reqwest::Client::new()
        .post(format!("{}/v1/report/message", api.base))
        .body(fixture!("plain.eml"))
        .send()
        .await
        .expect("send");
    assert_eq!(response.status().as_u16(), 401);
    // rspamd's exporter can only send Basic credentials: the token is the password.
    let basic = |password: &str| {
        reqwest::Client::new()
            .post(format!("{}/v1/report/message?source=rspamd", api.base))
            .basic_auth("rspamd", Some(password.to_owned()))
            .body(fixture!("plain.eml"))
            .send()
    };
    assert_eq!(basic("wrong").await.expect("send").status().as_u16(), 401);
    assert_eq!(
        basic(&api.token).await.expect("send").status().as_u16(),
        200
    );
    api.node.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_ten_megabyte_message_is_read_at_the_default_cap() {
    let api = ApiClient::start(|_| {}).await;
    let mut raw = fixture!("arc.eml");
    raw.extend(std::iter::repeat_n(b"0123456789abcdef\r\n".as_slice(), 600_000).flatten());
    assert!(raw.len() > 10_000_000);
    let (status, answer) = message(&api, "", raw).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["origin"], "209.85.220.69");
    assert_eq!(
        answer["relay_chain"],
        json!(["209.85.220.41", "91.198.174.192"])
    );
    api.node.stop().await;
}
