DROP INDEX outbox_messages_due_idx;
CREATE INDEX outbox_messages_due_idx ON outbox_messages (sent_at, failed_at, next_attempt_at);
ALTER TABLE outbox_messages DROP COLUMN priority;
ALTER TABLE outbox_messages DROP COLUMN claim_token;
