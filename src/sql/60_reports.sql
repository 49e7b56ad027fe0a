/*
 * Feature reports (README "Feature reports"): top values by customers, distributions of a
 * per-customer measure, and products bought together.  All three answer as
 * of the last refresh: its members, and counted orders up to its as_of.
 * The period is [from_date, to_date], inclusive: every function of the
 * extension names its period bounds from_date and to_date.
 * Implemented in C (src/reports/report.c, src/reports/distribution.c, src/reports/basket.c over the
 * report source src/timeline/fetch.c).
 */

CREATE FUNCTION ecpower.feature_report(
    slug text,
    dimension text,
    variant text DEFAULT 'all',
    from_date date DEFAULT NULL,
    to_date date DEFAULT NULL,
    top integer DEFAULT 10,
    ascending boolean DEFAULT false)
RETURNS TABLE (rank integer, key text, label text, customers bigint,
               share numeric, store_share numeric, lift numeric)
AS 'MODULE_PATHNAME', 'feature_report'
LANGUAGE C STABLE PARALLEL RESTRICTED ROWS 10
SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION ecpower.feature_report(text, text, text, date, date, integer, boolean) IS
    'top values of a dimension by segment customers in their selected orders, with share, store share and lift';

CREATE FUNCTION ecpower.distribution(
    slug text,
    measure text,
    variant text DEFAULT 'all',
    from_date date DEFAULT NULL,
    to_date date DEFAULT NULL,
    bins numeric[] DEFAULT NULL)
RETURNS TABLE (bin integer, lower numeric, upper numeric, customers bigint,
               share numeric)
AS 'MODULE_PATHNAME', 'distribution'
LANGUAGE C STABLE PARALLEL RESTRICTED ROWS 10
SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION ecpower.distribution(text, text, text, date, date, numeric[]) IS
    'segment customers binned by a per-customer measure over their selected orders';

CREATE FUNCTION ecpower.bought_together(
    slug text,
    top integer DEFAULT 10,
    variant text DEFAULT 'all',
    from_date date DEFAULT NULL,
    to_date date DEFAULT NULL)
RETURNS TABLE (rank integer, product_a bigint, label_a text, product_b bigint,
               label_b text, customers bigint, support numeric, confidence numeric,
               lift numeric)
AS 'MODULE_PATHNAME', 'bought_together'
LANGUAGE C STABLE PARALLEL RESTRICTED ROWS 10
SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION ecpower.bought_together(text, integer, text, date, date) IS
    'product pairs (ids and titles) most segment customers bought in one selected order: customers, support, confidence, lift';
