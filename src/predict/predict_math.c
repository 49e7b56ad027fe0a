/*-------------------------------------------------------------------------
 *
 * predict_math.c
 *	  Numerical toolbox of the prediction models: digamma, the Gaussian
 *	  hypergeometric function 2F1 on [0, 1) and a BFGS minimiser.
 *
 * The models need nothing more exotic than these, so they are written
 * here rather than pulled in from a numerical library: the hypergeometric
 * series is summed with rescaling (no overflow for customers with
 * thousands of purchases) and, where it converges faster, through Euler's
 * transformation, as lifetimes does with scipy.
 *
 * src/predict/predict_math.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "miscadmin.h"

#include "predict/predict.h"

/* series terms before the hypergeometric sum gives up */
#define HYP2F1_MAX_TERMS	1000000

/* log-parameters beyond this mean the fit is running off to a boundary */
#define MAX_LOG_PARAM		20.0

/*
 * ecp_digamma
 *		psi(x) = d/dx lgamma(x) for x > 0: the recurrence
 *		psi(x) = psi(x + 1) - 1/x up to x >= 6, then the asymptotic series
 *		(absolute error below 1e-13).
 */
double
ecp_digamma(double x)
{
	double		result = 0.0;
	double		inv,
				inv2;

	if (!(x > 0.0) || isinf(x))
		return isinf(x) ? x : NAN;

	while (x < 6.0)
	{
		result -= 1.0 / x;
		x += 1.0;
	}
	inv = 1.0 / x;
	inv2 = inv * inv;
	result += log(x) - 0.5 * inv -
		inv2 * (1.0 / 12 - inv2 * (1.0 / 120 - inv2 * (1.0 / 252 -
													  inv2 * (1.0 / 240 - inv2 * (1.0 / 132)))));
	return result;
}

/*
 * Sum the hypergeometric series of 2F1(a, b; c; z), 0 <= z < 1, as
 * sign * exp(*logsum).  The running sum is rescaled whenever it grows
 * past 1e280 so that huge intermediate terms cannot overflow.  Returns
 * false when the series did not converge or the sum is not positive.
 */
static bool
hyp2f1_series(double a, double b, double c, double z, double *logsum)
{
	double		term = 1.0;
	double		sum = 1.0;
	double		logscale = 0.0;

	for (int j = 0; j < HYP2F1_MAX_TERMS; j++)
	{
		double		ratio;

		if (c + j == 0.0)
			return false;
		ratio = (a + j) * (b + j) / ((c + j) * (j + 1.0)) * z;
		term *= ratio;
		sum += term;
		if (!isfinite(sum))
			return false;
		if (fabs(sum) > 1e280)
		{
			logscale += log(fabs(sum));
			term /= fabs(sum);
			sum = sum > 0 ? 1.0 : -1.0;
		}
		/* stop once terms are negligible and shrinking */
		if (fabs(term) <= 1e-17 * fabs(sum) && fabs(ratio) < 1.0 && j > 2)
		{
			if (!(sum > 0.0))
				return false;
			*logsum = logscale + log(sum);
			return true;
		}
		if ((j & 1023) == 1023)
			CHECK_FOR_INTERRUPTS();
	}
	return false;
}

/*
 * ecp_log_hyp2f1
 *		log 2F1(a, b; c; z) for 0 <= z < 1 (NaN when it cannot be
 *		computed).  Uses the direct series or Euler's transformation
 *		2F1(a, b; c; z) = (1 - z)^(c - a - b) 2F1(c - a, c - b; c; z),
 *		whichever has the smaller numerator parameters (its terms then
 *		decay sooner), and the other one when the first fails.
 */
double
ecp_log_hyp2f1(double a, double b, double c, double z)
{
	double		direct,
				euler;
	bool		euler_first;

	if (!(z >= 0.0 && z < 1.0))
		return NAN;
	if (z == 0.0)
		return 0.0;

	euler_first = fabs(c - a) + fabs(c - b) < fabs(a) + fabs(b);
	if (euler_first)
	{
		if (hyp2f1_series(c - a, c - b, c, z, &euler))
			return euler + (c - a - b) * log1p(-z);
		if (hyp2f1_series(a, b, c, z, &direct))
			return direct;
	}
	else
	{
		if (hyp2f1_series(a, b, c, z, &direct))
			return direct;
		if (hyp2f1_series(c - a, c - b, c, z, &euler))
			return euler + (c - a - b) * log1p(-z);
	}
	return NAN;
}

