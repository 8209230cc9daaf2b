//! `/webhooks`, `/webhooks/{id}`, `/webhooks/{id}/deliveries`, `/webhooks/{id}/test`.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, delete, get, patch, post, web};
use anyhow::Context;

use super::model::{Delivery, DeliveryFilter, TestSent, Webhook, WebhookInput, WebhookPatch, WebhookRow};
use super::queries::{self, SealedSecret};
use super::{MAX_PER_ORGANISATION, RESOURCE};
use crate::audit::{self, Event};
use crate::auth::{Principal, SignedIn};
use crate::db::{self, DbConnection, Id, OrganisationId, WebhookId};
use crate::http::idempotency::{self, Created, IdempotencyKey};
use crate::http::pagination::{Page, PageQuery};
use crate::http::precondition::{IfMatch, with_etag};
use crate::http::{ApiError, FieldErrors, Problem};
use crate::notifications::outbox::{self, EventData};
use crate::notifications::{EventType, dispatcher, signing};
use crate::policy::{Action, Target};
use crate::state::AppState;

pub fn configure(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(create).service(list).service(read).service(update).service(remove).service(deliveries).service(test);
}

/// The webhook, when the caller manages its organisation's webhooks; another organisation's is
/// unknown (404).
fn authorized(conn: &mut DbConnection, principal: &Principal, id: WebhookId) -> Result<WebhookRow, ApiError> {
    let row = queries::find(conn, id)?.ok_or_else(|| ApiError::not_found(RESOURCE))?;
    principal.authorize(
        conn,
        Action::ManageWebhooks,
        Target::organisation(row.organisation_id),
        RESOURCE,
        Some(id.any()),
    )?;
    Ok(row)
}

/// The organisation whose webhooks the caller manages.
fn own_organisation(conn: &mut DbConnection, principal: &Principal) -> Result<OrganisationId, ApiError> {
    principal.refuse_if_never(conn, Action::ManageWebhooks, RESOURCE, None)?;
    let organisation_id = principal.organisation_id.ok_or_else(ApiError::forbidden)?;
    principal.authorize(conn, Action::ManageWebhooks, Target::organisation(organisation_id), RESOURCE, None)?;
    Ok(organisation_id)
}

fn event<'a>(principal: &'a Principal, action: &'static str, row: &WebhookRow) -> Event<'a> {
    Event::new(&principal.actor, action, RESOURCE).on(row.id).in_organisation(Some(row.organisation_id))
}

