-- The segment engine's objects exist with the documented
-- signatures, errors carry the documented SQLSTATEs, and a refresh inside a
-- transaction works in the caller's transaction.
BEGIN;
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS ecpower;
RESET client_min_messages;
SET LOCAL TimeZone = 'UTC';
SELECT plan(41);

SELECT has_function('ecpower', f, args, f || '(' || array_to_string(args, ', ') || ')')
  FROM (VALUES
    ('create_segment', ARRAY['text', 'text', 'jsonb', 'text']),
    ('update_segment', ARRAY['text', 'jsonb']),
    ('drop_segment', ARRAY['text']),
    ('validate_definition', ARRAY['jsonb']),
    ('evaluate', ARRAY['jsonb', 'timestamp with time zone']),
    ('create_segment_from_template', ARRAY['text', 'text', 'jsonb', 'text']),
    ('segment_members', ARRAY['text']),
    ('segment_members', ARRAY['text', 'date']),
    ('customer_segments', ARRAY['bigint'])
  ) AS t(f, args);
SELECT function_returns('ecpower', 'create_segment', ARRAY['text', 'text', 'jsonb', 'text'], 'integer');
SELECT function_returns('ecpower', 'evaluate', ARRAY['jsonb', 'timestamp with time zone'], 'setof bigint');
SELECT function_returns('ecpower', 'customer_segments', ARRAY['bigint'], 'setof text');
SELECT has_view('ecpower', 'templates', 'view ecpower.templates');
SELECT has_view('ecpower', 'customer_rfm', 'view ecpower.customer_rfm');
SELECT columns_are('ecpower', 'templates',
    ARRAY['template', 'category', 'name', 'name_ja', 'description', 'parameters', 'definition']);
SELECT columns_are('ecpower', 'customer_rfm',
    ARRAY['customer_id', 'recency_days', 'order_count', 'revenue', 'r', 'f', 'm', 'fm', 'rfm_group']);
SELECT has_column('ecpower', 'refresh_runs', c, 'refresh_runs.' || c)
  FROM unnest(ARRAY['run_id', 'as_of', 'started_at', 'finished_at', 'status', 'segments',
                    'customers', 'error']) AS c;
SELECT ok(EXISTS (SELECT 1 FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
                   WHERE n.nspname = 'ecpower' AND p.proname = 'refresh' AND p.prokind = 'p'),
          'procedure ecpower.refresh exists');
SELECT cmp_ok((SELECT count(*) FROM ecpower.templates), '>=', 50::bigint, 'at least 50 templates');

-- errors
SELECT throws_ok($$SELECT ecpower.validate_definition('{"all": [{"orders": {"period": {"from": "2024-13-01"}}}]}')$$,
                 '22023', 'invalid segment definition at $.all[0].orders.period.from: "2024-13-01" is not a date (YYYY-MM-DD)',
                 'a malformed date is 22023 with its JSON path');
SELECT throws_ok($$SELECT ecpower.update_segment('no-such-segment', '{"orders": {}}')$$, '42704',
                 NULL, 'unknown segment: 42704');
SELECT throws_ok($$SELECT ecpower.create_segment_from_template('no_such_template', 'x')$$, '42704',
                 NULL, 'unknown template: 42704');
SELECT throws_ok($$SELECT ecpower.create_segment_from_template('lapsed', 'x', '{}')$$, '22023',
                 'template "lapsed" needs parameters: days', 'missing template parameter: 22023');

-- a small store, refreshed inside this transaction
DELETE FROM ecpower.order_lines;
DELETE FROM ecpower.orders;
DELETE FROM ecpower.customers;
INSERT INTO ecpower.customers (customer_id, country) VALUES (1, 'JP'), (2, 'US'), (3, 'JP');
INSERT INTO ecpower.orders (order_id, customer_id, ordered_at, total, refunded, cancelled_at) VALUES
    (1, 1, '2024-01-01', 10, 0, NULL), (2, 1, '2024-02-01', 30, 0, NULL),
    (3, 2, '2024-01-15', 50, 10, NULL), (4, 3, '2024-03-01', 20, 0, '2024-03-02'),
    (5, 3, '2025-01-01', 20, 0, NULL);
SELECT lives_ok($$SELECT ecpower.create_segment('t-repeat', 'Repeat', '{"orders": {}, "count": {"gte": 2}}')$$,
                'create a segment');
SELECT lives_ok($$SELECT ecpower.create_segment('t-jp-buyers', 'JP buyers',
                  '{"all": [{"country": ["jp"]}, {"orders": {}}]}')$$, 'create a second one');
SELECT results_eq($$SELECT * FROM ecpower.evaluate('{"orders": {}}', '2024-12-31')$$,
                  ARRAY[1::bigint, 2], 'evaluate: cancelled and later orders do not count');
SELECT lives_ok($$CALL ecpower.refresh('2024-12-31 12:00+00')$$, 'refresh inside a transaction block');
SELECT is((SELECT status FROM ecpower.refresh_runs ORDER BY run_id DESC LIMIT 1), 'succeeded', 'run succeeded');
SELECT is((SELECT r.as_of_date FROM ecpower.refresh_state s JOIN ecpower.refresh_runs r ON r.run_id = s.current_run_id),
          '2024-12-31'::date, 'refresh_state points at the run');
SELECT results_eq($$SELECT * FROM ecpower.segment_members('t-repeat')$$, ARRAY[1::bigint], 'current members');
SELECT results_eq($$SELECT * FROM ecpower.segment_members('t-jp-buyers', '2024-12-31')$$, ARRAY[1::bigint],
                  'members on the refreshed day');
SELECT results_eq($$SELECT * FROM ecpower.customer_segments(1)$$, ARRAY['t-jp-buyers', 't-repeat'],
                  'customer_segments');
SELECT results_eq($$SELECT rfm_group FROM ecpower.customer_rfm ORDER BY customer_id$$,
                  ARRAY['needs_attention', 'dormant', 'prospects'],
                  'RFM groups of the tiny store (tied M takes the lowest score: R3 F3 M1 -> FM 2, R1 F1 M1 -> FM 1)');
SELECT results_eq($$SELECT revenue FROM ecpower.customer_rfm ORDER BY customer_id$$,
                  ARRAY[40.00, 40.00, 0.00]::numeric[], 'RFM revenue is net');

SELECT * FROM finish();
ROLLBACK;
