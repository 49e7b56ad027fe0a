-- tools/load.sh: the KPI row of a random segment
\set k random(1, :nseg)
SELECT * FROM ecpower.segment_kpis(
    (SELECT slug FROM ecpower.segments ORDER BY segment_id OFFSET :k - 1 LIMIT 1));
