-- Every KPI, cohort, revenue and journey figure of template segments over a
-- generated demo store, against the plain-SQL oracles (test/kpi_oracle.sql)
\i test/fixtures/setup.sql
\set ECHO none
\i test/kpi_oracle.sql
\set ECHO all
\set VERBOSITY terse

SELECT customer_rows, order_rows > customer_rows AS has_orders
  FROM ecpower.generate_demo_store(1500, 7);
SELECT count(*) AS segments FROM (
    SELECT ecpower.create_segment_from_template(t.template, t.slug, t.params::jsonb)
      FROM (VALUES ('rfm_champions', 'champions', '{}'), ('rfm_loyal', 'loyal', '{}'),
                   ('rfm_at_risk', 'at-risk', '{}'), ('first_time_buyers', 'first-time', '{}'),
                   ('repeat_buyers', 'repeaters', '{}'), ('high_aov', 'high-aov', '{"amount": 100}'))
           AS t(template, slug, params)) s;
CALL ecpower.refresh('2025-06-30 12:00+00');
CALL ecpower.refresh('2025-12-31 12:00+00');
SELECT as_of_date AS d1 FROM ecpower.refresh_runs WHERE run_id = 1 \gset
SELECT as_of_date AS d2 FROM ecpower.refresh_runs WHERE run_id = 2 \gset

CREATE TEMP TABLE test_slugs (slug text);
INSERT INTO test_slugs SELECT slug FROM ecpower.segments UNION ALL SELECT NULL;
CREATE TEMP TABLE test_windows (from_d date, to_d date);
INSERT INTO test_windows VALUES (NULL, NULL), ('2025-01-01', '2025-03-31');

-- no row below means every figure matches its oracle
SELECT * FROM pg_temp.o_segment_kpis_mismatches();
SELECT t.slug, l.*, o.*
  FROM test_slugs t, LATERAL ecpower.ltv_window(t.slug, 6) l, LATERAL pg_temp.o_ltv_window(t.slug, 6) o
 WHERE (l.eligible, l.ltv) IS DISTINCT FROM (o.eligible, o.ltv);
SELECT x.* FROM (
    (SELECT * FROM ecpower.segment_revenue((SELECT array_agg(slug) FROM test_slugs), 'week',
                                           '2025-10-01', '2025-12-31')
     EXCEPT ALL
     SELECT o.* FROM test_slugs t, pg_temp.o_segment_revenue(t.slug, 'week', '2025-10-01', '2025-12-31') o)
    UNION ALL
    (SELECT o.* FROM test_slugs t, pg_temp.o_segment_revenue(t.slug, 'week', '2025-10-01', '2025-12-31') o
     EXCEPT ALL
     SELECT * FROM ecpower.segment_revenue((SELECT array_agg(slug) FROM test_slugs), 'week',
                                           '2025-10-01', '2025-12-31'))) x;
SELECT t.slug, x.*
  FROM test_slugs t,
  LATERAL ((SELECT * FROM ecpower.cohorts(t.slug) EXCEPT ALL SELECT * FROM pg_temp.o_cohorts(t.slug, 12))
           UNION ALL
           (SELECT * FROM pg_temp.o_cohorts(t.slug, 12) EXCEPT ALL SELECT * FROM ecpower.cohorts(t.slug))) x;
SELECT t.slug, x.*
  FROM test_slugs t,
  LATERAL ((SELECT * FROM ecpower.cohort_summary(t.slug) EXCEPT ALL SELECT * FROM pg_temp.o_cohort_summary(t.slug))
           UNION ALL
           (SELECT * FROM pg_temp.o_cohort_summary(t.slug) EXCEPT ALL SELECT * FROM ecpower.cohort_summary(t.slug))) x;
SELECT x.* FROM (
    (SELECT * FROM ecpower.journey(ARRAY['champions', 'loyal', 'at-risk'], :'d1', :'d2')
     EXCEPT ALL SELECT * FROM pg_temp.o_journey(ARRAY['champions', 'loyal', 'at-risk'], :'d1', :'d2'))
    UNION ALL
    (SELECT * FROM pg_temp.o_journey(ARRAY['champions', 'loyal', 'at-risk'], :'d1', :'d2')
     EXCEPT ALL SELECT * FROM ecpower.journey(ARRAY['champions', 'loyal', 'at-risk'], :'d1', :'d2'))) x;
-- the kpis() aggregate with gross profit per segment equals segment_kpis
SELECT t.slug
  FROM test_slugs t,
  LATERAL (SELECT ecpower.kpis(m.customer_id, o.ordered_at, p.net, p.profit) AS k
             FROM pg_temp.o_members(t.slug) m
             LEFT JOIN pg_temp.o_profits(pg_temp.o_as_of()) p USING (customer_id)
             LEFT JOIN ecpower.orders o USING (order_id)) a
 WHERE a.k IS DISTINCT FROM ecpower.segment_kpis(t.slug);
-- snapshots of both days
SELECT count(*) AS snapshot_rows, count(DISTINCT day) AS days FROM ecpower.kpi_snapshots;
