//! Synthetic clients at benchmark scale (10 thousand to a million) in one organisation, and
//! optionally their counseling sessions (to ten million).
//!
//! One thread invents people while the calling thread writes the previous batch: each batch is
//! one transaction of multi-row INSERTs into `clients` and the three index tables, with exactly
//! the rows `clients::queries::insert` writes, so search behaves as on data entered by hand; with
//! sessions, the same transaction holds the batch's sessions and their `session_participants`
//! rows, as `sessions::queries::insert` writes them (see `super::sessions`): each client with
//! sessions gets a data key in the same batch, and the generating thread seals the summary and
//! topics of its sessions with it, so the writers only insert.

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use chrono::{Datelike, NaiveDate};
use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use super::people;
use super::sessions::{self as seeded_sessions, SeededSession, SessionPlan, SessionTally};
use crate::clients::model::ClientFields;
use crate::clients::queries::{self as clients_queries, IndexRows};
use crate::crypto::MasterKeys;
use crate::db::schema::{
    client_identifiers, client_keys, client_name_keys, client_name_tokens, client_tags, clients, session_participants,
    sessions,
};
use crate::db::{self, ClientId, DbConnection, DbPool, Id, OrganisationId};
use crate::domain::client::ClientStatus;
use crate::domain::{self, SessionKind};
use crate::organisations::model::{OrganisationFields, parse_short_name};
use crate::organisations::queries as organisations;
use crate::sessions::queries::{self as sessions_queries, NewSession};
use crate::sessions::sealing::seal_details;

/// What `casebridge seed --clients N` was asked for.
#[derive(Debug, Clone)]
pub struct SyntheticOptions {
    pub clients: u64,
    /// Short name of the organisation that owns the clients; created when missing.
    pub organisation: String,
    /// Clients per transaction.
    pub batch: usize,
    /// The same seed gives the same people.
    pub seed: u64,
    /// Connections writing side by side on PostgreSQL (SQLite always uses one).
    pub writers: usize,
    /// Mean number of counseling sessions per new client (0: none). The number per client is
    /// skewed (geometric), so the total is close to, not exactly, `clients × sessions_per_client`.
    pub sessions_per_client: u32,
}

impl Default for SyntheticOptions {
    fn default() -> Self {
        Self {
            clients: 10_000,
            organisation: "BENCH".to_owned(),
            batch: 5_000,
            seed: 42,
            writers: 2,
            sessions_per_client: 0,
        }
    }
}

/// What was written, and how fast.
#[derive(Debug, Clone)]
pub struct SyntheticReport {
    pub organisation_id: OrganisationId,
    pub organisation: String,
    pub organisation_created: bool,
    pub clients: u64,
    /// Rows of `client_name_tokens`, `client_name_keys`, `client_tags` and `client_identifiers`.
    pub index_rows: u64,
    pub first_reference: Option<String>,
    pub last_reference: Option<String>,
    /// Synthetic counselors the sessions are logged by (0 without sessions), and how many of
    /// them this run created.
    pub counselors: usize,
    pub counselors_created: usize,
    /// The sessions written for this run's clients.
    pub sessions: SessionTally,
    /// Data keys created for clients whose sessions have a summary or topics.
    pub data_keys: u64,
    /// Writing the rows.
    pub elapsed: Duration,
    /// Refreshing the database's statistics afterwards (PostgreSQL).
    pub maintenance: Duration,
}

impl SyntheticReport {
    pub fn clients_per_second(&self) -> f64 {
        self.clients as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }

    /// Every row written: clients, index rows, sessions, session participants and data keys.
    pub fn rows(&self) -> u64 {
        self.clients + self.index_rows + self.sessions.sessions + self.sessions.participants + self.data_keys
    }

    pub fn rows_per_second(&self) -> f64 {
        self.rows() as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }
}

/// PostgreSQL accepts 65 535 bind parameters per statement and the bundled SQLite 32 766;
/// statements stay below both.
const MAX_BIND_PARAMETERS: usize = 30_000;

