-- generate_demo_store: deterministic, shaped as documented, refuses bad input
\i test/fixtures/setup.sql
SET client_min_messages = warning;
DROP ROLE IF EXISTS regress_ecpower_demo;
RESET client_min_messages;

-- SQLSTATE, message and hint of a statement's error
CREATE FUNCTION pg_temp.err(q text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    h text;
BEGIN
    EXECUTE q;
    RETURN 'no error';
EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS h = PG_EXCEPTION_HINT;
    RETURN SQLSTATE || ': ' || SQLERRM || CASE WHEN h <> '' THEN ' / ' || h ELSE '' END;
END $$;

-- md5 of each table's rows in key order
CREATE FUNCTION pg_temp.store_md5() RETURNS TABLE (tbl text, md5 text) LANGUAGE sql AS $$
    SELECT 'customers', md5(string_agg(c::text, E'\n' ORDER BY customer_id)) FROM ecpower.customers c
    UNION ALL
    SELECT 'products', md5(string_agg(p::text, E'\n' ORDER BY product_id)) FROM ecpower.products p
    UNION ALL
    SELECT 'orders', md5(string_agg(o::text, E'\n' ORDER BY order_id)) FROM ecpower.orders o
    UNION ALL
    SELECT 'order_lines', md5(string_agg(l::text, E'\n' ORDER BY order_id, line_no)) FROM ecpower.order_lines l
$$;

-- bad arguments: 22023 naming the value
SELECT pg_temp.err('SELECT ecpower.generate_demo_store(0)');
SELECT pg_temp.err('SELECT ecpower.generate_demo_store(-5, 1)');
SELECT pg_temp.err('SELECT ecpower.generate_demo_store(10000001)');
SELECT pg_temp.err('SELECT ecpower.generate_demo_store(NULL)');
SELECT pg_temp.err('SELECT ecpower.generate_demo_store(10, NULL)');

-- a non-empty input table: 55000 with a hint
INSERT INTO ecpower.products (product_id, title) VALUES (1, 'Mine');
SELECT pg_temp.err('SELECT ecpower.generate_demo_store(10)');
SELECT count(*) AS customers_left FROM ecpower.customers;
TRUNCATE ecpower.order_lines, ecpower.orders, ecpower.products, ecpower.customers;

-- a small store, pinned byte for byte
SELECT * FROM ecpower.generate_demo_store(3000, 42);
SELECT * FROM pg_temp.store_md5();
SELECT pg_temp.err('SELECT ecpower.generate_demo_store(10)');

-- the same seed again gives the same rows (mismatches only)
CREATE TEMP TABLE first_run AS SELECT * FROM pg_temp.store_md5();
TRUNCATE ecpower.order_lines, ecpower.orders, ecpower.products, ecpower.customers RESTART IDENTITY;
SELECT * FROM ecpower.generate_demo_store(3000, 42);
SELECT * FROM pg_temp.store_md5() EXCEPT SELECT * FROM first_run;

-- a caller who is not a superuser loads through COPY: same rows
TRUNCATE ecpower.order_lines, ecpower.orders, ecpower.products, ecpower.customers RESTART IDENTITY;
CREATE ROLE regress_ecpower_demo;
GRANT USAGE ON SCHEMA ecpower TO regress_ecpower_demo;
GRANT SELECT, INSERT ON ALL TABLES IN SCHEMA ecpower TO regress_ecpower_demo;
GRANT USAGE ON ALL SEQUENCES IN SCHEMA ecpower TO regress_ecpower_demo;
GRANT EXECUTE ON FUNCTION ecpower.generate_demo_store(integer, integer) TO regress_ecpower_demo;
SET ROLE regress_ecpower_demo;
SELECT * FROM ecpower.generate_demo_store(3000, 42);
RESET ROLE;
SELECT * FROM pg_temp.store_md5() EXCEPT SELECT * FROM first_run;

-- without INSERT privilege: the COPY path's permission check
TRUNCATE ecpower.order_lines, ecpower.orders, ecpower.products, ecpower.customers RESTART IDENTITY;
REVOKE INSERT ON ecpower.orders FROM regress_ecpower_demo;
SET ROLE regress_ecpower_demo;
SELECT pg_temp.err('SELECT ecpower.generate_demo_store(10)');
RESET ROLE;
SELECT count(*) AS customers_left FROM ecpower.customers;

-- another seed gives another store
SELECT * FROM ecpower.generate_demo_store(3000, 7);
SELECT count(*) AS same_tables FROM pg_temp.store_md5() s JOIN first_run f USING (tbl, md5);
TRUNCATE ecpower.order_lines, ecpower.orders, ecpower.products, ecpower.customers RESTART IDENTITY;
SELECT * FROM ecpower.generate_demo_store(3000, 42);

-- ckey comes from its default, densely 1..n in customer_id order
SELECT count(*) FROM (
    SELECT ckey, row_number() OVER (ORDER BY customer_id) AS rn FROM ecpower.customers
) s WHERE ckey <> rn;

-- consistency: mismatches only
SELECT order_id, total, refunded FROM ecpower.orders WHERE refunded > total;
SELECT o.order_id FROM ecpower.orders o JOIN ecpower.customers c USING (customer_id)
 WHERE o.ordered_at <= c.created_at;
SELECT order_id FROM ecpower.orders
 WHERE ordered_at < '2023-01-01' OR ordered_at >= '2026-01-01'
    OR cancelled_at < ordered_at OR cancelled_at >= '2026-01-01';
SELECT order_id, count(*), max(line_no) FROM ecpower.order_lines GROUP BY order_id
HAVING count(*) NOT BETWEEN 1 AND 4 OR max(line_no) <> count(*);
SELECT order_id FROM ecpower.orders o
 WHERE NOT EXISTS (SELECT FROM ecpower.order_lines l WHERE l.order_id = o.order_id);
-- total = lines - discount + shipping + tax: no discount means at least the lines,
-- discounts take at most 40 %, tax at most 15 % and shipping at most 19.95
SELECT o.order_id, o.total, s.subtotal FROM ecpower.orders o
  JOIN (SELECT order_id, sum(price * quantity) AS subtotal FROM ecpower.order_lines GROUP BY 1) s
 USING (order_id)
 WHERE (cardinality(o.discount_codes) = 0 AND o.total < s.subtotal)
    OR o.total < round(s.subtotal * 0.6, 2)
    OR o.total > s.subtotal * 1.15 + 19.95;
-- attribution is coherent
SELECT order_id FROM ecpower.orders
 WHERE (utm_medium = 'cpc') <> (acquisition_channel = 'paid_search')
    OR (utm_source IS NOT NULL) <> (landing_site LIKE '%utm_source=%')
    OR (sales_channel = 'subscription') <> (acquisition_channel = 'subscription')
    OR (sales_channel = 'subscription' AND NOT is_subscription)
    OR (sales_channel = 'pos') <> (acquisition_channel = 'in_store');
-- customer tags agree with the orders
SELECT c.customer_id FROM ecpower.customers c
  LEFT JOIN (SELECT customer_id, count(*) FILTER (WHERE cancelled_at IS NULL) AS n,
                    bool_or(is_subscription) AS sub
               FROM ecpower.orders GROUP BY 1) o USING (customer_id)
 WHERE ('vip' = ANY (c.tags)) <> (coalesce(o.n, 0) >= 10)
    OR ('subscriber' = ANY (c.tags)) <> coalesce(o.sub, false);
-- every line points at a product, with its SKU and variant
SELECT l.order_id, l.line_no FROM ecpower.order_lines l
  LEFT JOIN ecpower.products p USING (product_id)
 WHERE p.product_id IS NULL OR l.sku IS NULL OR l.variant_id IS NULL OR l.price <= 0;

-- shape: the documented ranges (see README "The demo store")
WITH per_customer AS (
    SELECT c.customer_id, count(o.order_id) FILTER (WHERE o.cancelled_at IS NULL) AS n
      FROM ecpower.customers c LEFT JOIN ecpower.orders o USING (customer_id)
     GROUP BY 1
), buyers AS (
    SELECT * FROM per_customer WHERE n > 0
)
SELECT (SELECT count(*) FROM ecpower.products) BETWEEN 200 AND 500 AS products_ok,
       round(avg((n >= 2)::int), 2) AS repeat_rate,
       avg((n >= 2)::int) BETWEEN 0.30 AND 0.40 AS repeat_ok,
       count(*) FILTER (WHERE n >= 10) > 0 AS has_loyal,
       max(n) >= 20 AS has_very_loyal,
       (SELECT count(*) FROM per_customer WHERE n = 0)::numeric
         / (SELECT count(*) FROM per_customer) BETWEEN 0.10 AND 0.25 AS prospects_ok
  FROM buyers;

SELECT round(avg((cardinality(discount_codes) > 0)::int), 2) AS discounted,
       avg((cardinality(discount_codes) > 0)::int) BETWEEN 0.20 AND 0.35 AS discounted_ok,
       bool_or(cardinality(discount_codes) > 1) AS has_multi_codes,
       avg((cancelled_at IS NOT NULL)::int) BETWEEN 0.01 AND 0.04 AS cancelled_ok,
       avg((cancelled_at IS NULL AND refunded > 0)::int) BETWEEN 0.03 AND 0.09 AS refunds_ok,
       bool_or(cancelled_at IS NULL AND refunded > 0 AND refunded < total) AS has_partial_refunds,
       bool_or(cancelled_at IS NULL AND refunded > 0 AND refunded = total) AS has_full_refunds,
       avg(is_subscription::int) BETWEEN 0.05 AND 0.20 AS subscriptions_ok,
       bool_or(cardinality(tags) > 0) AS has_order_tags
  FROM ecpower.orders;

SELECT string_agg(sales_channel, ',' ORDER BY sales_channel COLLATE "C") AS sales_channels
  FROM (SELECT DISTINCT sales_channel FROM ecpower.orders) s;
SELECT string_agg(acquisition_channel, ',' ORDER BY acquisition_channel COLLATE "C") AS acquisition_channels
  FROM (SELECT DISTINCT acquisition_channel FROM ecpower.orders) s;
SELECT count(DISTINCT utm_source) >= 8 AS utm_sources_ok,
       count(DISTINCT utm_campaign) >= 20 AS utm_campaigns_ok,
       count(DISTINCT referring_site) >= 10 AS referrers_ok,
       count(DISTINCT landing_site) >= 100 AS landing_sites_ok
  FROM ecpower.orders;

-- first orders grow over the three years
SELECT extract(year FROM first_at) AS year, count(*) > 0 AS has_first_orders
  FROM (SELECT min(ordered_at) AS first_at FROM ecpower.orders GROUP BY customer_id) f
 GROUP BY 1 ORDER BY 1;
SELECT count(*) FILTER (WHERE first_at >= '2025-01-01')
       > 1.5 * count(*) FILTER (WHERE first_at < '2024-01-01') AS growing
  FROM (SELECT min(ordered_at) AS first_at FROM ecpower.orders GROUP BY customer_id) f;

-- long tail: the best seller is a few per cent of lines, the top fifth of
-- products carries most of them
WITH p AS (
    SELECT product_id, count(*) AS n, row_number() OVER (ORDER BY count(*) DESC, product_id) AS r
      FROM ecpower.order_lines GROUP BY 1
)
SELECT max(n)::numeric / sum(n) BETWEEN 0.02 AND 0.20 AS head_ok,
       sum(n) FILTER (WHERE r <= (SELECT count(*) FROM ecpower.products) / 5)::numeric / sum(n) > 0.5 AS tail_ok
  FROM p;

-- repurchase cycles differ by type: consumables come back sooner than apparel
WITH typed AS (
    SELECT o.customer_id, o.ordered_at, o.order_id,
           bool_or(p.product_type = 'Coffee') AS coffee,
           bool_or(p.product_type = 'Apparel') AS apparel
      FROM ecpower.orders o
      JOIN ecpower.order_lines l USING (order_id)
      JOIN ecpower.products p USING (product_id)
     WHERE o.cancelled_at IS NULL AND NOT o.is_subscription
     GROUP BY 1, 2, 3
), gaps AS (
    SELECT coffee AND lag(coffee) OVER w AS coffee_again,
           apparel AND lag(apparel) OVER w AS apparel_again,
           ordered_at::date - (lag(ordered_at) OVER w)::date AS gap
      FROM typed
    WINDOW w AS (PARTITION BY customer_id ORDER BY ordered_at, order_id)
)
SELECT percentile_disc(0.5) WITHIN GROUP (ORDER BY gap) FILTER (WHERE coffee_again)
     < percentile_disc(0.5) WITHIN GROUP (ORDER BY gap) FILTER (WHERE apparel_again) AS cycles_differ
  FROM gaps;

-- customers: places, consent, tags, fake e-mail domains
SELECT country, count(*) > 0 AS present FROM ecpower.customers GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 3;
SELECT bool_and(province IS NOT NULL AND city IS NOT NULL) AS places_ok,
       avg(accepts_marketing::int) BETWEEN 0.3 AND 0.8 AS consent_ok,
       bool_and(email IS NULL OR email ~ '@(example\.(com|net|org)|mail\.example|inbox\.example)$') AS fake_domains,
       count(DISTINCT email) = count(email) AS emails_unique,
       count(*) FILTER (WHERE 'newsletter' = ANY (tags)) > 0 AS has_newsletter_tag
  FROM ecpower.customers;

-- another store time zone: the same local calendar, 2023-01-01 .. 2025-12-31 local
TRUNCATE ecpower.order_lines, ecpower.orders, ecpower.products, ecpower.customers RESTART IDENTITY;
UPDATE ecpower.settings SET store_timezone = 'America/New_York';
SELECT customer_rows, order_rows FROM ecpower.generate_demo_store(500, 42);
SELECT min((ordered_at AT TIME ZONE 'America/New_York')::date) AS first_local_day,
       max((ordered_at AT TIME ZONE 'America/New_York')::date) AS last_local_day,
       max((cancelled_at AT TIME ZONE 'America/New_York')::date) <= '2025-12-31' AS cancellations_ok
  FROM ecpower.orders;
-- the busiest local hours are in the evening
SELECT extract(hour FROM ordered_at AT TIME ZONE 'America/New_York') AS local_hour
  FROM ecpower.orders WHERE NOT is_subscription
 GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 1;
UPDATE ecpower.settings SET store_timezone = 'UTC';

DROP OWNED BY regress_ecpower_demo;
DROP ROLE regress_ecpower_demo;
