-- Acquisition quality (docs/analyses.md): ecpower.acquisition_report against a
-- plain-SQL computation over the same rows, on a hand-made store (first orders
-- carrying several values, ties on ordered_at, cancelled first orders, refunds,
-- missing costs, orders without lines, windows not yet elapsed, spend on keys
-- that acquired nobody) and on a generated store with costs and spend, for every
-- dimension, the whole store and a segment, with and without a period.
\i test/fixtures/setup.sql
SET client_min_messages = warning;
DROP SCHEMA IF EXISTS acq_t CASCADE;
CREATE SCHEMA acq_t;

-- the SQLSTATE and message of a statement's error
CREATE FUNCTION acq_t.error(q text) RETURNS text
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
CREATE FUNCTION acq_t.counted()
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

CREATE FUNCTION acq_t.as_of_date() RETURNS date
LANGUAGE sql STABLE AS $$
    SELECT r.as_of_date FROM ecpower.refresh_state s
      JOIN ecpower.refresh_runs r ON r.run_id = s.current_run_id
$$;

-- acq_sel: the counted orders; acq_vals: the values a counted order carries
-- (order, exact value), NULL and '' dropped
CREATE FUNCTION acq_t.prepare(dimension text)
RETURNS void
LANGUAGE plpgsql VOLATILE AS $$
BEGIN
    DROP TABLE IF EXISTS acq_sel, acq_vals;
    CREATE TEMP TABLE acq_sel AS SELECT * FROM acq_t.counted();
    CREATE TEMP TABLE acq_vals AS SELECT x.order_id, x.val FROM (
        SELECT s.order_id, l.product_id::text AS val
          FROM acq_sel s JOIN ecpower.order_lines l ON l.order_id = s.order_id
         WHERE dimension = 'product'
        UNION ALL
        SELECT s.order_id, CASE dimension WHEN 'product_type' THEN p.product_type
                                          WHEN 'vendor' THEN p.vendor END
          FROM acq_sel s JOIN ecpower.order_lines l ON l.order_id = s.order_id
          JOIN ecpower.products p ON p.product_id = l.product_id
         WHERE dimension IN ('product_type', 'vendor')
        UNION ALL
        SELECT s.order_id, t
          FROM acq_sel s JOIN ecpower.order_lines l ON l.order_id = s.order_id
          JOIN ecpower.products p ON p.product_id = l.product_id, unnest(p.tags) t
         WHERE dimension = 'product_tag'
        UNION ALL
        SELECT s.order_id, l.sku
          FROM acq_sel s JOIN ecpower.order_lines l ON l.order_id = s.order_id
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
          FROM acq_sel s JOIN ecpower.orders o ON o.order_id = s.order_id
         WHERE dimension IN ('acquisition_channel', 'referring_site', 'landing_site',
                             'utm_source', 'utm_medium', 'utm_campaign', 'sales_channel')
        UNION ALL
        SELECT s.order_id, t
          FROM acq_sel s JOIN ecpower.orders o ON o.order_id = s.order_id,
               unnest(CASE dimension WHEN 'order_tag' THEN o.tags ELSE o.discount_codes END) t
         WHERE dimension IN ('order_tag', 'discount_code')
        UNION ALL
        SELECT s.order_id, CASE dimension
                   WHEN 'year_month' THEN to_char(s.local_ts, 'YYYY-MM')
                   WHEN 'weekday' THEN extract(isodow FROM s.local_ts)::int::text
                   WHEN 'hour' THEN extract(hour FROM s.local_ts)::int::text END
          FROM acq_sel s
         WHERE dimension IN ('year_month', 'weekday', 'hour')
        UNION ALL
        SELECT s.order_id, t
          FROM acq_sel s JOIN ecpower.customers c ON c.customer_id = s.customer_id,
               unnest(c.tags) t
         WHERE dimension = 'customer_tag'
        UNION ALL
        SELECT s.order_id, CASE dimension WHEN 'country' THEN c.country
                                          WHEN 'province' THEN c.province
                                          WHEN 'city' THEN c.city END
          FROM acq_sel s JOIN ecpower.customers c ON c.customer_id = s.customer_id
         WHERE dimension IN ('country', 'province', 'city')) x
     WHERE x.val IS NOT NULL AND x.val <> '';
END
$$;
-- the oracles below read the tables acq_t.prepare() makes
SET check_function_bodies = off;

-- the report key of a value, and its sort position among keys
CREATE FUNCTION acq_t.key(dimension text, val text) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN dimension IN ('product', 'year_month', 'weekday', 'hour')
                THEN val ELSE lower(val) END
