/*-------------------------------------------------------------------------
 *
 * kpi.c
 *	  The KPI table (README "The KPI row") and the ecpower.kpis() aggregate.
 *
 * KpiAcc turns customers (their order dates, net amounts and gross profits)
 * into the KPI columns.  The kpis(customer_id, ordered_at, amount) and
 * kpis(customer_id, ordered_at, amount, gross_profit) aggregates feed it
 * from any GROUP BY a BI tool writes.  Their rows arrive in no particular
 * order, possibly split across parallel workers, and the median gap needs
 * each customer's orders in date order, so the aggregate state buffers
 * (customer_id, ordered_at, cents, profit cents) rows: combining two states
 * appends one to the other, and the final function sorts once and walks
 * each customer's run.  Local dates are computed in the final function,
 * which runs once per group.  The three-argument aggregate has no profits:
 * its final function returns gross_profit and gross_margin NULL.
 *
 * What kpis() counts: a row with a NULL customer_id is ignored; every other
 * row counts its customer once; a row with a NULL ordered_at counts the
 * customer but no order (so a LEFT JOIN from customers yields prospects);
 * a row with a NULL amount is an order of amount 0; a NULL gross_profit is
 * an order whose profit is unknown (gross_profit and gross_margin NULL).
 *
 * Serialized state: a version byte, the row count as int64, then per row
 * customer_id, ordered_at, cents and profit cents as int64 in network byte
 * order; an absent order is ordered_at = -infinity with cents 0 and profit
 * 0; an unknown profit is ECP_PROFIT_UNKNOWN.  Deserialization checks the
 * version, the exact length and every timestamp.
 *
 * src/reports/kpi.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "common/int.h"
#include "fmgr.h"
#include "funcapi.h"
#include "libpq/pqformat.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/memutils.h"
#include "utils/numeric.h"
#include "utils/timestamp.h"

#include "core/arrays.h"
#include "core/ecpower.h"
#include "reports/kpi.h"

PG_FUNCTION_INFO_V1(kpis_transfn);
PG_FUNCTION_INFO_V1(kpis_combinefn);
PG_FUNCTION_INFO_V1(kpis_serialfn);
PG_FUNCTION_INFO_V1(kpis_deserialfn);
PG_FUNCTION_INFO_V1(kpis_finalfn);
PG_FUNCTION_INFO_V1(kpis_profit_transfn);
PG_FUNCTION_INFO_V1(kpis_profit_finalfn);
PG_FUNCTION_INFO_V1(kpis_state_rows);

/* ----------------------------------------------------------------
 *		The KPI accumulator
 * ----------------------------------------------------------------
 */

/* append to an int64 list that may exceed 1 GB */
static inline int64 *
append_int64(int64 *arr, int64 *len, int64 *cap, int64 value)
{
	arr = ecp_grow_array(arr, cap, *len + 1, sizeof(int64), false);
	arr[(*len)++] = value;
	return arr;
}

/* add with an error instead of a wrap-around */
static inline void
add_int64(int64 *sum, int64 v)
{
	if (unlikely(pg_add_s64_overflow(*sum, v, sum)))
		ereport(ERROR,
				(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
				 errmsg("KPI sum out of range")));
}

/*
 * kpi_acc_init
 *		An empty accumulator; its arrays live in CurrentMemoryContext.
 */
void
kpi_acc_init(KpiAcc *acc)
{
	memset(acc, 0, sizeof(KpiAcc));
}

/*
 * kpi_acc_customer
 *		Add one customer with n orders (n may be 0): their store-local dates
 *		ascending, their net amounts and gross profits in cents (a profit
 *		ECP_PROFIT_UNKNOWN, or profit NULL, counts the orders as uncosted).
 */
