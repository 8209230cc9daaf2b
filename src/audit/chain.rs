//! Tamper evidence: events are chained in sealing order, `hash = SHA-256(prev_hash ‖ event)`.
//! Sealing runs in the background, in batches, after the events are durable: it takes events off
//! the queue a trigger fills (`audit_pending`) and appends their links to `audit_links`; an event
//! row itself is never changed. A second sealer (another API instance) that races for the same
//! chain position fails on the links' primary key and simply tries again later.

use std::time::Duration;

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel::sql_types::Text;
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::clock::Clock;
use crate::db::schema::{audit_events, audit_links, audit_pending};
use crate::db::{self, AuditEventId, ClientId, DbConnection, DbPool, Id, OrganisationId, UserId};

/// The hash before the first event.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

const BATCH: i64 = 500;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = audit_events)]
pub struct EventRow {
    pub id: AuditEventId,
    pub at: NaiveDateTime,
    pub actor_id: Option<UserId>,
    pub organisation_id: Option<OrganisationId>,
    pub action: String,
    pub resource: String,
    pub resource_id: Option<Id>,
    pub client_id: Option<ClientId>,
    pub outcome: String,
    pub request_id: Option<String>,
    pub ip: Option<String>,
    pub tier: Option<String>,
}

/// An event's place in the chain. The event's id is kept as the event row spells it.
#[derive(Debug, Queryable, Selectable, Serialize)]
#[diesel(table_name = audit_links)]
struct Link {
    chain_index: i64,
    event_id: String,
    prev_hash: String,
    hash: String,
}

fn text(value: Option<impl ToString>) -> String {
    value.map(|v| v.to_string()).unwrap_or_default()
}

/// The hash of an event at a chain position, given the hash before it.
pub fn link_hash(prev_hash: &str, chain_index: i64, event: &EventRow) -> String {
    // Fields are separated by a byte that cannot occur in any of them (unit separator).
    let fields = [
        chain_index.to_string(),
        event.id.to_string(),
        event.at.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string(),
        text(event.actor_id),
        text(event.organisation_id),
        event.action.clone(),
        event.resource.clone(),
        text(event.resource_id),
        text(event.client_id),
        event.outcome.clone(),
        text(event.request_id.as_deref()),
        text(event.ip.as_deref()),
    ];
    let mut hasher = Sha256::new();
    hasher.update(prev_hash.as_bytes());
    // The tier is hashed only when set, so events sealed before it existed keep their hashes.
    for field in fields.iter().map(String::as_str).chain(event.tier.as_deref()) {
        hasher.update([0x1f]);
        hasher.update(field.as_bytes());
    }
    hex::encode(hasher.finalize())
}

fn head(conn: &mut DbConnection) -> QueryResult<(i64, String)> {
    let head = audit_links::table
        .order(audit_links::chain_index.desc())
        .select((audit_links::chain_index, audit_links::hash))
        .first(conn)
        .optional()?;
    Ok(head.unwrap_or_else(|| (0, GENESIS.to_owned())))
}

/// Seals up to one batch of pending events; returns how many were sealed. The batch is read
/// and hashed before the write transaction, so that (on SQLite) the write lock, which every
/// request's audit event needs, is held only while the links are written.
pub fn seal_batch(conn: &mut DbConnection) -> QueryResult<usize> {
    let start = head(conn)?;
    let pending: Vec<(i64, String, EventRow)> = audit_pending::table
        .inner_join(audit_events::table)
        .order(audit_pending::seq)
        .limit(BATCH)
        .select((audit_pending::seq, audit_pending::event_id, EventRow::as_select()))
        .load(conn)?;
    if pending.is_empty() {
        return Ok(0);
    }
    let (mut index, mut prev_hash) = start.clone();
    let mut queued = Vec::with_capacity(pending.len());
    let mut links = Vec::with_capacity(pending.len());
    for (seq, event_id, event) in pending {
        index += 1;
        let hash = link_hash(&prev_hash, index, &event);
        queued.push(seq);
        links.push(Link { chain_index: index, event_id, prev_hash, hash: hash.clone() });
        prev_hash = hash;
    }
    db::transaction(conn, |conn| {
        // Another sealer moved the chain on meanwhile: this one tries again next round.
        if head(conn)? != start {
            return Ok(0);
        }
        // Taken off the queue meanwhile (by hand, say): give the batch up rather than chain
        // events that may already be chained elsewhere.
        if write_links(conn, &queued, &links)? != links.len() {
            return Err(diesel::result::Error::NotFound);
        }
        Ok(links.len())
    })
}

/// Appends a batch's links and takes their events off the queue, links and queue entries
/// travelling as JSON parameters: the same statements to prepare and run for any batch instead of
/// one per event (diesel prepares afresh every statement with a varying number of values).
/// Returns how many events it took off the queue.
fn write_links(conn: &mut DbConnection, queued: &[i64], links: &[Link]) -> QueryResult<usize> {
    fn json(value: &impl Serialize) -> QueryResult<String> {
        serde_json::to_string(value).map_err(|e| diesel::result::Error::SerializationError(Box::new(e)))
    }
    let queued = json(&queued)?;
    let links = json(&links)?;
    match conn {
        DbConnection::Postgres(_) => diesel::sql_query(
            "WITH appended AS (INSERT INTO audit_links (chain_index, event_id, prev_hash, hash) \
                 SELECT * FROM json_to_recordset($1::json) \
                 AS link(chain_index BIGINT, event_id TEXT, prev_hash TEXT, hash TEXT)) \
             DELETE FROM audit_pending WHERE seq IN (SELECT value::bigint FROM json_array_elements_text($2::json))",
        )
        .bind::<Text, _>(links)
        .bind::<Text, _>(queued)
        .execute(conn),
        DbConnection::Sqlite(_) => {
            diesel::sql_query(
                "INSERT INTO audit_links (chain_index, event_id, prev_hash, hash) \
                 SELECT value ->> 'chain_index', value ->> 'event_id', value ->> 'prev_hash', value ->> 'hash' \
                 FROM json_each(?)",
            )
            .bind::<Text, _>(links)
            .execute(conn)?;
            diesel::sql_query("DELETE FROM audit_pending WHERE seq IN (SELECT value FROM json_each(?))")
                .bind::<Text, _>(queued)
                .execute(conn)
        }
    }
}

