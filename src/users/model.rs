//! Users: wire types and database rows.

use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::auth::enrolment::Enrolment;
use crate::db::schema::users;
use crate::db::{List, OrganisationId, UserId};
use crate::domain::{Role, SessionKind};
use crate::http::patch::Patch;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = users)]
pub struct UserRow {
    pub id: UserId,
    pub organisation_id: Option<OrganisationId>,
    pub email: String,
    pub email_key: String,
    pub display_name: String,
    pub role: Role,
    #[diesel(deserialize_as = List<SessionKind>)]
    pub specialties: Vec<SessionKind>,
    pub active: bool,
    pub password_hash: String,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub last_login_at: Option<NaiveDateTime>,
    pub version: i32,
}

/// A staff member who signs in. The password never appears in any response.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct User {
    pub id: UserId,
    /// Absent for consortium administrators, who belong to no organisation.
    pub organisation_id: Option<OrganisationId>,
    pub email: String,
    pub display_name: String,
    pub role: Role,
    /// Session kinds the person is qualified for.
    pub specialties: Vec<SessionKind>,
    /// Specialties asked for that wait for a second person's confirmation (the psychological
    /// one); they give no access yet.
    pub pending_specialties: Vec<SessionKind>,
    pub active: bool,
    /// Whether the user has set a password with their enrolment token.
    pub enrolled: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub last_login_at: Option<DateTime<Utc>>,
    pub version: i32,
    /// Only in `GET /auth/me`: failed and refused sign-ins to this account since the user's
    /// previous sign-in (or ever, on the first) — worth showing when above zero, as someone may
    /// be guessing the password. Each is also in the organisation's audit trail (`auth.login`
    /// with outcome `failure`, `auth.login_throttled`), with `auth.account_throttled` when the
    /// account reached its limit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(example = 0)]
    pub failed_sign_ins_since_last_login: Option<i64>,
}

impl UserRow {
    /// The user as the policy table sees them, for rules about who may be given work (a
    /// caseload, an appointment, a task): `None` for a deactivated user, who is given none.
    pub fn as_caller(&self) -> Option<crate::policy::Caller> {
        self.active.then(|| crate::policy::Caller {
            role: self.role,
            organisation_id: self.organisation_id,
            user_id: Some(self.id),
            specialties: crate::domain::Specialties::of(&self.specialties),
        })
    }

    pub fn view(self, pending_specialties: Vec<SessionKind>) -> User {
        User {
            role: self.role,
            specialties: self.specialties,
            pending_specialties,
            enrolled: !self.password_hash.is_empty(),
            id: self.id,
            organisation_id: self.organisation_id,
            email: self.email,
            display_name: self.display_name,
            active: self.active,
            created_at: self.created_at.and_utc(),
            updated_at: self.updated_at.and_utc(),
            last_login_at: self.last_login_at.map(|at| at.and_utc()),
            version: self.version,
            failed_sign_ins_since_last_login: None,
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateUserRequest {
    /// Required for every role but `consortium_admin`, which must not have one.
    pub organisation_id: Option<OrganisationId>,
    #[schema(example = "anna.kowalska@example.org", max_length = 254)]
    pub email: String,
    #[schema(example = "Anna Kowalska", max_length = 120)]
    pub display_name: String,
    pub role: Role,
    /// `psychological` among them is not granted at once: it waits for a second person's
    /// confirmation (see `/specialty-grants`).
    #[serde(default)]
    pub specialties: Vec<SessionKind>,
}

/// A new user and the one-time token with which they set their own password.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct CreatedUser {
    pub user: User,
    pub enrolment: Enrolment,
}

/// A partial update (JSON Merge Patch): absent fields stay as they are.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateUserRequest {
    #[serde(default)]
    #[schema(value_type = Option<String>, max_length = 120)]
    pub display_name: Patch<String>,
    #[serde(default)]
    #[schema(value_type = Option<Role>)]
    pub role: Patch<Role>,
    /// Adding `psychological` asks for it (pending until a second person confirms); removing
    /// it takes effect at once and withdraws a pending request. Nobody changes their own role
    /// or specialties.
    #[serde(default)]
    #[schema(value_type = Option<Vec<SessionKind>>)]
    pub specialties: Patch<Vec<SessionKind>>,
    /// `false` deactivates the user and ends all their sessions at once.
    #[serde(default)]
    #[schema(value_type = Option<bool>)]
    pub active: Patch<bool>,
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct UserFilter {
    /// Only users of this organisation (callers inside an organisation see their own only).
    pub organisation_id: Option<OrganisationId>,
    pub role: Option<Role>,
    pub active: Option<bool>,
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<i64>,
    pub cursor: Option<String>,
}
