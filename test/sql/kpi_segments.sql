-- KPI, cohort and revenue reports of real segments refreshed by
-- CALL ecpower.refresh(), against plain-SQL oracles (test/kpi_oracle.sql):
-- an empty segment, a one-customer segment, prospects without orders,
-- overlapping segments, and the snapshots behind segment_history
\i test/fixtures/setup.sql
\set ECHO none
\i test/kpi_oracle.sql
\set ECHO all
\set VERBOSITY terse
UPDATE ecpower.settings SET store_timezone = 'Asia/Tokyo';

SELECT pg_temp.o_fixture(1000, 500, 0.9);
UPDATE ecpower.customers SET tags = '{solo}' WHERE customer_id = 1003;
SELECT ecpower.create_segment('repeat', 'Repeat', '{"orders": {}, "count": {"gte": 2}}') > 0 AS ok;
SELECT ecpower.create_segment('big', 'Big spenders', '{"metric": "total_spent", "gte": 400}') > 0 AS ok;
SELECT ecpower.create_segment('recent', 'Recent', '{"orders": {"period": {"last_days": 60}}}') > 0 AS ok;
SELECT ecpower.create_segment('prospects', 'Prospects', '{"not": {"orders": {}}}') > 0 AS ok;
SELECT ecpower.create_segment('solo', 'One customer', '{"customer_tag": ["solo"]}') > 0 AS ok;
SELECT ecpower.create_segment('nobody', 'Empty', '{"metric": "order_count", "gt": 1000000}') > 0 AS ok;

CALL ecpower.refresh('2024-06-30 12:00+00');
CALL ecpower.refresh('2024-10-15 12:00+00');
-- a second refresh of the same day replaces that day's snapshots
CALL ecpower.refresh('2024-10-15 13:00+00');
SELECT run_id, as_of_date, status FROM ecpower.refresh_runs ORDER BY run_id;

SELECT s.slug, k.customers, k.buyers, k.orders
  FROM ecpower.segments s, ecpower.segment_kpis(s.slug) k ORDER BY s.slug COLLATE "C";

-- segment_kpis for every segment and window: no row means every figure matches
CREATE TEMP TABLE test_slugs (slug text);
INSERT INTO test_slugs SELECT slug FROM ecpower.segments UNION ALL SELECT NULL;
CREATE TEMP TABLE test_windows (from_d date, to_d date);
INSERT INTO test_windows VALUES (NULL, NULL), ('2024-01-01', '2024-06-30'),
    ('2024-10-15', '2024-10-15'), (NULL, '2023-01-31');
SELECT * FROM pg_temp.o_segment_kpis_mismatches();

-- ltv_window
SELECT t.slug, m, l.*, o.*
  FROM test_slugs t, unnest(ARRAY[1, 3, 12]) m,
       LATERAL ecpower.ltv_window(t.slug, m) l, LATERAL pg_temp.o_ltv_window(t.slug, m) o
 WHERE (l.eligible, l.ltv) IS DISTINCT FROM (o.eligible, o.ltv);

-- compare_segments: the KPI row of segment_kpis, and the shares
SELECT c.slug, c.revenue_share, c.customer_share
  FROM ecpower.compare_segments(ARRAY['repeat', 'big', 'prospects', 'nobody', NULL]) c;
SELECT c.slug
  FROM ecpower.compare_segments((SELECT array_agg(slug) FROM test_slugs)) c,
       LATERAL (SELECT ecpower.segment_kpis(c.slug) AS k) k,
       LATERAL (SELECT sum(net) AS r, count(DISTINCT customer_id) AS n
                  FROM pg_temp.o_counted(pg_temp.o_as_of())) store
 WHERE (c.customers, c.buyers, c.orders, c.revenue, c.ltv, c.aov, c.customer_aov,
        c.avg_orders, c.repeat_rate, c.avg_interval_days, c.median_interval_days,
        c.avg_lifetime_days, c.gross_profit, c.gross_margin)::ecpower.kpi IS DISTINCT FROM k.k
    OR c.revenue_share IS DISTINCT FROM round(c.revenue / store.r, 4)
    OR c.customer_share IS DISTINCT FROM round(c.customers::numeric / store.n, 4);

