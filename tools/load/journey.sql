-- tools/load.sh: moves between three segments over the two refreshed days
\set k random(1, :nseg - 2)
SELECT count(*) FROM ecpower.journey(
    ARRAY(SELECT slug FROM ecpower.segments ORDER BY segment_id OFFSET :k - 1 LIMIT 3),
    (SELECT min(as_of_date) FROM ecpower.refresh_runs WHERE status = 'succeeded'),
    (SELECT max(as_of_date) FROM ecpower.refresh_runs WHERE status = 'succeeded'));
