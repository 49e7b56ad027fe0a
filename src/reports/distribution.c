/*-------------------------------------------------------------------------
 *
 * distribution.c
 *	  ecpower.distribution(): a segment's customers binned by a
 *	  per-customer measure over their selected orders (README "Feature reports").
 *
 * Measures, per customer with at least one selected order (selected gap
 * for interval_days):
 *
 *	amount			mean net amount of the selected orders
 *	order_count		number of selected orders
 *	items			mean items (sum of line quantities) per selected order
 *	interval_days	mean of the selected gaps.  The gap of order k >= 2 is
 *					date(k) - date(k - 1) over all counted orders; a gap is
 *					selected when order k is: second = the gap 1 -> 2,
 *					latest = the last gap, all and repeat = every gap (the
 *					same thing: order 1 has no gap), and the period keeps
 *					gaps whose later order is dated in it.  first has no
 *					gap and is rejected.
 *	lifetime_days	date of the last selected order - date of the first
 *
 * Every value is kept as an exact fraction num / den, so a value on a bin
 * edge always lands in the bin the edge opens, whatever the rounding of a
 * mean.  Automatic bins are 1-2-5 x 10^k steps covering the values up to
 * their 99th percentile (see auto_bins()).
 *
 * src/reports/distribution.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "catalog/pg_type.h"
#include "common/int.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/float.h"
#include "utils/numeric.h"
#include "utils/tuplestore.h"

#include "reports/report.h"

PG_FUNCTION_INFO_V1(distribution);

/* most bins an automatic binning makes */
#define AUTO_MAX_BINS	12

typedef enum Measure
{
	MEASURE_AMOUNT,
	MEASURE_ORDER_COUNT,
	MEASURE_ITEMS,
	MEASURE_INTERVAL_DAYS,
	MEASURE_LIFETIME_DAYS
} Measure;

static const char *const measure_names[] = {
	"amount", "order_count", "items", "interval_days", "lifetime_days"
};

/* smallest automatic step of a measure: 10^min_step_exp */
static const int min_step_exp[] = {-2, 0, -1, 0, 0};

/* a customer's value: num / den, den > 0 */
typedef struct Fraction
{
	int64		num;
	int64		den;
	double		approx;
} Fraction;

/* a bin edge */
typedef struct Edge
{
	Datum		value;			/* numeric */
	double		approx;
} Edge;

/* the measure named by a text argument; 22023 for NULL or unknown */
static Measure
parse_measure(text *measure)
{
	char	   *name;

	if (measure == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("measure must not be null")));
	name = text_to_cstring(measure);
	for (int i = 0; i < lengthof(measure_names); i++)
	{
		if (strcmp(name, measure_names[i]) == 0)
			return (Measure) i;
	}
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("unknown measure \"%s\"", name),
			 errhint("Use one of amount, order_count, items, interval_days, lifetime_days.")));
	return MEASURE_AMOUNT;		/* keep compiler quiet */
}

/* a numeric as double, for the fast path of comparisons */
static double
numeric_approx(Datum num)
{
	return DatumGetFloat8(DirectFunctionCall1(numeric_float8_no_overflow, num));
}

/* the given bins: a one-dimensional array of finite, strictly ascending edges */
static Edge *
parse_bins(ArrayType *arr, int *nedges)
{
	Datum	   *elems;
	bool	   *nulls;
	int			n;
	Edge	   *edges;

	if (ARR_NDIM(arr) != 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("bins must be a one-dimensional array with at least one edge")));
	deconstruct_array(arr, NUMERICOID, -1, false, TYPALIGN_INT, &elems, &nulls, &n);
	edges = palloc(sizeof(Edge) * n);
	for (int i = 0; i < n; i++)
	{
		if (nulls[i])
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("bins[%d] is null", i + 1)));
		if (numeric_is_nan(DatumGetNumeric(elems[i])) ||
			numeric_is_inf(DatumGetNumeric(elems[i])))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("bins[%d] is %s", i + 1,
							DatumGetCString(DirectFunctionCall1(numeric_out, elems[i]))),
					 errhint("Bin edges must be finite numbers.")));
		if (i > 0 &&
			DatumGetInt32(DirectFunctionCall2(numeric_cmp, elems[i - 1], elems[i])) >= 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("bins must be strictly ascending: bins[%d] = %s is not above bins[%d] = %s",
							i + 1, DatumGetCString(DirectFunctionCall1(numeric_out, elems[i])),
							i, DatumGetCString(DirectFunctionCall1(numeric_out, elems[i - 1])))));
		edges[i].value = elems[i];
		edges[i].approx = numeric_approx(elems[i]);
	}
	*nedges = n;
	return edges;
}

/* exact: is the fraction >= the edge?  (num >= edge * den) */
static bool
fraction_ge_edge(const Fraction *f, const Edge *e)
{
	double		scale = Max(fabs(f->approx), fabs(e->approx)) * 1e-9 + 1e-9;
	Datum		prod;

	if (f->approx > e->approx + scale)
		return true;
	if (f->approx < e->approx - scale)
		return false;
	prod = DirectFunctionCall2(numeric_mul, e->value,
							   NumericGetDatum(int64_to_numeric(f->den)));
	return DatumGetInt32(DirectFunctionCall2(numeric_cmp,
											 NumericGetDatum(int64_to_numeric(f->num)),
											 prod)) >= 0;
}

