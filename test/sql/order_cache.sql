-- The refresh's order cache (README "Performance"): a refresh that reads
-- the cache and re-reads only the logged orders gives exactly the
-- membership and RFM of a refresh that reads the whole store, after
-- inserts, updates, cancellations, deletes, line changes, reassigned
-- orders, orders dated after as_of, product attribute changes, a new time
-- zone and definition changes.  The oracle is the same refresh run from
-- scratch (ecpower.reset_order_cache()), whose own correctness the segment
-- oracle tests establish.
\i test/fixtures/setup.sql
SET DateStyle = 'ISO, YMD';
\set SHOW_CONTEXT never

SELECT customer_rows, order_rows FROM ecpower.generate_demo_store(3000, 7);

-- one segment per kind of cached filter bit, and a few that are not cached
SELECT count(ecpower.create_segment(slug, slug, def::jsonb)) FROM (VALUES
  ('any-order', '{"orders": {}}'),
  ('repeat', '{"orders": {}, "count": {"gte": 2}}'),
  ('first-coffee', '{"orders": {"nth": "first", "product_type": ["coffee"]}}'),
  ('vendor', '{"orders": {"vendor": ["juniper lane"]}}'),
  ('product-tag', '{"orders": {"product_tag": ["organic", "vegan"]}}'),
  ('product-id', '{"orders": {"product_id": [7000000000011, 7000000000012, 7000000000013, 7000000000014]}}'),
  ('sku', '{"orders": {"sku": ["SUP-0015-30CT", "SUP-0029-90CT"]}}'),
  ('title', '{"orders": {"product_title": ["x"]}, "count": {"eq": 0}}'),
  ('channel', '{"orders": {"sales_channel": ["shop_app"]}, "count": {"gte": 1}}'),
  ('utm', '{"orders": {"utm_source": ["klaviyo"], "utm_medium": ["email"]}}'),
  ('code', '{"orders": {"discount_code": ["welcome10"]}}'),
  ('order-tag', '{"orders": {"order_tag": ["gift", "influencer"]}}'),
  ('discounted', '{"orders": {"has_discount": true}, "count": {"gte": 2}}'),
  ('subscriber', '{"orders": {"subscription": true}}'),
  ('big-order', '{"orders": {"total": {"gte": 150}}}'),
  ('recent', '{"orders": {"period": {"last_days": 60}}}'),
  ('window', '{"orders": {"period": {"days_ago": [30, 400]}, "sales_channel": ["web"]}, "count": {"gte": 2}}'),
  ('items', '{"metric": "items", "gte": 6}'),
  ('spent', '{"metric": "total_spent", "gte": 300}'),
  ('lapsed', '{"metric": "days_since_last_order", "gt": 180}'),
  ('interval', '{"metric": "avg_interval_days", "lt": 60}'),
  ('latest-web', '{"orders": {"nth": "latest", "sales_channel": ["web"]}}'),
  ('champions', '{"rfm_group": "champions"}'),
  ('rfm', '{"rfm": {"r": [4, 5], "f": [2, 5]}}'),
  ('us-newsletter', '{"all": [{"country": ["us"]}, {"customer_tag": ["newsletter"]}, {"segment": "repeat"}]}')
) AS d(slug, def);

CREATE TEMP TABLE result (pass text, slug text, members bigint[]);
CREATE TEMP TABLE rfm_result (pass text, r text);
CREATE FUNCTION pg_temp.keep(p_pass text) RETURNS void LANGUAGE sql AS $$
  INSERT INTO result
  SELECT p_pass, s.slug, ARRAY(SELECT m FROM ecpower.segment_members(s.slug) AS m ORDER BY m)
    FROM ecpower.segments AS s;
  INSERT INTO rfm_result SELECT p_pass, r::text FROM ecpower.customer_rfm AS r;
