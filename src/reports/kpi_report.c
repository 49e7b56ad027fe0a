/*-------------------------------------------------------------------------
 *
 * kpi_report.c
 *	  Segment KPI reports (README "KPIs, cohorts and journeys"): segment_kpis, ltv_window,
 *	  compare_segments, segment_revenue and the KPI snapshot a refresh
 *	  stores for segment_history.
 *
 * Every report answers as of the last successful refresh: its members and
 * the counted orders up to its as_of.  Each makes one pass over the counted
 * orders (ecp_counted_orders) and then walks the members' keys.
 *
 * src/reports/kpi_report.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/memutils.h"
#include "utils/numeric.h"

#include "core/access.h"
#include "core/ecpower.h"
#include "reports/kpi.h"
#include "segments/membership.h"
#include "timeline/orders.h"

PG_FUNCTION_INFO_V1(segment_kpis);
PG_FUNCTION_INFO_V1(ltv_window);
PG_FUNCTION_INFO_V1(compare_segments);
PG_FUNCTION_INFO_V1(segment_revenue);
PG_FUNCTION_INFO_V1(snapshot_kpis);

/* most periods segment_revenue returns per segment */
#define MAX_PERIODS		100000

/* most months cohorts() and ltv_window() accept */
#define MAX_MONTHS		1200

/* feed the customers of 'ks' with their orders dated in [from, to] */
static void
kpi_acc_keys(KpiAcc *acc, EcpCountedSet *os, EcpKeySet *ks, DateADT from, DateADT to)
{
	for (int64 i = 0; i < ks->n; i++)
	{
		int64		lo,
					hi;

		ecp_orders_between(os, ks->keys[i], from, to, &lo, &hi);
		kpi_acc_customer(acc, os->day + lo, os->cents + lo,
						 os->profit ? os->profit + lo : NULL, hi - lo);
		if ((i & 0xFFFF) == 0)
			CHECK_FOR_INTERRUPTS();
	}
}

/* an optional date argument, open (infinite) when NULL */
static DateADT
date_arg(FunctionCallInfo fcinfo, int argno, bool upper)
{
	DateADT		d;

	if (PG_NARGS() <= argno || PG_ARGISNULL(argno))
		return upper ? DATEVAL_NOEND : DATEVAL_NOBEGIN;
	d = PG_GETARG_DATEADT(argno);
	if (DATE_NOT_FINITE(d))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("period bounds must be finite dates"),
				 errhint("Pass NULL for an open bound.")));
	return d;
}

/* the result tuple descriptor of a function returning a row or a table */
static TupleDesc
result_desc(FunctionCallInfo fcinfo)
{
	TupleDesc	desc;

	if (get_call_result_type(fcinfo, NULL, &desc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");
	return BlessTupleDesc(desc);
}

/* slug text of an array element for messages and output */
static text *
slug_elem(Datum *elems, bool *enulls, int i)
{
	return enulls[i] ? NULL : DatumGetTextPP(elems[i]);
}

/*
 * segment_kpis(slug text, from_date date, to_date date) RETURNS ecpower.kpi
 *		KPIs of the current members of a segment (the whole store when slug
 *		is NULL) over their counted orders, optionally only those dated in
 *		[from_date, to_date].
 */
Datum
segment_kpis(PG_FUNCTION_ARGS)
{
	text	   *slug = PG_ARGISNULL(0) ? NULL : PG_GETARG_TEXT_PP(0);
	DateADT		from = date_arg(fcinfo, 1, false);
	DateADT		to = date_arg(fcinfo, 2, true);
	TupleDesc	desc = result_desc(fcinfo);
	EcpRun		run;
	roaring_bitmap_t *members;
	EcpCountedSet *os;
	EcpKeySet	ks;
	KpiAcc		acc;
	Datum		values[KPI_NCOLUMNS];
	bool		nulls[KPI_NCOLUMNS];

	ecp_check_date_range(from, to);
	ecp_check_input_access(ECP_INPUT_ALL);
	ecp_require_current_run(&run);
	members = ecp_report_members(slug, &run);
	os = ecp_counted_orders_profit(ecp_keymap_load(), members, run.as_of,
								   ecp_store_calendar());
	ks = ecp_report_keys(os, members);

	kpi_acc_init(&acc);
	kpi_acc_keys(&acc, os, &ks, from, to);
	kpi_acc_values(&acc, values, nulls);
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(desc, values, nulls)));
}

