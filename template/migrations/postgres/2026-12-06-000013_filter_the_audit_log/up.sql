-- The audit log's filters (by kind, by whom it was done or done to), each served
-- newest first from its own index, however long the log grows.
CREATE INDEX audit_events_action_idx ON audit_events (action, created_at);
CREATE INDEX audit_events_actor_email_idx ON audit_events (actor_email, created_at);
CREATE INDEX audit_events_target_email_idx ON audit_events (target_email, created_at);
