/*-------------------------------------------------------------------------
 *
 * orders.c
 *	  Fetch the counted orders of a set of customers, grouped by customer.
 *
 * One sequential scan of ecpower.orders keeps the counted orders (
 * cancelled_at IS NULL and ordered_at <= as_of) of the wanted customers as
 * (ckey, store-local date, net cents).  A counting sort on the dense
 * customer key groups them by customer in two linear passes, and each
 * customer's few orders are then sorted by date.  The result is indexed by
 * ckey, so a report walks a segment's bitmap and finds each member's orders
 * by one array lookup.
 *
 * Reports only need dates (not instants or order ids) of orders: ties in
 * ordered_at never change a date, a gap or a month offset.
 *
 * src/timeline/orders.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/heapam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "access/tableam.h"
#include "catalog/pg_type.h"
#include "common/int.h"
#include "executor/spi.h"
#include "executor/tuptable.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/datetime.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"

#include "core/arrays.h"
#include "core/bitmap.h"
#include "timeline/input.h"
#include "timeline/ordercache.h"
#include "timeline/orders.h"

/* customers with more orders than this are sorted with qsort */
#define INSERTION_SORT_MAX	16

/* counted orders as the scan finds them, before grouping */
typedef struct OrderBuf
{
	int64		n;
	int64		cap;
	int32	   *ckey;
	DateADT    *day;
	int64	   *cents;
	int64	   *order_id;		/* with gross profits only, when want_ids */
	int64	   *profit;			/* with gross profits only */
	bool		want_ids;		/* orders whose profits are fetched later */
} OrderBuf;

/* append one order, doubling the arrays when full */
static void
order_buf_add(OrderBuf *buf, int32 ckey, DateADT day, int64 cents,
			  int64 order_id, int64 profit)
{
	if (buf->n == buf->cap)
	{
		int64		c = buf->cap;

		buf->ckey = ecp_grow_array(buf->ckey, &c, buf->n + 1, sizeof(int32), false);
		c = buf->cap;
		buf->day = ecp_grow_array(buf->day, &c, buf->n + 1, sizeof(DateADT), false);
		c = buf->cap;
		buf->cents = ecp_grow_array(buf->cents, &c, buf->n + 1, sizeof(int64), false);
		if (buf->profit != NULL)
		{
			c = buf->cap;
			buf->order_id = ecp_grow_array(buf->order_id, &c, buf->n + 1, sizeof(int64), false);
			c = buf->cap;
			buf->profit = ecp_grow_array(buf->profit, &c, buf->n + 1, sizeof(int64), false);
		}
		buf->cap = c;
	}
	buf->ckey[buf->n] = ckey;
	buf->day[buf->n] = day;
	buf->cents[buf->n] = cents;
	if (buf->profit != NULL)
	{
		if (buf->want_ids)
			buf->order_id[buf->n] = order_id;
		buf->profit[buf->n] = profit;
	}
	buf->n++;
}

/* qsort comparator of (day, cents, profit) by day */
typedef struct DayCents
{
	DateADT		day;
	int64		cents;
	int64		profit;
} DayCents;

static int
cmp_day_cents(const void *a, const void *b)
{
	DateADT		x = ((const DayCents *) a)->day;
	DateADT		y = ((const DayCents *) b)->day;

	return (x > y) - (x < y);
}

