-- Failed sign-ins are now kept by a SHA-256 digest of the account's e-mail key, so a row has
-- the same small size whatever was typed. Rows kept by the typed key would never match again;
-- they are only counts within a short window, so they go.
DELETE FROM login_failures;
-- Pruning drops every failure that left the window, whatever its account.
CREATE INDEX login_failures_by_time ON login_failures (at);
-- Failures of one account from one address.
CREATE INDEX login_failures_by_account_and_ip ON login_failures (account_key, ip, at);
