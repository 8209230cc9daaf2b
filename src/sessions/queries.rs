//! Database functions for sessions.

use chrono::{NaiveDate, NaiveDateTime};
use diesel::dsl::{count_star, sum};
use diesel::prelude::*;
use diesel::sql_types::Bool;

use super::model::{Participant, SessionFields, SessionMode, SessionRow};
use crate::db::schema::{clients, session_participants, sessions};
use crate::db::{self, ClientId, DbConnection, OrganisationId, SessionId, UserId};
use crate::domain::SessionKind;
use crate::domain::client::ClientStatus;
use crate::http::pagination::{KeyedPageRequest, PageRequest};
use crate::procedure::model::{AgendaItem, AgendaKind};
use crate::procedure::queries::AgendaQuery;

/// Who is looking, for the psychological tier: psychological sessions are shown only to their
/// author and to psychologists of the organisation.
#[derive(Debug, Clone, Copy)]
pub struct Viewer {
    pub user_id: UserId,
    pub psychologist: bool,
}

impl Viewer {
    pub fn of(principal: &crate::auth::Principal) -> Self {
        Self { user_id: principal.user_id, psychologist: principal.caller().psychologist() }
    }

    /// Whether the viewer sees a record of this kind by this author (in their organisation).
    pub fn sees(self, psychological: bool, author_id: UserId) -> bool {
        !psychological || self.psychologist || author_id == self.user_id
    }
}

type VisibleTo = diesel::dsl::Or<
    diesel::dsl::Or<diesel::dsl::NotEq<sessions::kind, SessionKind>, diesel::dsl::Eq<sessions::counselor_id, UserId>>,
    diesel::dsl::AsExprOf<bool, Bool>,
>;

fn visible_to(viewer: Viewer) -> VisibleTo {
    sessions::kind
        .ne(SessionKind::Psychological)
        .or(sessions::counselor_id.eq(viewer.user_id))
        .or(viewer.psychologist.into_sql::<Bool>())
}

pub fn find(conn: &mut DbConnection, id: SessionId) -> QueryResult<Option<SessionRow>> {
    sessions::table.find(id).select(SessionRow::as_select()).first(conn).optional()
}

pub fn participants(conn: &mut DbConnection, session_id: SessionId) -> QueryResult<Vec<Participant>> {
    let rows: Vec<(ClientId, String, bool)> = session_participants::table
        .inner_join(clients::table.on(clients::id.eq(session_participants::client_id)))
        .filter(session_participants::session_id.eq(session_id))
        .order(session_participants::client_id)
        .select((session_participants::client_id, clients::reference, session_participants::attended))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|(client_id, reference, attended)| Participant { client_id, reference, attended })
        .collect())
}

/// How many of `ids` are clients of the organisation whose records were neither erased nor
/// merged into another.
pub fn count_own_clients(
    conn: &mut DbConnection,
    organisation_id: OrganisationId,
    ids: &[ClientId],
) -> QueryResult<i64> {
    clients::table
        .filter(clients::organisation_id.eq(organisation_id))
        .filter(clients::id.eq_any(ids.to_vec()))
        .filter(clients::status.ne_all([ClientStatus::Erased, ClientStatus::Merged]))
        .select(count_star())
        .first(conn)
}

fn replace_participants(
    conn: &mut DbConnection,
    session_id: SessionId,
    client_id: ClientId,
    fields: &SessionFields,
) -> QueryResult<()> {
    diesel::delete(session_participants::table.filter(session_participants::session_id.eq(session_id)))
        .execute(conn)?;
    add_participants(conn, session_id, client_id, fields)
}

fn add_participants(
    conn: &mut DbConnection,
    session_id: SessionId,
    client_id: ClientId,
    fields: &SessionFields,
) -> QueryResult<()> {
    for row in participant_values(session_id, client_id, fields) {
        diesel::insert_into(session_participants::table).values(row).execute(conn)?;
    }
    Ok(())
}

type ParticipantValues = (
    diesel::dsl::Eq<session_participants::session_id, SessionId>,
    diesel::dsl::Eq<session_participants::client_id, ClientId>,
    diesel::dsl::Eq<session_participants::attended, bool>,
);

