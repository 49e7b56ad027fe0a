/*-------------------------------------------------------------------------
 *
 * mbgnbd.c
 *	  The MBG/NBD repeat-purchase model (Batislam, Denizel & Filiztekin
 *	  2007, "Empirical validation and comparison of models for customer
 *	  base analysis", IJRM 24(3)): per-customer likelihood, P(alive) and
 *	  expected purchases.
 *
 * MBG/NBD is BG/NBD with one change: a customer may also drop out right
 * after her first purchase, at time zero.  Purchases while alive follow a
 * Poisson rate lambda ~ Gamma(r, alpha); after every purchase (the first
 * one included) she drops out with probability p ~ Beta(a, b).  So a
 * one-time buyer who has been silent for long is probably gone, where
 * BG/NBD keeps her alive for sure.
 *
 * The fit shares BG/NBD's likelihood code (bgnbd.c, bg_objective with
 * shift = 1).  The expectations below are BG/NBD's with b + 1 in place of
 * b in the beta-function terms, which is how the extra dropout chance at
 * time zero enters.
 *
 * src/predict/mbgnbd.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "predict/predict.h"

/*
 * mbgnbd_loglik_one
 *		Log-likelihood of one customer's (x, t_x, T):
 *		lgamma(r + x) - lgamma(r) + r log(alpha)
 *		+ lgamma(a + b) + lgamma(b + x + 1) - lgamma(b) - lgamma(a + b + x + 1)
 *		+ log((alpha + T)^-(r + x) + a / (b + x) (alpha + t_x)^-(r + x)).
 */
double
mbgnbd_loglik_one(const double *prm, double x, double t_x, double T)
{
	double		r = prm[0],
				alpha = prm[1],
				a = prm[2],
				b = prm[3];
	double		a12 = lgamma(r + x) - lgamma(r) + r * log(alpha) +
		lgamma(a + b) + lgamma(b + x + 1) - lgamma(b) - lgamma(a + b + x + 1);
	double		a3 = -(r + x) * log(alpha + T);
	double		a4 = log(a) - log(b + x) - (r + x) * log(alpha + t_x);
	double		m = Max(a3, a4);

	return a12 + m + log(exp(a3 - m) + exp(a4 - m));
}

/*
 * mbgnbd_log_p_alive_odds
 *		log((1 - P(alive)) / P(alive)) given (x, t_x, T):
 *		log(a / (b + x)) + (r + x) log((alpha + T) / (alpha + t_x)),
 *		finite for x = 0 too.  P(alive) = 1 / (1 + exp(result)).
 */
double
mbgnbd_log_p_alive_odds(const double *prm, double x, double t_x, double T)
{
	double		r = prm[0],
				alpha = prm[1],
				a = prm[2],
				b = prm[3];

	return log(a) - log(b + x) +
		(r + x) * (log(alpha + T) - log(alpha + t_x));
}

/*
 * mbgnbd_expected_numerator
 *		The part of E[Y(t) | x, t_x, T] that does not depend on t_x:
 *		(a + b + x) / (a - 1) *
 *		[1 - ((alpha + T) / (alpha + T + t))^(r + x) *
 *			 2F1(r + x, b + x + 1; a + b + x; t / (alpha + T + t))],
 *		which is BG/NBD's numerator with b + 1 for b.  E[Y(t)] = this *
 *		P(alive).
 */
double
mbgnbd_expected_numerator(const double *prm, double x, double T, double t)
{
	double		shifted[4];

	shifted[0] = prm[0];
	shifted[1] = prm[1];
	shifted[2] = prm[2];
	shifted[3] = prm[3] + 1.0;
	return bgnbd_expected_numerator(shifted, x, T, t);
}
