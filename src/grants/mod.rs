//! Grants of the psychological specialty (SPEC §2.5): nobody enters the psychological tier
//! alone. Asking for the specialty — on creating a user, by `PATCH`, or when a psychologist's
//! password is reset — leaves a pending grant that gives no access until a second person
//! confirms it: a psychologist of the organisation, or a consortium administrator where the
//! organisation has none yet. Neither the one who asked nor the one who receives it can decide.

pub mod model;
pub mod queries;
pub mod routes;

use std::collections::HashMap;

use crate::audit::{self, Actor, Event};
use crate::db::{DbConnection, OrganisationId, UserId};
use crate::domain::SessionKind;
use crate::http::ApiError;

pub const RESOURCE: &str = "specialty_grant";

/// The specialty that takes two people to grant.
pub const GUARDED: SessionKind = SessionKind::Psychological;

/// Asks for `user_id` to receive the guarded specialty; a request already pending stands.
pub fn request(
    conn: &mut DbConnection,
    actor: &Actor,
    organisation_id: OrganisationId,
    user_id: UserId,
) -> Result<(), ApiError> {
    if queries::pending_of(conn, user_id)?.is_some() {
        return Ok(());
    }
    let requested_by = actor.user_id.ok_or_else(ApiError::forbidden)?;
    let grant = queries::insert(conn, organisation_id, user_id, requested_by)?;
    let event = Event::new(actor, "specialty_grant.request", RESOURCE).on(grant.id);
    audit::record(conn, event.in_organisation(Some(organisation_id)))?;
    Ok(())
}

/// Withdraws a pending request for `user_id`, if there is one.
pub fn withdraw(conn: &mut DbConnection, actor: &Actor, user_id: UserId) -> Result<(), ApiError> {
    if let Some(grant) = queries::pending_of(conn, user_id)?
        && queries::decide(conn, grant.id, model::GrantStatus::Withdrawn, actor.user_id)?.is_some()
    {
        let event = Event::new(actor, "specialty_grant.withdraw", RESOURCE).on(grant.id);
        audit::record(conn, event.in_organisation(Some(grant.organisation_id)))?;
    }
    Ok(())
}

/// The specialties of one user waiting for a second person.
pub fn pending_of_user(conn: &mut DbConnection, user_id: UserId) -> Result<Vec<SessionKind>, ApiError> {
    Ok(pending_specialties(conn, &[user_id])?.remove(&user_id).unwrap_or_default())
}

/// The specialties waiting for a second person, by user.
pub fn pending_specialties(
    conn: &mut DbConnection,
    user_ids: &[UserId],
) -> Result<HashMap<UserId, Vec<SessionKind>>, ApiError> {
    let mut pending: HashMap<UserId, Vec<SessionKind>> = HashMap::new();
    for (user_id, specialty) in queries::pending_for(conn, user_ids)? {
        pending.entry(user_id).or_default().push(specialty);
    }
    Ok(pending)
}
