/*-------------------------------------------------------------------------
 *
 * bgnbd.c
 *	  The BG/NBD repeat-purchase model (Fader, Hardie & Lee 2005,
 *	  "Counting your customers the easy way: an alternative to the
 *	  Pareto/NBD model", Marketing Science 24(2)): likelihood, maximum
 *	  likelihood fit and the per-customer conditional expectations.
 *
 * While alive a customer buys at Poisson rate lambda ~ Gamma(r, alpha);
 * after each purchase she drops out with probability p ~ Beta(a, b).
 * A customer's data is (x, t_x, T): repeat purchases, time of the last
 * purchase and length of the observation, both from the first purchase.
 *
 * The fit works on log-parameters, minimising the mean negative
 * log-likelihood (plus an optional L2 penalty on the log-parameters, see
 * ecp_fit_model) with analytic gradients.  Customers
 * with identical (x, t_x, T) are counted once with a weight, and every
 * term that depends only on x, only on T or only on t_x is computed once
 * per distinct value, so an evaluation costs one exp and one log1p per
 * distinct triple.
 *
 * src/predict/bgnbd.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "miscadmin.h"
#include "utils/memutils.h"

#include "predict/predict.h"

/* everything the objective needs, precomputed from the summaries */
typedef struct BgData
{
	RfTriple   *triples;
	int64		ntriples;
	double		total_w;		/* number of customers */
	int32		max_x;
	int32		max_day;		/* largest T (and t_x) in days */
	double	   *w_x;			/* customers per x, [max_x + 1] */
	double		unit;			/* days per time unit */
	int			shift;			/* 0: BG/NBD, 1: MBG/NBD (see bg_objective) */
	/* scratch, reused by each evaluation */
	double	   *log_at;			/* log(alpha + d / unit), [max_day + 1] */
	double	   *inv_at;			/* 1 / (alpha + d / unit) */
	double	   *lgr;			/* lgamma(r + x) etc. per x */
	double	   *lgb;
	double	   *lgab;
	double	   *psr;
	double	   *psb;
	double	   *psab;
	double	   *lbx;			/* log(b + x - 1) per x > 0 */
} BgData;

/* qsort comparator: triples by (x, t_x, T) */
static int
triple_cmp(const void *a, const void *b)
{
	const RfTriple *ta = (const RfTriple *) a;
	const RfTriple *tb = (const RfTriple *) b;

	if (ta->x != tb->x)
		return ta->x < tb->x ? -1 : 1;
	if (ta->t_x != tb->t_x)
		return ta->t_x < tb->t_x ? -1 : 1;
	if (ta->T != tb->T)
		return ta->T < tb->T ? -1 : 1;
	return 0;
}

/*
 * rf_collapse_triples
 *		The summaries as distinct (x, t_x, T) triples in (x, t_x, T) order,
 *		each weighted by its number of customers; *ntriples receives the
 *		count, *max_x and *max_day the largest x and T.
 */
RfTriple *
rf_collapse_triples(const RfSummarySet *set, int64 *ntriples, int32 *max_x,
					int32 *max_day)
{
	RfTriple   *t;
	int64		n = 0;

	if ((Size) set->n > MaxAllocHugeSize / sizeof(RfTriple))
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("too many customers for a fit: %lld", (long long) set->n)));
	t = palloc_extended(sizeof(RfTriple) * Max(set->n, 1), MCXT_ALLOC_HUGE);
	for (int64 i = 0; i < set->n; i++)
	{
		t[i].x = set->rows[i].x;
		t[i].t_x = set->rows[i].t_x;
		t[i].T = set->rows[i].T;
		t[i].w = 1.0;
	}
	qsort(t, set->n, sizeof(RfTriple), triple_cmp);

	*max_x = 0;
	*max_day = 0;
	for (int64 i = 0; i < set->n; i++)
	{
		if (n > 0 && triple_cmp(&t[n - 1], &t[i]) == 0)
			t[n - 1].w += 1.0;
		else
			t[n++] = t[i];
		*max_x = Max(*max_x, t[i].x);
		*max_day = Max(*max_day, t[i].T);
	}
	*ntriples = n;
	return t;
}

/*
 * Collapse the summaries into distinct weighted triples and allocate the
 * per-evaluation scratch arrays.
 */
static void
bg_prepare(const RfSummarySet *set, double unit, bool modified, BgData *d)
{
	RfTriple   *t;
	int64		n;

	t = rf_collapse_triples(set, &n, &d->max_x, &d->max_day);
	d->triples = t;
	d->ntriples = n;
	d->total_w = (double) set->n;
	d->unit = unit;
	d->shift = modified ? 1 : 0;

	d->w_x = palloc0(sizeof(double) * (d->max_x + 1));
	for (int64 i = 0; i < n; i++)
		d->w_x[t[i].x] += t[i].w;
	d->log_at = palloc(sizeof(double) * (d->max_day + 1));
	d->inv_at = palloc(sizeof(double) * (d->max_day + 1));
	d->lgr = palloc(sizeof(double) * (d->max_x + 1));
	d->lgb = palloc(sizeof(double) * (d->max_x + 1));
	d->lgab = palloc(sizeof(double) * (d->max_x + 1));
	d->psr = palloc(sizeof(double) * (d->max_x + 1));
	d->psb = palloc(sizeof(double) * (d->max_x + 1));
	d->psab = palloc(sizeof(double) * (d->max_x + 1));
	d->lbx = palloc(sizeof(double) * (d->max_x + 1));
}

