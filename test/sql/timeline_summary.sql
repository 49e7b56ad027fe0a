-- Per-customer facts of the timeline (docs/timeline.md "Readers"):
-- ecpower._customer_orders(), and segment_customers(), the holdout of
-- backtest_bgnbd() and the demo store's spend that read the orders through
-- it, each against plain SQL over the same rows -- on a generated store and
-- hand-made edge rows, from a scan of the tables, from the order cache,
-- with orders changed since the refresh, in several time zones.  Every
-- comparison prints the number of rows that differ.
\i test/fixtures/setup.sql
SET client_min_messages = warning;
SET DateStyle = 'ISO, YMD';

-- the plain SQL answers: the function's own definition over ecpower.orders
CREATE FUNCTION pg_temp.oracle_orders(ids bigint[], after timestamptz, up_to timestamptz)
RETURNS TABLE (customer_id bigint, orders bigint, revenue numeric,
               first_order_at timestamptz, last_order_at timestamptz, order_days bigint)
LANGUAGE sql STABLE AS $$
    SELECT o.customer_id, count(*), sum(o.total - o.refunded), min(o.ordered_at),
           max(o.ordered_at),
           count(DISTINCT (o.ordered_at AT TIME ZONE
                           (SELECT s.store_timezone FROM ecpower.settings s))::date)
      FROM ecpower.orders o
     WHERE o.cancelled_at IS NULL
       AND (after IS NULL OR o.ordered_at > after)
       AND (up_to IS NULL OR o.ordered_at <= up_to)
       AND (ids IS NULL OR o.customer_id = ANY (ids))
     GROUP BY o.customer_id
$$;
-- segment_customers() and backtest_bgnbd() as they read ecpower.orders in SQL
CREATE FUNCTION pg_temp.old_segment_customers(slug text)
RETURNS TABLE (customer_id bigint, email text, tags text[], country text,
               orders bigint, revenue numeric, first_order_at timestamptz,
               last_order_at timestamptz, member_since date)
LANGUAGE sql STABLE STRICT
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT c.customer_id, c.email, c.tags, c.country,
           pg_catalog.count(o.order_id),
           COALESCE(pg_catalog.sum(o.total OPERATOR(pg_catalog.-) o.refunded), 0.00),
           pg_catalog.min(o.ordered_at), pg_catalog.max(o.ordered_at),
           m.member_since
      FROM ecpower._segment_member_since(slug) AS m
      JOIN ecpower.customers AS c
        ON c.customer_id OPERATOR(pg_catalog.=) m.customer_id
      LEFT JOIN ecpower.orders AS o
        ON o.customer_id OPERATOR(pg_catalog.=) c.customer_id
       AND o.cancelled_at IS NULL
       AND o.ordered_at OPERATOR(pg_catalog.<=)
           (SELECT r.as_of FROM ecpower.refresh_state AS s
              JOIN ecpower.refresh_runs AS r
                ON r.run_id OPERATOR(pg_catalog.=) s.current_run_id)
     GROUP BY c.customer_id, m.member_since
     ORDER BY c.customer_id
$$;

CREATE FUNCTION pg_temp.old_backtest_bgnbd(
    calibration_end date, holdout_end date, unit text DEFAULT 'day',
    penalizer double precision DEFAULT 0,
    OUT repeat_purchases text, OUT customers bigint,
    OUT actual_purchases bigint, OUT predicted_purchases numeric,
    OUT actual_mean numeric, OUT predicted_mean numeric)
RETURNS SETOF record
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    tz          text;
    cal_as_of   timestamptz;
    ho_as_of    timestamptz;
    fit         record;
    days        double precision;
    horizon     double precision;
