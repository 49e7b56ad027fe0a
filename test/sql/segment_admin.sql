-- Segment management: rename_segment() and alter_segment().  A rename keeps
-- the segment's id, membership history and tag feed, and the segments that
-- reference it follow the new slug; alter_segment() changes name,
-- description and sync_tag (NULL: unchanged, '': cleared); both validate
-- their arguments with a SQLSTATE, leave nothing behind on error, and are
-- recorded in segment_versions.
\i test/fixtures/setup.sql
SET DateStyle = 'ISO, YMD';
\set SHOW_CONTEXT never

INSERT INTO ecpower.customers (customer_id, country) VALUES (1, 'JP'), (2, 'JP'), (3, 'US');
INSERT INTO ecpower.orders (order_id, customer_id, ordered_at, total) VALUES
    (10, 1, '2024-01-01', 10), (11, 1, '2024-02-01', 10),
    (20, 2, '2024-01-01', 10), (30, 3, '2024-01-01', 10), (31, 3, '2024-03-01', 10);
SELECT ecpower.create_segment('repeat', 'Repeat buyers', '{"orders": {}, "count": {"gte": 2}}');
SELECT ecpower.create_segment('jp', 'Japan', '{"country": ["jp"]}');
SELECT ecpower.create_segment('jp-repeat', 'Repeat buyers in Japan',
    '{"all": [{"segment": "jp"}, {"segment": "repeat"}]}');
SELECT ecpower.create_segment('not-jp-repeat', 'Not repeat buyers in Japan',
    '{"not": {"any": [{"segment": "jp-repeat"}, {"all": [{"segment": "jp"}, {"country": ["xx"]}]}]}}');
UPDATE ecpower.segments SET sync_tag = 'repeat' WHERE slug = 'repeat';
CALL ecpower.refresh('2024-12-31 00:00+00');
SELECT segment_id AS jp_id FROM ecpower.segments WHERE slug = 'jp' \gset

-- rename a referenced segment: the referencing definitions follow (every
-- {"segment": "jp"} condition, at any depth), the id and history stay
SELECT ecpower.rename_segment('jp', 'japan');
SELECT slug, definition FROM ecpower.segments ORDER BY segment_id;
SELECT segment_id = :jp_id AS same_id FROM ecpower.segments WHERE slug = 'japan';
SELECT * FROM ecpower.segment_members('japan', '2024-12-31');
SELECT * FROM ecpower.segment_members('jp-repeat');
-- the references still resolve (live evaluation of the rewritten definitions)
SELECT slug, ARRAY(SELECT ecpower.evaluate(definition, '2024-12-31')) AS members
  FROM ecpower.segments ORDER BY segment_id;
-- renaming to the same slug changes nothing
SELECT ecpower.rename_segment('japan', 'japan');