/* sort one customer's orders [lo, hi) by date */
static void
sort_customer_orders(EcpCountedSet *os, int64 lo, int64 hi)
{
	int64		n = hi - lo;

	if (n <= INSERTION_SORT_MAX)
	{
		for (int64 i = lo + 1; i < hi; i++)
		{
			DateADT		d = os->day[i];
			int64		c = os->cents[i];
			int64		p = os->profit ? os->profit[i] : 0;
			int64		j = i;

			while (j > lo && os->day[j - 1] > d)
			{
				os->day[j] = os->day[j - 1];
				os->cents[j] = os->cents[j - 1];
				if (os->profit)
					os->profit[j] = os->profit[j - 1];
				j--;
			}
			os->day[j] = d;
			os->cents[j] = c;
			if (os->profit)
				os->profit[j] = p;
		}
	}
	else
	{
		DayCents   *tmp = ecp_alloc_array(n, sizeof(DayCents), false);

		for (int64 i = 0; i < n; i++)
		{
			tmp[i].day = os->day[lo + i];
			tmp[i].cents = os->cents[lo + i];
			tmp[i].profit = os->profit ? os->profit[lo + i] : 0;
		}
		qsort(tmp, n, sizeof(DayCents), cmp_day_cents);
		for (int64 i = 0; i < n; i++)
		{
			os->day[lo + i] = tmp[i].day;
			os->cents[lo + i] = tmp[i].cents;
			if (os->profit)
				os->profit[lo + i] = tmp[i].profit;
		}
		pfree(tmp);
	}
}

/* a fetch of counted orders in progress */
typedef struct CountedScan
{
	EcpCountedSet *os;
	EcpKeyMap  *keys;
	roaring_bitmap_t *members;
	uint64	   *member_bits;	/* the members as one bit per key up to max_ckey */
	TimestampTz as_of;
	EcpCalendar *cal;
	OrderBuf	buf;
	int64		abs_total;
	int64		last_customer_id;
	int32		last_ckey;
	/* order cache: its orders changed since, to take from the heap instead */
	const EcpCacheState *st;
	int64		ncached;		/* orders taken from the chunks */
} CountedScan;

/*
 * keep an uncancelled order of a customer key when counted and wanted
 * (profit: its gross profit when known from the cache, else unknown for
 * now: fetched after the scan)
 */
static inline void
counted_add(CountedScan *cs, int32 ckey, TimestampTz at, DateADT day, int64 cents,
			int64 order_id, int64 profit)
{
	if (at > cs->as_of)
		return;
	if (ckey < 0 || ckey > cs->keys->max_ckey || !cs->keys->present[ckey])
		return;					/* a customer inserted after the key map */
	if (cs->member_bits != NULL &&
		(cs->member_bits[ckey / 64] & (UINT64CONST(1) << (ckey % 64))) == 0)
		return;
	order_buf_add(&cs->buf, ckey, day, cents, order_id, profit);

	/*
	 * With the sum of absolute amounts in range, every sum a report takes
	 * over a subset of these orders is in range too.
	 */
	if (pg_add_s64_overflow(cs->abs_total, cents < 0 ? -cents : cents, &cs->abs_total))
		ereport(ERROR,
				(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
				 errmsg("total of order amounts out of range")));
	cs->os->revenue += cents;
}

/* one order row (columns by attribute number in values/isnull) */
static void
counted_row(CountedScan *cs, Datum *values, bool *isnull, AttrNumber att_id,
			AttrNumber att_customer, AttrNumber att_at, AttrNumber att_total,
			AttrNumber att_refunded, AttrNumber att_cancelled)
{
	TimestampTz at;
	int64		customer_id;
	int64		cents;

	if (!isnull[att_cancelled - 1] || isnull[att_at - 1] || isnull[att_customer - 1])
		return;
	at = DatumGetTimestampTz(values[att_at - 1]);
	if (at > cs->as_of)
		return;
	customer_id = DatumGetInt64(values[att_customer - 1]);
	if (customer_id != cs->last_customer_id)
	{
		/* orders often come customer by customer: skip repeat lookups */
		cs->last_customer_id = customer_id;
		cs->last_ckey = ecp_keymap_ckey(cs->keys, customer_id);
	}
	if (cs->last_ckey < 0 || cs->last_ckey > cs->keys->max_ckey)
		return;
	cents = ecp_numeric_to_cents(values[att_total - 1]);
	if (!isnull[att_refunded - 1] &&
		pg_sub_s64_overflow(cents, ecp_numeric_to_cents(values[att_refunded - 1]), &cents))
		ereport(ERROR,
				(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
				 errmsg("order amount out of range")));
	counted_add(cs, cs->last_ckey, at, ecp_local_date(cs->cal, at), cents,
				DatumGetInt64(values[att_id - 1]), ECP_PROFIT_UNKNOWN);
}

