//! The outbox: events written in the transaction of the change they report, their fan-out into
//! deliveries (one per webhook that asked for the event and one per user to e-mail), and the
//! attempts of each delivery.
//!
//! Several instances on PostgreSQL share the work: each takes its events and deliveries with
//! `FOR UPDATE SKIP LOCKED` and leases what it takes — an event whose first deliveries it is
//! attempting (`leased_until`), a delivery it is trying again (its `next_attempt_at` pushed on)
//! — so no two instances attempt one delivery at the same time, and an instance that dies
//! mid-attempt leaves the work to whoever comes after the lease. A delivery is written once its
//! first attempt is over, with what became of it, under an id derived from its event and its
//! webhook or user: an event fanned out again after a crash repeats its deliveries under the
//! `webhook-id`s they had. On SQLite the one writer at a time does the same.

use std::collections::HashMap;
use std::collections::hash_map::Entry;

use chrono::{NaiveDate, NaiveDateTime, TimeDelta};
use diesel::prelude::*;
use diesel::sql_types::Bool;
use serde::{Deserialize, Serialize};

use super::EventType;
use super::settings::Language;
use crate::db::schema::{deadlines, deliveries, notification_settings, outbox_events, referrals, users, webhooks};
use crate::db::{
    self, ClientId, DbConnection, DeadlineId, DeliveryId, Id, List, OrganisationId, OutboxEventId, Prepared,
    ReferralId, UserId, WebhookId,
};
use crate::domain::{Role, SessionKind, closed_list};
use crate::procedure::calendar;
use crate::referrals::lifecycle::{self, Move};

closed_list! { DeliveryStatus { Pending, Delivered, Failed } }

/// What an event is about: ids and dates, never a name or free text.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct EventData {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub referral_id: Option<ReferralId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from_organisation_id: Option<OrganisationId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to_organisation_id: Option<OrganisationId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deadline_id: Option<DeadlineId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id: Option<ClientId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub organisation_id: Option<OrganisationId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub webhook_id: Option<WebhookId>,
    /// The answer date of a referral, or the day a deadline ends.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub due_on: Option<NaiveDate>,
}

#[derive(Debug, Clone, Queryable)]
pub struct EventRow {
    pub id: OutboxEventId,
    pub event_type: EventType,
    /// The referral, deadline or webhook the event is about.
    pub subject_id: Id,
    pub payload: String,
    pub occurred_at: NaiveDateTime,
}

/// The columns of an `EventRow` (a tuple, so that one query serves both backends).
const EVENT: (
    outbox_events::id,
    outbox_events::event_type,
    outbox_events::subject_id,
    outbox_events::payload,
    outbox_events::occurred_at,
) = (
    outbox_events::id,
    outbox_events::event_type,
    outbox_events::subject_id,
    outbox_events::payload,
    outbox_events::occurred_at,
);

impl EventRow {
    pub fn data(&self) -> QueryResult<EventData> {
        serde_json::from_str(&self.payload).map_err(|e| diesel::result::Error::DeserializationError(Box::new(e)))
    }
}

/// Writes an event; call it inside the transaction of the change it reports.
/// `subject_id` is the referral, deadline or webhook the event is about.
pub fn enqueue<E>(
    conn: &mut DbConnection,
    event_type: EventType,
    subject_id: Id<E>,
    data: &EventData,
) -> QueryResult<OutboxEventId> {
    insert(conn, event_type, subject_id, data, None)
}

/// Writes an event of the calendar once: `false` when one with `once_key` was written before.
fn enqueue_once<E>(
    conn: &mut DbConnection,
    once_key: &str,
    event_type: EventType,
    subject_id: Id<E>,
    data: &EventData,
) -> QueryResult<bool> {
    let told: bool =
        diesel::select(diesel::dsl::exists(outbox_events::table.filter(outbox_events::once_key.eq(once_key))))
            .get_result(conn)?;
    if told {
        return Ok(false);
    }
    insert(conn, event_type, subject_id, data, Some(once_key))?;
    Ok(true)
}

fn insert<E>(
    conn: &mut DbConnection,
    event_type: EventType,
    subject_id: Id<E>,
    data: &EventData,
    once_key: Option<&str>,
) -> QueryResult<OutboxEventId> {
    let id = OutboxEventId::new();
    let payload = serde_json::to_string(data).map_err(|e| diesel::result::Error::SerializationError(Box::new(e)))?;
    diesel::insert_into(outbox_events::table)
        .values((
            outbox_events::id.eq(id),
            outbox_events::event_type.eq(event_type),
            outbox_events::subject_id.eq(subject_id.any()),
            outbox_events::payload.eq(payload),
            outbox_events::occurred_at.eq(db::now().naive_utc()),
            outbox_events::once_key.eq(once_key),
        ))
        .execute(conn)?;
    Ok(id)
}