/// Mixed into the seed for the sessions' random stream.
const SESSION_STREAM: u64 = 0x5e55_1075_c0de_0001;
const CLIENT_COLUMNS: usize = 29;
const SESSION_COLUMNS: usize = 18;
const PARTICIPANT_COLUMNS: usize = 3;

/// Why a synthetic client's file is closed, for the share that is.
const CLOSED_REASONS: &[(&str, u32)] = &[
    ("Left Poland", 40),
    ("Protection granted, support concluded", 30),
    ("No contact for 12 months", 20),
    ("Moved to another organisation", 10),
];

struct SeededClient {
    id: ClientId,
    number: i32,
    reference: String,
    fields: ClientFields,
    closed_reason: Option<&'static str>,
    index: IndexRows,
    sessions: Vec<SeededSession>,
    /// The client's data key (master key id, wrapped) when its sessions have anything to seal.
    data_key: Option<(String, Vec<u8>)>,
    /// Per session, in the same order, its sealed summary and topics.
    sealed_details: Vec<Option<Vec<u8>>>,
}

type Batch = anyhow::Result<Vec<SeededClient>>;

/// Writes `options.clients` invented clients into the organisation named by
/// `options.organisation` (created when missing), continuing its reference numbers, and with
/// `options.sessions_per_client` above 0 their sessions, logged by synthetic counselors of the
/// organisation (created when missing). Only the clients of this run get sessions, so a second
/// run adds clients with their own sessions and leaves the earlier ones as they were.
///
/// On PostgreSQL `options.writers` connections from `pool` write batches side by side (the
/// database's work per row — index entries and foreign-key checks — is what limits the rate);
/// SQLite has a single writer, so one connection writes there.
pub fn synthetic(pool: &DbPool, master: &MasterKeys, options: &SyntheticOptions) -> anyhow::Result<SyntheticReport> {
    let short_name = parse_short_name(&options.organisation).map_err(|e| anyhow::anyhow!("--organisation {e}"))?;
    if options.batch == 0 {
        bail!("--batch must be at least 1");
    }
    let today = domain::today();
    let year = today.year();
    let mut conn = pool.get().context("no database connection")?;
    let (organisation, organisation_created) = db::transaction(&mut conn, |conn| -> anyhow::Result<_> {
        let found = match organisations::find_by_short_name(conn, &short_name)? {
            Some(existing) => (existing, false),
            None => (organisations::insert(conn, &benchmark_organisation(&short_name))?, true),
        };
        Ok(found)
    })?;
    let already = clients_queries::last_reference_number(&mut conn, organisation.id, year)?.unwrap_or(0);
    let first_number = u64::try_from(already).unwrap_or(0) + 1;
    let last_number = first_number - 1 + options.clients;
    if last_number > 999_999_999 {
        bail!(
            "{} already has {already} references this year; {} more do not fit",
            organisation.short_name,
            options.clients
        );
    }
    // The counter row exists before the writers start, so each of them only moves it forward.
    clients_queries::set_last_reference_number(&mut conn, organisation.id, year, already)?;
    let (sessions, counselors_created) = if options.sessions_per_client > 0 && options.clients > 0 {
        let (counselors, created) =
            db::transaction(&mut conn, |conn| seeded_sessions::counselors(conn, &organisation))?;
        let cities = organisation.cities.clone();
        (Some(SessionPlan::new(options.sessions_per_client, counselors, cities, db::now())?), created)
    } else {
        (None, 0)
    };
    let writers = match &**conn {
        DbConnection::Postgres(_) => options.writers.max(1),
        DbConnection::Sqlite(_) => 1,
    };
    drop(conn);

    let plan = Plan {
        prefix: organisation.short_name.to_uppercase(),
        year,
        first_number,
        count: options.clients,
        batch: options.batch,
        seed: options.seed,
        today,
        sessions,
        master,
    };
    let mut report = SyntheticReport {
        organisation_id: organisation.id,
        organisation: organisation.short_name.clone(),
        organisation_created,
        clients: 0,
        index_rows: 0,
        first_reference: (options.clients > 0).then(|| plan.reference(first_number)),
        last_reference: (options.clients > 0).then(|| plan.reference(last_number)),
        counselors: plan.sessions.as_ref().map_or(0, SessionPlan::counselors),
        counselors_created,
        sessions: SessionTally::default(),
        data_keys: 0,
        elapsed: Duration::ZERO,
        maintenance: Duration::ZERO,
    };

    let started = Instant::now();
    let (sender, receiver) = sync_channel::<Batch>(writers + 1);
    let receiver = Mutex::new(receiver);
    let stop = AtomicBool::new(false);
    let outcomes = std::thread::scope(|scope| {
        scope.spawn(|| plan.generate(sender, &stop));
        let handles: Vec<_> = (0..writers)
            .map(|_| {
                scope.spawn(|| {
                    let outcome = write_batches(pool, organisation.id, year, &receiver);
                    if outcome.is_err() {
                        // Stop the generator and take what it has queued, so it is not left
                        // waiting for a writer.
                        stop.store(true, Ordering::Relaxed);
                        while let Ok(Ok(_)) = receiver.lock().map(|receiver| receiver.recv()) {}
                    }
                    outcome
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|handle| handle.join().unwrap_or_else(|_| Err(anyhow::anyhow!("a writer thread panicked"))))
            .collect::<Vec<_>>()
    });
    report.elapsed = started.elapsed();
    for outcome in outcomes {
        let written = outcome?;
        report.clients += written.clients;
        report.index_rows += written.index_rows;
        report.sessions.add(&written.sessions);
        report.data_keys += written.data_keys;
    }
    // After a bulk load PostgreSQL's statistics are stale (the planner would take a common name
    // prefix for a rare one) and its visibility map is empty (index-only scans would visit the
    // table for every row) until autovacuum comes round; both are brought up to date now, which
    // is not counted in the write rate.
    let maintenance = Instant::now();
    if let DbConnection::Postgres(conn) = &mut **pool.get().context("no database connection")? {
        let mut tables = "clients, client_name_tokens, client_name_keys, client_tags, client_identifiers".to_owned();
        if report.sessions.sessions > 0 {
            tables.push_str(", sessions, session_participants, client_keys");
        }
        conn.batch_execute(&format!("VACUUM (ANALYZE) {tables}"))?;
    }
    report.maintenance = maintenance.elapsed();
    Ok(report)
}

fn benchmark_organisation(short_name: &str) -> OrganisationFields {
    OrganisationFields {
        name: format!("{short_name} (synthetic data for load tests)"),
        short_name: short_name.to_owned(),
        cities: people::CITIES.iter().map(|(city, _)| (*city).to_owned()).collect(),
        services: vec![SessionKind::Psychological, SessionKind::Legal, SessionKind::Vocational, SessionKind::Social],
        contact_email: format!("office@{}.example.org", short_name.to_lowercase()),
    }
}

/// What the generating thread produces.
struct Plan<'a> {
    prefix: String,
    year: i32,
    first_number: u64,
    count: u64,
    batch: usize,
    seed: u64,
    today: NaiveDate,
    sessions: Option<SessionPlan>,
    master: &'a MasterKeys,
}

impl Plan<'_> {
    /// `BENCH-2026-000042`: six digits, so references up to 999 999 sort in number order.
    fn reference(&self, number: u64) -> String {
        format!("{}-{}-{number:06}", self.prefix, self.year)
    }

    fn generate(self, sender: SyncSender<Batch>, stop: &AtomicBool) {
        let mut rng = StdRng::seed_from_u64(self.seed);
        // Sessions draw from a stream of their own, so a seed gives the same people with or
        // without sessions.
        let mut session_rng = StdRng::seed_from_u64(self.seed ^ SESSION_STREAM);
        let mut made = 0u64;
        while made < self.count && !stop.load(Ordering::Relaxed) {
            let size = (self.count - made).min(self.batch as u64);
            let batch =
                (0..size).map(|offset| self.client(&mut rng, &mut session_rng, made + offset)).collect::<Batch>();
            let failed = batch.is_err();
            if sender.send(batch).is_err() || failed {
                return;
            }
            made += size;
        }
    }

    fn client(&self, rng: &mut StdRng, session_rng: &mut StdRng, serial: u64) -> anyhow::Result<SeededClient> {
        let number = self.first_number + serial;
        let input = people::person(rng, number);
        let fields = input
            .parse(self.today)
            .map_err(|errors| anyhow::anyhow!("an invented client is invalid: {errors:?} ({input:?})"))?;
        let closed_reason = rng.gen_bool(0.08).then(|| *people::weighted(rng, CLOSED_REASONS));
        let id = Id::new();
        let sessions = match &self.sessions {
            Some(plan) => plan.sessions_of(session_rng, id, &fields)?,
            None => Vec::new(),
        };
        let (data_key, sealed_details) = self.seal(id, &sessions)?;
        Ok(SeededClient {
            id,
            number: i32::try_from(number)?,
            reference: self.reference(number),
            index: IndexRows::of(&fields),
            fields,
            closed_reason,
            sessions,
            data_key,
            sealed_details,
        })
    }

    /// A data key for the client, if any of its sessions has a summary or topics, and those
    /// sealed with it, as the API seals them.
    #[allow(clippy::type_complexity)]
    fn seal(
        &self,
        client_id: ClientId,
        sessions: &[SeededSession],
    ) -> anyhow::Result<(Option<(String, Vec<u8>)>, Vec<Option<Vec<u8>>>)> {
        if sessions.iter().all(|session| session.fields.details().is_empty()) {
            return Ok((None, vec![None; sessions.len()]));
        }
        let (master_key_id, wrapped, key) = self.master.new_data_key(client_id)?;
        let sealed = sessions
            .iter()
            .map(|session| seal_details(&key, session.id, &session.fields.details()))
            .collect::<Result<Vec<_>, _>>()?;
        Ok((Some((master_key_id, wrapped)), sealed))
    }
}

/// What one writer wrote.
#[derive(Default)]
struct Written {
    clients: u64,
    index_rows: u64,
    sessions: SessionTally,
    data_keys: u64,
}

/// Takes batches until there are none left; returns what was written.
fn write_batches(
    pool: &DbPool,
    organisation_id: OrganisationId,
    year: i32,
    batches: &Mutex<Receiver<Batch>>,
) -> anyhow::Result<Written> {
    let mut conn = pool.get().context("no database connection")?;
    let mut total = Written::default();
    loop {
        let next = batches.lock().map_err(|_| anyhow::anyhow!("another writer failed"))?.recv();
        let Ok(batch) = next else { return Ok(total) };
        let batch = batch?;
        let Some(last_number) = batch.iter().map(|client| client.number).max() else { continue };
        let size = batch.len() as u64;
        let mut tally = SessionTally::default();
        let mut data_keys = 0;
        for client in &batch {
            tally.count(&client.sessions);
            data_keys += u64::from(client.data_key.is_some());
        }
        let written = db::transaction(&mut conn, |conn| -> QueryResult<usize> {
            let written = store(conn, organisation_id, batch)?;
            // In the batch's own transaction, so an interrupted run leaves a counter at or past
            // every client written, and the API continues after them.
            clients_queries::advance_last_reference_number(conn, organisation_id, year, last_number)?;
            Ok(written)
        })
        .with_context(|| format!("writing the clients up to number {last_number}"))?;
        total.clients += size;
        total.index_rows += written as u64;
        total.sessions.add(&tally);
        total.data_keys += data_keys;
    }
}

/// Inserts `rows` with as few statements as the bind-parameter limit allows. Multi-row inserts do
/// not compile on the `DbConnection` enum, so the one query is run on the concrete connection of
/// whichever backend this is.
macro_rules! insert_rows {
    ($conn:expr, $table:expr, $rows:expr, $columns:expr) => {{
        let per_statement = MAX_BIND_PARAMETERS / $columns;
        let mut rows = $rows.into_iter();
        let mut inserted = 0usize;
        loop {
            let chunk: Vec<_> = rows.by_ref().take(per_statement).collect();
            if chunk.is_empty() {
                break;
            }
            inserted += match &mut *$conn {
                DbConnection::Postgres(c) => diesel::insert_into($table).values(chunk).execute(c)?,
                DbConnection::Sqlite(c) => diesel::insert_into($table).values(chunk).execute(c)?,
            };
        }
        inserted
    }};
}

/// Writes one batch of clients, their index rows and their sessions; returns the number of index
/// rows.
fn store(conn: &mut DbConnection, organisation_id: OrganisationId, batch: Vec<SeededClient>) -> QueryResult<usize> {
    let now = db::now().naive_utc();
    let mut tokens = Vec::new();
    let mut name_keys = Vec::new();
    let mut tags = Vec::new();
    let mut identifiers = Vec::new();
    let mut client_rows = Vec::with_capacity(batch.len());
    let mut session_rows = Vec::new();
    let mut participant_rows = Vec::new();
    let mut key_rows = Vec::new();
    for client in batch {
        let id = client.id;
        if let Some((master_key_id, wrapped)) = client.data_key {
            key_rows.push((
                client_keys::client_id.eq(id),
                client_keys::master_key_id.eq(master_key_id),
                client_keys::wrapped_key.eq(wrapped),
                client_keys::created_at.eq(now),
            ));
        }
        for (session, details_ciphertext) in client.sessions.iter().zip(client.sealed_details) {
            participant_rows.extend(sessions_queries::participant_values(session.id, id, &session.fields));
            session_rows.push(sessions_queries::row_values(
                NewSession {
                    id: session.id,
                    organisation_id,
                    client_id: id,
                    counselor_id: session.counselor_id,
                    fields: &session.fields,
                    notes_ciphertext: None,
                    details_ciphertext,
                },
                now,
            ));
        }
        tokens.extend(client.index.name_tokens.into_iter().map(|token| {
            (
                client_name_tokens::client_id.eq(id),
                client_name_tokens::organisation_id.eq(organisation_id),
                client_name_tokens::token.eq(token),
            )
        }));
        name_keys.extend(client.index.name_keys.into_iter().map(|key| {
            (
                client_name_keys::client_id.eq(id),
                client_name_keys::organisation_id.eq(organisation_id),
                client_name_keys::key.eq(key),
            )
        }));
        tags.extend(client.index.tags.into_iter().map(|(kind, value)| {
            (
                client_tags::client_id.eq(id),
                client_tags::organisation_id.eq(organisation_id),
                client_tags::kind.eq(kind),
                client_tags::value.eq(value),
            )
        }));
        identifiers.extend(client.index.identifiers.into_iter().map(|(kind, key)| {
            (
                client_identifiers::client_id.eq(id),
                client_identifiers::organisation_id.eq(organisation_id),
                client_identifiers::kind.eq(kind),
                client_identifiers::value_key.eq(key),
            )
        }));
        let status = if client.closed_reason.is_some() { ClientStatus::Closed } else { ClientStatus::Active };
        client_rows.push((
            clients::id.eq(id),
            clients::organisation_id.eq(organisation_id),
            clients::reference.eq(client.reference),
            clients::status.eq(status),
            clients::closed_reason.eq(client.closed_reason),
            clients::closed_at.eq(client.closed_reason.map(|_| now)),
            clients::created_at.eq(now),
            clients::updated_at.eq(now),
            clients::version.eq(1),
            clients_queries::field_values(&client.fields),
        ));
    }
    insert_rows!(conn, clients::table, client_rows, CLIENT_COLUMNS);
    let mut index_rows = insert_rows!(conn, client_name_tokens::table, tokens, 3);
    index_rows += insert_rows!(conn, client_name_keys::table, name_keys, 3);
    index_rows += insert_rows!(conn, client_tags::table, tags, 4);
    index_rows += insert_rows!(conn, client_identifiers::table, identifiers, 4);
    insert_rows!(conn, client_keys::table, key_rows, 4);
    insert_rows!(conn, sessions::table, session_rows, SESSION_COLUMNS);
    insert_rows!(conn, session_participants::table, participant_rows, PARTICIPANT_COLUMNS);
    Ok(index_rows)
}