$$;
-- segments and RFM rows of pass a that differ in pass b (0 rows: equal)
CREATE FUNCTION pg_temp.diff(a text, b text) RETURNS TABLE (what text, n bigint) LANGUAGE sql AS $$
  SELECT 'segments', count(*) FROM
    ((SELECT slug, members FROM result WHERE pass = a EXCEPT SELECT slug, members FROM result WHERE pass = b)
     UNION ALL
     (SELECT slug, members FROM result WHERE pass = b EXCEPT SELECT slug, members FROM result WHERE pass = a)) x
  HAVING count(*) > 0
  UNION ALL
  SELECT 'rfm', count(*) FROM
    ((SELECT r FROM rfm_result WHERE pass = a EXCEPT ALL SELECT r FROM rfm_result WHERE pass = b)
     UNION ALL
     (SELECT r FROM rfm_result WHERE pass = b EXCEPT ALL SELECT r FROM rfm_result WHERE pass = a)) y
  HAVING count(*) > 0;
$$;
-- was the last refresh incremental?  (the cache was not rewritten and
-- holds stale orders, or had nothing to do)
CREATE FUNCTION pg_temp.cache() RETURNS TABLE (orders bigint, stale bigint, changes bigint) LANGUAGE sql AS $$
  SELECT s.orders, COALESCE(octet_length(s.stale) / 8, 0),
         (SELECT count(*) FROM ecpower.order_changes)
    FROM ecpower.order_cache_state AS s;
$$;

-- the demo load asked for a rebuild; the first refresh builds the cache
SELECT count(*) AS rebuild_markers FROM ecpower.order_changes WHERE order_id IS NULL AND ckey IS NULL;
CALL ecpower.refresh('2025-06-30 12:00:00+00');
SELECT orders = (SELECT count(*) FROM ecpower.orders WHERE cancelled_at IS NULL) AS all_uncancelled, stale, changes
  FROM pg_temp.cache();
SELECT pg_temp.keep('built');

-- a second refresh from the cache, nothing changed: same result
CALL ecpower.refresh('2025-06-30 12:00:00+00');
SELECT pg_temp.keep('cached');
SELECT * FROM pg_temp.diff('built', 'cached');

-- a day of changes, the way a nightly load makes them
BEGIN;
-- new orders (with lines) for existing customers, on the next day and one
-- after the next as_of (it must not count yet)
INSERT INTO ecpower.orders (order_id, customer_id, ordered_at, total, refunded, discount_codes,
                            tags, sales_channel, utm_source, utm_medium, is_subscription)
SELECT o.order_id + 900000, o.customer_id,
       CASE WHEN o.order_id % 5 = 0 THEN timestamptz '2025-07-05 10:00+00' ELSE timestamptz '2025-07-01 10:00+00' END,
       o.total + 10, 0, o.discount_codes, o.tags, 'shop_app', 'klaviyo', 'email', o.is_subscription
  FROM ecpower.orders AS o WHERE o.order_id % 97 = 3;
INSERT INTO ecpower.order_lines (order_id, line_no, product_id, variant_id, sku, quantity, price)
SELECT l.order_id + 900000, l.line_no, l.product_id, l.variant_id, l.sku, l.quantity + 1, l.price
  FROM ecpower.order_lines AS l WHERE l.order_id % 97 = 3;
-- refunds, cancellations, an un-cancellation
UPDATE ecpower.orders SET refunded = total WHERE order_id % 89 = 1 AND cancelled_at IS NULL;
UPDATE ecpower.orders SET cancelled_at = timestamptz '2025-06-01 00:00+00' WHERE order_id % 83 = 2;
UPDATE ecpower.orders SET cancelled_at = NULL
 WHERE order_id = (SELECT min(order_id) FROM ecpower.orders WHERE cancelled_at IS NOT NULL AND order_id % 83 <> 2);
