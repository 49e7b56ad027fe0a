-- Plain-SQL oracles of the KPI, cohort and journey figures (README "KPIs, cohorts and journeys"),
-- included by sql/kpi*.sql, sql/cohort*.sql, sql/journey*.sql and
-- sql/parallel*.sql with \i after CREATE EXTENSION.  Written the obvious
-- way (window functions, percentile_cont, count(DISTINCT)) so that they
-- share no code with the C implementation.
--
-- o_kpi_groups() reads the view kpi_rows (g text, customer_id bigint,
-- ordered_at timestamptz, amount numeric), which each test defines, with
-- ecpower.kpis() semantics: customers = distinct customer ids, orders =
-- rows with an ordered_at, a NULL amount is 0; gross_profit and
-- gross_margin NULL as the three-argument aggregate gives them (segment
-- reports take them from o_gross()).

SET check_function_bodies = off;

-- the store's time zone
CREATE FUNCTION pg_temp.o_tz() RETURNS text LANGUAGE sql STABLE
AS $$ SELECT store_timezone FROM ecpower.settings $$;

-- as_of of the current refresh
CREATE FUNCTION pg_temp.o_as_of() RETURNS timestamptz LANGUAGE sql STABLE
AS $$
    SELECT r.as_of FROM ecpower.refresh_state s
      JOIN ecpower.refresh_runs r ON r.run_id = s.current_run_id
$$;

CREATE FUNCTION pg_temp.o_as_of_date() RETURNS date LANGUAGE sql STABLE
AS $$ SELECT (pg_temp.o_as_of() AT TIME ZONE pg_temp.o_tz())::date $$;

-- counted orders as of a time, with their store-local date and net amount
CREATE FUNCTION pg_temp.o_counted(as_of timestamptz)
RETURNS TABLE (customer_id bigint, ordered_at timestamptz, d date, net numeric)
LANGUAGE sql STABLE
AS $$
    WITH p AS MATERIALIZED (SELECT as_of AS a, s.store_timezone AS tz FROM ecpower.settings s)
    SELECT o.customer_id, o.ordered_at,
           (o.ordered_at AT TIME ZONE p.tz)::date, o.total - o.refunded
      FROM ecpower.orders o, p
     WHERE o.cancelled_at IS NULL AND o.ordered_at <= p.a
$$;

-- members of a slug as of the current refresh (NULL: customers with a
-- counted order)
CREATE FUNCTION pg_temp.o_members(slug text)
RETURNS TABLE (customer_id bigint)
LANGUAGE sql STABLE
AS $$
    SELECT m FROM ecpower.segment_members(slug) m WHERE slug IS NOT NULL
    UNION ALL
    SELECT DISTINCT c.customer_id FROM pg_temp.o_counted(pg_temp.o_as_of()) c
     WHERE slug IS NULL
$$;

-- KPI rows per group of kpi_rows
CREATE FUNCTION pg_temp.o_kpi_groups()
RETURNS TABLE (g text, k ecpower.kpi)
LANGUAGE sql STABLE
AS $$
WITH r AS (
    SELECT g, customer_id, ordered_at, coalesce(amount, 0) AS net,
           (ordered_at AT TIME ZONE s.store_timezone)::date AS d
      FROM kpi_rows, ecpower.settings s WHERE customer_id IS NOT NULL),
c AS (SELECT g, count(DISTINCT customer_id) AS customers FROM r GROUP BY g),
o AS (SELECT * FROM r WHERE ordered_at IS NOT NULL),
pc AS (SELECT g, customer_id, count(*) AS n, sum(net) AS rev, max(d) - min(d) AS life
         FROM o GROUP BY g, customer_id),
pcs AS (SELECT g, count(*) AS buyers, sum(n) AS orders, sum(rev) AS revenue,
               count(*) FILTER (WHERE n >= 2) AS repeaters, sum(life) AS life,
               avg(rev / n) AS caov
          FROM pc GROUP BY g),
