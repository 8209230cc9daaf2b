//! A client's export as one ZIP archive for the data subject (`?format=zip`): the export's JSON
//! and the content of every document it lists, opened with the data key that sealed it.
//!
//! Every document is opened and checked whole (each chunk, the length and the SHA-256 recorded
//! at upload) before the answer begins, so that a document that fails is a clear 409 and not a
//! cut archive. The archive is then written as it is sent, a chunk at a time, with each chunk
//! authenticated again as it goes in: no document is ever held whole in memory, no plaintext is
//! written to disk, and an object changed in between ends the response instead of reaching the
//! caller.

use std::cell::RefCell;
use std::collections::HashSet;
use std::io::Write;
use std::rc::Rc;

use actix_web::HttpResponse;
use bytes::Bytes;
use chrono::{DateTime, Datelike, Timelike, Utc};
use futures_util::StreamExt;
use tokio::sync::mpsc;
use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, ZipWriter};

use super::routes::ClientExport;
use crate::audit::{self, Event, Outcome};
use crate::auth::Principal;
use crate::clients;
use crate::crypto::DataKey;
use crate::db::{self, ClientId, DocumentId};
use crate::documents::content::{check, opener};
use crate::documents::model::{ContentType, DocumentRow};
use crate::documents::sealing::Tampered;
use crate::documents::store::DocumentStore;
use crate::http::{self, ApiError};
use crate::state::AppState;

/// The export's JSON, at the archive's root; documents are under `documents/`.
pub const EXPORT_ENTRY: &str = "export.json";
const DOCUMENTS_FOLDER: &str = "documents/";
/// Most bytes of a title kept in an entry's name (file systems allow 255 per name).
const TITLE_BYTES: usize = 100;
/// Pieces of the archive in flight to the caller.
const PIECES_IN_FLIGHT: usize = 4;

/// A document the export holds, with the key that opens it (`None`: it does not open).
pub struct ArchivedDocument {
    pub row: DocumentRow,
    pub tier: bool,
    pub key: Option<DataKey>,
}

/// Everything an archive export needs once access was granted.
pub struct ArchiveRequest {
    pub principal: Principal,
    pub client_id: ClientId,
    pub export: ClientExport,
    pub documents: Vec<ArchivedDocument>,
}

/// Checks every document, audits the export (as one `client.export` event and a
/// `document.download` per document given out; a document that fails as a failed download and
/// a failed export), and streams the archive — or answers 409 `document_unreadable` without
/// giving out a byte.
pub async fn respond(state: &AppState, request: ArchiveRequest) -> Result<HttpResponse, ApiError> {
    let ArchiveRequest { principal, client_id, export, documents } = request;
    let store = state.documents.store.clone();
    let mut failed = None;
    for document in &documents {
        if let Some(reason) = check(&store, document.key.as_ref(), &document.row).await? {
            failed = Some((document.row.id, document.tier, reason));
            break;
        }
    }
    let export_in_tier = crate::sessions::inside_tier(&principal);
    let downloads: Vec<(DocumentId, bool)> = documents.iter().map(|d| (d.row.id, d.tier)).collect();
    let failure = failed.clone();
    http::run(&state.pool, move |conn| {
        db::transaction(conn, |conn| {
            let outcome = if failure.is_some() { Outcome::Failure } else { Outcome::Success };
            audit::record(
                conn,
                Event::new(&principal.actor, "client.export", clients::RESOURCE)
                    .on(client_id)
                    .for_client(client_id)
                    .in_tier(export_in_tier)
                    .outcome(outcome),
            )?;
            let given_out = match &failure {
                Some((id, tier, _)) => vec![(*id, *tier)],
                None => downloads,
            };
            for (id, tier) in given_out {
                audit::record(
                    conn,
                    Event::new(&principal.actor, "document.download", crate::documents::RESOURCE)
                        .on(id)
                        .for_client(client_id)
                        .in_tier(tier)
                        .outcome(outcome),
                )?;
            }
            Ok(())
        })
    })
    .await?;
    if let Some((id, _, reason)) = failed {
        tracing::error!(document_id = %id, %client_id, %reason, "a stored document failed its integrity check; the export archive was refused");
        return Err(ApiError::conflict(
            "document_unreadable",
            format!(
                "Document {id} failed its integrity check (altered, swapped or missing); the archive is not given out."
            ),
        ));
    }
    let json = serde_json::to_vec_pretty(&export).map_err(|e| ApiError::Internal(e.into()))?;
    let names = entry_names(documents.iter().map(|d| &d.row));
    let mut entries = Vec::with_capacity(documents.len());
    for (document, name) in documents.into_iter().zip(names) {
        let Some(key) = document.key else { return Err(crate::documents::content::unreadable()) };
        entries.push(Entry { name, row: document.row, key });
    }
    Ok(HttpResponse::Ok()
        .content_type("application/zip")
        .insert_header((
            actix_web::http::header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"client-{client_id}-export.zip\""),
        ))
        .streaming(archive(store, json, entries, export.exported_at)))
}

