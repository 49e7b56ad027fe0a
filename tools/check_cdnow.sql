-- CDNOW reproduction (run by tools/check_cdnow.sh; the data is not part of
-- the project).  Expects :sample to name CDNOW_sample.txt.
\set ON_ERROR_STOP 1
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS ecpower CASCADE;
CREATE EXTENSION ecpower;
RESET client_min_messages;
SET TimeZone = 'UTC';
UPDATE ecpower.settings SET store_timezone = 'UTC';

CREATE TEMP TABLE cdnow_raw (line text);
COPY cdnow_raw FROM :'sample';
CREATE TEMP TABLE cdnow AS
SELECT row_number() OVER () AS order_id, f[2]::bigint AS sample_id,
       pg_catalog.to_date(f[3], 'YYYYMMDD') AS day, f[4]::int AS cds, f[5]::numeric AS dollars
  FROM (SELECT regexp_split_to_array(btrim(line), '\s+') AS f FROM cdnow_raw) s;

INSERT INTO ecpower.customers (customer_id) SELECT DISTINCT sample_id FROM cdnow;
INSERT INTO ecpower.orders (order_id, customer_id, ordered_at, total)
SELECT order_id, sample_id, day::timestamp AT TIME ZONE 'UTC', dollars FROM cdnow;

\echo
\echo == CDNOW sample: customers, orders
SELECT count(DISTINCT customer_id) AS customers, count(*) AS orders FROM ecpower.orders;

\echo == fit with calibration to 1997-09-30, in weeks
\timing on
SELECT fit_id, model, parameters, round(log_likelihood::numeric, 2) AS log_likelihood,
       customers, converged, iterations
  FROM ecpower.fit_predictions('1997-09-30 23:59:59.999999+00', 'week', model => 'bgnbd');
CREATE TEMP TABLE other_fits AS
SELECT f.* FROM unnest(ARRAY['mbgnbd', 'paretonbd']) m,
       LATERAL ecpower.fit_models('1997-09-30 23:59:59.999999+00', 'week', 0, false, m) f;
\timing off
SELECT model, parameters, round(log_likelihood::numeric, 2) AS log_likelihood,
       customers, converged, iterations
  FROM other_fits ORDER BY model;

\echo == reproduction (targets: Fader, Hardie & Lee 2005 for BG/NBD and Pareto/NBD;
\echo == lifetimes for Gamma-Gamma; BTYDplus for MBG/NBD)
CREATE TEMP TABLE repro AS
WITH f AS (
    SELECT model, parameters AS p, log_likelihood FROM ecpower.model_fits
    UNION ALL
    SELECT model, parameters, log_likelihood FROM other_fits
), e AS (
    SELECT ecpower.bgnbd_expected_purchases(
               (p->>'r')::float8, (p->>'alpha')::float8, (p->>'a')::float8,
               (p->>'b')::float8, 39, 2, 30.43, 38.86) AS ey
      FROM f WHERE model = 'bgnbd'
)
SELECT o, figure, target, round(value::numeric, 4) AS value,
       round(value::numeric, decimals) = target AS reproduced
  FROM (
    SELECT 'r' AS figure, 0.243 AS target, (p->>'r')::float8 AS value, 3 AS decimals, 1 AS o FROM f WHERE model = 'bgnbd'
    UNION ALL SELECT 'alpha', 4.414, (p->>'alpha')::float8, 3, 2 FROM f WHERE model = 'bgnbd'
    UNION ALL SELECT 'a', 0.793, (p->>'a')::float8, 3, 3 FROM f WHERE model = 'bgnbd'
    UNION ALL SELECT 'b', 2.426, (p->>'b')::float8, 3, 4 FROM f WHERE model = 'bgnbd'
    UNION ALL SELECT 'log-likelihood', -9582.4, log_likelihood, 1, 5 FROM f WHERE model = 'bgnbd'
    UNION ALL SELECT 'p', 6.25, (p->>'p')::float8, 2, 6 FROM f WHERE model = 'gammagamma'
    UNION ALL SELECT 'q', 3.74, (p->>'q')::float8, 2, 7 FROM f WHERE model = 'gammagamma'
    UNION ALL SELECT 'v', 15.44, (p->>'v')::float8, 2, 8 FROM f WHERE model = 'gammagamma'
    UNION ALL SELECT 'E[Y(39) | 2, 30.43, 38.86]', 1.226, ey, 3, 9 FROM e
    UNION ALL SELECT 'MBG/NBD r', 0.525, (p->>'r')::float8, 3, 10 FROM f WHERE model = 'mbgnbd'
    UNION ALL SELECT 'MBG/NBD alpha', 6.183, (p->>'alpha')::float8, 3, 11 FROM f WHERE model = 'mbgnbd'
    UNION ALL SELECT 'MBG/NBD a', 0.891, (p->>'a')::float8, 3, 12 FROM f WHERE model = 'mbgnbd'
    UNION ALL SELECT 'MBG/NBD b', 1.614, (p->>'b')::float8, 3, 13 FROM f WHERE model = 'mbgnbd'
    UNION ALL SELECT 'Pareto/NBD r', 0.553, (p->>'r')::float8, 3, 14 FROM f WHERE model = 'paretonbd'
    UNION ALL SELECT 'Pareto/NBD alpha', 10.578, (p->>'alpha')::float8, 3, 15 FROM f WHERE model = 'paretonbd'
    UNION ALL SELECT 'Pareto/NBD s', 0.606, (p->>'s')::float8, 3, 16 FROM f WHERE model = 'paretonbd'
    UNION ALL SELECT 'Pareto/NBD beta', 11.669, (p->>'beta')::float8, 3, 17 FROM f WHERE model = 'paretonbd'
    UNION ALL SELECT 'Pareto/NBD log-likelihood', -9595.0, log_likelihood, 1, 18 FROM f WHERE model = 'paretonbd'
  ) t;
