//! Database functions for appointments.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel::sql_types::{Bool, Text};

use super::model::{AppointmentFields, AppointmentParticipant, AppointmentRow, AppointmentStatus, BOOKED, MAX_MINUTES};
use crate::db::schema::{appointment_participants, appointments, clients};
use crate::db::{self, AppointmentId, ClientId, DbConnection, InterpreterId, OrganisationId, SessionId, UserId};
use crate::domain::SessionKind;
use crate::http::pagination::KeyedPageRequest;
use crate::sessions::queries::Viewer;

type VisibleTo = diesel::dsl::Or<
    diesel::dsl::Or<
        diesel::dsl::NotEq<appointments::kind, SessionKind>,
        diesel::dsl::Eq<appointments::counselor_id, UserId>,
    >,
    diesel::dsl::AsExprOf<bool, Bool>,
>;

/// Psychological appointments are the tier's, as the sessions they become: shown in full only
/// to their counselor and to psychologists of the organisation.
pub fn visible_to(viewer: Viewer) -> VisibleTo {
    appointments::kind
        .ne(SessionKind::Psychological)
        .or(appointments::counselor_id.eq(viewer.user_id))
        .or(viewer.psychologist.into_sql::<Bool>())
}

pub fn find(conn: &mut DbConnection, id: AppointmentId) -> QueryResult<Option<AppointmentRow>> {
    appointments::table.find(id).select(AppointmentRow::as_select()).first(conn).optional()
}

/// Further participants of an appointment, with their references.
pub fn participants(
    conn: &mut DbConnection,
    appointment_id: AppointmentId,
) -> QueryResult<Vec<AppointmentParticipant>> {
    Ok(participants_of(conn, &[appointment_id])?.remove(&appointment_id).unwrap_or_default())
}

/// Further participants of each of a page of appointments, in one query.
pub fn participants_of(
    conn: &mut DbConnection,
    appointment_ids: &[AppointmentId],
) -> QueryResult<std::collections::HashMap<AppointmentId, Vec<AppointmentParticipant>>> {
    let rows: Vec<(AppointmentId, ClientId, String)> = appointment_participants::table
        .inner_join(clients::table.on(clients::id.eq(appointment_participants::client_id)))
        .filter(appointment_participants::appointment_id.eq_any(appointment_ids.to_vec()))
        .order((appointment_participants::appointment_id, appointment_participants::client_id))
        .select((appointment_participants::appointment_id, appointment_participants::client_id, clients::reference))
        .load(conn)?;
    let mut by_appointment = std::collections::HashMap::<AppointmentId, Vec<AppointmentParticipant>>::new();
    for (appointment_id, client_id, reference) in rows {
        by_appointment.entry(appointment_id).or_default().push(AppointmentParticipant { client_id, reference });
    }
    Ok(by_appointment)
}

/// Rows with their clients' references, as appointments with their further participants.
pub fn viewed(
    conn: &mut DbConnection,
    rows: Vec<(AppointmentRow, String)>,
) -> QueryResult<Vec<super::model::Appointment>> {
    let ids: Vec<AppointmentId> = rows.iter().map(|(row, _)| row.id).collect();
    let mut participants = participants_of(conn, &ids)?;
    Ok(rows
        .into_iter()
        .map(|(row, reference)| {
            let taking_part = participants.remove(&row.id).unwrap_or_default();
            row.view(reference, taking_part)
        })
        .collect())
}

fn replace_participants(
    conn: &mut DbConnection,
    appointment_id: AppointmentId,
    participants: &[ClientId],
) -> QueryResult<()> {
    diesel::delete(appointment_participants::table.filter(appointment_participants::appointment_id.eq(appointment_id)))
        .execute(conn)?;
    for client_id in participants {
        diesel::insert_into(appointment_participants::table)
            .values((
                appointment_participants::appointment_id.eq(appointment_id),
                appointment_participants::client_id.eq(client_id),
            ))
            .execute(conn)?;
    }
    Ok(())
}

