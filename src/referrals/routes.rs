//! `/referrals`: create, inbox and outbox, the partner's view of the client, transitions, and
//! the change feed.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, get, post, web};
use chrono::Datelike;

use super::gate;
use super::lifecycle::{self, Move, Who};
use super::model::{
    AcceptRequest, CancelRequest, Changes, ChangesQuery, CompleteRequest, DeclineRequest, Referral, ReferralFilter,
    ReferralInput, ReferralRow,
};
use super::queries::{self, Change, NewReferral, ReferralQuery};
use super::shared::SharedClient;
use crate::audit::{self, Event};
use crate::auth::{Principal, SignedIn};
use crate::clients;
use crate::db::{self, DbConnection, Id, ReferralId};
use crate::domain::{self, bounded_text};
use crate::http::idempotency::{self, Created, IdempotencyKey};
use crate::http::pagination::{Page, PageQuery};
use crate::http::precondition::{IfMatch, with_etag};
use crate::http::{ApiError, FieldErrors, Problem};
use crate::organisations;
use crate::policy::{Action, Target};
use crate::state::AppState;

const RESOURCE: &str = "referral";

pub fn configure(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(changes)
        .service(create)
        .service(list)
        .service(read)
        .service(referred_client)
        .service(accept)
        .service(decline)
        .service(cancel)
        .service(complete);
}

/// Whose side the caller is on decides what the policy checks: the receiving organisation
/// answers (and needs the matching specialty), the sending one cancels.
fn receiving_side(row: &ReferralRow) -> Result<Target, ApiError> {
    Ok(Target::service(row.to_organisation_id, row.service()?))
}

/// Loads a referral for one of its two organisations; to anyone else it does not exist.
fn authorized(
    conn: &mut DbConnection,
    principal: &Principal,
    id: ReferralId,
    action: Action,
) -> Result<ReferralRow, ApiError> {
    let row = queries::find(conn, id)?.ok_or_else(|| ApiError::not_found(RESOURCE))?;
    let target = match action {
        Action::RespondToReferral | Action::ReadReferredClient => receiving_side(&row)?,
        Action::CancelReferral => Target::organisation(row.from_organisation_id),
        _ if principal.organisation_id == Some(row.to_organisation_id) => receiving_side(&row)?,
        _ => Target::organisation(row.from_organisation_id),
    };
    principal.authorize(conn, action, target, RESOURCE, Some(id.any()))?;
    Ok(row)
}

fn view(
    conn: &mut DbConnection,
    principal: &Principal,
    row: ReferralRow,
    with_history: bool,
) -> Result<Referral, ApiError> {
    let for_sender = principal.organisation_id == Some(row.from_organisation_id);
    let history = if with_history {
        queries::events_of(conn, row.id)?.into_iter().map(|event| event.view()).collect::<Result<Vec<_>, _>>()?
    } else {
        Vec::new()
    };
    let mut referral = row.view(domain::today(), for_sender)?;
    referral.history = history;
    Ok(referral)
}

