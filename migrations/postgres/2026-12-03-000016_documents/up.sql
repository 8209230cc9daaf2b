-- Documents of a client's case file (decisions, identity papers, signed consents). The bytes
-- live in the document store, sealed chunk by chunk with the client's data key; this table holds
-- the metadata and where the sealed object is.
CREATE TABLE documents (
    id TEXT PRIMARY KEY NOT NULL,
    organisation_id TEXT NOT NULL REFERENCES organisations (id),
    client_id TEXT NOT NULL REFERENCES clients (id),
    kind TEXT NOT NULL,
    title TEXT NOT NULL,
    issued_on DATE,
    language TEXT,
    procedure_event_id TEXT REFERENCES procedure_events (id),
    consent_id TEXT REFERENCES consents (id),
    -- No foreign key: a session may be deleted (within a day of logging it), and the document
    -- keeps the tier it was given.
    session_id TEXT,
    -- Whether the document belongs to the psychological tier (linked to a psychological
    -- session), and that session's author, who sees it as the tier's rule says.
    psychological BOOLEAN NOT NULL,
    session_counselor_id TEXT,
    sha256 TEXT NOT NULL,
    size_bytes BIGINT NOT NULL,
    content_type TEXT NOT NULL,
    chunk_size INTEGER NOT NULL,
    storage_key TEXT NOT NULL,
    uploaded_by TEXT NOT NULL REFERENCES users (id),
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    version INTEGER NOT NULL DEFAULT 1,
    deleted_at TIMESTAMP,
    deleted_by TEXT,
    -- When the stored bytes are to be destroyed (after the retention period of a deleted
    -- document, at once for an erased client), and when they were.
    purge_after TIMESTAMP,
    bytes_destroyed_at TIMESTAMP
);
CREATE INDEX documents_by_client ON documents (client_id, id);
CREATE INDEX documents_to_purge ON documents (purge_after) WHERE bytes_destroyed_at IS NULL AND purge_after IS NOT NULL;

-- The documents the sender of a referral chose to share with the partner; the partner sees
-- them only while the referral is open and the client's consent covers documents.
CREATE TABLE referral_documents (
    referral_id TEXT NOT NULL REFERENCES referrals (id),
    document_id TEXT NOT NULL REFERENCES documents (id),
    PRIMARY KEY (referral_id, document_id)
);
CREATE INDEX referral_documents_by_document ON referral_documents (document_id);
