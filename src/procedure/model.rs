//! Procedure events and deadlines: wire types and rows.

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::events::{EventKind, Outcome, ProcedureEvent};
use crate::db::schema::procedure_events;
use crate::db::{ClientId, Id, OrganisationId, ProcedureEventId, SessionId, UserId};
use crate::domain::optional_text;
use crate::http::FieldErrors;
use crate::http::patch::Patch;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = procedure_events)]
pub struct EventRow {
    pub id: ProcedureEventId,
    pub client_id: ClientId,
    pub organisation_id: OrganisationId,
    pub kind: EventKind,
    pub occurred_on: NaiveDate,
    pub delivered_on: Option<NaiveDate>,
    pub authority: Option<String>,
    pub outcome: Option<Outcome>,
    pub notes: Option<String>,
    pub recorded_by: Option<UserId>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub version: i32,
}

impl EventRow {
    pub fn engine_event(&self) -> ProcedureEvent {
        ProcedureEvent {
            id: self.id.to_string(),
            kind: self.kind,
            occurred_on: self.occurred_on,
            delivered_on: self.delivered_on,
            outcome: self.outcome,
        }
    }

    pub fn view(self) -> ProcedureEventView {
        ProcedureEventView {
            kind: self.kind,
            outcome: self.outcome,
            id: self.id,
            client_id: self.client_id,
            occurred_on: self.occurred_on,
            delivered_on: self.delivered_on,
            authority: self.authority,
            notes: self.notes,
            recorded_by: self.recorded_by,
            created_at: self.created_at.and_utc(),
            updated_at: self.updated_at.and_utc(),
            version: self.version,
        }
    }

    pub fn input(&self) -> ProcedureEventInput {
        ProcedureEventInput {
            kind: self.kind,
            occurred_on: self.occurred_on,
            delivered_on: self.delivered_on,
            authority: self.authority.clone(),
            outcome: self.outcome,
            notes: self.notes.clone(),
        }
    }
}

/// Something that happened in the client's procedure.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ProcedureEventView {
    pub id: ProcedureEventId,
    pub client_id: ClientId,
    pub kind: EventKind,
    pub occurred_on: NaiveDate,
    /// When a decision was delivered (deadlines run from delivery).
    pub delivered_on: Option<NaiveDate>,
    #[schema(example = "Szef Urzędu do Spraw Cudzoziemców")]
    pub authority: Option<String>,
    pub outcome: Option<Outcome>,
    pub notes: Option<String>,
    pub recorded_by: Option<UserId>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub version: i32,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProcedureEventInput {
    pub kind: EventKind,
    pub occurred_on: NaiveDate,
    #[serde(default)]
    pub delivered_on: Option<NaiveDate>,
    #[serde(default)]
    #[schema(max_length = 200)]
    pub authority: Option<String>,
    #[serde(default)]
    pub outcome: Option<Outcome>,
    #[serde(default)]
    #[schema(max_length = 2000)]
    pub notes: Option<String>,
}

/// A correction (JSON Merge Patch).
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProcedureEventPatch {
    #[serde(default)]
    #[schema(value_type = Option<EventKind>)]
    pub kind: Patch<EventKind>,
    #[serde(default)]
    #[schema(value_type = Option<NaiveDate>)]
    pub occurred_on: Patch<NaiveDate>,
    #[serde(default)]
    #[schema(value_type = Option<NaiveDate>)]
    pub delivered_on: Patch<NaiveDate>,
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub authority: Patch<String>,
    #[serde(default)]
    #[schema(value_type = Option<Outcome>)]
    pub outcome: Patch<Outcome>,
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub notes: Patch<String>,
}

impl ProcedureEventPatch {
    pub fn apply(self, current: ProcedureEventInput, errors: &mut FieldErrors) -> ProcedureEventInput {
        ProcedureEventInput {
            kind: self.kind.apply(errors, "kind", current.kind),
            occurred_on: self.occurred_on.apply(errors, "occurred_on", current.occurred_on),
            delivered_on: self.delivered_on.apply_optional(current.delivered_on),
            authority: self.authority.apply_optional(current.authority),
            outcome: self.outcome.apply_optional(current.outcome),
            notes: self.notes.apply_optional(current.notes),
        }
    }
}

/// Checked event fields.
#[derive(Debug, Clone)]
pub struct EventFields {
    pub kind: EventKind,
    pub occurred_on: NaiveDate,
    pub delivered_on: Option<NaiveDate>,
    pub authority: Option<String>,
    pub outcome: Option<Outcome>,
    pub notes: Option<String>,
}

impl ProcedureEventInput {
    pub fn parse(&self, today: NaiveDate) -> Result<EventFields, FieldErrors> {
        let mut errors = FieldErrors::default();
        if self.occurred_on > today {
            errors.add("occurred_on", "must not be in the future");
        }
        if let Some(delivered_on) = self.delivered_on {
            if delivered_on > today {
                errors.add("delivered_on", "must not be in the future");
            } else if delivered_on < self.occurred_on {
                errors.add("delivered_on", "must not be before occurred_on");
            }
        }
        let authority = errors.check("authority", optional_text(self.authority.as_deref(), 200));
        let notes = errors.check("notes", optional_text(self.notes.as_deref(), 2000));
        if !errors.is_empty() {
            return Err(errors);
        }
        Ok(EventFields {
            kind: self.kind,
            occurred_on: self.occurred_on,
            delivered_on: self.delivered_on,
            authority: authority.flatten(),
            outcome: self.outcome,
            notes: notes.flatten(),
        })
    }
}

crate::domain::closed_list! {
    /// What puts an item on the agenda.
    AgendaKind { LegalDeadline, FollowUp }
}

/// An open item of the organisation's agenda: a legal deadline or a session's follow-up.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct AgendaItem {
    /// The deadline's id, or for a follow-up the session's.
    pub id: Id,
    pub kind: AgendaKind,
    /// For a follow-up: the session that asked for it.
    pub session_id: Option<SessionId>,
    pub client_id: ClientId,
    #[schema(example = "PFM-2026-0042")]
    pub client_reference: String,
    /// For a legal deadline the client's assigned counselor; for a follow-up the session's author.
    pub assigned_counselor_id: Option<UserId>,
    /// The deadline rule (legal deadlines only).
    #[schema(example = "appeal_to_refugee_board")]
    pub rule: Option<String>,
    #[schema(example = "Appeal to the Refugee Board")]
    pub title: String,
    #[schema(example = "KPA art. 129 §2")]
    pub legal_basis: Option<String>,
    pub due_on: NaiveDate,
    /// Days from today (Europe/Warsaw) to the due date; negative when overdue.
    pub days_left: i64,
    pub overdue: bool,
    /// True for the authority's deadlines, which the counselor only watches.
    pub monitoring: bool,
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct AgendaFilter {
    /// Only clients assigned to this counselor.
    pub counselor_id: Option<UserId>,
    /// Only deadlines due within this many days from today (overdue ones included).
    #[param(minimum = 0, maximum = 3650)]
    pub within_days: Option<i64>,
    /// `true`: only overdue deadlines; `false`: only those not yet overdue.
    pub overdue: Option<bool>,
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<i64>,
    pub cursor: Option<String>,
}
