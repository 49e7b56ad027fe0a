-- Scheduling and freshness (README "Scheduling", "Monitoring"): pg_cron jobs
-- ecpower-refresh and ecpower-refresh-catch-up, the error without pg_cron,
-- freshness() over a hand-made run log, refresh_if_stale().
BEGIN;
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS ecpower;
SET TimeZone = 'UTC';
SELECT plan(32);

-- without pg_cron in this database: 55000 with a hint
DROP EXTENSION IF EXISTS pg_cron;
SELECT throws_ok($$SELECT ecpower.schedule_refresh()$$, '55000',
    'pg_cron is not installed in database "ecpower_test"',
    'schedule_refresh without pg_cron: 55000');
SELECT throws_ok($$SELECT ecpower.unschedule_refresh()$$, '55000', NULL,
    'unschedule_refresh without pg_cron: 55000');
CREATE FUNCTION pg_temp.error_hint(sql text) RETURNS text LANGUAGE plpgsql AS $f$
DECLARE h text;
BEGIN
    EXECUTE sql;
    RETURN NULL;
EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS h = PG_EXCEPTION_HINT;
    RETURN h;
END $f$;
SELECT matches(pg_temp.error_hint('SELECT ecpower.schedule_refresh()'),
    'shared_preload_libraries.*cron\.database_name = ''ecpower_test''.*CREATE EXTENSION pg_cron',
    'the hint says how to install pg_cron');
SELECT is((SELECT schedule FROM ecpower.freshness()), NULL, 'freshness works without pg_cron');

CREATE EXTENSION pg_cron;

-- the nightly job and the catch-up job
SELECT ok(ecpower.schedule_refresh() > 0, 'schedule_refresh() returns the job id');
SELECT is(
    (SELECT string_agg(concat_ws(' | ', jobname, schedule, command, database,
                                 username = current_user), E'\n' ORDER BY jobname::text COLLATE "C")
       FROM cron.job WHERE jobname LIKE 'ecpower-%'),
    E'ecpower-refresh | 0 3 * * * | CALL ecpower.refresh() | ecpower_test | t\n'
    'ecpower-refresh-catch-up | 17 * * * * | CALL ecpower.refresh_if_stale() | ecpower_test | t',
    'jobs ecpower-refresh (03:00, bare CALL) and ecpower-refresh-catch-up (hourly), as this role');
SELECT is((SELECT active FROM cron.job WHERE jobname = 'ecpower-refresh'), true, 'the job is active');

-- rescheduling replaces the job (same id, new schedule), never adds one
CREATE TEMP TABLE first_job AS SELECT jobid FROM cron.job WHERE jobname = 'ecpower-refresh';
SELECT is(ecpower.schedule_refresh('30 2 * * 1-5'), (SELECT jobid FROM first_job),
    'rescheduling returns the same job id');
SELECT is((SELECT count(*)::int FROM cron.job WHERE jobname = 'ecpower-refresh'), 1,
    'one ecpower-refresh job after rescheduling');
SELECT is((SELECT schedule FROM cron.job WHERE jobname = 'ecpower-refresh'), '30 2 * * 1-5',
    'the new schedule replaced the old one');
SELECT is((SELECT schedule FROM ecpower.freshness()), '30 2 * * 1-5', 'freshness() shows the schedule');

-- no catch-up job when asked
SELECT ok(ecpower.schedule_refresh('0 4 * * *', NULL) > 0, 'schedule without catch-up');
SELECT is((SELECT count(*)::int FROM cron.job WHERE jobname = 'ecpower-refresh-catch-up'), 0,
    'catch_up => NULL removes the catch-up job');

-- bad schedules are refused and change nothing
SELECT throws_ok($$SELECT ecpower.schedule_refresh('every night')$$, NULL, NULL,
    'an invalid cron expression is refused');
SELECT throws_ok($$SELECT ecpower.schedule_refresh(NULL)$$, '22023', NULL,
    'a NULL schedule is refused with 22023');
SELECT is((SELECT schedule FROM cron.job WHERE jobname = 'ecpower-refresh'), '0 4 * * *',
    'the job is unchanged after refused schedules');

-- unschedule
SELECT ok(ecpower.schedule_refresh() > 0, 'schedule again');
SELECT is(ecpower.unschedule_refresh(), true, 'unschedule_refresh() removes the job');
SELECT is((SELECT count(*)::int FROM cron.job WHERE jobname LIKE 'ecpower-%'), 0,
    'both jobs are gone');
SELECT is(ecpower.unschedule_refresh(), false, 'unscheduling again: false, no error');

-- freshness over a hand-made run log
UPDATE ecpower.refresh_state SET current_run_id = NULL;
DELETE FROM ecpower.refresh_runs;
SELECT results_eq(
    $$SELECT current_run_id, stale, running, last_status, failures_since_success FROM ecpower.freshness()$$,
    $$VALUES (NULL::bigint, true, false, NULL::text, 0)$$,
    'never refreshed: stale, nothing running');
