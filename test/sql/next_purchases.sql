-- What customers buy next (docs/analyses.md): ecpower.next_purchases and
-- ecpower.time_to_next_order against plain SQL over the same rows, on a
-- hand-made store (ties on ordered_at, cancelled orders, orders after as_of,
-- orders carrying several values) and on a generated store, for every
-- dimension, the whole store and a segment, several nth and within_days.
\i test/fixtures/setup.sql
SET client_min_messages = warning;
DROP SCHEMA IF EXISTS np_t CASCADE;
CREATE SCHEMA np_t;

-- the SQLSTATE and message of a statement's error
CREATE FUNCTION np_t.error(q text) RETURNS text
LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE q;
    RETURN 'no error';
EXCEPTION WHEN OTHERS THEN
    RETURN SQLSTATE || ': ' || SQLERRM;
END
$$;

-- counted orders as of the current refresh: sequence, store-local date, net
-- amount and gross profit (NULL when a line lacks a product or a cost)
CREATE FUNCTION np_t.counted()
RETURNS TABLE (order_id bigint, customer_id bigint, local_ts timestamp, local_date date,
               net numeric, profit numeric, seq bigint, n bigint)
LANGUAGE sql STABLE AS $$
    WITH run AS (SELECT r.as_of FROM ecpower.refresh_state s
                   JOIN ecpower.refresh_runs r ON r.run_id = s.current_run_id)
    SELECT o.order_id, o.customer_id, o.ordered_at AT TIME ZONE st.store_timezone,
           (o.ordered_at AT TIME ZONE st.store_timezone)::date,
           o.total - o.refunded,
           CASE WHEN l.missing THEN NULL ELSE o.total - o.refunded - COALESCE(l.cost, 0) END,
           row_number() OVER (PARTITION BY o.customer_id ORDER BY o.ordered_at, o.order_id),
           count(*) OVER (PARTITION BY o.customer_id)
      FROM ecpower.orders o CROSS JOIN run CROSS JOIN ecpower.settings st
      LEFT JOIN (SELECT ol.order_id,
                        CASE WHEN bool_or(ol.unit_cost IS NULL OR ol.product_id IS NULL)
                             THEN NULL ELSE sum(ol.quantity * ol.unit_cost) END AS cost,
                        bool_or(ol.unit_cost IS NULL OR ol.product_id IS NULL) AS missing
                   FROM ecpower.order_lines ol GROUP BY ol.order_id) l
             ON l.order_id = o.order_id
     WHERE o.cancelled_at IS NULL AND o.ordered_at <= run.as_of
$$;

CREATE FUNCTION np_t.as_of_date() RETURNS date
LANGUAGE sql STABLE AS $$
    SELECT r.as_of_date FROM ecpower.refresh_state s
      JOIN ecpower.refresh_runs r ON r.run_id = s.current_run_id
$$;

