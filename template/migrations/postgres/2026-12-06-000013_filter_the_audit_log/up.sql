-- The audit log's filters (by kind, by whom it was done or done to) read through an
-- index each, however long the log grows; and a user's own entries, for their data
-- export (target_id outlives the account it names).
CREATE INDEX audit_events_action_idx ON audit_events (action, created_at);
CREATE INDEX audit_events_actor_email_idx ON audit_events (actor_email, created_at);
CREATE INDEX audit_events_target_email_idx ON audit_events (target_email, created_at);
CREATE INDEX audit_events_target_id_idx ON audit_events (target_id);
