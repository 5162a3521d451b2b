//! Scenario 1: an honest network receiving short-lived spam. Verdicts are
//! read the moment each message arrives: how much spam is stopped, how
//! fast a new source is blocked, and how many legitimate senders are
//! blocked or deferred at any moment, beside the two baselines at the
//! same false-positive budget.

use indicatif::ProgressBar;
use vouch_trust::Verdict;

use super::calibration::{HonestWorld, LEGIT_BUDGET_PERCENT};
use super::{Context, Curve, Findings, Row, par_map, percent, quantile};
use crate::eval::{self, Snapshot, Viewer};
use crate::network::SpamSource;

/// One source as every viewer saw it.
struct SpamSeen {
    /// Per viewer: messages that arrived while blocked, while blocked or
    /// deferred, minutes to suspect and to block (infinity: never).
    per_viewer: Vec<(usize, usize, f64, f64)>,
    messages: usize,
}

/// One legitimate sender as every viewer saw it.
struct LegitSeen {
    /// Per viewer: ever blocked, ever deferred or blocked.
    ever: Vec<(bool, bool)>,
    /// Per hour of the measured days: viewers blocking, viewers deferring
    /// or blocking, at that moment.
    hourly: Vec<(usize, usize)>,
    daily_messages: f64,
}

fn spam_seen(
    world: &HonestWorld,
    viewers: &[Viewer],
    source: &SpamSource,
    config: &vouch_trust::Config,
) -> SpamSeen {
    let first = source.first();
    let mut per_viewer = vec![(0, 0, f64::INFINITY, f64::INFINITY); viewers.len()];
    let mut next_message = 0;
    for t in world.spam_moments(source) {
        let arriving = source.messages[next_message..].partition_point(|&m| m <= t);
        next_message += arriving;
        let snapshot = Snapshot::take(&world.timeline, &source.subject, t);
        let minutes = (t - first) as f64 / 60.0;
        for (viewer, seen) in viewers.iter().zip(per_viewer.iter_mut()) {
            let verdict = snapshot.verdict(viewer, config);
            if matches!(verdict, Verdict::Block | Verdict::Suspect) {
                seen.1 += arriving;
                seen.2 = seen.2.min(minutes);
            }
            if verdict == Verdict::Block {
                seen.0 += arriving;
                seen.3 = seen.3.min(minutes);
            }
        }
    }
    SpamSeen {
        per_viewer,
        messages: source.messages.len(),
    }
}

fn legit_seen(
    world: &HonestWorld,
    viewers: &[Viewer],
    legit: usize,
    config: &vouch_trust::Config,
) -> LegitSeen {
    let params = &world.net.params;
    let sender = &world.net.legit[legit];
    let hours = (params.days * 24) as usize;
    let mut ever = vec![(false, false); viewers.len()];
    let mut hourly = vec![(0, 0); hours];
    for t in world.legit_moments(legit) {
        let snapshot = Snapshot::take(&world.timeline, &sender.subject, t);
        if snapshot.unreported() {
            continue;
        }
        let since = t - params.measure_from();
        let on_the_hour = since.is_multiple_of(3600);
        let hour = (since / 3600) as usize;
        for (viewer, ever) in viewers.iter().zip(ever.iter_mut()) {
            let verdict = snapshot.verdict(viewer, config);
            let blocked = verdict == Verdict::Block;
            let deferred = blocked || verdict == Verdict::Suspect;
            ever.0 |= blocked;
            ever.1 |= deferred;
            if on_the_hour && let Some(slot) = hourly.get_mut(hour) {
                slot.0 += usize::from(blocked);
                slot.1 += usize::from(deferred);
            }
        }
    }
    LegitSeen {
        ever,
        hourly,
        daily_messages: sender.daily_messages,
    }
}

