-- CALL ecpower.refresh(): one pass over all segments, membership history
-- answering "who was in X on day D" for every refreshed day, current
-- membership, customer_segments, RFM, the run log, idempotency, failure
-- and transaction-block behaviour.
\i test/fixtures/setup.sql
SET DateStyle = 'ISO, YMD';
\set SHOW_CONTEXT never
\set ECHO none
\i test/fixtures/segment_store.sql
\i test/fixtures/segment_oracle.sql
\set ECHO all

-- before any refresh
SELECT * FROM ecpower.segment_members('nothing');
SELECT count(*) FROM ecpower.customer_segments(1);

SELECT ecpower.create_segment('buyers', 'Buyers', '{"orders": {}}') AS id \gset
SELECT ecpower.create_segment('repeat', 'Repeat buyers', '{"orders": {}, "count": {"gte": 2}}');
SELECT ecpower.create_segment('tea-first', 'First order had tea',
       '{"orders": {"nth": "first", "product_type": ["tea"]}}');
SELECT ecpower.create_segment('recent', 'Ordered in the last 90 days',
       '{"orders": {"period": {"last_days": 90}}}');
SELECT ecpower.create_segment('lapsed-repeat', 'Lapsed repeat buyers',
       '{"all": [{"segment": "repeat"}, {"not": {"segment": "recent"}}]}');
SELECT ecpower.create_segment('champions', 'Champions', '{"rfm_group": "champions"}');
SELECT ecpower.create_segment('high-value', 'High value',
       '{"any": [{"metric": "total_spent", "gte": 400}, {"rfm": {"m": [5, 5]}}]}');
SELECT ecpower.create_segment('vip-jp', 'VIP in Japan',
       '{"all": [{"customer_tag": ["vip"]}, {"country": ["jp"]}]}');
SELECT ecpower.create_segment('big-baskets', 'Big baskets', '{"metric": "items", "gte": 12}');
SELECT ecpower.create_segment('prospects', 'Prospects', '{"rfm_group": "prospects"}');
SELECT ecpower.create_segment('coupon-first', 'Coupon on first order',
       '{"orders": {"nth": "first", "has_discount": true}}');
SELECT ecpower.create_segment('lapsed-champ', 'Lapsed champions or lapsed repeaters',
       '{"any": [{"segment": "lapsed-repeat"}, {"all": [{"segment": "champions"}, {"not": {"segment": "recent"}}]}]}');

CALL ecpower.refresh('2024-06-30 15:00:00+00');   -- 2024-07-01 00:00 in Tokyo
CALL ecpower.refresh('2024-09-30 14:59:59+00');   -- 2024-09-30 23:59:59 in Tokyo
CALL ecpower.refresh('2024-12-31 14:59:59+00');   -- 2024-12-31 23:59:59 in Tokyo

SELECT run_id, as_of, as_of_date, status, segments, customers, error,
       finished_at >= started_at AS timed, pid = pg_backend_pid() AS this_backend
  FROM ecpower.refresh_runs ORDER BY run_id;
SELECT current_run_id FROM ecpower.refresh_state;

-- history: membership stored for each refreshed day equals a live
-- evaluation at that run's as_of, for every segment (0 rows)
SELECT r.as_of_date, s.slug
  FROM ecpower.refresh_runs r, ecpower.segments s
 WHERE r.status = 'succeeded'
   AND ARRAY(SELECT ecpower.segment_members(s.slug, r.as_of_date))
       IS DISTINCT FROM ARRAY(SELECT ecpower.evaluate(s.definition, r.as_of));

-- and equals the plain-SQL oracle for a few of them (0 rows)
DELETE FROM ctx;
INSERT INTO ctx VALUES ('2024-09-30 14:59:59+00', '2024-09-30');
(SELECT x FROM ecpower.segment_members('repeat', '2024-09-30') AS x
 EXCEPT SELECT customer_id FROM co GROUP BY 1 HAVING count(*) >= 2)
UNION ALL
(SELECT customer_id FROM co GROUP BY 1 HAVING count(*) >= 2
 EXCEPT SELECT x FROM ecpower.segment_members('repeat', '2024-09-30') AS x)
UNION ALL
(SELECT x FROM ecpower.segment_members('champions', '2024-09-30') AS x
 EXCEPT SELECT customer_id FROM rfm_oracle WHERE grp = 'champions')
UNION ALL
(SELECT customer_id FROM rfm_oracle WHERE grp = 'champions'
 EXCEPT SELECT x FROM ecpower.segment_members('champions', '2024-09-30') AS x);

-- who was in "recent" on each day (hand-checkable sizes)
SELECT d, (SELECT count(*) FROM ecpower.segment_members('recent', d)) AS recent,
       (SELECT count(*) FROM ecpower.segment_members('repeat', d)) AS repeat,
       (SELECT count(*) FROM ecpower.segment_members('lapsed-repeat', d)) AS lapsed_repeat
  FROM (VALUES (date '2024-07-01'), ('2024-09-30'), ('2024-12-31')) AS t(d);

