//! Specialty grants: wire types and rows.

use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::db::schema::specialty_grants;
use crate::db::{GrantId, OrganisationId, UserId};
use crate::domain::{SessionKind, closed_list};

closed_list! {
    /// `pending` until a second person confirms or refuses it; `withdrawn` when the request
    /// was taken back (the specialty removed from the user's list before a decision).
    GrantStatus { Pending, Confirmed, Refused, Withdrawn }
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = specialty_grants)]
pub struct GrantRow {
    pub id: GrantId,
    pub organisation_id: OrganisationId,
    pub user_id: UserId,
    pub specialty: SessionKind,
    pub status: GrantStatus,
    pub requested_by: UserId,
    pub requested_at: NaiveDateTime,
    pub decided_by: Option<UserId>,
    pub decided_at: Option<NaiveDateTime>,
}

impl GrantRow {
    pub fn is_pending(&self) -> bool {
        self.status == GrantStatus::Pending
    }

    pub fn view(self) -> QueryResult<SpecialtyGrant> {
        Ok(SpecialtyGrant {
            specialty: self.specialty,
            status: self.status,
            id: self.id,
            organisation_id: self.organisation_id,
            user_id: self.user_id,
            requested_by: self.requested_by,
            requested_at: self.requested_at.and_utc(),
            decided_by: self.decided_by,
            decided_at: self.decided_at.map(|at| at.and_utc()),
        })
    }
}

/// A request to give a user the psychological specialty, and its decision.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct SpecialtyGrant {
    pub id: GrantId,
    pub organisation_id: OrganisationId,
    /// Who is to receive the specialty.
    pub user_id: UserId,
    pub specialty: SessionKind,
    pub status: GrantStatus,
    pub requested_by: UserId,
    pub requested_at: DateTime<Utc>,
    pub decided_by: Option<UserId>,
    pub decided_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct GrantFilter {
    /// Grants of this organisation (callers inside an organisation see their own only).
    pub organisation_id: Option<OrganisationId>,
    pub status: Option<GrantStatus>,
    pub user_id: Option<UserId>,
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<i64>,
    pub cursor: Option<String>,
}
