//! `/clients/{id}/documents`, `/documents/{id}`, `/documents/{id}/content`.

use actix_multipart::{Field, Multipart, MultipartError};
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, delete, get, patch, post, web};
use futures_util::StreamExt;

use super::content::{Readable, key_of, send_content, storage_error};
use super::model::{
    ContentType, Document, DocumentContent, DocumentFields, DocumentInput, DocumentPatch, DocumentUpload,
};
use super::queries::{self, NewDocument, SessionLink};
use super::scan::{Scan, ScanError, Verdict};
use super::sealing::{CHUNK_SIZE, ChunkSealer, Sealed};
use super::store::DocumentStore;
use super::{RESOURCE, authorized};
use crate::audit::{self, Event};
use crate::auth::{Principal, SignedIn};
use crate::clients;
use crate::crypto::DataKey;
use crate::crypto::keys::{self, NewKey};
use crate::db::{self, ClientId, DbConnection, DocumentId, Id, OrganisationId};
use crate::http::pagination::{Page, PageQuery};
use crate::http::precondition::{IfMatch, with_etag};
use crate::http::{self, ApiError, FieldErrors, Problem};
use crate::policy::{self, Action, Decision, Target};
use crate::sessions::queries::Viewer;
use crate::state::AppState;

/// What a multipart body may add around the file (boundaries, headers, the metadata part).
const ENVELOPE_BYTES: u64 = 64 * 1024;
/// Largest `metadata` part.
const METADATA_BYTES: usize = 16 * 1024;
/// Parts in flight to the store while more arrive.
const STORE_CONCURRENCY: usize = 2;

pub fn configure(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(upload).service(list_of_client).service(read).service(download).service(update).service(remove);
}

fn too_large(max_bytes: u64) -> ApiError {
    ApiError::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        "payload_too_large",
        format!("A document may have at most {max_bytes} bytes."),
    )
}

fn multipart_error(error: MultipartError) -> ApiError {
    match error {
        MultipartError::ContentTypeMissing
        | MultipartError::ContentTypeParse
        | MultipartError::ContentTypeIncompatible
        | MultipartError::BoundaryMissing => ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "An upload is a multipart/form-data body with a `metadata` and a `file` part.",
        ),
        MultipartError::ContentDispositionMissing | MultipartError::ContentDispositionNameMissing => {
            ApiError::bad_request("unnamed_part", "Every part of the body must be named (`metadata` or `file`).")
        }
        MultipartError::Incomplete | MultipartError::Payload(_) => {
            ApiError::bad_request("incomplete_body", "The multipart body ended before its closing boundary.")
        }
        _ => ApiError::bad_request("malformed_multipart", "The multipart body could not be read."),
    }
}

fn scan_error(error: ScanError) -> ApiError {
    tracing::error!(%error, "virus scan failed");
    ApiError::unavailable("scanner_unavailable", "The virus scanner is not reachable at the moment; retry shortly.")
}

/// A file received, sealed and stored (not yet recorded).
struct StoredFile {
    sealed: Sealed,
    content_type: ContentType,
}

/// What an upload needs while its body streams in.
struct Upload<'a> {
    key: DataKey,
    document_id: DocumentId,
    storage_key: &'a str,
    store: &'a DocumentStore,
    max_bytes: u64,
    clamd: Option<&'a str>,
}

