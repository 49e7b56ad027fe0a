-- Stored bitmaps are untrusted input: a role that may write the refresh
-- results (the refresher) can put any bytes into ecpower.membership and
-- ecpower.tag_sync_state.  Every reader checks the bytes in full and refuses
-- damaged ones with data_corrupted (XX001) naming the row; none crashes.
-- The store has the three container kinds of the stored format: a bitset
-- (6,100 buyers among 10,200 customers), a run (the 2,000 customers of
-- block.test, keys 8,201..10,200) and arrays (repeat buyers), and history
-- with keyframes and deltas.
\i test/fixtures/setup.sql
SET client_min_messages = warning;
DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'ecp_fuzz_refresher') THEN
        DROP ROLE ecp_fuzz_refresher;
    END IF;
END
$$;
RESET client_min_messages;
SET DateStyle = 'ISO, YMD';
\set SHOW_CONTEXT never

INSERT INTO ecpower.customers (customer_id, email)
SELECT g, 'c' || g || '@example.com' FROM generate_series(1, 8200) AS g;
INSERT INTO ecpower.customers (customer_id, email)
SELECT g, 'r' || g || '@block.test' FROM generate_series(100001, 102000) AS g;
-- odd customers and the run block bought on 2024-03-01; 1..99 odd again later
INSERT INTO ecpower.orders (order_id, customer_id, ordered_at, total)
SELECT c.customer_id, c.customer_id, '2024-03-01 10:00+00', 20
  FROM ecpower.customers c
 WHERE c.customer_id % 2 = 1 OR c.customer_id > 100000;
INSERT INTO ecpower.orders (order_id, customer_id, ordered_at, total)
SELECT 1000000 + g, g, '2024-03-20 10:00+00', 30
  FROM generate_series(1, 99, 2) AS g;

SELECT ecpower.create_segment('buyers', 'Buyers', '{"orders": {}}');
SELECT ecpower.create_segment('repeat', 'Repeat', '{"orders": {}, "count": {"gte": 2}}');
SELECT ecpower.create_segment('late', 'Late', '{"orders": {"period": {"from": "2024-03-10"}}}');
SELECT ecpower.create_segment('block', 'Block', '{"email_domain": ["block.test"]}');
UPDATE ecpower.segments SET sync_tag = 'buyer' WHERE slug = 'buyers';
UPDATE ecpower.segments SET sync_tag = 'repeat' WHERE slug = 'repeat';
CALL ecpower.refresh('2024-03-10 12:00+00');
CALL ecpower.refresh('2024-03-25 12:00+00');
CALL ecpower.refresh('2024-03-26 12:00+00');

-- what the readers answer before any damage, for the comparison at the end
CREATE TEMP TABLE before_fuzz AS
SELECT s.slug, d.day, m.id
  FROM ecpower.segments s
 CROSS JOIN (VALUES (date '2024-03-10'), ('2024-03-25'), ('2024-03-26')) AS d (day)
 CROSS JOIN LATERAL ecpower.segment_members(s.slug, d.day) AS m (id);
-- (the block is one run, the buyers a bitset)
SELECT s.slug, length(m.members) AS bytes
  FROM ecpower.membership m JOIN ecpower.segments s USING (segment_id)
 WHERE m.day = '2024-03-10' ORDER BY 1;
SELECT s.slug, d.day, count(*) AS members
  FROM before_fuzz s JOIN (SELECT DISTINCT day FROM before_fuzz) d USING (day)
 GROUP BY 1, 2 ORDER BY 1, 2;
-- the stored rows cover a bitset, a run and an array container, keyframes and deltas
SELECT m.kind, count(*) AS rows FROM ecpower.membership m GROUP BY 1 ORDER BY 1;
SELECT count(*) AS synced FROM ecpower.tag_sync_state;

CREATE ROLE ecp_fuzz_refresher;
SELECT ecpower.grant_roles(NULL, NULL, 'ecp_fuzz_refresher') > 0 AS granted;

-- a bitset container whose header says 4,097 values
-- while it holds 65,536; CRoaring believed the header and overflowed the heap
SET ROLE ecp_fuzz_refresher;
BEGIN;
UPDATE ecpower.membership
   SET members = decode('013a300000010000000000001010000000', 'hex')
                 || decode(repeat('ff', 8192), 'hex')
 WHERE segment_id = (SELECT segment_id FROM ecpower.segments WHERE slug = 'buyers')
   AND day = '2024-03-26';
