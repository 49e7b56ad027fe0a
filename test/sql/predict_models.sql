-- Prediction models MBG/NBD and Pareto/NBD, the holdout comparison that
-- chooses between them (compare_models, backtest, fit_predictions with
-- model => 'auto'), days_overdue and the prediction templates
\i test/fixtures/setup.sql
SET extra_float_digits = 0;
SET DateStyle = 'ISO, YMD';

-- an error's SQLSTATE, message and hint, for readable expected output
CREATE FUNCTION pg_temp.err(sql text) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    hint text;
BEGIN
    EXECUTE sql;
    RETURN 'no error';
EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS hint = PG_EXCEPTION_HINT;
    RETURN SQLSTATE || ': ' || SQLERRM || COALESCE(' (hint: ' || NULLIF(hint, '') || ')', '');
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

-- n customers (ids from first_id) whose first purchase is uniform over
-- [0, 180) days after 2024-01-01, buying at rate lambda ~ Gamma(r, alpha)
-- per day until they drop out or day `horizon`; spend ~ Gamma(6, 0.3).
--   model 'mbgnbd':    after every purchase, the first included, dropout
--                      with probability p ~ Beta(a, b)
--   model 'paretonbd': an exponential lifetime of rate mu ~ Gamma(a, b)
CREATE FUNCTION pg_temp.simulate(model text, first_id bigint, n int, r float8,
                                 alpha float8, a float8, b float8, horizon float8,
                                 seed float8)
RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    lam float8; drop float8; death float8; t float8; oid bigint;
    g1 float8; g2 float8;
BEGIN
    PERFORM setseed(seed);
    SELECT COALESCE(max(order_id), 0) INTO oid FROM ecpower.orders;
    FOR i IN first_id .. first_id + n - 1 LOOP
        INSERT INTO ecpower.customers (customer_id) VALUES (i);
        lam := pg_temp.rgamma(r, alpha);
        IF model = 'mbgnbd' THEN
            g1 := pg_temp.rgamma(a, 1); g2 := pg_temp.rgamma(b, 1);
            drop := g1 / (g1 + g2);
            death := 'Infinity';
        ELSE
            drop := 0;
            death := -ln(1 - random()) / pg_temp.rgamma(a, b);
        END IF;
        t := 180 * random();
        death := death + t;
        LOOP
            oid := oid + 1;
            INSERT INTO ecpower.orders (order_id, customer_id, ordered_at, total)
            VALUES (oid, i, timestamptz '2024-01-01 00:00+00' + t * interval '1 day',
                    round(pg_temp.rgamma(6, 0.3)::numeric, 2));
            EXIT WHEN random() < drop;
            t := t - ln(1 - random()) / lam;
            EXIT WHEN t >= horizon OR t >= death;
        END LOOP;
    END LOOP;
END $$;

-- 2F1(a, b; c; z) by its series in plain SQL (|z| < 0.9)
CREATE FUNCTION pg_temp.hyp2f1(a float8, b float8, c float8, z float8) RETURNS float8
LANGUAGE sql AS $$
    WITH RECURSIVE s(j, term) AS (
        SELECT 0, 1::float8
        UNION ALL
        SELECT j + 1, term * (a + j) * (b + j) / ((c + j) * (j + 1)) * z
          FROM s WHERE j < 3000 AND abs(term) > 1e-300
    )
    SELECT sum(term) FROM s
$$;

-- Pareto/NBD A0 (Fader, Hardie & Lee 2005, MATLAB note) in plain SQL,
-- with the alpha >= beta form when use_alpha, else the alpha < beta form
-- (both converge when |alpha - beta| < min(alpha, beta) + t_x)
CREATE FUNCTION pg_temp.a0(r float8, alpha float8, s float8, beta float8,
                           x float8, t_x float8, tt float8, use_alpha boolean) RETURNS float8
LANGUAGE sql AS $$
    SELECT CASE WHEN use_alpha THEN
        pg_temp.hyp2f1(r + s + x, s + 1, r + s + x + 1, (alpha - beta) / (alpha + t_x))
            / (alpha + t_x) ^ (r + s + x)
        - pg_temp.hyp2f1(r + s + x, s + 1, r + s + x + 1, (alpha - beta) / (alpha + tt))
            / (alpha + tt) ^ (r + s + x)
    ELSE
        pg_temp.hyp2f1(r + s + x, r + x, r + s + x + 1, (beta - alpha) / (beta + t_x))
            / (beta + t_x) ^ (r + s + x)
        - pg_temp.hyp2f1(r + s + x, r + x, r + s + x + 1, (beta - alpha) / (beta + tt))
            / (beta + tt) ^ (r + s + x)
    END