impl Upload<'_> {
    /// Seals and stores the `file` part as it arrives, scanning it alongside when a scanner is
    /// configured. On any failure nothing is left in the store.
    async fn receive(&self, field: &mut Field) -> Result<StoredFile, ApiError> {
        let mut scan = match self.clamd {
            Some(address) => Some(Scan::start(address).await.map_err(scan_error)?),
            None => None,
        };
        let mut writer = self.store.writer(self.storage_key).await.map_err(storage_error)?;
        let mut sealer = ChunkSealer::new(self.key.clone(), self.document_id, CHUNK_SIZE);
        let mut head: Vec<u8> = Vec::with_capacity(CHUNK_SIZE);
        let mut content_type = None;
        let streamed = async {
            while let Some(bytes) = field.next().await {
                let bytes = bytes.map_err(multipart_error)?;
                if sealer.size() + bytes.len() as u64 > self.max_bytes {
                    return Err(too_large(self.max_bytes));
                }
                if content_type.is_none() {
                    let take = (CHUNK_SIZE - head.len()).min(bytes.len());
                    head.extend_from_slice(&bytes[..take]);
                    if head.len() == CHUNK_SIZE {
                        content_type = Some(sniff(&head)?);
                    }
                }
                if let Some(scan) = scan.as_mut() {
                    scan.send(&bytes).await.map_err(scan_error)?;
                }
                sealer.push(&bytes, |sealed| writer.write(sealed)).map_err(|e| ApiError::Internal(e.into()))?;
                writer.wait_for_capacity(STORE_CONCURRENCY).await.map_err(storage_error)?;
            }
            if sealer.size() == 0 {
                return Err(ApiError::unprocessable("empty_file", "The file is empty."));
            }
            let content_type = match content_type {
                Some(known) => known,
                None => sniff(&head)?,
            };
            let sealed = sealer.finish(|sealed| writer.write(sealed)).map_err(|e| ApiError::Internal(e.into()))?;
            if let Some(scan) = scan.take() {
                match scan.verdict().await.map_err(scan_error)? {
                    Verdict::Clean => {}
                    Verdict::Infected(signature) => {
                        tracing::warn!(%signature, document_id = %self.document_id, "upload refused: malware found");
                        return Err(ApiError::unprocessable(
                            "malware_found",
                            "The virus scanner found malware in the file.",
                        ));
                    }
                }
            }
            Ok(StoredFile { sealed, content_type })
        }
        .await;
        match streamed {
            Ok(file) => {
                writer.finish().await.map_err(storage_error)?;
                Ok(file)
            }
            Err(error) => {
                if let Err(abort) = writer.abort().await {
                    tracing::error!(error = %abort, "an aborted document upload left staging data");
                }
                Err(error)
            }
        }
    }
}

fn sniff(head: &[u8]) -> Result<ContentType, ApiError> {
    ContentType::sniff(head).ok_or_else(|| {
        ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_file_type",
            "Only PDF, JPEG, PNG, HEIC, TIFF, DOCX and ODT files are accepted (decided from the file's content).",
        )
    })
}

async fn read_metadata(field: &mut Field) -> Result<DocumentFields, ApiError> {
    let mut raw = Vec::new();
    while let Some(bytes) = field.next().await {
        let bytes = bytes.map_err(multipart_error)?;
        if raw.len() + bytes.len() > METADATA_BYTES {
            return Err(ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "payload_too_large",
                format!("The metadata part may have at most {METADATA_BYTES} bytes."),
            ));
        }
        raw.extend_from_slice(&bytes);
    }
    let input: DocumentInput = serde_json::from_slice(&raw).map_err(|error| {
        ApiError::bad_request("invalid_body", format!("The metadata part is not the expected JSON: {error}."))
    })?;
    input.parse().map_err(FieldErrors::into_error)
}

/// Reads the body's parts: exactly one `metadata` and one `file`, in any order.
async fn receive_parts(
    receiver: &Upload<'_>,
    payload: &mut Multipart,
    stored: &mut Option<StoredFile>,
) -> Result<DocumentFields, ApiError> {
    let mut metadata = None;
    while let Some(field) = payload.next().await {
        let mut field = field.map_err(multipart_error)?;
        match field.name() {
            Some("metadata") if metadata.is_none() => metadata = Some(read_metadata(&mut field).await?),
            Some("file") if stored.is_none() => *stored = Some(receiver.receive(&mut field).await?),
            Some(name @ ("metadata" | "file")) => {
                return Err(ApiError::bad_request(
                    "duplicate_part",
                    format!("The body has more than one `{name}` part."),
                ));
            }
            Some(_) => {
                return Err(ApiError::bad_request(
                    "unknown_part",
                    "The body has parts other than `metadata` and `file`.",
                ));
            }
            None => return Err(multipart_error(MultipartError::ContentDispositionNameMissing)),
        }
    }
    if stored.is_none() {
        return Err(ApiError::bad_request("missing_part", "The body has no `file` part."));
    }
    metadata.ok_or_else(|| ApiError::bad_request("missing_part", "The body has no `metadata` part."))
}

