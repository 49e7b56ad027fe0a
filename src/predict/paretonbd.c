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
 * by BFGS (ecp_fit_model) with an analytic gradient: the series of 2F1 is
 * summed together with its derivatives in its parameters and argument.
 * Customers with the same (x, t_x, T) count once with a weight, and each
 * A0 term, which depends on x and one day (t_x or T), is computed once per
 * distinct (x, day) in every evaluation.
 *
 * src/predict/paretonbd.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "miscadmin.h"

#include "core/ecpower.h"
#include "predict/predict.h"

/* series terms before the hypergeometric sum of the fit gives up */
#define SERIES_MAX_TERMS	1000000

/* the largest ratio of alpha to beta (or beta to alpha) the fit explores */
#define MAX_SCALE_RATIO		100.0

/*
 * The fit's data: distinct (x, t_x, T) triples, and the distinct (x, day)
 * pairs their t_x and T make, whose A0 terms each evaluation computes once.
 */
typedef struct PnData
{
	RfTriple   *triples;
	int64		ntriples;
	int32	   *pair_tx;		/* per triple: its (x, t_x) pair */
	int32	   *pair_T;			/* per triple: its (x, T) pair */
	uint64	   *pairs;			/* x << 32 | day, sorted */
	int64		npairs;
	double	   *u;				/* per pair: the A0 term, log */
	double	   *du;				/* per pair: its gradient in r, alpha, s, beta */
	double		total_w;
	double		unit;
	bool		at_wall;		/* an evaluation was refused for the ratio */
} PnData;

/*
 * Scoring cache of A0 terms: for given parameters, the term of (x, t)
 * (t in the unit), so that scoring every customer sums the series once per
 * distinct (x, t_x) and (x, T) rather than twice per customer.
 */
typedef struct PnTermKey
{
	double		t;
	int64		x;
} PnTermKey;

typedef struct PnTermEntry
{
	PnTermKey	key;
	char		status;
	double		u;
} PnTermEntry;

static inline uint32
pn_key_hash(PnTermKey k)
{
	uint64		bits;

	memcpy(&bits, &k.t, sizeof(bits));
	return ecp_hash_int64(bits ^ ((uint64) k.x * UINT64CONST(0x9E3779B97F4A7C15)));
}

#define SH_PREFIX		pnterm
#define SH_ELEMENT_TYPE	PnTermEntry
#define SH_KEY_TYPE		PnTermKey
#define SH_KEY			key
#define SH_HASH_KEY(tb, k)	pn_key_hash(k)
#define SH_EQUAL(tb, a, b)	((a).t == (b).t && (a).x == (b).x)
#define SH_SCOPE		static inline
#define SH_DECLARE
#define SH_DEFINE
#include "lib/simplehash.h"

struct PnTermCache
{
	double		prm[4];
	pnterm_hash *hash;
};

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
 * paretonbd_cache_create
 *		A scoring cache of A0 terms for the parameters prm, in the current
 *		memory context.
 */
PnTermCache *
paretonbd_cache_create(const double *prm)
{
	PnTermCache *cache = palloc(sizeof(PnTermCache));

	memcpy(cache->prm, prm, sizeof(cache->prm));
	cache->hash = pnterm_create(CurrentMemoryContext, 1024, NULL);
	return cache;
}

/* a0_term through the cache (when there is one) */
static double
a0_term_cached(PnTermCache *cache, double x, double c, double g, double M,
			   double D, double t)
{
	PnTermKey	key;
	PnTermEntry *e;
	bool		found;

	if (cache == NULL)
		return a0_term(c, g, M, D, t);
	key.t = t;
	key.x = (int64) x;
	e = pnterm_insert(cache->hash, key, &found);
	if (!found)
		e->u = a0_term(c, g, M, D, t);
	return e->u;
}

/*
 * log A0 given the parameters and (x, t_x, T), for the larger of alpha
 * and beta (see the file header); -infinity when t_x = T.  cache, when not
 * NULL, must have been made for prm.
 */
static double
log_a0(const double *prm, PnTermCache *cache, double x, double t_x, double T)
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
	Assert(cache == NULL || memcmp(cache->prm, prm, sizeof(cache->prm)) == 0);
	return log_diff_exp(a0_term_cached(cache, x, c, g, M, D, t_x),
						a0_term_cached(cache, x, c, g, M, D, T));
}

/*
 * The log of the bracket of L: log((alpha + T)^-(r + x) (beta + T)^-s
 * + s / (r + s + x) A0).
 */
