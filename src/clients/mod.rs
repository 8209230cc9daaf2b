//! Clients (SPEC §2.3): the case file's centre. Only the owning organisation sees a client;
//! to everyone else it does not exist.

pub mod merge;
pub mod model;
pub mod queries;
pub mod routes;

use actix_web::http::StatusCode;
use chrono::NaiveDate;

use self::model::{Client, ClientRow, Household};
use crate::auth::Principal;
use crate::db::{ClientId, DbConnection};
use crate::domain::client::ClientStatus;
use crate::http::{ApiError, Problem};
use crate::policy::{Action, Target};

pub const RESOURCE: &str = "client";

/// Loads a client the caller may act on; another organisation's client answers 404, the same
/// as one that does not exist.
pub fn authorized(
    conn: &mut DbConnection,
    principal: &Principal,
    id: ClientId,
    action: Action,
) -> Result<ClientRow, ApiError> {
    let row = queries::find(conn, id)?.ok_or_else(|| ApiError::not_found(RESOURCE))?;
    principal.authorize(conn, action, Target::organisation(row.organisation_id), RESOURCE, Some(id.any()))?;
    refuse_if_erased(&row)?;
    if row.status == ClientStatus::Merged {
        return Err(merged_into(merge::survivor_of(conn, id)?));
    }
    Ok(row)
}

/// 410 for a merged duplicate, with the id of the record its file moved to (`merged_into`).
fn merged_into(survivor: Option<ClientId>) -> ApiError {
    let mut problem = Problem::new(
        StatusCode::GONE,
        "client_merged",
        "This record was merged into another record of the same person; use that one.",
    );
    problem.merged_into = survivor.map(|id| id.to_string());
    ApiError::Problem(Box::new(problem))
}

/// An erased record is a tombstone: every read or change of it, or of what hangs on it (its
/// sessions), answers 410 Gone. What stays of it serves the aggregate reports only.
pub fn refuse_if_erased(row: &ClientRow) -> Result<(), ApiError> {
    if row.status == ClientStatus::Erased {
        return Err(ApiError::new(StatusCode::GONE, "client_erased", "The client's record was erased."));
    }
    Ok(())
}

/// The full view of a client: household members and open deadlines included.
pub fn view(conn: &mut DbConnection, row: ClientRow, today: NaiveDate) -> Result<Client, ApiError> {
    let household = match row.household_id {
        Some(id) => Some(Household { id, members: queries::household_members(conn, row.organisation_id, id)? }),
        None => None,
    };
    let deadlines = crate::procedure::queries::open_deadlines_of_client(conn, row.id, today)?;
    Ok(row.view(household, deadlines))
}

/// After migrating: client names are keyed by the current matching rules (an interrupted
/// re-keying resumes).
pub fn after_migrating(conn: &mut DbConnection) -> anyhow::Result<()> {
    let rekeyed = queries::reindex_names(conn, 500, |_| {})
        .map_err(|e| anyhow::anyhow!("re-keying client names for search: {e}"))?;
    if rekeyed > 0 {
        tracing::info!(clients = rekeyed, "client name search keys rebuilt");
    }
    Ok(())
}
