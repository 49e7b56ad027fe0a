/*
 * Gross profit (docs/profit.md): the four-argument ecpower.kpis() aggregate,
 * which fills the gross_profit and gross_margin columns of the KPI row from
 * each order's gross profit.  It shares the state, combine, serialization
 * and deserialization functions of the three-argument form
 * (src/sql/50_kpis.sql), so it is as parallel safe.
 */

CREATE FUNCTION ecpower.kpis_profit_transfn(internal, bigint, timestamptz, numeric, numeric)
RETURNS internal
AS 'MODULE_PATHNAME', 'kpis_profit_transfn'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION ecpower.kpis_profit_transfn(internal, bigint, timestamptz, numeric, numeric) IS
    'transition function of ecpower.kpis(customer_id, ordered_at, amount, gross_profit)';

-- STABLE: reads the store time zone from ecpower.settings
CREATE FUNCTION ecpower.kpis_profit_finalfn(internal)
RETURNS ecpower.kpi
AS 'MODULE_PATHNAME', 'kpis_profit_finalfn'
LANGUAGE C STABLE PARALLEL SAFE;
COMMENT ON FUNCTION ecpower.kpis_profit_finalfn(internal) IS
    'final function of ecpower.kpis(customer_id, ordered_at, amount, gross_profit): the KPI row with gross_profit and gross_margin';

CREATE AGGREGATE ecpower.kpis(customer_id bigint, ordered_at timestamptz, amount numeric,
                              gross_profit numeric) (
    SFUNC = ecpower.kpis_profit_transfn,
    STYPE = internal,
    SSPACE = 4096,
    FINALFUNC = ecpower.kpis_profit_finalfn,
    COMBINEFUNC = ecpower.kpis_combinefn,
    SERIALFUNC = ecpower.kpis_serialfn,
    DESERIALFUNC = ecpower.kpis_deserialfn,
    PARALLEL = SAFE
);
COMMENT ON AGGREGATE ecpower.kpis(bigint, timestamptz, numeric, numeric) IS
    'KPIs of the customers and orders of a group with gross profit: one row per order (amount = net, gross_profit = the order''s gross profit, NULL when unknown); a NULL ordered_at counts the customer without an order';
