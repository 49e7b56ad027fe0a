-- tools/load.sh: five segments side by side
\set k random(1, :nseg - 4)
SELECT count(*) FROM ecpower.compare_segments(ARRAY(
    SELECT slug FROM ecpower.segments ORDER BY segment_id OFFSET :k - 1 LIMIT 5));
