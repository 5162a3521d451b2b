//! Every scenario at small size: Vouch must stop spam while it is sent,
//! spare legitimate senders, and do better than the baselines where they
//! are known to fail.

use indicatif::ProgressBar;
use vouch_sim::network::Params;
use vouch_sim::scenarios::calibration::{Calibration, HonestWorld, LEGIT_BUDGET_PERCENT};
use vouch_sim::scenarios::{self, Outcome};

fn outcome(name: &str) -> Outcome {
    let scenario = scenarios::ALL
        .iter()
        .find(|s| s.name == name)
        .expect("scenario exists");
    let params = Params::small();
    let calibration = Calibration::compute(&HonestWorld::build(&params, 11));
    let context = scenarios::Context {
        params,
        seed: 11,
        calibration,
    };
    scenarios::run(scenario, &context, &ProgressBar::hidden())
}

fn row<'a>(outcome: &'a Outcome, starts: &str) -> &'a scenarios::Row {
    outcome
        .rows
        .iter()
        .find(|r| r.metric.starts_with(starts))
        .expect("row exists")
}

#[test]
fn honest_network_stops_most_spam_and_spares_legitimate_senders() {
    let o = outcome("honest");
    let spam = row(&o, "spam messages stopped by block (%)");
    assert!(spam.vouch > 50.0, "{spam:?}");
    let deferred = row(&o, "spam messages stopped by block or defer");
    assert!(deferred.vouch >= spam.vouch, "{deferred:?}");
    let minutes = row(&o, "minutes from first message to block, median");
    assert!(minutes.vouch < 120.0, "{minutes:?}");
    let legit = row(&o, "legitimate senders blocked at any moment");
    assert!(legit.vouch <= LEGIT_BUDGET_PERCENT, "{legit:?}");
    // The baselines were calibrated to the same budget.
    assert!(legit.baseline <= LEGIT_BUDGET_PERCENT, "{legit:?}");
    assert_eq!(o.curves.len(), 3, "Vouch's point and two baseline curves");
}

#[test]
fn sybils_gain_less_than_a_blocklist_gives_them() {
    let o = outcome("sybil");
    // At small size g = 100 puts an attack edge on half the honest
    // network; g = 10 is the small world's realistic attack.
    let wrong = row(&o, "g = 10: wrong verdicts");
    assert!(wrong.vouch < wrong.baseline, "{wrong:?}");
    assert!(wrong.vouch < wrong.global, "{wrong:?}");
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
    assert!(worst.vouch < worst.global, "{worst:?}");
}

#[test]
fn endorsed_neighbours_and_forwarders_are_not_collateral() {
    let o = outcome("neighbours");
    for prefix in ["endorsed neighbours", "endorsed forwarders"] {
        let r = row(&o, prefix);
        assert_eq!(r.vouch, 0.0, "{r:?}");
    }
    let forwarders = row(&o, "endorsed forwarders");
    assert!(
        forwarders.baseline > 0.0,
        "the baseline blocks some: {forwarders:?}"
    );
    let origins = row(&o, "spam origins behind forwarders");
    assert!(origins.vouch > origins.baseline, "{origins:?}");
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