/*
 * ltv_window(slug text, months int) RETURNS TABLE (eligible bigint, ltv numeric)
 *		X-month LTV: over members whose first order date + months <=
 *		as_of_date, the mean net revenue of their orders dated before first
 *		order date + months.
 */
Datum
ltv_window(PG_FUNCTION_ARGS)
{
	text	   *slug = PG_ARGISNULL(0) ? NULL : PG_GETARG_TEXT_PP(0);
	int32		months;
	TupleDesc	desc = result_desc(fcinfo);
	EcpRun		run;
	roaring_bitmap_t *members;
	EcpCountedSet *os;
	EcpKeySet	ks;
	int64		eligible = 0;
	int64		revenue = 0;
	Datum		values[2];
	bool		nulls[2] = {false, false};

	if (PG_ARGISNULL(1) || PG_GETARG_INT32(1) < 1 || PG_GETARG_INT32(1) > MAX_MONTHS)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("months must be between 1 and %d", MAX_MONTHS)));
	months = PG_GETARG_INT32(1);

	ecp_check_input_access(ECP_INPUT_ALL);
	ecp_require_current_run(&run);
	members = ecp_report_members(slug, &run);
	os = ecp_counted_orders(ecp_keymap_load(), members, run.as_of, ecp_store_calendar());
	ks = ecp_report_keys(os, members);

	for (int64 i = 0; i < ks.n; i++)
	{
		int64		lo = os->start[ks.keys[i]];
		int64		hi = os->start[ks.keys[i] + 1];
		DateADT		end;

		if (lo == hi)
			continue;
		end = ecp_add_months(os->day[lo], months);
		if (end > run.as_of_date)
			continue;
		eligible++;
		for (int64 j = lo; j < hi && os->day[j] < end; j++)
			revenue += os->cents[j];
	}
	values[0] = Int64GetDatum(eligible);
	values[1] = ecp_cents_ratio(revenue, eligible, 2, &nulls[1]);
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(desc, values, nulls)));
}

/*
 * compare_segments(slugs text[]) RETURNS TABLE (slug text, <kpi columns>,
 *		revenue_share numeric, customer_share numeric)
 *		One KPI row per slug, in the array's order (a NULL element is the
 *		whole store), with the segment's share of the store's net revenue
 *		and of its customers with a counted order.
 */
Datum
compare_segments(PG_FUNCTION_ARGS)
{
	ArrayType  *arr = PG_GETARG_ARRAYTYPE_P(0);
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	MemoryContext per_slug;
	Datum	   *elems;
	bool	   *enulls;
	int			nslugs;
	EcpRun		run;
	EcpCountedSet *os;

	InitMaterializedSRF(fcinfo, MAT_SRF_USE_EXPECTED_DESC);
	ecp_slug_array(arr, &elems, &enulls, &nslugs);
	ecp_check_input_access(ECP_INPUT_ALL);
	ecp_require_current_run(&run);
	os = ecp_counted_orders_profit(ecp_keymap_load(), NULL, run.as_of, ecp_store_calendar());

	per_slug = AllocSetContextCreate(CurrentMemoryContext, "ecpower compare_segments",
									 ALLOCSET_DEFAULT_SIZES);
	for (int i = 0; i < nslugs; i++)
	{
		MemoryContext old = MemoryContextSwitchTo(per_slug);
		text	   *slug = slug_elem(elems, enulls, i);
		roaring_bitmap_t *members = ecp_report_members(slug, &run);
		EcpKeySet	ks = ecp_report_keys(os, members);
		KpiAcc		acc;
		Datum		values[KPI_NCOLUMNS + 3];
		bool		nulls[KPI_NCOLUMNS + 3];

		kpi_acc_init(&acc);
		kpi_acc_keys(&acc, os, &ks, DATEVAL_NOBEGIN, DATEVAL_NOEND);
		values[0] = slug ? PointerGetDatum(slug) : (Datum) 0;
		nulls[0] = (slug == NULL);
		kpi_acc_values(&acc, values + 1, nulls + 1);
		values[KPI_NCOLUMNS + 1] = ecp_int_ratio(acc.revenue, os->revenue, 4,
												 &nulls[KPI_NCOLUMNS + 1]);
		values[KPI_NCOLUMNS + 2] = ecp_int_ratio(acc.customers, os->buyers, 4,
												 &nulls[KPI_NCOLUMNS + 2]);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
		MemoryContextSwitchTo(old);
		MemoryContextReset(per_slug);
	}
	return (Datum) 0;
}