void
kpi_acc_customer(KpiAcc *acc, const DateADT *days, const int64 *cents,
				 const int64 *profit, int64 n)
{
	int64		rev = 0;

	acc->customers++;
	if (n == 0)
		return;
	acc->buyers++;
	acc->orders += n;
	if (profit == NULL)
	{
		for (int64 i = 0; i < n; i++)
			add_int64(&rev, cents[i]);
		acc->uncosted += n;
	}
	else
	{
		for (int64 i = 0; i < n; i++)
		{
			add_int64(&rev, cents[i]);
			if (unlikely(profit[i] == ECP_PROFIT_UNKNOWN))
				acc->uncosted++;
			else
				add_int64(&acc->profit, profit[i]);
		}
	}
	add_int64(&acc->revenue, rev);
	if (n >= 2)
		acc->repeaters++;
	acc->lifetime_days += days[n - 1] - days[0];

	for (int64 i = 1; i < n; i++)
	{
		int64		gap = (int64) days[i] - days[i - 1];

		if (gap <= KPI_GAP_DENSE)
		{
			if (gap >= acc->gap_cap)
				acc->gap_count = ecp_grow_array(acc->gap_count, &acc->gap_cap,
												gap + 1, sizeof(int64), true);
			acc->gap_count[gap]++;
		}
		else
			acc->big_gaps = append_int64(acc->big_gaps, &acc->nbig_gaps,
										 &acc->big_gaps_cap, gap);
		acc->ngaps++;
	}

	if (n <= KPI_ORDERS_DENSE)
	{
		if (n >= acc->n_cap)
			acc->revenue_by_n = ecp_grow_array(acc->revenue_by_n, &acc->n_cap,
											   n + 1, sizeof(int64), true);
		add_int64(&acc->revenue_by_n[n], rev);
	}
	else
	{
		acc->big_n = append_int64(acc->big_n, &acc->nbig_n, &acc->big_n_cap, n);
		acc->big_n = append_int64(acc->big_n, &acc->nbig_n, &acc->big_n_cap, rev);
	}
}

/*
 * ecp_ratio
 *		round(num / den, scale) on numerics, as SQL computes it.  The
 *		caller makes sure den is not zero.
 */
Datum
ecp_ratio(Datum num, Datum den, int scale)
{
	Datum		q = DirectFunctionCall2(numeric_div, num, den);

	return DirectFunctionCall2(numeric_round, q, Int32GetDatum(scale));
}

/*
 * ecp_int_ratio
 *		round(num::numeric / den, scale), NULL when den is zero.
 */
Datum
ecp_int_ratio(int64 num, int64 den, int scale, bool *isnull)
{
	*isnull = (den == 0);
	if (den == 0)
		return (Datum) 0;
	return ecp_ratio(NumericGetDatum(int64_to_numeric(num)),
					 NumericGetDatum(int64_to_numeric(den)), scale);
}

/*
 * ecp_cents_ratio
 *		round(money / den, scale) for money in cents, NULL when den is zero.
 */
Datum
ecp_cents_ratio(int64 cents, int64 den, int scale, bool *isnull)
{
	*isnull = (den == 0);
	if (den == 0)
		return (Datum) 0;
	return ecp_ratio(ecp_cents_to_numeric(cents),
					 NumericGetDatum(int64_to_numeric(den)), scale);
}

/* the k-th smallest gap (0-based); big gaps must be sorted */
static int64
kth_gap(KpiAcc *acc, int64 k)
{
	for (int64 g = 0; g < acc->gap_cap; g++)
	{
		if (k < acc->gap_count[g])
			return g;
		k -= acc->gap_count[g];
	}
	Assert(k < acc->nbig_gaps);
	return acc->big_gaps[k];
}

/*
 * kpi_acc_values
 *		The KPI_NCOLUMNS columns of ecpower.kpi.  Money and day averages are
 *		rounded to 2 decimals, rates and avg_orders to 4; a ratio with a
 *		zero denominator is NULL.  gross_profit and gross_margin are NULL
 *		when an order's gross profit is unknown.
 */