-- np_sel: the counted orders; np_vals: the values a counted order carries
-- (order, exact value), NULL and '' dropped
CREATE FUNCTION np_t.prepare(dimension text)
RETURNS void
LANGUAGE plpgsql VOLATILE AS $$
BEGIN
    DROP TABLE IF EXISTS np_sel, np_vals;
    CREATE TEMP TABLE np_sel AS SELECT * FROM np_t.counted();
    CREATE TEMP TABLE np_vals AS SELECT x.order_id, x.val FROM (
        SELECT s.order_id, l.product_id::text AS val
          FROM np_sel s JOIN ecpower.order_lines l ON l.order_id = s.order_id
         WHERE dimension = 'product'
        UNION ALL
        SELECT s.order_id, CASE dimension WHEN 'product_type' THEN p.product_type
                                          WHEN 'vendor' THEN p.vendor END
          FROM np_sel s JOIN ecpower.order_lines l ON l.order_id = s.order_id
          JOIN ecpower.products p ON p.product_id = l.product_id
         WHERE dimension IN ('product_type', 'vendor')
        UNION ALL
        SELECT s.order_id, t
          FROM np_sel s JOIN ecpower.order_lines l ON l.order_id = s.order_id
          JOIN ecpower.products p ON p.product_id = l.product_id, unnest(p.tags) t
         WHERE dimension = 'product_tag'
        UNION ALL
        SELECT s.order_id, l.sku
          FROM np_sel s JOIN ecpower.order_lines l ON l.order_id = s.order_id
         WHERE dimension = 'sku'
        UNION ALL
        SELECT s.order_id, CASE dimension
                   WHEN 'acquisition_channel' THEN o.acquisition_channel
                   WHEN 'referring_site' THEN o.referring_site
                   WHEN 'landing_site' THEN o.landing_site
                   WHEN 'utm_source' THEN o.utm_source
                   WHEN 'utm_medium' THEN o.utm_medium
                   WHEN 'utm_campaign' THEN o.utm_campaign
                   WHEN 'sales_channel' THEN o.sales_channel END
          FROM np_sel s JOIN ecpower.orders o ON o.order_id = s.order_id
         WHERE dimension IN ('acquisition_channel', 'referring_site', 'landing_site',
                             'utm_source', 'utm_medium', 'utm_campaign', 'sales_channel')
        UNION ALL
        SELECT s.order_id, t
          FROM np_sel s JOIN ecpower.orders o ON o.order_id = s.order_id,
               unnest(CASE dimension WHEN 'order_tag' THEN o.tags ELSE o.discount_codes END) t
         WHERE dimension IN ('order_tag', 'discount_code')
        UNION ALL
        SELECT s.order_id, CASE dimension
                   WHEN 'year_month' THEN to_char(s.local_ts, 'YYYY-MM')
                   WHEN 'weekday' THEN extract(isodow FROM s.local_ts)::int::text
                   WHEN 'hour' THEN extract(hour FROM s.local_ts)::int::text END
          FROM np_sel s
         WHERE dimension IN ('year_month', 'weekday', 'hour')
        UNION ALL
        SELECT s.order_id, t
          FROM np_sel s JOIN ecpower.customers c ON c.customer_id = s.customer_id,
               unnest(c.tags) t
         WHERE dimension = 'customer_tag'
        UNION ALL
        SELECT s.order_id, CASE dimension WHEN 'country' THEN c.country
                                          WHEN 'province' THEN c.province
                                          WHEN 'city' THEN c.city END
          FROM np_sel s JOIN ecpower.customers c ON c.customer_id = s.customer_id
         WHERE dimension IN ('country', 'province', 'city')) x
     WHERE x.val IS NOT NULL AND x.val <> '';
END
$$;
-- the oracles below read the tables np_t.prepare() makes
SET check_function_bodies = off;

-- the report key of a value, and its sort position among keys
CREATE FUNCTION np_t.key(dimension text, val text) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN dimension IN ('product', 'year_month', 'weekday', 'hour')
                THEN val ELSE lower(val) END
$$;
CREATE FUNCTION np_t.numeric_key(dimension text, key text) RETURNS bigint
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN dimension IN ('product', 'weekday', 'hour') THEN key::bigint
                WHEN dimension = 'year_month' THEN replace(key, '-', '')::bigint END
$$;

-- next_purchases in plain SQL, in report order (members NULL = the whole store)
CREATE FUNCTION np_t.next_oracle(dimension text, members bigint[], nth int, top int,
                                 within_days int)
RETURNS TABLE (ord bigint, from_key text, from_label text, to_key text, to_label text,
               customers bigint, share numeric, median_days numeric)
