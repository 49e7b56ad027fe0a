-- Segment engine vs independent plain-SQL oracles: every condition type,
-- every FILTER key, nth/period/count combinations, metrics with their NULL
-- semantics, boolean nesting and RFM groups, at several as_of dates, on a
-- seeded fixture store with hand-made edge cases (ties, same-day orders,
-- cancelled and refunded orders, orders after as_of, customers without
-- orders, store-local day boundaries in Asia/Tokyo).
\i test/fixtures/setup.sql
SET DateStyle = 'ISO, YMD';
\set ECHO none
\i test/fixtures/segment_store.sql
\i test/fixtures/segment_oracle.sql
\set ECHO all

INSERT INTO cases VALUES
-- counts
('count any', '{"orders": {}}', $$SELECT customer_id FROM co$$),
('count gte 3', '{"orders": {}, "count": {"gte": 3}}',
 $$SELECT customer_id FROM co GROUP BY 1 HAVING count(*) >= 3$$),
('count eq 0', '{"orders": {}, "count": {"eq": 0}}',
 $$SELECT customer_id FROM cust c WHERE NOT EXISTS (SELECT 1 FROM co WHERE co.customer_id = c.customer_id)$$),
('count between', '{"orders": {}, "count": {"between": [2, 4]}}',
 $$SELECT customer_id FROM co GROUP BY 1 HAVING count(*) BETWEEN 2 AND 4$$),
('count gt lt', '{"orders": {}, "count": {"gt": 1, "lt": 5}}',
 $$SELECT customer_id FROM co GROUP BY 1 HAVING count(*) > 1 AND count(*) < 5$$),
('count ne', '{"orders": {}, "count": {"ne": 2}}',
 $$SELECT customer_id FROM cust c WHERE (SELECT count(*) FROM co WHERE co.customer_id = c.customer_id) <> 2$$),
('count lte fractional', '{"orders": {}, "count": {"lte": 2.5}}',
 $$SELECT customer_id FROM cust c WHERE (SELECT count(*) FROM co WHERE co.customer_id = c.customer_id) <= 2$$),
-- nth
('nth first product_type', '{"orders": {"nth": "first", "product_type": ["tea"]}}',
 $$SELECT customer_id FROM co WHERE seq = 1 AND EXISTS (SELECT 1 FROM ln WHERE ln.order_id = co.order_id AND lower(ln.product_type) = 'tea')$$),
('nth second vendor', '{"orders": {"nth": "second", "vendor": ["zen co"]}}',
 $$SELECT customer_id FROM co WHERE seq = 2 AND EXISTS (SELECT 1 FROM ln WHERE ln.order_id = co.order_id AND lower(ln.vendor) = 'zen co')$$),
('nth repeat last_days count', '{"orders": {"nth": "repeat", "period": {"last_days": 180}}, "count": {"gte": 2}}',
 $$SELECT customer_id FROM co WHERE seq >= 2 AND day > (SELECT d FROM ctx) - 180 AND day <= (SELECT d FROM ctx) GROUP BY 1 HAVING count(*) >= 2$$),
('nth latest utm_source', '{"orders": {"nth": "latest", "utm_source": ["GOOGLE"]}}',
 $$SELECT customer_id FROM co WHERE seq = n AND lower(utm_source) = 'google'$$),
('nth range sku', '{"orders": {"nth": [2, 3], "sku": ["SKU-3", "sku-5"]}}',
 $$SELECT customer_id FROM co WHERE seq BETWEEN 2 AND 3 AND EXISTS (SELECT 1 FROM ln WHERE ln.order_id = co.order_id AND lower(ln.sku) IN ('sku-3', 'sku-5'))$$),
('nth open range', '{"orders": {"nth": [3, null]}}',
 $$SELECT customer_id FROM co WHERE seq >= 3$$),
('nth first tag', '{"orders": {"nth": "first", "order_tag": ["FIRST"]}}',
 $$SELECT customer_id FROM co WHERE seq = 1 AND EXISTS (SELECT 1 FROM unnest(co.tags) t WHERE lower(t) = 'first')$$),
('nth second tag', '{"orders": {"nth": "second", "order_tag": ["second"]}}',
 $$SELECT customer_id FROM co WHERE seq = 2 AND EXISTS (SELECT 1 FROM unnest(co.tags) t WHERE lower(t) = 'second')$$),
