DROP TABLE client_merges;