SELECT figure, target, value, reproduced FROM repro ORDER BY o;


\echo == summary compared with lifetimes cdnow_customers_summary_with_transactions.csv (customers that differ)
\if :{?summary}
CREATE TEMP TABLE lt (id bigint, x int, t_x float8, t float8, zbar numeric);
COPY lt FROM :'summary' WITH (FORMAT csv, HEADER true);
SELECT count(*) AS customers_compared,
       count(*) FILTER (WHERE s.x <> lt.x OR abs(s.t_x - lt.t_x) > 0.0051
                        OR abs(s.t - lt.t) > 0.0051
                        OR abs(COALESCE(s.monetary_value, 0) - lt.zbar) > 0.0051) AS differing
  FROM ecpower.customer_summary('1997-09-30 23:59:59.999999+00', 'week') s
  JOIN lt ON lt.id = s.customer_id;
\endif

\echo == backtest: calibration to 1997-09-30, holdout to 1998-06-30 (39 weeks), in weeks
SELECT * FROM ecpower.backtest_bgnbd('1997-09-30', '1998-06-30', 'week');

\echo == the three models side by side (predicted holdout purchase days by calibration x)
SELECT * FROM ecpower.backtest('1997-09-30', '1998-06-30', 'week');
\echo == holdout scores of the three models
SELECT model, holdout_actual, round(holdout_predicted::numeric, 1) AS predicted,
       round(holdout_mae::numeric, 4) AS mae, round(holdout_log_likelihood::numeric, 1) AS holdout_ll
  FROM ecpower.compare_models('1997-09-30 23:59:59.999999+00', '1998-06-30 23:59:59.999999+00', 'week')
 ORDER BY model;

\echo == top customers by 12-month CLV (as of 1997-09-30)
SELECT customer_id, x, round(t_x::numeric, 2) AS t_x, round(t::numeric, 2) AS t,
       monetary_value, round(p_alive::numeric, 3) AS p_alive,
       round(expected_orders_365d::numeric, 2) AS orders_365d,
       expected_avg_spend, clv_365d, expected_next_order_date
  FROM ecpower.customer_predictions ORDER BY clv_365d DESC, customer_id LIMIT 5;

\echo == model => 'auto' as of 1998-06-30: calibration to a third of the history before,
\echo == each model scored on the holdout, the lowest mean absolute error chosen
\timing on
CREATE TEMP TABLE auto_fits AS
SELECT * FROM ecpower.fit_predictions('1998-06-30 23:59:59.999999+00', 'week');
\timing off
SELECT model, as_of::date AS calibration_end, holdout_end::date, round(holdout_mae::numeric, 4) AS mae,
       round(holdout_log_likelihood::numeric, 1) AS holdout_ll, selected
  FROM auto_fits WHERE holdout_end IS NOT NULL ORDER BY fit_id;
SELECT model, count(*) AS customers, count(*) FILTER (WHERE x = 0) AS one_time_buyers,
       count(*) FILTER (WHERE x = 0 AND p_alive < 0.3) AS one_time_p_alive_below_0_3
  FROM ecpower.customer_predictions GROUP BY model;

SELECT count(*) FILTER (WHERE reproduced) AS reproduced, count(*) AS figures FROM repro \gset
\echo == CDNOW: :reproduced of :figures published figures reproduced
SELECT :reproduced = :figures AS all_reproduced \gset
\if :all_reproduced
\else
DO $$ BEGIN RAISE EXCEPTION 'some CDNOW figures were not reproduced'; END $$;
\endif
