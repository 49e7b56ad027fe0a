-- Gross profit (docs/profit.md): orders' gross profit from their lines'
-- unit costs, the gross_profit and gross_margin KPI columns of
-- segment_kpis, compare_segments, segment_history and the kpis()
-- aggregates, and the gross_profit and gross_margin definition metrics,
-- each against plain SQL over the same rows (test/kpi_oracle.sql)
\i test/fixtures/setup.sql
SET client_min_messages = warning;
DROP TABLE IF EXISTS public.profit_par;
RESET client_min_messages;
SET TimeZone = 'UTC';
\set ECHO none
\i test/kpi_oracle.sql
\set ECHO all
\set VERBOSITY terse
UPDATE ecpower.settings SET store_timezone = 'Asia/Tokyo';

-- a hand-made store: every case of the definition
INSERT INTO ecpower.products (product_id, title) VALUES (1, 'Mug'), (2, 'Tee'), (3, 'Beans');
INSERT INTO ecpower.customers (customer_id, tags) VALUES
  (1, '{costed}'), (2, '{}'), (3, '{}'), (4, '{costed}'), (5, '{costed}'),
  (6, '{costed}'), (7, '{costed}'), (8, '{costed}');
INSERT INTO ecpower.orders (order_id, customer_id, ordered_at, total, refunded, cancelled_at) VALUES
  (101, 1, '2024-03-01 10:00+00', 100.00, 0, NULL),      -- two costed lines: 100 - 25 = 75
  (102, 1, '2024-05-01 10:00+00', 40.00, 0, NULL),       -- no lines: 40
  (201, 2, '2024-03-02 10:00+00', 60.00, 0, NULL),       -- a line without unit_cost: unknown
  (202, 2, '2024-04-02 10:00+00', 80.00, 30.00, NULL),   -- refunded: 50 - 20 = 30
  (301, 3, '2024-03-03 10:00+00', 25.00, 0, NULL),       -- a line without product: unknown
  (401, 4, '2024-03-04 10:00+00', 90.00, 0, '2024-03-05 00:00+00'),  -- cancelled, no cost
  (402, 4, '2024-06-04 10:00+00', 90.00, 0, NULL),       -- 90 - 2 * 12.50 = 65
  (501, 5, '2024-03-05 10:00+00', 10.00, 0, NULL),       -- a loss: 10 - 3 * 7 = -11
  (701, 7, '2024-03-07 10:00+00', 50.00, 50.00, NULL),   -- refunded in full: 0 - 10 = -10
  (801, 8, '2024-02-01 10:00+00', 30.00, 0, NULL),       -- 30 - 9.99 = 20.01
  (802, 8, '2024-12-24 10:00+00', 30.00, 0, NULL);       -- after as_of, no cost
INSERT INTO ecpower.order_lines (order_id, line_no, product_id, quantity, price, unit_cost) VALUES
  (101, 1, 1, 2, 30.00, 10.00), (101, 2, 2, 1, 40.00, 5.00),
  (201, 1, 1, 1, 60.00, NULL),
  (202, 1, 2, 1, 80.00, 20.00),
  (301, 1, NULL, 1, 25.00, 5.00),
  (401, 1, 3, 1, 90.00, NULL),
  (402, 1, 3, 2, 45.00, 12.50),
  (501, 1, 3, 3, 3.33, 7.00),
  (701, 1, 2, 1, 50.00, 10.00),
  (801, 1, 1, 1, 30.00, 9.99),
  (802, 1, 1, 1, 30.00, NULL);

SELECT ecpower.create_segment('costed', 'Costed', '{"customer_tag": ["costed"]}') > 0 AS ok;
SELECT ecpower.create_segment('margin-half', 'Half margin', '{"metric": "gross_margin", "gte": 0.5}') > 0 AS ok;
SELECT ecpower.create_segment('profitable', 'Profitable', '{"metric": "gross_profit", "gt": 0}') > 0 AS ok;
SELECT ecpower.create_segment('first-profit', 'First order profit',
  '{"metric": "gross_profit", "gte": 30, "orders": {"nth": "first"}}') > 0 AS ok;
SELECT ecpower.create_segment('not-margin', 'Not half margin',
  '{"not": {"metric": "gross_margin", "gte": 0.5}}') > 0 AS ok;
