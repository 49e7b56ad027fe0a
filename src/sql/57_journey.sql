/*
 * Journey (README "KPIs, cohorts and journeys"): customers moving between segments from one refreshed
 * day to another, for a Sankey diagram.
 */

CREATE FUNCTION ecpower.journey(slugs text[], from_date date, to_date date)
RETURNS TABLE (from_slug text, to_slug text, customers bigint, revenue numeric)
AS 'MODULE_PATHNAME', 'journey'
LANGUAGE C STABLE PARALLEL RESTRICTED
SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION ecpower.journey(text[], date, date) IS
    'customers in from_slug on from_date and to_slug on to_date (NULL: none of the listed), with their net revenue of orders dated in (from_date, to_date]';
