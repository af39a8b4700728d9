DROP INDEX outbox_messages_user_kind_idx;
ALTER TABLE outbox_messages DROP COLUMN kind;