gp AS (SELECT g, d - lag(d) OVER (PARTITION BY g, customer_id ORDER BY d) AS gap FROM o),
med AS (SELECT g, percentile_cont(0.5) WITHIN GROUP (ORDER BY gap) AS med
          FROM gp WHERE gap IS NOT NULL GROUP BY g)
SELECT c.g,
       ROW(c.customers, coalesce(p.buyers, 0), coalesce(p.orders, 0),
           coalesce(p.revenue, 0),
           round(coalesce(p.revenue, 0) / nullif(c.customers, 0), 2),
           round(p.revenue / nullif(p.orders, 0), 2),
           round(p.caov, 2),
           round(coalesce(p.orders, 0)::numeric / nullif(c.customers, 0), 4),
           round(coalesce(p.repeaters, 0)::numeric / nullif(c.customers, 0), 4),
           round(p.life::numeric / nullif(p.orders - p.buyers, 0), 2),
           m.med::numeric,
           round(p.life::numeric / nullif(p.buyers, 0), 2),
           NULL::numeric, NULL::numeric)::ecpower.kpi
  FROM c
  LEFT JOIN pcs p ON p.g IS NOT DISTINCT FROM c.g
  LEFT JOIN med m ON m.g IS NOT DISTINCT FROM c.g
$$;

-- counted orders as of a time with their gross profit: net minus
-- quantity * unit_cost of the lines, NULL when a line lacks a cost or a
-- product, net for an order without lines
CREATE FUNCTION pg_temp.o_profits(as_of timestamptz)
RETURNS TABLE (order_id bigint, customer_id bigint, d date, net numeric, profit numeric)
LANGUAGE sql STABLE
AS $$
    SELECT o.order_id, o.customer_id, (o.ordered_at AT TIME ZONE s.store_timezone)::date,
           o.total - o.refunded,
           CASE WHEN bool_and(l.order_id IS NULL OR (l.unit_cost IS NOT NULL AND l.product_id IS NOT NULL))
                THEN o.total - o.refunded - coalesce(sum(l.quantity * l.unit_cost), 0) END
      FROM ecpower.orders o
      LEFT JOIN ecpower.order_lines l ON l.order_id = o.order_id,
           ecpower.settings s
     WHERE o.cancelled_at IS NULL AND o.ordered_at <= as_of
     GROUP BY o.order_id, s.store_timezone
$$;

-- gross_profit and gross_margin of a slug's members (NULL: the store) over
-- their counted orders dated in [from, to], as of the current refresh
CREATE FUNCTION pg_temp.o_gross(slug text, from_d date, to_d date)
RETURNS TABLE (gross_profit numeric, gross_margin numeric)
LANGUAGE sql STABLE
AS $$
    SELECT CASE WHEN NOT coalesce(bool_or(p.profit IS NULL), false)
                THEN coalesce(sum(p.profit), 0) END,
           CASE WHEN NOT coalesce(bool_or(p.profit IS NULL), false)
                THEN round(sum(p.profit) / nullif(sum(p.net), 0), 4) END
      FROM pg_temp.o_members(slug) m
      JOIN pg_temp.o_profits(pg_temp.o_as_of()) p
        ON p.customer_id = m.customer_id
       AND (from_d IS NULL OR p.d >= from_d) AND (to_d IS NULL OR p.d <= to_d)
$$;

-- a KPI row with its gross_profit and gross_margin replaced
CREATE FUNCTION pg_temp.o_with_gross(k ecpower.kpi, gp numeric, gm numeric)
RETURNS ecpower.kpi
LANGUAGE sql IMMUTABLE
AS $$
    SELECT ROW(k.customers, k.buyers, k.orders, k.revenue, k.ltv, k.aov, k.customer_aov,
               k.avg_orders, k.repeat_rate, k.avg_interval_days, k.median_interval_days,
               k.avg_lifetime_days, gp, gm)::ecpower.kpi
$$;

