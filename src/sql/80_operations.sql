/*
 * Operations (README "Refresh, membership and history" and "Operations"): the nightly refresh through
 * pg_cron, catching up a missed night, and a freshness report for
 * dashboards.
 *
 * pg_cron is optional (the control file does not require it): the
 * scheduling functions look it up at run time and raise SQLSTATE 55000 with
 * a hint when it is not installed in this database.  Jobs run as the role
 * that scheduled them, so the refresher role calls schedule_refresh().
 *
 *   ecpower-refresh           cron (default 03:00 daily): CALL ecpower.refresh()
 *   ecpower-refresh-catch-up  hourly at minute 17:      CALL ecpower.refresh_if_stale()
 *
 * Both commands are a bare CALL: pg_cron runs a command string as one
 * statement, and a procedure that commits fails when more statements
 * follow it in the same string.
 */

/* the error every scheduling function raises when pg_cron is missing */
CREATE FUNCTION ecpower._require_pg_cron()
RETURNS void
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_extension
                    WHERE extname OPERATOR(pg_catalog.=) 'pg_cron') THEN
        RAISE EXCEPTION 'pg_cron is not installed in database "%"', pg_catalog.current_database()
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  DETAIL = 'ecpower schedules its nightly refresh with pg_cron.',
                  HINT = pg_catalog.format('Add pg_cron to shared_preload_libraries, set cron.database_name = %L, '
                                           'restart the server and run CREATE EXTENSION pg_cron in this database; '
                                           'or run CALL ecpower.refresh() from another scheduler.',
                                           pg_catalog.current_database());
    END IF;
END
$$;
COMMENT ON FUNCTION ecpower._require_pg_cron() IS
    'internal: raises 55000 with a hint when pg_cron is not installed in this database';

CREATE FUNCTION ecpower.schedule_refresh(cron text DEFAULT '0 3 * * *',
                                         catch_up text DEFAULT '17 * * * *')
RETURNS bigint
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    job bigint;
BEGIN
    PERFORM ecpower._require_pg_cron();
    IF cron IS NULL THEN
        RAISE EXCEPTION 'cron schedule must not be null'
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Use ecpower.unschedule_refresh() to remove the job.';
    END IF;
    -- cron.schedule() replaces the caller's job of the same name in place
    EXECUTE 'SELECT cron.schedule($1, $2, $3)' INTO job
        USING 'ecpower-refresh'::text, cron, 'CALL ecpower.refresh()'::text;
    IF catch_up IS NOT NULL THEN
        EXECUTE 'SELECT cron.schedule($1, $2, $3)'
            USING 'ecpower-refresh-catch-up'::text, catch_up,
                  'CALL ecpower.refresh_if_stale()'::text;
    ELSE
        EXECUTE 'SELECT cron.unschedule(j.jobname) FROM cron.job AS j WHERE j.jobname OPERATOR(pg_catalog.=) $1'
            USING 'ecpower-refresh-catch-up'::text;
    END IF;
    RETURN job;
END
$$;
COMMENT ON FUNCTION ecpower.schedule_refresh(text, text) IS
    'schedules the nightly refresh (pg_cron job ecpower-refresh) and an hourly catch-up of a missed night; returns the job id';

CREATE FUNCTION ecpower.unschedule_refresh()
RETURNS boolean
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    found boolean;
BEGIN
    PERFORM ecpower._require_pg_cron();
    EXECUTE 'SELECT pg_catalog.count(*) OPERATOR(pg_catalog.>) 0 FROM cron.job AS j '
            'WHERE j.jobname OPERATOR(pg_catalog.=) $1' INTO found USING 'ecpower-refresh'::text;
    EXECUTE 'SELECT cron.unschedule(j.jobname) FROM cron.job AS j '
            'WHERE j.jobname OPERATOR(pg_catalog.=) ANY ($1)'
        USING ARRAY['ecpower-refresh', 'ecpower-refresh-catch-up']::text[];
    RETURN found;
END
$$;
COMMENT ON FUNCTION ecpower.unschedule_refresh() IS
    'removes the caller''s ecpower-refresh and catch-up pg_cron jobs; false when there was none';

/*
 * How fresh the results are: the run reports answer as of (the current
 * run), its age, whether it is older than max_age, whether a refresh is
 * running now, and the last failure.
 */
CREATE FUNCTION ecpower.freshness(max_age interval DEFAULT '26 hours')
RETURNS TABLE (current_run_id bigint, as_of timestamptz, as_of_date date,
               refreshed_at timestamptz, age interval, stale boolean, running boolean,
               last_status text, last_started_at timestamptz,
               last_failure_at timestamptz, last_error text,
               failures_since_success integer, schedule text)
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    cur record;
    last record;
    fail record;
    n_fail integer;
    is_running boolean;
    sched text;
