-- Predicted customer value: summary scan, BG/NBD and Gamma-Gamma fits, scoring
\i test/fixtures/setup.sql
SET extra_float_digits = 0;
SET DateStyle = 'ISO, YMD';

-- an error's SQLSTATE and message, for readable expected output
CREATE FUNCTION pg_temp.err(sql text) RETURNS text
LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE sql;
    RETURN 'no error';
EXCEPTION WHEN OTHERS THEN
    RETURN SQLSTATE || ': ' || SQLERRM;
END $$;

-- Gamma(shape, rate) variates: Marsaglia & Tsang, with the shape < 1 boost
CREATE FUNCTION pg_temp.rgamma(shape float8, rate float8) RETURNS float8
LANGUAGE plpgsql AS $$
DECLARE
    d float8; c float8; x float8; v float8; u float8; boost float8 := 1;
BEGIN
    IF shape < 1 THEN
        boost := random() ^ (1 / shape);
        shape := shape + 1;
    END IF;
    d := shape - 1.0 / 3;
    c := 1 / sqrt(9 * d);
    LOOP
        LOOP
            -- Box-Muller normal
            x := sqrt(-2 * ln(1 - random())) * cos(2 * pi() * random());
            v := 1 + c * x;
            EXIT WHEN v > 0;
        END LOOP;
        v := v * v * v;
        u := 1 - random();
        EXIT WHEN ln(u) < 0.5 * x * x + d - d * v + d * ln(v);
    END LOOP;
    RETURN boost * d * v / rate;
END $$;

-- BG/NBD purchases (times in days) and Gamma-Gamma spend for n customers
-- whose first purchase is uniform over [0, 180) days after 2024-01-01
CREATE FUNCTION pg_temp.simulate(n int, r float8, alpha float8, a float8, b float8,
                                 p float8, q float8, v float8, horizon float8)
RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    lam float8; drop float8; nu float8; t float8; k int; oid bigint := 0;
    g1 float8; g2 float8; first_oid bigint;
BEGIN
    PERFORM setseed(0.42);
    FOR i IN 1..n LOOP
        INSERT INTO ecpower.customers (customer_id) VALUES (i);
        lam := pg_temp.rgamma(r, alpha);
        g1 := pg_temp.rgamma(a, 1); g2 := pg_temp.rgamma(b, 1);
        drop := g1 / (g1 + g2);
        nu := pg_temp.rgamma(q, v);
        t := 180 * random();
        first_oid := oid + 1;
        LOOP
            oid := oid + 1;
            INSERT INTO ecpower.orders (order_id, customer_id, ordered_at, total)
            VALUES (oid, i, timestamptz '2024-01-01 00:00+00' + t * interval '1 day',
                    round(pg_temp.rgamma(p, nu)::numeric, 2));
            -- dropout may follow a repeat purchase, not the first one
            EXIT WHEN oid > first_oid AND random() < drop;
            t := t - ln(1 - random()) / lam;
            EXIT WHEN t >= horizon;
        END LOOP;
    END LOOP;
END $$;

-- The summary as plain SQL: purchase days are store-local dates, their
-- spend the day's net; x = days - 1, mean spend over the repeat days.
CREATE FUNCTION pg_temp.oracle_summary(as_of timestamptz, unit float8)
RETURNS TABLE (customer_id bigint, x int, t_x float8, t float8,
               monetary_value numeric, first_order_date date, last_order_date date)
LANGUAGE sql AS $$
    WITH tz AS (SELECT store_timezone AS z FROM ecpower.settings),
    d AS (SELECT o.customer_id, (o.ordered_at AT TIME ZONE tz.z)::date AS day,
                 sum(o.total - o.refunded) AS net
            FROM ecpower.orders o, tz
           WHERE o.cancelled_at IS NULL AND o.ordered_at <= as_of
           GROUP BY 1, 2),
    c AS (SELECT d.customer_id, count(*) - 1 AS x, min(d.day) AS f, max(d.day) AS l,
                 sum(d.net) AS total
            FROM d GROUP BY 1)
    SELECT c.customer_id, c.x::int, (c.l - c.f) / unit,
           ((as_of AT TIME ZONE tz.z)::date - c.f) / unit,
           CASE WHEN c.x > 0 THEN round((c.total - d.net) / c.x, 2) END, c.f, c.l
      FROM c JOIN d ON d.customer_id = c.customer_id AND d.day = c.f, tz
