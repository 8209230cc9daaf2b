//! Database functions for documents.

use chrono::NaiveDateTime;
use diesel::dsl::count_star;
use diesel::prelude::*;
use diesel::sql_types::Bool;

use super::model::{DocumentFields, DocumentRow};
use crate::db::schema::{consents, documents, procedure_events, session_participants, sessions};
use crate::db::{
    self, ClientId, ConsentId, DbConnection, DocumentId, OrganisationId, ProcedureEventId, SessionId, UserId,
};
use crate::domain::SessionKind;
use crate::http::pagination::PageRequest;
use crate::sessions::queries::Viewer;

pub fn find(conn: &mut DbConnection, id: DocumentId) -> QueryResult<Option<DocumentRow>> {
    documents::table.find(id).select(DocumentRow::as_select()).first(conn).optional()
}

/// A document that is not deleted.
pub fn find_current(conn: &mut DbConnection, id: DocumentId) -> QueryResult<Option<DocumentRow>> {
    documents::table
        .find(id)
        .filter(documents::deleted_at.is_null())
        .select(DocumentRow::as_select())
        .first(conn)
        .optional()
}

/// Whether the document's session is psychological now (its kind may have been corrected since
/// it was linked); a document stays in the tier it was given when its session is gone.
pub fn in_tier(conn: &mut DbConnection, row: &DocumentRow) -> QueryResult<bool> {
    if row.psychological {
        return Ok(true);
    }
    let Some(session_id) = row.session_id else { return Ok(false) };
    let kind: Option<SessionKind> = sessions::table.find(session_id).select(sessions::kind).first(conn).optional()?;
    Ok(kind == Some(SessionKind::Psychological))
}

/// The client's documents the viewer may see, oldest first: those of a psychological session
/// only to the session's author and to psychologists.
pub fn list_of_client(
    conn: &mut DbConnection,
    client_id: ClientId,
    viewer: Viewer,
    page: PageRequest<DocumentId>,
) -> QueryResult<Vec<DocumentRow>> {
    // Looked up per document (by the session's key), not as the list of every psychological
    // session there is.
    let of_psychological_session = sessions::table
        .filter(sessions::id.nullable().eq(documents::session_id))
        .filter(sessions::kind.eq(SessionKind::Psychological));
    let outside_tier =
        documents::psychological.eq(false).and(diesel::dsl::not(diesel::dsl::exists(of_psychological_session)));
    let mut query = documents::table
        .filter(documents::client_id.eq(client_id))
        .filter(documents::deleted_at.is_null())
        .filter(
            outside_tier
                .or(documents::session_counselor_id.eq(viewer.user_id))
                .or(viewer.psychologist.into_sql::<Bool>()),
        )
        .order(documents::id)
        .limit(page.limit + 1)
        .select(DocumentRow::as_select())
        .into_boxed();
    if let Some(after) = page.after {
        query = query.filter(documents::id.gt(after));
    }
    query.load(conn)
}

/// Every document of the client that is not deleted (exports).
pub fn of_client(conn: &mut DbConnection, client_id: ClientId) -> QueryResult<Vec<DocumentRow>> {
    documents::table
        .filter(documents::client_id.eq(client_id))
        .filter(documents::deleted_at.is_null())
        .order(documents::id)
        .select(DocumentRow::as_select())
        .load(conn)
}

pub fn procedure_event_of_client(
    conn: &mut DbConnection,
    id: ProcedureEventId,
    client_id: ClientId,
) -> QueryResult<bool> {
    let count: i64 = procedure_events::table
        .filter(procedure_events::id.eq(id))
        .filter(procedure_events::client_id.eq(client_id))
        .select(count_star())
        .first(conn)?;
    Ok(count > 0)
}

pub fn consent_of_client(conn: &mut DbConnection, id: ConsentId, client_id: ClientId) -> QueryResult<bool> {
    let count: i64 = consents::table
        .filter(consents::id.eq(id))
        .filter(consents::client_id.eq(client_id))
        .select(count_star())
        .first(conn)?;
    Ok(count > 0)
}

/// Whether the client took part in the session.
pub fn session_of_client(conn: &mut DbConnection, session_id: SessionId, client_id: ClientId) -> QueryResult<bool> {
    let count: i64 = session_participants::table
        .filter(session_participants::session_id.eq(session_id))
        .filter(session_participants::client_id.eq(client_id))
        .select(count_star())
        .first(conn)?;
    Ok(count > 0)
}

