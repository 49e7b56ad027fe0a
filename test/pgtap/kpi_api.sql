-- The KPI, cohort and journey functions exist with the documented
-- signatures and columns; the kpis() aggregate can run in parallel
BEGIN;
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS ecpower;
RESET client_min_messages;
SELECT plan(37);

SELECT has_type('ecpower', 'kpi', 'type ecpower.kpi');
SELECT is(
    (SELECT array_agg(attname::text ORDER BY attnum) FROM pg_attribute
      WHERE attrelid = 'ecpower.kpi'::regclass AND attnum > 0),
    ARRAY['customers', 'buyers', 'orders', 'revenue', 'ltv', 'aov', 'customer_aov',
          'avg_orders', 'repeat_rate', 'avg_interval_days', 'median_interval_days',
          'avg_lifetime_days', 'gross_profit', 'gross_margin'],
    'ecpower.kpi has the documented columns in order');

-- the aggregate
SELECT has_function('ecpower', 'kpis', ARRAY['bigint', 'timestamp with time zone', 'numeric'],
                    'aggregate ecpower.kpis(bigint, timestamptz, numeric)');
SELECT is_aggregate('ecpower', 'kpis', ARRAY['bigint', 'timestamp with time zone', 'numeric'],
                    'kpis is an aggregate');
SELECT function_returns('ecpower', 'kpis', ARRAY['bigint', 'timestamp with time zone', 'numeric'],
                        'ecpower.kpi', 'kpis returns ecpower.kpi');
SELECT is(p.proparallel, 's', 'kpis is PARALLEL SAFE')
  FROM pg_proc p WHERE p.oid = 'ecpower.kpis(bigint, timestamptz, numeric)'::regprocedure;
SELECT isnt(a.aggcombinefn, 0::regproc, 'kpis has a combine function')
  FROM pg_aggregate a WHERE a.aggfnoid = 'ecpower.kpis(bigint, timestamptz, numeric)'::regprocedure;
SELECT isnt(a.aggserialfn, 0::regproc, 'kpis has a serial function')
  FROM pg_aggregate a WHERE a.aggfnoid = 'ecpower.kpis(bigint, timestamptz, numeric)'::regprocedure;
SELECT isnt(a.aggdeserialfn, 0::regproc, 'kpis has a deserial function')
  FROM pg_aggregate a WHERE a.aggfnoid = 'ecpower.kpis(bigint, timestamptz, numeric)'::regprocedure;
SELECT cmp_ok(a.aggtransspace, '>', 0, 'kpis has an SSPACE')
  FROM pg_aggregate a WHERE a.aggfnoid = 'ecpower.kpis(bigint, timestamptz, numeric)'::regprocedure;
SELECT is(a.aggtranstype::regtype, 'internal'::regtype, 'kpis has an internal state')
  FROM pg_aggregate a WHERE a.aggfnoid = 'ecpower.kpis(bigint, timestamptz, numeric)'::regprocedure;

-- the aggregate with gross profit: the same state and support functions
SELECT is_aggregate('ecpower', 'kpis', ARRAY['bigint', 'timestamp with time zone', 'numeric', 'numeric'],
                    'kpis(customer_id, ordered_at, amount, gross_profit) is an aggregate');
SELECT function_returns('ecpower', 'kpis', ARRAY['bigint', 'timestamp with time zone', 'numeric', 'numeric'],
                        'ecpower.kpi', 'kpis with gross profit returns ecpower.kpi');
SELECT is(p.proparallel, 's', 'kpis with gross profit is PARALLEL SAFE')
  FROM pg_proc p WHERE p.oid = 'ecpower.kpis(bigint, timestamptz, numeric, numeric)'::regprocedure;
SELECT is(a.aggcombinefn, b.aggcombinefn, 'kpis with gross profit combines as kpis does')
  FROM pg_aggregate a, pg_aggregate b
 WHERE a.aggfnoid = 'ecpower.kpis(bigint, timestamptz, numeric, numeric)'::regprocedure
   AND b.aggfnoid = 'ecpower.kpis(bigint, timestamptz, numeric)'::regprocedure;
SELECT is(a.aggserialfn, b.aggserialfn, 'kpis with gross profit serializes as kpis does')
  FROM pg_aggregate a, pg_aggregate b
 WHERE a.aggfnoid = 'ecpower.kpis(bigint, timestamptz, numeric, numeric)'::regprocedure
   AND b.aggfnoid = 'ecpower.kpis(bigint, timestamptz, numeric)'::regprocedure;
SELECT is(a.aggdeserialfn, b.aggdeserialfn, 'kpis with gross profit deserializes as kpis does')
  FROM pg_aggregate a, pg_aggregate b
 WHERE a.aggfnoid = 'ecpower.kpis(bigint, timestamptz, numeric, numeric)'::regprocedure
   AND b.aggfnoid = 'ecpower.kpis(bigint, timestamptz, numeric)'::regprocedure;
