DROP TABLE calendar_feeds;
DROP TABLE tasks;
DROP TABLE appointment_participants;
DROP TABLE appointments;
DROP TABLE interpreter_organisations;
DROP TABLE interpreters;