$$;

-- Pareto/NBD log-likelihood, P(alive) and E[Y(t)] written out in SQL
-- (x a whole number: Gamma(r + x) / Gamma(r) is a product)
CREATE FUNCTION pg_temp.pn_ll(r float8, alpha float8, s float8, beta float8,
                              x int, t_x float8, tt float8, use_alpha boolean) RETURNS float8
LANGUAGE sql AS $$
    SELECT COALESCE((SELECT sum(ln(r + k)) FROM generate_series(0, x - 1) k), 0)
           + r * ln(alpha) + s * ln(beta)
           + ln(1 / ((alpha + tt) ^ (r + x) * (beta + tt) ^ s)
                + s / (r + s + x) * pg_temp.a0(r, alpha, s, beta, x, t_x, tt, use_alpha))
$$;
CREATE FUNCTION pg_temp.pn_alive(r float8, alpha float8, s float8, beta float8,
                                 x int, t_x float8, tt float8) RETURNS float8
LANGUAGE sql AS $$
    SELECT 1 / (1 + s / (r + s + x) * (alpha + tt) ^ (r + x) * (beta + tt) ^ s
                    * pg_temp.a0(r, alpha, s, beta, x, t_x, tt, alpha >= beta))
$$;
CREATE FUNCTION pg_temp.pn_ey(r float8, alpha float8, s float8, beta float8,
                              t float8, x int, t_x float8, tt float8) RETURNS float8
LANGUAGE sql AS $$
    SELECT pg_temp.pn_alive(r, alpha, s, beta, x, t_x, tt)
           * (r + x) * (beta + tt) / ((alpha + tt) * (s - 1))
           * (1 - ((beta + tt) / (beta + tt + t)) ^ (s - 1))
$$;

-- MBG/NBD log-likelihood, P(alive) and E[Y(t)] (Batislam et al. 2007)
CREATE FUNCTION pg_temp.mbg_ll(r float8, alpha float8, a float8, b float8,
                               x int, t_x float8, tt float8) RETURNS float8
LANGUAGE sql AS $$
    SELECT COALESCE((SELECT sum(ln(r + k) + ln(b + 1 + k) - ln(a + b + 1 + k))
                       FROM generate_series(0, x - 1) k), 0)
           + ln(b / (a + b)) + r * ln(alpha)
           + ln(exp(-(r + x) * ln(alpha + tt)) + a / (b + x) * exp(-(r + x) * ln(alpha + t_x)))
$$;
CREATE FUNCTION pg_temp.mbg_alive(r float8, alpha float8, a float8, b float8,
                                  x int, t_x float8, tt float8) RETURNS float8
LANGUAGE sql AS $$
    SELECT 1 / (1 + a / (b + x) * ((alpha + tt) / (alpha + t_x)) ^ (r + x))
$$;
CREATE FUNCTION pg_temp.mbg_ey(r float8, alpha float8, a float8, b float8,
                               t float8, x int, t_x float8, tt float8) RETURNS float8
LANGUAGE sql AS $$
    SELECT pg_temp.mbg_alive(r, alpha, a, b, x, t_x, tt)
           * (a + b + x) / (a - 1)
           * (1 - ((alpha + tt) / (alpha + tt + t)) ^ (r + x)
                  * pg_temp.hyp2f1(r + x, b + x + 1, a + b + x, t / (alpha + tt + t)))
$$;

------------------------------------------------------------------------
-- Scalar formulas against the SQL versions: mismatches only
------------------------------------------------------------------------
CREATE TEMP TABLE cases (x int, t_x float8, tt float8);
INSERT INTO cases VALUES (0, 0, 38.86), (1, 1.71, 38.86), (2, 30.43, 38.86), (9, 35, 36),
                         (0, 0, 5), (4, 12, 70), (30, 60, 61);