BEGIN
    SELECT r.run_id, r.as_of, r.as_of_date, r.finished_at INTO cur
      FROM ecpower.refresh_state AS s
      JOIN ecpower.refresh_runs AS r ON r.run_id OPERATOR(pg_catalog.=) s.current_run_id;
    SELECT r.status, r.started_at INTO last
      FROM ecpower.refresh_runs AS r
     WHERE r.status OPERATOR(pg_catalog.<>) 'skipped'
     ORDER BY r.run_id DESC LIMIT 1;
    SELECT r.finished_at, r.error INTO fail
      FROM ecpower.refresh_runs AS r
     WHERE r.status OPERATOR(pg_catalog.=) ANY (ARRAY['failed', 'abandoned']::text[])
     ORDER BY r.run_id DESC LIMIT 1;
    SELECT pg_catalog.count(*)::integer INTO n_fail
      FROM ecpower.refresh_runs AS r
     WHERE r.status OPERATOR(pg_catalog.=) ANY (ARRAY['failed', 'abandoned']::text[])
       AND r.run_id OPERATOR(pg_catalog.>)
           COALESCE((SELECT pg_catalog.max(x.run_id) FROM ecpower.refresh_runs AS x
                      WHERE x.status OPERATOR(pg_catalog.=) 'succeeded'), 0);
    -- running: a 'running' run whose backend is still alive
    SELECT EXISTS (SELECT 1 FROM ecpower.refresh_runs AS r
                     JOIN pg_catalog.pg_stat_activity AS a
                       ON a.pid OPERATOR(pg_catalog.=) r.pid
                      AND a.backend_start OPERATOR(pg_catalog.<=) r.started_at
                    WHERE r.status OPERATOR(pg_catalog.=) 'running')
      INTO is_running;
    -- the nightly job, when pg_cron is here and shows it to this role
    IF EXISTS (SELECT 1 FROM pg_catalog.pg_extension
                WHERE extname OPERATOR(pg_catalog.=) 'pg_cron') THEN
        BEGIN
            EXECUTE 'SELECT j.schedule FROM cron.job AS j WHERE j.jobname OPERATOR(pg_catalog.=) $1 LIMIT 1'
                INTO sched USING 'ecpower-refresh'::text;
        EXCEPTION WHEN insufficient_privilege THEN
            sched := NULL;
        END;
    END IF;

    current_run_id := cur.run_id;
    as_of := cur.as_of;
    as_of_date := cur.as_of_date;
    refreshed_at := cur.finished_at;
    age := pg_catalog.now() OPERATOR(pg_catalog.-) cur.as_of;
    stale := cur.run_id IS NULL OR age OPERATOR(pg_catalog.>) max_age;
    running := is_running;
    last_status := last.status;
    last_started_at := last.started_at;
    last_failure_at := fail.finished_at;
    last_error := fail.error;
    failures_since_success := n_fail;
    schedule := sched;
    RETURN NEXT;
END
$$;
COMMENT ON FUNCTION ecpower.freshness(interval) IS
    'the current refresh, its age, a stale flag (older than max_age), a running flag and the last failure, for dashboards';

/*
 * Refresh now when the current results are older than max_age and no
 * refresh is running: the hourly catch-up job of a night the server missed.
 * A procedure that commits cannot carry a SET clause: search_path is pinned
 * with set_config() first (ecpower.refresh() pins its own), and the
 * caller's is put back at the end, for a caller inside a transaction block.
 */
CREATE PROCEDURE ecpower.refresh_if_stale(max_age interval DEFAULT '25 hours')
LANGUAGE plpgsql
AS $$
DECLARE
    -- resolved on the caller's search_path: qualified
    f record;
    caller_path pg_catalog.text;
BEGIN
    caller_path := pg_catalog.current_setting('search_path');
    PERFORM pg_catalog.set_config('search_path', 'pg_catalog, pg_temp', true);
    SELECT x.stale, x.running INTO f FROM ecpower.freshness(max_age) AS x;
    IF f.stale AND NOT f.running THEN
        CALL ecpower.refresh();
    END IF;
    PERFORM pg_catalog.set_config('search_path', caller_path, true);
END
$$;
COMMENT ON PROCEDURE ecpower.refresh_if_stale(interval) IS
    'runs ecpower.refresh() when the current results are older than max_age and none is running (catch-up of a missed night)';
