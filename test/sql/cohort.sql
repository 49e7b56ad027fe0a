-- cohorts and cohort_summary (README "KPIs, cohorts and journeys") against plain-SQL oracles
-- (test/kpi_oracle.sql), with windows elapsing exactly on as_of_date
\i test/fixtures/setup.sql
\set ECHO none
\i test/kpi_oracle.sql
\set ECHO all
\set VERBOSITY terse
UPDATE ecpower.settings SET store_timezone = 'America/Los_Angeles';

-- hand-made customers: 1 first orders on 2024-02-29 local (05:00 UTC on
-- March 1st), so its cohort is February; 2 orders in March, again 90 days
-- later and after as_of; 3 has one fully refunded order
INSERT INTO ecpower.customers (customer_id) VALUES (1), (2), (3);
INSERT INTO ecpower.orders (order_id, customer_id, ordered_at, total, refunded) VALUES
    (1, 1, '2024-03-01 05:00+00', 10.00, 0),
    (2, 1, '2024-03-01 09:00+00', 20.00, 0),     -- 2024-03-01 local, same cohort month offset 1
    (3, 2, '2024-03-31 12:00+00', 50.00, 0),
    (4, 2, '2024-06-29 12:00+00', 70.00, 0),     -- 90 days after the first
    (5, 2, '2024-07-15 12:00+00', 99.00, 0),     -- after every as_of below
    (6, 3, '2024-03-10 12:00+00', 30.00, 30.00);

-- three refreshes: 2024-06-28, 2024-06-29 and 2024-06-30 (local dates)
INSERT INTO ecpower.refresh_runs (as_of, as_of_date, status, finished_at) VALUES
    ('2024-06-29 06:00+00', '2024-06-28', 'succeeded', now()),
    ('2024-06-30 06:00+00', '2024-06-29', 'succeeded', now()),
    ('2024-07-01 06:00+00', '2024-06-30', 'succeeded', now());

-- March cohort: ltv_3m needs 2024-03-31 + 3 months = 2024-06-30 <= as_of_date;
-- f2_rate_90d needs 2024-03-31 + 90 days = 2024-06-29 <= as_of_date
UPDATE ecpower.refresh_state SET current_run_id = 1;
SELECT * FROM ecpower.cohort_summary(NULL);
UPDATE ecpower.refresh_state SET current_run_id = 2;
SELECT * FROM ecpower.cohort_summary(NULL);
UPDATE ecpower.refresh_state SET current_run_id = 3;
SELECT * FROM ecpower.cohort_summary(NULL);
SELECT * FROM ecpower.cohorts(NULL, 3);
SELECT * FROM ecpower.cohorts(NULL, 1);

-- against the oracle: no row means every figure matches
SELECT * FROM (SELECT * FROM ecpower.cohorts(NULL, 12) EXCEPT ALL
               SELECT * FROM pg_temp.o_cohorts(NULL, 12)) x
UNION ALL
SELECT * FROM (SELECT * FROM pg_temp.o_cohorts(NULL, 12) EXCEPT ALL
               SELECT * FROM ecpower.cohorts(NULL, 12)) y;

-- a random store, at several as_of dates
SELECT pg_temp.o_fixture(1000, 400, 0.25);
INSERT INTO ecpower.refresh_runs (as_of, as_of_date, status, finished_at) VALUES
    ('2024-01-01 08:00+00', '2024-01-01', 'succeeded', now()),
    ('2024-10-31 12:00+00', '2024-10-31', 'succeeded', now()),
    ('2025-06-01 12:00+00', '2025-06-01', 'succeeded', now());
CREATE FUNCTION pg_temp.cohort_check(run bigint)
RETURNS TABLE (run_id bigint, what text, detail text) LANGUAGE plpgsql AS $$
BEGIN
    UPDATE ecpower.refresh_state SET current_run_id = run;
    RETURN QUERY
    SELECT run, 'cohorts 12', x::text FROM
        ((SELECT * FROM ecpower.cohorts(NULL, 12) EXCEPT ALL SELECT * FROM pg_temp.o_cohorts(NULL, 12))
         UNION ALL
         (SELECT * FROM pg_temp.o_cohorts(NULL, 12) EXCEPT ALL SELECT * FROM ecpower.cohorts(NULL, 12))) x;
    RETURN QUERY
    SELECT run, 'cohorts 30', x::text FROM
        ((SELECT * FROM ecpower.cohorts(NULL, 30) EXCEPT ALL SELECT * FROM pg_temp.o_cohorts(NULL, 30))
         UNION ALL
         (SELECT * FROM pg_temp.o_cohorts(NULL, 30) EXCEPT ALL SELECT * FROM ecpower.cohorts(NULL, 30))) x;
    RETURN QUERY
    SELECT run, 'summary', x::text FROM
        ((SELECT * FROM ecpower.cohort_summary(NULL) EXCEPT ALL SELECT * FROM pg_temp.o_cohort_summary(NULL))
         UNION ALL
         (SELECT * FROM pg_temp.o_cohort_summary(NULL) EXCEPT ALL SELECT * FROM ecpower.cohort_summary(NULL))) x;
END $$;
SELECT c.* FROM generate_series(4, 6) r, pg_temp.cohort_check(r) c;
SELECT count(*) AS rows, count(DISTINCT cohort_month) AS cohorts FROM ecpower.cohorts(NULL);
SELECT count(*) FILTER (WHERE ltv_3m IS NULL) AS open_3m, count(*) FILTER (WHERE ltv_12m IS NULL) AS open_12m
  FROM ecpower.cohort_summary(NULL);

-- errors
SELECT * FROM ecpower.cohorts(NULL, 0);
SELECT * FROM ecpower.cohorts(NULL, NULL);
SELECT * FROM ecpower.cohorts('no-such-segment');
SELECT * FROM ecpower.cohort_summary('no-such-segment');
