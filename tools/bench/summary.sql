-- The benchmark's table: medians per figure and size, and the ratios the
-- targets are about (on CPU time; wall time for reference).
\pset footer off
CREATE OR REPLACE VIEW bench.medians AS
SELECT label, size, count(*) AS reps,
       percentile_cont(0.5) WITHIN GROUP (ORDER BY wall_s) AS wall,
       percentile_cont(0.5) WITHIN GROUP (ORDER BY cpu_s) AS cpu
  FROM bench.results GROUP BY label, size;

CREATE OR REPLACE FUNCTION bench.cpu_of(p_label text, p_size int) RETURNS double precision
LANGUAGE sql STABLE AS $$ SELECT cpu FROM bench.medians WHERE label = p_label AND size = p_size $$;

CREATE OR REPLACE VIEW bench.summary AS
SELECT m.size, m.label AS figure, m.reps,
       round(m.wall::numeric, 3) AS wall_s, round(m.cpu::numeric, 3) AS cpu_s,
       CASE WHEN m.label IN ('refresh', 'refresh_cached', 'nightly', 'baseline')
            THEN round((m.cpu / nullif(bench.cpu_of('floor', m.size), 0))::numeric, 2) END AS x_floor,
       CASE WHEN m.label IN ('refresh', 'refresh_cached', 'nightly')
            THEN round((bench.cpu_of('baseline', m.size) / nullif(m.cpu, 0))::numeric, 1)
            WHEN m.label NOT LIKE '%\_plain' AND bench.cpu_of(m.label || '_plain', m.size) IS NOT NULL
            THEN round((bench.cpu_of(m.label || '_plain', m.size) / nullif(m.cpu, 0))::numeric, 1) END AS speedup
  FROM bench.medians m;

\echo
\echo '== ecpower benchmark: medians (CPU time of the backend; wall time on a shared machine)'
SELECT size, figure, reps, wall_s, cpu_s, x_floor AS "x floor", speedup AS "speed-up vs plain SQL"
  FROM bench.summary
 ORDER BY size, CASE figure WHEN 'generate' THEN 0 WHEN 'floor' THEN 1 WHEN 'refresh' THEN 2
                            WHEN 'refresh_cached' THEN 3 WHEN 'nightly' THEN 4 WHEN 'baseline' THEN 5
                            ELSE 6 END, figure;

-- one row per report and size: ecpower warm (pooled session) and cold (new
-- session), the plain-SQL equivalent the same two ways, DuckDB (one thread,
-- data in memory, after one untimed run), in milliseconds of CPU (wall time
-- in wall_* columns), and the ratios the targets are about
CREATE OR REPLACE FUNCTION bench.wall_of(p_label text, p_size int) RETURNS double precision
LANGUAGE sql STABLE AS $$ SELECT wall FROM bench.medians WHERE label = p_label AND size = p_size $$;

CREATE OR REPLACE VIEW bench.report_table AS
WITH r AS (
    SELECT DISTINCT size, regexp_replace(regexp_replace(label, '_(plain|duckdb)$', ''), '_warm$', '') AS report
      FROM bench.results
     WHERE label ~ '_(plain|duckdb)$' AND label NOT LIKE 'customer\_groupby%'),
m AS (
    SELECT size, report,
           1000 * bench.cpu_of(report || '_warm', size) AS warm,
           1000 * bench.cpu_of(report, size) AS cold,
           1000 * bench.cpu_of(report || '_warm_plain', size) AS plain_warm,
           1000 * bench.cpu_of(report || '_plain', size) AS plain_cold,
           1000 * bench.cpu_of(report || '_duckdb', size) AS duckdb,
           1000 * bench.wall_of(report || '_warm', size) AS wall_warm,
           1000 * bench.wall_of(report, size) AS wall_cold,
           1000 * bench.wall_of(report || '_warm_plain', size) AS wall_plain_warm,
           1000 * bench.wall_of(report || '_plain', size) AS wall_plain_cold,
           1000 * bench.wall_of(report || '_duckdb', size) AS wall_duckdb
      FROM r)
SELECT m.*,
       plain_warm / nullif(warm, 0) AS x_plain_warm,
       plain_cold / nullif(cold, 0) AS x_plain_cold,
       duckdb / nullif(warm, 0) AS x_duckdb_warm,
       duckdb / nullif(cold, 0) AS x_duckdb_cold
  FROM m;

