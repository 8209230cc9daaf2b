//! `/specialty-grants`: pending grants of the psychological specialty and their decision.

use actix_web::{get, post, web};

use super::model::{GrantFilter, GrantRow, GrantStatus, SpecialtyGrant};
use super::queries::{self, GrantQuery};
use super::{GUARDED, RESOURCE};
use crate::audit::{self, Event};
use crate::auth::SignedIn;
use crate::db::{self, GrantId, Id};
use crate::http::pagination::{Page, PageQuery};
use crate::http::{ApiError, Problem};
use crate::policy::{Action, Target};
use crate::state::AppState;

pub fn configure(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(list).service(confirm).service(refuse);
}

/// Grants of the caller's organisation (any organisation for consortium administrators),
/// oldest first; `?status=pending` lists those waiting for a decision.
#[utoipa::path(
    operation_id = "list_specialty_grants",
    tag = "users",
    params(GrantFilter),
    responses(
        (status = 200, description = "A page of grants", body = Page<SpecialtyGrant>),
        (status = 400, description = "Invalid query", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not allowed to list grants", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "Organisation out of reach", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[get("/specialty-grants")]
pub async fn list(
    state: web::Data<AppState>,
    signed_in: SignedIn,
    filter: web::Query<GrantFilter>,
) -> Result<web::Json<Page<SpecialtyGrant>>, ApiError> {
    let filter = filter.into_inner();
    let page = PageQuery { limit: filter.limit, cursor: filter.cursor.clone() }.parse()?;
    let page = signed_in
        .run(&state.pool, move |conn, principal| {
            let query = GrantQuery {
                organisation_id: filter.organisation_id.or(principal.organisation_id),
                status: filter.status,
                user_id: filter.user_id,
            };
            principal.authorize(
                conn,
                Action::ListSpecialtyGrants,
                Target::owned_by(query.organisation_id),
                RESOURCE,
                None,
            )?;
            let grants =
                queries::list(conn, &query, page)?.into_iter().map(GrantRow::view).collect::<Result<_, _>>()?;
            Ok(Page::from_rows(grants, page, |g: &SpecialtyGrant| g.id, |g| g))
        })
        .await?;
    Ok(web::Json(page))
}

/// Confirm a pending grant: the user holds the psychological specialty from now on. Only a
/// psychologist of the organisation who neither asked for it nor receives it may confirm, or a
/// consortium administrator where the organisation has no psychologist yet.
#[utoipa::path(
    operation_id = "confirm_specialty_grant",
    tag = "users",
    params(("id" = Id, Path, description = "Grant id")),
    responses(
        (status = 200, description = "Confirmed", body = SpecialtyGrant),
        (status = 403, description = "Not a second person who may decide", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such grant", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Decided already", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[post("/specialty-grants/{id}/confirm")]
pub async fn confirm(
    state: web::Data<AppState>,
    signed_in: SignedIn,
    id: web::Path<GrantId>,
) -> Result<web::Json<SpecialtyGrant>, ApiError> {
    decide(state, signed_in, id.into_inner(), GrantStatus::Confirmed).await
}

/// Refuse a pending grant (the same people may refuse as may confirm).
#[utoipa::path(
    operation_id = "refuse_specialty_grant",
    tag = "users",
    params(("id" = Id, Path, description = "Grant id")),
    responses(
        (status = 200, description = "Refused", body = SpecialtyGrant),
        (status = 403, description = "Not a second person who may decide", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such grant", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Decided already", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[post("/specialty-grants/{id}/refuse")]
pub async fn refuse(
    state: web::Data<AppState>,
    signed_in: SignedIn,
    id: web::Path<GrantId>,
) -> Result<web::Json<SpecialtyGrant>, ApiError> {
    decide(state, signed_in, id.into_inner(), GrantStatus::Refused).await
}

async fn decide(
    state: web::Data<AppState>,
    signed_in: SignedIn,
    id: GrantId,
    decision: GrantStatus,
) -> Result<web::Json<SpecialtyGrant>, ApiError> {
    let grant = signed_in
        .run(&state.pool, move |conn, principal| {
            let grant = queries::find(conn, id)?.ok_or_else(|| ApiError::not_found(RESOURCE))?;
            let has_psychologist = queries::has_psychologist(conn, grant.organisation_id)?;
            let target = Target::grant(grant.organisation_id, grant.user_id, grant.requested_by, has_psychologist);
            principal.authorize(conn, Action::DecidePsychologicalGrant, target, RESOURCE, Some(id.any()))?;
            let decided = || ApiError::wrong_status(grant.status.code(), "This grant has been decided already.");
            if !grant.is_pending() {
                return Err(decided());
            }
            db::transaction(conn, |conn| {
                let row = queries::decide(conn, id, decision, Some(principal.user_id))?.ok_or_else(decided)?;
                if decision == GrantStatus::Confirmed {
                    crate::users::queries::add_specialty(conn, row.user_id, GUARDED)?;
                }
                let action = match decision {
                    GrantStatus::Confirmed => "specialty_grant.confirm",
                    _ => "specialty_grant.refuse",
                };
                let event = Event::new(&principal.actor, action, RESOURCE).on(id);
                audit::record(conn, event.in_organisation(Some(row.organisation_id)))?;
                Ok(row.view()?)
            })
        })
        .await?;
    Ok(web::Json(grant))
}