SELECT ecpower.create_segment_from_template('high_margin', 'high-margin', '{"min_margin": 0.7}') > 0 AS ok;
SELECT definition FROM ecpower.segments WHERE slug = 'high-margin';

CALL ecpower.refresh('2024-10-15 12:00+00');

-- each order's gross profit, by plain SQL
SELECT order_id, customer_id, net, profit FROM pg_temp.o_profits(pg_temp.o_as_of()) ORDER BY order_id;

-- the KPI columns of the store and of the segments
SELECT coalesce(s.slug, '(store)') AS slug, k.customers, k.orders, k.revenue, k.gross_profit, k.gross_margin
  FROM (SELECT slug FROM ecpower.segments UNION ALL SELECT NULL) s,
       LATERAL ecpower.segment_kpis(s.slug) k
 ORDER BY s.slug COLLATE "C" NULLS LAST;
SELECT k.orders, k.revenue, k.gross_profit, k.gross_margin
  FROM ecpower.segment_kpis('costed', '2024-04-01', '2024-12-31') k;

-- members of the metric segments against plain SQL: no rows means they match
CREATE TEMP VIEW profit_by_customer AS
SELECT c.customer_id,
       CASE WHEN NOT coalesce(bool_or(p.profit IS NULL), false) THEN coalesce(sum(p.profit), 0) END AS gp,
       coalesce(sum(p.net), 0) AS spent,
       (SELECT p1.profit FROM pg_temp.o_profits(pg_temp.o_as_of()) p1
         WHERE p1.customer_id = c.customer_id
         ORDER BY p1.d, p1.order_id LIMIT 1) AS first_gp,
       EXISTS (SELECT FROM pg_temp.o_profits(pg_temp.o_as_of()) p2
                WHERE p2.customer_id = c.customer_id) AS buyer
  FROM ecpower.customers c
  LEFT JOIN pg_temp.o_profits(pg_temp.o_as_of()) p ON p.customer_id = c.customer_id
 GROUP BY c.customer_id;
CREATE TEMP TABLE want_members AS
SELECT 'margin-half' AS slug, customer_id FROM profit_by_customer WHERE gp / nullif(spent, 0) >= 0.5
UNION ALL SELECT 'profitable', customer_id FROM profit_by_customer WHERE gp > 0
UNION ALL SELECT 'first-profit', customer_id FROM profit_by_customer WHERE buyer AND first_gp >= 30
UNION ALL SELECT 'not-margin', customer_id FROM profit_by_customer
           WHERE (gp / nullif(spent, 0) >= 0.5) IS NOT TRUE
UNION ALL SELECT 'high-margin', customer_id FROM profit_by_customer WHERE gp / nullif(spent, 0) >= 0.7;
SELECT slug, array_agg(customer_id ORDER BY customer_id) AS members
  FROM want_members GROUP BY slug ORDER BY slug COLLATE "C";
(SELECT w.slug, w.customer_id FROM want_members w
 EXCEPT SELECT s.slug, m FROM ecpower.segments s, ecpower.segment_members(s.slug) m)
UNION ALL
(SELECT s.slug, m FROM ecpower.segments s, ecpower.segment_members(s.slug) m
  WHERE s.slug <> 'costed'
 EXCEPT SELECT w.slug, w.customer_id FROM want_members w);
-- evaluate() live, without the cache, agrees
SELECT s.slug FROM ecpower.segments s
 WHERE ARRAY(SELECT ecpower.evaluate(s.definition, '2024-10-15 12:00+00') ORDER BY 1)
       IS DISTINCT FROM ARRAY(SELECT m FROM ecpower.segment_members(s.slug) m ORDER BY 1);

-- segment_kpis against the oracle, every slug and window: no rows means every figure matches
CREATE TEMP TABLE test_slugs (slug text);
INSERT INTO test_slugs SELECT slug FROM ecpower.segments UNION ALL SELECT NULL;
CREATE TEMP TABLE test_windows (from_d date, to_d date);
INSERT INTO test_windows VALUES (NULL, NULL), ('2024-04-01', NULL), ('2024-03-02', '2024-03-04'),
    ('2024-03-07', '2024-03-07'), (NULL, '2024-02-28');
SELECT * FROM pg_temp.o_segment_kpis_mismatches();