-- orders moved to another customer, dates moved, fields changed
UPDATE ecpower.orders SET customer_id = 6000000000001 + customer_id % 3000 WHERE order_id % 101 = 4;
UPDATE ecpower.orders SET ordered_at = ordered_at - interval '200 days', sales_channel = 'web' WHERE order_id % 103 = 5;
UPDATE ecpower.orders SET discount_codes = '{WELCOME10}', tags = '{gift}' WHERE order_id % 107 = 6;
-- line changes: another product, more quantity, an extra line, a deleted line
UPDATE ecpower.order_lines SET product_id = 7000000000011 WHERE order_id % 109 = 7 AND line_no = 1;
UPDATE ecpower.order_lines SET quantity = quantity + 5 WHERE order_id % 113 = 8;
INSERT INTO ecpower.order_lines (order_id, line_no, product_id, quantity, price)
SELECT o.order_id, 99, 7000000000012, 1, 5 FROM ecpower.orders AS o WHERE o.order_id % 127 = 9;
DELETE FROM ecpower.order_lines WHERE order_id % 131 = 10 AND line_no = 1;
-- deleted orders (their lines go by cascade)
DELETE FROM ecpower.orders WHERE order_id % 137 = 11;
-- a new customer with an order
INSERT INTO ecpower.customers (customer_id, country, tags) VALUES (99999, 'US', '{newsletter}');
INSERT INTO ecpower.orders (order_id, customer_id, ordered_at, total) VALUES
  (999999, 99999, '2025-06-30 08:00+00', 500), (999998, 99999, '2025-06-01 08:00+00', 20);
COMMIT;
SELECT count(*) > 100 AS logged, count(*) FILTER (WHERE order_id IS NULL AND ckey IS NULL) AS rebuild_markers
  FROM ecpower.order_changes;

CALL ecpower.refresh('2025-07-02 12:00:00+00');
SELECT orders = (SELECT orders FROM ecpower.order_cache_state) AS not_rewritten, stale > 100 AS has_stale, changes
  FROM pg_temp.cache();
SELECT pg_temp.keep('nightly');
SELECT ecpower.reset_order_cache();
CALL ecpower.refresh('2025-07-02 12:00:00+00');
SELECT stale, changes FROM pg_temp.cache();
SELECT pg_temp.keep('scratch');
SELECT * FROM pg_temp.diff('nightly', 'scratch');
-- and the changes did change something
SELECT count(*) > 0 AS moved FROM pg_temp.diff('cached', 'scratch');

-- an as_of before the orders dated 2025-07-05 leaves them out, a later one
-- picks them up, both from the cache (with the stale orders of more
-- changes); a refresh only moves forward, so the earlier pass is checked
-- against live evaluation and the later one against a refresh from scratch
UPDATE ecpower.orders SET refunded = 0 WHERE order_id % 89 = 1;
CALL ecpower.refresh('2025-07-03 12:00:00+00');
SELECT stale > 0 AS incremental FROM pg_temp.cache();
SELECT s.slug FROM ecpower.segments s
 WHERE ARRAY(SELECT ecpower.segment_members(s.slug))
       IS DISTINCT FROM ARRAY(SELECT ecpower.evaluate(s.definition, '2025-07-03 12:00:00+00'));
SELECT pg_temp.keep('earlier-cached');
CALL ecpower.refresh('2025-07-06 12:00:00+00');
SELECT stale > 0 AS incremental FROM pg_temp.cache();
SELECT pg_temp.keep('later-cached');
SELECT count(*) > 0 AS moved FROM pg_temp.diff('earlier-cached', 'later-cached');
SELECT ecpower.reset_order_cache();
CALL ecpower.refresh('2025-07-06 12:00:00+00');
SELECT pg_temp.keep('later-scratch');
SELECT * FROM pg_temp.diff('later-cached', 'later-scratch');