-- the rows of segment_kpis(slug, from, to): members joined to their counted
-- orders dated in [from, to] (members without one give a NULL order)
CREATE FUNCTION pg_temp.o_segment_rows(slug text, from_d date, to_d date)
RETURNS TABLE (g text, customer_id bigint, ordered_at timestamptz, amount numeric)
LANGUAGE sql STABLE
AS $$
    SELECT slug, m.customer_id, o.ordered_at, o.net
      FROM pg_temp.o_members(slug) m
      LEFT JOIN pg_temp.o_counted(pg_temp.o_as_of()) o
        ON o.customer_id = m.customer_id
       AND (from_d IS NULL OR o.d >= from_d) AND (to_d IS NULL OR o.d <= to_d)
$$;

-- mismatches of segment_kpis against the oracle for the slugs of test_slugs
-- and the windows of test_windows
CREATE FUNCTION pg_temp.o_segment_kpis_mismatches()
RETURNS TABLE (slug text, from_d date, to_d date, got ecpower.kpi, want ecpower.kpi)
LANGUAGE plpgsql
AS $$
DECLARE
    s record;
    w record;
BEGIN
    FOR s IN SELECT t.slug FROM test_slugs t LOOP
        FOR w IN SELECT * FROM test_windows LOOP
            EXECUTE format('CREATE OR REPLACE TEMP VIEW kpi_rows AS
                     SELECT * FROM pg_temp.o_segment_rows(%L::text, %L::date, %L::date)',
                     s.slug, w.from_d, w.to_d);
            RETURN QUERY
            SELECT s.slug, w.from_d, w.to_d, gx.k, pg_temp.o_with_gross(wx.k, gr.gross_profit, gr.gross_margin)
              FROM (SELECT ecpower.segment_kpis(s.slug, w.from_d, w.to_d) AS k) gx
              FULL JOIN (SELECT coalesce(o.k,
                    ROW(0, 0, 0, 0, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL)::ecpower.kpi) AS k
                  FROM (SELECT NULL) z LEFT JOIN pg_temp.o_kpi_groups() o ON true) wx ON true,
                   pg_temp.o_gross(s.slug, w.from_d, w.to_d) gr
             WHERE gx.k IS DISTINCT FROM pg_temp.o_with_gross(wx.k, gr.gross_profit, gr.gross_margin);
        END LOOP;
    END LOOP;
END
$$;

-- a deterministic random store: customers ids first_id.., about a tenth
-- without orders, 1-9 orders each between 2023-01-01 and 2025-03-01 UTC at
-- any hour (so store-local dates and months differ from UTC ones), 10%
-- partly refunded, 5% cancelled, every amount with two decimals
CREATE FUNCTION pg_temp.o_fixture(first_id bigint, ncustomers integer, seed float8)
RETURNS void
LANGUAGE plpgsql
AS $$
BEGIN
    PERFORM setseed(seed);
    INSERT INTO ecpower.customers (customer_id)
    SELECT first_id + g FROM generate_series(0, ncustomers - 1) g;
    CREATE TEMP TABLE o_fixture_counts ON COMMIT DROP AS
    SELECT first_id + g AS customer_id,
           CASE WHEN random() < 0.1 THEN 0 ELSE 1 + (random() ^ 2 * 9)::int END AS n
      FROM generate_series(0, ncustomers - 1) g;
    INSERT INTO ecpower.orders (order_id, customer_id, ordered_at, total, refunded, cancelled_at)
    SELECT first_id * 100 + row_number() OVER (ORDER BY c.customer_id, i),
           c.customer_id, x.at, x.total,
           CASE WHEN random() < 0.1 THEN round((x.total * random())::numeric, 2) ELSE 0 END,
           CASE WHEN random() < 0.05 THEN x.at + interval '1 day' END
      FROM o_fixture_counts c
     CROSS JOIN LATERAL generate_series(1, c.n) i
     CROSS JOIN LATERAL (SELECT timestamptz '2023-01-01 00:00+00'
                                + (random() * 790 * 86400) * interval '1 second'
                                + (c.customer_id + i) * interval '0 second' AS at,
                                round((5 + random() * 200)::numeric, 2) AS total) x;
    DROP TABLE o_fixture_counts;
END
$$;

RESET check_function_bodies;

SET check_function_bodies = off;

