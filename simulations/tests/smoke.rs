//! Every scenario at small size: Vouch must do at least as well as the
//! blocklist baseline where the baseline is known to fail.

use indicatif::ProgressBar;
use vouch_sim::network::Params;
use vouch_sim::scenarios::{self, Outcome};

fn outcome(name: &str) -> Outcome {
    let scenario = scenarios::ALL
        .iter()
        .find(|s| s.name == name)
        .expect("scenario exists");
    scenarios::run(scenario, &Params::small(), 11, &ProgressBar::hidden())
}

fn row<'a>(outcome: &'a Outcome, starts: &str) -> &'a scenarios::Row {
    outcome
        .rows
        .iter()
        .find(|r| r.metric.starts_with(starts))
        .expect("row exists")
}

#[test]
fn honest_network_blocks_fewer_legitimate_senders_than_the_baseline() {
    let o = outcome("honest");
    let spam = row(&o, "spam sources blocked");
    let legit = row(&o, "legitimate senders blocked");
    assert!(spam.vouch > 0.0, "{spam:?}");
    assert!(legit.vouch < legit.baseline, "{legit:?}");
}

#[test]
fn sybils_gain_less_than_a_blocklist_gives_them() {
    let o = outcome("sybil");
    let wrong = row(&o, "g = 100: wrong verdicts");
    assert!(wrong.vouch < wrong.baseline, "{wrong:?}");
    let none = row(&o, "g = 0: sybil trust mass");
    assert_eq!(
        none.vouch, 0.0,
        "without attack edges the sybils get nothing"
    );
}

#[test]
fn slander_hurts_vouch_less_than_the_baseline() {
    let o = outcome("slander");
    let worst = row(&o, "worst case over f");
    assert!(worst.vouch < worst.baseline, "{worst:?}");
}

#[test]
fn endorsed_neighbours_and_forwarders_are_not_collateral() {
    let o = outcome("neighbours");
    for prefix in ["endorsed neighbours", "endorsed forwarders"] {
        let r = row(&o, prefix);
        assert_eq!(r.vouch, 0.0, "{r:?}");
        assert!(r.baseline > 0.0, "the baseline blocks some: {r:?}");
    }
}

#[test]
fn a_fresh_key_has_no_influence() {
    let o = outcome("whitewash");
    assert_eq!(row(&o, "fresh unvouched key").vouch, 0.0);
    assert_eq!(row(&o, "influence after rotating").vouch, 0.0);
    assert!(row(&o, "influence once one honest").vouch > 0.0);
}

#[test]
fn remediation_recovers_faster_than_the_baseline() {
    let o = outcome("remediation");
    let r = row(&o, "hours until accepted again, remediated");
    assert!(r.vouch < r.baseline, "{r:?}");
}
