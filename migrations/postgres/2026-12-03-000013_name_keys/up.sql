-- Phonetic keys of every word of a client's names (given names, family name, native name,
-- aliases), equal across scripts and transliterations (Dudayev, Dudajew, Dudaev, Дудаев), so
-- that search and the duplicate check find one person however the name was written. Keys are
-- compared byte for byte ("C" collation, as SQLite does).
CREATE TABLE client_name_keys (
    client_id TEXT NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
    organisation_id TEXT NOT NULL,
    key TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (client_id, key)
);
CREATE INDEX client_name_keys_search ON client_name_keys (organisation_id, key, client_id);

-- Which version of the key rules the stored keys follow, and how far a re-keying run has come
-- (the last client id it finished), so an interrupted run resumes there. One row.
CREATE TABLE name_index_state (
    id INTEGER NOT NULL PRIMARY KEY CHECK (id = 1),
    key_version INTEGER NOT NULL,
    resume_after TEXT
);
INSERT INTO name_index_state (id, key_version, resume_after) VALUES (1, 0, NULL);