/* calendar periods of segment_revenue */
typedef enum Grain
{
	GRAIN_DAY,
	GRAIN_WEEK,
	GRAIN_MONTH
} Grain;

/* start of the period holding a date */
static DateADT
period_start(Grain grain, DateADT day)
{
	switch (grain)
	{
		case GRAIN_DAY:
			return day;
		case GRAIN_WEEK:
			return day - (ecp_iso_weekday(day) - 1);
		case GRAIN_MONTH:
			return ecp_month_start(day);
	}
	return day;					/* keep compiler quiet */
}

/* index of the period holding 'day', counted from the period holding 'from' */
static int64
period_index(Grain grain, DateADT from, DateADT day)
{
	if (grain == GRAIN_MONTH)
		return ecp_month_index(day) - ecp_month_index(from);
	if (grain == GRAIN_WEEK)
		return (period_start(grain, day) - period_start(grain, from)) / 7;
	return day - from;
}

/* start of the i-th period from the one holding 'from' */
static DateADT
period_nth(Grain grain, DateADT from, int64 i)
{
	if (grain == GRAIN_MONTH)
		return ecp_add_months(ecp_month_start(from), (int) i);
	if (grain == GRAIN_WEEK)
		return period_start(grain, from) + (DateADT) (7 * i);
	return from + (DateADT) i;
}

/*
 * segment_revenue(slugs text[], grain text, from_date date, to_date date)
 *		RETURNS TABLE (slug text, period_start date, buyers bigint,
 *		orders bigint, revenue numeric)
 *		Current members' counted orders dated in [from, to] per day, week
 *		(starting Monday) or month, one row per slug and period from the
 *		period holding from_date to the one holding to_date, zeros included.
 */
