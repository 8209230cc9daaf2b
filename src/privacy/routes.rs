//! `/clients/{id}/export` and `/clients/{id}/erase`.

use actix_web::{HttpResponse, get, post, web};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::archive::{ArchiveRequest, ArchivedDocument};
use crate::audit::{self, Event};
use crate::auth::{Principal, SignedIn};
use crate::clients::{self, model::Client};
use crate::consents::model::Consent;
use crate::crypto::keys::KeyRing;
use crate::crypto::{MasterKeys, SessionField};
use crate::db::schema::{referrals, sessions};
use crate::db::{self, ClientId, DbConnection, Id};
use crate::documents::content::key_of;
use crate::documents::model::DocumentRow;
use crate::domain::{self, bounded_text};
use crate::http::{ApiError, FieldErrors, Problem};
use crate::policy::Action;
use crate::procedure::model::ProcedureEventView;
use crate::referrals::model::{Referral, ReferralRow};
use crate::sessions::model::{Notes, Session, SessionRow};
use crate::sessions::sealing::open_details;
use crate::state::AppState;
use diesel::prelude::*;

pub fn configure(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(export).service(erase);
}

/// Everything the organisation holds about one client (GDPR Art. 15 and 20).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ClientExport {
    pub exported_at: DateTime<Utc>,
    /// The record with identifiers, household links and open deadlines.
    pub client: Client,
    pub consents: Vec<Consent>,
    pub procedure_events: Vec<ProcedureEventView>,
    /// Sessions the client took part in that the exporting user may see, with decrypted notes, summaries
    /// and topics. A group session in another client's file comes without its notes, which belong
    /// to that file (`has_notes` says whether it has any).
    /// Psychological sessions are in a psychologist's export only: for anyone else they are
    /// absent, as is any sign of them (an Art. 15 request is answered by a coordinator's
    /// export together with a psychologist's).
    pub sessions: Vec<Session>,
    /// Referrals of the client to partners, with their history.
    pub referrals: Vec<Referral>,
    /// The client's documents (metadata; each content is downloaded on its own), those of
    /// psychological sessions in a psychologist's export only.
    #[serde(default)]
    pub documents: Vec<crate::documents::model::Document>,
    /// Appointments the client takes part in that the exporting user may see (psychological
    /// ones as the sessions of the tier).
    #[serde(default)]
    pub appointments: Vec<crate::appointments::model::Appointment>,
    /// Tasks about the client.
    #[serde(default)]
    pub tasks: Vec<crate::tasks::model::Task>,
}

/// How an export is given: one JSON document, or a ZIP archive of that JSON with the content of
/// every document it lists.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ExportFormat {
    #[default]
    Json,
    Zip,
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ExportQuery {
    /// `json` (the default): the export as one JSON document, documents listed by their
    /// metadata. `zip`: an archive for the data subject holding that JSON (`export.json`) and
    /// the content of every document it lists (`documents/<date>_<kind>_<title>.<ext>`).
    #[param(inline)]
    pub format: Option<ExportFormat>,
}

/// A ZIP archive: `export.json` and the documents' contents.
#[derive(ToSchema)]
#[schema(value_type = String, format = Binary)]
#[allow(dead_code)]
pub struct ExportArchive(Vec<u8>);

/// What an export holds, assembled in the caller's view (the audit event is the caller's to
/// record): the JSON document and the documents it lists, with whether each is in the tier.
fn assemble(
    conn: &mut DbConnection,
    master: &MasterKeys,
    principal: &Principal,
    id: ClientId,
) -> Result<(ClientExport, Vec<(DocumentRow, bool)>), ApiError> {
    let row = clients::authorized(conn, principal, id, Action::ExportClient)?;
    let today = domain::today();
    let client = clients::view(conn, row, today)?;
    let consents =
        crate::consents::queries::of_client(conn, id)?.into_iter().map(|c| c.view(today)).collect::<Vec<_>>();
    let procedure_events =
        crate::procedure::queries::events_of_client(conn, id)?.into_iter().map(|e| e.view()).collect::<Vec<_>>();
    let participated = crate::db::schema::session_participants::table
        .filter(crate::db::schema::session_participants::client_id.eq(id))
        .select(crate::db::schema::session_participants::session_id);
    let rows: Vec<SessionRow> = sessions::table
        .filter(sessions::id.eq_any(participated))
        .order(sessions::started_at)
        .select(SessionRow::as_select())
        .load(conn)?;
    let psychologist = principal.caller().psychologist();
    let mut keys = KeyRing::new(master);
    let mut exported_sessions = Vec::new();
    for row in rows {
        if row.is_psychological() && !psychologist && row.counselor_id != principal.user_id {
            continue;
        }
        let key = keys.existing(conn, row.client_id)?;
        let notes = match (&row.notes_ciphertext, key) {
            // The notes of a group session in another client's file belong to that file.
            _ if row.client_id != id => Notes::Withheld,
            (None, _) => Notes::Shown(None),
            (Some(sealed), Some(key)) => match key.open(SessionField::Notes, row.id, sealed) {
                Ok(notes) => Notes::Shown(Some(notes)),
                Err(_) => Notes::Unreadable,
            },
            (Some(_), None) => Notes::Unreadable,
        };
        let details = open_details(key, &row);
        let participants = crate::sessions::queries::participants(conn, row.id)?;
        exported_sessions.push(row.view(participants, notes, details)?);
    }
    let referral_rows: Vec<ReferralRow> = referrals::table
        .filter(referrals::client_id.eq(id))
        .order(referrals::id)
        .select(ReferralRow::as_select())
        .load(conn)?;
    let mut exported_referrals = Vec::new();
    for row in referral_rows {
        let history = crate::referrals::queries::events_of(conn, row.id)?
            .into_iter()
            .map(|e| e.view())
            .collect::<Result<Vec<_>, _>>()?;
        let mut referral = row.view(today, true)?;
        referral.history = history;
        exported_referrals.push(referral);
    }
    let documents = crate::documents::exportable(conn, principal, id)?;
    let views = documents.iter().map(|(row, _)| row.clone().view()).collect::<Result<Vec<_>, _>>()?;
    let viewer = crate::sessions::queries::Viewer::of(principal);
    let appointments = crate::appointments::queries::of_client(conn, id, viewer)?;
    let appointments = crate::appointments::queries::viewed(conn, appointments)?;
    let tasks = crate::tasks::queries::of_client(conn, id)?
        .into_iter()
        .map(|task| task.view(Some(client.reference.clone()), today))
        .collect();
    let assembled = ClientExport {
        appointments,
        tasks,
        exported_at: db::now(),
        client,
        consents,
        procedure_events,
        sessions: exported_sessions,
        referrals: exported_referrals,
        documents: views,
    };
    Ok((assembled, documents))
}

