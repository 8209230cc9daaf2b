DROP TABLE specialty_grants;
DROP TABLE enrolment_tokens;