/// Working days left (today and the due day included) at which a pending referral is told to
/// be due soon, and a legal deadline to have entered its last days.
const REFERRAL_DAYS_LEFT: usize = 2;
const DEADLINE_DAYS_LEFT: usize = 3;
/// Calendar days that are sure to hold that many working days (Easter and long weekends).
const LOOKAHEAD_DAYS: i64 = 10;

/// Writes the events of the calendar that `today` brings, each once: pending referrals whose
/// answer date is the next working day or today, and open deadlines in their last three working
/// days. Returns how many were written.
pub fn tell_what_comes_due(conn: &mut DbConnection, today: NaiveDate) -> QueryResult<usize> {
    let horizon = today + TimeDelta::days(LOOKAHEAD_DAYS);
    db::transaction(conn, |conn| {
        let mut told = 0;
        let pending: Vec<(ReferralId, OrganisationId, OrganisationId, NaiveDate)> = referrals::table
            .filter(referrals::status.eq_any(lifecycle::step(Move::Expire).from.to_vec()))
            .filter(referrals::respond_by.between(today, horizon))
            .select((
                referrals::id,
                referrals::from_organisation_id,
                referrals::to_organisation_id,
                referrals::respond_by,
            ))
            .load(conn)?;
        for (id, from, to, respond_by) in pending {
            if calendar::working_days_through(today, respond_by) > REFERRAL_DAYS_LEFT {
                continue;
            }
            let data = EventData {
                referral_id: Some(id),
                from_organisation_id: Some(from),
                to_organisation_id: Some(to),
                due_on: Some(respond_by),
                ..EventData::default()
            };
            let key = format!("referral_due_soon:{id}:{respond_by}");
            told += usize::from(enqueue_once(conn, &key, EventType::ReferralDueSoon, id, &data)?);
        }
        let open: Vec<(DeadlineId, ClientId, OrganisationId, NaiveDate)> = deadlines::table
            .filter(deadlines::closed_by_event_id.is_null())
            .filter(deadlines::due_on.between(today, horizon))
            .select((deadlines::id, deadlines::client_id, deadlines::organisation_id, deadlines::due_on))
            .load(conn)?;
        for (id, client_id, organisation_id, due_on) in open {
            if calendar::working_days_through(today, due_on) > DEADLINE_DAYS_LEFT {
                continue;
            }
            let data = EventData {
                deadline_id: Some(id),
                client_id: Some(client_id),
                organisation_id: Some(organisation_id),
                due_on: Some(due_on),
                ..EventData::default()
            };
            let key = format!("deadline_due_soon:{id}:{due_on}");
            told += usize::from(enqueue_once(conn, &key, EventType::DeadlineDueSoon, id, &data)?);
        }
        Ok(told)
    })
}

/// Who is told of an event: the organisations whose webhooks may ask for it, or one webhook
/// only, and the users to e-mail.
struct Audience {
    organisations: Vec<OrganisationId>,
    webhook: Option<WebhookId>,
    users: Vec<UserId>,
}

/// The active users of an organisation who act on its referrals and deadlines: its coordinators
/// and its counselors of the matching specialty.
fn staff_who_act(
    conn: &mut DbConnection,
    organisation_id: OrganisationId,
    specialty: SessionKind,
) -> QueryResult<Vec<UserId>> {
    let staff: Vec<(UserId, Role, List<SessionKind>)> = users::table
        .filter(users::organisation_id.eq(organisation_id))
        .filter(users::active.eq(true))
        .filter(users::role.eq_any([Role::Coordinator, Role::Counselor]))
        .select((users::id, users::role, users::specialties))
        .load(conn)?;
    let mut acting = Vec::new();
    for (id, role, specialties) in staff {
        if role == Role::Coordinator || specialties.0.contains(&specialty) {
            acting.push(id);
        }
    }
    Ok(acting)
}

fn active(conn: &mut DbConnection, user_id: UserId) -> QueryResult<Vec<UserId>> {
    users::table.filter(users::id.eq(user_id)).filter(users::active.eq(true)).select(users::id).load(conn)
}

