-- Bought together (README "Feature reports"): ecpower.bought_together against a plain-SQL
-- oracle on the store of report.sql (fixture functions in schema public).
\i test/fixtures/setup.sql
SET client_min_messages = warning;
DROP FUNCTION IF EXISTS public.report_pairs_oracle;
SELECT public.report_fixture(300, '2024-12-31 15:00+00');
SELECT public.report_segment('thirds',
    ARRAY(SELECT customer_id FROM ecpower.customers WHERE customer_id % 3 = 0));

-- pairs in plain SQL (members NULL = the whole store)
CREATE FUNCTION public.report_pairs_oracle(members bigint[], variant text, p_from date, p_to date)
RETURNS TABLE (product_a bigint, label_a text, product_b bigint, label_b text,
               customers bigint, support numeric, confidence numeric, lift numeric)
LANGUAGE sql VOLATILE AS $$
    WITH op AS (
        SELECT DISTINCT s.customer_id, s.order_id, l.product_id
          FROM public.report_selected(variant, p_from, p_to) s
          JOIN ecpower.order_lines l USING (order_id)
         WHERE l.product_id IS NOT NULL
           AND (members IS NULL OR s.customer_id = ANY (members))),
    n AS (SELECT * FROM public.report_counted()
           WHERE members IS NULL OR customer_id = ANY (members)),
    den AS (SELECT CASE WHEN variant IN ('second', 'repeat')
                        THEN (SELECT count(*) FROM n WHERE n.n >= 2)
                        WHEN members IS NULL THEN (SELECT count(*) FROM n)
                        ELSE cardinality(members) END AS n),
    single AS (SELECT product_id, count(DISTINCT customer_id) AS n FROM op GROUP BY 1),
    pairs AS (SELECT a.product_id AS pa, b.product_id AS pb,
                     count(DISTINCT a.customer_id) AS n
                FROM op a JOIN op b ON a.order_id = b.order_id AND a.product_id < b.product_id
               GROUP BY 1, 2)
    SELECT p.pa, ta.title, p.pb, tb.title, p.n, p.n::numeric / NULLIF(den.n, 0), p.n::numeric / sa.n,
           (p.n * den.n)::numeric / NULLIF(sa.n * sb.n, 0)
      FROM pairs p CROSS JOIN den
      JOIN single sa ON sa.product_id = p.pa
      JOIN single sb ON sb.product_id = p.pb
      LEFT JOIN ecpower.products ta ON ta.product_id = p.pa
      LEFT JOIN ecpower.products tb ON tb.product_id = p.pb
$$;

-- bad arguments: 22023; unknown segment: 42704
SELECT public.report_error(q) FROM (VALUES
    ($$SELECT * FROM ecpower.bought_together(NULL, 0)$$),
    ($$SELECT * FROM ecpower.bought_together(NULL, NULL)$$),
    ($$SELECT * FROM ecpower.bought_together(NULL, 10, 'third')$$),
    ($$SELECT * FROM ecpower.bought_together(NULL, 10, 'all', '2024-02-01', '2024-01-31')$$),
    ($$SELECT * FROM ecpower.bought_together('nosuch')$$)) t(q);

-- readable: the top pairs of a segment
SELECT rank, product_a, label_a, product_b, label_b, customers, round(support, 4) AS support,
       round(confidence, 4) AS confidence, round(lift, 4) AS lift
  FROM ecpower.bought_together('thirds', 5);

CREATE TEMP TABLE variants AS
SELECT unnest(ARRAY['all', 'first', 'second', 'repeat', 'latest']) AS v;
CREATE TEMP TABLE periods (f date, t date);
INSERT INTO periods VALUES (NULL, NULL), ('2024-01-01', '2024-03-31'), ('2024-06-01', NULL);
CREATE TEMP TABLE segs AS
SELECT NULL::text AS slug, NULL::bigint[] AS members
UNION ALL SELECT 'thirds', ARRAY(SELECT ecpower.segment_members('thirds'));

-- every variant x period x (store, segment) against the oracle
SELECT slug, v, f, t, side, product_a, label_a, product_b, label_b, customers, support, confidence, lift
  FROM variants, periods, segs,
  LATERAL (
    (SELECT 'function' AS side, product_a, label_a, product_b, label_b, customers, support, confidence, lift
       FROM ecpower.bought_together(slug, 100000, v, f, t)
     EXCEPT
     SELECT 'function', * FROM public.report_pairs_oracle(members, v, f, t))
    UNION ALL
    (SELECT 'oracle', * FROM public.report_pairs_oracle(members, v, f, t)
     EXCEPT
     SELECT 'oracle', product_a, label_a, product_b, label_b, customers, support, confidence, lift
       FROM ecpower.bought_together(slug, 100000, v, f, t))) x
 ORDER BY 1, 2, 3, 4, 5, 6, 7;

-- not vacuous: pairs per variant
SELECT v, count(*) AS pairs
  FROM variants, LATERAL ecpower.bought_together(NULL, 100000, v) GROUP BY v ORDER BY v;

-- rank: customers descending, then product_a, product_b; top cuts the list
SELECT slug, v, rank
  FROM variants, segs,
  LATERAL (SELECT b.rank, row_number() OVER (ORDER BY b.customers DESC, b.product_a, b.product_b) AS expected
             FROM ecpower.bought_together(slug, 100000, v) b) x
 WHERE rank <> expected;
SELECT count(*) FROM ecpower.bought_together(NULL, 3);

-- the bought_together dimension of feature_report ranks products by members
-- who bought them in a selected order holding >= 2 distinct products
SELECT rank, key, label, customers FROM ecpower.feature_report('thirds', 'bought_together', top => 5);
