//! `/organisations`: consortium administrators manage partners; everyone signed in can list them
//! (a referral needs a target).

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, get, patch, post, web};

use super::model::{
    CreateOrganisationRequest, Organisation, OrganisationFields, OrganisationFilter, OrganisationRow,
    UpdateOrganisationRequest, parse_cities, parse_short_name,
};
use super::queries;
use crate::audit::{self, Event};
use crate::auth::SignedIn;
use crate::db::{self, Id, OrganisationId};
use crate::domain::{self, Email};
use crate::http::pagination::{Page, PageQuery};
use crate::http::precondition::{IfMatch, created as created_response, with_etag};
use crate::http::{ApiError, FieldErrors, Problem};
use crate::policy::{Action, Target};
use crate::state::AppState;

const RESOURCE: &str = "organisation";

pub fn configure(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(create).service(list).service(read).service(update);
}

fn parse_fields(
    name: &str,
    short_name: &str,
    cities: &[String],
    services: &[domain::SessionKind],
    contact_email: &str,
) -> Result<OrganisationFields, ApiError> {
    let mut errors = FieldErrors::default();
    let name = errors.check("name", domain::bounded_text(name, 1, 200));
    let short_name = errors.check("short_name", parse_short_name(short_name));
    let cities = errors.check("cities", parse_cities(cities));
    let services = errors.check("services", domain::distinct(services, 16));
    let contact_email = errors.check("contact_email", Email::parse(contact_email));
    errors.finish(|| {
        Some(OrganisationFields {
            name: name?,
            short_name: short_name?,
            cities: cities?,
            services: services?,
            contact_email: contact_email?.as_str().to_owned(),
        })
    })
}

fn short_name_taken(error: ApiError) -> ApiError {
    match error {
        ApiError::Database(diesel::result::Error::DatabaseError(
            diesel::result::DatabaseErrorKind::UniqueViolation,
            _,
        )) => ApiError::conflict("short_name_taken", "Another organisation already uses this short name."),
        other => other,
    }
}

