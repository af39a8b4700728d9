DROP INDEX users_is_admin_created_at_idx ON users;
DROP TRIGGER user_counts_after_update;
DROP TRIGGER user_counts_after_delete;
DROP TRIGGER user_counts_after_insert;
DROP TABLE user_counts;