$$;

-- 2F1(a, b; c; z) by its series in plain SQL (0 <= z < 0.9)
CREATE FUNCTION pg_temp.hyp2f1(a float8, b float8, c float8, z float8) RETURNS float8
LANGUAGE sql AS $$
    WITH RECURSIVE s(j, term) AS (
        SELECT 0, 1::float8
        UNION ALL
        SELECT j + 1, term * (a + j) * (b + j) / ((c + j) * (j + 1)) * z
          FROM s WHERE j < 2000 AND abs(term) > 1e-200
    )
    SELECT sum(term) FROM s
$$;

-- E[Y(t) | x, t_x, T] from the paper's (10), written out independently
CREATE FUNCTION pg_temp.ey(r float8, alpha float8, a float8, b float8,
                           t float8, x float8, t_x float8, tt float8) RETURNS float8
LANGUAGE sql AS $$
    SELECT (a + b + x - 1) / (a - 1)
           * (1 - ((alpha + tt) / (alpha + tt + t)) ^ (r + x)
                  * pg_temp.hyp2f1(r + x, b + x, a + b + x - 1, t / (alpha + tt + t)))
           / (1 + CASE WHEN x > 0 THEN a / (b + x - 1) * ((alpha + tt) / (alpha + t_x)) ^ (r + x) ELSE 0 END)
$$;

-- one customer's BG/NBD log-likelihood, the paper's (6); the gamma-function
-- ratios are products because x is a whole number
CREATE FUNCTION pg_temp.ll(r float8, alpha float8, a float8, b float8,
                           x int, t_x float8, tt float8) RETURNS float8
LANGUAGE sql AS $$
    SELECT COALESCE((SELECT sum(ln(r + k) + ln(b + k) - ln(a + b + k))
                       FROM generate_series(0, x - 1) k), 0)
           + r * ln(alpha)
           + ln(exp(-(r + x) * ln(alpha + tt))
                + CASE WHEN x > 0 THEN exp(ln(a) - ln(b + x - 1) - (r + x) * ln(alpha + t_x)) ELSE 0 END)
$$;

------------------------------------------------------------------------
-- Scalar formulas
------------------------------------------------------------------------

-- the paper's example (Fader, Hardie & Lee 2005, section 5): 1.226
SELECT round(ecpower.bgnbd_expected_purchases(0.243, 4.414, 0.793, 2.426,
                                              39, 2, 30.43, 38.86)::numeric, 3) AS ey_paper;

-- against the series written out in SQL: mismatches only
SELECT c.*, ecpower.bgnbd_expected_purchases(c.r, c.alpha, c.a, c.b, c.t, c.x, c.t_x, c.tt) AS got,
       pg_temp.ey(c.r, c.alpha, c.a, c.b, c.t, c.x, c.t_x, c.tt) AS want
  FROM (VALUES (0.243, 4.414, 0.793, 2.426, 39, 2, 30.43, 38.86),
               (0.243, 4.414, 0.793, 2.426, 39, 0, 0, 38.86),
               (0.243, 4.414, 0.793, 2.426, 10, 7, 30, 38.86),
               (0.5, 30, 1.5, 3, 90, 0, 0, 100),
               (0.5, 30, 1.5, 3, 90, 5, 80, 100),
               (2, 5, 3, 10, 30, 12, 200, 365),
               (0.8, 40, 0.8, 3, 365, 1, 20, 400)) c(r, alpha, a, b, t, x, t_x, tt)
 WHERE abs(ecpower.bgnbd_expected_purchases(c.r, c.alpha, c.a, c.b, c.t, c.x, c.t_x, c.tt)
           - pg_temp.ey(c.r, c.alpha, c.a, c.b, c.t, c.x, c.t_x, c.tt)) > 1e-9;

