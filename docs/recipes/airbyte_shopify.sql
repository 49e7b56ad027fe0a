-- Load ecpower's input tables from the Shopify streams Airbyte writes into
-- this database (schema "airbyte_shopify"; change the name if yours
-- differs).  Run in one transaction after each Airbyte sync:
--   BEGIN; \i airbyte_shopify.sql  COMMIT;
-- Every statement is an upsert: running it again changes nothing.  A stream
-- read more than once keeps its latest copy of each record (updated_at,
-- then _airbyte_extracted_at).  Orders with deleted_at are deleted.  Guest
-- orders get the customer id the CSV importer would derive.  UTM
-- parameters are read from the landing_site URL as they are (not
-- percent-decoded).  Airbyte's orders carry no unit cost: unit_cost stays
-- NULL (or fill it from the inventory_items stream).

-- customers (tags are one comma-separated string)
INSERT INTO ecpower.customers AS c
       (customer_id, email, created_at, tags, country, province, city, accepts_marketing)
SELECT cu.id, lower(cu.email), cu.created_at,
       coalesce(array_remove(string_to_array(regexp_replace(btrim(coalesce(cu.tags, '')), '\s*,\s*', ',', 'g'), ','), ''), '{}'),
       cu.default_address->>'country_code', cu.default_address->>'province_code', cu.default_address->>'city',
       coalesce(cu.email_marketing_consent->>'state' = 'subscribed', false)
  FROM (SELECT DISTINCT ON (id) * FROM airbyte_shopify.customers
         ORDER BY id, updated_at DESC NULLS LAST, _airbyte_extracted_at DESC) cu
ON CONFLICT (customer_id) DO UPDATE
   SET email = excluded.email, created_at = excluded.created_at, tags = excluded.tags,
       country = excluded.country, province = excluded.province, city = excluded.city,
       accepts_marketing = excluded.accepts_marketing;

CREATE TEMP TABLE ecp_airbyte_orders ON COMMIT DROP AS
SELECT DISTINCT ON (id) * FROM airbyte_shopify.orders
 ORDER BY id, updated_at DESC NULLS LAST, _airbyte_extracted_at DESC;

-- guest customers of orders without a Shopify customer
INSERT INTO ecpower.customers (customer_id, email, created_at)
SELECT DISTINCT ON (g.id) g.id, g.email, g.created_at
  FROM (SELECT ((('x' || substr(md5(CASE WHEN o.email IS NOT NULL THEN 'email:' || lower(o.email)
                                         ELSE 'guest:' || o.id END), 1, 16))::bit(64)::bigint
                  & 4611686018427387903) | 4611686018427387904) AS id,
               lower(o.email) AS email, o.created_at
          FROM ecp_airbyte_orders o
         WHERE o.customer->>'id' IS NULL AND o.deleted_at IS NULL) g
 ORDER BY g.id, g.created_at
ON CONFLICT (customer_id) DO NOTHING;

INSERT INTO ecpower.products AS p (product_id, title, product_type, vendor)
SELECT pr.id, coalesce(pr.title, 'product ' || pr.id), nullif(pr.product_type, ''), nullif(pr.vendor, '')
  FROM (SELECT DISTINCT ON (id) * FROM airbyte_shopify.products
         ORDER BY id, updated_at DESC NULLS LAST, _airbyte_extracted_at DESC) pr
ON CONFLICT (product_id) DO UPDATE
   SET title = excluded.title, product_type = excluded.product_type, vendor = excluded.vendor;

-- orders: refunds are the successful refund transactions of the refunds list
INSERT INTO ecpower.orders AS o
       (order_id, customer_id, ordered_at, total, refunded, discount_codes, tags, sales_channel,
        referring_site, landing_site, utm_source, utm_medium, utm_campaign, cancelled_at)
SELECT a.id,
       coalesce((a.customer->>'id')::bigint,
                ((('x' || substr(md5(CASE WHEN a.email IS NOT NULL THEN 'email:' || lower(a.email)
                                          ELSE 'guest:' || a.id END), 1, 16))::bit(64)::bigint
                  & 4611686018427387903) | 4611686018427387904)),
       a.created_at, a.total_price,
       coalesce((SELECT sum((t->>'amount')::numeric)
                   FROM jsonb_array_elements(coalesce(a.refunds, '[]')) r,
                        jsonb_array_elements(coalesce(r->'transactions', '[]')) t
                  WHERE t->>'kind' = 'refund' AND t->>'status' = 'success'), 0),
       coalesce((SELECT array_agg(d->>'code' ORDER BY n)
                   FROM jsonb_array_elements(coalesce(a.discount_codes, '[]')) WITH ORDINALITY AS x(d, n)), '{}'),
       coalesce(array_remove(string_to_array(regexp_replace(btrim(coalesce(a.tags, '')), '\s*,\s*', ',', 'g'), ','), ''), '{}'),
       a.source_name, a.referring_site, a.landing_site,
       substring(a.landing_site from '[?&]utm_source=([^&#]*)'),
       substring(a.landing_site from '[?&]utm_medium=([^&#]*)'),
       substring(a.landing_site from '[?&]utm_campaign=([^&#]*)'),
       a.cancelled_at
  FROM ecp_airbyte_orders a
 WHERE a.deleted_at IS NULL
ON CONFLICT (order_id) DO UPDATE
   SET customer_id = excluded.customer_id, ordered_at = excluded.ordered_at, total = excluded.total,
       refunded = excluded.refunded, discount_codes = excluded.discount_codes, tags = excluded.tags,
       sales_channel = excluded.sales_channel, referring_site = excluded.referring_site,
       landing_site = excluded.landing_site, utm_source = excluded.utm_source,
       utm_medium = excluded.utm_medium, utm_campaign = excluded.utm_campaign,
       cancelled_at = excluded.cancelled_at;

DELETE FROM ecpower.orders o USING ecp_airbyte_orders a
 WHERE a.id = o.order_id AND a.deleted_at IS NOT NULL;

-- lines: replaced per order, numbered in list order
DELETE FROM ecpower.order_lines l USING ecp_airbyte_orders a WHERE a.id = l.order_id;
INSERT INTO ecpower.order_lines (order_id, line_no, product_id, variant_id, sku, quantity, price)
SELECT a.id, row_number() OVER (PARTITION BY a.id ORDER BY li.n)::int,
       p.product_id, (li.v->>'variant_id')::bigint, li.v->>'sku',
       (li.v->>'quantity')::int, (li.v->>'price')::numeric
  FROM ecp_airbyte_orders a
  JOIN ecpower.orders o ON o.order_id = a.id
  CROSS JOIN LATERAL jsonb_array_elements(coalesce(a.line_items, '[]')) WITH ORDINALITY AS li(v, n)
  LEFT JOIN ecpower.products p ON p.product_id = (li.v->>'product_id')::bigint
 WHERE (li.v->>'quantity')::int > 0;
