-- tools/load.sh: order amounts of a random segment
\set k random(1, :nseg)
SELECT count(*) FROM ecpower.distribution(
    (SELECT slug FROM ecpower.segments ORDER BY segment_id OFFSET :k - 1 LIMIT 1), 'amount');
