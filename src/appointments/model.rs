//! Appointments: wire types, rows, parsing.

use chrono::{DateTime, FixedOffset, NaiveDate, NaiveDateTime, Utc};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::db::schema::appointments;
use crate::db::{AppointmentId, ClientId, Id, InterpreterId, OrganisationId, SessionId, UserId};
use crate::domain::client::LanguageCode;
use crate::domain::{SessionKind, bounded_text, closed_list, distinct, optional_text};
use crate::http::FieldErrors;
use crate::http::patch::Patch;
use crate::sessions::model::SessionMode;

closed_list! {
    /// Where an appointment stands: planned (or confirmed with the client), then held, cancelled
    /// or missed by the client.
    AppointmentStatus { Planned, Confirmed, Held, Cancelled, NoShow }
}

impl AppointmentStatus {
    /// Whether the appointment still takes the counselor's (and the interpreter's) time.
    pub fn is_booked(self) -> bool {
        matches!(self, Self::Planned | Self::Confirmed)
    }
}

/// The statuses that take a counselor's and an interpreter's time: no two of them overlap.
pub const BOOKED: [AppointmentStatus; 2] = [AppointmentStatus::Planned, AppointmentStatus::Confirmed];

/// The longest appointment; overlap checks look this far back for one still running.
pub const MAX_MINUTES: i64 = 600;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = appointments)]
pub struct AppointmentRow {
    pub id: AppointmentId,
    pub organisation_id: OrganisationId,
    pub counselor_id: UserId,
    pub client_id: ClientId,
    pub kind: SessionKind,
    pub mode: SessionMode,
    pub city: String,
    pub location: Option<String>,
    pub starts_at: NaiveDateTime,
    pub ends_at: NaiveDateTime,
    pub duration_minutes: i32,
    pub language: Option<String>,
    pub interpreter_needed: bool,
    pub interpreter_id: Option<InterpreterId>,
    pub status: AppointmentStatus,
    pub cancel_reason: Option<String>,
    pub session_id: Option<SessionId>,
    pub created_by: UserId,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub version: i32,
}

impl AppointmentRow {
    pub fn is_psychological(&self) -> bool {
        self.kind == SessionKind::Psychological
    }

    pub fn view(self, client_reference: String, participants: Vec<AppointmentParticipant>) -> Appointment {
        Appointment {
            id: self.id,
            organisation_id: self.organisation_id,
            counselor_id: self.counselor_id,
            client_id: self.client_id,
            client_reference,
            participants: participants.into_iter().filter(|p| p.client_id != self.client_id).collect(),
            kind: self.kind,
            mode: self.mode,
            city: self.city,
            location: self.location,
            starts_at: self.starts_at.and_utc(),
            ends_at: self.ends_at.and_utc(),
            local_starts_at: local(self.starts_at),
            local_ends_at: local(self.ends_at),
            duration_minutes: self.duration_minutes,
            language: self.language,
            interpreter_needed: self.interpreter_needed,
            interpreter_id: self.interpreter_id,
            status: self.status,
            cancel_reason: self.cancel_reason,
            session_id: self.session_id,
            created_by: self.created_by,
            created_at: self.created_at.and_utc(),
            updated_at: self.updated_at.and_utc(),
            version: self.version,
        }
    }

    /// The fields as they would be entered, for a correction to apply to.
    pub fn input(&self, participants: &[AppointmentParticipant]) -> AppointmentInput {
        AppointmentInput {
            counselor_id: Some(self.counselor_id),
            kind: self.kind,
            mode: self.mode,
            city: self.city.clone(),
            location: self.location.clone(),
            starts_at: self.starts_at.and_utc(),
            duration_minutes: self.duration_minutes,
            language: self.language.clone(),
            interpreter_needed: self.interpreter_needed,
            interpreter_id: self.interpreter_id,
            participants: participants.iter().map(|p| p.client_id).filter(|id| *id != self.client_id).collect(),
        }
    }
}

