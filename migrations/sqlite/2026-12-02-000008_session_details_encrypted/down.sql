-- The sealed summaries and topics are lost: decrypting them needs the application.
ALTER TABLE sessions DROP COLUMN details_ciphertext;
