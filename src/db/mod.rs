//! The database: one connection type over SQLite or PostgreSQL, chosen by `DATABASE_URL`,
//! an r2d2 pool, embedded migrations, and the way handlers run queries off the async workers.

pub mod id;
pub mod list;
pub mod prepared;
pub mod schema;

use std::path::Path;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use diesel::connection::{AnsiTransactionManager, SimpleConnection, TransactionManager};
use diesel::prelude::*;
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};

pub use id::{
    AppointmentId, AuditEventId, ClientId, ConsentId, DeadlineId, DeliveryId, DocumentId, GrantId, HouseholdId, Id,
    InterpreterId, LoginFailureId, LoginSessionId, OrganisationId, OutboxEventId, ProcedureEventId, ReferralEventId,
    ReferralId, SessionId, TaskId, UserId, WebhookId,
};
pub use list::List;
pub use prepared::Prepared;

const POSTGRES_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/postgres");
const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/sqlite");

#[derive(diesel::MultiConnection)]
pub enum DbConnection {
    Postgres(diesel::PgConnection),
    Sqlite(diesel::SqliteConnection),
}

/// Which database a `DATABASE_URL` names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DatabaseUrl {
    Postgres(String),
    Sqlite(String),
}

impl DatabaseUrl {
    /// A `postgres://` or `postgresql://` URL selects PostgreSQL; anything else is a SQLite file
    /// path (an optional `sqlite://` prefix is accepted). The scheme decides, never a fall-back.
    pub fn parse(url: &str) -> Self {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Self::Postgres(url.to_owned())
        } else {
            let path = url.strip_prefix("sqlite://").unwrap_or(url);
            Self::Sqlite(path.to_owned())
        }
    }

    pub fn backend_name(&self) -> &'static str {
        match self {
            Self::Postgres(_) => "postgresql",
            Self::Sqlite(_) => "sqlite",
        }
    }

    /// Opens one connection, with SQLite's per-connection settings applied.
    pub fn connect(&self) -> ConnectionResult<DbConnection> {
        match self {
            Self::Postgres(url) => diesel::PgConnection::establish(url).map(DbConnection::Postgres),
            Self::Sqlite(path) => {
                if let Some(parent) = Path::new(path).parent().filter(|p| !p.as_os_str().is_empty()) {
                    std::fs::create_dir_all(parent).map_err(|e| {
                        ConnectionError::BadConnection(format!(
                            "cannot create the folder for the SQLite file {path}: {e}"
                        ))
                    })?;
                }
                let mut conn = diesel::SqliteConnection::establish(path)?;
                // WAL lets readers work beside the writer. synchronous = FULL because an audit
                // event must be durable before its response is sent, even across a power loss.
                // Foreign keys are off per connection unless switched on. Each connection keeps
                // up to 1 MiB of pages (SQLite's default is 2 MB): the pool holds ten, and the
                // system's file cache holds the file anyway.
                conn.batch_execute(
                    "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; \
                     PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 5000; PRAGMA cache_size = -1024;",
                )
                .map_err(ConnectionError::CouldntSetupConfiguration)?;
                Ok(DbConnection::Sqlite(conn))
            }
        }
    }
}

/// A pooled connection. A healthy pool hands connections out without a round trip to test them;
/// instead, a connection on which work failed is pinged once, and one that lost its server is
/// dropped on return rather than handed out again.
pub struct PooledConnection {
    inner: DbConnection,
    lost: bool,
}

impl PooledConnection {
    /// Called after work on the connection failed: finds out whether the server is still there.
    fn check_after_failure(&mut self) {
        self.lost = self.inner.batch_execute("SELECT 1").is_err();
    }
}

impl std::ops::Deref for PooledConnection {
    type Target = DbConnection;

    fn deref(&self) -> &DbConnection {
        &self.inner
    }
}

impl std::ops::DerefMut for PooledConnection {
    fn deref_mut(&mut self) -> &mut DbConnection {
        &mut self.inner
    }
}

