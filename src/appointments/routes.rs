//! `/clients/{id}/appointments`, `/appointments`, `/appointments/{id}` and its transitions.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, get, patch, post, web};
use chrono::NaiveDateTime;

use super::lifecycle::{self, Move};
use super::model::{
    Appointment, AppointmentFields, AppointmentFilter, AppointmentInput, AppointmentPatch, AppointmentRow,
    CancelRequest, HoldRequest,
};
use super::queries::{self, AppointmentQuery, Calendar, NewAppointment, StatusChange};
use super::{RESOURCE, authorized};
use crate::audit::{self, Event};
use crate::auth::{Principal, SignedIn};
use crate::clients::{self, model::ClientRow};
use crate::db::{self, AppointmentId, ClientId, DbConnection, Id, OrganisationId, SessionId, UserId};
use crate::domain::{self, SessionKind};
use crate::http::idempotency::{self, Created, IdempotencyKey};
use crate::http::pagination::{KeyedPageRequest, Page, PageQuery, instant_key};
use crate::http::precondition::{IfMatch, with_etag};
use crate::http::{ApiError, FieldErrors, Problem};
use crate::interpreters;
use crate::policy::{self, Action, Decision, Target};
use crate::sessions::model::{ParticipantInput, SessionInput};
use crate::sessions::queries::Viewer;
use crate::sessions::sealing::Sealer;
use crate::state::AppState;
use crate::users;

pub fn configure(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(plan)
        .service(list_of_client)
        .service(list)
        .service(read)
        .service(update)
        .service(confirm)
        .service(cancel)
        .service(mark_no_show)
        .service(hold);
}

fn view(conn: &mut DbConnection, row: AppointmentRow) -> Result<Appointment, ApiError> {
    let reference = clients::queries::find(conn, row.client_id)?
        .map(|client| client.reference)
        .ok_or_else(|| ApiError::not_found("client"))?;
    let participants = queries::participants(conn, row.id)?;
    Ok(row.view(reference, participants))
}

fn event<'a>(principal: &'a Principal, action: &'static str, row: &AppointmentRow) -> Event<'a> {
    Event::new(&principal.actor, action, RESOURCE).on(row.id).for_client(row.client_id).in_tier(row.is_psychological())
}

/// What a refused booking tells the caller: the conflicting appointment's id only when they
/// may see it (never one of the tier outside it, never another organisation's).
fn busy(principal: &Principal, calendar: Calendar, conflicting: &AppointmentRow) -> ApiError {
    let (code, detail) = match calendar {
        Calendar::Counselor(_) => ("counselor_busy", "The counselor has another appointment at that time."),
        Calendar::Interpreter(_) => ("interpreter_busy", "The interpreter is booked at that time."),
    };
    let visible = principal.organisation_id == Some(conflicting.organisation_id)
        && Viewer::of(principal).sees(conflicting.is_psychological(), conflicting.counselor_id);
    if visible { ApiError::conflicts_with(code, conflicting.id, detail) } else { ApiError::conflict(code, detail) }
}

/// Checks what parsing alone cannot: the counselor may hold the appointment (and its kind), the
/// interpreter works for the organisation in its language, the participants are its clients.
fn check(
    conn: &mut DbConnection,
    principal: &Principal,
    client: &ClientRow,
    fields: &AppointmentFields,
) -> Result<(), ApiError> {
    let organisation_id = client.organisation_id;
    principal.authorize(
        conn,
        Action::PlanAppointment,
        Target::record(organisation_id, fields.counselor_id),
        RESOURCE,
        None,
    )?;
    let mut errors = FieldErrors::default();
    let counselor = users::queries::find(conn, fields.counselor_id)?;
    let caller = counselor.as_ref().and_then(|user| user.as_caller());
    match (caller, counselor) {
        (Some(caller), Some(counselor))
            if policy::decide(caller, Action::HoldAppointment, Target::record(organisation_id, counselor.id))
                == Decision::Allow =>
        {
            if fields.kind != SessionKind::Other && !counselor.specialties.contains(&fields.kind) {
                errors.add("kind", "is not among the counselor's specialties (plan it as `other`)");
            }
        }
        _ => errors.add("counselor_id", "is not an active counselor of this organisation"),
    }
    if let Some(interpreter_id) = fields.interpreter_id
        && let Some(problem) =
            interpreters::unfit_for(conn, interpreter_id, organisation_id, fields.language.as_deref())?
    {
        errors.add("interpreter_id", problem);
    }
    let participants = &fields.participants;
    if !participants.is_empty()
        && crate::sessions::queries::count_own_clients(conn, organisation_id, participants)?
            != participants.len() as i64
    {
        errors.add("participants", "names a client that does not exist or whose record was erased");
    }
    errors.finish(|| Some(()))
}