-- current membership is the last refresh's
SELECT s.slug, (SELECT count(*) FROM ecpower.segment_members(s.slug)) AS members
  FROM ecpower.segments s ORDER BY s.slug COLLATE "C";
SELECT s.slug FROM ecpower.segments s
 WHERE ARRAY(SELECT ecpower.segment_members(s.slug))
       IS DISTINCT FROM ARRAY(SELECT ecpower.segment_members(s.slug, '2024-12-31'));
SELECT member_count, count(*) FROM ecpower.membership m
  JOIN ecpower.segments s USING (segment_id)
 WHERE s.slug = 'buyers' GROUP BY 1 ORDER BY 1;

-- customer_segments agrees with segment_members for every customer (0 rows)
SELECT c.customer_id FROM ecpower.customers c
 WHERE ARRAY(SELECT x FROM ecpower.customer_segments(c.customer_id) AS x ORDER BY x COLLATE "C")
       IS DISTINCT FROM
       ARRAY(SELECT s.slug FROM ecpower.segments s
              WHERE c.customer_id IN (SELECT ecpower.segment_members(s.slug))
              ORDER BY s.slug COLLATE "C");
SELECT * FROM ecpower.customer_segments(901);
SELECT * FROM ecpower.customer_segments(906);
SELECT * FROM ecpower.customer_segments(-1);

-- RFM of the last refresh equals the window-function oracle (0 rows)
DELETE FROM ctx;
INSERT INTO ctx VALUES ('2024-12-31 14:59:59+00', '2024-12-31');
SELECT customer_id, recency_days, order_count, revenue, r, f, m, fm, rfm_group FROM ecpower.customer_rfm
EXCEPT
SELECT customer_id, rec, cnt, rev, r, f, m, fm, grp FROM rfm_oracle;
SELECT count(*) FROM ecpower.customer_rfm;
SELECT g.rfm_group, count(c.customer_id) AS customers
  FROM ecpower.rfm_groups g LEFT JOIN ecpower.customer_rfm c USING (rfm_group)
 GROUP BY g.ord, g.rfm_group ORDER BY g.ord;
SELECT * FROM ecpower.customer_rfm WHERE customer_id IN (901, 902, 904, 906) ORDER BY 1;

-- idempotent for the same as_of_date: a second run that day replaces the
-- day (one row per segment and day), with the same members
CREATE TEMP TABLE before AS
SELECT s.slug, ARRAY(SELECT ecpower.segment_members(s.slug)) AS m FROM ecpower.segments s;
CALL ecpower.refresh('2024-12-31 14:59:59+00');
SELECT count(*) AS rows, count(DISTINCT (segment_id, day)) AS distinct_days FROM ecpower.membership;
SELECT b.slug FROM before b WHERE b.m IS DISTINCT FROM ARRAY(SELECT ecpower.segment_members(b.slug));

-- new data: a re-run for the same day picks it up; older days stay as they were
INSERT INTO ecpower.orders (order_id, customer_id, ordered_at, total) VALUES
    (9060, 906, '2024-12-31 01:00+00', 12);
SELECT 906 IN (SELECT ecpower.segment_members('buyers')) AS before_rerun;
CALL ecpower.refresh('2024-12-31 14:59:59+00');
SELECT 906 IN (SELECT ecpower.segment_members('buyers')) AS after_rerun,
       906 IN (SELECT ecpower.segment_members('buyers', '2024-09-30')) AS on_sep_30;
SELECT * FROM ecpower.customer_segments(906);

-- a day that was never refreshed, an unknown segment
SELECT * FROM ecpower.segment_members('buyers', '2024-08-01');
SELECT * FROM ecpower.segment_members('nope', '2024-12-31');