SELECT 'mbgnbd' AS model, c.*
  FROM cases c,
       (VALUES (0.525, 6.183, 0.891, 1.614), (0.8, 40, 1.5, 3)) p(r, alpha, a, b)
 WHERE abs(ecpower.predict_log_likelihood('mbgnbd', jsonb_build_object('r', r, 'alpha', alpha, 'a', a, 'b', b), c.x, c.t_x, c.tt)
           - pg_temp.mbg_ll(r, alpha, a, b, c.x, c.t_x, c.tt)) > 1e-9
    OR abs(ecpower.predict_p_alive('mbgnbd', jsonb_build_object('r', r, 'alpha', alpha, 'a', a, 'b', b), c.x, c.t_x, c.tt)
           - pg_temp.mbg_alive(r, alpha, a, b, c.x, c.t_x, c.tt)) > 1e-12
    OR abs(ecpower.predict_expected_purchases('mbgnbd', jsonb_build_object('r', r, 'alpha', alpha, 'a', a, 'b', b), 39, c.x, c.t_x, c.tt)
           - pg_temp.mbg_ey(r, alpha, a, b, 39, c.x, c.t_x, c.tt)) > 1e-9;

-- Pareto/NBD, alpha < beta and alpha > beta; the log-likelihood also
-- against the other branch of A0 (both converge here)
SELECT 'paretonbd' AS model, p.*, c.*
  FROM cases c,
       (VALUES (0.553, 10.578, 0.606, 11.669), (0.8, 30, 1.4, 20)) p(r, alpha, s, beta)
 WHERE abs(ecpower.predict_log_likelihood('paretonbd', jsonb_build_object('r', r, 'alpha', alpha, 's', s, 'beta', beta), c.x, c.t_x, c.tt)
           - pg_temp.pn_ll(r, alpha, s, beta, c.x, c.t_x, c.tt, true)) > 1e-9
    OR abs(ecpower.predict_log_likelihood('paretonbd', jsonb_build_object('r', r, 'alpha', alpha, 's', s, 'beta', beta), c.x, c.t_x, c.tt)
           - pg_temp.pn_ll(r, alpha, s, beta, c.x, c.t_x, c.tt, false)) > 1e-9
    OR abs(ecpower.predict_p_alive('paretonbd', jsonb_build_object('r', r, 'alpha', alpha, 's', s, 'beta', beta), c.x, c.t_x, c.tt)
           - pg_temp.pn_alive(r, alpha, s, beta, c.x, c.t_x, c.tt)) > 1e-9
    OR abs(ecpower.predict_expected_purchases('paretonbd', jsonb_build_object('r', r, 'alpha', alpha, 's', s, 'beta', beta), 39, c.x, c.t_x, c.tt)
           - pg_temp.pn_ey(r, alpha, s, beta, 39, c.x, c.t_x, c.tt)) > 1e-9;

-- bgnbd through the generic functions equals the BG/NBD ones
SELECT c.* FROM cases c
 WHERE ecpower.predict_expected_purchases('bgnbd', '{"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}', 39, c.x, c.t_x, c.tt)
       IS DISTINCT FROM ecpower.bgnbd_expected_purchases(0.243, 4.414, 0.793, 2.426, 39, c.x, c.t_x, c.tt)
    OR ecpower.predict_p_alive('bgnbd', '{"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}', c.x, c.t_x, c.tt)
       IS DISTINCT FROM ecpower.bgnbd_p_alive(0.243, 4.414, 0.793, 2.426, c.x, c.t_x, c.tt);

-- one-time buyers: P(alive) is 1 under BG/NBD, below 1 and falling with
-- silence under MBG/NBD and Pareto/NBD
SELECT m.model,
       round(ecpower.predict_p_alive(m.model, m.p, 0, 0, 10)::numeric, 4) AS after_10_weeks,
       round(ecpower.predict_p_alive(m.model, m.p, 0, 0, 50)::numeric, 4) AS after_50_weeks
  FROM (VALUES ('bgnbd', '{"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}'::jsonb),
               ('mbgnbd', '{"r": 0.525, "alpha": 6.183, "a": 0.891, "b": 1.614}'),
               ('paretonbd', '{"r": 0.553, "alpha": 10.578, "s": 0.606, "beta": 11.669}')) m(model, p)
 ORDER BY 1;

-- the overflow case of lifetimes' tests: hundreds of purchases in a few
-- time units.  The log-likelihood against values computed with mpmath (50
-- digits), and log A0 recovered from it: finite and negative, as mpmath's
WITH c(x, t_x, tt, ll_want, log_a0_want) AS (VALUES
    (400, 5, 6, 1323.18893096782, -667.991281270662),
    (500, 1, 37, 2594.40445462276, -9.47658832048942),
    (500, 4, 37, 1888.82124973894, -715.059793204305)),
