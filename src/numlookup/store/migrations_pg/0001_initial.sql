-- 0001: the initial schema (PostgreSQL), table for table that of
-- store/migrations/0001_initial.sql.
--
-- meta holds the change counters the server polls (Versions). accounts_version
-- is bumped by the triggers below, in the transaction of every change to
-- accounts or blocks, whoever makes it; portability_version is bumped by the
-- store in the transaction that swaps in a new ported or ranges table. The
-- *_count rows are the sizes of those tables, written by the same swap.
--
-- Text keys use the "C" collation: byte order, as SQLite sorts them, whatever
-- the locale of the database.

CREATE TABLE meta (
    key   TEXT COLLATE "C" PRIMARY KEY,
    value BIGINT NOT NULL
);

INSERT INTO meta (key, value) VALUES
    ('accounts_version', 1),
    ('portability_version', 1),
    ('ported_count', 0),
    ('ranges_count', 0);

CREATE TABLE accounts (
    username        TEXT COLLATE "C" PRIMARY KEY CHECK (username <> ''),
    password_hash   TEXT NOT NULL,
    service         TEXT NOT NULL CHECK (service IN ('portability', 'realtime')),
    max_ongoing     INTEGER NOT NULL CHECK (max_ongoing >= 1),
    accepted_ranges TEXT NOT NULL DEFAULT '',  -- E.164 prefixes, comma-separated; '': all
    enabled         BOOLEAN NOT NULL DEFAULT TRUE
);

-- account NULL: the rule applies to every account.
CREATE TABLE blocks (
    prefix  TEXT COLLATE "C" NOT NULL,
    account TEXT COLLATE "C"
);

CREATE UNIQUE INDEX blocks_rule ON blocks (prefix, coalesce(account, ''));

CREATE FUNCTION bump_accounts_version() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE meta SET value = value + 1 WHERE key = 'accounts_version';
    RETURN NULL;
END
$$;

-- FOR EACH ROW, as SQLite's triggers: one bump per changed row.
CREATE TRIGGER accounts_changed AFTER INSERT OR UPDATE OR DELETE ON accounts
    FOR EACH ROW EXECUTE FUNCTION bump_accounts_version();

CREATE TRIGGER blocks_changed AFTER INSERT OR UPDATE OR DELETE ON blocks
    FOR EACH ROW EXECUTE FUNCTION bump_accounts_version();

-- An E.164 number never starts with 0 (E.164 §6.2: country codes start 1-9),
-- so the digits are stored as a BIGINT key: one B-tree seek per look-up.
-- postgres.py creates the replacement tables (ported_next, ranges_next) with
-- the same columns; a migration that changes these changes those with it.
CREATE TABLE ported (
    msisdn BIGINT PRIMARY KEY,
    plmn   TEXT NOT NULL  -- MCC+MNC
);

CREATE TABLE ranges (
    prefix TEXT COLLATE "C" PRIMARY KEY,  -- E.164 digits, country code first
    plmn   TEXT NOT NULL
);

CREATE TABLE records (
    id         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    time       DOUBLE PRECISION NOT NULL,  -- Unix time, seconds
    account    TEXT COLLATE "C" NOT NULL,
    msisdn     TEXT NOT NULL,
    result     TEXT NOT NULL,
    imsi       TEXT,
    location   TEXT,
    source     TEXT NOT NULL,
    latency_us INTEGER NOT NULL
);

CREATE INDEX records_time ON records (time);