/// The links of a document must name things of the same client the caller may see; a session
/// outside the caller's tier is named as one that does not exist.
fn check_links(
    conn: &mut DbConnection,
    principal: &Principal,
    client_id: ClientId,
    organisation_id: OrganisationId,
    fields: &DocumentFields,
) -> Result<SessionLink, ApiError> {
    let mut errors = FieldErrors::default();
    if let Some(id) = fields.procedure_event_id
        && !queries::procedure_event_of_client(conn, id, client_id)?
    {
        errors.add("procedure_event_id", "names no procedure event of this client");
    }
    if let Some(id) = fields.consent_id
        && !queries::consent_of_client(conn, id, client_id)?
    {
        errors.add("consent_id", "names no consent of this client");
    }
    let mut link = SessionLink::default();
    if let Some(id) = fields.session_id {
        let session = crate::sessions::queries::find(conn, id)?;
        let visible = match &session {
            Some(session) if session.organisation_id == organisation_id => {
                !session.is_psychological()
                    || policy::decide(
                        principal.caller(),
                        Action::ReadPsychologicalSession,
                        Target::record(session.organisation_id, session.counselor_id),
                    ) == Decision::Allow
            }
            _ => false,
        };
        match session {
            Some(session) if visible && queries::session_of_client(conn, id, client_id)? => {
                link =
                    SessionLink { psychological: session.is_psychological(), counselor_id: Some(session.counselor_id) };
            }
            _ => errors.add("session_id", "names no session of this client"),
        }
    }
    errors.finish(|| Some(link))
}

