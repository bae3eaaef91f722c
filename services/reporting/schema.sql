-- Reporting's read models. Every table is disposable: a rebuild re-creates it from the events.
-- Statements run with search_path set to the target schema (live or rebuild).

CREATE TABLE IF NOT EXISTS case_summary (
    case_id       uuid PRIMARY KEY,
    agency        text NOT NULL,
    tracking_code text NOT NULL,
    kind          text NOT NULL,
    channel       text NOT NULL,
    category      text,
    received_at   timestamptz NOT NULL,
    status        text NOT NULL,
    current_step  text,
    sop_version   text,
    anonymous     boolean NOT NULL,
    confidential  boolean NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS case_summary_tracking_code ON case_summary (tracking_code);

-- One row per bucket a case can count in; a case counts in exactly one bucket at a time.
CREATE TABLE IF NOT EXISTS rekap (
    agency   text NOT NULL,
    year     integer NOT NULL,
    month    integer NOT NULL,
    channel  text NOT NULL,
    kind     text NOT NULL,
    category text NOT NULL,
    status   text NOT NULL,
    count    bigint NOT NULL,
    PRIMARY KEY (agency, year, month, channel, kind, category, status)
);

-- The last version applied of each event stream (producer + case): the consumer's inbox.
CREATE TABLE IF NOT EXISTS stream_positions (
    source  text NOT NULL,
    subject uuid NOT NULL,
    version bigint NOT NULL,
    PRIMARY KEY (source, subject)
);

-- Events that arrived ahead of their predecessor; applied as soon as the gap closes.
CREATE TABLE IF NOT EXISTS pending_events (
    source   text NOT NULL,
    subject  uuid NOT NULL,
    version  bigint NOT NULL,
    body     bytea NOT NULL,
    held_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (source, subject, version)
);
