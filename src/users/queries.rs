//! Database functions for users.

use diesel::prelude::*;

use super::model::UserRow;
use crate::db::schema::users;
use crate::db::{self, DbConnection, List, OrganisationId, UserId};
use crate::domain::{Email, Role, SessionKind};
use crate::http::pagination::PageRequest;

/// A user about to be created, with every field parsed.
pub struct NewUser {
    pub organisation_id: Option<OrganisationId>,
    pub email: Email,
    pub display_name: String,
    pub role: Role,
    pub specialties: Vec<SessionKind>,
    /// Empty until the user enrols (no password then matches).
    pub password_hash: String,
}

pub fn find(conn: &mut DbConnection, id: UserId) -> QueryResult<Option<UserRow>> {
    users::table.find(id).select(UserRow::as_select()).first(conn).optional()
}

pub fn find_by_email(conn: &mut DbConnection, email_key: &str) -> QueryResult<Option<UserRow>> {
    users::table.filter(users::email_key.eq(email_key)).select(UserRow::as_select()).first(conn).optional()
}

pub fn insert(conn: &mut DbConnection, user: &NewUser) -> QueryResult<UserRow> {
    let now = db::now().naive_utc();
    diesel::insert_into(users::table)
        .values((
            users::id.eq(UserId::new()),
            users::organisation_id.eq(user.organisation_id),
            users::email.eq(user.email.as_str()),
            users::email_key.eq(user.email.key()),
            users::display_name.eq(&user.display_name),
            users::role.eq(user.role),
            users::specialties.eq(List::of(&user.specialties)),
            users::active.eq(true),
            users::password_hash.eq(&user.password_hash),
            users::created_at.eq(now),
            users::updated_at.eq(now),
            users::version.eq(1),
        ))
        .returning(users::all_columns)
        .get_result(conn)
}

pub struct UserQuery {
    pub organisation_id: Option<OrganisationId>,
    pub role: Option<Role>,
    pub active: Option<bool>,
}

pub fn list(conn: &mut DbConnection, filter: &UserQuery, page: PageRequest<UserId>) -> QueryResult<Vec<UserRow>> {
    let mut query = users::table.select(UserRow::as_select()).into_boxed();
    if let Some(organisation_id) = filter.organisation_id {
        query = query.filter(users::organisation_id.eq(organisation_id));
    }
    if let Some(role) = filter.role {
        query = query.filter(users::role.eq(role));
    }
    if let Some(active) = filter.active {
        query = query.filter(users::active.eq(active));
    }
    if let Some(after) = page.after {
        query = query.filter(users::id.gt(after));
    }
    query.order(users::id).limit(page.limit + 1).load(conn)
}

/// Writes role, specialties, name and activity if the version is still `expected_version`.
pub fn update(
    conn: &mut DbConnection,
    id: UserId,
    expected_version: i32,
    display_name: &str,
    role: Role,
    specialties: &[SessionKind],
    active: bool,
) -> QueryResult<Option<UserRow>> {
    diesel::update(users::table.find(id))
        .filter(users::version.eq(expected_version))
        .set((
            users::display_name.eq(display_name),
            users::role.eq(role),
            users::specialties.eq(List::of(specialties)),
            users::active.eq(active),
            users::updated_at.eq(db::now().naive_utc()),
            users::version.eq(expected_version + 1),
        ))
        .returning(users::all_columns)
        .get_result(conn)
        .optional()
}

pub fn set_password(conn: &mut DbConnection, id: UserId, password_hash: &str) -> QueryResult<usize> {
    diesel::update(users::table.find(id))
        .set((
            users::password_hash.eq(password_hash),
            users::updated_at.eq(db::now().naive_utc()),
            users::version.eq(users::version + 1),
        ))
        .execute(conn)
}

/// Adds a specialty to a user's list (a confirmed grant).
pub fn add_specialty(conn: &mut DbConnection, id: UserId, specialty: SessionKind) -> QueryResult<usize> {
    let Some(user) = find(conn, id)? else { return Ok(0) };
    let mut specialties = user.specialties;
    if specialties.contains(&specialty) {
        return Ok(0);
    }
    specialties.push(specialty);
    set_specialties(conn, id, &specialties)
}

pub fn set_specialties(conn: &mut DbConnection, id: UserId, specialties: &[SessionKind]) -> QueryResult<usize> {
    diesel::update(users::table.find(id))
        .set((
            users::specialties.eq(List::of(specialties)),
            users::updated_at.eq(db::now().naive_utc()),
            users::version.eq(users::version + 1),
        ))
        .execute(conn)
}

pub fn record_login(conn: &mut DbConnection, id: UserId) -> QueryResult<usize> {
    diesel::update(users::table.find(id)).set(users::last_login_at.eq(db::now().naive_utc())).execute(conn)
}
