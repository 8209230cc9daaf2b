//! Clients (SPEC §2.3): the case file's centre. Only the owning organisation sees a client;
//! to everyone else it does not exist.

pub mod model;
pub mod queries;
pub mod routes;

use actix_web::http::StatusCode;
use chrono::NaiveDate;

use self::model::{Client, ClientRow, Household};
use crate::auth::Principal;
use crate::db::{DbConnection, Id};
use crate::domain::client::ClientStatus;
use crate::http::ApiError;
use crate::policy::{Action, Target};

pub const RESOURCE: &str = "client";

/// Loads a client the caller may act on; another organisation's client answers 404, the same
/// as one that does not exist.
pub fn authorized(
    conn: &mut DbConnection,
    principal: &Principal,
    id: Id,
    action: Action,
) -> Result<ClientRow, ApiError> {
    let row = queries::find(conn, id)?.ok_or_else(|| ApiError::not_found(RESOURCE))?;
    principal.authorize(conn, action, Target::organisation(row.organisation_id), RESOURCE, Some(id))?;
    let reads = matches!(
        action,
        Action::ReadClient | Action::ListSessions | Action::ReadConsents | Action::ReadProcedure | Action::ExportClient
    );
    if !reads {
        refuse_if_erased(&row)?;
    }
    Ok(row)
}

/// An erased record is a tombstone: every change to it, or to what hangs on it (its sessions),
/// answers 410 Gone.
pub fn refuse_if_erased(row: &ClientRow) -> Result<(), ApiError> {
    if row.status == ClientStatus::Erased.code() {
        return Err(ApiError::new(
            StatusCode::GONE,
            "client_erased",
            "The client's record was erased; it can no longer change.",
        ));
    }
    Ok(())
}

/// The full view of a client: household members and open deadlines included.
pub fn view(conn: &mut DbConnection, row: ClientRow, today: NaiveDate) -> Result<Client, ApiError> {
    let household = match row.household_id {
        Some(id) => Some(Household { id, members: queries::household_members(conn, id)? }),
        None => None,
    };
    let deadlines = crate::procedure::queries::open_deadlines_of_client(conn, row.id, today)?;
    Ok(row.view(household, deadlines)?)
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
