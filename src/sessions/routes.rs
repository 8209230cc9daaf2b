//! `/clients/{id}/sessions`, `/sessions`, `/sessions/{id}`, `/sessions/counts`.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, delete, get, patch, post, web};

use super::model::{
    Details, KindCount, Notes, PeriodQuery, Session, SessionCounts, SessionFields, SessionFilter, SessionInput,
    SessionPatch, SessionRow,
};
use super::queries::{self, NewSession, Resealed, SessionQuery, Viewer};
use super::sealing::{Sealer, open_details};
use crate::audit::{self, Event, Outcome};
use crate::auth::{Principal, SignedIn};
use crate::clients::{self, model::ClientRow};
use crate::crypto::keys::{KeyError, KeyRing};
use crate::crypto::{CryptoError, DataKey, MasterKeys, SessionField};
use crate::db::{self, ClientId, DbConnection, Id, SessionId};
use crate::domain;
use crate::http::idempotency::{self, Created, IdempotencyKey};
use crate::http::pagination::{Page, PageQuery};
use crate::http::precondition::{IfMatch, with_etag};
use crate::http::{ApiError, FieldErrors, Problem};
use crate::policy::{self, Action, Decision, Target};
use crate::reports::PsychologicalMonth;
use crate::state::AppState;

const RESOURCE: &str = "session";

pub fn configure(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(counts)
        .service(log)
        .service(list_of_client)
        .service(list)
        .service(read)
        .service(update)
        .service(remove);
}

impl From<KeyError> for ApiError {
    fn from(error: KeyError) -> Self {
        match error {
            KeyError::Database(error) => ApiError::Database(error),
            KeyError::Crypto(error) => ApiError::Internal(anyhow::anyhow!("client data key unusable: {error}")),
        }
    }
}

/// Loads a session the caller may act on. A psychological session outside the caller's tier
/// does not exist for them (404), whatever the action, and its refusal is a tier event: to
/// outsiders it answers and audits exactly as an id that does not exist.
fn authorized(
    conn: &mut DbConnection,
    principal: &Principal,
    id: SessionId,
    action: Action,
) -> Result<SessionRow, ApiError> {
    principal.refuse_if_never(conn, action, RESOURCE, Some(id.any()))?;
    let row = queries::find(conn, id)?.ok_or_else(|| ApiError::not_found(RESOURCE))?;
    let target = Target::record(row.organisation_id, row.counselor_id);
    principal.authorize_record_of_tier(conn, action, target, row.is_psychological(), RESOURCE, id)?;
    Ok(row)
}

/// Every further participant must be a client of the same organisation.
fn check_participants(conn: &mut DbConnection, client: &ClientRow, fields: &SessionFields) -> Result<(), ApiError> {
    let ids: Vec<ClientId> = fields.participants.iter().map(|p| p.client_id).collect();
    if !ids.is_empty() && queries::count_own_clients(conn, client.organisation_id, &ids)? != ids.len() as i64 {
        let mut errors = FieldErrors::default();
        errors.add("participants", "names a client that does not exist or whose record was erased");
        return errors.finish(|| None);
    }
    Ok(())
}

/// Decrypts a session's notes for one reader (`key`: the client's, if it has a usable one); a
/// failure is reported, never returned as garbage.
fn open_notes(
    conn: &mut DbConnection,
    key: Option<&DataKey>,
    principal: &Principal,
    row: &SessionRow,
) -> Result<Notes, ApiError> {
    let Some(sealed) = &row.notes_ciphertext else {
        return Ok(Notes::Shown(None));
    };
    let opened = key.ok_or(CryptoError::Integrity).and_then(|key| key.open(SessionField::Notes, row.id, sealed));
    match opened {
        Ok(notes) => {
            audit::record(
                conn,
                Event::new(&principal.actor, "session.read_notes", RESOURCE)
                    .on(row.id)
                    .for_client(row.client_id)
                    .in_tier(row.is_psychological()),
            )?;
            Ok(Notes::Shown(Some(notes)))
        }
        Err(_) => {
            tracing::error!(session_id = %row.id, "session notes failed authentication");
            let event = Event::new(&principal.actor, "session.notes_unreadable", RESOURCE)
                .on(row.id)
                .for_client(row.client_id)
                .in_tier(row.is_psychological());
            audit::record(conn, event.outcome(Outcome::Failure))?;
            Ok(Notes::Unreadable)
        }
    }
}

