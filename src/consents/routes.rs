//! `/clients/{id}/consents`: record, list, withdraw.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, get, post, web};

use super::model::{Consent, ConsentInput, ConsentPurpose, ConsentRow};
use super::queries;
use crate::audit::{self, Event};
use crate::auth::{Principal, SignedIn};
use crate::clients;
use crate::db::{self, ClientId, ConsentId, DbConnection, Id, OrganisationId};
use crate::domain::client::LanguageCode;
use crate::domain::{self, bounded_text, distinct};
use crate::http::idempotency::{self, Created, IdempotencyKey};
use crate::http::pagination::Page;
use crate::http::precondition::with_etag;
use crate::http::{ApiError, FieldErrors, Problem};
use crate::organisations;
use crate::policy::Action;
use crate::state::AppState;

const RESOURCE: &str = "consent";

pub fn configure(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(record).service(list).service(withdraw);
}

/// Checks a consent; returns its language and form version, normalised.
fn check(
    conn: &mut DbConnection,
    own_organisation: OrganisationId,
    input: &ConsentInput,
) -> Result<(String, String), ApiError> {
    let mut errors = FieldErrors::default();
    let today = domain::today();
    if input.given_on > today {
        errors.add("given_on", "must not be in the future");
    }
    if input.expires_on.is_some_and(|expires| expires < input.given_on) {
        errors.add("expires_on", "must not be before given_on");
    }
    errors.check("scope", distinct(&input.scope, 5));
    let sharing = input.purpose == ConsentPurpose::SharingWithPartner;
    match (sharing, input.partner_id) {
        (true, None) => errors.add("partner_id", "is required for sharing_with_partner"),
        (false, Some(_)) => errors.add("partner_id", "is only for sharing_with_partner"),
        (true, Some(partner)) => {
            let usable = partner != own_organisation
                && organisations::queries::find(conn, partner)?.is_some_and(|organisation| organisation.active);
            if !usable {
                errors.add("partner_id", "is not an active partner organisation");
            }
        }
        (false, None) => {}
    }
    if sharing && input.scope.is_empty() {
        errors.add("scope", "must name at least one field group for sharing");
    }
    let language = errors.check("language", LanguageCode::parse(&input.language));
    let form_version = errors.check("form_version", bounded_text(&input.form_version, 1, 50));
    errors.finish(|| Some((language?.as_str().to_owned(), form_version?)))
}

