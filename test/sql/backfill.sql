-- CALL ecpower.backfill(from_date, to_date) (docs/backfill.md) against refreshes run
-- at the end of every day of the same range: membership of every segment on every day
-- and every KPI snapshot column must be identical.  Also: history read back through
-- segment_members(slug, day), customer_segments(customer_id, day), segment_history and
-- journey; the current state left alone; all or nothing; bad input.
\i test/fixtures/setup.sql
\set VERBOSITY terse
-- a store time zone far from UTC: a day ends at 15:00 UTC
UPDATE ecpower.settings SET store_timezone = 'Asia/Tokyo';
SELECT customer_rows > 0 AS loaded FROM ecpower.generate_demo_store(600, 11);

-- segments from templates: the 11 RFM groups and RFM scores (store-wide quintiles of
-- each day), conditions relative to the day (last_days, days_ago, days_since_*,
-- customer_created), order sequence, amounts, a segment referring to another
CREATE TEMP TABLE segs (slug text, template text, params jsonb);
INSERT INTO segs VALUES
    ('champions', 'rfm_champions', '{}'), ('loyal', 'rfm_loyal', '{}'),
    ('active', 'rfm_active', '{}'), ('new', 'rfm_new', '{}'),
    ('promising', 'rfm_promising', '{}'), ('needs-attention', 'rfm_needs_attention', '{}'),
    ('at-risk', 'rfm_at_risk', '{}'), ('almost-lost', 'rfm_almost_lost', '{}'),
    ('previously-loyal', 'rfm_previously_loyal', '{}'), ('dormant', 'rfm_dormant', '{}'),
    ('prospects', 'rfm_prospects', '{}'),
    ('rfm-scores', 'rfm_scores', '{"r": [4, 5], "f": [1, 5], "m": [3, 5]}'),
    ('first-time', 'first_time_buyers', '{}'), ('repeaters', 'repeat_buyers', '{}'),
    ('one-and-done', 'one_and_done', '{"days": 30}'),
    ('f2-candidates', 'f2_candidates', '{"days": 21}'),
    ('lapsed', 'lapsed', '{"days": 45}'), ('win-back', 'win_back', '{"days": 20}'),
    ('new-7', 'new_customers', '{"days": 7}'), ('active-14', 'active_customers', '{"days": 14}'),
    ('returning-10', 'returning_customers', '{"days": 10}'),
    ('signups', 'recent_signups_no_order', '{"days": 20}'),
    ('never', 'never_purchased', '{}'),
    ('long-time', 'long_time_customers', '{"days": 200}'),
    ('frequent', 'frequent_buyers', '{"days": 60}'),
    ('subscribers', 'subscribers', '{"days": 30}'),
    ('sub-churned', 'subscription_churned', '{"days": 25}'),
    ('vip-recent', 'vip_recent', '{"amount": 150, "days": 30}'),
    ('coupon-users', 'coupon_users', '{}'), ('high-aov', 'high_aov', '{"amount": 80}');
SELECT count(ecpower.create_segment_from_template(template, slug, params)) AS segments FROM segs;
SELECT ecpower.create_segment('repeat-lately', 'Repeaters who ordered 3 to 10 days ago',
    '{"all": [{"segment": "repeaters"}, {"orders": {"period": {"days_ago": [3, 10]}}}]}') > 0 AS ok;
SELECT ecpower.create_segment('since-first', 'First order 100 to 400 days ago',
    '{"metric": "days_since_first_order", "between": [100, 400]}') > 0 AS ok;
UPDATE ecpower.segments SET sync_tag = 'bf-' || slug WHERE slug IN ('active-14', 'lapsed', 'champions');

-- the oracle: a refresh at the end of every day of 60 days, then a later one
CREATE FUNCTION pg_temp.end_of(d date) RETURNS timestamptz LANGUAGE sql AS
$$ SELECT ((d + 1)::timestamp AT TIME ZONE 'Asia/Tokyo') - interval '1 microsecond' $$;
DO $$
BEGIN
    FOR d IN 0..59 LOOP
        CALL ecpower.refresh(pg_temp.end_of(date '2025-10-01' + d));
    END LOOP;
