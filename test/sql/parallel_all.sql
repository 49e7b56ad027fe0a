-- Every aggregate of the extension under parallel query: the
-- catalog says PARALLEL SAFE with combine (and, for an internal state,
-- serial/deserial) functions; every aggregate has a case below (a new
-- aggregate without one shows up as missing); and for each case a forced
-- parallel plan has a Partial Aggregate, launches workers and gives the
-- serial answer, over the whole table and per group.
\i test/fixtures/setup.sql
SET client_min_messages = warning;
DROP TABLE IF EXISTS public.par_all_rows, public.par_all_cases;
RESET client_min_messages;
UPDATE ecpower.settings SET store_timezone = 'Asia/Tokyo';

-- aggregates that could not run in parallel (no rows: all can)
SELECT a.aggfnoid::regprocedure AS aggregate, p.proparallel,
       a.aggcombinefn::regproc AS combine, a.aggserialfn::regproc AS serial,
       a.aggdeserialfn::regproc AS deserial, a.aggtransspace AS sspace
  FROM pg_aggregate a
  JOIN pg_proc p ON p.oid = a.aggfnoid
  JOIN pg_depend d ON d.classid = 'pg_proc'::regclass AND d.objid = a.aggfnoid AND d.deptype = 'e'
  JOIN pg_extension e ON e.oid = d.refobjid AND e.extname = 'ecpower'
 WHERE p.proparallel <> 's'
    OR a.aggcombinefn = 0
    OR a.aggkind <> 'n'
    OR (a.aggtranstype = 'internal'::regtype
        AND (a.aggserialfn = 0 OR a.aggdeserialfn = 0 OR a.aggtransspace <= 0
             OR (SELECT proisstrict FROM pg_proc WHERE oid = a.aggcombinefn)));

-- the input: a small demo store's counted orders, plus prospects (NULL
-- order), in a regular table (scans of temporary tables never run in
-- parallel workers)
SELECT customer_rows FROM ecpower.generate_demo_store(1500, 7);
CREATE TABLE public.par_all_rows AS
SELECT o.sales_channel AS g, o.customer_id, o.ordered_at, o.total - o.refunded AS amount,
       o.total - o.refunded - (SELECT sum(l.quantity * l.unit_cost) FROM ecpower.order_lines l
                                WHERE l.order_id = o.order_id) AS profit
  FROM ecpower.orders o WHERE o.cancelled_at IS NULL
UNION ALL
SELECT 'prospect', c.customer_id, NULL, NULL, NULL FROM ecpower.customers c
 WHERE NOT EXISTS (SELECT FROM ecpower.orders o WHERE o.customer_id = c.customer_id);
ANALYZE public.par_all_rows;

-- one call per aggregate over the columns of par_all_rows
CREATE TABLE public.par_all_cases (aggregate regprocedure PRIMARY KEY, call text NOT NULL);
INSERT INTO public.par_all_cases
SELECT to_regprocedure(a), call FROM (VALUES
    ('ecpower.kpis(bigint, timestamptz, numeric)', 'ecpower.kpis(customer_id, ordered_at, amount)'),
    ('ecpower.kpis(bigint, timestamptz, numeric, numeric)',
     'ecpower.kpis(customer_id, ordered_at, amount, profit)')
  ) AS c(a, call)
 WHERE to_regprocedure(a) IS NOT NULL;

-- aggregates of the extension without a case (no rows: all are tested)
SELECT a.aggfnoid::regprocedure AS untested
  FROM pg_aggregate a
  JOIN pg_depend d ON d.classid = 'pg_proc'::regclass AND d.objid = a.aggfnoid AND d.deptype = 'e'
  JOIN pg_extension e ON e.oid = d.refobjid AND e.extname = 'ecpower'
 WHERE a.aggfnoid NOT IN (SELECT aggregate FROM public.par_all_cases);

-- plan facts and answers of one query, serial and forced parallel
CREATE FUNCTION pg_temp.par_check(q text)
RETURNS TABLE (partial_aggregate boolean, workers_launched boolean, serial_rows bigint, mismatches bigint)
LANGUAGE plpgsql AS $$
DECLARE
    plan text;
BEGIN
    SET LOCAL max_parallel_workers_per_gather = 0;
    EXECUTE 'CREATE TEMP TABLE par_serial AS ' || q;
    SET LOCAL parallel_setup_cost = 0;
    SET LOCAL parallel_tuple_cost = 0;
    SET LOCAL min_parallel_table_scan_size = 0;
    SET LOCAL max_parallel_workers_per_gather = 2;
    SET LOCAL parallel_leader_participation = off;
    EXECUTE 'EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF, FORMAT JSON) ' || q INTO plan;
    partial_aggregate := plan LIKE '%"Partial Mode": "Partial"%';
    workers_launched := (regexp_match(plan, '"Workers Launched": (\d+)'))[1]::int > 0;
    EXECUTE 'CREATE TEMP TABLE par_parallel AS ' || q;
    SELECT count(*) INTO serial_rows FROM par_serial;
    SELECT count(*) INTO mismatches
      FROM ((SELECT * FROM par_serial EXCEPT ALL SELECT * FROM par_parallel)
            UNION ALL (SELECT * FROM par_parallel EXCEPT ALL SELECT * FROM par_serial)) x;
    DROP TABLE par_serial, par_parallel;
    RETURN NEXT;
END
$$;

-- every case, whole table and per group: partial aggregation in workers,
-- same answer as the serial plan (no rows: all hold)
SELECT c.aggregate, s.shape, r.*
  FROM public.par_all_cases c
 CROSS JOIN (VALUES ('whole table'), ('group by')) AS s(shape)
 CROSS JOIN LATERAL pg_temp.par_check(
       CASE s.shape WHEN 'whole table'
            THEN format('SELECT (%s)::text AS v FROM public.par_all_rows', c.call)
            ELSE format('SELECT g, (%s)::text AS v FROM public.par_all_rows GROUP BY g', c.call) END) AS r
 WHERE NOT (r.partial_aggregate AND r.workers_launched AND r.serial_rows > 0
            AND r.mismatches = 0)
 ORDER BY 1, 2;

DROP TABLE public.par_all_rows, public.par_all_cases;