/// Who is told of `event`; `users` only when e-mail is on, for which `referrals` holds the
/// service and sender of the round's referrals (`referral_parties`).
fn audience(
    conn: &mut DbConnection,
    event: &EventRow,
    data: &EventData,
    email: bool,
    referrals: &HashMap<Id, ReferralParties>,
) -> QueryResult<Audience> {
    let mut audience = Audience { organisations: Vec::new(), webhook: None, users: Vec::new() };
    match event.event_type {
        EventType::WebhookTest => audience.webhook = data.webhook_id,
        EventType::DeadlineDueSoon => {
            if let Some(organisation_id) = data.organisation_id {
                audience.organisations.push(organisation_id);
                if email {
                    audience.users = staff_who_act(conn, organisation_id, SessionKind::Legal)?;
                }
            }
        }
        _ => {
            // A referral's event names both its organisations.
            audience.organisations = data.from_organisation_id.into_iter().chain(data.to_organisation_id).collect();
            if email
                && let Some(&(service, sender)) = referrals.get(&event.subject_id)
                && let Some(to) = data.to_organisation_id
            {
                audience.users = match event.event_type {
                    // The answer goes to whoever sent the referral.
                    EventType::ReferralAccepted
                    | EventType::ReferralDeclined
                    | EventType::ReferralCompleted
                    | EventType::ReferralExpired => active(conn, sender)?,
                    // The rest asks the receiving organisation to act, or tells it to stop.
                    _ => staff_who_act(conn, to, service)?,
                };
            }
        }
    }
    Ok(audience)
}

/// A referral's service and who sent it.
type ReferralParties = (SessionKind, UserId);

/// The service and sender of the referrals that `events` are about, read in one query.
fn referral_parties(conn: &mut DbConnection, events: &[EventRow]) -> QueryResult<HashMap<Id, ReferralParties>> {
    let about_referrals: Vec<ReferralId> = events
        .iter()
        .filter(|event| !matches!(event.event_type, EventType::WebhookTest | EventType::DeadlineDueSoon))
        .map(|event| event.subject_id.of())
        .collect();
    if about_referrals.is_empty() {
        return Ok(HashMap::new());
    }
    let rows: Vec<(ReferralId, SessionKind, UserId)> = referrals::table
        .filter(referrals::id.eq_any(&about_referrals))
        .select((referrals::id, referrals::service, referrals::created_by))
        .load(conn)?;
    Ok(rows.into_iter().map(|(id, service, sender)| (id.any(), (service, sender))).collect())
}

/// The users among `candidates` who have not turned off e-mail about `event_type`.
fn wanting_email(conn: &mut DbConnection, candidates: Vec<UserId>, event_type: EventType) -> QueryResult<Vec<UserId>> {
    if candidates.is_empty() {
        return Ok(candidates);
    }
    let settings: Vec<(UserId, List<EventType>)> = notification_settings::table
        .filter(notification_settings::user_id.eq_any(&candidates))
        .select((notification_settings::user_id, notification_settings::email_off))
        .load(conn)?;
    let mut muted = Vec::new();
    for (user_id, off) in settings {
        if off.0.contains(&event_type) {
            muted.push(user_id);
        }
    }
    Ok(candidates.into_iter().filter(|id| !muted.contains(id)).collect())
}

/// The active webhooks of the organisations met in a round, read once per organisation, and
/// where each delivers.
#[derive(Default)]
struct Subscriptions {
    by_organisation: HashMap<OrganisationId, Vec<(WebhookId, List<EventType>)>>,
    endpoints: HashMap<WebhookId, Recipient>,
}

/// A webhook's columns that an attempt needs.
type Endpoint = (WebhookId, String, String, Vec<u8>);

const ENDPOINT: (webhooks::id, webhooks::url, webhooks::secret_master_key_id, webhooks::secret_sealed) =
    (webhooks::id, webhooks::url, webhooks::secret_master_key_id, webhooks::secret_sealed);

fn recipient((id, url, master_key_id, sealed_secret): Endpoint) -> (WebhookId, Recipient) {
    (id, Recipient::Webhook { id, url, master_key_id, sealed_secret })
}

impl Subscriptions {
    /// The active webhooks of `audience` that asked for an event of `event_type`.
    fn asking(
        &mut self,
        conn: &mut DbConnection,
        audience: &Audience,
        event_type: EventType,
    ) -> QueryResult<Vec<WebhookId>> {
        if let Some(webhook_id) = audience.webhook {
            let found: Vec<Endpoint> = webhooks::table.find(webhook_id).select(ENDPOINT).load(conn)?;
            self.endpoints.extend(found.into_iter().map(recipient));
            return Ok(self.endpoints.contains_key(&webhook_id).then_some(webhook_id).into_iter().collect());
        }
        let mut ids = Vec::new();
        for (i, organisation_id) in audience.organisations.iter().enumerate() {
            if audience.organisations[..i].contains(organisation_id) {
                continue;
            }
            let hooks = match self.by_organisation.entry(*organisation_id) {
                Entry::Occupied(known) => known.into_mut(),
                Entry::Vacant(unknown) => {
                    let rows: Vec<(Endpoint, List<EventType>)> = webhooks::table
                        .filter(webhooks::organisation_id.eq(organisation_id))
                        .filter(webhooks::active.eq(true))
                        .select((ENDPOINT, webhooks::event_types))
                        .load(conn)?;
                    let mut hooks = Vec::with_capacity(rows.len());
                    for (endpoint, types) in rows {
                        let (id, endpoint) = recipient(endpoint);
                        hooks.push((id, types));
                        self.endpoints.insert(id, endpoint);
                    }
                    unknown.insert(hooks)
                }
            };
            ids.extend(hooks.iter().filter(|(_, types)| types.0.contains(&event_type)).map(|(id, _)| *id));
        }
        Ok(ids)
    }
}

