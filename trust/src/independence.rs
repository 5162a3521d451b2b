//! Whether a subject's witnesses report independently of each other.
//!
//! A spam source that sends for days at a few messages an hour is reported
//! by a stream of operators it happened to reach: operators who otherwise
//! reported about as many of the same servers as any two reporters do. A
//! clique of trusted colluders slandering a handful of servers is the same
//! few authors on every one of them: each pair of them shares the clique's
//! other victims. Counting reports cannot tell the two apart; what else the
//! witnesses reported together can.

use vouch_protocol::{NodeKey, Subject};

/// Most witnesses whose other reports are compared (the most recent
/// ones): the cost of the check is bounded by the reports of this many
/// authors.
pub const MAX_COMPARED_WITNESSES: usize = 16;

/// How much pairs of authors share, beside what independent reporters
/// would share.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Shared {
    /// Mean, over the pairs, of the other subjects both reported.
    pub observed: f64,
    /// The same mean had each author reported as many subjects as it did,
    /// picked the way everyone's reports fall (a subject reported by many
    /// more often): what strangers of their volume share by chance.
    pub by_volume: f64,
    /// What two reporters taken at random share.
    pub at_random: f64,
}

/// Who reported what, in three counts a store keeps up to date as reports
/// come and go.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Reporting {
    /// Live reports (Σ r over subjects, r a subject's reporters).
    pub reports: u64,
    /// Pairs of reports naming the same subject (Σ r·(r − 1)/2).
    pub same_subject_pairs: u64,
    /// Authors with live reports.
    pub reporters: u64,
}

impl Reporting {
    /// The chance two reports picked at random name the same subject
    /// (Σ r² / (Σ r)²).
    pub fn concentration(&self) -> f64 {
        if self.reports == 0 {
            return 0.0;
        }
        let reports = self.reports as f64;
        (reports + 2.0 * self.same_subject_pairs as f64) / (reports * reports)
    }

    /// The subjects two reporters taken at random share, on average.
    pub fn mean_shared_at_random(&self) -> f64 {
        let pairs = self.reporters * self.reporters.saturating_sub(1) / 2;
        if pairs == 0 {
            return 0.0;
        }
        self.same_subject_pairs as f64 / pairs as f64
    }
}

/// What the store holds about who reported what, beyond one subject.
pub trait CoReports: std::fmt::Debug + Sync {
    /// How much the pairs of `authors` share, subjects other than
    /// `subject` (see [`shared_by_pairs`]).
    fn shared(&self, authors: &[NodeKey], subject: &Subject) -> Shared;
}

/// Whether `authors` (a subject's witnesses, most recent first) report
/// independently: pairs of them share no more other subjects than
/// `max_ratio` times what strangers would (the lesser of two reporters at
/// random and of reporters of their volume: heavy reporters who are a
/// clique, and a clique that floods the store, both stand out), plus
/// `max_excess`.
pub(crate) fn independent(
    co_reports: &dyn CoReports,
    authors: &[NodeKey],
    subject: &Subject,
    max_ratio: f64,
    max_excess: f64,
) -> bool {
    let compared = authors.get(..MAX_COMPARED_WITNESSES).unwrap_or(authors);
    if compared.len() < 2 {
        return false;
    }
    let shared = co_reports.shared(compared, subject);
    shared.observed <= max_ratio * shared.by_volume.min(shared.at_random) + max_excess
}

/// How much pairs of authors share, given each author's reported subjects
/// (distinct, any order, as numbers) and the store's [`Reporting`]: the
/// shared work of every [`CoReports`].
pub fn shared_by_pairs<'a>(
    reported: impl IntoIterator<Item = &'a [u64]>,
    reporting: &Reporting,
) -> Shared {
    let mut counts: std::collections::HashMap<u64, u32> = std::collections::HashMap::new();
    let (mut authors, mut sum, mut sum_of_squares) = (0u64, 0.0f64, 0.0f64);
    for subjects in reported {
        authors += 1;
        let n = subjects.len() as f64;
        sum += n;
        sum_of_squares += n * n;
        for subject in subjects {
            *counts.entry(*subject).or_default() += 1;
        }
    }
    let at_random = reporting.mean_shared_at_random();
    let pairs = authors * authors.saturating_sub(1) / 2;
    if pairs == 0 {
        return Shared {
            observed: 0.0,
            by_volume: 0.0,
            at_random,
        };
    }
    let shared: u64 = counts
        .values()
        .map(|&m| u64::from(m) * u64::from(m.saturating_sub(1)) / 2)
        .sum();
    // Σ over pairs of nᵢ·nⱼ, each pair expecting nᵢ·nⱼ·concentration.
    let products = (sum * sum - sum_of_squares) / 2.0;
    Shared {
        observed: shared as f64 / pairs as f64,
        by_volume: reporting.concentration() * products / pairs as f64,
        at_random,
    }
}

#[cfg(test)]
mod tests {
    use super::{Reporting, shared_by_pairs};

    #[test]
    fn pairs_share_what_they_both_reported_beside_what_strangers_would() {
        // a: {1, 2}, b: {2, 3}, c: {2, 3}: subject 2 is shared by three
        // pairs, subject 3 by one; three pairs in all.
        let lists: [&[u64]; 3] = [&[1, 2], &[2, 3], &[2, 3]];
        let reporting = Reporting {
            reports: 6,
            same_subject_pairs: 4,
            reporters: 3,
        };
        let shared = shared_by_pairs(lists, &reporting);
        assert_eq!(shared.observed, 4.0 / 3.0);
        // Σ r² = 1 + 9 + 4 over (Σ r)² = 36; each pair of two-subject
        // authors expects 2·2·14/36.
        assert_eq!(shared.by_volume, 4.0 * 14.0 / 36.0);
        assert_eq!(shared.at_random, 4.0 / 3.0);
        let alone: [&[u64]; 1] = [&[1, 2]];
        assert_eq!(shared_by_pairs(alone, &reporting).observed, 0.0);
        let strangers: [&[u64]; 2] = [&[1], &[2]];
        assert_eq!(shared_by_pairs(strangers, &reporting).observed, 0.0);
    }

    #[test]
    fn concentration_is_the_chance_two_reports_name_the_same_subject() {
        // Subjects reported 3, 1 and 0 times: Σ r = 4, Σ r² = 10, and
        // three pairs of reports name the same subject.
        let reporting = Reporting {
            reports: 4,
            same_subject_pairs: 3,
            reporters: 3,
        };
        assert_eq!(reporting.concentration(), 10.0 / 16.0);
        assert_eq!(reporting.mean_shared_at_random(), 1.0);
        assert_eq!(Reporting::default().concentration(), 0.0);
        assert_eq!(Reporting::default().mean_shared_at_random(), 0.0);
    }
}
