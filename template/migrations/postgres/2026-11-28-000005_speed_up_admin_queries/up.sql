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

-- Per statement, not per row: a bulk insert of thousands of users updates the totals
-- once, and a sign-in (which changes no counted column) not at all.
CREATE FUNCTION user_counts_track() RETURNS TRIGGER LANGUAGE plpgsql AS $$
BEGIN
    -- A statement only sees the transition tables its trigger declares.
    EXECUTE format($sql$
        WITH changed AS (%s), delta AS (
            SELECT coalesce(sum(sign), 0) AS total,
                   coalesce(sum(sign) FILTER (WHERE is_active AND email_verified_at IS NOT NULL), 0) AS active,
                   coalesce(sum(sign) FILTER (WHERE is_admin), 0) AS admins,
                   coalesce(sum(sign) FILTER (WHERE NOT is_active), 0) AS disabled,
                   coalesce(sum(sign) FILTER (WHERE email_verified_at IS NULL), 0) AS unverified
            FROM changed
        )
        UPDATE user_counts SET
            total = user_counts.total + delta.total,
            active = user_counts.active + delta.active,
            admins = user_counts.admins + delta.admins,
            disabled = user_counts.disabled + delta.disabled,
            unverified = user_counts.unverified + delta.unverified
        FROM delta
        WHERE (delta.total, delta.active, delta.admins, delta.disabled, delta.unverified)
              <> (0, 0, 0, 0, 0)
    $sql$, CASE TG_OP
        WHEN 'INSERT' THEN 'SELECT 1 AS sign, * FROM new_rows'
        WHEN 'DELETE' THEN 'SELECT -1 AS sign, * FROM old_rows'
        ELSE 'SELECT 1 AS sign, * FROM new_rows UNION ALL SELECT -1, * FROM old_rows'
    END);
    RETURN NULL;
END;
$$;

CREATE TRIGGER user_counts_after_insert AFTER INSERT ON users
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION user_counts_track();
CREATE TRIGGER user_counts_after_update AFTER UPDATE ON users
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION user_counts_track();
CREATE TRIGGER user_counts_after_delete AFTER DELETE ON users
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION user_counts_track();

-- Substring search of emails and names: trigram indexes serve LIKE '%…%'.
-- pg_trgm ships with PostgreSQL and is trusted: a database's owner may create it.
CREATE EXTENSION IF NOT EXISTS pg_trgm;
CREATE INDEX users_email_trgm_idx ON users USING gin (email gin_trgm_ops);
CREATE INDEX users_name_trgm_idx ON users USING gin (lower(name) gin_trgm_ops);

-- The admins filter and the last-admin guard: one user in thousands.
CREATE INDEX users_is_admin_created_at_idx ON users (is_admin, created_at);
