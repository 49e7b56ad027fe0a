-- The benchmark's segments: one per template of ecpower.templates (79),
-- with parameters taken from the demo store, and for each one the plain-SQL
-- query a DBA would write without ecpower (window functions and GROUP BY,
-- one query per segment) returning the same customer ids.
--
-- The baseline queries read three views that tools/bench/baseline_views.sql
-- defines for one as_of (psql variables as_of, d = as_of_date):
--   bench.co   counted orders: day, net, seq (row_number over the customer's
--              counted orders by ordered_at, order_id) and n (their count)
--   bench.ln   order lines with their product's attributes
--   bench.rfm  the RFM table as the README defines it (rank() windows), which the
--              baseline materializes once per refresh (bench.rfm_t) and the
--              11 RFM queries read: a DBA would not compute it 11 times
CREATE TABLE IF NOT EXISTS bench.segs (
    slug      text PRIMARY KEY,
    template  text NOT NULL,
    params    jsonb NOT NULL,
    baseline  text NOT NULL
);
TRUNCATE bench.segs;
INSERT INTO bench.segs VALUES
('rfm-champions', 'rfm_champions', '{}', $$SELECT customer_id FROM bench.rfm_t WHERE grp = 'champions'$$),
('rfm-loyal', 'rfm_loyal', '{}', $$SELECT customer_id FROM bench.rfm_t WHERE grp = 'loyal'$$),
('rfm-active', 'rfm_active', '{}', $$SELECT customer_id FROM bench.rfm_t WHERE grp = 'active'$$),
('rfm-new', 'rfm_new', '{}', $$SELECT customer_id FROM bench.rfm_t WHERE grp = 'new'$$),
('rfm-promising', 'rfm_promising', '{}', $$SELECT customer_id FROM bench.rfm_t WHERE grp = 'promising'$$),
('rfm-needs-attention', 'rfm_needs_attention', '{}', $$SELECT customer_id FROM bench.rfm_t WHERE grp = 'needs_attention'$$),
('rfm-at-risk', 'rfm_at_risk', '{}', $$SELECT customer_id FROM bench.rfm_t WHERE grp = 'at_risk'$$),
('rfm-almost-lost', 'rfm_almost_lost', '{}', $$SELECT customer_id FROM bench.rfm_t WHERE grp = 'almost_lost'$$),
('rfm-previously-loyal', 'rfm_previously_loyal', '{}', $$SELECT customer_id FROM bench.rfm_t WHERE grp = 'previously_loyal'$$),
('rfm-dormant', 'rfm_dormant', '{}', $$SELECT customer_id FROM bench.rfm_t WHERE grp = 'dormant'$$),
('rfm-prospects', 'rfm_prospects', '{}', $$SELECT customer_id FROM bench.rfm_t WHERE grp = 'prospects'$$),
('rfm-scores', 'rfm_scores', '{"r": [4, 5], "f": [3, 5], "m": [3, 5]}',
 $$SELECT customer_id FROM bench.rfm_t WHERE r BETWEEN 4 AND 5 AND f BETWEEN 3 AND 5 AND m BETWEEN 3 AND 5$$),
-- lifecycle
('first-time', 'first_time_buyers', '{}', $$SELECT customer_id FROM bench.co GROUP BY 1 HAVING count(*) = 1$$),
('repeaters', 'repeat_buyers', '{}', $$SELECT customer_id FROM bench.co GROUP BY 1 HAVING count(*) >= 2$$),
('loyal-5plus', 'loyal_5plus', '{}', $$SELECT customer_id FROM bench.co GROUP BY 1 HAVING count(*) >= 5$$),
('min-3-orders', 'min_orders', '{"orders": 3}', $$SELECT customer_id FROM bench.co GROUP BY 1 HAVING count(*) >= 3$$),
('one-and-done', 'one_and_done', '{"days": 180}',
 $$SELECT customer_id FROM bench.co GROUP BY 1 HAVING count(*) = 1 AND bench.d() - max(day) > 180$$),
('f2-candidates', 'f2_candidates', '{"days": 60}',
 $$SELECT customer_id FROM bench.co GROUP BY 1 HAVING count(*) = 1 AND bench.d() - max(day) <= 60$$),
('f3-candidates', 'f3_candidates', '{}', $$SELECT customer_id FROM bench.co GROUP BY 1 HAVING count(*) = 2$$),
('lapsed', 'lapsed', '{"days": 365}', $$SELECT customer_id FROM bench.co GROUP BY 1 HAVING bench.d() - max(day) > 365$$),
('win-back', 'win_back', '{"days": 180}',
 $$SELECT customer_id FROM bench.co GROUP BY 1 HAVING count(*) >= 2 AND bench.d() - max(day) > 180$$),