/// Inside the write transaction: takes the calendars' locks, then refuses a time already taken.
fn book(
    conn: &mut DbConnection,
    principal: &Principal,
    fields: &AppointmentFields,
    except: Option<AppointmentId>,
) -> Result<(), ApiError> {
    let mut calendars = vec![Calendar::Counselor(fields.counselor_id)];
    calendars.extend(fields.interpreter_id.map(Calendar::Interpreter));
    queries::lock(conn, &calendars)?;
    for calendar in calendars {
        if let Some(conflicting) = queries::first_overlap(conn, calendar, fields.starts_at, fields.ends_at, except)? {
            return Err(busy(principal, calendar, &conflicting));
        }
    }
    Ok(())
}

/// The client of an appointment planned on `counselor_id`'s calendar. The policy decides on that
/// calendar (a counselor plans on their own only, a coordinator on any of the organisation's);
/// then the client must be one the caller reads, neither erased nor merged away.
fn client_to_plan_for(
    conn: &mut DbConnection,
    principal: &Principal,
    client_id: ClientId,
    counselor_id: UserId,
) -> Result<ClientRow, ApiError> {
    let row = clients::queries::find(conn, client_id)?.ok_or_else(|| ApiError::not_found(clients::RESOURCE))?;
    let target = Target::record(row.organisation_id, counselor_id);
    principal.authorize(conn, Action::PlanAppointment, target, clients::RESOURCE, Some(client_id.any()))?;
    clients::authorized(conn, principal, client_id, Action::ReadClient)
}

