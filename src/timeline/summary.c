/*-------------------------------------------------------------------------
 *
 * summary.c
 *	  Per-customer facts of the timeline: the counted orders of a window
 *	  of time summed up per customer, and each customer's first order with
 *	  the order-level values it carries.
 *
 * A few readers want figures per customer rather than orders: a
 * segment's export (orders, net revenue, first and last order as of the
 * last refresh), the holdout of a backtest (store-local purchase days
 * between two instants), the demo store's spend (the day and the channel
 * and campaign each customer was acquired by).  They get them here, from
 * ecp_report_fetch(): the order cache and the timeline's values with the
 * orders changed since read from the heap, or a scan of the tables when
 * there is no usable cache (docs/timeline.md).  ecpower._customer_orders()
 * gives the summaries to SQL.
 *
 * src/timeline/summary.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "common/int.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"

#include "core/access.h"
#include "core/arrays.h"
#include "core/ecpower.h"
#include "timeline/customers.h"
#include "timeline/fetch.h"
#include "timeline/summary.h"

PG_FUNCTION_INFO_V1(customer_orders);

/* order summaries by customer_id */
static int
summary_cmp(const void *a, const void *b)
{
	int64		x = ((const EcpOrderSummary *) a)->customer_id;
	int64		y = ((const EcpOrderSummary *) b)->customer_id;

	return (x > y) - (x < y);
}

/* first orders by customer_id */
static int
first_order_cmp(const void *a, const void *b)
{
	int64		x = ((const EcpFirstOrder *) a)->customer_id;
	int64		y = ((const EcpFirstOrder *) b)->customer_id;

	return (x > y) - (x < y);
}

/* DateADT comparator for qsort */
static int
day_cmp(const void *a, const void *b)
{
	DateADT		x = *(const DateADT *) a;
	DateADT		y = *(const DateADT *) b;

	return (x > y) - (x < y);
}

/* the customer_id of a fetched customer key */
static int64
customer_of(EcpKeyMap *keys, int32 ckey)
{
	if (ckey < 1 || ckey > keys->max_ckey || !keys->present[ckey])
		elog(ERROR, "customer key %d of a fetched order has no customer", ckey);
	return keys->customer_ids[ckey];
}

/*
 * Distinct store-local dates of n orders in (ordered_at, order_id) order.
 * Local dates follow the instants except where a time zone's clocks go
 * back across midnight; then the dates are sorted in 'scratch' first.
 */
static int64
distinct_days(EcpCalendar *cal, const EcpReportOrder *orders, int64 n,
			  DateADT *scratch)
{
	int64		ndays = 0;
	bool		sorted = true;

	for (int64 i = 0; i < n; i++)
	{
		scratch[i] = ecp_local_date(cal, orders[i].ordered_at);
		if (i > 0 && scratch[i] < scratch[i - 1])
			sorted = false;
	}
	if (!sorted)
		qsort(scratch, n, sizeof(DateADT), day_cmp);
	for (int64 i = 0; i < n; i++)
		ndays += i == 0 || scratch[i] != scratch[i - 1];
	return ndays;
}

/*
 * ecp_order_summaries
 *		For each customer of customer_ids (nids of them; every customer
 *		when customer_ids is NULL) with at least one counted order (not
 *		cancelled) with after < ordered_at <= up_to: the number of those
 *		orders, their net amount, the first and last instant and the
 *		number of distinct store-local dates.  DT_NOBEGIN / DT_NOEND leave
 *		a side open.  Ids of no customer, and repeated ids, are allowed.
 *		Orders are seen as they are now, also those changed since the
 *		last refresh.  Returns *nrows rows in ascending customer_id,
 *		palloc'd in the caller's memory context.
 */
