-- Outgoing mail, written in the same transaction as the change that caused it and
-- delivered by a background worker, so a crash or provider outage loses nothing.
CREATE TABLE outbox_messages (
    id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
    user_id BIGINT NULL,
    recipient VARCHAR(254) NOT NULL,
    subject VARCHAR(255) NOT NULL,
    text_body MEDIUMTEXT NOT NULL,
    html_body MEDIUMTEXT NOT NULL,
    created_at DATETIME(6) NOT NULL,
    next_attempt_at DATETIME(6) NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    locked_until DATETIME(6) NULL,
    sent_at DATETIME(6) NULL,
    failed_at DATETIME(6) NULL,
    last_error TEXT NULL,
    CONSTRAINT outbox_messages_user_id_fk FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_unicode_ci;
CREATE INDEX outbox_messages_due_idx ON outbox_messages (sent_at, failed_at, next_attempt_at);
