/*
 * Segment templates (README "Templates"): ready-made definitions with "$param"
 * placeholders, in the categories DTC stores work with.  A placeholder is a
 * JSON string "$name" standing for a whole value (a number, a list ...);
 * create_segment_from_template() replaces it with params->name and then
 * validates the result like any definition.
 */

CREATE VIEW ecpower.templates AS
SELECT t.template, t.category, t.name, t.name_ja, t.description, t.parameters, t.definition
  FROM (VALUES
-- RFM: the 11 groups
('rfm_champions', 'rfm', 'Champions', '優良顧客（チャンピオン）',
 'Recent, frequent and high-spending customers (R 5 with FM 4 or 5).',
 '{}'::text[], '{"rfm_group": "champions"}'::jsonb),
('rfm_loyal', 'rfm', 'Loyal', 'ロイヤル顧客', 'Frequent, high-spending customers who still buy.', '{}', '{"rfm_group": "loyal"}'),
('rfm_active', 'rfm', 'Active', 'アクティブ顧客', 'Recent customers of middling frequency and spend.', '{}', '{"rfm_group": "active"}'),
('rfm_new', 'rfm', 'New', '新規顧客', 'Very recent customers with low frequency and spend.', '{}', '{"rfm_group": "new"}'),
('rfm_promising', 'rfm', 'Promising', '有望顧客', 'Fairly recent customers with low frequency and spend.', '{}', '{"rfm_group": "promising"}'),
('rfm_needs_attention', 'rfm', 'Needs attention', '要注意顧客', 'Customers drifting away at middling recency.', '{}', '{"rfm_group": "needs_attention"}'),
('rfm_at_risk', 'rfm', 'At risk', '離反リスク顧客', 'Good customers who have not bought for a while.', '{}', '{"rfm_group": "at_risk"}'),
('rfm_almost_lost', 'rfm', 'Almost lost', '離反寸前顧客', 'Low-value customers who have not bought for a while.', '{}', '{"rfm_group": "almost_lost"}'),
('rfm_previously_loyal', 'rfm', 'Previously loyal', '元ロイヤル顧客', 'Formerly frequent, high-spending customers who stopped buying.', '{}', '{"rfm_group": "previously_loyal"}'),
('rfm_dormant', 'rfm', 'Dormant', '休眠顧客', 'Customers with the oldest last order and low value.', '{}', '{"rfm_group": "dormant"}'),
('rfm_prospects', 'rfm', 'Prospects', '見込み客（未購入）', 'Customers without a counted order.', '{}', '{"rfm_group": "prospects"}'),
('rfm_scores', 'rfm', 'RFM score ranges', 'RFMスコア指定',
 'Customers whose R, F and M scores fall in the given ranges, e.g. [4, 5].',
 '{r,f,m}', '{"rfm": {"r": "$r", "f": "$f", "m": "$m"}}'),
-- lifecycle
('first_time_buyers', 'lifecycle', 'First-time buyers', '初回購入者', 'Exactly one counted order.', '{}',
 '{"orders": {}, "count": {"eq": 1}}'),
('repeat_buyers', 'lifecycle', 'Repeat buyers', 'リピーター', 'Two or more counted orders.', '{}',
 '{"orders": {}, "count": {"gte": 2}}'),
('loyal_5plus', 'lifecycle', 'Loyal (5+ orders)', 'ロイヤル（5回以上購入）', 'Five or more counted orders.', '{}',
 '{"orders": {}, "count": {"gte": 5}}'),
('min_orders', 'lifecycle', 'At least N orders', 'N回以上購入', 'At least orders counted orders.', '{orders}',
 '{"orders": {}, "count": {"gte": "$orders"}}'),
('one_and_done', 'lifecycle', 'One and done', '1回購入で離脱',
 'Exactly one order, placed more than days days ago.', '{days}',
 '{"all": [{"orders": {}, "count": {"eq": 1}}, {"metric": "days_since_last_order", "gt": "$days"}]}'),
('f2_candidates', 'lifecycle', 'F2 candidates', 'F2転換候補（2回目購入前）',
 'One order so far, placed within the last days days: the moment to win the second order.', '{days}',
 '{"all": [{"orders": {}, "count": {"eq": 1}}, {"metric": "days_since_last_order", "lte": "$days"}]}'),
('f3_candidates', 'lifecycle', 'F3 candidates', 'F3転換候補（3回目購入前）', 'Exactly two counted orders.', '{}',
 '{"orders": {}, "count": {"eq": 2}}'),
('lapsed', 'lifecycle', 'Lapsed', '離脱顧客', 'No order in the last days days (but ordered before).', '{days}',
 '{"all": [{"orders": {}}, {"metric": "days_since_last_order", "gt": "$days"}]}'),
('win_back', 'lifecycle', 'Win-back repeaters', '掘り起こし対象（リピーター離脱）',
 'Repeat buyers whose last order is more than days days old.', '{days}',
 '{"all": [{"orders": {}, "count": {"gte": 2}}, {"metric": "days_since_last_order", "gt": "$days"}]}'),
('new_customers', 'lifecycle', 'New customers', '新規購入者（期間内）', 'First order within the last days days.', '{days}',
 '{"orders": {"nth": "first", "period": {"last_days": "$days"}}}'),
('active_customers', 'lifecycle', 'Active customers', 'アクティブ購入者（期間内）', 'Any order within the last days days.', '{days}',
 '{"orders": {"period": {"last_days": "$days"}}}'),
('returning_customers', 'lifecycle', 'Returning customers', '期間内リピート購入者',
 'A repeat order (second or later) within the last days days.', '{days}',
 '{"orders": {"nth": "repeat", "period": {"last_days": "$days"}}}'),
('never_purchased', 'lifecycle', 'Never purchased', '未購入顧客', 'Customers without a counted order.', '{}',
 '{"not": {"orders": {}}}'),
('recent_signups_no_order', 'lifecycle', 'Recent sign-ups without an order', '最近登録・未購入',
 'Created within the last days days and no counted order.', '{days}',
 '{"all": [{"customer_created": {"last_days": "$days"}}, {"not": {"orders": {}}}]}'),
('long_time_customers', 'lifecycle', 'Long-time customers', '長期継続顧客',
 'At least days days between first and last order.', '{days}',
 '{"metric": "lifetime_days", "gte": "$days"}'),
('frequent_buyers', 'lifecycle', 'Frequent buyers', '高頻度購入者',
 'Average interval between orders of at most days days.', '{days}',
 '{"metric": "avg_interval_days", "lte": "$days"}'),
('second_order_soon', 'lifecycle', 'Quick second order', '早期2回目購入',
 'Second order placed within days days of becoming a customer (first to second within the window).', '{days}',
 '{"all": [{"orders": {"nth": "second"}}, {"metric": "lifetime_days", "lte": "$days", "orders": {"nth": [1, 2]}}]}'),
-- products
('first_product', 'product', 'First order: product', '初回購入商品',
 'The first order contained one of product_ids.', '{product_ids}',
 '{"orders": {"nth": "first", "product_id": "$product_ids"}}'),
('second_product', 'product', 'Second order: product', '2回目購入商品',
 'The second order contained one of product_ids.', '{product_ids}',
 '{"orders": {"nth": "second", "product_id": "$product_ids"}}'),
('latest_product', 'product', 'Latest order: product', '直近購入商品',
 'The latest order contained one of product_ids.', '{product_ids}',
 '{"orders": {"nth": "latest", "product_id": "$product_ids"}}'),
('bought_product', 'product', 'Bought product', '商品購入者', 'Any order contained one of product_ids.', '{product_ids}',
 '{"orders": {"product_id": "$product_ids"}}'),
('repeat_product', 'product', 'Bought product again', '商品リピート購入者',
 'At least two orders contained one of product_ids.', '{product_ids}',
 '{"orders": {"product_id": "$product_ids"}, "count": {"gte": 2}}'),
('bought_a_not_b', 'product', 'Bought A, never B', 'A購入・B未購入（クロスセル対象）',
 'Bought one of product_ids but never one of other_product_ids.', '{product_ids,other_product_ids}',
 '{"all": [{"orders": {"product_id": "$product_ids"}}, {"not": {"orders": {"product_id": "$other_product_ids"}}}]}'),
('first_product_type', 'product', 'First order: product type', '初回購入の商品タイプ',
 'The first order contained a product of one of product_types.', '{product_types}',
 '{"orders": {"nth": "first", "product_type": "$product_types"}}'),
('bought_product_type', 'product', 'Bought product type', '商品タイプ購入者',
 'Any order contained a product of one of product_types.', '{product_types}',
 '{"orders": {"product_type": "$product_types"}}'),
('bought_product_tag', 'product', 'Bought product tag', '商品タグ購入者',
 'Any order contained a product tagged with one of product_tags.', '{product_tags}',
 '{"orders": {"product_tag": "$product_tags"}}'),
('bought_vendor', 'product', 'Bought from vendor', 'ブランド（ベンダー）購入者',
 'Any order contained a product of one of vendors.', '{vendors}',
 '{"orders": {"vendor": "$vendors"}}'),
('bought_sku', 'product', 'Bought SKU', 'SKU購入者', 'Any order contained one of skus.', '{skus}',
 '{"orders": {"sku": "$skus"}}'),
('big_baskets', 'product', 'Big baskets', 'まとめ買い顧客', 'At least items items bought in total.', '{items}',
 '{"metric": "items", "gte": "$items"}'),
-- campaigns
('order_tag', 'campaign', 'Order tag', '注文タグ', 'An order tagged with one of tags.', '{tags}',
 '{"orders": {"order_tag": "$tags"}}'),
('utm_campaign', 'campaign', 'UTM campaign', 'UTMキャンペーン経由', 'An order from one of campaigns (utm_campaign).', '{campaigns}',
 '{"orders": {"utm_campaign": "$campaigns"}}'),
('first_order_campaign', 'campaign', 'Acquired by campaign', 'キャンペーン獲得顧客',
 'The first order came from one of campaigns (utm_campaign).', '{campaigns}',
 '{"orders": {"nth": "first", "utm_campaign": "$campaigns"}}'),
('utm_source', 'campaign', 'UTM source', 'UTMソース経由', 'An order from one of sources (utm_source).', '{sources}',
 '{"orders": {"utm_source": "$sources"}}'),
('first_order_utm_source', 'campaign', 'Acquired by UTM source', 'UTMソース獲得顧客',
 'The first order came from one of sources (utm_source).', '{sources}',
 '{"orders": {"nth": "first", "utm_source": "$sources"}}'),
('utm_medium', 'campaign', 'UTM medium', 'UTMメディア経由', 'An order from one of mediums (utm_medium).', '{mediums}',
 '{"orders": {"utm_medium": "$mediums"}}'),
('discount_code', 'campaign', 'Discount code', 'クーポンコード利用', 'An order with one of codes.', '{codes}',
 '{"orders": {"discount_code": "$codes"}}'),
('campaign_in_period', 'campaign', 'Campaign buyers in a period', '期間内キャンペーン購入者',
 'An order tagged with one of tags dated from .. to.', '{tags,from,to}',
 '{"orders": {"order_tag": "$tags", "period": {"from": "$from", "to": "$to"}}}'),
-- channels
('sales_channel', 'channel', 'Sales channel', '販売チャネル', 'An order through one of channels (sales_channel).', '{channels}',
 '{"orders": {"sales_channel": "$channels"}}'),
('first_order_channel', 'channel', 'First order: sales channel', '初回購入チャネル',
 'The first order went through one of channels (sales_channel).', '{channels}',
 '{"orders": {"nth": "first", "sales_channel": "$channels"}}'),
('acquisition_channel', 'channel', 'Acquisition channel', '獲得チャネル',
 'The first order came through one of acquisition_channels.', '{acquisition_channels}',
 '{"orders": {"nth": "first", "acquisition_channel": "$acquisition_channels"}}'),
('referring_site', 'channel', 'Referring site', '参照元サイト', 'The first order was referred by one of sites.', '{sites}',
 '{"orders": {"nth": "first", "referring_site": "$sites"}}'),
('landing_site', 'channel', 'Landing page', 'ランディングページ', 'The first order landed on one of pages.', '{pages}',
 '{"orders": {"nth": "first", "landing_site": "$pages"}}'),
('omnichannel', 'channel', 'Omnichannel buyers', 'オムニチャネル購入者',
 'Ordered through one of channels_a and through one of channels_b.', '{channels_a,channels_b}',
 '{"all": [{"orders": {"sales_channel": "$channels_a"}}, {"orders": {"sales_channel": "$channels_b"}}]}'),
-- subscription
('subscribers', 'subscription', 'Active subscribers', '定期購入中',
 'A subscription order within the last days days.', '{days}',
 '{"orders": {"subscription": true, "period": {"last_days": "$days"}}}'),
('subscription_churned', 'subscription', 'Churned subscribers', '定期解約（離脱）',
 'Subscription orders before, none in the last days days.', '{days}',
 '{"all": [{"orders": {"subscription": true}}, {"not": {"orders": {"subscription": true, "period": {"last_days": "$days"}}}}]}'),
('subscription_first_order', 'subscription', 'Started with a subscription', '初回から定期購入',
 'The first order was a subscription order.', '{}',
 '{"orders": {"nth": "first", "subscription": true}}'),
('one_time_only', 'subscription', 'One-time purchases only', '単品購入のみ',
 'Ordered, but never a subscription order.', '{}',
 '{"all": [{"orders": {}}, {"not": {"orders": {"subscription": true}}}]}'),
('subscription_long', 'subscription', 'Long subscribers', '定期継続（N回以上）',
 'At least orders subscription orders.', '{orders}',
 '{"orders": {"subscription": true}, "count": {"gte": "$orders"}}'),
-- coupons
('coupon_users', 'coupon', 'Coupon users', 'クーポン利用者', 'At least one order with a discount code.', '{}',
 '{"orders": {"has_discount": true}}'),
('coupon_only', 'coupon', 'Coupon-only buyers', 'クーポン購入のみ',
 'Ordered, and every order had a discount code.', '{}',
 '{"all": [{"orders": {}}, {"not": {"orders": {"has_discount": false}}}]}'),
('full_price_buyers', 'coupon', 'Full-price buyers', '定価購入者',
 'Ordered, and never with a discount code.', '{}',
 '{"all": [{"orders": {}}, {"not": {"orders": {"has_discount": true}}}]}'),
('first_order_coupon', 'coupon', 'First order with coupon', '初回クーポン利用',
 'The first order had a discount code.', '{}',
 '{"orders": {"nth": "first", "has_discount": true}}'),
('coupon_then_full_price', 'coupon', 'Coupon, then full price', 'クーポン初回→定価リピート',
 'First order with a discount code, a later order without one.', '{}',
 '{"all": [{"orders": {"nth": "first", "has_discount": true}}, {"orders": {"nth": "repeat", "has_discount": false}}]}'),
-- value
('high_aov', 'value', 'High AOV', '高単価顧客', 'Average order value of at least amount.', '{amount}',
 '{"metric": "aov", "gte": "$amount"}'),
('low_aov', 'value', 'Low AOV', '低単価顧客', 'Average order value below amount.', '{amount}',
 '{"metric": "aov", "lt": "$amount"}'),
('high_spenders', 'value', 'High spenders', '高額累計購入者', 'Net revenue of at least amount.', '{amount}',
 '{"metric": "total_spent", "gte": "$amount"}'),
('big_order', 'value', 'Big single order', '高額注文者', 'At least one order with a net amount of at least amount.', '{amount}',
 '{"orders": {"total": {"gte": "$amount"}}}'),
('vip_recent', 'value', 'Recent VIPs', '直近の優良顧客',
 'Net revenue of at least amount and an order within the last days days.', '{amount,days}',
 '{"all": [{"metric": "total_spent", "gte": "$amount"}, {"orders": {"period": {"last_days": "$days"}}}]}'),
('spend_in_period', 'value', 'Spent in a period', '期間内購入金額',
 'Net revenue of at least amount from orders dated from .. to.', '{amount,from,to}',
 '{"metric": "total_spent", "gte": "$amount", "orders": {"period": {"from": "$from", "to": "$to"}}}'),
-- geography and customer attributes
('country', 'geography', 'Country', '国', 'Customers in one of countries.', '{countries}', '{"country": "$countries"}'),
('province', 'geography', 'Province / state', '都道府県・州', 'Customers in one of provinces.', '{provinces}', '{"province": "$provinces"}'),
('city', 'geography', 'City', '市区町村', 'Customers in one of cities.', '{cities}', '{"city": "$cities"}'),
('domestic_repeaters', 'geography', 'Repeat buyers in countries', '国内リピーター',
 'Repeat buyers in one of countries.', '{countries}',
 '{"all": [{"country": "$countries"}, {"orders": {}, "count": {"gte": 2}}]}'),
('customer_tag', 'customer', 'Customer tag', '顧客タグ', 'Customers tagged with one of tags.', '{tags}',
 '{"customer_tag": "$tags"}'),
('email_domain', 'customer', 'Email domain', 'メールドメイン', 'Customers whose email is at one of domains.', '{domains}',
 '{"email_domain": "$domains"}'),
('marketing_opt_in_buyers', 'customer', 'Marketing opt-in buyers', 'メルマガ許諾済み購入者',
 'Accept marketing and have ordered.', '{}',
 '{"all": [{"accepts_marketing": true}, {"orders": {}}]}'),
('marketing_opt_out', 'customer', 'Marketing opt-out', 'メルマガ未許諾', 'Do not accept marketing.', '{}',
 '{"accepts_marketing": false}'),
-- predictions (ecpower.customer_predictions of the last fit_predictions())
('likely_lost_one_time_buyers', 'prediction', 'Likely lost one-time buyers', '離反濃厚な1回購入者',
 'Exactly one counted order and a predicted probability of still being a customer below p_alive (needs the mbgnbd or paretonbd model: under bgnbd every one-time buyer has p_alive 1).', '{p_alive}',
 '{"all": [{"orders": {}, "count": {"eq": 1}}, {"predicted": "p_alive", "lt": "$p_alive"}]}'),
('overdue_loyal_customers', 'prediction', 'Overdue loyal customers', '購入予定日を過ぎたロイヤル顧客',
 'At least orders counted orders and at least days days past the expected next order date.', '{orders,days}',
 '{"all": [{"orders": {}, "count": {"gte": "$orders"}}, {"predicted": "days_overdue", "gte": "$days"}]}'),
('high_value_low_p_alive', 'prediction', 'High predicted value, low p_alive', '高予測価値・離反リスク顧客',
 'Predicted 12-month value of at least clv and a probability of still being a customer below p_alive.', '{clv,p_alive}',
 '{"all": [{"predicted": "clv_365d", "gte": "$clv"}, {"predicted": "p_alive", "lt": "$p_alive"}]}')
) AS t(template, category, name, name_ja, description, parameters, definition);
COMMENT ON VIEW ecpower.templates IS
    'ready-made segment definitions with "$param" placeholders (README "Templates")';