EcpOrderSummary *
ecp_order_summaries(const int64 *customer_ids, int64 nids, TimestampTz after,
					TimestampTz up_to, int64 *nrows)
{
	MemoryContext caller = CurrentMemoryContext;
	MemoryContext work;
	EcpOrderSummary *rows = NULL;
	int64		n = 0;
	EcpKeyMap  *keys;
	bool	   *wanted = NULL;
	int32		max_wanted = 0;
	EcpFetchSpec spec;
	EcpReportSet *set;
	DateADT    *scratch;
	int64		most = 1;

	*nrows = 0;
	if (after >= up_to || (customer_ids != NULL && nids == 0))
		return palloc(sizeof(EcpOrderSummary));

	work = AllocSetContextCreate(caller, "ecpower order summaries",
								 ALLOCSET_DEFAULT_SIZES);
	MemoryContextSwitchTo(work);
	keys = ecp_keymap_load();
	if (customer_ids != NULL)
	{
		wanted = ecp_alloc_array((int64) keys->max_ckey + 1, sizeof(bool), true);
		for (int64 i = 0; i < nids; i++)
		{
			int32		ckey = ecp_keymap_ckey(keys, customer_ids[i]);

			if (ckey < 1)
				continue;
			wanted[ckey] = true;
			max_wanted = Max(max_wanted, ckey);
		}
	}

	if (customer_ids == NULL || max_wanted > 0)
	{
		memset(&spec, 0, sizeof(spec));
		spec.as_of = up_to;
		spec.wanted = wanted;
		spec.max_wanted = max_wanted;
		spec.variant = ECP_VARIANT_ALL;
		spec.dimension = ECP_DIM_NONE;
		spec.want_amount = true;
		spec.cal = ecp_store_calendar();
		set = ecp_report_fetch(&spec);

		for (int32 c = 0; c < set->ncustomers; c++)
			most = Max(most, set->cust_start[c + 1] - set->cust_start[c]);
		scratch = palloc_extended(sizeof(DateADT) * most, MCXT_ALLOC_HUGE);
		rows = MemoryContextAllocHuge(caller,
									  sizeof(EcpOrderSummary) * Max(set->ncustomers, 1));
		for (int32 c = 0; c < set->ncustomers; c++)
		{
			const EcpReportOrder *orders = set->orders;
			int64		o = set->cust_start[c];
			int64		end = set->cust_start[c + 1];
			EcpOrderSummary *r;

			if ((c & 0x3FFF) == 0)
				CHECK_FOR_INTERRUPTS();
			/* each customer's orders are in (ordered_at, order_id) order */
			while (o < end && orders[o].ordered_at <= after)
				o++;
			if (o == end)
				continue;
			r = &rows[n++];
			r->customer_id = customer_of(keys, set->cust_ckey[c]);
			r->orders = end - o;
			r->first_at = orders[o].ordered_at;
			r->last_at = orders[end - 1].ordered_at;
			r->net_cents = 0;
			for (int64 k = o; k < end; k++)
			{
				if (pg_add_s64_overflow(r->net_cents, orders[k].net_cents, &r->net_cents))
					ereport(ERROR,
							(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
							 errmsg("net revenue of customer %lld out of range",
									(long long) r->customer_id)));
			}
			r->days = distinct_days(spec.cal, orders + o, end - o, scratch);
		}
	}
	MemoryContextSwitchTo(caller);
	MemoryContextDelete(work);

	if (rows == NULL)
		return palloc(sizeof(EcpOrderSummary));
	if (n > 1)
		qsort(rows, n, sizeof(EcpOrderSummary), summary_cmp);
	*nrows = n;
	return rows;
}

/* order-level dimensions with at most one text value per order */
static bool
single_order_value(EcpDimension dim)
{
	switch (dim)
	{
		case ECP_DIM_ACQUISITION_CHANNEL:
		case ECP_DIM_REFERRING_SITE:
		case ECP_DIM_LANDING_SITE:
		case ECP_DIM_UTM_SOURCE:
		case ECP_DIM_UTM_MEDIUM:
		case ECP_DIM_UTM_CAMPAIGN:
		case ECP_DIM_SALES_CHANNEL:
			return true;
		default:
			return false;
	}
}

/*
 * ecp_first_orders
 *		Every customer's first uncancelled order by (ordered_at, order_id),
 *		whenever it was placed, with its store-local date and the value it
 *		carries for each of dims (order-level text dimensions such as
 *		ECP_DIM_ACQUISITION_CHANNEL; NULL when the order has none, the
 *		timeline keeps no empty strings).  Customers without an uncancelled
 *		order have no row.  Returns *nrows rows in ascending customer_id,
 *		palloc'd in the caller's memory context.
 */
