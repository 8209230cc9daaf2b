//! A document's content at rest: cut into chunks of a fixed size, each sealed with the client's
//! data key (AES-256-GCM, a random nonce per chunk) and its place — document, index, and
//! whether it is the last — bound in as associated data. The stored object is the sealed chunks
//! one after another; the chunk size is kept with the document, so a later change of the size
//! leaves stored documents readable. Neither sealing nor opening holds more than a chunk or two.

use sha2::{Digest, Sha256};

use crate::crypto::{CHUNK_OVERHEAD, CryptoError, DataKey, DocumentChunk};
use crate::db::DocumentId;

/// Plaintext bytes per chunk.
pub const CHUNK_SIZE: usize = 64 * 1024;

/// Seals a content as it streams in. The last chunk is sealed only at `finish`, since only then
/// is it known to be the last.
pub struct ChunkSealer {
    key: DataKey,
    document_id: DocumentId,
    chunk_size: usize,
    buffer: Vec<u8>,
    index: u64,
    hasher: Sha256,
    size: u64,
}

/// A sealed content's summary: its SHA-256 (hex) and size.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sealed {
    pub sha256: String,
    pub size: u64,
}

impl ChunkSealer {
    pub fn new(key: DataKey, document_id: DocumentId, chunk_size: usize) -> Self {
        Self {
            key,
            document_id,
            chunk_size,
            buffer: Vec::with_capacity(chunk_size),
            index: 0,
            hasher: Sha256::new(),
            size: 0,
        }
    }

    pub fn size(&self) -> u64 {
        self.size
    }

    /// Takes the next bytes of the content; hands each chunk sealed meanwhile to `emit`.
    pub fn push(&mut self, mut bytes: &[u8], mut emit: impl FnMut(&[u8])) -> Result<(), CryptoError> {
        self.hasher.update(bytes);
        self.size += bytes.len() as u64;
        while !bytes.is_empty() {
            if self.buffer.len() == self.chunk_size {
                emit(&self.seal(false)?);
            }
            let take = (self.chunk_size - self.buffer.len()).min(bytes.len());
            self.buffer.extend_from_slice(&bytes[..take]);
            bytes = &bytes[take..];
        }
        Ok(())
    }

    /// Seals the last chunk (empty for an empty content) and hands it to `emit`.
    pub fn finish(mut self, mut emit: impl FnMut(&[u8])) -> Result<Sealed, CryptoError> {
        emit(&self.seal(true)?);
        Ok(Sealed { sha256: hex::encode(self.hasher.finalize()), size: self.size })
    }

    fn seal(&mut self, last: bool) -> Result<Vec<u8>, CryptoError> {
        let chunk = DocumentChunk { document_id: self.document_id, index: self.index, last };
        let sealed = self.key.seal_chunk(chunk, &self.buffer)?;
        self.buffer.clear();
        self.index += 1;
        Ok(sealed)
    }
}

/// Why a stored content cannot be given out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Tampered {
    #[error("a chunk failed authentication (altered, moved or from another document)")]
    Chunk,
    #[error("the stored object is shorter or longer than the document")]
    Length,
    #[error("the content's SHA-256 differs from the one recorded at upload")]
    Digest,
}

/// Opens a sealed content as it streams from the store, checking every chunk, the length and
/// the recorded SHA-256.
pub struct ChunkOpener {
    key: DataKey,
    document_id: DocumentId,
    chunk_size: usize,
    size: u64,
    count: u64,
    index: u64,
    buffer: Vec<u8>,
    hasher: Sha256,
    sha256: String,
}

impl ChunkOpener {
    pub fn new(key: DataKey, document_id: DocumentId, chunk_size: usize, size: u64, sha256: &str) -> Self {
        let chunk = chunk_size.max(1) as u64;
        Self {
            key,
            document_id,
            chunk_size: chunk_size.max(1),
            size,
            count: size.div_ceil(chunk).max(1),
            index: 0,
            buffer: Vec::new(),
            hasher: Sha256::new(),
            sha256: sha256.to_owned(),
        }
    }

    /// Sealed length of chunk `index`.
    fn sealed_len(&self, index: u64) -> usize {
        let plain = if index + 1 < self.count {
            self.chunk_size as u64
        } else {
            self.size - (self.count - 1) * self.chunk_size as u64
        };
        plain as usize + CHUNK_OVERHEAD
    }

    /// The length of the stored object: every chunk with its nonce and tag.
    pub fn sealed_size(&self) -> u64 {
        self.size + self.count * CHUNK_OVERHEAD as u64
    }

