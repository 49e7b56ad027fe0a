-- RFM storage (src/segments/rfmstore.c): the refresh packs the RFM of every customer
-- into blocks of ecpower.rfm_blocks and ecpower.customer_rfm unpacks them.
-- The view equals the window-function oracle (buyers, prospects, extreme
-- customer ids, several blocks); a customer deleted after the refresh stays
-- until the next one; hand-made and damaged blocks decode or fail cleanly
-- with data_corrupted (XX001); privileges.
\i test/fixtures/setup.sql
SET DateStyle = 'ISO, YMD';
\set SHOW_CONTEXT never

-- no refresh yet, then an empty store: no block, an empty view
SELECT count(*) FROM ecpower.customer_rfm;
CALL ecpower.refresh('2024-12-31 14:59:59+00');
SELECT count(*) AS blocks FROM ecpower.rfm_blocks;
SELECT count(*) FROM ecpower.customer_rfm;

\set ECHO none
\i test/fixtures/segment_store.sql
\i test/fixtures/segment_oracle.sql
\set ECHO all

-- extreme customer ids (the block stores each id as a step from the
-- previous one, modulo 2^64), a refunded-beyond-total order (negative
-- revenue) and a big one
INSERT INTO ecpower.customers (customer_id) VALUES
    (-9223372036854775808), (9223372036854775807), (-1), (0), (4611686018427387904);
INSERT INTO ecpower.orders (order_id, customer_id, ordered_at, total, refunded) VALUES
    (80001, -9223372036854775808, '2024-12-30 00:00+00', 10, 25),
    (80002, 9223372036854775807, '2024-01-02 00:00+00', 999999999.99, 0),
    (80003, 9223372036854775807, '2024-02-02 00:00+00', 999999999.99, 0),
    (80004, 0, '2024-12-31 14:00+00', 1, 0);

DELETE FROM ctx;
INSERT INTO ctx VALUES ('2024-12-31 14:59:59+00', '2024-12-31');
CALL ecpower.refresh('2024-12-31 14:59:59+00');
SELECT count(*) AS blocks, sum(customers) AS customers FROM ecpower.rfm_blocks;

-- mismatches between the view and the oracle, both ways: (0 rows) means right
CREATE TEMP VIEW rfm_mismatches AS
(SELECT 'view only' AS side, * FROM (
    SELECT customer_id, recency_days, order_count, revenue, r, f, m, fm, rfm_group FROM ecpower.customer_rfm
    EXCEPT ALL
    SELECT customer_id, rec, cnt, rev, r, f, m, fm, grp FROM rfm_oracle) v)
UNION ALL
(SELECT 'oracle only', * FROM (
    SELECT customer_id, rec, cnt, rev, r, f, m, fm, grp FROM rfm_oracle
    EXCEPT ALL
    SELECT customer_id, recency_days, order_count, revenue, r, f, m, fm, rfm_group FROM ecpower.customer_rfm) o);
SELECT * FROM rfm_mismatches;
SELECT * FROM ecpower.customer_rfm
 WHERE customer_id IN (-9223372036854775808, 9223372036854775807, -1, 0, 4611686018427387904)
 ORDER BY customer_id;

-- a prospect has NULL recency and scores, revenue 0
SELECT count(*) AS prospects,
       count(*) FILTER (WHERE recency_days IS NULL AND r IS NULL AND f IS NULL AND m IS NULL
                          AND fm IS NULL AND revenue = 0 AND order_count = 0) AS with_null_measures
  FROM ecpower.customer_rfm WHERE rfm_group = 'prospects';

-- the view has the columns and types the README documents
SELECT attname, format_type(atttypid, atttypmod) AS type
  FROM pg_attribute WHERE attrelid = 'ecpower.customer_rfm'::regclass AND attnum > 0
 ORDER BY attnum;

-- the block header and its CRC-32C (computed here independently)
CREATE FUNCTION pg_temp.crc32c(b bytea) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
    crc bigint := 4294967295;
BEGIN
    FOR i IN 0 .. length(b) - 1 LOOP
        crc := crc # get_byte(b, i);
        FOR k IN 1 .. 8 LOOP
            IF crc & 1 = 1 THEN
                crc := (crc >> 1) # 2197175160;     -- 0x82F63B78
            ELSE
                crc := crc >> 1;
            END IF;
        END LOOP;
    END LOOP;
    RETURN crc # 4294967295;
END $$;
CREATE FUNCTION pg_temp.le32(v bigint) RETURNS bytea LANGUAGE sql AS $$
SELECT set_byte(set_byte(set_byte(set_byte('\x00000000'::bytea,
           0, (v & 255)::int), 1, ((v >> 8) & 255)::int),
           2, ((v >> 16) & 255)::int), 3, ((v >> 24) & 255)::int)
$$;
SELECT block, substring(data FROM 1 FOR 8) AS magic_version,
       substring(data FROM 9 FOR 4) = pg_temp.le32(customers) AS count_ok,
       substring(data FROM 13 FOR 4) = pg_temp.le32(pg_temp.crc32c(substring(data FROM 17))) AS crc_ok
  FROM ecpower.rfm_blocks ORDER BY block;

-- hand-made blocks: pg_temp.block(n, records) adds the header and the CRC
CREATE FUNCTION pg_temp.block(n bigint, records bytea, version int DEFAULT 1) RETURNS bytea
LANGUAGE sql AS $$
SELECT 'ECRF'::bytea || set_byte('\x00000000'::bytea, 0, version) || pg_temp.le32(n)
       || pg_temp.le32(pg_temp.crc32c(records)) || records