/// Whose time an appointment takes.
#[derive(Debug, Clone, Copy)]
pub enum Calendar {
    Counselor(UserId),
    Interpreter(InterpreterId),
}

impl Calendar {
    fn lock_key(self) -> String {
        match self {
            Self::Counselor(id) => format!("appointments:counselor:{id}"),
            Self::Interpreter(id) => format!("appointments:interpreter:{id}"),
        }
    }
}

/// Takes the calendars' locks until the transaction ends, so that two requests booking the same
/// time cannot both find it free. PostgreSQL takes a transaction-scoped advisory lock per
/// calendar (in one order, so two bookings never wait on each other crosswise); SQLite's write
/// transactions already run one at a time (`db::transaction` begins them IMMEDIATE).
pub fn lock(conn: &mut DbConnection, calendars: &[Calendar]) -> QueryResult<()> {
    let DbConnection::Postgres(pg) = conn else {
        return Ok(());
    };
    let mut keys: Vec<String> = calendars.iter().map(|c| c.lock_key()).collect();
    keys.sort();
    keys.dedup();
    for key in keys {
        diesel::sql_query("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))").bind::<Text, _>(key).execute(pg)?;
    }
    Ok(())
}

/// A booked appointment that overlaps `[starts_at, ends_at)` on a calendar, other than `except`.
pub fn first_overlap(
    conn: &mut DbConnection,
    calendar: Calendar,
    starts_at: NaiveDateTime,
    ends_at: NaiveDateTime,
    except: Option<AppointmentId>,
) -> QueryResult<Option<AppointmentRow>> {
    let mut query = appointments::table
        .filter(appointments::status.eq_any(BOOKED))
        // The index on (calendar, starts_at) is read from the longest appointment's length back.
        .filter(appointments::starts_at.gt(starts_at - chrono::Duration::minutes(MAX_MINUTES)))
        .filter(appointments::starts_at.lt(ends_at))
        .filter(appointments::ends_at.gt(starts_at))
        .select(AppointmentRow::as_select())
        .into_boxed();
    query = match calendar {
        Calendar::Counselor(id) => query.filter(appointments::counselor_id.eq(id)),
        Calendar::Interpreter(id) => query.filter(appointments::interpreter_id.eq(id)),
    };
    if let Some(except) = except {
        query = query.filter(appointments::id.ne(except));
    }
    query.order(appointments::starts_at).first(conn).optional()
}

pub struct NewAppointment<'a> {
    pub id: AppointmentId,
    pub organisation_id: OrganisationId,
    pub client_id: ClientId,
    pub created_by: UserId,
    pub fields: &'a AppointmentFields,
}

pub fn insert(conn: &mut DbConnection, new: NewAppointment<'_>) -> QueryResult<AppointmentRow> {
    let fields = new.fields;
    let now = db::now().naive_utc();
    diesel::insert_into(appointments::table)
        .values((
            (
                appointments::id.eq(new.id),
                appointments::organisation_id.eq(new.organisation_id),
                appointments::counselor_id.eq(fields.counselor_id),
                appointments::client_id.eq(new.client_id),
                appointments::kind.eq(fields.kind),
                appointments::mode.eq(fields.mode),
                appointments::city.eq(&fields.city),
                appointments::location.eq(&fields.location),
                appointments::starts_at.eq(fields.starts_at),
                appointments::ends_at.eq(fields.ends_at),
                appointments::duration_minutes.eq(fields.duration_minutes),
            ),
            (
                appointments::language.eq(&fields.language),
                appointments::interpreter_needed.eq(fields.interpreter_needed),
                appointments::interpreter_id.eq(fields.interpreter_id),
                appointments::status.eq(AppointmentStatus::Planned),
                appointments::created_by.eq(new.created_by),
                appointments::created_at.eq(now),
                appointments::updated_at.eq(now),
                appointments::version.eq(1),
            ),
        ))
        .execute(conn)?;
    replace_participants(conn, new.id, &fields.participants)?;
    find(conn, new.id)?.ok_or(diesel::result::Error::NotFound)
}

