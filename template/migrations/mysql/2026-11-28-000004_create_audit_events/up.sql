-- Who did what, to whom, when and from where: every admin action, every login
-- success and failure, every lockout. Emails are copied so the history survives
-- the deletion of the accounts it mentions.
CREATE TABLE audit_events (
    id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
    actor_id BIGINT NULL,
    actor_email VARCHAR(254) NOT NULL,
    action VARCHAR(50) NOT NULL,
    target_id BIGINT NULL,
    target_email VARCHAR(254) NULL,
    ip VARCHAR(45) NOT NULL,
    created_at DATETIME(6) NOT NULL,
    CONSTRAINT audit_events_actor_id_fk FOREIGN KEY (actor_id) REFERENCES users (id) ON DELETE SET NULL
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_unicode_ci;
CREATE INDEX audit_events_created_at_idx ON audit_events (created_at);