    /// Takes the next stored bytes; returns the plaintext of the chunks they complete.
    pub fn push(&mut self, bytes: &[u8]) -> Result<Vec<u8>, Tampered> {
        self.buffer.extend_from_slice(bytes);
        let mut plain = Vec::with_capacity(self.buffer.len());
        // Chunks are opened where they lie; what they leave is moved to the front once.
        let mut start = 0;
        while self.index < self.count && self.buffer.len() - start >= self.sealed_len(self.index) {
            let length = self.sealed_len(self.index);
            let chunk =
                DocumentChunk { document_id: self.document_id, index: self.index, last: self.index + 1 == self.count };
            let opened =
                self.key.open_chunk(chunk, &self.buffer[start..start + length]).map_err(|_| Tampered::Chunk)?;
            start += length;
            self.hasher.update(&opened);
            plain.extend_from_slice(&opened);
            self.index += 1;
        }
        self.buffer.drain(..start);
        if self.index == self.count && !self.buffer.is_empty() {
            return Err(Tampered::Length);
        }
        Ok(plain)
    }

    /// After the last stored byte: every chunk was there and the content is the one uploaded.
    pub fn finish(self) -> Result<(), Tampered> {
        if self.index != self.count || !self.buffer.is_empty() {
            return Err(Tampered::Length);
        }
        if hex::encode(self.hasher.finalize()) != self.sha256 {
            return Err(Tampered::Digest);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use secrecy::SecretBox;

    use super::*;
    use crate::crypto::MasterKeys;
    use crate::db::Id;

    fn key() -> DataKey {
        let master = MasterKeys::new(&[("k1".to_owned(), SecretBox::new(Box::new([9u8; 32])))]);
        master.new_data_key(Id::new()).unwrap().2
    }

    fn sealed(key: &DataKey, id: DocumentId, content: &[u8], chunk: usize) -> (Vec<u8>, Sealed) {
        let mut stored = Vec::new();
        let mut sealer = ChunkSealer::new(key.clone(), id, chunk);
        for piece in content.chunks(7) {
            sealer.push(piece, |c| stored.extend_from_slice(c)).unwrap();
        }
        let summary = sealer.finish(|c| stored.extend_from_slice(c)).unwrap();
        (stored, summary)
    }

    fn opened(
        key: &DataKey,
        id: DocumentId,
        stored: &[u8],
        chunk: usize,
        summary: &Sealed,
    ) -> Result<Vec<u8>, Tampered> {
        let mut opener = ChunkOpener::new(key.clone(), id, chunk, summary.size, &summary.sha256);
        let mut plain = Vec::new();
        for piece in stored.chunks(5) {
            plain.extend(opener.push(piece)?);
        }
        opener.finish()?;
        Ok(plain)
    }

    #[test]
    fn contents_of_any_length_round_trip() {
        let key = key();
        for length in [0, 1, 15, 16, 17, 48, 100] {
            let id = Id::new();
            let content: Vec<u8> = (0..length).map(|i| i as u8).collect();
            let (stored, summary) = sealed(&key, id, &content, 16);
            assert_eq!(summary.size, length as u64);
            assert_eq!(opened(&key, id, &stored, 16, &summary).unwrap(), content, "length {length}");
        }
    }

    #[test]
    fn swapped_dropped_or_foreign_chunks_are_refused() {
        let key = key();
        let id = Id::new();
        let content: Vec<u8> = (0..64).collect();
        let (stored, summary) = sealed(&key, id, &content, 16);
        let sealed_chunk = 16 + CHUNK_OVERHEAD;
        let mut swapped = stored.clone();
        let (first, rest) = swapped.split_at_mut(sealed_chunk);
        first.swap_with_slice(&mut rest[..sealed_chunk]);
        assert_eq!(opened(&key, id, &swapped, 16, &summary), Err(Tampered::Chunk));
        let truncated = &stored[..stored.len() - sealed_chunk];
        let shorter = Sealed { size: 48, ..summary.clone() };
        assert_eq!(opened(&key, id, truncated, 16, &shorter), Err(Tampered::Chunk), "a non-last chunk taken as last");
        assert_eq!(opened(&key, Id::new(), &stored, 16, &summary), Err(Tampered::Chunk));
        let mut longer = stored.clone();
        longer.push(0);
        assert_eq!(opened(&key, id, &longer, 16, &summary), Err(Tampered::Length));
        let other = Sealed { sha256: hex::encode([0u8; 32]), ..summary };
        assert_eq!(opened(&key, id, &stored, 16, &other), Err(Tampered::Digest));
    }
}
