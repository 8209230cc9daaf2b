//! Transitions nobody asks for through the referral routes: the answer date passes, the client
//! withdraws the consent the sharing rests on, the client's record is erased. Each is kept like a
//! requested one — in the referral's history with actor, time and reason, and in the audit trail
//! (SPEC §2.8: every change of personal data leaves an event).

use chrono::NaiveDate;
use diesel::prelude::*;

use super::lifecycle::{self, Move};
use super::model::{ReferralEventKind, ReferralRow};
use super::queries::{self, Change};
use super::shared;
use crate::audit::{self, Actor, Event};
use crate::clients::model::ClientRow;
use crate::consents::model::ConsentRow;
use crate::db::schema::{referral_events, referrals};
use crate::db::{self, ClientId, DbConnection, OrganisationId, ReferralId};
use crate::domain::client::ClientStatus;
use crate::http::ApiError;

/// What a referral's free-text reason reads once the consent it rested on was withdrawn.
pub const WITHDRAWN: &str = "[consent withdrawn]";

const RESOURCE: &str = "referral";

/// Records the expiry of pending referrals whose answer date has passed; returns how many.
/// The periodic job does it, so no user is the actor; the sending organisation's trail shows it
/// beside the client it concerns.
pub fn expire_unanswered(conn: &mut DbConnection, today: NaiveDate) -> QueryResult<usize> {
    db::transaction(conn, |conn| {
        let unanswered: Vec<ReferralRow> = referrals::table
            .filter(referrals::status.eq_any(lifecycle::step(Move::Expire).from.to_vec()))
            .filter(referrals::respond_by.lt(today))
            .limit(500)
            .select(ReferralRow::as_select())
            .load(conn)?;
        let change = Change::by(Move::Expire);
        let system = Actor::default();
        let mut expired = 0;
        for row in &unanswered {
            if let Some(row) = queries::transition(conn, row, None, &change, None)? {
                let event = Event::new(&system, lifecycle::step(change.by).event, RESOURCE)
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

/// Ends everything a withdrawn consent allowed, whatever the status of the referrals that rest
/// on it (withdrawing the consent to share ends the sharing, also after the referral was
/// completed or cancelled): their free-text reasons are cleared, the open ones are cancelled, a
/// partner's client record that accepting created from the shared fields loses them (names
/// become the placeholder, the other shared fields are emptied, and the search index follows),
/// and each referral gets a `consent_withdrawn` event in the change feed, which the partner's
/// coordinators read. A record the partner linked when accepting was its own before the
/// referral and stays as it is; the event's `reason_code` tells the partner which case it is
/// (`shared_fields_removed`, `linked_record_unchanged`, or none when it holds no record). Run
/// in the withdrawal's transaction; `actor` is whoever recorded the withdrawal.
pub fn withdraw_consent(conn: &mut DbConnection, consent: &ConsentRow, actor: &Actor) -> Result<usize, ApiError> {
    let ids: Vec<ReferralId> =
        referrals::table.filter(referrals::consent_id.eq(consent.id)).select(referrals::id).load(conn)?;
    if ids.is_empty() {
        return Ok(0);
    }
    let now = db::now().naive_utc();
    // The sender's reason and every free text of the history may name the client; the partner
    // reads them in the referral's views.
    diesel::update(referrals::table.filter(referrals::id.eq_any(&ids)))
        .set((
            referrals::reason.eq(WITHDRAWN),
            referrals::status_reason.eq(None::<String>),
            referrals::updated_at.eq(now),
            referrals::version.eq(referrals::version + 1),
        ))
        .execute(conn)?;
    diesel::update(referral_events::table.filter(referral_events::referral_id.eq_any(&ids)))
        .set(referral_events::reason.eq(None::<String>))
        .execute(conn)?;
    let rows: Vec<ReferralRow> = referrals::table
        .filter(referrals::id.eq_any(&ids))
        .order(referrals::id)
        .select(ReferralRow::as_select())
        .load(conn)?;
    for row in &rows {
        let (reason_code, reason) = match row.partner_client_id {
            Some(partner_client_id) if row.partner_client_created => {
                remove_shared_fields(conn, row, partner_client_id, actor)?;
                (
                    Some("shared_fields_removed"),
                    "The client withdrew the consent to share: the shared fields were removed from the record \
                     accepting created.",
                )
            }
            Some(_) => (
                Some("linked_record_unchanged"),
                "The client withdrew the consent to share: the linked record is unchanged; remove what it \
                 holds from the referral.",
            ),
            None => (None, "The client withdrew the consent to share: delete what you noted from the referral."),
        };
        queries::record_event(
            conn,
            row,
            ReferralEventKind::ConsentWithdrawn,
            actor.user_id,
            reason_code,
            Some(reason),
            now,
        )?;
    }
    let change = Change {
        reason_code: Some("consent_withdrawn"),
        reason: Some("The client withdrew the consent to share."),
        ..Change::by(Move::WithdrawConsent)
    };
    cancel_open(conn, &rows, &change, actor, (consent.organisation_id, consent.client_id))?;
    Ok(rows.len())
}

/// Takes the referral's shared fields out of the partner's record that accepting created from
/// them; the partner's own additions (other fields, sessions, procedure events) stay. Audited in
/// the partner's trail. An erased record holds nothing more to take.
fn remove_shared_fields(
    conn: &mut DbConnection,
    referral: &ReferralRow,
    partner_client_id: ClientId,
    actor: &Actor,
) -> Result<(), ApiError> {
    // A concurrent change of the record wins the version; then the change is made on top of it.
    for _ in 0..5 {
        let Some(current) = crate::clients::queries::find(conn, partner_client_id)? else {
            return Ok(());
        };
        if current.status == ClientStatus::Erased {
            return Ok(());
        }
        let fields = stripped(&current, &referral.shared_fields)?;
        if crate::clients::queries::update(conn, &current, current.version, &fields)?.is_some() {
            let event = Event::new(actor, "client.shared_fields_removed", crate::clients::RESOURCE)
                .on(partner_client_id)
                .for_client(partner_client_id)
                .in_organisation(Some(referral.to_organisation_id));
            audit::record(conn, event)?;
            return Ok(());
        }
    }
    Err(ApiError::conflict("concurrent_change", "The partner's record kept changing; try the withdrawal again."))
}

fn stripped(current: &ClientRow, shared_fields: &[String]) -> Result<crate::clients::model::ClientFields, ApiError> {
    let input = shared::without_shared(current.input(), shared_fields, shared::PLACEHOLDER);
    input.parse(crate::domain::today()).map_err(|errors| {
        ApiError::Internal(anyhow::anyhow!("a partner's record without the shared fields is invalid: {errors:?}"))
    })
}

/// Tells the partners of an erased client's referrals, through the change feed, that the sender
/// erased the record, so that each can erase its own (GDPR Art. 17(2), 19); `reason_code`
/// `partner_record_held` when the partner accepted it into a record of its own. Run in the
/// erasure's transaction.
pub fn tell_partners_of_erasure(conn: &mut DbConnection, client_id: ClientId, actor: &Actor) -> QueryResult<usize> {
    let sent: Vec<ReferralRow> = referrals::table
        .filter(referrals::client_id.eq(client_id))
        .order(referrals::id)
        .select(ReferralRow::as_select())
        .load(conn)?;
    let now = db::now().naive_utc();
    for row in &sent {
        let reason_code = row.partner_client_id.map(|_| "partner_record_held");
        queries::record_event(conn, row, ReferralEventKind::ClientErased, actor.user_id, reason_code, None, now)?;
    }
    Ok(sent.len())
}

/// Cancels the open referrals of an erased client — those its organisation sent, or, for a
/// partner's record, the one that record was made for. Returns every referral of the client,
/// open or not, so that the erasure can destroy their free texts too. Run in the erasure's
/// transaction.
pub fn cancel_for_erasure(
    conn: &mut DbConnection,
    (organisation_id, client_id): (OrganisationId, ClientId),
    actor: &Actor,
) -> QueryResult<Vec<ReferralId>> {
    let related: Vec<ReferralRow> = referrals::table
        .filter(referrals::client_id.eq(client_id).or(referrals::partner_client_id.eq(client_id)))
        .select(ReferralRow::as_select())
        .load(conn)?;
    let change = Change { reason_code: Some("client_erased"), ..Change::by(Move::EraseClient) };
    cancel_open(conn, &related, &change, actor, (organisation_id, client_id))?;
    Ok(related.iter().map(|row| row.id).collect())
}

/// Cancels those of `rows` still open (the move of `change`), each with a `referral.cancel` event in the trail of the
/// organisation that holds `client_id`, the record the cancellation follows from.
fn cancel_open(
    conn: &mut DbConnection,
    rows: &[ReferralRow],
    change: &Change<'_>,
    actor: &Actor,
    (organisation_id, client_id): (OrganisationId, ClientId),
) -> QueryResult<usize> {
    let mut cancelled = 0;
    for row in rows {
        if let Some(row) = queries::transition(conn, row, None, change, actor.user_id)? {
            let event = Event::new(actor, lifecycle::step(change.by).event, RESOURCE)
                .on(row.id)
                .for_client(client_id)
                .in_organisation(Some(organisation_id));
            audit::record(conn, event)?;
            cancelled += 1;
        }
    }
    Ok(cancelled)
}
