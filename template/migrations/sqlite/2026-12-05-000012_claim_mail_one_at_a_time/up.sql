-- Each message is leased on its own, right before it is sent, with a token that the
-- outcome must name (a worker whose lease ran out cannot record over the one that took
-- the message over); short-lived mail (codes, reset links) goes before notices.
ALTER TABLE outbox_messages ADD COLUMN claim_token TEXT;
ALTER TABLE outbox_messages ADD COLUMN priority SMALLINT NOT NULL DEFAULT 1;
UPDATE outbox_messages SET priority = 0 WHERE kind IN ('verification_code', 'password_reset');
DROP INDEX outbox_messages_due_idx;
CREATE INDEX outbox_messages_due_idx ON outbox_messages (sent_at, failed_at, priority, next_attempt_at);
