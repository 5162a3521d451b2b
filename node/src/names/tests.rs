//! Names against a DNS server on loopback: a good record, a changed key, a
//! missing record, a malformed one, a slow server.

use std::sync::Arc;
use std::time::Duration;

use vouch_protocol::NodeKey;

use super::record::RecordError;
use super::test_dns::TestDns;
use super::*;
use crate::store::Store;

fn names(dns: &TestDns, dir: &tempfile::TempDir) -> Names {
    let store = Arc::new(Store::open(&dir.path().join("db")).expect("store"));
    let config = Config {
        resolver: Some(dns.addr),
        timeout_ms: 300,
        recheck_hours: 24,
    };
    Names::open(&config, store)
}

#[tokio::test]
async fn a_good_record_pins_and_a_changed_or_missing_one_is_reported_not_followed() {
    let dns = TestDns::start().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let (alice, mallory) = (NodeKey([1; 32]), NodeKey([2; 32]));
    let addr: libp2p::Multiaddr = "/ip4/127.0.0.1/tcp/7702".parse().unwrap();
    dns.set(
        "_vouch.mail.example.org",
        &["v=spf1 -all", &render_record(&alice, Some(&addr))],
    );
    let names = names(&dns, &dir);
    let (domain, record) = names.pin("Mail.Example.Org.").await.expect("pinned");
    assert_eq!(domain, "mail.example.org");
    assert_eq!((record.key, record.addr), (alice, Some(addr)));
    assert_eq!(
        names.book.name_of(&alice).map(|n| n.to_string()).as_deref(),
        Some("mail.example.org (verified)")
    );

    // The record changes hands: the pin stands on alice, flagged.
    dns.set("_vouch.mail.example.org", &[&render_record(&mallory, None)]);
    let tomorrow = unix_now() + 25 * 3600;
    names.recheck_pins(tomorrow).await;
    let pin = names.book.pins().pop().expect("pin");
    assert_eq!(pin.key, alice.to_string());
    assert_eq!(
        pin.state,
        PinState::Changed {
            now: mallory.to_string()
        }
    );
    assert_eq!(names.book.name_of(&alice).unwrap().proof, Proof::Mismatch);
    assert_eq!(names.book.name_of(&mallory), None);

    // Gone: reported as missing; and the pins survive a restart.
    dns.set("_vouch.mail.example.org", &[]);
    names.recheck_pins(tomorrow + 25 * 3600).await;
    drop(names);
    let reopened = self::names(&dns, &dir);
    assert_eq!(reopened.book.pins().pop().unwrap().state, PinState::Missing);
}

#[tokio::test]
async fn missing_malformed_and_slow_records_give_clear_errors() {
    let dns = TestDns::start().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let names = names(&dns, &dir);
    assert!(matches!(
        names.pin("nobody.example").await,
        Err(LookupError::Missing(_))
    ));
    dns.set("_vouch.broken.example", &["v=vouch1; k=12345"]);
    let broken = names.pin("broken.example").await.unwrap_err();
    assert!(
        matches!(
            broken,
            LookupError::Malformed {
                error: RecordError::BadKey,
                ..
            }
        ),
        "{broken}"
    );
    dns.set(
        "_vouch.two.example",
        &[
            &render_record(&NodeKey([1; 32]), None),
            &render_record(&NodeKey([2; 32]), None),
        ],
    );
    assert!(matches!(
        names.pin("two.example").await,
        Err(LookupError::Ambiguous(_))
    ));
    assert!(matches!(
        names.pin("not a domain").await,
        Err(LookupError::BadDomain(_))
    ));
    dns.set(
        "_vouch.slow.example",
        &[&render_record(&NodeKey([3; 32]), None)],
    );
    dns.silent(true);
    let started = std::time::Instant::now();
    let slow = names.pin("slow.example").await.unwrap_err();
    assert!(matches!(slow, LookupError::Failed { .. }), "{slow}");
    assert!(started.elapsed() < Duration::from_secs(5));
    assert!(names.book.pins().is_empty(), "nothing pinned on failure");
}
