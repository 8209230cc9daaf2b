//! `/users`: consortium administrators manage everyone; coordinators manage the users of their
//! own organisation and can never grant `consortium_admin`. Nobody changes their own role or
//! specialties, nobody chooses another person's password (creation and resets issue one-time
//! enrolment tokens), and the psychological specialty is granted by two people (`crate::grants`).

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, get, patch, post, web};

use super::model::{CreateUserRequest, CreatedUser, UpdateUserRequest, User, UserFilter, UserRow};
use super::queries::{self, NewUser, UserQuery};
use crate::audit::{self, Event};
use crate::auth::enrolment::{self, Enrolment};
use crate::auth::{Principal, SignedIn, login_sessions};
use crate::db::{self, DbConnection, Id, OrganisationId, UserId};
use crate::domain::{self, Email, Role, SessionKind};
use crate::grants::{self, GUARDED};
use crate::http::pagination::{Page, PageQuery};
use crate::http::precondition::{IfMatch, created as created_response, with_etag};
use crate::http::{ApiError, FieldErrors, Problem};
use crate::organisations;
use crate::policy::{Action, Target};
use crate::state::AppState;

const RESOURCE: &str = "user";

pub fn configure(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(create).service(list).service(read).service(update).service(reset_password);
}

/// Consortium administrators belong to no organisation; everyone else to exactly one.
fn check_role_fits_organisation(errors: &mut FieldErrors, role: Role, organisation_id: Option<OrganisationId>) {
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

fn find(conn: &mut DbConnection, id: UserId) -> Result<UserRow, ApiError> {
    queries::find(conn, id)?.ok_or_else(|| ApiError::not_found(RESOURCE))
}

/// A user as answered, with the specialties that wait for a second person.
fn view(conn: &mut DbConnection, row: UserRow) -> Result<User, ApiError> {
    let pending = grants::pending_of_user(conn, row.id)?;
    Ok(row.view(pending))
}

/// Specialties that take effect at once: all asked for but the guarded one, which is asked
/// for separately (`grants::request`).
fn granted_at_once(specialties: &[SessionKind]) -> Vec<SessionKind> {
    specialties.iter().copied().filter(|kind| *kind != GUARDED).collect()
}

/// Ends a user's password and login sessions and issues a new enrolment token. A psychologist
/// whose password someone else reset loses the specialty until a second person confirms it
/// again: whoever holds the new token must not enter the psychological tier on their own.
fn reissue_enrolment(conn: &mut DbConnection, principal: &Principal, user: &UserRow) -> Result<Enrolment, ApiError> {
    queries::set_password(conn, user.id, "")?;
    login_sessions::revoke_all(conn, user.id, "password_reset")?;
    let specialties = &user.specialties;
    if user.id != principal.user_id
        && specialties.contains(&GUARDED)
        && let Some(organisation_id) = user.organisation_id
    {
        queries::set_specialties(conn, user.id, &granted_at_once(specialties))?;
        grants::request(conn, &principal.actor, organisation_id, user.id)?;
    }
    Ok(enrolment::issue(conn, user.id, Some(principal.user_id))?)
}

/// Create a user. The answer carries a one-time enrolment token (shown only here) with which
/// the user sets their own password at `POST /auth/enrol`; the psychological specialty waits for
/// a second person's confirmation.
#[utoipa::path(
    operation_id = "create_user",
    tag = "users",
    request_body = CreateUserRequest,
    responses(
        (status = 201, description = "Created", body = CreatedUser, headers(("ETag" = String), ("Location" = String))),
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
    let created = signed_in
        .run(&state.pool, move |conn, principal| {
            let action = match body.role {
                Role::ConsortiumAdmin => Action::GrantConsortiumAdmin,
                _ => Action::CreateUser,
            };
            let target = Target::user(body.organisation_id, None);
            principal.authorize(conn, action, target, RESOURCE, None)?;
            let asks_for_guarded = body.specialties.contains(&GUARDED);
            if asks_for_guarded {
                principal.authorize(conn, Action::RequestPsychologicalGrant, target, RESOURCE, None)?;
            }
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
            let draft = errors.finish(|| {
                Some(NewUser {
                    organisation_id: body.organisation_id,
                    email: email?,
                    display_name: display_name?,
                    role: body.role,
                    specialties: granted_at_once(&specialties?),
                    password_hash: String::new(),
                })
            })?;
            db::transaction(conn, |conn| {
                let row = queries::insert(conn, &draft)?;
                audit::record(
                    conn,
                    Event::new(&principal.actor, "user.create", RESOURCE)
                        .on(row.id)
                        .in_organisation(row.organisation_id),
                )?;
                if asks_for_guarded && let Some(organisation_id) = row.organisation_id {
                    grants::request(conn, &principal.actor, organisation_id, row.id)?;
                }
                let enrolment = enrolment::issue(conn, row.id, Some(principal.user_id))?;
                Ok(CreatedUser { user: view(conn, row)?, enrolment })
            })
            .map_err(email_taken)
        })
        .await?;
    Ok(created_response(format!("/api/v1/users/{}", created.user.id), created.user.version, &created))
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
            let ids: Vec<UserId> = rows.iter().map(|row| row.id).collect();
            let mut pending = grants::pending_specialties(conn, &ids)?;
            let users = rows
                .into_iter()
                .map(|row| {
                    let pending = pending.remove(&row.id).unwrap_or_default();
                    row.view(pending)
                })
                .collect::<Vec<_>>();
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
    id: web::Path<UserId>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let user = signed_in
        .run(&state.pool, move |conn, principal| {
            let row = find(conn, id)?;
            principal.authorize(
                conn,
                Action::ReadUser,
                Target::owned_by(row.organisation_id),
                RESOURCE,
                Some(id.any()),
            )?;
            audit::record(
                conn,
                Event::new(&principal.actor, "user.read", RESOURCE).on(id).in_organisation(row.organisation_id),
            )?;
            view(conn, row)
        })
        .await?;
    Ok(with_etag(StatusCode::OK, user.version, &user))
}

/// Change a user's name, role, specialties or activity (JSON Merge Patch). `"active": false`
/// ends all the user's sessions at once. Nobody changes their own role or specialties; adding
/// `psychological` asks for it (see `/specialty-grants`).
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
        (status = 403, description = "Not allowed (one's own role or specialties among them)", body = Problem, content_type = "application/problem+json"),
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
    id: web::Path<UserId>,
    if_match: IfMatch,
    body: web::Json<UpdateUserRequest>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let body = body.into_inner();
    let user = signed_in
        .run(&state.pool, move |conn, principal| {
            let current = find(conn, id)?;
            let target = Target::user(current.organisation_id, Some(id));
            principal.authorize(conn, Action::UpdateUser, target, RESOURCE, Some(id.any()))?;
            let current_role = current.role;
            let current_specialties = &current.specialties;
            let pending = grants::pending_of_user(conn, id)?;
            let asked_before: Vec<SessionKind> = current_specialties.iter().chain(&pending).copied().collect();
            let mut errors = FieldErrors::default();
            let display_name = body.display_name.apply(&mut errors, "display_name", current.display_name.clone());
            let role = body.role.apply(&mut errors, "role", current_role);
            let specialties = body.specialties.apply(&mut errors, "specialties", asked_before.clone());
            let active = body.active.apply(&mut errors, "active", current.active);
            let same_kinds =
                |a: &[SessionKind], b: &[SessionKind]| a.len() == b.len() && a.iter().all(|kind| b.contains(kind));
            if role != current_role || !same_kinds(&specialties, &asked_before) {
                principal.authorize(conn, Action::ChangeUserPermissions, target, RESOURCE, Some(id.any()))?;
            }
            if role == Role::ConsortiumAdmin && current_role != Role::ConsortiumAdmin {
                principal.authorize(conn, Action::GrantConsortiumAdmin, target, RESOURCE, Some(id.any()))?;
            }
            let asks_for_guarded = specialties.contains(&GUARDED) && !current_specialties.contains(&GUARDED);
            if asks_for_guarded && !pending.contains(&GUARDED) {
                principal.authorize(conn, Action::RequestPsychologicalGrant, target, RESOURCE, Some(id.any()))?;
            }
            check_role_fits_organisation(&mut errors, role, current.organisation_id);
            let display_name = errors.check("display_name", domain::bounded_text(&display_name, 1, 120));
            let checked = errors.check("specialties", domain::distinct(&specialties, 16));
            let (display_name, specialties) = errors.finish(|| Some((display_name?, checked?)))?;
            // The guarded specialty stays as it is unless it is removed: adding it only asks.
            let mut effective = granted_at_once(&specialties);
            if current_specialties.contains(&GUARDED) && specialties.contains(&GUARDED) {
                effective.push(GUARDED);
            }
            db::transaction(conn, |conn| {
                let row = queries::update(conn, id, if_match.0, &display_name, role, &effective, active)?
                    .ok_or_else(IfMatch::stale)?;
                if current.active && !active {
                    login_sessions::revoke_all(conn, id, "user_deactivated")?;
                }
                audit::record(
                    conn,
                    Event::new(&principal.actor, "user.update", RESOURCE).on(id).in_organisation(row.organisation_id),
                )?;
                match row.organisation_id {
                    Some(organisation_id) if asks_for_guarded => {
                        grants::request(conn, &principal.actor, organisation_id, id)?
                    }
                    _ if !specialties.contains(&GUARDED) => grants::withdraw(conn, &principal.actor, id)?,
                    _ => {}
                }
                view(conn, row)
            })
        })
        .await?;
    Ok(with_etag(StatusCode::OK, user.version, &user))
}

