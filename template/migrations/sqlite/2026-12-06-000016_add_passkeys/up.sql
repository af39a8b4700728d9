-- A user's passkeys (WebAuthn). credential_key is the SHA-256 of the credential id
-- (base64url), the one lookup a sign-in makes; the id itself can be longer than an
-- index allows. user_handle is the id the authenticator keeps for the user: the same
-- for all of a user's passkeys, and not the user's row id. credential is the public
-- key and the signature counter, as the WebAuthn library stores them (JSON).
CREATE TABLE passkeys (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    credential_key TEXT NOT NULL,
    user_handle TEXT NOT NULL,
    credential TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    last_used_at TIMESTAMP
);
CREATE UNIQUE INDEX passkeys_credential_key_key ON passkeys (credential_key);
CREATE INDEX passkeys_user_id_idx ON passkeys (user_id);

-- Passkey challenges handed out and not answered yet (the challenge itself waits in
-- the session): an answer claims its row by deleting it, so of parallel copies of
-- one answer only one is checked. Rows older than a few minutes are dropped.
CREATE TABLE passkey_challenges (
    nonce_hash TEXT PRIMARY KEY NOT NULL,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX passkey_challenges_created_at_idx ON passkey_challenges (created_at);
