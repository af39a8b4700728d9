-- Substring search of emails and names. MariaDB and MySQL have no index a LIKE '%…%'
-- can use (MySQL's ngram full-text parser is missing from MariaDB, and its matches
-- are not literal substrings), so a rare text read the whole table: 1.6 s at a
-- million users. This table is such an index, kept by triggers: every three-character
-- sequence of each user's email and lower-cased name. A text of three characters or
-- more can only be in the users who have all of its sequences; the LIKE still decides.
--
-- The sequences compare as the name does (utf8mb4_unicode_ci): LIKE matches the name
-- character by character under that collation, so every sequence of a matching text
-- equals one of the name's. For the binary-collated email the comparison is looser
-- than the LIKE, which only lets more candidates through.
CREATE TABLE user_search_trigrams (
    user_id BIGINT NOT NULL,
    trigram VARCHAR(3) CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci NOT NULL,
    -- Each sequence's users side by side, in id order: a search reads the rarest
    -- sequence's users in one range and looks each up in the next rarest one's.
    PRIMARY KEY (trigram, user_id),
    CONSTRAINT user_search_trigrams_user_id_fk FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE
) ENGINE = InnoDB;
CREATE INDEX user_search_trigrams_user_id_idx ON user_search_trigrams (user_id);

-- 1 to 252: where a sequence can start in the longest email (254 characters).
CREATE TABLE user_search_positions (
    n SMALLINT NOT NULL PRIMARY KEY
) ENGINE = InnoDB;
INSERT INTO user_search_positions (n)
WITH RECURSIVE positions (n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM positions WHERE n < 252)
SELECT n FROM positions;

-- INSERT IGNORE: a user's repeated sequence (or two equal under the collation) is one row.
INSERT IGNORE INTO user_search_trigrams (user_id, trigram)
SELECT users.id, SUBSTRING(users.email, positions.n, 3)
FROM users JOIN user_search_positions AS positions ON positions.n <= CHAR_LENGTH(users.email) - 2;
INSERT IGNORE INTO user_search_trigrams (user_id, trigram)
SELECT users.id, SUBSTRING(LOWER(users.name), positions.n, 3)
FROM users JOIN user_search_positions AS positions ON positions.n <= CHAR_LENGTH(users.name) - 2;

CREATE TRIGGER user_search_trigrams_after_insert AFTER INSERT ON users FOR EACH ROW
BEGIN
    INSERT IGNORE INTO user_search_trigrams (user_id, trigram)
    SELECT NEW.id, SUBSTRING(NEW.email, n, 3)
    FROM user_search_positions WHERE n <= CHAR_LENGTH(NEW.email) - 2;
    INSERT IGNORE INTO user_search_trigrams (user_id, trigram)
    SELECT NEW.id, SUBSTRING(LOWER(NEW.name), n, 3)
    FROM user_search_positions WHERE n <= CHAR_LENGTH(NEW.name) - 2;
END;
-- Deleted users' rows go with them (the foreign key cascades). Sign-ins and other
-- updates that keep the email and the name, byte for byte, write nothing here.
CREATE TRIGGER user_search_trigrams_after_update AFTER UPDATE ON users FOR EACH ROW
BEGIN
    IF NOT (BINARY NEW.email <=> BINARY OLD.email AND BINARY NEW.name <=> BINARY OLD.name) THEN
        DELETE FROM user_search_trigrams WHERE user_id = OLD.id;
        INSERT IGNORE INTO user_search_trigrams (user_id, trigram)
        SELECT NEW.id, SUBSTRING(NEW.email, n, 3)
        FROM user_search_positions WHERE n <= CHAR_LENGTH(NEW.email) - 2;
        INSERT IGNORE INTO user_search_trigrams (user_id, trigram)
        SELECT NEW.id, SUBSTRING(LOWER(NEW.name), n, 3)
        FROM user_search_positions WHERE n <= CHAR_LENGTH(NEW.name) - 2;
    END IF;
END;
