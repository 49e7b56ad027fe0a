/*-------------------------------------------------------------------------
 *
 * orders.c
 *	  Fetch the counted orders of a set of customers, grouped by customer.
 *
 * One sequential scan of ecpower.orders keeps the counted orders (SPEC 1:
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
 * src/orders.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/heapam.h"
#include "access/table.h"
#include "access/tableam.h"
#include "catalog/pg_type.h"
#include "common/int.h"
#include "executor/tuptable.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/datetime.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"

#include "orders.h"

/* customers with more orders than this are sorted with qsort */
#define INSERTION_SORT_MAX	16

/* a huge-capable allocation of n elements of the given size */
static void *
alloc_array(int64 n, Size elem)
{
	if (n < 1)
		n = 1;
	if ((Size) n > MaxAllocHugeSize / elem)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("too many orders to report on: %lld", (long long) n)));
	return palloc_extended((Size) n * elem, MCXT_ALLOC_HUGE);
}

/* counted orders as the scan finds them, before grouping */
typedef struct OrderBuf
{
	int64		n;
	int64		cap;
	int32	   *ckey;
	DateADT    *day;
	int64	   *cents;
} OrderBuf;

/* append one order, doubling the arrays when full */
static void
order_buf_add(OrderBuf *buf, int32 ckey, DateADT day, int64 cents)
{
	if (buf->n == buf->cap)
	{
		int64		newcap = buf->cap * 2;

		if ((Size) newcap > MaxAllocHugeSize / sizeof(int64))
			ereport(ERROR,
					(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
					 errmsg("too many orders to report on: %lld", (long long) buf->n)));
		buf->ckey = repalloc_huge(buf->ckey, sizeof(int32) * newcap);
		buf->day = repalloc_huge(buf->day, sizeof(DateADT) * newcap);
		buf->cents = repalloc_huge(buf->cents, sizeof(int64) * newcap);
		buf->cap = newcap;
	}
	buf->ckey[buf->n] = ckey;
	buf->day[buf->n] = day;
	buf->cents[buf->n] = cents;
	buf->n++;
}

