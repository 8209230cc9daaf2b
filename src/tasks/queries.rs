//! Database functions for tasks.

use chrono::NaiveDate;
use diesel::prelude::*;

use super::model::{TaskFields, TaskRow};
use crate::db::schema::{clients, tasks};
use crate::db::{self, ClientId, DbConnection, Id, OrganisationId, TaskId, UserId};
use crate::http::pagination::KeyedPageRequest;

pub fn find(conn: &mut DbConnection, id: TaskId) -> QueryResult<Option<TaskRow>> {
    tasks::table.find(id).select(TaskRow::as_select()).first(conn).optional()
}

pub fn insert(
    conn: &mut DbConnection,
    id: TaskId,
    organisation_id: OrganisationId,
    created_by: UserId,
    fields: &TaskFields,
) -> QueryResult<TaskRow> {
    let now = db::now().naive_utc();
    diesel::insert_into(tasks::table)
        .values((
            tasks::id.eq(id),
            tasks::organisation_id.eq(organisation_id),
            tasks::assignee_id.eq(fields.assignee_id),
            tasks::client_id.eq(fields.client_id),
            tasks::title.eq(&fields.title),
            tasks::due_on.eq(fields.due_on),
            tasks::done_at.eq(fields.done.then_some(now)),
            tasks::done_by.eq(fields.done.then_some(created_by)),
            tasks::created_by.eq(created_by),
            tasks::created_at.eq(now),
            tasks::updated_at.eq(now),
            tasks::version.eq(1),
        ))
        .execute(conn)?;
    find(conn, id)?.ok_or(diesel::result::Error::NotFound)
}

/// Writes the changed fields if the version is still `expected_version`; ticking a task off
/// records who did it and when, reopening it clears both.
pub fn update(
    conn: &mut DbConnection,
    current: &TaskRow,
    expected_version: i32,
    fields: &TaskFields,
    by: UserId,
) -> QueryResult<Option<TaskRow>> {
    let now = db::now().naive_utc();
    let (done_at, done_by) = match (fields.done, current.done_at) {
        (true, Some(at)) => (Some(at), current.done_by),
        (true, None) => (Some(now), Some(by)),
        (false, _) => (None, None),
    };
    let updated = diesel::update(tasks::table.find(current.id))
        .filter(tasks::version.eq(expected_version))
        .set((
            tasks::assignee_id.eq(fields.assignee_id),
            tasks::client_id.eq(fields.client_id),
            tasks::title.eq(&fields.title),
            tasks::due_on.eq(fields.due_on),
            tasks::done_at.eq(done_at),
            tasks::done_by.eq(done_by),
            tasks::updated_at.eq(now),
            tasks::version.eq(expected_version + 1),
        ))
        .execute(conn)?;
    if updated == 0 { Ok(None) } else { find(conn, current.id) }
}

pub fn delete(conn: &mut DbConnection, id: TaskId) -> QueryResult<usize> {
    diesel::delete(tasks::table.find(id)).execute(conn)
}

#[derive(Debug, Default, Clone)]
pub struct TaskQuery {
    pub assignee_id: Option<UserId>,
    pub inbox: Option<bool>,
    pub client_id: Option<ClientId>,
    pub done: Option<bool>,
    pub due_from: Option<NaiveDate>,
    pub due_to: Option<NaiveDate>,
}

/// One page of the organisation's tasks, by due date, with the references of their clients.
/// (The agenda pages tasks among other entries: its cursor may name an id of another kind.)
pub fn list<E: 'static>(
    conn: &mut DbConnection,
    organisation_id: OrganisationId,
    query: &TaskQuery,
    page: &KeyedPageRequest<NaiveDate, Id<E>>,
) -> QueryResult<Vec<(TaskRow, Option<String>)>> {
    let mut select = tasks::table
        .left_join(clients::table.on(clients::id.nullable().eq(tasks::client_id)))
        .filter(tasks::organisation_id.eq(organisation_id))
        .select((TaskRow::as_select(), clients::reference.nullable()))
        .into_boxed();
    if let Some(assignee_id) = query.assignee_id {
        select = select.filter(tasks::assignee_id.eq(assignee_id));
    }
    match query.inbox {
        Some(true) => select = select.filter(tasks::assignee_id.is_null()),
        Some(false) => select = select.filter(tasks::assignee_id.is_not_null()),
        None => {}
    }
    if let Some(client_id) = query.client_id {
        select = select.filter(tasks::client_id.eq(client_id));
    }
    match query.done {
        Some(true) => select = select.filter(tasks::done_at.is_not_null()),
        Some(false) => select = select.filter(tasks::done_at.is_null()),
        None => {}
    }
    if let Some(from) = query.due_from {
        select = select.filter(tasks::due_on.ge(from));
    }
    if let Some(to) = query.due_to {
        select = select.filter(tasks::due_on.le(to));
    }
    if let Some((due, id)) = page.after {
        select = select.filter(tasks::due_on.gt(due).or(tasks::due_on.eq(due).and(tasks::id.gt(id))));
    }
    select.order((tasks::due_on, tasks::id)).limit(page.limit + 1).load(conn)
}

/// Open tasks due in `[from, to]` after a (due date, id) cursor, by due date: the agenda's
/// tasks, assigned to `assignee_id`, or all of the organisation's (its inbox included).
pub fn on_agenda(
    conn: &mut DbConnection,
    organisation_id: OrganisationId,
    assignee_id: Option<UserId>,
    from: NaiveDate,
    to: NaiveDate,
    page: &KeyedPageRequest<NaiveDate>,
) -> QueryResult<Vec<(TaskRow, Option<String>)>> {
    let query =
        TaskQuery { assignee_id, done: Some(false), due_from: Some(from), due_to: Some(to), ..TaskQuery::default() };
    list(conn, organisation_id, &query, page)
}

/// Every task about the client, by due date (an export).
pub fn of_client(conn: &mut DbConnection, client_id: ClientId) -> QueryResult<Vec<TaskRow>> {
    tasks::table
        .filter(tasks::client_id.eq(client_id))
        .select(TaskRow::as_select())
        .order((tasks::due_on, tasks::id))
        .load(conn)
}
