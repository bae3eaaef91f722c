-- Reporting's read models. Every table is disposable: a rebuild re-creates it from the events.
-- Statements run with search_path set to the target schema (live, or a rebuild's).

CREATE TABLE IF NOT EXISTS case_summary (
    case_id        uuid PRIMARY KEY,
    agency         text NOT NULL,
    tracking_code  text NOT NULL,
    kind           text NOT NULL,
    channel        text NOT NULL,
    category       text,  -- shared/categories.py, or an imported register's own topic
    received_at    timestamptz NOT NULL,
    anonymous      boolean NOT NULL,
    confidential   boolean NOT NULL,
    status         text NOT NULL,
    current_step   text,
    sop_version    text,
    step_due_at    timestamptz,
    deadline_at    timestamptz,
    waiting_since  timestamptz,
    closed_at      timestamptz,
    resolution     text,
    public_answer  text,
    bkpm_escalated boolean NOT NULL,
    bkpm_reference text,
    overdue        boolean NOT NULL,
    breached       boolean NOT NULL,
    reopened       integer NOT NULL,
    merged_into    uuid,
    imported       boolean NOT NULL DEFAULT false,
    handled_by     text,
    replied_at     timestamptz
);
-- Added with the register import; a read model made before it gets the column here.
ALTER TABLE case_summary ADD COLUMN IF NOT EXISTS imported boolean NOT NULL DEFAULT false;
-- Added with officers' names (the officer who acted last, by name).
ALTER TABLE case_summary ADD COLUMN IF NOT EXISTS handled_by text;
-- Added with the complainant's replies (the worklist marks a case they wrote to).
ALTER TABLE case_summary ADD COLUMN IF NOT EXISTS replied_at timestamptz;
CREATE UNIQUE INDEX IF NOT EXISTS case_summary_tracking_code ON case_summary (tracking_code);
CREATE INDEX IF NOT EXISTS case_summary_worklist
    ON case_summary (agency, current_step, step_due_at) WHERE current_step IS NOT NULL;
CREATE INDEX IF NOT EXISTS case_summary_received ON case_summary (agency, received_at);

-- One row per bucket a case can count in; a case counts in exactly one bucket at a time.
CREATE TABLE IF NOT EXISTS rekap (
    agency     text NOT NULL,
    year       integer NOT NULL,
    month      integer NOT NULL,
    channel    text NOT NULL,
    kind       text NOT NULL,
    category   text NOT NULL,
    status     text NOT NULL,
    timeliness text NOT NULL,
    count      bigint NOT NULL,
    PRIMARY KEY (agency, year, month, channel, kind, category, status, timeliness)
);

-- The same counts without category, status and timeliness: month × channel questions (the
-- monthly rekap, the multi-year table) read a few hundred rows a year, however many cases.
CREATE TABLE IF NOT EXISTS rekap_by_channel (
    agency  text NOT NULL,
    year    integer NOT NULL,
    month   integer NOT NULL,
    channel text NOT NULL,
    kind    text NOT NULL,
    count   bigint NOT NULL,
    PRIMARY KEY (agency, year, month, channel, kind)
);

-- Each SOP step done: the working time it took against its standard (for compliance).
CREATE TABLE IF NOT EXISTS step_times (
    case_id         uuid NOT NULL,
    version         bigint NOT NULL,
    agency          text NOT NULL,
    kind            text NOT NULL,
    sop_version     text NOT NULL,
    step            text NOT NULL,
    role            text,
    completed_at    timestamptz NOT NULL,
    working_minutes double precision NOT NULL,
    within_standard boolean NOT NULL,
    PRIMARY KEY (case_id, version)
);
CREATE INDEX IF NOT EXISTS step_times_by_step ON step_times (agency, kind, step, completed_at);

-- A case's public history, as its complainant reads it with the receipt secret: each step
-- with its date and the office's message to them (never the officers' notes or names).
CREATE TABLE IF NOT EXISTS case_history (
    case_id uuid NOT NULL,
    source  text NOT NULL,
    version bigint NOT NULL,
    agency  text NOT NULL,
    at      timestamptz NOT NULL,
    event   text NOT NULL,
    step    text,
    message text,
    PRIMARY KEY (case_id, source, version)
);

