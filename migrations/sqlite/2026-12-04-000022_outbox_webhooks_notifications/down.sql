DROP TABLE notification_settings;
DROP TABLE deliveries;
DROP TABLE outbox_events;
DROP TABLE webhooks;
