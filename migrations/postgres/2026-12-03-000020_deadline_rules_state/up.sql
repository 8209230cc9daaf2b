-- Which deadline rule table the stored deadlines were derived with, and how far an interrupted
-- re-derivation came. An empty `rules` makes start-up derive every client's deadlines again.
CREATE TABLE deadline_rules_state (
    id INTEGER NOT NULL PRIMARY KEY CHECK (id = 1),
    rules TEXT NOT NULL,
    resume_after TEXT
);
INSERT INTO deadline_rules_state (id, rules, resume_after) VALUES (1, '', NULL);
