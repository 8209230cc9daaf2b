//! `/interpreters`, `/interpreters/{id}`, `/interpreters/{id}/bookings`.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, get, patch, post, web};
use chrono::NaiveDateTime;

use super::RESOURCE;
use super::model::{
    Booking, BookingFilter, Interpreter, InterpreterFields, InterpreterFilter, InterpreterInput, InterpreterPatch,
    InterpreterRow,
};
use super::queries::{self, InterpreterQuery};
use crate::appointments::model::local;
use crate::audit::{self, Event, Outcome};
use crate::auth::{Principal, SignedIn};
use crate::db::{self, DbConnection, Id, InterpreterId, OrganisationId};
use crate::domain::{self, client::LanguageCode};
use crate::http::idempotency::{self, Created, IdempotencyKey};
use crate::http::pagination::{Page, PageQuery};
use crate::http::precondition::{IfMatch, with_etag};
use crate::http::{ApiError, FieldErrors, Problem};
use crate::organisations;
use crate::policy::{self, Action, Decision, Target};
use crate::state::AppState;

pub fn configure(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(create).service(list).service(read).service(update).service(bookings);
}

fn manages(principal: &Principal, organisation_id: OrganisationId) -> bool {
    policy::decide(principal.caller(), Action::ManageInterpreters, Target::organisation(organisation_id))
        == Decision::Allow
}

/// Each organisation added or removed must be one the caller manages interpreters for (a
/// coordinator: their own): the policy decides, and another organisation is out of reach (404,
/// as for a user created in it). The organisations named must exist.
fn check_organisations(
    conn: &mut DbConnection,
    principal: &Principal,
    before: &[OrganisationId],
    fields: &InterpreterFields,
) -> Result<(), ApiError> {
    let mut errors = FieldErrors::default();
    let after = &fields.organisation_ids;
    if after.is_empty() {
        errors.add("organisation_ids", "must name an organisation the interpreter works for");
    }
    let changed = after.iter().filter(|id| !before.contains(id)).chain(before.iter().filter(|id| !after.contains(id)));
    for id in changed {
        let target = Target::organisation(*id);
        principal.authorize(conn, Action::ManageInterpreters, target, "organisation", Some(id.any()))?;
        if organisations::queries::find(conn, *id)?.is_none() {
            errors.add("organisation_ids", "names an organisation that does not exist");
        }
    }
    errors.finish(|| Some(()))
}

fn view(conn: &mut DbConnection, row: InterpreterRow) -> Result<Interpreter, ApiError> {
    let organisation_ids = queries::organisations_of(conn, row.id)?;
    Ok(row.view(organisation_ids))
}

