//! Database functions for interpreters.

use diesel::prelude::*;

use super::model::{InterpreterFields, InterpreterRow};
use crate::db::schema::{interpreter_organisations, interpreters};
use crate::db::{self, DbConnection, InterpreterId, List, OrganisationId};
use crate::http::pagination::PageRequest;

pub fn find(conn: &mut DbConnection, id: InterpreterId) -> QueryResult<Option<InterpreterRow>> {
    interpreters::table.find(id).select(InterpreterRow::as_select()).first(conn).optional()
}

pub fn organisations_of(conn: &mut DbConnection, id: InterpreterId) -> QueryResult<Vec<OrganisationId>> {
    interpreter_organisations::table
        .filter(interpreter_organisations::interpreter_id.eq(id))
        .select(interpreter_organisations::organisation_id)
        .order(interpreter_organisations::organisation_id)
        .load(conn)
}

fn replace_organisations(
    conn: &mut DbConnection,
    id: InterpreterId,
    organisation_ids: &[OrganisationId],
) -> QueryResult<()> {
    diesel::delete(interpreter_organisations::table.filter(interpreter_organisations::interpreter_id.eq(id)))
        .execute(conn)?;
    for organisation_id in organisation_ids {
        diesel::insert_into(interpreter_organisations::table)
            .values((
                interpreter_organisations::interpreter_id.eq(id),
                interpreter_organisations::organisation_id.eq(organisation_id),
            ))
            .execute(conn)?;
    }
    Ok(())
}

pub fn insert(conn: &mut DbConnection, id: InterpreterId, fields: &InterpreterFields) -> QueryResult<InterpreterRow> {
    let now = db::now().naive_utc();
    diesel::insert_into(interpreters::table)
        .values((
            interpreters::id.eq(id),
            interpreters::name.eq(&fields.name),
            interpreters::phone.eq(&fields.phone),
            interpreters::email.eq(&fields.email),
            interpreters::languages.eq(List::of(&fields.languages)),
            interpreters::cities.eq(List::of(&fields.cities)),
            interpreters::active.eq(fields.active),
            interpreters::created_at.eq(now),
            interpreters::updated_at.eq(now),
            interpreters::version.eq(1),
        ))
        .execute(conn)?;
    replace_organisations(conn, id, &fields.organisation_ids)?;
    find(conn, id)?.ok_or(diesel::result::Error::NotFound)
}

pub fn update(
    conn: &mut DbConnection,
    id: InterpreterId,
    expected_version: i32,
    fields: &InterpreterFields,
) -> QueryResult<Option<InterpreterRow>> {
    let updated = diesel::update(interpreters::table.find(id))
        .filter(interpreters::version.eq(expected_version))
        .set((
            interpreters::name.eq(&fields.name),
            interpreters::phone.eq(&fields.phone),
            interpreters::email.eq(&fields.email),
            interpreters::languages.eq(List::of(&fields.languages)),
            interpreters::cities.eq(List::of(&fields.cities)),
            interpreters::active.eq(fields.active),
            interpreters::updated_at.eq(db::now().naive_utc()),
            interpreters::version.eq(expected_version + 1),
        ))
        .execute(conn)?;
    if updated == 0 {
        return Ok(None);
    }
    replace_organisations(conn, id, &fields.organisation_ids)?;
    find(conn, id)
}

pub struct InterpreterQuery {
    pub language: Option<String>,
    pub organisation_id: Option<OrganisationId>,
    pub include_inactive: bool,
}

/// Interpreters after the cursor, by id, matching the query; at most `limit` of them when given.
/// Languages are matched as their quoted code inside the stored JSON list (codes are letters).
pub fn list(
    conn: &mut DbConnection,
    query: &InterpreterQuery,
    page: PageRequest<InterpreterId>,
    limit: Option<i64>,
) -> QueryResult<Vec<InterpreterRow>> {
    let mut select = interpreters::table.select(InterpreterRow::as_select()).into_boxed();
    if !query.include_inactive {
        select = select.filter(interpreters::active.eq(true));
    }
    if let Some(language) = &query.language {
        select = select.filter(interpreters::languages.like(format!("%\"{language}\"%")));
    }
    if let Some(organisation_id) = query.organisation_id {
        let working = interpreter_organisations::table
            .filter(interpreter_organisations::organisation_id.eq(organisation_id))
            .select(interpreter_organisations::interpreter_id);
        select = select.filter(interpreters::id.eq_any(working));
    }
    if let Some(after) = page.after {
        select = select.filter(interpreters::id.gt(after));
    }
    let select = select.order(interpreters::id);
    match limit {
        Some(limit) => select.limit(limit).load(conn),
        None => select.load(conn),
    }
}