void
kpi_acc_values(KpiAcc *acc, Datum *values, bool *nulls)
{
	memset(nulls, 0, sizeof(bool) * KPI_NCOLUMNS);
	values[0] = Int64GetDatum(acc->customers);
	values[1] = Int64GetDatum(acc->buyers);
	values[2] = Int64GetDatum(acc->orders);
	values[3] = ecp_cents_to_numeric(acc->revenue);
	values[4] = ecp_cents_ratio(acc->revenue, acc->customers, 2, &nulls[4]);
	values[5] = ecp_cents_ratio(acc->revenue, acc->orders, 2, &nulls[5]);

	/* customer_aov: (sum over n of revenue_n / n) / buyers */
	if (acc->buyers == 0)
		nulls[6] = true;
	else
	{
		Datum		sum = NumericGetDatum(int64_to_numeric(0));

		for (int64 n = 1; n < acc->n_cap; n++)
		{
			if (acc->revenue_by_n[n] == 0)
				continue;
			sum = DirectFunctionCall2(numeric_add, sum,
									  DirectFunctionCall2(numeric_div,
														  ecp_cents_to_numeric(acc->revenue_by_n[n]),
														  NumericGetDatum(int64_to_numeric(n))));
		}
		for (int64 i = 0; i < acc->nbig_n; i += 2)
			sum = DirectFunctionCall2(numeric_add, sum,
									  DirectFunctionCall2(numeric_div,
														  ecp_cents_to_numeric(acc->big_n[i + 1]),
														  NumericGetDatum(int64_to_numeric(acc->big_n[i]))));
		values[6] = ecp_ratio(sum, NumericGetDatum(int64_to_numeric(acc->buyers)), 2);
	}

	values[7] = ecp_int_ratio(acc->orders, acc->customers, 4, &nulls[7]);
	values[8] = ecp_int_ratio(acc->repeaters, acc->customers, 4, &nulls[8]);
	values[9] = ecp_int_ratio(acc->lifetime_days, acc->orders - acc->buyers, 2, &nulls[9]);

	/* median gap, percentile_cont(0.5): the middle one or the mean of two */
	if (acc->ngaps == 0)
		nulls[10] = true;
	else
	{
		int64		lo,
					hi;

		if (acc->nbig_gaps > 1)
			qsort(acc->big_gaps, acc->nbig_gaps, sizeof(int64), ecp_cmp_int64);
		lo = kth_gap(acc, (acc->ngaps - 1) / 2);
		hi = kth_gap(acc, acc->ngaps / 2);
		values[10] = NumericGetDatum(int64_div_fast_to_numeric((lo + hi) * 5, 1));
	}

	values[11] = ecp_int_ratio(acc->lifetime_days, acc->buyers, 2, &nulls[11]);

	/* gross_profit, gross_margin = gross_profit / revenue */
	if (acc->uncosted > 0)
		nulls[12] = nulls[13] = true;
	else
	{
		values[12] = ecp_cents_to_numeric(acc->profit);
		nulls[13] = (acc->revenue == 0);
		if (!nulls[13])
			values[13] = ecp_ratio(values[12], ecp_cents_to_numeric(acc->revenue), 4);
	}
}

/* ----------------------------------------------------------------
 *		The kpis(customer_id, ordered_at, amount) aggregate
 * ----------------------------------------------------------------
 */

/* one input row; ordered_at = DT_NOBEGIN means "customer, no order" */
typedef struct KpiRow
{
	int64		customer_id;
	TimestampTz ordered_at;
	int64		cents;
	int64		profit;			/* cents, or ECP_PROFIT_UNKNOWN */
} KpiRow;

typedef struct KpiAggState
{
	int64		nrows;
	int64		cap;
	KpiRow	   *rows;
} KpiAggState;

/* serialized state: version byte, row count, four int64 per row */
#define KPI_STATE_VERSION	2
#define KPI_STATE_HEADER	(1 + sizeof(int64))
#define KPI_ROW_BYTES		(4 * sizeof(int64))

#define ST_SORT sort_kpi_rows
#define ST_ELEMENT_TYPE KpiRow
#define ST_COMPARE(a, b) \
	((a)->customer_id != (b)->customer_id ? \
	 ((a)->customer_id < (b)->customer_id ? -1 : 1) : \
	 ((a)->ordered_at < (b)->ordered_at ? -1 : (a)->ordered_at > (b)->ordered_at))
#define ST_SCOPE static
#define ST_CHECK_FOR_INTERRUPTS
#define ST_DEFINE
#include "lib/sort_template.h"

/* an empty state in the given context with room for 'cap' rows */
static KpiAggState *
kpi_state_create(MemoryContext mcxt, int64 cap)
{
	KpiAggState *st = MemoryContextAllocZero(mcxt, sizeof(KpiAggState));

	st->cap = Max(cap, 16);
	st->rows = MemoryContextAllocExtended(mcxt, sizeof(KpiRow) * st->cap,
										  MCXT_ALLOC_HUGE);
	return st;
}

