-- ecpower.kpis() under a forced parallel plan: partial aggregates in the
-- workers, serialized and combined in the leader, must equal the serial
-- answer and the plain-SQL oracle.  The input is a regular table (scans of
-- temporary tables are never parallel).
\i test/fixtures/setup.sql
SET client_min_messages = warning;
DROP TABLE IF EXISTS public.kpi_par;
RESET client_min_messages;
\set ECHO none
\i test/kpi_oracle.sql
\set ECHO all
UPDATE ecpower.settings SET store_timezone = 'America/New_York';

SELECT pg_temp.o_fixture(1, 1500, 0.7);
-- the orders, plus one prospect row per customer without an order
CREATE TABLE public.kpi_par AS
SELECT (o.customer_id % 4)::text AS g, o.customer_id, o.ordered_at,
       o.total - o.refunded AS amount
  FROM ecpower.orders o WHERE o.cancelled_at IS NULL
UNION ALL
SELECT 'p', c.customer_id, NULL, NULL FROM ecpower.customers c
 WHERE NOT EXISTS (SELECT FROM ecpower.orders o WHERE o.customer_id = c.customer_id);
ANALYZE public.kpi_par;
CREATE TEMP VIEW kpi_rows AS SELECT * FROM public.kpi_par
UNION ALL SELECT 'all', customer_id, ordered_at, amount FROM public.kpi_par;

-- serial answers
SET max_parallel_workers_per_gather = 0;
CREATE TEMP TABLE serial_all AS
SELECT ecpower.kpis(customer_id, ordered_at, amount) AS k FROM public.kpi_par;
CREATE TEMP TABLE serial_groups AS
SELECT g, ecpower.kpis(customer_id, ordered_at, amount) AS k FROM public.kpi_par GROUP BY g;

-- force parallelism; the leader only gathers, so every row passes through
-- a worker's partial state and its serialization
SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SET min_parallel_table_scan_size = 0;
SET max_parallel_workers_per_gather = 2;
SET parallel_leader_participation = off;

EXPLAIN (COSTS OFF)
SELECT ecpower.kpis(customer_id, ordered_at, amount) FROM public.kpi_par;
EXPLAIN (COSTS OFF)
SELECT g, ecpower.kpis(customer_id, ordered_at, amount) FROM public.kpi_par GROUP BY g;

-- workers really ran
CREATE FUNCTION pg_temp.workers_launched(q text) RETURNS int LANGUAGE plpgsql AS $$
DECLARE
    plan json;
BEGIN
    EXECUTE 'EXPLAIN (ANALYZE, FORMAT JSON) ' || q INTO plan;
    RETURN (regexp_match(plan::text, '"Workers Launched": (\d+)'))[1]::int;
END $$;
SELECT pg_temp.workers_launched('SELECT ecpower.kpis(customer_id, ordered_at, amount) FROM public.kpi_par') > 0
       AS workers_launched;

-- parallel = serial = oracle: no rows means every figure matches
SELECT 'all' AS g, p.k AS parallel, s.k AS serial
  FROM (SELECT ecpower.kpis(customer_id, ordered_at, amount) AS k FROM public.kpi_par) p, serial_all s
 WHERE p.k IS DISTINCT FROM s.k;
SELECT coalesce(p.g, s.g) AS g, p.k AS parallel, s.k AS serial
  FROM (SELECT g, ecpower.kpis(customer_id, ordered_at, amount) AS k FROM public.kpi_par GROUP BY g) p
  FULL JOIN serial_groups s ON s.g = p.g
 WHERE p.k IS DISTINCT FROM s.k;
RESET parallel_leader_participation;
SELECT coalesce(p.g, o.g) AS g, p.k AS parallel, o.k AS oracle
  FROM (SELECT g, ecpower.kpis(customer_id, ordered_at, amount) AS k FROM public.kpi_par GROUP BY g
        UNION ALL
        SELECT 'all', ecpower.kpis(customer_id, ordered_at, amount) FROM public.kpi_par) p
  FULL JOIN pg_temp.o_kpi_groups() o ON o.g = p.g
 WHERE p.k IS DISTINCT FROM o.k;
SELECT (k).customers, (k).buyers, (k).orders FROM serial_all;

DROP VIEW kpi_rows;
DROP TABLE public.kpi_par;