/// Deliveries written by one insert: 12 columns each, well within SQLite's 32 766 bound variables.
const INSERT_CHUNK: usize = 500;

/// Events waiting to be fanned out: not fanned out yet, and not leased to an instance that is
/// attempting their first deliveries.
#[diesel::dsl::auto_type]
fn waiting(now: NaiveDateTime) -> _ {
    outbox_events::fanned_out_at
        .is_null()
        .and(outbox_events::leased_until.is_null().or(outbox_events::leased_until.le(now)))
}

/// Up to `limit` waiting events, oldest first, locked for this transaction (other instances
/// skip them).
fn take_events(conn: &mut DbConnection, limit: i64, now: NaiveDateTime) -> QueryResult<Vec<EventRow>> {
    let query = outbox_events::table.filter(waiting(now)).order(outbox_events::occurred_at).limit(limit).select(EVENT);
    match conn {
        DbConnection::Postgres(pg) => query.for_update().skip_locked().load(pg),
        DbConnection::Sqlite(sqlite) => query.load(sqlite),
    }
}

/// Deliveries still to be made, written exactly as the predicate of the partial index
/// `deliveries_due`, so that both databases answer the dispatcher's look and claim from it. (With
/// the status bound, PostgreSQL's generic plan guessed that a third of the deliveries match and
/// read the table from its start for one, all of it when nothing was due.)
const PENDING: &str = "deliveries.status = 'pending'";

/// One round's writes, in one transaction: the outcomes of the round before (when it left them
/// to this one), waiting events fanned out, and up to `limit` deliveries claimed for this
/// instance to attempt now — the new ones first, then those due. A new delivery is not written
/// until its first attempt is over: its event is leased for `lease` instead, and the delivery is
/// written with what became of the attempt (`write_outcomes`), under an id derived from the
/// event and the webhook or user, so that an event fanned out again after an instance died
/// mid-attempt gives its deliveries the ids (and `webhook-id`s) they had. A due delivery has its
/// attempt counted and its next attempt moved `lease` ahead. Other instances skip past what a
/// round takes. New deliveries take the round's room only: an event whose deliveries would not
/// fit waits for the next round. When deliveries are due, new ones take at most half the round,
/// so that a stream of new events does not hold retries back. Returns whether more is waiting
/// (events left for the next round, or a round claimed full), and the claimed attempts. With
/// `email` off (no mail server configured) nobody is e-mailed.
pub fn take_round(
    conn: &mut DbConnection,
    before: Option<&RoundOutcomes>,
    email: bool,
    lease: TimeDelta,
    limit: i64,
) -> QueryResult<(bool, Vec<Attempt>)> {
    // A look first, so that an idle outbox takes no write lock.
    let now = db::now().naive_utc();
    let waiting = outbox_events::table.filter(waiting(now)).select(outbox_events::id);
    let due = deliveries::table
        .filter(diesel::dsl::sql::<Bool>(PENDING))
        .filter(deliveries::next_attempt_at.le(now))
        .select(deliveries::id);
    let (waiting, due): (bool, bool) =
        Prepared(diesel::select((diesel::dsl::exists(waiting), diesel::dsl::exists(due)))).get_result(conn)?;
    if !waiting && !due {
        if let Some(before) = before {
            record_round(conn, before)?;
        }
        return Ok((false, Vec::new()));
    }
    let (events_left, claimed, known) = db::transaction(conn, |conn| {
        if let Some(before) = before {
            write_outcomes(conn, before)?;
        }
        let room = if due { limit / 2 } else { limit };
        let (events_left, mut claimed, known) =
            if waiting { fan_out(conn, email, room, lease)? } else { (false, Vec::new(), Known::default()) };
        let left = limit - claimed.len() as i64;
        if due && left > 0 {
            claimed.extend(claim(conn, lease, left)?);
        }
        Ok::<_, diesel::result::Error>((events_left, claimed, known))
    })?;
    let more = events_left || claimed.len() as i64 >= limit;
    Ok((more, attempts(conn, claimed, known)?))
}

/// What a round has read already of its claimed deliveries' events and webhooks.
#[derive(Default)]
struct Known {
    events: HashMap<OutboxEventId, EventRow>,
    webhooks: HashMap<WebhookId, Recipient>,
}

