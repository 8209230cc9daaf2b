//! Transitions nobody asks for through the referral routes: the answer date passes, the client
//! withdraws the consent the sharing rests on, the client's record is erased. Each is kept like a
//! requested one — in the referral's history with actor, time and reason, and in the audit trail
//! (SPEC §2.8: every change of personal data leaves an event).

use chrono::NaiveDate;
use diesel::prelude::*;

use super::model::{ReferralRow, ReferralStatus};
use super::queries::{self, Change};
use crate::audit::{self, Actor, Event};
use crate::consents::model::ConsentRow;
use crate::db::schema::referrals;
use crate::db::{self, DbConnection, Id};

const RESOURCE: &str = "referral";
const OPEN: [ReferralStatus; 2] = [ReferralStatus::Pending, ReferralStatus::Accepted];

/// Records the expiry of pending referrals whose answer date has passed; returns how many.
/// The periodic job does it, so no user is the actor; the sending organisation's trail shows it
/// beside the client it concerns.
pub fn expire_overdue(conn: &mut DbConnection, today: NaiveDate) -> QueryResult<usize> {
    db::transaction(conn, |conn| {
        let overdue: Vec<ReferralRow> = referrals::table
            .filter(referrals::status.eq(ReferralStatus::Pending.code()))
            .filter(referrals::respond_by.lt(today))
            .limit(500)
            .select(ReferralRow::as_select())
            .load(conn)?;
        let change = Change::to(ReferralStatus::Expired);
        let system = Actor::default();
        let mut expired = 0;
        for row in &overdue {
            if let Some(row) = queries::transition(conn, row, None, &[ReferralStatus::Pending], &change, None)? {
                let event = Event::new(&system, "referral.expire", RESOURCE)
                    .on(row.id)
                    .for_client(row.client_id)
                    .in_organisation(Some(row.from_organisation_id));
                audit::record(conn, event)?;
                expired += 1;
            }
        }
        Ok(expired)
    })
}

/// Cancels the open referrals that rest on a consent the client withdrew. Run in the
/// withdrawal's transaction; `actor` is whoever recorded the withdrawal.
pub fn cancel_for_consent(conn: &mut DbConnection, consent: &ConsentRow, actor: &Actor) -> QueryResult<usize> {
    let resting: Vec<ReferralRow> = referrals::table
        .filter(referrals::consent_id.eq(consent.id))
        .filter(referrals::status.eq_any(OPEN.map(ReferralStatus::code)))
        .select(ReferralRow::as_select())
        .load(conn)?;
    let change = Change {
        reason_code: Some("consent_withdrawn"),
        reason: Some("The client withdrew the consent to share."),
        ..Change::to(ReferralStatus::Cancelled)
    };
    cancel_open(conn, &resting, &change, actor, (consent.organisation_id, consent.client_id))
}

/// Cancels the open referrals of an erased client — those its organisation sent, or, for a
/// partner's record, the one that record was made for. Returns every referral of the client,
/// open or not, so that the erasure can destroy their free texts too. Run in the erasure's
/// transaction.
pub fn cancel_for_erasure(
    conn: &mut DbConnection,
    (organisation_id, client_id): (Id, Id),
    actor: &Actor,
) -> QueryResult<Vec<Id>> {
    let related: Vec<ReferralRow> = referrals::table
        .filter(referrals::client_id.eq(client_id).or(referrals::partner_client_id.eq(client_id)))
        .select(ReferralRow::as_select())
        .load(conn)?;
    let change = Change { reason_code: Some("client_erased"), ..Change::to(ReferralStatus::Cancelled) };
    cancel_open(conn, &related, &change, actor, (organisation_id, client_id))?;
    Ok(related.iter().map(|row| row.id).collect())
}

/// Cancels those of `rows` still open, each with a `referral.cancel` event in the trail of the
/// organisation that holds `client_id`, the record the cancellation follows from.
fn cancel_open(
    conn: &mut DbConnection,
    rows: &[ReferralRow],
    change: &Change<'_>,
    actor: &Actor,
    (organisation_id, client_id): (Id, Id),
) -> QueryResult<usize> {
    let mut cancelled = 0;
    for row in rows {
        if let Some(row) = queries::transition(conn, row, None, &OPEN, change, actor.user_id)? {
            let event = Event::new(actor, "referral.cancel", RESOURCE)
                .on(row.id)
                .for_client(client_id)
                .in_organisation(Some(organisation_id));
            audit::record(conn, event)?;
            cancelled += 1;
        }
    }
    Ok(cancelled)
}
