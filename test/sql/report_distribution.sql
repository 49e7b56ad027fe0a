-- Distributions (README "Feature reports"): ecpower.distribution against a plain-SQL oracle on
-- the store of report.sql (fixture functions in schema public).
\i test/fixtures/setup.sql
SET client_min_messages = warning;
DROP FUNCTION IF EXISTS public.report_dist_values, public.report_dist_oracle;
SELECT public.report_fixture(300, '2024-12-31 15:00+00');
SELECT public.report_segment('thirds',
    ARRAY(SELECT customer_id FROM ecpower.customers WHERE customer_id % 3 = 0));

-- per-customer values in plain SQL (members NULL = the whole store)
CREATE FUNCTION public.report_dist_values(members bigint[], measure text, variant text,
                                          p_from date, p_to date)
RETURNS TABLE (customer_id bigint, value numeric)
LANGUAGE sql STABLE AS $$
    WITH run AS (SELECT r.as_of FROM ecpower.refresh_state s
                   JOIN ecpower.refresh_runs r ON r.run_id = s.current_run_id),
    counted AS (
        SELECT o.order_id, o.customer_id, o.total - o.refunded AS net,
               (o.ordered_at AT TIME ZONE st.store_timezone)::date AS day,
               count(*) OVER (PARTITION BY o.customer_id) AS n,
               row_number() OVER (PARTITION BY o.customer_id ORDER BY o.ordered_at, o.order_id) AS seq
          FROM ecpower.orders o, run, ecpower.settings st
         WHERE o.cancelled_at IS NULL AND o.ordered_at <= run.as_of
           AND (members IS NULL OR o.customer_id = ANY (members))),
    gaps AS (
        SELECT c.*, c.day - lag(c.day) OVER (PARTITION BY c.customer_id ORDER BY c.seq) AS gap,
               (SELECT coalesce(sum(l.quantity), 0) FROM ecpower.order_lines l
                 WHERE l.order_id = c.order_id) AS items
          FROM counted c),
    sel AS (
        SELECT * FROM gaps
         WHERE CASE variant WHEN 'all' THEN true WHEN 'first' THEN seq = 1
                            WHEN 'second' THEN seq = 2 WHEN 'repeat' THEN seq >= 2
                            WHEN 'latest' THEN seq = n END
           AND (p_from IS NULL OR day >= p_from) AND (p_to IS NULL OR day <= p_to))
    SELECT customer_id,
           CASE measure WHEN 'amount' THEN avg(net)
                        WHEN 'order_count' THEN count(*)
                        WHEN 'items' THEN avg(items)
                        WHEN 'interval_days' THEN avg(gap)
                        WHEN 'lifetime_days' THEN max(day) - min(day) END
      FROM sel GROUP BY customer_id
    HAVING measure <> 'interval_days' OR count(gap) > 0
$$;

-- the distribution in plain SQL over given edges
CREATE FUNCTION public.report_dist_oracle(members bigint[], measure text, variant text,
                                          p_from date, p_to date, bins numeric[])
RETURNS TABLE (bin int, lower numeric, upper numeric, customers bigint, share numeric)
LANGUAGE sql STABLE AS $$
    WITH v AS (SELECT * FROM public.report_dist_values(members, measure, variant, p_from, p_to)),
    b AS (SELECT (SELECT max(i) FROM generate_subscripts(bins, 1) i WHERE bins[i] <= v.value) AS bin
            FROM v),
    counts AS (SELECT i AS bin, (SELECT count(*) FROM b WHERE b.bin = i) AS customers
                 FROM generate_subscripts(bins, 1) i)
    SELECT bin, bins[bin], bins[bin + 1], customers,
           customers::numeric / NULLIF((SELECT count(*) FROM b WHERE b.bin IS NOT NULL), 0)
      FROM counts
$$;

-- bad arguments: 22023
SELECT public.report_error(q) FROM (VALUES
    ($$SELECT * FROM ecpower.distribution(NULL, 'height')$$),
    ($$SELECT * FROM ecpower.distribution(NULL, NULL)$$),
    ($$SELECT * FROM ecpower.distribution(NULL, 'amount', 'third')$$),
    ($$SELECT * FROM ecpower.distribution(NULL, 'amount', 'all', '2024-02-01', '2024-01-31')$$),
    ($$SELECT * FROM ecpower.distribution(NULL, 'amount', bins => '{10, 10}')$$),
    ($$SELECT * FROM ecpower.distribution(NULL, 'amount', bins => '{10, 5}')$$),
    ($$SELECT * FROM ecpower.distribution(NULL, 'amount', bins => '{1, NULL}')$$),
    ($$SELECT * FROM ecpower.distribution(NULL, 'amount', bins => '{}')$$),
    ($$SELECT * FROM ecpower.distribution(NULL, 'amount', bins => '{1, NaN}')$$),
    ($$SELECT * FROM ecpower.distribution(NULL, 'interval_days', 'first')$$),
    ($$SELECT * FROM ecpower.distribution('nosuch', 'amount')$$)) t(q);

