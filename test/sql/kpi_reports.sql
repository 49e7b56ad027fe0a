-- segment_kpis, ltv_window, compare_segments, segment_revenue and the KPI
-- snapshots behind segment_history, for the whole store (NULL slug),
-- against plain-SQL oracles (test/kpi_oracle.sql)
\i test/fixtures/setup.sql
\set ECHO none
\i test/kpi_oracle.sql
\set ECHO all
\set VERBOSITY terse
UPDATE ecpower.settings SET store_timezone = 'America/Los_Angeles';

-- before any refresh: a clear error
SELECT * FROM ecpower.segment_kpis(NULL);

-- a random store, plus customer 1 whose orders straddle a month boundary
-- in Los Angeles (05:00 UTC on March 1st is still February 29th there)
SELECT pg_temp.o_fixture(1000, 300, 0.5);
INSERT INTO ecpower.customers (customer_id) VALUES (1);
INSERT INTO ecpower.orders (order_id, customer_id, ordered_at, total, refunded) VALUES
    (1, 1, '2024-03-01 05:00+00', 10.00, 0),
    (2, 1, '2024-03-01 09:00+00', 20.00, 20.00),      -- fully refunded
    (3, 1, '2024-09-15 02:59+00', 30.00, 0),          -- just before as_of
    (4, 1, '2024-09-15 03:01+00', 40.00, 0);          -- after as_of: not counted

-- a refresh as of 2024-09-15 03:00 UTC (2024-09-14 in Los Angeles)
INSERT INTO ecpower.refresh_runs (as_of, as_of_date, status, finished_at)
VALUES ('2024-09-15 03:00+00', '2024-09-14', 'succeeded', now());
UPDATE ecpower.refresh_state SET current_run_id = 1;

SELECT * FROM ecpower.segment_kpis(NULL);
SELECT * FROM ecpower.segment_kpis(NULL, '2024-02-29', '2024-02-29');

-- every window against the oracle: no row means every figure matches
CREATE TEMP TABLE test_slugs (slug text);
INSERT INTO test_slugs VALUES (NULL);
CREATE TEMP TABLE test_windows (from_d date, to_d date);
INSERT INTO test_windows VALUES (NULL, NULL), ('2024-01-01', '2024-03-31'),
    (NULL, '2023-06-30'), ('2024-09-14', '2024-09-14'), ('2024-02-29', NULL),
    ('2030-01-01', NULL);
SELECT * FROM pg_temp.o_segment_kpis_mismatches();

-- an empty window keeps the customers
SELECT customers > 0 AS has_customers, buyers, orders, revenue, aov
  FROM ecpower.segment_kpis(NULL, '2030-01-01', NULL);

-- ltv_window against the oracle
CREATE TEMP VIEW o_firsts AS
SELECT customer_id, min(d) AS first FROM pg_temp.o_counted(pg_temp.o_as_of()) GROUP BY 1;
SELECT m, l.*, o.*
  FROM unnest(ARRAY[1, 3, 6, 12, 24]) m
 CROSS JOIN LATERAL ecpower.ltv_window(NULL, m) l
 CROSS JOIN LATERAL (
    SELECT count(*) AS o_eligible, round(sum(rev) / nullif(count(*), 0), 2) AS o_ltv
      FROM (SELECT f.customer_id,
                   coalesce((SELECT sum(c.net) FROM pg_temp.o_counted(pg_temp.o_as_of()) c
                              WHERE c.customer_id = f.customer_id
                                AND c.d < (f.first + make_interval(months => m))::date), 0) AS rev
              FROM o_firsts f
             WHERE (f.first + make_interval(months => m))::date <= pg_temp.o_as_of_date()) e) o
 WHERE (l.eligible, l.ltv) IS DISTINCT FROM (o.o_eligible, o.o_ltv);
SELECT * FROM ecpower.ltv_window(NULL, 1200);
SELECT * FROM ecpower.ltv_window(NULL, 0);

-- compare_segments: the whole store is all of the store
SELECT slug, customers, revenue, revenue_share, customer_share
  FROM ecpower.compare_segments(ARRAY[NULL, NULL]::text[]);
SELECT c.slug FROM ecpower.compare_segments(ARRAY[NULL]::text[]) c, ecpower.segment_kpis(NULL) k
 WHERE (c.customers, c.buyers, c.orders, c.revenue, c.ltv, c.aov, c.customer_aov,
        c.avg_orders, c.repeat_rate, c.avg_interval_days, c.median_interval_days,
        c.avg_lifetime_days, c.gross_profit, c.gross_margin)::ecpower.kpi IS DISTINCT FROM k;
