-- A user's passkeys (WebAuthn). credential_key is the SHA-256 of the credential id
-- (base64url), the one lookup a sign-in makes; the id itself can be longer than an
-- index allows. user_handle is the id the authenticator keeps for the user: the same
-- for all of a user's passkeys, and not the user's row id. credential is the public
-- key and the signature counter, as the WebAuthn library stores them (JSON).
CREATE TABLE passkeys (
    id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
    user_id BIGINT NOT NULL,
    name VARCHAR(64) NOT NULL,
    credential_key VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    user_handle VARCHAR(36) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    credential TEXT NOT NULL,
    created_at DATETIME(6) NOT NULL,
    last_used_at DATETIME(6) NULL,
    CONSTRAINT passkeys_user_id_fk FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_unicode_ci;
CREATE UNIQUE INDEX passkeys_credential_key_key ON passkeys (credential_key);

-- Passkey challenges handed out and not answered yet (the challenge itself waits in
-- the session): an answer claims its row by deleting it, so of parallel copies of
-- one answer only one is checked. Rows older than a few minutes are dropped.
CREATE TABLE passkey_challenges (
    nonce_hash VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL PRIMARY KEY,
    created_at DATETIME(6) NOT NULL
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_unicode_ci;
CREATE INDEX passkey_challenges_created_at_idx ON passkey_challenges (created_at);
