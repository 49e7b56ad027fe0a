-- Upgrades (docs/upgrades.md): a store installed with 0.1.0 goes through
-- every released version, 0.1.0 -> 0.2.0 -> 1.0.0 -> 1.1.0, refreshing on
-- the way.  Its data must survive each step, its catalog must equal a fresh
-- install of the current version object by object, and its reports must equal those of a fresh
-- install loaded with the same rows and refreshed on the same days.  The
-- one-step update from 0.1.0 (PostgreSQL chains the scripts) ends in the
-- same catalog.  Only the current library is installed here, so the store
-- is refreshed once it is at the current version; test/t/800_upgrade.pl refreshes with the
-- 0.2.0 library before it swaps in the new one.
\i test/fixtures/setup.sql
\set ECHO none
\i test/fixtures/catalog.sql
\i test/fixtures/upgrade_store.sql
\set ECHO all
SET client_min_messages = warning;
DROP EXTENSION ecpower CASCADE;
RESET client_min_messages;

-- the released scripts and the update paths between them
SELECT source, target, path FROM pg_extension_update_paths('ecpower')
 WHERE path IS NOT NULL ORDER BY source COLLATE "C", target COLLATE "C";

-- 1. the first release, with the first batch of the store
CREATE EXTENSION ecpower VERSION '0.1.0';
SELECT extversion FROM pg_extension WHERE extname = 'ecpower';
SELECT ecp_check.load_store(1);
CREATE TEMP TABLE input_010 AS SELECT * FROM ecp_check.input_md5();

-- 2. to 0.2.0: the data is kept (0 rows); segments defined
ALTER EXTENSION ecpower UPDATE TO '0.2.0';
SELECT extversion FROM pg_extension WHERE extname = 'ecpower';
SELECT * FROM input_010 EXCEPT SELECT * FROM ecp_check.input_md5();
SELECT ecp_check.define_segments();
CREATE TEMP TABLE input_020 AS SELECT * FROM ecp_check.input_md5();
CREATE TEMP TABLE state_020 AS SELECT * FROM ecp_check.state_md5();

-- 3. to 1.0.0: inputs and definitions are kept (0 rows)
ALTER EXTENSION ecpower UPDATE TO '1.0.0';
SELECT extversion FROM pg_extension WHERE extname = 'ecpower';
SELECT * FROM input_020 EXCEPT SELECT * FROM ecp_check.input_md5();
SELECT * FROM state_020 EXCEPT SELECT * FROM ecp_check.state_md5();
-- 3b. to 1.1.0: inputs and definitions are kept (0 rows)
ALTER EXTENSION ecpower UPDATE TO '1.1.0';
SELECT extversion FROM pg_extension WHERE extname = 'ecpower';
SELECT * FROM input_020 EXCEPT SELECT * FROM ecp_check.input_md5();
SELECT * FROM state_020 EXCEPT SELECT * FROM ecp_check.state_md5();
-- predictions keep the model 0.2.0 fitted
SELECT model FROM ecpower.prediction_settings;
-- customer keys continue after the update
INSERT INTO ecpower.customers (customer_id) VALUES (241);
SELECT ckey FROM ecpower.customers WHERE customer_id = 241;
DELETE FROM ecpower.customers WHERE customer_id = 241;

-- refreshed, the second batch loaded, refreshed again
CALL ecpower.refresh('2024-03-31 12:00+00');
SELECT ecp_check.load_store(2);
CALL ecpower.refresh('2024-06-30 12:00+00');
SELECT status, count(*) FROM ecpower.refresh_runs GROUP BY 1 ORDER BY 1;
SELECT s.slug, (SELECT count(*) FROM ecpower.segment_members(s.slug)) AS members,
       (SELECT count(*) FROM ecpower.segment_members(s.slug, '2024-03-31')) AS on_0331
  FROM ecpower.segments s ORDER BY 1;
CREATE TEMP TABLE updated AS SELECT * FROM ecp_check.objects();
CREATE TEMP TABLE updated_reports AS SELECT * FROM ecp_check.reports();

-- 4. a fresh install of 1.1.0 given the same rows and the same refreshes
SET client_min_messages = warning;
DROP EXTENSION ecpower CASCADE;
RESET client_min_messages;
CREATE EXTENSION ecpower;
SELECT ecp_check.load_store(1);
SELECT ecp_check.define_segments();
INSERT INTO ecpower.customers (customer_id) VALUES (241);
DELETE FROM ecpower.customers WHERE customer_id = 241;
CALL ecpower.refresh('2024-03-31 12:00+00');
SELECT ecp_check.load_store(2);
CALL ecpower.refresh('2024-06-30 12:00+00');
CREATE TEMP TABLE fresh AS SELECT * FROM ecp_check.objects();
CREATE TEMP TABLE fresh_reports AS SELECT * FROM ecp_check.reports();

-- the listing covers the whole extension
SELECT count(*) > 700 AS many_rows,
       count(*) FILTER (WHERE kind = 'function') > 100 AS functions,
       count(*) FILTER (WHERE kind = 'column') > 250 AS columns,
       count(*) FILTER (WHERE kind = 'trigger') > 20 AS triggers,
       count(*) FILTER (WHERE kind = 'member') > 140 AS members,
       count(*) FILTER (WHERE kind = 'foreign-data wrapper') AS fdws
  FROM fresh;
-- the reports cover every segment and report
SELECT count(DISTINCT report) AS reports, count(*) > 500 AS many_rows FROM fresh_reports;

-- every object that differs between the updated and the fresh catalog
-- (0 rows); then their definitions, side by side (0 rows)
SELECT * FROM ecp_check.diff('updated', 'fresh');
(SELECT 'after update' AS side, * FROM updated EXCEPT ALL SELECT 'after update', * FROM fresh)
UNION ALL
(SELECT 'fresh install', * FROM fresh EXCEPT ALL SELECT 'fresh install', * FROM updated)
ORDER BY 2, 3, 1;

-- every report answer that differs (0 rows)
(SELECT 'after update' AS side, * FROM updated_reports
 EXCEPT ALL SELECT 'after update', * FROM fresh_reports)
UNION ALL
(SELECT 'fresh install', * FROM fresh_reports
 EXCEPT ALL SELECT 'fresh install', * FROM updated_reports)
ORDER BY 2, 3, 1;

-- 5. 0.1.0 -> 1.1.0 in one ALTER EXTENSION UPDATE (to the default version)
SET client_min_messages = warning;
DROP EXTENSION ecpower CASCADE;
RESET client_min_messages;
CREATE EXTENSION ecpower VERSION '0.1.0';
SELECT ecp_check.load_store(1);
CREATE TEMP TABLE input_010_chain AS SELECT * FROM ecp_check.input_md5();
ALTER EXTENSION ecpower UPDATE;
SELECT extversion = default_version AS at_default_version, extversion
  FROM pg_extension, pg_available_extensions WHERE extname = 'ecpower' AND name = extname;
SELECT * FROM input_010_chain EXCEPT SELECT * FROM ecp_check.input_md5();
CREATE TEMP TABLE chained AS SELECT * FROM ecp_check.objects();
SELECT * FROM ecp_check.diff('chained', 'fresh');

SET client_min_messages = warning;
DROP EXTENSION ecpower CASCADE;
DROP SCHEMA ecp_check CASCADE;
