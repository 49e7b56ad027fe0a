-- Segment engine vs plain-SQL oracles on the generated demo store
-- (ecpower.generate_demo_store, 3,000 customers), with the store time zone
-- set to America/Los_Angeles, at several as_of dates.  Text-list cases use
-- values taken from the data (upper-cased, to exercise case folding).
\i test/fixtures/setup.sql
SET DateStyle = 'ISO, YMD';
\set SHOW_CONTEXT never
SELECT * FROM ecpower.generate_demo_store(3000, 11);
UPDATE ecpower.settings SET store_timezone = 'America/Los_Angeles';
\set ECHO none
\i test/fixtures/segment_oracle.sql
\set ECHO all

-- cases on the values most used in the data, per text key
CREATE TEMP TABLE picks (key text, val text);
INSERT INTO picks
SELECT k, v FROM (
    SELECT k, v, row_number() OVER (PARTITION BY k ORDER BY n DESC, v COLLATE "C") AS rk
      FROM (SELECT 'product_type' AS k, product_type AS v, count(*) AS n FROM ecpower.products GROUP BY 2
            UNION ALL SELECT 'vendor', vendor, count(*) FROM ecpower.products GROUP BY 2
            UNION ALL SELECT 'product_tag', t, count(*) FROM ecpower.products, unnest(tags) t GROUP BY 2
            UNION ALL SELECT 'product_title', title, count(*) FROM ecpower.order_lines l JOIN ecpower.products p USING (product_id) GROUP BY 2
            UNION ALL SELECT 'sku', sku, count(*) FROM ecpower.order_lines GROUP BY 2
            UNION ALL SELECT 'order_tag', t, count(*) FROM ecpower.orders, unnest(tags) t GROUP BY 2
            UNION ALL SELECT 'discount_code', t, count(*) FROM ecpower.orders, unnest(discount_codes) t GROUP BY 2
            UNION ALL SELECT 'sales_channel', sales_channel, count(*) FROM ecpower.orders GROUP BY 2
            UNION ALL SELECT 'acquisition_channel', acquisition_channel, count(*) FROM ecpower.orders GROUP BY 2
            UNION ALL SELECT 'referring_site', referring_site, count(*) FROM ecpower.orders GROUP BY 2
            UNION ALL SELECT 'landing_site', landing_site, count(*) FROM ecpower.orders GROUP BY 2
            UNION ALL SELECT 'utm_source', utm_source, count(*) FROM ecpower.orders GROUP BY 2
            UNION ALL SELECT 'utm_medium', utm_medium, count(*) FROM ecpower.orders GROUP BY 2
            UNION ALL SELECT 'utm_campaign', utm_campaign, count(*) FROM ecpower.orders GROUP BY 2
            UNION ALL SELECT 'customer_tag', t, count(*) FROM ecpower.customers, unnest(tags) t GROUP BY 2
            UNION ALL SELECT 'country', country, count(*) FROM ecpower.customers GROUP BY 2
            UNION ALL SELECT 'province', province, count(*) FROM ecpower.customers GROUP BY 2
            UNION ALL SELECT 'city', city, count(*) FROM ecpower.customers GROUP BY 2
            UNION ALL SELECT 'email_domain', lower(substring(email FROM '@([^@]*)$')), count(*) FROM ecpower.customers GROUP BY 2
           ) AS x WHERE v IS NOT NULL AND v <> '') AS y
 WHERE rk <= 2;
SELECT key, count(*) FROM picks GROUP BY 1 ORDER BY key COLLATE "C";

-- the SQL test of one text key on an order (co), its lines (ln) or a customer (cust)
CREATE FUNCTION pg_temp.text_test(k text, vals text[]) RETURNS text LANGUAGE sql AS $$
    SELECT CASE
        WHEN k IN ('product_type', 'vendor', 'product_title', 'sku') THEN
            format('EXISTS (SELECT 1 FROM ln WHERE ln.order_id = co.order_id AND lower(ln.%s) = ANY (%L))',
                   CASE k WHEN 'product_title' THEN 'title' ELSE k END, vals)
        WHEN k = 'product_tag' THEN
            format('EXISTS (SELECT 1 FROM ln, unnest(ln.ptags) t WHERE ln.order_id = co.order_id AND lower(t) = ANY (%L))', vals)
        WHEN k = 'order_tag' THEN format('EXISTS (SELECT 1 FROM unnest(co.tags) t WHERE lower(t) = ANY (%L))', vals)
        WHEN k = 'discount_code' THEN format('EXISTS (SELECT 1 FROM unnest(co.discount_codes) t WHERE lower(t) = ANY (%L))', vals)
        ELSE format('lower(co.%s) = ANY (%L)', k, vals)
    END