$$;
CREATE FUNCTION acq_t.numeric_key(dimension text, key text) RETURNS bigint
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN dimension IN ('product', 'weekday', 'hour') THEN key::bigint
                WHEN dimension = 'year_month' THEN replace(key, '-', '')::bigint END
$$;

-- acquisition_report in plain SQL (members NULL = every customer with a counted order)
CREATE FUNCTION acq_t.oracle(dimension text, members bigint[], p_from date, p_to date)
RETURNS TABLE (rank int, key text, label text, customers bigint, share numeric,
               first_aov numeric, repeat_rate numeric, f2_rate_90d numeric,
               ltv_3m numeric, ltv_6m numeric, ltv_12m numeric, ltv numeric,
               avg_orders numeric, gross_profit_ltv numeric, cac numeric,
               ltv_12m_to_cac numeric, payback_days int)
LANGUAGE sql VOLATILE AS $$
    WITH vals AS (SELECT * FROM acq_vals),
    co AS (SELECT * FROM acq_sel),
    asof AS (SELECT acq_t.as_of_date() AS d),
    pop AS (
        SELECT f.customer_id, f.order_id AS first_id, f.local_date AS first_date,
               f.net AS first_net, f.n
          FROM co f
         WHERE f.seq = 1
           AND (members IS NULL OR f.customer_id = ANY (members))
           AND (p_from IS NULL OR f.local_date >= p_from)
           AND (p_to IS NULL OR f.local_date <= p_to)),
    percust AS (
        SELECT p.customer_id, p.first_date, p.first_net, p.n,
               min(o.local_date) FILTER (WHERE o.seq = 2) AS second_date,
               sum(o.net) AS net, sum(o.profit) AS profit,
               bool_or(o.profit IS NULL) AS profit_missing,
               COALESCE(sum(o.net) FILTER (
                   WHERE o.local_date < (p.first_date + interval '3 months')::date), 0) AS net3,
               COALESCE(sum(o.net) FILTER (
                   WHERE o.local_date < (p.first_date + interval '6 months')::date), 0) AS net6,
               COALESCE(sum(o.net) FILTER (
                   WHERE o.local_date < (p.first_date + interval '12 months')::date), 0) AS net12
          FROM pop p JOIN co o ON o.customer_id = p.customer_id
         GROUP BY p.customer_id, p.first_date, p.first_net, p.n),
    kv AS (
        SELECT DISTINCT p.customer_id, acq_t.key(dimension, v.val) AS key
          FROM pop p JOIN vals v ON v.order_id = p.first_id),
    lab AS (
        SELECT DISTINCT ON (x.key) x.key, x.val FROM (
            SELECT acq_t.key(dimension, v.val) AS key, v.val,
                   count(DISTINCT p.customer_id) AS n
              FROM pop p JOIN vals v ON v.order_id = p.first_id GROUP BY 1, 2) x
         ORDER BY x.key, x.n DESC, x.val COLLATE "C"),
    spend AS (
        SELECT lower(s.key) AS key, sum(s.amount) AS amount
          FROM ecpower.acquisition_spend s
         WHERE s.dimension = oracle.dimension
           AND (p_from IS NULL OR s.spend_date >= p_from)
           AND (p_to IS NULL OR s.spend_date <= p_to)
         GROUP BY 1),
    agg AS (
        SELECT kv.key, count(*) AS customers,
               avg(c.first_net) AS first_aov,
               avg((c.n >= 2)::int) AS repeat_rate,
               avg(COALESCE(c.second_date <= c.first_date + 90, false)::int)
                   FILTER (WHERE c.first_date + 90 <= asof.d) AS f2,
               avg(c.net3) FILTER (WHERE (c.first_date + interval '3 months')::date <= asof.d) AS l3,
               avg(c.net6) FILTER (WHERE (c.first_date + interval '6 months')::date <= asof.d) AS l6,
               avg(c.net12) FILTER (WHERE (c.first_date + interval '12 months')::date <= asof.d) AS l12,
               avg(c.net) AS ltv,
               avg(c.n) AS avg_orders,
               CASE WHEN bool_or(c.profit_missing) THEN NULL ELSE avg(c.profit) END AS gp
          FROM kv JOIN percust c USING (customer_id), asof
         GROUP BY kv.key),
    events AS (
        SELECT kv.key, o.local_date - c.first_date AS d,
               sum(COALESCE(o.profit, o.net)) AS amount
          FROM kv JOIN percust c USING (customer_id)
          JOIN co o ON o.customer_id = kv.customer_id
         GROUP BY 1, 2),
    payback AS (
        SELECT e.key, min(e.d) AS d
          FROM (SELECT e.key, e.d,
                       sum(e.amount) OVER (PARTITION BY e.key ORDER BY e.d) AS cum
                  FROM events e) e
          JOIN agg a USING (key) JOIN spend s USING (key)
         WHERE e.cum / a.customers >= s.amount / a.customers
         GROUP BY 1)
    SELECT (row_number() OVER (ORDER BY a.customers DESC,
                                        acq_t.numeric_key(dimension, a.key),
                                        a.key COLLATE "C"))::int,
           a.key,
           CASE WHEN dimension = 'product'
                THEN (SELECT p.title FROM ecpower.products p WHERE p.product_id = a.key::bigint)
                WHEN dimension = 'weekday'
                THEN (ARRAY['Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun'])[a.key::int]
                ELSE lab.val END,
           a.customers,
           round(a.customers::numeric / (SELECT count(*) FROM pop), 4),
           round(a.first_aov, 2), round(a.repeat_rate, 4), round(a.f2, 4),
           round(a.l3, 2), round(a.l6, 2), round(a.l12, 2), round(a.ltv, 2),
           round(a.avg_orders, 4), round(a.gp, 2),
           round(s.amount / a.customers, 2),
           round(a.l12 / NULLIF(s.amount / a.customers, 0), 4),
           pb.d
      FROM agg a LEFT JOIN lab USING (key) LEFT JOIN spend s USING (key)
      LEFT JOIN payback pb USING (key)