/* make room for 'extra' more rows (the rows stay in their context) */
static void
kpi_state_reserve(KpiAggState *st, int64 extra)
{
	st->rows = ecp_grow_array(st->rows, &st->cap, st->nrows + extra, sizeof(KpiRow), false);
}

/* the aggregate context, or an error for a direct call */
static MemoryContext
kpi_agg_context(FunctionCallInfo fcinfo, const char *fname)
{
	MemoryContext aggcontext;

	if (!AggCheckCallContext(fcinfo, &aggcontext))
		elog(ERROR, "%s called in non-aggregate context", fname);
	return aggcontext;
}

/*
 * kpi_transition
 *		Buffer one row in the aggregate context; with_profit: argument 4 is
 *		the order's gross profit.
 */
static Datum
kpi_transition(FunctionCallInfo fcinfo, bool with_profit)
{
	MemoryContext aggcontext = kpi_agg_context(fcinfo, "kpis_transfn");
	KpiAggState *st = PG_ARGISNULL(0) ? NULL : (KpiAggState *) PG_GETARG_POINTER(0);
	KpiRow	   *row;

	if (PG_ARGISNULL(1))
	{
		if (st == NULL)
			PG_RETURN_NULL();
		PG_RETURN_POINTER(st);
	}
	if (st == NULL)
		st = kpi_state_create(aggcontext, 64);
	kpi_state_reserve(st, 1);

	row = &st->rows[st->nrows];
	row->customer_id = PG_GETARG_INT64(1);
	if (PG_ARGISNULL(2))
	{
		row->ordered_at = DT_NOBEGIN;
		row->cents = 0;
		row->profit = 0;
	}
	else
	{
		row->ordered_at = PG_GETARG_TIMESTAMPTZ(2);
		if (TIMESTAMP_NOT_FINITE(row->ordered_at))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("ecpower.kpis() cannot count an order at %s",
							TIMESTAMP_IS_NOBEGIN(row->ordered_at) ? "-infinity" : "infinity"),
					 errdetail("Customer %lld has an order without a finite time.",
							   (long long) row->customer_id)));
		row->cents = PG_ARGISNULL(3) ? 0 : ecp_numeric_to_cents(PG_GETARG_DATUM(3));
		if (!with_profit || PG_ARGISNULL(4))
			row->profit = ECP_PROFIT_UNKNOWN;
		else
		{
			row->profit = ecp_numeric_to_cents(PG_GETARG_DATUM(4));
			if (row->profit == ECP_PROFIT_UNKNOWN)
				ereport(ERROR,
						(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
						 errmsg("gross profit %s out of range",
								DatumGetCString(DirectFunctionCall1(numeric_out,
																	PG_GETARG_DATUM(4))))));
		}
	}
	st->nrows++;
	PG_RETURN_POINTER(st);
}

/*
 * kpis_transfn(state internal, customer_id bigint, ordered_at timestamptz,
 *				amount numeric) RETURNS internal
 *		Buffer one row (its gross profit unknown).
 */
Datum
kpis_transfn(PG_FUNCTION_ARGS)
{
	return kpi_transition(fcinfo, false);
}

/*
 * kpis_profit_transfn(state internal, customer_id bigint, ordered_at
 *				timestamptz, amount numeric, gross_profit numeric)
 *				RETURNS internal
 *		Buffer one row with its gross profit.
 */
Datum
kpis_profit_transfn(PG_FUNCTION_ARGS)
{
	return kpi_transition(fcinfo, true);
}

/*
 * kpis_combinefn(internal, internal) RETURNS internal
 *		Append the second state's rows to the first (either may be NULL).
 */
Datum
kpis_combinefn(PG_FUNCTION_ARGS)
{
	MemoryContext aggcontext = kpi_agg_context(fcinfo, "kpis_combinefn");
	KpiAggState *a = PG_ARGISNULL(0) ? NULL : (KpiAggState *) PG_GETARG_POINTER(0);
	KpiAggState *b = PG_ARGISNULL(1) ? NULL : (KpiAggState *) PG_GETARG_POINTER(1);

	if (b == NULL)
	{
		if (a == NULL)
			PG_RETURN_NULL();
		PG_RETURN_POINTER(a);
	}
	if (a == NULL)
		a = kpi_state_create(aggcontext, b->nrows);
	kpi_state_reserve(a, b->nrows);
	memcpy(a->rows + a->nrows, b->rows, sizeof(KpiRow) * b->nrows);
	a->nrows += b->nrows;
	PG_RETURN_POINTER(a);
}