SELECT count(*) FROM ecpower.compare_segments(ARRAY[]::text[]);

-- segment_revenue: every period from the one holding from to the one
-- holding to, zeros included, weeks from Monday
SELECT * FROM ecpower.segment_revenue(ARRAY[NULL]::text[], 'week', '2024-02-21', '2024-03-06');
SELECT * FROM ecpower.segment_revenue(ARRAY[NULL]::text[], 'month', '2024-08-31', '2024-11-01');
SELECT g.grain, g.from_d, g.to_d, x.*
  FROM (VALUES ('day', date '2024-02-20', date '2024-03-10'),
               ('week', date '2023-01-01', date '2024-12-31'),
               ('month', date '2022-11-15', date '2025-02-01'),
               ('month', date '2024-02-29', date '2024-02-29')) g(grain, from_d, to_d)
 CROSS JOIN LATERAL (
    SELECT r.*, o.*
      FROM (SELECT p::date AS ps, count(DISTINCT c.customer_id) AS o_buyers,
                   count(c.customer_id) AS o_orders, coalesce(sum(c.net), 0) AS o_revenue
              FROM generate_series(date_trunc(g.grain, g.from_d), date_trunc(g.grain, g.to_d),
                                   ('1 ' || g.grain)::interval) p
              LEFT JOIN pg_temp.o_counted(pg_temp.o_as_of()) c
                ON date_trunc(g.grain, c.d) = p AND c.d BETWEEN g.from_d AND g.to_d
             GROUP BY p) o
      FULL JOIN ecpower.segment_revenue(ARRAY[NULL]::text[], g.grain, g.from_d, g.to_d) r
        ON r.period_start = o.ps
     WHERE (r.buyers, r.orders, r.revenue) IS DISTINCT FROM (o.o_buyers, o.o_orders, o.o_revenue)) x;
SELECT count(*) FROM ecpower.segment_revenue(ARRAY[NULL]::text[], 'day', '2024-01-01', '2024-12-31');
SELECT * FROM ecpower.segment_revenue(ARRAY[NULL]::text[], 'quarter', '2024-01-01', '2024-12-31');
SELECT * FROM ecpower.segment_revenue(ARRAY[NULL]::text[], 'day', '2024-12-31', '2024-01-01');
SELECT * FROM ecpower.segment_revenue(ARRAY[NULL]::text[], 'day', NULL, '2024-01-01');
SELECT * FROM ecpower.segment_revenue(ARRAY[NULL]::text[], 'day', '1700-01-01', '2024-01-01');

-- unknown segments, bad windows
SELECT * FROM ecpower.segment_kpis('no-such-segment');
SELECT * FROM ecpower.segment_kpis(NULL, '2024-02-01', '2024-01-01');
SELECT * FROM ecpower.compare_segments(ARRAY['no-such-segment']);

-- snapshots: one row per day, replaced by a re-run of the same day
SELECT ecpower._snapshot_kpis(1);
SELECT ecpower._snapshot_kpis(1);
SELECT count(*) AS snapshot_rows FROM ecpower.kpi_snapshots;
SELECT h.day FROM ecpower.segment_history(NULL) h, ecpower.segment_kpis(NULL) k
 WHERE (h.customers, h.buyers, h.orders, h.revenue, h.ltv, h.aov, h.customer_aov,
        h.avg_orders, h.repeat_rate, h.avg_interval_days, h.median_interval_days,
        h.avg_lifetime_days, h.gross_profit, h.gross_margin)::ecpower.kpi IS DISTINCT FROM k;
SELECT h.day, h.day_orders, h.day_revenue, o.*
  FROM ecpower.segment_history(NULL, '2024-01-01', '2024-12-31') h,
       LATERAL (SELECT count(*) AS o_day_orders, coalesce(sum(net), 0) AS o_day_revenue
                  FROM pg_temp.o_counted(pg_temp.o_as_of()) WHERE d = h.day) o;
-- a second day
INSERT INTO ecpower.refresh_runs (as_of, as_of_date, status, finished_at)
VALUES ('2024-09-16 03:00+00', '2024-09-15', 'succeeded', now());
SELECT ecpower._snapshot_kpis(2);
SELECT day, customers, orders, day_orders, day_revenue FROM ecpower.segment_history(NULL);
SELECT day FROM ecpower.segment_history(NULL, '2024-09-15', NULL);
SELECT ecpower._snapshot_kpis(99);
SELECT * FROM ecpower.segment_history('no-such-segment');
