-- The dashboard's weekly sign-ups and its users signed in within 30 days, kept per day
-- instead of counted from the rows: at a million users those counts read hundreds of
-- thousands of index entries at every view of the dashboard. Triggers keep every day
-- exact in the same transaction as the change to `users`.
CREATE TABLE daily_user_counts (
    day DATE NOT NULL PRIMARY KEY,
    -- Users whose account was created that day (UTC).
    signups BIGINT NOT NULL DEFAULT 0,
    -- Users whose latest sign-in was that day (UTC): a sign-in moves its user from the
    -- day of their previous one to today.
    last_sign_ins BIGINT NOT NULL DEFAULT 0
) ENGINE = InnoDB;
INSERT INTO daily_user_counts (day, signups, last_sign_ins)
SELECT day, sum(signups), sum(last_sign_ins)
FROM (
    SELECT DATE(created_at) AS day, 1 AS signups, 0 AS last_sign_ins FROM users
    UNION ALL
    SELECT DATE(last_login_at), 0, 1 FROM users WHERE last_login_at IS NOT NULL
) AS days
GROUP BY day;

CREATE TRIGGER daily_user_counts_after_insert AFTER INSERT ON users FOR EACH ROW
BEGIN
    INSERT INTO daily_user_counts (day, signups) VALUES (DATE(NEW.created_at), 1)
        ON DUPLICATE KEY UPDATE signups = signups + 1;
    IF NEW.last_login_at IS NOT NULL THEN
        INSERT INTO daily_user_counts (day, last_sign_ins) VALUES (DATE(NEW.last_login_at), 1)
            ON DUPLICATE KEY UPDATE last_sign_ins = last_sign_ins + 1;
    END IF;
END;
CREATE TRIGGER daily_user_counts_after_delete AFTER DELETE ON users FOR EACH ROW
BEGIN
    UPDATE daily_user_counts SET signups = signups - 1 WHERE day = DATE(OLD.created_at);
    IF OLD.last_login_at IS NOT NULL THEN
        UPDATE daily_user_counts SET last_sign_ins = last_sign_ins - 1
            WHERE day = DATE(OLD.last_login_at);
    END IF;
END;
-- Only when a day changes: a user's second sign-in of a day writes nothing here, and
-- a sign-in never waits on the row of the day its user joined.
CREATE TRIGGER daily_user_counts_after_update AFTER UPDATE ON users FOR EACH ROW
BEGIN
    IF NOT (DATE(NEW.created_at) <=> DATE(OLD.created_at)) THEN
        UPDATE daily_user_counts SET signups = signups - 1 WHERE day = DATE(OLD.created_at);
        INSERT INTO daily_user_counts (day, signups) VALUES (DATE(NEW.created_at), 1)
            ON DUPLICATE KEY UPDATE signups = signups + 1;
    END IF;
    IF NOT (DATE(NEW.last_login_at) <=> DATE(OLD.last_login_at)) THEN
        IF OLD.last_login_at IS NOT NULL THEN
            UPDATE daily_user_counts SET last_sign_ins = last_sign_ins - 1
                WHERE day = DATE(OLD.last_login_at);
        END IF;
        IF NEW.last_login_at IS NOT NULL THEN
            INSERT INTO daily_user_counts (day, last_sign_ins)
                VALUES (DATE(NEW.last_login_at), 1)
                ON DUPLICATE KEY UPDATE last_sign_ins = last_sign_ins + 1;
        END IF;
    END IF;
END;
