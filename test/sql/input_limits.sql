-- Limits and input checks (docs/security.md "Limits", "Input checks"):
-- order filters and bytes per definition and per store (54000), sync tags
-- (22023), order dates at the door (23514), refunds above the total and
-- negative prices in Shopify files (22P02), the period arguments of the KPI
-- functions (22023), evaluate() with NULL, and the definitions' history,
-- which the admin can add to but not change.
\i test/fixtures/setup.sql
SET client_min_messages = warning;
DO $$
DECLARE r text;
BEGIN
    FOREACH r IN ARRAY ARRAY['ecpower_reader', 'ecpower_admin', 'ecpower_refresher'] LOOP
        IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = r) THEN
            EXECUTE format('CREATE ROLE %I', r);
        END IF;
    END LOOP;
END $$;
SELECT ecpower.grant_roles() > 0 AS granted;
RESET client_min_messages;
SET DateStyle = 'ISO, YMD';
\set VERBOSITY default

CREATE FUNCTION pg_temp.err(sql text) RETURNS text
LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE sql;
    RETURN 'ok';
EXCEPTION WHEN OTHERS THEN
    RETURN SQLSTATE || ': ' || SQLERRM;
END $$;

-- a definition of n filters, one per value, in an "any"
CREATE FUNCTION pg_temp.one_filter_per_value(n int) RETURNS jsonb
LANGUAGE sql AS $$
    SELECT jsonb_build_object('any', jsonb_agg(jsonb_build_object('orders',
               jsonb_build_object('utm_source', jsonb_build_array('s' || g)))))
      FROM generate_series(1, n) g
$$;
-- the same values in one filter's list
CREATE FUNCTION pg_temp.one_filter(n int) RETURNS jsonb
LANGUAGE sql AS $$
    SELECT jsonb_build_object('orders', jsonb_build_object('utm_source',
               jsonb_agg('source-' || g)))
      FROM generate_series(1, n) g
$$;

-- the filter count follows the definition's structure, not its values
SELECT ecpower.definition_filters('{"orders": {}}') AS one,
       ecpower.definition_filters('{"customer_tag": ["vip"]}') AS none,
       ecpower.definition_filters(pg_temp.one_filter(1000)) AS list_of_1000,
       ecpower.definition_filters(pg_temp.one_filter_per_value(37)) AS any_of_37,
       ecpower.definition_filters('{"all": [{"orders": {}, "count": {"gte": 2}}, {"not": {"segment": "other"}}]}') AS with_reference;

-- per definition: 100 filters, 65,536 bytes
SET ROLE ecpower_admin;
SELECT pg_temp.err($$SELECT ecpower.create_segment('f100', 'F', pg_temp.one_filter_per_value(100))$$) AS at_limit;
SELECT pg_temp.err($$SELECT ecpower.create_segment('f101', 'F', pg_temp.one_filter_per_value(101))$$) AS over_limit;
SELECT pg_temp.err($$SELECT ecpower.create_segment('l2000', 'L', pg_temp.one_filter(2000))$$) AS long_list;
SELECT pg_temp.err($$SELECT ecpower.create_segment('l9000', 'L', pg_temp.one_filter(9000))$$) AS too_many_bytes;
-- the 88 kB definition of 2 x 10,000 values
SELECT pg_temp.err($$SELECT ecpower.create_segment('huge', 'H',
    jsonb_build_object('any', jsonb_build_array(pg_temp.one_filter(10000), pg_temp.one_filter(10000))))$$) AS two_lists_of_10000;
-- a direct INSERT or UPDATE meets the same limits
SELECT pg_temp.err($$INSERT INTO ecpower.segments (slug, name, definition)
                     VALUES ('direct', 'D', pg_temp.one_filter_per_value(101))$$) AS direct_insert;
SELECT pg_temp.err($$UPDATE ecpower.segments SET definition = pg_temp.one_filter_per_value(101)
                      WHERE slug = 'f100'$$) AS direct_update;
-- per store: 400 filters (f100 holds 100 already)
SELECT ecpower.drop_segment('l2000');
SELECT pg_temp.err($$SELECT ecpower.create_segment('f200', 'F', pg_temp.one_filter_per_value(100))$$) AS f200,
       pg_temp.err($$SELECT ecpower.create_segment('f201', 'F', pg_temp.one_filter_per_value(100))$$) AS f201,
       pg_temp.err($$SELECT ecpower.create_segment('f202', 'F', pg_temp.one_filter_per_value(100))$$) AS f202;
