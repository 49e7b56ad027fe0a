-- One naming scheme for dates: every function that takes a period calls its
-- bounds from_date and to_date, a single day is on_date, and a named call
-- answers exactly as the positional one, on every such function.
\i test/fixtures/setup.sql
SET DateStyle = 'ISO, YMD';
\set SHOW_CONTEXT never

-- every date argument of every ecpower routine, by name: a period is
-- from_date / to_date; no argument is called "from" or "to"
SELECT p.proname AS routine, a.name AS argument
  FROM pg_proc p
 CROSS JOIN LATERAL unnest(p.proargnames, p.proargtypes::oid[]) WITH ORDINALITY AS a(name, type, i)
 WHERE p.pronamespace = 'ecpower'::regnamespace AND a.type = 'date'::regtype
   AND (p.proargmodes IS NULL OR p.proargmodes[a.i] IN ('i', 'b'))
 ORDER BY p.proname COLLATE "C", a.i;
SELECT p.proname, a.name FROM pg_proc p, unnest(p.proargnames) AS a(name)
 WHERE p.pronamespace = 'ecpower'::regnamespace AND a.name IN ('from', 'to');

-- a small store with two refreshed days and a segment
INSERT INTO ecpower.products (product_id, title) VALUES (1, 'Tea'), (2, 'Cup'), (3, 'Pot');
INSERT INTO ecpower.customers (customer_id, country) VALUES (1, 'JP'), (2, 'JP'), (3, 'US'), (4, 'JP');
INSERT INTO ecpower.orders (order_id, customer_id, ordered_at, total, utm_source) VALUES
    (11, 1, '2024-01-05 10:00+00', 30, 'google'), (12, 1, '2024-02-10 10:00+00', 50, 'mail'),
    (13, 1, '2024-03-20 10:00+00', 20, 'mail'),
    (21, 2, '2024-01-20 10:00+00', 20, 'google'), (22, 2, '2024-03-02 10:00+00', 40, NULL),
    (31, 3, '2024-02-01 10:00+00', 70, 'google'),
    (41, 4, '2024-03-05 10:00+00', 15, 'mail');
INSERT INTO ecpower.order_lines (order_id, line_no, product_id, quantity, price) VALUES
    (11, 1, 1, 1, 30), (12, 1, 1, 1, 25), (12, 2, 2, 1, 25), (13, 1, 3, 1, 20),
    (21, 1, 1, 1, 20), (22, 1, 1, 1, 20), (22, 2, 2, 1, 20), (31, 1, 2, 2, 35),
    (41, 1, 3, 1, 15);
SELECT ecpower.create_segment('jp', 'Japan', '{"country": ["jp"]}');
SELECT ecpower.create_segment('repeat', 'Repeat buyers', '{"orders": {}, "count": {"gte": 2}}');
CALL ecpower.refresh('2024-02-29 23:59:59+00');
CALL ecpower.refresh('2024-03-31 23:59:59+00');

-- named and positional calls of every function with a period or a day:
-- rows of one that the other lacks, both ways (0 rows), and row counts
-- that show the calls are not empty
CREATE TEMP TABLE calls (fn text, positional text, named text);
INSERT INTO calls VALUES
('segment_kpis',
 $$SELECT * FROM ecpower.segment_kpis('jp', '2024-02-01', '2024-03-31')$$,
 $$SELECT * FROM ecpower.segment_kpis(slug => 'jp', from_date => '2024-02-01', to_date => '2024-03-31')$$),
('segment_kpis (to_date only)',
 $$SELECT * FROM ecpower.segment_kpis('jp', NULL, '2024-02-29')$$,
 $$SELECT * FROM ecpower.segment_kpis('jp', to_date => '2024-02-29')$$),
('segment_history',
 $$SELECT * FROM ecpower.segment_history('jp', '2024-01-01', '2024-12-31')$$,
 $$SELECT * FROM ecpower.segment_history('jp', to_date => '2024-12-31', from_date => '2024-01-01')$$),
