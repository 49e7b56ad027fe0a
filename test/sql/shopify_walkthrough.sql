-- The README walk-through on fixture exports: two Shopify CSV files in, a
-- segment refreshed, its customers out as CSV and in the tag-change feed.
\i test/fixtures/setup.sql
SET DateStyle = 'ISO, YMD';

UPDATE ecpower.settings SET store_timezone = 'America/New_York', currency = 'USD';
\set csv `cat test/fixtures/shopify/customers_old.csv`
SELECT * FROM ecpower.import_shopify_customers(:'csv');
\set csv `cat test/fixtures/shopify/orders_2019.csv`
SELECT * FROM ecpower.import_shopify_orders(:'csv');
\set csv `cat test/fixtures/shopify/orders_current.csv`
SELECT * FROM ecpower.import_shopify_orders(:'csv');
SELECT ecpower.create_segment('repeat', 'Repeat buyers', '{"orders": {}, "count": {"gte": 2}}');
UPDATE ecpower.segments SET sync_tag = 'repeat-buyer' WHERE slug = 'repeat';
CALL ecpower.refresh('2024-06-01 00:00-04');

-- ann: orders #1001, #1003 and #1007 (Bob's only order was cancelled)
\copy (SELECT * FROM ecpower.segment_customers('repeat')) TO STDOUT CSV HEADER
SELECT customer_id = (('x' || substr(md5('email:ann@example.com'), 1, 16))::bit(64)::bigint
                      & 4611686018427387903) | 4611686018427387904 AS derived_id,
       action, tag, slug, changed_at
  FROM ecpower.pending_tag_changes(0);

-- a later, overlapping export and the next day's refresh: nothing changes
-- for the segment, so the feed stays quiet
\set csv `cat test/fixtures/shopify/orders_current_later.csv`
SELECT * FROM ecpower.import_shopify_orders(:'csv');
CALL ecpower.refresh('2024-06-02 00:00-04');
SELECT count(*) AS events FROM ecpower.tag_changes;
SELECT customer_id, orders, revenue, member_since FROM ecpower.segment_customers('repeat');
