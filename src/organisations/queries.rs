//! Database functions for organisations.

use diesel::prelude::*;

use super::model::{OrganisationFields, OrganisationRow};
use crate::db::schema::{login_sessions, organisations, users};
use crate::db::{self, DbConnection, List, OrganisationId};
use crate::http::pagination::PageRequest;

pub fn find(conn: &mut DbConnection, id: OrganisationId) -> QueryResult<Option<OrganisationRow>> {
    organisations::table.find(id).select(OrganisationRow::as_select()).first(conn).optional()
}

/// The organisation with this short name (case-insensitive).
pub fn find_by_short_name(conn: &mut DbConnection, short_name: &str) -> QueryResult<Option<OrganisationRow>> {
    organisations::table
        .filter(organisations::short_name_key.eq(short_name.to_uppercase()))
        .select(OrganisationRow::as_select())
        .first(conn)
        .optional()
}

pub fn insert(conn: &mut DbConnection, fields: &OrganisationFields) -> QueryResult<OrganisationRow> {
    let now = db::now().naive_utc();
    diesel::insert_into(organisations::table)
        .values((
            organisations::id.eq(OrganisationId::new()),
            organisations::name.eq(&fields.name),
            organisations::short_name.eq(&fields.short_name),
            organisations::short_name_key.eq(fields.short_name.to_uppercase()),
            organisations::cities.eq(List::of(&fields.cities)),
            organisations::services.eq(List::of(&fields.services)),
            organisations::contact_email.eq(&fields.contact_email),
            organisations::active.eq(true),
            organisations::created_at.eq(now),
            organisations::updated_at.eq(now),
            organisations::version.eq(1),
        ))
        .returning(organisations::all_columns)
        .get_result(conn)
}

pub fn list(
    conn: &mut DbConnection,
    active: Option<bool>,
    page: PageRequest<OrganisationId>,
) -> QueryResult<Vec<OrganisationRow>> {
    let mut query = organisations::table.select(OrganisationRow::as_select()).into_boxed();
    if let Some(active) = active {
        query = query.filter(organisations::active.eq(active));
    }
    if let Some(after) = page.after {
        query = query.filter(organisations::id.gt(after));
    }
    query.order(organisations::id).limit(page.limit + 1).load(conn)
}

/// Writes the new state if the stored version is still `expected_version`; `None` when it is
/// not (a concurrent change won).
pub fn update(
    conn: &mut DbConnection,
    id: OrganisationId,
    expected_version: i32,
    fields: &OrganisationFields,
    active: bool,
) -> QueryResult<Option<OrganisationRow>> {
    diesel::update(organisations::table.find(id))
        .filter(organisations::version.eq(expected_version))
        .set((
            organisations::name.eq(&fields.name),
            organisations::short_name.eq(&fields.short_name),
            organisations::short_name_key.eq(fields.short_name.to_uppercase()),
            organisations::cities.eq(List::of(&fields.cities)),
            organisations::services.eq(List::of(&fields.services)),
            organisations::contact_email.eq(&fields.contact_email),
            organisations::active.eq(active),
            organisations::updated_at.eq(db::now().naive_utc()),
            organisations::version.eq(expected_version + 1),
        ))
        .returning(organisations::all_columns)
        .get_result(conn)
        .optional()
}

/// Ends the sessions of every user of an organisation (on deactivation).
pub fn end_member_sessions(conn: &mut DbConnection, id: OrganisationId) -> QueryResult<usize> {
    let members = users::table.filter(users::organisation_id.eq(id)).select(users::id);
    diesel::update(login_sessions::table)
        .filter(login_sessions::user_id.eq_any(members))
        .filter(login_sessions::revoked_at.is_null())
        .set((
            login_sessions::revoked_at.eq(db::now().naive_utc()),
            login_sessions::revoked_reason.eq("organisation_deactivated"),
        ))
        .execute(conn)
}