\echo '== reports: median CPU ms (ecpower warm = pooled session, cold = new session; DuckDB: 1 thread, data in memory)'
\echo '   x plain = plain-SQL time / ecpower time (warm/warm, cold/cold); x DuckDB = DuckDB time / ecpower time'
\echo '   targets at 1M customers: warm <= 100 ms, cold <= 300 ms, x plain >= 10, x DuckDB > 1'
SELECT size, report,
       round(warm::numeric, 1) AS "ecp warm", round(cold::numeric, 1) AS "ecp cold",
       round(plain_warm::numeric, 1) AS "plain warm", round(plain_cold::numeric, 1) AS "plain cold",
       round(duckdb::numeric, 1) AS "DuckDB",
       round(x_plain_warm::numeric, 1) AS "x plain warm", round(x_plain_cold::numeric, 1) AS "x plain cold",
       round(x_duckdb_warm::numeric, 2) AS "x DuckDB warm", round(x_duckdb_cold::numeric, 2) AS "x DuckDB cold",
       concat_ws(' ',
                 CASE WHEN warm > 100 THEN 'warm>100' END,
                 CASE WHEN cold > 300 THEN 'cold>300' END,
                 CASE WHEN x_plain_warm < 10 OR x_plain_cold < 10 THEN 'plain<10x' END,
                 CASE WHEN x_duckdb_warm <= 1 THEN 'DuckDB-faster' END) AS "missed targets"
  FROM bench.report_table ORDER BY size, report;

\echo '== reports: median wall ms (a machine shared with other work: read the CPU table first)'
SELECT size, report,
       round(wall_warm::numeric, 1) AS "ecp warm", round(wall_cold::numeric, 1) AS "ecp cold",
       round(wall_plain_warm::numeric, 1) AS "plain warm", round(wall_plain_cold::numeric, 1) AS "plain cold",
       round(wall_duckdb::numeric, 1) AS "DuckDB"
  FROM bench.report_table ORDER BY size, report;

\echo '== refresh against the floor and the per-customer GROUP BY (median CPU ms; targets: refresh <= 5x floor, nightly <= 2x floor)'
SELECT s.size,
       round(1000 * bench.cpu_of('floor', s.size)::numeric) AS floor,
       round(1000 * bench.cpu_of('refresh', s.size)::numeric) AS refresh,
       round(1000 * bench.cpu_of('refresh_cached', s.size)::numeric) AS cached,
       round(1000 * bench.cpu_of('nightly', s.size)::numeric) AS nightly,
       round((bench.cpu_of('refresh', s.size) / nullif(bench.cpu_of('floor', s.size), 0))::numeric, 2) AS "refresh x floor",
       round((bench.cpu_of('nightly', s.size) / nullif(bench.cpu_of('floor', s.size), 0))::numeric, 2) AS "nightly x floor",
       round(1000 * bench.cpu_of('customer_groupby_plain', s.size)::numeric) AS "GROUP BY PG",
       round(1000 * bench.cpu_of('customer_groupby_duckdb', s.size)::numeric) AS "GROUP BY DuckDB",
       round((bench.cpu_of('customer_groupby_duckdb', s.size) / nullif(bench.cpu_of('nightly', s.size), 0))::numeric, 2) AS "DuckDB GROUP BY / nightly"
  FROM (SELECT DISTINCT size FROM bench.results) s ORDER BY 1;

\echo '== store sizes and memory'
SELECT size, label, value FROM bench.facts ORDER BY size, label;

\echo '== linearity: largest size over smallest'
SELECT a.figure, a.size AS small, b.size AS large,
       round(b.size::numeric / a.size, 2) AS size_ratio,
       round(b.cpu_s / nullif(a.cpu_s, 0), 2) AS time_ratio
  FROM bench.summary a JOIN bench.summary b USING (figure)
 WHERE a.size = (SELECT min(size) FROM bench.results) AND b.size = (SELECT max(size) FROM bench.results)
   AND a.size < b.size AND a.figure IN ('floor', 'refresh', 'refresh_cached', 'nightly', 'baseline')
 ORDER BY 1;

\echo '== equal results (mismatching rows; 0 means identical)'
SELECT what, count(*) AS checked, sum(mismatches) AS mismatching_rows,
       string_agg(name, ', ' ORDER BY name) FILTER (WHERE mismatches > 0) AS differing
  FROM bench.verify GROUP BY what ORDER BY what;

\echo '== backfill of a year of daily history (docs/backfill.md): median CPU s and ratio to one refresh'
SELECT m.size, round(m.cpu::numeric, 2) AS "backfill cpu_s", f.value AS days,
       round((m.cpu / nullif(bench.cpu_of('refresh', m.size), 0))::numeric, 1) AS "x refresh",
       round((m.cpu / nullif(bench.cpu_of('refresh_cached', m.size), 0))::numeric, 1) AS "x refresh_cached"
  FROM bench.medians m
  LEFT JOIN bench.facts f ON f.label = 'backfill_days' AND f.size = m.size
 WHERE m.label = 'backfill' ORDER BY m.size;