LANGUAGE sql VOLATILE AS $$
    WITH base AS (
        SELECT a.customer_id, a.order_id AS a_id, a.local_date AS a_date,
               b.order_id AS b_id, b.local_date AS b_date
          FROM np_sel a
          LEFT JOIN np_sel b ON b.customer_id = a.customer_id AND b.seq = nth + 1
                            AND (within_days IS NULL OR b.local_date - a.local_date <= within_days)
         WHERE a.seq = nth AND (members IS NULL OR a.customer_id = ANY (members))),
    fv AS (SELECT DISTINCT b.customer_id, np_t.key(dimension, v.val) AS fkey
             FROM base b JOIN np_vals v ON v.order_id = b.a_id),
    tv AS (SELECT DISTINCT b.customer_id, np_t.key(dimension, v.val) AS tkey,
                  b.b_date - b.a_date AS gap
             FROM base b JOIN np_vals v ON v.order_id = b.b_id),
    fc AS (SELECT fkey, count(*) AS n FROM fv GROUP BY 1),
    pairs AS (
        SELECT fv.fkey, tv.tkey, count(*) AS customers,
               (percentile_cont(0.5) WITHIN GROUP (ORDER BY tv.gap))::numeric AS med
          FROM fv JOIN tv USING (customer_id) GROUP BY 1, 2
        UNION ALL
        SELECT fv.fkey, NULL, count(*), NULL
          FROM fv JOIN base b USING (customer_id) WHERE b.b_id IS NULL GROUP BY 1),
    lab AS (
        SELECT DISTINCT ON (x.key) x.key, x.val FROM (
            SELECT np_t.key(dimension, y.val) AS key, y.val, count(DISTINCT y.customer_id) AS n
              FROM (SELECT b.customer_id, v.val FROM base b JOIN np_vals v ON v.order_id = b.a_id
                    UNION ALL
                    SELECT b.customer_id, v.val FROM base b JOIN np_vals v ON v.order_id = b.b_id) y
             GROUP BY 1, 2) x
         ORDER BY x.key, x.n DESC, x.val COLLATE "C"),
    ranked AS (
        SELECT p.*, fc.n,
               row_number() OVER (PARTITION BY p.fkey, p.tkey IS NULL
                                  ORDER BY p.customers DESC, np_t.numeric_key(dimension, p.tkey),
                                           p.tkey COLLATE "C") AS rn
          FROM pairs p JOIN fc USING (fkey))
    SELECT row_number() OVER (ORDER BY r.n DESC, np_t.numeric_key(dimension, r.fkey),
                                       r.fkey COLLATE "C", r.customers DESC, r.tkey IS NULL,
                                       np_t.numeric_key(dimension, r.tkey), r.tkey COLLATE "C"),
           r.fkey, np_t.label(dimension, r.fkey, lf.val),
           r.tkey, np_t.label(dimension, r.tkey, lt.val),
           r.customers, round(r.customers::numeric / r.n, 4), r.med
      FROM ranked r LEFT JOIN lab lf ON lf.key = r.fkey LEFT JOIN lab lt ON lt.key = r.tkey
     WHERE r.tkey IS NULL OR r.rn <= top
$$;

-- time_to_next_order in plain SQL, in report order
CREATE FUNCTION np_t.time_oracle(dimension text, members bigint[], nth int)
RETURNS TABLE (ord bigint, key text, label text, customers bigint, reordered bigint,
               median_days numeric, p25_days numeric, p75_days numeric)
LANGUAGE sql VOLATILE AS $$
    WITH base AS (
        SELECT a.customer_id, a.order_id AS a_id, b.local_date - a.local_date AS gap
          FROM np_sel a
          LEFT JOIN np_sel b ON b.customer_id = a.customer_id AND b.seq = nth + 1
         WHERE a.seq = nth AND (members IS NULL OR a.customer_id = ANY (members))),
    kv AS (SELECT DISTINCT b.customer_id, b.gap, np_t.key(dimension, v.val) AS key
             FROM base b JOIN np_vals v ON v.order_id = b.a_id
            WHERE dimension IS NOT NULL
           UNION ALL
           SELECT b.customer_id, b.gap, NULL FROM base b WHERE dimension IS NULL
           UNION ALL
           SELECT NULL, NULL, NULL WHERE dimension IS NULL),
    lab AS (
        SELECT DISTINCT ON (x.key) x.key, x.val FROM (
            SELECT np_t.key(dimension, v.val) AS key, v.val, count(DISTINCT b.customer_id) AS n
              FROM base b JOIN np_vals v ON v.order_id = b.a_id GROUP BY 1, 2) x
         ORDER BY x.key, x.n DESC, x.val COLLATE "C"),
    agg AS (
        SELECT kv.key, count(kv.customer_id) AS customers, count(kv.gap) AS reordered,
               (percentile_cont(0.5) WITHIN GROUP (ORDER BY kv.gap))::numeric AS med,
               (percentile_cont(0.25) WITHIN GROUP (ORDER BY kv.gap))::numeric AS p25,
               (percentile_cont(0.75) WITHIN GROUP (ORDER BY kv.gap))::numeric AS p75
          FROM kv GROUP BY 1)
    SELECT row_number() OVER (ORDER BY a.customers DESC, np_t.numeric_key(dimension, a.key),
                                       a.key COLLATE "C"),
           a.key, CASE WHEN a.key IS NOT NULL THEN np_t.label(dimension, a.key, lab.val) END,
           a.customers, a.reordered, a.med, a.p25, a.p75
      FROM agg a LEFT JOIN lab USING (key)
$$;
RESET check_function_bodies;

