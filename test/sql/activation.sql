-- segment_customers(slug) (README "Shopify import and activation"): a segment's members as of the last
-- refresh with contact and order facts and member_since, checked against a
-- plain-SQL oracle over the demo store and membership history (mismatch
-- queries: (0 rows) means right), plus a small readable case.
\i test/fixtures/setup.sql
SET DateStyle = 'ISO, YMD';
\set SHOW_CONTEXT never

-- before any refresh
SELECT * FROM ecpower.segment_customers('repeat');
\echo :LAST_ERROR_SQLSTATE

SELECT customer_rows, order_rows FROM ecpower.generate_demo_store(800, 7);
UPDATE ecpower.settings SET store_timezone = 'Asia/Tokyo';
SELECT ecpower.create_segment('repeat', 'Repeat buyers', '{"orders": {}, "count": {"gte": 2}}');
SELECT ecpower.create_segment('recent', 'Ordered in the last 60 days',
       '{"orders": {"period": {"last_days": 60}}}');
SELECT ecpower.create_segment('spenders', 'Spent 150 or more', '{"metric": "total_spent", "gte": 150}');

-- a year of monthly refreshes, one of them repeated
CALL ecpower.refresh('2025-01-15 12:00+09');
CALL ecpower.refresh('2025-02-15 12:00+09');
CALL ecpower.refresh('2025-03-15 12:00+09');
CALL ecpower.refresh('2025-04-15 12:00+09');
CALL ecpower.refresh('2025-05-15 12:00+09');
CALL ecpower.refresh('2025-06-15 12:00+09');
CALL ecpower.refresh('2025-07-15 12:00+09');
CALL ecpower.refresh('2025-08-15 12:00+09');
CALL ecpower.refresh('2025-09-15 12:00+09');
CALL ecpower.refresh('2025-10-15 12:00+09');
CALL ecpower.refresh('2025-11-15 12:00+09');
CALL ecpower.refresh('2025-12-15 12:00+09');
CALL ecpower.refresh('2025-12-15 18:00+09');

-- an unknown segment; a segment created after the last refresh
SELECT * FROM ecpower.segment_customers('nope');
\echo :LAST_ERROR_SQLSTATE
SELECT ecpower.create_segment('late', 'Late', '{"orders": {}}');
SELECT * FROM ecpower.segment_customers('late');
\echo :LAST_ERROR_SQLSTATE
SELECT ecpower.drop_segment('late');

-- the oracle: membership history through segment_members(slug, day) copied
-- into a table, facts from the input tables in plain SQL
CREATE TEMP TABLE hist (slug text, day date, customer_id bigint,
                        PRIMARY KEY (slug, day, customer_id));
CREATE TEMP TABLE days (slug text, day date, PRIMARY KEY (slug, day));
CREATE FUNCTION pg_temp.load_history() RETURNS void LANGUAGE sql AS $$
    TRUNCATE hist, days;
    INSERT INTO days
    SELECT DISTINCT g.slug, r.as_of_date
      FROM ecpower.refresh_runs r, (VALUES ('repeat'), ('recent'), ('spenders')) AS g(slug)
     WHERE r.status = 'succeeded'
       AND r.as_of_date <= (SELECT r2.as_of_date FROM ecpower.refresh_state s
                              JOIN ecpower.refresh_runs r2 ON r2.run_id = s.current_run_id);
    INSERT INTO hist SELECT d.slug, d.day, m FROM days d, ecpower.segment_members(d.slug, d.day) AS m;
$$;
CREATE TEMP VIEW oracle AS
WITH cur AS (
    SELECT r.as_of FROM ecpower.refresh_state s
      JOIN ecpower.refresh_runs r ON r.run_id = s.current_run_id),
members AS (
    SELECT g.slug, m AS customer_id
      FROM (VALUES ('repeat'), ('recent'), ('spenders')) AS g(slug),
           ecpower.segment_members(g.slug) AS m),
