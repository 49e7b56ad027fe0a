-- The timeline's values (docs/internals.md "The timeline"): reports read the
-- orders from the order cache and what they carry from ecpower.timeline_values;
-- orders changed since the refresh come from the heap.  Every answer must
-- equal the one a scan of the tables gives.
\i test/fixtures/setup.sql
SET client_min_messages = warning;
SELECT customer_rows > 0 AS loaded FROM ecpower.generate_demo_store(1500, 7);
UPDATE ecpower.settings SET store_timezone = 'Asia/Tokyo';
UPDATE ecpower.order_lines SET unit_cost = round(price * 0.4, 2) WHERE line_no % 5 <> 0;
SELECT ecpower.create_segment('repeaters', 'Two orders or more',
    '{"orders": {}, "count": {"gte": 2}}') > 0 AS created;
CALL ecpower.refresh('2025-06-30 12:00+00');

-- the refresh wrote the values for the cache it wrote
SELECT s.format = 1 AS format, s.entries > 0 AS entries,
       s.lines = (SELECT count(*) FROM ecpower.order_lines) AS every_line,
       s.cache_built_at = c.built_at AS same_build
  FROM ecpower.timeline_state s, ecpower.order_cache_state c;
SELECT count(DISTINCT grp) AS groups FROM ecpower.timeline_values;

-- every report, every dimension and variant, for a segment and the store
CREATE FUNCTION public.tv_answers() RETURNS TABLE (call text, answer text)
LANGUAGE sql AS $$
    SELECT format('feature_report(%L,%L,%L)', s, d, v),
           (SELECT string_agg(r::text, ';' ORDER BY r.rank)
              FROM ecpower.feature_report(s, d, v, top => 25) r)
      FROM unnest(ARRAY[NULL, 'repeaters']) s,
           unnest(ARRAY['product', 'product_type', 'product_tag', 'vendor', 'sku',
               'acquisition_channel', 'referring_site', 'landing_site', 'utm_source',
               'utm_medium', 'utm_campaign', 'sales_channel', 'order_tag', 'discount_code',
               'year_month', 'weekday', 'hour', 'customer_tag', 'country', 'bought_together']) d,
           unnest(ARRAY['all', 'first', 'repeat', 'latest']) v
    UNION ALL
    SELECT format('feature_report period %L %L', s, d),
           (SELECT string_agg(r::text, ';' ORDER BY r.rank)
              FROM ecpower.feature_report(s, d, 'all', '2024-01-01', '2024-12-31', 25) r)
      FROM unnest(ARRAY[NULL, 'repeaters']) s,
           unnest(ARRAY['product', 'sku', 'utm_campaign', 'order_tag', 'discount_code']) d
    UNION ALL
    SELECT format('distribution(%L,%L,%L)', s, m, v),
           (SELECT string_agg(r::text, ';' ORDER BY r.bin)
              FROM ecpower.distribution(s, m, v) r)
      FROM unnest(ARRAY[NULL, 'repeaters']) s,
           unnest(ARRAY['amount', 'order_count', 'items', 'interval_days', 'lifetime_days']) m,
           unnest(ARRAY['all', 'second', 'latest']) v
    UNION ALL
    SELECT format('bought_together(%L,%L)', s, v),
           (SELECT string_agg(r::text, ';' ORDER BY r.rank)
              FROM ecpower.bought_together(s, 15, v) r)
      FROM unnest(ARRAY[NULL, 'repeaters']) s, unnest(ARRAY['all', 'repeat']) v
$$;

CREATE TEMP TABLE fresh AS SELECT * FROM public.tv_answers();

-- changes after the refresh: reports answer as of its as_of, with the
-- orders as they are now
UPDATE ecpower.orders SET tags = tags || '{late-tag}', utm_campaign = 'late-campaign'
 WHERE order_id IN (SELECT order_id FROM ecpower.orders ORDER BY order_id LIMIT 40);
