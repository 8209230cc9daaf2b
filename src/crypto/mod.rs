//! Session contents and documents at rest (SPEC §2.5): notes, summary and topics, and the chunks
//! of stored documents, are sealed with AES-256-GCM under a data key per client, stored wrapped
//! by a master key from configuration. Key ids are stored beside every wrapped key, so master
//! keys can be rotated without touching what the data keys sealed; destroying a client's data
//! key makes its sessions' contents and documents unreadable (crypto-shredding) — in backups taken
//! before, once the master key that wrapped it there is destroyed too (README: the rotation
//! schedule).

pub mod keys;

use aes_gcm::aead::{Aead, Generate, Key, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use secrecy::{ExposeSecret, SecretBox};

use crate::db::{ClientId, DocumentId, SessionId};

const NONCE_LEN: usize = 12;

#[derive(Debug, thiserror::Error)]
pub enum CryptoError {
    #[error("master key `{0}` is not configured")]
    UnknownMasterKey(String),
    /// Wrong key, altered ciphertext, or a ciphertext moved to another record or field.
    #[error("ciphertext failed authentication")]
    Integrity,
    /// The cipher refused to encrypt; nothing may be stored then, or the text would be lost.
    #[error("encryption failed")]
    Encryption,
}

struct MasterKey {
    id: String,
    cipher: Aes256Gcm,
}

/// The configured master keys; the last one wraps new data keys.
pub struct MasterKeys {
    keys: Vec<MasterKey>,
}

fn seal(cipher: &Aes256Gcm, plaintext: &[u8], aad: &[u8]) -> Result<Vec<u8>, CryptoError> {
    let nonce = Nonce::generate();
    let ciphertext = cipher.encrypt(&nonce, Payload { msg: plaintext, aad }).map_err(|_| CryptoError::Encryption)?;
    let mut sealed = Vec::with_capacity(NONCE_LEN + ciphertext.len());
    sealed.extend_from_slice(nonce.as_slice());
    sealed.extend_from_slice(&ciphertext);
    Ok(sealed)
}

fn open(cipher: &Aes256Gcm, sealed: &[u8], aad: &[u8]) -> Result<Vec<u8>, CryptoError> {
    if sealed.len() < NONCE_LEN {
        return Err(CryptoError::Integrity);
    }
    let (nonce, ciphertext) = sealed.split_at(NONCE_LEN);
    let nonce = Nonce::try_from(nonce).map_err(|_| CryptoError::Integrity)?;
    cipher.decrypt(&nonce, Payload { msg: ciphertext, aad }).map_err(|_| CryptoError::Integrity)
}

fn secret_aad(label: &str, master_id: &str) -> Vec<u8> {
    format!("casebridge {label}|{master_id}").into_bytes()
}

fn wrapping_aad(client_id: ClientId, master_id: &str) -> Vec<u8> {
    format!("casebridge client data key|{client_id}|{master_id}").into_bytes()
}

impl MasterKeys {
    pub fn new(configured: &[(String, SecretBox<[u8; 32]>)]) -> Self {
        let keys = configured
            .iter()
            .map(|(id, key)| MasterKey {
                id: id.clone(),
                cipher: Aes256Gcm::new(&Key::<Aes256Gcm>::from(*key.expose_secret())),
            })
            .collect();
        Self { keys }
    }

    pub fn newest_id(&self) -> Option<&str> {
        self.keys.last().map(|key| key.id.as_str())
    }

    fn get(&self, id: &str) -> Result<&MasterKey, CryptoError> {
        self.keys.iter().find(|key| key.id == id).ok_or_else(|| CryptoError::UnknownMasterKey(id.to_owned()))
    }

    /// A fresh data key for a client, wrapped by the newest master key: (master key id, wrapped).
    pub fn new_data_key(&self, client_id: ClientId) -> Result<(String, Vec<u8>, DataKey), CryptoError> {
        let master = self.keys.last().ok_or_else(|| CryptoError::UnknownMasterKey("(none)".to_owned()))?;
        let key = Key::<Aes256Gcm>::generate();
        let wrapped = seal(&master.cipher, key.as_slice(), &wrapping_aad(client_id, &master.id))?;
        Ok((master.id.clone(), wrapped, DataKey(Aes256Gcm::new(&key))))
    }

    fn unwrap_bytes(&self, master_id: &str, client_id: ClientId, wrapped: &[u8]) -> Result<Vec<u8>, CryptoError> {
        let master = self.get(master_id)?;
        open(&master.cipher, wrapped, &wrapping_aad(client_id, master_id))
    }

    pub fn unwrap(&self, master_id: &str, client_id: ClientId, wrapped: &[u8]) -> Result<DataKey, CryptoError> {
        let bytes = self.unwrap_bytes(master_id, client_id, wrapped)?;
        let key = Key::<Aes256Gcm>::try_from(bytes.as_slice()).map_err(|_| CryptoError::Integrity)?;
        Ok(DataKey(Aes256Gcm::new(&key)))
    }

    /// Seals a secret of the service itself (a webhook's signing secret) under the newest master
    /// key, bound to `label`: (master key id, sealed).
    pub fn seal_secret(&self, label: &str, secret: &[u8]) -> Result<(String, Vec<u8>), CryptoError> {
        let master = self.keys.last().ok_or_else(|| CryptoError::UnknownMasterKey("(none)".to_owned()))?;
        Ok((master.id.clone(), seal(&master.cipher, secret, &secret_aad(label, &master.id))?))
    }

    pub fn open_secret(&self, master_id: &str, label: &str, sealed: &[u8]) -> Result<Vec<u8>, CryptoError> {
        open(&self.get(master_id)?.cipher, sealed, &secret_aad(label, master_id))
    }

    /// Re-wraps a data key with the newest master key (rotation); the data key stays the same.
    pub fn rewrap(
        &self,
        master_id: &str,
        client_id: ClientId,
        wrapped: &[u8],
    ) -> Result<(String, Vec<u8>), CryptoError> {
        let bytes = self.unwrap_bytes(master_id, client_id, wrapped)?;
        let newest = self.keys.last().ok_or_else(|| CryptoError::UnknownMasterKey("(none)".to_owned()))?;
        Ok((newest.id.clone(), seal(&newest.cipher, &bytes, &wrapping_aad(client_id, &newest.id))?))
    }
}

/// A client's data key, unwrapped.
#[derive(Clone)]
pub struct DataKey(Aes256Gcm);

/// Which field of a session a ciphertext holds. Its label and the session id are bound in as
/// associated data, so a ciphertext opens only as the field and on the row it was sealed for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionField {
    /// The confidential notes.
    Notes,
    /// The summary and topics, sealed together.
    Details,
}

