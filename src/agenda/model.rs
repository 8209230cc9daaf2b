//! The agenda's wire types.

use chrono::{DateTime, FixedOffset, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::appointments::model::AppointmentStatus;
use crate::db::{ClientId, Id, UserId};
use crate::domain::{SessionKind, closed_list};

closed_list! {
    /// What an agenda entry is: an appointment, time taken by an appointment the caller may
    /// not see (`busy`), a legal deadline, a session's follow-up, or a task.
    EntryKind { Appointment, Busy, LegalDeadline, FollowUp, Task }
}

/// One entry of an agenda, in time order. Dated entries (deadlines, follow-ups, tasks) are all
/// day and sort at the start of their day in Poland.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct AgendaEntry {
    pub kind: EntryKind,
    /// The appointment's, deadline's, task's id, or for a follow-up the session's; null for busy
    /// time.
    pub id: Option<Id>,
    pub starts_at: DateTime<Utc>,
    /// The end of an appointment or of busy time.
    pub ends_at: Option<DateTime<Utc>>,
    /// `starts_at` on the wall clock in Poland.
    #[schema(value_type = String, format = DateTime, example = "2026-10-26T09:00:00+01:00")]
    pub local_starts_at: DateTime<FixedOffset>,
    /// The day in Poland.
    pub day: NaiveDate,
    pub all_day: bool,
    #[schema(example = "Appointment: legal")]
    pub title: String,
    /// Whose entry it is: the appointment's counselor, the client's assigned counselor, the
    /// session's author, the task's assignee (null: the organisation's inbox).
    pub counselor_id: Option<UserId>,
    pub client_id: Option<ClientId>,
    #[schema(example = "PFM-2026-0042")]
    pub client_reference: Option<String>,
    /// The kind of an appointment.
    pub session_kind: Option<SessionKind>,
    pub appointment_status: Option<AppointmentStatus>,
    pub city: Option<String>,
    /// A deadline, follow-up or task past its day.
    pub overdue: bool,
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct AgendaQuery {
    /// First day (Europe/Warsaw), inclusive; today when absent.
    pub from: Option<NaiveDate>,
    /// Last day (Europe/Warsaw), inclusive; 13 days after `from` when absent, at most 366.
    pub to: Option<NaiveDate>,
    /// Whose agenda: the caller's when absent for a counselor; for a coordinator, absent means
    /// the whole organisation's.
    pub counselor_id: Option<UserId>,
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<i64>,
    pub cursor: Option<String>,
}

/// A calendar feed's address, shown once.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct CalendarFeed {
    /// Secret: whoever holds it reads the feed. Issuing a new one ends the previous one.
    pub token: String,
    /// The feed's path, with the token, for a calendar app to subscribe to.
    #[schema(example = "/api/v1/agenda.ics?token=…")]
    pub path: String,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct FeedQuery {
    /// The feed token from `POST /agenda/feed`.
    pub token: String,
}