/*
 * kpis_serialfn(internal) RETURNS bytea
 *		Portable encoding of the state (see the file header).
 */
Datum
kpis_serialfn(PG_FUNCTION_ARGS)
{
	KpiAggState *st = (KpiAggState *) PG_GETARG_POINTER(0);
	StringInfoData buf;
	Size		size = KPI_STATE_HEADER + KPI_ROW_BYTES * (Size) st->nrows + VARHDRSZ;

	kpi_agg_context(fcinfo, "kpis_serialfn");
	if (size > MaxAllocSize)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("ecpower.kpis() state of %lld rows is too large to pass between parallel workers",
						(long long) st->nrows),
				 errhint("Run the query with max_parallel_workers_per_gather = 0.")));

	pq_begintypsend(&buf);
	enlargeStringInfo(&buf, (int) size);
	pq_sendbyte(&buf, KPI_STATE_VERSION);
	pq_sendint64(&buf, st->nrows);
	for (int64 i = 0; i < st->nrows; i++)
	{
		pq_sendint64(&buf, st->rows[i].customer_id);
		pq_sendint64(&buf, st->rows[i].ordered_at);
		pq_sendint64(&buf, st->rows[i].cents);
		pq_sendint64(&buf, st->rows[i].profit);
	}
	PG_RETURN_BYTEA_P(pq_endtypsend(&buf));
}

/* an error for a corrupt serialized state */
static void
kpi_state_corrupt(const char *detail)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_BINARY_REPRESENTATION),
			 errmsg("invalid ecpower.kpis() aggregate state"),
			 errdetail("%s", detail)));
}

/* decode a serialized state into CurrentMemoryContext, validating it */
static KpiAggState *
kpi_state_decode(bytea *sstate)
{
	const char *data = VARDATA_ANY(sstate);
	Size		len = VARSIZE_ANY_EXHDR(sstate);
	StringInfoData buf;
	KpiAggState *st;
	int64		nrows;

	if (len < KPI_STATE_HEADER)
		kpi_state_corrupt("The state is shorter than its header.");
	if ((uint8) data[0] != KPI_STATE_VERSION)
		kpi_state_corrupt(psprintf("Unknown state version %d.", (uint8) data[0]));

	buf.data = (char *) data;
	buf.len = (int) len;
	buf.maxlen = (int) len;
	buf.cursor = 1;
	nrows = (int64) pq_getmsgint64(&buf);
	if (nrows < 0 || (Size) nrows > (len - KPI_STATE_HEADER) / KPI_ROW_BYTES ||
		len != KPI_STATE_HEADER + (Size) nrows * KPI_ROW_BYTES)
		kpi_state_corrupt(psprintf("The state holds %zu bytes for a row count of %lld.",
								   len, (long long) nrows));

	st = kpi_state_create(CurrentMemoryContext, nrows);
	for (int64 i = 0; i < nrows; i++)
	{
		KpiRow	   *row = &st->rows[i];

		row->customer_id = (int64) pq_getmsgint64(&buf);
		row->ordered_at = (TimestampTz) pq_getmsgint64(&buf);
		row->cents = (int64) pq_getmsgint64(&buf);
		row->profit = (int64) pq_getmsgint64(&buf);
		if (row->ordered_at == DT_NOBEGIN)
		{
			if (row->cents != 0 || row->profit != 0)
				kpi_state_corrupt(psprintf("Row %lld has no order but an amount.",
										   (long long) i + 1));
		}
		else if (!IS_VALID_TIMESTAMP(row->ordered_at))
			kpi_state_corrupt(psprintf("Row %lld has an order time out of range.",
									   (long long) i + 1));
	}
	st->nrows = nrows;
	pq_getmsgend(&buf);
	return st;
}

/*
 * kpis_deserialfn(bytea, internal) RETURNS internal
 *		Inverse of kpis_serialfn; the input is validated byte by byte.
 */
Datum
kpis_deserialfn(PG_FUNCTION_ARGS)
{
	kpi_agg_context(fcinfo, "kpis_deserialfn");
	PG_RETURN_POINTER(kpi_state_decode(PG_GETARG_BYTEA_PP(0)));
}