/// A UTC instant as the wall clock in Poland shows it (all the consortium's cities are there).
pub fn local(at: NaiveDateTime) -> DateTime<FixedOffset> {
    at.and_utc().with_timezone(&chrono_tz::Europe::Warsaw).fixed_offset()
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct AppointmentParticipant {
    pub client_id: ClientId,
    #[schema(example = "PFM-2026-0042")]
    pub reference: String,
}

/// A planned meeting of a counselor with a client or a group.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Appointment {
    pub id: AppointmentId,
    pub organisation_id: OrganisationId,
    /// Whose calendar it is on.
    pub counselor_id: UserId,
    pub client_id: ClientId,
    #[schema(example = "PFM-2026-0042")]
    pub client_reference: String,
    /// Further clients of a group appointment.
    pub participants: Vec<AppointmentParticipant>,
    pub kind: SessionKind,
    pub mode: SessionMode,
    #[schema(example = "Lublin")]
    pub city: String,
    /// Office, reception centre, …
    pub location: Option<String>,
    /// Stored and compared in UTC.
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    /// The same instants on the wall clock of the city (Europe/Warsaw), with their offset.
    #[schema(value_type = String, format = DateTime, example = "2026-10-25T02:30:00+01:00")]
    pub local_starts_at: DateTime<FixedOffset>,
    #[schema(value_type = String, format = DateTime, example = "2026-10-25T03:30:00+01:00")]
    pub local_ends_at: DateTime<FixedOffset>,
    pub duration_minutes: i32,
    /// ISO 639 code of the language the meeting is held in.
    #[schema(example = "ru")]
    pub language: Option<String>,
    pub interpreter_needed: bool,
    /// The interpreter booked, if any.
    pub interpreter_id: Option<InterpreterId>,
    pub status: AppointmentStatus,
    pub cancel_reason: Option<String>,
    /// The session logged when the appointment was held.
    pub session_id: Option<SessionId>,
    pub created_by: UserId,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub version: i32,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AppointmentInput {
    /// Whose calendar it goes on; the caller's when absent.
    #[serde(default)]
    pub counselor_id: Option<UserId>,
    /// One of the counselor's specialties, or `other` (holding it logs a session of this kind).
    pub kind: SessionKind,
    pub mode: SessionMode,
    #[schema(example = "Lublin", min_length = 1, max_length = 100)]
    pub city: String,
    #[serde(default)]
    #[schema(max_length = 200)]
    pub location: Option<String>,
    /// RFC 3339 with any offset; stored in UTC.
    #[schema(example = "2026-10-25T02:30:00+02:00")]
    pub starts_at: DateTime<Utc>,
    /// 5–600 minutes.
    #[schema(minimum = 5, maximum = 600, example = 60)]
    pub duration_minutes: i32,
    #[serde(default)]
    #[schema(example = "ru")]
    pub language: Option<String>,
    #[serde(default)]
    pub interpreter_needed: bool,
    /// An interpreter working for the organisation (requires `interpreter_needed`).
    #[serde(default)]
    pub interpreter_id: Option<InterpreterId>,
    /// Further clients of a group appointment.
    #[serde(default)]
    pub participants: Vec<ClientId>,
}

/// A change of an appointment that is still planned or confirmed (JSON Merge Patch).
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AppointmentPatch {
    #[serde(default)]
    #[schema(value_type = Option<Id>)]
    pub counselor_id: Patch<UserId>,
    #[serde(default)]
    #[schema(value_type = Option<SessionKind>)]
    pub kind: Patch<SessionKind>,
    #[serde(default)]
    #[schema(value_type = Option<SessionMode>)]
    pub mode: Patch<SessionMode>,
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub city: Patch<String>,
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub location: Patch<String>,
    #[serde(default)]
    #[schema(value_type = Option<DateTime<Utc>>)]
    pub starts_at: Patch<DateTime<Utc>>,
    #[serde(default)]
    #[schema(value_type = Option<i32>)]
    pub duration_minutes: Patch<i32>,
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub language: Patch<String>,
    #[serde(default)]
    #[schema(value_type = Option<bool>)]
    pub interpreter_needed: Patch<bool>,
    #[serde(default)]
    #[schema(value_type = Option<Id>)]
    pub interpreter_id: Patch<InterpreterId>,
    #[serde(default)]
    #[schema(value_type = Option<Vec<Id>>)]
    pub participants: Patch<Vec<ClientId>>,
}

impl AppointmentPatch {
    pub fn apply(self, current: AppointmentInput, errors: &mut FieldErrors) -> AppointmentInput {
        let counselor = current.counselor_id.unwrap_or_default();
        AppointmentInput {
            counselor_id: Some(self.counselor_id.apply(errors, "counselor_id", counselor)),
            kind: self.kind.apply(errors, "kind", current.kind),
            mode: self.mode.apply(errors, "mode", current.mode),
            city: self.city.apply(errors, "city", current.city),
            location: self.location.apply_optional(current.location),
            starts_at: self.starts_at.apply(errors, "starts_at", current.starts_at),
            duration_minutes: self.duration_minutes.apply(errors, "duration_minutes", current.duration_minutes),
            language: self.language.apply_optional(current.language),
            interpreter_needed: self.interpreter_needed.apply(errors, "interpreter_needed", current.interpreter_needed),
            interpreter_id: self.interpreter_id.apply_optional(current.interpreter_id),
            participants: self.participants.apply_list(current.participants),
        }
    }
}

/// Checked appointment fields.
#[derive(Debug, Clone)]
pub struct AppointmentFields {
    pub counselor_id: UserId,
    pub kind: SessionKind,
    pub mode: SessionMode,
    pub city: String,
    pub location: Option<String>,
    pub starts_at: NaiveDateTime,
    pub ends_at: NaiveDateTime,
    pub duration_minutes: i32,
    pub language: Option<String>,
    pub interpreter_needed: bool,
    pub interpreter_id: Option<InterpreterId>,
    pub participants: Vec<ClientId>,
}

/// How far back an appointment may be entered (one held a moment ago and entered late), and how
/// far ahead it may be planned.
const EARLIEST_DAYS_BACK: i64 = 31;
const LATEST_DAYS_AHEAD: i64 = 731;

impl AppointmentInput {
    /// Checks every field but those that need the database (the counselor's specialties, the
    /// interpreter, the participants), which the handler checks next.
    pub fn parse(
        &self,
        client_id: ClientId,
        caller: UserId,
        now: DateTime<Utc>,
    ) -> Result<AppointmentFields, FieldErrors> {
        let mut errors = FieldErrors::default();
        if !(5..=MAX_MINUTES as i32).contains(&self.duration_minutes) {
            errors.add("duration_minutes", "must be between 5 and 600");
        }
        if self.starts_at < now - chrono::Duration::days(EARLIEST_DAYS_BACK)
            || self.starts_at > now + chrono::Duration::days(LATEST_DAYS_AHEAD)
        {
            errors.add("starts_at", "must be within the past month and the next two years");
        }
        let city = errors.check("city", bounded_text(&self.city, 1, 100));
        let location = errors.check("location", optional_text(self.location.as_deref(), 200));
        let language = errors.check(
            "language",
            optional_text(self.language.as_deref(), 3)
                .and_then(|l| l.map(|l| LanguageCode::parse(&l).map(|c| c.as_str().to_owned())).transpose()),
        );
        if self.interpreter_id.is_some() && !self.interpreter_needed {
            errors.add("interpreter_id", "is booked only where interpreter_needed is true");
        }
        if self.participants.contains(&client_id) {
            errors.add("participants", "must not repeat the client the appointment is for");
        }
        let participants = errors.check("participants", distinct(&self.participants, 50));
        // Planning knows no fractions of a second; both databases then return what was written.
        let starts_at = chrono::SubsecRound::trunc_subsecs(self.starts_at, 0).naive_utc();
        // Beyond the calendar (refused above) the end is no instant at all.
        let ends_at = starts_at.checked_add_signed(chrono::Duration::minutes(i64::from(self.duration_minutes)));
        let fields = (|| {
            Some(AppointmentFields {
                counselor_id: self.counselor_id.unwrap_or(caller),
                kind: self.kind,
                mode: self.mode,
                city: city?,
                location: location?,
                starts_at,
                ends_at: ends_at?,
                duration_minutes: self.duration_minutes,
                language: language?,
                interpreter_needed: self.interpreter_needed,
                interpreter_id: self.interpreter_id,
                participants: participants?,
            })
        })();
        if !errors.is_empty() {
            return Err(errors);
        }
        fields.ok_or(errors)
    }
}

/// Why an appointment is cancelled.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CancelRequest {
    #[schema(example = "The client moved to another reception centre", min_length = 1, max_length = 500)]
    pub reason: String,
}

