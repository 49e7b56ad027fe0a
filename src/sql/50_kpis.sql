/*
 * KPIs (README "KPIs, cohorts and journeys"): the ecpower.kpi row type, the kpis() aggregate for any
 * GROUP BY, segment_kpis, daily snapshots stored by refresh and read by
 * segment_history, ltv_window, compare_segments and segment_revenue.
 *
 * Reports answer as of the last successful refresh: its members and the
 * counted orders up to its as_of.  A NULL slug is the whole store (every
 * customer with a counted order).  Money and day averages are rounded to
 * 2 decimals, rates and avg_orders to 4; ratios with a zero denominator
 * are NULL.  gross_profit and gross_margin (docs/profit.md) are NULL when
 * a counted order's gross profit is unknown (a line without unit_cost or
 * product_id).
 */

CREATE TYPE ecpower.kpi AS (
    customers               bigint,
    buyers                  bigint,
    orders                  bigint,
    revenue                 numeric,
    ltv                     numeric,
    aov                     numeric,
    customer_aov            numeric,
    avg_orders              numeric,
    repeat_rate             numeric,
    avg_interval_days       numeric,
    median_interval_days    numeric,
    avg_lifetime_days       numeric,
    gross_profit            numeric,
    gross_margin            numeric
);
COMMENT ON TYPE ecpower.kpi IS
    'the KPI table of a set of customers (README "KPIs, cohorts and journeys")';

-- the aggregate: internal state of buffered (customer, time, cents) rows
CREATE FUNCTION ecpower.kpis_transfn(internal, bigint, timestamptz, numeric)
RETURNS internal
AS 'MODULE_PATHNAME', 'kpis_transfn'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION ecpower.kpis_transfn(internal, bigint, timestamptz, numeric) IS
    'transition function of ecpower.kpis()';

CREATE FUNCTION ecpower.kpis_combinefn(internal, internal)
RETURNS internal
AS 'MODULE_PATHNAME', 'kpis_combinefn'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION ecpower.kpis_combinefn(internal, internal) IS
    'combine function of ecpower.kpis()';

CREATE FUNCTION ecpower.kpis_serialfn(internal)
RETURNS bytea
AS 'MODULE_PATHNAME', 'kpis_serialfn'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION ecpower.kpis_serialfn(internal) IS
    'serialization function of ecpower.kpis() (version byte, int64 fields)';

CREATE FUNCTION ecpower.kpis_deserialfn(bytea, internal)
RETURNS internal
AS 'MODULE_PATHNAME', 'kpis_deserialfn'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION ecpower.kpis_deserialfn(bytea, internal) IS
    'deserialization function of ecpower.kpis() (validates its input)';

CREATE FUNCTION ecpower._kpis_state_rows(bytea)
RETURNS bigint
AS 'MODULE_PATHNAME', 'kpis_state_rows'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION ecpower._kpis_state_rows(bytea) IS
    'validates a serialized ecpower.kpis() state like the deserialization function and returns its row count';

-- STABLE: reads the store time zone from ecpower.settings
CREATE FUNCTION ecpower.kpis_finalfn(internal)
RETURNS ecpower.kpi
AS 'MODULE_PATHNAME', 'kpis_finalfn'
LANGUAGE C STABLE PARALLEL SAFE;
COMMENT ON FUNCTION ecpower.kpis_finalfn(internal) IS
    'final function of ecpower.kpis(): sorts the rows and computes the KPI row';

CREATE AGGREGATE ecpower.kpis(customer_id bigint, ordered_at timestamptz, amount numeric) (
    SFUNC = ecpower.kpis_transfn,
    STYPE = internal,
    SSPACE = 4096,
    FINALFUNC = ecpower.kpis_finalfn,
    COMBINEFUNC = ecpower.kpis_combinefn,
    SERIALFUNC = ecpower.kpis_serialfn,
    DESERIALFUNC = ecpower.kpis_deserialfn,
    PARALLEL = SAFE
);
COMMENT ON AGGREGATE ecpower.kpis(bigint, timestamptz, numeric) IS
    'KPIs of the customers and orders of a group: one row per order (amount = net); a NULL ordered_at counts the customer without an order; gross_profit and gross_margin are NULL (see the four-argument form)';

CREATE FUNCTION ecpower.segment_kpis(slug text, from_date date DEFAULT NULL,
                                     to_date date DEFAULT NULL)
RETURNS ecpower.kpi
AS 'MODULE_PATHNAME', 'segment_kpis'
LANGUAGE C STABLE PARALLEL RESTRICTED
SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION ecpower.segment_kpis(text, date, date) IS
    'KPIs of a segment''s current members (NULL: whole store) over their counted orders, optionally only those dated in [from_date, to_date]';

CREATE FUNCTION ecpower.ltv_window(slug text, months integer)
RETURNS TABLE (eligible bigint, ltv numeric)
AS 'MODULE_PATHNAME', 'ltv_window'
LANGUAGE C STABLE PARALLEL RESTRICTED
SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION ecpower.ltv_window(text, integer) IS
    'X-month LTV: members whose first order date + months <= as_of_date, and their mean net revenue of orders dated before first order date + months';

