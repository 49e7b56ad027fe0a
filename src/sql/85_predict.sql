/*
 * Predicted customer value (README section "Predicted customer value",
 * docs/predictions.md): the repeat-purchase summary, BG/NBD, MBG/NBD,
 * Pareto/NBD and Gamma-Gamma fits kept in ecpower.model_fits, the choice
 * between the purchase models by a holdout comparison, per-customer scores
 * in ecpower.prediction_scores behind the view ecpower.customer_predictions,
 * holdout backtests, and the scalar formulas.  Fitting and scoring run in C
 * (src/predict/).
 *
 * Errors: 22023 for a bad argument (unit, penalizer, discount rate, model
 * parameters, dates); 22000 when the data is too thin to fit or a fit did
 * not converge.
 */

CREATE TABLE ecpower.model_fits (
    fit_id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    model           text NOT NULL
                    CHECK (model OPERATOR(pg_catalog.=) ANY
                           (ARRAY['bgnbd', 'mbgnbd', 'paretonbd', 'gammagamma']::text[])),
    as_of           timestamptz NOT NULL,
    unit            text NOT NULL,
    parameters      jsonb NOT NULL,
    penalizer       double precision NOT NULL DEFAULT 0,
    log_likelihood  double precision,
    customers       bigint NOT NULL,
    converged       boolean NOT NULL,
    iterations      integer NOT NULL,
    fitted_at       timestamptz NOT NULL DEFAULT pg_catalog.clock_timestamp(),
    holdout_end     timestamptz,
    holdout_mae     double precision,
    holdout_log_likelihood double precision,
    selected        boolean
);
COMMENT ON TABLE ecpower.model_fits IS
    'every fit: parameters, log-likelihood, customers, convergence; for the model comparison of fit_predictions(model => ''auto'') also the holdout scores and which model was selected';

CREATE TABLE ecpower.prediction_settings (
    singleton       boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    refresh_enabled boolean NOT NULL DEFAULT false,
    unit            text NOT NULL DEFAULT 'day'
                    CHECK (unit OPERATOR(pg_catalog.=) 'day'
                           OR unit OPERATOR(pg_catalog.=) 'week'),
    penalizer       double precision NOT NULL DEFAULT 0
                    CHECK (penalizer OPERATOR(pg_catalog.>=) 0),
    discount_rate   double precision NOT NULL DEFAULT 0.01
                    CHECK (discount_rate OPERATOR(pg_catalog.>=) 0),
    model           text NOT NULL DEFAULT 'auto'
                    CHECK (model OPERATOR(pg_catalog.=) ANY
                           (ARRAY['auto', 'bgnbd', 'mbgnbd', 'paretonbd']::text[]))
);
COMMENT ON TABLE ecpower.prediction_settings IS
    'one-row prediction settings: whether refresh() re-fits and re-scores, unit, penalizer, monthly discount rate, model';

/*
 * Like ecpower.settings: the row exists from CREATE EXTENSION on; a restore
 * from pg_dump inserts the dumped row again, which becomes an UPDATE.
 */
CREATE FUNCTION ecpower._prediction_settings_guard() RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM ecpower.prediction_settings) THEN
        UPDATE ecpower.prediction_settings
           SET refresh_enabled = NEW.refresh_enabled, unit = NEW.unit,
               penalizer = NEW.penalizer, discount_rate = NEW.discount_rate,
               model = NEW.model;
        RETURN NULL;
    END IF;
    RETURN NEW;
END
$$;
COMMENT ON FUNCTION ecpower._prediction_settings_guard() IS
    'keeps ecpower.prediction_settings at one row (restores update it)';
CREATE TRIGGER prediction_settings_guard BEFORE INSERT ON ecpower.prediction_settings
    FOR EACH ROW EXECUTE FUNCTION ecpower._prediction_settings_guard();
INSERT INTO ecpower.prediction_settings DEFAULT VALUES;
SELECT pg_catalog.pg_extension_config_dump('ecpower.prediction_settings', '');