-- against values computed independently with mpmath (40 digits): thousands of
-- purchases (no overflow), tiny and large results, a < 1, a next to 1;
-- relative errors above 1e-9 only
SELECT c.* FROM (VALUES
    (0.5, 30, 0.8, 3, 365, 1000, 899, 900, 341.75381079944),
    (0.5, 30, 0.8, 3, 3650, 1000, 899, 900, 1876.09083771364),
    (0.5, 30, 0.8, 3, 365, 1000, 800, 900, 1.59569052042703e-44),
    (0.3, 2, 0.5, 1.2, 365, 0, 0, 1, 7.37516890695251),
    (1.2, 3, 1.0000000001, 2, 30, 4, 20, 40, 0.457742664692188),
    (2, 5, 3, 10, 90, 50, 200, 365, 8.7328008103594e-12)) c(r, alpha, a, b, t, x, t_x, tt, want)
 WHERE NOT abs(ecpower.bgnbd_expected_purchases(c.r, c.alpha, c.a, c.b, c.t, c.x, c.t_x, c.tt)
               / c.want::float8 - 1) < 1e-9;

-- the series cannot be summed this close to z = 1: NULL
SELECT ecpower.bgnbd_expected_purchases(0.5, 0.01, 0.8, 3, 3650, 0, 0, 0) IS NULL AS too_close_to_1;

-- a = 1 is a removable singularity: continuous across it
SELECT abs(ecpower.bgnbd_expected_purchases(1.2, 3, 1, 2, 30, 4, 20, 40)
           - ecpower.bgnbd_expected_purchases(1.2, 3, 1.001, 2, 30, 4, 20, 40)) < 1e-3 AS continuous_at_a_1,
       ecpower.bgnbd_expected_purchases(1.2, 3, 1, 2, 0, 4, 20, 40) AS zero_horizon;

-- P(alive): 1 without repeat purchases, else the closed form (13)
SELECT ecpower.bgnbd_p_alive(0.243, 4.414, 0.793, 2.426, 0, 0, 38.86) AS p_alive_x0,
       round(ecpower.bgnbd_p_alive(0.243, 4.414, 0.793, 2.426, 2, 30.43, 38.86)::numeric, 6) AS p_alive,
       round((1 / (1 + 0.793 / (2.426 + 2 - 1)
                  * ((4.414 + 38.86) / (4.414 + 30.43)) ^ (0.243 + 2)))::numeric, 6) AS closed_form;

-- one customer's log-likelihood against (6) in SQL: mismatches only
SELECT c.* FROM (VALUES (0, 0.0, 38.86), (1, 1.71, 38.86), (2, 30.43, 38.86), (9, 35.0, 36.0))
    c(x, t_x, tt)
 WHERE abs(ecpower.bgnbd_log_likelihood(0.243, 4.414, 0.793, 2.426, c.x, c.t_x, c.tt)
           - pg_temp.ll(0.243, 4.414, 0.793, 2.426, c.x, c.t_x, c.tt)) > 1e-9;

-- Gamma-Gamma expected spend: population mean v p / (q - 1) without repeat
-- purchases, then a weighted mean; NULL when q <= 1
SELECT round(ecpower.gammagamma_expected_spend(6.25, 3.74, 15.44, 0, 0)::numeric, 4) AS population,
       round((15.44 * 6.25 / 2.74)::numeric, 4) AS closed_form,
       round(ecpower.gammagamma_expected_spend(6.25, 3.74, 15.44, 2, 22.35)::numeric, 4) AS x2,
       round((2.74 / (12.5 + 2.74) * 15.44 * 6.25 / 2.74 + 12.5 / (12.5 + 2.74) * 22.35)::numeric, 4) AS closed_form_x2,
       ecpower.gammagamma_expected_spend(6.25, 0.9, 15.44, 2, 22.35) AS q_below_1;