$$;
-- customer 5: 1 order, 3 days, 12.34, R 5 F 4 M 3; customer 7: a prospect;
-- customer 6: 2 orders, 0 days, -2.50, R 1 F 1 M 1
SELECT * FROM ecpower._rfm_unpack(pg_temp.block(3, '\x0a0103a413750400010200f30300'));
SELECT count(*) FROM ecpower._rfm_unpack(NULL);

-- damaged blocks: a clean error with SQLSTATE XX001 naming the damage
CREATE FUNCTION pg_temp.try(query text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    n bigint;
    st text;
    msg text;
    det text;
BEGIN
    EXECUTE query INTO n;
    RETURN n || ' rows';
EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE, msg = MESSAGE_TEXT, det = PG_EXCEPTION_DETAIL;
    RETURN st || ' ' || msg || ': ' || det;
END $$;
SELECT t.what, pg_temp.try(format('SELECT count(*) FROM ecpower._rfm_unpack(%L::bytea)', t.b)) AS result
  FROM (VALUES
    (1, 'valid', pg_temp.block(3, '\x0a0103a413750400010200f30300')),
    (2, 'empty', ''::bytea),
    (3, 'short header', '\x45435246010000'::bytea),
    (4, 'bad magic', 'ECRX'::bytea || substring(pg_temp.block(1, '\x0400') FROM 5)),
    (5, 'version 2', pg_temp.block(1, '\x0400', 2)),
    (6, 'padding not zero', overlay(pg_temp.block(1, '\x0400') PLACING '\x01' FROM 7 FOR 1)),
    (7, 'no customer', pg_temp.block(0, '')),
    (8, 'too many customers', pg_temp.block(65537, '\x0400')),
    (9, 'checksum', overlay(pg_temp.block(1, '\x0a0103a41375') PLACING '\x76' FROM 22 FOR 1)),
    (10, 'truncated record', pg_temp.block(1, '\x0a0103a413')),
    (11, 'truncated block', pg_temp.block(4, '\x0a0103a413750400010200f30300')),
    (12, 'trailing bytes', pg_temp.block(2, '\x0a0103a413750400010200f30300')),
    (13, 'scores', pg_temp.block(1, '\x0a0103a4137d')),
    (14, 'order count 2^31', pg_temp.block(1, '\x0a8080808008')),
    (15, 'recency 2^31', pg_temp.block(1, '\x0a018080808008a41375')),
    (16, 'overlong step', pg_temp.block(1, '\xffffffffffffffffff0200')),
    (17, 'overlong revenue', pg_temp.block(1, '\x0a0103ffffffffffffffffffff0175'))
  ) AS t(ord, what, b)
 ORDER BY t.ord;

-- a damaged stored block fails the view cleanly; the next refresh rewrites it
UPDATE ecpower.rfm_blocks SET data = overlay(data PLACING '\xff' FROM 20 FOR 1) WHERE block = 0;
SELECT pg_temp.try('SELECT count(*) FROM ecpower.customer_rfm');
UPDATE ecpower.rfm_blocks SET data = substring(data FROM 1 FOR 10) WHERE block = 0;
SELECT pg_temp.try('SELECT count(*) FROM ecpower.customer_rfm WHERE customer_id = 1');
CALL ecpower.refresh('2024-12-31 14:59:59+00');
SELECT pg_temp.try('SELECT count(*) FROM ecpower.customer_rfm');

-- several blocks (4,096 customers each): 4,000 more prospects and a buyer
-- at the end; still equal to the oracle (0 rows)
INSERT INTO ecpower.customers (customer_id) SELECT 100000 + i FROM generate_series(1, 4000) AS i;
INSERT INTO ecpower.orders (order_id, customer_id, ordered_at, total) VALUES
    (80005, 104000, '2024-12-01 00:00+00', 55);
CALL ecpower.refresh('2024-12-31 14:59:59+00');
SELECT block, customers FROM ecpower.rfm_blocks ORDER BY block;
SELECT * FROM rfm_mismatches;

-- a customer deleted after the refresh stays in the view (it shows the last
-- refresh) until the next refresh
DELETE FROM ecpower.customers WHERE customer_id = 103999;
SELECT customer_id, order_count, rfm_group FROM ecpower.customer_rfm WHERE customer_id = 103999;
CALL ecpower.refresh('2024-12-31 14:59:59+00');
SELECT count(*) AS after_next_refresh FROM ecpower.customer_rfm WHERE customer_id = 103999;

-- kept by pg_dump; PUBLIC gets nothing; a reader reads the view but cannot
-- write the blocks
SELECT 'ecpower.rfm_blocks'::regclass = ANY (extconfig) AS dumped
  FROM pg_extension WHERE extname = 'ecpower';
SELECT has_function_privilege('public', 'ecpower._rfm_unpack(bytea)', 'EXECUTE') AS public_unpack,
       has_table_privilege('public', 'ecpower.rfm_blocks', 'SELECT') AS public_blocks,
       has_table_privilege('public', 'ecpower.customer_rfm', 'SELECT') AS public_view;
SET client_min_messages = warning;
DO $$ BEGIN
    IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'ecp_rfm_reader') THEN
        EXECUTE 'DROP OWNED BY ecp_rfm_reader CASCADE';
        DROP ROLE ecp_rfm_reader;
    END IF;
END $$;
RESET client_min_messages;
CREATE ROLE ecp_rfm_reader;
SELECT ecpower.grant_roles('ecp_rfm_reader', NULL, NULL) > 0 AS granted;
SET ROLE ecp_rfm_reader;
SELECT rfm_group, count(*) FROM ecpower.customer_rfm GROUP BY rfm_group ORDER BY rfm_group COLLATE "C";
DELETE FROM ecpower.rfm_blocks;
RESET ROLE;
DROP OWNED BY ecp_rfm_reader;
DROP ROLE ecp_rfm_reader;