/// The `session_participants` rows of a session: the client it is logged for (attended), then
/// the further participants of a group session (shared by insert, update and the seed
/// generator's multi-row insert).
pub fn participant_values(
    session_id: SessionId,
    client_id: ClientId,
    fields: &SessionFields,
) -> Vec<ParticipantValues> {
    std::iter::once((client_id, true))
        .chain(fields.participants.iter().map(|p| (p.client_id, p.attended)))
        .map(|(participant, attended)| {
            (
                session_participants::session_id.eq(session_id),
                session_participants::client_id.eq(participant),
                session_participants::attended.eq(attended),
            )
        })
        .collect()
}

/// The columns of `SessionRow`, in its order: `RETURNING` takes no `Selectable` on the
/// multi-backend connection, and the table's own column list still holds the plaintext columns
/// of older databases.
type RowColumns = (
    sessions::id,
    sessions::organisation_id,
    sessions::client_id,
    sessions::counselor_id,
    sessions::kind,
    sessions::mode,
    sessions::city,
    sessions::started_at,
    sessions::duration_minutes,
    sessions::language,
    sessions::interpreter_used,
    sessions::notes_ciphertext,
    sessions::follow_up_on,
    sessions::created_at,
    sessions::updated_at,
    sessions::version,
    sessions::details_ciphertext,
);

const ROW_COLUMNS: RowColumns = (
    sessions::id,
    sessions::organisation_id,
    sessions::client_id,
    sessions::counselor_id,
    sessions::kind,
    sessions::mode,
    sessions::city,
    sessions::started_at,
    sessions::duration_minutes,
    sessions::language,
    sessions::interpreter_used,
    sessions::notes_ciphertext,
    sessions::follow_up_on,
    sessions::created_at,
    sessions::updated_at,
    sessions::version,
    sessions::details_ciphertext,
);

pub struct NewSession<'a> {
    pub id: SessionId,
    pub organisation_id: OrganisationId,
    pub client_id: ClientId,
    pub counselor_id: UserId,
    pub fields: &'a SessionFields,
    pub notes_ciphertext: Option<Vec<u8>>,
    /// Summary and topics (`fields.summary`, `fields.topics`), sealed.
    pub details_ciphertext: Option<Vec<u8>>,
}

pub fn insert(conn: &mut DbConnection, new: NewSession<'_>) -> QueryResult<SessionRow> {
    let (id, client_id, fields) = (new.id, new.client_id, new.fields);
    let row = diesel::insert_into(sessions::table)
        .values(row_values(new, db::now().naive_utc()))
        .returning(ROW_COLUMNS)
        .get_result::<SessionRow>(conn)?;
    add_participants(conn, id, client_id, fields)?;
    Ok(row)
}

/// The columns of a new session's row, created at `now` (shared by insert and the seed
/// generator's multi-row insert).
#[allow(clippy::type_complexity)]
pub fn row_values(
    new: NewSession<'_>,
    now: NaiveDateTime,
) -> (
    (
        diesel::dsl::Eq<sessions::id, SessionId>,
        diesel::dsl::Eq<sessions::organisation_id, OrganisationId>,
        diesel::dsl::Eq<sessions::client_id, ClientId>,
        diesel::dsl::Eq<sessions::counselor_id, UserId>,
        diesel::dsl::Eq<sessions::kind, SessionKind>,
        diesel::dsl::Eq<sessions::mode, SessionMode>,
        diesel::dsl::Eq<sessions::city, Option<String>>,
        diesel::dsl::Eq<sessions::started_at, NaiveDateTime>,
        diesel::dsl::Eq<sessions::duration_minutes, i32>,
    ),
    (
        diesel::dsl::Eq<sessions::language, Option<String>>,
        diesel::dsl::Eq<sessions::interpreter_used, bool>,
        diesel::dsl::Eq<sessions::topics, &'static str>,
        diesel::dsl::Eq<sessions::notes_ciphertext, Option<Vec<u8>>>,
        diesel::dsl::Eq<sessions::details_ciphertext, Option<Vec<u8>>>,
        diesel::dsl::Eq<sessions::follow_up_on, Option<NaiveDate>>,
        diesel::dsl::Eq<sessions::created_at, NaiveDateTime>,
        diesel::dsl::Eq<sessions::updated_at, NaiveDateTime>,
        diesel::dsl::Eq<sessions::version, i32>,
    ),
) {
    let fields = new.fields;
    (
        (
            sessions::id.eq(new.id),
            sessions::organisation_id.eq(new.organisation_id),
            sessions::client_id.eq(new.client_id),
            sessions::counselor_id.eq(new.counselor_id),
            sessions::kind.eq(fields.kind),
            sessions::mode.eq(fields.mode),
            sessions::city.eq(fields.city.clone()),
            sessions::started_at.eq(fields.started_at),
            sessions::duration_minutes.eq(fields.duration_minutes),
        ),
        (
            sessions::language.eq(fields.language.clone()),
            sessions::interpreter_used.eq(fields.interpreter_used),
            // The plaintext column is NOT NULL in older databases; it stays empty.
            sessions::topics.eq("[]"),
            sessions::notes_ciphertext.eq(new.notes_ciphertext),
            sessions::details_ciphertext.eq(new.details_ciphertext),
            sessions::follow_up_on.eq(fields.follow_up_on),
            sessions::created_at.eq(now),
            sessions::updated_at.eq(now),
            sessions::version.eq(1),
        ),
    )
}