-- the label of a key: product title, weekday name, or the most common spelling
CREATE FUNCTION np_t.label(dimension text, key text, spelling text) RETURNS text
LANGUAGE sql STABLE AS $$
    SELECT CASE WHEN key IS NULL THEN NULL
                WHEN dimension = 'product'
                THEN (SELECT p.title FROM ecpower.products p WHERE p.product_id = key::bigint)
                WHEN dimension = 'weekday'
                THEN (ARRAY['Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun'])[key::int]
                ELSE spelling END
$$;

-- rows of the functions and of the oracles that differ (both ways)
CREATE FUNCTION np_t.diff(dimension text, slug text, nth int, top int, within_days int)
RETURNS bigint
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    members bigint[];
    n bigint;
    m bigint;
BEGIN
    IF slug IS NOT NULL THEN
        members := ARRAY(SELECT ecpower.segment_members(slug));
    END IF;
    -- next_purchases needs a dimension: compare it for a NULL one as 'product'
    CREATE TEMP TABLE np_got AS
        SELECT * FROM ecpower.next_purchases(slug, COALESCE(dimension, 'product'), nth, top,
                                             within_days)
                 WITH ORDINALITY AS r (a, b, c, d, e, f, g, ord);
    CREATE TEMP TABLE np_tgot AS
        SELECT * FROM ecpower.time_to_next_order(slug, dimension, nth)
                 WITH ORDINALITY AS r (a, b, c, d, e, f, g, ord);
    PERFORM np_t.prepare(COALESCE(dimension, 'product'));
    CREATE TEMP TABLE np_want AS
        SELECT * FROM np_t.next_oracle(COALESCE(dimension, 'product'), members, nth, top,
                                       within_days);
    CREATE TEMP TABLE np_twant AS SELECT * FROM np_t.time_oracle(dimension, members, nth);
    SELECT count(*) INTO n FROM (
        (SELECT ord, a, b, c, d, e, f, g FROM np_got EXCEPT ALL TABLE np_want)
        UNION ALL
        (TABLE np_want EXCEPT ALL SELECT ord, a, b, c, d, e, f, g FROM np_got)) x;
    SELECT count(*) INTO m FROM (
        (SELECT ord, a, b, c, d, e, f, g FROM np_tgot EXCEPT ALL TABLE np_twant)
        UNION ALL
        (TABLE np_twant EXCEPT ALL SELECT ord, a, b, c, d, e, f, g FROM np_tgot)) x;
    DROP TABLE np_got, np_want, np_tgot, np_twant;
    RETURN n + m;
END
$$;

-- ---------------------------------------------------------------------
-- A hand-made store
-- ---------------------------------------------------------------------
UPDATE ecpower.settings SET store_timezone = 'Asia/Tokyo';
INSERT INTO ecpower.products (product_id, title, product_type, vendor, tags) VALUES
    (1, 'Green Tea', 'Tea', 'Leaf Co', '{organic,gift}'),
    (2, 'Black Tea', 'tea', 'Leaf Co', '{Organic}'),
    (3, 'Mug', 'Goods', 'Clay', '{}');
INSERT INTO ecpower.customers (customer_id, email, tags, country, province, city) VALUES
    (1, 'a@example.com', '{vip}', 'JP', 'Tokyo', 'Shibuya'),
    (2, 'b@example.com', '{VIP,line}', 'jp', 'Osaka', 'Kita'),
    (3, 'c@example.com', '{}', 'US', 'CA', NULL),
    (4, 'd@example.com', '{}', 'JP', 'Tokyo', 'Minato'),
    (5, 'e@example.com', '{line}', 'JP', NULL, ''),
    (6, 'f@example.com', '{}', 'US', 'NY', 'New York'),
    (7, 'g@example.com', '{}', 'JP', 'Tokyo', 'Minato');