('nth first period', '{"orders": {"nth": "first", "period": {"from": "2024-01-01", "to": "2024-06-30"}}}',
 $$SELECT customer_id FROM co WHERE seq = 1 AND day BETWEEN '2024-01-01' AND '2024-06-30'$$),
('nth latest days_ago', '{"orders": {"nth": "latest", "period": {"days_ago": [0, 60]}}}',
 $$SELECT customer_id FROM co WHERE seq = n AND day BETWEEN (SELECT d FROM ctx) - 60 AND (SELECT d FROM ctx)$$),
('nth second count eq 0', '{"orders": {"nth": "second"}, "count": {"eq": 0}}',
 $$SELECT customer_id FROM cust c WHERE NOT EXISTS (SELECT 1 FROM co WHERE co.customer_id = c.customer_id AND seq = 2)$$),
-- periods
('period from to', '{"orders": {"period": {"from": "2024-01-01", "to": "2024-03-31"}}}',
 $$SELECT customer_id FROM co WHERE day BETWEEN '2024-01-01' AND '2024-03-31'$$),
('period from', '{"orders": {"period": {"from": "2024-06-01"}}}',
 $$SELECT customer_id FROM co WHERE day >= '2024-06-01'$$),
('period to', '{"orders": {"period": {"to": "2023-06-30"}}}',
 $$SELECT customer_id FROM co WHERE day <= '2023-06-30'$$),
('period boundary day', '{"orders": {"period": {"from": "2024-07-01", "to": "2024-07-01"}}}',
 $$SELECT customer_id FROM co WHERE day = '2024-07-01'$$),
('period days_ago', '{"orders": {"period": {"days_ago": [30, 90]}}}',
 $$SELECT customer_id FROM co WHERE day BETWEEN (SELECT d FROM ctx) - 90 AND (SELECT d FROM ctx) - 30$$),
('period last_days 0', '{"orders": {"period": {"last_days": 0}}}',
 $$SELECT customer_id FROM co WHERE false$$),
('period last_days 1', '{"orders": {"period": {"last_days": 1}}}',
 $$SELECT customer_id FROM co WHERE day = (SELECT d FROM ctx)$$),
('period last_days count', '{"orders": {"period": {"last_days": 365}}, "count": {"gte": 2}}',
 $$SELECT customer_id FROM co WHERE day > (SELECT d FROM ctx) - 365 GROUP BY 1 HAVING count(*) >= 2$$),
-- product keys
('product_id', '{"orders": {"product_id": [1, 4, 7]}}',
 $$SELECT customer_id FROM co WHERE EXISTS (SELECT 1 FROM ln WHERE ln.order_id = co.order_id AND ln.product_id IN (1, 4, 7))$$),
('product_tag', '{"orders": {"product_tag": ["GIFT"]}}',
 $$SELECT customer_id FROM co WHERE EXISTS (SELECT 1 FROM ln, unnest(ln.ptags) t WHERE ln.order_id = co.order_id AND lower(t) = 'gift')$$),
('product_title', '{"orders": {"product_title": ["product 3", "PRODUCT 10"]}}',
 $$SELECT customer_id FROM co WHERE EXISTS (SELECT 1 FROM ln WHERE ln.order_id = co.order_id AND lower(ln.title) IN ('product 3', 'product 10'))$$),
('sku', '{"orders": {"sku": ["sku-1"]}}',
 $$SELECT customer_id FROM co WHERE EXISTS (SELECT 1 FROM ln WHERE ln.order_id = co.order_id AND lower(ln.sku) = 'sku-1')$$),
('same line type and vendor', '{"orders": {"product_type": ["Tea"], "vendor": ["ACME"]}}',
 $$SELECT customer_id FROM co WHERE EXISTS (SELECT 1 FROM ln WHERE ln.order_id = co.order_id AND lower(ln.product_type) = 'tea' AND lower(ln.vendor) = 'acme')$$),
('same line id and sku', '{"orders": {"product_id": [2, 3], "sku": ["sku-3"]}}',
 $$SELECT customer_id FROM co WHERE EXISTS (SELECT 1 FROM ln WHERE ln.order_id = co.order_id AND ln.product_id IN (2, 3) AND lower(ln.sku) = 'sku-3')$$),
-- order keys
('order_tag', '{"orders": {"order_tag": ["gift"]}}',
 $$SELECT customer_id FROM co WHERE EXISTS (SELECT 1 FROM unnest(co.tags) t WHERE lower(t) = 'gift')$$),