/// Add an interpreter. A coordinator adds one who works for their organisation; the consortium
/// administrator names the organisations.
#[utoipa::path(
    operation_id = "create_interpreter",
    tag = "interpreters",
    params(("Idempotency-Key" = Option<String>, Header, description = "Makes a retry return the first response")),
    request_body = InterpreterInput,
    responses(
        (status = 201, description = "Added", body = Interpreter, headers(("ETag" = String), ("Location" = String))),
        (status = 403, description = "The role manages no interpreters", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "An organisation named is out of reach (a coordinator names their own only)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[post("/interpreters")]
pub async fn create(
    state: web::Data<AppState>,
    signed_in: SignedIn,
    key: IdempotencyKey,
    body: web::Json<InterpreterInput>,
) -> Result<HttpResponse, ApiError> {
    let mut input = body.into_inner();
    let request_hash = idempotency::fingerprint("POST /interpreters", &input)?;
    let created = signed_in
        .run(&state.pool, move |conn, principal| {
            idempotency::create_once(
                conn,
                principal.user_id,
                &key,
                &request_hash,
                |conn, id| read_one(conn, &principal, id).map(created),
                |conn| {
                    principal.refuse_if_never(conn, Action::ManageInterpreters, RESOURCE, None)?;
                    if input.organisation_ids.is_empty() {
                        input.organisation_ids.extend(principal.organisation_id);
                    }
                    let fields = input.parse().map_err(FieldErrors::into_error)?;
                    check_organisations(conn, &principal, &[], &fields)?;
                    Ok(fields)
                },
                |conn, fields| {
                    let row = queries::insert(conn, Id::new(), &fields)?;
                    audit::record(conn, Event::new(&principal.actor, "interpreter.create", RESOURCE).on(row.id))?;
                    Ok(created(view(conn, row)?))
                },
            )
        })
        .await?;
    Ok(created.response())
}

fn created(interpreter: Interpreter) -> Created<Interpreter> {
    Created::new(interpreter.id, format!("/api/v1/interpreters/{}", interpreter.id), interpreter.version, interpreter)
}

fn read_one(conn: &mut DbConnection, principal: &Principal, id: InterpreterId) -> Result<Interpreter, ApiError> {
    principal.authorize(conn, Action::ListInterpreters, Target::consortium(), RESOURCE, Some(id.any()))?;
    let row = queries::find(conn, id)?.ok_or_else(|| ApiError::not_found(RESOURCE))?;
    view(conn, row)
}

/// The consortium's interpreters (active ones unless asked), by id.
#[utoipa::path(
    operation_id = "list_interpreters",
    tag = "interpreters",
    params(InterpreterFilter),
    responses(
        (status = 200, description = "A page of interpreters", body = Page<Interpreter>),
        (status = 400, description = "Invalid query", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The role books no interpreters", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[get("/interpreters")]
pub async fn list(
    state: web::Data<AppState>,
    signed_in: SignedIn,
    filter: web::Query<InterpreterFilter>,
) -> Result<web::Json<Page<Interpreter>>, ApiError> {
    let filter = filter.into_inner();
    let page = PageQuery { limit: filter.limit, cursor: filter.cursor.clone() }.parse()?;
    let mut errors = FieldErrors::default();
    let language = filter
        .language
        .as_deref()
        .map(|code| errors.check("language", LanguageCode::parse(code)).map(|c| c.as_str().to_owned()))
        .unwrap_or_default();
    let city = filter.city.as_deref().map(str::trim).map(str::to_owned);
    if city.as_ref().is_some_and(|city| city.chars().count() > 100) {
        errors.add("city", "must be at most 100 characters");
    }
    errors.finish_query(|| Some(()))?;
    let query = InterpreterQuery {
        language,
        organisation_id: filter.organisation_id,
        include_inactive: filter.include_inactive.unwrap_or(false),
    };
    let page = signed_in
        .run(&state.pool, move |conn, principal| {
            principal.authorize(conn, Action::ListInterpreters, Target::consortium(), RESOURCE, None)?;
            // Cities are matched exactly, in Rust: the consortium's interpreters are few, and
            // the two databases compare text differently.
            let rows = match &city {
                None => queries::list(conn, &query, page, Some(page.limit + 1))?,
                Some(city) => {
                    let mut rows = Vec::new();
                    for row in queries::list(conn, &query, page, None)? {
                        if row.cities.contains(city) {
                            rows.push(row);
                        }
                        if rows.len() as i64 > page.limit {
                            break;
                        }
                    }
                    rows
                }
            };
            let items = rows.into_iter().map(|row| view(conn, row)).collect::<Result<Vec<_>, _>>()?;
            Ok(Page::from_rows(items, page, |i| i.id, |i| i))
        })
        .await?;
    Ok(web::Json(page))
}

/// One interpreter.
#[utoipa::path(
    operation_id = "read_interpreter",
    tag = "interpreters",
    params(("id" = Id, Path, description = "Interpreter id")),
    responses(
        (status = 200, description = "The interpreter", body = Interpreter, headers(("ETag" = String))),
        (status = 403, description = "The role books no interpreters", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such interpreter", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[get("/interpreters/{id}")]
pub async fn read(
    state: web::Data<AppState>,
    signed_in: SignedIn,
    id: web::Path<InterpreterId>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let interpreter = signed_in.run(&state.pool, move |conn, principal| read_one(conn, &principal, id)).await?;
    Ok(with_etag(StatusCode::OK, interpreter.version, &interpreter))
}

/// Change an interpreter (JSON Merge Patch): coordinators of an organisation they work for,
/// and the consortium administrator. A coordinator adds or removes only their own organisation.
#[utoipa::path(
    operation_id = "update_interpreter",
    tag = "interpreters",
    params(
        ("id" = Id, Path, description = "Interpreter id"),
        ("If-Match" = String, Header, description = "ETag of the version being changed"),
    ),
    request_body = InterpreterPatch,
    responses(
        (status = 200, description = "Changed", body = Interpreter, headers(("ETag" = String))),
        (status = 403, description = "The role manages no interpreters", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such interpreter, or one who works for none of the caller's organisations, or an organisation added or removed that is out of reach", body = Problem, content_type = "application/problem+json"),
        (status = 412, description = "Stale version", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields", body = Problem, content_type = "application/problem+json"),
        (status = 428, description = "If-Match missing", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[patch("/interpreters/{id}")]
pub async fn update(
    state: web::Data<AppState>,
    signed_in: SignedIn,
    id: web::Path<InterpreterId>,
    if_match: IfMatch,
    body: web::Json<InterpreterPatch>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let patch = body.into_inner();
    let interpreter = signed_in
        .run(&state.pool, move |conn, principal| {
            principal.authorize(conn, Action::ListInterpreters, Target::consortium(), RESOURCE, Some(id.any()))?;
            let current = queries::find(conn, id)?.ok_or_else(|| ApiError::not_found(RESOURCE))?;
            let before = queries::organisations_of(conn, id)?;
            if !before.iter().any(|organisation_id| manages(&principal, *organisation_id)) {
                let target = Target::owned_by(before.first().copied());
                principal.authorize(conn, Action::ManageInterpreters, target, RESOURCE, Some(id.any()))?;
            }
            let mut errors = FieldErrors::default();
            let input = patch.apply(current.input(before.clone()), &mut errors);
            errors.finish(|| Some(()))?;
            let fields = input.parse().map_err(FieldErrors::into_error)?;
            check_organisations(conn, &principal, &before, &fields)?;
            db::transaction(conn, |conn| {
                let row = queries::update(conn, id, if_match.0, &fields)?.ok_or_else(IfMatch::stale)?;
                audit::record(conn, Event::new(&principal.actor, "interpreter.update", RESOURCE).on(id))?;
                view(conn, row)
            })
        })
        .await?;
    Ok(with_etag(StatusCode::OK, interpreter.version, &interpreter))
}

/// When an interpreter is booked (planned or confirmed appointments), and by which
/// organisation — never for whom or for what, so an interpreter shared by several partners
/// tells none of them anything about the others' clients. Shown to the organisations the
/// interpreter works for.
#[utoipa::path(
    operation_id = "list_interpreter_bookings",
    tag = "interpreters",
    params(("id" = Id, Path, description = "Interpreter id"), BookingFilter),
    responses(
        (status = 200, description = "A page of booked time, by start", body = Page<Booking>),
        (status = 400, description = "Invalid query", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The interpreter does not work for the caller's organisation", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such interpreter", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[get("/interpreters/{id}/bookings")]
pub async fn bookings(
    state: web::Data<AppState>,
    signed_in: SignedIn,
    id: web::Path<InterpreterId>,
    filter: web::Query<BookingFilter>,
) -> Result<web::Json<Page<Booking>>, ApiError> {
    let id = id.into_inner();
    let filter = filter.into_inner();
    let page = PageQuery { limit: filter.limit, cursor: filter.cursor.clone() }.parse_keyed::<NaiveDateTime, _>()?;
    let page = page.on_the_calendar(NaiveDateTime::date)?;
    let (from, to) = crate::http::day_span(filter.from, filter.to, 31)?;
    let page = signed_in
        .run(&state.pool, move |conn, principal| {
            principal.authorize(conn, Action::ListInterpreters, Target::consortium(), RESOURCE, Some(id.any()))?;
            queries::find(conn, id)?.ok_or_else(|| ApiError::not_found(RESOURCE))?;
            let works_for = queries::organisations_of(conn, id)?;
            // The consortium administrator, who belongs to no organisation, sees every booking.
            // Another organisation's caller is refused openly (the interpreter is no secret), and
            // the refusal is on the trail as every other one is.
            if principal.organisation_id.is_some_and(|own| !works_for.contains(&own)) {
                let denied = Event::new(&principal.actor, "permission.denied", RESOURCE).outcome(Outcome::Denied);
                audit::record(conn, denied.on(id))?;
                return Err(ApiError::forbidden());
            }
            let rows = crate::appointments::queries::bookings(
                conn,
                id,
                domain::start_of_day_utc(from),
                domain::start_of_day_utc(to + chrono::Days::new(1)),
                page.after.map(|(at, _)| at),
                page.limit,
            )?;
            audit::record(conn, Event::new(&principal.actor, "interpreter.bookings", RESOURCE).on(id))?;
            // The cursor carries the start and the interpreter's own id: an appointment's id
            // would name another organisation's appointment.
            Ok(Page::from_keyed_rows(
                rows,
                &page,
                |(starts_at, ..)| (crate::http::pagination::instant_key(*starts_at), id),
                |(starts_at, ends_at, organisation_id)| Booking {
                    starts_at: starts_at.and_utc(),
                    ends_at: ends_at.and_utc(),
                    local_starts_at: local(starts_at),
                    local_ends_at: local(ends_at),
                    organisation_id,
                },
            ))
        })
        .await?;
    Ok(web::Json(page))
}
