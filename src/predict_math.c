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
 * src/predict_math.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "miscadmin.h"

#include "predict.h"

/* series terms before the hypergeometric sum gives up */
#define HYP2F1_MAX_TERMS	1000000

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
 *		can no longer make progress the run ends and converged says whether
 *		the gradient is at least below sqrt(gtol).  Returns the number of
 *		iterations.
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

		for (int k = 0; k < 60; k++)
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
		/* at the limit of floating-point precision: stop */
		if (f - fnew <= 1e-15 * Max(1.0, fabs(f)))
		{
			if (++stalled >= 5)
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
	*converged = max_abs(g, n) < sqrt(gtol);
	return iter;
}
