//! Counseling sessions: wire types, rows, parsing.

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::db::schema::sessions;
use crate::db::{ClientId, OrganisationId, SessionId, UserId};
use crate::domain::client::LanguageCode;
use crate::domain::{SessionKind, bounded_text, closed_list, distinct, optional_text};
use crate::http::FieldErrors;
use crate::http::patch::Patch;
use crate::reports::suppression::Cell;

closed_list! { SessionMode { InPerson, Phone, Video } }

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = sessions)]
pub struct SessionRow {
    pub id: SessionId,
    pub organisation_id: OrganisationId,
    pub client_id: ClientId,
    pub counselor_id: UserId,
    pub kind: SessionKind,
    pub mode: SessionMode,
    pub city: Option<String>,
    pub started_at: NaiveDateTime,
    pub duration_minutes: i32,
    pub language: Option<String>,
    pub interpreter_used: bool,
    pub notes_ciphertext: Option<Vec<u8>>,
    pub follow_up_on: Option<NaiveDate>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub version: i32,
    pub details_ciphertext: Option<Vec<u8>>,
}

impl SessionRow {
    pub fn kind(&self) -> QueryResult<SessionKind> {
        Ok(self.kind)
    }

    pub fn is_psychological(&self) -> bool {
        self.kind == SessionKind::Psychological
    }

    pub fn view(self, participants: Vec<Participant>, notes: Notes, details: Details) -> QueryResult<Session> {
        let (details, details_unreadable) = match details {
            Details::Shown(details) => (details, false),
            Details::Unreadable => (SessionDetails::default(), true),
        };
        Ok(Session {
            kind: self.kind()?,
            mode: self.mode,
            topics: details.topics,
            summary: details.summary,
            details_unreadable,
            has_notes: self.notes_ciphertext.is_some(),
            notes_unreadable: matches!(notes, Notes::Unreadable),
            notes: match notes {
                Notes::Shown(text) => text,
                Notes::Withheld | Notes::Unreadable => None,
            },
            id: self.id,
            organisation_id: self.organisation_id,
            client_id: self.client_id,
            counselor_id: self.counselor_id,
            city: self.city,
            started_at: self.started_at.and_utc(),
            duration_minutes: self.duration_minutes,
            language: self.language,
            interpreter_used: self.interpreter_used,
            follow_up_on: self.follow_up_on,
            participants,
            created_at: self.created_at.and_utc(),
            updated_at: self.updated_at.and_utc(),
            version: self.version,
        })
    }

    pub fn input(
        &self,
        participants: &[Participant],
        details: SessionDetails,
        notes: Option<String>,
    ) -> QueryResult<SessionInput> {
        Ok(SessionInput {
            kind: self.kind()?,
            mode: self.mode,
            city: self.city.clone(),
            started_at: self.started_at.and_utc(),
            duration_minutes: self.duration_minutes,
            language: self.language.clone(),
            interpreter_used: self.interpreter_used,
            topics: details.topics,
            summary: details.summary,
            notes,
            follow_up_on: self.follow_up_on,
            participants: participants
                .iter()
                .filter(|p| p.client_id != self.client_id)
                .map(|p| ParticipantInput { client_id: p.client_id, attended: p.attended })
                .collect(),
        })
    }
}

/// A session's summary and topics, sealed together in one ciphertext: shareable inside the
/// organisation, but as secret as the notes outside it (a topic such as "trauma" says much).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionDetails {
    pub summary: Option<String>,
    pub topics: Vec<String>,
}

impl SessionDetails {
    pub fn is_empty(&self) -> bool {
        self.summary.is_none() && self.topics.is_empty()
    }
}

/// What a response carries of the summary and topics.
pub enum Details {
    /// Decrypted (empty when the session has none).
    Shown(SessionDetails),
    /// The ciphertext did not authenticate (altered, moved, or its key destroyed).
    Unreadable,
}

