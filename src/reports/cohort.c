/*-------------------------------------------------------------------------
 *
 * cohort.c
 *	  ecpower.cohorts() and ecpower.cohort_summary() (README "KPIs, cohorts and journeys").
 *
 * One pass over the members' counted orders as of the last refresh.  The
 * cohorts span the months from the earliest first order to the as_of
 * month, so per-cohort tallies are dense arrays indexed by month; months
 * without a first order produce no row.
 *
 * src/reports/cohort.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/datetime.h"

#include "core/access.h"
#include "reports/cohort.h"
#include "core/ecpower.h"
#include "reports/kpi.h"
#include "segments/membership.h"
#include "timeline/orders.h"

PG_FUNCTION_INFO_V1(cohorts);
PG_FUNCTION_INFO_V1(cohort_summary);

/* most month offsets cohorts() accepts (100 years) */
#define MAX_COHORT_MONTHS	1200

/* windows of cohort_summary's LTV columns, in months */
static const int ltv_months[3] = {3, 6, 12};

/* the members and orders a cohort report reads */
typedef struct CohortInput
{
	EcpRun		run;
	EcpCountedSet *os;
	EcpKeySet	ks;
	int			first_month;	/* month index of the earliest first order */
	int			ncohorts;		/* months from first_month to the as_of month */
} CohortInput;

/* load the members of a slug (NULL: whole store) and their orders */
static void
cohort_input(FunctionCallInfo fcinfo, CohortInput *in)
{
	text	   *slug = PG_ARGISNULL(0) ? NULL : PG_GETARG_TEXT_PP(0);
	roaring_bitmap_t *members;
	int			asof_month;

	ecp_check_input_access(ECP_INPUT_ALL);
	ecp_require_current_run(&in->run);
	members = ecp_report_members(slug, &in->run);
	in->os = ecp_counted_orders(ecp_keymap_load(), members, in->run.as_of,
								ecp_store_calendar());
	in->ks = ecp_report_keys(in->os, members);

	asof_month = ecp_month_index(in->run.as_of_date);
	in->first_month = asof_month;
	for (int64 i = 0; i < in->ks.n; i++)
	{
		int64		lo = in->os->start[in->ks.keys[i]];

		if (lo < in->os->start[in->ks.keys[i] + 1])
			in->first_month = Min(in->first_month, ecp_month_index(in->os->day[lo]));
	}
	in->ncohorts = asof_month - in->first_month + 1;
}

/* first day of a month index */
static DateADT
month_date(int month_index)
{
	return date2j(month_index / 12, month_index % 12 + 1, 1) - POSTGRES_EPOCH_JDATE;
}

/*
 * cohorts(slug text, months int DEFAULT 12) RETURNS TABLE (cohort_month date,
 *		customers int, month_offset int, active_customers int,
 *		retention numeric, revenue numeric, cumulative_ltv numeric)
 *		One row per cohort and month offset 0 <= k < months, up to the as_of
 *		month: members with an order in month k, their net revenue and the
 *		cohort's net revenue in months 0..k per customer.
 */
Datum
cohorts(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	int32		months;
	CohortInput in;
	int64	   *size;
	int64	   *active;			/* [cohort * months + offset] */
	int64	   *revenue;

	if (PG_ARGISNULL(1) || PG_GETARG_INT32(1) < 1 ||
		PG_GETARG_INT32(1) > MAX_COHORT_MONTHS)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("months must be between 1 and %d", MAX_COHORT_MONTHS)));
	months = PG_GETARG_INT32(1);

	InitMaterializedSRF(fcinfo, MAT_SRF_USE_EXPECTED_DESC);
	cohort_input(fcinfo, &in);

	size = palloc0(sizeof(int64) * in.ncohorts);
	active = palloc0(sizeof(int64) * in.ncohorts * months);
	revenue = palloc0(sizeof(int64) * in.ncohorts * months);
	for (int64 i = 0; i < in.ks.n; i++)
	{
		int64		lo = in.os->start[in.ks.keys[i]];
		int64		hi = in.os->start[in.ks.keys[i] + 1];
		int			first;
		int			c;
		int			last = -1;

		if (lo == hi)
			continue;
		first = ecp_month_index(in.os->day[lo]);
		c = first - in.first_month;
		size[c]++;
		for (int64 j = lo; j < hi; j++)
		{
			int			k = ecp_month_index(in.os->day[j]) - first;

			if (k >= months)
				break;
			if (k != last)
				active[c * months + k]++;
			last = k;
			revenue[c * months + k] += in.os->cents[j];
		}
		if ((i & 0xFFFF) == 0)
			CHECK_FOR_INTERRUPTS();
	}

	for (int c = 0; c < in.ncohorts; c++)
	{
		int64		cumulative = 0;

		if (size[c] == 0)
			continue;
		for (int k = 0; k < months && c + k < in.ncohorts; k++)
		{
			Datum		values[7];
			bool		nulls[7] = {false, false, false, false, false, false, false};

			cumulative += revenue[c * months + k];
			values[0] = DateADTGetDatum(month_date(in.first_month + c));
			values[1] = Int32GetDatum((int32) size[c]);
			values[2] = Int32GetDatum(k);
			values[3] = Int32GetDatum((int32) active[c * months + k]);
			values[4] = ecp_int_ratio(active[c * months + k], size[c], 4, &nulls[4]);
			values[5] = ecp_cents_to_numeric(revenue[c * months + k]);
			values[6] = ecp_cents_ratio(cumulative, size[c], 2, &nulls[6]);
			tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
		}
	}
	return (Datum) 0;
}

