//! Tasks: wire types, rows, parsing.

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::db::schema::tasks;
use crate::db::{ClientId, Id, OrganisationId, TaskId, UserId};
use crate::domain::bounded_text;
use crate::http::FieldErrors;
use crate::http::patch::Patch;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = tasks)]
pub struct TaskRow {
    pub id: TaskId,
    pub organisation_id: OrganisationId,
    pub assignee_id: Option<UserId>,
    pub client_id: Option<ClientId>,
    pub title: String,
    pub due_on: NaiveDate,
    pub done_at: Option<NaiveDateTime>,
    pub done_by: Option<UserId>,
    pub created_by: UserId,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub version: i32,
}

impl TaskRow {
    pub fn view(self, client_reference: Option<String>, today: NaiveDate) -> Task {
        let done = self.done_at.is_some();
        Task {
            id: self.id,
            organisation_id: self.organisation_id,
            assignee_id: self.assignee_id,
            client_id: self.client_id,
            client_reference,
            title: self.title,
            due_on: self.due_on,
            overdue: !done && self.due_on < today,
            done,
            done_at: self.done_at.map(|at| at.and_utc()),
            done_by: self.done_by,
            created_by: self.created_by,
            created_at: self.created_at.and_utc(),
            updated_at: self.updated_at.and_utc(),
            version: self.version,
        }
    }

    pub fn input(&self) -> TaskInput {
        TaskInput {
            title: self.title.clone(),
            due_on: self.due_on,
            assignee_id: self.assignee_id,
            client_id: self.client_id,
            done: self.done_at.is_some(),
        }
    }
}

/// A to-do of the organisation: assigned to a user, or waiting in the organisation's inbox.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Task {
    pub id: TaskId,
    pub organisation_id: OrganisationId,
    /// Null: in the organisation's inbox, for anyone to take.
    pub assignee_id: Option<UserId>,
    /// The client it concerns, if any.
    pub client_id: Option<ClientId>,
    #[schema(example = "PFM-2026-0042")]
    pub client_reference: Option<String>,
    #[schema(example = "Book an interpreter for the interview")]
    pub title: String,
    pub due_on: NaiveDate,
    /// Not done and due before today (Europe/Warsaw).
    pub overdue: bool,
    pub done: bool,
    pub done_at: Option<DateTime<Utc>>,
    pub done_by: Option<UserId>,
    pub created_by: UserId,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub version: i32,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TaskInput {
    #[schema(min_length = 1, max_length = 200)]
    pub title: String,
    pub due_on: NaiveDate,
    /// A user of the organisation; absent or null puts the task in the organisation's inbox.
    #[serde(default)]
    pub assignee_id: Option<UserId>,
    /// A client of the organisation the task is about.
    #[serde(default)]
    pub client_id: Option<ClientId>,
    #[serde(default)]
    pub done: bool,
}

/// A change (JSON Merge Patch): `assignee_id: null` moves the task to the inbox, `done`
/// ticks it off or reopens it.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TaskPatch {
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub title: Patch<String>,
    #[serde(default)]
    #[schema(value_type = Option<NaiveDate>)]
    pub due_on: Patch<NaiveDate>,
    #[serde(default)]
    #[schema(value_type = Option<Id>)]
    pub assignee_id: Patch<UserId>,
    #[serde(default)]
    #[schema(value_type = Option<Id>)]
    pub client_id: Patch<ClientId>,
    #[serde(default)]
    #[schema(value_type = Option<bool>)]
    pub done: Patch<bool>,
}

impl TaskPatch {
    pub fn apply(self, current: TaskInput, errors: &mut FieldErrors) -> TaskInput {
        TaskInput {
            title: self.title.apply(errors, "title", current.title),
            due_on: self.due_on.apply(errors, "due_on", current.due_on),
            assignee_id: self.assignee_id.apply_optional(current.assignee_id),
            client_id: self.client_id.apply_optional(current.client_id),
            done: self.done.apply(errors, "done", current.done),
        }
    }
}

/// Checked task fields.
#[derive(Debug, Clone)]
pub struct TaskFields {
    pub title: String,
    pub due_on: NaiveDate,
    pub assignee_id: Option<UserId>,
    pub client_id: Option<ClientId>,
    pub done: bool,
}

impl TaskInput {
    pub fn parse(&self, today: NaiveDate) -> Result<TaskFields, FieldErrors> {
        let mut errors = FieldErrors::default();
        let title = errors.check("title", bounded_text(&self.title, 1, 200));
        if (self.due_on - today).num_days().abs() > 3660 {
            errors.add("due_on", "must be within ten years of today");
        }
        match title {
            Some(title) if errors.is_empty() => Ok(TaskFields {
                title,
                due_on: self.due_on,
                assignee_id: self.assignee_id,
                client_id: self.client_id,
                done: self.done,
            }),
            _ => Err(errors),
        }
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct TaskFilter {
    /// Tasks assigned to this user.
    pub assignee_id: Option<UserId>,
    /// `true`: only the organisation's inbox (tasks assigned to nobody).
    pub inbox: Option<bool>,
    pub client_id: Option<ClientId>,
    /// `false`: open tasks only; `true`: done ones only.
    pub done: Option<bool>,
    /// Due on or after this day.
    pub due_from: Option<NaiveDate>,
    /// Due on or before this day.
    pub due_to: Option<NaiveDate>,
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<i64>,
    pub cursor: Option<String>,
}