EcpFirstOrder *
ecp_first_orders(const EcpDimension *dims, int ndims, int64 *nrows)
{
	MemoryContext caller = CurrentMemoryContext;
	MemoryContext work;
	MemoryContext fetchcxt;
	EcpFirstOrder *rows = NULL;
	int64		n = 0;
	EcpKeyMap  *keys;
	EcpCalendar *cal;

	if (ndims < 1 || ndims > ECP_FIRST_ORDER_MAX_VALUES)
		elog(ERROR, "%d dimensions asked of first orders", ndims);
	for (int d = 0; d < ndims; d++)
		if (!single_order_value(dims[d]))
			elog(ERROR, "dimension %d is not a single order-level value", (int) dims[d]);

	work = AllocSetContextCreate(caller, "ecpower first orders",
								 ALLOCSET_DEFAULT_SIZES);
	fetchcxt = AllocSetContextCreate(work, "ecpower first orders fetch",
									 ALLOCSET_DEFAULT_SIZES);
	MemoryContextSwitchTo(work);
	keys = ecp_keymap_load();
	cal = ecp_store_calendar();

	/* one fetch per dimension: the first orders are the same in each */
	for (int d = 0; d < ndims; d++)
	{
		EcpFetchSpec spec;
		EcpReportSet *set;

		MemoryContextSwitchTo(fetchcxt);
		memset(&spec, 0, sizeof(spec));
		spec.as_of = DT_NOEND;
		spec.variant = ECP_VARIANT_FIRST;
		spec.dimension = dims[d];
		spec.cal = cal;
		set = ecp_report_fetch(&spec);

		if (d == 0)
		{
			n = set->ncustomers;
			rows = MemoryContextAllocHuge(caller, sizeof(EcpFirstOrder) * Max(n, 1));
		}
		else if (set->ncustomers != n)
			elog(ERROR, "first orders of %lld and %d customers in one snapshot",
				 (long long) n, set->ncustomers);

		for (int32 c = 0; c < set->ncustomers; c++)
		{
			int64		o0 = set->cust_start[c];
			const EcpReportOrder *first = &set->orders[o0];
			EcpFirstOrder *r = &rows[c];

			if ((c & 0x3FFF) == 0)
				CHECK_FOR_INTERRUPTS();
			if (d == 0)
			{
				memset(r, 0, sizeof(EcpFirstOrder));
				r->customer_id = customer_of(keys, set->cust_ckey[c]);
				r->order_id = first->order_id;
				r->ordered_at = first->ordered_at;
				r->day = ecp_local_date(cal, first->ordered_at);
			}
			else if (r->order_id != first->order_id)
				elog(ERROR, "first order of customer %lld differs between two reads",
					 (long long) r->customer_id);
			if (set->vstart[o0] < set->vstart[o0 + 1])
				r->value[d] = MemoryContextStrdup(caller,
												  set->dict->text[set->values[set->vstart[o0]]]);
		}
		MemoryContextSwitchTo(work);
		MemoryContextReset(fetchcxt);
	}
	MemoryContextSwitchTo(caller);
	MemoryContextDelete(work);

	if (n > 1)
		qsort(rows, n, sizeof(EcpFirstOrder), first_order_cmp);
	*nrows = n;
	return rows;
}

/*
 * customer_orders(customer_ids bigint[], after timestamptz, up_to timestamptz)
 *	RETURNS TABLE (customer_id bigint, orders bigint, revenue numeric,
 *				   first_order_at timestamptz, last_order_at timestamptz,
 *				   order_days bigint)
 *		ecpower._customer_orders(): ecp_order_summaries() as rows.  A NULL
 *		customer_ids is every customer (NULL elements match nobody); a NULL
 *		after or up_to leaves that side open.  Revenue has two decimals.
 */
Datum
customer_orders(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	int64	   *ids = NULL;
	int64		nids = 0;
	TimestampTz after = PG_ARGISNULL(1) ? DT_NOBEGIN : PG_GETARG_TIMESTAMPTZ(1);
	TimestampTz up_to = PG_ARGISNULL(2) ? DT_NOEND : PG_GETARG_TIMESTAMPTZ(2);
	EcpOrderSummary *rows;
	int64		n;

	InitMaterializedSRF(fcinfo, 0);
	ecp_check_input_access(ECP_INPUT_CUSTOMERS | ECP_INPUT_ORDERS);

	if (!PG_ARGISNULL(0))
	{
		ArrayType  *arr = PG_GETARG_ARRAYTYPE_P(0);
		Datum	   *elems;
		bool	   *nulls;
		int			nelems;

		deconstruct_array(arr, INT8OID, sizeof(int64), FLOAT8PASSBYVAL,
						  TYPALIGN_DOUBLE, &elems, &nulls, &nelems);
		ids = palloc_extended(sizeof(int64) * Max(nelems, 1), MCXT_ALLOC_HUGE);
		for (int i = 0; i < nelems; i++)
		{
			if (!nulls[i])
				ids[nids++] = DatumGetInt64(elems[i]);
		}
		pfree(elems);
		pfree(nulls);
	}

	rows = ecp_order_summaries(ids, nids, after, up_to, &n);
	for (int64 i = 0; i < n; i++)
	{
		Datum		values[6];
		bool		isnull[6] = {false, false, false, false, false, false};

		values[0] = Int64GetDatum(rows[i].customer_id);
		values[1] = Int64GetDatum(rows[i].orders);
		values[2] = ecp_cents_to_numeric(rows[i].net_cents);
		values[3] = TimestampTzGetDatum(rows[i].first_at);
		values[4] = TimestampTzGetDatum(rows[i].last_at);
		values[5] = Int64GetDatum(rows[i].days);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, isnull);
	}
	return (Datum) 0;
}
