/*-------------------------------------------------------------------------
 *
 * paretonbd.c
 *	  The Pareto/NBD repeat-purchase model (Schmittlein, Morrison & Colombo
 *	  1987): likelihood, maximum likelihood fit, P(alive) and expected
 *	  purchases.
 *
 * While alive a customer buys at Poisson rate lambda ~ Gamma(r, alpha);
 * her lifetime is exponential with rate mu ~ Gamma(s, beta), so dropout
 * can happen at any moment, before any repeat purchase too.
 *
 * The likelihood follows Fader, Hardie & Lee (2005), "A note on
 * implementing the Pareto/NBD model in MATLAB": with M = max(alpha, beta),
 * D = |alpha - beta|, and c = r + s + x,
 *
 *		L = Gamma(r + x) alpha^r beta^s / Gamma(r) *
 *			[ (alpha + T)^-(r + x) (beta + T)^-s + s / c * A0 ]
 *		A0 = 2F1(c, g; c + 1; D / (M + t_x)) / (M + t_x)^c
 *		   - 2F1(c, g; c + 1; D / (M + T)) / (M + T)^c
 *
 * where g = s + 1 when alpha >= beta and g = r + x otherwise: switching
 * on the larger of alpha and beta keeps the argument of 2F1 in [0, 1).
 * Everything is summed in logarithms (2F1 through ecp_log_hyp2f1, whose
 * rescaled series does not overflow when c runs into the hundreds), and
 * A0 as the difference of two exponentials, so customers with hundreds of
 * purchases give finite log-likelihoods.
 *
 * The fit minimises the mean negative log-likelihood over log-parameters
 * by BFGS (ecp_fit_model) with a central-difference gradient; customers
 * with the same (x, t_x, T) count once with a weight.
 *
 * src/predict/paretonbd.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "miscadmin.h"

#include "predict/predict.h"

/* step of the central-difference gradient, in log-parameters */
#define GRAD_STEP	1e-5

/* the data of a fit */
typedef struct PnData
{
	RfTriple   *triples;
	int64		ntriples;
	double		total_w;
	double		unit;
} PnData;

/* log(exp(u) - exp(v)) for u >= v; -infinity when they are equal */
static inline double
log_diff_exp(double u, double v)
{
	if (!(u > v))
		return -INFINITY;
	return u + log1p(-exp(v - u));
}

/* log(exp(u) + exp(v)) */
static inline double
log_sum_exp(double u, double v)
{
	double		m = Max(u, v);

	if (isinf(m) && m < 0)
		return m;
	return m + log(exp(u - m) + exp(v - m));
}

/*
 * log 2F1(c, g; c + 1; D / (M + t)) - c log(M + t): one of the two terms
 * of A0.
 */
static double
a0_term(double c, double g, double M, double D, double t)
{
	double		q = M + t;

	return ecp_log_hyp2f1(c, g, c + 1.0, D / q) - c * log(q);
}

/*
 * log A0 given the parameters and (x, t_x, T), for the larger of alpha
 * and beta (see the file header); -infinity when t_x = T.
 */
static double
log_a0(const double *prm, double x, double t_x, double T)
{
	double		r = prm[0],
				alpha = prm[1],
				s = prm[2],
				beta = prm[3];
	double		c = r + s + x;
	double		M,
				D,
				g;

	if (alpha >= beta)
	{
		M = alpha;
		D = alpha - beta;
		g = s + 1.0;
	}
	else
	{
		M = beta;
		D = beta - alpha;
		g = r + x;
	}
	return log_diff_exp(a0_term(c, g, M, D, t_x), a0_term(c, g, M, D, T));
}

/*
 * The log of the bracket of L: log((alpha + T)^-(r + x) (beta + T)^-s
 * + s / (r + s + x) A0).
 */
static double
log_bracket(const double *prm, double x, double t_x, double T)
{
	double		r = prm[0],
				alpha = prm[1],
				s = prm[2],
				beta = prm[3];
	double		first = -(r + x) * log(alpha + T) - s * log(beta + T);
	double		la0 = log_a0(prm, x, t_x, T);

	if (isinf(la0) && la0 < 0)
		return first;
	return log_sum_exp(first, log(s) - log(r + s + x) + la0);
}

/*
 * paretonbd_loglik_one
 *		Log-likelihood of one customer's (x, t_x, T); NaN when the
 *		hypergeometric series cannot be summed.
 */
double
paretonbd_loglik_one(const double *prm, double x, double t_x, double T)
{
	double		r = prm[0],
				alpha = prm[1],
				s = prm[2],
				beta = prm[3];

	return lgamma(r + x) - lgamma(r) + r * log(alpha) + s * log(beta) +
		log_bracket(prm, x, t_x, T);
}

/*
 * paretonbd_log_p_alive_odds
 *		log((1 - P(alive)) / P(alive)) given (x, t_x, T):
 *		log(s / (r + s + x)) + (r + x) log(alpha + T) + s log(beta + T)
 *		+ log A0.  P(alive) = 1 / (1 + exp(result)); -infinity (alive for
 *		sure) when t_x = T.
 */
