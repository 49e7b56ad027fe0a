-- Load ecpower's input tables from the Shopify schema Fivetran syncs into
-- this database (schema "shopify"; change the name if yours differs).  Run
-- in one transaction after each Fivetran sync, e.g. from pg_cron:
--   BEGIN; \i fivetran_shopify.sql  COMMIT;
-- Every statement is an upsert: running it again changes nothing.  Test
-- orders and orders Fivetran marks deleted are left out (and deleted if an
-- earlier run loaded them).  Guest orders get the customer id the CSV
-- importer would derive: from the e-mail address, else from the order id.

-- customers: tags from customer_tag, location from the latest order's billing address
INSERT INTO ecpower.customers AS c
       (customer_id, email, created_at, tags, country, province, city, accepts_marketing)
SELECT cu.id, lower(cu.email), cu.created_at,
       coalesce((SELECT array_agg(t.value ORDER BY t.index) FROM shopify.customer_tag t
                  WHERE t.customer_id = cu.id), '{}'),
       a.country, a.province, a.city,
       coalesce(cu.email_marketing_consent_state = 'subscribed', false)
  FROM shopify.customer cu
  LEFT JOIN LATERAL (
        SELECT o.billing_address_country_code AS country, o.billing_address_province_code AS province,
               o.billing_address_city AS city
          FROM shopify."order" o
         WHERE o.customer_id = cu.id
           AND coalesce(o.billing_address_country_code, o.billing_address_city) IS NOT NULL
         ORDER BY o.created_at DESC LIMIT 1) a ON true
 WHERE NOT coalesce(cu._fivetran_deleted, false)
ON CONFLICT (customer_id) DO UPDATE
   SET email = excluded.email, created_at = excluded.created_at, tags = excluded.tags,
       country = excluded.country, province = excluded.province, city = excluded.city,
       accepts_marketing = excluded.accepts_marketing;

-- guest customers of orders without a Shopify customer
INSERT INTO ecpower.customers (customer_id, email, created_at)
SELECT DISTINCT ON (g.id) g.id, g.email, g.created_at
  FROM (SELECT ((('x' || substr(md5(CASE WHEN o.email IS NOT NULL THEN 'email:' || lower(o.email)
                                         ELSE 'guest:' || o.id END), 1, 16))::bit(64)::bigint
                  & 4611686018427387903) | 4611686018427387904) AS id,
               lower(o.email) AS email, o.created_at
          FROM shopify."order" o
         WHERE o.customer_id IS NULL AND NOT coalesce(o._fivetran_deleted, false)) g
 ORDER BY g.id, g.created_at
ON CONFLICT (customer_id) DO NOTHING;

-- products, deleted ones included (past orders still name them)
INSERT INTO ecpower.products AS p (product_id, title, product_type, vendor)
SELECT pr.id, coalesce(pr.title, 'product ' || pr.id), nullif(pr.product_type, ''), nullif(pr.vendor, '')
  FROM shopify.product pr
ON CONFLICT (product_id) DO UPDATE
   SET title = excluded.title, product_type = excluded.product_type, vendor = excluded.vendor;

-- orders: refunds are the successful refund transactions, UTM parameters the order's URL tags
INSERT INTO ecpower.orders AS o
       (order_id, customer_id, ordered_at, total, refunded, discount_codes, tags, sales_channel,
        referring_site, landing_site, utm_source, utm_medium, utm_campaign, cancelled_at)
SELECT f.id,
       coalesce(f.customer_id,
                ((('x' || substr(md5(CASE WHEN f.email IS NOT NULL THEN 'email:' || lower(f.email)
                                          ELSE 'guest:' || f.id END), 1, 16))::bit(64)::bigint
                  & 4611686018427387903) | 4611686018427387904)),
       f.created_at, f.total_price,
       coalesce((SELECT sum(t.amount) FROM shopify.transaction t
                  WHERE t.order_id = f.id AND t.kind = 'refund' AND t.status = 'success'), 0),
       coalesce((SELECT array_agg(d.code ORDER BY d.index) FROM shopify.order_discount_code d
                  WHERE d.order_id = f.id), '{}'),
       coalesce((SELECT array_agg(t.value ORDER BY t.index) FROM shopify.order_tag t
                  WHERE t.order_id = f.id), '{}'),
       f.source_name, f.referring_site, f.landing_site_base_url,
       (SELECT u.value FROM shopify.order_url_tag u WHERE u.order_id = f.id AND u.key = 'utm_source'),
       (SELECT u.value FROM shopify.order_url_tag u WHERE u.order_id = f.id AND u.key = 'utm_medium'),
       (SELECT u.value FROM shopify.order_url_tag u WHERE u.order_id = f.id AND u.key = 'utm_campaign'),
       f.cancelled_at
  FROM shopify."order" f
 WHERE NOT coalesce(f._fivetran_deleted, false) AND NOT coalesce(f.test, false)
ON CONFLICT (order_id) DO UPDATE
   SET customer_id = excluded.customer_id, ordered_at = excluded.ordered_at, total = excluded.total,
       refunded = excluded.refunded, discount_codes = excluded.discount_codes, tags = excluded.tags,
       sales_channel = excluded.sales_channel, referring_site = excluded.referring_site,
       landing_site = excluded.landing_site, utm_source = excluded.utm_source,
       utm_medium = excluded.utm_medium, utm_campaign = excluded.utm_campaign,
       cancelled_at = excluded.cancelled_at;

DELETE FROM ecpower.orders o
 USING shopify."order" f
 WHERE f.id = o.order_id AND (coalesce(f._fivetran_deleted, false) OR coalesce(f.test, false));

-- lines: replaced per order; the unit cost is the variant's inventory item cost
DELETE FROM ecpower.order_lines l USING shopify."order" f WHERE f.id = l.order_id;
INSERT INTO ecpower.order_lines (order_id, line_no, product_id, variant_id, sku, quantity, price, unit_cost)
SELECT ol.order_id, row_number() OVER (PARTITION BY ol.order_id ORDER BY ol.index, ol.id)::int,
       p.product_id, ol.variant_id, ol.sku, ol.quantity, ol.price, round(ii.unit_cost_amount::numeric, 2)
  FROM shopify.order_line ol
  JOIN ecpower.orders o ON o.order_id = ol.order_id
  LEFT JOIN ecpower.products p ON p.product_id = ol.product_id
  LEFT JOIN shopify.product_variant v ON v.id = ol.variant_id
  LEFT JOIN shopify.inventory_item ii ON ii.id = v.inventory_item_id
 WHERE ol.quantity > 0;
