/*-------------------------------------------------------------------------
 *
 * gammagamma.c
 *	  The Gamma-Gamma spend model (Fader, Hardie & Lee 2005, "RFM and CLV:
 *	  using iso-value curves for customer base analysis", JMR 42(4); the
 *	  note "The Gamma-Gamma model of monetary value", 2013), as fitted by
 *	  the lifetimes package.
 *
 * A customer's spend per purchase is Gamma(p, nu) with nu ~ Gamma(q, v);
 * the data are x repeat purchases with mean spend m.  Only customers with
 * repeat purchases and a positive mean repeat spend enter the likelihood.
 * The fit minimises the mean negative log-likelihood (plus an optional L2
 * penalty on the log-parameters, see ecp_fit_model) over log-parameters
 * with analytic gradients.  The gamma-function terms depend on x only and are computed
 * once per distinct x per evaluation; what remains per customer is one log
 * of (x m + v), computed once per distinct (x, x m) pair.
 *
 * src/predict/gammagamma.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "miscadmin.h"
#include "utils/memutils.h"

#include "predict/predict.h"

/* a distinct (x, total repeat spend) pair with its customer count */
typedef struct GgPair
{
	int32		x;
	int64		cents;			/* x * m, in cents */
	double		w;
} GgPair;

/* what the objective needs */
typedef struct GgData
{
	GgPair	   *pairs;
	int64		npairs;
	double		total_w;
	int32		max_x;
	double	   *w_x;			/* customers per x */
	double	   *wpx_x;			/* sum of w * (log m + log x) per x */
} GgData;

/* qsort comparator: pairs by (x, cents) */
static int
pair_cmp(const void *a, const void *b)
{
	const GgPair *pa = (const GgPair *) a;
	const GgPair *pb = (const GgPair *) b;

	if (pa->x != pb->x)
		return pa->x < pb->x ? -1 : 1;
	if (pa->cents != pb->cents)
		return pa->cents < pb->cents ? -1 : 1;
	return 0;
}

/*
 * The objective at log-parameters theta and its gradient.  Per customer
 * (lifetimes' form of the likelihood):
 *	 lgamma(px + q) - lgamma(px) - lgamma(q) + q log v + (px - 1) log m
 *	 + px log x - (px + q) log(x m + v)
 */
static double
gg_objective(const double *theta, double *grad, void *arg)
{
	GgData	   *d = (GgData *) arg;
	double		p = exp(theta[0]),
				q = exp(theta[1]),
				v = exp(theta[2]);
	double		ll = 0.0,
				gp = 0.0,
				gq = 0.0,
				gv = 0.0;
	double		lg_q = lgamma(q),
				ps_q = ecp_digamma(q),
				log_v = log(v);

	if (!isfinite(p) || !isfinite(q) || !isfinite(v) ||
		p <= 0 || q <= 0 || v <= 0)
		return NAN;

	for (int x = 1; x <= d->max_x; x++)
	{
		double		w = d->w_x[x];
		double		px = p * x;
		double		ps_pxq,
					ps_px;

		if (w == 0.0)
			continue;
		ps_pxq = ecp_digamma(px + q);
		ps_px = ecp_digamma(px);
		/* sum over customers of (px - 1) log m + px log x, from the sums */
		ll += w * (lgamma(px + q) - lgamma(px) - lg_q + q * log_v) +
			px * d->wpx_x[x] - (d->wpx_x[x] - w * log((double) x));
		gp += x * (w * (ps_pxq - ps_px) + d->wpx_x[x]);
		gq += w * (ps_pxq - ps_q + log_v);
		gv += w * q / v;
	}
	for (int64 i = 0; i < d->npairs; i++)
	{
		const GgPair *pr = &d->pairs[i];
		double		s = pr->cents / 100.0 + v;
		double		k = p * pr->x + q;
		double		ls = log(s);

		ll -= pr->w * k * ls;
		gp -= pr->w * pr->x * ls;
		gq -= pr->w * ls;
		gv -= pr->w * k / s;
		if ((i & 65535) == 65535)
			CHECK_FOR_INTERRUPTS();
	}

	grad[0] = -gp * p / d->total_w;
	grad[1] = -gq * q / d->total_w;
	grad[2] = -gv * v / d->total_w;
	return -ll / d->total_w;
}

