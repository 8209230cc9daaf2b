//! Database functions for referrals and their change feed.

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;

use super::lifecycle::{self, Move, Step};
use super::model::{EventRow, Mailbox, ReferralEventKind, ReferralRow, ReferralStatus};
use super::shared::{SharedClient, Source};
use crate::clients;
use crate::db::schema::{referral_events, referral_feed, referrals};
use crate::db::{
    self, ClientId, ConsentId, DbConnection, List, OrganisationId, Prepared, ReferralEventId, ReferralId, UserId,
};
use crate::domain::SessionKind;
use crate::http::pagination::PageRequest;
use crate::notifications::EventType;
use crate::notifications::outbox::{self, EventData};

pub fn find(conn: &mut DbConnection, id: ReferralId) -> QueryResult<Option<ReferralRow>> {
    referrals::table.find(id).select(ReferralRow::as_select()).first(conn).optional()
}

/// The open referral of a client to a partner for a service, if there is one.
pub fn open_duplicate(
    conn: &mut DbConnection,
    client_id: ClientId,
    to: OrganisationId,
    service: SessionKind,
) -> QueryResult<Option<ReferralId>> {
    referrals::table
        .filter(referrals::client_id.eq(client_id))
        .filter(referrals::to_organisation_id.eq(to))
        .filter(referrals::service.eq(service))
        .filter(referrals::status.eq_any(lifecycle::open_statuses()))
        .select(referrals::id)
        .first(conn)
        .optional()
}

/// Takes the next feed position. The counter row stays locked until the transaction ends, so
/// positions commit in order. Kept prepared: every change to a referral takes one.
fn next_position(conn: &mut DbConnection) -> QueryResult<i64> {
    let take = diesel::update(referral_feed::table.find(1))
        .set(referral_feed::position.eq(referral_feed::position + 1))
        .returning(referral_feed::position);
    Prepared(take).get_result(conn)
}

/// Records what happened to a referral at `at`.
pub fn record_event(
    conn: &mut DbConnection,
    referral: &ReferralRow,
    kind: ReferralEventKind,
    actor_id: Option<UserId>,
    reason_code: Option<&str>,
    reason: Option<&str>,
    at: NaiveDateTime,
) -> QueryResult<()> {
    let position = next_position(conn)?;
    diesel::insert_into(referral_events::table)
        .values((
            referral_events::id.eq(ReferralEventId::new()),
            referral_events::position.eq(position),
            referral_events::referral_id.eq(referral.id),
            referral_events::from_organisation_id.eq(referral.from_organisation_id),
            referral_events::to_organisation_id.eq(referral.to_organisation_id),
            referral_events::kind.eq(kind),
            referral_events::actor_id.eq(actor_id),
            referral_events::at.eq(at),
            referral_events::reason_code.eq(reason_code),
            referral_events::reason.eq(reason),
        ))
        .execute(conn)?;
    let data = EventData {
        referral_id: Some(referral.id),
        from_organisation_id: Some(referral.from_organisation_id),
        to_organisation_id: Some(referral.to_organisation_id),
        ..EventData::default()
    };
    outbox::enqueue(conn, told_as(kind), referral.id, &data)?;
    Ok(())
}

/// The event that partner systems and people are told for a change of a referral.
fn told_as(kind: ReferralEventKind) -> EventType {
    match kind {
        ReferralEventKind::Created => EventType::ReferralSent,
        ReferralEventKind::Accepted => EventType::ReferralAccepted,
        ReferralEventKind::Declined => EventType::ReferralDeclined,
        ReferralEventKind::Cancelled => EventType::ReferralCancelled,
        ReferralEventKind::ClientErased => EventType::ReferredClientErased,
        ReferralEventKind::Completed => EventType::ReferralCompleted,
        ReferralEventKind::Expired => EventType::ReferralExpired,
        ReferralEventKind::ConsentWithdrawn => EventType::ConsentWithdrawn,
    }
}

pub struct NewReferral<'a> {
    pub client_id: ClientId,
    pub from: OrganisationId,
    pub to: OrganisationId,
    pub service: SessionKind,
    pub urgency: &'static str,
    pub reason: &'a str,
    pub shared_fields: &'a [String],
    pub consent_id: ConsentId,
    pub respond_by: NaiveDate,
    pub created_by: UserId,
}

pub fn insert(conn: &mut DbConnection, new: NewReferral<'_>) -> QueryResult<ReferralRow> {
    insert_at(conn, new, db::now().naive_utc())
}