/* qsort comparator of (day, cents) pairs by day */
typedef struct DayCents
{
	DateADT		day;
	int64		cents;
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
sort_customer_orders(EcpOrderSet *os, int64 lo, int64 hi)
{
	int64		n = hi - lo;

	if (n <= INSERTION_SORT_MAX)
	{
		for (int64 i = lo + 1; i < hi; i++)
		{
			DateADT		d = os->day[i];
			int64		c = os->cents[i];
			int64		j = i;

			while (j > lo && os->day[j - 1] > d)
			{
				os->day[j] = os->day[j - 1];
				os->cents[j] = os->cents[j - 1];
				j--;
			}
			os->day[j] = d;
			os->cents[j] = c;
		}
	}
	else
	{
		DayCents   *tmp = alloc_array(n, sizeof(DayCents));

		for (int64 i = 0; i < n; i++)
		{
			tmp[i].day = os->day[lo + i];
			tmp[i].cents = os->cents[lo + i];
		}
		qsort(tmp, n, sizeof(DayCents), cmp_day_cents);
		for (int64 i = 0; i < n; i++)
		{
			os->day[lo + i] = tmp[i].day;
			os->cents[lo + i] = tmp[i].cents;
		}
		pfree(tmp);
	}
}

/*
 * ecp_order_set_group
 *		Group n orders (ckey[i], day[i], cents[i]) into os by customer key,
 *		dates ascending within a customer; os->keys and os->nkeys must be
 *		set.  The arrays are read, not kept.
 */
void
ecp_order_set_group(EcpOrderSet *os, int64 n, const int32 *ckey,
					const DateADT *day, const int64 *cents)
{
	int64	   *pos;

	os->norders = n;
	os->buyers = 0;
	os->start = alloc_array((int64) os->nkeys + 1, sizeof(int64));
	memset(os->start, 0, sizeof(int64) * ((Size) os->nkeys + 1));
	for (int64 i = 0; i < n; i++)
		os->start[ckey[i] + 1]++;
	for (int32 k = 0; k < os->nkeys; k++)
	{
		if (os->start[k + 1] > 0)
			os->buyers++;
		os->start[k + 1] += os->start[k];
	}
	pos = alloc_array((int64) os->nkeys, sizeof(int64));
	memcpy(pos, os->start, sizeof(int64) * (Size) os->nkeys);
	os->day = alloc_array(n, sizeof(DateADT));
	os->cents = alloc_array(n, sizeof(int64));
	for (int64 i = 0; i < n; i++)
	{
		int64		p = pos[ckey[i]]++;

		os->day[p] = day[i];
		os->cents[p] = cents[i];
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
 * ecp_counted_orders
 *		The counted orders as of 'as_of' of the customers in 'members' (every
 *		customer when NULL), in CurrentMemoryContext.  'keys' maps customer
 *		ids to the dense keys the bitmap and the result are indexed by.
 *
 * This is the one function that reads ecpower.orders for the reports; it
 * may be replaced by any faster access path that returns the same set.
 */
EcpOrderSet *
ecp_counted_orders(EcpKeyMap *keys, roaring_bitmap_t *members,
				   TimestampTz as_of, EcpCalendar *cal)
{
	EcpOrderSet *os = palloc0(sizeof(EcpOrderSet));
	Relation	rel;
	TupleDesc	desc;
	TupleTableSlot *slot;
	TableScanDesc scan;
	AttrNumber	att_customer,
				att_at,
				att_total,
				att_refunded,
				att_cancelled;
	AttrNumber	maxatt;
	OrderBuf	buf;
	int64		abs_total = 0;
	int64		last_customer_id = PG_INT64_MIN;
	int32		last_ckey = -1;
	uint64		nrows = 0;

	os->keys = keys;
	os->nkeys = keys->max_ckey + 1;

	rel = table_open(ecp_relid("orders"), AccessShareLock);

	/* room for every order when filtering keeps most, to avoid regrowing */
	buf.n = 0;
	buf.cap = 1024;
	if (members == NULL && rel->rd_rel->reltuples > buf.cap)
		buf.cap = (int64) Min(rel->rd_rel->reltuples * 1.05, 1e9);
	buf.ckey = alloc_array(buf.cap, sizeof(int32));
	buf.day = alloc_array(buf.cap, sizeof(DateADT));
	buf.cents = alloc_array(buf.cap, sizeof(int64));

	desc = RelationGetDescr(rel);
	att_customer = ecp_column_attnum(desc, "customer_id");
	att_at = ecp_column_attnum(desc, "ordered_at");
	att_total = ecp_column_attnum(desc, "total");
	att_refunded = ecp_column_attnum(desc, "refunded");
	att_cancelled = ecp_column_attnum(desc, "cancelled_at");
	maxatt = Max(Max(att_customer, att_at), Max(att_total, att_refunded));
	maxatt = Max(maxatt, att_cancelled);

	slot = table_slot_create(rel, NULL);
	scan = table_beginscan(rel, GetActiveSnapshot(), 0, NULL);
	while (table_scan_getnextslot(scan, ForwardScanDirection, slot))
	{
		TimestampTz at;
		int64		customer_id;
		int32		ckey;
		int64		cents;

		if ((++nrows & 0xFFFF) == 0)
			CHECK_FOR_INTERRUPTS();
		slot_getsomeattrs(slot, maxatt);
		if (!slot->tts_isnull[att_cancelled - 1] ||
			slot->tts_isnull[att_at - 1] || slot->tts_isnull[att_customer - 1])
			continue;
		at = DatumGetTimestampTz(slot->tts_values[att_at - 1]);
		if (at > as_of)
			continue;
		customer_id = DatumGetInt64(slot->tts_values[att_customer - 1]);
		if (customer_id != last_customer_id)
		{
			/* orders often come customer by customer: skip repeat lookups */
			last_customer_id = customer_id;
			last_ckey = ecp_keymap_ckey(keys, customer_id);
		}
		ckey = last_ckey;
		if (ckey < 0 || ckey > keys->max_ckey)
			continue;			/* a customer inserted after the key map */
		if (members != NULL && !roaring_bitmap_contains(members, (uint32) ckey))
			continue;

		cents = ecp_numeric_to_cents(slot->tts_values[att_total - 1]);
		if (!slot->tts_isnull[att_refunded - 1] &&
			pg_sub_s64_overflow(cents,
								ecp_numeric_to_cents(slot->tts_values[att_refunded - 1]),
								&cents))
			ereport(ERROR,
					(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
					 errmsg("order amount out of range")));

		order_buf_add(&buf, ckey, ecp_local_date(cal, at), cents);

		/*
		 * With the sum of absolute amounts in range, every sum a report
		 * takes over a subset of these orders is in range too.
		 */
		if (pg_add_s64_overflow(abs_total, cents < 0 ? -cents : cents, &abs_total))
			ereport(ERROR,
					(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
					 errmsg("total of order amounts out of range")));
		os->revenue += cents;
	}
	table_endscan(scan);
	ExecDropSingleTupleTableSlot(slot);
	table_close(rel, AccessShareLock);

	ecp_order_set_group(os, buf.n, buf.ckey, buf.day, buf.cents);
	pfree(buf.ckey);
	pfree(buf.day);
	pfree(buf.cents);
	return os;
}

/*
 * ecp_report_keys
 *		The customers a report covers, ascending: the members of 'members'
 *		that still exist, or, when 'members' is NULL (the whole store),
 *		every customer with at least one counted order.
 */
EcpKeySet
ecp_report_keys(EcpOrderSet *os, roaring_bitmap_t *members)
{
	EcpKeySet	ks;

	if (members == NULL)
	{
		ks.keys = alloc_array(os->buyers, sizeof(uint32));
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

		ks.keys = alloc_array((int64) card, sizeof(uint32));
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
ecp_orders_between(EcpOrderSet *os, uint32 ckey, DateADT from, DateADT to,
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
				 errmsg("from date %s is after to date %s",
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
