-- generate_demo_store: signature, errors, determinism and shape of a small store
BEGIN;
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS ecpower;
RESET client_min_messages;
SET LOCAL TimeZone = 'UTC';
SELECT plan(21);

SELECT has_function('ecpower', 'generate_demo_store', ARRAY['integer', 'integer'],
                    'generate_demo_store(customers, seed) exists');
SELECT function_lang_is('ecpower', 'generate_demo_store', ARRAY['integer', 'integer'], 'c',
                        'generate_demo_store is written in C');
SELECT volatility_is('ecpower', 'generate_demo_store', ARRAY['integer', 'integer'], 'volatile',
                     'generate_demo_store is volatile');

SELECT throws_ok('SELECT ecpower.generate_demo_store(0)', '22023',
                 'customers must be between 1 and 10000000, not 0', 'zero customers');
SELECT throws_ok('SELECT ecpower.generate_demo_store(10000001)', '22023',
                 'customers must be between 1 and 10000000, not 10000001', 'too many customers');
SELECT throws_ok('SELECT ecpower.generate_demo_store(NULL, 1)', '22023',
                 'customers must not be null', 'null customers');
SELECT throws_ok('SELECT ecpower.generate_demo_store(10, NULL)', '22023',
                 'seed must not be null', 'null seed');

SELECT lives_ok('SELECT ecpower.generate_demo_store(800, 3)', 'an 800-customer store');
SELECT is((SELECT count(*) FROM ecpower.customers), 800::bigint, '800 customers');
SELECT ok((SELECT count(*) FROM ecpower.products) BETWEEN 200 AND 500, '200-500 products');
SELECT throws_ok('SELECT ecpower.generate_demo_store(800, 3)', '55000',
                 'table "ecpower.customers" is not empty', 'a second run is refused');

CREATE TEMP TABLE demo_md5 AS
SELECT 'customers' AS tbl, md5(string_agg(c::text, E'\n' ORDER BY customer_id)) AS md5 FROM ecpower.customers c
UNION ALL SELECT 'orders', md5(string_agg(o::text, E'\n' ORDER BY order_id)) FROM ecpower.orders o
UNION ALL SELECT 'order_lines', md5(string_agg(l::text, E'\n' ORDER BY order_id, line_no)) FROM ecpower.order_lines l;
TRUNCATE ecpower.order_lines, ecpower.orders, ecpower.products, ecpower.customers RESTART IDENTITY;
SELECT lives_ok('SELECT ecpower.generate_demo_store(800, 3)', 'the same store again');
SELECT set_eq(
    $$SELECT 'customers', md5(string_agg(c::text, E'\n' ORDER BY customer_id)) FROM ecpower.customers c
      UNION ALL SELECT 'orders', md5(string_agg(o::text, E'\n' ORDER BY order_id)) FROM ecpower.orders o
      UNION ALL SELECT 'order_lines', md5(string_agg(l::text, E'\n' ORDER BY order_id, line_no)) FROM ecpower.order_lines l$$,
    'SELECT tbl, md5 FROM demo_md5',
    'same seed, same rows');

SELECT is_empty($$SELECT order_id FROM ecpower.orders WHERE refunded > total OR total < 0$$,
                'refunded never exceeds total');
SELECT is_empty($$SELECT o.order_id FROM ecpower.orders o JOIN ecpower.customers c USING (customer_id)
                   WHERE o.ordered_at <= c.created_at$$,
                'orders come after the customer was created');
SELECT is_empty($$SELECT ckey FROM ecpower.customers
                  EXCEPT SELECT generate_series(1, 800)$$,
                'ckey is dense 1..n');
SELECT ok((SELECT avg((n >= 2)::int) BETWEEN 0.25 AND 0.45
             FROM (SELECT count(*) AS n FROM ecpower.orders WHERE cancelled_at IS NULL
                    GROUP BY customer_id) s),
          'about a third of buyers buy again');
SELECT ok((SELECT count(*) FROM ecpower.customers c
            WHERE NOT EXISTS (SELECT FROM ecpower.orders o WHERE o.customer_id = c.customer_id)) > 0,
          'some customers never ordered');
SELECT ok((SELECT count(DISTINCT sales_channel) FROM ecpower.orders) >= 5, 'several sales channels');
SELECT ok((SELECT bool_or(cancelled_at IS NOT NULL) AND bool_or(refunded > 0)
                  AND bool_or(cardinality(discount_codes) > 0) AND bool_or(is_subscription)
             FROM ecpower.orders),
          'cancellations, refunds, discount codes and subscriptions occur');
SELECT ok((SELECT min(ordered_at) >= '2023-01-01' AND max(ordered_at) < '2026-01-01'
             FROM ecpower.orders),
          'orders fall in 2023-2025');

SELECT * FROM finish();
ROLLBACK;