$$;
RESET check_function_bodies;

-- rows of the report and of the oracle that differ (both ways)
CREATE FUNCTION acq_t.diff(dimension text, slug text, p_from date, p_to date)
RETURNS bigint
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    members bigint[];
    n bigint;
BEGIN
    IF slug IS NOT NULL THEN
        members := ARRAY(SELECT ecpower.segment_members(slug));
    END IF;
    CREATE TEMP TABLE acq_got AS
        SELECT * FROM ecpower.acquisition_report(dimension, slug, p_from, p_to, top => 100000);
    PERFORM acq_t.prepare(dimension);
    CREATE TEMP TABLE acq_want AS SELECT * FROM acq_t.oracle(dimension, members, p_from, p_to);
    SELECT count(*) INTO n FROM (
        (TABLE acq_got EXCEPT ALL TABLE acq_want)
        UNION ALL
        (TABLE acq_want EXCEPT ALL TABLE acq_got)) x;
    IF n > 0 THEN
        RAISE NOTICE 'differences for % %: % rows', dimension, slug, n;
    END IF;
    DROP TABLE acq_got, acq_want;
    RETURN n;
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
INSERT INTO ecpower.acquisition_spend (dimension, key, spend_date, amount) VALUES
    ('utm_campaign', 'spring_sale', '2024-01-01', 100.00),
    ('utm_campaign', 'Spring_Sale', '2024-02-01', 50.00),
    ('utm_campaign', 'SPRING_SALE', '2024-12-01', 30.00),
    ('utm_campaign', 'brand', '2024-01-15', 0),
    ('utm_campaign', 'BRAND', '2024-01-16', 150.00),
    ('acquisition_channel', 'EMAIL', '2024-02-01', 200.00),
    ('product', '3', '2024-01-01', 0),
    ('utm_campaign', 'nobody', '2024-01-15', 500.00),
    ('utm_campaign', 'launch', '2025-03-01', 40.00),
    ('acquisition_channel', 'google', '2024-01-01', 60.00),
    ('discount_code', 'welcome10', '2024-01-01', 5000.00),
    ('product', '1', '2024-01-01', 20.00);
CALL ecpower.refresh('2025-03-31 12:00+09');

-- the whole report on this store, then the plain-SQL comparison
SELECT * FROM ecpower.acquisition_report('utm_campaign');
SELECT acq_t.prepare('utm_campaign');
SELECT * FROM acq_t.oracle('utm_campaign', NULL, NULL, NULL) ORDER BY rank;
SELECT rank, key, label, customers, share, first_aov, ltv, gross_profit_ltv, cac, payback_days
  FROM ecpower.acquisition_report('product');
SELECT rank, key, customers, first_aov, ltv_3m, ltv_12m, cac, ltv_12m_to_cac, payback_days
  FROM ecpower.acquisition_report('discount_code', from_date => '2024-01-01', to_date => '2024-01-31');
