-- The demo run by tools/demo.sh: what ecpower shows a store owner.
-- psql variables: customers (store size).
\pset footer off
\timing off
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pg_cron;
CREATE EXTENSION IF NOT EXISTS ecpower;
RESET client_min_messages;

\echo
\echo '== Store settings'
SELECT store_timezone, currency FROM ecpower.settings;

\echo
\echo '== The demo store (ecpower.generate_demo_store)'
SELECT * FROM ecpower.generate_demo_store(:customers);
SELECT min(ordered_at)::date AS first_order, max(ordered_at)::date AS last_order,
       count(DISTINCT customer_id) AS buyers,
       round(100.0 * count(*) FILTER (WHERE cancelled_at IS NOT NULL) / count(*), 1) AS cancelled_pct,
       round(avg(total), 2) AS avg_order_value,
       round(100.0 * avg((cardinality(discount_codes) > 0)::int), 1) AS discounted_pct
  FROM ecpower.orders;
SELECT round(100.0 * avg((n >= 2)::int), 1) AS repeat_rate_pct,
       round(avg(n), 2) AS orders_per_buyer,
       count(*) FILTER (WHERE n >= 10) AS customers_10_plus_orders
  FROM (SELECT count(*) AS n FROM ecpower.orders WHERE cancelled_at IS NULL
         GROUP BY customer_id) s;
SELECT sales_channel, count(*) AS orders, round(sum(total - refunded), 2) AS net_revenue
  FROM ecpower.orders WHERE cancelled_at IS NULL
 GROUP BY 1 ORDER BY 2 DESC;
SELECT p.title, p.product_type, sum(l.quantity) AS units
  FROM ecpower.order_lines l JOIN ecpower.products p USING (product_id)
 GROUP BY 1, 2 ORDER BY 3 DESC, 1 LIMIT 5;
