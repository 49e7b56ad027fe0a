/*
 * CALL ecpower.refresh(as_of) (README "Refresh, membership and history"): the lock, the run log and the
 * transactions live here, in one place; the evaluation is C
 * (ecpower._refresh_compute, src/refresh/refresh.c).
 *
 * Called on its own (psql, pg_cron), the procedure works in three
 * transactions:
 *   1. take the refresh lock (refused at once with SQLSTATE 55P03 and a
 *      'skipped' row when another refresh is running), mark stale
 *      'running' rows 'abandoned', insert this run as 'running'; COMMIT;
 *   2. ecpower._refresh_run(): take the refresh lock again and the
 *      definitions lock; membership, RFM, the post-membership steps, the
 *      refresh_state pointer and the 'succeeded' status, all in one
 *      transaction, so readers see the previous or the new result; on any
 *      error (cancel and statement_timeout included) that work is rolled
 *      back and the run is marked 'failed' with the error; COMMIT;
 *   3. re-raise the error, if there was one.
 *
 * The refresh lock is an EXCLUSIVE lock on the empty table
 * ecpower.refresh_lock, which only roles with UPDATE on it (the refresher)
 * can take: a role that may merely read, or a stranger,
 * cannot hold refreshes off (an advisory lock is open to every role).  A
 * table lock lasts one transaction, so between transactions 1 and 2 the
 * run is protected by its 'running' row instead: a refresh that gets the
 * lock but finds a 'running' run of another live backend is refused the
 * same way.
 * A procedure that commits cannot carry a SET clause, so it pins
 * search_path with set_config() at the start of every transaction.
 *
 * Called where it cannot commit (inside BEGIN ... COMMIT, or from a
 * function), it runs entirely in the caller's transaction under a
 * transaction-level lock, and its run row lives or dies with that
 * transaction.
 */

CREATE TABLE ecpower.refresh_lock ();
COMMENT ON TABLE ecpower.refresh_lock IS
    'empty: a refresh holds an EXCLUSIVE lock on it while it runs (only the refresher may take it)';

CREATE FUNCTION ecpower._refresh_can_commit()
RETURNS boolean
AS 'MODULE_PATHNAME', 'refresh_can_commit'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION ecpower._refresh_can_commit() IS
    'internal: true when the calling procedure may COMMIT (top-level CALL or DO, not in a transaction block or function)';

CREATE FUNCTION ecpower._refresh_compute(run_id bigint, as_of timestamptz,
                                         OUT segments integer, OUT customers integer)
AS 'MODULE_PATHNAME', 'refresh_compute'
LANGUAGE C VOLATILE STRICT
SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION ecpower._refresh_compute(bigint, timestamptz) IS
    'internal: evaluates every segment and RFM in one pass and stores them for the run';

/*
 * Take the refresh lock for this transaction; false, at once, when another
 * transaction holds it or another live backend has a 'running' run (one
 * between its first and second transaction).  A 'running' row of this
 * backend is stale: this backend is not running it.
 */
CREATE FUNCTION ecpower._refresh_try_lock()
RETURNS boolean
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    BEGIN
        LOCK TABLE ecpower.refresh_lock IN EXCLUSIVE MODE NOWAIT;
    EXCEPTION WHEN lock_not_available THEN
        RETURN false;
    END;
    RETURN NOT EXISTS (
        SELECT 1
          FROM ecpower.refresh_runs AS r
          JOIN pg_catalog.pg_stat_activity AS a ON a.pid OPERATOR(pg_catalog.=) r.pid
         WHERE r.status OPERATOR(pg_catalog.=) 'running'
           AND r.pid OPERATOR(pg_catalog.<>) pg_catalog.pg_backend_pid());
END
$$;
COMMENT ON FUNCTION ecpower._refresh_try_lock() IS
    'internal: takes the refresh lock (EXCLUSIVE on ecpower.refresh_lock) unless another refresh is running';

CREATE FUNCTION ecpower._refresh_run(p_run bigint)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_as_of timestamptz;
    v_res record;
