//! Database functions for specialty grants.

use diesel::prelude::*;

use super::GUARDED;
use super::model::{GrantRow, GrantStatus};
use crate::db::schema::{specialty_grants, users};
use crate::db::{self, DbConnection, GrantId, OrganisationId, UserId};
use crate::domain::SessionKind;
use crate::http::pagination::PageRequest;

pub fn insert(
    conn: &mut DbConnection,
    organisation_id: OrganisationId,
    user_id: UserId,
    requested_by: UserId,
) -> QueryResult<GrantRow> {
    diesel::insert_into(specialty_grants::table)
        .values((
            specialty_grants::id.eq(GrantId::new()),
            specialty_grants::organisation_id.eq(organisation_id),
            specialty_grants::user_id.eq(user_id),
            specialty_grants::specialty.eq(GUARDED),
            specialty_grants::status.eq(GrantStatus::Pending),
            specialty_grants::requested_by.eq(requested_by),
            specialty_grants::requested_at.eq(db::now().naive_utc()),
        ))
        .returning(specialty_grants::all_columns)
        .get_result(conn)
}

pub fn find(conn: &mut DbConnection, id: GrantId) -> QueryResult<Option<GrantRow>> {
    specialty_grants::table.find(id).select(GrantRow::as_select()).first(conn).optional()
}

pub fn pending_of(conn: &mut DbConnection, user_id: UserId) -> QueryResult<Option<GrantRow>> {
    specialty_grants::table
        .filter(specialty_grants::user_id.eq(user_id))
        .filter(specialty_grants::status.eq(GrantStatus::Pending))
        .select(GrantRow::as_select())
        .first(conn)
        .optional()
}

/// (user, specialty) of every pending grant of these users.
pub fn pending_for(conn: &mut DbConnection, user_ids: &[UserId]) -> QueryResult<Vec<(UserId, SessionKind)>> {
    specialty_grants::table
        .filter(specialty_grants::user_id.eq_any(user_ids.to_vec()))
        .filter(specialty_grants::status.eq(GrantStatus::Pending))
        .select((specialty_grants::user_id, specialty_grants::specialty))
        .load(conn)
}

/// Decides a pending grant; `None` when it was no longer pending (decided concurrently).
pub fn decide(
    conn: &mut DbConnection,
    id: GrantId,
    status: GrantStatus,
    decided_by: Option<UserId>,
) -> QueryResult<Option<GrantRow>> {
    diesel::update(specialty_grants::table.find(id))
        .filter(specialty_grants::status.eq(GrantStatus::Pending))
        .set((
            specialty_grants::status.eq(status),
            specialty_grants::decided_by.eq(decided_by),
            specialty_grants::decided_at.eq(Some(db::now().naive_utc())),
        ))
        .returning(specialty_grants::all_columns)
        .get_result(conn)
        .optional()
}

/// Whether the organisation has a psychologist who could decide: an active user who holds the
/// guarded specialty and has enrolled (set a password).
pub fn has_psychologist(conn: &mut DbConnection, organisation_id: OrganisationId) -> QueryResult<bool> {
    // Specialties are stored as a JSON list of codes, so the quoted code matches one element.
    let holders: i64 = users::table
        .filter(users::organisation_id.eq(organisation_id))
        .filter(users::active.eq(true))
        .filter(users::password_hash.ne(""))
        .filter(users::specialties.like(format!("%\"{}\"%", GUARDED.code())))
        .count()
        .get_result(conn)?;
    Ok(holders > 0)
}

pub struct GrantQuery {
    pub organisation_id: Option<OrganisationId>,
    pub status: Option<GrantStatus>,
    pub user_id: Option<UserId>,
}

pub fn list(conn: &mut DbConnection, filter: &GrantQuery, page: PageRequest<GrantId>) -> QueryResult<Vec<GrantRow>> {
    let mut query = specialty_grants::table.select(GrantRow::as_select()).into_boxed();
    if let Some(organisation_id) = filter.organisation_id {
        query = query.filter(specialty_grants::organisation_id.eq(organisation_id));
    }
    if let Some(status) = filter.status {
        query = query.filter(specialty_grants::status.eq(status));
    }
    if let Some(user_id) = filter.user_id {
        query = query.filter(specialty_grants::user_id.eq(user_id));
    }
    if let Some(after) = page.after {
        query = query.filter(specialty_grants::id.gt(after));
    }
    query.order(specialty_grants::id).limit(page.limit + 1).load(conn)
}
