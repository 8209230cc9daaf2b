//! Client data keys in the database.

use std::collections::HashMap;

use diesel::prelude::*;

use super::{CryptoError, DataKey, MasterKeys};
use crate::db::schema::client_keys;
use crate::db::{self, ClientId, DbConnection};

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error(transparent)]
    Database(#[from] diesel::result::Error),
    #[error(transparent)]
    Crypto(#[from] CryptoError),
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = client_keys)]
struct ClientKeyRow {
    client_id: ClientId,
    master_key_id: String,
    wrapped_key: Vec<u8>,
}

fn load(conn: &mut DbConnection, client_id: ClientId) -> QueryResult<Option<ClientKeyRow>> {
    client_keys::table.find(client_id).select(ClientKeyRow::as_select()).first(conn).optional()
}

/// The client's data key, if it has one (it has none before its first notes, or after erasure).
pub fn existing(
    conn: &mut DbConnection,
    master: &MasterKeys,
    client_id: ClientId,
) -> Result<Option<DataKey>, KeyError> {
    match load(conn, client_id)? {
        Some(row) => Ok(Some(master.unwrap(&row.master_key_id, client_id, &row.wrapped_key)?)),
        None => Ok(None),
    }
}

/// The data keys one request opens, each unwrapped at most once however many of the client's
/// sessions it reads.
pub struct KeyRing<'a> {
    master: &'a MasterKeys,
    opened: HashMap<ClientId, Option<DataKey>>,
}

impl<'a> KeyRing<'a> {
    pub fn new(master: &'a MasterKeys) -> Self {
        Self { master, opened: HashMap::new() }
    }

    /// The client's data key; `None` when it has none (before its first sealed field, after
    /// erasure) or when the stored key does not unwrap (logged): its ciphertexts are then
    /// unreadable, which the caller reports.
    pub fn existing(&mut self, conn: &mut DbConnection, client_id: ClientId) -> QueryResult<Option<&DataKey>> {
        if !self.opened.contains_key(&client_id) {
            let key = match existing(conn, self.master, client_id) {
                Ok(key) => key,
                Err(KeyError::Database(error)) => return Err(error),
                Err(KeyError::Crypto(error)) => {
                    tracing::error!(%client_id, %error, "client data key does not unwrap");
                    None
                }
            };
            self.opened.insert(client_id, key);
        }
        Ok(self.opened.get(&client_id).and_then(Option::as_ref))
    }
}

/// The client's data key, created on first use. Run inside a transaction.
pub fn for_client(conn: &mut DbConnection, master: &MasterKeys, client_id: ClientId) -> Result<DataKey, KeyError> {
    if let Some(key) = existing(conn, master, client_id)? {
        return Ok(key);
    }
    let (master_key_id, wrapped, key) = master.new_data_key(client_id)?;
    let now = db::now().naive_utc();
    // A concurrent first note may create the key first; the savepoint keeps this transaction
    // usable, and that key is then used.
    let inserted = conn.transaction(|conn| {
        diesel::insert_into(client_keys::table)
            .values((
                client_keys::client_id.eq(client_id),
                client_keys::master_key_id.eq(&master_key_id),
                client_keys::wrapped_key.eq(&wrapped),
                client_keys::created_at.eq(now),
            ))
            .execute(conn)
    });
    match inserted {
        Ok(_) => Ok(key),
        Err(_) => existing(conn, master, client_id)?.ok_or(KeyError::Database(diesel::result::Error::NotFound)),
    }
}

/// A client's data key for work that writes nothing until it ends (a document streams in
/// first): the stored key, or a new one with what `NewKey::store` saves at the end.
pub fn existing_or_new(
    conn: &mut DbConnection,
    master: &MasterKeys,
    client_id: ClientId,
) -> Result<(DataKey, Option<NewKey>), KeyError> {
    if let Some(key) = existing(conn, master, client_id)? {
        return Ok((key, None));
    }
    let (master_key_id, wrapped, key) = master.new_data_key(client_id)?;
    Ok((key, Some(NewKey { client_id, master_key_id, wrapped })))
}

/// A data key made for a client that had none, not stored yet.
pub struct NewKey {
    client_id: ClientId,
    master_key_id: String,
    wrapped: Vec<u8>,
}