pub fn run(context: &Context, progress: &ProgressBar) -> Findings {
    let params = &context.params;
    let config = &params.trust;
    let world = HonestWorld::build(params, context.seed);
    let viewers = eval::viewers(
        &world.timeline,
        params.measure_from(),
        &world.viewer_keys,
        config,
    );
    let spam = par_map(&world.measured, |s| spam_seen(&world, &viewers, s, config));
    progress.inc(2);
    let indices: Vec<usize> = (0..world.net.legit.len()).collect();
    let legit = par_map(&indices, |&i| legit_seen(&world, &viewers, i, config));
    progress.inc(2);

    let n = viewers.len();
    let per_viewer = || spam.iter().flat_map(|s| &s.per_viewer);
    let messages: usize = spam.iter().map(|s| s.messages).sum::<usize>() * n;
    let stopped_pct = percent(per_viewer().map(|v| v.0).sum(), messages);
    let stopped_or_deferred_pct = percent(per_viewer().map(|v| v.1).sum(), messages);
    let mut to_suspect: Vec<f64> = per_viewer().map(|v| v.2).collect();
    let mut to_block: Vec<f64> = per_viewer().map(|v| v.3).collect();
    let judged = legit.len() * n;
    let blocked_pct = percent(
        legit.iter().flat_map(|l| &l.ever).filter(|e| e.0).count(),
        judged,
    );
    let ever_deferred = legit.iter().flat_map(|l| &l.ever).filter(|e| e.1).count();
    let hours = (params.days * 24) as usize;
    let worst_deferred = (0..hours)
        .map(|h| legit.iter().map(|l| l.hourly[h].1).sum::<usize>())
        .max()
        .unwrap_or(0);
    let deferred_pct = percent(worst_deferred, judged);
    let volume: f64 = legit.iter().map(|l| l.daily_messages).sum::<f64>().max(1.0);
    let mean_deferred_mail = 100.0
        * legit
            .iter()
            .map(|l| {
                let deferred: usize = l.hourly.iter().map(|h| h.1).sum();
                l.daily_messages * deferred as f64 / (hours * n).max(1) as f64
            })
            .sum::<f64>()
        / volume;
    progress.inc(1);

    let cal = &context.calibration;
    let (sc, gl) = (&cal.spamcop, &cal.global);
    let median_block = quantile(&mut to_block, 0.5);
    // The SpamCop-style list at Vouch's own rate of legitimate senders
    // blocked: its best point blocking no more of them.
    let sc_same = sc.stopped_at_most(blocked_pct);
    let rows = vec![
        Row::target(
            "spam messages stopped by block (%)",
            stopped_pct,
            sc.stopped,
            ">= 70",
            stopped_pct >= 70.0,
        )
        .with_global(gl.stopped),
        Row::target(
            "spam messages stopped by block or defer (%)",
            stopped_or_deferred_pct,
            sc.stopped,
            ">= 85",
            stopped_or_deferred_pct >= 85.0,
        )
        .with_global(gl.stopped),
        Row::target(
            "ahead of the SpamCop-style list at the same false positives (points)",
            stopped_pct - sc_same,
            f64::NAN,
            "> 0",
            stopped_pct > sc_same,
        ),
        Row::info(
            format!(
                "ahead of the SpamCop-style list at its {LEGIT_BUDGET_PERCENT}% budget (points)"
            ),
            stopped_pct - sc.stopped,
            f64::NAN,
        ),
        Row::info(
            "minutes from first message to suspect, median",
            quantile(&mut to_suspect, 0.5),
            f64::NAN,
        ),
        Row::info(
            "minutes from first message to suspect, p90",
            quantile(&mut to_suspect, 0.9),
            f64::NAN,
        ),
        Row::target(
            "minutes from first message to block, median",
            median_block,
            sc.median_minutes,
            "<= 30",
            median_block <= 30.0,
        )
        .with_global(gl.median_minutes),
        Row::info(
            "minutes from first message to block, p90",
            quantile(&mut to_block, 0.9),
            f64::NAN,
        ),
        Row::target(
            "legitimate senders blocked at any moment (%)",
            blocked_pct,
            sc.legit_blocked,
            format!("<= {LEGIT_BUDGET_PERCENT}"),
            blocked_pct <= LEGIT_BUDGET_PERCENT,
        )
        .with_global(gl.legit_blocked),
        Row::target(
            "legitimate senders deferred, worst hour (%)",
            deferred_pct,
            f64::NAN,
            "<= 1",
            deferred_pct <= 1.0,
        ),
        Row::info(
            "legitimate senders ever deferred (%)",
            percent(ever_deferred, judged),
            f64::NAN,
        ),
        Row::info(
            "legitimate mail deferred, mean (%)",
            mean_deferred_mail,
            f64::NAN,
        ),
        Row::info(
            "spam sources measured",
            world.measured.len() as f64,
            f64::NAN,
        ),
        Row::info(
            "statements in the world",
            world.net.world.len() as f64,
            f64::NAN,
        ),
    ];
    let vouch = Curve {
        name: "Vouch",
        points: vec![(blocked_pct, stopped_pct, f64::NAN)],
    };
    (rows, vec![vouch, sc.curve.clone(), gl.curve.clone()])
}
