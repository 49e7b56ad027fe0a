-- The input tables exist with the documented columns, types and keys
BEGIN;
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS ecpower;
RESET client_min_messages;
SELECT plan(66);

SELECT has_schema('ecpower');
SELECT has_table('ecpower', t, 'table ecpower.' || t)
  FROM unnest(ARRAY['settings', 'customers', 'products', 'orders', 'order_lines']) AS t;

SELECT col_type_is('ecpower', 'settings', 'store_timezone', 'text', 'settings.store_timezone');
SELECT col_type_is('ecpower', 'settings', 'currency', 'text', 'settings.currency');
SELECT col_default_is('ecpower', 'settings', 'store_timezone', 'UTC', 'default zone');
SELECT col_default_is('ecpower', 'settings', 'currency', 'USD', 'default currency');

SELECT col_type_is('ecpower', t, c, ty, t || '.' || c || ' is ' || ty)
  FROM (VALUES
    ('customers', 'customer_id', 'bigint'), ('customers', 'email', 'text'),
    ('customers', 'created_at', 'timestamp with time zone'), ('customers', 'tags', 'text[]'),
    ('customers', 'country', 'text'), ('customers', 'province', 'text'),
    ('customers', 'city', 'text'), ('customers', 'accepts_marketing', 'boolean'),
    ('products', 'product_id', 'bigint'), ('products', 'title', 'text'),
    ('products', 'product_type', 'text'), ('products', 'vendor', 'text'),
    ('products', 'tags', 'text[]'),
    ('orders', 'order_id', 'bigint'), ('orders', 'customer_id', 'bigint'),
    ('orders', 'ordered_at', 'timestamp with time zone'), ('orders', 'total', 'numeric(14,2)'),
    ('orders', 'refunded', 'numeric(14,2)'), ('orders', 'discount_codes', 'text[]'),
    ('orders', 'tags', 'text[]'), ('orders', 'sales_channel', 'text'),
    ('orders', 'acquisition_channel', 'text'), ('orders', 'referring_site', 'text'),
    ('orders', 'landing_site', 'text'), ('orders', 'utm_source', 'text'),
    ('orders', 'utm_medium', 'text'), ('orders', 'utm_campaign', 'text'),
    ('orders', 'is_subscription', 'boolean'), ('orders', 'cancelled_at', 'timestamp with time zone'),
    ('order_lines', 'order_id', 'bigint'), ('order_lines', 'line_no', 'integer'),
    ('order_lines', 'product_id', 'bigint'), ('order_lines', 'variant_id', 'bigint'),
    ('order_lines', 'sku', 'text'), ('order_lines', 'quantity', 'integer'),
    ('order_lines', 'price', 'numeric(14,2)')
  ) AS v(t, c, ty);

SELECT col_not_null('ecpower', t, c, t || '.' || c || ' is NOT NULL')
  FROM (VALUES ('customers', 'tags'), ('customers', 'accepts_marketing'),
               ('products', 'title'), ('products', 'tags'),
               ('orders', 'customer_id'), ('orders', 'ordered_at'), ('orders', 'total'),
               ('orders', 'refunded'), ('orders', 'discount_codes'), ('orders', 'tags'),
               ('orders', 'is_subscription'),
               ('order_lines', 'quantity'), ('order_lines', 'price')) AS v(t, c);

SELECT col_is_pk('ecpower', 'customers', 'customer_id', 'customers pk');
SELECT col_is_pk('ecpower', 'products', 'product_id', 'products pk');
SELECT col_is_pk('ecpower', 'orders', 'order_id', 'orders pk');
SELECT col_is_pk('ecpower', 'order_lines', ARRAY['order_id', 'line_no'], 'order_lines pk');
SELECT fk_ok('ecpower', 'orders', 'customer_id', 'ecpower', 'customers', 'customer_id');
SELECT fk_ok('ecpower', 'order_lines', 'order_id', 'ecpower', 'orders', 'order_id');
SELECT fk_ok('ecpower', 'order_lines', 'product_id', 'ecpower', 'products', 'product_id');

SELECT * FROM finish();
ROLLBACK;