/* index of the bin holding f (largest i with edge i <= f), or -1 */
static int
find_bin(const Fraction *f, const Edge *edges, int nedges)
{
	int			lo = 0;
	int			hi = nedges - 1;
	int			found = -1;

	while (lo <= hi)
	{
		int			mid = (lo + hi) / 2;

		if (fraction_ge_edge(f, &edges[mid]))
		{
			found = mid;
			lo = mid + 1;
		}
		else
			hi = mid - 1;
	}
	return found;
}

/* mantissa * 10^exp as numeric */
static Datum
scaled_numeric(int64 mantissa, int exp)
{
	if (exp >= 0)
	{
		for (int i = 0; i < exp; i++)
		{
			if (pg_mul_s64_overflow(mantissa, 10, &mantissa))
				ereport(ERROR,
						(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
						 errmsg("distribution values out of range")));
		}
		return NumericGetDatum(int64_to_numeric(mantissa));
	}
	return NumericGetDatum(int64_div_fast_to_numeric(mantissa, -exp));
}

/*
 * auto_bins
 *		Readable edges covering [min, high]: the smallest step of the form
 *		{1, 2, 5} x 10^k (not below the measure's smallest step) that needs
 *		at most AUTO_MAX_BINS bins; the first edge is the largest multiple
 *		of the step not above the minimum.  The caller passes the 99th
 *		percentile as high: the open-ended last bin holds the long tail, so
 *		a few outliers do not squeeze everybody else into one bin.
 */
static Edge *
auto_bins(const Fraction *min, double high, int min_exp, int *nedges)
{
	static const int mult[3] = {1, 2, 5};
	Edge	   *edges;

	for (int exp = min_exp; exp < 19; exp++)
	{
		for (int i = 0; i < 3; i++)
		{
			double		step = mult[i] * pow(10.0, exp);
			double		first = floor(min->approx / step);
			double		last = floor(high / step);
			int64		j0;
			int			n;

			if (last - first + 1 > AUTO_MAX_BINS)
				continue;
			n = (int) (last - first) + 1;
			j0 = (int64) first;
			edges = palloc(sizeof(Edge) * (n + 1));
			/* the double division may have rounded up: step back if needed */
			for (;;)
			{
				edges[0].value = scaled_numeric(j0 * mult[i], exp);
				edges[0].approx = numeric_approx(edges[0].value);
				if (fraction_ge_edge(min, &edges[0]))
					break;
				j0--;
				n++;
			}
			for (int k = 1; k < n; k++)
			{
				edges[k].value = scaled_numeric((j0 + k) * mult[i], exp);
				edges[k].approx = numeric_approx(edges[k].value);
			}
			*nedges = n;
			return edges;
		}
	}
	ereport(ERROR,
			(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
			 errmsg("distribution values out of range")));
	return NULL;				/* keep compiler quiet */
}

/* qsort comparator of doubles */
static int
cmp_double(const void *pa, const void *pb)
{
	double		a = *(const double *) pa;
	double		b = *(const double *) pb;

	return (a > b) - (a < b);
}

/* a < b for fractions with positive denominators */
static bool
fraction_lt(const Fraction *a, const Fraction *b)
{
	double		scale = Max(fabs(a->approx), fabs(b->approx)) * 1e-9 + 1e-9;
	Datum		l;
	Datum		r;

	if (a->approx < b->approx - scale)
		return true;
	if (a->approx > b->approx + scale)
		return false;
	l = DirectFunctionCall2(numeric_mul,
							NumericGetDatum(int64_to_numeric(a->num)),
							NumericGetDatum(int64_to_numeric(b->den)));
	r = DirectFunctionCall2(numeric_mul,
							NumericGetDatum(int64_to_numeric(b->num)),
							NumericGetDatum(int64_to_numeric(a->den)));

	return DatumGetInt32(DirectFunctionCall2(numeric_cmp, l, r)) < 0;
}

/*
 * distribution(slug text, measure text, variant text, from_date date, to_date date,
 *				bins numeric[])
 *	RETURNS TABLE (bin int, lower numeric, upper numeric, customers bigint,
 *				   share numeric)
 */
