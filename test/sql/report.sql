-- Feature reports (README "Feature reports"): ecpower.feature_report against a plain-SQL oracle
-- on a hand-made store (mixed-case values, NULL and empty values, arrays with
-- NULL elements, cancelled orders, orders after as_of, ties on ordered_at).
-- The fixture and oracle functions live in schema public and are reused by
-- report_distribution.sql and report_bought_together.sql.
\i test/fixtures/setup.sql
SET client_min_messages = warning;
DROP FUNCTION IF EXISTS public.report_fixture, public.report_pick, public.report_r,
    public.report_oracle, public.report_carried, public.report_counted,
    public.report_selected, public.report_le, public.report_bitmap,
    public.report_segment, public.report_error;

-- the SQLSTATE and message of a statement's error
CREATE FUNCTION public.report_error(q text) RETURNS text
LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE q;
    RETURN 'no error';
EXCEPTION WHEN OTHERS THEN
    RETURN SQLSTATE || ': ' || SQLERRM;
END
$$;

-- deterministic pseudo-random fixture: r(i, salt) in [0, 1)
CREATE FUNCTION public.report_r(i bigint, salt int) RETURNS float8
LANGUAGE sql IMMUTABLE AS
$$ SELECT ((pg_catalog.hashint8(i * 1000003 + salt)::bigint & 2147483647) % 1000000) / 1000000.0 $$;

CREATE FUNCTION public.report_pick(i bigint, salt int, VARIADIC opts text[]) RETURNS text
LANGUAGE sql IMMUTABLE AS
$$ SELECT opts[1 + floor(public.report_r(i, salt) * cardinality(opts))::int] $$;

