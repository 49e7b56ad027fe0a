/*
 * Per-customer facts of the timeline (src/timeline/summary.c,
 * docs/timeline.md "Readers"): the counted orders of each customer inside
 * a window of time, summed up.  segment_customers() and the holdout of
 * backtest_bgnbd() read the orders through it; like the reports, it reads
 * the order cache and the orders changed since, or the tables when there
 * is no usable cache.
 */

CREATE FUNCTION ecpower._customer_orders(customer_ids bigint[], after timestamptz,
                                         up_to timestamptz)
RETURNS TABLE (customer_id bigint, orders bigint, revenue numeric,
               first_order_at timestamptz, last_order_at timestamptz,
               order_days bigint)
AS 'MODULE_PATHNAME', 'customer_orders'
LANGUAGE C STABLE PARALLEL RESTRICTED ROWS 1000
SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION ecpower._customer_orders(bigint[], timestamptz, timestamptz) IS
    'internal: per customer of customer_ids (NULL: every customer), its counted orders with after < ordered_at <= up_to (NULL: open): count, net revenue, first and last ordered_at, distinct store-local days';