p(r, alpha, s, beta) AS (VALUES (10.465::float8, 7.98565181e-03::float8, 3.0516::float8, 2.820::float8)),
l AS (SELECT c.*, ecpower.predict_log_likelihood('paretonbd',
                      jsonb_build_object('r', r, 'alpha', alpha, 's', s, 'beta', beta),
                      c.x, c.t_x, c.tt) AS ll,
             (SELECT sum(ln(r + k)) FROM generate_series(0, c.x - 1) k)
                 + r * ln(alpha) + s * ln(beta) AS a1,
             -(r + c.x) * ln(alpha + c.tt) - s * ln(beta + c.tt) AS first,
             ln(s / (r + s + c.x)) AS ls
        FROM c, p),
-- log A0 = log(bracket - first term) - log(s / (r + s + x))
a AS (SELECT l.*, ll - a1
                  + CASE WHEN first - (ll - a1) < -700 THEN 0
                         ELSE ln(1 - exp(first - (ll - a1))) END - ls AS log_a0
        FROM l)
SELECT x, t_x, tt, abs(ll / ll_want - 1) < 1e-9 AS ll_matches,
       round(log_a0::numeric, 6) AS log_a0, abs(log_a0 - log_a0_want) < 1e-6 AS log_a0_matches
  FROM a ORDER BY x, t_x;

-- s = 1 is a removable singularity of the Pareto/NBD E[Y(t)]: continuous
SELECT abs(ecpower.predict_expected_purchases('paretonbd', '{"r": 0.8, "alpha": 30, "s": 1, "beta": 20}', 39, 4, 12, 70)
           - ecpower.predict_expected_purchases('paretonbd', '{"r": 0.8, "alpha": 30, "s": 1.000001, "beta": 20}', 39, 4, 12, 70))
       < 1e-5 AS continuous_at_s_1;

-- bad arguments: 22023
SELECT pg_temp.err($$SELECT ecpower.predict_p_alive('nbd', '{"r": 1, "alpha": 1, "a": 1, "b": 1}', 1, 1, 2)$$);
SELECT pg_temp.err($$SELECT ecpower.predict_p_alive('paretonbd', '{"r": 1, "alpha": 1, "a": 1, "b": 1}', 1, 1, 2)$$);
SELECT pg_temp.err($$SELECT ecpower.predict_p_alive('mbgnbd', '{"r": 1, "alpha": 0, "a": 1, "b": 1}', 1, 1, 2)$$);
SELECT pg_temp.err($$SELECT ecpower.predict_p_alive('mbgnbd', '{"r": 1, "alpha": -2, "a": 1, "b": 1}', 1, 1, 2)$$);
SELECT pg_temp.err($$SELECT ecpower.predict_p_alive('mbgnbd', '[1, 2, 3, 4]', 1, 1, 2)$$);
SELECT pg_temp.err($$SELECT ecpower.predict_expected_purchases('mbgnbd', '{"r": 1, "alpha": 1, "a": 1, "b": 1}', 10, 1, 3, 2)$$);

------------------------------------------------------------------------
-- Parameter recovery: a store of 3,000 MBG/NBD customers (ids 1..3000)
-- and one of 3,000 Pareto/NBD customers (ids 10001..13000), orders to day
-- 540; fits as of 2025-06-30 (day 546).  The tolerance on |log(estimate
-- / truth)| is about three standard errors: the purchase rate (r, alpha)
-- is seen in every customer's orders (0.15), the dropout parameters only
-- through the customers who stopped (0.3; s and beta of Pareto/NBD, whose
-- dropout is never observed directly, 0.4).
------------------------------------------------------------------------
SELECT pg_temp.simulate('mbgnbd', 1, 3000, 0.8, 40, 0.8, 3, 540, 0.17);

SELECT model, key, round(value::numeric, 2) AS estimate, truth,
       abs(ln(value / truth)) < tolerance AS recovered
  FROM (SELECT f.model, e.key, e.value::float8 AS value
          FROM ecpower.fit_models('2025-06-30 23:59:59+00', 'day', 0, false, 'mbgnbd') f,
               jsonb_each_text(f.parameters) e) p
  JOIN (VALUES ('r', 0.8, 0.15), ('alpha', 40, 0.15), ('a', 0.8, 0.3), ('b', 3, 0.3)) t(key, truth, tolerance)
 USING (key)
 ORDER BY key COLLATE "C";

-- BG/NBD cannot see the dropouts at time zero: its fit is further from the
-- truth (a in particular) and its likelihood is lower
SELECT (SELECT log_likelihood FROM ecpower.fit_models('2025-06-30 23:59:59+00', 'day', 0, false, 'mbgnbd'))
       > (SELECT log_likelihood FROM ecpower.fit_models('2025-06-30 23:59:59+00', 'day', 0, false, 'bgnbd'))
       AS mbgnbd_fits_better;

