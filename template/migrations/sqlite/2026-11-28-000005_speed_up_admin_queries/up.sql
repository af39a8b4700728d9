-- The admin pages at a million users: counting rows one by one is too slow for the
-- dashboard and the directory's page counts, and a substring search cannot use a
-- B-tree index. Triggers keep both of these exact as users change.

-- The running totals, one row. The triggers below keep it exact.
CREATE TABLE user_counts (
    id INTEGER PRIMARY KEY NOT NULL CHECK (id = 1),
    total BIGINT NOT NULL,
    -- Enabled, with a verified address.
    active BIGINT NOT NULL,
    admins BIGINT NOT NULL,
    disabled BIGINT NOT NULL,
    unverified BIGINT NOT NULL
);
INSERT INTO user_counts (id, total, active, admins, disabled, unverified)
SELECT 1, count(*),
       coalesce(sum(is_active AND email_verified_at IS NOT NULL), 0),
       coalesce(sum(is_admin), 0),
       coalesce(sum(NOT is_active), 0),
       coalesce(sum(email_verified_at IS NULL), 0)
FROM users;

CREATE TRIGGER user_counts_after_insert AFTER INSERT ON users BEGIN
    UPDATE user_counts SET
        total = total + 1,
        active = active + (NEW.is_active AND NEW.email_verified_at IS NOT NULL),
        admins = admins + NEW.is_admin,
        disabled = disabled + (NOT NEW.is_active),
        unverified = unverified + (NEW.email_verified_at IS NULL);
END;
CREATE TRIGGER user_counts_after_delete AFTER DELETE ON users BEGIN
    UPDATE user_counts SET
        total = total - 1,
        active = active - (OLD.is_active AND OLD.email_verified_at IS NOT NULL),
        admins = admins - OLD.is_admin,
        disabled = disabled - (NOT OLD.is_active),
        unverified = unverified - (OLD.email_verified_at IS NULL);
END;
CREATE TRIGGER user_counts_after_update AFTER UPDATE OF is_admin, is_active, email_verified_at ON users BEGIN
    UPDATE user_counts SET
        active = active + (NEW.is_active AND NEW.email_verified_at IS NOT NULL)
                        - (OLD.is_active AND OLD.email_verified_at IS NOT NULL),
        admins = admins + NEW.is_admin - OLD.is_admin,
        disabled = disabled + (NOT NEW.is_active) - (NOT OLD.is_active),
        unverified = unverified + (NEW.email_verified_at IS NULL) - (OLD.email_verified_at IS NULL);
END;

-- Substring search of emails and names: an index of every three-character sequence
-- (FTS5's trigram tokenizer), over the users table's own columns.
CREATE VIRTUAL TABLE users_search USING fts5(
    email, name, content = 'users', content_rowid = 'id', tokenize = 'trigram'
);
INSERT INTO users_search (users_search) VALUES ('rebuild');

CREATE TRIGGER users_search_after_insert AFTER INSERT ON users BEGIN
    INSERT INTO users_search (rowid, email, name) VALUES (NEW.id, NEW.email, NEW.name);
END;
CREATE TRIGGER users_search_after_delete AFTER DELETE ON users BEGIN
    INSERT INTO users_search (users_search, rowid, email, name)
    VALUES ('delete', OLD.id, OLD.email, OLD.name);
END;
CREATE TRIGGER users_search_after_update AFTER UPDATE OF email, name ON users BEGIN
    INSERT INTO users_search (users_search, rowid, email, name)
    VALUES ('delete', OLD.id, OLD.email, OLD.name);
    INSERT INTO users_search (rowid, email, name) VALUES (NEW.id, NEW.email, NEW.name);
END;

-- The admins filter and the last-admin guard: one user in thousands.
CREATE INDEX users_is_admin_created_at_idx ON users (is_admin, created_at);
