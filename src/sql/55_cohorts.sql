/*
 * Cohorts (README "KPIs, cohorts and journeys").  A cohort is the store-local month of a member's first
 * counted order as of the last refresh; a NULL slug is the whole store.
 * Retention and rates are rounded to 4 decimals, money to 2.
 */

CREATE FUNCTION ecpower.cohorts(slug text, months integer DEFAULT 12)
RETURNS TABLE (cohort_month date, customers integer, month_offset integer,
               active_customers integer, retention numeric, revenue numeric,
               cumulative_ltv numeric)
AS 'MODULE_PATHNAME', 'cohorts'
LANGUAGE C STABLE PARALLEL RESTRICTED
SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION ecpower.cohorts(text, integer) IS
    'retention and cumulative LTV per first-order month and month offset (long format, for a heat map)';

CREATE FUNCTION ecpower.cohort_summary(slug text)
RETURNS TABLE (cohort_month date, customers integer, ltv_3m numeric,
               ltv_6m numeric, ltv_12m numeric, f2_rate numeric,
               f2_rate_90d numeric)
AS 'MODULE_PATHNAME', 'cohort_summary'
LANGUAGE C STABLE PARALLEL RESTRICTED
SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION ecpower.cohort_summary(text) IS
    '3/6/12-month LTV and F2 conversion (overall, within 90 days) per cohort; NULL until the window has fully elapsed';
