//! `vouch export` and `vouch import`: the node's statements as an export
//! file (each statement's canonical bytes behind a 4-byte big-endian
//! length, as `vouch_protocol::records` reads it), for backups, moving a node, and
//! filling a test node from outside.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, PoisonError};

use anyhow::{Context, anyhow, bail};
use clap::Args;
use serde_json::Value;
use vouch_node::{MAX_EXPORT_PAGE, MAX_IMPORT_BYTES, MORE_HEADER, NEXT_HEADER};
use vouch_protocol::{Claim, decode_signed, records, write_record};

use crate::client::Client;

/// Arguments of `vouch export`.
#[derive(Debug, Args)]
pub struct ExportArgs {
    /// Write the file here (default: standard output).
    #[arg(long, short)]
    output: Option<PathBuf>,
}

/// Arguments of `vouch import`.
#[derive(Debug, Args)]
pub struct ImportArgs {
    /// The export file (- for standard input).
    file: PathBuf,
}

/// `vouch export`: every live statement the node holds, page by page.
pub fn export(client: &Client, args: ExportArgs) -> anyhow::Result<()> {
    let mut out: Box<dyn Write> = match &args.output {
        Some(path) => Box::new(std::io::BufWriter::new(
            std::fs::File::create(path).with_context(|| format!("creating {}", path.display()))?,
        )),
        None => Box::new(std::io::stdout().lock()),
    };
    let (mut from, mut statements) = (0u64, 0usize);
    loop {
        let (page, headers) =
            client.get_raw(&format!("/v1/export?from={from}&limit={MAX_EXPORT_PAGE}"))?;
        statements += records(&page).count();
        out.write_all(&page).context("writing the export")?;
        let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
        let next: u64 = header(NEXT_HEADER)
            .and_then(|v| v.parse().ok())
            .context("the node's export page names no next page")?;
        if header(MORE_HEADER) != Some("true") {
            break;
        }
        if next <= from {
            bail!("the node's export does not move forward (at {from})");
        }
        from = next;
    }
    out.flush().context("writing the export")?;
    eprintln!("exported {statements} statements");
    Ok(())
}

/// `vouch import FILE`: trust statements first (so the statements of
/// authors they vouch for are admitted as trusted), then the rest, a few
/// megabytes per request, two at a time once the trust statements are in.
pub fn import(client: &Client, args: ImportArgs) -> anyhow::Result<()> {
    let file = read(&args.file)?;
    let mut trust = Vec::new();
    let mut rest = Vec::new();
    for record in records(&file) {
        let record =
            record.with_context(|| format!("{} is not an export file", args.file.display()))?;
        // Undecodable records go along too: the node counts them as rejected.
        let is_trust = matches!(
            decode_signed(record).map(|s| s.body.claim),
            Ok(Claim::Trust { .. })
        );
        if is_trust { &mut trust } else { &mut rest }.push(record);
    }
    let mut totals = Totals::default();
    // Trust statements one request after another, in the file's order:
    // one may vouch for the author of another. The rest depend only on
    // the trust, and go two at a time.
    for (part, in_flight) in [(trust, 1), (rest, REQUESTS_IN_FLIGHT)] {
        for answer in post_all(client, chunks(&part), in_flight)? {
            totals.add(&answer);
        }
    }
    totals.print();
    Ok(())
}

/// Import requests sent at once: while the node stores one request's
/// statements (its one writer, on one core), it verifies the next one's
/// (on every core).
const REQUESTS_IN_FLIGHT: usize = 2;

/// Posts each of `chunks` to `/v1/import`, `in_flight` at a time (in
/// order when one), and gives the answers in no particular order; stops
/// sending at the first failure, which it gives.
fn post_all(client: &Client, chunks: Vec<Vec<u8>>, in_flight: usize) -> anyhow::Result<Vec<Value>> {
    let queue = Mutex::new(chunks.into_iter());
    let failed = AtomicBool::new(false);
    let post = || -> anyhow::Result<Vec<Value>> {
        let mut answers = Vec::new();
        while !failed.load(Ordering::Relaxed) {
            let next = queue.lock().unwrap_or_else(PoisonError::into_inner).next();
            let Some(chunk) = next else { break };
            match client.post_raw("/v1/import", "application/octet-stream", chunk) {
                Ok(answer) => answers.push(answer),
                Err(error) => {
                    failed.store(true, Ordering::Relaxed);
                    return Err(error);
                }
            }
        }
        Ok(answers)
    };
    std::thread::scope(|scope| {
        let senders: Vec<_> = (0..in_flight.max(1)).map(|_| scope.spawn(post)).collect();
        let mut answers = Vec::new();
        for sender in senders {
            let sent = sender
                .join()
                .map_err(|_| anyhow!("an import request's thread panicked"))?;
            answers.extend(sent?);
        }
        Ok(answers)
    })
}

fn read(path: &Path) -> anyhow::Result<Vec<u8>> {
    if path == Path::new("-") {
        let mut bytes = Vec::new();
        std::io::stdin()
            .read_to_end(&mut bytes)
            .context("reading standard input")?;
        Ok(bytes)
    } else {
        std::fs::read(path).with_context(|| format!("reading {}", path.display()))
    }
}

/// Request bodies of at most [`MAX_IMPORT_BYTES`], records kept whole.
fn chunks(records: &[&[u8]]) -> Vec<Vec<u8>> {
    let mut chunks = Vec::new();
    let mut chunk = Vec::new();
    for record in records {
        if !chunk.is_empty() && chunk.len() + 4 + record.len() > MAX_IMPORT_BYTES {
            chunks.push(std::mem::take(&mut chunk));
        }
        write_record(&mut chunk, record);
    }
    if !chunk.is_empty() {
        chunks.push(chunk);
    }
    chunks
}

/// The import answers, summed.
#[derive(Default)]
struct Totals {
    counts: std::collections::BTreeMap<String, u64>,
}

impl Totals {
    fn add(&mut self, answer: &Value) {
        for (key, value) in answer.as_object().into_iter().flatten() {
            match value {
                Value::Object(rules) => {
                    for (rule, n) in rules {
                        *self.counts.entry(format!("rejected ({rule})")).or_default() +=
                            n.as_u64().unwrap_or(0);
                    }
                }
                _ => *self.counts.entry(key.clone()).or_default() += value.as_u64().unwrap_or(0),
            }
        }
    }

    fn print(&self) {
        let order = [
            "received",
            "stored",
            "stored_stranger",
            "duplicate",
            "stale",
            "over_quota",
        ];
        for key in order {
            outln!("{key:<16} {}", self.counts.get(key).copied().unwrap_or(0));
        }
        for (key, n) in self
            .counts
            .iter()
            .filter(|(k, _)| !order.contains(&k.as_str()))
        {
            outln!("{key:<16} {n}");
        }
    }
}