('discount_code', '{"orders": {"discount_code": ["vip5", "Welcome10"]}}',
 $$SELECT customer_id FROM co WHERE EXISTS (SELECT 1 FROM unnest(co.discount_codes) t WHERE lower(t) IN ('vip5', 'welcome10'))$$),
('sales_channel', '{"orders": {"sales_channel": ["line"]}}',
 $$SELECT customer_id FROM co WHERE lower(sales_channel) = 'line'$$),
('acquisition_channel', '{"orders": {"acquisition_channel": ["Instagram", "direct"]}}',
 $$SELECT customer_id FROM co WHERE lower(acquisition_channel) IN ('instagram', 'direct')$$),
('referring_site', '{"orders": {"referring_site": ["HTTPS://T.CO"]}}',
 $$SELECT customer_id FROM co WHERE lower(referring_site) = 'https://t.co'$$),
('landing_site', '{"orders": {"landing_site": ["/sale"]}}',
 $$SELECT customer_id FROM co WHERE lower(landing_site) = '/sale'$$),
('utm_medium', '{"orders": {"utm_medium": ["email"]}}',
 $$SELECT customer_id FROM co WHERE lower(utm_medium) = 'email'$$),
('utm_campaign', '{"orders": {"utm_campaign": ["bf2024"]}}',
 $$SELECT customer_id FROM co WHERE lower(utm_campaign) = 'bf2024'$$),
('has_discount true', '{"orders": {"has_discount": true}}',
 $$SELECT customer_id FROM co WHERE cardinality(discount_codes) > 0$$),
('has_discount false', '{"orders": {"has_discount": false}}',
 $$SELECT customer_id FROM co WHERE cardinality(discount_codes) = 0$$),
('subscription true', '{"orders": {"subscription": true}}',
 $$SELECT customer_id FROM co WHERE is_subscription$$),
('subscription false', '{"orders": {"subscription": false}}',
 $$SELECT customer_id FROM co WHERE NOT is_subscription$$),
('total gte', '{"orders": {"total": {"gte": 150}}}',
 $$SELECT customer_id FROM co WHERE net >= 150$$),
('total zero', '{"orders": {"total": {"between": [0, 0]}}}',
 $$SELECT customer_id FROM co WHERE net = 0$$),
('total lt', '{"orders": {"total": {"lt": 10.5}}, "count": {"gte": 1}}',
 $$SELECT customer_id FROM co WHERE net < 10.5$$),
('all keys', '{"orders": {"nth": [1, 4], "period": {"from": "2023-03-01"}, "product_type": ["coffee", "tea"], "has_discount": false, "subscription": false, "total": {"gt": 20}, "sales_channel": ["online store", "pos"]}}',
 $$SELECT customer_id FROM co WHERE seq BETWEEN 1 AND 4 AND day >= '2023-03-01' AND cardinality(discount_codes) = 0 AND NOT is_subscription AND net > 20 AND lower(sales_channel) IN ('online store', 'pos') AND EXISTS (SELECT 1 FROM ln WHERE ln.order_id = co.order_id AND lower(ln.product_type) IN ('coffee', 'tea'))$$),
-- metrics
('metric order_count', '{"metric": "order_count", "gte": 4}',
 $$SELECT customer_id FROM co GROUP BY 1 HAVING count(*) >= 4$$),
('metric total_spent', '{"metric": "total_spent", "gte": 300}',
 $$SELECT customer_id FROM co GROUP BY 1 HAVING sum(net) >= 300$$),
('metric total_spent zero', '{"metric": "total_spent", "lt": 50}',
 $$SELECT customer_id FROM cust c WHERE COALESCE((SELECT sum(net) FROM co WHERE co.customer_id = c.customer_id), 0) < 50$$),
('metric aov', '{"metric": "aov", "between": [40, 80]}',
 $$SELECT customer_id FROM co GROUP BY 1 HAVING avg(net) BETWEEN 40 AND 80$$),
('metric aov filtered', '{"metric": "aov", "lt": 100, "orders": {"utm_source": ["line"]}}',
 $$SELECT customer_id FROM co WHERE lower(utm_source) = 'line' GROUP BY 1 HAVING avg(net) < 100$$),
('metric items', '{"metric": "items", "gte": 10}',
 $$SELECT c.customer_id FROM cust c WHERE COALESCE((SELECT sum(ln.quantity) FROM co JOIN ln ON ln.order_id = co.order_id WHERE co.customer_id = c.customer_id), 0) >= 10$$),
