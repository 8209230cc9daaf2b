ALTER TABLE documents DROP COLUMN key_client_id;