$$;

-- order keys: alone, as the first order, with a count
INSERT INTO cases
SELECT 'key ' || k, jsonb_build_object('orders', jsonb_build_object(k, to_jsonb(array_agg(upper(val))))),
       'SELECT customer_id FROM co WHERE ' || pg_temp.text_test(k, array_agg(lower(val)))
  FROM picks AS p(k, val)
 WHERE k NOT IN ('customer_tag', 'country', 'province', 'city', 'email_domain') GROUP BY k;
INSERT INTO cases
SELECT 'first ' || k, jsonb_build_object('orders', jsonb_build_object('nth', 'first', k, to_jsonb(array_agg(val)))),
       'SELECT customer_id FROM co WHERE seq = 1 AND ' || pg_temp.text_test(k, array_agg(lower(val)))
  FROM picks AS p(k, val)
 WHERE k NOT IN ('customer_tag', 'country', 'province', 'city', 'email_domain') GROUP BY k;
INSERT INTO cases
SELECT 'twice ' || k, jsonb_build_object('orders', jsonb_build_object(k, to_jsonb(array_agg(val))), 'count', '{"gte": 2}'::jsonb),
       'SELECT customer_id FROM co WHERE ' || pg_temp.text_test(k, array_agg(lower(val))) || ' GROUP BY 1 HAVING count(*) >= 2'
  FROM picks AS p(k, val)
 WHERE k NOT IN ('customer_tag', 'country', 'province', 'city', 'email_domain') GROUP BY k;
-- customer keys
INSERT INTO cases
SELECT 'customer ' || k, jsonb_build_object(k, to_jsonb(array_agg(upper(val)))),
       CASE k WHEN 'customer_tag' THEN format('SELECT customer_id FROM cust WHERE EXISTS (SELECT 1 FROM unnest(tags) t WHERE lower(t) = ANY (%L))', array_agg(lower(val)))
              WHEN 'email_domain' THEN format('SELECT customer_id FROM cust WHERE lower(substring(email FROM ''@([^@]*)$'')) = ANY (%L)', array_agg(lower(val)))
              ELSE format('SELECT customer_id FROM cust WHERE lower(%s) = ANY (%L)', k, array_agg(lower(val))) END
  FROM picks AS p(k, val)
 WHERE k IN ('customer_tag', 'country', 'province', 'city', 'email_domain') GROUP BY k;
-- products by id: the two most sold
INSERT INTO cases
SELECT 'product_id', jsonb_build_object('orders', jsonb_build_object('product_id', to_jsonb(array_agg(product_id)))),
       format('SELECT customer_id FROM co WHERE EXISTS (SELECT 1 FROM ln WHERE ln.order_id = co.order_id AND ln.product_id = ANY (%L::bigint[]))', array_agg(product_id))
  FROM (SELECT product_id FROM ecpower.order_lines WHERE product_id IS NOT NULL GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 2) AS x;

-- structure, periods, nth, metrics, RFM
INSERT INTO cases VALUES
('count gte 3', '{"orders": {}, "count": {"gte": 3}}', $$SELECT customer_id FROM co GROUP BY 1 HAVING count(*) >= 3$$),
('count eq 0', '{"orders": {}, "count": {"eq": 0}}',
 $$SELECT customer_id FROM cust c WHERE NOT EXISTS (SELECT 1 FROM co WHERE co.customer_id = c.customer_id)$$),
('nth second last_days', '{"orders": {"nth": "second", "period": {"last_days": 120}}}',
 $$SELECT customer_id FROM co WHERE seq = 2 AND day > (SELECT d FROM ctx) - 120$$),
('nth repeat count', '{"orders": {"nth": "repeat", "period": {"days_ago": [30, 365]}}, "count": {"between": [2, 3]}}',
 $$SELECT customer_id FROM co WHERE seq >= 2 AND day BETWEEN (SELECT d FROM ctx) - 365 AND (SELECT d FROM ctx) - 30 GROUP BY 1 HAVING count(*) BETWEEN 2 AND 3$$),
