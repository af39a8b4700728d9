-- The dashboard's weekly sign-ups and its users signed in within 30 days, kept per day
-- instead of counted from the rows: at a million users those counts read hundreds of
-- thousands of index entries at every view of the dashboard. The trigger keeps every
-- day exact in the same transaction as the change to `users`.
CREATE TABLE daily_user_counts (
    day DATE PRIMARY KEY,
    -- Users whose account was created that day (UTC).
    signups BIGINT NOT NULL DEFAULT 0,
    -- Users whose latest sign-in was that day (UTC): a sign-in moves its user from the
    -- day of their previous one to today.
    last_sign_ins BIGINT NOT NULL DEFAULT 0
);
INSERT INTO daily_user_counts (day, signups, last_sign_ins)
SELECT day, sum(signups), sum(last_sign_ins)
FROM (
    SELECT created_at::date AS day, 1 AS signups, 0 AS last_sign_ins FROM users
    UNION ALL
    SELECT last_login_at::date, 0, 1 FROM users WHERE last_login_at IS NOT NULL
) AS days
GROUP BY day;

-- Per statement, like user_counts_track: a bulk insert adds to each of its days once,
-- and an update that moves no row to another day (most of them) writes nothing. Days
-- are written in order, so two statements never wait on each other's days crosswise.
CREATE FUNCTION daily_user_counts_track() RETURNS TRIGGER LANGUAGE plpgsql AS $$
BEGIN
    -- A statement only sees the transition tables its trigger declares.
    EXECUTE format($sql$
        WITH changed AS (%s), delta AS (
            SELECT day, sum(signups) AS signups, sum(last_sign_ins) AS last_sign_ins
            FROM (
                SELECT created_at::date AS day, sign AS signups, 0 AS last_sign_ins
                FROM changed
                UNION ALL
                SELECT last_login_at::date, 0, sign FROM changed
                WHERE last_login_at IS NOT NULL
            ) AS days
            GROUP BY day
        )
        INSERT INTO daily_user_counts AS counts (day, signups, last_sign_ins)
        SELECT day, signups, last_sign_ins FROM delta
        WHERE (signups, last_sign_ins) <> (0, 0)
        ORDER BY day
        ON CONFLICT (day) DO UPDATE SET
            signups = counts.signups + excluded.signups,
            last_sign_ins = counts.last_sign_ins + excluded.last_sign_ins
    $sql$, CASE TG_OP
        WHEN 'INSERT' THEN 'SELECT 1 AS sign, * FROM new_rows'
        WHEN 'DELETE' THEN 'SELECT -1 AS sign, * FROM old_rows'
        ELSE 'SELECT 1 AS sign, * FROM new_rows UNION ALL SELECT -1, * FROM old_rows'
    END);
    RETURN NULL;
END;
$$;

CREATE TRIGGER daily_user_counts_after_insert AFTER INSERT ON users
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION daily_user_counts_track();
CREATE TRIGGER daily_user_counts_after_update AFTER UPDATE ON users
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION daily_user_counts_track();
CREATE TRIGGER daily_user_counts_after_delete AFTER DELETE ON users
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION daily_user_counts_track();
