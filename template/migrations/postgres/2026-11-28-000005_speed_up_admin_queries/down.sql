DROP INDEX users_is_admin_created_at_idx;
DROP INDEX users_name_trgm_idx;
DROP INDEX users_email_trgm_idx;
DROP TRIGGER user_counts_after_delete ON users;
DROP TRIGGER user_counts_after_update ON users;
DROP TRIGGER user_counts_after_insert ON users;
DROP FUNCTION user_counts_track();
DROP TABLE user_counts;