-- the reported log-likelihood is the SQL sum at the fitted parameters
WITH f AS (SELECT * FROM ecpower.fit_models('2025-06-30 23:59:59+00', 'day', 0, false, 'mbgnbd')),
s AS (SELECT x, t_x, t, count(*) AS n FROM ecpower.customer_summary('2025-06-30 23:59:59+00')
       GROUP BY 1, 2, 3)
SELECT abs(f.log_likelihood
           - (SELECT sum(s.n * pg_temp.mbg_ll((f.parameters->>'r')::float8, (f.parameters->>'alpha')::float8,
                                               (f.parameters->>'a')::float8, (f.parameters->>'b')::float8,
                                               s.x, s.t_x, s.t)) FROM s)) < 1e-6 AS ll_matches
  FROM f;

DELETE FROM ecpower.orders;
DELETE FROM ecpower.customers;
SELECT pg_temp.simulate('paretonbd', 10001, 3000, 0.8, 40, 0.8, 200, 540, 0.29);

SELECT model, key, round(value::numeric, 2) AS estimate, truth,
       abs(ln(value / truth)) < tolerance AS recovered
  FROM (SELECT f.model, e.key, e.value::float8 AS value
          FROM ecpower.fit_models('2025-06-30 23:59:59+00', 'day', 0, false, 'paretonbd') f,
               jsonb_each_text(f.parameters) e) p
  JOIN (VALUES ('r', 0.8, 0.15), ('alpha', 40, 0.15), ('s', 0.8, 0.4), ('beta', 200, 0.4)) t(key, truth, tolerance)
 USING (key)
 ORDER BY key COLLATE "C";

-- the maximum: moving any parameter by 1 % lowers the SQL log-likelihood
WITH f AS (SELECT (parameters->>'r')::float8 AS r, (parameters->>'alpha')::float8 AS alpha,
                  (parameters->>'s')::float8 AS s, (parameters->>'beta')::float8 AS beta,
                  log_likelihood
             FROM ecpower.fit_models('2025-06-30 23:59:59+00', 'day', 0, false, 'paretonbd')),
d AS (SELECT x, t_x, t, count(*) AS n FROM ecpower.customer_summary('2025-06-30 23:59:59+00')
       GROUP BY 1, 2, 3),
ll AS (SELECT k, sum(d.n * pg_temp.pn_ll(f.r * m[1], f.alpha * m[2], f.s * m[3], f.beta * m[4],
                                          d.x, d.t_x, d.t, f.alpha * m[2] >= f.beta * m[4])) AS ll
         FROM f, d,
              (VALUES (0, '{1,1,1,1}'::float8[]), (1, '{1.01,1,1,1}'), (2, '{0.99,1,1,1}'),
                      (3, '{1,1.01,1,1}'), (4, '{1,0.99,1,1}'), (5, '{1,1,1.01,1}'),
                      (6, '{1,1,0.99,1}'), (7, '{1,1,1,1.01}'), (8, '{1,1,1,0.99}')) v(k, m)
        GROUP BY k)
SELECT abs(f.log_likelihood - (SELECT ll FROM ll WHERE k = 0)) < 1e-6 AS reported_ll_matches,
       (SELECT bool_and(ll < (SELECT ll FROM ll WHERE k = 0)) FROM ll WHERE k > 0) AS is_maximum
  FROM f;

-- both stores together for the rest
SELECT pg_temp.simulate('mbgnbd', 1, 3000, 0.8, 40, 0.8, 3, 540, 0.17);

------------------------------------------------------------------------
-- compare_models: every figure against plain SQL over the same rows
------------------------------------------------------------------------
CREATE TEMP TABLE cmp AS
SELECT * FROM ecpower.compare_models('2024-12-31 23:59:59+00', '2025-06-30 23:59:59+00');
SELECT model, calibration_end, customers, converged, holdout_actual,
       cardinality(group_customers) AS groups
  FROM cmp ORDER BY model;

-- the fits are those of fit_models at the calibration end
SELECT c.model FROM cmp c
  JOIN ecpower.fit_models('2024-12-31 23:59:59+00', 'day', 0, false, c.model) f USING (model)
 WHERE f.parameters <> c.parameters OR f.log_likelihood <> c.log_likelihood;