/*
 * cohort_summary(slug text) RETURNS TABLE (cohort_month date, customers int,
 *		ltv_3m numeric, ltv_6m numeric, ltv_12m numeric, f2_rate numeric,
 *		f2_rate_90d numeric)
 *		Per cohort: mean net revenue of orders dated before first order date
 *		+ 3/6/12 months, share with a second order, share with a second order
 *		at most 90 days after the first.  A windowed value is NULL until the
 *		last day of the cohort month + the window <= as_of_date.
 */
Datum
cohort_summary(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	CohortInput in;
	int64	   *size;
	int64	   *ltv[3];
	int64	   *f2;
	int64	   *f2_90;

	InitMaterializedSRF(fcinfo, MAT_SRF_USE_EXPECTED_DESC);
	cohort_input(fcinfo, &in);

	size = palloc0(sizeof(int64) * in.ncohorts);
	f2 = palloc0(sizeof(int64) * in.ncohorts);
	f2_90 = palloc0(sizeof(int64) * in.ncohorts);
	for (int w = 0; w < 3; w++)
		ltv[w] = palloc0(sizeof(int64) * in.ncohorts);

	for (int64 i = 0; i < in.ks.n; i++)
	{
		int64		lo = in.os->start[in.ks.keys[i]];
		int64		hi = in.os->start[in.ks.keys[i] + 1];
		DateADT		first;
		int			c;

		if (lo == hi)
			continue;
		first = in.os->day[lo];
		c = ecp_month_index(first) - in.first_month;
		size[c]++;
		if (hi - lo >= 2)
		{
			f2[c]++;
			if (in.os->day[lo + 1] - first <= 90)
				f2_90[c]++;
		}
		for (int w = 0; w < 3; w++)
		{
			DateADT		end = ecp_add_months(first, ltv_months[w]);

			for (int64 j = lo; j < hi && in.os->day[j] < end; j++)
				ltv[w][c] += in.os->cents[j];
		}
		if ((i & 0xFFFF) == 0)
			CHECK_FOR_INTERRUPTS();
	}

	for (int c = 0; c < in.ncohorts; c++)
	{
		DateADT		month = month_date(in.first_month + c);
		DateADT		last_day = ecp_add_months(month, 1) - 1;
		Datum		values[7];
		bool		nulls[7] = {false, false, false, false, false, false, false};

		if (size[c] == 0)
			continue;
		values[0] = DateADTGetDatum(month);
		values[1] = Int32GetDatum((int32) size[c]);
		for (int w = 0; w < 3; w++)
		{
			if (ecp_add_months(last_day, ltv_months[w]) <= in.run.as_of_date)
				values[2 + w] = ecp_cents_ratio(ltv[w][c], size[c], 2, &nulls[2 + w]);
			else
				nulls[2 + w] = true;
		}
		values[5] = ecp_int_ratio(f2[c], size[c], 4, &nulls[5]);
		if (last_day + 90 <= in.run.as_of_date)
			values[6] = ecp_int_ratio(f2_90[c], size[c], 4, &nulls[6]);
		else
			nulls[6] = true;
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}