-- compare_segments and the day's snapshot carry the same columns
SELECT c.slug, c.gross_profit, c.gross_margin
  FROM ecpower.compare_segments(ARRAY['costed', 'margin-half', NULL]) c;
SELECT c.slug FROM ecpower.compare_segments((SELECT array_agg(slug) FROM test_slugs)) c,
       LATERAL (SELECT ecpower.segment_kpis(c.slug) AS k) k
 WHERE (c.gross_profit, c.gross_margin) IS DISTINCT FROM ((k.k).gross_profit, (k.k).gross_margin);
SELECT t.slug FROM test_slugs t, LATERAL ecpower.segment_history(t.slug, '2024-10-15', '2024-10-15') h,
       LATERAL (SELECT ecpower.segment_kpis(t.slug) AS k) k
 WHERE (h.gross_profit, h.gross_margin) IS DISTINCT FROM ((k.k).gross_profit, (k.k).gross_margin);
SELECT count(*) AS snapshots, count(gross_profit) AS with_profit FROM ecpower.kpi_snapshots;

-- the aggregates: with gross profit, against the oracle; without, NULL
CREATE TEMP VIEW profit_rows AS
SELECT CASE WHEN p.customer_id IN (2, 3) THEN 'some-unknown' ELSE 'costed' END AS g,
       p.customer_id, o.ordered_at, p.net AS amount, p.profit
  FROM pg_temp.o_profits(pg_temp.o_as_of()) p JOIN ecpower.orders o USING (order_id)
UNION ALL
SELECT 'prospect', c.customer_id, NULL, NULL, NULL FROM ecpower.customers c
 WHERE NOT EXISTS (SELECT FROM ecpower.orders o WHERE o.customer_id = c.customer_id);
SELECT g, (k).customers, (k).orders, (k).revenue, (k).gross_profit, (k).gross_margin
  FROM (SELECT g, ecpower.kpis(customer_id, ordered_at, amount, profit) AS k
          FROM profit_rows GROUP BY g) a ORDER BY g;
SELECT g, (k).revenue, (k).gross_profit, (k).gross_margin
  FROM (SELECT g, ecpower.kpis(customer_id, ordered_at, amount) AS k
          FROM profit_rows GROUP BY g) a ORDER BY g;
CREATE OR REPLACE TEMP VIEW kpi_rows AS SELECT g, customer_id, ordered_at, amount FROM profit_rows;
SELECT a.g FROM (SELECT g, ecpower.kpis(customer_id, ordered_at, amount, profit) AS k
                   FROM profit_rows GROUP BY g) a
  JOIN pg_temp.o_kpi_groups() o ON o.g = a.g
  JOIN (SELECT g,
               CASE WHEN NOT coalesce(bool_or(profit IS NULL AND ordered_at IS NOT NULL), false)
                    THEN coalesce(sum(profit), 0) END AS gp,
               sum(amount) AS rev
          FROM profit_rows GROUP BY g) x ON x.g = a.g
 WHERE a.k IS DISTINCT FROM pg_temp.o_with_gross(o.k, x.gp, round(x.gp / nullif(x.rev, 0), 4));
-- an empty group, prospects only: no order, gross profit 0, no margin
SELECT (ecpower.kpis(customer_id, NULL::timestamptz, NULL::numeric, NULL::numeric)).*
  FROM ecpower.customers WHERE customer_id = 6;
SELECT (ecpower.kpis(customer_id, ordered_at, amount, profit)).gross_profit
  FROM profit_rows WHERE false;

-- a line's unit_cost edited after a refresh is logged, and the next
-- refresh from the cache answers as a refresh from scratch
SELECT format FROM ecpower.order_cache_state;
UPDATE ecpower.order_lines SET unit_cost = 30.00 WHERE order_id = 201;
SELECT array_agg(order_id) AS logged FROM ecpower.order_changes;
CALL ecpower.refresh('2024-10-15 12:00+00');
SELECT count(*) AS pending FROM ecpower.order_changes;
CREATE TEMP TABLE cached AS
SELECT s.slug, ecpower.segment_kpis(s.slug) AS k,
       ARRAY(SELECT m FROM ecpower.segment_members(s.slug) m ORDER BY 1) AS members
  FROM test_slugs s;