('segment_revenue',
 $$SELECT * FROM ecpower.segment_revenue('{jp,repeat}', 'month', '2024-01-01', '2024-03-31')$$,
 $$SELECT * FROM ecpower.segment_revenue(slugs => '{jp,repeat}', grain => 'month', from_date => '2024-01-01', to_date => '2024-03-31')$$),
('journey',
 $$SELECT * FROM ecpower.journey('{jp,repeat}', '2024-02-29', '2024-03-31')$$,
 $$SELECT * FROM ecpower.journey(slugs => '{jp,repeat}', from_date => '2024-02-29', to_date => '2024-03-31')$$),
('feature_report',
 $$SELECT * FROM ecpower.feature_report('jp', 'product', 'all', '2024-02-01', '2024-03-31', 10, false)$$,
 $$SELECT * FROM ecpower.feature_report('jp', 'product', from_date => '2024-02-01', to_date => '2024-03-31')$$),
('feature_report (from_date only)',
 $$SELECT * FROM ecpower.feature_report(NULL, 'utm_source', 'all', '2024-02-01', NULL, 10, false)$$,
 $$SELECT * FROM ecpower.feature_report(NULL, 'utm_source', from_date => '2024-02-01')$$),
('distribution',
 $$SELECT * FROM ecpower.distribution(NULL, 'order_count', 'all', '2024-01-01', '2024-02-29', '{1,2}')$$,
 $$SELECT * FROM ecpower.distribution(NULL, 'order_count', bins => '{1,2}', to_date => '2024-02-29', from_date => '2024-01-01')$$),
('bought_together',
 $$SELECT * FROM ecpower.bought_together(NULL, 10, 'all', '2024-02-01', '2024-03-31')$$,
 $$SELECT * FROM ecpower.bought_together(NULL, from_date => '2024-02-01', to_date => '2024-03-31')$$),
('segment_members (on_date)',
 $$SELECT * FROM ecpower.segment_members('repeat', '2024-02-29')$$,
 $$SELECT * FROM ecpower.segment_members(slug => 'repeat', on_date => '2024-02-29')$$);

CREATE FUNCTION pg_temp.compare(p text, n text, OUT missing bigint, OUT extra bigint, OUT rows bigint)
LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE format('SELECT count(*) FROM ((%s) EXCEPT ALL (%s)) x', p, n) INTO missing;
    EXECUTE format('SELECT count(*) FROM ((%s) EXCEPT ALL (%s)) x', n, p) INTO extra;
    EXECUTE format('SELECT count(*) FROM (%s) x', p) INTO rows;
END
$$;
SELECT c.fn, r.missing, r.extra, r.rows
  FROM calls c, LATERAL pg_temp.compare(c.positional, c.named) r
 ORDER BY c.fn COLLATE "C";

-- the named period means what it says: plain SQL over the same rows
SELECT k.orders = o.orders AS orders_match, k.revenue = o.revenue AS revenue_match
  FROM ecpower.segment_kpis('jp', from_date => '2024-02-01', to_date => '2024-03-31') k,
       (SELECT count(*) AS orders, sum(total - refunded) AS revenue
          FROM ecpower.orders o JOIN ecpower.customers c USING (customer_id)
         WHERE c.country = 'JP' AND o.cancelled_at IS NULL
           AND o.ordered_at::date BETWEEN '2024-02-01' AND '2024-03-31') o;
SELECT key, customers FROM ecpower.feature_report(NULL, 'utm_source', from_date => '2024-02-01')
 ORDER BY rank;
SELECT lower(utm_source) AS key, count(DISTINCT customer_id) AS customers
  FROM ecpower.orders WHERE ordered_at >= '2024-02-01' AND utm_source IS NOT NULL
 GROUP BY 1 ORDER BY count(DISTINCT customer_id) DESC, lower(utm_source) COLLATE "C";

-- a bad period is named by its bounds (22023)
SELECT * FROM ecpower.feature_report(NULL, 'product', from_date => '2024-03-01', to_date => '2024-02-01');
SELECT * FROM ecpower.bought_together(NULL, from_date => 'infinity');