CREATE FUNCTION public.report_fixture(ncustomers int, as_of timestamptz) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    UPDATE ecpower.settings SET store_timezone = 'Asia/Tokyo';
    INSERT INTO ecpower.products (product_id, title, product_type, vendor, tags)
    SELECT p, 'Product ' || p,
           public.report_pick(p, 1, 'Tea', 'tea', 'Coffee', 'COFFEE', 'Snack', '', NULL),
           public.report_pick(p, 2, 'Acme', 'acme', 'Blue Leaf', NULL),
           CASE WHEN p % 5 = 0 THEN '{}'::text[]
                ELSE ARRAY[public.report_pick(p, 3, 'organic', 'Organic', 'gift', 'sale', ''),
                           public.report_pick(p, 4, 'new', 'gift', 'GIFT', NULL)] END
      FROM generate_series(1, 14) p;
    INSERT INTO ecpower.customers (customer_id, email, tags, country, province, city)
    SELECT 5000 + c, 'c' || c || '@example.com',
           CASE WHEN c % 4 = 0 THEN '{}'::text[]
                ELSE ARRAY[public.report_pick(c, 5, 'vip', 'VIP', 'wholesale', 'line', ''),
                           public.report_pick(c, 6, 'newsletter', 'vip', NULL)] END,
           public.report_pick(c, 7, 'JP', 'jp', 'US', 'Japan', '', NULL),
           public.report_pick(c, 8, 'Tokyo', 'tokyo', 'Osaka', 'CA', NULL),
           public.report_pick(c, 9, 'Shibuya', 'Minato', 'minato', 'Kita', '', NULL)
      FROM generate_series(1, ncustomers) c;
    -- orders: 0..6 per customer; ids not in time order; some share ordered_at
    INSERT INTO ecpower.orders (order_id, customer_id, ordered_at, total, refunded,
        discount_codes, tags, sales_channel, acquisition_channel, referring_site,
        landing_site, utm_source, utm_medium, utm_campaign, is_subscription, cancelled_at)
    SELECT 900000 - (c * 10 + k) * 7 % 1000 * 100 - c * 10 - k,
           5000 + c,
           CASE WHEN k IN (0, 1) AND c % 17 = 0
                THEN timestamptz '2023-06-01 12:00+09'
                WHEN k = 2 AND c % 9 = 0
                THEN timestamptz '2023-01-01 00:00+09' + (c % 20) * interval '1 day'
                WHEN k = 3 AND c % 11 = 0 THEN as_of
                WHEN k = 4 AND c % 13 = 0 THEN as_of + interval '1 second'
                WHEN k = 1 AND c % 7 = 0
                THEN timestamptz '2024-03-31 23:59:59+09'
                ELSE timestamptz '2023-01-01 00:00+09'
                     + floor(public.report_r(c * 10 + k, 10) * 730) * interval '1 day'
                     + floor(public.report_r(c * 10 + k, 11) * 24) * interval '1 hour' END,
           round((public.report_r(c * 10 + k, 12) * 300)::numeric, 2),
           CASE WHEN public.report_r(c * 10 + k, 13) < 0.1 THEN 5.50 ELSE 0 END,
           CASE WHEN public.report_r(c * 10 + k, 14) < 0.5 THEN '{}'::text[]
                ELSE ARRAY[public.report_pick(c * 10 + k, 15, 'WELCOME10', 'welcome10', 'SPRING', '')]
                     || CASE WHEN c % 3 = 0 THEN ARRAY['SPRING', NULL] ELSE '{}'::text[] END END,
           ARRAY[public.report_pick(c * 10 + k, 16, 'subscription', 'Subscription', 'gift', '')],
           public.report_pick(c * 10 + k, 17, 'web', 'Web', 'pos', 'line', NULL),
           public.report_pick(c * 10 + k, 18, 'Google', 'google', 'Instagram', 'direct', '', NULL),
           public.report_pick(c * 10 + k, 19, 'https://www.google.com', 'https://t.co', NULL),
           public.report_pick(c * 10 + k, 20, '/', '/products/tea', '/sale', NULL),
           public.report_pick(c * 10 + k, 21, 'google', 'Google', 'newsletter', NULL, ''),
           public.report_pick(c * 10 + k, 22, 'cpc', 'email', 'social', NULL),
           public.report_pick(c * 10 + k, 23, 'spring_sale', 'Spring_Sale', 'bf2023', NULL),
           public.report_r(c * 10 + k, 24) < 0.2,
           CASE WHEN public.report_r(c * 10 + k, 25) < 0.08 THEN as_of - interval '1 day' END
      FROM generate_series(1, ncustomers) c,
           generate_series(0, 6) k
     WHERE k < floor(public.report_r(c, 26) * 6.5)::int;
    INSERT INTO ecpower.order_lines (order_id, line_no, product_id, variant_id, sku, quantity, price)
    SELECT o.order_id, l,
           CASE WHEN public.report_r(o.order_id * 10 + l, 30) < 0.05 THEN NULL
                ELSE 1 + floor(public.report_r(o.order_id * 10 + l, 31) * 14)::int END,
           NULL,
           public.report_pick(o.order_id * 10 + l, 32, 'SKU-A', 'sku-a', 'SKU-B', 'SKU-C', '', NULL),
           1 + floor(public.report_r(o.order_id * 10 + l, 33) * 3)::int,
           9.99
      FROM ecpower.orders o, generate_series(1, 4) l
     WHERE l <= 1 + floor(public.report_r(o.order_id, 34) * 4)::int;
    -- a refresh run the reports answer as of (until the engine's refresh exists)
    INSERT INTO ecpower.refresh_runs (as_of, as_of_date, finished_at, status, segments, customers)
    VALUES (as_of, (as_of AT TIME ZONE 'Asia/Tokyo')::date, as_of, 'succeeded', 0, ncustomers);
    UPDATE ecpower.refresh_state
       SET current_run_id = (SELECT max(run_id) FROM ecpower.refresh_runs);
END
$$;

-- plain-SQL oracle: the selected orders of a feature report
CREATE FUNCTION public.report_selected(variant text, p_from date, p_to date)
RETURNS TABLE (order_id bigint, customer_id bigint, local_ts timestamp, n bigint, seq bigint)
LANGUAGE sql STABLE AS $$
    WITH run AS (SELECT r.as_of FROM ecpower.refresh_state s
                   JOIN ecpower.refresh_runs r ON r.run_id = s.current_run_id),
    counted AS (
        SELECT o.order_id, o.customer_id, o.ordered_at AT TIME ZONE st.store_timezone AS local_ts,
               count(*) OVER (PARTITION BY o.customer_id) AS n,
               row_number() OVER (PARTITION BY o.customer_id ORDER BY o.ordered_at, o.order_id) AS seq
          FROM ecpower.orders o, run, ecpower.settings st
         WHERE o.cancelled_at IS NULL AND o.ordered_at <= run.as_of)
    SELECT * FROM counted
     WHERE CASE variant WHEN 'all' THEN true WHEN 'first' THEN seq = 1
                        WHEN 'second' THEN seq = 2 WHEN 'repeat' THEN seq >= 2
                        WHEN 'latest' THEN seq = n END
       AND (p_from IS NULL OR local_ts::date >= p_from)
       AND (p_to IS NULL OR local_ts::date <= p_to)
$$;

-- counted orders per customer (denominators)
CREATE FUNCTION public.report_counted()
RETURNS TABLE (customer_id bigint, n bigint)
LANGUAGE sql STABLE AS $$
    SELECT customer_id, max(n) FROM public.report_selected('all', NULL, NULL) GROUP BY 1
$$;

-- the values each selected order carries: (customer, exact value)
CREATE FUNCTION public.report_carried(dimension text, variant text, p_from date, p_to date)
RETURNS TABLE (customer_id bigint, val text)
LANGUAGE plpgsql VOLATILE AS $$
BEGIN
    CREATE TEMP TABLE IF NOT EXISTS report_sel (order_id bigint, customer_id bigint,
        local_ts timestamp, n bigint, seq bigint);
    TRUNCATE report_sel;
    INSERT INTO report_sel SELECT * FROM public.report_selected(variant, p_from, p_to);
    IF dimension = 'product' THEN
        RETURN QUERY SELECT s.customer_id, l.product_id::text
          FROM report_sel s JOIN ecpower.order_lines l USING (order_id);
    ELSIF dimension IN ('product_type', 'vendor') THEN
        RETURN QUERY EXECUTE format(
            'SELECT s.customer_id, p.%I FROM report_sel s JOIN ecpower.order_lines l USING (order_id)
               JOIN ecpower.products p USING (product_id)', dimension);
    ELSIF dimension = 'product_tag' THEN
        RETURN QUERY SELECT s.customer_id, t
          FROM report_sel s JOIN ecpower.order_lines l USING (order_id)
          JOIN ecpower.products p USING (product_id), unnest(p.tags) t;
    ELSIF dimension = 'sku' THEN
        RETURN QUERY SELECT s.customer_id, l.sku
          FROM report_sel s JOIN ecpower.order_lines l USING (order_id);
    ELSIF dimension IN ('acquisition_channel', 'referring_site', 'landing_site', 'utm_source',
                        'utm_medium', 'utm_campaign', 'sales_channel') THEN
        RETURN QUERY EXECUTE format(
            'SELECT s.customer_id, o.%I FROM report_sel s JOIN ecpower.orders o USING (order_id)',
            dimension);
    ELSIF dimension IN ('order_tag', 'discount_code') THEN
        RETURN QUERY EXECUTE format(
            'SELECT s.customer_id, t FROM report_sel s JOIN ecpower.orders o USING (order_id), unnest(o.%I) t',
            CASE dimension WHEN 'order_tag' THEN 'tags' ELSE 'discount_codes' END);
    ELSIF dimension = 'year_month' THEN
        RETURN QUERY SELECT s.customer_id, to_char(s.local_ts, 'YYYY-MM') FROM report_sel s;
    ELSIF dimension = 'weekday' THEN
        RETURN QUERY SELECT s.customer_id, extract(isodow FROM s.local_ts)::int::text FROM report_sel s;
    ELSIF dimension = 'hour' THEN
        RETURN QUERY SELECT s.customer_id, extract(hour FROM s.local_ts)::int::text FROM report_sel s;
    ELSIF dimension = 'customer_tag' THEN
        RETURN QUERY SELECT DISTINCT s.customer_id, t
          FROM report_sel s JOIN ecpower.customers c USING (customer_id), unnest(c.tags) t;
    ELSIF dimension IN ('country', 'province', 'city') THEN
        RETURN QUERY EXECUTE format(
            'SELECT s.customer_id, c.%I FROM report_sel s JOIN ecpower.customers c USING (customer_id)',
            dimension);
    ELSIF dimension = 'bought_together' THEN
        RETURN QUERY SELECT s.customer_id, l.product_id::text
          FROM report_sel s JOIN ecpower.order_lines l USING (order_id)
         WHERE (SELECT count(DISTINCT l2.product_id) FROM ecpower.order_lines l2
                 WHERE l2.order_id = s.order_id) >= 2
           AND l.product_id IS NOT NULL;
    END IF;
END
$$;

-- the feature report in plain SQL (members NULL = the whole store)
CREATE FUNCTION public.report_oracle(members bigint[], dimension text, variant text,
                                     p_from date, p_to date)
RETURNS TABLE (key text, label text, customers bigint, share numeric,
               store_share numeric, lift numeric)
LANGUAGE sql VOLATILE AS $$
    WITH c AS (
        SELECT customer_id, val,
               CASE WHEN dimension IN ('product', 'bought_together', 'year_month', 'weekday', 'hour')
                    THEN val ELSE lower(val) END AS key
          FROM public.report_carried(dimension, variant, p_from, p_to)
         WHERE val IS NOT NULL AND val <> ''),
    n AS (SELECT * FROM public.report_counted()),
    den AS (
        SELECT CASE WHEN variant IN ('second', 'repeat')
                    THEN (SELECT count(*) FROM n WHERE n.n >= 2
                            AND (members IS NULL OR n.customer_id = ANY (members)))
                    WHEN members IS NULL THEN (SELECT count(*) FROM n)
                    ELSE cardinality(members) END AS seg,
               CASE WHEN variant IN ('second', 'repeat')
                    THEN (SELECT count(*) FROM n WHERE n.n >= 2)
                    ELSE (SELECT count(*) FROM n) END AS store),
    seg AS (SELECT c.key, count(DISTINCT c.customer_id) AS n FROM c
             WHERE members IS NULL OR c.customer_id = ANY (members) GROUP BY 1),
    st AS (SELECT c.key, count(DISTINCT c.customer_id) AS n FROM c GROUP BY 1),
    lab AS (SELECT DISTINCT ON (x.key) x.key, x.val FROM
              (SELECT c.key, c.val, count(DISTINCT c.customer_id) AS n FROM c GROUP BY 1, 2) x
             ORDER BY x.key, x.n DESC, x.val COLLATE "C")
    SELECT seg.key,
           CASE WHEN dimension IN ('product', 'bought_together')
                THEN (SELECT p.title FROM ecpower.products p WHERE p.product_id = seg.key::bigint)
                WHEN dimension = 'weekday'
                THEN (ARRAY['Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun'])[seg.key::int]
                ELSE lab.val END,
           seg.n,
           seg.n::numeric / NULLIF(den.seg, 0),
           st.n::numeric / NULLIF(den.store, 0),
           (seg.n::numeric / NULLIF(den.seg, 0)) / (st.n::numeric / NULLIF(den.store, 0))
      FROM seg JOIN st USING (key) CROSS JOIN den LEFT JOIN lab USING (key)
     WHERE seg.n > 0
$$;

-- a membership bitmap as src/segments/membership.c stores it: version byte 1, then the
-- portable roaring format with one array container (keys < 65536, <= 4096 of them)
CREATE FUNCTION public.report_le(v bigint, nbytes int) RETURNS bytea
LANGUAGE sql IMMUTABLE AS $$
    SELECT string_agg(decode(lpad(to_hex((v >> (8 * i)) & 255), 2, '0'), 'hex'), ''::bytea ORDER BY i)
      FROM generate_series(0, nbytes - 1) i
$$;
CREATE FUNCTION public.report_bitmap(keys int[]) RETURNS bytea
LANGUAGE sql IMMUTABLE AS $$
    SELECT '\x01'::bytea || public.report_le(12346, 4) || public.report_le(1, 4)
           || public.report_le(0, 2) || public.report_le(count(*) - 1, 2)
           || public.report_le(16, 4)
           || string_agg(public.report_le(k, 2), ''::bytea ORDER BY k)
      FROM (SELECT DISTINCT unnest(keys) AS k) s
$$;
-- a segment whose members on the current run's day are the given customers
CREATE FUNCTION public.report_segment(slug text, customer_ids bigint[]) RETURNS void
LANGUAGE sql AS $$
    INSERT INTO ecpower.segments (slug, name, definition)
    VALUES (slug, slug, '{"customer_tag": ["test"]}');
    INSERT INTO ecpower.membership (segment_id, day, run_id, member_count, kind, members)
    SELECT s.segment_id, r.as_of_date, r.run_id, cardinality(customer_ids), 'f',
           public.report_bitmap(ARRAY(SELECT ckey FROM ecpower.customers
                                       WHERE customer_id = ANY (customer_ids)))
      FROM ecpower.segments s, ecpower.refresh_state st
      JOIN ecpower.refresh_runs r ON r.run_id = st.current_run_id
     WHERE s.slug = report_segment.slug;
$$;

-- before any refresh: a clear error
SELECT public.report_error($$SELECT * FROM ecpower.feature_report(NULL, 'product')$$);

SELECT public.report_fixture(300, '2024-12-31 15:00+00');
SELECT public.report_segment('thirds',
    ARRAY(SELECT customer_id FROM ecpower.customers WHERE customer_id % 3 = 0));
SELECT count(*) AS members,
       count(*) FILTER (WHERE NOT EXISTS (SELECT 1 FROM ecpower.orders o
                                           WHERE o.customer_id = m)) AS without_orders
  FROM ecpower.segment_members('thirds') m;

-- bad arguments: 22023 naming the value; unknown segment: 42704
SELECT public.report_error(q) FROM (VALUES
    ($$SELECT * FROM ecpower.feature_report(NULL, 'colour')$$),
    ($$SELECT * FROM ecpower.feature_report(NULL, NULL)$$),
    ($$SELECT * FROM ecpower.feature_report(NULL, 'product', 'third')$$),
    ($$SELECT * FROM ecpower.feature_report(NULL, 'product', NULL)$$),
    ($$SELECT * FROM ecpower.feature_report(NULL, 'product', 'all', NULL, NULL, 0)$$),
    ($$SELECT * FROM ecpower.feature_report(NULL, 'product', 'all', NULL, NULL, NULL)$$),
    ($$SELECT * FROM ecpower.feature_report(NULL, 'product', 'all', '2024-02-01', '2024-01-31')$$),
    ($$SELECT * FROM ecpower.feature_report(NULL, 'product', 'all', '-infinity', NULL)$$),
    ($$SELECT * FROM ecpower.feature_report('nosuch', 'product')$$),
    ($$SELECT * FROM ecpower.feature_report('nosuch', 'colour')$$)) t(q);

-- a small readable report: channels are grouped case-insensitively
-- ('Google' and 'google' are one key); the label is the spelling most
-- customers carry
SELECT acquisition_channel, count(DISTINCT customer_id) AS customers
  FROM ecpower.orders WHERE cancelled_at IS NULL AND ordered_at <= '2024-12-31 15:00+00'
 GROUP BY 1 ORDER BY acquisition_channel COLLATE "C";
SELECT * FROM ecpower.feature_report(NULL, 'acquisition_channel');
SELECT rank, key, label, customers, round(share, 4) AS share,
       round(store_share, 4) AS store_share, round(lift, 4) AS lift
  FROM ecpower.feature_report('thirds', 'weekday', 'first', top => 3);
SELECT rank, key, label, customers
  FROM ecpower.feature_report(NULL, 'country', ascending => true);

-- period edges are inclusive store-local dates: orders at 23:59:59 Tokyo
-- time on 2024-03-31 (14:59:59 UTC) count on the 31st, not on April 1st
SELECT (SELECT customers FROM ecpower.feature_report(NULL, 'year_month', 'all',
                                                     '2024-03-31', '2024-03-31')) AS report_31st,
       count(DISTINCT customer_id) AS plain_31st,
       count(DISTINCT customer_id) FILTER (WHERE ordered_at = '2024-03-31 23:59:59+09') AS at_235959,
       (SELECT count(*) FROM ecpower.feature_report(NULL, 'year_month', 'all',
                                                     '2024-04-01', '2024-04-01')
         WHERE key = '2024-03') AS march_on_april_1st
  FROM ecpower.orders
 WHERE cancelled_at IS NULL
   AND (ordered_at AT TIME ZONE 'Asia/Tokyo')::date = '2024-03-31';

CREATE TEMP TABLE dims AS
SELECT unnest(ARRAY['product', 'product_type', 'product_tag', 'vendor', 'sku',
    'acquisition_channel', 'referring_site', 'landing_site', 'utm_source', 'utm_medium',
    'utm_campaign', 'sales_channel', 'order_tag', 'discount_code', 'year_month', 'weekday',
    'hour', 'customer_tag', 'country', 'province', 'city', 'bought_together']) AS d;
CREATE TEMP TABLE variants AS
SELECT unnest(ARRAY['all', 'first', 'second', 'repeat', 'latest']) AS v;
CREATE TEMP TABLE periods (f date, t date);
INSERT INTO periods VALUES (NULL, NULL), ('2024-01-01', '2024-03-31'), ('2024-06-01', NULL);

-- every dimension x variant has values on this store (the checks below are not vacuous)
SELECT count(*) AS combinations, min(n) AS fewest_values
  FROM (SELECT d, v, (SELECT count(*) FROM ecpower.feature_report(NULL, d, v, NULL, NULL, 100000)) AS n
          FROM dims, variants) s;

-- the whole store: every dimension x variant x period against the oracle
SELECT d, v, f, t, side, key, label, customers, share, store_share, lift
  FROM dims, variants, periods,
  LATERAL (
    (SELECT 'report' AS side, key, label, customers, share, store_share, lift
       FROM ecpower.feature_report(NULL, d, v, f, t, 100000)
     EXCEPT
     SELECT 'report', * FROM public.report_oracle(NULL, d, v, f, t))
    UNION ALL
    (SELECT 'oracle', * FROM public.report_oracle(NULL, d, v, f, t)
     EXCEPT
     SELECT 'oracle', key, label, customers, share, store_share, lift
       FROM ecpower.feature_report(NULL, d, v, f, t, 100000))) x
 ORDER BY d, v, f, t, side, key COLLATE "C";

-- a segment (members without counted orders count in the denominator)
CREATE TEMP TABLE thirds AS SELECT ARRAY(SELECT ecpower.segment_members('thirds')) AS m;
SELECT d, v, f, t, side, key, label, customers, share, store_share, lift
  FROM dims, variants, periods, thirds,
  LATERAL (
    (SELECT 'report' AS side, key, label, customers, share, store_share, lift
       FROM ecpower.feature_report('thirds', d, v, f, t, 100000)
     EXCEPT
     SELECT 'report', * FROM public.report_oracle(thirds.m, d, v, f, t))
    UNION ALL
    (SELECT 'oracle', * FROM public.report_oracle(thirds.m, d, v, f, t)
     EXCEPT
     SELECT 'oracle', key, label, customers, share, store_share, lift
       FROM ecpower.feature_report('thirds', d, v, f, t, 100000))) x
 WHERE f IS NULL OR t IS NOT NULL
 ORDER BY d, v, f, t, side, key COLLATE "C";

-- rank: customers descending (ascending => true: ascending), then key: as a
-- number for product ids, months, weekdays and hours, in byte order for
-- text values; top cuts the list
SELECT d, v, a, rank, key, customers
  FROM dims, variants, (VALUES (false), (true)) s(a),
  LATERAL (SELECT r.rank, r.key, r.customers,
                  row_number() OVER (ORDER BY CASE WHEN a THEN r.customers ELSE -r.customers END,
                                              CASE WHEN d IN ('product', 'bought_together', 'weekday', 'hour')
                                                   THEN r.key::numeric END,
                                              r.key COLLATE "C") AS expected
             FROM ecpower.feature_report('thirds', d, v, NULL, NULL, 100000, a) r) x
 WHERE rank <> expected;
SELECT d, v, a
  FROM dims, variants, (VALUES (false), (true)) s(a)
 WHERE ARRAY(SELECT key FROM ecpower.feature_report(NULL, d, v, NULL, NULL, 3, a))
       IS DISTINCT FROM
       ARRAY(SELECT key FROM ecpower.feature_report(NULL, d, v, NULL, NULL, 100000, a) LIMIT 3);

-- NULL and empty values are never reported
SELECT d, v, key FROM dims, variants,
       LATERAL ecpower.feature_report(NULL, d, v, NULL, NULL, 100000) r
 WHERE key IS NULL OR key = '';

-- period bounds far from the orders are the same as no bounds
SELECT d FROM dims
 WHERE ARRAY(SELECT (key, customers)::text
               FROM ecpower.feature_report(NULL, d, 'all', '0001-01-01', '9999-12-31', 100000))
       IS DISTINCT FROM
       ARRAY(SELECT (key, customers)::text
               FROM ecpower.feature_report(NULL, d, 'all', NULL, NULL, 100000));
