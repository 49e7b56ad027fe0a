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
\echo '== The demo store (ecpower.generate_demo_store)'
SELECT * FROM ecpower.generate_demo_store(:customers);
SELECT min(ordered_at)::date AS first_order, max(ordered_at)::date AS last_order,
       count(DISTINCT customer_id) AS buyers,
       round(100.0 * count(*) FILTER (WHERE cancelled_at IS NOT NULL) / count(*), 1) AS cancelled_pct,
       round(avg(total), 2) AS avg_order_value,
       round(100.0 * avg((cardinality(discount_codes) > 0)::int), 1) AS discounted_pct
  FROM ecpower.orders;
SELECT round(100.0 * avg((n >= 2)::int), 1) AS repeat_rate_pct,
       round(avg(n), 2) AS orders_per_buyer,
       count(*) FILTER (WHERE n >= 10) AS customers_10_plus_orders
  FROM (SELECT count(*) AS n FROM ecpower.orders WHERE cancelled_at IS NULL
         GROUP BY customer_id) s;
SELECT sales_channel, count(*) AS orders, round(sum(total - refunded), 2) AS net_revenue
  FROM ecpower.orders WHERE cancelled_at IS NULL
 GROUP BY 1 ORDER BY 2 DESC;
SELECT p.title, p.product_type, sum(l.quantity) AS units
  FROM ecpower.order_lines l JOIN ecpower.products p USING (product_id)
 GROUP BY 1, 2 ORDER BY 3 DESC, 1 LIMIT 5;

-- ------------------------------------------------------------------
-- Segments: a dozen template segments, one refresh as of the
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
-- a refresh only moves forward: the day the journey below starts from is refreshed first
CALL ecpower.refresh('2025-09-30 23:59:59+00');
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
-- Feature reports: what the repeat buyers bought first, where
-- they came from, how much they spend, what they buy together; against
-- the whole store (store_pct, lift).
-- ------------------------------------------------------------------
SELECT EXISTS (SELECT 1 FROM ecpower.refresh_state WHERE current_run_id IS NOT NULL) AS report_refreshed,
       coalesce((SELECT quote_literal(slug) FROM ecpower.segments
                  ORDER BY slug OPERATOR(pg_catalog.=) 'repeaters' DESC,
                           slug OPERATOR(pg_catalog.=) 'loyal' DESC, slug COLLATE "C"
                  LIMIT 1), 'NULL') AS report_slug \gset
\if :report_refreshed
\echo
\echo '== Feature report: first-order products of segment' :report_slug
SELECT rank, key AS product_id, label AS title, customers,
       round(share * 100, 1) AS pct, round(store_share * 100, 1) AS store_pct,
       round(lift, 2) AS lift
  FROM ecpower.feature_report(:report_slug, 'product', 'first', top => 10);

\echo
\echo '== Feature report: acquisition channels of segment' :report_slug
SELECT rank, label AS channel, customers,
       round(share * 100, 1) AS pct, round(store_share * 100, 1) AS store_pct,
       round(lift, 2) AS lift
  FROM ecpower.feature_report(:report_slug, 'acquisition_channel', top => 10);

\echo
\echo '== Feature report: weekdays of their second orders'
SELECT rank, label AS weekday, customers, round(share * 100, 1) AS pct, round(lift, 2) AS lift
  FROM ecpower.feature_report(:report_slug, 'weekday', 'second', top => 7);

\echo
\echo '== Distribution: mean order amount (automatic bins)'
SELECT bin, lower, upper, customers, round(share * 100, 1) AS pct
  FROM ecpower.distribution(:report_slug, 'amount');

\echo
\echo '== Bought together'
SELECT b.rank, pa.title AS product_a, pb.title AS product_b, b.customers,
       round(b.support * 100, 2) AS support_pct, round(b.confidence * 100, 1) AS confidence_pct,
       round(b.lift, 2) AS lift
  FROM ecpower.bought_together(:report_slug, 5) b
  JOIN ecpower.products pa ON pa.product_id = b.product_a
  JOIN ecpower.products pb ON pb.product_id = b.product_b
 ORDER BY b.rank;
