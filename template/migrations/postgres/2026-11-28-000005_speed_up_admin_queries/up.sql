-- The admin pages at a million users: counting rows one by one is too slow for the
-- dashboard and the directory's page counts, and a substring search cannot use a
-- B-tree index.

-- The running totals, one row, kept exact by the trigger below.
CREATE TABLE user_counts (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    total BIGINT NOT NULL,
    -- Enabled, with a verified address.
    active BIGINT NOT NULL,
    admins BIGINT NOT NULL,
    disabled BIGINT NOT NULL,
    unverified BIGINT NOT NULL
);
INSERT INTO user_counts (id, total, active, admins, disabled, unverified)
SELECT 1, count(*),
       count(*) FILTER (WHERE is_active AND email_verified_at IS NOT NULL),
       count(*) FILTER (WHERE is_admin),
       count(*) FILTER (WHERE NOT is_active),
       count(*) FILTER (WHERE email_verified_at IS NULL)
FROM users;

-- Adds a user's row to the totals (sign 1) or takes it away (sign -1).
CREATE FUNCTION user_counts_add(u users, sign INTEGER) RETURNS VOID LANGUAGE SQL AS $$
    UPDATE user_counts SET
        total = total + sign,
        active = active + sign * (u.is_active AND u.email_verified_at IS NOT NULL)::INTEGER,
        admins = admins + sign * u.is_admin::INTEGER,
        disabled = disabled + sign * (NOT u.is_active)::INTEGER,
        unverified = unverified + sign * (u.email_verified_at IS NULL)::INTEGER;
$$;

CREATE FUNCTION user_counts_track() RETURNS TRIGGER LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        PERFORM user_counts_add(OLD, -1);
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        PERFORM user_counts_add(NEW, 1);
    END IF;
    RETURN NULL;
END;
$$;

CREATE TRIGGER user_counts_after_insert_or_delete AFTER INSERT OR DELETE ON users
    FOR EACH ROW EXECUTE FUNCTION user_counts_track();
-- Only when a counted column changes, so that sign-ins never wait on this row.
CREATE TRIGGER user_counts_after_update AFTER UPDATE OF is_admin, is_active, email_verified_at ON users
    FOR EACH ROW
    WHEN (OLD.is_admin IS DISTINCT FROM NEW.is_admin
          OR OLD.is_active IS DISTINCT FROM NEW.is_active
          OR (OLD.email_verified_at IS NULL) <> (NEW.email_verified_at IS NULL))
    EXECUTE FUNCTION user_counts_track();

-- Substring search of emails and names: trigram indexes serve LIKE '%…%'.
-- pg_trgm ships with PostgreSQL and is trusted: a database's owner may create it.
CREATE EXTENSION IF NOT EXISTS pg_trgm;
CREATE INDEX users_email_trgm_idx ON users USING gin (email gin_trgm_ops);
CREATE INDEX users_name_trgm_idx ON users USING gin (lower(name) gin_trgm_ops);

-- The admins filter and the last-admin guard: one user in thousands.
CREATE INDEX users_is_admin_created_at_idx ON users (is_admin, created_at);