-- bad arguments: 22023
SELECT pg_temp.err($$SELECT ecpower.bgnbd_expected_purchases(-1, 4, 0.8, 2.4, 39, 2, 30, 38)$$);
SELECT pg_temp.err($$SELECT ecpower.bgnbd_expected_purchases(0.2, 4, 0.8, 2.4, -1, 2, 30, 38)$$);
SELECT pg_temp.err($$SELECT ecpower.bgnbd_p_alive(0.2, 4, 0.8, 2.4, 1.5, 30, 38)$$);
SELECT pg_temp.err($$SELECT ecpower.bgnbd_p_alive(0.2, 4, 0.8, 2.4, 2, 40, 38)$$);
SELECT pg_temp.err($$SELECT ecpower.bgnbd_p_alive(0.2, 4, 0.8, 2.4, 2, 0, 38)$$);
SELECT pg_temp.err($$SELECT ecpower.gammagamma_expected_spend(6, 3, 'NaN', 2, 20)$$);

------------------------------------------------------------------------
-- The summary scan: store-local days, cancelled and later orders, refunds
------------------------------------------------------------------------
UPDATE ecpower.settings SET store_timezone = 'America/New_York';
INSERT INTO ecpower.customers (customer_id) SELECT generate_series(1, 6);
INSERT INTO ecpower.orders (order_id, customer_id, ordered_at, total, refunded, cancelled_at) VALUES
    -- 1: two orders on one New York day (UTC dates differ), one later day
    (1, 1, '2024-03-01 12:00+00', 10.00, 0, NULL),
    (2, 1, '2024-03-02 03:00+00', 5.00, 0, NULL),
    (3, 1, '2024-03-10 12:00+00', 20.00, 2.50, NULL),
    -- 2: a cancelled order and one after as_of do not count
    (4, 2, '2024-03-05 12:00+00', 30.00, 0, NULL),
    (5, 2, '2024-03-06 12:00+00', 30.00, 0, '2024-03-07 00:00+00'),
    (6, 2, '2024-04-01 04:00+00', 30.00, 0, NULL),
    -- 3: six distinct days (spills past the inline days), repeats on days
    (7, 3, '2024-01-01 15:00+00', 1.00, 0, NULL),
    (8, 3, '2024-01-02 15:00+00', 2.00, 0, NULL),
    (9, 3, '2024-01-03 15:00+00', 3.00, 0, NULL),
    (10, 3, '2024-01-04 15:00+00', 4.00, 0, NULL),
    (11, 3, '2024-01-05 15:00+00', 5.00, 0, NULL),
    (12, 3, '2024-01-06 15:00+00', 6.00, 0, NULL),
    (13, 3, '2024-01-06 16:00+00', 0.01, 0, NULL),
    (14, 3, '2024-01-02 16:00+00', 0.02, 0, NULL),
    (15, 3, '2024-01-05 17:00+00', 0.03, 0, NULL),
    -- 4: fully refunded repeat order (net 0); mean repeat spend 0.005 rounds up
    (16, 4, '2024-02-01 12:00+00', 10.00, 0, NULL),
    (17, 4, '2024-02-02 12:00+00', 0.01, 0, NULL),
    (18, 4, '2024-02-03 12:00+00', 10.00, 10.00, NULL),
    -- 5: only cancelled orders; 6: no orders
    (19, 5, '2024-02-01 12:00+00', 10.00, 0, '2024-02-01 13:00+00');

SELECT * FROM ecpower.customer_summary('2024-03-31 23:59:59-04', 'day') ORDER BY customer_id;
SELECT * FROM ecpower.customer_summary('2024-03-31 23:59:59-04', 'week') ORDER BY customer_id;

-- against the plain-SQL summary: mismatches only
(SELECT * FROM ecpower.customer_summary('2024-03-31 23:59:59-04', 'week')
 EXCEPT SELECT * FROM pg_temp.oracle_summary('2024-03-31 23:59:59-04', 7))
UNION ALL
(SELECT * FROM pg_temp.oracle_summary('2024-03-31 23:59:59-04', 7)
 EXCEPT SELECT * FROM ecpower.customer_summary('2024-03-31 23:59:59-04', 'week'));

