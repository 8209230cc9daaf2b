//! One-time enrolment tokens: nobody chooses another person's password (SPEC §2.5). Creating a
//! user or resetting their password issues a token, shown once to whoever did it and handed to
//! the user, who sets their own password with it (`POST /auth/enrol`). Only its hash is stored;
//! it works once and for 72 hours.

use chrono::{DateTime, Duration, Utc};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::login_sessions::{random_token, token_hash};
use crate::db::schema::enrolment_tokens;
use crate::db::{self, DbConnection, UserId};

/// How long an enrolment token can be used.
pub const VALIDITY_HOURS: i64 = 72;

/// A one-time enrolment token: hand it to the user, who sets their password with it at
/// `POST /auth/enrol`. It is shown only in this answer.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Enrolment {
    pub token: String,
    /// 72 hours after issue.
    pub expires_at: DateTime<Utc>,
}

/// Issues a new token for `user_id`; any earlier one stops working.
pub fn issue(conn: &mut DbConnection, user_id: UserId, issued_by: Option<UserId>) -> QueryResult<Enrolment> {
    let token = random_token()?;
    let now = db::now();
    let expires_at = now + Duration::hours(VALIDITY_HOURS);
    diesel::delete(enrolment_tokens::table.filter(enrolment_tokens::user_id.eq(user_id))).execute(conn)?;
    diesel::insert_into(enrolment_tokens::table)
        .values((
            enrolment_tokens::token_hash.eq(token_hash(&token)),
            enrolment_tokens::user_id.eq(user_id),
            enrolment_tokens::issued_by.eq(issued_by),
            enrolment_tokens::issued_at.eq(now.naive_utc()),
            enrolment_tokens::expires_at.eq(expires_at.naive_utc()),
        ))
        .execute(conn)?;
    Ok(Enrolment { token, expires_at })
}

/// The user a token enrols, while it is unused and unexpired.
pub fn holder(conn: &mut DbConnection, token: &str) -> QueryResult<Option<UserId>> {
    enrolment_tokens::table
        .filter(enrolment_tokens::token_hash.eq(token_hash(token)))
        .filter(enrolment_tokens::used_at.is_null())
        .filter(enrolment_tokens::expires_at.gt(db::now().naive_utc()))
        .select(enrolment_tokens::user_id)
        .first(conn)
        .optional()
}

/// Spends the token if it is still usable; false when another request spent it first.
pub fn spend(conn: &mut DbConnection, token: &str) -> QueryResult<bool> {
    let now = db::now().naive_utc();
    let spent = diesel::update(
        enrolment_tokens::table
            .filter(enrolment_tokens::token_hash.eq(token_hash(token)))
            .filter(enrolment_tokens::used_at.is_null())
            .filter(enrolment_tokens::expires_at.gt(now)),
    )
    .set(enrolment_tokens::used_at.eq(Some(now)))
    .execute(conn)?;
    Ok(spent == 1)
}
