//! `/clients/{id}/procedure-events` and the organisation's agenda, `/deadlines`.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, get, patch, post, web};

use super::deadlines::check_order;
use super::model::{
    AgendaFilter, AgendaItem, EventFields, EventRow, ProcedureEventInput, ProcedureEventPatch, ProcedureEventView,
};
use super::queries::{self, AgendaQuery};
use crate::audit::{self, Event};
use crate::auth::{Principal, SignedIn};
use crate::clients::{self, model::ClientRow};
use crate::db::{self, ClientId, DbConnection, Id, ProcedureEventId};
use crate::domain;
use crate::http::idempotency::{self, Created, IdempotencyKey};
use crate::http::pagination::{Page, PageQuery};
use crate::http::precondition::{IfMatch, with_etag};
use crate::http::{ApiError, FieldErrors, Problem};
use crate::policy::Action;
use crate::sessions::{self, queries::Viewer};
use crate::state::AppState;

const RESOURCE: &str = "procedure_event";

pub fn configure(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(record).service(timeline).service(correct).service(agenda);
}

/// Parses an event and checks it against the rest of the timeline (`except` is the event being
/// corrected).
fn checked(
    conn: &mut DbConnection,
    client: &ClientRow,
    input: &ProcedureEventInput,
    except: Option<ProcedureEventId>,
) -> Result<EventFields, ApiError> {
    let fields = input.parse(domain::today()).map_err(FieldErrors::into_error)?;
    let others = queries::events_of_client(conn, client.id)?
        .into_iter()
        .filter(|row| Some(row.id) != except)
        .map(|row| row.engine_event())
        .collect::<Vec<_>>();
    let candidate = super::events::ProcedureEvent {
        id: String::new(),
        kind: fields.kind,
        occurred_on: fields.occurred_on,
        delivered_on: fields.delivered_on,
        outcome: fields.outcome,
    };
    if let Err(message) = check_order(&others, &candidate) {
        let mut errors = FieldErrors::default();
        errors.add("kind", message);
        return errors.finish(|| None);
    }
    Ok(fields)
}

