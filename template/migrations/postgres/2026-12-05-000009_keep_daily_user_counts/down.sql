DROP TRIGGER daily_user_counts_after_delete ON users;
DROP TRIGGER daily_user_counts_after_update ON users;
DROP TRIGGER daily_user_counts_after_insert ON users;
DROP FUNCTION daily_user_counts_track();
DROP TABLE daily_user_counts;