/// What a response carries of the confidential notes.
pub enum Notes {
    /// Decrypted, for a single session the caller may see (`None`: there are none).
    Shown(Option<String>),
    /// Lists and aggregates never carry notes.
    Withheld,
    /// The ciphertext did not authenticate (altered, moved, or its key destroyed).
    Unreadable,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Participant {
    pub client_id: ClientId,
    #[schema(example = "PFM-2026-0042")]
    pub reference: String,
    pub attended: bool,
}

/// A counseling session (SPEC §2.5).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Session {
    pub id: SessionId,
    pub organisation_id: OrganisationId,
    /// The client the session was logged for.
    pub client_id: ClientId,
    /// The author.
    pub counselor_id: UserId,
    pub kind: SessionKind,
    pub mode: SessionMode,
    pub city: Option<String>,
    pub started_at: DateTime<Utc>,
    pub duration_minutes: i32,
    /// ISO 639 code of the language the session was held in.
    pub language: Option<String>,
    pub interpreter_used: bool,
    /// Encrypted at rest, like the notes.
    pub topics: Vec<String>,
    /// Short, shareable inside the organisation; encrypted at rest, like the notes.
    pub summary: Option<String>,
    /// True when the stored summary and topics could not be decrypted (altered or moved
    /// ciphertext); they are then empty here, never garbage.
    pub details_unreadable: bool,
    /// Confidential; only in answers about one session, never in lists.
    pub notes: Option<String>,
    pub has_notes: bool,
    /// True when stored notes could not be decrypted (altered or moved ciphertext); reported,
    /// never returned as garbage.
    pub notes_unreadable: bool,
    pub follow_up_on: Option<NaiveDate>,
    /// Everyone the session was with (for a group session, several clients).
    pub participants: Vec<Participant>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub version: i32,
}