/// r2d2 manager that opens the variant the URL names and returns the real error.
pub struct ConnectionManager {
    url: DatabaseUrl,
}

impl r2d2::ManageConnection for ConnectionManager {
    type Connection = PooledConnection;
    type Error = ConnectionError;

    fn connect(&self) -> Result<PooledConnection, ConnectionError> {
        let inner = self.url.connect()?;
        Ok(PooledConnection { inner, lost: false })
    }

    fn is_valid(&self, conn: &mut PooledConnection) -> Result<(), ConnectionError> {
        conn.inner.batch_execute("SELECT 1").map_err(ConnectionError::CouldntSetupConfiguration)
    }

    fn has_broken(&self, conn: &mut PooledConnection) -> bool {
        conn.lost || diesel::r2d2::R2D2Connection::is_broken(&mut conn.inner)
    }
}

pub type DbPool = r2d2::Pool<ConnectionManager>;

/// Builds the pool without connecting: start-up connects once on its own (to migrate), so an
/// unreachable database is reported there, and later outages surface per request as 503.
pub fn pool(url: DatabaseUrl, size: u32, timeout: Duration) -> DbPool {
    r2d2::Pool::builder()
        .max_size(size)
        .min_idle(Some(1))
        .connection_timeout(timeout)
        .test_on_check_out(false)
        .build_unchecked(ConnectionManager { url })
}

/// Applies the pending migrations of the connection's backend; returns their names.
pub fn migrate(conn: &mut DbConnection) -> anyhow::Result<Vec<String>> {
    let applied = match conn {
        DbConnection::Postgres(c) => c.run_pending_migrations(POSTGRES_MIGRATIONS),
        DbConnection::Sqlite(c) => c.run_pending_migrations(SQLITE_MIGRATIONS),
    }
    .map_err(|e| anyhow::anyhow!("migration failed: {e}"))?;
    Ok(applied.iter().map(ToString::to_string).collect())
}

/// Why database work did not get a result: the query failed, no connection could be had, or the
/// blocking task that ran it was lost. The API maps it to its problem once (`http::error`).
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("database error")]
    Query(#[from] diesel::result::Error),
    #[error("database unavailable")]
    Unavailable(#[source] r2d2::Error),
    #[error("blocking task failed: {0}")]
    Interrupted(String),
}

/// An error of work done on a connection that says whether the database failed it, so that the
/// connection is checked before it goes back to the pool.
pub trait WorkError: From<DbError> + Send + 'static {
    fn failed_in_database(&self) -> bool;
}

impl WorkError for DbError {
    fn failed_in_database(&self) -> bool {
        matches!(self, Self::Query(_))
    }
}

/// Runs database work on the blocking thread pool with a pooled connection.
pub async fn run<T, E, F>(pool: &DbPool, work: F) -> Result<T, E>
where
    F: FnOnce(&mut DbConnection) -> Result<T, E> + Send + 'static,
    T: Send + 'static,
    E: WorkError,
{
    let pool = pool.clone();
    actix_web::web::block(crate::clock::carried(move || {
        let mut conn = pool.get().map_err(DbError::Unavailable)?;
        let outcome = work(&mut conn);
        if outcome.as_ref().is_err_and(E::failed_in_database) {
            conn.check_after_failure();
        }
        outcome
    }))
    .await
    .map_err(|e| DbError::Interrupted(e.to_string()))?
}