-- product attributes feed cached bits: changing one asks for a rebuild;
-- an upsert that rewrites the same values does not
UPDATE ecpower.products SET title = title;
SELECT count(*) AS rebuild_markers FROM ecpower.order_changes WHERE order_id IS NULL AND ckey IS NULL;
UPDATE ecpower.products SET product_type = 'Coffee' WHERE product_id IN (7000000000200, 7000000000201, 7000000000202);
SELECT count(*) AS rebuild_markers FROM ecpower.order_changes WHERE order_id IS NULL AND ckey IS NULL;
CALL ecpower.refresh('2025-07-06 12:00:00+00');
SELECT stale, changes FROM pg_temp.cache();
SELECT pg_temp.keep('product');
SELECT count(*) > 0 AS moved FROM pg_temp.diff('later-scratch', 'product');

-- a new time zone and a changed definition change the tag: rebuilt
UPDATE ecpower.settings SET store_timezone = 'Asia/Tokyo';
UPDATE ecpower.orders SET total = total + 1 WHERE order_id % 139 = 12;
CALL ecpower.refresh('2025-07-06 12:00:00+00');
SELECT stale, changes FROM pg_temp.cache();
SELECT pg_temp.keep('tokyo');
SELECT ecpower.reset_order_cache();
CALL ecpower.refresh('2025-07-06 12:00:00+00');
SELECT pg_temp.keep('tokyo-scratch');
SELECT * FROM pg_temp.diff('tokyo', 'tokyo-scratch');
SELECT ecpower.update_segment('vendor', definition => '{"orders": {"vendor": ["fieldhouse apparel"]}}');
UPDATE ecpower.orders SET total = total + 1 WHERE order_id % 149 = 13;
CALL ecpower.refresh('2025-07-06 12:00:00+00');
SELECT stale, changes FROM pg_temp.cache();
SELECT pg_temp.keep('redefined');
UPDATE ecpower.orders SET total = total + 1 WHERE order_id % 151 = 14;
CALL ecpower.refresh('2025-07-06 12:00:00+00');
SELECT stale > 0 AS incremental FROM pg_temp.cache();
SELECT pg_temp.keep('redefined-cached');
SELECT ecpower.reset_order_cache();
CALL ecpower.refresh('2025-07-06 12:00:00+00');
SELECT pg_temp.keep('redefined-scratch');
SELECT * FROM pg_temp.diff('redefined-cached', 'redefined-scratch');

-- TRUNCATE asks for a rebuild
BEGIN;
TRUNCATE ecpower.order_lines;
SELECT count(*) AS rebuild_markers FROM ecpower.order_changes WHERE order_id IS NULL AND ckey IS NULL;
ROLLBACK;

-- a failed refresh leaves the cache and the change log as they were
UPDATE ecpower.orders SET total = total + 1 WHERE order_id % 157 = 15;
SELECT count(*) AS changes_before FROM ecpower.order_changes;
BEGIN;
SET LOCAL statement_timeout = '1ms';
CALL ecpower.refresh('2025-07-06 12:00:00+00');
ROLLBACK;
SELECT count(*) AS changes_after FROM ecpower.order_changes;
-- (whether the cancelled refresh drew a run id depends on timing)
SELECT setval('ecpower.refresh_runs_run_id_seq', 14) AS last_run_id;

-- writes made in replica mode (sync tools, logical replication apply) are
-- logged a row at a time, and TRUNCATE still asks for a rebuild
SELECT count(*) AS changes_before FROM ecpower.order_changes;
SET session_replication_role = replica;
INSERT INTO ecpower.orders (order_id, customer_id, ordered_at, total, sales_channel)
SELECT o.order_id + 800000, o.customer_id, timestamptz '2025-07-03 09:00+00', o.total, 'shop_app'
  FROM ecpower.orders AS o WHERE o.order_id % 61 = 5 AND o.order_id < 800000;
