-- Customer keys and history across reloads (docs/keys-and-history.md).
-- Membership history and the tag-change feed are stored in internal
-- customer keys: a customer id keeps its key whatever happens to the input
-- tables (TRUNCATE with or without RESTART IDENTITY, delete and re-insert,
-- orders imported before customers, upserts), keys are taken only by new
-- ids and stay dense.  History and feed are compared with plain-SQL
-- snapshots taken after every refresh (queries return mismatches, so
-- (0 rows) means right).  Last, TRUNCATE ecpower.segments RESTART IDENTITY.
\i test/fixtures/setup.sql
SET DateStyle = 'ISO, YMD';
\set SHOW_CONTEXT never

-- a store of 300 customers as Shopify exports: customer i has i % 5 orders
-- spread over 2022
CREATE TEMP TABLE src_orders AS
SELECT i, j, 100000 + i * 10 + j AS order_id, 'e' || i || '@shop.test' AS email,
       timestamptz '2022-01-01 10:00+00' + ((i * 37 + j * 53) % 330) * interval '1 day' AS at,
       (10 + i % 7 + j)::numeric(14,2) AS total
  FROM generate_series(1, 300) AS i, generate_series(1, 4) AS j
 WHERE j <= i % 5;
-- the exports as text, rows in a chosen order
CREATE FUNCTION pg_temp.orders_csv(reverse boolean) RETURNS text LANGUAGE sql AS $$
    SELECT 'Name,Email,Created at,Total,Id,Lineitem quantity,Lineitem name,Lineitem price,Lineitem sku' || chr(10)
           || string_agg(format('#%s,%s,%s,%s,%s,1,Tea,%s,T-1', order_id, email,
                                to_char(at, 'YYYY-MM-DD HH24:MI:SS +0000'), total, order_id, total),
                         chr(10) ORDER BY CASE WHEN reverse THEN -order_id ELSE order_id END)
           || chr(10)
      FROM src_orders
$$;
CREATE FUNCTION pg_temp.customers_csv(reverse boolean) RETURNS text LANGUAGE sql AS $$
    SELECT 'Customer ID,Email,Tags' || chr(10)
           || string_agg(format('%s,e%s@shop.test,t%s', 7000 + i, i, i % 3),
                         chr(10) ORDER BY CASE WHEN reverse THEN -i ELSE i END)
           || chr(10)
      FROM generate_series(1, 300) AS i
$$;
CREATE FUNCTION pg_temp.load(reverse boolean) RETURNS void LANGUAGE sql AS $$
    SELECT count(*) FROM ecpower.import_shopify_orders(pg_temp.orders_csv(reverse));
    SELECT count(*) FROM ecpower.import_shopify_customers(pg_temp.customers_csv(reverse));
$$;

-- orders first (customers get ids from their e-mails), then the customers
SELECT pg_temp.load(false);
SELECT count(*) AS customers, count(*) = max(ckey) AS dense FROM ecpower.customers;
CREATE TEMP TABLE keys_first AS SELECT customer_id, ckey FROM ecpower.customer_keys;

SELECT ecpower.create_segment('repeaters', 'Repeaters', '{"orders": {}, "count": {"gte": 2}}');
SELECT ecpower.create_segment('recent', 'Recent', '{"orders": {"period": {"last_days": 45}}}');
SELECT ecpower.create_segment('buyers', 'Buyers', '{"orders": {}}');
UPDATE ecpower.segments SET sync_tag = 'repeat' WHERE slug = 'repeaters';
UPDATE ecpower.segments SET sync_tag = 'recent' WHERE slug = 'recent';

-- membership after every refresh, kept by the test (plain SQL)
CREATE TEMP TABLE snap (k int, day date, slug text, customer_id bigint);
CREATE TEMP TABLE runs (k serial, day date, as_of timestamptz);
CREATE FUNCTION pg_temp.refresh_and_snapshot(p_as_of timestamptz) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    CALL ecpower.refresh(p_as_of);
    INSERT INTO runs (day, as_of) VALUES (p_as_of::date, p_as_of);
    INSERT INTO snap
    SELECT (SELECT max(k) FROM runs), p_as_of::date, s.slug, m
      FROM ecpower.segments s, ecpower.segment_members(s.slug) AS m;
END
$$;
-- repeaters from the orders alone: an oracle for the snapshots themselves
CREATE TEMP VIEW repeaters_mismatches AS
WITH truth AS (
    SELECT r.k, o.customer_id
      FROM runs r JOIN ecpower.orders o ON o.ordered_at <= r.as_of AND o.cancelled_at IS NULL
     WHERE r.k = (SELECT max(k) FROM runs)
     GROUP BY r.k, o.customer_id HAVING count(*) >= 2)
