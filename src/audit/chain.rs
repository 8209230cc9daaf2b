//! Tamper evidence: events are chained in sealing order, `hash = SHA-256(prev_hash ‖ event)`.
//! Sealing runs in the background, in batches, after the events are durable; a second sealer
//! (another API instance) that races for the same chain position fails on the unique
//! `chain_index` and simply tries again later.

use std::time::Duration;

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel::sql_types::Text;
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::db::schema::audit_events;
use crate::db::{self, DbConnection, DbPool, Id};

/// The hash before the first event.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

const BATCH: i64 = 500;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = audit_events)]
pub struct EventRow {
    pub id: Id,
    pub at: NaiveDateTime,
    pub actor_id: Option<Id>,
    pub organisation_id: Option<Id>,
    pub action: String,
    pub resource: String,
    pub resource_id: Option<Id>,
    pub client_id: Option<Id>,
    pub outcome: String,
    pub request_id: Option<String>,
    pub ip: Option<String>,
    pub chain_index: Option<i64>,
    pub prev_hash: Option<String>,
    pub hash: Option<String>,
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
    for field in fields {
        hasher.update([0x1f]);
        hasher.update(field.as_bytes());
    }
    hex::encode(hasher.finalize())
}

fn head(conn: &mut DbConnection) -> QueryResult<(i64, String)> {
    let head = audit_events::table
        .filter(audit_events::chain_index.is_not_null())
        .order(audit_events::chain_index.desc())
        .select((audit_events::chain_index, audit_events::hash))
        .first::<(Option<i64>, Option<String>)>(conn)
        .optional()?;
    Ok(match head {
        Some((Some(index), Some(hash))) => (index, hash),
        _ => (0, GENESIS.to_owned()),
    })
}

/// Seals up to one batch of pending events; returns how many were sealed. The batch is read
/// and hashed before the write transaction, so that (on SQLite) the write lock, which every
/// request's audit event needs, is held only while the links are written.
pub fn seal_batch(conn: &mut DbConnection) -> QueryResult<usize> {
    let start = head(conn)?;
    let pending: Vec<EventRow> = audit_events::table
        .filter(audit_events::chain_index.is_null())
        .order((audit_events::at, audit_events::id))
        .limit(BATCH)
        .select(EventRow::as_select())
        .load(conn)?;
    if pending.is_empty() {
        return Ok(0);
    }
    let (mut index, mut prev_hash) = start.clone();
    let mut links = Vec::with_capacity(pending.len());
    for event in &pending {
        index += 1;
        let hash = link_hash(&prev_hash, index, event);
        links.push(Link { id: event.id, chain_index: index, prev_hash, hash: hash.clone() });
        prev_hash = hash;
    }
    db::transaction(conn, |conn| {
        // Another sealer moved the chain on meanwhile: this one tries again next round.
        if head(conn)? != start {
            return Ok(0);
        }
        // Sealed meanwhile by someone else, or stored under an id this code cannot write
        // back: give the batch up rather than chain past a link that is not there.
        if write_links(conn, &links)? != links.len() {
            return Err(diesel::result::Error::NotFound);
        }
        Ok(links.len())
    })
}

/// An event's place in the chain, as written back.
#[derive(Serialize)]
struct Link {
    id: Id,
    chain_index: i64,
    prev_hash: String,
    hash: String,
}

/// Writes a batch's links with one statement, the links travelling as one JSON parameter: one
/// statement to prepare and run per batch instead of one per event (diesel prepares every
/// `UPDATE` afresh). Returns how many still unsealed events it sealed.
fn write_links(conn: &mut DbConnection, links: &[Link]) -> QueryResult<usize> {
    let links = serde_json::to_string(links).map_err(|e| diesel::result::Error::SerializationError(Box::new(e)))?;
    let sql = match conn {
        DbConnection::Postgres(_) => {
            "UPDATE audit_events SET chain_index = link.chain_index, prev_hash = link.prev_hash, hash = link.hash \
             FROM json_to_recordset($1::json) AS link(id TEXT, chain_index BIGINT, prev_hash TEXT, hash TEXT) \
             WHERE audit_events.id = link.id AND audit_events.chain_index IS NULL"
        }
        // `+` keeps SQLite from walking the unsealed events and scanning the links for each:
        // it walks the links and finds each event by its id.
        DbConnection::Sqlite(_) => {
            "UPDATE audit_events SET chain_index = link.value ->> 'chain_index', \
             prev_hash = link.value ->> 'prev_hash', hash = link.value ->> 'hash' \
             FROM json_each(?) AS link \
             WHERE audit_events.id = link.value ->> 'id' AND +audit_events.chain_index IS NULL"
        }
    };
    diesel::sql_query(sql).bind::<Text, _>(links).execute(conn)
}

/// Seals everything pending now.
pub fn seal_all(conn: &mut DbConnection) -> QueryResult<usize> {
    let mut total = 0;
    loop {
        let sealed = seal_batch(conn)?;
        total += sealed;
        if sealed < BATCH as usize {
            return Ok(total);
        }
    }
}

/// Keeps sealing in the background until the process ends.
pub async fn run_sealer(pool: DbPool, interval: Duration) {
    db::every(pool, interval, "audit sealing", |conn| Ok(seal_all(conn)?)).await
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
    pub event_id: Id,
    pub reason: &'static str,
}

/// Walks the whole chain and reports the first link that does not hold.
pub fn verify(conn: &mut DbConnection) -> QueryResult<Verification> {
    let mut expected_index = 0i64;
    let mut prev_hash = GENESIS.to_owned();
    loop {
        let batch: Vec<EventRow> = audit_events::table
            .filter(audit_events::chain_index.gt(expected_index))
            .order(audit_events::chain_index)
            .limit(BATCH)
            .select(EventRow::as_select())
            .load(conn)?;
        for event in &batch {
            expected_index += 1;
            let index = event.chain_index.unwrap_or_default();
            let broken = |reason| BrokenLink { chain_index: expected_index, event_id: event.id, reason };
            let reason = if index != expected_index {
                Some("an event is missing before this one")
            } else if event.prev_hash.as_deref() != Some(prev_hash.as_str()) {
                Some("the link to the previous event does not match")
            } else if event.hash.as_deref() != Some(link_hash(&prev_hash, index, event).as_str()) {
                Some("the event's content does not match its hash")
            } else {
                None
            };
            if let Some(reason) = reason {
                let pending = count_pending(conn)?;
                return Ok(Verification {
                    sealed: (expected_index - 1) as u64,
                    pending,
                    first_broken: Some(broken(reason)),
                });
            }
            prev_hash = event.hash.clone().unwrap_or_default();
        }
        if batch.len() < BATCH as usize {
            break;
        }
    }
    Ok(Verification { sealed: expected_index as u64, pending: count_pending(conn)?, first_broken: None })
}

fn count_pending(conn: &mut DbConnection) -> QueryResult<u64> {
    let pending: i64 = audit_events::table.filter(audit_events::chain_index.is_null()).count().get_result(conn)?;
    Ok(pending as u64)
}
