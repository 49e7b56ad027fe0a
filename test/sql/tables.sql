-- Input tables: the documented constraints reject bad rows with the right SQLSTATE
\set VERBOSITY sqlstate
\i test/fixtures/setup.sql

SELECT store_timezone, currency FROM ecpower.settings;

INSERT INTO ecpower.customers (customer_id, email) VALUES (1, 'a@example.com'), (2, NULL);
INSERT INTO ecpower.products (product_id, title) VALUES (10, 'Tea');

-- plain inserts naming only the documented columns work; ckey is assigned densely
SELECT customer_id, ckey, tags, accepts_marketing FROM ecpower.customers ORDER BY 1;

-- negative totals and refunds: check_violation 23514
INSERT INTO ecpower.orders (order_id, customer_id, ordered_at, total)
    VALUES (100, 1, '2024-01-01 10:00+00', -1);
INSERT INTO ecpower.orders (order_id, customer_id, ordered_at, total, refunded)
    VALUES (100, 1, '2024-01-01 10:00+00', 10, -0.01);

-- orders of unknown customers: foreign_key_violation 23503
INSERT INTO ecpower.orders (order_id, customer_id, ordered_at, total)
    VALUES (101, 999, '2024-01-01 10:00+00', 10);

-- missing ordered_at: not_null_violation 23502
INSERT INTO ecpower.orders (order_id, customer_id, total) VALUES (102, 1, 10);

INSERT INTO ecpower.orders (order_id, customer_id, ordered_at, total)
    VALUES (100, 1, '2024-01-01 10:00+00', 10);

-- zero quantities: 23514; unknown order or product: 23503; duplicate line: 23505
INSERT INTO ecpower.order_lines (order_id, line_no, product_id, quantity, price)
    VALUES (100, 1, 10, 0, 5);
INSERT INTO ecpower.order_lines (order_id, line_no, product_id, quantity, price)
    VALUES (555, 1, 10, 1, 5);
INSERT INTO ecpower.order_lines (order_id, line_no, product_id, quantity, price)
    VALUES (100, 1, 77, 1, 5);
INSERT INTO ecpower.order_lines (order_id, line_no, product_id, quantity, price)
    VALUES (100, 1, 10, 2, 5);
INSERT INTO ecpower.order_lines (order_id, line_no, product_id, quantity, price)
    VALUES (100, 1, 10, 2, 5);

-- deleting an order deletes its lines
DELETE FROM ecpower.orders WHERE order_id = 100;
SELECT count(*) AS lines_left FROM ecpower.order_lines;

-- every input table is dumped by pg_dump
SELECT c.relname
  FROM pg_extension e, unnest(e.extconfig) AS x(oid)
  JOIN pg_class c ON c.oid = x.oid
 WHERE e.extname = 'ecpower'
   AND c.relname IN ('settings', 'customers', 'customer_key_seq', 'products',
                     'orders', 'order_lines')
 ORDER BY c.relname COLLATE "C";

-- settings: one row; an unknown time zone is rejected (22023) and nothing changes;
-- an INSERT (as a restore does) updates the one row
UPDATE ecpower.settings SET store_timezone = 'Mars/Olympus';
INSERT INTO ecpower.settings (store_timezone, currency) VALUES ('Asia/Tokyo', 'JPY');
SELECT count(*), min(store_timezone), min(currency) FROM ecpower.settings;
UPDATE ecpower.settings SET store_timezone = 'UTC', currency = 'USD';

-- membership functions before any refresh
SELECT * FROM ecpower.segment_members('nope');
SELECT * FROM ecpower.customer_segments(1);
