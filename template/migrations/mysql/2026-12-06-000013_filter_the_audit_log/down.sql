DROP INDEX audit_events_target_id_idx ON audit_events;
DROP INDEX audit_events_target_email_idx ON audit_events;
DROP INDEX audit_events_actor_email_idx ON audit_events;
DROP INDEX audit_events_action_idx ON audit_events;