/// A document's place in the archive.
struct Entry {
    name: String,
    row: DocumentRow,
    key: DataKey,
}

/// The archive's entry names for the documents, in order: `documents/<date>_<kind>_<title>.<ext>`
/// with the date the document bears (else its upload date). A title is the uploader's text, so
/// only its letters, digits and hyphens are kept (anything else — separators, dots, control and
/// direction characters — becomes a space), it is cut to `TITLE_BYTES`, and names that would
/// clash, in any case, get ` (2)`, ` (3)`, … Nothing can leave the folder or hide its type.
pub fn entry_names<'a>(rows: impl Iterator<Item = &'a DocumentRow>) -> Vec<String> {
    let mut taken = HashSet::new();
    rows.map(|row| {
        let date = row.issued_on.unwrap_or(row.created_at.date());
        let stem = format!("{DOCUMENTS_FOLDER}{date}_{}_{}", safe_word(row.kind.code()), safe_title(&row.title));
        let extension = ContentType::extension(&row.content_type);
        let mut name = format!("{stem}.{extension}");
        let mut n = 1;
        while !taken.insert(name.to_lowercase()) {
            n += 1;
            name = format!("{stem} ({n}).{extension}");
        }
        name
    })
    .collect()
}

fn safe_word(code: &str) -> String {
    code.chars().filter(|c| c.is_ascii_alphanumeric() || *c == '_').collect()
}

fn safe_title(title: &str) -> String {
    let mut safe = String::new();
    for c in title.chars() {
        if c.is_alphanumeric() || c == '-' {
            if safe.len() + c.len_utf8() > TITLE_BYTES {
                break;
            }
            safe.push(c);
        } else if !safe.is_empty() && !safe.ends_with(' ') {
            safe.push(' ');
        }
    }
    let safe = safe.trim_end();
    if safe.is_empty() { "document".to_owned() } else { safe.to_owned() }
}

/// The archive's bytes as the ZIP writer produces them, taken out a piece at a time to be sent.
#[derive(Clone, Default)]
struct Spool(Rc<RefCell<Vec<u8>>>);

