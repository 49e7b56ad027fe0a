-- Tag-change feed (README "Shopify import and activation"): refresh appends one event per real membership
-- change of each segment with a sync_tag; pending_tag_changes() pages.
-- The oracle replays plain-SQL snapshots of segment_members() taken after
-- every refresh: events must be exactly the differences between consecutive
-- snapshots (queries return mismatches, so (0 rows) means right).
\i test/fixtures/setup.sql
SET DateStyle = 'ISO, YMD';
\set SHOW_CONTEXT never

INSERT INTO ecpower.customers (customer_id, email)
SELECT g, 'c' || g || '@example.com' FROM generate_series(1, 6) AS g;
INSERT INTO ecpower.orders (order_id, customer_id, ordered_at, total, cancelled_at) VALUES
    (11, 1, '2024-01-01 10:00+00', 10, NULL), (12, 1, '2024-01-05 10:00+00', 20, NULL),
    (21, 2, '2024-01-03 10:00+00', 15, NULL), (22, 2, '2024-01-15 10:00+00', 15, NULL),
    (31, 3, '2024-01-02 10:00+00', 30, NULL), (32, 3, '2024-01-04 10:00+00', 30, '2024-01-04 12:00+00'),
    (41, 4, '2024-01-08 10:00+00', 40, NULL), (42, 4, '2024-02-10 10:00+00', 40, NULL),
    (61, 6, '2024-01-09 10:00+00', 60, NULL), (62, 6, '2024-01-09 11:00+00', 60, NULL);

SELECT ecpower.create_segment('repeat', 'Repeat buyers', '{"orders": {}, "count": {"gte": 2}}');
SELECT ecpower.create_segment('recent', 'Ordered in the last 30 days',
       '{"orders": {"period": {"last_days": 30}}}');
SELECT ecpower.create_segment('quiet', 'Not synced', '{"orders": {}}');
UPDATE ecpower.segments SET sync_tag = 'repeat-buyer' WHERE slug = 'repeat';
UPDATE ecpower.segments SET sync_tag = 'recent' WHERE slug = 'recent';

-- membership after every refresh, kept by the test (plain SQL)
CREATE TEMP TABLE snap (k int, as_of timestamptz, slug text, customer_id bigint);
CREATE TEMP TABLE runs (k serial, as_of timestamptz);
CREATE FUNCTION pg_temp.snapshot(p_as_of timestamptz) RETURNS void LANGUAGE sql AS $$
    INSERT INTO runs (as_of) VALUES (p_as_of);
    INSERT INTO snap
    SELECT (SELECT max(k) FROM runs), p_as_of, s.slug, m
      FROM ecpower.segments s, ecpower.segment_members(s.slug) AS m
     WHERE s.sync_tag IS NOT NULL;
$$;
-- expected events between consecutive snapshots, and the feed's, as mismatches
CREATE TEMP VIEW feed_mismatches AS
WITH expected AS (
    SELECT n.as_of, n.slug, n.customer_id, 'add' AS action
      FROM snap n
     WHERE NOT EXISTS (SELECT 1 FROM snap p WHERE p.k = n.k - 1 AND p.slug = n.slug
                          AND p.customer_id = n.customer_id)
    UNION ALL
    SELECT r.as_of, p.slug, p.customer_id, 'remove'
      FROM snap p JOIN runs r ON r.k = p.k + 1
     WHERE NOT EXISTS (SELECT 1 FROM snap n WHERE n.k = p.k + 1 AND n.slug = p.slug
                          AND n.customer_id = p.customer_id)),
feed AS (SELECT changed_at AS as_of, slug, customer_id, action FROM ecpower.tag_changes)
(SELECT 'missing' AS problem, * FROM expected EXCEPT ALL SELECT 'missing', * FROM feed)
UNION ALL
(SELECT 'extra', * FROM feed EXCEPT ALL SELECT 'extra', * FROM expected);

-- the first refresh announces every member
CALL ecpower.refresh('2024-01-10 12:00+00');
SELECT pg_temp.snapshot('2024-01-10 12:00+00');
SELECT change_id, customer_id, tag, action, slug, changed_at
  FROM ecpower.tag_changes ORDER BY change_id;

-- the same day again: nothing new
CALL ecpower.refresh('2024-01-10 12:00+00');
SELECT pg_temp.snapshot('2024-01-10 12:00+00');
SELECT count(*) AS events FROM ecpower.tag_changes;