/// Inserts a referral made at `now`: the API's is the present; the demo data backdates its
/// referrals, so that some have run past their answer date.
pub fn insert_at(conn: &mut DbConnection, new: NewReferral<'_>, now: NaiveDateTime) -> QueryResult<ReferralRow> {
    let row: ReferralRow = diesel::insert_into(referrals::table)
        .values((
            referrals::id.eq(ReferralId::new()),
            referrals::client_id.eq(new.client_id),
            referrals::from_organisation_id.eq(new.from),
            referrals::to_organisation_id.eq(new.to),
            referrals::service.eq(new.service),
            referrals::urgency.eq(new.urgency),
            referrals::reason.eq(new.reason),
            referrals::shared_fields.eq(List::of(new.shared_fields)),
            referrals::consent_id.eq(new.consent_id),
            referrals::status.eq(ReferralStatus::Pending),
            referrals::respond_by.eq(new.respond_by),
            referrals::created_by.eq(new.created_by),
            referrals::created_at.eq(now),
            referrals::updated_at.eq(now),
            referrals::version.eq(1),
        ))
        .returning(referrals::all_columns)
        .get_result(conn)?;
    record_event(conn, &row, ReferralEventKind::Created, Some(new.created_by), None, None, now)?;
    Ok(row)
}

/// A change of status with what comes with it.
pub struct Change<'a> {
    pub by: Move,
    pub reason_code: Option<&'a str>,
    pub reason: Option<&'a str>,
    pub outcome: Option<&'a str>,
    pub partner_client_id: Option<ClientId>,
    /// `partner_client_id` was created from the shared fields (see `ReferralRow`).
    pub partner_client_created: bool,
}

impl Change<'_> {
    /// A move of the life cycle and nothing else.
    pub fn by(on: Move) -> Self {
        Self {
            by: on,
            reason_code: None,
            reason: None,
            outcome: None,
            partner_client_id: None,
            partner_client_created: false,
        }
    }
}

/// Applies a move if the referral is still in a status the move starts from, at
/// `expected_version` (no version check when `None`); `None` when a concurrent change won.
pub fn transition(
    conn: &mut DbConnection,
    current: &ReferralRow,
    expected_version: Option<i32>,
    change: &Change<'_>,
    actor_id: Option<UserId>,
) -> QueryResult<Option<ReferralRow>> {
    transition_at(conn, current, expected_version, change, actor_id, db::now().naive_utc())
}

/// `transition` as of `now` (see `insert_at`).
pub fn transition_at(
    conn: &mut DbConnection,
    current: &ReferralRow,
    expected_version: Option<i32>,
    change: &Change<'_>,
    actor_id: Option<UserId>,
    now: NaiveDateTime,
) -> QueryResult<Option<ReferralRow>> {
    let Step { from, to, .. } = lifecycle::step(change.by);
    let at = Some(now);
    let none = None::<chrono::NaiveDateTime>;
    let stamp = |status: ReferralStatus| if *to == status { at } else { none };
    let version = expected_version.unwrap_or(current.version);
    let updated: Option<ReferralRow> = diesel::update(referrals::table.find(current.id))
        .filter(referrals::version.eq(version))
        .filter(referrals::status.eq_any(from.to_vec()))
        .set((
            referrals::status.eq(to),
            referrals::status_reason_code.eq(change.reason_code.or(current.status_reason_code.as_deref())),
            referrals::status_reason.eq(change.reason.or(current.status_reason.as_deref())),
            referrals::outcome.eq(change.outcome.or(current.outcome.as_deref())),
            referrals::partner_client_id.eq(change.partner_client_id.or(current.partner_client_id)),
            referrals::partner_client_created.eq(change.partner_client_created || current.partner_client_created),
            referrals::updated_at.eq(now),
            referrals::accepted_at.eq(stamp(ReferralStatus::Accepted).or(current.accepted_at)),
            referrals::declined_at.eq(stamp(ReferralStatus::Declined).or(current.declined_at)),
            referrals::cancelled_at.eq(stamp(ReferralStatus::Cancelled).or(current.cancelled_at)),
            referrals::completed_at.eq(stamp(ReferralStatus::Completed).or(current.completed_at)),
            referrals::expired_at.eq(stamp(ReferralStatus::Expired).or(current.expired_at)),
            referrals::version.eq(version + 1),
        ))
        .returning(referrals::all_columns)
        .get_result(conn)
        .optional()?;
    if let Some(row) = &updated {
        let kind = match to {
            ReferralStatus::Pending => ReferralEventKind::Created,
            ReferralStatus::Accepted => ReferralEventKind::Accepted,
            ReferralStatus::Declined => ReferralEventKind::Declined,
            ReferralStatus::Cancelled => ReferralEventKind::Cancelled,
            ReferralStatus::Completed => ReferralEventKind::Completed,
            ReferralStatus::Expired => ReferralEventKind::Expired,
        };
        record_event(conn, row, kind, actor_id, change.reason_code, change.reason, now)?;
    }
    Ok(updated)
}

