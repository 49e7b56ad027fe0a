-- Feature reports (README "Feature reports"): signatures, errors, and a store small enough to
-- check every figure by hand
BEGIN;
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS ecpower;
RESET client_min_messages;
SET TimeZone = 'UTC';
SELECT plan(26);

SELECT has_function('ecpower', 'feature_report',
    ARRAY['text', 'text', 'text', 'date', 'date', 'integer', 'boolean'], 'feature_report exists');
SELECT has_function('ecpower', 'distribution',
    ARRAY['text', 'text', 'text', 'date', 'date', 'numeric[]'], 'distribution exists');
SELECT has_function('ecpower', 'bought_together',
    ARRAY['text', 'integer', 'text', 'date', 'date'], 'bought_together exists');
SELECT is(pg_get_function_result('ecpower.feature_report(text, text, text, date, date, integer, boolean)'::regprocedure),
    'TABLE(rank integer, key text, label text, customers bigint, share numeric, store_share numeric, lift numeric)',
    'feature_report columns');
SELECT is(pg_get_function_result('ecpower.distribution(text, text, text, date, date, numeric[])'::regprocedure),
    'TABLE(bin integer, lower numeric, upper numeric, customers bigint, share numeric)',
    'distribution columns');
SELECT is(pg_get_function_result('ecpower.bought_together(text, integer, text, date, date)'::regprocedure),
    'TABLE(rank integer, product_a bigint, label_a text, product_b bigint, label_b text, customers bigint, support numeric, confidence numeric, lift numeric)',
    'bought_together columns');
SELECT is(pg_get_function_arguments('ecpower.feature_report(text, text, text, date, date, integer, boolean)'::regprocedure),
    'slug text, dimension text, variant text DEFAULT ''all''::text, from_date date DEFAULT NULL::date, to_date date DEFAULT NULL::date, top integer DEFAULT 10, ascending boolean DEFAULT false',
    'feature_report arguments: the period is from_date, to_date');
SELECT is(pg_get_function_arguments('ecpower.distribution(text, text, text, date, date, numeric[])'::regprocedure),
    'slug text, measure text, variant text DEFAULT ''all''::text, from_date date DEFAULT NULL::date, to_date date DEFAULT NULL::date, bins numeric[] DEFAULT NULL::numeric[]',
    'distribution arguments: the period is from_date, to_date');
SELECT is(pg_get_function_arguments('ecpower.bought_together(text, integer, text, date, date)'::regprocedure),
    'slug text, top integer DEFAULT 10, variant text DEFAULT ''all''::text, from_date date DEFAULT NULL::date, to_date date DEFAULT NULL::date',
    'bought_together arguments: the period is from_date, to_date');

SELECT throws_ok($$SELECT * FROM ecpower.feature_report(NULL, 'product')$$, '55000', NULL,
    'no refresh yet: 55000');

-- customer 1: two orders (Google, then google with products 10 and 11)
-- customer 2: one order (Direct, product 11); customer 3: no order
-- customer 4: a cancelled order, then one with product 12 on two lines
INSERT INTO ecpower.products (product_id, title) VALUES (10, 'Tea'), (11, 'Cup'), (12, 'Pot');
INSERT INTO ecpower.customers (customer_id, country) VALUES (1, 'JP'), (2, 'jp'), (3, 'US'), (4, NULL);
INSERT INTO ecpower.orders (order_id, customer_id, ordered_at, total, acquisition_channel, cancelled_at) VALUES
    (101, 1, '2024-01-05 10:00+00', 30, 'Google', NULL),
    (102, 1, '2024-02-10 10:00+00', 50, 'google', NULL),
    (103, 2, '2024-01-06 10:00+00', 20, 'Direct', NULL),
    (104, 4, '2024-03-01 10:00+00', 10, 'Google', '2024-03-02 00:00+00'),
    (105, 4, '2024-03-02 10:00+00', 40, NULL, NULL),
    (106, 2, '2025-06-01 10:00+00', 99, 'Google', NULL);   -- after as_of
INSERT INTO ecpower.order_lines (order_id, line_no, product_id, quantity, price) VALUES
    (101, 1, 10, 1, 30), (102, 1, 10, 1, 25), (102, 2, 11, 2, 12.5),
    (103, 1, 11, 1, 20), (104, 1, 10, 1, 10), (105, 1, 12, 1, 20), (105, 2, 12, 3, 20),
    (106, 1, 12, 1, 99);
INSERT INTO ecpower.refresh_runs (as_of, as_of_date, finished_at, status)
    VALUES ('2024-12-31 00:00+00', '2024-12-31', now(), 'succeeded');
UPDATE ecpower.refresh_state SET current_run_id = (SELECT max(run_id) FROM ecpower.refresh_runs);