SELECT pg_temp.err($$SELECT ecpower.create_segment('one-more', 'F', '{"orders": {}}')$$) AS store_over_limit;
-- replacing a definition counts the new one instead of the old one
SELECT pg_temp.err($$SELECT ecpower.update_segment('f200', pg_temp.one_filter_per_value(99))$$) AS smaller;
SELECT pg_temp.err($$SELECT ecpower.create_segment('one-more', 'F', '{"orders": {}}')$$) AS fits_now;
SELECT count(*) AS segments, sum(ecpower.definition_filters(definition)) AS filters FROM ecpower.segments;
RESET ROLE;
-- evaluate() meets the per-definition limits
SELECT pg_temp.err($$SELECT count(*) FROM ecpower.evaluate(pg_temp.one_filter_per_value(101), '2025-01-01')$$) AS evaluate_over_limit;

-- sync tags: 1 to 255 characters, no comma
SET ROLE ecpower_admin;
SELECT pg_temp.err($$UPDATE ecpower.segments SET sync_tag = repeat('t', 255) WHERE slug = 'f100'$$) AS tag_255;
SELECT pg_temp.err($$UPDATE ecpower.segments SET sync_tag = repeat('é', 256) WHERE slug = 'f100'$$) AS tag_256;
SELECT pg_temp.err($$UPDATE ecpower.segments SET sync_tag = repeat('x', 1000000) WHERE slug = 'f100'$$) AS tag_1mb;
SELECT pg_temp.err($$UPDATE ecpower.segments SET sync_tag = '' WHERE slug = 'f100'$$) AS tag_empty;
SELECT pg_temp.err($$UPDATE ecpower.segments SET sync_tag = 'vip,loyal' WHERE slug = 'f100'$$) AS tag_comma;
SELECT pg_temp.err($$UPDATE ecpower.segments SET sync_tag = NULL WHERE slug = 'f100'$$) AS tag_null;
RESET ROLE;

-- the definitions' history: the admin adds to it (through the history
-- trigger) but cannot change or delete it
SET ROLE ecpower_admin;
SELECT pg_temp.err($$DELETE FROM ecpower.segment_versions$$) AS admin_delete;
SELECT pg_temp.err($$UPDATE ecpower.segment_versions SET definition = NULL$$) AS admin_update;
SELECT pg_temp.err($$TRUNCATE ecpower.segment_versions$$) AS admin_truncate;
SELECT pg_temp.err($$SELECT ecpower.drop_segment('one-more')$$) AS admin_drop;
RESET ROLE;
SELECT change, count(*) FROM ecpower.segment_versions GROUP BY change ORDER BY change;

-- input checks at the door
INSERT INTO ecpower.customers (customer_id) VALUES (1);
INSERT INTO ecpower.products (product_id, title) VALUES (1, 'Tea');
SELECT pg_temp.err($$INSERT INTO ecpower.orders (order_id, customer_id, ordered_at, total, refunded)
                     VALUES (1, 1, '2024-05-01', 10, 10)$$) AS full_refund;
SELECT pg_temp.err($$INSERT INTO ecpower.orders (order_id, customer_id, ordered_at, total)
                     VALUES (2, 1, '1900-01-01 00:00+00', 1)$$) AS first_allowed_instant;
SELECT pg_temp.err($$INSERT INTO ecpower.orders (order_id, customer_id, ordered_at, total)
                     VALUES (3, 1, '2200-01-01 00:00+00', 1)$$) AS first_refused_instant;
SELECT pg_temp.err($$INSERT INTO ecpower.orders (order_id, customer_id, ordered_at, total)
                     VALUES (4, 1, '-infinity', 1)$$) AS minus_infinity;

-- the Shopify importer refuses a refund above the order's total and a
-- negative line price, naming the row and column; nothing is written
SELECT count(*) AS orders_before FROM ecpower.orders \gset
CREATE TEMP TABLE csv (name text, body text);
INSERT INTO csv VALUES
('refund', E'Name,Email,Total,Refunded Amount,Created at,Lineitem quantity,Lineitem name,Lineitem price\n'
       '#7001,ann@example.com,30.00,30.00,2024-03-01 10:00:00 +0000,1,Green Tea,30.00\n'
       '#7002,bob@example.com,30.00,30.01,2024-03-02 10:00:00 +0000,1,Green Tea,30.00\n'),
