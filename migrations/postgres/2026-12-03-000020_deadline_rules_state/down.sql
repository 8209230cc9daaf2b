DROP TABLE deadline_rules_state;