/*
 * _kpis_state_rows(bytea) RETURNS bigint
 *		Validate a serialized kpis() state as kpis_deserialfn does and
 *		return its row count (a test and diagnosis aid).
 */
Datum
kpis_state_rows(PG_FUNCTION_ARGS)
{
	PG_RETURN_INT64(kpi_state_decode(PG_GETARG_BYTEA_PP(0))->nrows);
}

/* what the final function keeps across the groups of one query */
typedef struct KpiFinalCache
{
	EcpCalendar *cal;
	TupleDesc	desc;
} KpiFinalCache;

/*
 * kpi_final
 *		Sort the buffered rows by customer and time, feed each customer to
 *		a KpiAcc and build the composite result.  Sorting in place keeps the
 *		state's meaning (a multiset), so the state stays usable.  Without
 *		with_profit, gross_profit and gross_margin are NULL.
 */
static Datum
kpi_final(FunctionCallInfo fcinfo, bool with_profit)
{
	KpiAggState *st = PG_ARGISNULL(0) ? NULL : (KpiAggState *) PG_GETARG_POINTER(0);
	KpiFinalCache *cache = (KpiFinalCache *) fcinfo->flinfo->fn_extra;
	KpiAcc		acc;
	Datum		values[KPI_NCOLUMNS];
	bool		nulls[KPI_NCOLUMNS];
	DateADT    *days = NULL;
	int64	   *cents = NULL;
	int64	   *profit = NULL;

	kpi_agg_context(fcinfo, "kpis_finalfn");
	if (cache == NULL)
	{
		MemoryContext old = MemoryContextSwitchTo(fcinfo->flinfo->fn_mcxt);
		TupleDesc	desc;

		cache = palloc0(sizeof(KpiFinalCache));
		if (get_call_result_type(fcinfo, NULL, &desc) != TYPEFUNC_COMPOSITE)
			elog(ERROR, "return type of kpis_finalfn must be a row type");
		cache->desc = BlessTupleDesc(CreateTupleDescCopy(desc));
		cache->cal = ecp_store_calendar();
		MemoryContextSwitchTo(old);
		fcinfo->flinfo->fn_extra = cache;
	}

	kpi_acc_init(&acc);
	if (st != NULL && st->nrows > 0)
	{
		sort_kpi_rows(st->rows, st->nrows);
		days = palloc_extended(sizeof(DateADT) * st->nrows, MCXT_ALLOC_HUGE);
		cents = palloc_extended(sizeof(int64) * st->nrows, MCXT_ALLOC_HUGE);
		profit = palloc_extended(sizeof(int64) * st->nrows, MCXT_ALLOC_HUGE);
		for (int64 i = 0; i < st->nrows;)
		{
			int64		id = st->rows[i].customer_id;
			int64		n = 0;

			for (; i < st->nrows && st->rows[i].customer_id == id; i++)
			{
				if (st->rows[i].ordered_at == DT_NOBEGIN)
					continue;	/* sorts first: the customer, no order */
				days[n] = ecp_local_date(cache->cal, st->rows[i].ordered_at);
				cents[n] = st->rows[i].cents;
				profit[n] = st->rows[i].profit;
				n++;
			}
			kpi_acc_customer(&acc, days, cents, profit, n);
			if ((acc.customers & 0xFFFF) == 0)
				CHECK_FOR_INTERRUPTS();
		}
	}
	kpi_acc_values(&acc, values, nulls);
	if (!with_profit)
		nulls[12] = nulls[13] = true;
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(cache->desc, values, nulls)));
}

/*
 * kpis_finalfn(internal) RETURNS ecpower.kpi
 *		The KPI row of kpis(customer_id, ordered_at, amount): gross_profit
 *		and gross_margin NULL.
 */
Datum
kpis_finalfn(PG_FUNCTION_ARGS)
{
	return kpi_final(fcinfo, false);
}

/*
 * kpis_profit_finalfn(internal) RETURNS ecpower.kpi
 *		The KPI row of kpis(customer_id, ordered_at, amount, gross_profit).
 */
Datum
kpis_profit_finalfn(PG_FUNCTION_ARGS)
{
	return kpi_final(fcinfo, true);
}