('new-30d', 'new_customers', '{"days": 30}',
 $$SELECT customer_id FROM bench.co WHERE seq = 1 AND day > bench.d() - 30 AND day <= bench.d()$$),
('active-90d', 'active_customers', '{"days": 90}',
 $$SELECT DISTINCT customer_id FROM bench.co WHERE day > bench.d() - 90 AND day <= bench.d()$$),
('returning-90d', 'returning_customers', '{"days": 90}',
 $$SELECT DISTINCT customer_id FROM bench.co WHERE seq >= 2 AND day > bench.d() - 90 AND day <= bench.d()$$),
('never-purchased', 'never_purchased', '{}',
 $$SELECT c.customer_id FROM ecpower.customers c WHERE NOT EXISTS (SELECT 1 FROM bench.co o WHERE o.customer_id = c.customer_id)$$),
('signups-no-order', 'recent_signups_no_order', '{"days": 30}',
 $$SELECT c.customer_id FROM ecpower.customers c
    WHERE (c.created_at AT TIME ZONE 'UTC')::date > bench.d() - 30 AND (c.created_at AT TIME ZONE 'UTC')::date <= bench.d()
      AND NOT EXISTS (SELECT 1 FROM bench.co o WHERE o.customer_id = c.customer_id)$$),
('long-time', 'long_time_customers', '{"days": 365}',
 $$SELECT customer_id FROM bench.co GROUP BY 1 HAVING max(day) - min(day) >= 365$$),
('frequent', 'frequent_buyers', '{"days": 45}',
 $$SELECT customer_id FROM bench.co GROUP BY 1 HAVING count(*) >= 2 AND (max(day) - min(day))::numeric / (count(*) - 1) <= 45$$),
('second-soon', 'second_order_soon', '{"days": 60}',
 $$SELECT customer_id FROM bench.co WHERE seq <= 2 GROUP BY 1 HAVING count(*) = 2 AND max(day) - min(day) <= 60$$),
-- products
('first-product', 'first_product', '{"product_ids": [7000000000013]}',
 $$SELECT DISTINCT o.customer_id FROM bench.co o JOIN bench.ln l USING (order_id) WHERE o.seq = 1 AND l.product_id = 7000000000013$$),
('second-product', 'second_product', '{"product_ids": [7000000000013]}',
 $$SELECT DISTINCT o.customer_id FROM bench.co o JOIN bench.ln l USING (order_id) WHERE o.seq = 2 AND l.product_id = 7000000000013$$),
('latest-product', 'latest_product', '{"product_ids": [7000000000013]}',
 $$SELECT DISTINCT o.customer_id FROM bench.co o JOIN bench.ln l USING (order_id) WHERE o.seq = o.n AND l.product_id = 7000000000013$$),
('bought-product', 'bought_product', '{"product_ids": [7000000000060]}',
 $$SELECT DISTINCT o.customer_id FROM bench.co o JOIN bench.ln l USING (order_id) WHERE l.product_id = 7000000000060$$),
('repeat-product', 'repeat_product', '{"product_ids": [7000000000060]}',
 $$SELECT o.customer_id FROM bench.co o WHERE EXISTS (SELECT 1 FROM bench.ln l WHERE l.order_id = o.order_id AND l.product_id = 7000000000060)
    GROUP BY 1 HAVING count(*) >= 2$$),
('a-not-b', 'bought_a_not_b', '{"product_ids": [7000000000013], "other_product_ids": [7000000000060]}',
 $$SELECT o.customer_id FROM bench.co o JOIN bench.ln l USING (order_id)
    GROUP BY 1 HAVING bool_or(l.product_id = 7000000000013) AND NOT bool_or(l.product_id IS NOT DISTINCT FROM 7000000000060)$$),
('first-type-coffee', 'first_product_type', '{"product_types": ["Coffee"]}',
 $$SELECT DISTINCT o.customer_id FROM bench.co o JOIN bench.ln l USING (order_id) WHERE o.seq = 1 AND lower(l.product_type) = 'coffee'$$),
('type-tea', 'bought_product_type', '{"product_types": ["Tea"]}',
 $$SELECT DISTINCT o.customer_id FROM bench.co o JOIN bench.ln l USING (order_id) WHERE lower(l.product_type) = 'tea'$$),