/* largest absolute component of a vector */
static double
max_abs(const double *v, int n)
{
	double		m = 0.0;

	for (int i = 0; i < n; i++)
		m = Max(m, fabs(v[i]));
	return m;
}

/* H := identity */
static void
set_identity(double *H, int n)
{
	for (int i = 0; i < n; i++)
		for (int j = 0; j < n; j++)
			H[i * n + j] = (i == j) ? 1.0 : 0.0;
}

/*
 * ecp_minimize
 *		Minimise fn over R^n (n <= 8) from theta by BFGS with a backtracking
 *		(Armijo) line search; theta receives the minimiser.  Converged means
 *		the largest gradient component fell below gtol; when the line search
 *		can no longer make progress (or three steps in a row gain less than
 *		1e-12 relative: the objective's rounding noise) the run ends and
 *		converged says whether the gradient is at least below 100 * gtol.  A run whose parameters
 *		leave [-20, 20] (the optimum is at 0 or infinity) stops unconverged.
 *		Returns the number of iterations.
 */
int
ecp_minimize(ObjectiveFn fn, void *arg, double *theta, int n,
			 int max_iter, double gtol, bool *converged)
{
	double		H[64],
				g[8],
				gnew[8],
				d[8],
				s[8],
				y[8],
				xnew[8],
				Hy[8];
	double		f,
				fnew = 0.0;
	int			iter;
	int			stalled = 0;	/* iterations in a row without real progress */
	bool		fresh = true;	/* H is the (scaled) identity */

	Assert(n <= 8);
	*converged = false;
	f = fn(theta, g, arg);
	if (!isfinite(f))
		return 0;
	set_identity(H, n);

	for (iter = 0; iter < max_iter; iter++)
	{
		double		slope = 0.0;
		double		step = 1.0;
		double		dmax;
		double		sy = 0.0,
					yHy = 0.0;
		bool		accepted = false;

		CHECK_FOR_INTERRUPTS();
		if (max_abs(g, n) < gtol)
		{
			*converged = true;
			return iter;
		}

		for (int i = 0; i < n; i++)
		{
			d[i] = 0.0;
			for (int j = 0; j < n; j++)
				d[i] -= H[i * n + j] * g[j];
			slope += d[i] * g[i];
		}
		if (!(slope < 0.0))
		{
			/* not a descent direction: fall back to steepest descent */
			set_identity(H, n);
			fresh = true;
			slope = 0.0;
			for (int i = 0; i < n; i++)
			{
				d[i] = -g[i];
				slope -= g[i] * g[i];
			}
		}
		/* parameters are logarithms: never jump by more than e^3 at once */
		dmax = max_abs(d, n);
		if (dmax > 3.0)
			step = 3.0 / dmax;

		for (int k = 0; k < 40; k++)
		{
			for (int i = 0; i < n; i++)
				xnew[i] = theta[i] + step * d[i];
			fnew = fn(xnew, gnew, arg);
			if (isfinite(fnew) && fnew <= f + 1e-4 * step * slope)
			{
				accepted = true;
				break;
			}
			step *= 0.5;
		}
		if (!accepted)
		{
			if (!fresh)
			{
				/* the curvature estimate misled us: start it over */
				set_identity(H, n);
				fresh = true;
				continue;
			}
			break;
		}

		for (int i = 0; i < n; i++)
		{
			s[i] = xnew[i] - theta[i];
			y[i] = gnew[i] - g[i];
			sy += s[i] * y[i];
		}
		memcpy(theta, xnew, sizeof(double) * n);
		memcpy(g, gnew, sizeof(double) * n);
		/* a parameter beyond e^+-20: the maximum is at the boundary */
		if (max_abs(theta, n) > MAX_LOG_PARAM)
			return iter + 1;
		/* at the limit of floating-point precision: stop */
		if (f - fnew <= 1e-12 * Max(1.0, fabs(f)))
		{
			if (++stalled >= 3)
			{
				f = fnew;
				break;
			}
		}
		else
			stalled = 0;
		f = fnew;

		if (sy > 1e-300)
		{
			if (fresh)
			{
				double		yy = 0.0;

				for (int i = 0; i < n; i++)
					yy += y[i] * y[i];
				/* Shanno-Phua scaling of the first inverse Hessian */
				for (int i = 0; i < n * n; i++)
					H[i] *= sy / yy;
				fresh = false;
			}
			for (int i = 0; i < n; i++)
			{
				Hy[i] = 0.0;
				for (int j = 0; j < n; j++)
					Hy[i] += H[i * n + j] * y[j];
				yHy += y[i] * Hy[i];
			}
			/* H += (sy + yHy) s s' / sy^2 - (Hy s' + s Hy') / sy */
			for (int i = 0; i < n; i++)
				for (int j = 0; j < n; j++)
					H[i * n + j] += (sy + yHy) * s[i] * s[j] / (sy * sy) -
						(Hy[i] * s[j] + s[i] * Hy[j]) / sy;
		}
	}
	*converged = max_abs(g, n) < 100 * gtol;
	return iter;
}