double
paretonbd_log_p_alive_odds(const double *prm, double x, double t_x, double T)
{
	double		r = prm[0],
				alpha = prm[1],
				s = prm[2],
				beta = prm[3];
	double		la0 = log_a0(prm, x, t_x, T);

	if (isinf(la0) && la0 < 0)
		return -INFINITY;
	return log(s) - log(r + s + x) + (r + x) * log(alpha + T) +
		s * log(beta + T) + la0;
}

/*
 * paretonbd_expected_numerator
 *		The part of E[Y(t) | x, t_x, T] that does not depend on t_x:
 *		(r + x) (beta + T) / ((alpha + T) (s - 1)) *
 *		[1 - ((beta + T) / (beta + T + t))^(s - 1)],
 *		whose limit at s = 1 is (r + x) (beta + T) / (alpha + T) *
 *		log((beta + T + t) / (beta + T)).  E[Y(t)] = this * P(alive).
 */
double
paretonbd_expected_numerator(const double *prm, double x, double T, double t)
{
	double		r = prm[0],
				alpha = prm[1],
				s = prm[2],
				beta = prm[3];
	double		l = log1p(t / (beta + T));
	double		g;

	if (t <= 0)
		return 0.0;
	if (fabs(s - 1.0) * l < 1e-8)
		g = l * (1.0 - (s - 1.0) * l / 2.0);	/* series of the limit */
	else
		g = -expm1(-(s - 1.0) * l) / (s - 1.0);
	return (r + x) * (beta + T) / (alpha + T) * g;
}

/* the mean negative log-likelihood at log-parameters theta */
static double
pn_value(const double *theta, const PnData *d)
{
	double		prm[4];
	double		lg_r,
				base;
	double		ll = 0.0;
	int32		last_x = -1;
	double		lg_rx = 0.0;

	for (int i = 0; i < 4; i++)
	{
		prm[i] = exp(theta[i]);
		if (!isfinite(prm[i]) || prm[i] <= 0)
			return NAN;
	}
	lg_r = lgamma(prm[0]);
	base = -lg_r + prm[0] * log(prm[1]) + prm[2] * log(prm[3]);

	for (int64 i = 0; i < d->ntriples; i++)
	{
		const RfTriple *t = &d->triples[i];
		double		b;

		if (t->x != last_x)
		{
			lg_rx = lgamma(prm[0] + t->x);
			last_x = t->x;
		}
		b = log_bracket(prm, t->x, t->t_x / d->unit, t->T / d->unit);
		if (!isfinite(b))
			return NAN;
		ll += t->w * (lg_rx + base + b);
		if ((i & 4095) == 4095)
			CHECK_FOR_INTERRUPTS();
	}
	return -ll / d->total_w;
}

/*
 * The objective at log-parameters theta with its central-difference
 * gradient.  (The derivatives of 2F1 in its parameters have no closed
 * form; at a step of 1e-5 the difference is accurate to about 1e-10,
 * far inside the minimiser's tolerance.)
 */
static double
pn_objective(const double *theta, double *grad, void *arg)
{
	PnData	   *d = (PnData *) arg;
	double		f = pn_value(theta, d);
	double		th[4];

	if (!isfinite(f))
		return NAN;
	memcpy(th, theta, sizeof(th));
	for (int i = 0; i < 4; i++)
	{
		double		hi,
					lo;

		th[i] = theta[i] + GRAD_STEP;
		hi = pn_value(th, d);
		th[i] = theta[i] - GRAD_STEP;
		lo = pn_value(th, d);
		th[i] = theta[i];
		if (!isfinite(hi) || !isfinite(lo))
			return NAN;
		grad[i] = (hi - lo) / (2 * GRAD_STEP);
	}
	return f;
}

/*
 * paretonbd_fit
 *		Maximum likelihood fit of the Pareto/NBD model to the summaries,
 *		times divided by unit, from a few starting points.  The caller
 *		checks the data is not too thin and reports non-convergence.
 */
void
paretonbd_fit(const RfSummarySet *set, double unit, double penalizer,
			  ModelFit *fit)
{
	PnData		d;
	int32		max_x,
				max_day;
	double		mean_T = 0.0;
	double		starts[4][4] = {
		/* log r, log alpha, log s, log beta (alpha and beta scaled below) */
		{-0.69, -1.39, -0.51, 0.0},	/* 0.5, T/4, 0.6, T */
		{0.0, 0.0, 0.0, 0.0},
		{0.69, 0.0, 0.69, 1.0},	/* 2, T, 2, 2.7 T */
		{-1.61, -3.0, -1.2, -1.0},	/* 0.2, T/20, 0.3, T/2.7 */
	};

	d.triples = rf_collapse_triples(set, &d.ntriples, &max_x, &max_day);
	d.total_w = (double) set->n;
	d.unit = unit;
	for (int64 i = 0; i < set->n; i++)
		mean_T += set->rows[i].T / unit;
	mean_T = Max(mean_T / Max(set->n, 1), 1.0);
	for (int s = 0; s < 4; s++)
	{
		if (s == 1)
			continue;
		starts[s][1] += log(mean_T);
		starts[s][3] += log(mean_T);
	}

	ecp_fit_model(pn_objective, &d, 4, &starts[0][0], 4, penalizer,
				  d.total_w, fit);
	fit->customers = set->n;
}
