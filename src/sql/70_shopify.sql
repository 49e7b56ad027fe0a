/*
 * Shopify import (README "Shopify import and activation"): admin CSV exports into the input tables.
 *
 * Both functions take the file's content as text, which works from any
 * client without server file access:
 *   \set csv `cat orders_export.csv`
 *   SELECT * FROM ecpower.import_shopify_orders(:'csv');
 * or, with pg_read_server_files, on the server:
 *   SELECT * FROM ecpower.import_shopify_orders(pg_read_file('/path/orders_export.csv'));
 * Each call is one statement: a malformed file changes nothing.
 */

CREATE FUNCTION ecpower.import_shopify_orders(csv text)
RETURNS TABLE (kind text, inserted bigint, updated bigint, skipped bigint)
AS 'MODULE_PATHNAME', 'import_shopify_orders'
LANGUAGE C VOLATILE STRICT
SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION ecpower.import_shopify_orders(text) IS
    'upsert a Shopify admin orders_export.csv (file content as text) into customers, products, orders and order_lines; returns rows inserted/updated/skipped per table';

CREATE FUNCTION ecpower.import_shopify_customers(csv text)
RETURNS TABLE (kind text, inserted bigint, updated bigint, skipped bigint)
AS 'MODULE_PATHNAME', 'import_shopify_customers'
LANGUAGE C VOLATILE STRICT
SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION ecpower.import_shopify_customers(text) IS
    'upsert a Shopify admin customers_export.csv (file content as text) into customers; returns rows inserted/updated/skipped';