-- readable results: given bins (values below the first edge are not
-- counted; the last bin is open-ended) and automatic bins
SELECT * FROM ecpower.distribution(NULL, 'order_count', bins => '{2, 3, 5}');
SELECT bin, lower, upper, customers, round(share, 4) AS share
  FROM ecpower.distribution('thirds', 'amount');
SELECT bin, lower, upper, customers, round(share, 4) AS share
  FROM ecpower.distribution(NULL, 'interval_days', 'second');

CREATE TEMP TABLE measures (m text, bins numeric[]);
INSERT INTO measures VALUES
    ('amount', '{0, 50, 100.5, 150, 200.25}'), ('order_count', '{1, 2, 3, 5}'),
    ('items', '{1, 2.5, 4, 6}'), ('interval_days', '{0, 30, 90, 180, 365}'),
    ('lifetime_days', '{0, 1, 90, 365}');
CREATE TEMP TABLE variants AS
SELECT unnest(ARRAY['all', 'first', 'second', 'repeat', 'latest']) AS v;
CREATE TEMP TABLE periods (f date, t date);
INSERT INTO periods VALUES (NULL, NULL), ('2024-01-01', '2024-03-31'), ('2024-06-01', NULL);
CREATE TEMP TABLE segs AS
SELECT NULL::text AS slug, NULL::bigint[] AS members
UNION ALL SELECT 'thirds', ARRAY(SELECT ecpower.segment_members('thirds'));

-- given bins: every measure x variant x period x (store, segment)
SELECT slug, m, v, f, t, side, bin, lower, upper, customers, share
  FROM measures, variants, periods, segs,
  LATERAL (
    (SELECT 'function' AS side, * FROM ecpower.distribution(slug, m, v, f, t, bins)
     EXCEPT
     SELECT 'function', * FROM public.report_dist_oracle(members, m, v, f, t, bins))
    UNION ALL
    (SELECT 'oracle', * FROM public.report_dist_oracle(members, m, v, f, t, bins)
     EXCEPT
     SELECT 'oracle', * FROM ecpower.distribution(slug, m, v, f, t, bins))) x
 WHERE NOT (m = 'interval_days' AND v = 'first')
 ORDER BY 1, 2, 3, 4, 5, 6, 7;

-- the checks above are not vacuous
SELECT m, sum(customers) AS customers_binned
  FROM measures, LATERAL ecpower.distribution(NULL, m, 'all', NULL, NULL, bins)
 GROUP BY m ORDER BY m;

-- automatic bins: the oracle agrees on the same edges; edges are a 1-2-5 x
-- 10^k step apart, at most 12 bins, the first edge at or below the smallest
-- value, and every customer with a value is counted
CREATE TEMP TABLE auto AS
SELECT slug, members, m, v, f, t,
       array_agg(d.lower ORDER BY d.bin) AS edges,
       array_agg(d.customers ORDER BY d.bin) AS counts,
       sum(d.customers) AS counted
  FROM measures, variants, periods, segs,
       LATERAL ecpower.distribution(slug, m, v, f, t) d
 WHERE NOT (m = 'interval_days' AND v = 'first')
   AND (f IS NULL OR t IS NOT NULL)
 GROUP BY slug, members, m, v, f, t;
SELECT count(*) AS automatic_distributions FROM auto;
SELECT slug, m, v, f, t, edges, counts
  FROM auto
 WHERE counts IS DISTINCT FROM
       ARRAY(SELECT customers FROM public.report_dist_oracle(members, m, v, f, t, edges) ORDER BY bin)
    OR cardinality(edges) > 12
    OR counted <> (SELECT count(*) FROM public.report_dist_values(members, m, v, f, t))
    OR edges[1] > (SELECT min(value) FROM public.report_dist_values(members, m, v, f, t))
    OR (cardinality(edges) > 1 AND NOT (
          (edges[2] - edges[1]) / 10 ^ floor(log(edges[2] - edges[1])) = ANY ('{1, 2, 5}')
          AND (SELECT bool_and(edges[i + 1] - edges[i] = edges[2] - edges[1])
                 FROM generate_series(1, cardinality(edges) - 1) i)));
-- no customer: no automatic bins; given bins: zero counts and NULL shares
SELECT count(*) FROM ecpower.distribution(NULL, 'amount', 'all', '2030-01-01', NULL);
SELECT * FROM ecpower.distribution(NULL, 'amount', 'all', '2030-01-01', NULL, '{0, 100}');
