/*
 * What customers buy next (docs/analyses.md "Next purchases"): the values
 * of order nth + 1 by the values of order nth, and the time to order nth + 1.
 */

CREATE FUNCTION ecpower.next_purchases(
    slug text DEFAULT NULL,
    dimension text DEFAULT 'product',
    nth integer DEFAULT 1,
    top integer DEFAULT 10,
    within_days integer DEFAULT NULL)
RETURNS TABLE (from_key text, from_label text, to_key text, to_label text,
               customers bigint, share numeric, median_days numeric)
AS 'MODULE_PATHNAME', 'next_purchases'
LANGUAGE C STABLE PARALLEL RESTRICTED ROWS 100
SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION ecpower.next_purchases(text, text, integer, integer, integer) IS
    'values of customers'' next order (nth + 1) by the values of their order nth, with the share and median days between them';

CREATE FUNCTION ecpower.time_to_next_order(
    slug text DEFAULT NULL,
    dimension text DEFAULT NULL,
    nth integer DEFAULT 1)
RETURNS TABLE (key text, label text, customers bigint, reordered bigint,
               median_days numeric, p25_days numeric, p75_days numeric)
AS 'MODULE_PATHNAME', 'time_to_next_order'
LANGUAGE C STABLE PARALLEL RESTRICTED ROWS 20
SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION ecpower.time_to_next_order(text, text, integer) IS
    'days from order nth to order nth + 1 (median and quartiles) by the values of order nth';
