-- The demo run by tools/demo.sh: what ecpower shows a store owner.
-- psql variables: customers (store size).
\pset footer off
\timing off
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pg_cron;
CREATE EXTENSION IF NOT EXISTS ecpower;
RESET client_min_messages;

\echo
\echo '== Store settings'
SELECT store_timezone, currency FROM ecpower.settings;

\echo
\echo '== Demo store (generated when the input tables are empty)'
SELECT g.* FROM ecpower.generate_demo_store(:customers, 42) g
 WHERE NOT EXISTS (SELECT 1 FROM ecpower.customers);

-- ------------------------------------------------------------------
-- Segments (issue 3): a dozen template segments, one refresh as of the
-- end of the demo store's history, their sizes and the RFM groups.
-- ------------------------------------------------------------------
\echo
\echo '== Segments from templates'
SELECT ecpower.create_segment_from_template(t.template, t.slug, t.params::jsonb)
  FROM (VALUES
    ('rfm_champions', 'champions', '{}'),
    ('rfm_loyal', 'loyal', '{}'),
    ('rfm_at_risk', 'at-risk', '{}'),
    ('rfm_dormant', 'dormant', '{}'),
    ('first_time_buyers', 'first-time', '{}'),
    ('repeat_buyers', 'repeaters', '{}'),
    ('loyal_5plus', 'loyal-5plus', '{}'),
    ('f2_candidates', 'f2-candidates', '{"days": 60}'),
    ('one_and_done', 'one-and-done', '{"days": 180}'),
    ('win_back', 'win-back', '{"days": 180}'),
    ('coupon_users', 'coupon-users', '{}'),
    ('high_aov', 'high-aov', '{"amount": 100}'),
    ('active_customers', 'active-90d', '{"days": 90}')
  ) AS t(template, slug, params)
 WHERE NOT EXISTS (SELECT 1 FROM ecpower.segments s WHERE s.slug = t.slug)
 ORDER BY t.slug;

\echo
\echo '== Refresh as of the end of the demo history'
\timing on
CALL ecpower.refresh('2025-12-31 23:59:59+00');
\timing off
SELECT run_id, as_of_date, status, segments, customers,
       round(extract(epoch FROM finished_at - started_at)::numeric, 2) AS seconds
  FROM ecpower.refresh_runs ORDER BY run_id DESC LIMIT 1;

\echo
\echo '== Segment sizes'
SELECT s.slug, t.name_ja, (SELECT count(*) FROM ecpower.segment_members(s.slug)) AS members
  FROM ecpower.segments s
  LEFT JOIN ecpower.templates t ON t.name = s.name
 ORDER BY s.slug COLLATE "C";

\echo
\echo '== RFM groups'
SELECT g.rfm_group, count(c.customer_id) AS customers,
       round(avg(c.revenue), 2) AS avg_revenue, round(avg(c.recency_days)) AS avg_recency_days
  FROM ecpower.rfm_groups g
  LEFT JOIN ecpower.customer_rfm c USING (rfm_group)
 GROUP BY g.ord, g.rfm_group ORDER BY g.ord;

-- ------------------------------------------------------------------
-- KPIs, cohorts and journeys (issue 4), as of the last refresh.
-- ------------------------------------------------------------------
\echo
\echo '== KPIs of the demo segments (the last row is the whole store)'
SELECT coalesce(c.slug, '(store)') AS slug, c.customers, c.orders, c.revenue, c.ltv,
       c.aov, c.customer_aov, c.avg_orders, c.repeat_rate,
       c.median_interval_days AS median_gap, c.revenue_share, c.customer_share
  FROM ecpower.compare_segments(
         ARRAY(SELECT s.slug FROM ecpower.segments s ORDER BY s.slug COLLATE "C")
         || NULL::text) c;

\echo
\echo '== 3-, 6- and 12-month LTV of the whole store'
SELECT m AS months, w.eligible, w.ltv
  FROM unnest(ARRAY[3, 6, 12]) m, ecpower.ltv_window(NULL, m) w;

\echo
\echo '== Cohorts: % of each first-order month buying again, by month offset (last 12 cohorts)'
SELECT to_char(c.cohort_month, 'YYYY-MM') AS cohort, max(c.customers) AS customers,
       max(round(100 * c.retention, 1)) FILTER (WHERE c.month_offset = 1) AS m1,
       max(round(100 * c.retention, 1)) FILTER (WHERE c.month_offset = 2) AS m2,
       max(round(100 * c.retention, 1)) FILTER (WHERE c.month_offset = 3) AS m3,
       max(round(100 * c.retention, 1)) FILTER (WHERE c.month_offset = 4) AS m4,
       max(round(100 * c.retention, 1)) FILTER (WHERE c.month_offset = 5) AS m5,
       max(round(100 * c.retention, 1)) FILTER (WHERE c.month_offset = 6) AS m6,
       max(c.cumulative_ltv) FILTER (WHERE c.month_offset = 6) AS ltv_m6
  FROM ecpower.cohorts(NULL, 7) c
 WHERE c.cohort_month > (SELECT max(cohort_month) FROM ecpower.cohorts(NULL, 1)) - interval '12 months'
 GROUP BY c.cohort_month ORDER BY c.cohort_month;

\echo
\echo '== Cohort LTV and F2 conversion (NULL: window not elapsed yet; last 15 cohorts)'
SELECT to_char(s.cohort_month, 'YYYY-MM') AS cohort, s.customers, s.ltv_3m, s.ltv_6m,
       s.ltv_12m, s.f2_rate, s.f2_rate_90d
  FROM ecpower.cohort_summary(NULL) s
 WHERE s.cohort_month > (SELECT max(cohort_month) FROM ecpower.cohort_summary(NULL)) - interval '15 months'
 ORDER BY s.cohort_month;

\echo
\echo '== Journey between RFM groups over the last quarter (refreshed on both days)'
SELECT as_of_date AS journey_to FROM ecpower.refresh_runs r
  JOIN ecpower.refresh_state s ON s.current_run_id = r.run_id \gset
CALL ecpower.refresh('2025-09-30 23:59:59+00');
SELECT as_of_date AS journey_from FROM ecpower.refresh_runs ORDER BY run_id DESC LIMIT 1 \gset
CALL ecpower.refresh('2025-12-31 23:59:59+00');
SELECT coalesce(j.from_slug, '(none)') AS from_slug, coalesce(j.to_slug, '(none)') AS to_slug,
       j.customers, j.revenue
  FROM ecpower.journey(ARRAY['champions', 'loyal', 'at-risk', 'dormant'],
                       :'journey_from', :'journey_to') j;

\echo
\echo '== KPI history of champions (one snapshot per refreshed day)'
SELECT day, customers, ltv, repeat_rate, day_orders, day_revenue
  FROM ecpower.segment_history('champions');
