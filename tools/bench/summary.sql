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