CREATE TABLE ecpower.prediction_scores (
    customer_id                 bigint PRIMARY KEY,
    fit_id                      bigint NOT NULL,   -- ecpower.model_fits (no FK:
    gammagamma_fit_id           bigint,            -- checks would double the load)
    x                           integer NOT NULL,
    t_x                         double precision NOT NULL,
    t                           double precision NOT NULL,
    monetary_value              numeric(14,2),
    p_alive                     double precision NOT NULL,
    expected_orders_30d         double precision,
    expected_orders_90d         double precision,
    expected_orders_365d        double precision,
    expected_avg_spend          numeric(14,2),
    clv_365d                    numeric(14,2),
    expected_next_order_date    date,
    days_overdue                integer
);
COMMENT ON TABLE ecpower.prediction_scores IS
    'per-customer scores of the last fit_predictions() (read them through ecpower.customer_predictions)';

CREATE VIEW ecpower.customer_predictions AS
SELECT s.customer_id, s.x, s.t_x, s.t, s.monetary_value, s.p_alive,
       s.expected_orders_30d, s.expected_orders_90d, s.expected_orders_365d,
       s.expected_avg_spend, s.clv_365d, s.expected_next_order_date, s.days_overdue,
       f.model, f.as_of, f.unit, s.fit_id, s.gammagamma_fit_id
  FROM ecpower.prediction_scores s
  JOIN ecpower.model_fits f ON f.fit_id OPERATOR(pg_catalog.=) s.fit_id;
COMMENT ON VIEW ecpower.customer_predictions IS
    'predicted customer value as of the last fit: P(alive), expected orders, spend, 12-month CLV, next order date, days overdue, model';

CREATE FUNCTION ecpower.customer_summary(
    as_of timestamptz DEFAULT pg_catalog.now(), unit text DEFAULT 'day',
    OUT customer_id bigint, OUT x integer, OUT t_x double precision,
    OUT t double precision, OUT monetary_value numeric,
    OUT first_order_date date, OUT last_order_date date)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'customer_summary'
LANGUAGE C STABLE PARALLEL SAFE;
COMMENT ON FUNCTION ecpower.customer_summary(timestamptz, text) IS
    'repeat-purchase summary per customer: x = purchase days - 1, t_x, T (t), mean repeat-day spend';

CREATE FUNCTION ecpower.fit_models(
    as_of timestamptz DEFAULT pg_catalog.now(), unit text DEFAULT 'day',
    penalizer double precision DEFAULT 0, spend_model boolean DEFAULT true,
    model text DEFAULT 'bgnbd',
    OUT model text, OUT parameters jsonb, OUT log_likelihood double precision,
    OUT customers bigint, OUT converged boolean, OUT iterations integer)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'fit_models'
LANGUAGE C STABLE PARALLEL SAFE;
COMMENT ON FUNCTION ecpower.fit_models(timestamptz, text, double precision, boolean, text) IS
    'maximum likelihood fit of a repeat-purchase model (bgnbd, mbgnbd, paretonbd) and Gamma-Gamma as of a date, without saving them';

CREATE FUNCTION ecpower.score_customers(
    as_of timestamptz, unit text,
    r double precision, alpha double precision, a double precision, b double precision,
    p double precision, q double precision, v double precision,
    discount_rate double precision DEFAULT 0.01, model text DEFAULT 'bgnbd',
    OUT customer_id bigint, OUT x integer, OUT t_x double precision,
    OUT t double precision, OUT monetary_value numeric,
    OUT p_alive double precision, OUT expected_orders_30d double precision,
    OUT expected_orders_90d double precision, OUT expected_orders_365d double precision,
    OUT expected_avg_spend numeric, OUT clv_365d numeric,
    OUT expected_next_order_date date, OUT days_overdue integer)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'score_customers'
LANGUAGE C STABLE PARALLEL SAFE;
COMMENT ON FUNCTION ecpower.score_customers(timestamptz, text, double precision, double precision, double precision, double precision, double precision, double precision, double precision, double precision, text) IS
    'score every customer with given repeat-purchase model parameters (in unit; r, alpha, s, beta for paretonbd) and Gamma-Gamma parameters, without saving';

CREATE FUNCTION ecpower.bgnbd_expected_purchases(
    r double precision, alpha double precision, a double precision, b double precision,
    t double precision, x double precision, t_x double precision, "T" double precision)