UPDATE ecpower.orders SET refunded = total WHERE order_id IN
    (SELECT order_id FROM ecpower.orders ORDER BY order_id DESC LIMIT 25);
UPDATE ecpower.orders SET cancelled_at = ordered_at + interval '1 day' WHERE order_id IN
    (SELECT order_id FROM ecpower.orders ORDER BY order_id LIMIT 30 OFFSET 100);
UPDATE ecpower.order_lines SET quantity = quantity + 2, unit_cost = NULL, sku = 'LATE-SKU'
 WHERE order_id IN (SELECT order_id FROM ecpower.orders ORDER BY order_id LIMIT 30 OFFSET 200);
DELETE FROM ecpower.order_lines WHERE order_id IN
    (SELECT order_id FROM ecpower.orders ORDER BY order_id LIMIT 10 OFFSET 300) AND line_no > 1;
INSERT INTO ecpower.orders (order_id, customer_id, ordered_at, total, discount_codes, utm_campaign)
SELECT 9000000000 + c.customer_id, c.customer_id, '2025-03-01 10:00+00', 50, '{LATECODE}', 'late-campaign'
  FROM ecpower.customers c ORDER BY c.customer_id LIMIT 20;
INSERT INTO ecpower.order_lines (order_id, line_no, product_id, sku, quantity, price, unit_cost)
SELECT 9000000000 + c.customer_id, 1, (SELECT min(product_id) FROM ecpower.products), 'LATE-SKU', 3, 50, 10
  FROM ecpower.customers c ORDER BY c.customer_id LIMIT 20;
SELECT count(*) > 0 AS logged, bool_and(order_id IS NOT NULL) AS no_rebuild
  FROM ecpower.order_changes;

CREATE TEMP TABLE overlaid AS SELECT * FROM public.tv_answers();
-- the same reports from a scan of the tables
SELECT ecpower.reset_order_cache();
CREATE TEMP TABLE scanned AS SELECT * FROM public.tv_answers();
SELECT count(*) AS calls,
       count(*) FILTER (WHERE o.answer IS DISTINCT FROM s.answer) AS differences,
       count(*) FILTER (WHERE f.answer IS DISTINCT FROM s.answer) > 0 AS changed_by_the_edits
  FROM overlaid o JOIN scanned s USING (call) JOIN fresh f USING (call);
SELECT o.call, o.answer, s.answer FROM overlaid o JOIN scanned s USING (call)
 WHERE o.answer IS DISTINCT FROM s.answer LIMIT 3;

-- and from the values the next refresh writes
CALL ecpower.refresh('2025-06-30 12:00+00');
CREATE TEMP TABLE rebuilt AS SELECT * FROM public.tv_answers();
SELECT ecpower.reset_order_cache();
CREATE TEMP TABLE rescanned AS SELECT * FROM public.tv_answers();
SELECT count(*) FILTER (WHERE r.answer IS DISTINCT FROM s.answer) AS differences
  FROM rebuilt r JOIN rescanned s USING (call);
CALL ecpower.refresh('2025-06-30 12:00+00');

-- a damaged chunk is refused with XX001, never read as data
BEGIN;
UPDATE ecpower.timeline_values SET data = overlay(data placing '\xffffff7f' from 30 for 4)
 WHERE grp = 0 AND chunk = 0;
SELECT count(*) FROM ecpower.feature_report(NULL, 'product');
ROLLBACK;
BEGIN;
UPDATE ecpower.timeline_values SET data = substring(data from 1 for 100) WHERE grp = 6 AND chunk = 0;
SELECT count(*) FROM ecpower.feature_report(NULL, 'utm_campaign');
ROLLBACK;
BEGIN;
DELETE FROM ecpower.timeline_dict WHERE grp = 0 AND id = 0;
SELECT count(*) FROM ecpower.feature_report(NULL, 'sku');
ROLLBACK;
-- every reader still answers after the damage is gone
SELECT count(*) > 0 AS answers FROM ecpower.feature_report(NULL, 'product');

DROP FUNCTION public.tv_answers();