SELECT cmp_ok(a.aggtransspace, '>', 0, 'kpis with gross profit has an SSPACE')
  FROM pg_aggregate a WHERE a.aggfnoid = 'ecpower.kpis(bigint, timestamptz, numeric, numeric)'::regprocedure;

-- reports
SELECT has_function('ecpower', 'segment_kpis', ARRAY['text', 'date', 'date'], 'segment_kpis');
SELECT function_returns('ecpower', 'segment_kpis', ARRAY['text', 'date', 'date'], 'ecpower.kpi',
                        'segment_kpis returns one ecpower.kpi row');
SELECT has_function('ecpower', 'segment_history', ARRAY['text', 'date', 'date'], 'segment_history');
SELECT has_function('ecpower', 'ltv_window', ARRAY['text', 'integer'], 'ltv_window');
SELECT has_function('ecpower', 'compare_segments', ARRAY['text[]'], 'compare_segments');
SELECT has_function('ecpower', 'segment_revenue', ARRAY['text[]', 'text', 'date', 'date'], 'segment_revenue');
SELECT has_function('ecpower', 'cohorts', ARRAY['text', 'integer'], 'cohorts');
SELECT has_function('ecpower', 'cohort_summary', ARRAY['text'], 'cohort_summary');
SELECT has_function('ecpower', 'journey', ARRAY['text[]', 'date', 'date'], 'journey');
SELECT has_function('ecpower', '_snapshot_kpis', ARRAY['bigint'], '_snapshot_kpis');
SELECT has_table('ecpower', 'kpi_snapshots', 'table ecpower.kpi_snapshots');

-- result columns
SELECT is(
    (SELECT proargnames[array_position(proargmodes, 't'):] FROM pg_proc
      WHERE oid = 'ecpower.segment_history(text, date, date)'::regprocedure),
    ARRAY['day', 'customers', 'buyers', 'orders', 'revenue', 'ltv', 'aov', 'customer_aov',
          'avg_orders', 'repeat_rate', 'avg_interval_days', 'median_interval_days',
          'avg_lifetime_days', 'gross_profit', 'gross_margin', 'day_orders',
          'day_revenue']::text[],
    'segment_history columns');
SELECT is(
    (SELECT proargnames[array_position(proargmodes, 't'):] FROM pg_proc
      WHERE oid = 'ecpower.ltv_window(text, integer)'::regprocedure),
    ARRAY['eligible', 'ltv']::text[], 'ltv_window columns');
SELECT is(
    (SELECT proargnames[array_position(proargmodes, 't'):] FROM pg_proc
      WHERE oid = 'ecpower.compare_segments(text[])'::regprocedure),
    ARRAY['slug', 'customers', 'buyers', 'orders', 'revenue', 'ltv', 'aov', 'customer_aov',
          'avg_orders', 'repeat_rate', 'avg_interval_days', 'median_interval_days',
          'avg_lifetime_days', 'gross_profit', 'gross_margin', 'revenue_share',
          'customer_share']::text[],
    'compare_segments columns');
SELECT is(
    (SELECT proargnames[array_position(proargmodes, 't'):] FROM pg_proc
      WHERE oid = 'ecpower.segment_revenue(text[], text, date, date)'::regprocedure),
    ARRAY['slug', 'period_start', 'buyers', 'orders', 'revenue']::text[], 'segment_revenue columns');
SELECT is(
    (SELECT proargnames[array_position(proargmodes, 't'):] FROM pg_proc
      WHERE oid = 'ecpower.cohorts(text, integer)'::regprocedure),
    ARRAY['cohort_month', 'customers', 'month_offset', 'active_customers', 'retention',
          'revenue', 'cumulative_ltv']::text[], 'cohorts columns');
SELECT is(
    (SELECT proargnames[array_position(proargmodes, 't'):] FROM pg_proc
      WHERE oid = 'ecpower.cohort_summary(text)'::regprocedure),
    ARRAY['cohort_month', 'customers', 'ltv_3m', 'ltv_6m', 'ltv_12m', 'f2_rate',
          'f2_rate_90d']::text[], 'cohort_summary columns');
SELECT is(
    (SELECT proargnames[array_position(proargmodes, 't'):] FROM pg_proc
      WHERE oid = 'ecpower.journey(text[], date, date)'::regprocedure),
    ARRAY['from_slug', 'to_slug', 'customers', 'revenue']::text[], 'journey columns');

-- nothing is executable by PUBLIC
SELECT is(count(*), 0::bigint, 'no KPI function is executable by PUBLIC')
  FROM pg_proc p
 WHERE p.pronamespace = 'ecpower'::regnamespace
   AND p.proname IN ('kpis', 'segment_kpis', 'segment_history', 'ltv_window',
                     'compare_segments', 'segment_revenue', 'cohorts', 'cohort_summary',
                     'journey', '_snapshot_kpis')
   AND has_function_privilege('public', p.oid, 'EXECUTE');

SELECT * FROM finish();
ROLLBACK;