INSERT INTO ecpower.orders (order_id, customer_id, ordered_at, total, refunded, discount_codes,
                            tags, sales_channel, acquisition_channel, utm_source, utm_medium,
                            utm_campaign, cancelled_at) VALUES
    -- 1: first order with two products and two codes; back after 30, 100 and 400 days
    (101, 1, '2024-01-10 10:00+09', 100.00, 0, '{WELCOME10,SPRING}', '{gift}', 'web',
     'email', 'klaviyo', 'email', 'Spring_Sale', NULL),
    (102, 1, '2024-02-09 10:00+09', 50.00, 0, '{}', '{}', 'web', 'direct', NULL, NULL, NULL, NULL),
    (103, 1, '2024-04-19 10:00+09', 70.00, 0, '{}', '{}', 'shop_app', 'direct', NULL, NULL, NULL, NULL),
    (104, 1, '2025-02-13 10:00+09', 30.00, 0, '{}', '{}', 'web', 'email', NULL, NULL, NULL, NULL),
    -- 2: a cancelled first order; the counted first order is 202 (two orders at the
    -- same instant: order_id decides)
    (201, 2, '2024-01-05 09:00+09', 80.00, 0, '{}', '{}', 'web', 'google', 'google', 'cpc',
     'brand', '2024-01-06 00:00+09'),
    (203, 2, '2024-01-20 23:30+09', 60.00, 10.00, '{welcome10}', '{}', 'pos', 'Email',
     'Klaviyo', 'email', 'spring_sale', NULL),
    (202, 2, '2024-01-20 23:30+09', 40.00, 0, '{}', '{}', 'web', 'google', 'google', 'cpc',
     'brand', NULL),
    (204, 2, '2024-06-01 12:00+09', 25.00, 25.00, '{}', '{}', 'web', 'google', NULL, NULL, NULL, NULL),
    -- 3: one order, refunded in part, a line without a cost
    (301, 3, '2024-03-01 08:00+09', 120.00, 20.00, '{SPRING}', '{}', 'shop_app', 'instagram',
     'ig', 'social', 'SPRING_SALE', NULL),
    -- 4: an order without lines (profit = net), then one 10 days later
    (401, 4, '2024-12-30 20:00+09', 45.00, 0, '{}', '{}', 'web', 'google', 'google', 'cpc',
     'brand', NULL),
    (402, 4, '2025-01-09 20:00+09', 45.00, 0, '{}', '{}', 'web', 'google', NULL, NULL, NULL, NULL),
    -- 5: acquired shortly before as_of: no window has elapsed
    (501, 5, '2025-03-20 15:00+09', 90.00, 0, '{}', '{}', 'web', 'tiktok', 'tiktok', 'social',
     'launch', NULL),
    -- 6: a first order after as_of does not exist
    (601, 6, '2025-04-02 10:00+09', 10.00, 0, '{}', '{}', 'web', 'tiktok', 'tiktok', 'social',
     'launch', NULL),
    -- 7: first order on the last day of a month (month windows end on month ends)
    (701, 7, '2024-08-31 12:00+09', 55.00, 0, '{}', '{}', 'web', 'email', 'klaviyo', 'email',
     'spring_sale', NULL),
    (702, 7, '2024-11-30 11:00+09', 20.00, 0, '{}', '{}', 'web', 'email', NULL, NULL, NULL, NULL);
INSERT INTO ecpower.order_lines (order_id, line_no, product_id, sku, quantity, price, unit_cost) VALUES
    (101, 1, 1, 'GT', 2, 30.00, 8.00),
    (101, 2, 2, 'BT', 1, 40.00, 10.00),
    (102, 1, 1, 'GT', 1, 50.00, 9.00),
    (103, 1, 3, 'MUG', 1, 70.00, 20.00),
    (104, 1, 1, 'GT', 1, 30.00, 9.00),
    (201, 1, 3, 'MUG', 1, 80.00, NULL),
    (202, 1, 2, 'BT', 1, 40.00, 12.50),
    (203, 1, 1, 'gt', 2, 30.00, 8.00),
    (204, 1, 1, 'GT', 1, 25.00, 9.00),
    (301, 1, 1, 'GT', 2, 30.00, 8.00),
    (301, 2, 3, 'MUG', 2, 30.00, NULL),
    (402, 1, NULL, 'GIFTCARD', 1, 45.00, 45.00),
    (501, 1, 2, 'BT', 3, 30.00, 10.00),
    (601, 1, 2, 'BT', 1, 10.00, 3.00),
    (701, 1, 3, 'MUG', 1, 55.00, 15.00),
    (702, 1, 1, 'GT', 1, 20.00, 9.00);
CALL ecpower.refresh('2025-03-31 12:00+09');

