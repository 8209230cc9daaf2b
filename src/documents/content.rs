//! Giving a stored document's content out: opened chunk by chunk with the data key that
//! sealed it, checked against what was recorded at upload, audited.

use actix_web::HttpResponse;
use actix_web::body::SizedStream;
use bytes::Bytes;
use futures_util::StreamExt;
use futures_util::stream::BoxStream;

use super::RESOURCE;
use super::model::{ContentType, DocumentRow};
use super::sealing::{ChunkOpener, Tampered};
use super::store::DocumentStore;
use crate::audit::{self, Event, Outcome};
use crate::auth::Principal;
use crate::crypto::DataKey;
use crate::crypto::keys;
use crate::db::{self, ClientId, DbConnection, DocumentId};
use crate::http::{self, ApiError};
use crate::state::AppState;

pub(crate) fn storage_error(error: object_store::Error) -> ApiError {
    tracing::error!(%error, "document store failed");
    ApiError::unavailable(
        "document_store_unavailable",
        "The document store is not reachable at the moment; retry shortly.",
    )
}

/// What a download needs once access was granted.
pub(crate) struct Readable {
    pub row: DocumentRow,
    pub tier: bool,
    pub key: Option<DataKey>,
    pub principal: Principal,
}

pub(crate) fn unreadable() -> ApiError {
    ApiError::conflict(
        "document_unreadable",
        "The stored document failed its integrity check (altered, swapped or missing); it is not given out.",
    )
}

/// Reads and opens the whole stored object without giving anything out: whether every chunk
/// authenticates, in its place, and the content has the recorded length and SHA-256.
async fn verify(store: &DocumentStore, key: &DataKey, row: &DocumentRow) -> Result<(), VerifyError> {
    let stored = store.read(&row.storage_key).await?;
    let mut opener = opener(key, row)?;
    if stored.size != opener.sealed_size() {
        return Err(Tampered::Length.into());
    }
    let mut stream = stored.stream;
    while let Some(bytes) = stream.next().await {
        opener.push(&bytes?)?;
    }
    Ok(opener.finish()?)
}

pub(crate) fn opener(key: &DataKey, row: &DocumentRow) -> Result<ChunkOpener, Tampered> {
    let chunk_size = usize::try_from(row.chunk_size).map_err(|_| Tampered::Length)?;
    let size = u64::try_from(row.size_bytes).map_err(|_| Tampered::Length)?;
    Ok(ChunkOpener::new(key.clone(), row.id, chunk_size, size, &row.sha256))
}