INSERT INTO ecpower.refresh_runs (run_id, as_of, as_of_date, started_at, finished_at, status, error, pid)
VALUES (1001, now() - interval '50 hours', (now() - interval '50 hours')::date,
        now() - interval '50 hours', now() - interval '49 hours', 'succeeded', NULL, 1),
       (1002, now() - interval '27 hours', (now() - interval '27 hours')::date,
        now() - interval '27 hours', now() - interval '27 hours', 'failed', '57014: canceling statement due to user request', 1),
       (1003, now() - interval '3 hours', (now() - interval '3 hours')::date,
        now() - interval '3 hours', NULL, 'abandoned', 'the backend running it ended', 1),
       (1004, now() - interval '2 hours', (now() - interval '2 hours')::date,
        now() - interval '2 hours', now() - interval '2 hours', 'skipped', 'another refresh is running', 1);
UPDATE ecpower.refresh_state SET current_run_id = 1001;
SELECT results_eq(
    $$SELECT current_run_id, age, stale, running, last_status, last_error, failures_since_success
        FROM ecpower.freshness()$$,
    $$VALUES (1001::bigint, interval '50 hours', true, false, 'abandoned'::text,
              'the backend running it ended'::text, 2)$$,
    'missed nights: stale, the last failure and the failures since the last success');
SELECT is((SELECT stale FROM ecpower.freshness(interval '51 hours')), false,
    'stale is relative to max_age');
INSERT INTO ecpower.refresh_runs (run_id, as_of, as_of_date, started_at, finished_at, status, pid)
VALUES (1005, now() - interval '1 hour', (now() - interval '1 hour')::date,
        now() - interval '1 hour', now() - interval '1 hour', 'succeeded', 1);
UPDATE ecpower.refresh_state SET current_run_id = 1005;
SELECT results_eq(
    $$SELECT current_run_id, age, stale, last_status, failures_since_success FROM ecpower.freshness()$$,
    $$VALUES (1005::bigint, interval '1 hour', false, 'succeeded'::text, 0)$$,
    'after a success: fresh, no failure since');
-- a 'running' row of a live backend (this one) is running; of a dead pid is not
INSERT INTO ecpower.refresh_runs (run_id, as_of, as_of_date, started_at, status, pid)
VALUES (1006, now(), now()::date, clock_timestamp(), 'running', pg_backend_pid());
SELECT is((SELECT running FROM ecpower.freshness()), true, 'a live running refresh is reported');
UPDATE ecpower.refresh_runs SET pid = 0 WHERE run_id = 1006;
SELECT is((SELECT running FROM ecpower.freshness()), false, 'a dead backend''s run is not running');
DELETE FROM ecpower.refresh_runs WHERE run_id = 1006;

-- refresh_if_stale: nothing when fresh
CREATE TEMP TABLE runs_before AS SELECT count(*) AS n FROM ecpower.refresh_runs;
CREATE TEMP TABLE path_before AS SELECT current_setting('search_path') AS p;
CALL ecpower.refresh_if_stale();
SELECT is((SELECT count(*) FROM ecpower.refresh_runs), (SELECT n FROM runs_before)::bigint,
    'refresh_if_stale does nothing when the results are fresh');
SELECT is(current_setting('search_path'), (SELECT p FROM path_before),
    'refresh_if_stale leaves the caller''s search_path as it was');
-- nothing either while a refresh is running
UPDATE ecpower.refresh_state SET current_run_id = 1001;
INSERT INTO ecpower.refresh_runs (run_id, as_of, as_of_date, started_at, status, pid)
VALUES (1007, now(), now()::date, clock_timestamp(), 'running', pg_backend_pid());
CALL ecpower.refresh_if_stale();
SELECT is((SELECT count(*) FROM ecpower.refresh_runs), (SELECT n FROM runs_before) + 1::bigint,
    'refresh_if_stale does nothing while a refresh is running');
DELETE FROM ecpower.refresh_runs WHERE run_id = 1007;

-- stale: it refreshes (inside this transaction block: in one transaction)
CREATE FUNCTION pg_temp.stale_refresh() RETURNS SETOF text LANGUAGE plpgsql AS $f$
BEGIN
    IF to_regprocedure('ecpower.refresh(timestamptz)') IS NULL THEN
        RETURN NEXT skip('ecpower.refresh() is not installed', 3);
        RETURN;
    END IF;
    CALL ecpower.refresh_if_stale();
    RETURN NEXT is((SELECT status FROM ecpower.refresh_runs ORDER BY run_id DESC LIMIT 1),
                   'succeeded', 'a stale store is refreshed by refresh_if_stale');
    RETURN NEXT is((SELECT stale FROM ecpower.freshness()), false, 'fresh afterwards');
    RETURN NEXT cmp_ok((SELECT age FROM ecpower.freshness()), '<', interval '1 minute',
                       'the new run is as of now');
END $f$;
SELECT * FROM pg_temp.stale_refresh();

SELECT * FROM finish();
ROLLBACK;