fn attended_by_default() -> bool {
    true
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ParticipantInput {
    pub client_id: ClientId,
    #[serde(default = "attended_by_default")]
    pub attended: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SessionInput {
    /// Must be one of the author's specialties, or `other`.
    pub kind: SessionKind,
    pub mode: SessionMode,
    #[serde(default)]
    #[schema(example = "Lublin", max_length = 100)]
    pub city: Option<String>,
    pub started_at: DateTime<Utc>,
    /// 1–600 minutes.
    #[schema(minimum = 1, maximum = 600, example = 50)]
    pub duration_minutes: i32,
    #[serde(default)]
    #[schema(example = "ru")]
    pub language: Option<String>,
    #[serde(default)]
    pub interpreter_used: bool,
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
    /// Further clients of a group session (the client it is logged for always takes part).
    #[serde(default)]
    pub participants: Vec<ParticipantInput>,
}

/// A correction (JSON Merge Patch).
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SessionPatch {
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
    #[schema(value_type = Option<DateTime<Utc>>)]
    pub started_at: Patch<DateTime<Utc>>,
    #[serde(default)]
    #[schema(value_type = Option<i32>)]
    pub duration_minutes: Patch<i32>,
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub language: Patch<String>,
    #[serde(default)]
    #[schema(value_type = Option<bool>)]
    pub interpreter_used: Patch<bool>,
    #[serde(default)]
    #[schema(value_type = Option<Vec<String>>)]
    pub topics: Patch<Vec<String>>,
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub summary: Patch<String>,
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub notes: Patch<String>,
    #[serde(default)]
    #[schema(value_type = Option<NaiveDate>)]
    pub follow_up_on: Patch<NaiveDate>,
    #[serde(default)]
    #[schema(value_type = Option<Vec<ParticipantInput>>)]
    pub participants: Patch<Vec<ParticipantInput>>,
}

impl SessionPatch {
    pub fn touches_notes(&self) -> bool {
        !self.notes.is_absent()
    }

    pub fn touches_summary(&self) -> bool {
        !self.summary.is_absent()
    }

    pub fn touches_topics(&self) -> bool {
        !self.topics.is_absent()
    }

    pub fn apply(self, current: SessionInput, errors: &mut FieldErrors) -> SessionInput {
        SessionInput {
            kind: self.kind.apply(errors, "kind", current.kind),
            mode: self.mode.apply(errors, "mode", current.mode),
            city: self.city.apply_optional(current.city),
            started_at: self.started_at.apply(errors, "started_at", current.started_at),
            duration_minutes: self.duration_minutes.apply(errors, "duration_minutes", current.duration_minutes),
            language: self.language.apply_optional(current.language),
            interpreter_used: self.interpreter_used.apply(errors, "interpreter_used", current.interpreter_used),
            topics: self.topics.apply_list(current.topics),
            summary: self.summary.apply_optional(current.summary),
            notes: self.notes.apply_optional(current.notes),
            follow_up_on: self.follow_up_on.apply_optional(current.follow_up_on),
            participants: self.participants.apply_list(current.participants),
        }
    }
}

/// Checked session fields.
#[derive(Debug, Clone)]
pub struct SessionFields {
    pub kind: SessionKind,
    pub mode: SessionMode,
    pub city: Option<String>,
    pub started_at: NaiveDateTime,
    pub duration_minutes: i32,
    pub language: Option<String>,
    pub interpreter_used: bool,
    pub topics: Vec<String>,
    pub summary: Option<String>,
    pub notes: Option<String>,
    pub follow_up_on: Option<NaiveDate>,
    pub participants: Vec<ParticipantInput>,
}

impl SessionFields {
    pub fn details(&self) -> SessionDetails {
        SessionDetails { summary: self.summary.clone(), topics: self.topics.clone() }
    }
}

/// How far in the future a session may start: clocks of phones in reception centres drift.
const CLOCK_SKEW_MINUTES: i64 = 5;

impl SessionInput {
    /// Checks every field; `specialties` are the author's.
    pub fn parse(
        &self,
        client_id: ClientId,
        specialties: &[SessionKind],
        now: DateTime<Utc>,
    ) -> Result<SessionFields, FieldErrors> {
        let mut errors = FieldErrors::default();
        if self.kind != SessionKind::Other && !specialties.contains(&self.kind) {
            errors.add("kind", "is not among your specialties (log it as `other` or ask a colleague)");
        }
        if !(1..=600).contains(&self.duration_minutes) {
            errors.add("duration_minutes", "must be between 1 and 600");
        }
        let earliest = DateTime::parse_from_rfc3339("2000-01-01T00:00:00Z").map(|d| d.to_utc()).unwrap_or(now);
        if self.started_at > now + chrono::Duration::minutes(CLOCK_SKEW_MINUTES) || self.started_at < earliest {
            errors.add("started_at", "must not be in the future");
        }
        let city = errors.check("city", optional_text(self.city.as_deref(), 100));
        let language = errors.check(
            "language",
            optional_text(self.language.as_deref(), 3)
                .and_then(|l| l.map(|l| LanguageCode::parse(&l).map(|c| c.as_str().to_owned())).transpose()),
        );
        let topics = errors.check(
            "topics",
            self.topics
                .iter()
                .map(|topic| bounded_text(topic, 1, 50))
                .collect::<Result<Vec<_>, _>>()
                .and_then(|topics| distinct(&topics, 20)),
        );
        let summary = errors.check("summary", optional_text(self.summary.as_deref(), 2000));
        let notes = errors.check("notes", optional_text(self.notes.as_deref(), 20_000));
        if let Some(follow_up) = self.follow_up_on
            && (follow_up < self.started_at.date_naive()
                || follow_up > self.started_at.date_naive() + chrono::Days::new(730))
        {
            errors.add("follow_up_on", "must be on or after the session, within two years");
        }
        let ids: Vec<ClientId> = self.participants.iter().map(|p| p.client_id).collect();
        if ids.contains(&client_id) {
            errors.add("participants", "must not repeat the client the session is logged for");
        }
        errors.check("participants", distinct(&ids, 50));
        if !errors.is_empty() {
            return Err(errors);
        }
        let fields = (|| {
            Some(SessionFields {
                kind: self.kind,
                mode: self.mode,
                city: city?,
                started_at: self.started_at.naive_utc(),
                duration_minutes: self.duration_minutes,
                language: language?,
                interpreter_used: self.interpreter_used,
                topics: topics?,
                summary: summary?,
                notes: notes?,
                follow_up_on: self.follow_up_on,
                participants: self.participants.clone(),
            })
        })();
        fields.ok_or(errors)
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct SessionFilter {
    pub counselor_id: Option<UserId>,
    pub kind: Option<SessionKind>,
    pub mode: Option<SessionMode>,
    pub city: Option<String>,
    /// Sessions on or after this day (Europe/Warsaw).
    pub from: Option<NaiveDate>,
    /// Sessions on or before this day (Europe/Warsaw).
    pub to: Option<NaiveDate>,
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<i64>,
    pub cursor: Option<String>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct PeriodQuery {
    /// First day (Europe/Warsaw), inclusive.
    pub from: NaiveDate,
    /// Last day (Europe/Warsaw), inclusive.
    pub to: NaiveDate,
}

/// Sessions of one kind, with their minutes (hidden whenever the count is).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct KindCount {
    pub kind: SessionKind,
    pub sessions: Cell,
    pub minutes: Cell,
}

/// Counts of the organisation's sessions in a period. Outside the psychological tier every
/// figure leaves psychological sessions out; they are counted only in `psychological_by_month`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct SessionCounts {
    pub from: NaiveDate,
    pub to: NaiveDate,
    /// Small cells are suppressed (analysts, who hold no records): counts of 1-4 shown as
    /// "<5", a second kind as "suppressed" where the total would reveal a lone one, minutes
    /// hidden with their counts. Otherwise every figure is exact.
    pub suppressed: bool,
    pub sessions: Cell,
    pub minutes: Cell,
    pub by_kind: Vec<KindCount>,
    /// Psychological sessions of each whole calendar month of the period, each month counted
    /// on its own; outside the tier counts of 0-4 (and their hours) are shown as "<5".
    pub psychological_by_month: Vec<crate::reports::PsychologicalMonth>,
}
