-- tools/load.sh: the members of a random segment
\set k random(1, :nseg)
SELECT count(*) FROM ecpower.segment_members(
    (SELECT slug FROM ecpower.segments ORDER BY segment_id OFFSET :k - 1 LIMIT 1));
