//! A session's confidential fields at rest: notes, and summary with topics, each sealed with
//! the client's data key; and the start-up step that seals the plaintext summaries and topics
//! of databases from before they were encrypted.

use std::collections::HashMap;
use std::collections::hash_map::Entry;

use diesel::prelude::*;

use super::model::{Details, SessionDetails, SessionRow};
use crate::crypto::keys::{self, KeyError};
use crate::crypto::{CryptoError, DataKey, MasterKeys, SessionField};
use crate::db::schema::{clients, sessions};
use crate::db::{self, ClientId, DbConnection, List, SessionId};
use crate::domain::client::ClientStatus;

/// Seals the fields of one session, creating the client's data key for the first field that is
/// not empty (a session with nothing confidential needs none).
pub struct Sealer<'a> {
    master: &'a MasterKeys,
    client_id: ClientId,
    session_id: SessionId,
    key: Option<DataKey>,
}

impl<'a> Sealer<'a> {
    pub fn new(master: &'a MasterKeys, client_id: ClientId, session_id: SessionId) -> Self {
        Self { master, client_id, session_id, key: None }
    }

    fn key(&mut self, conn: &mut DbConnection) -> Result<&DataKey, KeyError> {
        Ok(match &mut self.key {
            Some(key) => key,
            slot @ None => slot.insert(keys::for_client(conn, self.master, self.client_id)?),
        })
    }

    pub fn notes(&mut self, conn: &mut DbConnection, notes: Option<&str>) -> Result<Option<Vec<u8>>, KeyError> {
        let Some(notes) = notes else { return Ok(None) };
        let session_id = self.session_id;
        Ok(Some(self.key(conn)?.seal(SessionField::Notes, session_id, notes)?))
    }

    /// `None` for a session without summary and topics.
    pub fn details(&mut self, conn: &mut DbConnection, details: &SessionDetails) -> Result<Option<Vec<u8>>, KeyError> {
        if details.is_empty() {
            return Ok(None);
        }
        let session_id = self.session_id;
        Ok(seal_details(self.key(conn)?, session_id, details)?)
    }
}

/// Summary and topics as one ciphertext; `None` for a session without either.
pub fn seal_details(
    key: &DataKey,
    session_id: SessionId,
    details: &SessionDetails,
) -> Result<Option<Vec<u8>>, CryptoError> {
    if details.is_empty() {
        return Ok(None);
    }
    let text = serde_json::to_string(details).map_err(|_| CryptoError::Encryption)?;
    key.seal(SessionField::Details, session_id, &text).map(Some)
}

/// The summary and topics of a session, decrypted with its client's key (`None`: the client has
/// no usable key). A failure is logged and reported, never returned as garbage or as empty.
pub fn open_details(key: Option<&DataKey>, row: &SessionRow) -> Details {
    let Some(sealed) = &row.details_ciphertext else {
        return Details::Shown(SessionDetails::default());
    };
    let opened = key
        .ok_or(CryptoError::Integrity)
        .and_then(|key| key.open(SessionField::Details, row.id, sealed))
        .and_then(|text| serde_json::from_str(&text).map_err(|_| CryptoError::Integrity));
    match opened {
        Ok(details) => Details::Shown(details),
        Err(_) => {
            tracing::error!(session_id = %row.id, "session summary and topics failed authentication");
            Details::Unreadable
        }
    }
}

/// Sessions sealed per transaction by the start-up step.
const PLAINTEXT_BATCH: i64 = 500;

/// Rows with plaintext left, written exactly as the predicate of the partial index
/// `sessions_details_in_clear`, so that both databases answer from the index.
const IN_CLEAR: &str = "(sessions.summary IS NOT NULL OR sessions.topics <> '[]')";

type PlaintextRow = (SessionId, ClientId, i32, List<String>, Option<String>, ClientStatus);

/// Seals the summaries and topics still held in clear (written before they were encrypted) and
/// empties those columns, a batch per transaction, so an interrupted run resumes where it
/// stopped and a second run finds nothing. Runs after migrating, wherever the master keys are at
/// hand. Returns how many sessions were sealed.
pub fn seal_plaintext_details(conn: &mut DbConnection, master: &MasterKeys) -> Result<usize, KeyError> {
    let mut total = 0;
    loop {
        let done = db::transaction(conn, |conn| seal_plaintext_batch(conn, master, PLAINTEXT_BATCH))?;
        if done == 0 {
            return Ok(total);
        }
        total += done;
    }
}

fn seal_plaintext_batch(conn: &mut DbConnection, master: &MasterKeys, batch: i64) -> Result<usize, KeyError> {
    let rows: Vec<PlaintextRow> = sessions::table
        .inner_join(clients::table.on(clients::id.eq(sessions::client_id)))
        .filter(diesel::dsl::sql::<diesel::sql_types::Bool>(IN_CLEAR))
        .order(sessions::id)
        .limit(batch)
        .select((
            sessions::id,
            sessions::client_id,
            sessions::version,
            sessions::topics,
            sessions::summary,
            clients::status,
        ))
        .load(conn)?;
    let mut opened: HashMap<ClientId, DataKey> = HashMap::new();
    for (id, client_id, version, topics, summary, status) in &rows {
        let details = SessionDetails { summary: summary.clone(), topics: topics.0.clone() };
        // An erased client's record is a tombstone: its plaintext goes, and it gets no new key.
        let sealed = if details.is_empty() || *status == ClientStatus::Erased {
            None
        } else {
            let key = match opened.entry(*client_id) {
                Entry::Occupied(entry) => entry.into_mut(),
                Entry::Vacant(entry) => entry.insert(keys::for_client(conn, master, *client_id)?),
            };
            seal_details(key, *id, &details)?
        };
        // A correction that came in meanwhile sealed the row itself; the version tells.
        diesel::update(sessions::table.find(id))
            .filter(sessions::version.eq(version))
            .set((
                sessions::details_ciphertext.eq(sealed),
                sessions::summary.eq(None::<String>),
                sessions::topics.eq("[]"),
            ))
            .execute(conn)?;
    }
    Ok(rows.len())
}

/// After migrating: the configured master keys open the stored data keys, and no summary or
/// topic is left in clear.
pub fn after_migrating(conn: &mut DbConnection, master: &MasterKeys) -> anyhow::Result<()> {
    keys::check_master_keys(conn, master)?;
    let sealed =
        seal_plaintext_details(conn, master).map_err(|e| anyhow::anyhow!("sealing stored session summaries: {e}"))?;
    if sealed > 0 {
        tracing::info!(sessions = sealed, "stored session summaries and topics sealed");
    }
    Ok(())
}
