//! Interpreters shared by the consortium: their languages and cities, the organisations they
//! work for, and their booked time — which shows when and for which organisation, never whom.

pub mod model;
pub mod queries;
pub mod routes;

use crate::db::{DbConnection, InterpreterId, OrganisationId};
use diesel::QueryResult;

pub const RESOURCE: &str = "interpreter";

/// Why an interpreter cannot be booked on an appointment of `organisation_id` held in
/// `language`, or `None` when they can.
pub fn unfit_for(
    conn: &mut DbConnection,
    interpreter_id: InterpreterId,
    organisation_id: OrganisationId,
    language: Option<&str>,
) -> QueryResult<Option<&'static str>> {
    let Some(interpreter) = queries::find(conn, interpreter_id)? else {
        return Ok(Some("is not an interpreter of the consortium"));
    };
    if !queries::organisations_of(conn, interpreter_id)?.contains(&organisation_id) {
        return Ok(Some("does not work for this organisation"));
    }
    if !interpreter.active {
        return Ok(Some("is no longer active"));
    }
    if language.is_some_and(|language| !interpreter.languages.iter().any(|l| l == language)) {
        return Ok(Some("does not interpret the appointment's language"));
    }
    Ok(None)
}