('price', E'Name,Email,Total,Refunded Amount,Created at,Lineitem quantity,Lineitem name,Lineitem price\n'
       '#7001,ann@example.com,30.00,30.00,2024-03-01 10:00:00 +0000,1,Green Tea,30.00\n'
       '#7003,cy@example.com,0.00,,2024-03-03 10:00:00 +0000,1,Discount,-5.00\n');
SELECT name, pg_temp.err(format('SELECT ecpower.import_shopify_orders(%L)', body)) AS import
  FROM csv ORDER BY name;
SELECT count(*) - :orders_before AS orders_written FROM ecpower.orders;
-- a full refund and a free line are fine
SELECT pg_temp.err(format('SELECT ecpower.import_shopify_orders(%L)',
    E'Name,Email,Total,Refunded Amount,Created at,Lineitem quantity,Lineitem name,Lineitem price\n'
     '#7001,ann@example.com,30.00,30.00,2024-03-01 10:00:00 +0000,1,Green Tea,30.00\n'
     '#7001,,,,,1,Sample,0.00\n')) AS full_refund_and_free_line;
SELECT order_id, total, refunded FROM ecpower.orders WHERE order_id = 7001;
DELETE FROM ecpower.orders WHERE order_id = 7001;

-- two customers-export rows whose e-mails differ only in case are one
-- customer: the summary counts the replaced row as skipped, a NOTICE names it
SELECT * FROM ecpower.import_shopify_customers(
    E'Customer ID,Email,Accepts Email Marketing,Default Address City,Tags\n'
     ',Dana@Example.com,yes,Osaka,first\n'
     ',dana@example.com,no,Kyoto,second\n');
SELECT email, city, tags, accepts_marketing FROM ecpower.customers WHERE email ILIKE 'dana@%';

-- period arguments: as in the other reports, infinite bounds and from > to
-- are refused (22023)
CALL ecpower.refresh('2024-06-01 00:00+00');
SELECT pg_temp.err($$SELECT * FROM ecpower.segment_history(NULL, '2024-06-02', '2024-06-01')$$) AS history_from_after_to;
SELECT pg_temp.err($$SELECT * FROM ecpower.segment_history(NULL, '-infinity', NULL)$$) AS history_infinite;
SELECT pg_temp.err($$SELECT count(*) FROM ecpower.segment_history(NULL, NULL, '2024-06-01')$$) AS history_open;
SELECT pg_temp.err($$SELECT * FROM ecpower.segment_kpis(NULL, '-infinity')$$) AS kpis_from_infinite;
SELECT pg_temp.err($$SELECT * FROM ecpower.segment_kpis(NULL, NULL, 'infinity')$$) AS kpis_to_infinite;
SELECT (ecpower.segment_kpis(NULL, NULL, '2024-06-01')).orders AS kpis_open;
-- evaluate() with a NULL argument is an error, not an empty answer
SELECT pg_temp.err($$SELECT * FROM ecpower.evaluate('{"orders": {}}', NULL)$$) AS evaluate_null_as_of;
SELECT pg_temp.err($$SELECT * FROM ecpower.evaluate(NULL, '2024-06-01')$$) AS evaluate_null_definition;
SELECT * FROM ecpower.evaluate('{"orders": {}}', '2024-06-01');

SET client_min_messages = warning;
DROP EXTENSION ecpower CASCADE;
RESET client_min_messages;

-- an update from 0.1.0 over rows that break the new checks stops, naming
-- them, and goes through once they are fixed
CREATE EXTENSION ecpower VERSION '0.1.0';
INSERT INTO ecpower.customers (customer_id) VALUES (1);
INSERT INTO ecpower.orders (order_id, customer_id, ordered_at, total)
VALUES (10, 1, '-infinity', 5), (11, 1, '2024-01-01', 5), (12, 1, '200000-01-01', 5);
ALTER EXTENSION ecpower UPDATE;
UPDATE ecpower.orders SET ordered_at = '2024-01-01' WHERE order_id IN (10, 12);
ALTER EXTENSION ecpower UPDATE;
SELECT extversion FROM pg_extension WHERE extname = 'ecpower';
SELECT conname FROM pg_constraint
 WHERE conrelid IN ('ecpower.orders'::regclass, 'ecpower.order_lines'::regclass) AND contype = 'c'
 ORDER BY conname COLLATE "C";
SET client_min_messages = warning;
DROP EXTENSION ecpower CASCADE;
