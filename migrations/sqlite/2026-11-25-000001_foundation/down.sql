DROP TRIGGER audit_events_seal_once;
DROP TRIGGER audit_events_no_delete;
DROP TABLE audit_events;
DROP TABLE login_failures;
DROP TABLE refresh_tokens;
DROP TABLE login_sessions;
DROP TABLE users;
DROP TABLE organisations;