Datum
segment_revenue(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	ArrayType  *arr;
	char	   *grain_name;
	Grain		grain;
	DateADT		from,
				to;
	int64		nperiods;
	Datum	   *elems;
	bool	   *enulls;
	int			nslugs;
	EcpRun		run;
	EcpCountedSet *os;
	roaring_bitmap_t **members;
	roaring_bitmap_t *wanted;
	bool		whole_store = false;
	int64	   *p_buyers,
			   *p_orders,
			   *p_revenue;

	if (PG_ARGISNULL(1))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("grain must be day, week or month")));
	grain_name = text_to_cstring(PG_GETARG_TEXT_PP(1));
	if (strcmp(grain_name, "day") == 0)
		grain = GRAIN_DAY;
	else if (strcmp(grain_name, "week") == 0)
		grain = GRAIN_WEEK;
	else if (strcmp(grain_name, "month") == 0)
		grain = GRAIN_MONTH;
	else
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("unknown grain \"%s\"", grain_name),
				 errhint("Use day, week or month.")));
	if (PG_ARGISNULL(2) || PG_ARGISNULL(3))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("segment_revenue needs both from_date and to_date")));
	from = PG_GETARG_DATEADT(2);
	to = PG_GETARG_DATEADT(3);
	if (DATE_NOT_FINITE(from) || DATE_NOT_FINITE(to))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("segment_revenue needs finite from_date and to_date")));
	ecp_check_date_range(from, to);
	nperiods = period_index(grain, from, to) + 1;
	if (nperiods > MAX_PERIODS)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s to %s spans %lld %ss, more than %d",
						ecp_date_text(from), ecp_date_text(to), (long long) nperiods,
						grain_name, MAX_PERIODS),
				 errhint("Use a coarser grain or a shorter range.")));

	InitMaterializedSRF(fcinfo, MAT_SRF_USE_EXPECTED_DESC);
	if (PG_ARGISNULL(0))
		return (Datum) 0;
	arr = PG_GETARG_ARRAYTYPE_P(0);
	ecp_slug_array(arr, &elems, &enulls, &nslugs);
	ecp_check_input_access(ECP_INPUT_ALL);
	ecp_require_current_run(&run);

	/* fetch only the listed segments' orders unless the store is listed */
	members = palloc(sizeof(roaring_bitmap_t *) * Max(nslugs, 1));
	wanted = ecp_bitmap_create();
	for (int s = 0; s < nslugs; s++)
	{
		members[s] = ecp_report_members(slug_elem(elems, enulls, s), &run);
		if (members[s] == NULL)
			whole_store = true;
		else
			roaring_bitmap_or_inplace(wanted, members[s]);
	}
	os = ecp_counted_orders(ecp_keymap_load(), whole_store ? NULL : wanted,
							run.as_of, ecp_store_calendar());

	p_buyers = palloc(sizeof(int64) * nperiods);
	p_orders = palloc(sizeof(int64) * nperiods);
	p_revenue = palloc(sizeof(int64) * nperiods);
	for (int s = 0; s < nslugs; s++)
	{
		text	   *slug = slug_elem(elems, enulls, s);
		EcpKeySet	ks = ecp_report_keys(os, members[s]);

		memset(p_buyers, 0, sizeof(int64) * nperiods);
		memset(p_orders, 0, sizeof(int64) * nperiods);
		memset(p_revenue, 0, sizeof(int64) * nperiods);
		for (int64 i = 0; i < ks.n; i++)
		{
			int64		lo,
						hi;
			int64		last = -1;

			ecp_orders_between(os, ks.keys[i], from, to, &lo, &hi);
			for (int64 j = lo; j < hi; j++)
			{
				int64		p = period_index(grain, from, os->day[j]);

				if (p != last)
					p_buyers[p]++;
				last = p;
				p_orders[p]++;
				p_revenue[p] += os->cents[j];
			}
			if ((i & 0xFFFF) == 0)
				CHECK_FOR_INTERRUPTS();
		}
		for (int64 p = 0; p < nperiods; p++)
		{
			Datum		values[5];
			bool		nulls[5] = {false, false, false, false, false};

			values[0] = slug ? PointerGetDatum(slug) : (Datum) 0;
			nulls[0] = (slug == NULL);
			values[1] = DateADTGetDatum(period_nth(grain, from, p));
			values[2] = Int64GetDatum(p_buyers[p]);
			values[3] = Int64GetDatum(p_orders[p]);
			values[4] = ecp_cents_to_numeric(p_revenue[p]);
			tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
		}
	}
	return (Datum) 0;
}

/* the run a snapshot is taken for */
static void
snapshot_run(int64 run_id, EcpRun *run)
{
	Oid			argtypes[1] = {INT8OID};
	Datum		args[1];
	bool		found;

	args[0] = Int64GetDatum(run_id);
	if (SPI_execute_with_args("SELECT as_of, as_of_date FROM ecpower.refresh_runs"
							  " WHERE run_id OPERATOR(pg_catalog.=) $1",
							  1, argtypes, args, NULL, true, 1) != SPI_OK_SELECT)
		elog(ERROR, "could not read ecpower.refresh_runs");
	found = (SPI_processed == 1);
	if (found)
	{
		bool		isnull;

		run->run_id = run_id;
		run->as_of = DatumGetTimestampTz(SPI_getbinval(SPI_tuptable->vals[0],
													   SPI_tuptable->tupdesc, 1, &isnull));
		run->as_of_date = DatumGetDateADT(SPI_getbinval(SPI_tuptable->vals[0],
														SPI_tuptable->tupdesc, 2, &isnull));
	}
	if (!found)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("refresh run %lld does not exist", (long long) run_id)));
}