BEGIN
    IF calibration_end IS NULL OR holdout_end IS NULL
       OR NOT pg_catalog.isfinite(calibration_end) OR NOT pg_catalog.isfinite(holdout_end)
       OR holdout_end OPERATOR(pg_catalog.<=) calibration_end THEN
        RAISE EXCEPTION 'holdout_end (%) must be a date after calibration_end (%)',
            holdout_end, calibration_end
            USING ERRCODE = '22023';
    END IF;
    IF unit IS NULL THEN
        unit := 'day';
    END IF;
    days := CASE WHEN unit OPERATOR(pg_catalog.=) 'week' THEN 7 ELSE 1 END;
    horizon := (holdout_end OPERATOR(pg_catalog.-) calibration_end) OPERATOR(pg_catalog./) days;

    SELECT st.store_timezone INTO tz FROM ecpower.settings st;
    tz := COALESCE(tz, 'UTC');
    /* the end of each store-local day */
    cal_as_of := ((calibration_end OPERATOR(pg_catalog.+) 1)::timestamp AT TIME ZONE tz)
                 OPERATOR(pg_catalog.-) interval '1 microsecond';
    ho_as_of := ((holdout_end OPERATOR(pg_catalog.+) 1)::timestamp AT TIME ZONE tz)
                OPERATOR(pg_catalog.-) interval '1 microsecond';

    SELECT * INTO STRICT fit FROM ecpower.fit_models(cal_as_of, unit, penalizer, false);
    IF NOT fit.converged THEN
        RAISE EXCEPTION 'the bgnbd fit as of % did not converge', calibration_end
            USING ERRCODE = '22000',
                  DETAIL = pg_catalog.format('Last parameters: %s.', fit.parameters),
                  HINT = 'Try a small penalizer such as 0.001.';
    END IF;
    -- a read: the fit is recorded only for a caller that may write
    -- model_fits (the refresher, the owner), so that a reader can backtest
    IF pg_catalog.has_table_privilege('ecpower.model_fits', 'INSERT') THEN
        INSERT INTO ecpower.model_fits (model, as_of, unit, parameters, penalizer,
                                        log_likelihood, customers, converged, iterations)
        VALUES (fit.model, cal_as_of, old_backtest_bgnbd.unit, fit.parameters,
                old_backtest_bgnbd.penalizer, fit.log_likelihood, fit.customers,
                fit.converged, fit.iterations);
    END IF;

    RETURN QUERY
    WITH cal AS (
        SELECT c.customer_id, c.x, c.t_x, c.t
          FROM ecpower.customer_summary(cal_as_of, old_backtest_bgnbd.unit) c
    ), holdout AS (
        SELECT o.customer_id,
               pg_catalog.count(DISTINCT (o.ordered_at AT TIME ZONE tz)::date) AS n
          FROM ecpower.orders o
         WHERE o.cancelled_at IS NULL
           AND o.ordered_at OPERATOR(pg_catalog.>) cal_as_of
           AND o.ordered_at OPERATOR(pg_catalog.<=) ho_as_of
         GROUP BY o.customer_id
    ), scored AS (
        SELECT LEAST(cal.x, 7) AS grp,
               COALESCE(h.n, 0) AS actual,
               ecpower.bgnbd_expected_purchases(
                   (fit.parameters OPERATOR(pg_catalog.->>) 'r')::float8,
                   (fit.parameters OPERATOR(pg_catalog.->>) 'alpha')::float8,
                   (fit.parameters OPERATOR(pg_catalog.->>) 'a')::float8,
                   (fit.parameters OPERATOR(pg_catalog.->>) 'b')::float8,
                   horizon, cal.x, cal.t_x, cal.t) AS predicted
          FROM cal
          LEFT JOIN holdout h ON h.customer_id OPERATOR(pg_catalog.=) cal.customer_id
    )
    SELECT CASE WHEN g.grp IS NULL THEN 'all'
                WHEN g.grp OPERATOR(pg_catalog.=) 7 THEN '7+'
                ELSE g.grp::text END,
           g.n, g.actual, pg_catalog.round(g.predicted::numeric, 2),
           pg_catalog.round(g.actual::numeric OPERATOR(pg_catalog./) g.n, 3),
           pg_catalog.round((g.predicted OPERATOR(pg_catalog./) g.n)::numeric, 3)
      FROM (SELECT scored.grp, pg_catalog.count(*) AS n,
                   pg_catalog.sum(scored.actual)::bigint AS actual,
                   pg_catalog.sum(scored.predicted) AS predicted
              FROM scored
             GROUP BY ROLLUP (scored.grp)) g
     ORDER BY g.grp NULLS LAST;
END
$$;

