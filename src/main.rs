//! The `casebridge` command: parses the command line and calls into the library.

use std::process::ExitCode;

use casebridge::cli::{self, PasswordSource};
use casebridge::config::Config;
use casebridge::startup::Application;
use casebridge::{openapi, telemetry};
use clap::{Parser, Subcommand};
use secrecy::ExposeSecret;

/// jemalloc, configured in .cargo/config.toml to give freed memory back to the system within
/// about a quarter of a second. With the system allocator, every 19 MiB Argon2 work area stayed resident in
/// a per-thread arena after its sign-in, which kept the API at 90+ MiB under load
/// (benches/README.md, section 7). It also serves the C libraries' `malloc` (SQLite, libpq),
/// so their freed memory is given back the same way.
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

#[derive(Parser)]
#[command(
    name = "casebridge",
    version,
    about = "Case management for NGOs assisting people seeking international protection"
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the API (the default).
    Serve,
    /// Apply pending database migrations and exit.
    Migrate,
    /// Print the OpenAPI document.
    Openapi,
    /// Create a consortium administrator. The password is read from standard input when that
    /// is not a terminal; otherwise one is generated and printed once.
    CreateAdmin {
        #[arg(long)]
        email: String,
        #[arg(long)]
        name: String,
    },
    /// Fill a development or benchmark database with invented data (refused in production).
    Seed(SeedArgs),
    /// Print a new random key (base64), for CASEBRIDGE_JWT_SIGNING_KEY or CASEBRIDGE_MASTER_KEYS.
    GenerateKey,
    /// Re-wrap every client data key with the newest master key of CASEBRIDGE_MASTER_KEYS
    /// (resumable; keep the old key configured until it finishes).
    RotateMasterKey {
        #[arg(long, default_value_t = 500)]
        batch: i64,
    },
    /// Master key tools.
    Keys {
        #[command(subcommand)]
        command: KeysCommand,
    },
    /// Rebuild the name search keys of every client with the current matching rules (resumable
    /// and idempotent; `migrate` and start-up run it when the rules changed).
    ReindexNames {
        #[arg(long, default_value_t = 500)]
        batch: i64,
    },
    /// Derive every client's legal deadlines again under the current rule table (resumable and
    /// idempotent; `migrate` and start-up run it when the rules changed).
    RederiveDeadlines {
        #[arg(long, default_value_t = 500)]
        batch: i64,
    },
    /// List clients closed longer than a period (e.g. `5y`, `18m`, `90d`); `--apply` erases them.
    Retention {
        #[arg(long)]
        older_than: String,
        #[arg(long)]
        apply: bool,
    },
    /// Outbox tools.
    Outbox {
        #[command(subcommand)]
        command: OutboxCommand,
    },
    /// Audit trail tools.
    Audit {
        #[command(subcommand)]
        command: AuditCommand,
    },
}

#[derive(Subcommand)]
enum KeysCommand {
    /// How many client data keys each master key wraps, and which configured keys wrap nothing
    /// (no longer needed by the database; destroy them once no kept backup needs them).
    Status,
}

#[derive(Subcommand)]
enum OutboxCommand {
    /// How many events wait to be fanned out, and how many deliveries are pending, delivered
    /// and failed.
    Status,
}

#[derive(Subcommand)]
enum AuditCommand {
    /// Seal pending events and check the whole hash chain.
    Verify,
}