/* insert one snapshot row: KPIs of a key set on the run's day */
static void
snapshot_insert(SPIPlanPtr plan, EcpRun *run, int32 segment_id, bool whole_store,
				EcpCountedSet *os, EcpKeySet *ks)
{
	KpiAcc		acc;
	Datum		values[KPI_NCOLUMNS + 5];
	char		nulls[KPI_NCOLUMNS + 5];
	bool		isnull[KPI_NCOLUMNS];
	int64		day_orders = 0;
	int64		day_revenue = 0;

	kpi_acc_init(&acc);
	kpi_acc_keys(&acc, os, ks, DATEVAL_NOBEGIN, DATEVAL_NOEND);
	for (int64 i = 0; i < ks->n; i++)
	{
		int64		lo,
					hi;

		ecp_orders_between(os, ks->keys[i], run->as_of_date, run->as_of_date, &lo, &hi);
		day_orders += hi - lo;
		for (int64 j = lo; j < hi; j++)
			day_revenue += os->cents[j];
	}

	memset(nulls, ' ', sizeof(nulls));
	values[0] = Int32GetDatum(segment_id);
	if (whole_store)
		nulls[0] = 'n';
	values[1] = DateADTGetDatum(run->as_of_date);
	values[2] = Int64GetDatum(run->run_id);
	kpi_acc_values(&acc, values + 3, isnull);
	for (int c = 0; c < KPI_NCOLUMNS; c++)
		if (isnull[c])
			nulls[3 + c] = 'n';
	values[KPI_NCOLUMNS + 3] = Int64GetDatum(day_orders);
	values[KPI_NCOLUMNS + 4] = ecp_cents_to_numeric(day_revenue);
	if (SPI_execute_plan(plan, values, nulls, false, 0) != SPI_OK_INSERT)
		elog(ERROR, "could not write ecpower.kpi_snapshots");
}

/*
 * ecp_snapshot_kpis
 *		Store one KPI row per segment (and one for the whole store) for the
 *		run's as_of_date from its counted orders 'os', replacing rows of an
 *		earlier run for that day.  members[i] is the membership of segment
 *		seg_ids[i] for the run; with members NULL, the stored membership of
 *		every segment of ecpower.segments is read.
 */
void
ecp_snapshot_kpis(int64 run_id, EcpCountedSet *os, int nseg, const int32 *seg_ids,
				  roaring_bitmap_t **members)
{
	EcpRun		run;

	SPI_connect();
	snapshot_run(run_id, &run);
	SPI_finish();
	ecp_snapshot_kpis_day(&run, os, nseg, seg_ids, members);
}

/*
 * ecp_snapshot_kpis_day
 *		Like ecp_snapshot_kpis, for the day run->as_of_date, with run->run_id
 *		written into the rows (a backfill stores many days under one run).
 */