SELECT count(*) FROM ecpower.segment_members('buyers');
ROLLBACK;
BEGIN;
UPDATE ecpower.tag_sync_state
   SET members = decode('013a300000010000000000001010000000', 'hex')
                 || decode(repeat('ff', 8192), 'hex')
 WHERE slug = 'buyers';
CALL ecpower.refresh('2024-03-27 12:00+00');
ROLLBACK;
-- a header cardinality off by one in an array container, trailing bytes,
-- values out of order, a wrong version byte
BEGIN;
UPDATE ecpower.membership
   SET members = set_byte(members, 11, get_byte(members, 11) + 1)
 WHERE segment_id = (SELECT segment_id FROM ecpower.segments WHERE slug = 'repeat')
   AND day = '2024-03-25';
SELECT count(*) FROM ecpower.segment_members('repeat', '2024-03-25');
ROLLBACK;
BEGIN;
UPDATE ecpower.membership SET members = members || '\x00'::bytea
 WHERE segment_id = (SELECT segment_id FROM ecpower.segments WHERE slug = 'repeat')
   AND day = '2024-03-25';
SELECT count(*) FROM ecpower.segment_members('repeat', '2024-03-25');
ROLLBACK;
BEGIN;
UPDATE ecpower.membership SET members = set_byte(members, 0, 7)
 WHERE segment_id = (SELECT segment_id FROM ecpower.segments WHERE slug = 'repeat')
   AND day = '2024-03-25';
SELECT count(*) FROM ecpower.segment_members('repeat', '2024-03-25');
ROLLBACK;
-- a sound bitmap of one key no customer has (2,147,418,113): readers size
-- arrays by the largest member, so it is refused before any is sized
BEGIN;
UPDATE ecpower.membership
   SET members = decode('013a30000001000000ff7f0000100000000100', 'hex'), kind = 'f', base_day = NULL
 WHERE segment_id = (SELECT segment_id FROM ecpower.segments WHERE slug = 'late')
   AND day = '2024-03-26';
SELECT count(*) FROM ecpower.segment_members('late');
ROLLBACK;
BEGIN;
UPDATE ecpower.tag_sync_state
   SET members = decode('013a30000001000000ff7f0000100000000100', 'hex')
 WHERE slug = 'repeat';
CALL ecpower.refresh('2024-03-27 12:00+00');
ROLLBACK;
RESET ROLE;

-- Fuzz: 2,000 mutated bitmaps written by the refresher, each read by
-- every reader of stored bitmaps, each reader in a subtransaction of its
-- own, all inside one that is then rolled back (so every mutation starts
-- from the sound bytes).  Outcomes are counted by SQLSTATE: EC000 is a
-- reader that answered (the mutation left a sound bitmap), XX001 a
-- refusal; anything else is listed below.
CREATE TEMP TABLE fuzz_outcome (target text, mutation text, reader text, sqlstate text, message text);
CREATE TEMP TABLE fuzz_target AS
SELECT row_number() OVER (ORDER BY r.tab, r.segment_id, r.day)::int AS n, r.*
  FROM (SELECT 'membership' AS tab, m.segment_id, m.day, s.slug, m.members AS bytes
          FROM ecpower.membership m JOIN ecpower.segments s USING (segment_id)
        UNION ALL
        SELECT 'tag_sync_state', g.segment_id, NULL, g.slug, g.members
          FROM ecpower.tag_sync_state g) AS r;
-- every reader of stored bitmaps: %1$L is the segment, %2$L the day, %3$s the run
CREATE TEMP TABLE fuzz_reader (name text, query text);
INSERT INTO fuzz_reader VALUES
    ('segment_members(slug, day)', 'SELECT count(*) FROM ecpower.segment_members(%1$L, %2$L)'),
    ('segment_members(slug)', 'SELECT count(*) FROM ecpower.segment_members(%1$L)'),
    ('customer_segments', 'SELECT count(*) FROM ecpower.customer_segments(1)'),
    ('segment_customers', 'SELECT count(*) FROM ecpower.segment_customers(%1$L)'),
    ('segment_kpis', 'SELECT ecpower.segment_kpis(%1$L)'),
    ('cohorts', 'SELECT count(*) FROM ecpower.cohorts(%1$L)'),
    ('journey', 'SELECT count(*) FROM ecpower.journey(ARRAY[%1$L, CASE WHEN %1$L = ''buyers'' THEN ''block'' ELSE ''buyers'' END], ''2024-03-10'', ''2024-03-26'')'),
    ('feature_report', 'SELECT count(*) FROM ecpower.feature_report(%1$L, ''customer_tag'')'),
    ('tag feed', 'SELECT ecpower._record_tag_changes(%3$s)');