/// Plan an appointment with a client (a group appointment names further participants). No two
/// planned or confirmed appointments of one counselor, or of one interpreter, overlap.
#[utoipa::path(
    operation_id = "plan_appointment",
    tag = "appointments",
    params(
        ("id" = Id, Path, description = "Client id"),
        ("Idempotency-Key" = Option<String>, Header, description = "Makes a retry return the first response"),
    ),
    request_body = AppointmentInput,
    responses(
        (status = 201, description = "Planned", body = Appointment, headers(("ETag" = String), ("Location" = String))),
        (status = 403, description = "The role plans no appointments, or a counselor plans on a colleague's calendar", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such client", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The counselor (`counselor_busy`) or the interpreter (`interpreter_busy`) is booked at that time; `conflicting_id` names the appointment when the caller may see it", body = Problem, content_type = "application/problem+json"),
        (status = 410, description = "The client's record was erased", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[post("/clients/{id}/appointments")]
pub async fn plan(
    state: web::Data<AppState>,
    signed_in: SignedIn,
    id: web::Path<ClientId>,
    key: IdempotencyKey,
    body: web::Json<AppointmentInput>,
) -> Result<HttpResponse, ApiError> {
    let client_id = id.into_inner();
    let input = body.into_inner();
    let request_hash = idempotency::fingerprint(&format!("POST /clients/{client_id}/appointments"), &input)?;
    let created = signed_in
        .run(&state.pool, move |conn, principal| {
            idempotency::create_once(
                conn,
                principal.user_id,
                &key,
                &request_hash,
                |conn, id| read_one(conn, &principal, id).map(created),
                |conn| {
                    let counselor_id = input.counselor_id.unwrap_or(principal.user_id);
                    let client = client_to_plan_for(conn, &principal, client_id, counselor_id)?;
                    let fields = input
                        .parse(client_id, principal.user_id, crate::clock::now())
                        .map_err(FieldErrors::into_error)?;
                    check(conn, &principal, &client, &fields)?;
                    Ok((client, fields))
                },
                |conn, (client, fields)| {
                    book(conn, &principal, &fields, None)?;
                    let row = queries::insert(
                        conn,
                        NewAppointment {
                            id: AppointmentId::new(),
                            organisation_id: client.organisation_id,
                            client_id,
                            created_by: principal.user_id,
                            fields: &fields,
                        },
                    )?;
                    audit::record(conn, event(&principal, "appointment.create", &row))?;
                    Ok(created(view(conn, row)?))
                },
            )
        })
        .await?;
    Ok(created.response())
}

fn created(appointment: Appointment) -> Created<Appointment> {
    Created::new(appointment.id, format!("/api/v1/appointments/{}", appointment.id), appointment.version, appointment)
}

fn appointment_query(
    filter: &AppointmentFilter,
) -> Result<(AppointmentQuery, KeyedPageRequest<NaiveDateTime, AppointmentId>), ApiError> {
    let page = PageQuery { limit: filter.limit, cursor: filter.cursor.clone() }.parse_keyed()?;
    let page = page.on_the_calendar(NaiveDateTime::date)?;
    let mut errors = FieldErrors::default();
    errors.check_days(&[("from", filter.from), ("to", filter.to)]);
    if filter.from.zip(filter.to).is_some_and(|(from, to)| from > to) {
        errors.add("to", "must not be before from");
    }
    if filter.city.as_ref().is_some_and(|city| city.chars().count() > 100) {
        errors.add("city", "must be at most 100 characters");
    }
    errors.finish_query(|| Some(()))?;
    let query = AppointmentQuery {
        counselor_id: filter.counselor_id,
        client_id: filter.client_id,
        status: filter.status,
        city: filter.city.clone(),
        from: filter.from.map(domain::start_of_day_utc),
        until: filter.to.map(|to| domain::start_of_day_utc(to + chrono::Days::new(1))),
    };
    Ok((query, page))
}

fn page_of(
    conn: &mut DbConnection,
    principal: &Principal,
    organisation_id: OrganisationId,
    query: &AppointmentQuery,
    page: &KeyedPageRequest<NaiveDateTime, AppointmentId>,
) -> Result<Page<Appointment>, ApiError> {
    let rows = queries::list(conn, organisation_id, Viewer::of(principal), query, page)?;
    let items = queries::viewed(conn, rows)?;
    Ok(Page::from_keyed_rows(items, page, |a| (instant_key(a.starts_at.naive_utc()), a.id), |a| a))
}

/// The organisation's appointments the caller may see, by start time. Psychological ones are
/// listed only to their counselor and to psychologists (the agenda shows them to others as
/// busy time).
#[utoipa::path(
    operation_id = "list_appointments",
    tag = "appointments",
    params(AppointmentFilter),
    responses(
        (status = 200, description = "A page of appointments", body = Page<Appointment>),
        (status = 400, description = "Invalid query", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The role holds no client records", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[get("/appointments")]
pub async fn list(
    state: web::Data<AppState>,
    signed_in: SignedIn,
    filter: web::Query<AppointmentFilter>,
) -> Result<web::Json<Page<Appointment>>, ApiError> {
    let (query, page) = appointment_query(&filter)?;
    let page = signed_in
        .run(&state.pool, move |conn, principal| {
            let organisation_id = principal.authorize_in_own_organisation(conn, Action::ListAppointments, RESOURCE)?;
            let page = page_of(conn, &principal, organisation_id, &query, &page)?;
            audit::record(conn, Event::new(&principal.actor, "appointment.list", RESOURCE))?;
            Ok(page)
        })
        .await?;
    Ok(web::Json(page))
}

/// The appointments a client takes part in that the caller may see, by start time.
#[utoipa::path(
    operation_id = "list_appointments_of_client",
    tag = "appointments",
    params(("id" = Id, Path, description = "Client id"), AppointmentFilter),
    responses(
        (status = 200, description = "A page of appointments", body = Page<Appointment>),
        (status = 400, description = "Invalid query", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such client", body = Problem, content_type = "application/problem+json"),
        (status = 410, description = "The client's record was erased", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[get("/clients/{id}/appointments")]
pub async fn list_of_client(
    state: web::Data<AppState>,
    signed_in: SignedIn,
    id: web::Path<ClientId>,
    filter: web::Query<AppointmentFilter>,
) -> Result<web::Json<Page<Appointment>>, ApiError> {
    let client_id = id.into_inner();
    let (mut query, page) = appointment_query(&filter)?;
    query.client_id = Some(client_id);
    let page = signed_in
        .run(&state.pool, move |conn, principal| {
            let client = clients::authorized(conn, &principal, client_id, Action::ListAppointments)?;
            let page = page_of(conn, &principal, client.organisation_id, &query, &page)?;
            audit::record(conn, Event::new(&principal.actor, "appointment.list", RESOURCE).for_client(client_id))?;
            Ok(page)
        })
        .await?;
    Ok(web::Json(page))
}

fn read_one(conn: &mut DbConnection, principal: &Principal, id: AppointmentId) -> Result<Appointment, ApiError> {
    let row = authorized(conn, principal, id, Action::ReadAppointment)?;
    audit::record(conn, event(principal, "appointment.read", &row))?;
    view(conn, row)
}

/// One appointment.
#[utoipa::path(
    operation_id = "read_appointment",
    tag = "appointments",
    params(("id" = Id, Path, description = "Appointment id")),
    responses(
        (status = 200, description = "The appointment", body = Appointment, headers(("ETag" = String))),
        (status = 403, description = "The role holds no client records", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such appointment, or one outside the caller's tier", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[get("/appointments/{id}")]
pub async fn read(
    state: web::Data<AppState>,
    signed_in: SignedIn,
    id: web::Path<AppointmentId>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let appointment = signed_in.run(&state.pool, move |conn, principal| read_one(conn, &principal, id)).await?;
    Ok(with_etag(StatusCode::OK, appointment.version, &appointment))
}

/// Refuses a change of an appointment that no longer takes place as planned.
fn refuse_unless_booked(row: &AppointmentRow, doing: &str) -> Result<(), ApiError> {
    if !row.status.is_booked() {
        return Err(ApiError::wrong_status(
            row.status.code(),
            format!("A {} appointment cannot be {doing}.", row.status.code()),
        ));
    }
    Ok(())
}

/// Change an appointment that is still planned or confirmed (JSON Merge Patch): reschedule it,
/// move it to another counselor, book or release an interpreter. Counselors change their own;
/// coordinators any of the organisation's they may see.
#[utoipa::path(
    operation_id = "update_appointment",
    tag = "appointments",
    params(
        ("id" = Id, Path, description = "Appointment id"),
        ("If-Match" = String, Header, description = "ETag of the version being changed"),
    ),
    request_body = AppointmentPatch,
    responses(
        (status = 200, description = "Changed", body = Appointment, headers(("ETag" = String))),
        (status = 403, description = "Not the caller's appointment to change", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such appointment", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "No longer planned or confirmed (`current_status`), or the new time is taken (`counselor_busy`, `interpreter_busy`)", body = Problem, content_type = "application/problem+json"),
        (status = 410, description = "The client's record was erased", body = Problem, content_type = "application/problem+json"),
        (status = 412, description = "Stale version", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields", body = Problem, content_type = "application/problem+json"),
        (status = 428, description = "If-Match missing", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[patch("/appointments/{id}")]
pub async fn update(
    state: web::Data<AppState>,
    signed_in: SignedIn,
    id: web::Path<AppointmentId>,
    if_match: IfMatch,
    body: web::Json<AppointmentPatch>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let patch = body.into_inner();
    let appointment = signed_in
        .run(&state.pool, move |conn, principal| {
            let current = authorized(conn, &principal, id, Action::UpdateAppointment)?;
            let client =
                clients::queries::find(conn, current.client_id)?.ok_or_else(|| ApiError::not_found("client"))?;
            clients::refuse_if_erased(&client)?;
            refuse_unless_booked(&current, "changed")?;
            let participants = queries::participants(conn, id)?;
            let mut errors = FieldErrors::default();
            let input = patch.apply(current.input(&participants), &mut errors);
            errors.finish(|| Some(()))?;
            let fields = input
                .parse(current.client_id, current.counselor_id, crate::clock::now())
                .map_err(FieldErrors::into_error)?;
            check(conn, &principal, &client, &fields)?;
            db::transaction(conn, |conn| {
                book(conn, &principal, &fields, Some(id))?;
                let row = queries::update(conn, &current, if_match.0, &fields)?.ok_or_else(IfMatch::stale)?;
                let tier = current.is_psychological() || row.is_psychological();
                audit::record(conn, event(&principal, "appointment.update", &row).in_tier(tier))?;
                view(conn, row)
            })
        })
        .await?;
    Ok(with_etag(StatusCode::OK, appointment.version, &appointment))
}

/// Refuses a move that needs the appointment to have begun (nobody is absent from, or meets at,
/// a future appointment), with five minutes' grace for the clocks.
fn refuse_before_start(on: Move, current: &AppointmentRow) -> Result<(), ApiError> {
    if lifecycle::step(on).once_begun && current.starts_at > db::now().naive_utc() + chrono::Duration::minutes(5) {
        return Err(ApiError::conflict("appointment_not_started", "The appointment has not begun yet."));
    }
    Ok(())
}

/// Applies a move of the life cycle to an appointment the caller may make it on.
fn apply(
    conn: &mut DbConnection,
    principal: &Principal,
    current: &AppointmentRow,
    if_match: IfMatch,
    on: Move,
    cancel_reason: Option<&str>,
    session_id: Option<SessionId>,
) -> Result<AppointmentRow, ApiError> {
    let step = lifecycle::step(on);
    if !step.from.contains(&current.status) {
        return Err(ApiError::wrong_status(
            current.status.code(),
            format!("A {} appointment cannot be {}.", current.status.code(), step.to.code()),
        ));
    }
    refuse_before_start(on, current)?;
    if current.version != if_match.0 {
        return Err(IfMatch::stale());
    }
    let change = StatusChange { from: step.from, to: step.to, cancel_reason, session_id };
    let row = queries::transition(conn, current.id, if_match.0, &change)?.ok_or_else(IfMatch::stale)?;
    audit::record(conn, event(principal, step.event, &row))?;
    Ok(row)
}

/// A move that needs no more than its reason: confirm, cancel, mark no-show.
async fn simple_move(
    state: &AppState,
    signed_in: SignedIn,
    id: AppointmentId,
    if_match: IfMatch,
    on: Move,
    cancel_reason: Option<String>,
) -> Result<HttpResponse, ApiError> {
    let action = lifecycle::step(on)
        .by
        .ok_or_else(|| ApiError::Internal(anyhow::anyhow!("{on:?} is not a move users ask for")))?;
    let appointment = signed_in
        .run(&state.pool, move |conn, principal| {
            let current = authorized(conn, &principal, id, action)?;
            db::transaction(conn, |conn| {
                let row = apply(conn, &principal, &current, if_match, on, cancel_reason.as_deref(), None)?;
                view(conn, row)
            })
        })
        .await?;
    Ok(with_etag(StatusCode::OK, appointment.version, &appointment))
}

/// Confirm a planned appointment (the client said they will come).
#[utoipa::path(
    operation_id = "confirm_appointment",
    tag = "appointments",
    params(("id" = Id, Path, description = "Appointment id"), ("If-Match" = String, Header, description = "ETag of the appointment")),
    responses(
        (status = 200, description = "Confirmed", body = Appointment, headers(("ETag" = String))),
        (status = 403, description = "Not the caller's appointment to change", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such appointment", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Not planned (`current_status`)", body = Problem, content_type = "application/problem+json"),
        (status = 412, description = "Stale version", body = Problem, content_type = "application/problem+json"),
        (status = 428, description = "If-Match missing", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[post("/appointments/{id}/confirm")]
pub async fn confirm(
    state: web::Data<AppState>,
    signed_in: SignedIn,
    id: web::Path<AppointmentId>,
    if_match: IfMatch,
) -> Result<HttpResponse, ApiError> {
    simple_move(&state, signed_in, id.into_inner(), if_match, Move::Confirm, None).await
}

/// Cancel a planned or confirmed appointment, with a reason; its time is free again.
#[utoipa::path(
    operation_id = "cancel_appointment",
    tag = "appointments",
    params(("id" = Id, Path, description = "Appointment id"), ("If-Match" = String, Header, description = "ETag of the appointment")),
    request_body = CancelRequest,
    responses(
        (status = 200, description = "Cancelled", body = Appointment, headers(("ETag" = String))),
        (status = 403, description = "Not the caller's appointment to change", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such appointment", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "No longer planned or confirmed (`current_status`)", body = Problem, content_type = "application/problem+json"),
        (status = 412, description = "Stale version", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "No reason, or one that is too long", body = Problem, content_type = "application/problem+json"),
        (status = 428, description = "If-Match missing", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[post("/appointments/{id}/cancel")]
pub async fn cancel(
    state: web::Data<AppState>,
    signed_in: SignedIn,
    id: web::Path<AppointmentId>,
    if_match: IfMatch,
    body: web::Json<CancelRequest>,
) -> Result<HttpResponse, ApiError> {
    let mut errors = FieldErrors::default();
    let reason = errors.check("reason", domain::bounded_text(&body.reason, 1, 500));
    let reason = errors.finish(|| reason)?;
    simple_move(&state, signed_in, id.into_inner(), if_match, Move::Cancel, Some(reason)).await
}

/// Record that the client did not come to an appointment that has begun.
#[utoipa::path(
    operation_id = "mark_appointment_no_show",
    tag = "appointments",
    params(("id" = Id, Path, description = "Appointment id"), ("If-Match" = String, Header, description = "ETag of the appointment")),
    responses(
        (status = 200, description = "Marked as a no-show", body = Appointment, headers(("ETag" = String))),
        (status = 403, description = "Not the caller's appointment to change", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such appointment", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "No longer planned or confirmed (`current_status`), or not begun yet (`appointment_not_started`)", body = Problem, content_type = "application/problem+json"),
        (status = 412, description = "Stale version", body = Problem, content_type = "application/problem+json"),
        (status = 428, description = "If-Match missing", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[post("/appointments/{id}/mark-no-show")]
pub async fn mark_no_show(
    state: web::Data<AppState>,
    signed_in: SignedIn,
    id: web::Path<AppointmentId>,
    if_match: IfMatch,
) -> Result<HttpResponse, ApiError> {
    simple_move(&state, signed_in, id.into_inner(), if_match, Move::MarkNoShow, None).await
}

/// Mark an appointment held: its session is logged in the same transaction, prefilled from the
/// appointment (kind, mode, city, time, language, interpreter, participants) with what the body
/// adds, and the two are linked (`session_id`). Only the appointment's counselor holds it: the
/// session is theirs. A retry with the same `Idempotency-Key` answers as the first request did;
/// a second hold of a held appointment is refused (409), so one session is logged, never two.
#[utoipa::path(
    operation_id = "hold_appointment",
    tag = "appointments",
    params(
        ("id" = Id, Path, description = "Appointment id"),
        ("If-Match" = String, Header, description = "ETag of the appointment"),
        ("Idempotency-Key" = Option<String>, Header, description = "Makes a retry return the first response"),
    ),
    request_body = HoldRequest,
    responses(
        (status = 200, description = "Held; `session_id` names the session logged", body = Appointment, headers(("ETag" = String))),
        (status = 403, description = "Not the caller's appointment", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such appointment", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "No longer planned or confirmed (`current_status`), or not begun yet (`appointment_not_started`)", body = Problem, content_type = "application/problem+json"),
        (status = 410, description = "The client's record was erased", body = Problem, content_type = "application/problem+json"),
        (status = 412, description = "Stale version", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid session fields", body = Problem, content_type = "application/problem+json"),
        (status = 428, description = "If-Match missing", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[post("/appointments/{id}/hold")]
pub async fn hold(
    state: web::Data<AppState>,
    signed_in: SignedIn,
    id: web::Path<AppointmentId>,
    if_match: IfMatch,
    key: IdempotencyKey,
    body: web::Json<HoldRequest>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let request = body.into_inner();
    let request_hash = idempotency::fingerprint(&format!("POST /appointments/{id}/hold"), &request)?;
    let keys_of = state.clone();
    let held = signed_in
        .run(&state.pool, move |conn, principal| {
            let master = &keys_of.master_keys;
            idempotency::create_once(
                conn,
                principal.user_id,
                &key,
                &request_hash,
                |conn, id| read_one(conn, &principal, id).map(created),
                |conn| {
                    let current = authorized(conn, &principal, id, Action::HoldAppointment)?;
                    let client = clients::queries::find(conn, current.client_id)?
                        .ok_or_else(|| ApiError::not_found("client"))?;
                    clients::refuse_if_erased(&client)?;
                    refuse_unless_booked(&current, "held")?;
                    // Before the session is parsed, whose start would otherwise be refused as
                    // one in the future (422) instead of as an appointment not begun.
                    refuse_before_start(Move::Hold, &current)?;
                    let participants = queries::participants(conn, id)?;
                    let input = SessionInput {
                        kind: current.kind,
                        mode: current.mode,
                        city: Some(current.city.clone()),
                        started_at: current.starts_at.and_utc(),
                        duration_minutes: request.duration_minutes.unwrap_or(current.duration_minutes),
                        language: current.language.clone(),
                        interpreter_used: current.interpreter_needed,
                        topics: request.topics.clone(),
                        summary: request.summary.clone(),
                        notes: request.notes.clone(),
                        follow_up_on: request.follow_up_on,
                        participants: participants
                            .iter()
                            .map(|p| ParticipantInput {
                                client_id: p.client_id,
                                attended: !request.absent.contains(&p.client_id),
                            })
                            .collect(),
                    };
                    let mut errors = FieldErrors::default();
                    if request.absent.iter().any(|absent| !participants.iter().any(|p| p.client_id == *absent)) {
                        errors.add("absent", "names a client who is not a further participant of the appointment");
                    }
                    let fields = match input.parse(current.client_id, &principal.specialties, crate::clock::now()) {
                        Ok(fields) => Some(fields),
                        Err(more) => {
                            errors.extend(more);
                            None
                        }
                    };
                    let fields = errors.finish(|| fields)?;
                    Ok((current, fields))
                },
                |conn, (current, fields)| {
                    let session_id = Id::new();
                    let mut sealer = Sealer::new(master, current.client_id, session_id);
                    let notes_ciphertext = sealer.notes(conn, fields.notes.as_deref())?;
                    let details_ciphertext = sealer.details(conn, &fields.details())?;
                    let session = crate::sessions::queries::insert(
                        conn,
                        crate::sessions::queries::NewSession {
                            id: session_id,
                            organisation_id: current.organisation_id,
                            client_id: current.client_id,
                            counselor_id: current.counselor_id,
                            fields: &fields,
                            notes_ciphertext,
                            details_ciphertext,
                        },
                    )?;
                    audit::record(
                        conn,
                        Event::new(&principal.actor, "session.create", "session")
                            .on(session_id)
                            .for_client(session.client_id)
                            .in_tier(session.is_psychological()),
                    )?;
                    let row = apply(conn, &principal, &current, if_match, Move::Hold, None, Some(session_id))?;
                    Ok(created(view(conn, row)?))
                },
            )
        })
        .await?;
    Ok(with_etag(StatusCode::OK, held.version, &held.body))
}
