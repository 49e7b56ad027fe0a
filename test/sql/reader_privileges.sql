-- The reports read the input tables below the executor; they answer a role
-- only when a plain SELECT on those tables would (table privileges), and
-- refuse a role that row-level security restricts (docs/security.md).
-- The admin drops segments (their history goes by foreign key, as the
-- owner); a reader can backtest the prediction model.
\i test/fixtures/setup.sql
SET client_min_messages = warning;
DO $$
DECLARE r text;
BEGIN
    FOREACH r IN ARRAY ARRAY['ecpower_reader', 'ecpower_admin', 'ecpower_refresher'] LOOP
        IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = r) THEN
            EXECUTE format('CREATE ROLE %I', r);
        END IF;
    END LOOP;
    IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'ecp_rls_reader') THEN
        DROP OWNED BY ecp_rls_reader CASCADE;
        DROP ROLE ecp_rls_reader;
    END IF;
END $$;
CREATE ROLE ecp_rls_reader;
SELECT ecpower.grant_roles() > 0 AS granted;
-- a second reader role, with the reader's grants but not its policies
SELECT ecpower.grant_roles('ecp_rls_reader', NULL, NULL) > 0 AS granted;
SELECT ecpower.generate_demo_store(800, 3) IS NOT NULL AS generated;
RESET client_min_messages;
SET DateStyle = 'ISO, YMD';

SELECT ecpower.create_segment('buyers', 'Buyers', '{"orders": {}}') > 0 AS created;
SELECT ecpower.create_segment('repeat', 'Repeat', '{"orders": {}, "count": {"gte": 2}}') > 0 AS created;
CALL ecpower.refresh('2025-06-30 12:00+00');
CALL ecpower.refresh('2025-09-30 12:00+00');

-- every report that reads the input tables, as SQL text; its result is
-- reduced to a row count
CREATE TEMP TABLE probe AS
SELECT (SELECT min(customer_id) FROM ecpower.orders) AS customer_id,
       (SELECT min(as_of_date) FROM ecpower.refresh_runs) AS day,
       (SELECT count(*) FROM ecpower.orders) AS orders;
GRANT SELECT ON probe TO PUBLIC;
CREATE TEMP TABLE report_calls (name text, stmt text);
INSERT INTO report_calls VALUES
    ('segment_members', $$SELECT * FROM ecpower.segment_members('buyers')$$),
    ('segment_members day', $$SELECT * FROM ecpower.segment_members('buyers', (SELECT day FROM probe))$$),
    ('customer_segments', $$SELECT * FROM ecpower.customer_segments((SELECT customer_id FROM probe))$$),
    ('segment_customers', $$SELECT * FROM ecpower.segment_customers('buyers')$$),
    ('segment_kpis', $$SELECT * FROM ecpower.segment_kpis(NULL)$$),
    ('segment_kpis slug', $$SELECT * FROM ecpower.segment_kpis('repeat')$$),
    ('ltv_window', $$SELECT * FROM ecpower.ltv_window(NULL, 3)$$),
    ('compare_segments', $$SELECT * FROM ecpower.compare_segments(ARRAY['buyers', 'repeat'])$$),
    ('segment_revenue', $$SELECT * FROM ecpower.segment_revenue(ARRAY['repeat'], 'month', '2025-01-01', '2025-06-30')$$),
    ('cohorts', $$SELECT * FROM ecpower.cohorts(NULL)$$),
    ('cohort_summary', $$SELECT * FROM ecpower.cohort_summary('repeat')$$),
    ('journey', $$SELECT * FROM ecpower.journey(ARRAY['repeat'], '2025-06-30', '2025-09-30')$$),
    ('feature_report', $$SELECT * FROM ecpower.feature_report(NULL, 'customer_tag')$$),
    ('distribution', $$SELECT * FROM ecpower.distribution('repeat', 'amount')$$),
    ('bought_together', $$SELECT * FROM ecpower.bought_together('repeat')$$),
    ('acquisition_report', $$SELECT * FROM ecpower.acquisition_report('utm_campaign', 'repeat')$$),
    ('next_purchases', $$SELECT * FROM ecpower.next_purchases(NULL)$$),
    ('time_to_next_order', $$SELECT * FROM ecpower.time_to_next_order('repeat', 'sales_channel')$$),
    ('evaluate', $$SELECT * FROM ecpower.evaluate('{"orders": {}}', '2025-09-30 12:00+00')$$),
    ('customer_summary', $$SELECT * FROM ecpower.customer_summary('2025-09-30 12:00+00')$$),
    ('backtest_bgnbd', $$SELECT * FROM ecpower.backtest_bgnbd('2025-03-31', '2025-09-30', 'day', 0.001)$$);
GRANT SELECT ON report_calls TO PUBLIC;

-- 'answers' or the SQLSTATE and message of the error
CREATE FUNCTION pg_temp.try_reports() RETURNS TABLE (report text, outcome text)
LANGUAGE plpgsql AS $$
DECLARE
    c record;
    n bigint;
