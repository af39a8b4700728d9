-- The dashboard's weekly sign-ups and its users signed in within 30 days, kept per day
-- instead of counted from the rows: at a million users those counts read hundreds of
-- thousands of index entries at every view of the dashboard. Triggers keep every day
-- exact in the same transaction as the change to `users`.
CREATE TABLE daily_user_counts (
    day DATE PRIMARY KEY NOT NULL,
    -- Users whose account was created that day (UTC).
    signups BIGINT NOT NULL DEFAULT 0,
    -- Users whose latest sign-in was that day (UTC): a sign-in moves its user from the
    -- day of their previous one to today.
    last_sign_ins BIGINT NOT NULL DEFAULT 0
);
INSERT INTO daily_user_counts (day, signups, last_sign_ins)
SELECT day, sum(signups), sum(last_sign_ins)
FROM (
    SELECT date(created_at) AS day, 1 AS signups, 0 AS last_sign_ins FROM users
    UNION ALL
    SELECT date(last_login_at), 0, 1 FROM users WHERE last_login_at IS NOT NULL
)
GROUP BY day;

CREATE TRIGGER daily_user_counts_after_insert AFTER INSERT ON users BEGIN
    INSERT INTO daily_user_counts (day, signups) VALUES (date(NEW.created_at), 1)
        ON CONFLICT (day) DO UPDATE SET signups = signups + 1;
    INSERT INTO daily_user_counts (day, last_sign_ins)
        SELECT date(NEW.last_login_at), 1 WHERE NEW.last_login_at IS NOT NULL
        ON CONFLICT (day) DO UPDATE SET last_sign_ins = last_sign_ins + 1;
END;
CREATE TRIGGER daily_user_counts_after_delete AFTER DELETE ON users BEGIN
    UPDATE daily_user_counts SET signups = signups - 1 WHERE day = date(OLD.created_at);
    UPDATE daily_user_counts SET last_sign_ins = last_sign_ins - 1
        WHERE day = date(OLD.last_login_at);
END;
-- Only when the day changes: a user's second sign-in of a day writes nothing here.
CREATE TRIGGER daily_user_counts_after_signup_update AFTER UPDATE OF created_at ON users
WHEN date(NEW.created_at) IS NOT date(OLD.created_at) BEGIN
    UPDATE daily_user_counts SET signups = signups - 1 WHERE day = date(OLD.created_at);
    INSERT INTO daily_user_counts (day, signups) VALUES (date(NEW.created_at), 1)
        ON CONFLICT (day) DO UPDATE SET signups = signups + 1;
END;
CREATE TRIGGER daily_user_counts_after_sign_in AFTER UPDATE OF last_login_at ON users
WHEN date(NEW.last_login_at) IS NOT date(OLD.last_login_at) BEGIN
    UPDATE daily_user_counts SET last_sign_ins = last_sign_ins - 1
        WHERE day = date(OLD.last_login_at);
    INSERT INTO daily_user_counts (day, last_sign_ins)
        SELECT date(NEW.last_login_at), 1 WHERE NEW.last_login_at IS NOT NULL
        ON CONFLICT (day) DO UPDATE SET last_sign_ins = last_sign_ins + 1;
END;
