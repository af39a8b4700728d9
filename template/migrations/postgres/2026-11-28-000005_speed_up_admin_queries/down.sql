DROP INDEX users_is_admin_created_at_idx;
DROP INDEX users_name_trgm_idx;
DROP INDEX users_email_trgm_idx;
DROP TRIGGER user_counts_after_update ON users;
DROP TRIGGER user_counts_after_insert_or_delete ON users;
DROP FUNCTION user_counts_track();
DROP FUNCTION user_counts_add(users, INTEGER);
DROP TABLE user_counts;
