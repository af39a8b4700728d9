-- A user's authenticator app (TOTP): the secret sealed with a key derived from
-- SESSION_SECRET (AES-GCM, bound to the user id), NULL enabled_at while enrolling,
-- and the last time step accepted, so a code is never accepted twice.
CREATE TABLE two_factor (
    user_id BIGINT NOT NULL PRIMARY KEY,
    secret_sealed VARCHAR(128) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    enabled_at DATETIME(6) NULL,
    last_step BIGINT NULL,
    created_at DATETIME(6) NOT NULL,
    CONSTRAINT two_factor_user_id_fk FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_unicode_ci;

-- Single-use codes for when the authenticator is lost: HMACs bound to the user.
CREATE TABLE recovery_codes (
    id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
    user_id BIGINT NOT NULL,
    code_hash VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    used_at DATETIME(6) NULL,
    created_at DATETIME(6) NOT NULL,
    CONSTRAINT recovery_codes_user_id_fk FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_unicode_ci;
CREATE UNIQUE INDEX recovery_codes_user_id_code_hash_key ON recovery_codes (user_id, code_hash);