-- The satisfaction survey (SKM): nine elements rated 1 to 4, one answer per case.
CREATE TABLE IF NOT EXISTS surveys (
    case_id      uuid PRIMARY KEY,
    agency       text NOT NULL,
    submitted_at timestamptz NOT NULL,
    scores       smallint[] NOT NULL,
    age_group    text,
    sex          text,
    education    text,
    occupation   text
);
-- Added with the respondent's profile (PermenPANRB 14/2017); older tables get the columns here.
ALTER TABLE surveys ADD COLUMN IF NOT EXISTS age_group text;
ALTER TABLE surveys ADD COLUMN IF NOT EXISTS sex text;
ALTER TABLE surveys ADD COLUMN IF NOT EXISTS education text;
ALTER TABLE surveys ADD COLUMN IF NOT EXISTS occupation text;

-- The administrator's corrections of the office calendar, as workflow published them.
CREATE TABLE IF NOT EXISTS calendar_days (
    agency  text NOT NULL,
    day     date NOT NULL,
    working boolean NOT NULL,
    label   text NOT NULL,
    PRIMARY KEY (agency, day)
);

-- The last version applied of each event stream (producer + subject): the consumer's inbox.
CREATE TABLE IF NOT EXISTS stream_positions (
    source  text NOT NULL,
    subject uuid NOT NULL,
    version bigint NOT NULL,
    PRIMARY KEY (source, subject)
);

-- Events that arrived ahead of their predecessor; applied as soon as the gap closes.
CREATE TABLE IF NOT EXISTS pending_events (
    source  text NOT NULL,
    subject uuid NOT NULL,
    version bigint NOT NULL,
    body    bytea NOT NULL,
    PRIMARY KEY (source, subject, version)
);

-- Row-level security: reads on someone's behalf take the role aduan_reporting_reader and the
-- transaction-local setting aduan.agencies (agency ids joined by commas, or '*' for every
-- agency; services/reporting/tenancy.py). The role sees only those agencies' rows of each
-- table below, whatever its query asks; it cannot read the consumer's own tables. The
-- projection writes as the tables' owner, whom the policies do not bind.
DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'aduan_reporting_reader') THEN
        CREATE ROLE aduan_reporting_reader NOLOGIN;
    END IF;
EXCEPTION WHEN duplicate_object OR unique_violation THEN
    NULL;  -- another database of this server created it at the same moment
END $$;

DO $$
DECLARE
    agency_table text;
    -- Each setting read once per query (an InitPlan), not once per row.
    seen text := '(SELECT current_setting(''aduan.agencies'', true)) = ''*'' OR agency = ANY ('
        '(SELECT string_to_array(current_setting(''aduan.agencies'', true), '',''))::text[])';
BEGIN
    IF NOT pg_has_role(current_user, 'aduan_reporting_reader', 'MEMBER') THEN
        EXECUTE format('GRANT aduan_reporting_reader TO %I', current_user);  -- may SET ROLE
    END IF;
    EXECUTE format('GRANT USAGE ON SCHEMA %I TO aduan_reporting_reader', current_schema());
    FOREACH agency_table IN ARRAY ARRAY[
        'case_summary', 'rekap', 'rekap_by_channel', 'step_times', 'case_history', 'surveys',
        'calendar_days'
    ] LOOP
        EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', agency_table);
        EXECUTE format('GRANT SELECT ON %I TO aduan_reporting_reader', agency_table);
        IF EXISTS (
            SELECT FROM pg_policies WHERE schemaname = current_schema()
            AND tablename = agency_table AND policyname = 'by_agency'
        ) THEN
            EXECUTE format(
                'ALTER POLICY by_agency ON %I TO aduan_reporting_reader USING (%s)',
                agency_table, seen
            );
        ELSE
            EXECUTE format(
                'CREATE POLICY by_agency ON %I FOR SELECT TO aduan_reporting_reader USING (%s)',
                agency_table, seen
            );
        END IF;
    END LOOP;
END $$;
