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