/// Fans waiting events out, as long as their deliveries fit in `room` (an event with more
/// deliveries than that is taken alone; its deliveries beyond `room` are written now, due at
/// once, for a later round or `claim`). It reads no more events than `room`: each one nearly
/// always has a delivery, and the rest wait for the next round, which follows at once. Events
/// with deliveries to attempt are leased; those without any are fanned out to nobody. Returns
/// whether events may be left waiting, the new deliveries claimed, and the events and webhooks
/// they need.
fn fan_out(
    conn: &mut DbConnection,
    email: bool,
    room: i64,
    lease: TimeDelta,
) -> QueryResult<(bool, Vec<Claimed>, Known)> {
    let room = room.max(1);
    let now = db::now().naive_utc();
    let mut events = take_events(conn, room, now)?;
    let events_left = events.len() as i64 == room;
    let referrals = if email { referral_parties(conn, &events)? } else { HashMap::new() };
    let mut subscriptions = Subscriptions::default();
    let room = usize::try_from(room).unwrap_or(1);
    let mut targets = Vec::new();
    let mut told_nobody = Vec::new();
    let mut taken = 0;
    for event in &events {
        let data = event.data()?;
        let audience = audience(conn, event, &data, email, &referrals)?;
        let hooks = subscriptions.asking(conn, &audience, event.event_type)?;
        let people = if email { wanting_email(conn, audience.users, event.event_type)? } else { Vec::new() };
        let to: Vec<_> = hooks
            .into_iter()
            .map(|id| (Some(id), None, id.any()))
            .chain(people.into_iter().map(|id| (None, Some(id), id.any())))
            .collect();
        if !targets.is_empty() && targets.len() + to.len() > room {
            break;
        }
        if to.is_empty() {
            told_nobody.push(event.id);
        }
        targets.extend(to.into_iter().map(|(webhook_id, user_id, target)| Claimed {
            delivery_id: DeliveryId::derived(event.id.any(), target),
            before: 0,
            created_at: now,
            webhook_id,
            user_id,
            event_id: event.id,
            written: false,
        }));
        taken += 1;
    }
    let events_left = events_left || taken < events.len();
    events.truncate(taken);
    let later = targets.split_off(targets.len().min(room));
    let rows: Vec<_> = later
        .iter()
        .map(|d| NewDelivery { attempts: 0, next_attempt_at: now, last_attempt_at: None, ..NewDelivery::of(d) })
        .collect();
    insert_deliveries(conn, &rows)?;
    let leased: Vec<OutboxEventId> =
        events.iter().map(|event| event.id).filter(|id| !told_nobody.contains(id)).collect();
    lease_events(conn, &leased, now + lease)?;
    if !told_nobody.is_empty() {
        mark_fanned_out(conn, &told_nobody, now)?;
    }
    let known = Known {
        events: events.into_iter().map(|event| (event.id, event)).collect(),
        webhooks: subscriptions.endpoints,
    };
    Ok((events_left, targets, known))
}

/// A delivery's row, as written.
#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = deliveries)]
struct NewDelivery {
    id: DeliveryId,
    event_id: OutboxEventId,
    webhook_id: Option<WebhookId>,
    user_id: Option<UserId>,
    status: DeliveryStatus,
    attempts: i32,
    next_attempt_at: NaiveDateTime,
    last_attempt_at: Option<NaiveDateTime>,
    last_response_code: Option<i32>,
    last_error: Option<String>,
    delivered_at: Option<NaiveDateTime>,
    created_at: NaiveDateTime,
}

impl NewDelivery {
    /// A delivery attempted once, at its creation.
    fn of(claimed: &Claimed) -> Self {
        Self {
            id: claimed.delivery_id,
            event_id: claimed.event_id,
            webhook_id: claimed.webhook_id,
            user_id: claimed.user_id,
            status: DeliveryStatus::Pending,
            attempts: 1,
            next_attempt_at: claimed.created_at,
            last_attempt_at: Some(claimed.created_at),
            last_response_code: None,
            last_error: None,
            delivered_at: None,
            created_at: claimed.created_at,
        }
    }
}

/// Writes deliveries in few statements, per backend (the multi-backend connection has no
/// multi-row insert); a delivery written already (by an instance that fanned its event out
/// again after this one's lease ran out) is left as it is.
fn insert_deliveries(conn: &mut DbConnection, rows: &[NewDelivery]) -> QueryResult<()> {
    for chunk in rows.chunks(INSERT_CHUNK) {
        match conn {
            DbConnection::Postgres(pg) => {
                diesel::insert_into(deliveries::table).values(chunk).on_conflict_do_nothing().execute(pg)?
            }
            // SQLite's way for many rows at once (its upsert clause does not follow a multi-row
            // insert); the rows are built here, so a key is the only constraint they can meet.
            DbConnection::Sqlite(sqlite) => {
                diesel::insert_or_ignore_into(deliveries::table).values(chunk).execute(sqlite)?
            }
        };
    }
    Ok(())
}

/// Where one attempt goes.
#[derive(Debug, Clone)]
pub enum Recipient {
    Webhook { id: WebhookId, url: String, master_key_id: String, sealed_secret: Vec<u8> },
    Email { address: String, language: Language },
}