-- later days: customer 2 becomes a repeat buyer, 'recent' moves on
CALL ecpower.refresh('2024-01-20 12:00+00');
SELECT pg_temp.snapshot('2024-01-20 12:00+00');
CALL ecpower.refresh('2024-02-15 10:00+00');
SELECT pg_temp.snapshot('2024-02-15 10:00+00');
-- the same day after new data: exactly the change (customer 3 orders again)
INSERT INTO ecpower.orders (order_id, customer_id, ordered_at, total)
    VALUES (33, 3, '2024-02-15 09:00+00', 30);
CALL ecpower.refresh('2024-02-15 18:00+00');
SELECT pg_temp.snapshot('2024-02-15 18:00+00');
SELECT customer_id, tag, action, slug, changed_at FROM ecpower.tag_changes
 WHERE changed_at = '2024-02-15 18:00+00' ORDER BY change_id;
CALL ecpower.refresh('2024-03-20 12:00+00');
SELECT pg_temp.snapshot('2024-03-20 12:00+00');
INSERT INTO ecpower.orders (order_id, customer_id, ordered_at, total) VALUES
    (43, 4, '2024-03-21 08:00+00', 40), (51, 5, '2024-03-21 09:00+00', 50);
CALL ecpower.refresh('2024-03-21 12:00+00');
SELECT pg_temp.snapshot('2024-03-21 12:00+00');

-- every event is a real change, every change has its event
SELECT * FROM feed_mismatches;
-- replaying the feed gives the current membership
SELECT slug, customer_id FROM (
    SELECT DISTINCT ON (slug, customer_id) slug, customer_id, action
      FROM ecpower.tag_changes ORDER BY slug, customer_id, change_id DESC) last
 WHERE action = 'add'
EXCEPT
SELECT s.slug, m FROM ecpower.segments s, ecpower.segment_members(s.slug) m
 WHERE s.sync_tag IS NOT NULL;
-- tags are the segments' sync_tag; no segment without sync_tag appears
SELECT t.slug, t.tag FROM ecpower.tag_changes t JOIN ecpower.segments s USING (slug)
 WHERE s.sync_tag IS DISTINCT FROM t.tag;

-- a refresh that is rolled back announces nothing
SELECT count(*) AS before FROM ecpower.tag_changes \gset
BEGIN;
CALL ecpower.refresh('2024-04-01 12:00+00');
ROLLBACK;
SELECT count(*) = :before AS unchanged FROM ecpower.tag_changes;

-- paging: pages of 4 after the last id seen return the whole feed in order
WITH RECURSIVE pages(n, last_id, ids) AS (
    SELECT 0, 0::bigint, ARRAY[]::bigint[]
    UNION ALL
    SELECT n + 1, p.max_id, ids || p.page
      FROM pages, LATERAL (SELECT max(change_id) AS max_id, array_agg(change_id ORDER BY change_id) AS page
                             FROM ecpower.pending_tag_changes(last_id, 4)) p
     WHERE p.max_id IS NOT NULL)
SELECT max(n) AS pages,
       (SELECT ids FROM pages ORDER BY n DESC LIMIT 1)
         = ARRAY(SELECT change_id FROM ecpower.tag_changes ORDER BY change_id) AS whole_feed
  FROM pages;
SELECT change_id, customer_id, action FROM ecpower.pending_tag_changes(3, 2);
SELECT count(*) FROM ecpower.pending_tag_changes(NULL);
SELECT count(*) FROM ecpower.pending_tag_changes(2147483647);
SELECT * FROM ecpower.pending_tag_changes(0, 0);
\echo :LAST_ERROR_SQLSTATE

-- renaming a tag: removals under the old one, additions under the new one;
-- no sync_tag any more: removals
SELECT max(change_id) AS last FROM ecpower.tag_changes \gset
UPDATE ecpower.segments SET sync_tag = 'recent-buyer' WHERE slug = 'recent';
UPDATE ecpower.segments SET sync_tag = NULL WHERE slug = 'repeat';
CALL ecpower.refresh('2024-03-22 12:00+00');
SELECT customer_id, tag, action, slug FROM ecpower.pending_tag_changes(:last) ORDER BY change_id;
-- a dropped segment's members are removed; then nothing is left to announce
SELECT max(change_id) AS last FROM ecpower.tag_changes \gset
SELECT ecpower.drop_segment('recent');
CALL ecpower.refresh('2024-03-23 12:00+00');
SELECT customer_id, tag, action, slug FROM ecpower.pending_tag_changes(:last) ORDER BY change_id;
SELECT count(*) AS synced_segments FROM ecpower.tag_sync_state;
