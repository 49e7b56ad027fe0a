-- Predicted customer value: objects, scalar formulas, errors, and a fit and
-- score of the demo store end to end
BEGIN;
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS ecpower;
RESET client_min_messages;
SET TimeZone = 'UTC';
SELECT plan(51);

-- objects
SELECT has_table('ecpower', t, 'table ecpower.' || t)
  FROM unnest(ARRAY['model_fits', 'prediction_settings', 'prediction_scores']) AS t;
SELECT has_view('ecpower', 'customer_predictions', 'view ecpower.customer_predictions');
SELECT columns_are('ecpower', 'customer_predictions',
    ARRAY['customer_id', 'x', 't_x', 't', 'monetary_value', 'p_alive',
          'expected_orders_30d', 'expected_orders_90d', 'expected_orders_365d',
          'expected_avg_spend', 'clv_365d', 'expected_next_order_date', 'days_overdue',
          'model', 'as_of', 'unit', 'fit_id', 'gammagamma_fit_id'],
    'customer_predictions columns');
SELECT columns_are('ecpower', 'model_fits',
    ARRAY['fit_id', 'model', 'as_of', 'unit', 'parameters', 'penalizer',
          'log_likelihood', 'customers', 'converged', 'iterations', 'fitted_at',
          'holdout_end', 'holdout_mae', 'holdout_log_likelihood', 'selected'],
    'model_fits columns');
SELECT has_function('ecpower', f, 'function ecpower.' || f)
  FROM unnest(ARRAY['customer_summary', 'fit_models', 'score_customers', 'fit_predictions',
                    'refresh_predictions', 'backtest_bgnbd', 'bgnbd_expected_purchases',
                    'bgnbd_p_alive', 'bgnbd_log_likelihood', 'gammagamma_expected_spend',
                    'compare_models', 'backtest', 'predict_p_alive',
                    'predict_expected_purchases', 'predict_log_likelihood']) AS f;
SELECT col_default_is('ecpower', 'prediction_settings', 'refresh_enabled', 'false',
                      'predictions are not refreshed unless the store opts in');

-- scalar formulas against values computed by hand
SELECT is(round(ecpower.bgnbd_expected_purchases(0.243, 4.414, 0.793, 2.426,
                                                 39, 2, 30.43, 38.86)::numeric, 3),
          1.226, 'E[Y(39) | 2, 30.43, 38.86] of the BG/NBD paper');
SELECT is(ecpower.bgnbd_p_alive(0.243, 4.414, 0.793, 2.426, 0, 0, 38.86), 1::float8,
          'P(alive) = 1 without repeat purchases');
SELECT is(round(ecpower.bgnbd_p_alive(0.243, 4.414, 0.793, 2.426, 2, 30.43, 38.86)::numeric, 6),
          round((1 / (1 + 0.793 / 3.426 * (43.274 / 34.844) ^ 2.243))::numeric, 6),
          'P(alive) closed form');
SELECT is(ecpower.bgnbd_expected_purchases(0.243, 4.414, 0.793, 2.426, 0, 2, 30.43, 38.86),
          0::float8, 'no purchases in a zero horizon');
-- x = 0, T = 0: E[X(t)] = (a+b-1)/(a-1) (1 - (alpha/(alpha+t))^r 2F1(r, b; a+b-1; z)),
-- z = t/(alpha+t); with r = 1, a = 2, b = 1: 2F1(1, 1; 2; z) = -ln(1-z)/z
SELECT is(round(ecpower.bgnbd_expected_purchases(1, 10, 2, 1, 10, 0, 0, 0)::numeric, 10),
          round((2.0 / 1 * (1 - (10.0 / 20) * (-ln(1 - 0.5) / 0.5)))::numeric, 10),
          'E[X(t)] closed form for r = 1, a = 2, b = 1');
SELECT is(round(ecpower.bgnbd_log_likelihood(0.243, 4.414, 0.793, 2.426, 0, 0, 38.86)::numeric, 10),
          round((0.243 * ln(4.414) - 0.243 * ln(4.414 + 38.86))::numeric, 10),
          'log-likelihood of a customer without repeat purchases: r log(alpha/(alpha+T))');
