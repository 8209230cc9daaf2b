//! `/clients/{id}/export` and `/clients/{id}/erase`.

use actix_web::{HttpResponse, get, post, web};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::audit::{self, Event};
use crate::auth::SignedIn;
use crate::clients::{self, model::Client};
use crate::consents::model::Consent;
use crate::crypto::SessionField;
use crate::crypto::keys::KeyRing;
use crate::db::schema::{referrals, sessions};
use crate::db::{self, Id};
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
}

/// Export everything held about a client as one JSON document (audited). Coordinators export
/// everything but the psychological tier; psychologists of the organisation (counselors or
/// coordinators with the psychological specialty) export it too.
#[utoipa::path(
    tag = "privacy",
    params(("id" = Id, Path, description = "Client id")),
    responses(
        (status = 200, description = "The export", body = ClientExport),
        (status = 403, description = "Only coordinators and psychologists export", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such client", body = Problem, content_type = "application/problem+json"),
        (status = 410, description = "The client's record was erased", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[get("/clients/{id}/export")]
pub async fn export(
    state: web::Data<AppState>,
    signed_in: SignedIn,
    id: web::Path<Id>,
) -> Result<web::Json<ClientExport>, ApiError> {
    let id = id.into_inner();
    let keys_of = state.clone();
    let export = signed_in
        .run(&state.pool, move |conn, principal| {
            let row = clients::authorized(conn, &principal, id, Action::ExportClient)?;
            let today = domain::today();
            let client = clients::view(conn, row, today)?;
            let consents = crate::consents::queries::of_client(conn, id)?
                .into_iter()
                .map(|c| c.view(today))
                .collect::<Result<Vec<_>, _>>()?;
            let procedure_events = crate::procedure::queries::events_of_client(conn, id)?
                .into_iter()
                .map(|e| e.view())
                .collect::<Result<Vec<_>, _>>()?;
            let participated = crate::db::schema::session_participants::table
                .filter(crate::db::schema::session_participants::client_id.eq(id))
                .select(crate::db::schema::session_participants::session_id);
            let rows: Vec<SessionRow> = sessions::table
                .filter(sessions::id.eq_any(participated))
                .order(sessions::started_at)
                .select(SessionRow::as_select())
                .load(conn)?;
            let psychologist = principal.caller().psychologist();
            let mut keys = KeyRing::new(&keys_of.master_keys);
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
            // A psychologist's export is a tier event whatever it holds, so that its presence in
            // the trail says nothing about whether the client sees a psychologist.
            audit::record(
                conn,
                Event::new(&principal.actor, "client.export", clients::RESOURCE)
                    .on(id)
                    .for_client(id)
                    .in_tier(crate::sessions::inside_tier(&principal)),
            )?;
            Ok(ClientExport {
                exported_at: db::now(),
                client,
                consents,
                procedure_events,
                sessions: exported_sessions,
                referrals: exported_referrals,
                documents: crate::documents::exported(conn, &principal, id)?,
            })
        })
        .await?;
    Ok(web::Json(export))
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
    id: web::Path<Id>,
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