/* replace "$name" strings by params->name, everywhere in a definition */
CREATE FUNCTION ecpower._template_fill(d jsonb, params jsonb)
RETURNS jsonb
LANGUAGE plpgsql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_type text := pg_catalog.jsonb_typeof(d);
    v_text text;
BEGIN
    IF v_type OPERATOR(pg_catalog.=) 'object' THEN
        RETURN COALESCE((SELECT pg_catalog.jsonb_object_agg(e.key, ecpower._template_fill(e.value, params))
                           FROM pg_catalog.jsonb_each(d) AS e), '{}'::jsonb);
    ELSIF v_type OPERATOR(pg_catalog.=) 'array' THEN
        RETURN COALESCE((SELECT pg_catalog.jsonb_agg(ecpower._template_fill(e.value, params) ORDER BY e.ord)
                           FROM pg_catalog.jsonb_array_elements(d) WITH ORDINALITY AS e(value, ord)), '[]'::jsonb);
    ELSIF v_type OPERATOR(pg_catalog.=) 'string' THEN
        v_text := d OPERATOR(pg_catalog.#>>) '{}'::text[];
        IF pg_catalog.left(v_text, 1) OPERATOR(pg_catalog.=) '$'
           AND params OPERATOR(pg_catalog.?) pg_catalog.substr(v_text, 2) THEN
            RETURN params OPERATOR(pg_catalog.->) pg_catalog.substr(v_text, 2);
        END IF;
    END IF;
    RETURN d;
END
$$;
COMMENT ON FUNCTION ecpower._template_fill(jsonb, jsonb) IS
    'internal: substitutes template parameters into a definition';

CREATE FUNCTION ecpower.create_segment_from_template(template text, slug text,
                                                     params jsonb DEFAULT '{}',
                                                     name text DEFAULT NULL)
RETURNS integer
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_t record;
    v_params jsonb := COALESCE(params, '{}'::jsonb);
    v_missing text;
    v_extra text;
BEGIN
    SELECT * INTO v_t FROM ecpower.templates AS t
     WHERE t.template OPERATOR(pg_catalog.=) create_segment_from_template.template;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'template "%" does not exist', template
            USING ERRCODE = 'undefined_object',
                  HINT = 'SELECT template, parameters FROM ecpower.templates lists them.';
    END IF;
    IF pg_catalog.jsonb_typeof(v_params) OPERATOR(pg_catalog.<>) 'object' THEN
        RAISE EXCEPTION 'template parameters must be a JSON object, not %', pg_catalog.jsonb_typeof(v_params)
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    SELECT pg_catalog.string_agg(p, ', ' ORDER BY p COLLATE "C") INTO v_missing
      FROM pg_catalog.unnest(v_t.parameters) AS p
     WHERE NOT v_params OPERATOR(pg_catalog.?) p;
    IF v_missing IS NOT NULL THEN
        RAISE EXCEPTION 'template "%" needs parameters: %', template, v_missing
            USING ERRCODE = 'invalid_parameter_value',
                  DETAIL = pg_catalog.format('Its parameters are: %s.',
                                             pg_catalog.array_to_string(v_t.parameters, ', '));
    END IF;
    SELECT pg_catalog.string_agg(k, ', ' ORDER BY k COLLATE "C") INTO v_extra
      FROM pg_catalog.jsonb_object_keys(v_params) AS k
     WHERE NOT k OPERATOR(pg_catalog.=) ANY (v_t.parameters);
    IF v_extra IS NOT NULL THEN
        RAISE EXCEPTION 'template "%" has no parameters: %', template, v_extra
            USING ERRCODE = 'invalid_parameter_value',
                  DETAIL = CASE WHEN pg_catalog.cardinality(v_t.parameters) OPERATOR(pg_catalog.=) 0
                                THEN 'It takes no parameters.'
                                ELSE pg_catalog.format('Its parameters are: %s.',
                                                       pg_catalog.array_to_string(v_t.parameters, ', ')) END;
    END IF;
    RETURN ecpower.create_segment(slug, COALESCE(name, v_t.name),
                                  ecpower._template_fill(v_t.definition, v_params),
                                  v_t.description);
END
$$;
COMMENT ON FUNCTION ecpower.create_segment_from_template(text, text, jsonb, text) IS
    'creates a segment from a template, filling its "$param" placeholders from params';
