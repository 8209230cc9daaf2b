//! `/users`: consortium administrators manage everyone; coordinators manage the users of their
//! own organisation and can never grant `consortium_admin`.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, get, patch, post, web};
use secrecy::SecretString;

use super::model::{CreateUserRequest, ResetPasswordRequest, UpdateUserRequest, User, UserFilter, UserRow};
use super::queries::{self, NewUser, UserQuery};
use crate::audit::{self, Event};
use crate::auth::{SignedIn, password, sessions};
use crate::db::{self, DbConnection, Id};
use crate::domain::{self, Email, Role};
use crate::http::pagination::{Page, PageQuery};
use crate::http::precondition::{IfMatch, created, with_etag};
use crate::http::{ApiError, FieldErrors, Problem};
use crate::organisations;
use crate::policy::{Action, Target};
use crate::startup::AppState;

const RESOURCE: &str = "user";

pub fn configure(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(create).service(list).service(read).service(update).service(reset_password);
}

/// Consortium administrators belong to no organisation; everyone else to exactly one.
fn check_role_fits_organisation(errors: &mut FieldErrors, role: Role, organisation_id: Option<Id>) {
    match (role.belongs_to_organisation(), organisation_id) {
        (true, None) => errors.add("organisation_id", "is required for this role"),
        (false, Some(_)) => {
            errors.add("organisation_id", "must be absent: consortium administrators belong to no organisation")
        }
        _ => {}
    }
}

fn email_taken(error: ApiError) -> ApiError {
    match error {
        ApiError::Database(diesel::result::Error::DatabaseError(
            diesel::result::DatabaseErrorKind::UniqueViolation,
            _,
        )) => ApiError::conflict("email_taken", "Another user already has this e-mail address."),
        other => other,
    }
}

fn find(conn: &mut DbConnection, id: Id) -> Result<UserRow, ApiError> {
    queries::find(conn, id)?.ok_or_else(|| ApiError::not_found(RESOURCE))
}