impl Write for Spool {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.borrow_mut().extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Spool {
    fn take(&self) -> Vec<u8> {
        std::mem::take(&mut *self.0.borrow_mut())
    }
}

#[derive(Debug, thiserror::Error)]
enum ArchiveError {
    #[error(transparent)]
    Zip(#[from] zip::result::ZipError),
    #[error(transparent)]
    Io(#[from] std::io::Error),
    #[error(transparent)]
    Store(#[from] object_store::Error),
    #[error(transparent)]
    Tampered(#[from] Tampered),
    #[error("the caller stopped reading")]
    Gone,
}

type Piece = Result<Bytes, std::io::Error>;

/// The archive as a stream of pieces, written by a task of the worker as the caller reads.
fn archive(
    store: std::sync::Arc<DocumentStore>,
    json: Vec<u8>,
    entries: Vec<Entry>,
    at: DateTime<Utc>,
) -> impl futures_util::Stream<Item = Piece> + 'static {
    let (sender, receiver) = mpsc::channel::<Piece>(PIECES_IN_FLIGHT);
    actix_web::rt::spawn(async move {
        match write_archive(&store, &sender, json, entries, zip_time(at)).await {
            Ok(()) | Err(ArchiveError::Gone) => {}
            Err(error) => {
                tracing::error!(%error, "an export archive failed while it was sent; the response was cut");
                // The caller may be gone already; the error only cuts the response.
                let _ = sender.send(Err(std::io::Error::other(error))).await;
            }
        }
    });
    futures_util::stream::unfold(receiver, |mut receiver| async move {
        receiver.recv().await.map(|piece| (piece, receiver))
    })
}

fn zip_time(at: DateTime<Utc>) -> zip::DateTime {
    let year = u16::try_from(at.year()).unwrap_or(1980);
    let [month, day, hour, minute, second] =
        [at.month(), at.day(), at.hour(), at.minute(), at.second()].map(|part| u8::try_from(part).unwrap_or(0));
    zip::DateTime::from_date_and_time(year, month, day, hour, minute, second).unwrap_or_default()
}

async fn write_archive(
    store: &DocumentStore,
    out: &mpsc::Sender<Piece>,
    json: Vec<u8>,
    entries: Vec<Entry>,
    at: zip::DateTime,
) -> Result<(), ArchiveError> {
    let spool = Spool::default();
    let mut zip = ZipWriter::new_stream(spool.clone());
    // Stored, not compressed: the accepted types (PDF, images, DOCX, ODT) are compressed already.
    let options = SimpleFileOptions::default().compression_method(CompressionMethod::Stored).last_modified_time(at);
    zip.start_file(EXPORT_ENTRY, options)?;
    zip.write_all(&json)?;
    send(&spool, out).await?;
    for entry in entries {
        let size = u64::try_from(entry.row.size_bytes).unwrap_or(u64::MAX);
        zip.start_file(entry.name, options.large_file(size >= u64::from(u32::MAX)))?;
        let mut opener = opener(&entry.key, &entry.row)?;
        let mut stored = store.read(&entry.row.storage_key).await?.stream;
        while let Some(bytes) = stored.next().await {
            zip.write_all(&opener.push(&bytes?)?)?;
            send(&spool, out).await?;
        }
        opener.finish()?;
    }
    zip.finish()?;
    send(&spool, out).await
}

async fn send(spool: &Spool, out: &mpsc::Sender<Piece>) -> Result<(), ArchiveError> {
    let piece = spool.take();
    if piece.is_empty() {
        return Ok(());
    }
    out.send(Ok(Bytes::from(piece))).await.map_err(|_| ArchiveError::Gone)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::{OrganisationId, UserId};

    fn row(kind: &str, title: &str, issued_on: Option<&str>, content_type: &str) -> DocumentRow {
        let at = chrono::NaiveDate::from_ymd_opt(2026, 11, 3).unwrap().and_hms_opt(10, 0, 0).unwrap();
        DocumentRow {
            id: DocumentId::new(),
            organisation_id: OrganisationId::new(),
            client_id: ClientId::new(),
            kind: kind.parse().unwrap(),
            title: title.to_owned(),
            issued_on: issued_on.map(|d| d.parse().unwrap()),
            language: None,
            procedure_event_id: None,
            consent_id: None,
            session_id: None,
            psychological: false,
            session_counselor_id: None,
            sha256: String::new(),
            size_bytes: 1,
            content_type: content_type.to_owned(),
            chunk_size: 65536,
            storage_key: String::new(),
            uploaded_by: UserId::new(),
            created_at: at,
            updated_at: at,
            version: 1,
            deleted_at: None,
            deleted_by: None,
            purge_after: None,
            bytes_destroyed_at: None,
            key_client_id: None,
        }
    }

    #[test]
    fn entry_names_keep_the_titles_words_and_nothing_that_reaches_outside_the_folder() {
        let rows = [
            row("decision", "Decyzja Szefa UdSC", Some("2026-10-28"), "application/pdf"),
            row("identity_document", "../../etc/passwd", None, "image/jpeg"),
            row("other", "C:\\Windows\\system32\\evil.exe", None, "application/pdf"),
            row("medical", "Справка\u{202e}fdp.exe\n\t", None, "image/png"),
            row("other", "  ...  ", None, "image/tiff"),
            row("consent_form", "Zgoda – wersja/2.", None, "application/vnd.oasis.opendocument.text"),
        ];
        assert_eq!(
            entry_names(rows.iter()),
            [
                "documents/2026-10-28_decision_Decyzja Szefa UdSC.pdf",
                "documents/2026-11-03_identity_document_etc passwd.jpg",
                "documents/2026-11-03_other_C Windows system32 evil exe.pdf",
                "documents/2026-11-03_medical_Справка fdp exe.png",
                "documents/2026-11-03_other_document.tiff",
                "documents/2026-11-03_consent_form_Zgoda wersja 2.odt",
            ]
        );
    }

    #[test]
    fn clashing_names_are_numbered_whatever_their_case() {
        let rows = [
            row("decision", "Decyzja", Some("2026-10-28"), "application/pdf"),
            row("decision", "DECYZJA", Some("2026-10-28"), "application/pdf"),
            row("decision", "decyzja!", Some("2026-10-28"), "application/pdf"),
            row("decision", "Decyzja", Some("2026-10-28"), "image/png"),
        ];
        assert_eq!(
            entry_names(rows.iter()),
            [
                "documents/2026-10-28_decision_Decyzja.pdf",
                "documents/2026-10-28_decision_DECYZJA (2).pdf",
                "documents/2026-10-28_decision_decyzja (3).pdf",
                "documents/2026-10-28_decision_Decyzja.png",
            ]
        );
    }

    #[test]
    fn long_titles_are_cut_on_a_character_boundary() {
        let title = "ż".repeat(200);
        let names = entry_names([row("other", &title, Some("2026-01-02"), "application/pdf")].iter());
        let kept = names[0].trim_start_matches("documents/2026-01-02_other_").trim_end_matches(".pdf");
        assert_eq!(kept, "ż".repeat(TITLE_BYTES / 2));
    }
}