/// Create an organisation.
#[utoipa::path(
    operation_id = "create_organisation",
    tag = "organisations",
    request_body = CreateOrganisationRequest,
    responses(
        (status = 201, description = "Created", body = Organisation, headers(("ETag" = String), ("Location" = String))),
        (status = 400, description = "Malformed body", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not a consortium administrator", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Short name taken", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[post("/organisations")]
pub async fn create(
    state: web::Data<AppState>,
    signed_in: SignedIn,
    body: web::Json<CreateOrganisationRequest>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    let created = signed_in
        .run(&state.pool, move |conn, principal| {
            principal.authorize(conn, Action::CreateOrganisation, Target::consortium(), RESOURCE, None)?;
            let fields = parse_fields(&body.name, &body.short_name, &body.cities, &body.services, &body.contact_email)?;
            db::transaction(conn, |conn| {
                let row = queries::insert(conn, &fields)?;
                audit::record(conn, Event::new(&principal.actor, "organisation.create", RESOURCE).on(row.id))?;
                Ok::<_, ApiError>(row.view())
            })
            .map_err(short_name_taken)
        })
        .await?;
    Ok(created_response(format!("/api/v1/organisations/{}", created.id), created.version, &created))
}

/// List organisations (partners), oldest first.
#[utoipa::path(
    operation_id = "list_organisations",
    tag = "organisations",
    params(OrganisationFilter),
    responses(
        (status = 200, description = "A page of organisations", body = Page<Organisation>),
        (status = 400, description = "Invalid query", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[get("/organisations")]
pub async fn list(
    state: web::Data<AppState>,
    signed_in: SignedIn,
    filter: web::Query<OrganisationFilter>,
) -> Result<web::Json<Page<Organisation>>, ApiError> {
    let filter = filter.into_inner();
    let page = PageQuery { limit: filter.limit, cursor: filter.cursor }.parse()?;
    let page = signed_in
        .run(&state.pool, move |conn, principal| {
            principal.authorize(conn, Action::ListOrganisations, Target::consortium(), RESOURCE, None)?;
            let rows = queries::list(conn, filter.active, page)?;
            let rows: Vec<_> = rows.into_iter().map(OrganisationRow::view).collect();
            Ok(Page::from_rows(rows, page, |o| o.id, |o| o))
        })
        .await?;
    Ok(web::Json(page))
}

/// Get one organisation.
#[utoipa::path(
    operation_id = "read_organisation",
    tag = "organisations",
    params(("id" = Id, Path, description = "Organisation id")),
    responses(
        (status = 200, description = "The organisation", body = Organisation, headers(("ETag" = String))),
        (status = 404, description = "No such organisation", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[get("/organisations/{id}")]
pub async fn read(
    state: web::Data<AppState>,
    signed_in: SignedIn,
    id: web::Path<OrganisationId>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let organisation = signed_in
        .run(&state.pool, move |conn, principal| {
            let row = queries::find(conn, id)?.ok_or_else(|| ApiError::not_found(RESOURCE))?;
            principal.authorize(
                conn,
                Action::ReadOrganisation,
                Target::organisation(row.id),
                RESOURCE,
                Some(id.any()),
            )?;
            Ok(row.view())
        })
        .await?;
    Ok(with_etag(StatusCode::OK, organisation.version, &organisation))
}

/// Change an organisation (JSON Merge Patch); `"active": false` deactivates it.
#[utoipa::path(
    operation_id = "update_organisation",
    tag = "organisations",
    params(
        ("id" = Id, Path, description = "Organisation id"),
        ("If-Match" = String, Header, description = "ETag of the version being changed"),
    ),
    request_body = UpdateOrganisationRequest,
    responses(
        (status = 200, description = "Changed", body = Organisation, headers(("ETag" = String))),
        (status = 403, description = "Not a consortium administrator", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such organisation", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Short name taken", body = Problem, content_type = "application/problem+json"),
        (status = 412, description = "Stale version", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields", body = Problem, content_type = "application/problem+json"),
        (status = 428, description = "If-Match missing", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[patch("/organisations/{id}")]
pub async fn update(
    state: web::Data<AppState>,
    signed_in: SignedIn,
    id: web::Path<OrganisationId>,
    if_match: IfMatch,
    body: web::Json<UpdateOrganisationRequest>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let body = body.into_inner();
    let organisation = signed_in
        .run(&state.pool, move |conn, principal| {
            let current = queries::find(conn, id)?.ok_or_else(|| ApiError::not_found(RESOURCE))?;
            principal.authorize(
                conn,
                Action::UpdateOrganisation,
                Target::organisation(current.id),
                RESOURCE,
                Some(id.any()),
            )?;
            let mut errors = FieldErrors::default();
            let name = body.name.apply(&mut errors, "name", current.name.clone());
            let short_name = body.short_name.apply(&mut errors, "short_name", current.short_name.clone());
            let cities = body.cities.apply(&mut errors, "cities", current.cities.clone());
            let services = body.services.apply(&mut errors, "services", current.services.clone());
            let contact_email = body.contact_email.apply(&mut errors, "contact_email", current.contact_email.clone());
            let active = body.active.apply(&mut errors, "active", current.active);
            errors.finish(|| Some(()))?;
            let fields = parse_fields(&name, &short_name, &cities, &services, &contact_email)?;
            db::transaction(conn, |conn| {
                let row = queries::update(conn, id, if_match.0, &fields, active)?.ok_or_else(IfMatch::stale)?;
                if current.active && !active {
                    queries::end_member_sessions(conn, id)?;
                }
                audit::record(conn, Event::new(&principal.actor, "organisation.update", RESOURCE).on(id))?;
                Ok::<_, ApiError>(row.view())
            })
            .map_err(short_name_taken)
        })
        .await?;
    Ok(with_etag(StatusCode::OK, organisation.version, &organisation))
}