/// Writes the changed fields if the version is still `expected_version`.
pub fn update(
    conn: &mut DbConnection,
    current: &AppointmentRow,
    expected_version: i32,
    fields: &AppointmentFields,
) -> QueryResult<Option<AppointmentRow>> {
    let updated = diesel::update(appointments::table.find(current.id))
        .filter(appointments::version.eq(expected_version))
        .set((
            (
                appointments::counselor_id.eq(fields.counselor_id),
                appointments::kind.eq(fields.kind),
                appointments::mode.eq(fields.mode),
                appointments::city.eq(&fields.city),
                appointments::location.eq(&fields.location),
                appointments::starts_at.eq(fields.starts_at),
                appointments::ends_at.eq(fields.ends_at),
            ),
            (
                appointments::duration_minutes.eq(fields.duration_minutes),
                appointments::language.eq(&fields.language),
                appointments::interpreter_needed.eq(fields.interpreter_needed),
                appointments::interpreter_id.eq(fields.interpreter_id),
                appointments::updated_at.eq(db::now().naive_utc()),
                appointments::version.eq(expected_version + 1),
            ),
        ))
        .execute(conn)?;
    if updated == 0 {
        return Ok(None);
    }
    replace_participants(conn, current.id, &fields.participants)?;
    find(conn, current.id)
}

/// A change of status.
pub struct StatusChange<'a> {
    pub from: &'a [AppointmentStatus],
    pub to: AppointmentStatus,
    pub cancel_reason: Option<&'a str>,
    pub session_id: Option<SessionId>,
}

/// Moves the appointment to `change.to` if it is still at `expected_version` and in one of the
/// statuses the move starts from; `None` otherwise (nothing written).
pub fn transition(
    conn: &mut DbConnection,
    id: AppointmentId,
    expected_version: i32,
    change: &StatusChange<'_>,
) -> QueryResult<Option<AppointmentRow>> {
    let updated = diesel::update(appointments::table.find(id))
        .filter(appointments::version.eq(expected_version))
        .filter(appointments::status.eq_any(change.from.to_vec()))
        .set((
            appointments::status.eq(change.to),
            appointments::cancel_reason.eq(change.cancel_reason),
            appointments::session_id.eq(change.session_id),
            appointments::updated_at.eq(db::now().naive_utc()),
            appointments::version.eq(expected_version + 1),
        ))
        .execute(conn)?;
    if updated == 0 { Ok(None) } else { find(conn, id) }
}

#[derive(Debug, Default, Clone)]
pub struct AppointmentQuery {
    pub counselor_id: Option<UserId>,
    pub client_id: Option<ClientId>,
    pub status: Option<AppointmentStatus>,
    pub city: Option<String>,
    pub from: Option<NaiveDateTime>,
    pub until: Option<NaiveDateTime>,
}

/// One page of the organisation's appointments the viewer may see, by start time.
pub fn list(
    conn: &mut DbConnection,
    organisation_id: OrganisationId,
    viewer: Viewer,
    query: &AppointmentQuery,
    page: &KeyedPageRequest<NaiveDateTime, AppointmentId>,
) -> QueryResult<Vec<(AppointmentRow, String)>> {
    let mut select = appointments::table
        .inner_join(clients::table)
        .filter(appointments::organisation_id.eq(organisation_id))
        .filter(visible_to(viewer))
        .select((AppointmentRow::as_select(), clients::reference))
        .into_boxed();
    if let Some(client_id) = query.client_id {
        let taking_part = appointment_participants::table
            .filter(appointment_participants::client_id.eq(client_id))
            .select(appointment_participants::appointment_id);
        select = select.filter(appointments::client_id.eq(client_id).or(appointments::id.eq_any(taking_part)));
    }
    if let Some(counselor_id) = query.counselor_id {
        select = select.filter(appointments::counselor_id.eq(counselor_id));
    }
    if let Some(status) = query.status {
        select = select.filter(appointments::status.eq(status));
    }
    if let Some(city) = &query.city {
        select = select.filter(appointments::city.eq(city.clone()));
    }
    if let Some(from) = query.from {
        select = select.filter(appointments::starts_at.ge(from));
    }
    if let Some(until) = query.until {
        select = select.filter(appointments::starts_at.lt(until));
    }
    if let Some((at, id)) = page.after {
        select = select
            .filter(appointments::starts_at.gt(at).or(appointments::starts_at.eq(at).and(appointments::id.gt(id))));
    }
    select.order((appointments::starts_at, appointments::id)).limit(page.limit + 1).load(conn)
}