BEGIN
    FOR c IN SELECT * FROM report_calls ORDER BY name LOOP
        report := c.name;
        BEGIN
            EXECUTE 'SELECT count(*) FROM (' || c.stmt || ') s' INTO n;
            outcome := CASE WHEN n > 0 THEN 'answers' ELSE 'no rows' END;
        EXCEPTION WHEN OTHERS THEN
            outcome := SQLSTATE || ': ' || SQLERRM;
        END;
        RETURN NEXT;
    END LOOP;
END $$;

-- with its grants, the reader gets every report
SET ROLE ecpower_reader;
SELECT * FROM pg_temp.try_reports();
-- the whole-store KPI row equals plain SQL over the same orders
SELECT k.customers = (SELECT count(DISTINCT customer_id) FROM ecpower.orders
                       WHERE cancelled_at IS NULL AND ordered_at <= '2025-09-30 12:00+00') AS kpi_matches
  FROM ecpower.segment_kpis(NULL) k;
-- a reader's backtest records no fit
SELECT count(*) AS fits_recorded FROM ecpower.model_fits;
RESET ROLE;

-- without SELECT on one input table, every report refuses, naming it
REVOKE SELECT ON ecpower.orders FROM ecpower_reader;
SET ROLE ecpower_reader;
SELECT * FROM pg_temp.try_reports();
SELECT count(*) FROM ecpower.orders;     -- the same refusal as plain SQL
RESET ROLE;
GRANT SELECT ON ecpower.orders TO ecpower_reader;
REVOKE SELECT ON ecpower.customers, ecpower.products, ecpower.order_lines FROM ecpower_reader;
SET ROLE ecpower_reader;
SELECT report, outcome FROM pg_temp.try_reports()
 WHERE report IN ('segment_kpis', 'journey', 'segment_members', 'customer_segments');
RESET ROLE;
GRANT SELECT ON ecpower.customers, ecpower.products, ecpower.order_lines TO ecpower_reader;

-- row-level security: a role that a policy restricts is refused (the
-- readers cannot filter), a role no policy applies to is answered
ALTER TABLE ecpower.orders ENABLE ROW LEVEL SECURITY;
CREATE POLICY orders_rls_reader ON ecpower.orders TO ecp_rls_reader
    USING (customer_id % 2 = 0);
CREATE POLICY orders_everyone ON ecpower.orders TO ecpower_reader USING (true);
SET ROLE ecp_rls_reader;
SELECT count(*) FILTER (WHERE customer_id % 2 = 1) AS odd_orders_seen_by_sql,
       count(*) > 0 AS even_orders_seen_by_sql FROM ecpower.orders;
SELECT * FROM pg_temp.try_reports() WHERE report IN ('segment_kpis', 'evaluate', 'cohorts', 'segment_members',
                                                 'segment_customers');
SET row_security = off;
SELECT * FROM pg_temp.try_reports() WHERE report = 'segment_kpis';
RESET row_security;
RESET ROLE;
-- the check does not read the policies: a role whose policy lets it see
-- every row is subject to row security all the same, and refused
SET ROLE ecpower_reader;
SELECT count(*) = (SELECT orders FROM probe) AS reader_sees_every_order FROM ecpower.orders;
SELECT * FROM pg_temp.try_reports() WHERE report = 'segment_kpis';
RESET ROLE;
-- the owner (no FORCE ROW LEVEL SECURITY) is not restricted
SELECT * FROM pg_temp.try_reports() WHERE report = 'segment_kpis';
DROP POLICY orders_rls_reader ON ecpower.orders;
DROP POLICY orders_everyone ON ecpower.orders;
ALTER TABLE ecpower.orders DISABLE ROW LEVEL SECURITY;

-- the admin drops a segment: its membership and KPI history go with it,
-- the version history stays
SELECT count(*) > 0 AS membership_before,
       (SELECT count(*) > 0 FROM ecpower.kpi_snapshots k JOIN ecpower.segments s USING (segment_id)
         WHERE s.slug = 'repeat') AS kpis_before
  FROM ecpower.membership m JOIN ecpower.segments s USING (segment_id) WHERE s.slug = 'repeat';
CREATE TEMP TABLE dropped AS SELECT segment_id FROM ecpower.segments WHERE slug = 'repeat';
SET ROLE ecpower_admin;
SELECT ecpower.drop_segment('repeat');
RESET ROLE;
SELECT (SELECT count(*) FROM ecpower.membership WHERE segment_id = d.segment_id) AS membership_left,
       (SELECT count(*) FROM ecpower.kpi_snapshots WHERE segment_id = d.segment_id) AS kpis_left,
       (SELECT string_agg(change, ',' ORDER BY version) FROM ecpower.segment_versions
         WHERE segment_id = d.segment_id) AS versions
  FROM dropped d;
-- the reader still cannot write membership
SET ROLE ecpower_reader;
\set VERBOSITY sqlstate
DELETE FROM ecpower.membership;
\set VERBOSITY default
RESET ROLE;

SET client_min_messages = warning;
DROP EXTENSION ecpower CASCADE;
DROP OWNED BY ecp_rls_reader CASCADE;
DROP ROLE ecp_rls_reader;
