-- SQLSTATEs of the KPI, cohort and journey functions, and the KPI snapshot
-- a refresh stores inside its own transaction
BEGIN;
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS ecpower;
RESET client_min_messages;
SET LOCAL TimeZone = 'UTC';
SELECT plan(24);

-- never refreshed: 55000
SELECT throws_ok($$SELECT * FROM ecpower.segment_kpis(NULL)$$, '55000', NULL, 'segment_kpis before any refresh');
SELECT throws_ok($$SELECT * FROM ecpower.cohorts(NULL)$$, '55000', NULL, 'cohorts before any refresh');

INSERT INTO ecpower.customers (customer_id) VALUES (1), (2);
INSERT INTO ecpower.orders (order_id, customer_id, ordered_at, total) VALUES
    (1, 1, '2024-01-10 10:00+00', 10), (2, 1, '2024-02-10 10:00+00', 20),
    (3, 2, '2024-03-10 10:00+00', 30);
SELECT ecpower.create_segment('repeat', 'Repeat', '{"orders": {}, "count": {"gte": 2}}');
CALL ecpower.refresh('2024-03-31 12:00+00');

-- the refresh stored one snapshot for the store and one for the segment
SELECT is(count(*), 2::bigint, 'refresh stored two KPI snapshots') FROM ecpower.kpi_snapshots;
SELECT is((SELECT customers FROM ecpower.segment_history('repeat')), 1::bigint,
          'segment_history reads the snapshot');
SELECT is((SELECT orders FROM ecpower.segment_history(NULL)), 3::bigint,
          'the whole store snapshot');
SELECT is((ecpower.segment_kpis('repeat')).median_interval_days, 31.0, 'median gap of one customer');

-- unknown segments: 42704
SELECT throws_ok($$SELECT * FROM ecpower.segment_kpis('nope')$$, '42704', NULL, 'segment_kpis unknown slug');
SELECT throws_ok($$SELECT * FROM ecpower.segment_history('nope')$$, '42704', NULL, 'segment_history unknown slug');
SELECT throws_ok($$SELECT * FROM ecpower.ltv_window('nope', 3)$$, '42704', NULL, 'ltv_window unknown slug');
SELECT throws_ok($$SELECT * FROM ecpower.compare_segments(ARRAY['repeat', 'nope'])$$, '42704', NULL, 'compare_segments unknown slug');
SELECT throws_ok($$SELECT * FROM ecpower.segment_revenue(ARRAY['nope'], 'day', '2024-01-01', '2024-01-31')$$, '42704', NULL, 'segment_revenue unknown slug');
SELECT throws_ok($$SELECT * FROM ecpower.cohorts('nope')$$, '42704', NULL, 'cohorts unknown slug');
SELECT throws_ok($$SELECT * FROM ecpower.cohort_summary('nope')$$, '42704', NULL, 'cohort_summary unknown slug');
SELECT throws_ok($$SELECT * FROM ecpower.journey(ARRAY['nope'], '2024-03-31', '2024-03-31')$$, '42704', NULL, 'journey unknown slug');

-- bad parameters: 22023
SELECT throws_ok($$SELECT * FROM ecpower.segment_revenue(ARRAY['repeat'], 'quarter', '2024-01-01', '2024-01-31')$$,
                 '22023', 'unknown grain "quarter"', 'unknown grain');
SELECT throws_ok($$SELECT * FROM ecpower.segment_revenue(ARRAY['repeat'], 'day', '2024-02-01', '2024-01-31')$$,
                 '22023', NULL, 'segment_revenue from after to');
SELECT throws_ok($$SELECT * FROM ecpower.segment_kpis('repeat', '2024-02-01', '2024-01-31')$$,
                 '22023', NULL, 'segment_kpis from after to');
SELECT throws_ok($$SELECT * FROM ecpower.ltv_window('repeat', 0)$$, '22023', NULL, 'ltv_window months 0');
SELECT throws_ok($$SELECT * FROM ecpower.cohorts('repeat', 0)$$, '22023', NULL, 'cohorts months 0');
SELECT throws_ok($$SELECT * FROM ecpower.journey(ARRAY['repeat'], '2024-03-30', '2024-03-31')$$,
                 '22023', 'no refresh ran for 2024-03-30', 'journey names a day without a refresh');
SELECT throws_ok($$SELECT * FROM ecpower.journey(ARRAY['repeat', 'repeat'], '2024-03-31', '2024-03-31')$$,
                 '22023', NULL, 'journey duplicate slug');
SELECT throws_ok($$SELECT ecpower.kpis(1, 'infinity', 1)$$, '22023', NULL, 'kpis infinite time');
SELECT throws_ok($$SELECT ecpower._kpis_state_rows('\x01'::bytea)$$, '22P03', NULL, 'truncated kpis state');

-- a second refresh of the same day replaces its snapshots
CALL ecpower.refresh('2024-03-31 18:00+00');
SELECT is(count(*), 2::bigint, 'a re-run of the same day keeps two snapshots') FROM ecpower.kpi_snapshots;

SELECT * FROM finish();
ROLLBACK;