END
$$;
CALL ecpower.refresh(pg_temp.end_of('2025-12-20'));
SELECT count(*) AS refreshes FROM ecpower.refresh_runs WHERE status = 'succeeded';

CREATE TEMP TABLE o_members AS
SELECT s.slug, d::date AS day, m AS customer_id
  FROM ecpower.segments s,
       generate_series(date '2025-10-01', date '2025-11-29', '1 day') d,
       ecpower.segment_members(s.slug, d::date) m;
CREATE TEMP TABLE o_kpis AS
SELECT COALESCE(s.slug, '(store)') AS slug, k.day, k.customers, k.buyers, k.orders, k.revenue,
       k.ltv, k.aov, k.customer_aov, k.avg_orders, k.repeat_rate, k.avg_interval_days,
       k.median_interval_days, k.avg_lifetime_days, k.day_orders, k.day_revenue
  FROM ecpower.kpi_snapshots k LEFT JOIN ecpower.segments s USING (segment_id)
 WHERE k.day BETWEEN '2025-10-01' AND '2025-11-29';
CREATE TEMP TABLE o_journey AS
SELECT * FROM ecpower.journey(ARRAY['active-14', 'lapsed', 'champions', 'at-risk'],
                              '2025-10-05', '2025-11-20');
-- the oracle is not empty, and days differ from each other
SELECT count(*) > 5000 AS many_rows, count(DISTINCT (slug, day)) AS segment_days,
       count(DISTINCT slug) AS segments_with_members
  FROM o_members;
SELECT count(*) AS kpi_rows FROM o_kpis;
SELECT count(*) FILTER (WHERE n > 1) > 20 AS segments_that_change
  FROM (SELECT slug, count(DISTINCT member_count) AS n FROM ecpower.membership
          JOIN ecpower.segments USING (segment_id) GROUP BY slug) x;

-- an independent check of the oracle itself: active-14 in plain SQL
SELECT count(*) AS active_14_mismatches FROM (
    (SELECT day, customer_id FROM o_members WHERE slug = 'active-14'
     EXCEPT
     SELECT d::date, o.customer_id
       FROM generate_series(date '2025-10-01', date '2025-11-29', '1 day') d
       JOIN ecpower.orders o
         ON o.cancelled_at IS NULL
        AND (o.ordered_at AT TIME ZONE 'Asia/Tokyo')::date > d::date - 14
        AND (o.ordered_at AT TIME ZONE 'Asia/Tokyo')::date <= d::date)
    UNION ALL
    (SELECT d::date, o.customer_id
       FROM generate_series(date '2025-10-01', date '2025-11-29', '1 day') d
       JOIN ecpower.orders o
         ON o.cancelled_at IS NULL
        AND (o.ordered_at AT TIME ZONE 'Asia/Tokyo')::date > d::date - 14
        AND (o.ordered_at AT TIME ZONE 'Asia/Tokyo')::date <= d::date
     EXCEPT
     SELECT day, customer_id FROM o_members WHERE slug = 'active-14')) x;

-- comparisons of the stored history with the oracle (no row: identical)
CREATE FUNCTION pg_temp.members_diff() RETURNS TABLE (side text, slug text, day date, customer_id bigint)
LANGUAGE sql AS $$
    WITH now_members AS (
        SELECT s.slug, d::date AS day, m AS customer_id
          FROM ecpower.segments s,
               generate_series(date '2025-10-01', date '2025-11-29', '1 day') d,
               ecpower.segment_members(s.slug, d::date) m)
    (SELECT 'backfill', * FROM now_members EXCEPT SELECT 'backfill', * FROM o_members)
    UNION ALL
    (SELECT 'oracle', * FROM o_members EXCEPT SELECT 'oracle', * FROM now_members)
