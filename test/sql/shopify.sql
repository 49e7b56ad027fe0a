-- Shopify import: admin CSV exports into the input tables.
-- Fixtures: test/fixtures/shopify/*.csv, written by make_fixtures.py there.
\i test/fixtures/setup.sql

-- the documented id derivation, in plain SQL (README "Shopify import")
CREATE FUNCTION pg_temp.derived(key text) RETURNS bigint LANGUAGE sql AS $$
    SELECT (('x' || substr(md5(key), 1, 16))::bit(64)::bigint
            & 4611686018427387903) | 4611686018427387904
$$;
-- the customer's e-mail, or how it was identified
CREATE FUNCTION pg_temp.who(id bigint) RETURNS text LANGUAGE sql AS $$
    SELECT coalesce(c.email, CASE WHEN id >= 4611686018427387904 THEN 'derived' ELSE id::text END)
      FROM ecpower.customers c WHERE c.customer_id = id
$$;
-- one checksum over every input table, to show failed imports change nothing
CREATE TEMP VIEW snapshot AS
SELECT md5(string_agg(t, '|' ORDER BY t COLLATE "C")) AS h
  FROM (SELECT c::text AS t FROM ecpower.customers c
        UNION ALL SELECT p::text FROM ecpower.products p
        UNION ALL SELECT o::text FROM ecpower.orders o
        UNION ALL SELECT l::text FROM ecpower.order_lines l) s;
CREATE TEMP VIEW order_view AS
SELECT o.order_id, pg_temp.who(o.customer_id) AS customer, o.ordered_at, o.total,
       o.refunded, o.discount_codes, o.tags, o.sales_channel, o.cancelled_at
  FROM ecpower.orders o;
CREATE TEMP VIEW line_view AS
SELECT l.order_id, l.line_no, p.title, l.sku, p.vendor, l.quantity, l.price
  FROM ecpower.order_lines l LEFT JOIN ecpower.products p USING (product_id);
CREATE TEMP VIEW customer_view AS
SELECT pg_temp.who(customer_id) AS customer, created_at, tags, country, province, city,
       accepts_marketing
  FROM ecpower.customers;

-- 1. a 2019 export without Id: order ids from the names; continuation rows;
--    quoted commas, quotes and line breaks; a cancelled and refunded order with
--    two discount codes; an order without e-mail (its own guest customer)
\set csv `cat test/fixtures/shopify/orders_2019.csv`
SELECT * FROM ecpower.import_shopify_orders(:'csv');
SELECT * FROM order_view ORDER BY order_id;
SELECT * FROM line_view ORDER BY order_id, line_no;
SELECT * FROM customer_view ORDER BY customer COLLATE "C";

-- ids follow the documented derivations (rows shown are mismatches)
SELECT c.customer_id, c.email FROM ecpower.customers c
 WHERE c.email IS NOT NULL AND c.customer_id <> pg_temp.derived('email:' || lower(c.email));
SELECT o.order_id FROM ecpower.orders o JOIN ecpower.customers c USING (customer_id)
 WHERE c.email IS NULL AND o.customer_id <> pg_temp.derived('guest:' || o.order_id);
SELECT l.order_id, l.line_no FROM ecpower.order_lines l JOIN ecpower.products p USING (product_id)
 WHERE l.product_id <> pg_temp.derived(CASE WHEN l.sku IS NULL THEN 'name:' || p.title
                                            ELSE 'sku:' || l.sku END);

-- 2. importing the same file again updates every row and duplicates nothing
SELECT h AS before FROM snapshot \gset
SELECT * FROM ecpower.import_shopify_orders(:'csv');
SELECT h = :'before' AS unchanged FROM snapshot;

-- 3. the old customers export (no Customer ID): matched by e-mail, it is the
--    authority on tags, location and consent; a row without e-mail is skipped
\set csv `cat test/fixtures/shopify/customers_old.csv`
SELECT * FROM ecpower.import_shopify_customers(:'csv');
SELECT * FROM customer_view ORDER BY customer COLLATE "C";

-- 4. the current orders export: order ids from the Id column; ann's new order
--    joins her existing customer
\set csv `cat test/fixtures/shopify/orders_current.csv`
SELECT * FROM ecpower.import_shopify_orders(:'csv');
SELECT * FROM order_view WHERE order_id > 5000000 ORDER BY order_id;
SELECT * FROM line_view WHERE order_id > 5000000 ORDER BY order_id, line_no;

-- 5. the current customers export: carol is matched by e-mail and keeps her
--    id; new customers take the export's Customer ID
\set csv `cat test/fixtures/shopify/customers_current.csv`
SELECT * FROM ecpower.import_shopify_customers(:'csv');
SELECT customer_id < 4611686018427387904 AS shopify_id, email, tags, country, province, city,
       accepts_marketing
  FROM ecpower.customers
 WHERE email IN ('carol@example.com', 'hank@example.com') OR customer_id = 7003
 ORDER BY email COLLATE "C";

-- 6. an overlapping later export: #1008 is new, #1007 unchanged, #1006 was
--    partly refunded and lost its first line (its lines are replaced)
\set csv `cat test/fixtures/shopify/orders_current_later.csv`
SELECT * FROM ecpower.import_shopify_orders(:'csv');
SELECT * FROM order_view WHERE order_id > 5000000 ORDER BY order_id;
SELECT * FROM line_view WHERE order_id > 5000000 ORDER BY order_id, line_no;

-- 7. moved columns, other case and spacing, a byte order mark, CRLF line ends,
--    ISO timestamps, only the columns the importer needs
\set csv `cat test/fixtures/shopify/orders_moved.csv`
SELECT * FROM ecpower.import_shopify_orders(:'csv');
SELECT * FROM order_view WHERE order_id = 1009;
SELECT * FROM line_view WHERE order_id = 1009 ORDER BY line_no;

-- totals reconcile with the files: 9 orders, gross and net
SELECT count(*) AS orders, sum(total) AS total, sum(total - refunded) AS net,
       count(cancelled_at) AS cancelled
  FROM ecpower.orders;

-- 8. malformed files fail naming the row and the column, and change nothing
SELECT h AS before FROM snapshot \gset
\set csv `cat test/fixtures/shopify/bad_total.csv`
SELECT * FROM ecpower.import_shopify_orders(:'csv');
\echo :LAST_ERROR_SQLSTATE
\set csv `cat test/fixtures/shopify/bad_date.csv`
SELECT * FROM ecpower.import_shopify_orders(:'csv');
\echo :LAST_ERROR_SQLSTATE
\set csv `cat test/fixtures/shopify/bad_quantity.csv`
SELECT * FROM ecpower.import_shopify_orders(:'csv');
\echo :LAST_ERROR_SQLSTATE
\set csv `cat test/fixtures/shopify/missing_total.csv`
SELECT * FROM ecpower.import_shopify_orders(:'csv');
\echo :LAST_ERROR_SQLSTATE
\set csv `cat test/fixtures/shopify/duplicate_order.csv`
SELECT * FROM ecpower.import_shopify_orders(:'csv');
\echo :LAST_ERROR_SQLSTATE
\set csv `cat test/fixtures/shopify/ragged.csv`
SELECT * FROM ecpower.import_shopify_orders(:'csv');
\echo :LAST_ERROR_SQLSTATE
\set csv `cat test/fixtures/shopify/unterminated.csv`
SELECT * FROM ecpower.import_shopify_orders(:'csv');
\echo :LAST_ERROR_SQLSTATE
\set csv `cat test/fixtures/shopify/bad_header.csv`
SELECT * FROM ecpower.import_shopify_orders(:'csv');
\echo :LAST_ERROR_SQLSTATE
\set csv `cat test/fixtures/shopify/bad_customers.csv`
SELECT * FROM ecpower.import_shopify_customers(:'csv');
\echo :LAST_ERROR_SQLSTATE
-- the wrong file for each function
SELECT * FROM ecpower.import_shopify_orders(:'csv');
\echo :LAST_ERROR_SQLSTATE
\set csv `cat test/fixtures/shopify/orders_2019.csv`
SELECT * FROM ecpower.import_shopify_customers(:'csv');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM ecpower.import_shopify_orders('');
\echo :LAST_ERROR_SQLSTATE
SELECT h = :'before' AS unchanged FROM snapshot;

-- a failing import inside a transaction leaves earlier work of the
-- transaction to the caller (here: rolled back with it)
BEGIN;
\set csv `cat test/fixtures/shopify/customers_current.csv`
SELECT count(*) FROM ecpower.import_shopify_customers(:'csv');
\set csv `cat test/fixtures/shopify/bad_total.csv`
SELECT * FROM ecpower.import_shopify_orders(:'csv');
ROLLBACK;
SELECT h = :'before' AS unchanged FROM snapshot;

-- 9. a currency other than the store's is imported with a warning
UPDATE ecpower.settings SET currency = 'EUR';
\set csv `cat test/fixtures/shopify/orders_current.csv`
SELECT * FROM ecpower.import_shopify_orders(:'csv');

-- 10. a derived id that belongs to a customer with another e-mail is refused
--     (23505) rather than merging two people; a repeated Customer ID is 22P02
UPDATE ecpower.settings SET currency = 'USD';
INSERT INTO ecpower.customers (customer_id, email)
    VALUES (pg_temp.derived('email:zed@example.com'), 'someone-else@example.com');
SELECT h AS before FROM snapshot \gset
\set csv `cat test/fixtures/shopify/collision.csv`
SELECT * FROM ecpower.import_shopify_orders(:'csv');
\echo :LAST_ERROR_SQLSTATE
\set csv `cat test/fixtures/shopify/duplicate_customer_id.csv`
SELECT * FROM ecpower.import_shopify_customers(:'csv');
\echo :LAST_ERROR_SQLSTATE
SELECT h = :'before' AS unchanged FROM snapshot;