RETURNS double precision
AS 'MODULE_PATHNAME', 'bgnbd_expected_purchases_sql'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION ecpower.bgnbd_expected_purchases(double precision, double precision, double precision, double precision, double precision, double precision, double precision, double precision) IS
    'BG/NBD E[Y(t) | x, t_x, T]: expected purchases in the next t time units';

CREATE FUNCTION ecpower.bgnbd_p_alive(
    r double precision, alpha double precision, a double precision, b double precision,
    x double precision, t_x double precision, "T" double precision)
RETURNS double precision
AS 'MODULE_PATHNAME', 'bgnbd_p_alive_sql'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION ecpower.bgnbd_p_alive(double precision, double precision, double precision, double precision, double precision, double precision, double precision) IS
    'BG/NBD P(alive | x, t_x, T)';

CREATE FUNCTION ecpower.bgnbd_log_likelihood(
    r double precision, alpha double precision, a double precision, b double precision,
    x double precision, t_x double precision, "T" double precision)
RETURNS double precision
AS 'MODULE_PATHNAME', 'bgnbd_log_likelihood_sql'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION ecpower.bgnbd_log_likelihood(double precision, double precision, double precision, double precision, double precision, double precision, double precision) IS
    'BG/NBD log-likelihood of one customer''s (x, t_x, T)';

CREATE FUNCTION ecpower.gammagamma_expected_spend(
    p double precision, q double precision, v double precision,
    x double precision, mean_spend double precision)
RETURNS double precision
AS 'MODULE_PATHNAME', 'gammagamma_expected_spend_sql'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION ecpower.gammagamma_expected_spend(double precision, double precision, double precision, double precision, double precision) IS
    'Gamma-Gamma expected spend per purchase given x repeat purchases of mean mean_spend';

CREATE FUNCTION ecpower.predict_p_alive(
    model text, parameters jsonb,
    x double precision, t_x double precision, "T" double precision)
RETURNS double precision
AS 'MODULE_PATHNAME', 'predict_p_alive'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION ecpower.predict_p_alive(text, jsonb, double precision, double precision, double precision) IS
    'P(alive | x, t_x, T) under bgnbd, mbgnbd or paretonbd with parameters as in model_fits.parameters';

CREATE FUNCTION ecpower.predict_expected_purchases(
    model text, parameters jsonb, t double precision,
    x double precision, t_x double precision, "T" double precision)
RETURNS double precision
AS 'MODULE_PATHNAME', 'predict_expected_purchases'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION ecpower.predict_expected_purchases(text, jsonb, double precision, double precision, double precision, double precision) IS
    'E[Y(t) | x, t_x, T] under bgnbd, mbgnbd or paretonbd: expected purchases in the next t time units';

CREATE FUNCTION ecpower.predict_log_likelihood(
    model text, parameters jsonb,
    x double precision, t_x double precision, "T" double precision)
RETURNS double precision
AS 'MODULE_PATHNAME', 'predict_log_likelihood'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION ecpower.predict_log_likelihood(text, jsonb, double precision, double precision, double precision) IS
    'one customer''s log-likelihood of (x, t_x, T) under bgnbd, mbgnbd or paretonbd';

CREATE FUNCTION ecpower.compare_models(
    calibration_end timestamptz, holdout_end timestamptz DEFAULT pg_catalog.now(),
    unit text DEFAULT 'day', penalizer double precision DEFAULT 0,
    refit boolean DEFAULT false,
    OUT model text, OUT calibration_end timestamptz, OUT parameters jsonb,
    OUT log_likelihood double precision, OUT customers bigint,
    OUT converged boolean, OUT iterations integer,
    OUT holdout_actual bigint, OUT holdout_predicted double precision,
    OUT holdout_mae double precision, OUT holdout_log_likelihood double precision,
    OUT group_customers bigint[], OUT group_actual bigint[],
    OUT group_predicted double precision[], OUT selected boolean)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'compare_models'
LANGUAGE C STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION ecpower.compare_models(timestamptz, timestamptz, text, double precision, boolean) IS
    'fit bgnbd, mbgnbd and paretonbd up to calibration_end (NULL: a third of the history before holdout_end, at most 365 days) and score each on the holdout: purchases, mean absolute error, log-likelihood, by calibration x; the converged model of lowest error is selected; with refit, also the selected model and Gamma-Gamma fitted to all data';

