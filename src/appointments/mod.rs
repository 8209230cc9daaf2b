//! Appointments: planned meetings with clients on a counselor's calendar, with an interpreter
//! booked where one is needed, no two overlapping on one calendar; holding one logs its session.

pub mod lifecycle;
pub mod model;
pub mod queries;
pub mod routes;

use self::model::AppointmentRow;
use crate::auth::Principal;
use crate::db::{AppointmentId, ClientId, DbConnection};
use crate::http::ApiError;
use crate::policy::{Action, Target};

pub const RESOURCE: &str = "appointment";

/// Loads an appointment the caller may act on. A psychological appointment outside the caller's
/// tier does not exist for them (404), and its refusal is a tier event, as for the sessions of
/// the tier.
pub fn authorized(
    conn: &mut DbConnection,
    principal: &Principal,
    id: AppointmentId,
    action: Action,
) -> Result<AppointmentRow, ApiError> {
    principal.refuse_if_never(conn, action, RESOURCE, Some(id.any()))?;
    let row = queries::find(conn, id)?.ok_or_else(|| ApiError::not_found(RESOURCE))?;
    let target = Target::record(row.organisation_id, row.counselor_id);
    principal.authorize_record_of_tier(conn, action, target, row.is_psychological(), RESOURCE, id)?;
    Ok(row)
}

/// On erasure: what was still booked for the client is cancelled (it will not take place), the
/// free texts of their appointments go, and group appointments of other clients lose them.
pub fn erase_of_client(conn: &mut DbConnection, client_id: ClientId) -> diesel::QueryResult<()> {
    use diesel::prelude::*;

    use crate::db::schema::{appointment_participants, appointments};
    let now = crate::db::now().naive_utc();
    let step = lifecycle::step(lifecycle::Move::EraseClient);
    diesel::update(
        appointments::table
            .filter(appointments::client_id.eq(client_id))
            .filter(appointments::status.eq_any(step.from)),
    )
    .set((
        appointments::status.eq(step.to),
        appointments::updated_at.eq(now),
        appointments::version.eq(appointments::version + 1),
    ))
    .execute(conn)?;
    diesel::update(appointments::table.filter(appointments::client_id.eq(client_id)))
        .set((appointments::location.eq(None::<String>), appointments::cancel_reason.eq(None::<String>)))
        .execute(conn)?;
    diesel::delete(appointment_participants::table.filter(appointment_participants::client_id.eq(client_id)))
        .execute(conn)?;
    Ok(())
}

/// On a merge: the duplicate's appointments become the survivor's, and where both took part in
/// one group appointment the survivor takes part once.
pub fn move_client(conn: &mut DbConnection, from: ClientId, to: ClientId) -> diesel::QueryResult<()> {
    use diesel::prelude::*;

    use crate::db::schema::{appointment_participants, appointments};
    diesel::update(appointments::table.filter(appointments::client_id.eq(from)))
        .set(appointments::client_id.eq(to))
        .execute(conn)?;
    let with_survivor: Vec<ClientId> = appointment_participants::table
        .filter(appointment_participants::client_id.eq(to))
        .select(appointment_participants::appointment_id)
        .load(conn)?;
    let for_survivor = appointments::table.filter(appointments::client_id.eq(to)).select(appointments::id);
    diesel::delete(
        appointment_participants::table.filter(appointment_participants::client_id.eq(from)).filter(
            appointment_participants::appointment_id
                .eq_any(with_survivor)
                .or(appointment_participants::appointment_id.eq_any(for_survivor)),
        ),
    )
    .execute(conn)?;
    diesel::update(appointment_participants::table.filter(appointment_participants::client_id.eq(from)))
        .set(appointment_participants::client_id.eq(to))
        .execute(conn)?;
    Ok(())
}