\endif

\echo
\echo '== Acquisition quality by UTM campaign (customers acquired in 2024; CAC from the demo spend)'
SELECT rank, key AS campaign, customers, first_aov, repeat_rate, ltv_3m, ltv_12m, ltv, cac,
       ltv_12m_to_cac, payback_days
  FROM ecpower.acquisition_report('utm_campaign', from_date => '2024-01-01',
                                  to_date => '2024-12-31', top => 10);

\echo
\echo '== What first-time buyers of the top products buy next (second order)'
WITH n AS (SELECT * FROM ecpower.next_purchases(dimension => 'product', top => 3)
                    WITH ORDINALITY)
SELECT n.from_label AS first_product, coalesce(n.to_label, '(not yet)') AS next_product,
       n.customers, round(n.share * 100, 1) AS share_pct, n.median_days
  FROM n
 WHERE n.from_key IN (SELECT from_key FROM n GROUP BY from_key ORDER BY min(ordinality) LIMIT 3)
 ORDER BY n.ordinality;
SELECT key AS first_order_channel, customers, reordered, median_days, p25_days, p75_days
  FROM ecpower.time_to_next_order(dimension => 'sales_channel');

-- KPIs, cohorts and journeys, as of the last refresh.
-- ------------------------------------------------------------------
\echo
\echo '== KPIs of the demo segments (the last row is the whole store)'
SELECT coalesce(c.slug, '(store)') AS slug, c.customers, c.orders, c.revenue, c.ltv,
       c.aov, c.customer_aov, c.avg_orders, c.repeat_rate,
       c.median_interval_days AS median_gap, c.gross_profit, c.gross_margin,
       c.revenue_share, c.customer_share
  FROM ecpower.compare_segments(
         ARRAY(SELECT s.slug FROM ecpower.segments s ORDER BY s.slug COLLATE "C")
         || NULL::text) c;

\echo
\echo '== Gross margin by product type (list price against unit cost; lines of cancelled orders carry no cost)'
SELECT p.product_type, sum(l.quantity) AS units,
       round(1 - sum(l.quantity * l.unit_cost) / sum(l.quantity * l.price), 3) AS list_margin,
       count(*) FILTER (WHERE l.unit_cost IS NULL) AS lines_without_cost
  FROM ecpower.order_lines l JOIN ecpower.products p USING (product_id)
 GROUP BY 1 ORDER BY 1;

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
\echo '== History of the last quarter, backfilled: the 90 days before the last refresh'
\timing on
CALL ecpower.backfill('2025-10-02', '2025-12-30');
\timing off
SELECT run_id, as_of_date, status, segments, customers,
       round(extract(epoch FROM finished_at - started_at)::numeric, 2) AS seconds
  FROM ecpower.refresh_runs ORDER BY run_id DESC LIMIT 1;

\echo
\echo '== Journey between RFM groups over the last quarter (backfilled day -> last refresh)'
SELECT coalesce(j.from_slug, '(none)') AS from_slug, coalesce(j.to_slug, '(none)') AS to_slug,
       j.customers, j.revenue
  FROM ecpower.journey(ARRAY['champions', 'loyal', 'at-risk', 'dormant'],
                       '2025-10-02', '2025-12-31') j;

\echo
\echo '== Weekly KPI trend of champions from the daily snapshots (each Sunday; backfilled and refreshed days)'
SELECT day AS week_ending, customers, ltv, repeat_rate, avg_interval_days
  FROM ecpower.segment_history('champions', '2025-10-02', '2025-12-31')
 WHERE extract(isodow FROM day) = 7
 ORDER BY day;
SELECT date_trunc('week', day)::date AS week, sum(day_orders) AS orders, sum(day_revenue) AS revenue
  FROM ecpower.segment_history('champions', '2025-10-02', '2025-12-31')
 GROUP BY 1 ORDER BY 1;