-- too little history to fit: 22000; a bad unit, penalizer or as_of: 22023
SELECT pg_temp.err($$SELECT * FROM ecpower.fit_models('2024-03-31 23:59:59-04')$$);
SELECT pg_temp.err($$SELECT * FROM ecpower.fit_predictions('2024-03-31 23:59:59-04')$$);
SELECT pg_temp.err($$SELECT * FROM ecpower.customer_summary(now(), 'month')$$);
SELECT pg_temp.err($$SELECT * FROM ecpower.fit_models(now(), 'day', -0.1)$$);
SELECT pg_temp.err($$SELECT * FROM ecpower.fit_models('infinity', 'day')$$);
SELECT pg_temp.err($$SELECT * FROM ecpower.fit_predictions(now(), 'day', 0, -0.01)$$);
SELECT pg_temp.err($$SELECT * FROM ecpower.backtest_bgnbd('2024-03-31', '2024-03-01')$$);

------------------------------------------------------------------------
-- A simulated store with known parameters (days): r = 0.8, alpha = 40,
-- a = 0.8, b = 3; spend p = 6, q = 4, v = 15.  3,000 customers, first
-- purchases over 180 days from 2024-01-01, orders until day 720.
------------------------------------------------------------------------
DELETE FROM ecpower.orders;
DELETE FROM ecpower.customers;
UPDATE ecpower.settings SET store_timezone = 'UTC';
SELECT pg_temp.simulate(3000, 0.8, 40, 0.8, 3, 6, 4, 15, 720);

-- the summary agrees with plain SQL at a larger scale too
SELECT count(*) AS customers FROM ecpower.customer_summary('2024-12-31 23:59:59+00');
(SELECT * FROM ecpower.customer_summary('2024-12-31 23:59:59+00')
 EXCEPT SELECT * FROM pg_temp.oracle_summary('2024-12-31 23:59:59+00', 1))
UNION ALL
(SELECT * FROM pg_temp.oracle_summary('2024-12-31 23:59:59+00', 1)
 EXCEPT SELECT * FROM ecpower.customer_summary('2024-12-31 23:59:59+00'));

-- fit and score as of 2024-12-31
SELECT fit_id, model, as_of, unit, customers, converged
  FROM ecpower.fit_predictions('2024-12-31 23:59:59+00', model => 'bgnbd');

-- parameters recovered: |log(estimate / truth)| within tolerance
SELECT model, key, round(value::numeric, 1) AS rounded,
       abs(ln(value / truth)) < tolerance AS recovered
  FROM (SELECT f.model, e.key, e.value::float8 AS value
          FROM ecpower.model_fits f, jsonb_each_text(f.parameters) e) p
  JOIN (VALUES ('r', 0.8, 0.15), ('alpha', 40, 0.15), ('a', 0.8, 0.25), ('b', 3, 0.25),
               ('p', 6, 0.3), ('q', 4, 0.3), ('v', 15, 0.3)) t(key, truth, tolerance)
 USING (key)
 ORDER BY model, key COLLATE "C";

-- the maximum: the reported log-likelihood is (6) summed in SQL, and moving
-- any parameter by 1 % lowers it
WITH f AS (SELECT (parameters->>'r')::float8 AS r, (parameters->>'alpha')::float8 AS alpha,
                  (parameters->>'a')::float8 AS a, (parameters->>'b')::float8 AS b,
                  log_likelihood
             FROM ecpower.model_fits WHERE model = 'bgnbd'),
s AS (SELECT x, t_x, t, count(*) AS n FROM ecpower.customer_summary('2024-12-31 23:59:59+00')
       GROUP BY 1, 2, 3),
ll AS (SELECT k, sum(s.n * pg_temp.ll(f.r * m[1], f.alpha * m[2], f.a * m[3], f.b * m[4],
                                       s.x, s.t_x, s.t)) AS ll
         FROM f, s,
              (VALUES (0, '{1,1,1,1}'::float8[]), (1, '{1.01,1,1,1}'), (2, '{0.99,1,1,1}'),
                      (3, '{1,1.01,1,1}'), (4, '{1,0.99,1,1}'), (5, '{1,1,1.01,1}'),
                      (6, '{1,1,0.99,1}'), (7, '{1,1,1,1.01}'), (8, '{1,1,1,0.99}')) v(k, m)
        GROUP BY k)