/// One attempt of one delivery, as claimed.
#[derive(Debug, Clone)]
pub struct Attempt {
    /// The delivery and what `write_outcomes` needs of it.
    pub delivery: Claimed,
    /// This attempt's number (the first is 1).
    pub number: i32,
    pub event: EventRow,
    pub recipient: Recipient,
}

/// A delivery claimed for an attempt.
#[derive(Debug, Clone, Copy)]
pub struct Claimed {
    pub delivery_id: DeliveryId,
    /// Attempts before this one.
    before: i32,
    pub created_at: NaiveDateTime,
    webhook_id: Option<WebhookId>,
    user_id: Option<UserId>,
    event_id: OutboxEventId,
    /// Whether its row is written (a retry), or is to be written with this first attempt.
    written: bool,
}

/// Claims up to `limit` deliveries that are due: each gets its attempt counted and its next
/// attempt moved `lease` ahead (inside `take_round`'s transaction, which other instances skip
/// past).
fn claim(conn: &mut DbConnection, lease: TimeDelta, limit: i64) -> QueryResult<Vec<Claimed>> {
    let now = db::now().naive_utc();
    let query = deliveries::table
        .filter(diesel::dsl::sql::<Bool>(PENDING))
        .filter(deliveries::next_attempt_at.le(now))
        .order(deliveries::next_attempt_at)
        .limit(limit)
        .select((
            deliveries::id,
            deliveries::attempts,
            deliveries::created_at,
            deliveries::webhook_id,
            deliveries::user_id,
            deliveries::event_id,
        ));
    type Row = (DeliveryId, i32, NaiveDateTime, Option<WebhookId>, Option<UserId>, OutboxEventId);
    let due: Vec<Row> = match conn {
        DbConnection::Postgres(pg) => query.for_update().skip_locked().load(pg)?,
        DbConnection::Sqlite(sqlite) => query.load(sqlite)?,
    };
    let ids: Vec<DeliveryId> = due.iter().map(|d| d.0).collect();
    diesel::update(deliveries::table.filter(deliveries::id.eq_any(&ids)))
        .set((
            deliveries::attempts.eq(deliveries::attempts + 1),
            deliveries::last_attempt_at.eq(now),
            deliveries::next_attempt_at.eq(now + lease),
        ))
        .execute(conn)?;
    Ok(due
        .into_iter()
        .map(|(delivery_id, before, created_at, webhook_id, user_id, event_id)| Claimed {
            delivery_id,
            before,
            created_at,
            webhook_id,
            user_id,
            event_id,
            written: true,
        })
        .collect())
}

/// The attempts of claimed deliveries, with what they need and the round has not read yet read
/// in one query per table.
fn attempts(conn: &mut DbConnection, claimed: Vec<Claimed>, known: Known) -> QueryResult<Vec<Attempt>> {
    let Known { mut events, webhooks: mut hooks } = known;
    let unread_events: Vec<OutboxEventId> =
        claimed.iter().map(|c| c.event_id).filter(|id| !events.contains_key(id)).collect();
    if !unread_events.is_empty() {
        let rows: Vec<EventRow> =
            outbox_events::table.filter(outbox_events::id.eq_any(&unread_events)).select(EVENT).load(conn)?;
        events.extend(rows.into_iter().map(|event| (event.id, event)));
    }
    let unread_hooks: Vec<WebhookId> =
        claimed.iter().filter_map(|c| c.webhook_id).filter(|id| !hooks.contains_key(id)).collect();
    if !unread_hooks.is_empty() {
        let rows: Vec<Endpoint> =
            webhooks::table.filter(webhooks::id.eq_any(&unread_hooks)).select(ENDPOINT).load(conn)?;
        hooks.extend(rows.into_iter().map(recipient));
    }
    let user_ids: Vec<UserId> = claimed.iter().filter(|c| c.webhook_id.is_none()).filter_map(|c| c.user_id).collect();
    let mut people: HashMap<UserId, (String, Language)> = HashMap::new();
    if !user_ids.is_empty() {
        let languages: HashMap<UserId, Language> = notification_settings::table
            .filter(notification_settings::user_id.eq_any(&user_ids))
            .select((notification_settings::user_id, notification_settings::language))
            .load::<(UserId, Language)>(conn)?
            .into_iter()
            .collect();
        let addresses: Vec<(UserId, String)> =
            users::table.filter(users::id.eq_any(&user_ids)).select((users::id, users::email)).load(conn)?;
        people.extend(addresses.into_iter().map(|(id, address)| {
            let language = languages.get(&id).copied().unwrap_or_default();
            (id, (address, language))
        }));
    }
    let mut attempts = Vec::with_capacity(claimed.len());
    for delivery in claimed {
        let event = events.get(&delivery.event_id).cloned().ok_or(diesel::result::Error::NotFound)?;
        let recipient = match (delivery.webhook_id, delivery.user_id) {
            (Some(webhook_id), _) => hooks.get(&webhook_id).cloned().ok_or(diesel::result::Error::NotFound)?,
            (None, Some(user_id)) => {
                let (address, language) = people.get(&user_id).cloned().ok_or(diesel::result::Error::NotFound)?;
                Recipient::Email { address, language }
            }
            (None, None) => continue,
        };
        attempts.push(Attempt { number: delivery.before + 1, delivery, event, recipient });
    }
    Ok(attempts)
}