/// Create a user with an initial password.
#[utoipa::path(
    operation_id = "create_user",
    tag = "users",
    request_body = CreateUserRequest,
    responses(
        (status = 201, description = "Created", body = User, headers(("ETag" = String), ("Location" = String))),
        (status = 400, description = "Malformed body", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not allowed to create users or to grant this role", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "Organisation out of reach", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "E-mail taken", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[post("/users")]
pub async fn create(
    state: web::Data<AppState>,
    signed_in: SignedIn,
    body: web::Json<CreateUserRequest>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    let (draft, password, principal) = {
        signed_in
            .run(&state.pool, move |conn, principal| {
                let action = match body.role {
                    Role::ConsortiumAdmin => Action::GrantConsortiumAdmin,
                    _ => Action::CreateUser,
                };
                principal.authorize(conn, action, Target::owned_by(body.organisation_id), RESOURCE, None)?;
                let mut errors = FieldErrors::default();
                check_role_fits_organisation(&mut errors, body.role, body.organisation_id);
                if let Some(organisation_id) = body.organisation_id {
                    let usable = organisations::queries::find(conn, organisation_id)?.is_some_and(|o| o.active);
                    if !usable {
                        errors.add("organisation_id", "no such active organisation");
                    }
                }
                let email = errors.check("email", Email::parse(&body.email));
                let display_name = errors.check("display_name", domain::bounded_text(&body.display_name, 1, 120));
                let specialties = errors.check("specialties", domain::distinct(&body.specialties, 16));
                errors.check("password", password::check_strength(&body.password, &[&body.email, &body.display_name]));
                let draft = errors.finish(|| {
                    Some(NewUser {
                        organisation_id: body.organisation_id,
                        email: email?,
                        display_name: display_name?,
                        role: body.role,
                        specialties: specialties?,
                        password_hash: String::new(),
                    })
                })?;
                Ok((draft, SecretString::from(body.password), principal))
            })
            .await?
    };
    let password_hash = state.passwords.hash(password).await?;
    let draft = NewUser { password_hash, ..draft };
    let user = db::run(&state.pool, move |conn| {
        db::transaction(conn, |conn| {
            let row = queries::insert(conn, &draft)?;
            audit::record(
                conn,
                Event::new(&principal.actor, "user.create", RESOURCE).on(row.id).in_organisation(row.organisation_id),
            )?;
            Ok::<_, ApiError>(row.view()?)
        })
        .map_err(email_taken)
    })
    .await?;
    Ok(created(format!("/api/v1/users/{}", user.id), user.version, &user))
}

/// List users: everyone for consortium administrators, the caller's organisation otherwise.
#[utoipa::path(
    operation_id = "list_users",
    tag = "users",
    params(UserFilter),
    responses(
        (status = 200, description = "A page of users", body = Page<User>),
        (status = 400, description = "Invalid query", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not allowed to list users", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "Organisation out of reach", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[get("/users")]
pub async fn list(
    state: web::Data<AppState>,
    signed_in: SignedIn,
    filter: web::Query<UserFilter>,
) -> Result<web::Json<Page<User>>, ApiError> {
    let filter = filter.into_inner();
    let page = PageQuery { limit: filter.limit, cursor: filter.cursor.clone() }.parse()?;
    let page = signed_in
        .run(&state.pool, move |conn, principal| {
            let query = UserQuery {
                organisation_id: filter.organisation_id.or(principal.organisation_id),
                role: filter.role,
                active: filter.active,
            };
            principal.authorize(conn, Action::ListUsers, Target::owned_by(query.organisation_id), RESOURCE, None)?;
            let rows = queries::list(conn, &query, page)?;
            let users = rows.into_iter().map(UserRow::view).collect::<Result<Vec<_>, _>>()?;
            audit::record(
                conn,
                Event::new(&principal.actor, "user.list", RESOURCE).in_organisation(query.organisation_id),
            )?;
            Ok(Page::from_rows(users, page, |u| u.id, |u| u))
        })
        .await?;
    Ok(web::Json(page))
}

/// Get one user.
#[utoipa::path(
    operation_id = "read_user",
    tag = "users",
    params(("id" = Id, Path, description = "User id")),
    responses(
        (status = 200, description = "The user", body = User, headers(("ETag" = String))),
        (status = 403, description = "Not allowed to read users", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such user", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[get("/users/{id}")]
pub async fn read(
    state: web::Data<AppState>,
    signed_in: SignedIn,
    id: web::Path<Id>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let user = signed_in
        .run(&state.pool, move |conn, principal| {
            let row = find(conn, id)?;
            principal.authorize(conn, Action::ReadUser, Target::owned_by(row.organisation_id), RESOURCE, Some(id))?;
            audit::record(
                conn,
                Event::new(&principal.actor, "user.read", RESOURCE).on(id).in_organisation(row.organisation_id),
            )?;
            Ok(row.view()?)
        })
        .await?;
    Ok(with_etag(StatusCode::OK, user.version, &user))
}

/// Change a user's name, role, specialties or activity (JSON Merge Patch). `"active": false`
/// ends all the user's sessions at once.
#[utoipa::path(
    operation_id = "update_user",
    tag = "users",
    params(
        ("id" = Id, Path, description = "User id"),
        ("If-Match" = String, Header, description = "ETag of the version being changed"),
    ),
    request_body = UpdateUserRequest,
    responses(
        (status = 200, description = "Changed", body = User, headers(("ETag" = String))),
        (status = 403, description = "Not allowed", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such user", body = Problem, content_type = "application/problem+json"),
        (status = 412, description = "Stale version", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields", body = Problem, content_type = "application/problem+json"),
        (status = 428, description = "If-Match missing", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[patch("/users/{id}")]
pub async fn update(
    state: web::Data<AppState>,
    signed_in: SignedIn,
    id: web::Path<Id>,
    if_match: IfMatch,
    body: web::Json<UpdateUserRequest>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let body = body.into_inner();
    let user = signed_in
        .run(&state.pool, move |conn, principal| {
            let current = find(conn, id)?;
            let target = Target::owned_by(current.organisation_id);
            principal.authorize(conn, Action::UpdateUser, target, RESOURCE, Some(id))?;
            let current_role = current.role()?;
            let mut errors = FieldErrors::default();
            let display_name = body.display_name.apply(&mut errors, "display_name", current.display_name.clone());
            let role = body.role.apply(&mut errors, "role", current_role);
            let specialties =
                body.specialties.apply(&mut errors, "specialties", db::decode_list(&current.specialties)?);
            let active = body.active.apply(&mut errors, "active", current.active);
            if role == Role::ConsortiumAdmin && current_role != Role::ConsortiumAdmin {
                principal.authorize(conn, Action::GrantConsortiumAdmin, target, RESOURCE, Some(id))?;
            }
            check_role_fits_organisation(&mut errors, role, current.organisation_id);
            let display_name = errors.check("display_name", domain::bounded_text(&display_name, 1, 120));
            let specialties = errors.check("specialties", domain::distinct(&specialties, 16));
            let (display_name, specialties) = errors.finish(|| Some((display_name?, specialties?)))?;
            db::transaction(conn, |conn| {
                let row = queries::update(conn, id, if_match.0, &display_name, role, &specialties, active)?
                    .ok_or_else(IfMatch::stale)?;
                if current.active && !active {
                    sessions::revoke_all(conn, id, "user_deactivated")?;
                }
                audit::record(
                    conn,
                    Event::new(&principal.actor, "user.update", RESOURCE).on(id).in_organisation(row.organisation_id),
                )?;
                Ok(row.view()?)
            })
        })
        .await?;
    Ok(with_etag(StatusCode::OK, user.version, &user))
}

/// Set a new password for a user; all their sessions end.
#[utoipa::path(
    tag = "users",
    params(("id" = Id, Path, description = "User id")),
    request_body = ResetPasswordRequest,
    responses(
        (status = 204, description = "Password replaced"),
        (status = 403, description = "Not allowed", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such user", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Password too weak", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[post("/users/{id}/password")]
pub async fn reset_password(
    state: web::Data<AppState>,
    signed_in: SignedIn,
    id: web::Path<Id>,
    body: web::Json<ResetPasswordRequest>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let body = body.into_inner();
    let (organisation_id, password, principal) = {
        signed_in
            .run(&state.pool, move |conn, principal| {
                let user = find(conn, id)?;
                principal.authorize(
                    conn,
                    Action::ResetUserPassword,
                    Target::owned_by(user.organisation_id),
                    RESOURCE,
                    Some(id),
                )?;
                let mut errors = FieldErrors::default();
                errors.check(
                    "new_password",
                    password::check_strength(&body.new_password, &[&user.email, &user.display_name]),
                );
                errors.finish(|| Some((user.organisation_id, SecretString::from(body.new_password), principal)))
            })
            .await?
    };
    let hash = state.passwords.hash(password).await?;
    db::run(&state.pool, move |conn| {
        db::transaction(conn, |conn| {
            queries::set_password(conn, id, &hash)?;
            sessions::revoke_all(conn, id, "password_reset")?;
            audit::record(
                conn,
                Event::new(&principal.actor, "user.password_reset", RESOURCE).on(id).in_organisation(organisation_id),
            )?;
            Ok(())
        })
    })
    .await?;
    Ok(HttpResponse::NoContent().finish())
}