/* every counted order from a sequential scan of ecpower.orders */
static void
counted_from_heap(CountedScan *cs, Relation rel)
{
	TupleDesc	desc = RelationGetDescr(rel);
	TupleTableSlot *slot;
	TableScanDesc scan;
	AttrNumber	att_id = ecp_column_attnum(desc, "order_id");
	AttrNumber	att_customer = ecp_column_attnum(desc, "customer_id");
	AttrNumber	att_at = ecp_column_attnum(desc, "ordered_at");
	AttrNumber	att_total = ecp_column_attnum(desc, "total");
	AttrNumber	att_refunded = ecp_column_attnum(desc, "refunded");
	AttrNumber	att_cancelled = ecp_column_attnum(desc, "cancelled_at");
	AttrNumber	maxatt;
	uint64		nrows = 0;

	maxatt = Max(Max(att_customer, att_at), Max(att_total, att_refunded));
	maxatt = Max(Max(maxatt, att_cancelled), att_id);
	slot = table_slot_create(rel, NULL);
	scan = table_beginscan(rel, GetActiveSnapshot(), 0, NULL);
	while (table_scan_getnextslot(scan, ForwardScanDirection, slot))
	{
		if ((++nrows & 0xFFFF) == 0)
			CHECK_FOR_INTERRUPTS();
		slot_getsomeattrs(slot, maxatt);
		counted_row(cs, slot->tts_values, slot->tts_isnull, att_id, att_customer,
					att_at, att_total, att_refunded, att_cancelled);
	}
	table_endscan(scan);
	ExecDropSingleTupleTableSlot(slot);
}

/* ecp_cache_read() sink: the counted orders of a chunk */
static void
counted_sink(void *arg, const char *orders, const char *bits, int32 n)
{
	CountedScan *cs = (CountedScan *) arg;

	for (int32 i = 0; i < n; i++)
	{
		EcpOrder	o;

		memcpy(&o, orders + (Size) i * sizeof(EcpOrder), sizeof(EcpOrder));
		if (o.ordered_at > cs->as_of || ecp_cache_is_stale(cs->st, o.order_id))
			continue;
		counted_add(cs, o.cust, o.ordered_at, o.day, o.net, o.order_id,
					o.costed ? o.profit : ECP_PROFIT_UNKNOWN);
	}
}

/* input callback: an order changed since the cache was written */
static void
counted_stale_row(void *arg, const EcpOrderInputCols *cols, Datum *values, bool *isnull)
{
	counted_row((CountedScan *) arg, values, isnull, cols->att[ECP_OC_ORDER_ID],
				cols->att[ECP_OC_CUSTOMER_ID], cols->att[ECP_OC_ORDERED_AT],
				cols->att[ECP_OC_TOTAL], cols->att[ECP_OC_REFUNDED],
				cols->att[ECP_OC_CANCELLED_AT]);
}

/*
 * Every counted order from the order cache (src/ordercache.c), the orders
 * changed since it was written read again from the heap by primary key
 * (timeline/input.h).
 */
static void
counted_from_cache(CountedScan *cs, const EcpCacheState *st)
{
	cs->st = st;
	/* cached orders come with their profits: no ids to keep */
	cs->buf.want_ids = false;
	ecp_cache_read(-1, counted_sink, cs);
	cs->buf.want_ids = true;
	cs->ncached = cs->buf.n;
	ecp_input_read_orders(st->stale, st->nstale, counted_stale_row, cs);
}

/*
 * ecp_order_set_group
 *		Group n orders (ckey[i], day[i], cents[i], profit[i]) into os by
 *		customer key, dates ascending within a customer; os->keys and
 *		os->nkeys must be set; profit may be NULL (not fetched).  The arrays
 *		are read, not kept.
 */