('tag-organic', 'bought_product_tag', '{"product_tags": ["organic"]}',
 $$SELECT DISTINCT o.customer_id FROM bench.co o JOIN bench.ln l USING (order_id)
    WHERE EXISTS (SELECT 1 FROM unnest(l.ptags) t WHERE lower(t) = 'organic')$$),
('vendor-kestrel', 'bought_vendor', '{"vendors": ["Kestrel Roasters"]}',
 $$SELECT DISTINCT o.customer_id FROM bench.co o JOIN bench.ln l USING (order_id) WHERE lower(l.vendor) = 'kestrel roasters'$$),
('sku-tea-tin', 'bought_sku', '{"skus": ["TEA-0009-TIN"]}',
 $$SELECT DISTINCT o.customer_id FROM bench.co o JOIN bench.ln l USING (order_id) WHERE lower(l.sku) = 'tea-0009-tin'$$),
('big-baskets', 'big_baskets', '{"items": 10}',
 $$SELECT o.customer_id FROM bench.co o JOIN bench.ln l USING (order_id) GROUP BY 1 HAVING sum(l.quantity) >= 10$$),
-- campaigns
('tag-gift', 'order_tag', '{"tags": ["gift"]}',
 $$SELECT DISTINCT customer_id FROM bench.co WHERE EXISTS (SELECT 1 FROM unnest(tags) t WHERE lower(t) = 'gift')$$),
('utm-welcome', 'utm_campaign', '{"campaigns": ["welcome_series"]}',
 $$SELECT DISTINCT customer_id FROM bench.co WHERE lower(utm_campaign) = 'welcome_series'$$),
('first-brand-search', 'first_order_campaign', '{"campaigns": ["brand_search"]}',
 $$SELECT customer_id FROM bench.co WHERE seq = 1 AND lower(utm_campaign) = 'brand_search'$$),
('utm-google', 'utm_source', '{"sources": ["google"]}',
 $$SELECT DISTINCT customer_id FROM bench.co WHERE lower(utm_source) = 'google'$$),
('first-instagram', 'first_order_utm_source', '{"sources": ["instagram"]}',
 $$SELECT customer_id FROM bench.co WHERE seq = 1 AND lower(utm_source) = 'instagram'$$),
('medium-email', 'utm_medium', '{"mediums": ["email"]}',
 $$SELECT DISTINCT customer_id FROM bench.co WHERE lower(utm_medium) = 'email'$$),
('code-bfcm25', 'discount_code', '{"codes": ["BFCM25"]}',
 $$SELECT DISTINCT customer_id FROM bench.co WHERE EXISTS (SELECT 1 FROM unnest(discount_codes) t WHERE lower(t) = 'bfcm25')$$),
('holiday-2025', 'campaign_in_period', '{"tags": ["holiday_2025"], "from": "2025-11-01", "to": "2025-12-31"}',
 $$SELECT DISTINCT customer_id FROM bench.co WHERE day BETWEEN '2025-11-01' AND '2025-12-31'
      AND EXISTS (SELECT 1 FROM unnest(tags) t WHERE lower(t) = 'holiday_2025')$$),
-- channels
('shop-app', 'sales_channel', '{"channels": ["shop_app"]}',
 $$SELECT DISTINCT customer_id FROM bench.co WHERE lower(sales_channel) = 'shop_app'$$),
('first-pos', 'first_order_channel', '{"channels": ["pos"]}',
 $$SELECT customer_id FROM bench.co WHERE seq = 1 AND lower(sales_channel) = 'pos'$$),
('acq-paid-social', 'acquisition_channel', '{"acquisition_channels": ["paid_social"]}',
 $$SELECT customer_id FROM bench.co WHERE seq = 1 AND lower(acquisition_channel) = 'paid_social'$$),
('ref-google', 'referring_site', '{"sites": ["https://www.google.com/"]}',
 $$SELECT customer_id FROM bench.co WHERE seq = 1 AND lower(referring_site) = 'https://www.google.com/'$$),
('landing-home', 'landing_site', '{"pages": ["/"]}',
 $$SELECT customer_id FROM bench.co WHERE seq = 1 AND lower(landing_site) = '/'$$),
('omnichannel', 'omnichannel', '{"channels_a": ["web"], "channels_b": ["pos"]}',
 $$SELECT customer_id FROM bench.co GROUP BY 1
   HAVING bool_or(lower(sales_channel) = 'web') AND bool_or(lower(sales_channel) = 'pos')$$),
-- subscription
('subscribers', 'subscribers', '{"days": 45}',
 $$SELECT DISTINCT customer_id FROM bench.co WHERE is_subscription AND day > bench.d() - 45 AND day <= bench.d()$$),