CREATE FUNCTION ecpower.fit_predictions(
    as_of timestamptz DEFAULT pg_catalog.now(), unit text DEFAULT 'day',
    penalizer double precision DEFAULT 0, discount_rate double precision DEFAULT 0.01,
    model text DEFAULT 'auto')
RETURNS SETOF ecpower.model_fits
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    fit     record;
    cmp     record;
    chosen  text;
    bg_id   bigint;
    gg_id   bigint;
    first_id bigint;
    bg      jsonb;
    gg      jsonb;
BEGIN
    IF as_of IS NULL THEN
        as_of := pg_catalog.now();
    END IF;
    IF discount_rate IS NULL OR discount_rate OPERATOR(pg_catalog.<) 0
       OR discount_rate OPERATOR(pg_catalog.=) 'Infinity'::float8
       OR discount_rate OPERATOR(pg_catalog.=) 'NaN'::float8 THEN
        RAISE EXCEPTION 'discount_rate must be a finite number >= 0, not %', discount_rate
            USING ERRCODE = '22023';
    END IF;
    IF penalizer IS NULL THEN
        penalizer := 0;
    END IF;
    model := COALESCE(model, 'auto');
    IF model OPERATOR(pg_catalog.<>) ALL (ARRAY['auto', 'bgnbd', 'mbgnbd', 'paretonbd']) THEN
        RAISE EXCEPTION 'unknown prediction model "%"', model
            USING ERRCODE = '22023',
                  HINT = 'Use "auto", "bgnbd", "mbgnbd" or "paretonbd".';
    END IF;
    /* one re-score at a time (readers are not blocked) */
    LOCK TABLE ecpower.prediction_scores IN SHARE ROW EXCLUSIVE MODE;

    chosen := model;
    IF model OPERATOR(pg_catalog.=) 'auto' THEN
        /*
         * Every model on the calibration period, scored on the holdout; the
         * selected one and Gamma-Gamma refitted to all data (one scan)
         */
        FOR cmp IN SELECT * FROM ecpower.compare_models(NULL, as_of, unit, penalizer, true) LOOP
            IF cmp.calibration_end IS NOT NULL THEN
                INSERT INTO ecpower.model_fits (model, as_of, unit, parameters, penalizer,
                                                log_likelihood, customers, converged,
                                                iterations, holdout_end, holdout_mae,
                                                holdout_log_likelihood, selected)
                VALUES (cmp.model, cmp.calibration_end, fit_predictions.unit, cmp.parameters,
                        fit_predictions.penalizer, cmp.log_likelihood, cmp.customers,
                        cmp.converged, cmp.iterations, fit_predictions.as_of, cmp.holdout_mae,
                        cmp.holdout_log_likelihood, cmp.selected)
                RETURNING fit_id INTO STRICT gg_id;
                first_id := COALESCE(first_id, gg_id);
                CONTINUE;
            END IF;
            IF NOT cmp.converged THEN
                RAISE EXCEPTION 'the % fit as of % did not converge', cmp.model, as_of
                    USING ERRCODE = '22000',
                          DETAIL = pg_catalog.format('Last parameters: %s, log-likelihood %s.',
                                                     cmp.parameters, cmp.log_likelihood),
                          HINT = 'Try a small penalizer such as 0.001, or a later as_of.';
            END IF;
            INSERT INTO ecpower.model_fits (model, as_of, unit, parameters, penalizer,
                                            log_likelihood, customers, converged, iterations)
            VALUES (cmp.model, fit_predictions.as_of, fit_predictions.unit, cmp.parameters,
                    fit_predictions.penalizer, cmp.log_likelihood, cmp.customers,
                    cmp.converged, cmp.iterations)
            RETURNING fit_id INTO STRICT gg_id;
            IF cmp.model OPERATOR(pg_catalog.<>) 'gammagamma' THEN
                bg_id := gg_id;
                bg := cmp.parameters;
                chosen := cmp.model;
            ELSE
                gg := cmp.parameters;
            END IF;
        END LOOP;
    ELSE
        FOR fit IN SELECT * FROM ecpower.fit_models(as_of, unit, penalizer, true, chosen) LOOP
            IF NOT fit.converged THEN
                RAISE EXCEPTION 'the % fit as of % did not converge', fit.model, as_of
                    USING ERRCODE = '22000',
                          DETAIL = pg_catalog.format('Last parameters: %s, log-likelihood %s.',
                                                     fit.parameters, fit.log_likelihood),
                          HINT = 'Try a small penalizer such as 0.001, or a later as_of.';
            END IF;
            INSERT INTO ecpower.model_fits (model, as_of, unit, parameters, penalizer,
                                            log_likelihood, customers, converged, iterations)
            VALUES (fit.model, fit_predictions.as_of, fit_predictions.unit, fit.parameters,
                    fit_predictions.penalizer, fit.log_likelihood, fit.customers,
                    fit.converged, fit.iterations)
            RETURNING fit_id INTO STRICT gg_id;
            IF fit.model OPERATOR(pg_catalog.<>) 'gammagamma' THEN
                bg_id := gg_id;
                bg := fit.parameters;
            ELSE
                gg := fit.parameters;
            END IF;
        END LOOP;
    END IF;

    DELETE FROM ecpower.prediction_scores;
    INSERT INTO ecpower.prediction_scores
    SELECT s.customer_id, bg_id, gg_id, s.x, s.t_x, s.t, s.monetary_value, s.p_alive,
           s.expected_orders_30d, s.expected_orders_90d, s.expected_orders_365d,
           s.expected_avg_spend, s.clv_365d, s.expected_next_order_date, s.days_overdue
      FROM ecpower.score_customers(
               fit_predictions.as_of, fit_predictions.unit,
               (bg OPERATOR(pg_catalog.->>) 'r')::float8,
               (bg OPERATOR(pg_catalog.->>) 'alpha')::float8,
               COALESCE(bg OPERATOR(pg_catalog.->>) 'a', bg OPERATOR(pg_catalog.->>) 's')::float8,
               COALESCE(bg OPERATOR(pg_catalog.->>) 'b', bg OPERATOR(pg_catalog.->>) 'beta')::float8,
               (gg OPERATOR(pg_catalog.->>) 'p')::float8,
               (gg OPERATOR(pg_catalog.->>) 'q')::float8,
               (gg OPERATOR(pg_catalog.->>) 'v')::float8,
               fit_predictions.discount_rate, chosen) s;

    RETURN QUERY SELECT * FROM ecpower.model_fits f
                  WHERE f.fit_id OPERATOR(pg_catalog.>=) COALESCE(first_id, bg_id)
                  ORDER BY f.fit_id;
