//! Failed-sign-in throttling, kept in the database so it holds across API instances.
//!
//! An attempt counts as a failure from before its password is checked until it succeeds: an
//! attempt whose failure cannot be written is never checked (so a broken write is no way round
//! the count), and guesses sent in parallel count at once. Failures are kept by a SHA-256 digest
//! of the account's e-mail key — the same small row whatever was typed — with the client's
//! address, and only within the window: every write drops what left it.
//!
//! Within the window, an attempt is refused
//! - from an address with `max_per_ip` failures (on any accounts), and
//! - on an account with `max_per_account` failures (from anywhere), from every address that
//!   failed on it. An address without failures on the account — usually its owner's — still
//!   signs in, so guessing cannot lock a person out: the guesser's own address is stopped after
//!   `max_per_account` failures, and each further address gets one try per window.

use chrono::NaiveDateTime;
use diesel::dsl::{count_star, max, min};
use diesel::prelude::*;
use sha2::{Digest, Sha256};

use crate::config::LoginThrottle;
use crate::db::schema::{audit_events, login_failures, login_sessions};
use crate::db::{self, DbConnection, LoginFailureId, LoginSessionId, UserId};

/// One attempt to sign in (or to prove one's password): the account it names and where it
/// comes from.
#[derive(Debug, Clone)]
pub struct Attempt {
    /// Hex SHA-256 of the e-mail key.
    account: String,
    ip: String,
}

impl Attempt {
    pub fn new(email_key: &str, ip: &str) -> Self {
        Self { account: account_digest(email_key), ip: ip.to_owned() }
    }
}

fn account_digest(email_key: &str) -> String {
    hex::encode(Sha256::digest(email_key.as_bytes()))
}

/// Failures within the window of some subset of the table: how many, the oldest, the newest.
struct Failures {
    count: i64,
    oldest: Option<NaiveDateTime>,
    newest: Option<NaiveDateTime>,
}

enum Of<'a> {
    Address(&'a str),
    Account(&'a str),
    AccountFromAddress(&'a str, &'a str),
}

fn failures(conn: &mut DbConnection, of: Of<'_>, since: NaiveDateTime) -> QueryResult<Failures> {
    let query = login_failures::table.filter(login_failures::at.gt(since)).into_boxed();
    let query = match of {
        Of::Address(ip) => query.filter(login_failures::ip.eq(ip.to_owned())),
        Of::Account(account) => query.filter(login_failures::account_key.eq(account.to_owned())),
        Of::AccountFromAddress(account, ip) => query
            .filter(login_failures::account_key.eq(account.to_owned()))
            .filter(login_failures::ip.eq(ip.to_owned())),
    };
    let (count, oldest, newest) =
        query.select((count_star(), min(login_failures::at), max(login_failures::at))).first(conn)?;
    Ok(Failures { count, oldest, newest })
}

/// Seconds until the attempt may be tried, when it is refused now.
pub fn retry_after(conn: &mut DbConnection, rule: &LoginThrottle, attempt: &Attempt) -> QueryResult<Option<u64>> {
    let now = db::now().naive_utc();
    let since = now - rule.window;
    // A block of `count ≥ max` ends about when the oldest failure leaves the window (exactly
    // so at `count = max`, as refused attempts add none).
    let address = failures(conn, Of::Address(&attempt.ip), since)?;
    let address_until = (address.count >= i64::from(rule.max_per_ip)).then_some(address.oldest).flatten();
    let account = failures(conn, Of::Account(&attempt.account), since)?;
    let account_until = if account.count >= i64::from(rule.max_per_account) {
        let here = failures(conn, Of::AccountFromAddress(&attempt.account, &attempt.ip), since)?;
        // Ends when the account falls below its limit or this address's failures all left.
        here.newest.into_iter().chain(account.oldest).min().filter(|_| here.count > 0)
    } else {
        None
    };
    Ok(address_until
        .into_iter()
        .chain(account_until)
        .max()
        .map(|oldest| ((oldest + rule.window) - now).num_seconds().max(1) as u64))
}

/// Counts the attempt as a failure until `forgive` takes it back; drops every failure that left
/// the window.
pub fn count_attempt(conn: &mut DbConnection, rule: &LoginThrottle, attempt: &Attempt) -> QueryResult<()> {
    let now = db::now().naive_utc();
    diesel::delete(login_failures::table).filter(login_failures::at.le(now - rule.window)).execute(conn)?;
    diesel::insert_into(login_failures::table)
        .values((
            login_failures::id.eq(LoginFailureId::new()),
            login_failures::account_key.eq(&attempt.account),
            login_failures::ip.eq(&attempt.ip),
            login_failures::at.eq(now),
        ))
        .execute(conn)?;
    Ok(())
}

/// The account's failures within the window, from anywhere.
pub fn account_failures(conn: &mut DbConnection, rule: &LoginThrottle, attempt: &Attempt) -> QueryResult<i64> {
    let since = db::now().naive_utc() - rule.window;
    Ok(failures(conn, Of::Account(&attempt.account), since)?.count)
}

/// A success forgives the account's failures from the same address (the attempt's own
/// included), not those from elsewhere: a guesser's count survives its victim's sign-in.
pub fn forgive(conn: &mut DbConnection, attempt: &Attempt) -> QueryResult<()> {
    diesel::delete(login_failures::table)
        .filter(login_failures::account_key.eq(&attempt.account))
        .filter(login_failures::ip.eq(&attempt.ip))
        .execute(conn)?;
    Ok(())
}

/// A new password (enrolment) forgives every failure on the account.
pub fn forgive_account(conn: &mut DbConnection, email_key: &str) -> QueryResult<()> {
    diesel::delete(login_failures::table)
        .filter(login_failures::account_key.eq(account_digest(email_key)))
        .execute(conn)?;
    Ok(())
}

/// Failed and refused sign-ins to a user's account since the sign-in before the one of
/// `session_id` (or ever, for a first sign-in), as the audit trail records them.
pub fn failed_sign_ins_since_last_login(
    conn: &mut DbConnection,
    user_id: UserId,
    session_id: LoginSessionId,
) -> QueryResult<i64> {
    let started: Option<NaiveDateTime> =
        login_sessions::table.find(session_id).select(login_sessions::created_at).first(conn).optional()?;
    let previous: Option<NaiveDateTime> = match started {
        Some(started) => login_sessions::table
            .filter(login_sessions::user_id.eq(user_id))
            .filter(login_sessions::created_at.lt(started))
            .select(max(login_sessions::created_at))
            .first(conn)?,
        None => None,
    };
    let mut query = audit_events::table
        .filter(audit_events::actor_id.eq(user_id))
        .filter(
            audit_events::action
                .eq("auth.login")
                .and(audit_events::outcome.eq("failure"))
                .or(audit_events::action.eq("auth.login_throttled")),
        )
        .into_boxed();
    if let Some(previous) = previous {
        query = query.filter(audit_events::at.gt(previous));
    }
    query.select(count_star()).first(conn)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_account_is_kept_by_a_fixed_length_digest_of_its_key() {
        let long = "a".repeat(300_000);
        assert_eq!(Attempt::new(&long, "203.0.113.7").account.len(), 64);
        assert_eq!(Attempt::new("anna@example.org", "x").account, account_digest("anna@example.org"));
        assert_ne!(account_digest("anna@example.org"), account_digest("anne@example.org"));
    }
}