/// Reset a user's password: the old one stops working, all their sessions end, and the answer
/// carries a new one-time enrolment token (shown only here) for the user to set a password of
/// their own. A psychologist's specialty waits for a second person's confirmation again.
#[utoipa::path(
    operation_id = "reset_user_password",
    tag = "users",
    params(("id" = Id, Path, description = "User id")),
    responses(
        (status = 200, description = "Password ended; the new enrolment token", body = Enrolment),
        (status = 403, description = "Not allowed", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such user", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[post("/users/{id}/password-reset")]
pub async fn reset_password(
    state: web::Data<AppState>,
    signed_in: SignedIn,
    id: web::Path<UserId>,
) -> Result<web::Json<Enrolment>, ApiError> {
    let id = id.into_inner();
    let enrolment = signed_in
        .run(&state.pool, move |conn, principal| {
            let user = find(conn, id)?;
            let target = Target::user(user.organisation_id, Some(id));
            principal.authorize(conn, Action::ResetUserPassword, target, RESOURCE, Some(id.any()))?;
            db::transaction(conn, |conn| {
                let enrolment = reissue_enrolment(conn, &principal, &user)?;
                let event = Event::new(&principal.actor, "user.password_reset", RESOURCE).on(id);
                audit::record(conn, event.in_organisation(user.organisation_id))?;
                Ok(enrolment)
            })
        })
        .await?;
    Ok(web::Json(enrolment))
}