-- actual holdout purchase days, predictions, mean absolute error and
-- holdout log-likelihood per model; mismatches only
WITH cal AS (SELECT * FROM ecpower.customer_summary('2024-12-31 23:59:59+00')),
ho AS (SELECT * FROM ecpower.customer_summary('2025-06-30 23:59:59+00')),
per AS (SELECT c.model, cal.customer_id, cal.x, ho.x - cal.x AS actual,
               ecpower.predict_expected_purchases(c.model, c.parameters, 181, cal.x, cal.t_x, cal.t) AS predicted,
               ecpower.predict_log_likelihood(c.model, c.parameters, ho.x, ho.t_x, ho.t)
               - ecpower.predict_log_likelihood(c.model, c.parameters, cal.x, cal.t_x, cal.t) AS ll
          FROM cmp c, cal JOIN ho USING (customer_id)),
agg AS (SELECT model, array_agg(n ORDER BY g) AS gn, array_agg(ga ORDER BY g) AS ga,
               array_agg(gp ORDER BY g) AS gp
          FROM (SELECT model, least(x, 7) AS g, count(*) AS n, sum(actual) AS ga,
                       sum(predicted) AS gp
                  FROM per GROUP BY 1, 2) g
         GROUP BY model)
SELECT c.model
  FROM cmp c JOIN (SELECT p.model, sum(p.actual) AS actual, sum(p.predicted) AS predicted,
                          avg(abs(p.actual - p.predicted)) AS mae, sum(p.ll) AS ll
                     FROM per p GROUP BY 1) s USING (model)
  JOIN agg a USING (model)
 WHERE c.holdout_actual <> s.actual
    OR abs(c.holdout_predicted - s.predicted) > 1e-6
    OR abs(c.holdout_mae - s.mae) > 1e-9
    OR abs(c.holdout_log_likelihood - s.ll) > 1e-6
    OR c.group_customers <> a.gn::bigint[]
    OR c.group_actual <> a.ga::bigint[]
    OR (SELECT max(abs(x - y)) FROM unnest(c.group_predicted, a.gp) u(x, y)) > 1e-6;

-- the same after moving the early orders of half the customers to the end
-- of the table: the scan then meets their purchase days out of order
UPDATE ecpower.orders SET total = total
 WHERE customer_id % 2 = 0 AND ordered_at < '2024-09-01';
DROP TABLE cmp;
CREATE TEMP TABLE cmp AS
SELECT * FROM ecpower.compare_models('2024-12-31 23:59:59+00', '2025-06-30 23:59:59+00');
WITH cal AS (SELECT * FROM ecpower.customer_summary('2024-12-31 23:59:59+00')),
ho AS (SELECT * FROM ecpower.customer_summary('2025-06-30 23:59:59+00')),
per AS (SELECT c.model, cal.customer_id, cal.x, ho.x - cal.x AS actual,
               ecpower.predict_expected_purchases(c.model, c.parameters, 181, cal.x, cal.t_x, cal.t) AS predicted,
               ecpower.predict_log_likelihood(c.model, c.parameters, ho.x, ho.t_x, ho.t)
               - ecpower.predict_log_likelihood(c.model, c.parameters, cal.x, cal.t_x, cal.t) AS ll
          FROM cmp c, cal JOIN ho USING (customer_id)),
agg AS (SELECT model, array_agg(n ORDER BY g) AS gn, array_agg(ga ORDER BY g) AS ga,
               array_agg(gp ORDER BY g) AS gp
          FROM (SELECT model, least(x, 7) AS g, count(*) AS n, sum(actual) AS ga,
                       sum(predicted) AS gp
                  FROM per GROUP BY 1, 2) g
         GROUP BY model)
SELECT c.model
  FROM cmp c JOIN (SELECT p.model, sum(p.actual) AS actual, sum(p.predicted) AS predicted,
                          avg(abs(p.actual - p.predicted)) AS mae, sum(p.ll) AS ll
                     FROM per p GROUP BY 1) s USING (model)
  JOIN agg a USING (model)
 WHERE c.holdout_actual <> s.actual
    OR abs(c.holdout_predicted - s.predicted) > 1e-6
    OR abs(c.holdout_mae - s.mae) > 1e-9
    OR abs(c.holdout_log_likelihood - s.ll) > 1e-6
    OR c.group_customers <> a.gn::bigint[]
    OR c.group_actual <> a.ga::bigint[]
    OR (SELECT max(abs(x - y)) FROM unnest(c.group_predicted, a.gp) u(x, y)) > 1e-6;

