-- Report keys that are numbers sort as numbers: product ids, weekdays and
-- hours in feature_report (ties on customers), and the product pairs of
-- bought_together, which also carry the products' titles.
\i test/fixtures/setup.sql
SET DateStyle = 'ISO, YMD';
\set SHOW_CONTEXT never

-- three customers, one order each, every order holding products 9, 10 and
-- 100: every product and pair has 3 customers, so the key alone orders them
-- (as text '10' < '100' < '9'); the orders are at 09:00, 10:00 and 11:30
INSERT INTO ecpower.products (product_id, title) VALUES (9, 'Nine'), (10, 'Ten'), (100, 'Hundred');
INSERT INTO ecpower.customers (customer_id) VALUES (1), (2), (3);
INSERT INTO ecpower.orders (order_id, customer_id, ordered_at, total) VALUES
    (1, 1, '2024-01-01 09:00+00', 10), (2, 2, '2024-01-02 10:00+00', 10),
    (3, 3, '2024-01-03 11:30+00', 10);
INSERT INTO ecpower.order_lines (order_id, line_no, product_id, quantity, price)
SELECT o, l, p, 1, 1
  FROM generate_series(1, 3) o, unnest(ARRAY[100, 10, 9]) WITH ORDINALITY AS x(p, l);
-- a line without a product is not a product
INSERT INTO ecpower.order_lines (order_id, line_no, product_id, quantity, price) VALUES (1, 4, NULL, 1, 1);
CALL ecpower.refresh('2024-12-31 00:00+00');

SELECT rank, key, label, customers FROM ecpower.feature_report(NULL, 'product');
SELECT rank, key, label, customers FROM ecpower.feature_report(NULL, 'product', ascending => true);
SELECT rank, key, label, customers FROM ecpower.feature_report(NULL, 'hour');
SELECT rank, key, label, customers FROM ecpower.feature_report(NULL, 'bought_together');
SELECT rank, product_a, label_a, product_b, label_b, customers
  FROM ecpower.bought_together(NULL);
