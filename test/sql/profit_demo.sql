-- Unit costs of the demo store (docs/profit.md "The demo store"): every line
-- of an uncancelled order is costed by product type, the lines of cancelled
-- orders are not; the profit metrics and the high_margin template on it
-- against plain SQL
\i test/fixtures/setup.sql
\set ECHO none
\i test/kpi_oracle.sql
\set ECHO all

SELECT order_rows, order_line_rows FROM ecpower.generate_demo_store(3000, 11);

-- costs where they belong
SELECT o.cancelled_at IS NOT NULL AS cancelled, count(*) AS lines,
       count(l.unit_cost) AS costed, count(*) FILTER (WHERE l.unit_cost <= 0) AS not_positive
  FROM ecpower.order_lines l JOIN ecpower.orders o USING (order_id)
 GROUP BY 1 ORDER BY 1;

-- cost as a share of the list price per product type (list prices: the
-- highest unit price a variant sold at, before subscription savings)
WITH lp AS (SELECT product_id, variant_id, max(price) AS list_price
              FROM ecpower.order_lines GROUP BY 1, 2)
SELECT p.product_type, min(round(l.unit_cost / lp.list_price, 2)) AS min_share,
       max(round(l.unit_cost / lp.list_price, 2)) AS max_share
  FROM ecpower.order_lines l
  JOIN lp USING (product_id, variant_id)
  JOIN ecpower.products p USING (product_id)
 WHERE l.unit_cost IS NOT NULL
 GROUP BY 1 ORDER BY 1;

-- realised gross margin of the store's counted orders, by plain SQL
SELECT round(sum(profit) / sum(net), 2) AS store_margin, count(*) FILTER (WHERE profit < 0) AS loss_orders
  FROM pg_temp.o_profits('2025-12-31 23:59:59+00');

-- segments on profit, refreshed, against plain SQL: no rows means they match
SELECT ecpower.create_segment_from_template('high_margin', 'high-margin', '{"min_margin": 0.5}') > 0 AS ok;
SELECT ecpower.create_segment('recent-profit', 'Recent profit',
  '{"metric": "gross_profit", "gte": 40, "orders": {"period": {"last_days": 180}}}') > 0 AS ok;
SELECT ecpower.create_segment('low-margin-repeat', 'Low margin repeaters',
  '{"all": [{"orders": {}, "count": {"gte": 2}}, {"metric": "gross_margin", "lt": 0.35}]}') > 0 AS ok;
CALL ecpower.refresh('2025-12-31 23:59:59+00');
CREATE TEMP VIEW want AS
WITH p AS (SELECT * FROM pg_temp.o_profits(pg_temp.o_as_of()))
SELECT 'high-margin' AS slug, customer_id FROM p GROUP BY customer_id
HAVING NOT bool_or(profit IS NULL) AND sum(profit) / nullif(sum(net), 0) >= 0.5
UNION ALL
SELECT 'recent-profit', customer_id FROM p WHERE d > pg_temp.o_as_of_date() - 180 GROUP BY customer_id
HAVING NOT bool_or(profit IS NULL) AND sum(profit) >= 40
UNION ALL
SELECT 'low-margin-repeat', customer_id FROM p GROUP BY customer_id
HAVING count(*) >= 2 AND NOT bool_or(profit IS NULL) AND sum(profit) / nullif(sum(net), 0) < 0.35;
SELECT slug, count(*) AS members FROM want GROUP BY slug ORDER BY slug;
(SELECT slug, customer_id FROM want
 EXCEPT ALL SELECT s.slug, m FROM ecpower.segments s, ecpower.segment_members(s.slug) m)
UNION ALL
(SELECT s.slug, m FROM ecpower.segments s, ecpower.segment_members(s.slug) m
 EXCEPT ALL SELECT slug, customer_id FROM want);

-- their KPIs, and the store's, against the oracle
CREATE TEMP TABLE test_slugs (slug text);
INSERT INTO test_slugs SELECT slug FROM ecpower.segments UNION ALL SELECT NULL;
CREATE TEMP TABLE test_windows (from_d date, to_d date);
INSERT INTO test_windows VALUES (NULL, NULL), ('2025-07-01', '2025-09-30');
SELECT * FROM pg_temp.o_segment_kpis_mismatches();
SELECT slug, (k).gross_margin > 0.3 AS margin_above_30pct, (k).gross_profit < (k).revenue AS below_revenue
  FROM (SELECT slug, ecpower.segment_kpis(slug) AS k FROM test_slugs) x ORDER BY slug NULLS LAST;
