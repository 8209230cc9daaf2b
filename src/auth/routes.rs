//! `/auth/*` and `/.well-known/jwks.json`.

use actix_web::{HttpResponse, get, post, web};
use secrecy::SecretString;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::login_sessions::{self, RefreshToken, Rotation};
use super::tokens::JsonWebKeySet;
use super::{Origin, SignedIn, enrolment, password, throttle};
use crate::audit::{self, Actor, Event, Outcome};
use crate::db::{self, LoginSessionId, OrganisationId, UserId};
use crate::domain::Email;
use crate::http::{self, ApiError, FieldErrors, Problem};
use crate::state::AppState;
use crate::users::model::User;
use crate::users::queries as users;

const RESOURCE: &str = "session";

pub fn configure(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(login).service(refresh).service(logout).service(me).service(change_password).service(enrol);
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    #[schema(example = "anna.kowalska@example.org", max_length = 254)]
    pub email: String,
    #[schema(max_length = 128)]
    pub password: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RefreshRequest {
    pub refresh_token: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChangePasswordRequest {
    #[schema(max_length = 128)]
    pub current_password: String,
    #[schema(min_length = 12, max_length = 128)]
    pub new_password: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EnrolRequest {
    /// The one-time token issued when the account was created or its password reset.
    pub token: String,
    /// The password the user chooses, 12–128 characters, not easy to guess.
    #[schema(min_length = 12, max_length = 128)]
    pub password: String,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct TokenResponse {
    /// Short-lived JWT for `Authorization: Bearer …`.
    pub access_token: String,
    #[schema(example = "Bearer")]
    pub token_type: String,
    /// Seconds until the access token expires.
    #[schema(example = 600)]
    pub expires_in: u64,
    /// Opaque; exchange it once at `/auth/refresh` for a new pair.
    pub refresh_token: String,
}

fn invalid_credentials() -> ApiError {
    ApiError::unauthorized("The e-mail address or the password is wrong.")
}

fn token_response(
    state: &AppState,
    user_id: UserId,
    organisation_id: Option<OrganisationId>,
    role: crate::domain::Role,
    session_id: LoginSessionId,
    refresh_token: RefreshToken,
) -> Result<TokenResponse, ApiError> {
    Ok(TokenResponse {
        access_token: state.tokens.issue(user_id, organisation_id, role, session_id)?,
        token_type: "Bearer".to_owned(),
        expires_in: state.tokens.access_ttl.as_secs(),
        refresh_token: refresh_token.0,
    })
}

/// Sign in with e-mail and password.
#[utoipa::path(
    tag = "auth",
    request_body = LoginRequest,
    responses(
        (status = 200, description = "Signed in", body = TokenResponse),
        (status = 400, description = "Malformed body", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Wrong e-mail or password (same answer for both)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "An e-mail address longer than 254 characters or a password longer than 128", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many failed sign-ins from this address, or on this account from an address that failed on it; see Retry-After", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Too many sign-ins at once; retry", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/auth/login")]
pub async fn login(
    state: web::Data<AppState>,
    origin: Origin,
    body: web::Json<LoginRequest>,
) -> Result<web::Json<TokenResponse>, ApiError> {
    let LoginRequest { email, password } = body.into_inner();
    // Refused before any database work or hashing: the answer depends only on the lengths
    // typed, so it tells nothing about the account.
    within_bounds(&[("email", email.trim(), Email::MAX_LEN), ("password", &password, password::MAX_LEN)])?;
    let account_key = Email::key_of(&email);
    let attempt = throttle::Attempt::new(&account_key, &client_ip(origin.ip.as_deref()));
    let rule = state.login_throttle;
    // Before any database work, so that a flood beyond what can be checked is answered cheaply.
    let reservation = state.passwords.reserve().await?;

    let account = {
        let (account_key, attempt, actor) = (account_key.clone(), attempt.clone(), origin.actor());
        http::run(&state.pool, move |conn| {
            let user = users::find_by_email(conn, &account_key)?;
            if let Some(seconds) = throttle::retry_after(conn, &rule, &attempt)? {
                // In the owner's trail, and counted for them on `GET /auth/me`.
                let actor = attempted_on(actor, user.as_ref());
                audit::record(conn, Event::new(&actor, "auth.login_throttled", RESOURCE).outcome(Outcome::Denied))?;
                return Err(ApiError::too_many_requests(
                    seconds,
                    "Too many failed sign-ins; wait before trying again.",
                ));
            }
            db::transaction(conn, |conn| throttle::count_attempt(conn, &rule, &attempt))?;
            let organisation_active = match user.as_ref().and_then(|u| u.organisation_id) {
                Some(organisation_id) => {
                    crate::organisations::queries::find(conn, organisation_id)?.is_some_and(|o| o.active)
                }
                None => true,
            };
            Ok(user.map(|user| (user, organisation_active)))
        })
        .await?
    };

    // The password is checked even when the account is unknown or inactive, so the answer
    // takes the same time either way.
    // An account that has not enrolled yet has no password: it is checked against the decoy,
    // as an unknown one is, so the answer does not tell the two apart.
    let stored_hash = account.as_ref().map(|(user, _)| user.password_hash.clone()).filter(|hash| !hash.is_empty());
    let matches = state.passwords.verify_reserved(reservation, SecretString::from(password), stored_hash).await?;
    let account = account.filter(|(user, organisation_active)| matches && user.active && *organisation_active);

    let actor = origin.actor();
    let Some((user, _)) = account else {
        http::run(&state.pool, move |conn| {
            db::transaction(conn, |conn| {
                let known = users::find_by_email(conn, &account_key)?;
                let actor = attempted_on(actor, known.as_ref());
                audit::record(conn, Event::new(&actor, "auth.login", RESOURCE).outcome(Outcome::Failure))?;
                // The owner's organisation learns when guessing reaches the account's limit;
                // from then on only addresses without failures on it may try.
                let failures = throttle::account_failures(conn, &rule, &attempt)?;
                if let Some(user) = known.filter(|_| failures == i64::from(rule.max_per_account)) {
                    audit::record(
                        conn,
                        Event::new(&actor, "auth.account_throttled", "user").on(user.id).outcome(Outcome::Denied),
                    )?;
                }
                Ok::<_, ApiError>(())
            })
        })
        .await?;
        return Err(invalid_credentials());
    };

    let (session_ttl, refresh_ttl) = (state.session_ttl, state.refresh_ttl);
    let role = user.role;
    let (user_id, organisation_id) = (user.id, user.organisation_id);
    let (session_id, refresh_token) = http::run(&state.pool, move |conn| {
        db::transaction(conn, |conn| {
            throttle::forgive(conn, &attempt)?;
            let (session_id, refresh_token) = login_sessions::start(conn, user_id, session_ttl, refresh_ttl)?;
            users::record_login(conn, user_id)?;
            let actor = Actor { user_id: Some(user_id), organisation_id, ..actor };
            audit::record(conn, Event::new(&actor, "auth.login", RESOURCE).on(session_id))?;
            Ok((session_id, refresh_token))
        })
    })
    .await?;
    Ok(web::Json(token_response(&state, user_id, organisation_id, role, session_id, refresh_token)?))
}

/// An attempt on an existing account is recorded as the account's, in its organisation.
fn attempted_on(actor: Actor, user: Option<&crate::users::model::UserRow>) -> Actor {
    Actor { user_id: user.map(|u| u.id), organisation_id: user.and_then(|u| u.organisation_id), ..actor }
}

/// 422 for e-mail addresses and passwords longer than any that can be valid.
fn within_bounds(fields: &[(&str, &str, usize)]) -> Result<(), ApiError> {
    let mut errors = FieldErrors::default();
    for (field, value, max) in fields {
        if value.chars().count() > *max {
            errors.add(*field, format!("must be at most {max} characters"));
        }
    }
    errors.finish(|| Some(()))
}

/// Exchange a refresh token for a new access token and a new refresh token. A refresh token
/// works once: presenting it again ends the whole session.
#[utoipa::path(
    tag = "auth",
    request_body = RefreshRequest,
    responses(
        (status = 200, description = "New token pair", body = TokenResponse),
        (status = 401, description = "Unknown, expired, spent or revoked refresh token", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/auth/refresh")]
pub async fn refresh(
    state: web::Data<AppState>,
    origin: Origin,
    body: web::Json<RefreshRequest>,
) -> Result<web::Json<TokenResponse>, ApiError> {
    let presented = body.into_inner().refresh_token;
    let refresh_ttl = state.refresh_ttl;
    let actor = origin.actor();
    let rotated = http::run(&state.pool, move |conn| {
        let rotation = db::transaction(conn, |conn| login_sessions::rotate(conn, &presented, refresh_ttl))?;
        match rotation {
            Rotation::Rotated { user_id, session_id, token } => {
                let user = login_sessions::live_session_user(conn, session_id, user_id)?;
                Ok(user.map(|user| (user_id, session_id, user, token)))
            }
            Rotation::Reused { user_id, session_id } => {
                let actor = Actor { user_id: Some(user_id), ..actor };
                audit::record(
                    conn,
                    Event::new(&actor, "auth.refresh_reused", RESOURCE).on(session_id).outcome(Outcome::Denied),
                )?;
                Ok(None)
            }
            Rotation::Invalid => Ok(None),
        }
    })
    .await?;
    let (user_id, session_id, user, token) =
        rotated.ok_or_else(|| ApiError::unauthorized("The refresh token is not valid; sign in again."))?;
    Ok(web::Json(token_response(&state, user_id, user.organisation_id, user.role, session_id, token)?))
}

/// End the session a refresh token belongs to; its access tokens stop working at once.
#[utoipa::path(
    tag = "auth",
    request_body = RefreshRequest,
    responses((status = 204, description = "Signed out (also when the token was already invalid)"))
)]
#[post("/auth/logout")]
pub async fn logout(
    state: web::Data<AppState>,
    origin: Origin,
    body: web::Json<RefreshRequest>,
) -> Result<HttpResponse, ApiError> {
    let presented = body.into_inner().refresh_token;
    let actor = origin.actor();
    http::run(&state.pool, move |conn| {
        db::transaction(conn, |conn| {
            if let Some((session_id, user_id)) = login_sessions::session_of(conn, &presented)? {
                login_sessions::revoke_session(conn, session_id, "logout")?;
                let actor = Actor { user_id: Some(user_id), ..actor };
                audit::record(conn, Event::new(&actor, "auth.logout", RESOURCE).on(session_id))?;
            }
            Ok::<_, ApiError>(())
        })
    })
    .await?;
    Ok(HttpResponse::NoContent().finish())
}

fn invalid_enrolment_token() -> ApiError {
    ApiError::unprocessable(
        "invalid_enrolment_token",
        "This enrolment token is unknown, used or expired; ask for a new one.",
    )
}

/// Set one's own password with a one-time enrolment token (after the account was created or
/// its password reset). The token works once and for 72 hours; the user then signs in.
#[utoipa::path(
    tag = "auth",
    request_body = EnrolRequest,
    responses(
        (status = 204, description = "Password set; sign in with it"),
        (status = 400, description = "Malformed body", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Token unknown, used or expired, or the password too weak", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Too many password checks at once; retry", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/auth/enrol")]
pub async fn enrol(
    state: web::Data<AppState>,
    origin: Origin,
    body: web::Json<EnrolRequest>,
) -> Result<HttpResponse, ApiError> {
    let EnrolRequest { token, password: chosen } = body.into_inner();
    within_bounds(&[("password", &chosen, password::MAX_LEN)])?;
    if token.len() > 100 {
        return Err(invalid_enrolment_token());
    }
    let presented = token.clone();
    let user = http::run(&state.pool, move |conn| match enrolment::holder(conn, &presented)? {
        Some(user_id) => Ok(users::find(conn, user_id)?),
        None => Ok(None),
    })
    .await?
    .filter(|user| user.active)
    .ok_or_else(invalid_enrolment_token)?;
    let mut errors = FieldErrors::default();
    errors.check("password", password::check_strength(&chosen, &[&user.email, &user.display_name]));
    errors.finish(|| Some(()))?;
    let hash = state.passwords.hash(SecretString::from(chosen)).await?;
    let actor = Actor { user_id: Some(user.id), organisation_id: user.organisation_id, ..origin.actor() };
    http::run(&state.pool, move |conn| {
        db::transaction(conn, |conn| {
            if !enrolment::spend(conn, &token)? {
                return Err(invalid_enrolment_token());
            }
            users::set_password(conn, user.id, &hash)?;
            login_sessions::revoke_all(conn, user.id, "enrolled")?;
            throttle::forgive_account(conn, &user.email_key)?;
            audit::record(conn, Event::new(&actor, "user.enrol", "user").on(user.id))?;
            Ok(())
        })
    })
    .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// The signed-in user.
#[utoipa::path(
    tag = "auth",
    responses(
        (status = 200, description = "The signed-in user, with `failed_sign_ins_since_last_login`", body = User),
        (status = 401, description = "Not signed in", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[get("/auth/me")]
pub async fn me(state: web::Data<AppState>, signed_in: SignedIn) -> Result<web::Json<User>, ApiError> {
    let me = signed_in
        .run(&state.pool, move |conn, principal| {
            let row = users::find(conn, principal.user_id)?.ok_or_else(|| ApiError::unauthorized("No such user."))?;
            audit::record(conn, Event::new(&principal.actor, "user.read", "user").on(principal.user_id))?;
            let pending = crate::grants::pending_of_user(conn, row.id)?;
            let failed_sign_ins_since_last_login =
                throttle::failed_sign_ins_since_last_login(conn, row.id, principal.session_id)?;
            Ok(User { failed_sign_ins_since_last_login: Some(failed_sign_ins_since_last_login), ..row.view(pending) })
        })
        .await?;
    Ok(web::Json(me))
}

/// Change one's own password. Every session of the user ends, this one included.
#[utoipa::path(
    tag = "auth",
    request_body = ChangePasswordRequest,
    responses(
        (status = 204, description = "Changed; sign in again"),
        (status = 401, description = "Not signed in", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Current password wrong, new one too weak, or either longer than 128 characters", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many failed attempts", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Too many password checks at once; retry", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[post("/auth/password")]
pub async fn change_password(
    state: web::Data<AppState>,
    signed_in: SignedIn,
    body: web::Json<ChangePasswordRequest>,
) -> Result<HttpResponse, ApiError> {
    let ChangePasswordRequest { current_password, new_password } = body.into_inner();
    within_bounds(&[
        ("current_password", &current_password, password::MAX_LEN),
        ("new_password", &new_password, password::MAX_LEN),
    ])?;
    let rule = state.login_throttle;
    let reservation = state.passwords.reserve().await?;
    // A stolen access token must not become a way to guess the password: the check counts as
    // a sign-in attempt, throttled and counted as one.
    let (user, principal, attempt) = signed_in
        .run(&state.pool, move |conn, principal| {
            let user = users::find(conn, principal.user_id)?.ok_or_else(|| ApiError::unauthorized("No such user."))?;
            let attempt = throttle::Attempt::new(&user.email_key, &client_ip(principal.actor.ip.as_deref()));
            if let Some(seconds) = throttle::retry_after(conn, &rule, &attempt)? {
                return Err(ApiError::too_many_requests(
                    seconds,
                    "Too many failed attempts; wait before trying again.",
                ));
            }
            db::transaction(conn, |conn| throttle::count_attempt(conn, &rule, &attempt))?;
            Ok((user, principal, attempt))
        })
        .await?;
    let user_id = principal.user_id;
    let matches = state
        .passwords
        .verify_reserved(reservation, SecretString::from(current_password), Some(user.password_hash.clone()))
        .await?;
    let mut errors = FieldErrors::default();
    if matches {
        http::run(&state.pool, move |conn| Ok(db::transaction(conn, |conn| throttle::forgive(conn, &attempt))?))
            .await?;
    } else {
        errors.add("current_password", "is not your current password");
    }
    errors.check("new_password", password::check_strength(&new_password, &[&user.email, &user.display_name]));
    errors.finish(|| Some(()))?;
    let hash = state.passwords.hash(SecretString::from(new_password)).await?;
    http::run(&state.pool, move |conn| {
        db::transaction(conn, |conn| {
            users::set_password(conn, user_id, &hash)?;
            login_sessions::revoke_all(conn, user_id, "password_changed")?;
            audit::record(conn, Event::new(&principal.actor, "auth.password_change", "user").on(user_id))?;
            Ok::<_, ApiError>(())
        })
    })
    .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// The caller's address as the failed-sign-in throttle counts it.
fn client_ip(ip: Option<&str>) -> String {
    ip.unwrap_or("unknown").to_owned()
}

/// Public keys that verify access tokens (for other services and for key rotation).
#[utoipa::path(
    tag = "auth",
    responses((status = 200, description = "JSON Web Key Set", body = JsonWebKeySet))
)]
#[get("/.well-known/jwks.json")]
pub async fn jwks(state: web::Data<AppState>) -> web::Json<JsonWebKeySet> {
    web::Json(state.tokens.jwks().clone())
}