-- counted orders of a slug's members with their first order date, cohort
-- month and month offset
CREATE FUNCTION pg_temp.o_cohort_orders(slug text)
RETURNS TABLE (customer_id bigint, d date, net numeric, first date, cm date, k int, n bigint, second date)
LANGUAGE sql STABLE
AS $$
    WITH c AS MATERIALIZED (
                SELECT o.* FROM pg_temp.o_counted(pg_temp.o_as_of()) o
                 WHERE o.customer_id IN (SELECT m.customer_id FROM pg_temp.o_members(slug) m)),
    r AS (SELECT c.*, row_number() OVER (PARTITION BY c.customer_id ORDER BY c.d) AS seq FROM c),
    f AS (SELECT r.customer_id, min(r.d) AS first, count(*) AS n,
                 min(r.d) FILTER (WHERE r.seq = 2) AS second
            FROM r GROUP BY 1)
    SELECT c.customer_id, c.d, c.net, f.first, date_trunc('month', f.first)::date,
           ((extract(year FROM c.d) * 12 + extract(month FROM c.d))
            - (extract(year FROM f.first) * 12 + extract(month FROM f.first)))::int,
           f.n, f.second
      FROM c JOIN f USING (customer_id)
$$;

-- cohorts(slug, months) the obvious way
CREATE FUNCTION pg_temp.o_cohorts(slug text, months int)
RETURNS TABLE (cohort_month date, customers int, month_offset int, active_customers int,
               retention numeric, revenue numeric, cumulative_ltv numeric)
LANGUAGE sql STABLE
AS $$
    WITH co AS (SELECT * FROM pg_temp.o_cohort_orders(slug)),
    sz AS (SELECT cm, count(DISTINCT customer_id) AS size FROM co GROUP BY cm),
    offs AS (SELECT sz.cm, sz.size, k FROM sz, generate_series(0, months - 1) k
              WHERE sz.cm + make_interval(months => k)
                    <= date_trunc('month', pg_temp.o_as_of_date())),
    act AS (SELECT cm, k, count(DISTINCT customer_id) AS a, sum(net) AS rev
              FROM co GROUP BY cm, k)
    SELECT offs.cm, offs.size::int, offs.k, coalesce(act.a, 0)::int,
           round(coalesce(act.a, 0)::numeric / offs.size, 4), coalesce(act.rev, 0),
           round(sum(coalesce(act.rev, 0)) OVER (PARTITION BY offs.cm ORDER BY offs.k)
                 / offs.size, 2)
      FROM offs LEFT JOIN act ON act.cm = offs.cm AND act.k = offs.k
$$;

-- cohort_summary(slug) the obvious way
CREATE FUNCTION pg_temp.o_cohort_summary(slug text)
RETURNS TABLE (cohort_month date, customers int, ltv_3m numeric, ltv_6m numeric,
               ltv_12m numeric, f2_rate numeric, f2_rate_90d numeric)
LANGUAGE sql STABLE
AS $$
    WITH co AS (SELECT * FROM pg_temp.o_cohort_orders(slug)),
    pc AS (SELECT customer_id, cm, first, n, second,
                  sum(net) FILTER (WHERE d < (first + interval '3 months')::date) AS r3,
                  sum(net) FILTER (WHERE d < (first + interval '6 months')::date) AS r6,
                  sum(net) FILTER (WHERE d < (first + interval '12 months')::date) AS r12
             FROM co GROUP BY customer_id, cm, first, n, second),
    s AS (SELECT cm, count(*) AS size, sum(r3) AS r3, sum(r6) AS r6, sum(r12) AS r12,
                 count(*) FILTER (WHERE n >= 2) AS f2,
                 count(*) FILTER (WHERE second - first <= 90) AS f2_90,
                 (cm + interval '1 month' - interval '1 day')::date AS last_day
            FROM pc GROUP BY cm)
    SELECT cm, size::int,
           CASE WHEN (last_day + interval '3 months')::date <= pg_temp.o_as_of_date()
                THEN round(r3 / size, 2) END,
           CASE WHEN (last_day + interval '6 months')::date <= pg_temp.o_as_of_date()
                THEN round(r6 / size, 2) END,
           CASE WHEN (last_day + interval '12 months')::date <= pg_temp.o_as_of_date()
                THEN round(r12 / size, 2) END,
           round(f2::numeric / size, 4),
           CASE WHEN last_day + 90 <= pg_temp.o_as_of_date()
                THEN round(f2_90::numeric / size, 4) END
      FROM s
