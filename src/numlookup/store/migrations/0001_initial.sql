-- 0001: the initial schema.
--
-- meta holds the change counters the server polls (Versions). accounts_version
-- is bumped by the triggers below, in the transaction of every change to
-- accounts or blocks, whoever makes it; portability_version is bumped by the
-- store in the transaction that swaps in a new ported or ranges table. The
-- *_count rows are the sizes of those tables, written by the same swap.

CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value INTEGER NOT NULL
);

INSERT INTO meta (key, value) VALUES
    ('accounts_version', 1),
    ('portability_version', 1),
    ('ported_count', 0),
    ('ranges_count', 0);

CREATE TABLE accounts (
    username        TEXT PRIMARY KEY CHECK (username <> ''),
    password_hash   TEXT NOT NULL,
    service         TEXT NOT NULL CHECK (service IN ('portability', 'realtime')),
    max_ongoing     INTEGER NOT NULL CHECK (max_ongoing >= 1),
    accepted_ranges TEXT NOT NULL DEFAULT '',  -- E.164 prefixes, comma-separated; '': all
    enabled         INTEGER NOT NULL DEFAULT 1 CHECK (enabled IN (0, 1))
);

-- account NULL: the rule applies to every account.
CREATE TABLE blocks (
    prefix  TEXT NOT NULL,
    account TEXT
);

CREATE UNIQUE INDEX blocks_rule ON blocks (prefix, ifnull(account, ''));

CREATE TRIGGER accounts_insert AFTER INSERT ON accounts BEGIN
    UPDATE meta SET value = value + 1 WHERE key = 'accounts_version';
END;

CREATE TRIGGER accounts_update AFTER UPDATE ON accounts BEGIN
    UPDATE meta SET value = value + 1 WHERE key = 'accounts_version';
END;

CREATE TRIGGER accounts_delete AFTER DELETE ON accounts BEGIN
    UPDATE meta SET value = value + 1 WHERE key = 'accounts_version';
END;

CREATE TRIGGER blocks_insert AFTER INSERT ON blocks BEGIN
    UPDATE meta SET value = value + 1 WHERE key = 'accounts_version';
END;

CREATE TRIGGER blocks_update AFTER UPDATE ON blocks BEGIN
    UPDATE meta SET value = value + 1 WHERE key = 'accounts_version';
END;

CREATE TRIGGER blocks_delete AFTER DELETE ON blocks BEGIN
    UPDATE meta SET value = value + 1 WHERE key = 'accounts_version';
END;

-- An E.164 number never starts with 0 (E.164 §6.2: country codes start 1-9),
-- so the digits are stored as an integer rowid: one B-tree seek per look-up.
CREATE TABLE ported (
    msisdn INTEGER PRIMARY KEY,
    plmn   TEXT NOT NULL  -- MCC+MNC
);

CREATE TABLE ranges (
    prefix TEXT PRIMARY KEY,  -- E.164 digits, country code first
    plmn   TEXT NOT NULL
) WITHOUT ROWID;

CREATE TABLE records (
    id         INTEGER PRIMARY KEY,
    time       REAL NOT NULL,  -- Unix time, seconds
    account    TEXT NOT NULL,
    msisdn     TEXT NOT NULL,
    result     TEXT NOT NULL,
    imsi       TEXT,
    location   TEXT,
    source     TEXT NOT NULL,
    latency_us INTEGER NOT NULL
);

CREATE INDEX records_time ON records (time);