/// Seals everything pending now. A batch lost to another sealer (which moved the chain on
/// first) is not the end of the queue: it goes on until no queued event is left. A queue entry
/// whose event is missing is never sealed, so it does not count as left.
pub fn seal_all(conn: &mut DbConnection) -> QueryResult<usize> {
    let mut total = 0;
    loop {
        let sealed = seal_batch(conn)?;
        total += sealed;
        let lost_to_another_sealer =
            sealed == 0 && audit_pending::table.inner_join(audit_events::table).count().get_result::<i64>(conn)? > 0;
        if sealed < BATCH as usize && !lost_to_another_sealer {
            return Ok(total);
        }
    }
}

/// Keeps sealing in the background until the process ends.
pub async fn run_sealer(pool: DbPool, clock: Clock, interval: Duration) {
    db::every(pool, clock, interval, "audit sealing", |conn| Ok(seal_all(conn)?)).await
}

/// What `casebridge audit verify` found.
#[derive(Debug, PartialEq, Eq)]
pub struct Verification {
    pub sealed: u64,
    pub pending: u64,
    pub first_broken: Option<BrokenLink>,
}

#[derive(Debug, PartialEq, Eq)]
pub struct BrokenLink {
    pub chain_index: i64,
    pub event_id: String,
    pub reason: &'static str,
}

/// Walks the whole chain and reports the first link that does not hold.
pub fn verify(conn: &mut DbConnection) -> QueryResult<Verification> {
    let mut expected_index = 0i64;
    let mut prev_hash = GENESIS.to_owned();
    loop {
        let batch: Vec<(Link, Option<EventRow>)> = audit_links::table
            .left_join(audit_events::table)
            .filter(audit_links::chain_index.gt(expected_index))
            .order(audit_links::chain_index)
            .limit(BATCH)
            .select((Link::as_select(), Option::<EventRow>::as_select()))
            .load(conn)?;
        for (link, event) in &batch {
            expected_index += 1;
            let reason = match event {
                _ if link.chain_index != expected_index => Some("a link is missing before this one"),
                None => Some("the event of this link is missing"),
                Some(_) if link.prev_hash != prev_hash => Some("the link to the previous event does not match"),
                Some(event) if link.hash != link_hash(&prev_hash, link.chain_index, event) => {
                    Some("the event's content does not match its hash")
                }
                Some(_) => None,
            };
            if let Some(reason) = reason {
                return Ok(Verification {
                    sealed: (expected_index - 1) as u64,
                    pending: count_pending(conn)?,
                    first_broken: Some(BrokenLink {
                        chain_index: expected_index,
                        event_id: link.event_id.clone(),
                        reason,
                    }),
                });
            }
            prev_hash.clone_from(&link.hash);
        }
        if batch.len() < BATCH as usize {
            break;
        }
    }
    Ok(Verification { sealed: expected_index as u64, pending: count_pending(conn)?, first_broken: None })
}

/// Events not (yet) in the chain.
fn count_pending(conn: &mut DbConnection) -> QueryResult<u64> {
    let pending: i64 = audit_events::table
        .left_join(audit_links::table)
        .filter(audit_links::chain_index.is_null())
        .count()
        .get_result(conn)?;
    Ok(pending as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(tier: Option<&str>) -> EventRow {
        EventRow {
            id: "019a0000-0000-7000-8000-000000000001".parse().unwrap(),
            at: chrono::NaiveDate::from_ymd_opt(2026, 11, 1).unwrap().and_hms_opt(9, 0, 0).unwrap(),
            actor_id: None,
            organisation_id: None,
            action: "session.read".into(),
            resource: "session".into(),
            resource_id: None,
            client_id: None,
            outcome: "success".into(),
            request_id: None,
            ip: Some("127.0.0.1".into()),
            tier: tier.map(str::to_owned),
        }
    }

    #[test]
    fn an_event_without_a_tier_hashes_as_events_sealed_before_tiers_existed() {
        // The hash as sealed before the tier column: the eleven fields and the chain index.
        let mut hasher = Sha256::new();
        hasher.update(GENESIS.as_bytes());
        for field in [
            "1",
            "019a0000-0000-7000-8000-000000000001",
            "2026-11-01T09:00:00.000000Z",
            "",
            "",
            "session.read",
            "session",
            "",
            "",
            "success",
            "",
            "127.0.0.1",
        ] {
            hasher.update([0x1f]);
            hasher.update(field.as_bytes());
        }
        assert_eq!(link_hash(GENESIS, 1, &event(None)), hex::encode(hasher.finalize()));
        assert_ne!(link_hash(GENESIS, 1, &event(Some("psychological"))), link_hash(GENESIS, 1, &event(None)));
    }
}