$$;

RESET check_function_bodies;

SET check_function_bodies = off;

-- ltv_window(slug, months) the obvious way
CREATE FUNCTION pg_temp.o_ltv_window(slug text, m int)
RETURNS TABLE (eligible bigint, ltv numeric)
LANGUAGE sql STABLE
AS $$
    WITH c AS MATERIALIZED (
             SELECT o.* FROM pg_temp.o_counted(pg_temp.o_as_of()) o
              WHERE o.customer_id IN (SELECT x.customer_id FROM pg_temp.o_members(slug) x)),
    f AS (SELECT customer_id, min(d) AS first FROM c GROUP BY 1),
    e AS (SELECT f.customer_id,
                 coalesce((SELECT sum(c.net) FROM c WHERE c.customer_id = f.customer_id
                             AND c.d < (f.first + make_interval(months => m))::date), 0) AS rev
            FROM f WHERE (f.first + make_interval(months => m))::date <= pg_temp.o_as_of_date())
    SELECT count(*), round(sum(rev) / nullif(count(*), 0), 2) FROM e
$$;

-- segment_revenue(ARRAY[slug], grain, from, to) the obvious way
CREATE FUNCTION pg_temp.o_segment_revenue(slug text, grain text, from_d date, to_d date)
RETURNS TABLE (slug text, period_start date, buyers bigint, orders bigint, revenue numeric)
LANGUAGE sql STABLE
AS $$
    WITH c AS MATERIALIZED (
             SELECT o.* FROM pg_temp.o_counted(pg_temp.o_as_of()) o
              WHERE o.customer_id IN (SELECT x.customer_id FROM pg_temp.o_members(slug) x)
                AND o.d BETWEEN from_d AND to_d)
    SELECT slug, p::date, count(DISTINCT c.customer_id), count(c.customer_id),
           coalesce(sum(c.net), 0)
      FROM generate_series(date_trunc(grain, from_d), date_trunc(grain, to_d),
                           ('1 ' || grain)::interval) p
      LEFT JOIN c ON date_trunc(grain, c.d) = p
     GROUP BY p
$$;

-- journey(slugs, from, to) the obvious way, from segment_members(slug, day)
CREATE FUNCTION pg_temp.o_journey(slugs text[], from_d date, to_d date)
RETURNS TABLE (from_slug text, to_slug text, customers bigint, revenue numeric)
LANGUAGE sql STABLE
AS $$
    WITH s AS (SELECT u.slug, u.i FROM unnest(slugs) WITH ORDINALITY u(slug, i)),
    a AS (SELECT s.slug, m AS customer_id FROM s, ecpower.segment_members(s.slug, from_d) m),
    b AS (SELECT s.slug, m AS customer_id FROM s, ecpower.segment_members(s.slug, to_d) m),
    cust AS (SELECT customer_id FROM a UNION SELECT customer_id FROM b),
    fa AS (SELECT c.customer_id, a.slug FROM cust c LEFT JOIN a USING (customer_id)),
    fb AS (SELECT c.customer_id, b.slug FROM cust c LEFT JOIN b USING (customer_id)),
    rev AS (SELECT c.customer_id,
                   coalesce((SELECT sum(o.net) FROM pg_temp.o_counted(pg_temp.o_as_of()) o
                              WHERE o.customer_id = c.customer_id
                                AND o.d > from_d AND o.d <= to_d), 0) AS r
              FROM cust c)
    SELECT fa.slug, fb.slug, count(*), sum(rev.r)
      FROM fa JOIN fb USING (customer_id) JOIN rev USING (customer_id)
     WHERE fa.slug IS NOT NULL OR fb.slug IS NOT NULL
     GROUP BY fa.slug, fb.slug
$$;

RESET check_function_bodies;
