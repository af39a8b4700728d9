DROP INDEX audit_events_target_id_idx;
DROP INDEX audit_events_target_email_idx;
DROP INDEX audit_events_actor_email_idx;
DROP INDEX audit_events_action_idx;