fn view(conn: &mut DbConnection, row: SessionRow, notes: Notes, details: Details) -> Result<Session, ApiError> {
    let participants = queries::participants(conn, row.id)?;
    Ok(row.view(participants, notes, details)?)
}

/// A page of sessions as listed: summary and topics decrypted with each client's key, opened
/// once for the page; notes withheld.
fn listed(conn: &mut DbConnection, keys: &mut KeyRing<'_>, rows: Vec<SessionRow>) -> Result<Vec<Session>, ApiError> {
    rows.into_iter()
        .map(|row| {
            let details = open_details(keys.existing(conn, row.client_id)?, &row);
            view(conn, row, Notes::Withheld, details)
        })
        .collect()
}

/// Log a session with a client. Group sessions name further participants.
#[utoipa::path(
    tag = "sessions",
    params(
        ("id" = Id, Path, description = "Client id"),
        ("Idempotency-Key" = Option<String>, Header, description = "Makes a retry return the first response"),
    ),
    request_body = SessionInput,
    responses(
        (status = 201, description = "Logged", body = Session, headers(("ETag" = String), ("Location" = String))),
        (status = 404, description = "No such client", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields (a kind outside the author's specialties among them)", body = Problem, content_type = "application/problem+json"),
        (status = 410, description = "The client's record was erased", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[post("/clients/{id}/sessions")]
pub async fn log(
    state: web::Data<AppState>,
    signed_in: SignedIn,
    id: web::Path<ClientId>,
    key: IdempotencyKey,
    body: web::Json<SessionInput>,
) -> Result<HttpResponse, ApiError> {
    let client_id = id.into_inner();
    let input = body.into_inner();
    let request_hash = idempotency::fingerprint(&format!("POST /clients/{client_id}/sessions"), &input)?;
    let keys_of = state.clone();
    let created = signed_in
        .run(&state.pool, move |conn, principal| {
            let master = &keys_of.master_keys;
            idempotency::create_once(
                conn,
                principal.user_id,
                &key,
                &request_hash,
                |conn, id| read_one(conn, master, &principal, id).map(created),
                |conn| {
                    let client = clients::authorized(conn, &principal, client_id, Action::LogSession)?;
                    let fields = input
                        .parse(client_id, &principal.specialties, crate::clock::now())
                        .map_err(FieldErrors::into_error)?;
                    check_participants(conn, &client, &fields)?;
                    Ok((client, fields))
                },
                |conn, (client, fields)| {
                    let session_id = Id::new();
                    let mut sealer = Sealer::new(master, client_id, session_id);
                    let notes_ciphertext = sealer.notes(conn, fields.notes.as_deref())?;
                    let details_ciphertext = sealer.details(conn, &fields.details())?;
                    let row = queries::insert(
                        conn,
                        NewSession {
                            id: session_id,
                            organisation_id: client.organisation_id,
                            client_id,
                            counselor_id: principal.user_id,
                            fields: &fields,
                            notes_ciphertext,
                            details_ciphertext,
                        },
                    )?;
                    audit::record(
                        conn,
                        Event::new(&principal.actor, "session.create", RESOURCE)
                            .on(session_id)
                            .for_client(client_id)
                            .in_tier(row.is_psychological()),
                    )?;
                    let notes = Notes::Shown(fields.notes.clone());
                    Ok(created(view(conn, row, notes, Details::Shown(fields.details()))?))
                },
            )
        })
        .await?;
    Ok(created.response())
}

fn created(session: Session) -> Created<Session> {
    Created::new(session.id, format!("/api/v1/sessions/{}", session.id), session.version, session)
}

fn session_query(
    filter: &SessionFilter,
) -> Result<(SessionQuery, crate::http::pagination::PageRequest<SessionId>), ApiError> {
    let page = PageQuery { limit: filter.limit, cursor: filter.cursor.clone() }.parse()?;
    let mut errors = FieldErrors::default();
    if filter.from.zip(filter.to).is_some_and(|(from, to)| from > to) {
        errors.add("to", "must not be before from");
    }
    errors.check_days(&[("from", filter.from), ("to", filter.to)]);
    if filter.city.as_ref().is_some_and(|city| city.chars().count() > 100) {
        errors.add("city", "must be at most 100 characters");
    }
    errors.finish_query(|| Some(()))?;
    let query = SessionQuery {
        client_id: None,
        counselor_id: filter.counselor_id,
        kind: filter.kind.map(|k| k.code()),
        mode: filter.mode.map(|m| m.code()),
        city: filter.city.clone(),
        from: filter.from.map(domain::start_of_day_utc),
        until: filter.to.map(|to| domain::start_of_day_utc(to + chrono::Days::new(1))),
    };
    Ok((query, page))
}

/// The organisation's sessions the caller may see (oldest first, without notes).
#[utoipa::path(
    operation_id = "list_sessions",
    tag = "sessions",
    params(SessionFilter),
    responses(
        (status = 200, description = "A page of sessions", body = Page<Session>),
        (status = 400, description = "Invalid query", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The role holds no client records", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[get("/sessions")]
pub async fn list(
    state: web::Data<AppState>,
    signed_in: SignedIn,
    filter: web::Query<SessionFilter>,
) -> Result<web::Json<Page<Session>>, ApiError> {
    let (query, page) = session_query(&filter)?;
    let keys_of = state.clone();
    let page = signed_in
        .run(&state.pool, move |conn, principal| {
            let organisation_id = principal.authorize_in_own_organisation(conn, Action::ListSessions, RESOURCE)?;
            let rows = queries::list(conn, organisation_id, Viewer::of(&principal), &query, page)?;
            let sessions = listed(conn, &mut KeyRing::new(&keys_of.master_keys), rows)?;
            audit::record(conn, Event::new(&principal.actor, "session.list", RESOURCE))?;
            Ok(Page::from_rows(sessions, page, |s| s.id, |s| s))
        })
        .await?;
    Ok(web::Json(page))
}

/// The sessions a client took part in that the caller may see (oldest first, without notes).
#[utoipa::path(
    tag = "sessions",
    params(("id" = Id, Path, description = "Client id"), SessionFilter),
    responses(
        (status = 200, description = "A page of sessions", body = Page<Session>),
        (status = 404, description = "No such client", body = Problem, content_type = "application/problem+json"),
        (status = 410, description = "The client's record was erased", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[get("/clients/{id}/sessions")]
pub async fn list_of_client(
    state: web::Data<AppState>,
    signed_in: SignedIn,
    id: web::Path<ClientId>,
    filter: web::Query<SessionFilter>,
) -> Result<web::Json<Page<Session>>, ApiError> {
    let client_id = id.into_inner();
    let (mut query, page) = session_query(&filter)?;
    query.client_id = Some(client_id);
    let keys_of = state.clone();
    let page = signed_in
        .run(&state.pool, move |conn, principal| {
            let client = clients::authorized(conn, &principal, client_id, Action::ListSessions)?;
            let rows = queries::list(conn, client.organisation_id, Viewer::of(&principal), &query, page)?;
            let sessions = listed(conn, &mut KeyRing::new(&keys_of.master_keys), rows)?;
            audit::record(conn, Event::new(&principal.actor, "session.list", RESOURCE).for_client(client_id))?;
            Ok(Page::from_rows(sessions, page, |s| s.id, |s| s))
        })
        .await?;
    Ok(web::Json(page))
}

/// One session, with its confidential notes decrypted (the read is audited).
#[utoipa::path(
    operation_id = "read_session",
    tag = "sessions",
    params(("id" = Id, Path, description = "Session id")),
    responses(
        (status = 200, description = "The session", body = Session, headers(("ETag" = String))),
        (status = 403, description = "The role holds no client records", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such session, or one outside the caller's tier", body = Problem, content_type = "application/problem+json"),
        (status = 410, description = "The client's record was erased", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[get("/sessions/{id}")]
pub async fn read(
    state: web::Data<AppState>,
    signed_in: SignedIn,
    id: web::Path<SessionId>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let keys_of = state.clone();
    let session =
        signed_in.run(&state.pool, move |conn, principal| read_one(conn, &keys_of.master_keys, &principal, id)).await?;
    Ok(with_etag(StatusCode::OK, session.version, &session))
}

/// What `GET /sessions/{id}` answers; a retried logging is answered the same way, so a deleted
/// session or one outside the caller's tier is not repeated from a stored copy.
fn read_one(
    conn: &mut DbConnection,
    master: &MasterKeys,
    principal: &Principal,
    id: SessionId,
) -> Result<Session, ApiError> {
    let row = authorized(conn, principal, id, Action::ReadSession)?;
    let client = clients::queries::find(conn, row.client_id)?.ok_or_else(|| ApiError::not_found("client"))?;
    clients::refuse_if_erased(&client)?;
    let event = Event::new(&principal.actor, "session.read", RESOURCE).on(id).for_client(row.client_id);
    audit::record(conn, event.in_tier(row.is_psychological()))?;
    let mut keys = KeyRing::new(master);
    let key = keys.existing(conn, row.client_id)?;
    let notes = open_notes(conn, key, principal, &row)?;
    let details = open_details(key, &row);
    view(conn, row, notes, details)
}

/// Correct a session (JSON Merge Patch). Counselors correct their own sessions; coordinators
/// any of the organisation's they may see.
#[utoipa::path(
    operation_id = "update_session",
    tag = "sessions",
    params(
        ("id" = Id, Path, description = "Session id"),
        ("If-Match" = String, Header, description = "ETag of the version being changed"),
    ),
    request_body = SessionPatch,
    responses(
        (status = 200, description = "Corrected", body = Session, headers(("ETag" = String))),
        (status = 403, description = "The role may not correct sessions", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such session", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The stored summary and topics cannot be decrypted (`details_unreadable`): correct both together", body = Problem, content_type = "application/problem+json"),
        (status = 410, description = "The client's record was erased: its sessions no longer change", body = Problem, content_type = "application/problem+json"),
        (status = 412, description = "Stale version", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields", body = Problem, content_type = "application/problem+json"),
        (status = 428, description = "If-Match missing", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[patch("/sessions/{id}")]
pub async fn update(
    state: web::Data<AppState>,
    signed_in: SignedIn,
    id: web::Path<SessionId>,
    if_match: IfMatch,
    body: web::Json<SessionPatch>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let patch = body.into_inner();
    let keys_of = state.clone();
    let session = signed_in
        .run(&state.pool, move |conn, principal| {
            let current = authorized(conn, &principal, id, Action::UpdateSession)?;
            let client =
                clients::queries::find(conn, current.client_id)?.ok_or_else(|| ApiError::not_found("client"))?;
            clients::refuse_if_erased(&client)?;
            let participants = queries::participants(conn, id)?;
            let touches_notes = patch.touches_notes();
            let touches_details = patch.touches_summary() || patch.touches_topics();
            let (stored, unreadable) =
                match open_details(KeyRing::new(&keys_of.master_keys).existing(conn, current.client_id)?, &current) {
                    Details::Shown(details) => (details, false),
                    // Summary and topics are sealed together: correcting one of them alone would
                    // store the other as empty.
                    Details::Unreadable if touches_details && !(patch.touches_summary() && patch.touches_topics()) => {
                        return Err(ApiError::conflict(
                            "details_unreadable",
                            "The stored summary and topics cannot be decrypted; correct both together.",
                        ));
                    }
                    Details::Unreadable => (Default::default(), true),
                };
            let mut errors = FieldErrors::default();
            let input = patch.apply(current.input(&participants, stored, None)?, &mut errors);
            errors.finish(|| Some(()))?;
            // The author's specialties decide which kinds the session may have.
            let author_specialties = crate::users::queries::find(conn, current.counselor_id)?
                .map(|author| author.specialties)
                .unwrap_or_default();
            let fields = input
                .parse(current.client_id, &author_specialties, crate::clock::now())
                .map_err(FieldErrors::into_error)?;
            check_participants(conn, &client, &fields)?;
            db::transaction(conn, |conn| {
                let mut sealer = Sealer::new(&keys_of.master_keys, current.client_id, id);
                let resealed = Resealed {
                    notes: touches_notes.then(|| sealer.notes(conn, fields.notes.as_deref())).transpose()?,
                    details: touches_details.then(|| sealer.details(conn, &fields.details())).transpose()?,
                };
                let row = queries::update(conn, &current, if_match.0, &fields, resealed)?.ok_or_else(IfMatch::stale)?;
                audit::record(
                    conn,
                    Event::new(&principal.actor, "session.update", RESOURCE)
                        .on(id)
                        .for_client(row.client_id)
                        .in_tier(current.is_psychological() || row.is_psychological()),
                )?;
                let notes = if touches_notes { Notes::Shown(fields.notes.clone()) } else { Notes::Withheld };
                let details =
                    if unreadable && !touches_details { Details::Unreadable } else { Details::Shown(fields.details()) };
                view(conn, row, notes, details)
            })
        })
        .await?;
    Ok(with_etag(StatusCode::OK, session.version, &session))
}

/// Delete a session: only its author, only within 24 hours of logging it.
#[utoipa::path(
    tag = "sessions",
    params(("id" = Id, Path, description = "Session id")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 403, description = "Not the author", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such session", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Logged more than 24 hours ago: correct it instead", body = Problem, content_type = "application/problem+json"),
        (status = 410, description = "The client's record was erased: its sessions no longer change", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[delete("/sessions/{id}")]
pub async fn remove(
    state: web::Data<AppState>,
    signed_in: SignedIn,
    id: web::Path<SessionId>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    signed_in
        .run(&state.pool, move |conn, principal| {
            let row = authorized(conn, &principal, id, Action::DeleteSession)?;
            let client = clients::queries::find(conn, row.client_id)?.ok_or_else(|| ApiError::not_found("client"))?;
            clients::refuse_if_erased(&client)?;
            if !policy::within_window(Action::DeleteSession, row.created_at, db::now().naive_utc()) {
                return Err(ApiError::conflict(
                    "deletion_window_passed",
                    "A session can be deleted only within 24 hours of logging it; correct it instead.",
                ));
            }
            db::transaction(conn, |conn| {
                queries::delete(conn, id)?;
                audit::record(
                    conn,
                    Event::new(&principal.actor, "session.delete", RESOURCE)
                        .on(id)
                        .for_client(row.client_id)
                        .in_tier(row.is_psychological()),
                )?;
                Ok(())
            })
        })
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Counts of the organisation's sessions in a period, by kind. For callers outside the
/// psychological tier every figure leaves psychological sessions out, so nothing they count
/// changes when one exists; they learn of psychological work only from `psychological_by_month`
/// (whole calendar months, each counted on its own, counts of 0-4 shown as "<5" with their
/// hours). As for reports, they ask for whole calendar months: `from` the first day of a month,
/// `to` the last day of a month, else 422. Analysts, who hold no records, get counts of 1-4 as
/// "<5" (with a complementary kind "suppressed" and minutes hidden with their counts).
/// Psychologists of the organisation get every figure exactly, for any period.
#[utoipa::path(
    tag = "sessions",
    params(PeriodQuery),
    responses(
        (status = 200, description = "Counts", body = SessionCounts),
        (status = 400, description = "Invalid period", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not allowed", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A period of part of a month outside the psychological tier (`errors.from`, `errors.to`)", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[get("/sessions/counts")]
pub async fn counts(
    state: web::Data<AppState>,
    signed_in: SignedIn,
    period: web::Query<PeriodQuery>,
) -> Result<web::Json<SessionCounts>, ApiError> {
    let PeriodQuery { from, to } = period.into_inner();
    let mut errors = FieldErrors::default();
    if from > to || (to - from).num_days() > 3660 {
        errors.add("to", "must be on or after from, within ten years");
    }
    errors.finish_query(|| Some(()))?;
    let counts = signed_in
        .run(&state.pool, move |conn, principal| {
            let organisation_id = principal.authorize_in_own_organisation(conn, Action::CountSessions, RESOURCE)?;
            let inside_tier = super::inside_tier(&principal);
            if !inside_tier {
                let mut errors = FieldErrors::default();
                crate::reports::require_whole_months(from, to, &mut errors);
                if !errors.is_empty() {
                    return Err(errors.into_error());
                }
            }
            let exact =
                policy::decide(principal.caller(), Action::ReadExactFigures, Target::owned_by(Some(organisation_id)))
                    == Decision::Allow;
            let by_kind = queries::counts(
                conn,
                organisation_id,
                domain::start_of_day_utc(from),
                domain::start_of_day_utc(to + chrono::Days::new(1)),
                inside_tier,
            )?;
            let psychological_by_month =
                crate::reports::queries::psychological_by_month(conn, organisation_id, from, to)?
                    .iter()
                    .map(|month| PsychologicalMonth::published(month, inside_tier))
                    .collect();
            let (sessions, minutes, by_kind) = crate::reports::publish_by_kind(by_kind, exact);
            Ok(SessionCounts {
                from,
                to,
                suppressed: !exact,
                sessions,
                minutes,
                by_kind: by_kind
                    .into_iter()
                    .map(|(kind, sessions, minutes)| KindCount { kind, sessions, minutes })
                    .collect(),
                psychological_by_month,
            })
        })
        .await?;
    Ok(web::Json(counts))
}