BEGIN
    -- the refresh lock again (another refresh's first transaction may hold
    -- it for a moment; it finds this run 'running' and gives up), and the
    -- definitions lock: segments do not change while they are evaluated
    -- and their results stored (definition changes wait for the refresh)
    LOCK TABLE ecpower.refresh_lock IN EXCLUSIVE MODE;
    LOCK TABLE ecpower.definition_lock IN SHARE MODE;
    SELECT r.as_of INTO STRICT v_as_of
      FROM ecpower.refresh_runs AS r WHERE r.run_id OPERATOR(pg_catalog.=) p_run;

    -- predictions: when the store opts in, re-fit and re-score
    -- first, so that "predicted" conditions see this as_of
    PERFORM ecpower.refresh_predictions(v_as_of);

    -- membership of every segment for the run's as_of_date, and RFM
    SELECT * INTO v_res FROM ecpower._refresh_compute(p_run, v_as_of);

    -- post-membership steps: other modules add theirs here, in this same
    -- transaction (ecpower.refresh_state still points at the previous run;
    -- the new run is p_run, its membership is stored):
    -- (the KPI snapshots are taken by _refresh_compute from the orders it
    -- evaluated: src/refresh/refresh.c, src/reports/kpi_report.c)
    PERFORM ecpower._record_tag_changes(p_run); -- tag-change feed (src/activation/activation.c)

    UPDATE ecpower.refresh_state SET current_run_id = p_run;
    UPDATE ecpower.refresh_runs
       SET status = 'succeeded', finished_at = pg_catalog.clock_timestamp(),
           segments = v_res.segments, customers = v_res.customers
     WHERE run_id OPERATOR(pg_catalog.=) p_run;
END
$$;
COMMENT ON FUNCTION ecpower._refresh_run(bigint) IS
    'internal: the all-or-nothing part of a refresh run';

/*
 * start a run: refuse an as_of earlier than the current one, abandon stale
 * runs, log this one as running.  A refresh replaces the current state
 * (membership, RFM, what reports answer as of) and appends tag changes, so
 * going back in time would throw away the state of the later refresh.
 */
CREATE FUNCTION ecpower._refresh_start(p_as_of timestamptz)
RETURNS bigint
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_run bigint;
    v_current timestamptz;
BEGIN
    -- the caller holds the refresh lock and saw no live run
    SELECT r.as_of INTO v_current
      FROM ecpower.refresh_state AS s
      JOIN ecpower.refresh_runs AS r ON r.run_id OPERATOR(pg_catalog.=) s.current_run_id;
    IF v_current IS NOT NULL AND p_as_of OPERATOR(pg_catalog.<) v_current THEN
        RAISE EXCEPTION 'as_of % is earlier than the as_of of the last successful refresh, %',
                        p_as_of, v_current
            USING ERRCODE = 'invalid_parameter_value',
                  DETAIL = 'A refresh replaces the current membership, RFM and the "as of" of every report, and writes tag changes; it only moves forward.',
                  HINT = 'To see past days, read the history: ecpower.segment_members(slug, on_date), ecpower.segment_history().';
    END IF;
    UPDATE ecpower.refresh_runs
       SET status = 'abandoned', finished_at = pg_catalog.clock_timestamp(),
           error = 'the backend running it ended without finishing the run'
     WHERE status OPERATOR(pg_catalog.=) 'running';
    INSERT INTO ecpower.refresh_runs (as_of, as_of_date, pid)
    SELECT p_as_of, (p_as_of AT TIME ZONE s.store_timezone)::date, pg_catalog.pg_backend_pid()
      FROM ecpower.settings AS s
    RETURNING run_id INTO v_run;
    IF v_run IS NULL THEN
        RAISE EXCEPTION 'ecpower.settings has no row' USING ERRCODE = 'object_not_in_prerequisite_state';
    END IF;
    RETURN v_run;
END
$$;
COMMENT ON FUNCTION ecpower._refresh_start(timestamptz) IS
    'internal: marks stale running refreshes abandoned and logs a new run';

CREATE FUNCTION ecpower._refresh_busy(p_as_of timestamptz, p_log boolean)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_pid integer;
BEGIN
    SELECT l.pid INTO v_pid FROM pg_catalog.pg_locks AS l
     WHERE l.locktype OPERATOR(pg_catalog.=) 'relation'
       AND l.relation OPERATOR(pg_catalog.=) 'ecpower.refresh_lock'::pg_catalog.regclass
       AND l.mode OPERATOR(pg_catalog.=) 'ExclusiveLock' AND l.granted
     LIMIT 1;
    IF v_pid IS NULL THEN
        SELECT r.pid INTO v_pid FROM ecpower.refresh_runs AS r
         WHERE r.status OPERATOR(pg_catalog.=) 'running'
         ORDER BY r.run_id DESC LIMIT 1;
    END IF;
    IF p_log THEN
        INSERT INTO ecpower.refresh_runs (as_of, as_of_date, finished_at, status, error, pid)
        SELECT p_as_of, (p_as_of AT TIME ZONE s.store_timezone)::date,
               pg_catalog.clock_timestamp(), 'skipped',
               pg_catalog.format('another refresh is running (pid %s)', v_pid),
               pg_catalog.pg_backend_pid()
          FROM ecpower.settings AS s;
    END IF;