since AS (
    -- the first stored day after the last stored day the member was out
    SELECT m.slug, m.customer_id,
           (SELECT min(d.day) FROM days d
             WHERE d.slug = m.slug
               AND d.day > coalesce((SELECT max(e.day) FROM days e
                                      WHERE e.slug = m.slug
                                        AND NOT EXISTS (SELECT 1 FROM hist h
                                                         WHERE (h.slug, h.day, h.customer_id)
                                                             = (m.slug, e.day, m.customer_id))),
                                    '-infinity')) AS member_since
      FROM members m),
facts AS (
    SELECT o.customer_id, count(*) AS orders, sum(o.total - o.refunded) AS revenue,
           min(o.ordered_at) AS first_order_at, max(o.ordered_at) AS last_order_at
      FROM ecpower.orders o, cur
     WHERE o.cancelled_at IS NULL AND o.ordered_at <= cur.as_of
     GROUP BY o.customer_id)
SELECT s.slug, c.customer_id, c.email, c.tags, c.country,
       coalesce(f.orders, 0) AS orders, coalesce(f.revenue, 0) AS revenue,
       f.first_order_at, f.last_order_at, s.member_since
  FROM since s JOIN ecpower.customers c USING (customer_id)
  LEFT JOIN facts f USING (customer_id);

CREATE TEMP VIEW mismatches AS
(SELECT 'missing' AS problem, * FROM oracle
 EXCEPT ALL
 SELECT 'missing', g.slug, x.* FROM (VALUES ('repeat'), ('recent'), ('spenders')) AS g(slug),
        ecpower.segment_customers(g.slug) AS x)
UNION ALL
(SELECT 'extra', g.slug, x.* FROM (VALUES ('repeat'), ('recent'), ('spenders')) AS g(slug),
        ecpower.segment_customers(g.slug) AS x
 EXCEPT ALL
 SELECT 'extra', * FROM oracle);

SELECT pg_temp.load_history();
SELECT * FROM mismatches;
-- the oracle is not trivially empty: members, and members since several days
SELECT slug, count(*) AS members, count(DISTINCT member_since) AS since_days,
       min(member_since), max(member_since)
  FROM oracle GROUP BY slug ORDER BY slug COLLATE "C";
-- one row per member, ordered by customer_id
SELECT count(*) = count(DISTINCT customer_id) AS one_row_each,
       array_agg(customer_id) = array_agg(customer_id ORDER BY customer_id) AS ordered
  FROM ecpower.segment_customers('repeat');

-- a backdated refresh is refused (a refresh only moves forward), and
-- everything still answers as of the last refresh
CALL ecpower.refresh('2025-06-01 12:00+09');
SELECT pg_temp.load_history();
SELECT * FROM mismatches;

-- a small readable case: customer 900 joins, leaves and returns
INSERT INTO ecpower.customers (customer_id, email, tags, country)
    VALUES (900, 'nine@example.jp', '{vip}', 'JP');
CALL ecpower.refresh('2026-01-10 12:00+09');
INSERT INTO ecpower.orders (order_id, customer_id, ordered_at, total, refunded) VALUES
    (90001, 900, '2026-01-10 15:00+09', 120, 20), (90002, 900, '2026-01-11 10:00+09', 80, 0);
CALL ecpower.refresh('2026-01-12 12:00+09');
CALL ecpower.refresh('2026-01-13 12:00+09');
UPDATE ecpower.orders SET cancelled_at = '2026-01-14 09:00+09' WHERE order_id = 90002;
CALL ecpower.refresh('2026-01-14 12:00+09');
UPDATE ecpower.orders SET cancelled_at = NULL WHERE order_id = 90002;
CALL ecpower.refresh('2026-01-16 12:00+09');
CALL ecpower.refresh('2026-01-17 12:00+09');
SELECT * FROM ecpower.segment_customers('repeat') WHERE customer_id = 900;
SELECT * FROM ecpower.segment_customers('recent') WHERE customer_id = 900;
SELECT pg_temp.load_history();
SELECT * FROM mismatches;

-- \copy to CSV works as documented
\copy (SELECT * FROM ecpower.segment_customers('repeat') WHERE customer_id = 900) TO STDOUT CSV HEADER