-- the demo store's spend as plain SQL over its first orders
CREATE FUNCTION pg_temp.oracle_spend()
RETURNS TABLE (dimension text, key text, spend_date date, amount numeric)
LANGUAGE sql STABLE AS $$
WITH firsts AS ( SELECT DISTINCT ON (o.customer_id) o.customer_id, o.ordered_at, o.acquisition_channel, o.utm_campaign FROM ecpower.orders AS o WHERE o.cancelled_at IS NULL ORDER BY o.customer_id, o.ordered_at, o.order_id),
    acquired AS ( SELECT k.dimension, k.key, (f.ordered_at AT TIME ZONE st.store_timezone)::pg_catalog.date AS day, pg_catalog.count(*) AS n FROM firsts AS f CROSS JOIN ecpower.settings AS st CROSS JOIN LATERAL (VALUES ('acquisition_channel', f.acquisition_channel), ('utm_campaign', f.utm_campaign)) AS k (dimension, key) WHERE k.key IS NOT NULL GROUP BY 1, 2, 3),
    rates AS ( SELECT a.dimension, a.key, pg_catalog.min(a.day) AS lo, pg_catalog.max(a.day) AS hi, CASE WHEN a.dimension OPERATOR(pg_catalog.=) 'acquisition_channel' THEN CASE a.key WHEN 'paid_social' THEN 80 WHEN 'paid_search' THEN 45 WHEN 'influencer' THEN 95 WHEN 'affiliate' THEN 35 WHEN 'email' THEN 4 WHEN 'sms' THEN 6 ELSE 0 END WHEN a.key OPERATOR(pg_catalog.=) 'brand_search' THEN 25 WHEN a.key OPERATOR(pg_catalog.~~) 'shopping\_%' THEN 60 WHEN a.key OPERATOR(pg_catalog.~~) 'nonbrand\_%' THEN 85 WHEN a.key OPERATOR(pg_catalog.~~) 'prospecting\_%' THEN 90 WHEN a.key OPERATOR(pg_catalog.~~) 'retargeting\_%' THEN 40 WHEN a.key OPERATOR(pg_catalog.~~) 'creator\_%' THEN 95 WHEN a.key OPERATOR(pg_catalog.~~) 'partner\_%' THEN 35 WHEN a.key OPERATOR(pg_catalog.~~) 'newsletter\_%' THEN 2 WHEN a.key OPERATOR(pg_catalog.~) '_[0-9]{4}$' THEN 55 ELSE 3 END AS rate FROM
    acquired AS a GROUP BY 1, 2),
    daily AS ( SELECT r.dimension, r.key, d.day::pg_catalog.date AS day, r.rate, pg_catalog.sum(COALESCE(a.n, 0)) OVER ( PARTITION BY r.dimension, r.key ORDER BY d.day ROWS BETWEEN 3 PRECEDING AND 3 FOLLOWING) AS week FROM
    rates AS r CROSS JOIN LATERAL pg_catalog.generate_series(r.lo::pg_catalog.timestamp, r.hi::pg_catalog.timestamp, '1 day') AS d (day) LEFT JOIN
    acquired AS a ON a.dimension OPERATOR(pg_catalog.=) r.dimension AND a.key OPERATOR(pg_catalog.=) r.key AND a.day OPERATOR(pg_catalog.=) d.day::pg_catalog.date WHERE r.rate OPERATOR(pg_catalog.>) 0)
    SELECT x.dimension, x.key, x.day, x.amount FROM (SELECT dl.dimension, dl.key, dl.day, pg_catalog.round(((dl.rate OPERATOR(pg_catalog.*) dl.week) OPERATOR(pg_catalog./) 7.0) OPERATOR(pg_catalog.*) (0.75 OPERATOR(pg_catalog.+) ((pg_catalog.hashtext(dl.key OPERATOR(pg_catalog.||) dl.day::pg_catalog.text) OPERATOR(pg_catalog.&) 1023) OPERATOR(pg_catalog./) 2046.0)), 2) AS amount FROM
    daily AS dl) AS x WHERE x.amount OPERATOR(pg_catalog.>) 0 
$$;
CREATE FUNCTION pg_temp.spend_diffs() RETURNS bigint
LANGUAGE sql STABLE AS $$
    SELECT count(*) FROM (
        (SELECT (s.dimension, s.key, s.spend_date, s.amount)::text FROM ecpower.acquisition_spend s
         EXCEPT ALL SELECT o::text FROM pg_temp.oracle_spend() o)
        UNION ALL
        (SELECT o::text FROM pg_temp.oracle_spend() o
         EXCEPT ALL SELECT (s.dimension, s.key, s.spend_date, s.amount)::text
                      FROM ecpower.acquisition_spend s)) d
$$;

-- rows (as text, with their position) that differ between two queries
CREATE FUNCTION pg_temp.differ(a text, b text) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE n bigint;
BEGIN
    EXECUTE format('SELECT count(*) FROM ((SELECT t::text FROM (%s) t EXCEPT ALL SELECT t::text FROM (%s) t)'
                   ' UNION ALL (SELECT t::text FROM (%s) t EXCEPT ALL SELECT t::text FROM (%s) t)) d',
                   a, b, b, a) INTO n;
    RETURN n;