pub struct ReferralQuery {
    pub r#box: Mailbox,
    pub status: Option<ReferralStatus>,
    pub service: Option<SessionKind>,
    pub urgency: Option<&'static str>,
    pub partner: Option<OrganisationId>,
    pub due_today: Option<bool>,
    pub today: NaiveDate,
}

/// One page of an organisation's inbox or outbox, oldest first. Statuses are compared as of
/// today (a pending referral past its date counts as expired).
pub fn list(
    conn: &mut DbConnection,
    organisation_id: OrganisationId,
    query: &ReferralQuery,
    page: PageRequest<ReferralId>,
) -> QueryResult<Vec<ReferralRow>> {
    let mut select = referrals::table.select(ReferralRow::as_select()).into_boxed();
    select = match query.r#box {
        Mailbox::Inbox => select.filter(referrals::to_organisation_id.eq(organisation_id)),
        Mailbox::Outbox => select.filter(referrals::from_organisation_id.eq(organisation_id)),
    };
    if let Some(partner) = query.partner {
        select = match query.r#box {
            Mailbox::Inbox => select.filter(referrals::from_organisation_id.eq(partner)),
            Mailbox::Outbox => select.filter(referrals::to_organisation_id.eq(partner)),
        };
    }
    match query.status {
        Some(ReferralStatus::Pending) => {
            select = select
                .filter(referrals::status.eq(ReferralStatus::Pending))
                .filter(referrals::respond_by.ge(query.today))
        }
        Some(ReferralStatus::Expired) => {
            select = select.filter(
                referrals::status
                    .eq(ReferralStatus::Expired)
                    .or(referrals::status.eq(ReferralStatus::Pending).and(referrals::respond_by.lt(query.today))),
            )
        }
        Some(status) => select = select.filter(referrals::status.eq(status)),
        None => {}
    }
    if let Some(service) = query.service {
        select = select.filter(referrals::service.eq(service));
    }
    if let Some(urgency) = query.urgency {
        select = select.filter(referrals::urgency.eq(urgency));
    }
    // Due today as `ReferralRow::view` says: pending with the answer date today.
    let pending = ReferralStatus::Pending.code();
    match query.due_today {
        Some(true) => {
            select = select.filter(referrals::status.eq(pending)).filter(referrals::respond_by.eq(query.today))
        }
        Some(false) => select = select.filter(referrals::status.ne(pending).or(referrals::respond_by.ne(query.today))),
        None => {}
    }
    if let Some(after) = page.after {
        select = select.filter(referrals::id.gt(after));
    }
    select.order(referrals::id).limit(page.limit + 1).load(conn)
}

/// Events of referrals the organisation sent or received, after a position, in order.
pub fn changes(
    conn: &mut DbConnection,
    organisation_id: OrganisationId,
    after: i64,
    limit: i64,
) -> QueryResult<Vec<EventRow>> {
    referral_events::table
        .filter(
            referral_events::from_organisation_id
                .eq(organisation_id)
                .or(referral_events::to_organisation_id.eq(organisation_id)),
        )
        .filter(referral_events::position.gt(after))
        .order(referral_events::position)
        .limit(limit)
        .select(EventRow::as_select())
        .load(conn)
}

pub fn events_of(conn: &mut DbConnection, referral_id: ReferralId) -> QueryResult<Vec<EventRow>> {
    referral_events::table
        .filter(referral_events::referral_id.eq(referral_id))
        .order(referral_events::position)
        .select(EventRow::as_select())
        .load(conn)
}

/// The shared fields of an open referral whose consent stands on `today`; `None` otherwise.
pub fn shared_client(
    conn: &mut DbConnection,
    row: &ReferralRow,
    today: NaiveDate,
) -> QueryResult<Option<SharedClient>> {
    let consent_valid =
        crate::consents::queries::find(conn, row.client_id, row.consent_id)?.is_some_and(|c| c.is_valid_on(today));
    if !lifecycle::is_open(row.status_on(today)?) || !consent_valid {
        return Ok(None);
    }
    let Some(client) = clients::queries::find(conn, row.client_id)? else {
        return Ok(None);
    };
    let deadlines = crate::procedure::queries::open_deadlines_of_client(conn, client.id, today)?;
    let source = Source { input: client.input(), procedure_stage: client.procedure_stage.clone(), deadlines };
    Ok(Some(SharedClient::of(source, &row.shared_fields)))
}
