//! Documents shared with the partner of a referral: the sending organisation chooses them, and
//! the partner sees them only while the referral is open and the client's consent to share with
//! that partner stands and covers documents. Withdrawing the consent (or the referral ending)
//! cuts the partner's access at once. Documents of the psychological tier are never shared.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, get, put, web};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::content::{Readable, key_of, send_content};
use super::model::{Document, DocumentContent, DocumentRow};
use super::queries;
use crate::audit::{self, Event};
use crate::auth::{Principal, SignedIn};
use crate::consents::model::ConsentScope;
use crate::db::schema::{documents, referral_documents};
use crate::db::{self, DbConnection, DocumentId, Id, ReferralId};
use crate::domain::{self, distinct};
use crate::http::{ApiError, FieldErrors, Problem};
use crate::policy::{Action, Target};
use crate::referrals::lifecycle;
use crate::referrals::model::ReferralRow;
use crate::state::AppState;

const REFERRAL: &str = "referral";

pub fn configure(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(share).service(list_shared).service(shared_content);
}

/// The documents the partner of a referral is to see (replacing any earlier choice).
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SharedDocumentsInput {
    /// Documents of the referred client; the client's consent must cover `documents` unless
    /// the list is empty. At most 50.
    pub document_ids: Vec<DocumentId>,
}

/// The documents shared with the partner of a referral.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct SharedDocuments {
    pub referral_id: ReferralId,
    pub documents: Vec<Document>,
}

/// Whether the referral is open and its consent stands and covers documents today.
fn sharing_allowed(conn: &mut DbConnection, row: &ReferralRow) -> Result<bool, ApiError> {
    let today = domain::today();
    if !lifecycle::is_open(row.status_on(today)?) {
        return Ok(false);
    }
    let Some(consent) = crate::consents::queries::find(conn, row.client_id, row.consent_id)? else {
        return Ok(false);
    };
    Ok(consent.is_valid_on(today) && consent.scope.contains(&ConsentScope::Documents))
}

fn shared_rows(conn: &mut DbConnection, referral_id: ReferralId) -> Result<Vec<DocumentRow>, ApiError> {
    let rows: Vec<DocumentRow> = documents::table
        .inner_join(referral_documents::table.on(referral_documents::document_id.eq(documents::id)))
        .filter(referral_documents::referral_id.eq(referral_id))
        .filter(documents::deleted_at.is_null())
        .order(documents::id)
        .select(DocumentRow::as_select())
        .load(conn)?;
    let mut visible = Vec::with_capacity(rows.len());
    for row in rows {
        if !queries::in_tier(conn, &row)? {
            visible.push(row);
        }
    }
    Ok(visible)
}

/// The referral as the partner reaches it, with the documents it may see now; to anyone else,
/// or once the referral or the consent no longer allows it, there is nothing (404).
fn for_partner(
    conn: &mut DbConnection,
    principal: &Principal,
    id: ReferralId,
) -> Result<(ReferralRow, Vec<DocumentRow>), ApiError> {
    let row = crate::referrals::queries::find(conn, id)?.ok_or_else(|| ApiError::not_found(REFERRAL))?;
    let target = Target::service(row.to_organisation_id, row.service()?);
    principal.authorize(conn, Action::ReadReferredClient, target, REFERRAL, Some(id.any()))?;
    if !sharing_allowed(conn, &row)? {
        return Err(ApiError::not_found("shared document"));
    }
    let documents = shared_rows(conn, id)?;
    Ok((row, documents))
}