/// Add a webhook for the caller's organisation. The answer carries the signing secret, once.
#[utoipa::path(
    operation_id = "create_webhook",
    tag = "webhooks",
    params(("Idempotency-Key" = Option<String>, Header, description = "Makes a retry return the first response (without the secret)")),
    request_body = WebhookInput,
    responses(
        (status = 201, description = "Added; `secret` is shown this once", body = Webhook, headers(("ETag" = String), ("Location" = String))),
        (status = 403, description = "Only coordinators manage webhooks", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields, a URL on a private or local address, or the organisation has 10 webhooks", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[post("/webhooks")]
pub async fn create(
    state: web::Data<AppState>,
    signed_in: SignedIn,
    key: IdempotencyKey,
    body: web::Json<WebhookInput>,
) -> Result<HttpResponse, ApiError> {
    let input = body.into_inner();
    let request_hash = idempotency::fingerprint("POST /webhooks", &input)?;
    let fields = input.parse(state.notifications.allow_private_addresses).map_err(FieldErrors::into_error)?;
    let app = state.clone();
    let created = signed_in
        .run(&state.pool, move |conn, principal| {
            idempotency::create_once(
                conn,
                principal.user_id,
                &key,
                &request_hash,
                |conn, id| read_one(conn, &principal, id).map(created),
                |conn| {
                    let organisation_id = own_organisation(conn, &principal)?;
                    if queries::count_of(conn, organisation_id)? >= MAX_PER_ORGANISATION {
                        return Err(ApiError::unprocessable(
                            "too_many_webhooks",
                            format!("An organisation has at most {MAX_PER_ORGANISATION} webhooks."),
                        ));
                    }
                    Ok(organisation_id)
                },
                |conn, organisation_id| {
                    let id = Id::new();
                    let secret = signing::new_secret()
                        .map_err(|e| anyhow::anyhow!("no randomness for a webhook's secret: {e}"))?;
                    let (master_key_id, sealed) = app
                        .master_keys
                        .seal_secret(&dispatcher::webhook_label(id), &secret)
                        .context("cannot seal a webhook's secret")?;
                    let row = queries::insert(
                        conn,
                        id,
                        organisation_id,
                        principal.user_id,
                        &fields,
                        SealedSecret { master_key_id, sealed },
                    )?;
                    audit::record(conn, event(&principal, "webhook.create", &row))?;
                    let webhook = Webhook { secret: Some(signing::display(&secret)), ..row.view() };
                    Ok(created(webhook))
                },
            )
        })
        .await?;
    Ok(created.response())
}

fn created(webhook: Webhook) -> Created<Webhook> {
    Created::new(webhook.id, format!("/api/v1/webhooks/{}", webhook.id), webhook.version, webhook)
}

fn read_one(conn: &mut DbConnection, principal: &Principal, id: WebhookId) -> Result<Webhook, ApiError> {
    Ok(authorized(conn, principal, id)?.view())
}

/// The webhooks of the caller's organisation, by id.
#[utoipa::path(
    operation_id = "list_webhooks",
    tag = "webhooks",
    params(PageQuery),
    responses(
        (status = 200, description = "A page of webhooks", body = Page<Webhook>),
        (status = 400, description = "Invalid query", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Only coordinators manage webhooks", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[get("/webhooks")]
pub async fn list(
    state: web::Data<AppState>,
    signed_in: SignedIn,
    query: web::Query<PageQuery>,
) -> Result<web::Json<Page<Webhook>>, ApiError> {
    let page = query.parse()?;
    let page = signed_in
        .run(&state.pool, move |conn, principal| {
            let organisation_id = own_organisation(conn, &principal)?;
            let rows = queries::list(conn, organisation_id, page)?;
            let items: Vec<Webhook> = rows.into_iter().map(WebhookRow::view).collect();
            Ok(Page::from_rows(items, page, |w| w.id, |w| w))
        })
        .await?;
    Ok(web::Json(page))
}

/// One webhook (never its secret).
#[utoipa::path(
    operation_id = "read_webhook",
    tag = "webhooks",
    params(("id" = Id, Path, description = "Webhook id")),
    responses(
        (status = 200, description = "The webhook", body = Webhook, headers(("ETag" = String))),
        (status = 403, description = "Only coordinators manage webhooks", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such webhook in the caller's organisation", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[get("/webhooks/{id}")]
pub async fn read(
    state: web::Data<AppState>,
    signed_in: SignedIn,
    id: web::Path<WebhookId>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let webhook = signed_in.run(&state.pool, move |conn, principal| read_one(conn, &principal, id)).await?;
    Ok(with_etag(StatusCode::OK, webhook.version, &webhook))
}

/// Change a webhook (JSON Merge Patch): its URL, events, description, or turn it off and on
/// (a webhook disabled by a 410 resumes with `active: true`).
#[utoipa::path(
    operation_id = "update_webhook",
    tag = "webhooks",
    params(
        ("id" = Id, Path, description = "Webhook id"),
        ("If-Match" = String, Header, description = "ETag of the version being changed"),
    ),
    request_body = WebhookPatch,
    responses(
        (status = 200, description = "Changed", body = Webhook, headers(("ETag" = String))),
        (status = 403, description = "Only coordinators manage webhooks", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such webhook in the caller's organisation", body = Problem, content_type = "application/problem+json"),
        (status = 412, description = "Stale version", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields or a URL on a private or local address", body = Problem, content_type = "application/problem+json"),
        (status = 428, description = "If-Match missing", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[patch("/webhooks/{id}")]
pub async fn update(
    state: web::Data<AppState>,
    signed_in: SignedIn,
    id: web::Path<WebhookId>,
    if_match: IfMatch,
    body: web::Json<WebhookPatch>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let patch = body.into_inner();
    let allow_private = state.notifications.allow_private_addresses;
    let webhook = signed_in
        .run(&state.pool, move |conn, principal| {
            let current = authorized(conn, &principal, id)?;
            let mut errors = FieldErrors::default();
            let input = patch.apply(current.input(), &mut errors);
            errors.finish(|| Some(()))?;
            let fields = input.parse(allow_private).map_err(FieldErrors::into_error)?;
            db::transaction(conn, |conn| {
                let row = queries::update(conn, &current, if_match.0, &fields)?.ok_or_else(IfMatch::stale)?;
                audit::record(conn, event(&principal, "webhook.update", &row))?;
                Ok(row.view())
            })
        })
        .await?;
    Ok(with_etag(StatusCode::OK, webhook.version, &webhook))
}

/// Remove a webhook and its delivery log; deliveries still waiting are dropped.
#[utoipa::path(
    operation_id = "delete_webhook",
    tag = "webhooks",
    params(("id" = Id, Path, description = "Webhook id")),
    responses(
        (status = 204, description = "Removed"),
        (status = 403, description = "Only coordinators manage webhooks", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such webhook in the caller's organisation", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[delete("/webhooks/{id}")]
pub async fn remove(
    state: web::Data<AppState>,
    signed_in: SignedIn,
    id: web::Path<WebhookId>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    signed_in
        .run(&state.pool, move |conn, principal| {
            let row = authorized(conn, &principal, id)?;
            db::transaction(conn, |conn| {
                queries::delete(conn, id)?;
                audit::record(conn, event(&principal, "webhook.delete", &row))?;
                Ok(())
            })
        })
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// A webhook's delivery log, newest first: each delivery's status, attempts and last answer.
/// A delivery shows here once its first attempt is over.
#[utoipa::path(
    operation_id = "list_webhook_deliveries",
    tag = "webhooks",
    params(("id" = Id, Path, description = "Webhook id"), DeliveryFilter),
    responses(
        (status = 200, description = "A page of deliveries", body = Page<Delivery>),
        (status = 400, description = "Invalid query", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Only coordinators manage webhooks", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such webhook in the caller's organisation", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[get("/webhooks/{id}/deliveries")]
pub async fn deliveries(
    state: web::Data<AppState>,
    signed_in: SignedIn,
    id: web::Path<WebhookId>,
    filter: web::Query<DeliveryFilter>,
) -> Result<web::Json<Page<Delivery>>, ApiError> {
    let id = id.into_inner();
    let filter = filter.into_inner();
    let page = PageQuery { limit: filter.limit, cursor: filter.cursor.clone() }.parse()?;
    let page = signed_in
        .run(&state.pool, move |conn, principal| {
            authorized(conn, &principal, id)?;
            let rows = queries::deliveries_of(conn, id, &filter, page)?;
            Ok(Page::from_rows(rows, page, |d| d.id, |d| d))
        })
        .await?;
    Ok(web::Json(page))
}

/// Send the webhook a `webhook_test` event now (also when it is inactive); its delivery shows
/// in the delivery log like any other.
#[utoipa::path(
    operation_id = "test_webhook",
    tag = "webhooks",
    params(("id" = Id, Path, description = "Webhook id")),
    responses(
        (status = 202, description = "The test event is on its way", body = TestSent),
        (status = 403, description = "Only coordinators manage webhooks", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such webhook in the caller's organisation", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[post("/webhooks/{id}/test")]
pub async fn test(
    state: web::Data<AppState>,
    signed_in: SignedIn,
    id: web::Path<WebhookId>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let sent = signed_in
        .run(&state.pool, move |conn, principal| {
            let row = authorized(conn, &principal, id)?;
            db::transaction(conn, |conn| {
                let data = EventData {
                    webhook_id: Some(row.id),
                    organisation_id: Some(row.organisation_id),
                    ..EventData::default()
                };
                let event_id = outbox::enqueue(conn, EventType::WebhookTest, row.id, &data)?;
                audit::record(conn, event(&principal, "webhook.test", &row))?;
                Ok(TestSent { event_id })
            })
        })
        .await?;
    Ok(HttpResponse::Accepted().json(sent))
}