/// The organisation's appointments in `[from, until)` but cancelled ones, by start time, after a
/// cursor: the agenda's appointments. Those the viewer may not see come back only while they
/// take time (planned or confirmed): the agenda shows them as busy.
pub fn on_agenda(
    conn: &mut DbConnection,
    organisation_id: OrganisationId,
    viewer: Viewer,
    counselor_id: Option<UserId>,
    from: NaiveDateTime,
    until: NaiveDateTime,
    page: &KeyedPageRequest<NaiveDateTime>,
) -> QueryResult<Vec<(AppointmentRow, String)>> {
    let mut select = appointments::table
        .inner_join(clients::table)
        .filter(appointments::organisation_id.eq(organisation_id))
        .filter(appointments::status.ne(AppointmentStatus::Cancelled))
        .filter(visible_to(viewer).or(appointments::status.eq_any(BOOKED)))
        .filter(appointments::starts_at.ge(from))
        .filter(appointments::starts_at.lt(until))
        .select((AppointmentRow::as_select(), clients::reference))
        .into_boxed();
    if let Some(counselor_id) = counselor_id {
        select = select.filter(appointments::counselor_id.eq(counselor_id));
    }
    if let Some((at, id)) = page.after {
        select = select
            .filter(appointments::starts_at.gt(at).or(appointments::starts_at.eq(at).and(appointments::id.gt(id))));
    }
    select.order((appointments::starts_at, appointments::id)).limit(page.limit + 1).load(conn)
}

/// An interpreter's booked time in `[from, until)`, by start, after the start `after`: start, end
/// and the booking organisation — nothing that names an appointment, not even in a page cursor.
/// No two booked appointments of one interpreter overlap (`first_overlap` under the calendar's
/// lock), so their starts alone tell them apart and page them.
pub fn bookings(
    conn: &mut DbConnection,
    interpreter_id: InterpreterId,
    from: NaiveDateTime,
    until: NaiveDateTime,
    after: Option<NaiveDateTime>,
    limit: i64,
) -> QueryResult<Vec<(NaiveDateTime, NaiveDateTime, OrganisationId)>> {
    let mut select = appointments::table
        .filter(appointments::interpreter_id.eq(interpreter_id))
        .filter(appointments::status.eq_any(BOOKED))
        .filter(appointments::starts_at.ge(from))
        .filter(appointments::starts_at.lt(until))
        .select((appointments::starts_at, appointments::ends_at, appointments::organisation_id))
        .into_boxed();
    if let Some(at) = after {
        select = select.filter(appointments::starts_at.gt(at));
    }
    select.order((appointments::starts_at, appointments::id)).limit(limit + 1).load(conn)
}

/// Every appointment the client takes part in that the viewer may see, by start time (an
/// export).
pub fn of_client(
    conn: &mut DbConnection,
    client_id: ClientId,
    viewer: Viewer,
) -> QueryResult<Vec<(AppointmentRow, String)>> {
    let taking_part = appointment_participants::table
        .filter(appointment_participants::client_id.eq(client_id))
        .select(appointment_participants::appointment_id);
    appointments::table
        .inner_join(clients::table)
        .filter(appointments::client_id.eq(client_id).or(appointments::id.eq_any(taking_part)))
        .filter(visible_to(viewer))
        .select((AppointmentRow::as_select(), clients::reference))
        .order((appointments::starts_at, appointments::id))
        .load(conn)
}