END $$;

-- every comparison: _customer_orders() over several windows and id lists
-- (rows numbered in the order returned vs. by customer_id), segment_customers()
-- of every segment and backtest_bgnbd() (rows in the order returned)
CREATE FUNCTION pg_temp.summary_diffs()
RETURNS TABLE (compared text, rows_new bigint, differing bigint)
LANGUAGE plpgsql AS $$
DECLARE
    tz text := (SELECT store_timezone FROM ecpower.settings);
    as_of timestamptz := (SELECT r.as_of FROM ecpower.refresh_state s
                            JOIN ecpower.refresh_runs r ON r.run_id = s.current_run_id);
    cal_end timestamptz := ('2025-04-01'::timestamp AT TIME ZONE tz) - interval '1 microsecond';
    ho_end timestamptz := ('2025-07-01'::timestamp AT TIME ZONE tz) - interval '1 microsecond';
    w record;
    call text;
    slug text;
BEGIN
    FOR w IN SELECT * FROM (VALUES
        ('every order', NULL, NULL, NULL),
        ('up to as_of', NULL, NULL, as_of::text),
        ('holdout window', NULL, cal_end::text, ho_end::text),
        ('infinite bounds', NULL, '-infinity', 'infinity'),
        ('empty window', NULL, as_of::text, as_of::text),
        ('ids', '{9000001,9000002,9000003,9000004,9000005,9000006,9000007,9000008,1000,1001,1002,1003,77,NULL,9000005}',
         '2024-01-01 00:00+00', as_of::text),
        ('empty ids', '{}', NULL, NULL),
        ('null ids', '{NULL}', NULL, NULL)) AS v (what, ids, after, up_to)
    LOOP
        call := format('(%L::bigint[], %L::timestamptz, %L::timestamptz)', w.ids, w.after, w.up_to);
        compared := '_customer_orders ' || w.what;
        EXECUTE 'SELECT count(*) FROM ecpower._customer_orders' || call INTO rows_new;
        differing := pg_temp.differ(
            'SELECT row_number() OVER (), x.* FROM ecpower._customer_orders' || call || ' x',
            'SELECT row_number() OVER (ORDER BY x.customer_id), x.* FROM pg_temp.oracle_orders' || call || ' x');
        RETURN NEXT;
    END LOOP;
    FOR slug IN SELECT s.slug FROM ecpower.segments s ORDER BY s.slug LOOP
        compared := 'segment_customers ' || slug;
        SELECT count(*) INTO rows_new FROM ecpower.segment_customers(slug);
        differing := pg_temp.differ(
            format('SELECT * FROM ecpower.segment_customers(%L) WITH ORDINALITY', slug),
            format('SELECT * FROM pg_temp.old_segment_customers(%L) WITH ORDINALITY', slug));
        RETURN NEXT;
    END LOOP;
    compared := 'backtest_bgnbd day';
    SELECT count(*) INTO rows_new FROM ecpower.backtest_bgnbd('2025-03-31', '2025-06-30', 'day', 0.001);
    differing := pg_temp.differ(
        $q$SELECT * FROM ecpower.backtest_bgnbd('2025-03-31', '2025-06-30', 'day', 0.001) WITH ORDINALITY$q$,
        $q$SELECT * FROM pg_temp.old_backtest_bgnbd('2025-03-31', '2025-06-30', 'day', 0.001) WITH ORDINALITY$q$);
    RETURN NEXT;
    compared := 'backtest_bgnbd week';
    SELECT count(*) INTO rows_new FROM ecpower.backtest_bgnbd('2025-01-31', '2025-06-30', 'week', 0.01);
    differing := pg_temp.differ(
        $q$SELECT * FROM ecpower.backtest_bgnbd('2025-01-31', '2025-06-30', 'week', 0.01) WITH ORDINALITY$q$,
        $q$SELECT * FROM pg_temp.old_backtest_bgnbd('2025-01-31', '2025-06-30', 'week', 0.01) WITH ORDINALITY$q$);
    RETURN NEXT;
END $$;

-- 1. a store refreshed while empty, then generated: its spend follows the
-- generated orders (the empty cache of that refresh is not read)
UPDATE ecpower.settings SET store_timezone = 'America/Los_Angeles';
CALL ecpower.refresh('2024-01-01 00:00+00');
SELECT customer_rows > 0 AS loaded FROM ecpower.generate_demo_store(1500, 11);
SELECT count(*) > 100 AS spend_rows, pg_temp.spend_diffs() AS spend_differing
  FROM ecpower.acquisition_spend;

