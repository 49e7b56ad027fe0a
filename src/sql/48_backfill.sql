/*
 * CALL ecpower.backfill(from_date, to_date) (docs/backfill.md): membership
 * history and KPI snapshots for days before the store was first refreshed,
 * as refreshes at the end of each of those days would have stored them.
 *
 * One transaction, all or nothing: the checks, the refresh lock (the same
 * EXCLUSIVE lock on ecpower.refresh_lock a refresh takes; refused at once
 * with 55P03 while a refresh or another backfill runs), the definitions
 * lock, one ecpower.refresh_runs row with status 'backfilled', and the
 * computation (ecpower._backfill_compute, src/refresh/backfill.c).  The
 * current membership, RFM, the tag-change feed and ecpower.refresh_state
 * are not touched.
 */

-- a backfill is logged in the run log with its own status
ALTER TABLE ecpower.refresh_runs
    DROP CONSTRAINT refresh_runs_status_check,
    ADD CONSTRAINT refresh_runs_status_check
        CHECK (status OPERATOR(pg_catalog.=) ANY
               (ARRAY['running', 'succeeded', 'failed', 'abandoned', 'skipped',
                      'backfilled']::text[]));

CREATE FUNCTION ecpower._backfill_compute(run_id bigint, from_date date, to_date date,
                                          OUT days integer, OUT segments integer,
                                          OUT customers integer)
AS 'MODULE_PATHNAME', 'backfill_compute'
LANGUAGE C VOLATILE STRICT
SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION ecpower._backfill_compute(bigint, date, date) IS
    'internal: stores membership history and KPI snapshots of every segment for every day of a range';

CREATE PROCEDURE ecpower.backfill(from_date date, to_date date)
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_tz text;
    v_today date;
    v_current date;
    v_as_of timestamptz;
    v_run bigint;
    v_res record;
BEGIN
    IF from_date IS NULL THEN
        RAISE EXCEPTION 'from_date must not be NULL' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF to_date IS NULL THEN
        RAISE EXCEPTION 'to_date must not be NULL' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF NOT pg_catalog.isfinite(from_date) THEN
        RAISE EXCEPTION 'from_date must be a finite date, not %', from_date
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF NOT pg_catalog.isfinite(to_date) THEN
        RAISE EXCEPTION 'to_date must be a finite date, not %', to_date
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF from_date OPERATOR(pg_catalog.>) to_date THEN
        RAISE EXCEPTION 'from_date % is after to_date %', from_date, to_date
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF to_date OPERATOR(pg_catalog.>=)
       (from_date OPERATOR(pg_catalog.+) '10 years'::pg_catalog.interval)::date THEN
        RAISE EXCEPTION 'the range from % to % is longer than 10 years', from_date, to_date
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Backfill at most 10 years in one call; call it again for earlier years.';
    END IF;

    IF NOT ecpower._refresh_try_lock() THEN
        RAISE EXCEPTION 'a refresh is already running'
            USING ERRCODE = 'lock_not_available',
                  HINT = 'See ecpower.refresh_runs; try again when it has finished.';
    END IF;
    -- definitions do not change while they are evaluated (as in refresh)
    LOCK TABLE ecpower.definition_lock IN SHARE MODE;

    SELECT s.store_timezone INTO v_tz FROM ecpower.settings AS s;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'ecpower.settings has no row' USING ERRCODE = 'object_not_in_prerequisite_state';
    END IF;
    v_today := (pg_catalog.now() AT TIME ZONE v_tz)::date;
    IF to_date OPERATOR(pg_catalog.>=) v_today THEN
        RAISE EXCEPTION 'to_date % is not in the past', to_date
            USING ERRCODE = 'invalid_parameter_value',
                  DETAIL = pg_catalog.format('Today is %s in the store time zone (%s); only days that have ended can be backfilled.',
                                             v_today, v_tz);
    END IF;
    SELECT r.as_of_date INTO v_current
      FROM ecpower.refresh_state AS s
      JOIN ecpower.refresh_runs AS r ON r.run_id OPERATOR(pg_catalog.=) s.current_run_id;
    IF v_current IS NOT NULL AND to_date OPERATOR(pg_catalog.>=) v_current THEN
        RAISE EXCEPTION 'to_date % is not before the day of the last refresh, %', to_date, v_current
            USING ERRCODE = 'invalid_parameter_value',
                  DETAIL = 'The day of the last refresh holds the current membership, and later days are stored by the refreshes that follow it.',
                  HINT = pg_catalog.format('Backfill days up to %s.', v_current OPERATOR(pg_catalog.-) 1);
    END IF;

    v_as_of := ((to_date OPERATOR(pg_catalog.+) 1)::timestamp AT TIME ZONE v_tz)
               OPERATOR(pg_catalog.-) '1 microsecond'::pg_catalog.interval;
    INSERT INTO ecpower.refresh_runs (as_of, as_of_date, status, pid)
    VALUES (v_as_of, to_date, 'backfilled', pg_catalog.pg_backend_pid())
    RETURNING run_id INTO v_run;

    SELECT * INTO v_res FROM ecpower._backfill_compute(v_run, from_date, to_date);

    UPDATE ecpower.refresh_runs
       SET finished_at = pg_catalog.clock_timestamp(),
           segments = v_res.segments, customers = v_res.customers
     WHERE run_id OPERATOR(pg_catalog.=) v_run;
END
$$;
COMMENT ON PROCEDURE ecpower.backfill(date, date) IS
    'stores membership history and KPI snapshots for every day of [from_date, to_date] as end-of-day refreshes would have (docs/backfill.md)';

CREATE FUNCTION ecpower.customer_segments(customer_id bigint, on_date date)
RETURNS SETOF text
AS 'MODULE_PATHNAME', 'customer_segments_on_date'
LANGUAGE C STABLE STRICT PARALLEL RESTRICTED
SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION ecpower.customer_segments(bigint, date) IS
    'slugs of the segments a customer was in on a stored day (refreshed or backfilled)';