/// Choose the documents the partner of a referral sees (the sending organisation). The
/// client's consent must cover `documents`; documents of the psychological tier cannot be
/// shared.
#[utoipa::path(
    tag = "documents",
    params(("id" = Id, Path, description = "Referral id")),
    request_body = SharedDocumentsInput,
    responses(
        (status = 200, description = "The documents now shared", body = SharedDocuments),
        (status = 403, description = "The role takes no part in referrals", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such referral sent by the caller's organisation", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The referral is closed", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "The consent does not cover documents, or an id names no shareable document of the client", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[put("/referrals/{id}/shared-documents")]
pub async fn share(
    state: web::Data<AppState>,
    signed_in: SignedIn,
    id: web::Path<ReferralId>,
    body: web::Json<SharedDocumentsInput>,
) -> Result<web::Json<SharedDocuments>, ApiError> {
    let id = id.into_inner();
    let input = body.into_inner();
    let mut errors = FieldErrors::default();
    let ids = errors.check("document_ids", distinct(&input.document_ids, 50));
    let ids = errors.finish(|| ids)?;
    let answer = signed_in
        .run(&state.pool, move |conn, principal| {
            let row = crate::referrals::queries::find(conn, id)?.ok_or_else(|| ApiError::not_found(REFERRAL))?;
            principal.authorize(
                conn,
                Action::ShareDocuments,
                Target::organisation(row.from_organisation_id),
                REFERRAL,
                Some(id.any()),
            )?;
            let status = row.status_on(domain::today())?;
            if !lifecycle::is_open(status) {
                return Err(ApiError::wrong_status(status.code(), "Documents are shared only on an open referral."));
            }
            let mut errors = FieldErrors::default();
            if !ids.is_empty() && !sharing_allowed(conn, &row)? {
                errors.add("document_ids", "the client's consent to share with this partner does not cover documents");
            }
            for document_id in &ids {
                let shareable = match queries::find_current(conn, *document_id)? {
                    Some(document) => document.client_id == row.client_id && !queries::in_tier(conn, &document)?,
                    None => false,
                };
                if !shareable {
                    errors.add("document_ids", "names no document of the referred client that can be shared");
                }
            }
            errors.finish(|| Some(()))?;
            db::transaction(conn, |conn| {
                diesel::delete(referral_documents::table.filter(referral_documents::referral_id.eq(id)))
                    .execute(conn)?;
                for document_id in &ids {
                    diesel::insert_into(referral_documents::table)
                        .values((
                            referral_documents::referral_id.eq(id),
                            referral_documents::document_id.eq(document_id),
                        ))
                        .execute(conn)?;
                }
                audit::record(
                    conn,
                    Event::new(&principal.actor, "referral.share_documents", REFERRAL).on(id).for_client(row.client_id),
                )?;
                let documents = shared_rows(conn, id)?.into_iter().map(|d| d.view()).collect::<Result<Vec<_>, _>>()?;
                Ok(SharedDocuments { referral_id: id, documents })
            })
        })
        .await?;
    Ok(web::Json(answer))
}

/// The documents of a referred client shared with the caller's organisation (the partner),
/// while the referral is open and the consent covers documents.
#[utoipa::path(
    tag = "documents",
    params(("id" = Id, Path, description = "Referral id")),
    responses(
        (status = 200, description = "The shared documents", body = SharedDocuments),
        (status = 403, description = "The role takes no part in referrals", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "Nothing to see: not the receiving organisation, the referral is closed, or the consent does not cover documents (any more)", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[get("/referrals/{id}/shared-documents")]
pub async fn list_shared(
    state: web::Data<AppState>,
    signed_in: SignedIn,
    id: web::Path<ReferralId>,
) -> Result<web::Json<SharedDocuments>, ApiError> {
    let id = id.into_inner();
    let answer = signed_in
        .run(&state.pool, move |conn, principal| {
            let (row, documents) = for_partner(conn, &principal, id)?;
            audit::record(
                conn,
                Event::new(&principal.actor, "referral.read_documents", REFERRAL).on(id).for_client(row.client_id),
            )?;
            let documents = documents.into_iter().map(|d| d.view()).collect::<Result<Vec<_>, _>>()?;
            Ok(SharedDocuments { referral_id: id, documents })
        })
        .await?;
    Ok(web::Json(answer))
}

/// Download a document shared with the caller's organisation (audited, checked as every
/// download is).
#[utoipa::path(
    tag = "documents",
    params(
        ("id" = Id, Path, description = "Referral id"),
        ("document_id" = Id, Path, description = "Document id"),
    ),
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
        (status = 403, description = "The role takes no part in referrals", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "Not shared with the caller's organisation, or no longer", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The stored document failed its integrity check (`document_unreadable`)", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[get("/referrals/{id}/shared-documents/{document_id}/content")]
pub async fn shared_content(
    state: web::Data<AppState>,
    signed_in: SignedIn,
    path: web::Path<(ReferralId, DocumentId)>,
) -> Result<HttpResponse, ApiError> {
    let (id, document_id) = path.into_inner();
    let keys_of = state.clone();
    let readable = signed_in
        .run(&state.pool, move |conn, principal| {
            let (_, documents) = for_partner(conn, &principal, id)?;
            let row = documents
                .into_iter()
                .find(|d| d.id == document_id)
                .ok_or_else(|| ApiError::new(StatusCode::NOT_FOUND, "not_found", "No such shared document."))?;
            let key = key_of(conn, &keys_of.master_keys, row.sealed_with_key_of())?;
            Ok(Readable { row, tier: false, key, principal })
        })
        .await?;
    send_content(&state, readable).await
}