/// Record a procedure event; the client's stage and deadlines follow from it.
#[utoipa::path(
    operation_id = "record_procedure_event",
    tag = "procedure",
    params(
        ("id" = Id, Path, description = "Client id"),
        ("Idempotency-Key" = Option<String>, Header, description = "Makes a retry return the first response"),
    ),
    request_body = ProcedureEventInput,
    responses(
        (status = 201, description = "Recorded", body = ProcedureEventView, headers(("ETag" = String), ("Location" = String))),
        (status = 404, description = "No such client", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields or an order the law does not allow", body = Problem, content_type = "application/problem+json"),
        (status = 410, description = "The client's record was erased", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[post("/clients/{id}/procedure-events")]
pub async fn record(
    state: web::Data<AppState>,
    signed_in: SignedIn,
    id: web::Path<ClientId>,
    key: IdempotencyKey,
    body: web::Json<ProcedureEventInput>,
) -> Result<HttpResponse, ApiError> {
    let client_id = id.into_inner();
    let input = body.into_inner();
    let request_hash = idempotency::fingerprint(&format!("POST /clients/{client_id}/procedure-events"), &input)?;
    let created = signed_in
        .run(&state.pool, move |conn, principal| {
            idempotency::create_once(
                conn,
                principal.user_id,
                &key,
                &request_hash,
                |conn, id| {
                    let event = timeline_of(conn, &principal, client_id)?
                        .into_iter()
                        .find(|event| event.id == id)
                        .ok_or_else(|| ApiError::not_found(RESOURCE))?;
                    Ok(created(client_id, event))
                },
                |conn| clients::authorized(conn, &principal, client_id, Action::RecordProcedureEvent),
                |conn, client| {
                    let fields = checked(conn, &client, &input, None)?;
                    let row =
                        queries::insert_event(conn, client.id, client.organisation_id, principal.user_id, &fields)?;
                    queries::rederive(conn, client.id, client.organisation_id)?;
                    audit::record(
                        conn,
                        Event::new(&principal.actor, "procedure_event.create", RESOURCE)
                            .on(row.id)
                            .for_client(client.id),
                    )?;
                    Ok(created(client_id, row.view()))
                },
            )
        })
        .await?;
    Ok(created.response())
}

fn created(client_id: ClientId, event: ProcedureEventView) -> Created<ProcedureEventView> {
    Created::new(event.id, format!("/api/v1/clients/{client_id}/procedure-events/{}", event.id), event.version, event)
}

/// The client's procedure timeline, oldest first.
#[utoipa::path(
    tag = "procedure",
    params(("id" = Id, Path, description = "Client id")),
    responses(
        (status = 200, description = "Every event of the timeline (one page)", body = Page<ProcedureEventView>),
        (status = 404, description = "No such client", body = Problem, content_type = "application/problem+json"),
        (status = 410, description = "The client's record was erased", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[get("/clients/{id}/procedure-events")]
pub async fn timeline(
    state: web::Data<AppState>,
    signed_in: SignedIn,
    id: web::Path<ClientId>,
) -> Result<web::Json<Page<ProcedureEventView>>, ApiError> {
    let client_id = id.into_inner();
    let events = signed_in.run(&state.pool, move |conn, principal| timeline_of(conn, &principal, client_id)).await?;
    Ok(web::Json(Page { items: events, next_cursor: None }))
}

/// What `GET /clients/{id}/procedure-events` answers. An event has no `GET` of its own, so a
/// retried recording is answered with its event from this timeline.
fn timeline_of(
    conn: &mut DbConnection,
    principal: &Principal,
    client_id: ClientId,
) -> Result<Vec<ProcedureEventView>, ApiError> {
    clients::authorized(conn, principal, client_id, Action::ReadProcedure)?;
    let events = queries::events_of_client(conn, client_id)?.into_iter().map(EventRow::view).collect::<Vec<_>>();
    audit::record(conn, Event::new(&principal.actor, "procedure_event.list", RESOURCE).for_client(client_id))?;
    Ok(events)
}

/// Correct a recorded event (JSON Merge Patch); deadlines are derived again.
#[utoipa::path(
    tag = "procedure",
    params(
        ("id" = Id, Path, description = "Client id"),
        ("event_id" = Id, Path, description = "Event id"),
        ("If-Match" = String, Header, description = "ETag of the version being changed"),
    ),
    request_body = ProcedureEventPatch,
    responses(
        (status = 200, description = "Corrected", body = ProcedureEventView, headers(("ETag" = String))),
        (status = 404, description = "No such client or event", body = Problem, content_type = "application/problem+json"),
        (status = 412, description = "Stale version", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields or order", body = Problem, content_type = "application/problem+json"),
        (status = 428, description = "If-Match missing", body = Problem, content_type = "application/problem+json"),
        (status = 410, description = "The client's record was erased", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[patch("/clients/{id}/procedure-events/{event_id}")]
pub async fn correct(
    state: web::Data<AppState>,
    signed_in: SignedIn,
    path: web::Path<(ClientId, ProcedureEventId)>,
    if_match: IfMatch,
    body: web::Json<ProcedureEventPatch>,
) -> Result<HttpResponse, ApiError> {
    let (client_id, event_id) = path.into_inner();
    let patch = body.into_inner();
    let event = signed_in
        .run(&state.pool, move |conn, principal| {
            let client = clients::authorized(conn, &principal, client_id, Action::RecordProcedureEvent)?;
            let current =
                queries::find_event(conn, client_id, event_id)?.ok_or_else(|| ApiError::not_found(RESOURCE))?;
            let mut errors = FieldErrors::default();
            let input = patch.apply(current.input(), &mut errors);
            errors.finish(|| Some(()))?;
            let fields = checked(conn, &client, &input, Some(event_id))?;
            db::transaction(conn, |conn| {
                let row = queries::update_event(conn, event_id, if_match.0, &fields)?.ok_or_else(IfMatch::stale)?;
                queries::rederive(conn, client.id, client.organisation_id)?;
                audit::record(
                    conn,
                    Event::new(&principal.actor, "procedure_event.update", RESOURCE).on(event_id).for_client(client_id),
                )?;
                Ok(row.view())
            })
        })
        .await?;
    Ok(with_etag(StatusCode::OK, event.version, &event))
}

/// The organisation's agenda, soonest first, with days left (Europe/Warsaw): open legal
/// deadlines and sessions' follow-ups (a follow-up closes when a later session with the client
/// is logged).
#[utoipa::path(
    tag = "procedure",
    params(AgendaFilter),
    responses(
        (status = 200, description = "A page of open deadlines", body = Page<AgendaItem>),
        (status = 400, description = "Invalid query", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The role holds no client records", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[get("/deadlines")]
pub async fn agenda(
    state: web::Data<AppState>,
    signed_in: SignedIn,
    filter: web::Query<AgendaFilter>,
) -> Result<web::Json<Page<AgendaItem>>, ApiError> {
    let filter = filter.into_inner();
    let page = PageQuery { limit: filter.limit, cursor: filter.cursor.clone() }
        .parse_keyed::<chrono::NaiveDate, _>()?
        .on_the_calendar(|day| *day)?;
    let today = domain::today();
    let mut errors = FieldErrors::default();
    let due_by = match filter.within_days {
        Some(days) if !(0..=3650).contains(&days) => {
            errors.add("within_days", "must be between 0 and 3650");
            None
        }
        Some(days) => Some(today + chrono::Days::new(days as u64)),
        None => None,
    };
    errors.finish_query(|| Some(()))?;
    let query =
        AgendaQuery { counselor_id: filter.counselor_id, due_from: None, due_by, overdue: filter.overdue, today };
    let page = signed_in
        .run(&state.pool, move |conn, principal| {
            let organisation_id = principal.authorize_in_own_organisation(conn, Action::ListDeadlines, "deadline")?;
            let mut items = queries::agenda(conn, organisation_id, &query, &page)?;
            let viewer = Viewer::of(&principal);
            items.extend(sessions::queries::follow_ups(conn, organisation_id, viewer, &query, &page)?);
            items.sort_by_key(|item| (item.due_on, item.id));
            audit::record(conn, Event::new(&principal.actor, "deadline.list", "deadline"))?;
            Ok(Page::from_keyed_rows(items, &page, |item| (item.due_on.to_string(), item.id), |item| item))
        })
        .await?;
    Ok(web::Json(page))
}