-- errors: bad slug 22023, unknown segment 42704, slug taken 42710; a failed
-- call leaves the segments as they were
\set VERBOSITY default
CREATE FUNCTION pg_temp.err(q text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE q;
    RETURN 'no error';
EXCEPTION WHEN OTHERS THEN
    RETURN SQLSTATE || ': ' || SQLERRM;
END
$$;
CREATE TEMP TABLE before AS SELECT * FROM ecpower.segments;
SELECT q, pg_temp.err(q) FROM (VALUES
    ($$SELECT ecpower.rename_segment('japan', 'Japan')$$),
    ($$SELECT ecpower.rename_segment('japan', '-japan')$$),
    ($$SELECT ecpower.rename_segment('japan', repeat('j', 64))$$),
    ($$SELECT ecpower.rename_segment('japan', NULL)$$),
    ($$SELECT ecpower.rename_segment('nope', 'nope2')$$),
    ($$SELECT ecpower.rename_segment(NULL, 'nope2')$$),
    ($$SELECT ecpower.rename_segment('japan', 'repeat')$$),
    ($$SELECT ecpower.alter_segment('japan')$$),
    ($$SELECT ecpower.alter_segment('nope', name => 'Nope')$$),
    ($$SELECT ecpower.alter_segment('japan', name => '  ')$$),
    ($$SELECT ecpower.alter_segment('japan', sync_tag => repeat('t', 256))$$),
    ($$SELECT ecpower.alter_segment('japan', sync_tag => 'vip,japan')$$),
    ($$SELECT ecpower.alter_segment('japan', sync_tag => ' vip')$$)) AS t(q);
SELECT count(*) AS changed FROM (
    (TABLE before EXCEPT SELECT * FROM ecpower.segments)
    UNION ALL
    (SELECT * FROM ecpower.segments EXCEPT TABLE before)) AS d;

-- alter_segment: named arguments, NULL leaves a value, '' clears one; a tag
-- of exactly 255 characters is accepted
SELECT ecpower.alter_segment('japan', name => 'Japanese customers',
                             description => 'Customers whose country is Japan');
SELECT ecpower.alter_segment('japan', sync_tag => 'japan');
SELECT slug, name, description, sync_tag FROM ecpower.segments WHERE slug = 'japan';
SELECT ecpower.alter_segment('japan', description => '', sync_tag => '');
SELECT slug, name, description, sync_tag FROM ecpower.segments WHERE slug = 'japan';
SELECT ecpower.alter_segment('repeat', sync_tag => repeat('r', 255));
SELECT char_length(sync_tag) FROM ecpower.segments WHERE slug = 'repeat';
SELECT ecpower.alter_segment('repeat', sync_tag => 'repeat-buyer');

-- the tag feed follows a renamed segment and a changed tag: removals under
-- the old tag, additions under the new one, with the current slug
SELECT ecpower.rename_segment('repeat', 'repeaters');
CALL ecpower.refresh('2025-01-01 00:00+00');
SELECT customer_id, tag, action, slug FROM ecpower.tag_changes ORDER BY change_id;

-- every change is a version: rename, alter (name, description, sync_tag),
-- update of the referencing definitions
SELECT v.segment_id, v.version, v.slug, v.change, v.name, v.description,
       CASE WHEN char_length(v.sync_tag) > 20
            THEN left(v.sync_tag, 3) || '... (' || char_length(v.sync_tag) || ' characters)'
            ELSE v.sync_tag END AS sync_tag
  FROM ecpower.segment_versions v ORDER BY v.segment_id, v.version;
-- a raw UPDATE of the same columns is recorded the same way; one that
-- changes nothing is not
UPDATE ecpower.segments SET description = 'Two or more orders' WHERE slug = 'repeaters';
UPDATE ecpower.segments SET description = 'Two or more orders' WHERE slug = 'repeaters';
SELECT version, change, description FROM ecpower.segment_versions v
 WHERE v.segment_id = (SELECT segment_id FROM ecpower.segments WHERE slug = 'repeaters')
 ORDER BY version DESC LIMIT 2;

-- inside a transaction that rolls back, nothing stays
BEGIN;
SELECT ecpower.rename_segment('japan', 'nihon');
SELECT ecpower.alter_segment('nihon', name => 'Nihon');
ROLLBACK;
SELECT slug, name FROM ecpower.segments WHERE slug IN ('japan', 'nihon');

-- privileges: the admin role renames and alters (its changes are versioned
-- under its name); the reader role may not (42501)
SET client_min_messages = warning;
DROP ROLE IF EXISTS ecp_api_admin;
DROP ROLE IF EXISTS ecp_api_reader;
RESET client_min_messages;
CREATE ROLE ecp_api_admin;
CREATE ROLE ecp_api_reader;
SELECT ecpower.grant_roles('ecp_api_reader', 'ecp_api_admin', NULL) > 0 AS granted;
SET ROLE ecp_api_reader;
SELECT ecpower.rename_segment('japan', 'nihon');
SELECT ecpower.alter_segment('japan', name => 'Nihon');
SET ROLE ecp_api_admin;
SELECT ecpower.rename_segment('japan', 'nihon');
SELECT ecpower.alter_segment('nihon', name => 'Nihon', sync_tag => 'nihon');
RESET ROLE;
SELECT version, slug, change, name, sync_tag, changed_by FROM ecpower.segment_versions
 WHERE segment_id = :jp_id ORDER BY version DESC LIMIT 2;
SET client_min_messages = warning;
DROP OWNED BY ecp_api_admin, ecp_api_reader;
DROP ROLE ecp_api_admin;
DROP ROLE ecp_api_reader;
RESET client_min_messages;