SELECT rank, key, customers, cac, payback_days
  FROM ecpower.acquisition_report('acquisition_channel', top => 2);
-- every dimension, the whole store, with and without a period
SELECT d AS dimension,
       acq_t.diff(d, NULL, NULL, NULL) AS whole,
       acq_t.diff(d, NULL, '2024-01-01', '2024-06-30') AS period,
       acq_t.diff(d, NULL, '2024-03-01', NULL) AS open_end
  FROM unnest(ARRAY['product', 'product_type', 'product_tag', 'vendor', 'sku',
                    'acquisition_channel', 'referring_site', 'landing_site', 'utm_source',
                    'utm_medium', 'utm_campaign', 'sales_channel', 'order_tag',
                    'discount_code', 'year_month', 'weekday', 'hour', 'customer_tag',
                    'country', 'province', 'city']) d;

-- spend must name a report dimension; negative spend is refused by the CHECK
SELECT acq_t.error($$INSERT INTO ecpower.acquisition_spend VALUES ('campaign', 'x', '2024-01-01', 1)$$);
SELECT acq_t.error($$INSERT INTO ecpower.acquisition_spend VALUES ('bought_together', 'x', '2024-01-01', 1)$$);
SELECT acq_t.error($$INSERT INTO ecpower.acquisition_spend VALUES ('utm_campaign', 'x', '2024-01-01', -1)$$);
SELECT acq_t.error($$UPDATE ecpower.acquisition_spend SET dimension = 'utm' WHERE key = 'brand'$$);
SELECT count(*) AS spend_rows FROM ecpower.acquisition_spend;

-- bad arguments
SELECT acq_t.error($$SELECT * FROM ecpower.acquisition_report('channel')$$);
SELECT acq_t.error($$SELECT * FROM ecpower.acquisition_report('bought_together')$$);
SELECT acq_t.error($$SELECT * FROM ecpower.acquisition_report(NULL)$$);
SELECT acq_t.error($$SELECT * FROM ecpower.acquisition_report('product', top => 0)$$);
SELECT acq_t.error($$SELECT * FROM ecpower.acquisition_report('product', from_date => '2024-05-01', to_date => '2024-04-30')$$);
SELECT acq_t.error($$SELECT * FROM ecpower.acquisition_report('product', 'no-such-segment')$$);

-- ---------------------------------------------------------------------
-- A generated store with costs on most lines and daily spend
-- ---------------------------------------------------------------------
DROP EXTENSION ecpower CASCADE;
CREATE EXTENSION ecpower;
SELECT customer_rows, order_rows FROM ecpower.generate_demo_store(1200, 23);
UPDATE ecpower.settings SET store_timezone = 'America/New_York';
-- the demo store comes with daily spend on paid channels and campaigns only
SELECT dimension, count(DISTINCT key) > 3 AS several_keys, bool_and(amount > 0) AS positive
  FROM ecpower.acquisition_spend GROUP BY 1 ORDER BY 1;
SELECT count(*) AS unpaid_channel_rows FROM ecpower.acquisition_spend
 WHERE dimension = 'acquisition_channel'
   AND key IN ('organic_search', 'direct', 'referral', 'in_store', 'sales_rep');
-- this test writes its own spend
DELETE FROM ecpower.acquisition_spend;
UPDATE ecpower.order_lines
   SET unit_cost = CASE WHEN (hashint8(order_id * 31 + line_no) & 1023) < 1000
                        THEN round(price * (0.25 + (hashint8(order_id + line_no) & 255) / 1000.0), 2) END;
-- a tenth of the customers have every cost: their values get a gross profit
UPDATE ecpower.order_lines l SET unit_cost = round(l.price * 0.4, 2)
  FROM ecpower.orders o WHERE o.order_id = l.order_id AND o.customer_id % 10 = 0;
INSERT INTO ecpower.acquisition_spend (dimension, key, spend_date, amount)
SELECT 'utm_campaign', CASE WHEN d % 2 = 0 THEN upper(k) ELSE k END, day::date,
       round(((hashtext(k || day::text) & 1023) / 40.0)::numeric, 2)
  FROM (SELECT DISTINCT utm_campaign AS k FROM ecpower.orders WHERE utm_campaign IS NOT NULL
        UNION ALL SELECT 'campaign_without_customers') c,
       generate_series(date '2023-01-01', date '2025-06-30', interval '3 days') WITH ORDINALITY AS g (day, d);