/// Sealed fields of a correction; `None` keeps what is stored.
pub struct Resealed {
    pub notes: Option<Option<Vec<u8>>>,
    pub details: Option<Option<Vec<u8>>>,
}

/// Writes the corrected fields if the version is still `expected_version`.
pub fn update(
    conn: &mut DbConnection,
    current: &SessionRow,
    expected_version: i32,
    fields: &SessionFields,
    resealed: Resealed,
) -> QueryResult<Option<SessionRow>> {
    let notes = resealed.notes.unwrap_or_else(|| current.notes_ciphertext.clone());
    let details = resealed.details.unwrap_or_else(|| current.details_ciphertext.clone());
    let updated = diesel::update(sessions::table.find(current.id))
        .filter(sessions::version.eq(expected_version))
        .set((
            (
                sessions::kind.eq(fields.kind),
                sessions::mode.eq(fields.mode),
                sessions::city.eq(&fields.city),
                sessions::started_at.eq(fields.started_at),
                sessions::duration_minutes.eq(fields.duration_minutes),
                sessions::language.eq(&fields.language),
            ),
            (
                sessions::interpreter_used.eq(fields.interpreter_used),
                sessions::notes_ciphertext.eq(notes),
                sessions::details_ciphertext.eq(details),
                // Whatever an older version left in clear goes with the correction.
                sessions::summary.eq(None::<String>),
                sessions::topics.eq("[]"),
                sessions::follow_up_on.eq(fields.follow_up_on),
                sessions::updated_at.eq(db::now().naive_utc()),
                sessions::version.eq(expected_version + 1),
            ),
        ))
        .returning(ROW_COLUMNS)
        .get_result::<SessionRow>(conn)
        .optional()?;
    if updated.is_some() {
        replace_participants(conn, current.id, current.client_id, fields)?;
    }
    Ok(updated)
}

pub fn delete(conn: &mut DbConnection, id: SessionId) -> QueryResult<usize> {
    diesel::delete(sessions::table.find(id)).execute(conn)
}

#[derive(Debug, Default)]
pub struct SessionQuery {
    pub client_id: Option<ClientId>,
    pub counselor_id: Option<UserId>,
    pub kind: Option<&'static str>,
    pub mode: Option<&'static str>,
    pub city: Option<String>,
    pub from: Option<NaiveDateTime>,
    pub until: Option<NaiveDateTime>,
}

/// One page of the sessions the viewer may see, oldest first.
pub fn list(
    conn: &mut DbConnection,
    organisation_id: OrganisationId,
    viewer: Viewer,
    query: &SessionQuery,
    page: PageRequest<SessionId>,
) -> QueryResult<Vec<SessionRow>> {
    let mut select = sessions::table
        .filter(sessions::organisation_id.eq(organisation_id))
        .filter(visible_to(viewer))
        .select(SessionRow::as_select())
        .into_boxed();
    if let Some(client_id) = query.client_id {
        let participated = session_participants::table
            .filter(session_participants::client_id.eq(client_id))
            .select(session_participants::session_id);
        select = select.filter(sessions::id.eq_any(participated));
    }
    if let Some(counselor_id) = query.counselor_id {
        select = select.filter(sessions::counselor_id.eq(counselor_id));
    }
    if let Some(kind) = query.kind {
        select = select.filter(sessions::kind.eq(kind));
    }
    if let Some(mode) = query.mode {
        select = select.filter(sessions::mode.eq(mode));
    }
    if let Some(city) = &query.city {
        select = select.filter(sessions::city.eq(city.clone()));
    }
    if let Some(from) = query.from {
        select = select.filter(sessions::started_at.ge(from));
    }
    if let Some(until) = query.until {
        select = select.filter(sessions::started_at.lt(until));
    }
    if let Some(after) = page.after {
        select = select.filter(sessions::id.gt(after));
    }
    select.order(sessions::id).limit(page.limit + 1).load(conn)
}

