//! Login sessions and their refresh tokens. A session is one refresh-token family: every
//! refresh spends the presented token and issues its successor; presenting a spent token again
//! means it was stolen or replayed, so the whole family is revoked.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as BASE64URL;
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use sha2::{Digest, Sha256};

use crate::db::schema::{login_sessions, refresh_tokens, users};
use crate::db::{self, DbConnection, Id, List, LoginSessionId, OrganisationId, UserId};
use crate::domain::{Role, SessionKind};

/// The user behind a live session, as the database knows them now.
#[derive(Debug, Clone)]
pub struct LiveUser {
    pub organisation_id: Option<OrganisationId>,
    pub role: Role,
    pub specialties: Vec<SessionKind>,
}

pub fn live_session_user(
    conn: &mut DbConnection,
    session_id: LoginSessionId,
    user_id: UserId,
) -> QueryResult<Option<LiveUser>> {
    let now = db::now().naive_utc();
    let found = login_sessions::table
        .inner_join(users::table)
        .filter(login_sessions::id.eq(session_id))
        .filter(login_sessions::user_id.eq(user_id))
        .filter(login_sessions::revoked_at.is_null())
        .filter(login_sessions::expires_at.gt(now))
        .filter(users::active.eq(true))
        .select((users::organisation_id, users::role, users::specialties))
        .first::<(Option<OrganisationId>, Role, List<SessionKind>)>(conn)
        .optional()?;
    Ok(found.map(|(organisation_id, role, specialties)| LiveUser {
        organisation_id,
        role,
        specialties: specialties.into(),
    }))
}

/// A refresh token as handed to the client (never stored: only its hash is).
pub struct RefreshToken(pub String);

/// A bearer secret of 256 random bits (refresh and enrolment tokens).
pub fn random_token() -> QueryResult<String> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes)
        .map_err(|e| diesel::result::Error::QueryBuilderError(format!("no system randomness: {e}").into()))?;
    Ok(BASE64URL.encode(bytes))
}

/// What is stored of a bearer secret.
pub fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

fn issue_refresh_token(
    conn: &mut DbConnection,
    session_id: LoginSessionId,
    session_expires_at: DateTime<Utc>,
    refresh_ttl: std::time::Duration,
) -> QueryResult<RefreshToken> {
    let token = RefreshToken(random_token()?);
    let now = db::now();
    let expires_at = (now + refresh_ttl).min(session_expires_at);
    diesel::insert_into(refresh_tokens::table)
        .values((
            refresh_tokens::token_hash.eq(token_hash(&token.0)),
            refresh_tokens::session_id.eq(session_id),
            refresh_tokens::issued_at.eq(now.naive_utc()),
            refresh_tokens::expires_at.eq(expires_at.naive_utc()),
        ))
        .execute(conn)?;
    Ok(token)
}

/// Opens a session for a user who has just proved their password.
pub fn start(
    conn: &mut DbConnection,
    user_id: UserId,
    session_ttl: std::time::Duration,
    refresh_ttl: std::time::Duration,
) -> QueryResult<(LoginSessionId, RefreshToken)> {
    let session_id = Id::new();
    let now = db::now();
    let expires_at = now + session_ttl;
    diesel::insert_into(login_sessions::table)
        .values((
            login_sessions::id.eq(session_id),
            login_sessions::user_id.eq(user_id),
            login_sessions::created_at.eq(now.naive_utc()),
            login_sessions::expires_at.eq(expires_at.naive_utc()),
        ))
        .execute(conn)?;
    let token = issue_refresh_token(conn, session_id, expires_at, refresh_ttl)?;
    Ok((session_id, token))
}

pub enum Rotation {
    /// The token was live: here is its successor.
    Rotated { user_id: UserId, session_id: LoginSessionId, token: RefreshToken },
    /// The token had been spent before: the family is now revoked.
    Reused { user_id: UserId, session_id: LoginSessionId },
    /// Unknown, expired, or of an ended session.
    Invalid,
}

/// Spends a refresh token. Run inside a transaction.
pub fn rotate(conn: &mut DbConnection, presented: &str, refresh_ttl: std::time::Duration) -> QueryResult<Rotation> {
    let now = db::now().naive_utc();
    let hash = token_hash(presented);
    let found = refresh_tokens::table
        .inner_join(login_sessions::table)
        .filter(refresh_tokens::token_hash.eq(&hash))
        .select((
            refresh_tokens::session_id,
            refresh_tokens::spent_at,
            refresh_tokens::expires_at,
            login_sessions::user_id,
            login_sessions::revoked_at,
            login_sessions::expires_at,
        ))
        .first::<(
            LoginSessionId,
            Option<chrono::NaiveDateTime>,
            chrono::NaiveDateTime,
            UserId,
            Option<chrono::NaiveDateTime>,
            chrono::NaiveDateTime,
        )>(conn)
        .optional()?;
    let Some((session_id, spent_at, expires_at, user_id, revoked_at, session_expires_at)) = found else {
        return Ok(Rotation::Invalid);
    };
    if revoked_at.is_some() || expires_at <= now || session_expires_at <= now {
        return Ok(Rotation::Invalid);
    }
    // Spending is conditional, so of two concurrent uses of one token only one succeeds; the
    // other is a reuse.
    let spent = spent_at.is_none()
        && diesel::update(refresh_tokens::table.find(&hash))
            .filter(refresh_tokens::spent_at.is_null())
            .set(refresh_tokens::spent_at.eq(now))
            .execute(conn)?
            == 1;
    if !spent {
        revoke_session(conn, session_id, "refresh_token_reused")?;
        return Ok(Rotation::Reused { user_id, session_id });
    }
    let token = issue_refresh_token(conn, session_id, session_expires_at.and_utc(), refresh_ttl)?;
    Ok(Rotation::Rotated { user_id, session_id, token })
}

/// The session a refresh token belongs to, if it is still live (for logout).
pub fn session_of(conn: &mut DbConnection, presented: &str) -> QueryResult<Option<(LoginSessionId, UserId)>> {
    refresh_tokens::table
        .inner_join(login_sessions::table)
        .filter(refresh_tokens::token_hash.eq(token_hash(presented)))
        .filter(login_sessions::revoked_at.is_null())
        .select((login_sessions::id, login_sessions::user_id))
        .first(conn)
        .optional()
}

pub fn revoke_session(conn: &mut DbConnection, session_id: LoginSessionId, reason: &str) -> QueryResult<usize> {
    diesel::update(login_sessions::table.find(session_id))
        .filter(login_sessions::revoked_at.is_null())
        .set((login_sessions::revoked_at.eq(db::now().naive_utc()), login_sessions::revoked_reason.eq(reason)))
        .execute(conn)
}

/// Ends every session of a user (password change, reset, deactivation).
pub fn revoke_all(conn: &mut DbConnection, user_id: UserId, reason: &str) -> QueryResult<usize> {
    diesel::update(login_sessions::table)
        .filter(login_sessions::user_id.eq(user_id))
        .filter(login_sessions::revoked_at.is_null())
        .set((login_sessions::revoked_at.eq(db::now().naive_utc()), login_sessions::revoked_reason.eq(reason)))
        .execute(conn)
}