END
$$;
COMMENT ON FUNCTION ecpower._refresh_busy(timestamptz, boolean) IS
    'internal: logs a refused refresh as skipped';

CREATE PROCEDURE ecpower.refresh(as_of timestamptz DEFAULT pg_catalog.now())
LANGUAGE plpgsql
AS $$
DECLARE
    -- declarations are resolved on the caller's search_path (this procedure
    -- cannot pin it with a SET clause): type names are qualified
    v_run bigint;
    v_path pg_catalog.text := pg_catalog.current_setting('search_path');
    v_failed boolean := false;
    v_state pg_catalog.text;
    v_msg pg_catalog.text;
    v_detail pg_catalog.text;
    v_hint pg_catalog.text;
BEGIN
    PERFORM pg_catalog.set_config('search_path', 'pg_catalog, pg_temp', true);
    IF as_of IS NULL OR NOT pg_catalog.isfinite(as_of) THEN
        RAISE EXCEPTION 'as_of must be a finite timestamp' USING ERRCODE = 'invalid_parameter_value';
    END IF;

    IF NOT ecpower._refresh_can_commit() THEN
        -- inside the caller's transaction (a transaction block, or called
        -- from a function): no COMMIT, one transaction
        IF NOT ecpower._refresh_try_lock() THEN
            RAISE EXCEPTION 'a refresh is already running'
                USING ERRCODE = 'lock_not_available',
                      HINT = 'See ecpower.refresh_runs; try again when it has finished.';
        END IF;
        v_run := ecpower._refresh_start(as_of);
        PERFORM ecpower._refresh_run(v_run);
        PERFORM pg_catalog.set_config('search_path', v_path, true);
        RETURN;
    END IF;

    -- transaction 1: lock and log
    IF NOT ecpower._refresh_try_lock() THEN
        PERFORM ecpower._refresh_busy(as_of, true);
        COMMIT;
        RAISE EXCEPTION 'a refresh is already running'
            USING ERRCODE = 'lock_not_available',
                  DETAIL = 'This attempt is logged as skipped in ecpower.refresh_runs.',
                  HINT = 'Try again when the running refresh has finished.';
    END IF;
    v_run := ecpower._refresh_start(as_of);
    COMMIT;

    -- transaction 2: the work, all or nothing
    PERFORM pg_catalog.set_config('search_path', 'pg_catalog, pg_temp', true);
    BEGIN
        PERFORM ecpower._refresh_run(v_run);
    EXCEPTION WHEN OTHERS OR query_canceled THEN
        GET STACKED DIAGNOSTICS v_state = RETURNED_SQLSTATE, v_msg = MESSAGE_TEXT,
                                v_detail = PG_EXCEPTION_DETAIL, v_hint = PG_EXCEPTION_HINT;
        v_failed := true;
        UPDATE ecpower.refresh_runs
           SET status = 'failed', finished_at = pg_catalog.clock_timestamp(),
               error = v_state OPERATOR(pg_catalog.||) ': ' OPERATOR(pg_catalog.||) v_msg
         WHERE run_id OPERATOR(pg_catalog.=) v_run;
    END;
    COMMIT;

    -- transaction 3: report
    PERFORM pg_catalog.set_config('search_path', 'pg_catalog, pg_temp', true);
    IF v_failed THEN
        v_hint := pg_catalog.concat_ws(' ', NULLIF(v_hint, ''),
            pg_catalog.format('Refresh run %s is logged as failed in ecpower.refresh_runs.', v_run));
        IF COALESCE(v_detail, '') OPERATOR(pg_catalog.=) '' THEN
            RAISE EXCEPTION '%', v_msg USING ERRCODE = v_state, HINT = v_hint;
        ELSE
            RAISE EXCEPTION '%', v_msg USING ERRCODE = v_state, DETAIL = v_detail, HINT = v_hint;
        END IF;
    END IF;
END
$$;
COMMENT ON PROCEDURE ecpower.refresh(timestamptz) IS
    'evaluates every segment and RFM as of as_of and stores membership, history and RFM (README "Refresh, membership and history")';