/// Upload a document to a client's case file: a `multipart/form-data` body with a `metadata`
/// part (JSON) and a `file` part. The file streams through: its type is decided from its bytes,
/// it is sealed with the client's data key chunk by chunk, scanned for malware when a scanner is
/// configured, and stored; nothing is kept of a refused upload.
#[utoipa::path(
    tag = "documents",
    params(("id" = Id, Path, description = "Client id")),
    request_body(content = DocumentUpload, content_type = "multipart/form-data"),
    responses(
        (status = 201, description = "Stored", body = Document, headers(("ETag" = String), ("Location" = String))),
        (status = 400, description = "A part missing, repeated, unnamed or unknown, the body cut short, or metadata that is not JSON", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such client", body = Problem, content_type = "application/problem+json"),
        (status = 410, description = "The client's record was erased", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "The file is larger than the configured limit", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Not a multipart body, or a file of a type not accepted", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid metadata, an empty file, or malware found (`malware_found`)", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The document store or the virus scanner is unreachable", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[post("/clients/{id}/documents")]
pub async fn upload(
    state: web::Data<AppState>,
    signed_in: SignedIn,
    id: web::Path<ClientId>,
    req: HttpRequest,
    mut payload: Multipart,
) -> Result<HttpResponse, ApiError> {
    let client_id = id.into_inner();
    let config = &state.documents.config;
    let keys_of = state.clone();
    let (principal, organisation_id, key, new_key) = signed_in
        .run(&state.pool, move |conn, principal| {
            let client = clients::authorized(conn, &principal, client_id, Action::UploadDocument)?;
            let (key, new_key) = keys::existing_or_new(conn, &keys_of.master_keys, client_id)?;
            Ok((principal, client.organisation_id, key, new_key))
        })
        .await?;
    let declared = req
        .headers()
        .get(actix_web::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|length| length > config.max_bytes + ENVELOPE_BYTES) {
        return Err(too_large(config.max_bytes));
    }
    let document_id = Id::new();
    let storage_key = DocumentStore::key_of(client_id, document_id);
    let receiver = Upload {
        key,
        document_id,
        storage_key: &storage_key,
        store: &state.documents.store,
        max_bytes: config.max_bytes,
        clamd: config.clamd_address.as_deref(),
    };
    let mut stored = None;
    let received = receive_parts(&receiver, &mut payload, &mut stored).await;
    let recorded = match (received, stored) {
        (Ok(fields), Some(file)) => {
            let storage_key = storage_key.clone();
            http::run(&state.pool, move |conn| {
                record(conn, &principal, (client_id, organisation_id), document_id, &storage_key, fields, file, new_key)
            })
            .await
        }
        (Ok(_), None) => Err(ApiError::bad_request("missing_part", "The body has no `file` part.")),
        (Err(error), _) => Err(error),
    };
    match recorded {
        Ok(document) => Ok(crate::http::precondition::created(
            format!("/api/v1/documents/{}", document.id),
            document.version,
            &document,
        )),
        Err(error) => {
            // A file stored before the request failed must not stay behind.
            if let Err(cleanup) = state.documents.store.delete(&storage_key).await {
                tracing::error!(error = %cleanup, %document_id, "a refused upload's bytes could not be removed");
            }
            Err(error)
        }
    }
}

#[allow(clippy::too_many_arguments)]
fn record(
    conn: &mut DbConnection,
    principal: &Principal,
    (client_id, organisation_id): (ClientId, OrganisationId),
    document_id: DocumentId,
    storage_key: &str,
    fields: DocumentFields,
    file: StoredFile,
    new_key: Option<NewKey>,
) -> Result<Document, ApiError> {
    let client = clients::queries::find(conn, client_id)?.ok_or_else(|| ApiError::not_found("client"))?;
    clients::refuse_if_erased(&client)?;
    let link = check_links(conn, principal, client_id, organisation_id, &fields)?;
    db::transaction(conn, |conn| {
        if let Some(new_key) = &new_key {
            new_key.store(conn).map_err(|_| {
                ApiError::conflict("retry", "Another change to the client's record came first; send the upload again.")
            })?;
        }
        let size = i64::try_from(file.sealed.size).map_err(|e| ApiError::Internal(e.into()))?;
        let row = queries::insert(
            conn,
            NewDocument {
                id: document_id,
                organisation_id,
                client_id,
                fields: &fields,
                link,
                sha256: &file.sealed.sha256,
                size,
                content_type: file.content_type.mime(),
                chunk_size: CHUNK_SIZE as i32,
                storage_key,
                uploaded_by: principal.user_id,
            },
        )?;
        audit::record(
            conn,
            Event::new(&principal.actor, "document.upload", RESOURCE)
                .on(document_id)
                .for_client(client_id)
                .in_tier(link.psychological),
        )?;
        Ok(row.view()?)
    })
}

/// A client's documents the caller may see (oldest first): documents of a psychological
/// session only to those inside the tier.
#[utoipa::path(
    operation_id = "list_documents_of_client",
    tag = "documents",
    params(("id" = Id, Path, description = "Client id"), PageQuery),
    responses(
        (status = 200, description = "A page of documents", body = Page<Document>),
        (status = 400, description = "Invalid page", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such client", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[get("/clients/{id}/documents")]
pub async fn list_of_client(
    state: web::Data<AppState>,
    signed_in: SignedIn,
    id: web::Path<ClientId>,
    page: web::Query<PageQuery>,
) -> Result<web::Json<Page<Document>>, ApiError> {
    let client_id = id.into_inner();
    let page = page.parse()?;
    let listed = signed_in
        .run(&state.pool, move |conn, principal| {
            clients::authorized(conn, &principal, client_id, Action::ListDocuments)?;
            let viewer = Viewer::of(&principal);
            let rows = queries::list_of_client(conn, client_id, viewer, page)?;
            let documents = rows.into_iter().map(|row| row.view()).collect::<Result<Vec<_>, _>>()?;
            audit::record(conn, Event::new(&principal.actor, "document.list", RESOURCE).for_client(client_id))?;
            Ok(Page::from_rows(documents, page, |d| d.id, |d| d))
        })
        .await?;
    Ok(web::Json(listed))
}

/// A document's metadata.
#[utoipa::path(
    operation_id = "read_document",
    tag = "documents",
    params(("id" = Id, Path, description = "Document id")),
    responses(
        (status = 200, description = "The document's metadata", body = Document, headers(("ETag" = String))),
        (status = 403, description = "The role holds no client records", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such document, or one outside the caller's tier", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[get("/documents/{id}")]
pub async fn read(
    state: web::Data<AppState>,
    signed_in: SignedIn,
    id: web::Path<DocumentId>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let document = signed_in
        .run(&state.pool, move |conn, principal| {
            let (row, tier) = authorized(conn, &principal, id, Action::ReadDocument)?;
            let event = Event::new(&principal.actor, "document.read", RESOURCE).on(id).for_client(row.client_id);
            audit::record(conn, event.in_tier(tier))?;
            Ok(row.view()?)
        })
        .await?;
    Ok(with_etag(StatusCode::OK, document.version, &document))
}

/// Download a document's content (audited). Each chunk is sent only once it has been
/// authenticated. A stored object that is missing, of the wrong length, or whose first chunks
/// fail is answered 409 (`document_unreadable`) before anything is sent; a later chunk that fails
/// cuts the response short of its `Content-Length` (and the recorded SHA-256 is checked at the
/// end, likewise). Either way it is logged and audited, and no altered byte is given out.
#[utoipa::path(
    tag = "documents",
    params(("id" = Id, Path, description = "Document id")),
    responses(
        (status = 200, description = "The content, as uploaded, with its recorded type", content(
            (DocumentContent = "application/pdf"),
            (DocumentContent = "image/jpeg"),
            (DocumentContent = "image/png"),
            (DocumentContent = "image/heic"),
            (DocumentContent = "image/tiff"),
            (DocumentContent = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
            (DocumentContent = "application/vnd.oasis.opendocument.text"),
        )),
        (status = 403, description = "The role holds no client records", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such document, or one outside the caller's tier", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The stored document failed its integrity check before the answer began (`document_unreadable`)", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The document store is unreachable", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[get("/documents/{id}/content")]
pub async fn download(
    state: web::Data<AppState>,
    signed_in: SignedIn,
    id: web::Path<DocumentId>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let keys_of = state.clone();
    let readable = signed_in
        .run(&state.pool, move |conn, principal| {
            let (row, tier) = authorized(conn, &principal, id, Action::ReadDocument)?;
            let key = key_of(conn, &keys_of.master_keys, row.sealed_with_key_of())?;
            Ok(Readable { row, tier, key, principal })
        })
        .await?;
    send_content(&state, readable).await
}

/// Correct a document's metadata (JSON Merge Patch); its content never changes.
#[utoipa::path(
    operation_id = "update_document",
    tag = "documents",
    params(
        ("id" = Id, Path, description = "Document id"),
        ("If-Match" = String, Header, description = "ETag of the version being changed"),
    ),
    request_body = DocumentPatch,
    responses(
        (status = 200, description = "Corrected", body = Document, headers(("ETag" = String))),
        (status = 403, description = "The role may not correct documents", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such document", body = Problem, content_type = "application/problem+json"),
        (status = 410, description = "The client's record was erased", body = Problem, content_type = "application/problem+json"),
        (status = 412, description = "Stale version", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields", body = Problem, content_type = "application/problem+json"),
        (status = 428, description = "If-Match missing", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[patch("/documents/{id}")]
pub async fn update(
    state: web::Data<AppState>,
    signed_in: SignedIn,
    id: web::Path<DocumentId>,
    if_match: IfMatch,
    body: web::Json<DocumentPatch>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let patch = body.into_inner();
    let document = signed_in
        .run(&state.pool, move |conn, principal| {
            let (current, tier) = authorized(conn, &principal, id, Action::UpdateDocument)?;
            let client =
                clients::queries::find(conn, current.client_id)?.ok_or_else(|| ApiError::not_found("client"))?;
            clients::refuse_if_erased(&client)?;
            let touches_session = patch.touches_session();
            let mut errors = FieldErrors::default();
            let input = patch.apply(current.fields()?, &mut errors);
            errors.finish(|| Some(()))?;
            let fields = input.parse().map_err(FieldErrors::into_error)?;
            let link = if touches_session {
                check_links(conn, &principal, current.client_id, current.organisation_id, &fields)?
            } else {
                let unchanged_session = DocumentFields { session_id: None, ..fields.clone() };
                check_links(conn, &principal, current.client_id, current.organisation_id, &unchanged_session)?;
                SessionLink { psychological: current.psychological, counselor_id: current.session_counselor_id }
            };
            db::transaction(conn, |conn| {
                let row = queries::update(conn, &current, if_match.0, &fields, link)?.ok_or_else(IfMatch::stale)?;
                audit::record(
                    conn,
                    Event::new(&principal.actor, "document.update", RESOURCE)
                        .on(id)
                        .for_client(row.client_id)
                        .in_tier(tier || link.psychological),
                )?;
                Ok(row.view()?)
            })
        })
        .await?;
    Ok(with_etag(StatusCode::OK, document.version, &document))
}

/// Delete a document: it leaves the case file at once (audited); its stored bytes are
/// destroyed after the retention period. Counselors delete the documents they uploaded,
/// coordinators any of the organisation's.
#[utoipa::path(
    operation_id = "remove_document",
    tag = "documents",
    params(("id" = Id, Path, description = "Document id")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 403, description = "Not allowed", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such document", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[delete("/documents/{id}")]
pub async fn remove(
    state: web::Data<AppState>,
    signed_in: SignedIn,
    id: web::Path<DocumentId>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let retention = state.documents.config.retention;
    signed_in
        .run(&state.pool, move |conn, principal| {
            let (row, tier) = authorized(conn, &principal, id, Action::DeleteDocument)?;
            db::transaction(conn, |conn| {
                if queries::delete(conn, id, principal.user_id, super::purge_time(retention))? == 0 {
                    return Err(ApiError::not_found(RESOURCE));
                }
                audit::record(
                    conn,
                    Event::new(&principal.actor, "document.delete", RESOURCE)
                        .on(id)
                        .for_client(row.client_id)
                        .in_tier(tier),
                )?;
                Ok(())
            })
        })
        .await?;
    Ok(HttpResponse::NoContent().finish())
}
