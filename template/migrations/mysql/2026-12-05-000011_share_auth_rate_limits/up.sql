-- The auth forms' per-address budget that every instance shares: one row per client
-- key and fixed window, counted up by an upsert at each attempt and purged a day after
-- its window. (Each instance also keeps a cheaper limit in memory.)
CREATE TABLE rate_limit_hits (
    bucket VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    window_start DATETIME(6) NOT NULL,
    hits BIGINT NOT NULL,
    PRIMARY KEY (bucket, window_start)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_unicode_ci;
CREATE INDEX rate_limit_hits_window_start_idx ON rate_limit_hits (window_start);
