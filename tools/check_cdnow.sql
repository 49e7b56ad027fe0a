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
  FROM ecpower.fit_predictions('1997-09-30 23:59:59.999999+00', 'week');
\timing off

\echo == reproduction (target values: Fader, Hardie & Lee 2005; lifetimes for Gamma-Gamma)
CREATE TEMP TABLE repro AS
WITH f AS (
    SELECT model, parameters AS p, log_likelihood FROM ecpower.model_fits
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

\echo == top customers by 12-month CLV (as of 1997-09-30)
SELECT customer_id, x, round(t_x::numeric, 2) AS t_x, round(t::numeric, 2) AS t,
       monetary_value, round(p_alive::numeric, 3) AS p_alive,
       round(expected_orders_365d::numeric, 2) AS orders_365d,
       expected_avg_spend, clv_365d, expected_next_order_date
  FROM ecpower.customer_predictions ORDER BY clv_365d DESC, customer_id LIMIT 5;

SELECT count(*) FILTER (WHERE reproduced) AS reproduced, count(*) AS figures FROM repro \gset
\echo == CDNOW: :reproduced of :figures published figures reproduced
SELECT :reproduced = :figures AS all_reproduced \gset
\if :all_reproduced
\else
DO $$ BEGIN RAISE EXCEPTION 'some CDNOW figures were not reproduced'; END $$;
\endif
