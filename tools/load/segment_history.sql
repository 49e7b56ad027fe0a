-- tools/load.sh: the stored KPI history of a random segment
\set k random(1, :nseg)
SELECT count(*) FROM ecpower.segment_history(
    (SELECT slug FROM ecpower.segments ORDER BY segment_id OFFSET :k - 1 LIMIT 1));