GRANT ALL ON fuzz_outcome, fuzz_target, fuzz_reader TO ecp_fuzz_refresher;
SELECT setseed(0.25);
SET ROLE ecp_fuzz_refresher;
DO $$
DECLARE
    t record;
    orig bytea;
    mutated bytea;
    len int;
    kind int;
    pos int;
    v_state text;
    v_msg text;
    v_run bigint;
    v_reader record;
    v_tab text;
    v_names text[];
    v_states text[];
    v_msgs text[];
BEGIN
    SELECT current_run_id INTO v_run FROM ecpower.refresh_state;
    FOR i IN 1..2000 LOOP
        -- a stored row: a membership keyframe or delta, or a tag sync state
        -- (tag sync states are a third of the mutations)
        v_tab := CASE WHEN random() < 0.33 THEN 'tag_sync_state' ELSE 'membership' END;
        SELECT * INTO t FROM fuzz_target WHERE tab = v_tab ORDER BY random() LIMIT 1;
        orig := t.bytes;
        len := length(orig);
        kind := floor(random() * 8)::int;
        pos := floor(random() * len)::int;
        mutated := CASE kind
            -- one byte set to a random value (header bytes twice as often)
            WHEN 0 THEN set_byte(orig, pos, floor(random() * 256)::int)
            WHEN 1 THEN set_byte(orig, least(pos, 1 + floor(random() * 16)::int),
                                 floor(random() * 256)::int)
            -- one bit flipped
            WHEN 2 THEN set_byte(orig, pos, get_byte(orig, pos) # (1 << floor(random() * 8)::int))
            -- cut short, or random bytes appended
            WHEN 3 THEN substr(orig, 1, pos)
            WHEN 4 THEN orig || substr(sha256(int4send(i)), 1, 1 + floor(random() * 31)::int)
            -- a run of bytes overwritten by random ones
            WHEN 5 THEN overlay(orig PLACING substr(sha512(int4send(i)), 1,
                                                    least(len - pos, 1 + floor(random() * 63)::int))
                                FROM pos + 1)
            -- the header's cardinality of the first container changed
            WHEN 6 THEN set_byte(set_byte(orig, least(11, len - 1), floor(random() * 256)::int),
                                 least(12, len - 1), floor(random() * 256)::int)
            -- bytes swapped
            ELSE set_byte(set_byte(orig, pos, get_byte(orig, len - 1 - pos)),
                          len - 1 - pos, get_byte(orig, pos))
        END;
        v_names := '{}';
        v_states := '{}';
        v_msgs := '{}';
        BEGIN
            IF t.tab = 'membership' THEN
                UPDATE ecpower.membership SET members = mutated
                 WHERE segment_id = t.segment_id AND day = t.day;
            ELSE
                UPDATE ecpower.tag_sync_state SET members = mutated
                 WHERE segment_id = t.segment_id;
            END IF;
            FOR v_reader IN SELECT * FROM fuzz_reader
                             WHERE t.tab = 'membership' OR name = 'tag feed' LOOP
                BEGIN
                    EXECUTE format(v_reader.query, t.slug, t.day, v_run);
                    v_state := 'EC000';
                    v_msg := NULL;
                EXCEPTION WHEN OTHERS THEN
                    GET STACKED DIAGNOSTICS v_state = RETURNED_SQLSTATE, v_msg = MESSAGE_TEXT;
                END;
                v_names := v_names || v_reader.name;
                v_states := v_states || v_state;
                v_msgs := v_msgs || v_msg;
            END LOOP;
            RAISE SQLSTATE 'EC000';
        EXCEPTION WHEN SQLSTATE 'EC000' THEN
            NULL;
        END;
        INSERT INTO fuzz_outcome
        SELECT t.tab, kind::text, r.name, r.state, r.msg
          FROM unnest(v_names, v_states, v_msgs) AS r (name, state, msg);
    END LOOP;
END
$$;
RESET ROLE;

-- The RFM blocks (src/segments/rfmstore.c) are the other stored bytes the
-- refresher writes: 600 mutations read through both RFM views.
SET ROLE ecp_fuzz_refresher;
DO $$
DECLARE
    t record;
    mutated bytea;
    len int;
    pos int;
    v_state text;
    v_msg text;
BEGIN
    FOR i IN 1..600 LOOP
        SELECT * INTO t FROM ecpower.rfm_blocks ORDER BY random() LIMIT 1;
        len := length(t.data);
        pos := floor(random() * len)::int;
        mutated := CASE i % 5
            WHEN 0 THEN set_byte(t.data, pos, floor(random() * 256)::int)
            WHEN 1 THEN set_byte(t.data, least(pos, floor(random() * 32)::int),
                                 floor(random() * 256)::int)
            WHEN 2 THEN substr(t.data, 1, pos)
            WHEN 3 THEN t.data || substr(sha256(int4send(i)), 1, 1 + floor(random() * 31)::int)
            ELSE t.data         -- the same bytes written again: still answered
        END;
        BEGIN
            UPDATE ecpower.rfm_blocks SET data = mutated WHERE block = t.block;
            PERFORM count(*), sum(recency_days), sum(r) FROM ecpower.customer_rfm;
            PERFORM count(*) FROM ecpower.rfm_groups;
            RAISE SQLSTATE 'EC000';
        EXCEPTION WHEN OTHERS THEN
            GET STACKED DIAGNOSTICS v_state = RETURNED_SQLSTATE, v_msg = MESSAGE_TEXT;
            INSERT INTO fuzz_outcome VALUES ('rfm_blocks', (i % 5)::text, 'customer_rfm, rfm_groups', v_state, v_msg);
        END;
    END LOOP;
END
$$;
RESET ROLE;

-- outcomes: answered or refused, nothing else
SELECT target, reader, count(*) >= 250 AS many,
       count(*) FILTER (WHERE sqlstate = 'XX001') > 50 AS refusals,
       count(*) FILTER (WHERE sqlstate = 'EC000') > 0 AS answers
  FROM fuzz_outcome GROUP BY target, reader ORDER BY target, reader COLLATE "C";
SELECT count(*) AS reads FROM fuzz_outcome;
SELECT target, mutation, reader, sqlstate, message
  FROM fuzz_outcome WHERE sqlstate NOT IN ('EC000', 'XX001')
 ORDER BY 1, 2, 3, 4 LIMIT 20;
-- every refusal of a bitmap names the table and the segment
SELECT count(*) AS unnamed
  FROM fuzz_outcome
 WHERE sqlstate = 'XX001' AND target <> 'rfm_blocks'
   AND message !~ '^invalid bitmap in ecpower\.(membership, segment \d+, day \d{4}-\d\d-\d\d|tag_sync_state, segment \d+ )';
-- nothing stayed behind: the readers answer as before the fuzzing
SELECT * FROM (
    SELECT s.slug, d.day, m.id
      FROM ecpower.segments s
     CROSS JOIN (VALUES (date '2024-03-10'), ('2024-03-25'), ('2024-03-26')) AS d (day)
     CROSS JOIN LATERAL ecpower.segment_members(s.slug, d.day) AS m (id)
    EXCEPT ALL SELECT * FROM before_fuzz) AS extra
UNION ALL
SELECT * FROM (
    SELECT * FROM before_fuzz
    EXCEPT ALL
    SELECT s.slug, d.day, m.id
      FROM ecpower.segments s
     CROSS JOIN (VALUES (date '2024-03-10'), ('2024-03-25'), ('2024-03-26')) AS d (day)
     CROSS JOIN LATERAL ecpower.segment_members(s.slug, d.day) AS m (id)) AS missing;

DROP TABLE fuzz_outcome;
SET client_min_messages = warning;
DROP EXTENSION ecpower CASCADE;
DROP OWNED BY ecp_fuzz_refresher;
DROP ROLE ecp_fuzz_refresher;
