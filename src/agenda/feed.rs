//! Calendar feed tokens: one per user, a bearer secret of its own (never the access token, which
//! lives fifteen minutes and opens the whole API), stored as its SHA-256, ended by revoking it or
//! by issuing a new one. Reads are counted per hour, in the database, so the limit holds across
//! API instances.

use chrono::{NaiveDateTime, TimeDelta};
use diesel::prelude::*;

use crate::auth::login_sessions::{random_token, token_hash};
use crate::db::schema::calendar_feeds;
use crate::db::{self, DbConnection, UserId};

/// How many times a feed may be read per window: calendar apps poll every quarter of an hour to
/// a day; more than this is a leaked address being scraped, or a broken client.
pub const READS_PER_WINDOW: i32 = 60;
pub const WINDOW: TimeDelta = TimeDelta::hours(1);

/// Issues a new token for the user, ending the one they had.
pub fn issue(conn: &mut DbConnection, user_id: UserId) -> QueryResult<(String, NaiveDateTime)> {
    let token = random_token()?;
    let now = db::now().naive_utc();
    diesel::delete(calendar_feeds::table.find(user_id)).execute(conn)?;
    diesel::insert_into(calendar_feeds::table)
        .values((
            calendar_feeds::user_id.eq(user_id),
            calendar_feeds::token_hash.eq(token_hash(&token)),
            calendar_feeds::created_at.eq(now),
            calendar_feeds::window_started_at.eq(now),
            calendar_feeds::fetches.eq(0),
        ))
        .execute(conn)?;
    Ok((token, now))
}

/// Ends the user's feed; whether there was one.
pub fn revoke(conn: &mut DbConnection, user_id: UserId) -> QueryResult<bool> {
    Ok(diesel::delete(calendar_feeds::table.find(user_id)).execute(conn)? > 0)
}

/// The user whose feed the token opens.
pub fn holder(conn: &mut DbConnection, token: &str) -> QueryResult<Option<UserId>> {
    calendar_feeds::table
        .filter(calendar_feeds::token_hash.eq(token_hash(token)))
        .select(calendar_feeds::user_id)
        .first(conn)
        .optional()
}

/// Counts a read of the user's feed: `Ok(())` while within the limit, else the seconds until
/// the window ends. One conditional update each way, so concurrent reads all count.
pub fn count_read(conn: &mut DbConnection, user_id: UserId) -> QueryResult<Result<(), u64>> {
    let now = db::now().naive_utc();
    let window_start = now - WINDOW;
    db::transaction(conn, |conn| {
        diesel::update(calendar_feeds::table.find(user_id))
            .filter(calendar_feeds::window_started_at.le(window_start))
            .set((calendar_feeds::window_started_at.eq(now), calendar_feeds::fetches.eq(0)))
            .execute(conn)?;
        let counted = diesel::update(calendar_feeds::table.find(user_id))
            .filter(calendar_feeds::fetches.lt(READS_PER_WINDOW))
            .set(calendar_feeds::fetches.eq(calendar_feeds::fetches + 1))
            .execute(conn)?;
        if counted > 0 {
            return Ok(Ok(()));
        }
        let started: NaiveDateTime =
            calendar_feeds::table.find(user_id).select(calendar_feeds::window_started_at).first(conn)?;
        Ok(Err((started + WINDOW - now).num_seconds().max(1) as u64))
    })
}
