//! Appointments: planned meetings with clients on a counselor's calendar, with an interpreter
//! booked where one is needed, no two overlapping on one calendar; holding one logs its session.

pub mod lifecycle;
pub mod model;
pub mod queries;
pub mod routes;

use self::model::AppointmentRow;
use crate::auth::Principal;
use crate::db::{DbConnection, Id};
use crate::http::ApiError;
use crate::policy::{self, Action, Target};
use crate::sessions::queries::Viewer;

pub const RESOURCE: &str = "appointment";

pub fn viewer(principal: &Principal) -> Viewer {
    Viewer { user_id: principal.user_id, psychologist: principal.caller().psychologist() }
}

/// Loads an appointment the caller may act on. A psychological appointment outside the caller's
/// tier does not exist for them (404), and its refusal is a tier event, as for the sessions of
/// the tier.
pub fn authorized(
    conn: &mut DbConnection,
    principal: &Principal,
    id: Id,
    action: Action,
) -> Result<AppointmentRow, ApiError> {
    // A role that may never do this is refused before the lookup, alike for any id.
    if policy::scope(principal.role, action).is_none() {
        principal.authorize(conn, action, Target::owned_by(principal.organisation_id), RESOURCE, Some(id))?;
    }
    let row = queries::find(conn, id)?.ok_or_else(|| ApiError::not_found(RESOURCE))?;
    let target = Target::record(row.organisation_id, row.counselor_id);
    if principal.organisation_id != Some(row.organisation_id) {
        principal.authorize(conn, action, target, RESOURCE, Some(id))?;
    }
    let tier = row.is_psychological();
    if tier {
        principal.authorize_in_tier(conn, Action::ReadPsychologicalSession, target, RESOURCE, Some(id), true)?;
    }
    principal.authorize_in_tier(conn, action, target, RESOURCE, Some(id), tier)?;
    Ok(row)
}