-- 2. hand-made customers: none, only cancelled, only after as_of, refunds
-- (one above its total), several orders on a day and equal instants,
-- orders at as_of and at the ends of store-local days, extreme amounts
INSERT INTO ecpower.customers (customer_id, email)
SELECT i, 'c' || i || '@edge.test' FROM generate_series(9000001, 9000008) i;
INSERT INTO ecpower.orders (order_id, customer_id, ordered_at, total, refunded, cancelled_at) VALUES
    (8000000001, 9000002, '2025-02-01 10:00+00', 40, 0, '2025-02-02 00:00+00'),
    (8000000002, 9000002, '2025-03-01 10:00+00', 60, 0, '2025-03-01 11:00+00'),
    (8000000003, 9000003, '2025-08-01 10:00+00', 70, 0, NULL),
    (8000000004, 9000004, '2025-01-10 10:00+00', 100, 30, NULL),
    (8000000005, 9000004, '2025-04-10 10:00+00', 50, 50, NULL),
    (8000000006, 9000004, '2025-05-10 10:00+00', 20, 25.5, NULL),
    (8000000007, 9000005, '2025-05-05 09:00+00', 10.10, 0, NULL),
    (8000000008, 9000005, '2025-05-05 09:00+00', 20.20, 0, NULL),
    (8000000009, 9000005, '2025-05-05 18:00+00', 30.30, 0.30, NULL),
    (8000000010, 9000005, '2025-05-06 06:59:59+00', 0.01, 0, NULL),
    (8000000011, 9000006, '2025-06-30 12:00+00', 15, 0, NULL),
    (8000000012, 9000006, '2025-06-30 12:00:00.000001+00', 16, 0, NULL),
    (8000000013, 9000006, '2025-04-01 06:59:59.999999+00', 17, 0, NULL),
    (8000000014, 9000006, '2025-04-01 07:00:00+00', 18, 0, NULL),
    (8000000015, 9000006, '2025-03-31 18:14:59.999999+00', 19, 0, NULL),
    (8000000016, 9000006, '2025-03-31 18:15:00+00', 19, 0, NULL),
    (8000000017, 9000007, '2025-03-09 09:59:59+00', 5, 0, NULL),
    (8000000018, 9000007, '2025-03-09 10:00:00+00', 5, 0, NULL),
    (8000000019, 9000007, '2025-04-05 13:59:59+00', 5, 0, NULL),
    (8000000020, 9000007, '2025-04-05 14:00:00+00', 5, 0, NULL),
    (8000000021, 9000008, '2025-02-02 02:02+00', 999999999999.99, 0, NULL),
    (8000000022, 9000008, '2025-06-02 02:02+00', 999999999999.99, 0.01, NULL);

SELECT ecpower.create_segment('buyers', 'Buyers', '{"orders": {}}') > 0 AS created;
SELECT ecpower.create_segment('repeat', 'Repeat', '{"orders": {}, "count": {"gte": 2}}') > 0 AS created;
SELECT ecpower.create_segment('edge', 'Edge', '{"email_domain": ["edge.test"]}') > 0 AS created;
SELECT ecpower.create_segment('nobody', 'Nobody', '{"email_domain": ["nowhere.test"]}') > 0 AS created;

-- 3. with the order cache reset the tables are scanned; after a refresh
-- that writes the cache, the cache is read
SELECT count(*) = 1 AS rebuild_asked FROM ecpower.order_changes WHERE order_id IS NULL AND ckey IS NULL;
CALL ecpower.refresh('2025-05-31 12:00+00');
SELECT ecpower.reset_order_cache();
SELECT * FROM pg_temp.summary_diffs() WHERE differing <> 0 OR rows_new = 0;
CALL ecpower.refresh('2025-06-30 12:00+00');
SELECT count(*) > 0 AS cached, (SELECT count(*) FROM ecpower.order_changes) AS changes
  FROM ecpower.order_cache;
SELECT (SELECT count(*) FROM ecpower.segment_customers('edge')) AS edge_members,
       (SELECT count(*) FROM ecpower.segment_customers('edge') WHERE orders = 0
           AND revenue::text = '0.00' AND first_order_at IS NULL) AS edge_without_orders;
SELECT * FROM pg_temp.summary_diffs();

