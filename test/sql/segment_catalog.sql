-- Segment definitions: create, update, drop, version history, validation on
-- write (no invalid definition is ever stored), references and cycles.
\i test/fixtures/setup.sql
SET DateStyle = 'ISO, YMD';
\set VERBOSITY default
\set SHOW_CONTEXT never

SELECT ecpower.create_segment('repeaters', 'Repeat buyers', '{"orders": {}, "count": {"gte": 2}}');
SELECT ecpower.create_segment('jp', 'Japan', '{"country": ["JP"]}', 'customers in Japan');
SELECT ecpower.create_segment('jp-repeaters', 'Japanese repeaters',
                              '{"all": [{"segment": "repeaters"}, {"segment": "jp"}]}');
SELECT slug, name, description, definition FROM ecpower.segments ORDER BY segment_id;

-- errors: duplicate slug 42710, bad slug 22023, bad definition 22023 with path
SELECT ecpower.create_segment('jp', 'again', '{"orders": {}}');
SELECT ecpower.create_segment('Bad Slug', 'x', '{"orders": {}}');
SELECT ecpower.create_segment('-dash', 'x', '{"orders": {}}');
SELECT ecpower.create_segment(repeat('a', 64), 'x', '{"orders": {}}');
SELECT ecpower.create_segment('bad', 'x', '{"all": [{"orders": {"nth": [0, 1]}}]}');
SELECT ecpower.create_segment('bad', 'x', '{"segment": "nope"}');

-- the trigger guards direct writes too
INSERT INTO ecpower.segments (slug, name, definition) VALUES ('direct', 'x', '{"orders": []}');
UPDATE ecpower.segments SET definition = '{"country": "JP"}' WHERE slug = 'jp';
INSERT INTO ecpower.segments (slug, name, definition) VALUES ('selfish', 'x', '{"segment": "selfish"}');

-- cycles: jp -> jp-repeaters -> jp would close a loop; so would a self reference
SELECT ecpower.update_segment('jp', '{"any": [{"country": ["JP"]}, {"segment": "jp-repeaters"}]}');
SELECT ecpower.update_segment('repeaters', '{"not": {"segment": "repeaters"}}');
-- a longer chain: a -> b -> c, then c -> a is refused
SELECT ecpower.create_segment('a', 'A', '{"orders": {}}');
SELECT ecpower.create_segment('b', 'B', '{"segment": "a"}');
SELECT ecpower.create_segment('c', 'C', '{"all": [{"orders": {}}, {"not": {"segment": "b"}}]}');
SELECT ecpower.update_segment('a', '{"any": [{"orders": {}}, {"segment": "c"}]}');

-- referenced segments cannot be dropped or renamed: 2BP01
SELECT ecpower.drop_segment('a');
SELECT ecpower.drop_segment('repeaters');
UPDATE ecpower.segments SET slug = 'renamed' WHERE slug = 'jp';
-- renaming an unreferenced one is fine (and versioned)
UPDATE ecpower.segments SET slug = 'c2' WHERE slug = 'c';

-- unknown segments: 42704
SELECT ecpower.update_segment('nope', '{"orders": {}}');
SELECT ecpower.drop_segment('nope');

-- updates keep history; a name-only change is an 'alter' version
SELECT ecpower.update_segment('repeaters', '{"orders": {}, "count": {"gte": 3}}');
SELECT ecpower.update_segment('repeaters', '{"metric": "order_count", "gte": 2}');
UPDATE ecpower.segments SET name = 'Repeaters' WHERE slug = 'repeaters';
SELECT ecpower.drop_segment('c2');
SELECT ecpower.drop_segment('b');
SELECT ecpower.drop_segment('a');
SELECT v.version, v.slug, v.change, v.definition
  FROM ecpower.segment_versions v
 ORDER BY v.segment_id, v.version;
SELECT slug, name, updated_at >= created_at AS updated_later FROM ecpower.segments ORDER BY segment_id;

-- references are evaluated live, at the same as_of
INSERT INTO ecpower.customers (customer_id, country) VALUES (1, 'JP'), (2, 'jp'), (3, 'US'), (4, 'JP');
INSERT INTO ecpower.orders (order_id, customer_id, ordered_at, total) VALUES
    (10, 1, '2024-01-01', 10), (11, 1, '2024-02-01', 10),
    (20, 2, '2024-01-01', 10), (21, 2, '2024-06-01', 10),
    (30, 3, '2024-01-01', 10), (31, 3, '2024-01-02', 10),
    (40, 4, '2024-01-01', 10);