('metric items none', '{"metric": "items", "eq": 0, "orders": {"product_id": [999]}}',
 $$SELECT customer_id FROM cust$$),
('metric items first', '{"metric": "items", "gte": 4, "orders": {"nth": "first"}}',
 $$SELECT co.customer_id FROM co JOIN ln ON ln.order_id = co.order_id WHERE seq = 1 GROUP BY 1 HAVING sum(ln.quantity) >= 4$$),
('metric days_since_first', '{"metric": "days_since_first_order", "gte": 365}',
 $$SELECT customer_id FROM co GROUP BY 1 HAVING (SELECT d FROM ctx) - min(day) >= 365$$),
('metric days_since_last', '{"metric": "days_since_last_order", "lte": 90, "orders": {"order_tag": ["gift"]}}',
 $$SELECT customer_id FROM co WHERE EXISTS (SELECT 1 FROM unnest(co.tags) t WHERE lower(t) = 'gift') GROUP BY 1 HAVING (SELECT d FROM ctx) - max(day) <= 90$$),
('metric lifetime', '{"metric": "lifetime_days", "gt": 200}',
 $$SELECT customer_id FROM co GROUP BY 1 HAVING max(day) - min(day) > 200$$),
('metric lifetime zero', '{"metric": "lifetime_days", "eq": 0}',
 $$SELECT customer_id FROM co GROUP BY 1 HAVING max(day) = min(day)$$),
('metric avg_interval', '{"metric": "avg_interval_days", "lte": 60}',
 $$SELECT customer_id FROM co GROUP BY 1 HAVING count(*) >= 2 AND (max(day) - min(day))::numeric / (count(*) - 1) <= 60$$),
('metric avg_interval repeat', '{"metric": "avg_interval_days", "gt": 100, "orders": {"nth": "repeat"}}',
 $$SELECT customer_id FROM co WHERE seq >= 2 GROUP BY 1 HAVING count(*) >= 2 AND (max(day) - min(day))::numeric / (count(*) - 1) > 100$$),
('metric avg_interval ne', '{"metric": "avg_interval_days", "ne": 0}',
 $$SELECT customer_id FROM co GROUP BY 1 HAVING count(*) >= 2 AND max(day) <> min(day)$$),
('not metric aov', '{"not": {"metric": "aov", "gte": 50}}',
 $$SELECT customer_id FROM cust c WHERE NOT EXISTS (SELECT 1 FROM co WHERE co.customer_id = c.customer_id GROUP BY co.customer_id HAVING avg(net) >= 50)$$),
-- customer attributes
('customer_tag', '{"customer_tag": ["VIP"]}',
 $$SELECT customer_id FROM cust WHERE EXISTS (SELECT 1 FROM unnest(tags) t WHERE lower(t) = 'vip')$$),
('country', '{"country": ["jp"]}',
 $$SELECT customer_id FROM cust WHERE lower(country) = 'jp'$$),
('province', '{"province": ["TOKYO", "osaka"]}',
 $$SELECT customer_id FROM cust WHERE lower(province) IN ('tokyo', 'osaka')$$),
('city', '{"city": ["Café", "san jose"]}',
 $$SELECT customer_id FROM cust WHERE lower(city) IN (lower('Café'), 'san jose')$$),
('email_domain', '{"email_domain": ["example.jp"]}',
 $$SELECT customer_id FROM cust WHERE lower(substring(email FROM '@([^@]*)$')) = 'example.jp'$$),
('accepts_marketing true', '{"accepts_marketing": true}',
 $$SELECT customer_id FROM cust WHERE accepts_marketing$$),
('accepts_marketing false', '{"accepts_marketing": false}',
 $$SELECT customer_id FROM cust WHERE NOT accepts_marketing$$),
('customer_created last_days', '{"customer_created": {"last_days": 365}}',
 $$SELECT customer_id FROM cust WHERE (created_at AT TIME ZONE 'Asia/Tokyo')::date BETWEEN (SELECT d FROM ctx) - 364 AND (SELECT d FROM ctx)$$),
('customer_created range', '{"customer_created": {"from": "2023-03-01", "to": "2023-12-31"}}',
 $$SELECT customer_id FROM cust WHERE (created_at AT TIME ZONE 'Asia/Tokyo')::date BETWEEN '2023-03-01' AND '2023-12-31'$$),
