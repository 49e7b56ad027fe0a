-- Feature reports (README "Feature reports") on a generated demo store: every dimension x
-- variant, distributions and pairs against the plain-SQL oracles of
-- report*.sql (schema public), in a store time zone with daylight saving.
\i test/fixtures/setup.sql
SET client_min_messages = warning;
SELECT customer_rows, order_rows FROM ecpower.generate_demo_store(1000, 11);
UPDATE ecpower.settings SET store_timezone = 'America/New_York';
-- a real segment and a real refresh: customers whose first order came
-- through email (the engine matches channels case-insensitively)
SELECT ecpower.create_segment('email-first', 'First order via email',
    '{"orders": {"nth": "first", "acquisition_channel": ["email"]}}') > 0 AS created;
CALL ecpower.refresh('2025-06-30 12:00+00');
-- the segment the engine stored is the one plain SQL finds
SELECT count(*) AS mismatches FROM (
    (SELECT ecpower.segment_members('email-first')
     EXCEPT
     SELECT s.customer_id FROM public.report_selected('first', NULL, NULL) s
       JOIN ecpower.orders o USING (order_id, customer_id)
      WHERE lower(o.acquisition_channel) = 'email')
    UNION ALL
    (SELECT s.customer_id FROM public.report_selected('first', NULL, NULL) s
       JOIN ecpower.orders o USING (order_id, customer_id)
      WHERE lower(o.acquisition_channel) = 'email'
     EXCEPT
     SELECT ecpower.segment_members('email-first'))) x;
SELECT count(*) AS members FROM ecpower.segment_members('email-first');

CREATE TEMP TABLE dims AS
SELECT unnest(ARRAY['product', 'product_type', 'product_tag', 'vendor', 'sku',
    'acquisition_channel', 'referring_site', 'landing_site', 'utm_source', 'utm_medium',
    'utm_campaign', 'sales_channel', 'order_tag', 'discount_code', 'year_month', 'weekday',
    'hour', 'customer_tag', 'country', 'province', 'city', 'bought_together']) AS d;
CREATE TEMP TABLE variants AS
SELECT unnest(ARRAY['all', 'first', 'second', 'repeat', 'latest']) AS v;
CREATE TEMP TABLE segs AS
SELECT NULL::text AS slug, NULL::bigint[] AS members
UNION ALL SELECT 'email-first', ARRAY(SELECT ecpower.segment_members('email-first'));
CREATE TEMP TABLE periods (f date, t date);
INSERT INTO periods VALUES (NULL, NULL), ('2024-03-10', '2024-11-03');

-- how many combinations have values (dimensions the generator leaves empty are listed)
SELECT d, v FROM dims, variants
 WHERE NOT EXISTS (SELECT FROM ecpower.feature_report(NULL, d, v, NULL, NULL, 1))
 ORDER BY d, v;

-- feature_report: every dimension x variant x period x (store, segment)
SELECT slug, d, v, f, side, key, label, customers, share, store_share, lift
  FROM dims, variants, periods, segs,
  LATERAL (
    (SELECT 'report' AS side, key, label, customers, share, store_share, lift
       FROM ecpower.feature_report(slug, d, v, f, t, 100000)
     EXCEPT
     SELECT 'report', * FROM public.report_oracle(members, d, v, f, t))
    UNION ALL
    (SELECT 'oracle', * FROM public.report_oracle(members, d, v, f, t)
     EXCEPT
     SELECT 'oracle', key, label, customers, share, store_share, lift
       FROM ecpower.feature_report(slug, d, v, f, t, 100000))) x
 ORDER BY slug, d, v, f, side, key COLLATE "C";

-- distribution with automatic bins: the oracle agrees on the same edges
SELECT slug, m, v, f, edges, counts
  FROM (SELECT slug, members, m, v, f, t,
               array_agg(d.lower ORDER BY d.bin) AS edges,
               array_agg(d.customers ORDER BY d.bin) AS counts
          FROM unnest(ARRAY['amount', 'order_count', 'items', 'interval_days', 'lifetime_days']) m,
               variants, periods, segs,
               LATERAL ecpower.distribution(slug, m, v, f, t) d
         WHERE NOT (m = 'interval_days' AND v = 'first')
         GROUP BY slug, members, m, v, f, t) a
 WHERE counts IS DISTINCT FROM
       ARRAY(SELECT customers FROM public.report_dist_oracle(members, m, v, f, t, edges) ORDER BY bin)
    OR (SELECT sum(c) FROM unnest(counts) c)
       <> (SELECT count(*) FROM public.report_dist_values(members, m, v, f, t));

-- bought_together: every variant x period x (store, segment)
SELECT slug, v, f, side, product_a, product_b, customers
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
 ORDER BY 1, 2, 3, 4, 5, 6;

-- readable: the segment's first-order products and the store's channels
SELECT rank, key, label, customers, round(share, 3) AS share, round(lift, 2) AS lift
  FROM ecpower.feature_report('email-first', 'product', 'first', top => 5);
SELECT rank, key, label, customers, round(share, 3) AS share
  FROM ecpower.feature_report(NULL, 'acquisition_channel', top => 5);
