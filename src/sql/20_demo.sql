/*
 * The demo store (README "The demo store"): a deterministic, realistic
 * Shopify-like store generated in C into the empty input tables.
 */

CREATE FUNCTION ecpower.generate_demo_store(
    customers integer DEFAULT 10000,
    seed integer DEFAULT 42,
    OUT customer_rows bigint,
    OUT product_rows bigint,
    OUT order_rows bigint,
    OUT order_line_rows bigint)
RETURNS record
AS 'MODULE_PATHNAME', 'generate_demo_store'
LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION ecpower.generate_demo_store(integer, integer) IS
    'fill the empty input tables with a deterministic demo store (same seed, same rows); returns the row counts';
