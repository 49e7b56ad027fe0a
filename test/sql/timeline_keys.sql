-- The timeline's customer keys (docs/timeline.md "Customer keys"): a refresh
-- keeps the customers it evaluated; readers add the customers inserted or
-- deleted since, looked up by primary key.  Every answer must equal the one
-- a scan of ecpower.customers gives: whole-store KPIs count every customer,
-- and orders of customers written since the refresh need their keys.
\i test/fixtures/setup.sql
SET client_min_messages = warning;
SELECT customer_rows > 0 AS loaded FROM ecpower.generate_demo_store(800, 5);
SELECT ecpower.create_segment('repeaters', 'Two orders or more',
    '{"orders": {}, "count": {"gte": 2}}') > 0 AS created;
SELECT ecpower.create_segment('no-orders', 'No order yet',
    '{"not": {"orders": {}, "count": {"gte": 1}}}') > 0 AS created;
CALL ecpower.refresh('2025-06-30 12:00+00');

-- the refresh kept one header and one chunk per 960 keys, and took the
-- customers the demo logged off the log
SELECT count(*) = 1 + (SELECT max(ckey) FROM ecpower.customers) / 960 + 1 AS chunks
  FROM ecpower.timeline_keys;
SELECT count(*) AS customer_rows_logged FROM ecpower.order_changes WHERE customer_id IS NOT NULL;

-- whole-store and segment answers against plain SQL over the tables
CREATE FUNCTION public.tk_check() RETURNS TABLE (what text, ours text, plain text)
LANGUAGE sql AS $$
    WITH run AS (SELECT r.as_of FROM ecpower.refresh_state s
                   JOIN ecpower.refresh_runs r ON r.run_id = s.current_run_id),
    counted AS (SELECT o.* FROM ecpower.orders o, run
                 WHERE o.cancelled_at IS NULL AND o.ordered_at <= run.as_of)
    SELECT 'store customers', (SELECT customers::text FROM ecpower.segment_kpis(NULL)),
           (SELECT count(DISTINCT customer_id)::text FROM counted)
    UNION ALL
    SELECT 'members without orders', (SELECT customers::text FROM ecpower.segment_kpis('no-orders')),
           (SELECT count(*)::text FROM ecpower.segment_members('no-orders') m
              JOIN ecpower.customers c ON c.customer_id = m)
    UNION ALL
    SELECT 'store buyers, orders, revenue',
           (SELECT format('%s %s %s', buyers, orders, revenue) FROM ecpower.segment_kpis(NULL)),
           (SELECT format('%s %s %s', count(DISTINCT customer_id), count(*), sum(total - refunded))
              FROM counted)
    UNION ALL
    SELECT 'segment customers', (SELECT customers::text FROM ecpower.segment_kpis('repeaters')),
           (SELECT count(*)::text FROM ecpower.segment_members('repeaters') m
              JOIN ecpower.customers c ON c.customer_id = m)
    UNION ALL
    SELECT 'cohort customers', (SELECT sum(customers)::text FROM ecpower.cohorts(NULL, 1) WHERE month_offset = 0),
           (SELECT count(DISTINCT customer_id)::text FROM counted)
$$;
SELECT * FROM public.tk_check() WHERE ours IS DISTINCT FROM plain;
SELECT customers > 0 AS members_without_orders FROM ecpower.segment_kpis('no-orders');

-- customers written since the refresh: new ones with orders placed before
-- its as_of, a deleted one without orders, a re-inserted one
INSERT INTO ecpower.customers (customer_id, email) VALUES (900001, 'new1@example.com'), (900002, 'new2@example.com');
INSERT INTO ecpower.orders (order_id, customer_id, ordered_at, total)
VALUES (990001, 900001, '2025-06-01 10:00+00', 42.50), (990002, 900002, '2025-06-02 10:00+00', 10.00);
DELETE FROM ecpower.customers c WHERE NOT EXISTS (SELECT 1 FROM ecpower.orders o WHERE o.customer_id = c.customer_id)
   AND c.customer_id IN (SELECT customer_id FROM ecpower.customers ORDER BY customer_id LIMIT 40);