$$;
CREATE FUNCTION pg_temp.kpis_diff() RETURNS SETOF o_kpis LANGUAGE sql AS $$
    WITH now_kpis AS (
        SELECT COALESCE(s.slug, '(store)') AS slug, k.day, k.customers, k.buyers, k.orders,
               k.revenue, k.ltv, k.aov, k.customer_aov, k.avg_orders, k.repeat_rate,
               k.avg_interval_days, k.median_interval_days, k.avg_lifetime_days,
               k.day_orders, k.day_revenue
          FROM ecpower.kpi_snapshots k LEFT JOIN ecpower.segments s USING (segment_id)
         WHERE k.day BETWEEN '2025-10-01' AND '2025-11-29')
    (SELECT * FROM now_kpis EXCEPT ALL SELECT * FROM o_kpis)
    UNION ALL
    (SELECT * FROM o_kpis EXCEPT ALL SELECT * FROM now_kpis)
$$;

-- the current state, to check that backfill leaves it alone
CREATE TEMP TABLE cur_members AS
SELECT s.slug, m AS customer_id FROM ecpower.segments s, ecpower.segment_members(s.slug) m;
CREATE TEMP TABLE cur_rfm AS SELECT * FROM ecpower.customer_rfm;
CREATE TEMP TABLE cur_state AS
SELECT (SELECT current_run_id FROM ecpower.refresh_state) AS run,
       (SELECT count(*) FROM ecpower.tag_changes) AS tag_changes,
       (SELECT count(*) FROM ecpower.membership WHERE day = '2025-12-20') AS current_rows;
SELECT tag_changes > 0 AS feed_has_rows FROM cur_state;
CREATE FUNCTION pg_temp.current_changed() RETURNS TABLE (what text, n bigint) LANGUAGE sql AS $$
    SELECT 'members', count(*) FROM (
        (SELECT s.slug, m FROM ecpower.segments s, ecpower.segment_members(s.slug) m
         EXCEPT SELECT * FROM cur_members)
        UNION ALL
        (SELECT * FROM cur_members
         EXCEPT SELECT s.slug, m FROM ecpower.segments s, ecpower.segment_members(s.slug) m)) x
    UNION ALL
    SELECT 'rfm', count(*) FROM (
        (SELECT * FROM ecpower.customer_rfm EXCEPT SELECT * FROM cur_rfm)
        UNION ALL (SELECT * FROM cur_rfm EXCEPT SELECT * FROM ecpower.customer_rfm)) x
    UNION ALL
    SELECT 'state', count(*) FROM cur_state c
     WHERE c.run IS DISTINCT FROM (SELECT current_run_id FROM ecpower.refresh_state)
        OR c.tag_changes <> (SELECT count(*) FROM ecpower.tag_changes)
        OR c.current_rows <> (SELECT count(*) FROM ecpower.membership WHERE day = '2025-12-20')
$$;

-- 1. days already refreshed are recomputed: every row of the range is rewritten
CALL ecpower.backfill('2025-10-01', '2025-11-29');
SELECT status, as_of_date, segments, customers, finished_at IS NOT NULL AS finished
  FROM ecpower.refresh_runs WHERE run_id = (SELECT max(run_id) FROM ecpower.refresh_runs);
SELECT count(*) FILTER (WHERE run_id <> (SELECT max(run_id) FROM ecpower.refresh_runs)) AS rows_not_rewritten,
       count(*) AS rows_in_range
  FROM ecpower.membership WHERE day BETWEEN '2025-10-01' AND '2025-11-29';
SELECT count(*) FILTER (WHERE run_id <> (SELECT max(run_id) FROM ecpower.refresh_runs)) AS kpis_not_rewritten
  FROM ecpower.kpi_snapshots WHERE day BETWEEN '2025-10-01' AND '2025-11-29';
SELECT count(*) AS member_differences FROM pg_temp.members_diff();
SELECT count(*) AS kpi_differences FROM pg_temp.kpis_diff();
SELECT * FROM pg_temp.current_changed();

-- 2. from nothing: the same segments created again have no history; refresh, backfill
CREATE TEMP TABLE defs AS SELECT slug, name, definition, sync_tag FROM ecpower.segments;
DO $$
DECLARE s record;
BEGIN
    -- dependents first
    PERFORM ecpower.drop_segment('repeat-lately');
    FOR s IN SELECT slug FROM ecpower.segments LOOP
        PERFORM ecpower.drop_segment(s.slug);
    END LOOP;
    PERFORM ecpower.create_segment(slug, name, definition) FROM defs WHERE slug <> 'repeat-lately';
    PERFORM ecpower.create_segment(slug, name, definition) FROM defs WHERE slug = 'repeat-lately';
