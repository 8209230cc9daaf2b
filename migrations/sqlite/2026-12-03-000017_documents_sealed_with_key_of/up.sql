-- A document moved by the merge of a duplicate record stays sealed with the duplicate's data
-- key, which the surviving record keeps for it: this names that key's client (NULL: the
-- document's own client).
ALTER TABLE documents ADD COLUMN key_client_id TEXT;
