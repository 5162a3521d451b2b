//! Prometheus metrics: what the node ingested, rejected and answered.

use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;
use vouch_trust::Verdict;

/// A metric's label values, a fixed number of them: looked up without
/// allocating on every request path.
type Labels<const N: usize> = [(&'static str, &'static str); N];

/// The node's metrics; cheap to clone (one shared handle: every lookup
/// path clones it, so it is one reference count, not one per metric).
#[derive(Clone, Default)]
pub struct Metrics(std::sync::Arc<Counters>);

impl std::ops::Deref for Metrics {
    type Target = Counters;

    fn deref(&self) -> &Counters {
        &self.0
    }
}

/// The metrics themselves, behind [`Metrics`].
pub struct Counters {
    registry: Registry,
    ingested: Family<Labels<1>, Counter>,
    rejected: Family<Labels<1>, Counter>,
    /// Lookups by verdict, each counter found in its family once: every
    /// lookup counts, and the family's lock and label hashing cost about
    /// 500 instructions a lookup (2% of an HTTP lookup's own work).
    lookups: [Counter; 4],
    policy_answers: Family<Labels<1>, Counter>,
    dns_answers: Family<Labels<2>, Counter>,
    malformed: Family<Labels<2>, Counter>,
    fallbacks: Family<Labels<2>, Counter>,
    gossip: Family<Labels<1>, Counter>,
    sync: Family<Labels<1>, Counter>,
    peer_bans: Family<Labels<1>, Counter>,
    peer_refusals: Family<Labels<1>, Counter>,
    auto_reports: Family<Labels<2>, Counter>,
    synced: Counter,
    /// Peers with an open connection.
    pub peers_connected: Gauge,
    /// Statements in the store.
    pub statements: Gauge,
    /// Authors with non-zero trust from this node's point of view.
    pub trusted_authors: Gauge,
    /// Duration of the last trust recomputation, in microseconds.
    pub trust_recompute_micros: Gauge,
}

impl Default for Counters {
    fn default() -> Self {
        let ingested = Family::<Labels<1>, Counter>::default();
        let rejected = Family::<Labels<1>, Counter>::default();
        let lookups = Family::<Labels<1>, Counter>::default();
        let policy_answers = Family::<Labels<1>, Counter>::default();
        let dns_answers = Family::<Labels<2>, Counter>::default();
        let malformed = Family::<Labels<2>, Counter>::default();
        let fallbacks = Family::<Labels<2>, Counter>::default();
        let gossip = Family::<Labels<1>, Counter>::default();
        let sync = Family::<Labels<1>, Counter>::default();
        let peer_bans = Family::<Labels<1>, Counter>::default();
        let auto_reports = Family::<Labels<2>, Counter>::default();
        let peer_refusals = Family::<Labels<1>, Counter>::default();
        let synced = Counter::default();
        let peers_connected = Gauge::default();
        let statements = Gauge::default();
        let trusted_authors = Gauge::default();
        let trust_recompute_micros = Gauge::default();
        let mut registry = Registry::with_prefix("vouch");
        registry.register(
            "ingested",
            "Statements offered for ingest, by outcome",
            ingested.clone(),
        );
        registry.register(
            "rejected",
            "Statements rejected, by the rule they broke",
            rejected.clone(),
        );
        registry.register(
            "lookups",
            "Reputation lookups answered, by verdict",
            lookups.clone(),
        );
        registry.register(
            "policy_answers",
            "Postfix policy requests answered, by action",
            policy_answers.clone(),
        );
        registry.register(
            "dns_answers",
            "DNS list queries answered, by zone and response code",
            dns_answers.clone(),
        );
        registry.register(
            "mta_malformed",
            "Malformed requests to the mail-server front-ends, by server and reason",
            malformed.clone(),
        );
        registry.register(
            "mta_fallbacks",
            "Front-end answers given without a reputation (DUNNO/SERVFAIL), by server and reason",
            fallbacks.clone(),
        );
        registry.register(
            "gossip_messages",
            "Gossiped statements by verdict (accept, ignore, reject, rate_limited, overloaded, published)",
            gossip.clone(),
        );
        registry.register(
            "sync_pages",
            "Back-fill pages by direction (served, received, refused)",
            sync.clone(),
        );
        registry.register(
            "sync_statements",
            "Statements newly stored from back-fill pages",
            synced.clone(),
        );
        registry.register(
            "peer_bans",
            "Peers disconnected and banned, by reason",
            peer_bans.clone(),
        );
        registry.register(
            "peer_refusals",
            "Inbound connections refused before the handshake, by reason (banned, rate)",
            peer_refusals.clone(),
        );
        registry.register(
            "auto_reports",
            "Subjects read from raw messages, by source and what was done (reported, counted, withdrawn, endorsed, skipped, rate_limited)",
            auto_reports.clone(),
        );
        registry.register(
            "peers_connected",
            "Peers with an open connection",
            peers_connected.clone(),
        );
        registry.register("statements", "Statements in the store", statements.clone());
        registry.register(
            "trusted_authors",
            "Authors with non-zero trust",
            trusted_authors.clone(),
        );
        registry.register(
            "trust_recompute_micros",
            "Duration of the last trust recomputation in microseconds",
            trust_recompute_micros.clone(),
        );
        Counters {
            registry,
            ingested,
            rejected,
            lookups: [
                Verdict::Allow,
                Verdict::Neutral,
                Verdict::Suspect,
                Verdict::Block,
            ]
            .map(|verdict| {
                lookups
                    .get_or_create(&[("verdict", verdict.as_str())])
                    .clone()
            }),
            policy_answers,
            dns_answers,
            malformed,
            fallbacks,
            gossip,
            sync,
            peer_bans,
            peer_refusals,
            auto_reports,
            synced,
            peers_connected,
            statements,
            trusted_authors,
            trust_recompute_micros,
        }
    }
}