END
$$;
UPDATE ecpower.segments s SET sync_tag = d.sync_tag FROM defs d WHERE d.slug = s.slug;
SELECT count(*) AS stored_rows FROM ecpower.membership;
SELECT count(*) AS stored_snapshots FROM ecpower.kpi_snapshots WHERE segment_id IS NOT NULL;
CALL ecpower.refresh(pg_temp.end_of('2025-12-20'));
SELECT ecpower.segment_members('active-14', '2025-11-01');
TRUNCATE cur_members, cur_rfm, cur_state;
INSERT INTO cur_members SELECT s.slug, m FROM ecpower.segments s, ecpower.segment_members(s.slug) m;
INSERT INTO cur_rfm SELECT * FROM ecpower.customer_rfm;
INSERT INTO cur_state
SELECT (SELECT current_run_id FROM ecpower.refresh_state), (SELECT count(*) FROM ecpower.tag_changes),
       (SELECT count(*) FROM ecpower.membership WHERE day = '2025-12-20');

CALL ecpower.backfill('2025-10-01', '2025-11-29');
SELECT count(*) AS member_differences FROM pg_temp.members_diff();
SELECT count(*) AS kpi_differences FROM pg_temp.kpis_diff();
SELECT * FROM pg_temp.current_changed();
-- stored compactly: most days are deltas against the day before
SELECT count(*) FILTER (WHERE kind = 'd') > count(*) / 2 AS mostly_deltas,
       max(chain) <= 30 AS short_chains
  FROM ecpower.membership WHERE day BETWEEN '2025-10-01' AND '2025-11-29';

-- readers answer for the backfilled days
SELECT count(*) AS journey_differences FROM (
    (SELECT * FROM ecpower.journey(ARRAY['active-14', 'lapsed', 'champions', 'at-risk'],
                                   '2025-10-05', '2025-11-20') EXCEPT ALL SELECT * FROM o_journey)
    UNION ALL
    (SELECT * FROM o_journey EXCEPT ALL
     SELECT * FROM ecpower.journey(ARRAY['active-14', 'lapsed', 'champions', 'at-risk'],
                                   '2025-10-05', '2025-11-20'))) x;
SELECT count(*) > 0 AS journey_rows FROM o_journey;
SELECT count(*) AS history_differences FROM (
    (SELECT day, customers, buyers, orders, revenue, day_orders, day_revenue
       FROM ecpower.segment_history('lapsed', '2025-10-01', '2025-11-29')
     EXCEPT ALL
     SELECT day, customers, buyers, orders, revenue, day_orders, day_revenue FROM o_kpis WHERE slug = 'lapsed')
    UNION ALL
    (SELECT day, customers, buyers, orders, revenue, day_orders, day_revenue FROM o_kpis WHERE slug = 'lapsed'
     EXCEPT ALL
     SELECT day, customers, buyers, orders, revenue, day_orders, day_revenue
       FROM ecpower.segment_history('lapsed', '2025-10-01', '2025-11-29'))) x;
-- customer_segments(customer_id, day) for every tenth customer on three days
SELECT count(*) AS customer_segments_differences FROM (
    WITH got AS (
        SELECT d::date AS day, c.customer_id, s AS slug
          FROM ecpower.customers c
         CROSS JOIN unnest(ARRAY[date '2025-10-01', '2025-10-31', '2025-11-29']) d
         CROSS JOIN ecpower.customer_segments(c.customer_id, d) s
         WHERE c.customer_id % 10 = 0)
    (SELECT day, customer_id, slug FROM got
     EXCEPT SELECT day, customer_id, slug FROM o_members
             WHERE day IN ('2025-10-01', '2025-10-31', '2025-11-29') AND customer_id % 10 = 0)
    UNION ALL
    (SELECT day, customer_id, slug FROM o_members
      WHERE day IN ('2025-10-01', '2025-10-31', '2025-11-29') AND customer_id % 10 = 0
     EXCEPT SELECT day, customer_id, slug FROM got)) x;