INSERT INTO ecpower.order_lines (order_id, line_no, product_id, quantity, price)
SELECT o.order_id, 1, 7000000000011, 2, 10 FROM ecpower.orders AS o WHERE o.order_id >= 800000 AND o.order_id < 900000;
UPDATE ecpower.orders SET cancelled_at = timestamptz '2025-07-01 00:00+00' WHERE order_id % 67 = 6 AND order_id < 800000;
UPDATE ecpower.order_lines SET quantity = quantity + 7 WHERE order_id % 71 = 7;
DELETE FROM ecpower.orders WHERE order_id % 73 = 8 AND order_id < 800000;
RESET session_replication_role;
SELECT count(*) > 100 AS logged, count(*) FILTER (WHERE order_id IS NULL AND ckey IS NULL) AS rebuild_markers
  FROM ecpower.order_changes;
CALL ecpower.refresh('2025-07-06 12:00:00+00');
SELECT stale > 100 AS incremental FROM pg_temp.cache();
SELECT pg_temp.keep('replica-cached');
SELECT ecpower.reset_order_cache();
CALL ecpower.refresh('2025-07-06 12:00:00+00');
SELECT pg_temp.keep('replica-scratch');
SELECT * FROM pg_temp.diff('replica-cached', 'replica-scratch');
SELECT count(*) > 0 AS moved FROM pg_temp.diff('redefined-scratch', 'replica-scratch');
BEGIN;
SET LOCAL session_replication_role = replica;
TRUNCATE ecpower.order_lines;
SELECT count(*) AS rebuild_markers FROM ecpower.order_changes WHERE order_id IS NULL AND ckey IS NULL;
ROLLBACK;

-- a damaged chunk is an error that names it, with the way out
UPDATE ecpower.order_cache SET data = substr(data, 1, 100) WHERE chunk = 0;
CALL ecpower.refresh('2025-07-06 12:00:00+00');
SELECT ecpower.reset_order_cache();
CALL ecpower.refresh('2025-07-06 12:00:00+00');
SELECT pg_temp.keep('repaired');
SELECT * FROM pg_temp.diff('replica-scratch', 'repaired');
-- a record's date overwritten in place (the checksum catches it; crafted
-- chunks with a matching checksum are fuzzed in test/t/770_timeline_fuzz.pl)
UPDATE ecpower.order_cache SET data = overlay(data placing '\xffffff7f' from 41 for 4) WHERE chunk = 0;
SELECT count(*) FROM ecpower.cohorts(NULL);
SELECT count(*) FROM ecpower.segment_kpis(NULL);
CALL ecpower.refresh('2025-07-06 12:00:00+00');
SELECT ecpower.reset_order_cache();
CALL ecpower.refresh('2025-07-06 12:00:00+00');

-- a cache of another format (an older release's) is rebuilt, never read
UPDATE ecpower.order_cache SET data = overlay(data placing '\x0100' from 5 for 2);
UPDATE ecpower.order_cache_state SET format = 1;
SELECT count(*) > 0 AS answers FROM ecpower.cohorts(NULL);
CALL ecpower.refresh('2025-07-06 12:00:00+00');
SELECT s.format, c.stale, c.changes FROM ecpower.order_cache_state AS s, pg_temp.cache() AS c;
SELECT pg_temp.keep('reformatted');
SELECT * FROM pg_temp.diff('replica-scratch', 'reformatted');

-- the triggers run as the writer: a loading role other than the owner
-- needs INSERT on the log too, and nothing else
CREATE ROLE regress_ecp_loader;
GRANT USAGE ON SCHEMA ecpower TO regress_ecp_loader;
GRANT SELECT, UPDATE ON ecpower.orders TO regress_ecp_loader;
SET ROLE regress_ecp_loader;
UPDATE ecpower.orders SET total = total WHERE order_id = 999999;
RESET ROLE;
GRANT INSERT ON ecpower.order_changes TO regress_ecp_loader;
SET ROLE regress_ecp_loader;
UPDATE ecpower.orders SET total = total WHERE order_id = 999999;
SELECT count(*) FROM ecpower.order_changes;
RESET ROLE;
SELECT count(*) AS logged FROM ecpower.order_changes WHERE order_id = 999999;
DROP OWNED BY regress_ecp_loader;
DROP ROLE regress_ecp_loader;