-- a failing run is logged as failed and changes nothing readers see
-- (both checks: the row trigger's syntax check, the deferred reference check)
ALTER TABLE ecpower.segments DISABLE TRIGGER segments_guard;
ALTER TABLE ecpower.segments DISABLE TRIGGER segments_references;
UPDATE ecpower.segments SET definition = '{"orders": {"nth": [0, 1]}}' WHERE slug = 'big-baskets';
ALTER TABLE ecpower.segments ENABLE TRIGGER segments_guard;
ALTER TABLE ecpower.segments ENABLE TRIGGER segments_references;
SELECT current_run_id AS before_failure FROM ecpower.refresh_state \gset
CALL ecpower.refresh('2025-01-31 00:00+00');
SELECT status, error FROM ecpower.refresh_runs ORDER BY run_id DESC LIMIT 1;
SELECT current_run_id = :before_failure AS unchanged FROM ecpower.refresh_state;
SELECT count(*) FROM ecpower.membership WHERE day = '2025-01-31';
SELECT count(*) AS still_there FROM ecpower.customer_rfm;
UPDATE ecpower.segments SET definition = '{"metric": "items", "gte": 12}' WHERE slug = 'big-baskets';
-- an order without a calendar date (infinite, or outside 1900 .. 2199) is
-- refused at the door; the failing row names the order
INSERT INTO ecpower.orders (order_id, customer_id, ordered_at, total) VALUES (9070, 906, '-infinity', 1);
INSERT INTO ecpower.orders (order_id, customer_id, ordered_at, total) VALUES (9070, 906, 'infinity', 1);
INSERT INTO ecpower.orders (order_id, customer_id, ordered_at, total) VALUES (9070, 906, '200000-01-01', 1);
INSERT INTO ecpower.orders (order_id, customer_id, ordered_at, total) VALUES (9070, 906, '1899-12-31 23:59:59+00', 1);

-- references are evaluated in dependency order, not creation order: make an
-- early segment depend on a later one (repeat -> big-baskets), then check the
-- stored membership of that refresh against live evaluation (0 rows)
SELECT ecpower.update_segment('repeat', '{"all": [{"orders": {}, "count": {"gte": 2}}, {"not": {"segment": "big-baskets"}}]}');
CALL ecpower.refresh('2025-01-15 14:59:59+00');
SELECT s.slug FROM ecpower.segments s
 WHERE ARRAY(SELECT ecpower.segment_members(s.slug, '2025-01-15'))
       IS DISTINCT FROM ARRAY(SELECT ecpower.evaluate(s.definition, '2025-01-15 14:59:59+00'));
SELECT count(*) AS repeat_without_big_baskets FROM ecpower.segment_members('repeat', '2025-01-15');
SELECT ecpower.update_segment('repeat', '{"orders": {}, "count": {"gte": 2}}');

-- a stale 'running' row (its backend died) becomes 'abandoned' at the next start
INSERT INTO ecpower.refresh_runs (as_of, as_of_date, status, pid)
VALUES ('2025-01-01', '2025-01-01', 'running', 0);
CALL ecpower.refresh('2025-01-31 00:00+00');
SELECT status, as_of_date, error IS NOT NULL AS has_error FROM ecpower.refresh_runs
 ORDER BY run_id DESC LIMIT 3;

-- inside a transaction block the refresh runs in the caller's transaction
BEGIN;
CALL ecpower.refresh('2025-02-28 00:00+00');
SELECT status, as_of_date FROM ecpower.refresh_runs ORDER BY run_id DESC LIMIT 1;
SELECT count(*) > 0 AS stored FROM ecpower.membership WHERE day = '2025-02-28';
SHOW search_path;   -- the caller's, restored
ROLLBACK;
SELECT count(*) AS rolled_back FROM ecpower.refresh_runs WHERE as_of_date = '2025-02-28';
SHOW search_path;
-- called from a function it cannot commit either; no lock outlives it
CREATE FUNCTION pg_temp.refresh_from_function() RETURNS text LANGUAGE plpgsql AS $$
BEGIN
    CALL ecpower.refresh('2025-03-31 00:00+00');
    RETURN 'done';
END
$$;
SELECT pg_temp.refresh_from_function();
SELECT status, as_of_date FROM ecpower.refresh_runs ORDER BY run_id DESC LIMIT 1;
SELECT count(*) AS advisory_locks_left FROM pg_locks
 WHERE locktype = 'advisory' AND pid = pg_backend_pid();

-- dropping a segment forgets its membership history (its versions stay)
SELECT ecpower.drop_segment('coupon-first');
SELECT count(*) FROM ecpower.membership WHERE segment_id NOT IN (SELECT segment_id FROM ecpower.segments);
SELECT * FROM ecpower.segment_members('coupon-first', '2024-12-31');

-- a refresh only moves forward: an as_of earlier than the last successful
-- refresh's is refused (22023) before anything is written, in both the
-- committing path and inside a transaction; the current state stays
SELECT current_run_id AS before_past, (SELECT count(*) FROM ecpower.refresh_runs) AS runs_before
  FROM ecpower.refresh_state \gset
CALL ecpower.refresh('2025-01-31 00:00+00');
BEGIN;
CALL ecpower.refresh('2025-03-30 23:59:59+00');
ROLLBACK;
DO $$
BEGIN
    CALL ecpower.refresh('2024-12-31 14:59:59+00');
EXCEPTION WHEN OTHERS THEN
    RAISE NOTICE 'refused with SQLSTATE %', SQLSTATE;
END
$$;
SELECT current_run_id = :before_past AS unchanged,
       (SELECT count(*) FROM ecpower.refresh_runs) = :runs_before AS no_run_logged,
       (SELECT as_of FROM ecpower.refresh_runs WHERE run_id = current_run_id) AS current_as_of
  FROM ecpower.refresh_state;
-- the same as_of again is a re-run of that day, and is accepted
CALL ecpower.refresh('2025-03-31 00:00+00');
SELECT status, as_of FROM ecpower.refresh_runs ORDER BY run_id DESC LIMIT 1;

-- bad arguments
CALL ecpower.refresh(NULL);
CALL ecpower.refresh('infinity');