('nth latest subscription', '{"orders": {"nth": "latest", "subscription": true}}',
 $$SELECT customer_id FROM co WHERE seq = n AND is_subscription$$),
('nth range discount', '{"orders": {"nth": [2, 4], "has_discount": true}}',
 $$SELECT customer_id FROM co WHERE seq BETWEEN 2 AND 4 AND cardinality(discount_codes) > 0$$),
('period range total', '{"orders": {"period": {"from": "2024-11-01", "to": "2024-12-31"}, "total": {"gte": 60}}}',
 $$SELECT customer_id FROM co WHERE day BETWEEN '2024-11-01' AND '2024-12-31' AND net >= 60$$),
('refunded orders', '{"orders": {"total": {"lt": 0.01}}}', $$SELECT customer_id FROM co WHERE net < 0.01$$),
('metric total_spent', '{"metric": "total_spent", "between": [100, 300]}',
 $$SELECT customer_id FROM co GROUP BY 1 HAVING sum(net) BETWEEN 100 AND 300$$),
('metric aov first', '{"metric": "aov", "gt": 50, "orders": {"nth": "first"}}',
 $$SELECT customer_id FROM co WHERE seq = 1 AND net > 50$$),
('metric items', '{"metric": "items", "gte": 6}',
 $$SELECT c.customer_id FROM cust c WHERE COALESCE((SELECT sum(ln.quantity) FROM co JOIN ln ON ln.order_id = co.order_id WHERE co.customer_id = c.customer_id), 0) >= 6$$),
('metric days_since_first', '{"metric": "days_since_first_order", "lt": 200}',
 $$SELECT customer_id FROM co GROUP BY 1 HAVING (SELECT d FROM ctx) - min(day) < 200$$),
('metric days_since_last', '{"metric": "days_since_last_order", "gte": 180}',
 $$SELECT customer_id FROM co GROUP BY 1 HAVING (SELECT d FROM ctx) - max(day) >= 180$$),
('metric lifetime', '{"metric": "lifetime_days", "gte": 365}',
 $$SELECT customer_id FROM co GROUP BY 1 HAVING max(day) - min(day) >= 365$$),
('metric avg_interval', '{"metric": "avg_interval_days", "between": [20, 90]}',
 $$SELECT customer_id FROM co GROUP BY 1 HAVING count(*) >= 2 AND (max(day) - min(day))::numeric / (count(*) - 1) BETWEEN 20 AND 90$$),
('not metric avg_interval', '{"not": {"metric": "avg_interval_days", "lt": 60}}',
 $$SELECT customer_id FROM cust c WHERE NOT EXISTS (SELECT 1 FROM co WHERE co.customer_id = c.customer_id GROUP BY co.customer_id HAVING count(*) >= 2 AND (max(day) - min(day))::numeric / (count(*) - 1) < 60)$$),
('accepts_marketing', '{"all": [{"accepts_marketing": true}, {"orders": {}}]}',
 $$SELECT customer_id FROM cust c WHERE accepts_marketing AND EXISTS (SELECT 1 FROM co WHERE co.customer_id = c.customer_id)$$),
('customer_created', '{"customer_created": {"last_days": 180}}',
 $$SELECT customer_id FROM cust WHERE (created_at AT TIME ZONE 'America/Los_Angeles')::date > (SELECT d FROM ctx) - 180 AND (created_at AT TIME ZONE 'America/Los_Angeles')::date <= (SELECT d FROM ctx)$$),