-- 4. changes after the refresh: refunds, cancellations, an order back from
-- cancelled, orders moved across as_of and to another customer, new and
-- deleted orders; each is read as it is now
UPDATE ecpower.orders SET refunded = round(total / 3, 2)
 WHERE order_id IN (SELECT order_id FROM ecpower.orders ORDER BY order_id LIMIT 40);
UPDATE ecpower.orders SET cancelled_at = ordered_at + interval '1 hour'
 WHERE order_id IN (SELECT order_id FROM ecpower.orders ORDER BY order_id LIMIT 30 OFFSET 50);
UPDATE ecpower.orders SET cancelled_at = NULL WHERE order_id = 8000000002;
UPDATE ecpower.orders SET ordered_at = '2025-07-15 00:00+00' WHERE order_id = 8000000009;
UPDATE ecpower.orders SET ordered_at = '2025-06-01 00:00+00' WHERE order_id = 8000000003;
UPDATE ecpower.orders SET customer_id = 9000005
 WHERE order_id = (SELECT min(order_id) FROM ecpower.orders WHERE customer_id < 9000000);
INSERT INTO ecpower.orders (order_id, customer_id, ordered_at, total)
SELECT 8100000000 + c.customer_id, c.customer_id, '2025-05-20 12:00+00', 42.42
  FROM ecpower.customers c WHERE c.customer_id % 97 = 0 OR c.customer_id = 9000001;
DELETE FROM ecpower.orders WHERE order_id IN
    (SELECT order_id FROM ecpower.orders WHERE order_id < 8000000000 ORDER BY order_id DESC LIMIT 25);
SELECT count(*) > 0 AS logged, bool_and(order_id IS NOT NULL) AS no_rebuild
  FROM ecpower.order_changes;
SELECT (SELECT orders FROM ecpower.segment_customers('edge') WHERE customer_id = 9000001) AS new_orders_seen;
SELECT * FROM pg_temp.summary_diffs();

-- 5. other time zones: the cache was built for the old one, the tables are
-- scanned; refreshed, the cache of the new one is read
UPDATE ecpower.settings SET store_timezone = 'Asia/Kathmandu';
SELECT * FROM pg_temp.summary_diffs() WHERE differing <> 0 OR rows_new = 0;
CALL ecpower.refresh('2025-06-30 12:00+00');
UPDATE ecpower.orders SET refunded = 0 WHERE order_id IN
    (SELECT order_id FROM ecpower.orders ORDER BY order_id LIMIT 10);
SELECT * FROM pg_temp.summary_diffs() WHERE differing <> 0 OR rows_new = 0;
UPDATE ecpower.settings SET store_timezone = 'America/Santiago';
SELECT * FROM pg_temp.summary_diffs() WHERE differing <> 0 OR rows_new = 0;

-- 6. arguments: reversed bounds give nothing; a role without SELECT on
-- orders is refused before anything is read
SELECT count(*) AS reversed_bounds FROM ecpower._customer_orders(NULL, 'infinity', '-infinity');
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'ecp_summary_probe') THEN
        CREATE ROLE ecp_summary_probe;
    END IF;
END $$;
GRANT USAGE ON SCHEMA ecpower TO ecp_summary_probe;
GRANT EXECUTE ON FUNCTION ecpower._customer_orders(bigint[], timestamptz, timestamptz) TO ecp_summary_probe;
GRANT SELECT ON ecpower.customers TO ecp_summary_probe;
SET ROLE ecp_summary_probe;
\set VERBOSITY sqlstate
SELECT count(*) FROM ecpower._customer_orders(NULL, NULL, NULL);
\set VERBOSITY default
RESET ROLE;
SELECT has_function_privilege('public', 'ecpower._customer_orders(bigint[], timestamptz, timestamptz)',
                              'EXECUTE') AS public_may_execute;

-- 7. the demo store generated in a time zone far from UTC, where first
-- orders fall on other local days than in UTC
DROP EXTENSION ecpower CASCADE;
DROP OWNED BY ecp_summary_probe;
DROP ROLE ecp_summary_probe;
CREATE EXTENSION ecpower;
UPDATE ecpower.settings SET store_timezone = 'Pacific/Kiritimati';
SELECT customer_rows > 0 AS loaded FROM ecpower.generate_demo_store(700, 5);
SELECT count(*) > 50 AS spend_rows, pg_temp.spend_diffs() AS spend_differing
  FROM ecpower.acquisition_spend;
