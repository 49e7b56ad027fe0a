/*
 * Acquisition quality (docs/analyses.md "Acquisition quality"): marketing
 * spend per value of an acquisition dimension and day, and the report of
 * how the customers each value acquired turned out.
 */

CREATE TABLE ecpower.acquisition_spend (
    dimension text NOT NULL,
    key text NOT NULL,
    spend_date date NOT NULL,
    amount numeric(14,2) NOT NULL CHECK (amount OPERATOR(pg_catalog.>=) 0),
    PRIMARY KEY (dimension, key, spend_date)
);
COMMENT ON TABLE ecpower.acquisition_spend IS
    'marketing spend attributed to a value of a report dimension on a day, in the store currency (docs/analyses.md)';
SELECT pg_catalog.pg_extension_config_dump('ecpower.acquisition_spend', '');

/* the dimension must be one acquisition_report() reports (22023 otherwise) */
CREATE FUNCTION ecpower._acquisition_spend_check()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF NEW.dimension IS NULL OR NOT NEW.dimension OPERATOR(pg_catalog.=) ANY (ARRAY[
        'product', 'product_type', 'product_tag', 'vendor', 'sku',
        'acquisition_channel', 'referring_site', 'landing_site',
        'utm_source', 'utm_medium', 'utm_campaign',
        'sales_channel', 'order_tag', 'discount_code',
        'year_month', 'weekday', 'hour',
        'customer_tag', 'country', 'province', 'city']) THEN
        RAISE EXCEPTION 'unknown spend dimension "%"', NEW.dimension
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Use a dimension of ecpower.acquisition_report(), such as utm_campaign or acquisition_channel.';
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER acquisition_spend_check BEFORE INSERT OR UPDATE OF dimension
    ON ecpower.acquisition_spend
    FOR EACH ROW EXECUTE FUNCTION ecpower._acquisition_spend_check();

CREATE FUNCTION ecpower.acquisition_report(
    dimension text,
    slug text DEFAULT NULL,
    from_date date DEFAULT NULL,
    to_date date DEFAULT NULL,
    top integer DEFAULT 20)
RETURNS TABLE (rank integer, key text, label text, customers bigint,
               share numeric, first_aov numeric, repeat_rate numeric,
               f2_rate_90d numeric, ltv_3m numeric, ltv_6m numeric,
               ltv_12m numeric, ltv numeric, avg_orders numeric,
               gross_profit_ltv numeric, cac numeric, ltv_12m_to_cac numeric,
               payback_days integer)
AS 'MODULE_PATHNAME', 'acquisition_report'
LANGUAGE C STABLE PARALLEL RESTRICTED ROWS 20
SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION ecpower.acquisition_report(text, text, date, date, integer) IS
    'customers acquired in a period by the values of their first order: first AOV, repeat and F2 rates, LTV windows, gross profit, CAC and payback';