-- the side-by-side backtest is the same comparison by calibration x
SELECT * FROM ecpower.backtest('2024-12-31', '2025-06-30');
SELECT b.repeat_purchases FROM ecpower.backtest('2024-12-31', '2025-06-30') b, cmp c
 WHERE b.repeat_purchases = 'all'
   AND round(c.holdout_predicted::numeric, 2) <> CASE c.model WHEN 'bgnbd' THEN b.bgnbd
                                                          WHEN 'mbgnbd' THEN b.mbgnbd
                                                          ELSE b.paretonbd END;

-- a holdout that does not follow the calibration end: 22023
SELECT pg_temp.err($$SELECT * FROM ecpower.backtest('2025-06-30', '2025-06-30')$$);
SELECT pg_temp.err($$SELECT * FROM ecpower.compare_models('2025-06-30 12:00+00', '2025-06-30 18:00+00')$$);
SELECT pg_temp.err($$SELECT * FROM ecpower.compare_models('2025-07-30', '2025-06-30')$$);
-- too little history before the calibration end: 22000
SELECT pg_temp.err($$SELECT * FROM ecpower.compare_models('2024-01-01 12:00+00', '2025-06-30')$$);

------------------------------------------------------------------------
-- fit_predictions(model => 'auto')
------------------------------------------------------------------------
CREATE TEMP TABLE fits AS
SELECT * FROM ecpower.fit_predictions('2025-06-30 23:59:59+00');
-- history 2024-01-01 .. 2025-06-30 (546 days): a holdout of 182 days
SELECT fit_id, model, as_of, holdout_end, holdout_mae IS NOT NULL AS scored, selected
  FROM fits ORDER BY fit_id;

-- the comparison rows are compare_models with the automatic calibration
-- end, and the selected model is the converged one of lowest holdout MAE
SELECT f.model FROM fits f
  JOIN ecpower.compare_models(NULL, '2025-06-30 23:59:59+00') c USING (model)
 WHERE f.holdout_end IS NOT NULL
   AND (f.as_of <> c.calibration_end OR f.parameters <> c.parameters
        OR f.holdout_mae <> c.holdout_mae
        OR f.holdout_log_likelihood <> c.holdout_log_likelihood);
SELECT (SELECT model FROM fits WHERE selected)
       = (SELECT model FROM fits WHERE holdout_end IS NOT NULL AND converged
           ORDER BY holdout_mae LIMIT 1) AS lowest_mae_selected,
       (SELECT model FROM fits WHERE selected)
       = (SELECT DISTINCT model FROM ecpower.customer_predictions) AS scores_use_it,
       (SELECT count(*) FROM ecpower.customer_predictions)
       = (SELECT count(*) FROM ecpower.customer_summary('2025-06-30 23:59:59+00')) AS everyone_scored;

-- scores of the chosen model against the scalar functions: mismatches only
WITH f AS (SELECT model, parameters FROM fits WHERE holdout_end IS NULL AND model <> 'gammagamma')
SELECT p.customer_id FROM ecpower.customer_predictions p, f
 WHERE abs(p.p_alive - ecpower.predict_p_alive(f.model, f.parameters, p.x, p.t_x, p.t)) > 1e-12
    OR abs(p.expected_orders_90d
           - ecpower.predict_expected_purchases(f.model, f.parameters, 90, p.x, p.t_x, p.t)) > 1e-9
    OR p.days_overdue <> '2025-06-30'::date - p.expected_next_order_date
 LIMIT 5;

-- one-time buyers are no longer all alive
SELECT count(*) FILTER (WHERE x = 0) > 0 AS has_one_time_buyers,
       bool_and(p_alive < 1) FILTER (WHERE x = 0) AS none_certainly_alive
  FROM ecpower.customer_predictions;

-- each model by name: scores from that model
SELECT model, count(*) AS rows
  FROM ecpower.fit_predictions('2025-06-30 23:59:59+00', model => 'paretonbd')
 GROUP BY 1 ORDER BY 1;
SELECT DISTINCT model FROM ecpower.customer_predictions;