impl SessionField {
    fn aad(self, session_id: SessionId) -> Vec<u8> {
        let label = match self {
            Self::Notes => "notes",
            Self::Details => "details",
        };
        format!("casebridge session {label}|{session_id}").into_bytes()
    }
}

/// Where a chunk of a stored document sits: the document, its position, and whether it is the
/// last one. Bound in as associated data, so a chunk opens only in its own place: chunks cannot
/// be reordered, moved to another document, or dropped from the end unnoticed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DocumentChunk {
    pub document_id: DocumentId,
    pub index: u64,
    pub last: bool,
}

impl DocumentChunk {
    fn aad(self) -> Vec<u8> {
        let position = if self.last { "last" } else { "more" };
        format!("casebridge document chunk|{}|{}|{position}", self.document_id, self.index).into_bytes()
    }
}

/// Bytes a sealed chunk adds to its plaintext: the nonce and the authentication tag.
pub const CHUNK_OVERHEAD: usize = NONCE_LEN + 16;

impl DataKey {
    /// Encrypts one field of a session with a random nonce.
    pub fn seal(&self, field: SessionField, session_id: SessionId, text: &str) -> Result<Vec<u8>, CryptoError> {
        seal(&self.0, text.as_bytes(), &field.aad(session_id))
    }

    pub fn open(&self, field: SessionField, session_id: SessionId, sealed: &[u8]) -> Result<String, CryptoError> {
        let bytes = open(&self.0, sealed, &field.aad(session_id))?;
        String::from_utf8(bytes).map_err(|_| CryptoError::Integrity)
    }

    /// Encrypts one chunk of a document with a random nonce.
    pub fn seal_chunk(&self, chunk: DocumentChunk, plaintext: &[u8]) -> Result<Vec<u8>, CryptoError> {
        seal(&self.0, plaintext, &chunk.aad())
    }