static double
log_bracket(const double *prm, PnTermCache *cache, double x, double t_x,
			double T)
{
	double		r = prm[0],
				alpha = prm[1],
				s = prm[2],
				beta = prm[3];
	double		first = -(r + x) * log(alpha + T) - s * log(beta + T);
	double		la0 = log_a0(prm, cache, x, t_x, T);

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
paretonbd_loglik_one(const double *prm, PnTermCache *cache, double x,
					 double t_x, double T)
{
	double		r = prm[0],
				alpha = prm[1],
				s = prm[2],
				beta = prm[3];

	return lgamma(r + x) - lgamma(r) + r * log(alpha) + s * log(beta) +
		log_bracket(prm, cache, x, t_x, T);
}

/*
 * paretonbd_log_p_alive_odds
 *		log((1 - P(alive)) / P(alive)) given (x, t_x, T):
 *		log(s / (r + s + x)) + (r + x) log(alpha + T) + s log(beta + T)
 *		+ log A0.  P(alive) = 1 / (1 + exp(result)); -infinity (alive for
 *		sure) when t_x = T.
 */
double
paretonbd_log_p_alive_odds(const double *prm, PnTermCache *cache, double x,
						   double t_x, double T)
{
	double		r = prm[0],
				alpha = prm[1],
				s = prm[2],
				beta = prm[3];
	double		la0 = log_a0(prm, cache, x, t_x, T);

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

/*
 * log 2F1(a, b; a + 1; z) for a, b > 0 and 0 <= z < 1 by its series (all
 * terms positive), and its derivatives in a (through both a and a + 1), b
 * and z: the running sums of d log(term) are carried along, and the sum is
 * rescaled whenever it grows past 1e280.  False when the series did not
 * converge.
 */
static bool
log_f_with_derivatives(double a, double b, double z, double *lf, double *da,
					   double *db, double *dz)
{
	double		term = 1.0,
				sum = 1.0,
				sa = 0.0,
				sb = 0.0,
				sz = 0.0;
	double		ta = 0.0,		/* d log(term) / da */
				tb = 0.0;		/* d log(term) / db */
	double		logscale = 0.0;

	if (z == 0.0)
	{
		*lf = 0.0;
		*da = *db = 0.0;
		*dz = a * b / (a + 1.0);
		return true;
	}
	for (int j = 0; j < SERIES_MAX_TERMS; j++)
	{
		double		aj = a + j,
					aj1 = a + 1.0 + j,
					bj = b + j,
					j1 = j + 1.0;
		double		inv = 1.0 / (aj * aj1 * bj * j1);	/* the one division */
		double		ratio = aj * aj * bj * bj * z * inv;

		/*
		 * term j + 1 from term j: a appears as (a + j) / (a + 1 + j), whose
		 * log has derivative 1 / (a + j) - 1 / (a + 1 + j) =
		 * 1 / ((a + j)(a + 1 + j))
		 */
		ta += bj * j1 * inv;
		tb += aj * aj1 * j1 * inv;
		term *= ratio;
		sum += term;
		sa += term * ta;
		sb += term * tb;
		sz += term * (j + 1.0);
		if (sum > 1e280)
		{
			logscale += log(sum);
			term /= sum;
			sa /= sum;
			sb /= sum;
			sz /= sum;
			sum = 1.0;
		}
		if (term <= 1e-17 * sum && ratio < 1.0 && j > 2)
		{
			*lf = logscale + log(sum);
			*da = sa / sum;
			*db = sb / sum;
			*dz = sz / sum / z;
			return true;
		}
		if ((j & 65535) == 65535)
			CHECK_FOR_INTERRUPTS();
	}
	return false;
}

/*
 * One A0 term of a pair (x, day t): u = log 2F1(c, g; c + 1; D / (M + t))
 * - c log(M + t) with its gradient in (r, alpha, s, beta) into du.
 */
static bool
a0_term_with_gradient(const double *prm, double x, double t, double *u,
					  double *du)
{
	double		r = prm[0],
				alpha = prm[1],
				s = prm[2],
				beta = prm[3];
	double		c = r + s + x;
	bool		alpha_max = alpha >= beta;
	double		M = alpha_max ? alpha : beta;
	double		D = alpha_max ? alpha - beta : beta - alpha;
	double		g = alpha_max ? s + 1.0 : r + x;
	double		q = M + t;
	double		lf,
				dc,
				dg,
				dz;
	double		dz_alpha,
				dz_beta;

	if (!log_f_with_derivatives(c, g, D / q, &lf, &dc, &dg, &dz))
		return false;
	*u = lf - c * log(q);
	/* z = D / (M + t) */
	if (alpha_max)
	{
		dz_alpha = (beta + t) / (q * q);
		dz_beta = -1.0 / q;
	}
	else
	{
		dz_alpha = -1.0 / q;
		dz_beta = (alpha + t) / (q * q);
	}
	/* c = r + s + x; g = s + 1 or r + x; M = alpha or beta */
	du[0] = dc - log(q) + (alpha_max ? 0.0 : dg);
	du[1] = dz * dz_alpha - (alpha_max ? c / q : 0.0);
	du[2] = dc - log(q) + (alpha_max ? dg : 0.0);
	du[3] = dz * dz_beta - (alpha_max ? 0.0 : c / q);
	return true;
}

/*
 * The objective at log-parameters theta: the mean negative log-likelihood
 * of the file header's formula, with its analytic gradient in theta.
 */
static double
pn_objective(const double *theta, double *grad, void *arg)
{
	PnData	   *d = (PnData *) arg;
	double		prm[4];
	double		g[4] = {0.0, 0.0, 0.0, 0.0};
	double		ll = 0.0;
	double		r,
				alpha,
				s,
				beta;
	int32		last_x = -1;
	double		lg_rx = 0.0,
				ps_rx = 0.0;

	for (int i = 0; i < 4; i++)
	{
		prm[i] = exp(theta[i]);
		if (!isfinite(prm[i]) || prm[i] <= 0)
			return NAN;
	}
	r = prm[0];
	alpha = prm[1];
	s = prm[2];
	beta = prm[3];

	/*
	 * alpha and beta further apart than MAX_SCALE_RATIO: the fit is running
	 * off to the no-heterogeneity boundary (s and beta, or r and alpha, to
	 * infinity together), where the series of 2F1 needs ever more terms.
	 * Refusing the step stops the fit there, unconverged.
	 */
	if (alpha > MAX_SCALE_RATIO * beta || beta > MAX_SCALE_RATIO * alpha)
	{
		d->at_wall = true;
		return NAN;
	}

	for (int64 k = 0; k < d->npairs; k++)
	{
		if (!a0_term_with_gradient(prm, (double) (d->pairs[k] >> 32),
								   (uint32) d->pairs[k] / d->unit,
								   &d->u[k], &d->du[4 * k]))
			return NAN;
		if ((k & 1023) == 1023)
			CHECK_FOR_INTERRUPTS();
	}

	for (int64 i = 0; i < d->ntriples; i++)
	{
		const RfTriple *t = &d->triples[i];
		double		x = t->x;
		double		T = t->T / d->unit;
		double		f1 = -(r + x) * log(alpha + T) - s * log(beta + T);
		double		df1[4];
		double		dl[4];
		double		b,
					p1;

		if (t->x != last_x)
		{
			lg_rx = lgamma(r + x);
			ps_rx = ecp_digamma(r + x);
			last_x = t->x;
		}
		df1[0] = -log(alpha + T);
		df1[1] = -(r + x) / (alpha + T);
		df1[2] = -log(beta + T);
		df1[3] = -s / (beta + T);

		if (t->t_x == t->T)
		{
			/* A0 = 0: only the first term */
			b = f1;
			memcpy(dl, df1, sizeof(dl));
		}
		else
		{
			int32		k1 = d->pair_tx[i],
						k2 = d->pair_T[i];
			double		u1 = d->u[k1],
						u2 = d->u[k2];
			double		qq = exp(u2 - u1);
			double		la0 = log_diff_exp(u1, u2);
			double		l2 = log(s) - log(r + s + x) + la0;

			if (!isfinite(la0))
				return NAN;
			b = log_sum_exp(f1, l2);
			p1 = exp(f1 - b);
			for (int j = 0; j < 4; j++)
			{
				double		dl2 = (d->du[4 * k1 + j] - qq * d->du[4 * k2 + j]) / (1.0 - qq);

				if (j == 0)
					dl2 -= 1.0 / (r + s + x);
				else if (j == 2)
					dl2 += 1.0 / s - 1.0 / (r + s + x);
				dl[j] = p1 * df1[j] + (1.0 - p1) * dl2;
			}
		}
		if (!isfinite(b))
			return NAN;
		ll += t->w * (lg_rx + b);
		g[0] += t->w * (ps_rx + dl[0]);
		g[1] += t->w * dl[1];
		g[2] += t->w * dl[2];
		g[3] += t->w * dl[3];
		if ((i & 65535) == 65535)
			CHECK_FOR_INTERRUPTS();
	}

	/* the terms common to every customer */
	ll += d->total_w * (-lgamma(r) + r * log(alpha) + s * log(beta));
	g[0] += d->total_w * (-ecp_digamma(r) + log(alpha));
	g[1] += d->total_w * r / alpha;
	g[2] += d->total_w * log(beta);
	g[3] += d->total_w * s / beta;

	for (int j = 0; j < 4; j++)
		grad[j] = -g[j] * prm[j] / d->total_w;
	return -ll / d->total_w;
}

/* qsort comparator of uint64 */
static int
u64_cmp(const void *a, const void *b)
{
	uint64		ua = *(const uint64 *) a;
	uint64		ub = *(const uint64 *) b;

	return (ua > ub) - (ua < ub);
}

/* index of key in the sorted pairs */
static int32
pair_index(const PnData *d, uint64 key)
{
	int64		lo = 0,
				hi = d->npairs - 1;

	while (lo <= hi)
	{
		int64		mid = (lo + hi) / 2;

		if (d->pairs[mid] == key)
			return (int32) mid;
		if (d->pairs[mid] < key)
			lo = mid + 1;
		else
			hi = mid - 1;
	}
	elog(ERROR, "pair of the Pareto/NBD fit is missing");
	return -1;
}

/* collapse the summaries into triples and their distinct (x, day) pairs */
static void
pn_prepare(const RfSummarySet *set, double unit, PnData *d)
{
	int32		max_x,
				max_day;
	int64		n = 0;

	d->triples = rf_collapse_triples(set, &d->ntriples, &max_x, &max_day);
	d->total_w = (double) set->n;
	d->unit = unit;
	d->pairs = palloc_extended(sizeof(uint64) * Max(2 * d->ntriples, 1),
							   MCXT_ALLOC_HUGE);
	for (int64 i = 0; i < d->ntriples; i++)
	{
		const RfTriple *t = &d->triples[i];

		d->pairs[n++] = ((uint64) (uint32) t->x << 32) | (uint32) t->t_x;
		d->pairs[n++] = ((uint64) (uint32) t->x << 32) | (uint32) t->T;
	}
	qsort(d->pairs, n, sizeof(uint64), u64_cmp);
	d->npairs = 0;
	for (int64 i = 0; i < n; i++)
	{
		if (d->npairs == 0 || d->pairs[d->npairs - 1] != d->pairs[i])
			d->pairs[d->npairs++] = d->pairs[i];
	}
	d->pair_tx = palloc_extended(sizeof(int32) * Max(d->ntriples, 1), MCXT_ALLOC_HUGE);
	d->pair_T = palloc_extended(sizeof(int32) * Max(d->ntriples, 1), MCXT_ALLOC_HUGE);
	for (int64 i = 0; i < d->ntriples; i++)
	{
		const RfTriple *t = &d->triples[i];

		d->pair_tx[i] = pair_index(d, ((uint64) (uint32) t->x << 32) | (uint32) t->t_x);
		d->pair_T[i] = pair_index(d, ((uint64) (uint32) t->x << 32) | (uint32) t->T);
	}
	d->u = palloc_extended(sizeof(double) * Max(d->npairs, 1), MCXT_ALLOC_HUGE);
	d->du = palloc_extended(sizeof(double) * 4 * Max(d->npairs, 1), MCXT_ALLOC_HUGE);
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
	double		mean_T = 0.0;
	double		starts[4][4] = {
		/* log r, log alpha, log s, log beta (alpha and beta scaled below) */
		{-0.69, -1.39, -0.51, 0.0},	/* 0.5, T/4, 0.6, T */
		{0.0, 0.0, 0.0, 0.0},
		{0.69, 0.0, 0.69, 1.0},	/* 2, T, 2, 2.7 T */
		{-1.61, -3.0, -1.2, -1.0},	/* 0.2, T/20, 0.3, T/2.7 */
	};

	pn_prepare(set, unit, &d);
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

	/*
	 * One start at a time: a run that ends unconverged against the ratio
	 * limit has found the maximum at the boundary, and the other starts
	 * would only walk there again, at the highest cost per evaluation.
	 */
	d.at_wall = false;
	ecp_fit_model(pn_objective, &d, 4, &starts[0][0], 1, penalizer,
				  d.total_w, fit);
	if (!fit->converged && !d.at_wall)
	{
		ModelFit	more;

		ecp_fit_model(pn_objective, &d, 4, &starts[1][0], 3, penalizer,
					  d.total_w, &more);
		more.iterations += fit->iterations;
		if (more.converged || more.log_likelihood > fit->log_likelihood)
			*fit = more;
		else
			fit->iterations = more.iterations;
	}
	fit->customers = set->n;
}
