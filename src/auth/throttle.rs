//! Failed-login throttling, kept in the database so it holds across API instances. Failures
//! are counted per account and per client address within a sliding window; a block ends when
//! the oldest failure leaves the window, so nobody can lock a victim out for good.

use chrono::NaiveDateTime;
use diesel::dsl::min;
use diesel::prelude::*;

use crate::config::LoginThrottle;
use crate::db::schema::login_failures;
use crate::db::{self, DbConnection, Id};

/// Seconds until the next attempt may be checked, if this account or address is blocked now.
pub fn retry_after(
    conn: &mut DbConnection,
    rule: &LoginThrottle,
    account_key: &str,
    ip: &str,
) -> QueryResult<Option<u64>> {
    let now = db::now().naive_utc();
    let since = now - rule.window;
    let account = oldest_if_blocked(conn, Who::Account(account_key), since, rule.max_per_account)?;
    let address = oldest_if_blocked(conn, Who::Address(ip), since, rule.max_per_ip)?;
    Ok(account
        .into_iter()
        .chain(address)
        .max()
        .map(|oldest| ((oldest + rule.window) - now).num_seconds().max(1) as u64))
}

enum Who<'a> {
    Account(&'a str),
    Address(&'a str),
}

/// The oldest failure in the window when the window holds `max` or more failures.
fn oldest_if_blocked(
    conn: &mut DbConnection,
    who: Who<'_>,
    since: NaiveDateTime,
    max: u32,
) -> QueryResult<Option<NaiveDateTime>> {
    let query = login_failures::table.filter(login_failures::at.gt(since)).into_boxed();
    let query = match who {
        Who::Account(key) => query.filter(login_failures::account_key.eq(key.to_owned())),
        Who::Address(ip) => query.filter(login_failures::ip.eq(ip.to_owned())),
    };
    let (count, oldest): (i64, Option<NaiveDateTime>) =
        query.select((diesel::dsl::count_star(), min(login_failures::at))).first(conn)?;
    Ok(if count >= i64::from(max) { oldest } else { None })
}

pub fn record_failure(conn: &mut DbConnection, rule: &LoginThrottle, account_key: &str, ip: &str) -> QueryResult<()> {
    let now = db::now().naive_utc();
    // Failures that left the window no longer matter; dropping this account's keeps the table small.
    diesel::delete(login_failures::table)
        .filter(login_failures::account_key.eq(account_key))
        .filter(login_failures::at.le(now - rule.window))
        .execute(conn)?;
    diesel::insert_into(login_failures::table)
        .values((
            login_failures::id.eq(Id::new()),
            login_failures::account_key.eq(account_key),
            login_failures::ip.eq(ip),
            login_failures::at.eq(now),
        ))
        .execute(conn)?;
    Ok(())
}

/// A successful login forgives the account's earlier failures (not the address's).
pub fn clear_account(conn: &mut DbConnection, account_key: &str) -> QueryResult<()> {
    diesel::delete(login_failures::table).filter(login_failures::account_key.eq(account_key)).execute(conn)?;
    Ok(())
}