SELECT * FROM ecpower.customer_segments(-1, '2025-10-01');
SELECT * FROM ecpower.customer_segments(
    (SELECT min(customer_id) FROM o_members WHERE slug = 'repeaters'), '2025-09-30');

-- 3. a part of the range again: the days after it that were stored as deltas of
-- its days are rewritten as keyframes first, and read back unchanged
SELECT count(*) > 0 AS deltas_into_the_part FROM ecpower.membership
 WHERE day > '2025-10-20' AND base_day BETWEEN '2025-10-11' AND '2025-10-20';
CALL ecpower.backfill('2025-10-11', '2025-10-20');
SELECT count(*) AS member_differences FROM pg_temp.members_diff();
SELECT count(*) AS kpi_differences FROM pg_temp.kpis_diff();
SELECT * FROM pg_temp.current_changed();
SELECT count(*) AS backfilled_runs FROM ecpower.refresh_runs WHERE status = 'backfilled';

-- 4. all or nothing: an error on the 31st day leaves every stored row as it was
CREATE TEMP TABLE before_rows AS
SELECT segment_id, day, run_id, kind, members FROM ecpower.membership;
CREATE FUNCTION pg_temp.fail_on_day() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.day = '2025-10-31' THEN
        RAISE EXCEPTION 'snapshot of % refused', NEW.day;
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER fail_on_day BEFORE INSERT ON ecpower.kpi_snapshots
    FOR EACH ROW EXECUTE FUNCTION pg_temp.fail_on_day();
CALL ecpower.backfill('2025-10-01', '2025-11-29');
DROP TRIGGER fail_on_day ON ecpower.kpi_snapshots;
SELECT count(*) AS rows_changed FROM (
    (SELECT segment_id, day, run_id, kind, members FROM ecpower.membership EXCEPT SELECT * FROM before_rows)
    UNION ALL
    (SELECT * FROM before_rows EXCEPT SELECT segment_id, day, run_id, kind, members FROM ecpower.membership)) x;
SELECT count(*) AS backfilled_runs FROM ecpower.refresh_runs WHERE status = 'backfilled';
SELECT count(*) AS member_differences FROM pg_temp.members_diff();

-- 5. bad input: 22023 naming the value, nothing written
CREATE FUNCTION pg_temp.try(p_from date, p_to date) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
    CALL ecpower.backfill(p_from, p_to);
    RETURN 'ok';
EXCEPTION WHEN OTHERS THEN
    RETURN SQLSTATE || ': ' || SQLERRM;
END
$$;
SELECT f, t, pg_temp.try(f, t) AS result
  FROM (VALUES (NULL::date, date '2025-10-01'), ('2025-10-01', NULL),
               ('2025-10-02', '2025-10-01'), ('2015-10-01', '2025-10-01'),
               ('2015-10-02', '2025-10-02'), ('-infinity', '2025-10-01'),
               ('2025-10-01', 'infinity'), ('2025-12-01', '2025-12-20'),
               ('2025-12-21', '2025-12-25'), ('2999-01-01', '2999-01-02')) v(f, t);
SELECT count(*) AS backfilled_runs FROM ecpower.refresh_runs WHERE status = 'backfilled';
SELECT count(*) AS rows_changed FROM (
    (SELECT segment_id, day, run_id, kind, members FROM ecpower.membership EXCEPT SELECT * FROM before_rows)
    UNION ALL
    (SELECT * FROM before_rows EXCEPT SELECT segment_id, day, run_id, kind, members FROM ecpower.membership)) x;

-- 6. a backfill inside a transaction rolls back with it
BEGIN;
CALL ecpower.backfill('2025-09-01', '2025-09-03');
SELECT count(DISTINCT day) AS days_stored FROM ecpower.membership WHERE day < '2025-10-01';
ROLLBACK;
SELECT count(*) AS days_stored FROM ecpower.membership WHERE day < '2025-10-01';