/*
 * The objective at log-parameters theta: the mean negative log-likelihood;
 * its gradient with respect to theta into grad.
 *
 * BG/NBD and MBG/NBD share it.  With k = shift (0 or 1), a customer's
 * log-likelihood is
 *		A1 + A2 + log(exp(A3) + delta exp(A4))
 *		A1 = lgamma(r + x) - lgamma(r) + r log(alpha)
 *		A2 = lgamma(a + b) + lgamma(b + x + k) - lgamma(b) - lgamma(a + b + x + k)
 *		A3 = -(r + x) log(alpha + T)
 *		A4 = log(a) - log(b + x - 1 + k) - (r + x) log(alpha + t_x)
 * with delta = 1 when x + k > 0: BG/NBD (k = 0) is the paper's (6); MBG/NBD
 * (k = 1, Batislam, Denizel & Filiztekin 2007) lets a customer drop out at
 * time zero too, so its A4 term exists for x = 0 as well.
 */
static double
bg_objective(const double *theta, double *grad, void *arg)
{
	BgData	   *d = (BgData *) arg;
	int			k = d->shift;
	double		r = exp(theta[0]),
				alpha = exp(theta[1]),
				a = exp(theta[2]),
				b = exp(theta[3]);
	double		ll = 0.0;
	double		gr = 0.0,
				galpha = 0.0,
				ga = 0.0,
				gb = 0.0;
	double		lg_r = lgamma(r),
				lg_b = lgamma(b),
				lg_ab = lgamma(a + b);
	double		ps_r = ecp_digamma(r),
				ps_b = ecp_digamma(b),
				ps_ab = ecp_digamma(a + b);
	double		log_alpha = log(alpha);
	double		log_a = log(a);

	if (!isfinite(r) || !isfinite(alpha) || !isfinite(a) || !isfinite(b) ||
		r <= 0 || alpha <= 0 || a <= 0 || b <= 0)
		return NAN;

	for (int dd = 0; dd <= d->max_day; dd++)
	{
		double		at = alpha + dd / d->unit;

		d->log_at[dd] = log(at);
		d->inv_at[dd] = 1.0 / at;
	}

	/* terms that depend on x only: A1 + A2 */
	for (int x = 0; x <= d->max_x; x++)
	{
		double		w = d->w_x[x];

		if (w == 0.0)
			continue;
		d->lgr[x] = lgamma(r + x);
		d->lgb[x] = lgamma(b + x + k);
		d->lgab[x] = lgamma(a + b + x + k);
		d->psr[x] = ecp_digamma(r + x);
		d->psb[x] = ecp_digamma(b + x + k);
		d->psab[x] = ecp_digamma(a + b + x + k);
		d->lbx[x] = x + k > 0 ? log(b + x - 1 + k) : 0.0;
		ll += w * (d->lgr[x] - lg_r + r * log_alpha +
				   lg_ab + d->lgb[x] - lg_b - d->lgab[x]);
		gr += w * (d->psr[x] - ps_r + log_alpha);
		galpha += w * r / alpha;
		ga += w * (ps_ab - d->psab[x]);
		gb += w * (ps_ab + d->psb[x] - ps_b - d->psab[x]);
	}

	/* log(exp(A3) + delta exp(A4)) per distinct triple */
	for (int64 i = 0; i < d->ntriples; i++)
	{
		const RfTriple *t = &d->triples[i];
		double		rx = r + t->x;
		double		a3 = -rx * d->log_at[t->T];

		if (t->x + k == 0)
		{
			ll += t->w * a3;
			gr -= t->w * d->log_at[t->T];
			galpha -= t->w * rx * d->inv_at[t->T];
		}
		else
		{
			double		a4 = log_a - d->lbx[t->x] - rx * d->log_at[t->t_x];
			double		m = Max(a3, a4);
			double		e3 = exp(a3 - m),
						e4 = exp(a4 - m);
			double		p3 = e3 / (e3 + e4),
						p4 = 1.0 - p3;

			ll += t->w * (m + log(e3 + e4));
			gr -= t->w * (p3 * d->log_at[t->T] + p4 * d->log_at[t->t_x]);
			galpha -= t->w * rx * (p3 * d->inv_at[t->T] + p4 * d->inv_at[t->t_x]);
			ga += t->w * p4 / a;
			gb -= t->w * p4 / (b + t->x - 1 + k);
		}
		if ((i & 65535) == 65535)
			CHECK_FOR_INTERRUPTS();
	}

	grad[0] = -gr * r / d->total_w;
	grad[1] = -galpha * alpha / d->total_w;
	grad[2] = -ga * a / d->total_w;
	grad[3] = -gb * b / d->total_w;
	return -ll / d->total_w;
}