void
ecp_snapshot_kpis_day(const EcpRun *day_run, EcpCountedSet *os, int nseg,
					  const int32 *seg_ids, roaring_bitmap_t **members)
{
	MemoryContext caller = CurrentMemoryContext;
	MemoryContext per_segment;
	EcpRun		run = *day_run;
	EcpKeySet	ks;
	SPIPlanPtr	plan;
	Oid			argtypes[KPI_NCOLUMNS + 5] = {INT4OID, DATEOID, INT8OID,
		INT8OID, INT8OID, INT8OID, NUMERICOID, NUMERICOID, NUMERICOID,
		NUMERICOID, NUMERICOID, NUMERICOID, NUMERICOID, NUMERICOID, NUMERICOID,
		NUMERICOID, NUMERICOID,
	INT8OID, NUMERICOID};
	Oid			dargtypes[1] = {DATEOID};
	Datum		dargs[1];
	int32	   *ids = NULL;

	SPI_connect();
	dargs[0] = DateADTGetDatum(run.as_of_date);
	if (SPI_execute_with_args("DELETE FROM ecpower.kpi_snapshots"
							  " WHERE day OPERATOR(pg_catalog.=) $1",
							  1, dargtypes, dargs, NULL, false, 0) != SPI_OK_DELETE)
		elog(ERROR, "could not write ecpower.kpi_snapshots");
	if (members == NULL)
	{
		if (SPI_execute("SELECT segment_id FROM ecpower.segments ORDER BY segment_id",
						true, 0) != SPI_OK_SELECT)
			elog(ERROR, "could not read ecpower.segments");
		nseg = (int) SPI_processed;
		ids = MemoryContextAlloc(caller, sizeof(int32) * Max(nseg, 1));
		for (int i = 0; i < nseg; i++)
		{
			bool		isnull;

			ids[i] = DatumGetInt32(SPI_getbinval(SPI_tuptable->vals[i],
												 SPI_tuptable->tupdesc, 1, &isnull));
		}
		seg_ids = ids;
	}
	plan = SPI_prepare("INSERT INTO ecpower.kpi_snapshots"
					   " (segment_id, day, run_id, customers, buyers, orders, revenue,"
					   "  ltv, aov, customer_aov, avg_orders, repeat_rate,"
					   "  avg_interval_days, median_interval_days, avg_lifetime_days,"
					   "  gross_profit, gross_margin, day_orders, day_revenue)"
					   " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12,"
					   "  $13, $14, $15, $16, $17, $18, $19)",
					   KPI_NCOLUMNS + 5, argtypes);
	if (plan == NULL)
		elog(ERROR, "could not prepare the KPI snapshot insert");

	per_segment = AllocSetContextCreate(caller, "ecpower KPI snapshot",
										ALLOCSET_DEFAULT_SIZES);
	{
		MemoryContext old = MemoryContextSwitchTo(per_segment);

		ks = ecp_report_keys(os, NULL);
		snapshot_insert(plan, &run, 0, true, os, &ks);
		MemoryContextSwitchTo(old);
		MemoryContextReset(per_segment);
	}
	for (int i = 0; i < nseg; i++)
	{
		MemoryContext old = MemoryContextSwitchTo(per_segment);
		roaring_bitmap_t *m = members ? members[i] : ecp_members_on(seg_ids[i], run.as_of_date);

		CHECK_FOR_INTERRUPTS();
		if (m != NULL)
		{
			ks = ecp_report_keys(os, m);
			snapshot_insert(plan, &run, seg_ids[i], false, os, &ks);
		}
		MemoryContextSwitchTo(old);
		MemoryContextReset(per_segment);
	}
	MemoryContextDelete(per_segment);
	SPI_finish();
	if (ids)
		pfree(ids);
}

/*
 * _snapshot_kpis(run_id bigint) RETURNS void
 *		The KPI snapshot of a refresh run from the stored membership and the
 *		orders as they are now (refresh itself takes the snapshot from the
 *		orders it evaluated: refresh_compute()).
 */
Datum
snapshot_kpis(PG_FUNCTION_ARGS)
{
	int64		run_id = PG_GETARG_INT64(0);
	EcpRun		run;
	EcpCountedSet *os;

	SPI_connect();
	snapshot_run(run_id, &run);
	SPI_finish();
	os = ecp_counted_orders_profit(ecp_keymap_load(), NULL, run.as_of, ecp_store_calendar());
	ecp_snapshot_kpis(run_id, os, 0, NULL, NULL);
	PG_RETURN_VOID();
}

/*
 * ecp_check_date_range
 *		22023 unless from <= to.
 */
void
ecp_check_date_range(DateADT from, DateADT to)
{
	if (from > to)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("from_date %s is after to_date %s",
						ecp_date_text(from), ecp_date_text(to))));
}

/*
 * ecp_slug_array
 *		The elements of a one-dimensional text[] of slugs (NULLs kept).
 */
void
ecp_slug_array(ArrayType *arr, Datum **elems, bool **enulls, int *n)
{
	if (ARR_NDIM(arr) > 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("slugs must be a one-dimensional array")));
	deconstruct_array(arr, TEXTOID, -1, false, TYPALIGN_INT, elems, enulls, n);
}

/*
 * ecp_report_members
 *		Members of a segment (by slug) as of the current run, or NULL for
 *		a NULL slug (the whole store).  42704 for an unknown slug.
 */
roaring_bitmap_t *
ecp_report_members(text *slug, EcpRun *run)
{
	char	   *s;

	if (slug == NULL)
		return NULL;
	s = text_to_cstring(slug);
	return ecp_members_current(ecp_segment_id(s), s, run);
}