/// Runs `work` on a pooled connection every `interval` until the process ends, each run with
/// the instance's clock read once. Failures (the database away, another instance doing the same
/// work) are logged and retried next time.
pub async fn every(
    pool: DbPool,
    clock: crate::clock::Clock,
    interval: Duration,
    what: &'static str,
    work: fn(&mut DbConnection) -> anyhow::Result<usize>,
) {
    let mut ticker = tokio::time::interval(interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticker.tick().await;
        let pool = pool.clone();
        let run = async {
            actix_web::web::block(crate::clock::carried(move || -> anyhow::Result<usize> {
                let mut conn = pool.get()?;
                let outcome = work(&mut conn);
                if outcome.is_err() {
                    conn.check_after_failure();
                }
                outcome
            }))
            .await
        };
        let outcome = clock.read_once(run).await;
        match outcome {
            Ok(Ok(_)) => {}
            Ok(Err(error)) => tracing::debug!(error = %error, task = what, "periodic work postponed"),
            Err(error) => tracing::warn!(error = %error, task = what, "periodic task failed"),
        }
    }
}

/// SQLite lets one connection write at a time, and a connection that finds the write lock taken
/// sleeps before it tries again (1, 2, 5, 10 … 100 ms, until `busy_timeout`): under load a writer
/// could wait hundreds of milliseconds while others kept taking the lock. The writers of this
/// process queue here instead and each takes the lock as soon as the one before is done;
/// `busy_timeout` still covers other processes (the command-line tools, say).
static SQLITE_WRITER: Mutex<()> = Mutex::new(());

fn sqlite_writer() -> MutexGuard<'static, ()> {
    SQLITE_WRITER.lock().unwrap_or_else(PoisonError::into_inner)
}

/// A write transaction. On SQLite it queues with this process's other writers and starts with
/// `BEGIN IMMEDIATE`, so a transaction that reads before it writes takes the write lock up front
/// instead of failing with SQLITE_BUSY when another writer commits in between.
pub fn transaction<T, E, F>(conn: &mut DbConnection, work: F) -> Result<T, E>
where
    F: FnOnce(&mut DbConnection) -> Result<T, E>,
    E: From<diesel::result::Error>,
{
    if let DbConnection::Postgres(_) = conn {
        return conn.transaction(work);
    }
    let _writer = sqlite_writer();
    within(conn, "BEGIN IMMEDIATE", None, work)
}

/// A write that is its own transaction unless one is open (the audit event of a read, say). On
/// SQLite, outside a transaction, it queues with this process's other writers as `transaction`
/// does; inside one, the transaction has already done so.
pub fn write<T>(conn: &mut DbConnection, work: impl FnOnce(&mut DbConnection) -> QueryResult<T>) -> QueryResult<T> {
    let DbConnection::Sqlite(sqlite) = conn else {
        return work(conn);
    };
    if AnsiTransactionManager::transaction_manager_status_mut(sqlite).transaction_depth()?.is_some() {
        return work(conn);
    }
    let _writer = sqlite_writer();
    work(conn)
}

/// Rewrites rows in id order a batch at a time, each batch in one transaction with the record of
/// how far the run came, so that a run cut short (a crash, a deploy) resumes after the last batch
/// it finished instead of starting over. `batch` does the next rows after a position and returns
/// their ids in order; `reached` records the position, `None` once a batch finds no rows left.
/// Returns how many rows were done; `progress` hears the running total after each batch.
pub fn resumable_batches<E>(
    conn: &mut DbConnection,
    resume_after: Option<Id<E>>,
    mut batch: impl FnMut(&mut DbConnection, Option<Id<E>>) -> QueryResult<Vec<Id<E>>>,
    mut reached: impl FnMut(&mut DbConnection, Option<Id<E>>) -> QueryResult<usize>,
    progress: impl Fn(usize),
) -> QueryResult<usize> {
    let mut after = resume_after;
    let mut total = 0;
    loop {
        let done = transaction(conn, |conn| -> QueryResult<Vec<Id<E>>> {
            let done = batch(conn, after)?;
            reached(conn, done.last().copied())?;
            Ok(done)
        })?;
        let Some(&last) = done.last() else {
            return Ok(total);
        };
        total += done.len();
        progress(total);
        after = Some(last);
    }
}