CREATE FUNCTION ecpower.compare_segments(slugs text[])
RETURNS TABLE (slug text, customers bigint, buyers bigint, orders bigint,
               revenue numeric, ltv numeric, aov numeric, customer_aov numeric,
               avg_orders numeric, repeat_rate numeric, avg_interval_days numeric,
               median_interval_days numeric, avg_lifetime_days numeric,
               gross_profit numeric, gross_margin numeric,
               revenue_share numeric, customer_share numeric)
AS 'MODULE_PATHNAME', 'compare_segments'
LANGUAGE C STABLE STRICT PARALLEL RESTRICTED
SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION ecpower.compare_segments(text[]) IS
    'KPIs of several segments side by side (a NULL element: whole store) with their share of store revenue and customers';

CREATE FUNCTION ecpower.segment_revenue(slugs text[], grain text, from_date date, to_date date)
RETURNS TABLE (slug text, period_start date, buyers bigint, orders bigint, revenue numeric)
AS 'MODULE_PATHNAME', 'segment_revenue'
LANGUAGE C STABLE PARALLEL RESTRICTED
SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION ecpower.segment_revenue(text[], text, date, date) IS
    'members'' buyers, orders and net revenue per day, week (from Monday) or month in [from_date, to_date], zeros included';

/*
 * Daily KPI snapshots, one row per segment (NULL: whole store) and
 * refreshed day; refresh replaces the rows of its day.
 */
CREATE TABLE ecpower.kpi_snapshots (
    segment_id              integer REFERENCES ecpower.segments ON DELETE CASCADE,
    day                     date NOT NULL,
    run_id                  bigint NOT NULL,
    customers               bigint NOT NULL,
    buyers                  bigint NOT NULL,
    orders                  bigint NOT NULL,
    revenue                 numeric NOT NULL,
    ltv                     numeric,
    aov                     numeric,
    customer_aov            numeric,
    avg_orders              numeric,
    repeat_rate             numeric,
    avg_interval_days       numeric,
    median_interval_days    numeric,
    avg_lifetime_days       numeric,
    day_orders              bigint NOT NULL,
    day_revenue             numeric NOT NULL,
    gross_profit            numeric,
    gross_margin            numeric
);
CREATE UNIQUE INDEX kpi_snapshots_segment_day_idx
    ON ecpower.kpi_snapshots ((COALESCE(segment_id, 0)), day);
COMMENT ON TABLE ecpower.kpi_snapshots IS
    'KPIs of every segment (segment_id NULL: whole store) on every refreshed day, for segment_history';
SELECT pg_catalog.pg_extension_config_dump('ecpower.kpi_snapshots', '');

CREATE FUNCTION ecpower._snapshot_kpis(run_id bigint)
RETURNS void
AS 'MODULE_PATHNAME', 'snapshot_kpis'
LANGUAGE C VOLATILE STRICT PARALLEL UNSAFE
SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION ecpower._snapshot_kpis(bigint) IS
    'stores the KPI snapshot of every segment and the whole store for a refresh run''s day (called by refresh)';

CREATE FUNCTION ecpower.segment_history(slug text, from_date date DEFAULT NULL,
                                        to_date date DEFAULT NULL)
RETURNS TABLE (day date, customers bigint, buyers bigint, orders bigint,
               revenue numeric, ltv numeric, aov numeric, customer_aov numeric,
               avg_orders numeric, repeat_rate numeric, avg_interval_days numeric,
               median_interval_days numeric, avg_lifetime_days numeric,
               gross_profit numeric, gross_margin numeric,
               day_orders bigint, day_revenue numeric)
LANGUAGE plpgsql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    sid integer;
BEGIN
    -- the same period rules as segment_kpis and the other reports
    IF NOT pg_catalog.isfinite(from_date) OR NOT pg_catalog.isfinite(to_date) THEN
        RAISE EXCEPTION 'period bounds must be finite dates'
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Pass NULL for an open bound.';
    END IF;
    IF from_date OPERATOR(pg_catalog.>) to_date THEN
        RAISE EXCEPTION 'from date % is after to date %',
            pg_catalog.to_char(from_date, 'YYYY-MM-DD'), pg_catalog.to_char(to_date, 'YYYY-MM-DD')
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF slug IS NOT NULL THEN
        SELECT s.segment_id INTO sid
          FROM ecpower.segments s
         WHERE s.slug OPERATOR(pg_catalog.=) segment_history.slug;
        IF NOT FOUND THEN
            RAISE EXCEPTION 'segment "%" does not exist', slug
                USING ERRCODE = 'undefined_object';
        END IF;
    END IF;
    RETURN QUERY
    SELECT k.day, k.customers, k.buyers, k.orders, k.revenue, k.ltv, k.aov,
           k.customer_aov, k.avg_orders, k.repeat_rate, k.avg_interval_days,
           k.median_interval_days, k.avg_lifetime_days, k.gross_profit, k.gross_margin,
           k.day_orders, k.day_revenue
      FROM ecpower.kpi_snapshots k
     WHERE k.segment_id IS NOT DISTINCT FROM sid
       AND (from_date IS NULL OR k.day OPERATOR(pg_catalog.>=) from_date)
       AND (to_date IS NULL OR k.day OPERATOR(pg_catalog.<=) to_date)
     ORDER BY k.day;
END
$$;
COMMENT ON FUNCTION ecpower.segment_history(text, date, date) IS
    'daily KPI snapshots of a segment (NULL: whole store) stored by refresh, with the members'' orders and revenue of each day';
