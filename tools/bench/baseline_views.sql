-- The plain-SQL baseline's views for one as_of (psql variables as_of and
-- d, the store-local as_of date; the demo store's time zone is UTC).
SELECT format('CREATE OR REPLACE FUNCTION bench.d() RETURNS date
LANGUAGE sql IMMUTABLE AS $f$ SELECT %L::date $f$', :'d') \gexec

CREATE OR REPLACE VIEW bench.co AS
SELECT o.order_id, o.customer_id, o.ordered_at,
       (o.ordered_at AT TIME ZONE 'UTC')::date AS day,
       o.total - o.refunded AS net, o.discount_codes, o.tags, o.sales_channel,
       o.acquisition_channel, o.referring_site, o.landing_site, o.utm_source,
       o.utm_medium, o.utm_campaign, o.is_subscription,
       row_number() OVER w AS seq,
       count(*) OVER (PARTITION BY o.customer_id) AS n
  FROM ecpower.orders o
 WHERE o.cancelled_at IS NULL AND o.ordered_at <= :'as_of'::timestamptz
WINDOW w AS (PARTITION BY o.customer_id ORDER BY o.ordered_at, o.order_id);

CREATE OR REPLACE VIEW bench.ln AS
SELECT l.order_id, l.quantity, l.sku, p.product_id, p.title, p.product_type, p.vendor,
       COALESCE(p.tags, '{}') AS ptags
  FROM ecpower.order_lines l LEFT JOIN ecpower.products p ON p.product_id = l.product_id;

-- RFM as the README defines it, the way a DBA writes it
CREATE OR REPLACE VIEW bench.rfm AS
WITH base AS (
    SELECT customer_id, bench.d() - max(day) AS rec, count(*) AS cnt, sum(net) AS rev
      FROM bench.co GROUP BY customer_id),
s AS (
    SELECT customer_id, rec, cnt, rev,
           1 + floor(5 * (rank() OVER (ORDER BY rec DESC) - 1)::numeric / count(*) OVER ())::int AS r,
           1 + floor(5 * (rank() OVER (ORDER BY cnt) - 1)::numeric / count(*) OVER ())::int AS f,
           1 + floor(5 * (rank() OVER (ORDER BY rev) - 1)::numeric / count(*) OVER ())::int AS m
      FROM base)
SELECT s.customer_id, s.r, s.f, s.m, (s.f + s.m + 1) / 2 AS fm, g.grp
  FROM s JOIN (VALUES
    (5,1,'new'),(5,2,'new'),(5,3,'active'),(5,4,'champions'),(5,5,'champions'),
    (4,1,'promising'),(4,2,'promising'),(4,3,'active'),(4,4,'loyal'),(4,5,'loyal'),
    (3,1,'needs_attention'),(3,2,'needs_attention'),(3,3,'needs_attention'),(3,4,'loyal'),(3,5,'loyal'),
    (2,1,'almost_lost'),(2,2,'almost_lost'),(2,3,'at_risk'),(2,4,'at_risk'),(2,5,'at_risk'),
    (1,1,'dormant'),(1,2,'dormant'),(1,3,'almost_lost'),(1,4,'previously_loyal'),(1,5,'previously_loyal')
  ) AS g(r, fm, grp) ON g.r = s.r AND g.fm = (s.f + s.m + 1) / 2
UNION ALL
SELECT c.customer_id, NULL, NULL, NULL, NULL, 'prospects'
  FROM ecpower.customers c
 WHERE NOT EXISTS (SELECT 1 FROM bench.co o WHERE o.customer_id = c.customer_id);
