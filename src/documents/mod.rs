//! Documents of a client's case file (decisions, identity papers, signed consents): uploaded as
//! a stream, sealed chunk by chunk with the client's data key, kept in the document store, and
//! reached through the policy table like the rest of the case file. A document of a
//! psychological session belongs to the psychological tier.

pub mod content;
pub mod model;
pub mod queries;
pub mod routes;
pub mod scan;
pub mod sealing;
pub mod sharing;
pub mod store;

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::Duration;

use chrono::TimeDelta;
use diesel::prelude::*;

use self::model::DocumentRow;
use self::store::DocumentStore;
use crate::auth::Principal;
use crate::db::schema::documents;
use crate::db::{self, ClientId, DbConnection, DbPool, DocumentId};
use crate::http::ApiError;
use crate::policy::{Action, Target};

pub const RESOURCE: &str = "document";

/// Default largest document: 25 MiB.
pub const DEFAULT_MAX_BYTES: u64 = 25 * 1024 * 1024;

/// How documents are stored, checked and kept.
#[derive(Debug, Clone)]
pub struct DocumentConfig {
    pub data_dir: PathBuf,
    /// `s3://bucket/prefix`, or `None` for the data folder.
    pub store: Option<String>,
    /// The S3 client's settings: every `AWS_*` variable of the configuration (credentials,
    /// region, `AWS_ENDPOINT` for an S3-compatible server, `AWS_ALLOW_HTTP`, …).
    pub s3_settings: S3Settings,
    pub max_bytes: u64,
    /// clamd's `host:port`: every upload is scanned when set.
    pub clamd_address: Option<String>,
    /// How long a deleted document's bytes are kept before they are destroyed.
    pub retention: Duration,
    pub purge_interval: Duration,
}

/// The `AWS_*` variables, by name and value; shown by name only, as they hold the secret key.
#[derive(Clone, Default)]
pub struct S3Settings(pub Vec<(String, String)>);

impl std::fmt::Debug for S3Settings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.0.iter().map(|(name, _)| name)).finish()
    }
}

impl DocumentConfig {
    pub fn from_vars(vars: &HashMap<String, String>, data_dir: PathBuf) -> anyhow::Result<Self> {
        let get = |name: &str| vars.get(name).map(|v| v.trim().to_owned()).filter(|v| !v.is_empty());
        let number = |name: &str, default: u64| -> anyhow::Result<u64> {
            match get(name) {
                Some(raw) => raw.parse().map_err(|e| anyhow::anyhow!("{name}: `{raw}` is not valid: {e}")),
                None => Ok(default),
            }
        };
        let max_bytes = number("CASEBRIDGE_DOCUMENT_MAX_BYTES", DEFAULT_MAX_BYTES)?;
        anyhow::ensure!(max_bytes > 0, "CASEBRIDGE_DOCUMENT_MAX_BYTES must be greater than zero");
        let purge_interval = number("CASEBRIDGE_DOCUMENT_PURGE_INTERVAL_SECONDS", 300)?;
        anyhow::ensure!(purge_interval > 0, "CASEBRIDGE_DOCUMENT_PURGE_INTERVAL_SECONDS must be greater than zero");
        Ok(Self {
            data_dir,
            store: get("CASEBRIDGE_DOCUMENT_STORE"),
            s3_settings: S3Settings(
                vars.iter()
                    .filter(|(name, _)| name.starts_with("AWS_"))
                    .map(|(name, value)| (name.clone(), value.clone()))
                    .collect(),
            ),
            max_bytes,
            clamd_address: get("CASEBRIDGE_CLAMD_ADDRESS"),
            retention: Duration::from_secs(number("CASEBRIDGE_DOCUMENT_RETENTION_DAYS", 30)? * 24 * 3600),
            purge_interval: Duration::from_secs(purge_interval),
        })
    }
}

/// Whether a document is in the psychological tier, and the target the policy judges: the
/// organisation, and for a tier document its session's author.
fn tier_of(conn: &mut DbConnection, row: &DocumentRow) -> Result<(bool, Target), ApiError> {
    let tier = queries::in_tier(conn, row)?;
    let author = row.session_counselor_id.unwrap_or(row.uploaded_by);
    Ok((tier, Target::record(row.organisation_id, author)))
}

/// Loads a document the caller may act on; returns it with whether it is in the tier. A
/// document of a psychological session outside the caller's tier does not exist for them
/// (404), its refusal audited as a tier event, exactly as for the session itself.
pub fn authorized(
    conn: &mut DbConnection,
    principal: &Principal,
    id: DocumentId,
    action: Action,
) -> Result<(DocumentRow, bool), ApiError> {
    principal.refuse_if_never(conn, action, RESOURCE, Some(id.any()))?;
    let row = queries::find_current(conn, id)?.ok_or_else(|| ApiError::not_found(RESOURCE))?;
    let (tier, session_target) = tier_of(conn, &row)?;
    if principal.organisation_id != Some(row.organisation_id) {
        principal.authorize(conn, action, Target::organisation(row.organisation_id), RESOURCE, Some(id.any()))?;
    }
    if tier {
        principal.authorize_in_tier(
            conn,
            Action::ReadPsychologicalSession,
            session_target,
            RESOURCE,
            Some(id.any()),
            true,
        )?;
    }
    // Deleting is the uploader's (or a coordinator's); every other action is the organisation's.
    let target = Target::record(row.organisation_id, row.uploaded_by);
    principal.authorize_in_tier(conn, action, target, RESOURCE, Some(id.any()), tier)?;
    Ok((row, tier))
}

