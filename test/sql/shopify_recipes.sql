-- Loading from a Fivetran or Airbyte Shopify schema with INSERT ... SELECT:
-- the recipes of README "Loading your data", run against fixtures shaped
-- like each tool's published table layout (test/fixtures/*_shopify.sql).
-- Both fixtures hold the same small shop, so both recipes must load the
-- same rows (but for unit costs and the landing page's form); running a
-- recipe again changes nothing.
\i test/fixtures/setup.sql
\set ECHO none
SET client_min_messages = warning;
\i test/fixtures/fivetran_shopify.sql
\i test/fixtures/airbyte_shopify.sql
RESET client_min_messages;
\set ECHO all

CREATE TEMP VIEW loaded AS
SELECT 'customer' AS t, c.customer_id AS id, to_jsonb(c) - 'ckey' AS row FROM ecpower.customers c
UNION ALL SELECT 'product', p.product_id, to_jsonb(p) FROM ecpower.products p
UNION ALL SELECT 'order', o.order_id, to_jsonb(o) FROM ecpower.orders o
UNION ALL SELECT 'line', l.order_id * 100 + l.line_no, to_jsonb(l) FROM ecpower.order_lines l;

-- Fivetran recipe (README "Loading your data")
BEGIN;
\set ECHO none
\i docs/recipes/fivetran_shopify.sql
\set ECHO all
COMMIT;
SELECT customer_id, email, created_at, tags, country, province, city, accepts_marketing
  FROM ecpower.customers ORDER BY customer_id;
SELECT * FROM ecpower.products ORDER BY product_id;
SELECT order_id, customer_id >= 4611686018427387904 AS derived_customer, ordered_at, total, refunded,
       discount_codes, tags, sales_channel, referring_site, landing_site, utm_source, utm_medium,
       utm_campaign, cancelled_at
  FROM ecpower.orders ORDER BY order_id;
SELECT * FROM ecpower.order_lines ORDER BY order_id, line_no;
CREATE TEMP TABLE fivetran_load AS SELECT * FROM loaded;
-- again: nothing changes
BEGIN;
\set ECHO none
\i docs/recipes/fivetran_shopify.sql
\set ECHO all
COMMIT;
SELECT count(*) AS changed_by_second_run
  FROM ((SELECT * FROM loaded EXCEPT SELECT * FROM fivetran_load)
        UNION ALL (SELECT * FROM fivetran_load EXCEPT SELECT * FROM loaded)) d;

-- Airbyte recipe into empty tables: the same rows, but for unit costs
-- (Airbyte's orders have none) and landing_site (Fivetran keeps the base
-- URL, Airbyte the landing path with its query string)
TRUNCATE ecpower.order_lines, ecpower.orders, ecpower.products, ecpower.customers CASCADE;
BEGIN;
\set ECHO none
\i docs/recipes/airbyte_shopify.sql
\set ECHO all
COMMIT;
BEGIN;
\set ECHO none
\i docs/recipes/airbyte_shopify.sql
\set ECHO all
COMMIT;
SELECT t, id, row FROM (SELECT t, id, row - 'unit_cost' - 'landing_site' AS row FROM loaded
                         EXCEPT SELECT t, id, row - 'unit_cost' - 'landing_site' FROM fivetran_load) d
UNION ALL
SELECT t, id, row FROM (SELECT t, id, row - 'unit_cost' - 'landing_site' AS row FROM fivetran_load
                         EXCEPT SELECT t, id, row - 'unit_cost' - 'landing_site' FROM loaded) d
ORDER BY 1, 2;

SET client_min_messages = warning;
DROP SCHEMA shopify CASCADE;
DROP SCHEMA airbyte_shopify CASCADE;