SELECT * FROM ecpower.evaluate('{"segment": "jp-repeaters"}', '2024-12-31');
SELECT * FROM ecpower.evaluate('{"segment": "jp-repeaters"}', '2024-03-01');
SELECT * FROM ecpower.evaluate('{"all": [{"segment": "jp"}, {"not": {"segment": "jp-repeaters"}}]}', '2024-12-31');
SELECT ecpower._definition_references('{"any": [{"segment": "x"}, {"not": {"segment": "y"}}]}');

-- Which segments a definition references is checked at commit (a deferred
-- constraint trigger), so a restore may load a segment before the one it
-- references; the syntax is checked at once.  In autocommit the error comes
-- from the statement itself, as above; in a transaction block from COMMIT.
BEGIN;
INSERT INTO ecpower.segments (slug, name, definition) VALUES ('later-ref', 'x', '{"segment": "later"}');
INSERT INTO ecpower.segments (slug, name, definition) VALUES ('later', 'x', '{"orders": {}}');
COMMIT;
SELECT slug FROM ecpower.segments WHERE slug LIKE 'later%' ORDER BY slug COLLATE "C";
BEGIN;
INSERT INTO ecpower.segments (slug, name, definition) VALUES ('ghost-ref', 'x', '{"segment": "ghost"}');
INSERT INTO ecpower.segments (slug, name, definition) VALUES ('bad-syntax', 'x', '{"orders": 1}');
ROLLBACK;
BEGIN;
INSERT INTO ecpower.segments (slug, name, definition) VALUES ('ghost-ref', 'x', '{"segment": "ghost"}');
COMMIT;
-- a reference fixed before COMMIT is fine: the row is checked as it is then
BEGIN;
INSERT INTO ecpower.segments (slug, name, definition) VALUES ('ghost-ref', 'x', '{"segment": "ghost"}');
UPDATE ecpower.segments SET definition = '{"segment": "later"}' WHERE slug = 'ghost-ref';
COMMIT;
-- and so is a row deleted before COMMIT
BEGIN;
INSERT INTO ecpower.segments (slug, name, definition) VALUES ('gone', 'x', '{"segment": "ghost"}');
DELETE FROM ecpower.segments WHERE slug = 'gone';
COMMIT;
-- a cycle closed by two statements is refused at COMMIT
BEGIN;
UPDATE ecpower.segments SET definition = '{"segment": "later-ref"}' WHERE slug = 'later';
COMMIT;
-- SET CONSTRAINTS ... IMMEDIATE brings the check back to the statement
BEGIN;
SET CONSTRAINTS ecpower.segments_references IMMEDIATE;
INSERT INTO ecpower.segments (slug, name, definition) VALUES ('ghost-ref2', 'x', '{"segment": "ghost"}');
ROLLBACK;
-- create_segment and update_segment check at once, in a transaction block too
BEGIN;
SELECT ecpower.update_segment('later', '{"segment": "later-ref"}');
ROLLBACK;
-- a segment referenced by a row written earlier in the transaction cannot be dropped
BEGIN;
INSERT INTO ecpower.segments (slug, name, definition) VALUES ('uses-jp', 'x', '{"segment": "jp"}');
SELECT ecpower.drop_segment('jp');
ROLLBACK;
-- a row created before this transaction (as a restore writes it, with its
-- created_at) brings its history along: no 'create' version is written; a
-- new row gets one even with an explicit segment_id
INSERT INTO ecpower.segments (segment_id, slug, name, definition, created_at, updated_at)
VALUES (100, 'restored', 'x', '{"orders": {}}', '2024-01-01', '2024-02-01');
INSERT INTO ecpower.segments (segment_id, slug, name, definition) VALUES (101, 'explicit-id', 'x', '{"orders": {}}');
SELECT v.segment_id, v.version, v.slug, v.change
  FROM ecpower.segment_versions v
 WHERE v.segment_id >= 9
 ORDER BY v.segment_id, v.version;
SELECT ecpower.update_segment('restored', '{"orders": {}, "count": {"gte": 2}}');
SELECT v.version, v.change FROM ecpower.segment_versions v WHERE v.segment_id = 100;
