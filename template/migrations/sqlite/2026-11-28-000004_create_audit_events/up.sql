-- Who did what, to whom, when and from where: every admin action, every login
-- success and failure, every lockout. Emails are copied so the history survives
-- the deletion of the accounts it mentions.
CREATE TABLE audit_events (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    actor_id INTEGER REFERENCES users (id) ON DELETE SET NULL,
    actor_email TEXT NOT NULL,
    action TEXT NOT NULL,
    target_id INTEGER,
    target_email TEXT,
    ip TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX audit_events_created_at_idx ON audit_events (created_at);
CREATE INDEX audit_events_actor_id_idx ON audit_events (actor_id);