('sub-churned', 'subscription_churned', '{"days": 90}',
 $$SELECT customer_id FROM bench.co WHERE is_subscription GROUP BY 1 HAVING max(day) <= bench.d() - 90$$),
('sub-first', 'subscription_first_order', '{}', $$SELECT customer_id FROM bench.co WHERE seq = 1 AND is_subscription$$),
('one-time-only', 'one_time_only', '{}', $$SELECT customer_id FROM bench.co GROUP BY 1 HAVING NOT bool_or(is_subscription)$$),
('sub-long', 'subscription_long', '{"orders": 6}',
 $$SELECT customer_id FROM bench.co WHERE is_subscription GROUP BY 1 HAVING count(*) >= 6$$),
-- coupons
('coupon-users', 'coupon_users', '{}', $$SELECT DISTINCT customer_id FROM bench.co WHERE cardinality(discount_codes) > 0$$),
('coupon-only', 'coupon_only', '{}', $$SELECT customer_id FROM bench.co GROUP BY 1 HAVING bool_and(cardinality(discount_codes) > 0)$$),
('full-price', 'full_price_buyers', '{}', $$SELECT customer_id FROM bench.co GROUP BY 1 HAVING NOT bool_or(cardinality(discount_codes) > 0)$$),
('first-coupon', 'first_order_coupon', '{}', $$SELECT customer_id FROM bench.co WHERE seq = 1 AND cardinality(discount_codes) > 0$$),
('coupon-then-full', 'coupon_then_full_price', '{}',
 $$SELECT customer_id FROM bench.co GROUP BY 1
   HAVING bool_or(seq = 1 AND cardinality(discount_codes) > 0) AND bool_or(seq >= 2 AND cardinality(discount_codes) = 0)$$),
-- value
('high-aov', 'high_aov', '{"amount": 100}', $$SELECT customer_id FROM bench.co GROUP BY 1 HAVING avg(net) >= 100$$),
('low-aov', 'low_aov', '{"amount": 30}', $$SELECT customer_id FROM bench.co GROUP BY 1 HAVING avg(net) < 30$$),
('high-spenders', 'high_spenders', '{"amount": 500}', $$SELECT customer_id FROM bench.co GROUP BY 1 HAVING sum(net) >= 500$$),
('big-order', 'big_order', '{"amount": 200}', $$SELECT DISTINCT customer_id FROM bench.co WHERE net >= 200$$),
('vip-recent', 'vip_recent', '{"amount": 300, "days": 90}',
 $$SELECT customer_id FROM bench.co GROUP BY 1 HAVING sum(net) >= 300 AND bool_or(day > bench.d() - 90 AND day <= bench.d())$$),
('spend-2025', 'spend_in_period', '{"amount": 100, "from": "2025-01-01", "to": "2025-12-31"}',
 $$SELECT customer_id FROM bench.co WHERE day BETWEEN '2025-01-01' AND '2025-12-31' GROUP BY 1 HAVING sum(net) >= 100$$),
-- geography and customer attributes
('country-us', 'country', '{"countries": ["US"]}', $$SELECT customer_id FROM ecpower.customers WHERE lower(country) = 'us'$$),
('province-ca', 'province', '{"provinces": ["California"]}', $$SELECT customer_id FROM ecpower.customers WHERE lower(province) = 'california'$$),
('city-london', 'city', '{"cities": ["London"]}', $$SELECT customer_id FROM ecpower.customers WHERE lower(city) = 'london'$$),
('us-repeaters', 'domestic_repeaters', '{"countries": ["US"]}',
 $$SELECT o.customer_id FROM bench.co o JOIN ecpower.customers c USING (customer_id)
    WHERE lower(c.country) = 'us' GROUP BY 1 HAVING count(*) >= 2$$),
('ctag-vip', 'customer_tag', '{"tags": ["vip"]}',
 $$SELECT customer_id FROM ecpower.customers WHERE EXISTS (SELECT 1 FROM unnest(tags) t WHERE lower(t) = 'vip')$$),
('domain-org', 'email_domain', '{"domains": ["example.org"]}',
 $$SELECT customer_id FROM ecpower.customers WHERE lower(split_part(email, '@', 2)) = 'example.org'$$),
('optin-buyers', 'marketing_opt_in_buyers', '{}',
 $$SELECT c.customer_id FROM ecpower.customers c WHERE c.accepts_marketing AND EXISTS (SELECT 1 FROM bench.co o WHERE o.customer_id = c.customer_id)$$),
('opt-out', 'marketing_opt_out', '{}', $$SELECT customer_id FROM ecpower.customers WHERE NOT accepts_marketing$$);