SELECT abs(f.log_likelihood - (SELECT ll FROM ll WHERE k = 0)) < 1e-6 AS reported_ll_matches,
       (SELECT bool_and(ll < (SELECT ll FROM ll WHERE k = 0)) FROM ll WHERE k > 0) AS is_maximum
  FROM f;

-- every customer with a counted order is scored once
SELECT count(*) AS scored, count(DISTINCT customer_id) AS distinct_customers,
       count(*) FILTER (WHERE p_alive = 1) = count(*) FILTER (WHERE x = 0) AS p_alive_1_iff_x0,
       bool_and(p_alive > 0 AND p_alive <= 1) AS p_alive_in_range,
       bool_and(expected_orders_30d <= expected_orders_90d
                AND expected_orders_90d <= expected_orders_365d) AS horizons_ordered
  FROM ecpower.customer_predictions;

-- scores against the scalar formulas and plain SQL: mismatches only
WITH f AS (SELECT b.parameters AS bg, g.parameters AS gg
             FROM ecpower.model_fits b, ecpower.model_fits g
            WHERE b.model = 'bgnbd' AND g.model = 'gammagamma'),
p AS (SELECT c.*, (f.bg->>'r')::float8 AS r, (f.bg->>'alpha')::float8 AS alpha,
             (f.bg->>'a')::float8 AS a, (f.bg->>'b')::float8 AS b,
             (f.gg->>'p')::float8 AS gp, (f.gg->>'q')::float8 AS gq, (f.gg->>'v')::float8 AS gv
        FROM ecpower.customer_predictions c, f),
o AS (SELECT p.*,
             CASE WHEN x = 0 THEN 1
                  ELSE 1 / (1 + a / (b + x - 1) * ((alpha + t) / (alpha + t_x)) ^ (r + x)) END AS o_alive,
             ecpower.bgnbd_expected_purchases(r, alpha, a, b, 30, x, t_x, t) AS o_30,
             ecpower.bgnbd_expected_purchases(r, alpha, a, b, 90, x, t_x, t) AS o_90,
             ecpower.bgnbd_expected_purchases(r, alpha, a, b, 365, x, t_x, t) AS o_365,
             CASE WHEN x = 0 THEN gv * gp / (gq - 1)
                  ELSE (gq - 1) / (gp * x + gq - 1) * gv * gp / (gq - 1)
                       + gp * x / (gp * x + gq - 1) * monetary_value::float8 END AS o_spend,
             -- the last purchase day plus the median gap at rate Gamma(r + x, alpha + T)
             '2024-12-31'::date - (t - t_x)::int
                 + ceil((alpha + t) * (2 ^ (1 / (r + x)) - 1))::int AS o_next
        FROM p)
SELECT customer_id, x, t_x, t FROM o
 WHERE abs(p_alive - o_alive) > 1e-12
    OR abs(expected_orders_30d - o_30) > 1e-9
    OR abs(expected_orders_90d - o_90) > 1e-9
    OR abs(expected_orders_365d - o_365) > 1e-9
    OR abs(expected_avg_spend - o_spend::numeric) > 0.011   -- the SQL side uses the rounded mean
    OR expected_next_order_date <> o_next
    OR days_overdue <> '2024-12-31'::date - o_next
 ORDER BY customer_id LIMIT 5;