-- RFM
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
('rfm ranges', '{"rfm": {"r": [4, 5], "m": [1, 2]}}', $$SELECT customer_id FROM rfm_oracle WHERE r >= 4 AND m <= 2$$),
('rfm f', '{"rfm": {"f": [5, 5]}}', $$SELECT customer_id FROM rfm_oracle WHERE f = 5$$),
('not rfm', '{"not": {"rfm": {"r": [1, 5]}}}', $$SELECT customer_id FROM rfm_oracle WHERE r IS NULL$$),
-- boolean structure
('all any not', '{"all": [{"any": [{"country": ["jp"]}, {"orders": {"utm_source": ["google"]}}]}, {"not": {"orders": {"has_discount": true}}}, {"metric": "order_count", "gte": 2}]}',
 $$SELECT customer_id FROM cust c WHERE (lower(country) = 'jp' OR EXISTS (SELECT 1 FROM co WHERE co.customer_id = c.customer_id AND lower(utm_source) = 'google'))
     AND NOT EXISTS (SELECT 1 FROM co WHERE co.customer_id = c.customer_id AND cardinality(discount_codes) > 0)
     AND (SELECT count(*) FROM co WHERE co.customer_id = c.customer_id) >= 2$$),
('double not', '{"not": {"not": {"not": {"not": {"customer_tag": ["vip"]}}}}}',
 $$SELECT customer_id FROM cust WHERE EXISTS (SELECT 1 FROM unnest(tags) t WHERE lower(t) = 'vip')$$),
('any of one', '{"any": [{"all": [{"orders": {"nth": "first", "subscription": true}}]}]}',
 $$SELECT customer_id FROM co WHERE seq = 1 AND is_subscription$$),
('any mixed', '{"any": [{"rfm_group": "champions"}, {"accepts_marketing": true, "x": 1}]}', NULL)
;
-- the last one is malformed on purpose; drop it (and see it rejected)
SELECT ecpower.validate_definition(def) FROM cases WHERE oracle IS NULL;
DELETE FROM cases WHERE oracle IS NULL;

SELECT count(*) AS cases FROM cases;

-- (0 rows) at each as_of means the engine agrees with every oracle
SELECT * FROM pg_temp.check_cases('2024-06-30 14:59:59+00');  -- last second of 2024-06-30 JST
SELECT * FROM pg_temp.check_cases('2024-06-30 15:00:00+00');  -- first second of 2024-07-01 JST
SELECT * FROM pg_temp.check_cases('2024-12-31 23:59:59+00');
SELECT * FROM pg_temp.check_cases('2023-04-01 00:00:00+00');
SELECT * FROM pg_temp.check_cases('2026-01-01 00:00:00+00');

-- the cases are not trivial: sizes at one as_of
SELECT * FROM pg_temp.case_sizes('2024-12-31 23:59:59+00');

-- edge customers at the Tokyo midnight boundary: 902 has one order dated
-- 2024-06-30 and one dated 2024-07-01 (store-local)
SELECT x FROM ecpower.evaluate('{"orders": {"period": {"from": "2024-07-01", "to": "2024-07-01"}}}',
                               '2024-06-30 15:00:00+00') AS x;
SELECT x FROM ecpower.evaluate('{"orders": {"period": {"last_days": 1}}, "count": {"eq": 1}}',
                               '2024-06-30 14:59:59+00') AS x;
-- 901: two orders at the same instant are ranked by order_id (9010 first, tag "first")
SELECT x FROM ecpower.evaluate('{"orders": {"nth": "first", "order_tag": ["first"]}}',
                               '2024-12-31 00:00+00') AS x WHERE x > 900;
SELECT x FROM ecpower.evaluate('{"orders": {"nth": "latest", "order_tag": ["third"]}}',
                               '2024-12-31 00:00+00') AS x WHERE x > 900;
-- 903 (only cancelled), 905 (order after as_of) and 906 count no order; 904 (refunded) does
SELECT x FROM ecpower.evaluate('{"orders": {}}', '2024-12-31 00:00+00') AS x WHERE x > 902;
SELECT x FROM ecpower.evaluate('{"metric": "total_spent", "eq": 0}', '2024-12-31 00:00+00') AS x WHERE x > 902;
SELECT x FROM ecpower.evaluate('{"orders": {}}', '2030-01-01 00:00+00') AS x WHERE x > 902;