SELECT * FROM ecpower.next_purchases();
SELECT * FROM ecpower.next_purchases(dimension => 'utm_campaign', nth => 1, top => 1);
SELECT * FROM ecpower.next_purchases(dimension => 'product', within_days => 30);
SELECT * FROM ecpower.next_purchases(dimension => 'sku', nth => 2);
SELECT * FROM ecpower.time_to_next_order();
SELECT * FROM ecpower.time_to_next_order(dimension => 'sales_channel');
SELECT * FROM ecpower.time_to_next_order(NULL, 'product', 3);
-- every dimension against plain SQL: nth 1 and 2, top 1 and 10, windows
SELECT d AS dimension,
       np_t.diff(d, NULL, 1, 10, NULL) AS first,
       np_t.diff(d, NULL, 2, 1, NULL) AS second_top1,
       np_t.diff(d, NULL, 1, 10, 30) AS within_30,
       np_t.diff(d, NULL, 1, 10, 0) AS within_0
  FROM unnest(ARRAY['product', 'product_type', 'product_tag', 'vendor', 'sku',
                    'acquisition_channel', 'referring_site', 'landing_site', 'utm_source',
                    'utm_medium', 'utm_campaign', 'sales_channel', 'order_tag',
                    'discount_code', 'year_month', 'weekday', 'hour', 'customer_tag',
                    'country', 'province', 'city']) d;
SELECT np_t.diff(NULL::text, NULL, 1, 10, NULL) AS all_orders;

-- bad arguments
SELECT np_t.error($$SELECT * FROM ecpower.next_purchases(dimension => 'channel')$$);
SELECT np_t.error($$SELECT * FROM ecpower.next_purchases(dimension => NULL)$$);
SELECT np_t.error($$SELECT * FROM ecpower.next_purchases(nth => 0)$$);
SELECT np_t.error($$SELECT * FROM ecpower.next_purchases(top => 0)$$);
SELECT np_t.error($$SELECT * FROM ecpower.next_purchases(within_days => -1)$$);
SELECT np_t.error($$SELECT * FROM ecpower.next_purchases('no-such-segment')$$);
SELECT np_t.error($$SELECT * FROM ecpower.time_to_next_order(nth => -2)$$);
SELECT np_t.error($$SELECT * FROM ecpower.time_to_next_order(dimension => 'bought_together')$$);
SELECT np_t.error($$SELECT * FROM ecpower.time_to_next_order('no-such-segment')$$);

-- ---------------------------------------------------------------------
-- A generated store
-- ---------------------------------------------------------------------
DROP EXTENSION ecpower CASCADE;
CREATE EXTENSION ecpower;
SELECT customer_rows, order_rows FROM ecpower.generate_demo_store(1200, 29);
UPDATE ecpower.settings SET store_timezone = 'America/New_York';
SELECT ecpower.create_segment('two-plus', 'Two or more orders',
    '{"orders": {}, "count": {"gte": 2}}') > 0 AS created;
SELECT ecpower.create_segment('email-first', 'First order via email',
    '{"orders": {"nth": "first", "acquisition_channel": ["email"]}}') > 0 AS created;
CALL ecpower.refresh('2025-06-30 12:00+00');
SELECT d AS dimension,
       np_t.diff(d, NULL, 1, 5, NULL) AS whole,
       np_t.diff(d, 'two-plus', 2, 3, 90) AS segment_second,
       np_t.diff(d, 'email-first', 1, 10, NULL) AS segment_first
  FROM unnest(ARRAY['product', 'product_type', 'product_tag', 'vendor', 'sku',
                    'acquisition_channel', 'referring_site', 'landing_site', 'utm_source',
                    'utm_medium', 'utm_campaign', 'sales_channel', 'order_tag',
                    'discount_code', 'year_month', 'weekday', 'hour', 'customer_tag',
                    'country', 'province', 'city']) d;
SELECT np_t.diff(NULL::text, NULL, 1, 10, NULL) AS all_orders,
       np_t.diff(NULL::text, 'two-plus', 3, 10, NULL) AS segment_third;
-- the "not yet" row is kept beyond top
SELECT count(*) FILTER (WHERE to_key IS NULL) = count(DISTINCT from_key) AS not_yet_kept,
       max(n) <= 2 AS top_held
  FROM (SELECT from_key, to_key,
               count(*) FILTER (WHERE to_key IS NOT NULL) OVER (PARTITION BY from_key) AS n
          FROM ecpower.next_purchases(dimension => 'acquisition_channel', top => 2)) x;

DROP SCHEMA np_t CASCADE;