impl Counters {
    /// Counts one ingest outcome (`stored`, `duplicate`, `stale`, `rejected`).
    pub fn ingested(&self, outcome: &'static str) {
        self.ingested.get_or_create(&[("outcome", outcome)]).inc();
    }

    /// Counts one rejection by rule.
    pub fn rejected(&self, rule: &'static str) {
        self.rejected.get_or_create(&[("rule", rule)]).inc();
    }

    /// Counts one lookup by verdict.
    pub fn lookup(&self, verdict: Verdict) {
        let [allow, neutral, suspect, block] = &self.lookups;
        match verdict {
            Verdict::Allow => allow,
            Verdict::Neutral => neutral,
            Verdict::Suspect => suspect,
            Verdict::Block => block,
        }
        .inc();
    }

    /// Counts one policy answer by action (`reject`, `defer_if_permit`, `prepend`, `dunno`).
    pub fn policy_answer(&self, action: &'static str) {
        self.policy_answers
            .get_or_create(&[("action", action)])
            .inc();
    }

    /// Counts one DNS answer by zone (`block`, `allow`, `none`) and response code.
    pub fn dns_answer(&self, zone: &'static str, rcode: &'static str) {
        self.dns_answers
            .get_or_create(&[("zone", zone), ("rcode", rcode)])
            .inc();
    }

    /// Counts one malformed front-end request (`policy` or `dnsbl`) by reason.
    pub fn malformed(&self, server: &'static str, reason: &'static str) {
        self.malformed
            .get_or_create(&[("server", server), ("reason", reason)])
            .inc();
    }

    /// Counts one answer given without a reputation, by server and reason
    /// (`timeout`, `store`, `task`).
    pub fn fallback(&self, server: &'static str, reason: &'static str) {
        self.fallbacks
            .get_or_create(&[("server", server), ("reason", reason)])
            .inc();
    }

    /// Counts one gossiped statement by verdict.
    pub fn gossip(&self, verdict: &'static str) {
        self.gossip.get_or_create(&[("verdict", verdict)]).inc();
    }

    /// Counts one back-fill page by direction.
    pub fn sync(&self, direction: &'static str) {
        self.sync.get_or_create(&[("direction", direction)]).inc();
    }

    /// Counts statements newly stored from a back-fill page.
    pub fn synced(&self, n: u64) {
        self.synced.inc_by(n);
    }

    /// Counts one peer banned, by reason.
    pub fn peer_banned(&self, reason: &'static str) {
        self.peer_bans.get_or_create(&[("reason", reason)]).inc();
    }

    /// Counts one inbound connection refused before the handshake.
    pub fn peer_refused(&self, reason: &'static str) {
        self.peer_refusals
            .get_or_create(&[("reason", reason)])
            .inc();
    }

    /// Counts one subject read from a raw message, by source and action.
    pub fn auto_report(&self, source: &'static str, action: &'static str) {
        self.auto_reports
            .get_or_create(&[("source", source), ("action", action)])
            .inc();
    }

    /// The Prometheus text exposition.
    pub fn render(&self) -> String {
        let mut out = String::new();
        // Writing into a String cannot fail.
        let _ = encode(&mut out, &self.registry);
        out
    }
}