/// What became of an attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Delivered {
        code: Option<i32>,
    },
    /// Try again at `next`.
    Retry {
        code: Option<i32>,
        error: String,
        next: NaiveDateTime,
    },
    /// No more attempts (retried for long enough).
    Failed {
        code: Option<i32>,
        error: String,
    },
    /// The receiver answered 410 Gone: the webhook is disabled and its waiting deliveries fail.
    Gone {
        webhook_id: WebhookId,
    },
}

const GONE: &str = "the receiver answered 410 Gone: the webhook is disabled";

/// What became of a round's attempts, and when.
#[derive(Debug, Clone)]
pub struct RoundOutcomes {
    pub at: NaiveDateTime,
    pub outcomes: Vec<(Claimed, Outcome)>,
}

/// Records a round's outcomes in a transaction of their own.
pub fn record_round(conn: &mut DbConnection, round: &RoundOutcomes) -> QueryResult<()> {
    db::transaction(conn, |conn| write_outcomes(conn, round))
}

/// Writes a round's outcomes: the deliveries attempted for the first time are written with
/// theirs (and their events are fanned out); of the others, those that went through in one
/// statement per response code, the rest one by one.
fn write_outcomes(conn: &mut DbConnection, round: &RoundOutcomes) -> QueryResult<()> {
    let at = round.at;
    let mut new = Vec::new();
    let mut fanned_out = Vec::new();
    let mut delivered: HashMap<Option<i32>, Vec<DeliveryId>> = HashMap::new();
    let mut gone = Vec::new();
    for (delivery, outcome) in &round.outcomes {
        if let Outcome::Gone { webhook_id } = outcome
            && !gone.contains(webhook_id)
        {
            gone.push(*webhook_id);
        }
        if !delivery.written {
            new.push(first_attempted(delivery, outcome, at));
            if !fanned_out.contains(&delivery.event_id) {
                fanned_out.push(delivery.event_id);
            }
            continue;
        }
        match outcome {
            Outcome::Delivered { code } => delivered.entry(*code).or_default().push(delivery.delivery_id),
            _ => record(conn, delivery.delivery_id, outcome, at)?,
        }
    }
    insert_deliveries(conn, &new)?;
    if !fanned_out.is_empty() {
        mark_fanned_out(conn, &fanned_out, at)?;
    }
    for (code, ids) in delivered {
        mark_delivered(conn, &ids, code, at)?;
    }
    for webhook_id in gone {
        disable_gone(conn, webhook_id, at)?;
    }
    Ok(())
}

/// Leases events to this instance until `until`, while their first deliveries are attempted.
fn lease_events(conn: &mut DbConnection, events: &[OutboxEventId], until: NaiveDateTime) -> QueryResult<()> {
    let update = diesel::update(outbox_events::table.filter(outbox_events::id.eq_any(events)))
        .set(outbox_events::leased_until.eq(until))
        .returning(outbox_events::id);
    Prepared(update).load::<OutboxEventId>(conn).map(drop)
}

/// Marks events fanned out: their deliveries are written, or they had none.
fn mark_fanned_out(conn: &mut DbConnection, events: &[OutboxEventId], at: NaiveDateTime) -> QueryResult<()> {
    let update = diesel::update(outbox_events::table.filter(outbox_events::id.eq_any(events)))
        .set(outbox_events::fanned_out_at.eq(at))
        .returning(outbox_events::id);
    Prepared(update).load::<OutboxEventId>(conn).map(drop)
}

/// A delivery's row after its first attempt.
fn first_attempted(delivery: &Claimed, outcome: &Outcome, at: NaiveDateTime) -> NewDelivery {
    let row = NewDelivery::of(delivery);
    match outcome {
        Outcome::Delivered { code } => {
            NewDelivery { status: DeliveryStatus::Delivered, last_response_code: *code, delivered_at: Some(at), ..row }
        }
        Outcome::Retry { code, error, next } => {
            NewDelivery { last_response_code: *code, last_error: Some(error.clone()), next_attempt_at: *next, ..row }
        }
        Outcome::Failed { code, error } => NewDelivery {
            status: DeliveryStatus::Failed,
            last_response_code: *code,
            last_error: Some(error.clone()),
            ..row
        },
        Outcome::Gone { .. } => NewDelivery {
            status: DeliveryStatus::Failed,
            last_response_code: Some(410),
            last_error: Some(GONE.to_owned()),
            ..row
        },
    }
}

