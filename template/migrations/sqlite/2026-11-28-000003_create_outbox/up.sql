-- Outgoing mail, written in the same transaction as the change that caused it and
-- delivered by a background worker, so a crash or provider outage loses nothing.
CREATE TABLE outbox_messages (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    user_id INTEGER REFERENCES users (id) ON DELETE CASCADE,
    recipient TEXT NOT NULL,
    subject TEXT NOT NULL,
    text_body TEXT NOT NULL,
    html_body TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    next_attempt_at TIMESTAMP NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    locked_until TIMESTAMP,
    sent_at TIMESTAMP,
    failed_at TIMESTAMP,
    last_error TEXT
);
CREATE INDEX outbox_messages_due_idx ON outbox_messages (sent_at, failed_at, next_attempt_at);
CREATE INDEX outbox_messages_user_id_idx ON outbox_messages (user_id);
