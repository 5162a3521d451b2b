//! Writes an export file for filling a node from outside (`vouch import`),
//! for `scripts/bench.sh`: a hub operator vouching for 1,000 authors, who
//! report N IPv4 senders between them, and the listed addresses, one per
//! line (for rbldnsd and the load generators).
//!
//! Run: `cargo run --release -p vouch-node --example bench_fill -- OUT_DIR [N]`
//! Prints the hub's node key: the node to fill must vouch for it.

use std::io::Write;
use std::net::Ipv4Addr;
use std::path::PathBuf;
use std::time::{SystemTime, UNIX_EPOCH};

use vouch_protocol::{
    Claim, Evidence, Keypair, ReportCategory, Statement, Subject, VERSION, encode_signed,
    write_record,
};

/// The first listed address: 44.0.0.0/8 is public address space, and the
/// node reports nothing special about it.
const FIRST: u32 = u32::from_be_bytes([44, 0, 0, 1]);
const AUTHORS: u32 = 1000;

fn key(tag: u8, i: u32) -> Keypair {
    let mut secret = [tag; 32];
    secret[..4].copy_from_slice(&i.to_be_bytes());
    Keypair::from_secret_bytes(secret)
}

fn main() -> std::io::Result<()> {
    let mut args = std::env::args().skip(1);
    let out = PathBuf::from(args.next().unwrap_or_else(|| "bench-data".into()));
    let total: u32 = args
        .next()
        .and_then(|n| n.parse().ok())
        .unwrap_or(1_000_000);
    std::fs::create_dir_all(&out)?;
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let statement = |subject: Subject, claim: Claim| Statement {
        version: VERSION,
        subject,
        created_at: now - 60,
        expires_at: now + 7 * 86_400,
        claim,
    };
    let hub = key(0xb0, 0);
    let mut file = std::io::BufWriter::new(std::fs::File::create(out.join("statements.vouch"))?);
    let mut record = Vec::with_capacity(256);
    let mut write = |signed| -> std::io::Result<()> {
        record.clear();
        let bytes = encode_signed(&signed).map_err(std::io::Error::other)?;
        write_record(&mut record, &bytes);
        file.write_all(&record)
    };
    let authors: Vec<Keypair> = (0..AUTHORS).map(|i| key(0xa0, i)).collect();
    for author in &authors {
        write(hub.sign(statement(
            Subject::Node(author.public()),
            Claim::Trust { weight: 100 },
        )))?;
    }
    let mut addresses = std::io::BufWriter::new(std::fs::File::create(out.join("listed.txt"))?);
    for i in 0..total {
        let address = Ipv4Addr::from(FIRST + i);
        let author = &authors[(i % AUTHORS) as usize];
        let claim = Claim::Report {
            category: ReportCategory::Spam,
            count: 1,
            evidence: Evidence::default(),
        };
        write(author.sign(statement(Subject::Ip(address.into()), claim)))?;
        writeln!(addresses, "{address}")?;
    }
    file.flush()?;
    addresses.flush()?;
    println!("{}", hub.public());
    Ok(())
}