SELECT results_eq(
    $$SELECT rank, key, label, customers, share FROM ecpower.feature_report(NULL, 'acquisition_channel')$$,
    $$VALUES (1, 'direct', 'Direct', 1::bigint, 1 / 3::numeric),
             (2, 'google', 'Google', 1::bigint, 1 / 3::numeric)$$,
    'channels: one key per spelling-insensitive value, ties by key, NULL skipped, cancelled and later orders ignored');
SELECT results_eq(
    $$SELECT key, customers, share, store_share, lift FROM ecpower.feature_report(NULL, 'acquisition_channel', 'second')$$,
    $$VALUES ('google', 1::bigint, 1::numeric, 1::numeric, 1::numeric)$$,
    'second orders: the denominator is customers with >= 2 orders');
SELECT results_eq(
    $$SELECT key, label, customers FROM ecpower.feature_report(NULL, 'product', 'first')$$,
    $$VALUES ('10', 'Tea', 1::bigint), ('11', 'Cup', 1::bigint), ('12', 'Pot', 1::bigint)$$,
    'first-order products, keyed by product id');
SELECT results_eq(
    $$SELECT key, customers FROM ecpower.feature_report(NULL, 'product', 'all', '2024-01-06', '2024-02-10')$$,
    $$VALUES ('11', 2::bigint), ('10', 1::bigint)$$,
    'period edges are inclusive (orders on 2024-01-06 and 2024-02-10)');
SELECT results_eq(
    $$SELECT rank, key FROM ecpower.feature_report(NULL, 'product', top => 2, ascending => true)$$,
    $$VALUES (1, '10'), (2, '12')$$,
    'ascending: least customers first, ties by key; top cuts');
SELECT results_eq(
    $$SELECT key, label, customers FROM ecpower.feature_report(NULL, 'country')$$,
    $$VALUES ('jp', 'JP', 2::bigint)$$,
    'customer attributes: only customers with a selected order; JP and jp are one value');
SELECT results_eq(
    $$SELECT key, label, customers FROM ecpower.feature_report(NULL, 'weekday', 'latest')$$,
    $$VALUES ('6', 'Sat', 3::bigint)$$,
    'weekday labels (2024-01-06, 2024-02-10 and 2024-03-02 were Saturdays)');
SELECT results_eq(
    $$SELECT key, customers FROM ecpower.feature_report(NULL, 'bought_together')$$,
    $$VALUES ('10', 1::bigint), ('11', 1::bigint)$$,
    'bought_together dimension: only orders with >= 2 distinct products');
SELECT results_eq(
    $$SELECT rank, product_a, label_a, product_b, label_b, customers, support, confidence, lift
        FROM ecpower.bought_together(NULL)$$,
    $$VALUES (1, 10::bigint, 'Tea', 11::bigint, 'Cup', 1::bigint, 1 / 3::numeric, 1::numeric, 3 / 2::numeric)$$,
    'bought_together: titles, support, confidence and lift');
SELECT results_eq(
    $$SELECT bin, lower, upper, customers, share FROM ecpower.distribution(NULL, 'order_count', bins => '{1, 2}')$$,
    $$VALUES (1, 1::numeric, 2::numeric, 2::bigint, 2 / 3::numeric),
             (2, 2::numeric, NULL::numeric, 1::bigint, 1 / 3::numeric)$$,
    'order_count distribution');
SELECT results_eq(
    $$SELECT lower, customers FROM ecpower.distribution(NULL, 'interval_days', 'second', bins => '{0, 36, 37}')$$,
    $$VALUES (0::numeric, 0::bigint), (36::numeric, 1::bigint), (37::numeric, 0::bigint)$$,
    'interval_days second: the gap from the first to the second order');
SELECT results_eq(
    $$SELECT lower, customers FROM ecpower.distribution(NULL, 'items', bins => '{1, 2, 4}')$$,
    $$VALUES (1::numeric, 1::bigint), (2::numeric, 1::bigint), (4::numeric, 1::bigint)$$,
    'items: mean items per order (customer 1: (1 + 3) / 2, customer 2: 1, customer 4: 4)');
SELECT results_eq(
    $$SELECT lower, customers FROM ecpower.distribution(NULL, 'amount', bins => '{20, 40, 41}')$$,
    $$VALUES (20::numeric, 1::bigint), (40::numeric, 2::bigint), (41::numeric, 0::bigint)$$,
    'amount: mean net amount; a value on an edge opens that bin');
SELECT throws_ok($$SELECT * FROM ecpower.feature_report(NULL, 'colour')$$, '22023',
    'unknown dimension "colour"', 'unknown dimension');
SELECT throws_ok($$SELECT * FROM ecpower.distribution(NULL, 'height')$$, '22023',
    'unknown measure "height"', 'unknown measure');
SELECT throws_ok($$SELECT * FROM ecpower.bought_together('nosuch')$$, '42704',
    'segment "nosuch" does not exist', 'unknown segment');

SELECT * FROM finish();
ROLLBACK;