-- 12-month CLV: monthly (365/12 days) expected purchases times expected
-- spend, discounted at 1 % a month; mismatches only
WITH f AS (SELECT b.parameters AS bg FROM ecpower.model_fits b WHERE b.model = 'bgnbd'),
c AS (SELECT * FROM ecpower.customer_predictions WHERE customer_id % 100 = 7),
m AS (SELECT c.customer_id,
             sum((ecpower.bgnbd_expected_purchases((bg->>'r')::float8, (bg->>'alpha')::float8,
                                                   (bg->>'a')::float8, (bg->>'b')::float8,
                                                   365.0 * k / 12, c.x, c.t_x, c.t)
                  - ecpower.bgnbd_expected_purchases((bg->>'r')::float8, (bg->>'alpha')::float8,
                                                     (bg->>'a')::float8, (bg->>'b')::float8,
                                                     365.0 * (k - 1) / 12, c.x, c.t_x, c.t))
                 / 1.01 ^ k) AS orders_discounted
        FROM c, f, generate_series(1, 12) k
       GROUP BY c.customer_id)
SELECT count(*) AS checked,
       count(*) FILTER (WHERE abs(c.clv_365d::float8 - m.orders_discounted * c.expected_avg_spend::float8)
                          > 0.006 + 0.005 * m.orders_discounted) AS mismatches   -- spend is rounded to cents
  FROM c JOIN m USING (customer_id);

-- re-fitting replaces the scores; the unit changes alpha by 7, not the scores
SELECT model, customers, converged
  FROM ecpower.fit_predictions('2024-12-31 23:59:59+00', 'week', model => 'bgnbd');
SELECT count(*) AS scores,
       (SELECT round(((b.parameters->>'alpha')::float8 / (w.parameters->>'alpha')::float8)::numeric, 4)
          FROM ecpower.model_fits b, ecpower.model_fits w
         WHERE b.model = 'bgnbd' AND b.unit = 'day' AND w.model = 'bgnbd' AND w.unit = 'week') AS alpha_day_over_week,
       bool_and(unit = 'week') AS all_in_weeks
  FROM ecpower.customer_predictions;

-- the backtest: by calibration repeat purchases, its 'all' row is the sum,
-- and predictions are within 15 % of the actual holdout purchases
CREATE TEMP TABLE bt AS
SELECT * FROM ecpower.backtest_bgnbd('2024-09-30', '2025-06-30');
SELECT repeat_purchases, customers, actual_purchases FROM bt;
SELECT (SELECT sum(customers) FROM bt WHERE repeat_purchases <> 'all')
           = (SELECT customers FROM bt WHERE repeat_purchases = 'all') AS customers_add_up,
       (SELECT abs(predicted_purchases / actual_purchases - 1) < 0.15
          FROM bt WHERE repeat_purchases = 'all') AS overall_within_15pct,
       (SELECT count(*) FROM ecpower.model_fits WHERE as_of = '2024-09-30 23:59:59.999999+00') AS fit_recorded;

-- opt-in refresh of the scores
SELECT ecpower.refresh_predictions('2025-03-31 23:59:59+00') AS ran_when_disabled;
UPDATE ecpower.prediction_settings SET refresh_enabled = true, model = 'bgnbd';
SELECT ecpower.refresh_predictions('2025-03-31 23:59:59+00') AS ran_when_enabled;
SELECT DISTINCT as_of, unit FROM ecpower.customer_predictions;

------------------------------------------------------------------------
-- The segment condition {"predicted": NAME, <CMP keys>}
------------------------------------------------------------------------
SELECT fit_id, model FROM ecpower.fit_predictions('2024-12-31 23:59:59+00', model => 'bgnbd');

-- evaluate() against the view in plain SQL: mismatches only (the scores are
-- those of the last fit, whatever the as_of of the evaluation)
WITH c(def, want) AS (VALUES
    ('{"predicted": "p_alive", "lt": 0.5}'::jsonb,
     ARRAY(SELECT customer_id FROM ecpower.customer_predictions WHERE p_alive < 0.5)),
    ('{"predicted": "expected_orders_90d", "between": [0.5, 2]}',
     ARRAY(SELECT customer_id FROM ecpower.customer_predictions
            WHERE expected_orders_90d BETWEEN 0.5 AND 2)),
    ('{"predicted": "clv_365d", "gte": 100, "lt": 200}',
     ARRAY(SELECT customer_id FROM ecpower.customer_predictions
            WHERE clv_365d >= 100 AND clv_365d < 200)),
    ('{"all": [{"predicted": "p_alive", "lt": 0.6}, {"metric": "total_spent", "gte": 300}]}',
     ARRAY(SELECT p.customer_id FROM ecpower.customer_predictions p
            WHERE p.p_alive < 0.6
              AND (SELECT sum(total - refunded) FROM ecpower.orders o
                    WHERE o.customer_id = p.customer_id
                      AND o.ordered_at <= '2024-12-31 23:59:59+00') >= 300)),
    ('{"not": {"predicted": "p_alive", "gte": 0}}', '{}'::bigint[]))
