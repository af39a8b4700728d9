-- The auth forms' per-address budget that every instance shares: one row per client
-- key and fixed window, counted up by an upsert at each attempt and purged a day after
-- its window. (Each instance also keeps a cheaper limit in memory.)
CREATE TABLE rate_limit_hits (
    bucket VARCHAR(64) NOT NULL,
    window_start TIMESTAMP NOT NULL,
    hits BIGINT NOT NULL,
    PRIMARY KEY (bucket, window_start)
);
CREATE INDEX rate_limit_hits_window_start_idx ON rate_limit_hits (window_start);