SELECT is(round(ecpower.gammagamma_expected_spend(6.25, 3.74, 15.44, 0, 0)::numeric, 6),
          round((15.44 * 6.25 / 2.74)::numeric, 6), 'Gamma-Gamma population mean');
SELECT ok(ecpower.gammagamma_expected_spend(6.25, 1, 15.44, 3, 20) IS NULL,
          'no expected spend when q <= 1');

-- errors
SELECT throws_ok($$SELECT * FROM ecpower.customer_summary(now(), 'hour')$$, '22023',
                 'unknown time unit "hour"', 'bad unit');
SELECT throws_ok($$SELECT ecpower.bgnbd_p_alive(0.2, 0, 0.8, 2.4, 1, 3, 8)$$, '22023',
                 NULL, 'alpha must be positive');
SELECT throws_ok($$SELECT ecpower.bgnbd_expected_purchases(0.2, 4, 0.8, 2.4, 39, 2, 9, 8)$$,
                 '22023', NULL, 't_x after T');
SELECT throws_ok($$SELECT * FROM ecpower.fit_models('2020-01-01')$$, '22000', NULL,
                 'an empty store is too thin to fit');
SELECT throws_ok($$SELECT * FROM ecpower.backtest_bgnbd('2025-01-01', '2024-01-01')$$,
                 '22023', NULL, 'holdout before calibration');
SELECT throws_ok($$SELECT * FROM ecpower.fit_predictions(now(), 'day', 0, 'NaN')$$,
                 '22023', NULL, 'bad discount rate');
SELECT throws_ok($$UPDATE ecpower.prediction_settings SET unit = 'month'$$, '23514', NULL,
                 'prediction_settings.unit is day or week');

-- the demo store, end to end
SELECT lives_ok($$SELECT ecpower.generate_demo_store(1500, 7)$$, 'demo store');
SELECT is((SELECT count(*) FROM ecpower.fit_predictions('2025-06-30', model => 'bgnbd')), 2::bigint,
          'fit_predictions of one model records two fits');
SELECT ok((SELECT bool_and(converged) FROM ecpower.model_fits), 'both fits converged');
SELECT is((SELECT count(*) FROM ecpower.customer_predictions),
          (SELECT count(DISTINCT customer_id) FROM ecpower.orders
            WHERE cancelled_at IS NULL AND ordered_at <= '2025-06-30'),
          'every customer with a counted order is scored');
SELECT ok((SELECT bool_and(p_alive > 0 AND p_alive <= 1) FROM ecpower.customer_predictions),
          'P(alive) in (0, 1]');
SELECT ok((SELECT bool_and(clv_365d >= 0 AND expected_avg_spend > 0
                           AND days_overdue = '2025-06-30'::date - expected_next_order_date)
             FROM ecpower.customer_predictions),
          'CLV, spend and days overdue are plausible');
SELECT is((SELECT count(*) FROM ecpower.customer_predictions
            WHERE (x = 0) <> (p_alive = 1)), 0::bigint, 'P(alive) = 1 exactly when x = 0');

-- refresh only when the store opts in; a restore's INSERT updates the one row
SELECT is(ecpower.refresh_predictions('2025-09-30'), false, 'refresh off by default');
INSERT INTO ecpower.prediction_settings (refresh_enabled, unit, model) VALUES (true, 'week', 'bgnbd');
SELECT is((SELECT count(*) FROM ecpower.prediction_settings), 1::bigint,
          'prediction_settings keeps one row');
SELECT is(ecpower.refresh_predictions('2025-09-30'), true, 'refresh when enabled');
SELECT is((SELECT DISTINCT unit FROM ecpower.customer_predictions), 'week',
          'refresh used the settings');
SELECT is((SELECT count(*) FROM ecpower.model_fits), 4::bigint, 'every fit is kept');

-- the automatic choice: three comparison fits, one selected, scores from it
SELECT is((SELECT count(*) FILTER (WHERE holdout_end IS NOT NULL)
             FROM ecpower.fit_predictions('2025-06-30', model => 'auto')), 3::bigint,
          'auto records the comparison of the three models');
SELECT is((SELECT model FROM ecpower.model_fits WHERE selected),
          (SELECT DISTINCT model FROM ecpower.customer_predictions),
          'auto scores with the model it selected');

SELECT * FROM finish();
ROLLBACK;