-- segment_revenue, every grain
SELECT g.grain, x.*
  FROM (VALUES ('day'), ('week'), ('month')) g(grain),
  LATERAL (
    (SELECT * FROM ecpower.segment_revenue((SELECT array_agg(slug) FROM test_slugs), g.grain,
                                           '2024-05-20', '2024-10-15')
     EXCEPT ALL
     SELECT o.* FROM test_slugs t, pg_temp.o_segment_revenue(t.slug, g.grain, '2024-05-20', '2024-10-15') o)
    UNION ALL
    (SELECT o.* FROM test_slugs t, pg_temp.o_segment_revenue(t.slug, g.grain, '2024-05-20', '2024-10-15') o
     EXCEPT ALL
     SELECT * FROM ecpower.segment_revenue((SELECT array_agg(slug) FROM test_slugs), g.grain,
                                           '2024-05-20', '2024-10-15'))) x;
SELECT slug, count(*) AS periods, sum(orders) AS orders
  FROM ecpower.segment_revenue(ARRAY['solo', 'nobody'], 'week', '2024-01-01', '2024-03-31')
 GROUP BY slug ORDER BY slug COLLATE "C";

-- cohorts and cohort_summary of every segment
SELECT t.slug, 'cohorts' AS what, x.*
  FROM test_slugs t,
  LATERAL ((SELECT * FROM ecpower.cohorts(t.slug, 6) EXCEPT ALL SELECT * FROM pg_temp.o_cohorts(t.slug, 6))
           UNION ALL
           (SELECT * FROM pg_temp.o_cohorts(t.slug, 6) EXCEPT ALL SELECT * FROM ecpower.cohorts(t.slug, 6))) x;
SELECT t.slug, 'summary' AS what, x.*
  FROM test_slugs t,
  LATERAL ((SELECT * FROM ecpower.cohort_summary(t.slug) EXCEPT ALL SELECT * FROM pg_temp.o_cohort_summary(t.slug))
           UNION ALL
           (SELECT * FROM pg_temp.o_cohort_summary(t.slug) EXCEPT ALL SELECT * FROM ecpower.cohort_summary(t.slug))) x;
SELECT count(*) FROM ecpower.cohorts('nobody');
SELECT count(*) FROM ecpower.cohorts('prospects');

-- snapshots: one row per segment and the store per refreshed day
SELECT day, count(*) AS rows, count(segment_id) AS segments
  FROM ecpower.kpi_snapshots GROUP BY day ORDER BY day;
-- the latest snapshot is segment_kpis as of the latest refresh
SELECT t.slug, h.day
  FROM test_slugs t, LATERAL ecpower.segment_history(t.slug, '2024-10-15', '2024-10-15') h,
       LATERAL (SELECT ecpower.segment_kpis(t.slug) AS k) k
 WHERE (h.customers, h.buyers, h.orders, h.revenue, h.ltv, h.aov, h.customer_aov,
        h.avg_orders, h.repeat_rate, h.avg_interval_days, h.median_interval_days,
        h.avg_lifetime_days, h.gross_profit, h.gross_margin)::ecpower.kpi IS DISTINCT FROM k.k;
-- the first one is segment_kpis as of the first refresh
UPDATE ecpower.refresh_state SET current_run_id = 1;
SELECT t.slug, h.day
  FROM test_slugs t, LATERAL ecpower.segment_history(t.slug, NULL, '2024-06-30') h,
       LATERAL (SELECT ecpower.segment_kpis(t.slug) AS k) k
 WHERE (h.customers, h.buyers, h.orders, h.revenue, h.ltv, h.aov, h.customer_aov,
        h.avg_orders, h.repeat_rate, h.avg_interval_days, h.median_interval_days,
        h.avg_lifetime_days, h.gross_profit, h.gross_margin)::ecpower.kpi IS DISTINCT FROM k.k;
-- day_orders and day_revenue: members' counted orders of that day
SELECT t.slug, h.day, h.day_orders, h.day_revenue, o.*
  FROM test_slugs t, LATERAL ecpower.segment_history(t.slug, NULL, '2024-06-30') h,
       LATERAL (SELECT count(*) AS o_orders, coalesce(sum(c.net), 0) AS o_revenue
                  FROM pg_temp.o_counted(pg_temp.o_as_of()) c
                 WHERE c.d = h.day
                   AND c.customer_id IN (SELECT m.customer_id FROM pg_temp.o_members(t.slug) m)) o
 WHERE (h.day_orders, h.day_revenue) IS DISTINCT FROM (o.o_orders, o.o_revenue);
UPDATE ecpower.refresh_state SET current_run_id = 3;
SELECT day, customers, orders FROM ecpower.segment_history('solo');

-- dropping a segment drops its history
SELECT ecpower.drop_segment('solo');
SELECT count(*) FROM ecpower.kpi_snapshots s
 WHERE NOT EXISTS (SELECT FROM ecpower.segments g WHERE g.segment_id = s.segment_id)
   AND s.segment_id IS NOT NULL;
SELECT * FROM ecpower.segment_kpis('solo');
