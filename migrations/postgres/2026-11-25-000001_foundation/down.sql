DROP TRIGGER audit_events_append_only ON audit_events;
DROP FUNCTION audit_events_append_only();
DROP TABLE audit_events;
DROP TABLE login_failures;
DROP TABLE refresh_tokens;
DROP TABLE login_sessions;
DROP TABLE users;
DROP TABLE organisations;
