DROP TABLE session_participants;
DROP TABLE sessions;
DROP TABLE client_keys;