/*
 * bgnbd_fit
 *		Maximum likelihood fit of the BG/NBD model (or, when modified, the
 *		MBG/NBD model) to the summaries, times divided by unit (days per
 *		time unit), from a few starting points.  The caller checks the data
 *		is not too thin and reports non-convergence.
 */
void
bgnbd_fit(const RfSummarySet *set, double unit, double penalizer,
		  bool modified, ModelFit *fit)
{
	BgData		d;
	double		mean_T = 0.0;
	double		starts[4][4] = {
		/* log r, log alpha (scaled below), log a, log b */
		{0.0, 0.0, 0.0, 0.0},
		{-0.69, -1.39, -0.22, 0.92},	/* 0.5, T/4, 0.8, 2.5 */
		{0.69, 0.0, -1.2, 1.61},	/* 2, T, 0.3, 5 */
		{-1.61, -3.0, 0.69, 0.0},	/* 0.2, T/20, 2, 1 */
	};

	bg_prepare(set, unit, modified, &d);
	for (int64 i = 0; i < set->n; i++)
		mean_T += set->rows[i].T / unit;
	mean_T = Max(mean_T / Max(set->n, 1), 1.0);
	for (int s = 1; s < 4; s++)
		starts[s][1] += log(mean_T);

	ecp_fit_model(bg_objective, &d, 4, &starts[0][0], 4, penalizer,
				  d.total_w, fit);
	fit->customers = set->n;
}

/*
 * bgnbd_loglik_one
 *		Log-likelihood of one customer's (x, t_x, T): the paper's (6).
 */
double
bgnbd_loglik_one(const double *prm, double x, double t_x, double T)
{
	double		r = prm[0],
				alpha = prm[1],
				a = prm[2],
				b = prm[3];
	double		a12 = lgamma(r + x) - lgamma(r) + r * log(alpha) +
		lgamma(a + b) + lgamma(b + x) - lgamma(b) - lgamma(a + b + x);
	double		a3 = -(r + x) * log(alpha + T);
	double		a4,
				m;

	if (x <= 0)
		return a12 + a3;
	a4 = log(a) - log(b + x - 1) - (r + x) * log(alpha + t_x);
	m = Max(a3, a4);
	return a12 + m + log(exp(a3 - m) + exp(a4 - m));
}

/*
 * bgnbd_log_p_alive_odds
 *		log((1 - P(alive)) / P(alive)) given (x, t_x, T); -infinity for
 *		x = 0 (a customer who never repeated has not had a chance to drop
 *		out: in BG/NBD dropout happens right after a purchase).
 *		P(alive) = 1 / (1 + exp(result)).
 */
double
bgnbd_log_p_alive_odds(const double *prm, double x, double t_x, double T)
{
	double		r = prm[0],
				alpha = prm[1],
				a = prm[2],
				b = prm[3];

	if (x <= 0)
		return -INFINITY;
	return log(a) - log(b + x - 1) +
		(r + x) * (log(alpha + T) - log(alpha + t_x));
}

/* bgnbd_expected_numerator away from a = 1 */
static double
expected_numerator(double r, double alpha, double a, double b, double x,
				   double T, double t)
{
	double		z = t / (alpha + T + t);
	double		lh = ecp_log_hyp2f1(r + x, b + x, a + b + x - 1, z);
	double		tail = exp(lh + (r + x) * (log(alpha + T) - log(alpha + T + t)));

	return (a + b + x - 1) / (a - 1) * (1.0 - tail);
}

/*
 * bgnbd_expected_numerator
 *		The part of E[Y(t) | x, t_x, T] (the paper's (10)) that does not
 *		depend on t_x:
 *		(a + b + x - 1) / (a - 1) *
 *		[1 - ((alpha + T) / (alpha + T + t))^(r + x) *
 *			 2F1(r + x, b + x; a + b + x - 1; t / (alpha + T + t))].
 *		E[Y(t)] = this * P(alive).  a = 1 is a removable singularity: within
 *		1e-5 of it the value is interpolated between a = 1 -/+ 1e-5 (error
 *		of order 1e-10).
 */
double
bgnbd_expected_numerator(const double *prm, double x, double T, double t)
{
	double		r = prm[0],
				alpha = prm[1],
				a = prm[2],
				b = prm[3];
	const double h = 1e-5;

	if (t <= 0)
		return 0.0;
	if (fabs(a - 1.0) < h)
	{
		double		lo = expected_numerator(r, alpha, 1.0 - h, b, x, T, t);
		double		hi = expected_numerator(r, alpha, 1.0 + h, b, x, T, t);

		return lo + (hi - lo) * (a - (1.0 - h)) / (2 * h);
	}
	return expected_numerator(r, alpha, a, b, x, T, t);
}

/*
 * bgnbd_expected_purchases
 *		E[Y(t) | x, t_x, T]: expected purchases in (T, T + t].
 */
double
bgnbd_expected_purchases(const double *prm, double t, double x,
						 double t_x, double T)
{
	double		odds = bgnbd_log_p_alive_odds(prm, x, t_x, T);

	return bgnbd_expected_numerator(prm, x, T, t) / (1.0 + exp(odds));
}