/// The session a document is linked to: whether it is psychological, and its author.
#[derive(Debug, Clone, Copy, Default)]
pub struct SessionLink {
    pub psychological: bool,
    pub counselor_id: Option<UserId>,
}

pub struct NewDocument<'a> {
    pub id: DocumentId,
    pub organisation_id: OrganisationId,
    pub client_id: ClientId,
    pub fields: &'a DocumentFields,
    pub link: SessionLink,
    pub sha256: &'a str,
    pub size: i64,
    pub content_type: &'a str,
    pub chunk_size: i32,
    pub storage_key: &'a str,
    pub uploaded_by: UserId,
}

pub fn insert(conn: &mut DbConnection, new: NewDocument<'_>) -> QueryResult<DocumentRow> {
    let now = db::now().naive_utc();
    let fields = new.fields;
    diesel::insert_into(documents::table)
        .values((
            (
                documents::id.eq(new.id),
                documents::organisation_id.eq(new.organisation_id),
                documents::client_id.eq(new.client_id),
                documents::kind.eq(fields.kind),
                documents::title.eq(&fields.title),
                documents::issued_on.eq(fields.issued_on),
                documents::language.eq(&fields.language),
                documents::procedure_event_id.eq(fields.procedure_event_id),
                documents::consent_id.eq(fields.consent_id),
                documents::session_id.eq(fields.session_id),
            ),
            (
                documents::psychological.eq(new.link.psychological),
                documents::session_counselor_id.eq(new.link.counselor_id),
                documents::sha256.eq(new.sha256),
                documents::size_bytes.eq(new.size),
                documents::content_type.eq(new.content_type),
                documents::chunk_size.eq(new.chunk_size),
                documents::storage_key.eq(new.storage_key),
                documents::uploaded_by.eq(new.uploaded_by),
                documents::created_at.eq(now),
                documents::updated_at.eq(now),
                documents::version.eq(1),
            ),
        ))
        .execute(conn)?;
    documents::table.find(new.id).select(DocumentRow::as_select()).first(conn)
}

/// Optimistic update of the metadata; `None` when the version moved on.
pub fn update(
    conn: &mut DbConnection,
    current: &DocumentRow,
    expected_version: i32,
    fields: &DocumentFields,
    link: SessionLink,
) -> QueryResult<Option<DocumentRow>> {
    let now = db::now().naive_utc();
    let changed = diesel::update(documents::table.find(current.id))
        .filter(documents::version.eq(expected_version))
        .filter(documents::deleted_at.is_null())
        .set((
            documents::kind.eq(fields.kind),
            documents::title.eq(&fields.title),
            documents::issued_on.eq(fields.issued_on),
            documents::language.eq(&fields.language),
            documents::procedure_event_id.eq(fields.procedure_event_id),
            documents::consent_id.eq(fields.consent_id),
            documents::session_id.eq(fields.session_id),
            documents::psychological.eq(link.psychological),
            documents::session_counselor_id.eq(link.counselor_id),
            documents::updated_at.eq(now),
            documents::version.eq(documents::version + 1),
        ))
        .execute(conn)?;
    if changed == 0 {
        return Ok(None);
    }
    find(conn, current.id)
}

/// Soft deletion: the document disappears from the API at once; its bytes are destroyed after
/// `purge_after`.
pub fn delete(conn: &mut DbConnection, id: DocumentId, by: UserId, purge_after: NaiveDateTime) -> QueryResult<usize> {
    let now = db::now().naive_utc();
    diesel::update(documents::table.find(id))
        .filter(documents::deleted_at.is_null())
        .set((
            documents::deleted_at.eq(Some(now)),
            documents::deleted_by.eq(Some(by)),
            documents::purge_after.eq(Some(purge_after)),
            documents::updated_at.eq(now),
            documents::version.eq(documents::version + 1),
        ))
        .execute(conn)
}

/// Documents whose bytes are due to be destroyed: (id, storage key).
pub fn due_for_purge(
    conn: &mut DbConnection,
    now: NaiveDateTime,
    batch: i64,
) -> QueryResult<Vec<(DocumentId, String)>> {
    documents::table
        .filter(documents::bytes_destroyed_at.is_null())
        .filter(documents::purge_after.le(now))
        .order(documents::purge_after)
        .limit(batch)
        .select((documents::id, documents::storage_key))
        .load(conn)
}

pub fn mark_destroyed(conn: &mut DbConnection, id: DocumentId) -> QueryResult<usize> {
    diesel::update(documents::table.find(id))
        .set(documents::bytes_destroyed_at.eq(Some(db::now().naive_utc())))
        .execute(conn)
}