SELECT c.def, cardinality(c.want) AS want_n,
       (SELECT count(*) FROM ecpower.evaluate(c.def, '2024-12-31 23:59:59+00')) AS got_n
  FROM c
 WHERE ARRAY(SELECT e FROM ecpower.evaluate(c.def, '2024-12-31 23:59:59+00') e ORDER BY 1)
       IS DISTINCT FROM ARRAY(SELECT w FROM unnest(c.want) w ORDER BY 1);

-- non-empty: the checks above compare real sets
SELECT (SELECT count(*) FROM ecpower.evaluate('{"predicted": "p_alive", "lt": 0.5}'))
           BETWEEN 1 AND 2999 AS some_likely_churned,
       (SELECT count(*) FROM ecpower.evaluate('{"predicted": "clv_365d", "gte": 100, "lt": 200}'))
           > 0 AS some_mid_value;

-- a customer without a score never matches (like a comparison with NULL)
INSERT INTO ecpower.customers (customer_id) VALUES (999999);
SELECT count(*) AS unscored_matches
  FROM ecpower.evaluate('{"any": [{"predicted": "p_alive", "gte": 0}, {"predicted": "p_alive", "lt": 0}]}') e
 WHERE e = 999999;
DELETE FROM ecpower.customers WHERE customer_id = 999999;

-- bad conditions: 22023 with the JSON path
SELECT pg_temp.err($$SELECT ecpower.validate_definition('{"predicted": "p_churn", "gt": 0.5}')$$);
SELECT pg_temp.err($$SELECT ecpower.validate_definition('{"predicted": "p_alive"}')$$);
SELECT pg_temp.err($$SELECT ecpower.validate_definition('{"all": [{"predicted": "clv_365d", "gt": 1, "orders": {}}]}')$$);
SELECT pg_temp.err($$SELECT ecpower.validate_definition('{"predicted": 3, "gt": 1}')$$);
SELECT pg_temp.err($$SELECT ecpower.validate_definition('{"predicted": "p_alive", "between": [0.9]}')$$);

-- a fit that cannot be made does not stop the refresh: the scores stay
UPDATE ecpower.prediction_settings SET refresh_enabled = true, unit = 'day';
SET client_min_messages = warning;
CALL ecpower.refresh('2024-01-01 23:59:59+00');
RESET client_min_messages;
SELECT status FROM ecpower.refresh_runs ORDER BY run_id DESC LIMIT 1;
SELECT DISTINCT as_of FROM ecpower.customer_predictions;

-- refresh() re-fits and re-scores first when the store opts in, so the
-- segment sees the run's as_of
SELECT ecpower.create_segment('slipping-valuable', 'Likely to churn, high value',
    '{"all": [{"predicted": "p_alive", "lt": 0.5}, {"predicted": "clv_365d", "gte": 20}]}') > 0 AS created;
CALL ecpower.refresh('2025-06-30 23:59:59+00');
SELECT DISTINCT as_of FROM ecpower.customer_predictions;
(SELECT * FROM ecpower.segment_members('slipping-valuable')
 EXCEPT SELECT customer_id FROM ecpower.customer_predictions WHERE p_alive < 0.5 AND clv_365d >= 20)
UNION ALL
(SELECT customer_id FROM ecpower.customer_predictions WHERE p_alive < 0.5 AND clv_365d >= 20
 EXCEPT SELECT * FROM ecpower.segment_members('slipping-valuable'));
SELECT count(*) > 0 AS members FROM ecpower.segment_members('slipping-valuable');
