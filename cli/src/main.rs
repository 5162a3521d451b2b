//! `vouch`: run a Vouch node and operate it.
//!
//! `init` and `run` act on the data directory; every other command talks to
//! the running node's local HTTP API with the token from that directory.

/// `println!` that ends the program quietly when standard output is closed
/// (`vouch query 192.0.2.1 | head -n 1`) instead of panicking.
macro_rules! outln {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        if let Err(error) = writeln!(std::io::stdout(), $($arg)*) {
            $crate::stdout_failed(&error);
        }
    }};
}

mod archive;
mod client;
mod node_cmd;
mod operator;
mod output;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Vouch: sender reputation from your own web of trust.
#[derive(Debug, Parser)]
#[command(name = "vouch", version, about, propagate_version = true)]
struct Cli {
    /// Data directory (key, token, config, database).
    /// Default: $XDG_DATA_HOME/vouch or ~/.local/share/vouch.
    #[arg(long, global = true, env = "VOUCH_DATA_DIR")]
    data_dir: Option<PathBuf>,

    /// Node API base URL (default: from the data directory's config).
    #[arg(long, global = true, env = "VOUCH_API")]
    api: Option<String>,

    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Create the node key, API token and default config (never overwrites).
    Init,
    /// Run the node in the foreground (initialises the data directory on first run).
    Run(node_cmd::RunArgs),
    /// Print this node's id (its public key).
    Id {
        /// Print the libp2p peer id instead (the same key, as peers see it).
        #[arg(long, conflicts_with = "dns")]
        peer: bool,
        /// Print the TXT record to publish at _vouch.DOMAIN, so operators
        /// can vouch for this node by its mail domain.
        #[arg(long, value_name = "DOMAIN")]
        dns: Option<String>,
    },
    #[command(flatten)]
    Api(ApiCommand),
}

/// Commands that talk to the running node.
#[derive(Debug, Subcommand)]
enum ApiCommand {
    /// Show the running node's status.
    Status {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// List the peers the node knows: id, state, gossip score, addresses.
    Peers {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Manage which operators this node vouches for.
    #[command(subcommand)]
    Trust(operator::TrustCommand),
    /// Endorse a sender as legitimate.
    Endorse(operator::EndorseArgs),
    /// Report a sender for bad mail.
    Report(operator::ReportArgs),
    /// Withdraw this node's statement about a subject.
    Retract(operator::RetractArgs),
    /// Say a sender's problem was fixed (earlier reports then fade faster).
    Remediate(operator::RemediateArgs),
    /// Ask how much to trust a sender, and why.
    Query(operator::QueryArgs),
    /// Write every live statement the node holds to an export file (a
    /// backup, or to fill another node).
    Export(archive::ExportArgs),
    /// Ingest an export file, each statement as if a peer had sent it.
    Import(archive::ImportArgs),
}

fn default_data_dir() -> PathBuf {
    if let Some(xdg) = std::env::var_os("XDG_DATA_HOME").filter(|v| !v.is_empty()) {
        return PathBuf::from(xdg).join("vouch");
    }
    match std::env::var_os("HOME").filter(|v| !v.is_empty()) {
        Some(home) => PathBuf::from(home).join(".local/share/vouch"),
        None => PathBuf::from("vouch-data"),
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let data_dir = vouch_node::DataDir::new(cli.data_dir.clone().unwrap_or_else(default_data_dir));
    let result = match cli.command {
        Command::Init => node_cmd::init(&data_dir),
        Command::Run(args) => node_cmd::run(&data_dir, args),
        Command::Id { peer, dns } => node_cmd::id(&data_dir, peer, dns.as_deref()),
        Command::Api(command) => client::Client::connect(&data_dir, cli.api.as_deref()).and_then(
            |client| match command {
                ApiCommand::Status { json } => operator::status(&client, json),
                ApiCommand::Peers { json } => operator::peers(&client, json),
                ApiCommand::Trust(cmd) => operator::trust(&client, cmd),
                ApiCommand::Endorse(args) => operator::endorse(&client, args),
                ApiCommand::Report(args) => operator::report(&client, args),
                ApiCommand::Retract(args) => operator::retract(&client, args),
                ApiCommand::Remediate(args) => operator::remediate(&client, args),
                ApiCommand::Query(args) => operator::query(&client, args),
                ApiCommand::Export(args) => archive::export(&client, args),
                ApiCommand::Import(args) => archive::import(&client, args),
            },
        ),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("vouch: {error:#}");
            ExitCode::FAILURE
        }
    }
}

/// Standard output cannot be written: a closed pipe ends the program as
/// `head` intended (status 0); anything else is an error.
fn stdout_failed(error: &std::io::Error) -> ! {
    if error.kind() == std::io::ErrorKind::BrokenPipe {
        std::process::exit(0);
    }
    eprintln!("error: cannot write to standard output: {error}");
    std::process::exit(1);
}

/// jemalloc, for Rust and (by replacing `malloc` itself) RocksDB alike:
/// glibc's allocator kept what bulk ingest freed in its per-thread arenas,
/// while jemalloc's background thread returns freed pages within seconds.
/// With a million statements imported then ten seconds of HTTP lookups,
/// the node held 255 MB against glibc's 293, importing as fast.
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;
