//! Writes an export file for filling a node from outside (`vouch import`),
//! for `scripts/bench.sh`: four hub operators, each vouching for 25
//! authors, who make N reports between them, made a minute before the
//! file is written; each sender is reported by one author of every hub,
//! so a node that trusts the four hubs blocks it (four fresh reports
//! through four branches of its web). Also writes the listed addresses,
//! one per line (for rbldnsd and the load generators).
//!
//! Run: `cargo run --release -p vouch-node --example bench_fill -- OUT_DIR [N]`
//! Prints the hubs' node keys, one per line: the node to fill must vouch
//! for them.

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
const HUBS: u32 = 4;
const AUTHORS_PER_HUB: u32 = 25;

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
    let hubs: Vec<Keypair> = (0..HUBS).map(|h| key(0xb0, h)).collect();
    let mut file = std::io::BufWriter::new(std::fs::File::create(out.join("statements.vouch"))?);
    let mut record = Vec::with_capacity(256);
    let mut write = |signed| -> std::io::Result<()> {
        record.clear();
        let bytes = encode_signed(&signed).map_err(std::io::Error::other)?;
        write_record(&mut record, &bytes);
        file.write_all(&record)
    };
    // Author `a` of hub `h` is `authors[h][a]`.
    let authors: Vec<Vec<Keypair>> = (0..HUBS)
        .map(|h| {
            (0..AUTHORS_PER_HUB)
                .map(|a| key(0xa0, h * AUTHORS_PER_HUB + a))
                .collect()
        })
        .collect();
    for (hub, vouched) in hubs.iter().zip(&authors) {
        for author in vouched {
            write(hub.sign(statement(
                Subject::Node(author.public()),
                Claim::Trust { weight: 100 },
            )))?;
        }
    }
    let mut addresses = std::io::BufWriter::new(std::fs::File::create(out.join("listed.txt"))?);
    for i in 0..total / HUBS {
        let address = Ipv4Addr::from(FIRST + i);
        for (h, vouched) in authors.iter().enumerate() {
            // Neighbouring senders are reported by different authors.
            let author = &vouched[((i * 7 + h as u32 * 13) % AUTHORS_PER_HUB) as usize];
            let claim = Claim::Report {
                category: ReportCategory::Spam,
                count: 1,
                evidence: Evidence::default(),
            };
            write(author.sign(statement(Subject::Ip(address.into()), claim)))?;
        }
        writeln!(addresses, "{address}")?;
    }
    file.flush()?;
    addresses.flush()?;
    for hub in &hubs {
        println!("{}", hub.public());
    }
    Ok(())
}
