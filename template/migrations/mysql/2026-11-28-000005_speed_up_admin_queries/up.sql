-- The admin pages at a million users: counting rows one by one is too slow for the
-- dashboard and the directory's page counts.

-- The running totals, one row, kept exact by the triggers below.
CREATE TABLE user_counts (
    id INTEGER NOT NULL PRIMARY KEY CHECK (id = 1),
    total BIGINT NOT NULL,
    -- Enabled, with a verified address.
    active BIGINT NOT NULL,
    admins BIGINT NOT NULL,
    disabled BIGINT NOT NULL,
    unverified BIGINT NOT NULL
) ENGINE = InnoDB;
INSERT INTO user_counts (id, total, active, admins, disabled, unverified)
SELECT 1, count(*),
       coalesce(sum(is_active AND email_verified_at IS NOT NULL), 0),
       coalesce(sum(is_admin), 0),
       coalesce(sum(NOT is_active), 0),
       coalesce(sum(email_verified_at IS NULL), 0)
FROM users;

CREATE TRIGGER user_counts_after_insert AFTER INSERT ON users FOR EACH ROW
    UPDATE user_counts SET
        total = total + 1,
        active = active + (NEW.is_active AND NEW.email_verified_at IS NOT NULL),
        admins = admins + NEW.is_admin,
        disabled = disabled + (NOT NEW.is_active),
        unverified = unverified + (NEW.email_verified_at IS NULL);
CREATE TRIGGER user_counts_after_delete AFTER DELETE ON users FOR EACH ROW
    UPDATE user_counts SET
        total = total - 1,
        active = active - (OLD.is_active AND OLD.email_verified_at IS NOT NULL),
        admins = admins - OLD.is_admin,
        disabled = disabled - (NOT OLD.is_active),
        unverified = unverified - (OLD.email_verified_at IS NULL);
-- Touches the row only when a counted column changes, so that sign-ins never wait on it.
CREATE TRIGGER user_counts_after_update AFTER UPDATE ON users FOR EACH ROW
    UPDATE user_counts SET
        active = active + (NEW.is_active AND NEW.email_verified_at IS NOT NULL)
                        - (OLD.is_active AND OLD.email_verified_at IS NOT NULL),
        admins = admins + NEW.is_admin - OLD.is_admin,
        disabled = disabled + (NOT NEW.is_active) - (NOT OLD.is_active),
        unverified = unverified + (NEW.email_verified_at IS NULL) - (OLD.email_verified_at IS NULL)
    WHERE NEW.is_admin <> OLD.is_admin
       OR NEW.is_active <> OLD.is_active
       OR (NEW.email_verified_at IS NULL) <> (OLD.email_verified_at IS NULL);

-- The admins filter and the last-admin guard: one user in thousands.
CREATE INDEX users_is_admin_created_at_idx ON users (is_admin, created_at);
