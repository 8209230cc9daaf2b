//! A counselor's agenda: appointments, legal deadlines, follow-ups and tasks in one list ordered
//! by time, as JSON and as an iCalendar feed for calendar apps.

pub mod feed;
pub mod ics;
pub mod model;
pub mod routes;

use chrono::{NaiveDate, NaiveDateTime};

use self::model::{AgendaEntry, EntryKind};
use crate::appointments::{self, model::local};
use crate::db::{DbConnection, Id, OrganisationId, UserId};
use crate::domain;
use crate::http::ApiError;
use crate::http::pagination::KeyedPageRequest;
use crate::procedure::{self, model::AgendaItem};
use crate::sessions::{self, queries::Viewer};
use crate::tasks;

/// Whose agenda: an organisation's, or one counselor's in it.
#[derive(Debug, Clone, Copy)]
pub struct Whose {
    pub organisation_id: OrganisationId,
    pub counselor_id: Option<UserId>,
}

/// The day in Poland an instant falls on.
fn day_of(at: NaiveDateTime) -> NaiveDate {
    local(at).date_naive()
}

/// The cursor of dated sources for an agenda cursor: their entries sort at the start of their
/// day, so one after `(at, id)` is on a later day, or on the day `at` begins with an id after
/// `id`.
fn day_cursor(page: &KeyedPageRequest<NaiveDateTime>) -> KeyedPageRequest<NaiveDate> {
    let after = page.after.map(|(at, id)| {
        let day = day_of(at);
        if domain::start_of_day_utc(day) == at { (day, id) } else { (day, Id::MAX) }
    });
    KeyedPageRequest { limit: page.limit, after }
}

/// An agenda entry with its place in the order.
pub struct Placed {
    pub at: NaiveDateTime,
    pub id: Id,
    pub entry: AgendaEntry,
}

fn dated(kind: EntryKind, id: Id, day: NaiveDate, today: NaiveDate, title: String) -> Placed {
    let at = domain::start_of_day_utc(day);
    Placed {
        at,
        id,
        entry: AgendaEntry {
            kind,
            id: Some(id),
            starts_at: at.and_utc(),
            ends_at: None,
            local_starts_at: local(at),
            day,
            all_day: true,
            title,
            counselor_id: None,
            client_id: None,
            client_reference: None,
            session_kind: None,
            appointment_status: None,
            city: None,
            overdue: day < today,
        },
    }
}

fn of_item(item: AgendaItem, kind: EntryKind, today: NaiveDate) -> Placed {
    let mut placed = dated(kind, item.id, item.due_on, today, item.title);
    placed.entry.counselor_id = item.assigned_counselor_id;
    placed.entry.client_id = Some(item.client_id);
    placed.entry.client_reference = Some(item.client_reference);
    placed
}

/// Up to `page.limit + 1` entries of each source from the cursor on, in time order (the caller
/// cuts the page): every entry of the true page is among them.
pub fn entries(
    conn: &mut DbConnection,
    viewer: Viewer,
    whose: Whose,
    (from, to): (NaiveDate, NaiveDate),
    page: &KeyedPageRequest<NaiveDateTime>,
) -> Result<Vec<Placed>, ApiError> {
    let today = domain::today();
    let mut placed = Vec::new();
    let appointments = appointments::queries::on_agenda(
        conn,
        whose.organisation_id,
        viewer,
        whose.counselor_id,
        domain::start_of_day_utc(from),
        domain::start_of_day_utc(to + chrono::Days::new(1)),
        page,
    )?;
    for (row, reference) in appointments {
        let visible = viewer.sees(row.is_psychological(), row.counselor_id);
        let mut entry = AgendaEntry {
            kind: EntryKind::Busy,
            id: None,
            starts_at: row.starts_at.and_utc(),
            ends_at: Some(row.ends_at.and_utc()),
            local_starts_at: local(row.starts_at),
            day: day_of(row.starts_at),
            all_day: false,
            title: "Busy".to_owned(),
            counselor_id: Some(row.counselor_id),
            client_id: None,
            client_reference: None,
            session_kind: None,
            appointment_status: None,
            city: None,
            overdue: false,
        };
        if visible {
            entry = AgendaEntry {
                kind: EntryKind::Appointment,
                id: Some(row.id.any()),
                title: format!("Appointment: {}", row.kind.code().replace('_', " ")),
                client_id: Some(row.client_id),
                client_reference: Some(reference),
                session_kind: Some(row.kind),
                appointment_status: Some(row.status),
                city: Some(row.city),
                ..entry
            };
        }
        placed.push(Placed { at: row.starts_at, id: row.id.any(), entry });
    }
    let days = day_cursor(page);
    let query = procedure::queries::AgendaQuery {
        counselor_id: whose.counselor_id,
        due_from: Some(from),
        due_by: Some(to),
        overdue: None,
        today,
    };
    for item in procedure::queries::agenda(conn, whose.organisation_id, &query, &days)? {
        placed.push(of_item(item, EntryKind::LegalDeadline, today));
    }
    for item in sessions::queries::follow_ups(conn, whose.organisation_id, viewer, &query, &days)? {
        placed.push(of_item(item, EntryKind::FollowUp, today));
    }
    for (task, reference) in
        tasks::queries::on_agenda(conn, whose.organisation_id, whose.counselor_id, from, to, &days)?
    {
        let mut entry = dated(EntryKind::Task, task.id.any(), task.due_on, today, task.title);
        entry.entry.counselor_id = task.assignee_id;
        entry.entry.client_id = task.client_id;
        entry.entry.client_reference = reference;
        placed.push(entry);
    }
    placed.sort_by_key(|p| (p.at, p.id));
    Ok(placed)
}