void
ecp_order_set_group(EcpCountedSet *os, int64 n, const int32 *ckey,
					const DateADT *day, const int64 *cents, const int64 *profit)
{
	int64	   *pos;

	os->norders = n;
	os->buyers = 0;
	os->start = ecp_alloc_array((int64) os->nkeys + 1, sizeof(int64), false);
	memset(os->start, 0, sizeof(int64) * ((Size) os->nkeys + 1));
	for (int64 i = 0; i < n; i++)
		os->start[ckey[i] + 1]++;
	for (int32 k = 0; k < os->nkeys; k++)
	{
		if (os->start[k + 1] > 0)
			os->buyers++;
		os->start[k + 1] += os->start[k];
	}
	pos = ecp_alloc_array((int64) os->nkeys, sizeof(int64), false);
	memcpy(pos, os->start, sizeof(int64) * (Size) os->nkeys);
	os->day = ecp_alloc_array(n, sizeof(DateADT), false);
	os->cents = ecp_alloc_array(n, sizeof(int64), false);
	os->profit = profit ? ecp_alloc_array(n, sizeof(int64), false) : NULL;
	for (int64 i = 0; i < n; i++)
	{
		int64		p = pos[ckey[i]]++;

		os->day[p] = day[i];
		os->cents[p] = cents[i];
		if (profit)
			os->profit[p] = profit[i];
	}
	pfree(pos);

	for (int32 k = 0; k < os->nkeys; k++)
	{
		if (os->start[k + 1] - os->start[k] > 1)
			sort_customer_orders(os, os->start[k], os->start[k + 1]);
		if ((k & 0xFFFF) == 0)
			CHECK_FOR_INTERRUPTS();
	}
}

/*
 * counted_orders
 *		The counted orders as of 'as_of' of the customers in 'members' (every
 *		customer when NULL), in CurrentMemoryContext, with their gross
 *		profits when 'with_profit'.  'keys' maps customer ids to the dense
 *		keys the bitmap and the result are indexed by.
 *
 * This is the one function that reads ecpower.orders for the reports; it
 * may be replaced by any faster access path that returns the same set.
 */
static EcpCountedSet *
counted_orders(EcpKeyMap *keys, roaring_bitmap_t *members,
			   TimestampTz as_of, EcpCalendar *cal, bool with_profit)
{
	EcpCountedSet *os = palloc0(sizeof(EcpCountedSet));
	CountedScan cs;
	Relation	rel;
	EcpCacheState *st;
	int64		costs_from = 0;	/* orders from here on need their profits */

	os->keys = keys;
	os->nkeys = keys->max_ckey + 1;
	memset(&cs, 0, sizeof(cs));
	cs.os = os;
	cs.keys = keys;
	cs.members = members;
	/* a bit test per order is far cheaper than a bitmap lookup */
	if (members != NULL)
		cs.member_bits = ecp_bitmap_bits(members, keys->max_ckey + 1);
	cs.as_of = as_of;
	cs.cal = cal;
	cs.last_customer_id = PG_INT64_MIN;
	cs.last_ckey = -1;

	rel = table_open(ecp_relid("orders"), AccessShareLock);

	/*
	 * Room for the orders expected, to avoid regrowing: every order for the
	 * store, three times the members' share of the customers for a set
	 * (pages never touched cost nothing).
	 */
	cs.buf.n = 0;
	cs.buf.cap = ecp_input_orders_expected(1024, members == NULL ? 1.0 :
										   Min(1.0, 3.0 * (double) roaring_bitmap_get_cardinality(members) /
											   Max(keys->ncustomers, 1)));
	cs.buf.ckey = ecp_alloc_array(cs.buf.cap, sizeof(int32), false);
	cs.buf.day = ecp_alloc_array(cs.buf.cap, sizeof(DateADT), false);
	cs.buf.cents = ecp_alloc_array(cs.buf.cap, sizeof(int64), false);
	if (with_profit)
	{
		cs.buf.order_id = ecp_alloc_array(cs.buf.cap, sizeof(int64), false);
		cs.buf.profit = ecp_alloc_array(cs.buf.cap, sizeof(int64), false);
		cs.buf.want_ids = true;
	}

	/*
	 * The order cache of the last refresh, unless so many orders changed
	 * since that reading them by key would cost more than a scan.
	 */
	st = ecp_cache_open_orders(ecp_store_timezone());
	if (st->usable && st->nstale <= st->nbase / 4)
	{
		counted_from_cache(&cs, st);
		costs_from = cs.ncached;
		elog(DEBUG1, "ecpower counted orders: %lld from the order cache, %lld changed orders re-read",
			 (long long) cs.buf.n, (long long) st->nstale);
	}
	else
	{
		counted_from_heap(&cs, rel);
		elog(DEBUG1, "ecpower counted orders: %lld from a scan of ecpower.orders",
			 (long long) cs.buf.n);
	}
	table_close(rel, AccessShareLock);
	if (with_profit && cs.buf.n > costs_from)
		ecp_order_profits(cs.buf.n - costs_from, cs.buf.order_id + costs_from,
						  cs.buf.cents + costs_from, cs.buf.profit + costs_from);

	ecp_order_set_group(os, cs.buf.n, cs.buf.ckey, cs.buf.day, cs.buf.cents,
						cs.buf.profit);
	pfree(cs.buf.ckey);
	pfree(cs.buf.day);
	pfree(cs.buf.cents);
	if (with_profit)
	{
		pfree(cs.buf.order_id);
		pfree(cs.buf.profit);
	}
	return os;
}

