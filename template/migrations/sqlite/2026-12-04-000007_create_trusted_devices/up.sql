-- Browsers that have signed in to an account before, known by a random token in a
-- long-lived cookie (stored as a SHA-256). Failed logins from strangers that lock the
-- account do not lock these out; their own failures lock only them.
CREATE TABLE trusted_devices (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    token_hash TEXT NOT NULL,
    failed_login_count INTEGER NOT NULL DEFAULT 0,
    locked_until TIMESTAMP,
    created_at TIMESTAMP NOT NULL,
    last_used_at TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX trusted_devices_token_hash_user_id_key ON trusted_devices (token_hash, user_id);
CREATE INDEX trusted_devices_user_id_idx ON trusted_devices (user_id);
