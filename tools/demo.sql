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