/// Record a consent the client gave.
#[utoipa::path(
    operation_id = "record_consent",
    tag = "consents",
    params(
        ("id" = Id, Path, description = "Client id"),
        ("Idempotency-Key" = Option<String>, Header, description = "Makes a retry return the first response"),
    ),
    request_body = ConsentInput,
    responses(
        (status = 201, description = "Recorded", body = Consent, headers(("ETag" = String), ("Location" = String))),
        (status = 404, description = "No such client", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields", body = Problem, content_type = "application/problem+json"),
        (status = 410, description = "The client's record was erased", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[post("/clients/{id}/consents")]
pub async fn record(
    state: web::Data<AppState>,
    signed_in: SignedIn,
    id: web::Path<ClientId>,
    key: IdempotencyKey,
    body: web::Json<ConsentInput>,
) -> Result<HttpResponse, ApiError> {
    let client_id = id.into_inner();
    let input = body.into_inner();
    let request_hash = idempotency::fingerprint(&format!("POST /clients/{client_id}/consents"), &input)?;
    let created = signed_in
        .run(&state.pool, move |conn, principal| {
            idempotency::create_once(
                conn,
                principal.user_id,
                &key,
                &request_hash,
                |conn, id| {
                    let consent = of_client(conn, &principal, client_id)?
                        .into_iter()
                        .find(|consent| consent.id == id)
                        .ok_or_else(|| ApiError::not_found(RESOURCE))?;
                    Ok(created(client_id, consent))
                },
                |conn| clients::authorized(conn, &principal, client_id, Action::RecordConsent),
                |conn, client| {
                    let (language, form_version) = check(conn, client.organisation_id, &input)?;
                    let row = queries::insert(
                        conn,
                        client_id,
                        client.organisation_id,
                        principal.user_id,
                        &input,
                        &language,
                        &form_version,
                    )?;
                    audit::record(
                        conn,
                        Event::new(&principal.actor, "consent.create", RESOURCE).on(row.id).for_client(client_id),
                    )?;
                    Ok(created(client_id, row.view(domain::today())))
                },
            )
        })
        .await?;
    Ok(created.response())
}

fn created(client_id: ClientId, consent: Consent) -> Created<Consent> {
    Created::new(consent.id, format!("/api/v1/clients/{client_id}/consents/{}", consent.id), consent.version, consent)
}

/// The client's consents, oldest first.
#[utoipa::path(
    operation_id = "list_consents",
    tag = "consents",
    params(("id" = Id, Path, description = "Client id")),
    responses(
        (status = 200, description = "Every consent of the client (one page)", body = Page<Consent>),
        (status = 404, description = "No such client", body = Problem, content_type = "application/problem+json"),
        (status = 410, description = "The client's record was erased", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[get("/clients/{id}/consents")]
pub async fn list(
    state: web::Data<AppState>,
    signed_in: SignedIn,
    id: web::Path<ClientId>,
) -> Result<web::Json<Page<Consent>>, ApiError> {
    let client_id = id.into_inner();
    let consents = signed_in.run(&state.pool, move |conn, principal| of_client(conn, &principal, client_id)).await?;
    Ok(web::Json(Page { items: consents, next_cursor: None }))
}

/// What `GET /clients/{id}/consents` answers. A consent has no `GET` of its own, so a retried
/// recording is answered with its consent from this list.
fn of_client(conn: &mut DbConnection, principal: &Principal, client_id: ClientId) -> Result<Vec<Consent>, ApiError> {
    clients::authorized(conn, principal, client_id, Action::ReadConsents)?;
    let today = domain::today();
    let consents = queries::of_client(conn, client_id)?.into_iter().map(|row| row.view(today)).collect::<Vec<_>>();
    audit::record(conn, Event::new(&principal.actor, "consent.list", RESOURCE).for_client(client_id))?;
    Ok(consents)
}

/// Withdraw a consent, effective at once. The sharing it allowed ends whatever the status of
/// the referrals resting on it: open ones are cancelled, their free-text reasons are cleared, a
/// partner's record created by accepting loses the shared fields, and the partner reads a
/// `consent_withdrawn` event in its change feed.
#[utoipa::path(
    tag = "consents",
    params(("id" = Id, Path, description = "Client id"), ("consent_id" = Id, Path, description = "Consent id")),
    responses(
        (status = 200, description = "Withdrawn", body = Consent, headers(("ETag" = String))),
        (status = 404, description = "No such client or consent", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Already withdrawn", body = Problem, content_type = "application/problem+json"),
        (status = 410, description = "The client's record was erased", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[post("/clients/{id}/consents/{consent_id}/withdraw")]
pub async fn withdraw(
    state: web::Data<AppState>,
    signed_in: SignedIn,
    path: web::Path<(ClientId, ConsentId)>,
) -> Result<HttpResponse, ApiError> {
    let (client_id, consent_id) = path.into_inner();
    let consent = signed_in
        .run(&state.pool, move |conn, principal| {
            clients::authorized(conn, &principal, client_id, Action::WithdrawConsent)?;
            queries::find(conn, client_id, consent_id)?.ok_or_else(|| ApiError::not_found(RESOURCE))?;
            let today = domain::today();
            db::transaction(conn, |conn| {
                let row: ConsentRow = queries::withdraw(conn, consent_id, today, principal.user_id)?
                    .ok_or_else(|| ApiError::conflict("already_withdrawn", "The consent was withdrawn already."))?;
                audit::record(
                    conn,
                    Event::new(&principal.actor, "consent.withdraw", RESOURCE).on(consent_id).for_client(client_id),
                )?;
                // Sharing rests on the consent: the referrals that depend on it end with it, and
                // the partner's copy loses the shared fields.
                crate::referrals::cascade::withdraw_consent(conn, &row, &principal.actor)?;
                Ok(row.view(today))
            })
        })
        .await?;
    Ok(with_etag(StatusCode::OK, consent.version, &consent))
}