(SELECT k, customer_id FROM truth
 EXCEPT SELECT k, customer_id FROM snap WHERE slug = 'repeaters')
UNION ALL
(SELECT k, customer_id FROM snap WHERE slug = 'repeaters' AND k = (SELECT max(k) FROM runs)
 EXCEPT SELECT k, customer_id FROM truth);
-- history of every refreshed day against its snapshot
CREATE TEMP VIEW history_mismatches AS
WITH now_answers AS (
    SELECT r.k, s.slug, m AS customer_id
      FROM runs r, (SELECT DISTINCT slug FROM snap) s,
           ecpower.segment_members(s.slug, r.day) AS m)
(SELECT 'missing' AS what, * FROM (SELECT k, slug, customer_id FROM snap
                                   EXCEPT SELECT * FROM now_answers) a)
UNION ALL
(SELECT 'extra', * FROM (SELECT * FROM now_answers
                         EXCEPT SELECT k, slug, customer_id FROM snap) b);
-- the feed against the differences of consecutive snapshots
CREATE TEMP VIEW feed_mismatches AS
WITH synced AS (SELECT * FROM snap WHERE slug IN ('repeaters', 'recent')),
expected AS (
    SELECT r.as_of, n.slug, n.customer_id, 'add' AS action
      FROM synced n JOIN runs r ON r.k = n.k
     WHERE NOT EXISTS (SELECT 1 FROM synced p WHERE p.k = n.k - 1 AND p.slug = n.slug
                          AND p.customer_id = n.customer_id)
    UNION ALL
    SELECT r.as_of, p.slug, p.customer_id, 'remove'
      FROM synced p JOIN runs r ON r.k = p.k + 1
     WHERE NOT EXISTS (SELECT 1 FROM synced n WHERE n.k = p.k + 1 AND n.slug = p.slug
                          AND n.customer_id = p.customer_id)),
feed AS (
    SELECT changed_at AS as_of, slug, customer_id, action FROM ecpower.tag_changes)
(SELECT 'expected' AS side, * FROM (SELECT * FROM expected EXCEPT ALL SELECT * FROM feed) a)
UNION ALL
(SELECT 'feed', * FROM (SELECT * FROM feed EXCEPT ALL SELECT * FROM expected) b);
CREATE TEMP VIEW key_changes AS
SELECT f.customer_id, f.ckey AS first_key, k.ckey AS key_now
  FROM keys_first f LEFT JOIN ecpower.customer_keys k USING (customer_id)
 WHERE k.ckey IS DISTINCT FROM f.ckey
UNION ALL
SELECT c.customer_id, NULL, c.ckey FROM ecpower.customers c
  LEFT JOIN ecpower.customer_keys k USING (customer_id)
 WHERE k.ckey IS DISTINCT FROM c.ckey;

SELECT pg_temp.refresh_and_snapshot('2022-06-30 23:00+00');
SELECT k, slug, count(*) FROM snap GROUP BY 1, 2 ORDER BY 1, 2;
SELECT * FROM repeaters_mismatches;