SELECT slug, (k).gross_profit, (k).gross_margin, members FROM cached ORDER BY slug COLLATE "C" NULLS LAST;
SELECT * FROM pg_temp.o_segment_kpis_mismatches();
SELECT ecpower.reset_order_cache();
CALL ecpower.refresh('2024-10-15 12:00+00');
SELECT c.slug FROM cached c
 WHERE (c.k, c.members) IS DISTINCT FROM
       (ecpower.segment_kpis(c.slug), ARRAY(SELECT m FROM ecpower.segment_members(c.slug) m ORDER BY 1));

-- a profit beyond numeric(14,2) is refused naming the order, and the
-- refresh leaves nothing behind
SELECT count(*) AS runs FROM ecpower.refresh_runs;
UPDATE ecpower.order_lines SET quantity = 1000000, unit_cost = 999999999999.99 WHERE order_id = 801;
CALL ecpower.refresh('2024-10-16 12:00+00');
SELECT ecpower.reset_order_cache();
CALL ecpower.refresh('2024-10-16 12:00+00');
SELECT * FROM ecpower.segment_kpis(NULL);
SELECT count(*) AS runs, count(*) FILTER (WHERE status = 'succeeded') AS succeeded FROM ecpower.refresh_runs;
UPDATE ecpower.order_lines SET quantity = 1, unit_cost = 9.99 WHERE order_id = 801;

-- definition errors name the path, as for every metric
SELECT ecpower.validate_definition('{"metric": "gross_margin"}');
SELECT ecpower.validate_definition('{"all": [{"metric": "gross_profit", "gte": "a lot"}]}');
SELECT ecpower.validate_definition('{"metric": "gross_profits", "gte": 1}');
SELECT ecpower.create_segment_from_template('high_margin', 'x', '{}');

-- a random store: lines with costs, some without, orders without lines
DELETE FROM ecpower.segments;
TRUNCATE ecpower.order_lines, ecpower.orders, ecpower.customers CASCADE;
SELECT pg_temp.o_fixture(1000, 400, 0.3);
SELECT setseed(0.4);
INSERT INTO ecpower.order_lines (order_id, line_no, product_id, quantity, price, unit_cost)
SELECT o.order_id, i, 1 + (o.order_id % 3), 1 + (random() * 3)::int, 10,
       CASE WHEN random() < 0.01 THEN NULL ELSE round((random() * 30)::numeric, 2) END
  FROM ecpower.orders o, generate_series(1, (o.order_id % 4)::int) i;
SELECT count(*) FILTER (WHERE unit_cost IS NULL) > 0 AS some_unknown,
       count(DISTINCT order_id) < (SELECT count(*) FROM ecpower.orders) AS some_without_lines
  FROM ecpower.order_lines;
SELECT ecpower.create_segment('m30', 'Margin 30', '{"metric": "gross_margin", "gte": 0.3}') > 0 AS ok;
SELECT ecpower.create_segment('gp-recent', 'Profit recent',
  '{"metric": "gross_profit", "gte": 50, "orders": {"period": {"last_days": 365}}}') > 0 AS ok;
CALL ecpower.refresh('2025-01-31 12:00+00');
TRUNCATE test_slugs;
INSERT INTO test_slugs SELECT slug FROM ecpower.segments UNION ALL SELECT NULL;
SELECT * FROM pg_temp.o_segment_kpis_mismatches();
SELECT count(*) FILTER (WHERE (k).gross_profit IS NULL) AS unknown,
       count(*) FILTER (WHERE (k).gross_profit IS NOT NULL) AS known
  FROM (SELECT ecpower.segment_kpis(slug, from_d, to_d) AS k FROM test_slugs, test_windows) x;
-- the metric segments against plain SQL (profits of the last 365 days for gp-recent)
(SELECT 'm30' AS slug, customer_id FROM profit_by_customer WHERE gp / nullif(spent, 0) >= 0.3
 UNION ALL
 SELECT 'gp-recent', p.customer_id FROM pg_temp.o_profits(pg_temp.o_as_of()) p
  WHERE p.d > pg_temp.o_as_of_date() - 365
  GROUP BY p.customer_id HAVING NOT bool_or(p.profit IS NULL) AND sum(p.profit) >= 50)
