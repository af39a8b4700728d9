DROP TABLE password_reset_tokens;
DROP TABLE verification_codes;
DROP TABLE sessions;
ALTER TABLE users DROP COLUMN locked_until;
ALTER TABLE users DROP COLUMN failed_login_count;