-- bad input leaves the previous scores: 22023 for an unknown model, a bad
-- discount rate or unit; 22000 for too little history
CREATE TEMP TABLE before AS SELECT * FROM ecpower.prediction_scores;
SELECT pg_temp.err($$SELECT * FROM ecpower.fit_predictions('2025-06-30 23:59:59+00', model => 'pareto')$$);
SELECT pg_temp.err($$SELECT * FROM ecpower.fit_models('2025-06-30 23:59:59+00', model => 'auto')$$);
SELECT pg_temp.err($$SELECT * FROM ecpower.fit_predictions('2025-06-30 23:59:59+00', 'month')$$);
SELECT pg_temp.err($$SELECT * FROM ecpower.fit_predictions('2024-01-02 23:59:59+00')$$);
SELECT pg_temp.err($$SELECT * FROM ecpower.fit_predictions('2024-01-10 23:59:59+00', model => 'mbgnbd')$$);
SELECT (SELECT count(*) FROM (SELECT * FROM before EXCEPT SELECT * FROM ecpower.prediction_scores) d) = 0
   AND (SELECT count(*) FROM before) = (SELECT count(*) FROM ecpower.prediction_scores) AS scores_kept;

-- the nightly refresh uses prediction_settings.model
UPDATE ecpower.prediction_settings SET refresh_enabled = true, model = 'mbgnbd';
SELECT ecpower.refresh_predictions('2025-06-30 23:59:59+00') AS ran;
SELECT DISTINCT model FROM ecpower.customer_predictions;
SELECT pg_temp.err($$UPDATE ecpower.prediction_settings SET model = 'nbd'$$);

------------------------------------------------------------------------
-- Segments: {"predicted": "days_overdue"} and the prediction templates
------------------------------------------------------------------------
WITH c(def, want) AS (VALUES
    ('{"predicted": "days_overdue", "gte": 30}'::jsonb,
     ARRAY(SELECT customer_id FROM ecpower.customer_predictions WHERE days_overdue >= 30)),
    ('{"predicted": "days_overdue", "lt": 0}',
     ARRAY(SELECT customer_id FROM ecpower.customer_predictions WHERE days_overdue < 0)),
    ('{"all": [{"predicted": "days_overdue", "gte": 30}, {"predicted": "clv_365d", "gte": 20}]}',
     ARRAY(SELECT customer_id FROM ecpower.customer_predictions
            WHERE days_overdue >= 30 AND clv_365d >= 20)))
SELECT c.def, cardinality(c.want) AS want_n
  FROM c
 WHERE ARRAY(SELECT e FROM ecpower.evaluate(c.def, '2025-06-30 23:59:59+00') e ORDER BY 1)
       IS DISTINCT FROM ARRAY(SELECT w FROM unnest(c.want) w ORDER BY 1)
    OR cardinality(c.want) = 0;

SELECT ecpower.create_segment_from_template('likely_lost_one_time_buyers', 'lost-one-timers',
                                            '{"p_alive": 0.3}') > 0 AS created,
       ecpower.create_segment_from_template('overdue_loyal_customers', 'overdue-loyal',
                                            '{"orders": 3, "days": 30}') > 0 AS created,
       ecpower.create_segment_from_template('high_value_low_p_alive', 'valuable-slipping',
                                            '{"clv": 20, "p_alive": 0.5}') > 0 AS created;
UPDATE ecpower.prediction_settings SET refresh_enabled = false;
CALL ecpower.refresh('2025-06-30 23:59:59+00');

-- members against plain SQL over the scores and orders: mismatches only
WITH oc AS (SELECT customer_id, count(*) AS n FROM ecpower.orders
             WHERE cancelled_at IS NULL AND ordered_at <= '2025-06-30 23:59:59+00' GROUP BY 1),
w(slug, want) AS (VALUES
    ('lost-one-timers', ARRAY(SELECT p.customer_id FROM ecpower.customer_predictions p JOIN oc USING (customer_id)
                               WHERE oc.n = 1 AND p.p_alive < 0.3)),
    ('overdue-loyal', ARRAY(SELECT p.customer_id FROM ecpower.customer_predictions p JOIN oc USING (customer_id)
                             WHERE oc.n >= 3 AND p.days_overdue >= 30)),
    ('valuable-slipping', ARRAY(SELECT customer_id FROM ecpower.customer_predictions
                                 WHERE clv_365d >= 20 AND p_alive < 0.5)))
SELECT w.slug, cardinality(w.want) AS want_n,
       (SELECT count(*) FROM ecpower.segment_members(w.slug)) AS got_n
  FROM w
 WHERE ARRAY(SELECT m FROM ecpower.segment_members(w.slug) m ORDER BY 1)
       IS DISTINCT FROM ARRAY(SELECT x FROM unnest(w.want) x ORDER BY 1)
    OR cardinality(w.want) = 0;