('rfm champions', '{"rfm_group": "champions"}', $$SELECT customer_id FROM rfm_oracle WHERE grp = 'champions'$$),
('rfm loyal', '{"rfm_group": "loyal"}', $$SELECT customer_id FROM rfm_oracle WHERE grp = 'loyal'$$),
('rfm active', '{"rfm_group": "active"}', $$SELECT customer_id FROM rfm_oracle WHERE grp = 'active'$$),
('rfm new', '{"rfm_group": "new"}', $$SELECT customer_id FROM rfm_oracle WHERE grp = 'new'$$),
('rfm promising', '{"rfm_group": "promising"}', $$SELECT customer_id FROM rfm_oracle WHERE grp = 'promising'$$),
('rfm needs_attention', '{"rfm_group": "needs_attention"}', $$SELECT customer_id FROM rfm_oracle WHERE grp = 'needs_attention'$$),
('rfm at_risk', '{"rfm_group": "at_risk"}', $$SELECT customer_id FROM rfm_oracle WHERE grp = 'at_risk'$$),
('rfm almost_lost', '{"rfm_group": "almost_lost"}', $$SELECT customer_id FROM rfm_oracle WHERE grp = 'almost_lost'$$),
('rfm previously_loyal', '{"rfm_group": "previously_loyal"}', $$SELECT customer_id FROM rfm_oracle WHERE grp = 'previously_loyal'$$),
('rfm dormant', '{"rfm_group": "dormant"}', $$SELECT customer_id FROM rfm_oracle WHERE grp = 'dormant'$$),
('rfm prospects', '{"rfm_group": "prospects"}', $$SELECT customer_id FROM rfm_oracle WHERE grp = 'prospects'$$),
('rfm ranges', '{"rfm": {"r": [3, 5], "f": [2, 5], "m": [1, 3]}}', $$SELECT customer_id FROM rfm_oracle WHERE r >= 3 AND f >= 2 AND m <= 3$$),
('nested', '{"any": [{"all": [{"rfm_group": "at_risk"}, {"not": {"orders": {"has_discount": true}}}]}, {"all": [{"orders": {"nth": "first", "subscription": true}}, {"metric": "order_count", "gte": 4}]}]}',
 $$SELECT customer_id FROM rfm_oracle r WHERE grp = 'at_risk' AND NOT EXISTS (SELECT 1 FROM co WHERE co.customer_id = r.customer_id AND cardinality(discount_codes) > 0)
   UNION SELECT customer_id FROM co WHERE seq = 1 AND is_subscription AND n >= 4$$);

SELECT count(*) AS cases FROM cases;

-- (0 rows) at each as_of means the engine agrees with every oracle
SELECT * FROM pg_temp.check_cases('2024-06-30 12:00:00+00');
SELECT * FROM pg_temp.check_cases('2025-03-31 07:00:00+00');  -- 2025-03-31 00:00 in Los Angeles
SELECT * FROM pg_temp.check_cases('2025-12-31 23:59:59+00');

-- and none of them is trivial: every case has members at the last as_of,
-- the RFM groups new, promising and dormant included
SELECT name, members FROM pg_temp.case_sizes('2025-12-31 23:59:59+00') WHERE members = 0;

-- the same through a refresh of all cases as segments (one pass): stored
-- membership equals the live evaluation (0 rows)
SELECT count(*) FROM (
    SELECT ecpower.create_segment('c' || row_number() OVER (ORDER BY name COLLATE "C"), name, def)
      FROM cases) AS x;
CALL ecpower.refresh('2025-12-31 23:59:59+00');
SELECT s.slug, s.name FROM ecpower.segments s
 WHERE ARRAY(SELECT ecpower.segment_members(s.slug))
       IS DISTINCT FROM ARRAY(SELECT ecpower.evaluate(s.definition, '2025-12-31 23:59:59+00'));
DELETE FROM ctx;
INSERT INTO ctx VALUES ('2025-12-31 23:59:59+00', '2025-12-31');
SELECT customer_id, recency_days, order_count, revenue, r, f, m, fm, rfm_group FROM ecpower.customer_rfm
EXCEPT
SELECT customer_id, rec, cnt, rev, r, f, m, fm, grp FROM rfm_oracle;
SELECT g.rfm_group, count(c.customer_id) AS customers
  FROM ecpower.rfm_groups g LEFT JOIN ecpower.customer_rfm c USING (rfm_group)
 GROUP BY g.ord, g.rfm_group ORDER BY g.ord;

-- ties take the lowest score of their range: most demo buyers ordered once,
-- and every one-time buyer has F = 1; so the low-FM groups a store owner
-- looks at first (new, promising, dormant) have members
SELECT count(*) FILTER (WHERE order_count = 1) > count(*) / 2 AS most_bought_once,
       array_agg(DISTINCT f) FILTER (WHERE order_count = 1) AS one_time_f
  FROM ecpower.customer_rfm WHERE order_count > 0;
SELECT g.rfm_group, count(c.customer_id) > 0 AS has_members
  FROM ecpower.rfm_groups g LEFT JOIN ecpower.customer_rfm c USING (rfm_group)
 WHERE g.rfm_group IN ('new', 'promising', 'dormant')
 GROUP BY g.ord, g.rfm_group ORDER BY g.ord;