END
$$;
COMMENT ON FUNCTION ecpower.fit_predictions(timestamptz, text, double precision, double precision, text) IS
    'fit a repeat-purchase model (auto: the one that best predicts a holdout) and Gamma-Gamma as of a date, record the fits, re-score every customer';

CREATE FUNCTION ecpower.refresh_predictions(as_of timestamptz DEFAULT pg_catalog.now())
RETURNS boolean
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    s   ecpower.prediction_settings;
BEGIN
    SELECT * INTO s FROM ecpower.prediction_settings;
    IF NOT FOUND OR NOT s.refresh_enabled THEN
        RETURN false;
    END IF;
    /*
     * Too little data or no convergence must not stop the nightly refresh:
     * the previous scores stay, with a warning.
     */
    BEGIN
        PERFORM ecpower.fit_predictions(as_of, s.unit, s.penalizer, s.discount_rate, s.model);
    EXCEPTION WHEN SQLSTATE '22000' THEN
        RAISE WARNING 'predictions were not refreshed: %', SQLERRM
            USING HINT = 'The previous scores are kept; see ecpower.fit_models() for details.';
        RETURN false;
    END;
    RETURN true;
END
$$;
COMMENT ON FUNCTION ecpower.refresh_predictions(timestamptz) IS
    're-fit and re-score when prediction_settings.refresh_enabled (called by refresh() first); true when it ran, false with a warning when the fit failed';

CREATE FUNCTION ecpower.backtest(
    calibration_end date, holdout_end date, unit text DEFAULT 'day',
    penalizer double precision DEFAULT 0,
    OUT repeat_purchases text, OUT customers bigint, OUT actual_purchases bigint,
    OUT bgnbd numeric, OUT mbgnbd numeric, OUT paretonbd numeric)