/// Sessions and minutes by kind in `[from, until)`, as `(kind, sessions, minutes)`;
/// psychological ones only when `psychological` (for callers inside the tier).
pub fn counts(
    conn: &mut DbConnection,
    organisation_id: OrganisationId,
    from: NaiveDateTime,
    until: NaiveDateTime,
    psychological: bool,
) -> QueryResult<Vec<(SessionKind, i64, i64)>> {
    let rows: Vec<(SessionKind, i64, Option<i64>)> = sessions::table
        .filter(sessions::organisation_id.eq(organisation_id))
        .filter(psychological.into_sql::<Bool>().or(sessions::kind.ne(SessionKind::Psychological)))
        .filter(sessions::started_at.ge(from))
        .filter(sessions::started_at.lt(until))
        .group_by(sessions::kind)
        .select((sessions::kind, count_star(), sum(sessions::duration_minutes)))
        .order(sessions::kind)
        .load(conn)?;
    Ok(rows.into_iter().map(|(kind, sessions, minutes)| (kind, sessions, minutes.unwrap_or(0))).collect())
}

/// Open follow-ups: a follow-up date of a session after which no later session with the client
/// that the viewer may see was logged yet.
pub fn follow_ups(
    conn: &mut DbConnection,
    organisation_id: OrganisationId,
    viewer: Viewer,
    query: &AgendaQuery,
    page: &KeyedPageRequest<NaiveDate>,
) -> QueryResult<Vec<AgendaItem>> {
    let today = query.today;
    let later = diesel::alias!(sessions as later);
    let mut select = sessions::table
        .inner_join(clients::table.on(clients::id.eq(sessions::client_id)))
        .filter(sessions::organisation_id.eq(organisation_id))
        .filter(sessions::follow_up_on.is_not_null())
        .filter(visible_to(viewer))
        .filter(diesel::dsl::not(diesel::dsl::exists(
            // Only a later session the viewer may see closes a follow-up: otherwise a hidden
            // psychological session would show by the follow-up it makes disappear.
            later
                .filter(later.field(sessions::client_id).eq(sessions::client_id))
                .filter(later.field(sessions::started_at).gt(sessions::started_at))
                .filter(
                    later
                        .field(sessions::kind)
                        .ne(SessionKind::Psychological)
                        .or(later.field(sessions::counselor_id).eq(viewer.user_id))
                        .or(viewer.psychologist.into_sql::<Bool>()),
                ),
        )))
        .select((
            sessions::id,
            sessions::client_id,
            clients::reference,
            sessions::counselor_id,
            sessions::follow_up_on,
            sessions::kind,
        ))
        .into_boxed();
    if let Some(counselor_id) = query.counselor_id {
        select = select.filter(sessions::counselor_id.eq(counselor_id));
    }
    if let Some(due_from) = query.due_from {
        select = select.filter(sessions::follow_up_on.ge(due_from));
    }
    if let Some(due_by) = query.due_by {
        select = select.filter(sessions::follow_up_on.le(due_by));
    }
    match query.overdue {
        Some(true) => select = select.filter(sessions::follow_up_on.lt(today)),
        Some(false) => select = select.filter(sessions::follow_up_on.ge(today)),
        None => {}
    }
    if let Some((due, id)) = page.after {
        select =
            select.filter(sessions::follow_up_on.gt(due).or(sessions::follow_up_on.eq(due).and(sessions::id.gt(id))));
    }
    let rows: Vec<(SessionId, ClientId, String, UserId, Option<NaiveDate>, String)> =
        select.order((sessions::follow_up_on, sessions::id)).limit(page.limit + 1).load(conn)?;
    Ok(rows
        .into_iter()
        .filter_map(|(session_id, client_id, client_reference, counselor_id, due_on, _kind)| {
            let due_on = due_on?;
            let days_left = (due_on - today).num_days();
            Some(AgendaItem {
                id: session_id.any(),
                kind: AgendaKind::FollowUp,
                session_id: Some(session_id),
                client_id,
                client_reference,
                assigned_counselor_id: Some(counselor_id),
                rule: None,
                title: "Follow-up".to_owned(),
                legal_basis: None,
                due_on,
                days_left,
                overdue: days_left < 0,
                monitoring: false,
            })
        })
        .collect())
}
