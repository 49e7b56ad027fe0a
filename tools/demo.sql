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
-- Feature reports (issue 5): what the repeat buyers bought first, where
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