RETURNS SETOF record
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    tz          text;
    cal_as_of   timestamptz;
    ho_as_of    timestamptz;
BEGIN
    IF calibration_end IS NULL OR holdout_end IS NULL
       OR NOT pg_catalog.isfinite(calibration_end) OR NOT pg_catalog.isfinite(holdout_end)
       OR holdout_end OPERATOR(pg_catalog.<=) calibration_end THEN
        RAISE EXCEPTION 'holdout_end (%) must be a date after calibration_end (%)',
            holdout_end, calibration_end
            USING ERRCODE = '22023',
                  HINT = 'The models are fitted up to calibration_end and scored on the days after it.';
    END IF;
    SELECT st.store_timezone INTO tz FROM ecpower.settings st;
    tz := COALESCE(tz, 'UTC');
    /* the end of each store-local day */
    cal_as_of := ((calibration_end OPERATOR(pg_catalog.+) 1)::timestamp AT TIME ZONE tz)
                 OPERATOR(pg_catalog.-) interval '1 microsecond';
    ho_as_of := ((holdout_end OPERATOR(pg_catalog.+) 1)::timestamp AT TIME ZONE tz)
                OPERATOR(pg_catalog.-) interval '1 microsecond';

    RETURN QUERY
    WITH c AS (
        SELECT * FROM ecpower.compare_models(cal_as_of, ho_as_of, unit, penalizer)
    ), g AS (
        SELECT c.model, k.i, k.n, c.group_actual[k.i] AS actual,
               c.group_predicted[k.i] AS predicted
          FROM c, LATERAL pg_catalog.unnest(c.group_customers)
                          WITH ORDINALITY AS k(n, i)
        UNION ALL
        SELECT c.model, 9, pg_catalog.sum(k.n)::bigint, c.holdout_actual, c.holdout_predicted
          FROM c, LATERAL pg_catalog.unnest(c.group_customers) AS k(n)
         GROUP BY c.model, c.holdout_actual, c.holdout_predicted
    )
    SELECT CASE WHEN g.i OPERATOR(pg_catalog.=) 9 THEN 'all'
                WHEN g.i OPERATOR(pg_catalog.=) 8 THEN '7+'
                ELSE (g.i OPERATOR(pg_catalog.-) 1)::text END,
           pg_catalog.min(g.n), pg_catalog.min(g.actual),
           pg_catalog.round(pg_catalog.min(g.predicted) FILTER
                            (WHERE g.model OPERATOR(pg_catalog.=) 'bgnbd')::numeric, 2),
           pg_catalog.round(pg_catalog.min(g.predicted) FILTER
                            (WHERE g.model OPERATOR(pg_catalog.=) 'mbgnbd')::numeric, 2),
           pg_catalog.round(pg_catalog.min(g.predicted) FILTER
                            (WHERE g.model OPERATOR(pg_catalog.=) 'paretonbd')::numeric, 2)
      FROM g
     GROUP BY g.i
     ORDER BY g.i;
END
$$;
COMMENT ON FUNCTION ecpower.backtest(date, date, text, double precision) IS
    'fit bgnbd, mbgnbd and paretonbd to orders up to calibration_end; actual and predicted repeat purchase days to holdout_end side by side, by calibration x (0..6, 7+) and overall';

CREATE FUNCTION ecpower.backtest_bgnbd(
    calibration_end date, holdout_end date, unit text DEFAULT 'day',
    penalizer double precision DEFAULT 0,
    OUT repeat_purchases text, OUT customers bigint,
    OUT actual_purchases bigint, OUT predicted_purchases numeric,
    OUT actual_mean numeric, OUT predicted_mean numeric)
RETURNS SETOF record
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    tz          text;
    cal_as_of   timestamptz;
    ho_as_of    timestamptz;
    fit         record;
    days        double precision;
    horizon     double precision;