    pub fn open_chunk(&self, chunk: DocumentChunk, sealed: &[u8]) -> Result<Vec<u8>, CryptoError> {
        open(&self.0, sealed, &chunk.aad())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::Id;

    fn keys(list: &[(&str, u8)]) -> MasterKeys {
        let configured: Vec<(String, SecretBox<[u8; 32]>)> =
            list.iter().map(|(id, byte)| (id.to_string(), SecretBox::new(Box::new([*byte; 32])))).collect();
        MasterKeys::new(&configured)
    }

    #[test]
    fn notes_round_trip_and_are_bound_to_their_session() {
        let master = keys(&[("k1", 1)]);
        let client = Id::new();
        let (id, wrapped, key) = master.new_data_key(client).unwrap();
        let session = Id::new();
        let sealed = key.seal(SessionField::Notes, session, "Klientka opisuje koszmary senne.").unwrap();
        assert!(!sealed.windows(8).any(|w| w == b"koszmary"));
        let again = master.unwrap(&id, client, &wrapped).unwrap();
        assert_eq!(again.open(SessionField::Notes, session, &sealed).unwrap(), "Klientka opisuje koszmary senne.");
        assert!(
            matches!(again.open(SessionField::Notes, Id::new(), &sealed), Err(CryptoError::Integrity)),
            "moved to another row"
        );
        assert!(
            matches!(again.open(SessionField::Details, session, &sealed), Err(CryptoError::Integrity)),
            "moved to another field"
        );
        let mut tampered = sealed.clone();
        tampered[20] ^= 1;
        assert!(matches!(again.open(SessionField::Notes, session, &tampered), Err(CryptoError::Integrity)));
    }

    #[test]
    fn notes_sealed_before_summaries_were_encrypted_keep_their_label() {
        let session = Id::new();
        assert_eq!(SessionField::Notes.aad(session), format!("casebridge session notes|{session}").into_bytes());
        assert_ne!(SessionField::Details.aad(session), SessionField::Notes.aad(session));
    }

    #[test]
    fn document_chunks_open_only_in_their_own_place() {
        let master = keys(&[("k1", 1)]);
        let (_, _, key) = master.new_data_key(Id::new()).unwrap();
        let document_id = Id::new();
        let at = |index, last| DocumentChunk { document_id, index, last };
        let sealed = key.seal_chunk(at(3, false), b"decision of 2 May").unwrap();
        assert_eq!(sealed.len(), b"decision of 2 May".len() + CHUNK_OVERHEAD);
        assert_eq!(key.open_chunk(at(3, false), &sealed).unwrap(), b"decision of 2 May");
        assert!(key.open_chunk(at(2, false), &sealed).is_err(), "moved within the document");
        assert!(key.open_chunk(at(3, true), &sealed).is_err(), "taken for the last chunk");
        let elsewhere = DocumentChunk { document_id: DocumentId::new(), index: 3, last: false };
        assert!(key.open_chunk(elsewhere, &sealed).is_err(), "moved to another document");
    }

    #[test]
    fn a_wrapped_key_opens_only_with_its_master_key_and_client() {
        let master = keys(&[("k1", 1)]);
        let client = Id::new();
        let (id, wrapped, _) = master.new_data_key(client).unwrap();
        assert!(keys(&[("k1", 2)]).unwrap(&id, client, &wrapped).is_err(), "wrong master key");
        assert!(master.unwrap(&id, Id::new(), &wrapped).is_err(), "another client's row");
        assert!(matches!(master.unwrap("k0", client, &wrapped), Err(CryptoError::UnknownMasterKey(_))));
    }

    #[test]
    fn rewrapping_keeps_the_data_key() {
        let old = keys(&[("k1", 1)]);
        let both = keys(&[("k1", 1), ("k2", 2)]);
        let client = Id::new();
        let (id, wrapped, key) = old.new_data_key(client).unwrap();
        let session = Id::new();
        let sealed = key.seal(SessionField::Details, session, "summary").unwrap();
        let (new_id, rewrapped) = both.rewrap(&id, client, &wrapped).unwrap();
        assert_eq!(new_id, "k2");
        let only_new = keys(&[("k2", 2)]);
        assert_eq!(
            only_new
                .unwrap(&new_id, client, &rewrapped)
                .unwrap()
                .open(SessionField::Details, session, &sealed)
                .unwrap(),
            "summary"
        );
    }
}
