/*
 * Typed template parameters and an example call for every template
 * (docs/api.md).  ecpower.templates lists the names of a template's
 * parameters; ecpower.template_parameters gives each one its position, its
 * type, what it means and an example value, and ecpower.template_examples
 * puts the examples together into a call of create_segment_from_template().
 *
 * Types, as JSON values in the params object:
 *   integer    a whole JSON number            90
 *   numeric    a JSON number                  99.5
 *   date       a JSON string YYYY-MM-DD       "2025-11-28"
 *   bigint[]   a JSON array of whole numbers  [7000000000060, 7000000000065]
 *   text[]     a JSON array of strings        ["web", "pos"]
 *   integer[]  a JSON array [lo, hi]          [4, 5]
 */

CREATE VIEW ecpower.template_parameters AS
SELECT p.template, p.position, p.parameter, p.type, p.description, p.example
  FROM (VALUES
('rfm_scores'::text, 1::integer, 'r'::text, 'integer[]'::text,
 'R score range [lo, hi], each 1 to 5'::text, '[4, 5]'::jsonb),
('rfm_scores', 2, 'f', 'integer[]', 'F score range [lo, hi], each 1 to 5', '[1, 5]'),
('rfm_scores', 3, 'm', 'integer[]', 'M score range [lo, hi], each 1 to 5', '[3, 5]'),
('min_orders', 1, 'orders', 'integer', 'at least this many counted orders', '3'),
('one_and_done', 1, 'days', 'integer', 'the one order is more than this many days old', '180'),
('f2_candidates', 1, 'days', 'integer', 'the one order is at most this many days old', '30'),
('lapsed', 1, 'days', 'integer', 'no order in the last this many days', '180'),
('win_back', 1, 'days', 'integer', 'the last order is more than this many days old', '120'),
('new_customers', 1, 'days', 'integer', 'the first order is in the last this many days', '30'),
('active_customers', 1, 'days', 'integer', 'an order in the last this many days', '90'),
('returning_customers', 1, 'days', 'integer', 'a repeat order in the last this many days', '90'),
('recent_signups_no_order', 1, 'days', 'integer', 'created in the last this many days', '30'),
('long_time_customers', 1, 'days', 'integer', 'at least this many days between first and last order', '365'),
('frequent_buyers', 1, 'days', 'integer', 'average days between orders at most this', '30'),
('second_order_soon', 1, 'days', 'integer', 'second order at most this many days after the first', '30'),
('first_product', 1, 'product_ids', 'bigint[]', 'product ids (ecpower.products.product_id)', '[7000000000060, 7000000000065]'),
('second_product', 1, 'product_ids', 'bigint[]', 'product ids (ecpower.products.product_id)', '[7000000000060, 7000000000065]'),
('latest_product', 1, 'product_ids', 'bigint[]', 'product ids (ecpower.products.product_id)', '[7000000000060, 7000000000065]'),
('bought_product', 1, 'product_ids', 'bigint[]', 'product ids (ecpower.products.product_id)', '[7000000000060, 7000000000065]'),
('repeat_product', 1, 'product_ids', 'bigint[]', 'product ids (ecpower.products.product_id)', '[7000000000060, 7000000000065]'),
('bought_a_not_b', 1, 'product_ids', 'bigint[]', 'product ids (ecpower.products.product_id)', '[7000000000060, 7000000000065]'),
('bought_a_not_b', 2, 'other_product_ids', 'bigint[]', 'product ids that must never have been bought', '[7000000000013]'),
('first_product_type', 1, 'product_types', 'text[]', 'product types, matched case-insensitively', '["Coffee"]'),
('bought_product_type', 1, 'product_types', 'text[]', 'product types, matched case-insensitively', '["Skincare"]'),
('bought_product_tag', 1, 'product_tags', 'text[]', 'product tags, matched case-insensitively', '["organic"]'),
('bought_vendor', 1, 'vendors', 'text[]', 'product vendors, matched case-insensitively', '["Juniper Lane"]'),
('bought_sku', 1, 'skus', 'text[]', 'SKUs of order lines, matched case-insensitively', '["SUP-0015-30CT"]'),
('big_baskets', 1, 'items', 'integer', 'number of items (sum of line quantities)', '6'),
('order_tag', 1, 'tags', 'text[]', 'order tags, matched case-insensitively', '["gift"]'),
('utm_campaign', 1, 'campaigns', 'text[]', 'utm_campaign values, matched case-insensitively', '["welcome_series"]'),
('first_order_campaign', 1, 'campaigns', 'text[]', 'utm_campaign values, matched case-insensitively', '["welcome_series"]'),
('utm_source', 1, 'sources', 'text[]', 'utm_source values, matched case-insensitively', '["klaviyo"]'),
('first_order_utm_source', 1, 'sources', 'text[]', 'utm_source values, matched case-insensitively', '["klaviyo"]'),
('utm_medium', 1, 'mediums', 'text[]', 'utm_medium values, matched case-insensitively', '["email"]'),
('discount_code', 1, 'codes', 'text[]', 'discount codes, matched case-insensitively', '["WELCOME10"]'),
('campaign_in_period', 1, 'tags', 'text[]', 'order tags, matched case-insensitively', '["holiday_2025"]'),
('campaign_in_period', 2, 'from', 'date', 'first day of the period, inclusive (store-local date)', '"2025-11-20"'),
('campaign_in_period', 3, 'to', 'date', 'last day of the period, inclusive (store-local date)', '"2025-12-31"'),
('sales_channel', 1, 'channels', 'text[]', 'sales channels, matched case-insensitively', '["web"]'),
('first_order_channel', 1, 'channels', 'text[]', 'sales channels, matched case-insensitively', '["shop_app"]'),
('acquisition_channel', 1, 'acquisition_channels', 'text[]', 'acquisition channels of the first order, matched case-insensitively', '["paid_social"]'),
('referring_site', 1, 'sites', 'text[]', 'referring sites of the first order, matched case-insensitively', '["https://www.google.com/"]'),
('landing_site', 1, 'pages', 'text[]', 'landing pages of the first order, matched case-insensitively', '["/collections/coffee"]'),
('omnichannel', 1, 'channels_a', 'text[]', 'sales channels of one side, matched case-insensitively', '["web"]'),
('omnichannel', 2, 'channels_b', 'text[]', 'sales channels of the other side, matched case-insensitively', '["pos"]'),
('subscribers', 1, 'days', 'integer', 'a subscription order in the last this many days', '45'),
('subscription_churned', 1, 'days', 'integer', 'no subscription order in the last this many days', '60'),
('subscription_long', 1, 'orders', 'integer', 'at least this many subscription orders', '6'),
('high_aov', 1, 'amount', 'numeric', 'average order value at least this', '80'),
('low_aov', 1, 'amount', 'numeric', 'average order value below this', '30'),
('high_spenders', 1, 'amount', 'numeric', 'net revenue at least this', '500'),
('big_order', 1, 'amount', 'numeric', 'one order with a net amount at least this', '200'),
('vip_recent', 1, 'amount', 'numeric', 'net revenue at least this', '500'),
('vip_recent', 2, 'days', 'integer', 'an order in the last this many days', '90'),
('spend_in_period', 1, 'amount', 'numeric', 'net revenue of the period at least this', '100'),
('spend_in_period', 2, 'from', 'date', 'first day of the period, inclusive (store-local date)', '"2025-01-01"'),
('spend_in_period', 3, 'to', 'date', 'last day of the period, inclusive (store-local date)', '"2025-12-31"'),
('country', 1, 'countries', 'text[]', 'countries as stored in ecpower.customers.country, matched case-insensitively', '["US", "CA"]'),
('province', 1, 'provinces', 'text[]', 'provinces or states, matched case-insensitively', '["California"]'),
('city', 1, 'cities', 'text[]', 'cities, matched case-insensitively', '["Tokyo"]'),
('domestic_repeaters', 1, 'countries', 'text[]', 'countries as stored in ecpower.customers.country, matched case-insensitively', '["JP"]'),
('customer_tag', 1, 'tags', 'text[]', 'customer tags, matched case-insensitively', '["newsletter"]'),
('email_domain', 1, 'domains', 'text[]', 'email domains (the part after "@"), matched case-insensitively', '["example.com"]'),
('likely_lost_one_time_buyers', 1, 'p_alive', 'numeric', 'predicted probability of still being a customer below this (0 to 1)', '0.3'),
('overdue_loyal_customers', 1, 'orders', 'integer', 'at least this many counted orders', '3'),
('overdue_loyal_customers', 2, 'days', 'integer', 'at least this many days past the expected next order date', '30'),
('high_value_low_p_alive', 1, 'clv', 'numeric', 'predicted value of the next 365 days at least this, in the store currency', '100'),
('high_value_low_p_alive', 2, 'p_alive', 'numeric', 'predicted probability of still being a customer below this (0 to 1)', '0.5')
) AS p(template, position, parameter, type, description, example);
COMMENT ON VIEW ecpower.template_parameters IS
    'one row per parameter of a segment template: position, type, meaning and an example value';

CREATE VIEW ecpower.template_examples AS
SELECT t.template,
       COALESCE(x.params, '{}'::jsonb) AS params,
       CASE WHEN x.params IS NULL
            THEN pg_catalog.format('SELECT ecpower.create_segment_from_template(%L, %L);',
                                   t.template, pg_catalog.replace(t.template, '_', '-'))
            ELSE pg_catalog.format('SELECT ecpower.create_segment_from_template(%L, %L, %L);',
                                   t.template, pg_catalog.replace(t.template, '_', '-'), x.params)
       END AS example
  FROM ecpower.templates AS t
  LEFT JOIN (SELECT p.template,
                    pg_catalog.jsonb_object_agg(p.parameter, p.example) AS params
               FROM ecpower.template_parameters AS p
              GROUP BY p.template) AS x
    ON x.template OPERATOR(pg_catalog.=) t.template;
COMMENT ON VIEW ecpower.template_examples IS
    'a working create_segment_from_template() call for every template, with its example parameters';