BEGIN
    IF calibration_end IS NULL OR holdout_end IS NULL
       OR NOT pg_catalog.isfinite(calibration_end) OR NOT pg_catalog.isfinite(holdout_end)
       OR holdout_end OPERATOR(pg_catalog.<=) calibration_end THEN
        RAISE EXCEPTION 'holdout_end (%) must be a date after calibration_end (%)',
            holdout_end, calibration_end
            USING ERRCODE = '22023';
    END IF;
    IF unit IS NULL THEN
        unit := 'day';
    END IF;
    days := CASE WHEN unit OPERATOR(pg_catalog.=) 'week' THEN 7 ELSE 1 END;
    horizon := (holdout_end OPERATOR(pg_catalog.-) calibration_end) OPERATOR(pg_catalog./) days;

    SELECT st.store_timezone INTO tz FROM ecpower.settings st;
    tz := COALESCE(tz, 'UTC');
    /* the end of each store-local day */
    cal_as_of := ((calibration_end OPERATOR(pg_catalog.+) 1)::timestamp AT TIME ZONE tz)
                 OPERATOR(pg_catalog.-) interval '1 microsecond';
    ho_as_of := ((holdout_end OPERATOR(pg_catalog.+) 1)::timestamp AT TIME ZONE tz)
                OPERATOR(pg_catalog.-) interval '1 microsecond';

    SELECT * INTO STRICT fit FROM ecpower.fit_models(cal_as_of, unit, penalizer, false);
    IF NOT fit.converged THEN
        RAISE EXCEPTION 'the bgnbd fit as of % did not converge', calibration_end
            USING ERRCODE = '22000',
                  DETAIL = pg_catalog.format('Last parameters: %s.', fit.parameters),
                  HINT = 'Try a small penalizer such as 0.001.';
    END IF;
    -- a read: the fit is recorded only for a caller that may write
    -- model_fits (the refresher, the owner), so that a reader can backtest
    IF pg_catalog.has_table_privilege('ecpower.model_fits', 'INSERT') THEN
        INSERT INTO ecpower.model_fits (model, as_of, unit, parameters, penalizer,
                                        log_likelihood, customers, converged, iterations)
        VALUES (fit.model, cal_as_of, backtest_bgnbd.unit, fit.parameters,
                backtest_bgnbd.penalizer, fit.log_likelihood, fit.customers,
                fit.converged, fit.iterations);
    END IF;

    RETURN QUERY
    WITH cal AS (
        SELECT c.customer_id, c.x, c.t_x, c.t
          FROM ecpower.customer_summary(cal_as_of, backtest_bgnbd.unit) c
    ), holdout AS (
        SELECT h.customer_id, h.order_days AS n
          FROM ecpower._customer_orders(NULL, cal_as_of, ho_as_of) AS h
    ), scored AS (
        SELECT LEAST(cal.x, 7) AS grp,
               COALESCE(h.n, 0) AS actual,
               ecpower.bgnbd_expected_purchases(
                   (fit.parameters OPERATOR(pg_catalog.->>) 'r')::float8,
                   (fit.parameters OPERATOR(pg_catalog.->>) 'alpha')::float8,
                   (fit.parameters OPERATOR(pg_catalog.->>) 'a')::float8,
                   (fit.parameters OPERATOR(pg_catalog.->>) 'b')::float8,
                   horizon, cal.x, cal.t_x, cal.t) AS predicted
          FROM cal
          LEFT JOIN holdout h ON h.customer_id OPERATOR(pg_catalog.=) cal.customer_id
    )
    SELECT CASE WHEN g.grp IS NULL THEN 'all'
                WHEN g.grp OPERATOR(pg_catalog.=) 7 THEN '7+'
                ELSE g.grp::text END,
           g.n, g.actual, pg_catalog.round(g.predicted::numeric, 2),
           pg_catalog.round(g.actual::numeric OPERATOR(pg_catalog./) g.n, 3),
           pg_catalog.round((g.predicted OPERATOR(pg_catalog./) g.n)::numeric, 3)
      FROM (SELECT scored.grp, pg_catalog.count(*) AS n,
                   pg_catalog.sum(scored.actual)::bigint AS actual,
                   pg_catalog.sum(scored.predicted) AS predicted
              FROM scored
             GROUP BY ROLLUP (scored.grp)) g
     ORDER BY g.grp NULLS LAST;
END
$$;
COMMENT ON FUNCTION ecpower.backtest_bgnbd(date, date, text, double precision) IS
    'fit BG/NBD to orders up to calibration_end; predicted vs actual repeat purchase days to holdout_end, by calibration x (0..6, 7+) and overall';