/// What `seed` writes.
#[derive(Debug, clap::Args)]
#[command(group = clap::ArgGroup::new("what").required(true).args(["demo", "clients"]))]
struct SeedArgs {
    /// A small named consortium: organisations, a user of every role (enrolment tokens printed
    /// once), about 200 clients with procedure timelines, consents, sessions of every kind
    /// and referrals in every state.
    #[arg(long)]
    demo: bool,
    /// This many synthetic clients in one organisation, for load tests.
    #[arg(long, value_name = "N")]
    clients: Option<u64>,
    /// Short name of the organisation for --clients (created when missing).
    #[arg(long, value_name = "SHORT", default_value = "BENCH", requires = "clients")]
    organisation: String,
    /// Clients written per transaction with --clients.
    #[arg(long, value_name = "N", default_value_t = 5000, requires = "clients")]
    batch: usize,
    /// Connections writing side by side with --clients on PostgreSQL (SQLite uses one).
    #[arg(long, value_name = "N", default_value_t = 2, requires = "clients")]
    writers: usize,
    /// With --clients: counseling sessions per new client on average (skewed: many clients
    /// have none or a few, some dozens), logged by synthetic counselors of the organisation.
    #[arg(long, value_name = "M", default_value_t = 0, requires = "clients")]
    sessions_per_client: u32,
    /// Seed of the random generator: the same seed gives the same invented people.
    #[arg(long, default_value_t = 42)]
    seed: u64,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli.command.unwrap_or(Command::Serve)) {
        Ok(code) => code,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(command: Command) -> anyhow::Result<ExitCode> {
    match command {
        Command::Openapi => {
            print!("{}", openapi::document_json()?);
            return Ok(ExitCode::SUCCESS);
        }
        Command::GenerateKey => {
            println!("{}", casebridge::config::generate_key()?);
            return Ok(ExitCode::SUCCESS);
        }
        _ => {}
    }
    let config = Config::from_env()?;
    telemetry::init(&config.log_filter, config.log_format);
    match command {
        Command::Serve => serve(config)?,
        Command::Migrate => {
            let applied = cli::migrate(&config)?;
            println!("{} migration(s) applied", applied.len());
        }
        Command::CreateAdmin { email, name } => {
            if let Some(password) = cli::create_admin(&config, &email, &name, PasswordSource::detect())? {
                println!("Created consortium administrator {email}.");
                println!("Password (shown once): {}", password.expose_secret());
            } else {
                println!("Created consortium administrator {email}.");
            }
        }
        Command::RotateMasterKey { batch } => {
            let total =
                cli::rotate_master_key(&config, batch.clamp(1, 10_000), |done| eprintln!("{done} key(s) re-wrapped"))?;
            println!("{total} client data key(s) re-wrapped with the newest master key");
        }
        Command::Outbox { command: OutboxCommand::Status } => {
            let status = cli::outbox_status(&config)?;
            println!("events waiting\t{}", status.events_waiting);
            println!("pending\t{}", status.pending);
            println!("delivered\t{}", status.delivered);
            println!("failed\t{}", status.failed);
        }
        Command::Keys { command: KeysCommand::Status } => {
            let keys = cli::keys_status(&config)?;
            println!("master key\tdata keys\tstate");
            for key in &keys {
                let state = if !key.configured {
                    "NOT CONFIGURED: these data keys cannot be opened; add the key to CASEBRIDGE_MASTER_KEYS"
                } else if key.newest {
                    "newest: wraps new data keys"
                } else if key.wraps_nothing() {
                    "wraps nothing: remove it from CASEBRIDGE_MASTER_KEYS, destroy it when the last backup taken \
                     before the rotation has expired"
                } else {
                    "still wraps data keys: run rotate-master-key"
                };
                println!("{}\t{}\t{state}", key.id, key.data_keys);
            }
            if keys.iter().any(|key| !key.configured) {
                return Ok(ExitCode::FAILURE);
            }
        }
        Command::ReindexNames { batch } => {
            let total =
                cli::reindex_names(&config, batch.clamp(1, 10_000), |done| eprintln!("{done} client(s) re-keyed"))?;
            println!("{total} client(s) re-keyed; name search keys are current");
        }
        Command::RederiveDeadlines { batch } => {
            let total =
                cli::rederive_deadlines(&config, batch.clamp(1, 10_000), |done| eprintln!("{done} client(s) done"))?;
            println!("{total} client(s) with deadlines derived again; deadlines follow the current rules");
        }
        Command::Retention { older_than, apply } => {
            let period =
                casebridge::privacy::parse_period(&older_than).map_err(|e| anyhow::anyhow!("--older-than: {e}"))?;
            let (due, erased) = cli::retention(&config, period, apply)?;
            for client in &due {
                println!("{}\tclosed {}", client.reference, client.closed_at.format("%Y-%m-%d"));
            }
            if apply {
                println!("{erased} client(s) erased");
            } else {
                println!(
                    "{} client(s) closed longer than {older_than}; run again with --apply to erase them",
                    due.len()
                );
            }
        }
        Command::Seed(args) => seed(&config, args)?,
        Command::Audit { command: AuditCommand::Verify } => {
            let report = cli::audit_verify(&config)?;
            match report.first_broken {
                None => println!("audit chain intact: {} event(s) verified", report.sealed),
                Some(broken) => {
                    println!(
                        "audit chain BROKEN at position {} (event {}): {}; {} event(s) verified before it",
                        broken.chain_index, broken.event_id, broken.reason, report.sealed
                    );
                    return Ok(ExitCode::FAILURE);
                }
            }
        }
        Command::Openapi | Command::GenerateKey => {}
    }
    Ok(ExitCode::SUCCESS)
}

/// `casebridge seed`: writes the demo consortium or synthetic clients and says what it wrote.
#[cfg(feature = "seed")]
fn seed(config: &Config, args: SeedArgs) -> anyhow::Result<()> {
    use casebridge::seed::SyntheticOptions;
    // clap lets exactly one of --demo and --clients through.
    match args {
        SeedArgs { clients: None, seed, .. } => {
            let report = cli::seed_demo(config, seed)?;
            println!(
                "Seeded the demo consortium: {} organisations ({}), {} clients, {} procedure events, {} consents.",
                report.organisations.len(),
                report.organisations.iter().map(|(short, _)| short.as_str()).collect::<Vec<_>>().join(", "),
                report.clients,
                report.procedure_events,
                report.consents,
            );
            println!(
                "{} sessions ({}), {} referrals ({}), {} client records made by partners accepting referrals.",
                report.sessions.sessions,
                report
                    .sessions
                    .by_kind
                    .iter()
                    .map(|(kind, count)| format!("{kind} {count}"))
                    .collect::<Vec<_>>()
                    .join(", "),
                report.referrals.values().sum::<usize>(),
                report
                    .referrals
                    .iter()
                    .map(|(status, count)| format!("{status} {count}"))
                    .collect::<Vec<_>>()
                    .join(", "),
                report.referred_clients,
            );
            println!(
                "Users (one-time enrolment tokens, valid for 72 hours and shown once: each user sets \
                 a password with theirs at POST /api/v1/auth/enrol):\n"
            );
            print!("{}", casebridge::seed::credentials_table(&report.users));
        }
        SeedArgs { clients: Some(clients), organisation, batch, writers, seed, sessions_per_client, .. } => {
            let options = SyntheticOptions { clients, organisation, batch, seed, writers, sessions_per_client };
            let report = cli::seed_clients(config, &options)?;
            println!(
                "Seeded {} synthetic clients into {}{} ({} … {}), with {} index rows, in {:.1} s: \
                 {:.0} clients/s, {:.0} rows/s",
                report.clients,
                report.organisation,
                if report.organisation_created { " (created)" } else { "" },
                report.first_reference.as_deref().unwrap_or("-"),
                report.last_reference.as_deref().unwrap_or("-"),
                report.index_rows,
                report.elapsed.as_secs_f64(),
                report.clients_per_second(),
                report.rows_per_second(),
            );
            if report.counselors > 0 {
                let sessions = &report.sessions;
                println!(
                    "Of them, {} clients have sessions: {} sessions ({} hours; {}) with {} participant rows, \
                     logged by {} synthetic counselors ({} created, who cannot sign in); {} rows in all.",
                    sessions.clients_with_sessions,
                    sessions.sessions,
                    sessions.minutes / 60,
                    sessions
                        .by_kind
                        .iter()
                        .map(|(kind, count)| format!("{kind} {count}"))
                        .collect::<Vec<_>>()
                        .join(", "),
                    sessions.participants,
                    report.counselors,
                    report.counselors_created,
                    report.rows(),
                );
            }
            if !report.maintenance.is_zero() {
                println!("Then refreshed the database's statistics in {:.1} s.", report.maintenance.as_secs_f64());
            }
        }
    }
    Ok(())
}

/// A build without the seed generator (`--no-default-features`, as the container image is).
#[cfg(not(feature = "seed"))]
fn seed(_: &Config, _: SeedArgs) -> anyhow::Result<()> {
    anyhow::bail!("this build has no seed generator: build with the default `seed` feature for demo or benchmark data")
}

#[actix_web::main]
async fn serve(config: Config) -> anyhow::Result<()> {
    let bind = config.bind;
    let backend = config.database_url.backend_name();
    let production = config.is_production();
    let application = Application::build(config).await?;
    tracing::info!(%bind, port = application.port(), backend, production, "casebridge serving");
    application.run_until_stopped().await?;
    Ok(())
}