impl NewKey {
    /// Stores the key; fails when another request stored one for the client meanwhile (what
    /// this key sealed could then not be read with the client's key).
    pub fn store(&self, conn: &mut DbConnection) -> QueryResult<()> {
        diesel::insert_into(client_keys::table)
            .values((
                client_keys::client_id.eq(self.client_id),
                client_keys::master_key_id.eq(&self.master_key_id),
                client_keys::wrapped_key.eq(&self.wrapped),
                client_keys::created_at.eq(db::now().naive_utc()),
            ))
            .execute(conn)
            .map(|_| ())
    }
}

/// Destroys a client's data key (erasure): this database can never decrypt its sealed fields
/// again. A backup taken before still holds the wrapped key, which opens until the master key
/// that wrapped it is destroyed.
pub fn destroy(conn: &mut DbConnection, client_id: ClientId) -> QueryResult<usize> {
    diesel::delete(client_keys::table.find(client_id)).execute(conn)
}

/// Start-up check: every master key the stored data keys name is configured, and opens them.
pub fn check_master_keys(conn: &mut DbConnection, master: &MasterKeys) -> anyhow::Result<()> {
    let ids: Vec<String> = client_keys::table.select(client_keys::master_key_id).distinct().load(conn)?;
    for id in ids {
        let sample: ClientKeyRow = client_keys::table
            .filter(client_keys::master_key_id.eq(&id))
            .select(ClientKeyRow::as_select())
            .first(conn)?;
        master.unwrap(&id, sample.client_id, &sample.wrapped_key).map_err(|error| match error {
            CryptoError::UnknownMasterKey(_) => anyhow::anyhow!(
                "stored data keys are wrapped by master key `{id}`, which CASEBRIDGE_MASTER_KEYS does not contain"
            ),
            CryptoError::Integrity => {
                anyhow::anyhow!(
                    "master key `{id}` in CASEBRIDGE_MASTER_KEYS does not open the stored data keys: wrong key"
                )
            }
            other @ CryptoError::Encryption => anyhow::anyhow!("checking master key `{id}`: {other}"),
        })?;
    }
    Ok(())
}

/// How many keys each master key id seals, by id: clients' data keys and webhooks' secrets.
pub fn count_by_master_key(conn: &mut DbConnection) -> QueryResult<Vec<(String, i64)>> {
    let mut counts: Vec<(String, i64)> = client_keys::table
        .group_by(client_keys::master_key_id)
        .select((client_keys::master_key_id, diesel::dsl::count_star()))
        .load(conn)?;
    let secrets: Vec<(String, i64)> = crate::db::schema::webhooks::table
        .group_by(crate::db::schema::webhooks::secret_master_key_id)
        .select((crate::db::schema::webhooks::secret_master_key_id, diesel::dsl::count_star()))
        .load(conn)?;
    for (id, count) in secrets {
        match counts.iter_mut().find(|(known, _)| *known == id) {
            Some((_, total)) => *total += count,
            None => counts.push((id, count)),
        }
    }
    counts.sort();
    Ok(counts)
}

/// Re-wraps up to `batch` data keys that an older master key wraps; returns how many. Each
/// batch commits on its own, so an interrupted rotation resumes where it stopped.
pub fn rotate_batch(conn: &mut DbConnection, master: &MasterKeys, batch: i64) -> Result<usize, KeyError> {
    let Some(newest) = master.newest_id().map(str::to_owned) else {
        return Ok(0);
    };
    db::transaction(conn, |conn| {
        let rows: Vec<ClientKeyRow> = client_keys::table
            .filter(client_keys::master_key_id.ne(&newest))
            .order(client_keys::client_id)
            .limit(batch)
            .select(ClientKeyRow::as_select())
            .load(conn)?;
        for row in &rows {
            let (master_key_id, wrapped) = master.rewrap(&row.master_key_id, row.client_id, &row.wrapped_key)?;
            diesel::update(client_keys::table.find(row.client_id))
                .filter(client_keys::master_key_id.eq(&row.master_key_id))
                .set((
                    client_keys::master_key_id.eq(master_key_id),
                    client_keys::wrapped_key.eq(wrapped),
                    client_keys::rotated_at.eq(Some(db::now().naive_utc())),
                ))
                .execute(conn)?;
        }
        Ok(rows.len())
    })
}