SELECT count(*) > 2 AS customer_rows_logged FROM ecpower.order_changes WHERE customer_id IS NOT NULL;
SELECT * FROM public.tk_check() WHERE ours IS DISTINCT FROM plain;
DELETE FROM ecpower.orders WHERE order_id = 990002;
DELETE FROM ecpower.customers WHERE customer_id = 900002;
INSERT INTO ecpower.customers (customer_id) VALUES (900002);
SELECT * FROM public.tk_check() WHERE ours IS DISTINCT FROM plain;

-- in replica mode the row triggers log them
SET session_replication_role = replica;
INSERT INTO ecpower.customers (customer_id) VALUES (900003);
INSERT INTO ecpower.orders (order_id, customer_id, ordered_at, total)
VALUES (990003, 900003, '2025-06-03 10:00+00', 7.00);
RESET session_replication_role;
SELECT count(*) AS replica_rows_logged FROM ecpower.order_changes WHERE customer_id = 900003;
SELECT * FROM public.tk_check() WHERE ours IS DISTINCT FROM plain;

-- the next refresh keeps the new map and empties the customer log
CALL ecpower.refresh('2025-06-30 12:00+00');
SELECT count(*) AS customer_rows_logged FROM ecpower.order_changes WHERE customer_id IS NOT NULL;
SELECT * FROM public.tk_check() WHERE ours IS DISTINCT FROM plain;

-- a statement of more than 20,000 customers logs one row asking for a scan
INSERT INTO ecpower.customers (customer_id) SELECT 1000000 + g FROM generate_series(1, 20001) g;
SELECT customer_id, ckey FROM ecpower.order_changes WHERE customer_id IS NOT NULL OR ckey IS NOT NULL;
SELECT * FROM public.tk_check() WHERE ours IS DISTINCT FROM plain;
DELETE FROM ecpower.customers WHERE customer_id BETWEEN 1000001 AND 1020001;
CALL ecpower.refresh('2025-06-30 12:00+00');
SELECT * FROM public.tk_check() WHERE ours IS DISTINCT FROM plain;

-- a reset of the order cache makes readers scan until the next refresh
SELECT ecpower.reset_order_cache();
INSERT INTO ecpower.customers (customer_id) VALUES (900004);
SELECT * FROM public.tk_check() WHERE ours IS DISTINCT FROM plain;
CALL ecpower.refresh('2025-06-30 12:00+00');

-- a damaged or moved chunk is refused with XX001, never read
CREATE FUNCTION pg_temp.err(q text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE q;
    RETURN 'ok';
EXCEPTION WHEN OTHERS THEN
    RETURN SQLSTATE || ': ' || SQLERRM;
END $$;
BEGIN;
UPDATE ecpower.timeline_keys SET data = overlay(data placing '\xffffff7f' from 40 for 4) WHERE chunk = 1;
SELECT pg_temp.err('SELECT * FROM ecpower.segment_kpis(NULL)') AS damaged;
ROLLBACK;
BEGIN;
UPDATE ecpower.timeline_keys SET data = overlay(data placing '\x00000000' from 5 for 4) WHERE chunk = 0;
SELECT pg_temp.err('SELECT * FROM ecpower.cohorts(NULL, 12)') AS damaged_header;
ROLLBACK;
BEGIN;
DELETE FROM ecpower.timeline_keys WHERE chunk = 1;
SELECT pg_temp.err('SELECT * FROM ecpower.segment_kpis(''repeaters'')') AS missing;
ROLLBACK;
SELECT * FROM public.tk_check() WHERE ours IS DISTINCT FROM plain;

DROP FUNCTION public.tk_check();
