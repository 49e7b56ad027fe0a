-- The timeline's input (docs/timeline.md): the orders changed since the
-- order cache was written, and their lines, are read by primary key in
-- batches of 8,192 rows.  A change of more orders and lines than one batch
-- gives the same members and RFM as a refresh from scratch (which scans
-- the tables), KPIs and gross profits equal to plain SQL over the same rows
-- (test/kpi_oracle.sql), and the same feature reports and distributions as
-- the reports read from a scan of the tables.
\i test/fixtures/setup.sql
\set ECHO none
\i test/kpi_oracle.sql
\set ECHO all
\set VERBOSITY terse

SELECT customer_rows, order_rows > 40000 AS enough_orders
  FROM ecpower.generate_demo_store(24000, 13);
SELECT count(ecpower.create_segment(slug, slug, def::jsonb)) FROM (VALUES
  ('repeat', '{"orders": {}, "count": {"gte": 2}}'),
  ('first-coffee', '{"orders": {"nth": "first", "product_type": ["coffee"]}}'),
  ('utm', '{"orders": {"utm_source": ["klaviyo"]}}'),
  ('items', '{"metric": "items", "gte": 6}'),
  ('profit', '{"metric": "gross_profit", "gte": 100}'),
  ('big-order', '{"orders": {"total": {"gte": 150}}}')
) AS d(slug, def);

CREATE TEMP TABLE result (pass text, slug text, members bigint[]);
CREATE FUNCTION pg_temp.keep(p_pass text) RETURNS void LANGUAGE sql AS $$
  INSERT INTO result
  SELECT p_pass, s.slug, ARRAY(SELECT m FROM ecpower.segment_members(s.slug) AS m ORDER BY m)
    FROM ecpower.segments AS s
  UNION ALL
  SELECT p_pass, 'rfm ' || r.customer_id, ARRAY[r.r, r.f, r.m]::bigint[]
    FROM ecpower.customer_rfm AS r;
$$;
-- members (and RFM scores) of pass a that differ in pass b (0 rows: equal)
CREATE FUNCTION pg_temp.diff(a text, b text) RETURNS bigint LANGUAGE sql AS $$
  SELECT count(*) FROM
    ((SELECT slug, members FROM result WHERE pass = a EXCEPT SELECT slug, members FROM result WHERE pass = b)
     UNION ALL
     (SELECT slug, members FROM result WHERE pass = b EXCEPT SELECT slug, members FROM result WHERE pass = a)) x;
$$;
CREATE FUNCTION pg_temp.stale() RETURNS bigint LANGUAGE sql AS $$
  SELECT COALESCE(octet_length(s.stale) / 8, 0) FROM ecpower.order_cache_state AS s;
$$;

-- every line costed, so that every KPI row has a gross profit
UPDATE ecpower.order_lines SET unit_cost = round(price * 0.45, 2) WHERE unit_cost IS NULL;
CALL ecpower.refresh('2025-12-31 12:00:00+00');
SELECT orders AS cached_orders FROM ecpower.order_cache_state \gset

-- one statement per table, each under the 50,000 rows that ask for a
-- rebuild: a fifth of the orders change (refunds, a UTM source, some
-- cancelled, some un-cancelled) and every line of theirs (quantities,
-- unit costs)
UPDATE ecpower.orders
   SET refunded = round(total / 3, 2),
       utm_source = CASE WHEN order_id % 2 = 0 THEN 'klaviyo' ELSE utm_source END,
       cancelled_at = CASE WHEN order_id % 7 = 0 THEN timestamptz '2025-06-01 00:00+00' END
 WHERE order_id % 5 = 1;
UPDATE ecpower.order_lines
   SET quantity = quantity + 1,
       unit_cost = unit_cost + CASE WHEN order_id % 3 = 0 THEN 1.25 ELSE 0 END
 WHERE order_id % 5 = 1;
SELECT count(*) > 8192 AS orders_past_one_batch FROM ecpower.orders WHERE order_id % 5 = 1;
SELECT count(*) > 8192 AS lines_past_one_batch FROM ecpower.order_lines WHERE order_id % 5 = 1;

-- the refresh reads the cache and the changed orders by primary key
CALL ecpower.refresh('2026-01-01 12:00:00+00');
SELECT pg_temp.stale() > 8192 AS incremental,
       pg_temp.stale() <= :cached_orders / 4 AS reports_read_the_cache,
       (SELECT orders FROM ecpower.order_cache_state) = :cached_orders AS not_rewritten;
SELECT pg_temp.keep('cached');

-- KPIs and gross profits against plain SQL (no row: every figure matches)
CREATE TEMP TABLE test_slugs (slug text);
INSERT INTO test_slugs SELECT slug FROM ecpower.segments UNION ALL SELECT NULL;
CREATE TEMP TABLE test_windows (from_d date, to_d date);
INSERT INTO test_windows VALUES (NULL, NULL), ('2025-07-01', '2025-12-31');
SELECT * FROM pg_temp.o_segment_kpis_mismatches();
SELECT (ecpower.segment_kpis(NULL)).gross_profit IS NOT NULL AS store_gross_profit_known;

-- feature reports and distributions from the cache and the changed orders
CREATE TEMP TABLE report (pass text, what text, r text);
CREATE FUNCTION pg_temp.reports(p_pass text) RETURNS void LANGUAGE sql AS $$
  INSERT INTO report
  SELECT p_pass, 'utm_source ' || coalesce(s.slug, '-'), f::text
    FROM test_slugs AS s, ecpower.feature_report(s.slug, 'utm_source', top => 100) AS f
  UNION ALL
  SELECT p_pass, 'product ' || coalesce(s.slug, '-'), f::text
    FROM test_slugs AS s, ecpower.feature_report(s.slug, 'product', top => 100) AS f
  UNION ALL
  SELECT p_pass, 'sku ' || coalesce(s.slug, '-'), f::text
    FROM test_slugs AS s, ecpower.feature_report(s.slug, 'sku', 'first', top => 100) AS f
  UNION ALL
  SELECT p_pass, 'items ' || coalesce(s.slug, '-'), d::text
    FROM test_slugs AS s, ecpower.distribution(s.slug, 'items') AS d
  UNION ALL
  SELECT p_pass, 'amount ' || coalesce(s.slug, '-'), d::text
    FROM test_slugs AS s, ecpower.distribution(s.slug, 'amount') AS d;
$$;
SELECT pg_temp.reports('cached');
SELECT count(*) > 0 AS has_report_rows FROM report WHERE pass = 'cached';

-- without the cache the reports scan the tables; the same refresh from
-- scratch gives the same members and RFM
SELECT ecpower.reset_order_cache();
SELECT pg_temp.reports('scan');
SELECT what, count(*) AS differing_rows FROM
  ((SELECT what, r FROM report WHERE pass = 'cached' EXCEPT ALL SELECT what, r FROM report WHERE pass = 'scan')
   UNION ALL
   (SELECT what, r FROM report WHERE pass = 'scan' EXCEPT ALL SELECT what, r FROM report WHERE pass = 'cached')) x
 GROUP BY what ORDER BY what;
CALL ecpower.refresh('2026-01-01 12:00:00+00');
SELECT pg_temp.stale() AS stale_after_rebuild;
SELECT pg_temp.keep('scratch');
SELECT pg_temp.diff('cached', 'scratch') AS differing_members;
