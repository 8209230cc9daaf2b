DROP TABLE name_index_state;
DROP TABLE client_name_keys;