#[derive(Debug, thiserror::Error)]
enum VerifyError {
    #[error(transparent)]
    Tampered(#[from] Tampered),
    #[error(transparent)]
    Store(#[from] object_store::Error),
}

/// The client's data key; `None` (its documents then unreadable, which is reported) when it
/// has none or it does not unwrap.
pub(crate) fn key_of(
    conn: &mut DbConnection,
    master: &crate::crypto::MasterKeys,
    client_id: ClientId,
) -> Result<Option<DataKey>, ApiError> {
    match keys::existing(conn, master, client_id) {
        Ok(key) => Ok(key),
        Err(keys::KeyError::Database(error)) => Err(error.into()),
        Err(keys::KeyError::Crypto(error)) => {
            tracing::error!(%client_id, %error, "client data key does not unwrap");
            Ok(None)
        }
    }
}

/// Opens and checks a stored document whole without giving anything out: `Some(reason)` when it
/// cannot be given out (no key, a chunk altered or moved, a length or digest that differs, the
/// object missing); an unreachable store is an error.
pub(crate) async fn check(
    store: &DocumentStore,
    key: Option<&DataKey>,
    row: &DocumentRow,
) -> Result<Option<String>, ApiError> {
    let verified = match key {
        Some(key) => verify(store, key, row).await,
        None => Err(VerifyError::Tampered(Tampered::Chunk)),
    };
    match verified {
        Ok(()) => Ok(None),
        Err(VerifyError::Store(object_store::Error::NotFound { .. })) => {
            Ok(Some("the stored object is missing".to_owned()))
        }
        Err(VerifyError::Store(error)) => Err(storage_error(error)),
        Err(VerifyError::Tampered(tampered)) => Ok(Some(tampered.to_string())),
    }
}

/// Who reads which document: the audit of one download.
#[derive(Clone)]
struct DownloadAudit {
    pool: db::DbPool,
    actor: audit::Actor,
    id: DocumentId,
    client_id: ClientId,
    tier: bool,
}

impl DownloadAudit {
    async fn record(&self, outcome: Outcome) -> Result<(), ApiError> {
        let audit = self.clone();
        http::run(&self.pool, move |conn| {
            let event = Event::new(&audit.actor, "document.download", RESOURCE)
                .on(audit.id)
                .for_client(audit.client_id)
                .in_tier(audit.tier)
                .outcome(outcome);
            Ok(audit::record(conn, event)?)
        })
        .await
    }
}

/// A stored object whose first chunks were opened: their plaintext, and what is left to open.
struct Started {
    first: Vec<u8>,
    rest: Option<(BoxStream<'static, object_store::Result<Bytes>>, ChunkOpener)>,
}

/// Reads a stored object up to its first whole chunk(s) and opens them, after checking that the
/// object has the length the document's chunks take: a missing, cut, extended or swapped
/// object, or one the key does not open, fails here, before anything is given out.
async fn start(store: &DocumentStore, key: &DataKey, row: &DocumentRow) -> Result<Started, VerifyError> {
    let stored = store.read(&row.storage_key).await?;
    let mut opener = opener(key, row)?;
    if stored.size != opener.sealed_size() {
        return Err(Tampered::Length.into());
    }
    let mut stream = stored.stream;
    let mut first = Vec::new();
    while first.is_empty() {
        match stream.next().await {
            Some(bytes) => first = opener.push(&bytes?)?,
            None => {
                opener.finish()?;
                return Ok(Started { first, rest: None });
            }
        }
    }
    Ok(Started { first, rest: Some((stream, opener)) })
}

/// Sends a readable document's content as it is opened, in one pass over the stored object
/// (audited). The object's length is checked and its first chunks opened before the answer
/// begins, so a missing, cut or swapped object, or one the key does not open, is answered 409
/// `document_unreadable` without a byte given out. Every later chunk is authenticated as it goes
/// out (AES-GCM, with the document, the chunk's index and whether it is the last bound in): one
/// that fails cuts the response before its bytes, so only authentic bytes ever leave; the cut is
/// logged and audited as a failed download.
pub(crate) async fn send_content(state: &AppState, readable: Readable) -> Result<HttpResponse, ApiError> {
    let Readable { row, tier, key, principal } = readable;
    let audit = DownloadAudit {
        pool: state.pool.clone(),
        actor: principal.actor.clone(),
        id: row.id,
        client_id: row.client_id,
        tier,
    };
    let started = match &key {
        Some(key) => start(&state.documents.store, key, &row).await,
        None => Err(Tampered::Chunk.into()),
    };
    let failure = match started {
        Ok(started) => Ok(started),
        Err(VerifyError::Store(object_store::Error::NotFound { .. })) => Err("the stored object is missing".to_owned()),
        Err(VerifyError::Store(error)) => return Err(storage_error(error)),
        Err(VerifyError::Tampered(tampered)) => Err(tampered.to_string()),
    };
    let started = match failure {
        Ok(started) => started,
        Err(reason) => {
            audit.record(Outcome::Failure).await?;
            tracing::error!(document_id = %row.id, %reason, "a stored document failed its integrity check");
            return Err(unreadable());
        }
    };
    audit.record(Outcome::Success).await?;
    let size = u64::try_from(row.size_bytes).map_err(|_| unreadable())?;
    Ok(HttpResponse::Ok()
        .content_type(row.content_type.clone())
        .insert_header((
            actix_web::http::header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"{}.{}\"", row.id, ContentType::extension(&row.content_type)),
        ))
        .body(SizedStream::new(size, decrypting(started, audit))))
}

/// The rest of the content as it is opened. A chunk that fails ends the response with an
/// error (the connection is cut short of its announced length), after the failure is audited.
fn decrypting(started: Started, audit: DownloadAudit) -> BoxStream<'static, Result<Bytes, std::io::Error>> {
    let Started { first, rest } = started;
    let first = futures_util::stream::iter((!first.is_empty()).then(|| Ok(Bytes::from(first))));
    let rest = futures_util::stream::unfold(rest.map(|rest| (rest, audit)), |state| async move {
        let ((mut stored, mut opener), audit) = state?;
        let outcome = loop {
            match stored.next().await {
                Some(Ok(bytes)) => match opener.push(&bytes) {
                    Ok(plain) if plain.is_empty() => continue,
                    Ok(plain) => return Some((Ok(Bytes::from(plain)), Some(((stored, opener), audit)))),
                    Err(tampered) => break std::io::Error::other(tampered),
                },
                Some(Err(error)) => break std::io::Error::other(error),
                None => match opener.finish() {
                    Ok(()) => return None,
                    Err(tampered) => break std::io::Error::other(tampered),
                },
            }
        };
        tracing::error!(document_id = %audit.id, error = %outcome, "a document failed its check while it was sent; the response was cut");
        if let Err(error) = audit.record(Outcome::Failure).await {
            tracing::error!(document_id = %audit.id, ?error, "the cut download could not be audited");
        }
        Some((Err(outcome), None))
    });
    first.chain(rest).boxed()
}
