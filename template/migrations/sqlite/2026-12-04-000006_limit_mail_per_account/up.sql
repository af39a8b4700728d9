-- What each message is (the template it came from: password_reset, say), so the mail
-- a visitor can make the app send to one account is counted per kind and limited.
ALTER TABLE outbox_messages ADD COLUMN kind TEXT NOT NULL DEFAULT '';
CREATE INDEX outbox_messages_user_kind_idx ON outbox_messages (user_id, kind, created_at);