/// A read-only transaction over one consistent snapshot, for figures that must agree with each
/// other. On PostgreSQL its statements are planned for their actual parameters: a period and an
/// organisation select anything from a handful of rows to millions, and the generic plan that
/// PostgreSQL settles on for a prepared statement after five calls assumes a handful (measured
/// four to thirteen times slower on a million sessions; benches/README.md, section 6).
pub fn snapshot<T, E, F>(conn: &mut DbConnection, work: F) -> Result<T, E>
where
    F: FnOnce(&mut DbConnection) -> Result<T, E>,
    E: From<diesel::result::Error>,
{
    match conn {
        DbConnection::Postgres(_) => within(
            conn,
            "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY",
            Some("SET LOCAL plan_cache_mode = force_custom_plan"),
            work,
        ),
        DbConnection::Sqlite(_) => within(conn, "BEGIN DEFERRED", None, work),
    }
}

/// Runs `work` between `begin` (then `setup`, if any) and a commit, or a rollback when it fails.
fn within<T, E, F>(conn: &mut DbConnection, begin: &str, setup: Option<&str>, work: F) -> Result<T, E>
where
    F: FnOnce(&mut DbConnection) -> Result<T, E>,
    E: From<diesel::result::Error>,
{
    fn end<C>(conn: &mut C, commit: bool) -> QueryResult<()>
    where
        C: Connection<TransactionManager = AnsiTransactionManager>,
    {
        if commit {
            AnsiTransactionManager::commit_transaction(conn)
        } else {
            AnsiTransactionManager::rollback_transaction(conn)
        }
    }
    match conn {
        DbConnection::Postgres(pg) => AnsiTransactionManager::begin_transaction_sql(pg, begin)?,
        DbConnection::Sqlite(sqlite) => AnsiTransactionManager::begin_transaction_sql(sqlite, begin)?,
    }
    let outcome = match setup {
        Some(setup) => conn.batch_execute(setup).map_err(E::from).and_then(|()| work(conn)),
        None => work(conn),
    };
    match conn {
        DbConnection::Postgres(pg) => end(pg, outcome.is_ok())?,
        DbConnection::Sqlite(sqlite) => end(sqlite, outcome.is_ok())?,
    }
    outcome
}

/// The current time as stored: the instant of the request in progress (`clock::now`), in UTC
/// and truncated to microseconds so that both databases return exactly what was written.
pub fn now() -> chrono::DateTime<chrono::Utc> {
    crate::clock::now()
}

#[cfg(test)]
mod tests {
    use diesel::sql_types::Integer;

    use super::*;

    #[derive(QueryableByName)]
    struct Used {
        #[diesel(sql_type = Integer)]
        used: i32,
    }

    #[test]
    fn sqlite_transactions_and_single_writes_queue_behind_this_processs_other_writers() {
        let mut conn = DatabaseUrl::parse(":memory:").connect().unwrap();
        conn.batch_execute("CREATE TABLE t (n INTEGER)").unwrap();
        transaction(&mut conn, |conn| {
            assert!(SQLITE_WRITER.try_lock().is_err(), "a transaction holds the writers' place");
            // Inside the transaction a single write does not queue again (it would wait for itself).
            write(conn, |conn| conn.batch_execute("INSERT INTO t VALUES (1)"))
        })
        .unwrap();
        write(&mut conn, |conn| {
            assert!(SQLITE_WRITER.try_lock().is_err(), "a single write holds the writers' place");
            conn.batch_execute("INSERT INTO t VALUES (2)")
        })
        .unwrap();
    }

    /// Set in .cargo/config.toml: without it every statement with `LIMIT ?` is parsed and
    /// planned again on each run (measured: 14 % of a `GET /clients/{id}` on SQLite).
    #[test]
    fn sqlite_plans_each_statement_once_whatever_values_are_bound() {
        let mut conn = DatabaseUrl::parse(":memory:").connect().unwrap();
        let option = diesel::sql_query("SELECT sqlite_compileoption_used('ENABLE_QPSG') AS used")
            .get_result::<Used>(&mut conn)
            .unwrap();
        assert_eq!(option.used, 1);
    }
}