/// Refer a client to a partner organisation. Needs a valid consent of the client to share with
/// that partner, covering every shared field.
#[utoipa::path(
    operation_id = "create_referral",
    tag = "referrals",
    params(("Idempotency-Key" = Option<String>, Header, description = "Makes a retry return the first response")),
    request_body = ReferralInput,
    responses(
        (status = 201, description = "Sent", body = Referral, headers(("ETag" = String), ("Location" = String))),
        (status = 403, description = "The role sends no referrals", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such client", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "An open referral of the client to this partner for this service exists (`conflicting_id`)", body = Problem, content_type = "application/problem+json"),
        (status = 410, description = "The client's record was erased", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "No valid consent (`consent_required`), fields outside its scope, or the partner does not offer the service", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[post("/referrals")]
pub async fn create(
    state: web::Data<AppState>,
    signed_in: SignedIn,
    key: IdempotencyKey,
    body: web::Json<ReferralInput>,
) -> Result<HttpResponse, ApiError> {
    let input = body.into_inner();
    let request_hash = idempotency::fingerprint("POST /referrals", &input)?;
    let working_days = state.referral_working_days;
    let created = signed_in
        .run(&state.pool, move |conn, principal| {
            // A retry with the same key is answered as the referral stands now, before any check
            // that the first request's own referral would now fail (it is the open duplicate).
            idempotency::create_once(
                conn,
                principal.user_id,
                &key,
                &request_hash,
                |conn, id| read_one(conn, &principal, id).map(created),
                |conn| clients::authorized(conn, &principal, input.client_id, Action::CreateReferral),
                |conn, client| {
                    let today = domain::today();
                    let (reason, shared_fields) = gate::check(conn, &client, &input, today)?;
                    if let Some(open) =
                        queries::open_duplicate(conn, client.id, input.to_organisation_id, input.service)?
                    {
                        return Err(duplicate(Some(open)));
                    }
                    let row = queries::insert(
                        conn,
                        NewReferral {
                            client_id: client.id,
                            from: client.organisation_id,
                            to: input.to_organisation_id,
                            service: input.service,
                            urgency: input.urgency.code(),
                            reason: &reason,
                            shared_fields: &shared_fields,
                            consent_id: input.consent_id,
                            respond_by: super::respond_by(input.urgency, today, working_days),
                            created_by: principal.user_id,
                        },
                    )
                    .map_err(|error| match error {
                        diesel::result::Error::DatabaseError(diesel::result::DatabaseErrorKind::UniqueViolation, _) => {
                            duplicate(None)
                        }
                        other => other.into(),
                    })?;
                    audit::record(
                        conn,
                        Event::new(&principal.actor, "referral.create", RESOURCE).on(row.id).for_client(client.id),
                    )?;
                    Ok(created(view(conn, &principal, row, true)?))
                },
            )
        })
        .await?;
    Ok(created.response())
}

fn created(referral: Referral) -> Created<Referral> {
    Created::new(referral.id, format!("/api/v1/referrals/{}", referral.id), referral.version, referral)
}

/// 409: the client already has an open referral to the partner for the service.
fn duplicate(open: Option<ReferralId>) -> ApiError {
    let detail = "This client already has an open referral to this partner for this service.";
    match open {
        Some(open) => ApiError::conflicts_with("duplicate_referral", open, detail),
        None => ApiError::conflict("duplicate_referral", detail),
    }
}

/// Referrals received (`box=inbox`) or sent (`box=outbox`) by the caller's organisation.
#[utoipa::path(
    operation_id = "list_referrals",
    tag = "referrals",
    params(ReferralFilter),
    responses(
        (status = 200, description = "A page of referrals", body = Page<Referral>),
        (status = 400, description = "Invalid query", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The role takes no part in referrals", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[get("/referrals")]
pub async fn list(
    state: web::Data<AppState>,
    signed_in: SignedIn,
    filter: web::Query<ReferralFilter>,
) -> Result<web::Json<Page<Referral>>, ApiError> {
    let filter = filter.into_inner();
    let page = PageQuery { limit: filter.limit, cursor: filter.cursor.clone() }.parse()?;
    let query = ReferralQuery {
        r#box: filter.r#box,
        status: filter.status,
        service: filter.service,
        urgency: filter.urgency.map(|u| u.code()),
        partner: filter.partner,
        due_today: filter.due_today,
        today: domain::today(),
    };
    let page = signed_in
        .run(&state.pool, move |conn, principal| {
            let organisation_id = principal.authorize_in_own_organisation(conn, Action::ListReferrals, RESOURCE)?;
            let rows = queries::list(conn, organisation_id, &query, page)?;
            let items =
                rows.into_iter().map(|row| view(conn, &principal, row, false)).collect::<Result<Vec<_>, _>>()?;
            audit::record(conn, Event::new(&principal.actor, "referral.list", RESOURCE))?;
            Ok(Page::from_rows(items, page, |r| r.id, |r| r))
        })
        .await?;
    Ok(web::Json(page))
}

/// One referral with its history; for either of its two organisations only.
#[utoipa::path(
    operation_id = "read_referral",
    tag = "referrals",
    params(("id" = Id, Path, description = "Referral id")),
    responses(
        (status = 200, description = "The referral", body = Referral, headers(("ETag" = String))),
        (status = 403, description = "The role takes no part in referrals", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such referral (or not one of the caller's organisation)", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[get("/referrals/{id}")]
pub async fn read(
    state: web::Data<AppState>,
    signed_in: SignedIn,
    id: web::Path<ReferralId>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let referral = signed_in.run(&state.pool, move |conn, principal| read_one(conn, &principal, id)).await?;
    Ok(with_etag(StatusCode::OK, referral.version, &referral))
}

/// What `GET /referrals/{id}` answers; a retried referral is answered the same way.
fn read_one(conn: &mut DbConnection, principal: &Principal, id: ReferralId) -> Result<Referral, ApiError> {
    let row = authorized(conn, principal, id, Action::ReadReferral)?;
    audit::record(conn, Event::new(&principal.actor, "referral.read", RESOURCE).on(id))?;
    view(conn, principal, row, true)
}

/// The receiving organisation's view of the referred client: only the shared fields, and only
/// while the referral is pending or accepted and the consent stands.
#[utoipa::path(
    tag = "referrals",
    params(("id" = Id, Path, description = "Referral id")),
    responses(
        (status = 200, description = "The shared fields", body = SharedClient),
        (status = 403, description = "The role takes no part in referrals", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "Nothing to see: not the receiving organisation, or the referral is closed", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[get("/referrals/{id}/client")]
pub async fn referred_client(
    state: web::Data<AppState>,
    signed_in: SignedIn,
    id: web::Path<ReferralId>,
) -> Result<web::Json<SharedClient>, ApiError> {
    let id = id.into_inner();
    let shared = signed_in
        .run(&state.pool, move |conn, principal| {
            let row = authorized(conn, &principal, id, Action::ReadReferredClient)?;
            let shared = shared_client(conn, &row)?.ok_or_else(|| ApiError::not_found("referred client"))?;
            audit::record(
                conn,
                Event::new(&principal.actor, "referral.read_shared", RESOURCE).on(id).for_client(row.client_id),
            )?;
            Ok(shared)
        })
        .await?;
    Ok(web::Json(shared))
}

/// The shared fields of an open referral with a standing consent; `None` otherwise.
fn shared_client(conn: &mut DbConnection, row: &ReferralRow) -> Result<Option<SharedClient>, ApiError> {
    Ok(queries::shared_client(conn, row, domain::today())?)
}

/// Runs a transition: the caller's side and the current status must allow it (409 with the
/// current status otherwise), and the version must be the one the caller saw (412).
fn apply(
    conn: &mut DbConnection,
    principal: &Principal,
    current: &ReferralRow,
    if_match: IfMatch,
    change: &Change<'_>,
) -> Result<ReferralRow, ApiError> {
    let step = lifecycle::step(change.by);
    let status = current.status_on(domain::today())?;
    if !step.from.contains(&status) {
        return Err(ApiError::wrong_status(
            status.code(),
            format!("A {} referral cannot be {}.", status.code(), step.to.code()),
        ));
    }
    if current.version != if_match.0 {
        return Err(IfMatch::stale());
    }
    let row = queries::transition(conn, current, Some(if_match.0), change, Some(principal.user_id))?
        .ok_or_else(IfMatch::stale)?;
    let event = Event::new(&principal.actor, step.event, RESOURCE).on(row.id);
    let event = if principal.organisation_id == Some(row.from_organisation_id) {
        event.for_client(row.client_id)
    } else {
        event
    };
    audit::record(conn, event)?;
    Ok(row)
}

/// An optional explanation of a transition, at most 2000 characters.
fn optional_reason(reason: Option<&str>) -> Result<Option<String>, ApiError> {
    let mut errors = FieldErrors::default();
    let reason = errors.check("reason", domain::optional_text(reason, 2000));
    errors.finish(|| reason)
}

/// A transition that needs no more than its reason or outcome: decline, cancel, complete.
struct Transition {
    on: Move,
    reason_code: Option<&'static str>,
    reason: Option<String>,
    outcome: Option<String>,
}

impl Transition {
    /// Authorizes the caller, applies the change in one transaction and answers the referral
    /// as the caller sees it afterwards.
    async fn run(
        self,
        state: &AppState,
        signed_in: SignedIn,
        id: ReferralId,
        if_match: IfMatch,
    ) -> Result<HttpResponse, ApiError> {
        let referral = signed_in
            .run(&state.pool, move |conn, principal| {
                let current = authorized(conn, &principal, id, requested_by(self.on)?)?;
                db::transaction(conn, |conn| {
                    let change = Change {
                        reason_code: self.reason_code,
                        reason: self.reason.as_deref(),
                        outcome: self.outcome.as_deref(),
                        ..Change::by(self.on)
                    };
                    let row = apply(conn, &principal, &current, if_match, &change)?;
                    view(conn, &principal, row, true)
                })
            })
            .await?;
        Ok(transition_response(referral))
    }
}

/// The policy action a user needs for a move they ask for.
fn requested_by(on: Move) -> Result<Action, ApiError> {
    match lifecycle::step(on).by {
        Who::User(action) => Ok(action),
        Who::System => Err(ApiError::Internal(anyhow::anyhow!("{on:?} is not a move users ask for"))),
    }
}

fn transition_response(referral: Referral) -> HttpResponse {
    with_etag(StatusCode::OK, referral.version, &referral)
}

/// Accept a referral addressed to the caller's organisation: link an existing own client, or
/// get a new client record pre-filled from the shared fields.
#[utoipa::path(
    tag = "referrals",
    params(
        ("id" = Id, Path, description = "Referral id"),
        ("If-Match" = String, Header, description = "ETag of the referral"),
    ),
    request_body = AcceptRequest,
    responses(
        (status = 200, description = "Accepted", body = Referral, headers(("ETag" = String))),
        (status = 403, description = "The role takes no part in referrals, or the caller's specialties do not include the service", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such referral, or the client to link is not the caller's", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Not pending (`current_status`), or the consent no longer stands", body = Problem, content_type = "application/problem+json"),
        (status = 410, description = "The client's record was erased", body = Problem, content_type = "application/problem+json"),
        (status = 412, description = "Stale version", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "The shared fields do not make a valid client record (no record is created)", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[post("/referrals/{id}/accept")]
pub async fn accept(
    state: web::Data<AppState>,
    signed_in: SignedIn,
    id: web::Path<ReferralId>,
    if_match: IfMatch,
    body: Option<web::Json<AcceptRequest>>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let request = body.map(web::Json::into_inner).unwrap_or_default();
    let referral = signed_in
        .run(&state.pool, move |conn, principal| {
            let current = authorized(conn, &principal, id, requested_by(Move::Accept)?)?;
            let linked = match request.client_id {
                Some(client_id) => Some(clients::authorized(conn, &principal, client_id, Action::UpdateClient)?.id),
                None => None,
            };
            let status = current.status_on(domain::today())?;
            if !lifecycle::step(Move::Accept).from.contains(&status) {
                return Err(ApiError::wrong_status(
                    status.code(),
                    format!("A {} referral cannot be accepted.", status.code()),
                ));
            }
            let shared = shared_client(conn, &current)?.ok_or_else(|| {
                ApiError::conflict("consent_no_longer_valid", "The client's consent to share no longer stands.")
            })?;
            db::transaction(conn, |conn| {
                let partner_client_id = match linked {
                    Some(id) => id,
                    None => {
                        let fields = shared
                            .as_new_client(super::shared::PLACEHOLDER)
                            .parse(domain::today())
                            .map_err(FieldErrors::into_error)?;
                        let organisation = organisations::queries::find(conn, current.to_organisation_id)?
                            .ok_or_else(|| ApiError::not_found("organisation"))?;
                        let reference = clients::queries::next_reference(
                            conn,
                            organisation.id,
                            &organisation.short_name,
                            domain::today().year(),
                        )?;
                        let row = clients::queries::insert(conn, organisation.id, &reference, &fields)?;
                        audit::record(
                            conn,
                            Event::new(&principal.actor, "client.create", "client").on(row.id).for_client(row.id),
                        )?;
                        row.id
                    }
                };
                let change = Change {
                    partner_client_id: Some(partner_client_id),
                    partner_client_created: linked.is_none(),
                    ..Change::by(Move::Accept)
                };
                let row = apply(conn, &principal, &current, if_match, &change)?;
                view(conn, &principal, row, true)
            })
        })
        .await?;
    Ok(transition_response(referral))
}

/// Decline a referral addressed to the caller's organisation, with a reason.
#[utoipa::path(
    tag = "referrals",
    params(("id" = Id, Path, description = "Referral id"), ("If-Match" = String, Header, description = "ETag of the referral")),
    request_body = DeclineRequest,
    responses(
        (status = 200, description = "Declined", body = Referral, headers(("ETag" = String))),
        (status = 403, description = "The role takes no part in referrals, or the caller's specialties do not include the service", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such referral", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Not pending (`current_status`)", body = Problem, content_type = "application/problem+json"),
        (status = 412, description = "Stale version", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields (a reason that is too long)", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[post("/referrals/{id}/decline")]
pub async fn decline(
    state: web::Data<AppState>,
    signed_in: SignedIn,
    id: web::Path<ReferralId>,
    if_match: IfMatch,
    body: web::Json<DeclineRequest>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let request = body.into_inner();
    let reason = optional_reason(request.reason.as_deref())?;
    let transition =
        Transition { on: Move::Decline, reason_code: Some(request.reason_code.code()), reason, outcome: None };
    transition.run(&state, signed_in, id, if_match).await
}

/// Cancel a referral the caller's organisation sent (pending or accepted).
#[utoipa::path(
    tag = "referrals",
    params(("id" = Id, Path, description = "Referral id"), ("If-Match" = String, Header, description = "ETag of the referral")),
    request_body = CancelRequest,
    responses(
        (status = 200, description = "Cancelled", body = Referral, headers(("ETag" = String))),
        (status = 403, description = "The role takes no part in referrals", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such referral", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Already closed (`current_status`)", body = Problem, content_type = "application/problem+json"),
        (status = 412, description = "Stale version", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields (a reason that is too long)", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[post("/referrals/{id}/cancel")]
pub async fn cancel(
    state: web::Data<AppState>,
    signed_in: SignedIn,
    id: web::Path<ReferralId>,
    if_match: IfMatch,
    body: Option<web::Json<CancelRequest>>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let request = body.map(web::Json::into_inner).unwrap_or_default();
    let reason = optional_reason(request.reason.as_deref())?;
    let transition = Transition { on: Move::Cancel, reason_code: Some("cancelled_by_sender"), reason, outcome: None };
    transition.run(&state, signed_in, id, if_match).await
}

/// Complete an accepted referral with an outcome summary for the sender.
#[utoipa::path(
    tag = "referrals",
    params(("id" = Id, Path, description = "Referral id"), ("If-Match" = String, Header, description = "ETag of the referral")),
    request_body = CompleteRequest,
    responses(
        (status = 200, description = "Completed", body = Referral, headers(("ETag" = String))),
        (status = 403, description = "The role takes no part in referrals, or the caller's specialties do not include the service", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such referral", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Not accepted (`current_status`)", body = Problem, content_type = "application/problem+json"),
        (status = 412, description = "Stale version", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Outcome missing or too long", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[post("/referrals/{id}/complete")]
pub async fn complete(
    state: web::Data<AppState>,
    signed_in: SignedIn,
    id: web::Path<ReferralId>,
    if_match: IfMatch,
    body: web::Json<CompleteRequest>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let mut errors = FieldErrors::default();
    let outcome = errors.check("outcome", bounded_text(&body.outcome, 1, 4000));
    let outcome = errors.finish(|| outcome)?;
    let transition = Transition { on: Move::Complete, reason_code: None, reason: None, outcome: Some(outcome) };
    transition.run(&state, signed_in, id, if_match).await
}

/// Referral events of the caller's organisation (sent or received) after a position, in the
/// order they committed: poll with the last position seen and nothing is missed.
#[utoipa::path(
    tag = "referrals",
    params(ChangesQuery),
    responses(
        (status = 200, description = "Events after the position", body = Changes),
        (status = 400, description = "Invalid query", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The role sees no referrals", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[get("/referrals/changes")]
pub async fn changes(
    state: web::Data<AppState>,
    signed_in: SignedIn,
    query: web::Query<ChangesQuery>,
) -> Result<web::Json<Changes>, ApiError> {
    let after = query.after.unwrap_or(0);
    let limit = query.limit.unwrap_or(100);
    let mut errors = FieldErrors::default();
    if after < 0 {
        errors.add("after", "must not be negative");
    }
    if !(1..=200).contains(&limit) {
        errors.add("limit", "must be between 1 and 200");
    }
    errors.finish_query(|| Some(()))?;
    let changes = signed_in
        .run(&state.pool, move |conn, principal| {
            let organisation_id = principal.authorize_in_own_organisation(conn, Action::ListReferrals, RESOURCE)?;
            let items = queries::changes(conn, organisation_id, after, limit)?
                .into_iter()
                .map(|event| event.view())
                .collect::<Result<Vec<_>, _>>()?;
            let last_position = items.last().map_or(after, |event| event.position);
            Ok(Changes { items, last_position })
        })
        .await?;
    Ok(web::Json(changes))
}