/* an objective plus penalizer * |theta|^2 */
typedef struct Penalized
{
	ObjectiveFn fn;
	void	   *arg;
	double		penalizer;
	int			n;
	int64		evaluations;
} Penalized;

/* value and gradient of a Penalized objective */
static double
penalized_objective(const double *theta, double *grad, void *arg)
{
	Penalized  *pen = (Penalized *) arg;
	double		f = pen->fn(theta, grad, pen->arg);

	pen->evaluations++;

	for (int i = 0; i < pen->n; i++)
	{
		f += pen->penalizer * theta[i] * theta[i];
		grad[i] += 2 * pen->penalizer * theta[i];
	}
	return f;
}

/*
 * ecp_fit_model
 *		Minimise fn (a mean negative log-likelihood over n log-parameters)
 *		plus penalizer * sum(theta_i^2) from each of the nstarts starting
 *		points (rows of starts), keeping the best.  Once two runs have
 *		ended at the same value the remaining starts are skipped.  Fills
 *		fit with exp(theta), the log-likelihood (without the penalty, times
 *		total_w), convergence and the iterations of every run.
 */
void
ecp_fit_model(ObjectiveFn fn, void *arg, int n, const double *starts,
			  int nstarts, double penalizer, double total_w, ModelFit *fit)
{
	Penalized	pen;
	double		best[8];
	double		best_f = INFINITY;
	double		grad[8];
	int			agreeing = 0;

	Assert(n <= 8);
	pen.fn = fn;
	pen.arg = arg;
	pen.penalizer = penalizer;
	pen.n = n;
	pen.evaluations = 0;
	memcpy(best, starts, sizeof(double) * n);
	fit->converged = false;
	fit->iterations = 0;

	for (int s = 0; s < nstarts && agreeing < 2; s++)
	{
		double		theta[8];
		bool		conv;
		double		f;

		memcpy(theta, starts + s * n, sizeof(double) * n);
		fit->iterations += ecp_minimize(penalized_objective, &pen, theta, n,
										300, 1e-7, &conv);
		f = penalized_objective(theta, grad, &pen);
		elog(DEBUG1, "model fit start %d: objective %.15g, converged %d, evaluations %lld",
			 s, f, (int) conv, (long long) pen.evaluations);
		if (!isfinite(f))
			continue;
		/* two runs ending at the same value: further starts are moot */
		if (fabs(f - best_f) <= 1e-7 * Max(1.0, fabs(f)))
			agreeing = 2;
		else if (agreeing == 0)
			agreeing = 1;
		if (f < best_f - 1e-12 * Max(1.0, fabs(f)) ||
			(conv && !fit->converged && f <= best_f + 1e-9 * Max(1.0, fabs(f))))
		{
			best_f = f;
			memcpy(best, theta, sizeof(double) * n);
			fit->converged = conv;
		}
	}

	fit->nparams = n;
	for (int i = 0; i < n; i++)
		fit->params[i] = exp(best[i]);
	fit->log_likelihood = -fn(best, grad, arg) * total_w;
}