-- 7. before the first refresh: days up to yesterday can be backfilled
SET client_min_messages = warning;
DROP EXTENSION ecpower CASCADE;
CREATE EXTENSION ecpower;
RESET client_min_messages;
SELECT customer_rows > 0 AS loaded FROM ecpower.generate_demo_store(200, 5);
SELECT ecpower.create_segment_from_template('active_customers', 'active-30', '{"days": 30}') > 0 AS ok;
CALL ecpower.backfill('2025-12-01', '2025-12-31');
SELECT count(*) AS days, sum(member_count) > 0 AS members FROM ecpower.membership;
SELECT current_run_id FROM ecpower.refresh_state;
SELECT count(*) AS from_history FROM ecpower.segment_members('active-30', '2025-12-31');
SELECT count(DISTINCT o.customer_id) AS plain_sql FROM ecpower.orders o
 WHERE o.cancelled_at IS NULL AND o.ordered_at::date > date '2025-12-31' - 30
   AND o.ordered_at::date <= '2025-12-31';

-- 8. a store-local day of 25 hours (America/New_York leaves daylight saving time on
-- 2025-11-02) and one of 23 hours (2025-03-09): backfilled days equal end-of-day refreshes
UPDATE ecpower.settings SET store_timezone = 'America/New_York';
SELECT ecpower.create_segment_from_template('active_customers', 'active-1', '{"days": 1}') > 0 AS ok;
CREATE FUNCTION pg_temp.end_ny(d date) RETURNS timestamptz LANGUAGE sql AS
$$ SELECT ((d + 1)::timestamp AT TIME ZONE 'America/New_York') - interval '1 microsecond' $$;
CREATE TEMP TABLE dst_days AS
SELECT d::date AS day FROM generate_series(date '2025-03-07', '2025-03-11', '1 day') d
UNION ALL SELECT d::date FROM generate_series(date '2025-10-31', '2025-11-04', '1 day') d;
DO $$
DECLARE d date;
BEGIN
    FOR d IN SELECT day FROM dst_days ORDER BY day LOOP
        CALL ecpower.refresh(pg_temp.end_ny(d));
    END LOOP;
END
$$;
CALL ecpower.refresh(pg_temp.end_ny('2025-11-20'));
CREATE TEMP TABLE dst_oracle AS
SELECT s.slug, d.day, m FROM ecpower.segments s, dst_days d, ecpower.segment_members(s.slug, d.day) m;
SELECT count(*) > 0 AS oracle_rows, count(DISTINCT day) AS days FROM dst_oracle;
CALL ecpower.backfill('2025-03-07', '2025-03-11');
CALL ecpower.backfill('2025-10-31', '2025-11-04');
SELECT count(*) AS not_backfilled FROM ecpower.membership m JOIN dst_days d USING (day)
 WHERE m.run_id NOT IN (SELECT run_id FROM ecpower.refresh_runs WHERE status = 'backfilled');
SELECT count(*) AS dst_differences FROM (
    (SELECT s.slug, d.day, m FROM ecpower.segments s, dst_days d, ecpower.segment_members(s.slug, d.day) m
     EXCEPT SELECT * FROM dst_oracle)
    UNION ALL
    (SELECT * FROM dst_oracle
     EXCEPT SELECT s.slug, d.day, m FROM ecpower.segments s, dst_days d, ecpower.segment_members(s.slug, d.day) m)) x;

-- 9. roles: the refresher may backfill, a reader may not, and reads the history
SET client_min_messages = warning;
DO $$
DECLARE r text;
BEGIN
    FOREACH r IN ARRAY ARRAY['ecpower_reader', 'ecpower_admin', 'ecpower_refresher'] LOOP
        IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = r) THEN
            EXECUTE format('CREATE ROLE %I', r);
        END IF;
    END LOOP;
END $$;
SELECT ecpower.grant_roles() > 0 AS granted;
RESET client_min_messages;
SET ROLE ecpower_refresher;
CALL ecpower.backfill('2025-11-05', '2025-11-06');
RESET ROLE;
SET ROLE ecpower_reader;
SELECT pg_temp.try('2025-11-07', '2025-11-08') AS reader_backfill;
SELECT count(*) > 0 AS reader_reads FROM ecpower.customers c
 CROSS JOIN ecpower.customer_segments(c.customer_id, '2025-11-06') s;
RESET ROLE;
SELECT count(*) AS backfilled_runs, count(DISTINCT pid) AS sessions FROM ecpower.refresh_runs
 WHERE status = 'backfilled';
