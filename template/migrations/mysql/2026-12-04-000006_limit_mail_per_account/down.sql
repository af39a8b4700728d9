DROP INDEX outbox_messages_user_kind_idx ON outbox_messages;
ALTER TABLE outbox_messages DROP COLUMN kind;
