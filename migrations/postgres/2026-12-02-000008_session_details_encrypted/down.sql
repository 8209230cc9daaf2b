-- The sealed summaries and topics are lost: decrypting them needs the application.
DROP INDEX sessions_details_in_clear;
ALTER TABLE sessions DROP COLUMN details_ciphertext;