EXCEPT ALL
SELECT s.slug, m FROM ecpower.segments s, ecpower.segment_members(s.slug) m;
SELECT s.slug, m FROM ecpower.segments s, ecpower.segment_members(s.slug) m
EXCEPT ALL
(SELECT 'm30' AS slug, customer_id FROM profit_by_customer WHERE gp / nullif(spent, 0) >= 0.3
 UNION ALL
 SELECT 'gp-recent', p.customer_id FROM pg_temp.o_profits(pg_temp.o_as_of()) p
  WHERE p.d > pg_temp.o_as_of_date() - 365
  GROUP BY p.customer_id HAVING NOT bool_or(p.profit IS NULL) AND sum(p.profit) >= 50);
SELECT slug, count(*) AS members FROM ecpower.segments s, ecpower.segment_members(s.slug) m
 GROUP BY slug ORDER BY slug;

-- costs edited after a refresh: the cached refresh equals one from scratch
UPDATE ecpower.order_lines SET unit_cost = unit_cost + 1 WHERE order_id % 7 = 0 AND unit_cost IS NOT NULL;
UPDATE ecpower.order_lines SET unit_cost = NULL WHERE order_id % 97 = 0;
CALL ecpower.refresh('2025-01-31 12:00+00');
SELECT * FROM pg_temp.o_segment_kpis_mismatches();
TRUNCATE cached;
INSERT INTO cached
SELECT s.slug, ecpower.segment_kpis(s.slug),
       ARRAY(SELECT m FROM ecpower.segment_members(s.slug) m ORDER BY 1)
  FROM test_slugs s;
SELECT ecpower.reset_order_cache();
CALL ecpower.refresh('2025-01-31 12:00+00');
SELECT c.slug FROM cached c
 WHERE (c.k, c.members) IS DISTINCT FROM
       (ecpower.segment_kpis(c.slug), ARRAY(SELECT m FROM ecpower.segment_members(c.slug) m ORDER BY 1));

-- the aggregate with gross profit under a forced parallel plan equals the
-- serial answer and the oracle (a regular table: temporary ones are never
-- scanned in parallel)
CREATE TABLE public.profit_par AS
SELECT (p.customer_id % 3)::text AS g, p.customer_id, o.ordered_at, p.net AS amount, p.profit
  FROM pg_temp.o_profits(pg_temp.o_as_of()) p JOIN ecpower.orders o USING (order_id)
 WHERE p.profit IS NOT NULL OR p.customer_id % 3 = 2;
ANALYZE public.profit_par;
SET max_parallel_workers_per_gather = 0;
CREATE TEMP TABLE profit_serial AS
SELECT g, ecpower.kpis(customer_id, ordered_at, amount, profit) AS k FROM public.profit_par GROUP BY g;
SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SET min_parallel_table_scan_size = 0;
SET max_parallel_workers_per_gather = 2;
SET parallel_leader_participation = off;
EXPLAIN (COSTS OFF)
SELECT g, ecpower.kpis(customer_id, ordered_at, amount, profit) FROM public.profit_par GROUP BY g;
SELECT g, (k).orders, (k).gross_profit IS NOT NULL AS known
  FROM (SELECT g, ecpower.kpis(customer_id, ordered_at, amount, profit) AS k
          FROM public.profit_par GROUP BY g) p ORDER BY g;
SELECT p.g FROM (SELECT g, ecpower.kpis(customer_id, ordered_at, amount, profit) AS k
                   FROM public.profit_par GROUP BY g) p
  FULL JOIN profit_serial s ON s.g = p.g
 WHERE p.k IS DISTINCT FROM s.k;
RESET parallel_leader_participation;
CREATE OR REPLACE TEMP VIEW kpi_rows AS SELECT g, customer_id, ordered_at, amount FROM public.profit_par;
SELECT p.g FROM (SELECT g, ecpower.kpis(customer_id, ordered_at, amount, profit) AS k
                   FROM public.profit_par GROUP BY g) p
  JOIN pg_temp.o_kpi_groups() o ON o.g = p.g
  JOIN (SELECT g, CASE WHEN NOT bool_or(profit IS NULL) THEN sum(profit) END AS gp, sum(amount) AS rev
          FROM public.profit_par GROUP BY g) x ON x.g = p.g
 WHERE p.k IS DISTINCT FROM pg_temp.o_with_gross(o.k, x.gp, round(x.gp / nullif(x.rev, 0), 4));
RESET ALL;
DROP VIEW kpi_rows;
DROP TABLE public.profit_par;
