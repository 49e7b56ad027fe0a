-- One more day of orders, deterministically (psql variable day: the new
-- store-local date, the demo store being in UTC): about 0.3 % of the
-- existing orders (order_id % 333 = 7) are copied with their lines, as new
-- orders of the same customers placed on that day at the same time of day,
-- the way a nightly INSERT ... SELECT from a sync schema adds them; and a
-- few existing orders are refunded or cancelled by UPDATE (what a sync of
-- Shopify's refunds does).  nightly_undo.sql restores the previous state.
CREATE TABLE IF NOT EXISTS bench.nightly_saved AS
SELECT order_id, refunded, cancelled_at FROM ecpower.orders
 WHERE order_id % 5000 = 11 OR order_id % 7000 = 13;
INSERT INTO ecpower.orders (order_id, customer_id, ordered_at, total, refunded,
    discount_codes, tags, sales_channel, acquisition_channel, referring_site,
    landing_site, utm_source, utm_medium, utm_campaign, is_subscription, cancelled_at)
SELECT o.order_id + 900000000000000, o.customer_id,
       :'day'::date + (o.ordered_at - date_trunc('day', o.ordered_at)),
       o.total, 0, o.discount_codes, o.tags, o.sales_channel, o.acquisition_channel,
       o.referring_site, o.landing_site, o.utm_source, o.utm_medium, o.utm_campaign,
       o.is_subscription, NULL
  FROM ecpower.orders o
 WHERE o.order_id % 333 = 7 AND o.order_id < 900000000000000;
INSERT INTO ecpower.order_lines (order_id, line_no, product_id, variant_id, sku, quantity, price)
SELECT l.order_id + 900000000000000, l.line_no, l.product_id, l.variant_id, l.sku, l.quantity, l.price
  FROM ecpower.order_lines l
 WHERE l.order_id % 333 = 7 AND l.order_id < 900000000000000;
UPDATE ecpower.orders SET refunded = total
 WHERE order_id % 5000 = 11 AND order_id < 900000000000000;
UPDATE ecpower.orders SET cancelled_at = :'day'::date + interval '12 hours'
 WHERE order_id % 7000 = 13 AND order_id < 900000000000000 AND cancelled_at IS NULL;
