/*
 * Catalog of segments and refresh results (README "Segments" and "Refresh, membership and history").
 *
 *   segments, segment_versions   definitions and every change to them
 *   refresh_runs                 one row per refresh attempt
 *   refresh_state                one row: the last successful run, which every
 *                                report answers "as of" (README "KPIs, cohorts and journeys")
 *   membership                   who was in each segment on each refreshed day,
 *                                as roaring bitmaps of customers.ckey; stored as
 *                                keyframes ('f') and XOR deltas ('d') against
 *                                an earlier stored day (base_day), so a year of
 *                                daily history costs little more than its
 *                                keyframes (see src/segments/membership.c)
 */

CREATE TABLE ecpower.segments (
    segment_id      serial PRIMARY KEY,
    slug            text NOT NULL
                    CONSTRAINT segments_slug_key UNIQUE
                    CONSTRAINT segments_slug_check
                    CHECK (slug OPERATOR(pg_catalog.~) '^[a-z0-9][a-z0-9_-]{0,62}$'),
    name            text NOT NULL,
    description     text,
    definition      jsonb NOT NULL,
    sync_tag        text,
    created_at      timestamptz NOT NULL DEFAULT pg_catalog.now(),
    updated_at      timestamptz NOT NULL DEFAULT pg_catalog.now()
);
COMMENT ON TABLE ecpower.segments IS 'segment definitions (README "Segments")';

CREATE TABLE ecpower.segment_versions (
    segment_id      integer NOT NULL,
    version         integer NOT NULL,
    slug            text NOT NULL,
    definition      jsonb,
    changed_at      timestamptz NOT NULL DEFAULT pg_catalog.now(),
    changed_by      name NOT NULL DEFAULT CURRENT_USER,
    change          text NOT NULL,
    name            text,
    description     text,
    sync_tag        text,
    PRIMARY KEY (segment_id, version)
);
COMMENT ON TABLE ecpower.segment_versions IS
    'every change to a segment (create, update, rename, alter, drop) with its state after the change, kept after the segment is dropped';

CREATE TABLE ecpower.refresh_runs (
    run_id          bigserial PRIMARY KEY,
    as_of           timestamptz NOT NULL,
    as_of_date      date NOT NULL,
    started_at      timestamptz NOT NULL DEFAULT pg_catalog.clock_timestamp(),
    finished_at     timestamptz,
    status          text NOT NULL DEFAULT 'running'
                    CONSTRAINT refresh_runs_status_check
                    CHECK (status OPERATOR(pg_catalog.=) ANY
                           (ARRAY['running', 'succeeded', 'failed', 'abandoned', 'skipped']::text[])),
    segments        integer,
    customers       integer,
    error           text,
    pid             integer
);
COMMENT ON TABLE ecpower.refresh_runs IS 'every refresh attempt and how it ended (README "Refresh, membership and history")';

CREATE TABLE ecpower.refresh_state (
    singleton       boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    current_run_id  bigint REFERENCES ecpower.refresh_runs
);
COMMENT ON TABLE ecpower.refresh_state IS
    'the last successful refresh: what membership, KPIs and reports answer as of';

/* like settings: one row from CREATE EXTENSION on; a restore updates it */
CREATE FUNCTION ecpower._refresh_state_guard() RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM ecpower.refresh_state) THEN
        UPDATE ecpower.refresh_state SET current_run_id = NEW.current_run_id;
        RETURN NULL;
    END IF;
    RETURN NEW;
END
$$;
COMMENT ON FUNCTION ecpower._refresh_state_guard() IS
    'keeps ecpower.refresh_state at one row (restores update it)';
CREATE TRIGGER refresh_state_guard BEFORE INSERT ON ecpower.refresh_state
    FOR EACH ROW EXECUTE FUNCTION ecpower._refresh_state_guard();
INSERT INTO ecpower.refresh_state DEFAULT VALUES;

CREATE TABLE ecpower.membership (
    -- a dropped segment's history goes with it (the cascade runs as the
    -- table's owner, so the admin who drops needs no write on membership)
    segment_id      integer NOT NULL REFERENCES ecpower.segments ON DELETE CASCADE,
    day             date NOT NULL,
    run_id          bigint NOT NULL,
    member_count    integer NOT NULL,
    kind            "char" NOT NULL
                    CONSTRAINT membership_kind_check
                    CHECK (kind OPERATOR(pg_catalog.=) ANY (ARRAY['f', 'd']::"char"[])),
    base_day        date,
    chain           integer NOT NULL DEFAULT 0,
    members         bytea NOT NULL,
    PRIMARY KEY (segment_id, day),
    CONSTRAINT membership_delta_check
        CHECK ((kind OPERATOR(pg_catalog.=) 'f'::"char") OPERATOR(pg_catalog.=) (base_day IS NULL))
);
COMMENT ON TABLE ecpower.membership IS
    'segment membership per refreshed day: roaring bitmaps of customers.ckey, keyframes and XOR deltas';
CREATE INDEX membership_base_idx ON ecpower.membership (segment_id, base_day);

SELECT pg_catalog.pg_extension_config_dump('ecpower.segments', '');
SELECT pg_catalog.pg_extension_config_dump('ecpower.segments_segment_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('ecpower.segment_versions', '');
SELECT pg_catalog.pg_extension_config_dump('ecpower.refresh_runs', '');
SELECT pg_catalog.pg_extension_config_dump('ecpower.refresh_runs_run_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('ecpower.refresh_state', '');
SELECT pg_catalog.pg_extension_config_dump('ecpower.membership', '');

CREATE FUNCTION ecpower.segment_members(slug text)
RETURNS SETOF bigint
AS 'MODULE_PATHNAME', 'segment_members_current'
LANGUAGE C STABLE STRICT PARALLEL RESTRICTED
SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION ecpower.segment_members(text) IS
    'customer ids in a segment as of the last refresh, ascending';

CREATE FUNCTION ecpower.segment_members(slug text, on_date date)
RETURNS SETOF bigint
AS 'MODULE_PATHNAME', 'segment_members_on_date'
LANGUAGE C STABLE STRICT PARALLEL RESTRICTED
SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION ecpower.segment_members(text, date) IS
    'customer ids in a segment on a refreshed day (from membership history), ascending';

CREATE FUNCTION ecpower.customer_segments(customer_id bigint)
RETURNS SETOF text
AS 'MODULE_PATHNAME', 'customer_segments'
LANGUAGE C STABLE STRICT PARALLEL RESTRICTED
SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION ecpower.customer_segments(bigint) IS
    'slugs of the segments a customer is in as of the last refresh';
