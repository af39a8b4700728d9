-- Browsers that have signed in to an account before, known by a random token in a
-- long-lived cookie (stored as a SHA-256). Failed logins from strangers that lock the
-- account do not lock these out; their own failures lock only them.
CREATE TABLE trusted_devices (
    id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
    user_id BIGINT NOT NULL,
    token_hash VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    failed_login_count INTEGER NOT NULL DEFAULT 0,
    locked_until DATETIME(6) NULL,
    created_at DATETIME(6) NOT NULL,
    last_used_at DATETIME(6) NOT NULL,
    CONSTRAINT trusted_devices_user_id_fk FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_unicode_ci;
CREATE UNIQUE INDEX trusted_devices_token_hash_user_id_key ON trusted_devices (token_hash, user_id);