-- 1. TRUNCATE ... RESTART IDENTITY (as the generator's hint says), then
--    orders before customers, every export in reverse order
TRUNCATE ecpower.order_lines, ecpower.orders, ecpower.products, ecpower.customers RESTART IDENTITY;
SELECT pg_temp.load(true);
SELECT * FROM key_changes;
SELECT pg_temp.refresh_and_snapshot('2022-07-31 23:00+00');
SELECT * FROM repeaters_mismatches;
SELECT * FROM history_mismatches;
SELECT * FROM feed_mismatches;

-- 2. TRUNCATE without RESTART IDENTITY, then plain INSERTs from a copy in
--    another order, the copy's ckey column scrambled: the registry wins
CREATE TEMP TABLE copy_customers AS SELECT * FROM ecpower.customers;
CREATE TEMP TABLE copy_orders AS SELECT * FROM ecpower.orders;
CREATE TEMP TABLE copy_lines AS SELECT * FROM ecpower.order_lines;
TRUNCATE ecpower.order_lines, ecpower.orders, ecpower.customers;
INSERT INTO ecpower.customers
SELECT customer_id, email, created_at, tags, country, province, city, accepts_marketing,
       1000 - ckey
  FROM copy_customers ORDER BY md5(customer_id::text);
INSERT INTO ecpower.orders SELECT * FROM copy_orders;
INSERT INTO ecpower.order_lines SELECT * FROM copy_lines;
SELECT * FROM key_changes;
SELECT pg_temp.refresh_and_snapshot('2022-08-31 23:00+00');
SELECT * FROM repeaters_mismatches;
SELECT * FROM history_mismatches;
SELECT * FROM feed_mismatches;

-- 3. DELETE and re-import; a customer deleted and inserted again keeps its
--    key; updating ckey by hand changes nothing
DELETE FROM ecpower.order_lines;
DELETE FROM ecpower.orders;
DELETE FROM ecpower.customers;
SELECT pg_temp.load(false);
UPDATE ecpower.customers SET ckey = ckey + 5000 WHERE customer_id IN (SELECT customer_id FROM ecpower.customers ORDER BY customer_id LIMIT 3);
SELECT * FROM key_changes;
SELECT pg_temp.refresh_and_snapshot('2022-09-30 23:00+00');
SELECT * FROM repeaters_mismatches;
SELECT * FROM history_mismatches;
SELECT * FROM feed_mismatches;

-- 4. upserts take no key: three re-imports of the customers export and one
--    of the orders export leave the key sequence where it was
SELECT last_value AS seq_before FROM ecpower.customer_key_seq \gset
SELECT count(*) FROM ecpower.import_shopify_customers(pg_temp.customers_csv(false));
SELECT count(*) FROM ecpower.import_shopify_customers(pg_temp.customers_csv(true));
SELECT count(*) FROM ecpower.import_shopify_customers(pg_temp.customers_csv(false));
SELECT count(*) FROM ecpower.import_shopify_orders(pg_temp.orders_csv(false));
INSERT INTO ecpower.customers (customer_id, email)
SELECT customer_id, email FROM copy_customers
ON CONFLICT (customer_id) DO UPDATE SET email = excluded.email;
SELECT last_value - :seq_before AS keys_taken FROM ecpower.customer_key_seq;
-- a new customer takes the next key
INSERT INTO ecpower.customers (customer_id, email) VALUES (1, 'new@shop.test');
SELECT ckey - :seq_before AS new_key FROM ecpower.customers WHERE customer_id = 1;
DELETE FROM ecpower.customers WHERE customer_id = 1;
SELECT pg_temp.refresh_and_snapshot('2022-10-31 23:00+00');
SELECT * FROM history_mismatches;
SELECT * FROM feed_mismatches;

-- registered keys cannot be changed, deleted (even of a customer that is
-- gone) or truncated
CREATE FUNCTION pg_temp.err(stmt text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE stmt;
    RETURN 'ok';
EXCEPTION WHEN OTHERS THEN
    RETURN SQLSTATE || ': ' || regexp_replace(SQLERRM, '\d{6,}', 'N', 'g');
END
$$;
SELECT pg_temp.err('UPDATE ecpower.customer_keys SET ckey = ckey + 1 WHERE ckey = 1');
SELECT pg_temp.err('TRUNCATE ecpower.customer_keys CASCADE');
SELECT pg_temp.err('DELETE FROM ecpower.customer_keys WHERE ckey = 1');
SELECT pg_temp.err('DELETE FROM ecpower.customer_keys WHERE customer_id = 1');

-- 5. keys stay dense when the sequence runs ahead (set by hand here, as a
--    rolled-back load of many new customers would leave it): the next new
--    customer takes the key after the largest one, and a refresh and the
--    reports take as long as before.  Timings are the best of three,
--    compared within this run (at most 10 times the time before, plus 100 ms;
--    with keys taken as they came, 400,000,000 of them, it took seconds).
CREATE TEMP TABLE timing (phase text, what text, ms float8);
CREATE FUNCTION pg_temp.time_it(p_phase text) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    t timestamptz;
BEGIN
    FOR n IN 1..3 LOOP
        t := clock_timestamp();
        CALL ecpower.refresh('2022-10-31 23:00+00');
        INSERT INTO timing VALUES (p_phase, 'refresh', extract(epoch FROM clock_timestamp() - t) * 1000);
        t := clock_timestamp();
        PERFORM ecpower.segment_kpis('repeaters');
        PERFORM count(*) FROM ecpower.cohorts('buyers');
        PERFORM count(*) FROM ecpower.segment_customers('recent');
        INSERT INTO timing VALUES (p_phase, 'reports', extract(epoch FROM clock_timestamp() - t) * 1000);
    END LOOP;
END
$$;
SELECT pg_temp.time_it('before');
SELECT setval('ecpower.customer_key_seq', 400000000);
INSERT INTO ecpower.customers (customer_id, email)
SELECT 900000 + g, 'late' || g || '@shop.test' FROM generate_series(1, 50) AS g;
INSERT INTO ecpower.orders (order_id, customer_id, ordered_at, total)
SELECT 900000 + g, 900000 + g, '2022-10-01 10:00+00', 25 FROM generate_series(1, 50) AS g;
SELECT max(ckey) < 1000 AS dense, count(*) AS customers FROM ecpower.customers;
-- and a reload after that keeps every key
TRUNCATE ecpower.order_lines, ecpower.orders, ecpower.products, ecpower.customers RESTART IDENTITY;
SELECT pg_temp.load(true);
INSERT INTO ecpower.customers (customer_id, email)
SELECT 900000 + g, 'late' || g || '@shop.test' FROM generate_series(1, 50) AS g;
INSERT INTO ecpower.orders (order_id, customer_id, ordered_at, total)
SELECT 900000 + g, 900000 + g, '2022-10-01 10:00+00', 25 FROM generate_series(1, 50) AS g;
SELECT * FROM key_changes;
SELECT max(ckey) < 1000 AS dense FROM ecpower.customers;
SELECT pg_temp.time_it('after');
SELECT what, min(ms) FILTER (WHERE phase = 'after') < 10 * min(ms) FILTER (WHERE phase = 'before') + 100
       AS as_fast
  FROM timing GROUP BY what ORDER BY what;

-- 6. TRUNCATE ecpower.segments RESTART IDENTITY CASCADE drops every segment
--    as drop_segment() does: versions record the drops, membership history
--    goes, ids are not handed out again, and the next refresh removes the
--    tags the feed had announced
SELECT max(segment_id) AS last_id FROM ecpower.segments \gset
CREATE TEMP TABLE announced AS
SELECT s.slug, m AS customer_id
  FROM ecpower.segments s, ecpower.segment_members(s.slug) AS m
 WHERE s.sync_tag IS NOT NULL;
TRUNCATE ecpower.segments RESTART IDENTITY CASCADE;
SELECT count(*) AS history_rows FROM ecpower.membership;
SELECT slug, change FROM ecpower.segment_versions WHERE change = 'drop' ORDER BY slug COLLATE "C";
SELECT ecpower.create_segment('repeaters', 'Repeaters again', '{"orders": {}, "count": {"gte": 2}}')
       > :last_id AS new_id;
SELECT count(*) FROM ecpower.segment_members('repeaters', '2022-06-30');
SELECT count(*) FROM ecpower.segment_members('repeaters', '2022-10-31');
SELECT max(change_id) AS last_change FROM ecpower.tag_changes \gset
CALL ecpower.refresh('2022-11-30 23:00+00');
-- removes for exactly the members announced last, nothing else
(SELECT slug, customer_id, 'remove' AS action FROM announced
 EXCEPT
 SELECT slug, customer_id, action FROM ecpower.tag_changes WHERE change_id > :last_change)
UNION ALL
(SELECT slug, customer_id, action FROM ecpower.tag_changes WHERE change_id > :last_change
 EXCEPT
 SELECT slug, customer_id, 'remove' FROM announced);
SELECT count(*) AS removes FROM ecpower.tag_changes WHERE change_id > :last_change;
SELECT count(*) AS tag_states FROM ecpower.tag_sync_state;

-- 7. a store loaded by 0.1.0, whose upserts took a key each, gets dense
--    keys in the same order when updated (0.1.0 stored no history)
SET client_min_messages = warning;
DROP EXTENSION ecpower CASCADE;
CREATE EXTENSION ecpower VERSION '0.1.0';
RESET client_min_messages;
INSERT INTO ecpower.customers (customer_id, email)
SELECT g, 'u' || g || '@shop.test' FROM generate_series(1, 100) AS g;
DO $$
BEGIN
    FOR n IN 1..5 LOOP
        INSERT INTO ecpower.customers (customer_id, email)
        SELECT g, 'v' || n || '.' || g || '@shop.test' FROM generate_series(1, 100) AS g
        ON CONFLICT (customer_id) DO UPDATE SET email = excluded.email;
    END LOOP;
END
$$;
INSERT INTO ecpower.customers (customer_id, email) VALUES (101, 'last@shop.test');
SELECT max(ckey) AS old_max FROM ecpower.customers;
CREATE TEMP TABLE old_keys AS SELECT customer_id, ckey FROM ecpower.customers;
ALTER EXTENSION ecpower UPDATE;
SELECT max(ckey) AS new_max, count(*) FROM ecpower.customers;
-- same order, registry and table agree (0 rows)
SELECT o.customer_id FROM old_keys o JOIN ecpower.customers c USING (customer_id)
 WHERE (SELECT count(*) FROM old_keys p WHERE p.ckey <= o.ckey) <> c.ckey
UNION ALL
SELECT c.customer_id FROM ecpower.customers c
  FULL JOIN ecpower.customer_keys k USING (customer_id)
 WHERE k.ckey IS DISTINCT FROM c.ckey;
INSERT INTO ecpower.customers (customer_id) VALUES (102);
SELECT ckey FROM ecpower.customers WHERE customer_id = 102;

SET client_min_messages = warning;
DROP EXTENSION ecpower CASCADE;