fn mark_delivered(
    conn: &mut DbConnection,
    ids: &[DeliveryId],
    code: Option<i32>,
    at: NaiveDateTime,
) -> QueryResult<()> {
    diesel::update(deliveries::table.filter(deliveries::id.eq_any(ids)))
        .set((
            deliveries::status.eq(DeliveryStatus::Delivered),
            deliveries::last_response_code.eq(code),
            deliveries::last_error.eq(None::<String>),
            deliveries::delivered_at.eq(at),
        ))
        .execute(conn)
        .map(drop)
}

/// Records what became of a retry at `at` (`disable_gone` does the rest of a 410).
fn record(conn: &mut DbConnection, delivery_id: DeliveryId, outcome: &Outcome, at: NaiveDateTime) -> QueryResult<()> {
    let target = deliveries::table.find(delivery_id);
    let (status, code, error, next) = match outcome {
        Outcome::Delivered { code } => return mark_delivered(conn, &[delivery_id], *code, at),
        Outcome::Retry { code, error, next } => (DeliveryStatus::Pending, *code, error.as_str(), Some(*next)),
        Outcome::Failed { code, error } => (DeliveryStatus::Failed, *code, error.as_str(), None),
        Outcome::Gone { .. } => (DeliveryStatus::Failed, Some(410), GONE, None),
    };
    match next {
        Some(next) => diesel::update(target)
            .set((
                deliveries::last_response_code.eq(code),
                deliveries::last_error.eq(error),
                deliveries::next_attempt_at.eq(next),
            ))
            .execute(conn),
        None => diesel::update(target)
            .set((
                deliveries::status.eq(status),
                deliveries::last_response_code.eq(code),
                deliveries::last_error.eq(error),
            ))
            .execute(conn),
    }
    .map(drop)
}

/// A webhook whose receiver answered 410 Gone: disabled, and its waiting deliveries failed.
fn disable_gone(conn: &mut DbConnection, webhook_id: WebhookId, at: NaiveDateTime) -> QueryResult<()> {
    diesel::update(webhooks::table.find(webhook_id).filter(webhooks::active.eq(true)))
        .set((
            webhooks::active.eq(false),
            webhooks::disabled_reason.eq("gone"),
            webhooks::updated_at.eq(at),
            webhooks::version.eq(webhooks::version + 1),
        ))
        .execute(conn)?;
    diesel::update(
        deliveries::table
            .filter(deliveries::webhook_id.eq(webhook_id))
            .filter(deliveries::status.eq(DeliveryStatus::Pending)),
    )
    .set(deliveries::status.eq(DeliveryStatus::Failed))
    .execute(conn)
    .map(drop)
}

/// How much is waiting, delivered and failed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Status {
    /// Events not yet fanned out into deliveries (or whose first deliveries are being attempted).
    pub events_waiting: i64,
    pub pending: i64,
    pub delivered: i64,
    pub failed: i64,
}

pub fn status(conn: &mut DbConnection) -> QueryResult<Status> {
    let events_waiting =
        outbox_events::table.filter(outbox_events::fanned_out_at.is_null()).count().get_result(conn)?;
    let counts: Vec<(DeliveryStatus, i64)> = deliveries::table
        .group_by(deliveries::status)
        .select((deliveries::status, diesel::dsl::count_star()))
        .load(conn)?;
    let count = |wanted| counts.iter().find(|(status, _)| *status == wanted).map_or(0, |(_, n)| *n);
    Ok(Status {
        events_waiting,
        pending: count(DeliveryStatus::Pending),
        delivered: count(DeliveryStatus::Delivered),
        failed: count(DeliveryStatus::Failed),
    })
}

/// How long delivered and failed deliveries stay in the log, with their events.
pub const KEPT_FOR: TimeDelta = TimeDelta::days(30);

/// Removes finished deliveries older than `KEPT_FOR`, and the events left without any.
pub fn purge(conn: &mut DbConnection) -> QueryResult<usize> {
    let before = db::now().naive_utc() - KEPT_FOR;
    db::transaction(conn, |conn| {
        let removed = diesel::delete(
            deliveries::table
                .filter(deliveries::status.ne(DeliveryStatus::Pending))
                .filter(deliveries::created_at.lt(before)),
        )
        .execute(conn)?;
        let still_delivering = deliveries::table.select(deliveries::event_id);
        diesel::delete(
            outbox_events::table
                .filter(outbox_events::fanned_out_at.lt(before))
                .filter(outbox_events::id.ne_all(still_delivering)),
        )
        .execute(conn)?;
        Ok(removed)
    })
}