Datum
distribution(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	EcpFetchSpec spec;
	EcpReportMembers m;
	Measure		measure;
	Edge	   *edges = NULL;
	int			nedges = 0;
	EcpReportSet *set;
	Fraction   *vals;
	int64		nvals = 0;
	int64	   *counts;
	int64		total = 0;

	measure = parse_measure(PG_ARGISNULL(1) ? NULL : PG_GETARG_TEXT_PP(1));
	memset(&spec, 0, sizeof(spec));
	spec.variant = ecp_parse_variant(PG_ARGISNULL(2) ? NULL : PG_GETARG_TEXT_PP(2));
	ecp_parse_period(fcinfo, 3, 4, &spec);
	if (measure == MEASURE_INTERVAL_DAYS && spec.variant == ECP_VARIANT_FIRST)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("measure \"interval_days\" is undefined for variant \"first\""),
				 errdetail("The gap of an order is the days since the order before it; the first order has none."),
				 errhint("Variant \"second\" gives the gap from the first to the second order.")));
	if (!PG_ARGISNULL(5))
		edges = parse_bins(PG_GETARG_ARRAYTYPE_P(5), &nedges);

	ecp_report_begin(fcinfo, 0, true, &m, &spec);
	spec.dimension = ECP_DIM_NONE;
	spec.want_amount = measure == MEASURE_AMOUNT;
	spec.want_items = measure == MEASURE_ITEMS;
	spec.want_dates = measure == MEASURE_INTERVAL_DAYS ||
		measure == MEASURE_LIFETIME_DAYS;
	set = ecp_report_fetch(&spec);

	/* the per-customer values */
	vals = palloc_extended(sizeof(Fraction) * Max(set->ncustomers, 1), MCXT_ALLOC_HUGE);
	for (int32 c = 0; c < set->ncustomers; c++)
	{
		int64		nsel = 0;
		int64		sum = 0;
		int64		ngaps = 0;
		DateADT		first_date = 0;
		DateADT		last_date = 0;
		Fraction   *f = &vals[nvals];

		if ((c & 0x3FFF) == 0)
			CHECK_FOR_INTERRUPTS();
		for (int64 o = set->cust_start[c]; o < set->cust_start[c + 1]; o++)
		{
			EcpReportOrder   *ord = &set->orders[o];

			if (!ord->selected)
				continue;
			switch (measure)
			{
				case MEASURE_AMOUNT:
					if (pg_add_s64_overflow(sum, ord->net_cents, &sum))
						ereport(ERROR,
								(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
								 errmsg("amount out of range")));
					break;
				case MEASURE_ITEMS:
					if (pg_add_s64_overflow(sum, ord->items, &sum))
						ereport(ERROR,
								(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
								 errmsg("item count out of range")));
					break;
				case MEASURE_INTERVAL_DAYS:
					if (ord->seq >= 2)
					{
						sum += set->local_date[o] - set->local_date[o - 1];
						ngaps++;
					}
					break;
				case MEASURE_LIFETIME_DAYS:
					if (nsel == 0)
						first_date = set->local_date[o];
					last_date = set->local_date[o];
					break;
				default:
					break;
			}
			nsel++;
		}
		if (nsel == 0)
			continue;
		switch (measure)
		{
			case MEASURE_AMOUNT:
				f->num = sum;
				f->den = 100 * nsel;
				break;
			case MEASURE_ORDER_COUNT:
				f->num = nsel;
				f->den = 1;
				break;
			case MEASURE_ITEMS:
				f->num = sum;
				f->den = nsel;
				break;
			case MEASURE_INTERVAL_DAYS:
				if (ngaps == 0)
					continue;
				f->num = sum;
				f->den = ngaps;
				break;
			case MEASURE_LIFETIME_DAYS:
				f->num = last_date - first_date;
				f->den = 1;
				break;
		}
		f->approx = (double) f->num / (double) f->den;
		nvals++;
	}

	if (edges == NULL)
	{
		Fraction   *min = NULL;
		double	   *approx;
		int64		k;

		if (nvals == 0)
			return (Datum) 0;
		for (int64 i = 0; i < nvals; i++)
		{
			if (min == NULL || fraction_lt(&vals[i], min))
				min = &vals[i];
		}
		/* the 99th percentile (nearest rank) */
		approx = palloc_extended(sizeof(double) * nvals, MCXT_ALLOC_HUGE);
		for (int64 i = 0; i < nvals; i++)
			approx[i] = vals[i].approx;
		qsort(approx, nvals, sizeof(double), cmp_double);
		k = (nvals * 99 + 99) / 100 - 1;
		edges = auto_bins(min, Max(approx[k], min->approx),
						  min_step_exp[measure], &nedges);
	}

	counts = palloc0(sizeof(int64) * nedges);
	for (int64 i = 0; i < nvals; i++)
	{
		int			b = find_bin(&vals[i], edges, nedges);

		if ((i & 0x3FFF) == 0)
			CHECK_FOR_INTERRUPTS();
		if (b >= 0)
		{
			counts[b]++;
			total++;
		}
	}

	for (int i = 0; i < nedges; i++)
	{
		Datum		values[5];
		bool		nulls[5] = {false, false, false, false, false};

		values[0] = Int32GetDatum(i + 1);
		values[1] = edges[i].value;
		if (i + 1 < nedges)
			values[2] = edges[i + 1].value;
		else
			nulls[2] = true;
		values[3] = Int64GetDatum(counts[i]);
		if (total > 0)
			values[4] = ecp_report_ratio(counts[i], total);
		else
			nulls[4] = true;
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}