/*
 * gammagamma_fit
 *		Maximum likelihood fit of the Gamma-Gamma model to the customers
 *		with x > 0 and positive repeat spend.  fit->customers is how many
 *		those are; the caller checks there are enough.
 */
void
gammagamma_fit(const RfSummarySet *set, double penalizer, ModelFit *fit)
{
	GgData		d;
	GgPair	   *pr;
	int64		n = 0,
				k = 0;
	double		mean_m = 0.0;
	double		starts[3][3];

	memset(&d, 0, sizeof(d));
	if ((Size) set->n > MaxAllocHugeSize / sizeof(GgPair))
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("too many customers for a fit: %lld", (long long) set->n)));
	pr = palloc_extended(sizeof(GgPair) * Max(set->n, 1), MCXT_ALLOC_HUGE);
	for (int64 i = 0; i < set->n; i++)
	{
		const RfSummary *s = &set->rows[i];

		if (s->x <= 0 || s->repeat_cents <= 0)
			continue;
		pr[n].x = s->x;
		pr[n].cents = s->repeat_cents;
		pr[n].w = 1.0;
		d.max_x = Max(d.max_x, s->x);
		mean_m += s->repeat_cents / 100.0 / s->x;
		n++;
	}
	fit->nparams = 3;
	fit->customers = n;
	fit->converged = false;
	fit->iterations = 0;
	fit->log_likelihood = NAN;
	if (n == 0)
		return;
	mean_m /= n;

	d.w_x = palloc0(sizeof(double) * (d.max_x + 1));
	d.wpx_x = palloc0(sizeof(double) * (d.max_x + 1));
	for (int64 i = 0; i < n; i++)
	{
		double		m = pr[i].cents / 100.0 / pr[i].x;

		d.w_x[pr[i].x] += 1.0;
		d.wpx_x[pr[i].x] += log(m) + log((double) pr[i].x);
	}
	qsort(pr, n, sizeof(GgPair), pair_cmp);
	for (int64 i = 0; i < n; i++)
	{
		if (k > 0 && pair_cmp(&pr[k - 1], &pr[i]) == 0)
			pr[k - 1].w += 1.0;
		else
			pr[k++] = pr[i];
	}
	d.pairs = pr;
	d.npairs = k;
	d.total_w = (double) n;

	/* (log p, log q, log v) starting points */
	starts[0][0] = starts[0][1] = starts[0][2] = 0.0;
	starts[1][0] = log(5.0);
	starts[1][1] = log(3.0);
	starts[1][2] = log(Max(mean_m, 1.0) * 0.5);
	starts[2][0] = log(2.0);
	starts[2][1] = log(10.0);
	starts[2][2] = log(Max(mean_m, 1.0) * 5.0);
	ecp_fit_model(gg_objective, &d, 3, &starts[0][0], 3, penalizer,
				  d.total_w, fit);
	fit->customers = n;
}

/*
 * gammagamma_expected_spend
 *		E[M | p, q, v, x, m]: the posterior mean spend per purchase, a
 *		weighted mean of the population mean v p / (q - 1) and the
 *		customer's own mean m with weight p x / (p x + q - 1).  x = 0 (or a
 *		non-positive m) gives the population mean.  NaN when q <= 1 (the
 *		population mean is then infinite).
 */
double
gammagamma_expected_spend(const double *prm, double x, double mean_spend)
{
	double		p = prm[0],
				q = prm[1],
				v = prm[2];
	double		pop,
				wi;

	if (!(q > 1.0))
		return NAN;
	pop = v * p / (q - 1.0);
	if (x <= 0 || !(mean_spend > 0))
		return pop;
	wi = p * x / (p * x + q - 1.0);
	return (1.0 - wi) * pop + wi * mean_spend;
}
