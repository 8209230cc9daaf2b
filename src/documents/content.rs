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
use crate::db::{self, DbConnection, Id};
use crate::http::ApiError;
use crate::startup::AppState;

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
    let mut stream = store.read(&row.storage_key).await?;
    let mut opener = opener(key, row)?;
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
    client_id: Id,
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

/// Checks a readable document whole, audits the download (a failed check as a failure), and
/// streams its content — or reports it unreadable without giving out a byte.
pub(crate) async fn send_content(state: &AppState, readable: Readable) -> Result<HttpResponse, ApiError> {
    let Readable { row, tier, key, principal } = readable;
    let id = row.id;
    let store = state.documents.store.clone();
    let failure = check(&store, key.as_ref(), &row).await?;
    let client_id = row.client_id;
    let outcome = failure.clone();
    db::run(&state.pool, move |conn| {
        let event =
            Event::new(&principal.actor, "document.download", RESOURCE).on(id).for_client(client_id).in_tier(tier);
        let event = if outcome.is_some() { event.outcome(Outcome::Failure) } else { event };
        Ok(audit::record(conn, event)?)
    })
    .await?;
    if let Some(reason) = failure {
        tracing::error!(document_id = %id, %reason, "a stored document failed its integrity check");
        return Err(unreadable());
    }
    let (Some(key), Ok(size)) = (key, u64::try_from(row.size_bytes)) else {
        return Err(unreadable());
    };
    let opener = opener(&key, &row).map_err(|_| unreadable())?;
    let stored = store.read(&row.storage_key).await.map_err(storage_error)?;
    Ok(HttpResponse::Ok()
        .content_type(row.content_type.clone())
        .insert_header((
            actix_web::http::header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"{}.{}\"", row.id, ContentType::extension(&row.content_type)),
        ))
        .body(SizedStream::new(size, decrypting(stored, opener, id))))
}

/// The content as it is opened. It was checked whole before the response began; each chunk is
/// authenticated again as it goes out, so an object changed in between ends the response with
/// an error instead of reaching the caller.
fn decrypting(
    stored: BoxStream<'static, object_store::Result<Bytes>>,
    opener: ChunkOpener,
    id: Id,
) -> BoxStream<'static, Result<Bytes, std::io::Error>> {
    futures_util::stream::unfold(Some((stored, opener)), move |state| async move {
        let (mut stored, mut opener) = state?;
        let failed = |error: std::io::Error| {
            tracing::error!(document_id = %id, %error, "a document changed while it was sent; the response was cut");
            Some((Err(error), None))
        };
        loop {
            match stored.next().await {
                Some(Ok(bytes)) => match opener.push(&bytes) {
                    Ok(plain) if plain.is_empty() => continue,
                    Ok(plain) => return Some((Ok(Bytes::from(plain)), Some((stored, opener)))),
                    Err(tampered) => return failed(std::io::Error::other(tampered)),
                },
                Some(Err(error)) => return failed(std::io::Error::other(error)),
                None => {
                    return match opener.finish() {
                        Ok(()) => None,
                        Err(tampered) => failed(std::io::Error::other(tampered)),
                    };
                }
            }
        }
    })
    .boxed()
}