/// Erasure of a client (in its transaction): titles and digests go, every document leaves the
/// API, and its bytes are destroyed by the next purge — unreadable already, since the client's
/// data key is destroyed with the rest of the record, and so are the keys of merged duplicates
/// that still seal some of its documents.
pub fn erase_of_client(conn: &mut DbConnection, client_id: ClientId) -> QueryResult<usize> {
    let now = db::now().naive_utc();
    // The keys of duplicates merged into this record seal some of its documents; they go too.
    let other_keys: Vec<Option<ClientId>> = documents::table
        .filter(documents::client_id.eq(client_id))
        .filter(documents::key_client_id.is_not_null())
        .select(documents::key_client_id)
        .distinct()
        .load(conn)?;
    for key_of in other_keys.into_iter().flatten() {
        crate::crypto::keys::destroy(conn, key_of)?;
    }
    diesel::update(documents::table.filter(documents::client_id.eq(client_id)).filter(documents::deleted_at.is_null()))
        .set(documents::deleted_at.eq(Some(now)))
        .execute(conn)?;
    diesel::update(documents::table.filter(documents::client_id.eq(client_id)))
        .set((
            documents::title.eq(crate::privacy::ERASED),
            documents::language.eq(None::<String>),
            documents::issued_on.eq(None::<chrono::NaiveDate>),
            documents::sha256.eq(""),
            documents::purge_after.eq(Some(now)),
            documents::updated_at.eq(now),
        ))
        .execute(conn)
}

/// The client's documents an export holds, each with whether it is in the psychological tier:
/// those of the tier only for callers inside it (or the author of their session).
pub fn exportable(
    conn: &mut DbConnection,
    principal: &Principal,
    client_id: ClientId,
) -> Result<Vec<(DocumentRow, bool)>, ApiError> {
    let psychologist = principal.caller().psychologist();
    let mut listed = Vec::new();
    for row in queries::of_client(conn, client_id)? {
        let tier = queries::in_tier(conn, &row)?;
        if !tier || psychologist || row.session_counselor_id == Some(principal.user_id) {
            listed.push((row, tier));
        }
    }
    Ok(listed)
}

/// Documents whose bytes are destroyed per round.
const PURGE_BATCH: i64 = 100;

/// Destroys the stored bytes of documents past their retention (and of erased clients) every
/// `interval`. The database says what is due; a failed deletion is retried next round.
pub async fn run_purger(pool: DbPool, store: std::sync::Arc<DocumentStore>, interval: Duration) {
    let mut ticker = tokio::time::interval(interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticker.tick().await;
        if let Err(error) = purge_due(&pool, &store).await {
            tracing::warn!(error = %error, "destroying the bytes of deleted documents failed; retrying later");
        }
    }
}

pub async fn purge_due(pool: &DbPool, store: &DocumentStore) -> anyhow::Result<usize> {
    let due_pool = pool.clone();
    let due = actix_web::web::block(move || -> anyhow::Result<Vec<(DocumentId, String)>> {
        let mut conn = due_pool.get()?;
        Ok(queries::due_for_purge(&mut conn, db::now().naive_utc(), PURGE_BATCH)?)
    })
    .await??;
    let mut destroyed = 0;
    for (id, key) in due {
        store.delete(&key).await?;
        let pool = pool.clone();
        actix_web::web::block(move || -> anyhow::Result<usize> {
            let mut conn = pool.get()?;
            Ok(queries::mark_destroyed(&mut conn, id)?)
        })
        .await??;
        destroyed += 1;
    }
    if destroyed > 0 {
        tracing::info!(documents = destroyed, "stored bytes of deleted documents destroyed");
    }
    Ok(destroyed)
}

/// When a document deleted now has its bytes destroyed.
pub fn purge_time(retention: Duration) -> chrono::NaiveDateTime {
    let now = db::now().naive_utc();
    TimeDelta::from_std(retention)
        .ok()
        .and_then(|delta| now.checked_add_signed(delta))
        .unwrap_or(chrono::NaiveDateTime::MAX)
}

/// The document store and the rules uploads follow.
pub struct Documents {
    pub store: std::sync::Arc<DocumentStore>,
    pub config: DocumentConfig,
}

impl Documents {
    pub fn new(config: DocumentConfig) -> anyhow::Result<Self> {
        Ok(Self { store: std::sync::Arc::new(DocumentStore::from_config(&config)?), config })
    }
}
