//! The agenda as an iCalendar feed (RFC 5545). A feed leaves the system — calendar apps sync it
//! to their own servers — so it carries times, places (the city) and clients' references only:
//! never a name, never free text a counselor typed (a task's title, a location), and of the
//! psychological tier nothing but busy time.

use icalendar::{Calendar, Class, Component, Event, EventLike, EventStatus};

use super::Placed;
use super::model::EntryKind;
use crate::appointments::model::AppointmentStatus;
use crate::domain::SessionKind;

fn with_reference(what: &str, reference: Option<&str>) -> String {
    match reference {
        Some(reference) => format!("{what} · {reference}"),
        None => what.to_owned(),
    }
}

/// Renders the entries as one calendar.
pub fn render(entries: &[Placed]) -> String {
    let mut calendar = Calendar::new();
    calendar.name("casebridge agenda");
    for Placed { id, entry, .. } in entries {
        let reference = entry.client_reference.as_deref();
        let mut event = Event::new();
        event.uid(&format!("{}-{id}@casebridge", entry.kind.code())).class(Class::Confidential);
        match entry.kind {
            EntryKind::Appointment | EntryKind::Busy => {
                let summary = match entry.session_kind {
                    Some(SessionKind::Psychological) | None => "Busy".to_owned(),
                    Some(kind) => with_reference(&format!("Appointment: {}", kind.code().replace('_', " ")), reference),
                };
                event.summary(&summary).starts(entry.starts_at);
                if let Some(ends_at) = entry.ends_at {
                    event.ends(ends_at);
                }
                if entry.session_kind != Some(SessionKind::Psychological)
                    && let Some(city) = &entry.city
                {
                    event.location(city);
                }
                event.status(match entry.appointment_status {
                    Some(AppointmentStatus::Planned) => EventStatus::Tentative,
                    _ => EventStatus::Confirmed,
                });
            }
            EntryKind::LegalDeadline => {
                event.summary(&with_reference(&format!("Deadline: {}", entry.title), reference)).all_day(entry.day);
            }
            EntryKind::FollowUp => {
                event.summary(&with_reference("Follow-up", reference)).all_day(entry.day);
            }
            EntryKind::Task => {
                event.summary(&with_reference("Task", reference)).all_day(entry.day);
            }
        }
        calendar.push(event.done());
    }
    calendar.done().to_string()
}