/// Export everything held about a client (audited): one JSON document, or with `format=zip` an
/// archive of that document and every listed document's content, each opened and checked as a
/// download is (a document that fails its check refuses the whole archive with 409
/// `document_unreadable`; nothing is given out). Coordinators export everything but the
/// psychological tier; psychologists of the organisation (counselors or coordinators with the
/// psychological specialty) export it too.
#[utoipa::path(
    tag = "privacy",
    params(("id" = Id, Path, description = "Client id"), ExportQuery),
    responses(
        (status = 200, description = "The export: JSON, or with `format=zip` an archive", content(
            (ClientExport = "application/json"),
            (ExportArchive = "application/zip"),
        )),
        (status = 400, description = "An unknown format or query parameter", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Only coordinators and psychologists export", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such client", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "A document failed its integrity check (`document_unreadable`; archives only)", body = Problem, content_type = "application/problem+json"),
        (status = 410, description = "The client's record was erased", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The document store is unreachable (archives only)", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[get("/clients/{id}/export")]
pub async fn export(
    state: web::Data<AppState>,
    signed_in: SignedIn,
    id: web::Path<ClientId>,
    query: web::Query<ExportQuery>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let keys_of = state.clone();
    if query.format.unwrap_or_default() == ExportFormat::Zip {
        let request = signed_in
            .run(&state.pool, move |conn, principal| {
                let (assembled, rows) = assemble(conn, &keys_of.master_keys, &principal, id)?;
                let mut documents = Vec::with_capacity(rows.len());
                for (row, tier) in rows {
                    let key = key_of(conn, &keys_of.master_keys, row.sealed_with_key_of())?;
                    documents.push(ArchivedDocument { row, tier, key });
                }
                Ok(ArchiveRequest { principal, client_id: id, export: assembled, documents })
            })
            .await?;
        return super::archive::respond(&state, request).await;
    }
    let exported = signed_in
        .run(&state.pool, move |conn, principal| {
            let (assembled, _) = assemble(conn, &keys_of.master_keys, &principal, id)?;
            // A psychologist's export is a tier event whatever it holds, so that its presence in
            // the trail says nothing about whether the client sees a psychologist.
            audit::record(
                conn,
                Event::new(&principal.actor, "client.export", clients::RESOURCE)
                    .on(id)
                    .for_client(id)
                    .in_tier(crate::sessions::inside_tier(&principal)),
            )?;
            Ok(assembled)
        })
        .await?;
    Ok(HttpResponse::Ok().json(exported))
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EraseRequest {
    /// Why (e.g. the client's request of a given date); kept with the anonymised record.
    #[schema(max_length = 500)]
    pub reason: String,
}

/// Erase a client: irreversible anonymisation. Names, contacts, identifiers, free texts and
/// notes are destroyed (the client's data key too); counts used by reports stay. Group sessions
/// in other clients' files lose the client's participation and names; partners of the client's
/// referrals read a `client_erased` event in their change feed. The record then answers 410.
#[utoipa::path(
    tag = "privacy",
    params(("id" = Id, Path, description = "Client id")),
    request_body = EraseRequest,
    responses(
        (status = 204, description = "Erased"),
        (status = 403, description = "Only coordinators erase", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such client", body = Problem, content_type = "application/problem+json"),
        (status = 410, description = "Erased already", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Reason missing", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[post("/clients/{id}/erase")]
pub async fn erase(
    state: web::Data<AppState>,
    signed_in: SignedIn,
    id: web::Path<ClientId>,
    body: web::Json<EraseRequest>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let mut errors = FieldErrors::default();
    let reason = errors.check("reason", bounded_text(&body.reason, 1, 500));
    let reason = errors.finish(|| reason)?;
    let keys_of = state.clone();
    signed_in
        .run(&state.pool, move |conn, principal| {
            clients::authorized(conn, &principal, id, Action::EraseClient)?;
            Ok(super::erase(conn, &keys_of.master_keys, id, &principal.actor, &reason)?)
        })
        .await?;
    Ok(HttpResponse::NoContent().finish())
}