/// What was said and agreed when an appointment was held: they go into the session it logs.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct HoldRequest {
    /// The actual length, when it differs from the plan.
    #[serde(default)]
    #[schema(minimum = 1, maximum = 600)]
    pub duration_minutes: Option<i32>,
    #[serde(default)]
    pub topics: Vec<String>,
    #[serde(default)]
    #[schema(max_length = 2000)]
    pub summary: Option<String>,
    /// Confidential; encrypted at rest.
    #[serde(default)]
    #[schema(max_length = 20000)]
    pub notes: Option<String>,
    #[serde(default)]
    pub follow_up_on: Option<NaiveDate>,
    /// Participants of a group appointment who did not come.
    #[serde(default)]
    pub absent: Vec<ClientId>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct AppointmentFilter {
    pub counselor_id: Option<UserId>,
    /// Appointments the client takes part in (the one it is for, or a participant).
    pub client_id: Option<ClientId>,
    pub status: Option<AppointmentStatus>,
    pub city: Option<String>,
    /// Appointments starting on or after this day (Europe/Warsaw).
    pub from: Option<NaiveDate>,
    /// Appointments starting on or before this day (Europe/Warsaw).
    pub to: Option<NaiveDate>,
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<i64>,
    pub cursor: Option<String>,
}