INSERT INTO ecpower.acquisition_spend (dimension, key, spend_date, amount)
SELECT 'acquisition_channel', k, day::date, 25.00
  FROM (SELECT DISTINCT acquisition_channel AS k FROM ecpower.orders
         WHERE acquisition_channel IS NOT NULL) c,
       generate_series(date '2023-01-01', date '2025-06-30', interval '1 day') day;
INSERT INTO ecpower.acquisition_spend (dimension, key, spend_date, amount)
SELECT 'product', product_id::text, '2024-01-01', 150.00 FROM ecpower.products;
SELECT ecpower.create_segment('email-first', 'First order via email',
    '{"orders": {"nth": "first", "acquisition_channel": ["email"]}}') > 0 AS created;
SELECT ecpower.create_segment('two-plus', 'Two or more orders',
    '{"orders": {}, "count": {"gte": 2}}') > 0 AS created;
-- the acquisition templates
SELECT ecpower.create_segment_from_template('acquired_with_discount', 'acq-discount') > 0 AS created;
SELECT ecpower.create_segment_from_template('first_order_shop_app', 'acq-shop-app') > 0 AS created;
SELECT ecpower.create_segment_from_template('bought_then_nothing', 'then-nothing',
    '{"product_ids": [7000000000001, 7000000000099], "days": 60}') > 0 AS created;
CALL ecpower.refresh('2025-06-30 12:00+00');
SELECT count(*) > 0 AS has_members FROM ecpower.segment_members('two-plus');
-- template members against plain SQL (mismatches, then members)
SELECT acq_t.prepare('product');
SELECT t.slug,
       (SELECT count(*) FROM ((SELECT ecpower.segment_members(t.slug) EXCEPT SELECT unnest(t.want))
                              UNION ALL
                              (SELECT unnest(t.want) EXCEPT SELECT ecpower.segment_members(t.slug))) x)
           AS mismatches,
       cardinality(t.want) > 0 AS has_members
  FROM (VALUES
    ('acq-discount', ARRAY(SELECT s.customer_id FROM acq_sel s JOIN ecpower.orders o USING (order_id)
                            WHERE s.seq = 1 AND cardinality(o.discount_codes) > 0)),
    ('acq-shop-app', ARRAY(SELECT s.customer_id FROM acq_sel s JOIN ecpower.orders o USING (order_id)
                            WHERE s.seq = 1 AND lower(o.sales_channel) = 'shop_app')),
    ('then-nothing', ARRAY(SELECT s.customer_id FROM acq_sel s
                            WHERE s.seq = s.n AND acq_t.as_of_date() - s.local_date >= 60
                              AND EXISTS (SELECT 1 FROM ecpower.order_lines l
                                           WHERE l.order_id = s.order_id
                                             AND l.product_id IN (7000000000001, 7000000000099))))
  ) AS t (slug, want)
 ORDER BY 1;
-- the report finds values with a CAC, a payback and a gross profit
SELECT count(*) FILTER (WHERE cac IS NOT NULL) > 0 AS cac,
       count(*) FILTER (WHERE payback_days IS NOT NULL) > 0 AS payback,
       count(*) FILTER (WHERE ltv_12m_to_cac IS NOT NULL) > 0 AS ratio
  FROM ecpower.acquisition_report('utm_campaign');
SELECT d AS dimension,
       acq_t.diff(d, NULL, NULL, NULL) AS whole,
       acq_t.diff(d, 'two-plus', '2024-01-01', '2024-12-31') AS segment_period,
       acq_t.diff(d, 'email-first', NULL, '2024-06-30') AS segment_to
  FROM unnest(ARRAY['product', 'product_type', 'product_tag', 'vendor', 'sku',
                    'acquisition_channel', 'referring_site', 'landing_site', 'utm_source',
                    'utm_medium', 'utm_campaign', 'sales_channel', 'order_tag',
                    'discount_code', 'year_month', 'weekday', 'hour', 'customer_tag',
                    'country', 'province', 'city']) d;
-- top keeps the first rows of the full order
SELECT count(*) AS mismatches FROM (
    (SELECT rank, key, customers FROM ecpower.acquisition_report('product', top => 5)
     EXCEPT
     SELECT rank, key, customers FROM ecpower.acquisition_report('product', top => 1000)
      WHERE rank <= 5)) x;
SELECT count(*) AS rows FROM ecpower.acquisition_report('product', top => 5);

DROP SCHEMA acq_t CASCADE;