/*
 * ecp_counted_orders
 *		The counted orders as of 'as_of' of the customers in 'members' (every
 *		customer when NULL): dates and net amounts (os->profit is NULL).
 */
EcpCountedSet *
ecp_counted_orders(EcpKeyMap *keys, roaring_bitmap_t *members,
				   TimestampTz as_of, EcpCalendar *cal)
{
	return counted_orders(keys, members, as_of, cal, false);
}

/*
 * ecp_counted_orders_profit
 *		The same with every order's gross profit (os->profit).
 */
EcpCountedSet *
ecp_counted_orders_profit(EcpKeyMap *keys, roaring_bitmap_t *members,
						  TimestampTz as_of, EcpCalendar *cal)
{
	return counted_orders(keys, members, as_of, cal, true);
}

/*
 * ecp_report_keys
 *		The customers a report covers, ascending: the members of 'members'
 *		that still exist, or, when 'members' is NULL (the whole store),
 *		every customer with at least one counted order.
 */
EcpKeySet
ecp_report_keys(EcpCountedSet *os, roaring_bitmap_t *members)
{
	EcpKeySet	ks;

	if (members == NULL)
	{
		ks.keys = ecp_alloc_array(os->buyers, sizeof(uint32), false);
		ks.n = 0;
		for (int32 k = 0; k < os->nkeys; k++)
		{
			if (os->start[k + 1] > os->start[k])
				ks.keys[ks.n++] = (uint32) k;
		}
	}
	else
	{
		uint64		card = roaring_bitmap_get_cardinality(members);
		roaring_uint32_iterator_t it;

		ks.keys = ecp_alloc_array((int64) card, sizeof(uint32), false);
		ks.n = 0;
		roaring_init_iterator(members, &it);
		while (it.has_value)
		{
			uint32		k = it.current_value;

			if (k <= (uint32) os->keys->max_ckey && os->keys->present[k])
				ks.keys[ks.n++] = k;
			roaring_advance_uint32_iterator(&it);
		}
	}
	return ks;
}

/*
 * ecp_orders_between
 *		The index range [*lo, *hi) of a customer's orders dated in
 *		[from, to]; DATEVAL_NOBEGIN / DATEVAL_NOEND leave a side open.
 */
void
ecp_orders_between(EcpCountedSet *os, uint32 ckey, DateADT from, DateADT to,
				   int64 *lo, int64 *hi)
{
	int64		a = os->start[ckey];
	int64		b = os->start[ckey + 1];

	while (a < b && os->day[a] < from)
		a++;
	while (b > a && os->day[b - 1] > to)
		b--;
	*lo = a;
	*hi = b;
}
