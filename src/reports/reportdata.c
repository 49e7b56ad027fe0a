/*-------------------------------------------------------------------------
 *
 * reportdata.c
 *	  The report source: the counted orders of a set of customers, their
 *	  sequence numbers, the orders a variant and period select, and the
 *	  values those orders carry (README "Feature reports").
 *
 * ecp_report_fetch() is the only function of the report engine that reads
 * the store's tables.  It runs sequential scans in C (no SPI for the big
 * tables):
 *
 *	orders		every counted order of a wanted customer (customer_id is
 *				mapped to the dense ckey); order-level values (channels,
 *				UTM fields, tags, discount codes) are interned on the way
 *				for orders inside the period;
 *	sort		a counting sort by ckey, then each customer's orders by
 *				(ordered_at, order_id): sequence numbers and selection;
 *	order_lines	only when the dimension is a product one or items are
 *				wanted, and only lines of selected orders (a hash of their
 *				order ids);
 *	customers	only for the customer dimensions, only customers with a
 *				selected order.
 *
 * Values are interned in an EcpValueDict; a selected order's values are
 * stored in CSR form (vstart/values).  Nothing here counts customers: the
 * reports do that in one walk over the result.
 *
 * src/reports/reportdata.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/heapam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "access/tableam.h"
#include "catalog/pg_type.h"
#include "common/hashfn.h"
#include "common/int.h"
#include "executor/spi.h"
#include "executor/tuptable.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"

#include "core/arrays.h"
#include "reports/report.h"
#include "timeline/customers.h"

/*
 * Id lookups use a direct array over [min_id, max_id] when the ids are
 * dense enough: at most 8 slots per id plus DIRECT_SLACK, and never more
 * than DIRECT_MAX slots (4 bytes each).  Real stores number customers and
 * orders from sequences and store lines next to their orders, so the array
 * is read nearly in sequence, unlike a hash table.
 */
#define DIRECT_SLACK	(INT64CONST(1) << 20)
#define DIRECT_MAX		(INT64CONST(1) << 25)

/* (order index, value id): a value carried by an order, before CSR */
typedef struct ValuePair
{
	int32		order;
	int32		value;
} ValuePair;

typedef struct PairList
{
	int64		n;
	int64		cap;
	ValuePair  *items;
	MemoryContext mcxt;			/* where items lives */
} PairList;

/*
 * An int64 id -> int32 value map, built once and then only read: customer
 * ids -> ckey, order ids -> index of a selected order.  Ids are usually
 * dense (sequences), so a direct array over [min_id, max_id] is used when
 * that is not much larger than a hash table (see DIRECT_SLACK); else open
 * addressing with linear probing.
 */
typedef struct IdSlot
{
	int64		id;
	int32		value;			/* -1: empty */
} IdSlot;

typedef struct IdMap
{
	int64		min_id;
	int64		range;			/* direct array length; 0: hash table */
	int32	   *direct;
	uint32		nslots;
	IdSlot	   *slots;
} IdMap;

/* which column of which table a dimension reads */
typedef enum DimSource
{
	SRC_ORDER_TEXT,				/* an orders text column */
	SRC_ORDER_ARRAY,			/* an orders text[] column */
	SRC_LINE_PRODUCT,			/* the line's product_id */
	SRC_LINE_SKU,				/* the line's sku */
	SRC_PRODUCT_ATTR,			/* an attribute of the line's product */
	SRC_CALENDAR,				/* the order's store-local time */
	SRC_CUSTOMER				/* an attribute of the order's customer */
} DimSource;

typedef struct DimInfo
{
	DimSource	source;
	const char *column;			/* orders/products/customers column, if any */
	bool		is_array;		/* text[] column */
} DimInfo;

/* indexed by EcpDimension */
static const DimInfo dim_info[ECP_NUM_DIMENSIONS] = {
	[ECP_DIM_PRODUCT] = {SRC_LINE_PRODUCT, NULL, false},
	[ECP_DIM_PRODUCT_TYPE] = {SRC_PRODUCT_ATTR, "product_type", false},
	[ECP_DIM_PRODUCT_TAG] = {SRC_PRODUCT_ATTR, "tags", true},
	[ECP_DIM_VENDOR] = {SRC_PRODUCT_ATTR, "vendor", false},
	[ECP_DIM_SKU] = {SRC_LINE_SKU, "sku", false},
	[ECP_DIM_ACQUISITION_CHANNEL] = {SRC_ORDER_TEXT, "acquisition_channel", false},
	[ECP_DIM_REFERRING_SITE] = {SRC_ORDER_TEXT, "referring_site", false},
	[ECP_DIM_LANDING_SITE] = {SRC_ORDER_TEXT, "landing_site", false},
	[ECP_DIM_UTM_SOURCE] = {SRC_ORDER_TEXT, "utm_source", false},
	[ECP_DIM_UTM_MEDIUM] = {SRC_ORDER_TEXT, "utm_medium", false},
	[ECP_DIM_UTM_CAMPAIGN] = {SRC_ORDER_TEXT, "utm_campaign", false},
	[ECP_DIM_SALES_CHANNEL] = {SRC_ORDER_TEXT, "sales_channel", false},
	[ECP_DIM_ORDER_TAG] = {SRC_ORDER_ARRAY, "tags", true},
	[ECP_DIM_DISCOUNT_CODE] = {SRC_ORDER_ARRAY, "discount_codes", true},
	[ECP_DIM_YEAR_MONTH] = {SRC_CALENDAR, NULL, false},
	[ECP_DIM_WEEKDAY] = {SRC_CALENDAR, NULL, false},
	[ECP_DIM_HOUR] = {SRC_CALENDAR, NULL, false},
	[ECP_DIM_CUSTOMER_TAG] = {SRC_CUSTOMER, "tags", true},
	[ECP_DIM_COUNTRY] = {SRC_CUSTOMER, "country", false},
	[ECP_DIM_PROVINCE] = {SRC_CUSTOMER, "province", false},
	[ECP_DIM_CITY] = {SRC_CUSTOMER, "city", false},
	[ECP_DIM_BOUGHT_TOGETHER] = {SRC_LINE_PRODUCT, NULL, false},
};

/*
 * ecp_dimension_kind
 *		How a dimension's values are keyed and labelled.
 */
EcpValueKind
ecp_dimension_kind(EcpDimension dim)
{
	Assert(dim >= 0 && dim < ECP_NUM_DIMENSIONS);
	switch (dim_info[dim].source)
	{
		case SRC_LINE_PRODUCT:
			return ECP_VALUES_PRODUCT;
		case SRC_CALENDAR:
			return ECP_VALUES_CALENDAR;
		default:
			return ECP_VALUES_TEXT;
	}
}

/* ---------------------------------------------------------------------
 * Helpers
 * ---------------------------------------------------------------------
 */

/* append (order, value) to a pair list, growing it by doubling */
static void
pairs_add(PairList *pl, int32 order, int32 value)
{
	if (pl->n >= pl->cap)
	{
		int64		newcap = pl->cap ? pl->cap * 2 : 4096;

		if ((Size) newcap * sizeof(ValuePair) > MaxAllocHugeSize)
			ereport(ERROR,
					(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
					 errmsg("too many values for a report")));
		if (pl->mcxt == NULL)
			pl->mcxt = CurrentMemoryContext;
		pl->items = pl->items
			? repalloc_huge(pl->items, sizeof(ValuePair) * newcap)
			: MemoryContextAllocExtended(pl->mcxt, sizeof(ValuePair) * newcap,
										 MCXT_ALLOC_HUGE);
		pl->cap = newcap;
	}
	pl->items[pl->n].order = order;
	pl->items[pl->n].value = value;
	pl->n++;
}

/*
 * Intern a text or text[] datum into the dictionary and add its values to
 * an order (or to whatever 'order' indexes).  NULL, empty strings and NULL
 * array elements are skipped (not reported).
 */
static void
add_text_values(EcpValueDict *dict, PairList *pl, int32 order,
				Datum value, bool is_array)
{
	if (!is_array)
	{
		text	   *t = (text *) PG_DETOAST_DATUM_PACKED(value);
		int			len = VARSIZE_ANY_EXHDR(t);

		if (len > 0)
			pairs_add(pl, order, ecp_dict_text(dict, VARDATA_ANY(t), len));
	}
	else
	{
		ArrayType  *arr = DatumGetArrayTypeP(value);
		Datum	   *elems;
		bool	   *nulls;
		int			n;

		if (ARR_NDIM(arr) == 0)
			return;
		deconstruct_array(arr, TEXTOID, -1, false, TYPALIGN_INT,
						  &elems, &nulls, &n);
		for (int i = 0; i < n; i++)
		{
			if (!nulls[i])
				add_text_values(dict, pl, order, elems[i], false);
		}
		pfree(elems);
		pfree(nulls);
	}
}

/* build an IdMap of n (id, value) pairs with distinct ids */
static void
idmap_build(IdMap *m, const int64 *ids, const int32 *values, int64 n)
{
	int64		min_id = PG_INT64_MAX;
	int64		max_id = PG_INT64_MIN;

	memset(m, 0, sizeof(IdMap));
	for (int64 i = 0; i < n; i++)
	{
		min_id = Min(min_id, ids[i]);
		max_id = Max(max_id, ids[i]);
	}
	if (n > 0 && max_id - min_id >= 0 &&
		max_id - min_id < Min(8 * n + DIRECT_SLACK, DIRECT_MAX))
	{
		m->min_id = min_id;
		m->range = max_id - min_id + 1;
		m->direct = palloc_extended(sizeof(int32) * m->range, MCXT_ALLOC_HUGE);
		memset(m->direct, 0xFF, sizeof(int32) * m->range);
		for (int64 i = 0; i < n; i++)
			m->direct[ids[i] - min_id] = values[i];
		return;
	}
	m->nslots = 1024;
	while (m->nslots < (uint64) n * 2)
		m->nslots *= 2;
	m->slots = palloc_extended(sizeof(IdSlot) * m->nslots, MCXT_ALLOC_HUGE);
	for (uint32 i = 0; i < m->nslots; i++)
		m->slots[i].value = -1;
	for (int64 i = 0; i < n; i++)
	{
		uint32		j = ecp_hash_int64(ids[i]) & (m->nslots - 1);

		while (m->slots[j].value >= 0)
			j = (j + 1) & (m->nslots - 1);
		m->slots[j].id = ids[i];
		m->slots[j].value = values[i];
	}
}

/* the value of an id, or -1 */
static inline int32
idmap_lookup(const IdMap *m, int64 id)
{
	uint32		j;

	if (m->direct != NULL)
	{
		uint64		off = (uint64) id - (uint64) m->min_id;

		return off < (uint64) m->range ? m->direct[off] : -1;
	}
	j = ecp_hash_int64(id) & (m->nslots - 1);
	while (m->slots[j].value >= 0)
	{
		if (m->slots[j].id == id)
			return m->slots[j].value;
		j = (j + 1) & (m->nslots - 1);
	}
	return -1;
}

/* order comparison within a customer: (ordered_at, order_id) */
static inline bool
order_before(const EcpReportOrder *a, const EcpReportOrder *b)
{
	if (a->ordered_at != b->ordered_at)
		return a->ordered_at < b->ordered_at;
	return a->order_id < b->order_id;
}

/* qsort comparator for order_before() */
static int
cmp_order(const void *pa, const void *pb)
{
	const EcpReportOrder *a = (const EcpReportOrder *) pa;
	const EcpReportOrder *b = (const EcpReportOrder *) pb;

	if (order_before(a, b))
		return -1;
	if (order_before(b, a))
		return 1;
	return 0;
}

/* sort one customer's orders: insertion sort for the usual few */
static void
sort_customer_orders(EcpReportOrder *o, int64 n)
{
	if (n > 16)
	{
		qsort(o, n, sizeof(EcpReportOrder), cmp_order);
		return;
	}
	for (int64 i = 1; i < n; i++)
	{
		EcpReportOrder	tmp = o[i];
		int64		j = i - 1;

		while (j >= 0 && order_before(&tmp, &o[j]))
		{
			o[j + 1] = o[j];
			j--;
		}
		o[j + 1] = tmp;
	}
}

/* ---------------------------------------------------------------------
 * The fetch
 * ---------------------------------------------------------------------
 */

/* orders scan result, before the sort */
typedef struct ScanRecord
{
	int64		order_id;
	TimestampTz ordered_at;
	int32		ckey;
} ScanRecord;

typedef struct ScanResult
{
	int64		n;
	int64		cap;
	ScanRecord *orders;
	int64	   *net_cents;		/* want_amount only */
} ScanResult;

/*
 * Scan ecpower.orders: the counted orders of wanted customers, and the
 * order-level values of those inside [lo, hi).
 */
static void
scan_orders(const EcpFetchSpec *spec, EcpKeyMap *customers, ScanResult *res,
			EcpValueDict *dict, PairList *pairs, TimestampTz lo, TimestampTz hi)
{
	Relation	rel = table_open(ecp_relid("orders"), AccessShareLock);
	TupleDesc	desc = RelationGetDescr(rel);
	AttrNumber	a_id = ecp_column_attnum(desc, "order_id");
	AttrNumber	a_cust = ecp_column_attnum(desc, "customer_id");
	AttrNumber	a_at = ecp_column_attnum(desc, "ordered_at");
	AttrNumber	a_total = ecp_column_attnum(desc, "total");
	AttrNumber	a_ref = ecp_column_attnum(desc, "refunded");
	AttrNumber	a_cancel = ecp_column_attnum(desc, "cancelled_at");
	AttrNumber	a_value = InvalidAttrNumber;
	bool		value_is_array = false;
	AttrNumber	maxatt;
	TupleTableSlot *slot = table_slot_create(rel, NULL);
	TableScanDesc scan = table_beginscan(rel, GetActiveSnapshot(), 0, NULL);
	MemoryContext rowcxt = AllocSetContextCreate(CurrentMemoryContext,
												 "ecpower report row",
												 ALLOCSET_SMALL_SIZES);
	int64		nrows = 0;

	if (spec->dimension != ECP_DIM_NONE &&
		(dim_info[spec->dimension].source == SRC_ORDER_TEXT ||
		 dim_info[spec->dimension].source == SRC_ORDER_ARRAY))
	{
		a_value = ecp_column_attnum(desc, dim_info[spec->dimension].column);
		value_is_array = dim_info[spec->dimension].is_array;
	}
	/* cancelled_at is read from the null bitmap: no need to deform to it */
	maxatt = Max(Max(Max(a_id, a_cust), Max(a_at, a_total)),
				 Max(a_ref, a_value));

	res->cap = Max(1024, (int64) Min(rel->rd_rel->reltuples, 1e8) + 1);
	res->orders = palloc_extended(sizeof(ScanRecord) * res->cap, MCXT_ALLOC_HUGE);
	if (spec->want_amount || spec->want_profit)
		res->net_cents = palloc_extended(sizeof(int64) * res->cap, MCXT_ALLOC_HUGE);

	while (table_scan_getnextslot(scan, ForwardScanDirection, slot))
	{
		Datum	   *v;
		bool	   *isnull;
		TimestampTz at;
		int32		ckey;
		ScanRecord *o;

		if ((++nrows & 0xFFFF) == 0)
			CHECK_FOR_INTERRUPTS();
		if (!heap_attisnull(ExecFetchSlotHeapTuple(slot, false, NULL), a_cancel, desc))
			continue;
		slot_getsomeattrs(slot, maxatt);
		v = slot->tts_values;
		isnull = slot->tts_isnull;

		at = DatumGetTimestampTz(v[a_at - 1]);
		if (at > spec->as_of)
			continue;
		ckey = ecp_keymap_ckey(customers, DatumGetInt64(v[a_cust - 1]));
		if (ckey < 0)
			continue;			/* customer inserted after the key map */
		if (spec->wanted != NULL &&
			(ckey > spec->max_wanted || !spec->wanted[ckey]))
			continue;

		if (res->n >= res->cap)
		{
			int64		newcap = res->cap * 2;

			if ((Size) newcap * sizeof(EcpReportOrder) > MaxAllocHugeSize ||
				newcap > PG_INT32_MAX)
				ereport(ERROR,
						(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
						 errmsg("too many orders for a report")));
			res->orders = repalloc_huge(res->orders, sizeof(ScanRecord) * newcap);
			if (res->net_cents)
				res->net_cents = repalloc_huge(res->net_cents, sizeof(int64) * newcap);
			res->cap = newcap;
		}
		o = &res->orders[res->n];
		o->order_id = DatumGetInt64(v[a_id - 1]);
		o->ordered_at = at;
		o->ckey = ckey;
		if (res->net_cents)
			res->net_cents[res->n] = ecp_numeric_to_cents(v[a_total - 1]) -
				ecp_numeric_to_cents(v[a_ref - 1]);

		if (a_value != InvalidAttrNumber && !isnull[a_value - 1] &&
			at >= lo && at < hi)
		{
			MemoryContext old = MemoryContextSwitchTo(rowcxt);

			add_text_values(dict, pairs, (int32) res->n, v[a_value - 1],
							value_is_array);
			MemoryContextSwitchTo(old);
			MemoryContextReset(rowcxt);
		}
		res->n++;
	}
	table_endscan(scan);
	ExecDropSingleTupleTableSlot(slot);
	table_close(rel, AccessShareLock);
	MemoryContextDelete(rowcxt);
}

/*
 * Products: product_id -> the values of one attribute (CSR), for the
 * product_type / product_tag / vendor dimensions.  The products table is
 * small (a catalog), so SPI is fine here.
 */
typedef struct ProductValues
{
	EcpValueDict *ids;			/* product_id -> product index */
	int64	   *start;			/* per product index */
	int32	   *values;
} ProductValues;

/* the products' values of a product attribute dimension */
static ProductValues *
load_product_values(EcpDimension dim, EcpValueDict *dict)
{
	MemoryContext caller = CurrentMemoryContext;
	ProductValues *pv = palloc0(sizeof(ProductValues));
	PairList	pl = {0, 0, NULL, CurrentMemoryContext};
	char		sql[256];
	uint64		nrows;

	pv->ids = ecp_dict_create();
	snprintf(sql, sizeof(sql),
			 "SELECT product_id, %s FROM ecpower.products"
			 " WHERE %s IS NOT NULL ORDER BY product_id",
			 dim_info[dim].column, dim_info[dim].column);
	SPI_connect();
	if (SPI_execute(sql, true, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not read ecpower.products");
	nrows = SPI_processed;
	MemoryContextSwitchTo(caller);
	for (uint64 i = 0; i < nrows; i++)
	{
		HeapTuple	tup = SPI_tuptable->vals[i];
		bool		isnull;
		int64		pid = DatumGetInt64(SPI_getbinval(tup, SPI_tuptable->tupdesc, 1, &isnull));
		Datum		val = SPI_getbinval(tup, SPI_tuptable->tupdesc, 2, &isnull);
		int32		idx = ecp_dict_num(pv->ids, pid);

		add_text_values(dict, &pl, idx, val, dim_info[dim].is_array);
	}
	SPI_finish();
	MemoryContextSwitchTo(caller);

	pv->start = palloc0(sizeof(int64) * (pv->ids->nvalues + 1));
	pv->values = palloc(sizeof(int32) * Max(pl.n, 1));
	for (int64 i = 0; i < pl.n; i++)
		pv->start[pl.items[i].order + 1]++;
	for (int32 i = 0; i < pv->ids->nvalues; i++)
		pv->start[i + 1] += pv->start[i];
	/* rows came in product order, so pairs are already grouped */
	for (int64 i = 0; i < pl.n; i++)
		pv->values[i] = pl.items[i].value;
	return pv;
}

/*
 * Scan ecpower.order_lines for the selected orders: item counts and the
 * product values of the dimension.  With want_profit, the lines of every
 * fetched order (selected or not) also take their cost off the order's
 * gross profit, which starts at the net amount.
 */
static void
scan_lines(const EcpFetchSpec *spec, EcpReportSet *set, EcpValueDict *dict,
		   PairList *pairs)
{
	IdMap		oi;
	ProductValues *pv = NULL;
	DimSource	source = spec->dimension == ECP_DIM_NONE
		? SRC_CALENDAR : dim_info[spec->dimension].source;
	Relation	rel;
	TupleDesc	desc;
	AttrNumber	a_order,
				a_product,
				a_sku,
				a_qty,
				a_cost = InvalidAttrNumber,
				maxatt;
	TupleTableSlot *slot;
	TableScanDesc scan;
	int64		nrows = 0;
	int64		last_order = 0;
	int32		last_idx = -1;

	if (source == SRC_PRODUCT_ATTR)
		pv = load_product_values(spec->dimension, dict);
	/* order_id -> index of the selected orders */
	{
		int64	   *ids = palloc_extended(sizeof(int64) * Max(set->norders, 1), MCXT_ALLOC_HUGE);
		int32	   *idx = palloc_extended(sizeof(int32) * Max(set->norders, 1), MCXT_ALLOC_HUGE);
		int64		nsel = 0;

		for (int64 o = 0; o < set->norders; o++)
		{
			if (!set->orders[o].selected && !spec->want_profit)
				continue;
			ids[nsel] = set->orders[o].order_id;
			idx[nsel++] = (int32) o;
		}
		idmap_build(&oi, ids, idx, nsel);
		pfree(ids);
		pfree(idx);
	}

	rel = table_open(ecp_relid("order_lines"), AccessShareLock);
	desc = RelationGetDescr(rel);
	a_order = ecp_column_attnum(desc, "order_id");
	a_product = ecp_column_attnum(desc, "product_id");
	a_sku = ecp_column_attnum(desc, "sku");
	a_qty = ecp_column_attnum(desc, "quantity");
	maxatt = Max(Max(a_order, a_product), Max(a_sku, a_qty));
	if (spec->want_profit)
	{
		a_cost = ecp_column_attnum(desc, "unit_cost");
		maxatt = Max(maxatt, a_cost);
	}
	slot = table_slot_create(rel, NULL);
	scan = table_beginscan(rel, GetActiveSnapshot(), 0, NULL);

	while (table_scan_getnextslot(scan, ForwardScanDirection, slot))
	{
		Datum	   *v;
		bool	   *isnull;
		int32		idx;

		if ((++nrows & 0xFFFF) == 0)
			CHECK_FOR_INTERRUPTS();
		slot_getsomeattrs(slot, maxatt);
		v = slot->tts_values;
		isnull = slot->tts_isnull;
		/* lines of an order are usually stored together */
		if (nrows == 1 || DatumGetInt64(v[a_order - 1]) != last_order)
		{
			last_order = DatumGetInt64(v[a_order - 1]);
			last_idx = idmap_lookup(&oi, last_order);
		}
		idx = last_idx;
		if (idx < 0)
			continue;

		if (spec->want_profit && set->orders[idx].has_profit)
		{
			EcpReportOrder *ord = &set->orders[idx];
			int64		cost;

			if (isnull[a_product - 1] || isnull[a_cost - 1])
				ord->has_profit = false;
			else if (pg_mul_s64_overflow(ecp_numeric_to_cents(v[a_cost - 1]),
										 (int64) DatumGetInt32(v[a_qty - 1]),
										 &cost) ||
					 pg_sub_s64_overflow(ord->profit_cents, cost,
										 &ord->profit_cents))
				ereport(ERROR,
						(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
						 errmsg("gross profit of order %lld out of range",
								(long long) ord->order_id)));
		}
		if (!set->orders[idx].selected)
			continue;

		if (spec->want_items &&
			pg_add_s32_overflow(set->orders[idx].items,
								DatumGetInt32(v[a_qty - 1]),
								&set->orders[idx].items))
			ereport(ERROR,
					(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
					 errmsg("item count of order %lld out of range",
							(long long) set->orders[idx].order_id)));

		switch (source)
		{
			case SRC_LINE_PRODUCT:
				if (!isnull[a_product - 1])
					pairs_add(pairs, idx,
							  ecp_dict_num(dict, DatumGetInt64(v[a_product - 1])));
				break;
			case SRC_LINE_SKU:
				if (!isnull[a_sku - 1])
					add_text_values(dict, pairs, idx, v[a_sku - 1], false);
				break;
			case SRC_PRODUCT_ATTR:
				if (!isnull[a_product - 1])
				{
					int64		pid = DatumGetInt64(v[a_product - 1]);
					uint32		j = ecp_hash_int64(pid) & (pv->ids->nslots - 1);

					/* look up without inserting */
					while (pv->ids->slots[j].id >= 0)
					{
						int32		p = pv->ids->slots[j].id;

						if (pv->ids->num[p] == pid)
						{
							for (int64 k = pv->start[p]; k < pv->start[p + 1]; k++)
								pairs_add(pairs, idx, pv->values[k]);
							break;
						}
						j = (j + 1) & (pv->ids->nslots - 1);
					}
				}
				break;
			default:
				break;
		}
	}
	table_endscan(scan);
	ExecDropSingleTupleTableSlot(slot);
	table_close(rel, AccessShareLock);
}

/*
 * Scan ecpower.customers: the attribute values of customers with a
 * selected order, added to each of their selected orders.
 */
static void
scan_customers(const EcpFetchSpec *spec, EcpReportSet *set, EcpValueDict *dict,
			   PairList *pairs)
{
	int32		max_ckey = 0;
	int32	   *cust_of_ckey;
	Relation	rel;
	TupleDesc	desc;
	AttrNumber	a_ckey,
				a_value,
				maxatt;
	TupleTableSlot *slot;
	TableScanDesc scan;
	PairList	cpairs = {0, 0, NULL, CurrentMemoryContext};
	int64	   *cstart;
	int32	   *cvalues;
	int64		nrows = 0;
	MemoryContext rowcxt = AllocSetContextCreate(CurrentMemoryContext,
												 "ecpower report row",
												 ALLOCSET_SMALL_SIZES);

	/* ckey -> customer index, only for customers with a selected order */
	for (int32 c = 0; c < set->ncustomers; c++)
		max_ckey = Max(max_ckey, set->cust_ckey[c]);
	cust_of_ckey = ecp_alloc_array((int64) max_ckey + 1, sizeof(int32), true);
	for (int32 c = 0; c < set->ncustomers; c++)
	{
		for (int64 o = set->cust_start[c]; o < set->cust_start[c + 1]; o++)
		{
			if (set->orders[o].selected)
			{
				cust_of_ckey[set->cust_ckey[c]] = c + 1;
				break;
			}
		}
	}

	rel = table_open(ecp_relid("customers"), AccessShareLock);
	desc = RelationGetDescr(rel);
	a_ckey = ecp_column_attnum(desc, "ckey");
	a_value = ecp_column_attnum(desc, dim_info[spec->dimension].column);
	maxatt = Max(a_ckey, a_value);
	slot = table_slot_create(rel, NULL);
	scan = table_beginscan(rel, GetActiveSnapshot(), 0, NULL);
	while (table_scan_getnextslot(scan, ForwardScanDirection, slot))
	{
		int32		ckey;

		if ((++nrows & 0xFFFF) == 0)
			CHECK_FOR_INTERRUPTS();
		slot_getsomeattrs(slot, maxatt);
		ckey = DatumGetInt32(slot->tts_values[a_ckey - 1]);
		if (ckey < 1 || ckey > max_ckey || cust_of_ckey[ckey] == 0 ||
			slot->tts_isnull[a_value - 1])
			continue;
		{
			MemoryContext old = MemoryContextSwitchTo(rowcxt);

			add_text_values(dict, &cpairs, cust_of_ckey[ckey] - 1,
							slot->tts_values[a_value - 1],
							dim_info[spec->dimension].is_array);
			MemoryContextSwitchTo(old);
			MemoryContextReset(rowcxt);
		}
	}
	table_endscan(scan);
	ExecDropSingleTupleTableSlot(slot);
	table_close(rel, AccessShareLock);
	MemoryContextDelete(rowcxt);

	/* group per customer, then give every selected order its customer's */
	cstart = ecp_alloc_array((int64) set->ncustomers + 1, sizeof(int64), true);
	cvalues = palloc_extended(sizeof(int32) * Max(cpairs.n, 1), MCXT_ALLOC_HUGE);
	for (int64 i = 0; i < cpairs.n; i++)
		cstart[cpairs.items[i].order + 1]++;
	for (int32 c = 0; c < set->ncustomers; c++)
		cstart[c + 1] += cstart[c];
	{
		int64	   *fill = palloc_extended(sizeof(int64) * ((Size) set->ncustomers + 1),
										   MCXT_ALLOC_HUGE);

		memcpy(fill, cstart, sizeof(int64) * ((Size) set->ncustomers + 1));
		for (int64 i = 0; i < cpairs.n; i++)
			cvalues[fill[cpairs.items[i].order]++] = cpairs.items[i].value;
		pfree(fill);
	}
	for (int32 c = 0; c < set->ncustomers; c++)
	{
		if (cstart[c] == cstart[c + 1])
			continue;
		for (int64 o = set->cust_start[c]; o < set->cust_start[c + 1]; o++)
		{
			if (!set->orders[o].selected)
				continue;
			for (int64 k = cstart[c]; k < cstart[c + 1]; k++)
				pairs_add(pairs, (int32) o, cvalues[k]);
		}
	}
}

/* calendar values of the selected orders */
static void
add_calendar_values(const EcpFetchSpec *spec, EcpReportSet *set,
					EcpValueDict *dict, PairList *pairs)
{
	for (int64 o = 0; o < set->norders; o++)
	{
		EcpReportOrder   *ord = &set->orders[o];
		int64		v;

		if (!ord->selected)
			continue;
		if ((o & 0xFFFF) == 0)
			CHECK_FOR_INTERRUPTS();
		switch (spec->dimension)
		{
			case ECP_DIM_YEAR_MONTH:
				v = ecp_month_index(ecp_local_date(spec->cal, ord->ordered_at));
				break;
			case ECP_DIM_WEEKDAY:
				v = ecp_iso_weekday(ecp_local_date(spec->cal, ord->ordered_at));
				break;
			case ECP_DIM_HOUR:
				{
					/* a 24-hour local day has no offset change inside */
					DateADT		day = ecp_local_date(spec->cal, ord->ordered_at);
					TimestampTz start = ecp_day_start(spec->cal, day);

					if (ecp_day_start(spec->cal, day + 1) - start == USECS_PER_DAY)
						v = (ord->ordered_at - start) / USECS_PER_HOUR;
					else
						v = ecp_local_hour(spec->cal, ord->ordered_at);
				}
				break;
			default:
				elog(ERROR, "unexpected calendar dimension %d", (int) spec->dimension);
				v = 0;			/* keep compiler quiet */
		}
		pairs_add(pairs, (int32) o, ecp_dict_num(dict, v));
	}
}

/* turn (order, value) pairs into the set's CSR arrays */
static void
build_csr(EcpReportSet *set, PairList *pairs)
{
	int64	   *fill;

	set->vstart = ecp_alloc_array((int64) set->norders + 1, sizeof(int64), true);
	set->values = palloc_extended(sizeof(int32) * Max(pairs->n, 1), MCXT_ALLOC_HUGE);
	for (int64 i = 0; i < pairs->n; i++)
		set->vstart[pairs->items[i].order + 1]++;
	for (int64 o = 0; o < set->norders; o++)
		set->vstart[o + 1] += set->vstart[o];
	fill = palloc_extended(sizeof(int64) * ((Size) set->norders + 1), MCXT_ALLOC_HUGE);
	memcpy(fill, set->vstart, sizeof(int64) * ((Size) set->norders + 1));
	for (int64 i = 0; i < pairs->n; i++)
		set->values[fill[pairs->items[i].order]++] = pairs->items[i].value;
	pfree(fill);
}

/*
 * bought_together carries an order's products only when it holds >= 2
 * distinct products: drop the values of the other orders (in place).
 */
static void
keep_multi_product_orders(EcpReportSet *set)
{
	int64		out = 0;
	int64		start = 0;

	for (int64 o = 0; o < set->norders; o++)
	{
		int64		end = set->vstart[o + 1];
		bool		multi = false;

		for (int64 k = start + 1; k < end && !multi; k++)
			multi = set->values[k] != set->values[start];
		set->vstart[o] = out;
		if (multi)
		{
			for (int64 k = start; k < end; k++)
				set->values[out++] = set->values[k];
		}
		start = end;
	}
	set->vstart[set->norders] = out;
}

/*
 * ecp_report_fetch
 *		The counted orders (as of spec->as_of) of the wanted customers,
 *		grouped and numbered, with the selected orders marked and carrying
 *		the dimension's values.  Everything is allocated in
 *		CurrentMemoryContext.  See the file header.
 */
EcpReportSet *
ecp_report_fetch(const EcpFetchSpec *spec)
{
	EcpReportSet *set = palloc0(sizeof(EcpReportSet));
	EcpValueDict *dict = ecp_dict_create();
	EcpKeyMap  *customers;
	PairList	pairs = {0, 0, NULL, CurrentMemoryContext};
	ScanResult	scan = {0};
	TimestampTz lo = DT_NOBEGIN;
	TimestampTz hi = DT_NOEND;
	int32		max_ckey;
	int64	   *pos;
	int32	   *newindex;
	DimSource	source = spec->dimension == ECP_DIM_NONE
		? SRC_CALENDAR : dim_info[spec->dimension].source;

	/*
	 * The period as instants.  A bound far from the orders gets a calendar
	 * of its own, so that the store calendar only covers the orders' days;
	 * an end on or after the as_of date is no bound at all.
	 */
	if (spec->has_from)
		lo = ecp_day_start(ecp_calendar_create(spec->cal->tzname), spec->from);
	if (spec->has_to && spec->to < ecp_local_date(spec->cal, spec->as_of))
		hi = ecp_day_start(ecp_calendar_create(spec->cal->tzname), spec->to + 1);

	customers = ecp_keymap_load();
	max_ckey = customers->max_ckey;
	scan_orders(spec, customers, &scan, dict, &pairs, lo, hi);

	/* counting sort by ckey */
	pos = ecp_alloc_array((int64) max_ckey + 2, sizeof(int64), true);
	for (int64 i = 0; i < scan.n; i++)
		pos[scan.orders[i].ckey + 1]++;
	set->ncustomers = 0;
	for (int32 k = 1; k <= max_ckey; k++)
		set->ncustomers += pos[k + 1] > 0;
	for (int32 k = 0; k <= max_ckey; k++)
		pos[k + 1] += pos[k];
	set->norders = scan.n;
	set->orders = palloc_extended(sizeof(EcpReportOrder) * Max(scan.n, 1), MCXT_ALLOC_HUGE);
	newindex = palloc_extended(sizeof(int32) * Max(scan.n, 1), MCXT_ALLOC_HUGE);
	for (int64 i = 0; i < scan.n; i++)
	{
		int64		dst = pos[scan.orders[i].ckey]++;
		EcpReportOrder   *o = &set->orders[dst];

		o->order_id = scan.orders[i].order_id;
		o->ordered_at = scan.orders[i].ordered_at;
		o->net_cents = scan.net_cents ? scan.net_cents[i] : 0;
		o->items = 0;
		o->has_profit = spec->want_profit;
		o->profit_cents = o->net_cents;
		o->ckey = scan.orders[i].ckey;
		/* remember the scan position in seq until the sort below */
		o->seq = (int32) i;
		o->selected = false;
	}
	pfree(scan.orders);
	if (scan.net_cents)
		pfree(scan.net_cents);
	pfree(pos);

	/* customers, sequence numbers, selection */
	set->cust_start = palloc_extended(sizeof(int64) * ((Size) set->ncustomers + 1),
									  MCXT_ALLOC_HUGE);
	set->cust_ckey = palloc_extended(sizeof(int32) * Max(set->ncustomers, 1),
									 MCXT_ALLOC_HUGE);
	{
		int32		c = 0;
		int64		o = 0;

		while (o < set->norders)
		{
			int64		start = o;
			int64		n;
			int32		ckey = set->orders[o].ckey;

			while (o < set->norders && set->orders[o].ckey == ckey)
				o++;
			n = o - start;
			if ((c & 0x3FF) == 0)
				CHECK_FOR_INTERRUPTS();
			sort_customer_orders(set->orders + start, n);
			set->cust_start[c] = start;
			set->cust_ckey[c] = ckey;
			c++;
			for (int64 k = 0; k < n; k++)
			{
				EcpReportOrder   *ord = &set->orders[start + k];
				int32		seq = (int32) (k + 1);
				bool		sel;

				newindex[ord->seq] = (int32) (start + k);
				ord->seq = seq;
				switch (spec->variant)
				{
					case ECP_VARIANT_FIRST:
						sel = seq == 1;
						break;
					case ECP_VARIANT_SECOND:
						sel = seq == 2;
						break;
					case ECP_VARIANT_REPEAT:
						sel = seq >= 2;
						break;
					case ECP_VARIANT_LATEST:
						sel = seq == n;
						break;
					default:
						sel = true;
						break;
				}
				ord->selected = sel && ord->ordered_at >= lo && ord->ordered_at < hi;
			}
		}
		Assert(c == set->ncustomers);
		set->cust_start[c] = set->norders;
	}

	/* order-level pairs were collected by scan position */
	for (int64 i = 0; i < pairs.n; i++)
		pairs.items[i].order = newindex[pairs.items[i].order];
	pfree(newindex);
	{
		int64		kept = 0;

		for (int64 i = 0; i < pairs.n; i++)
		{
			if (set->orders[pairs.items[i].order].selected)
				pairs.items[kept++] = pairs.items[i];
		}
		pairs.n = kept;
	}

	if (spec->dimension != ECP_DIM_NONE || spec->want_items || spec->want_profit)
	{
		if (spec->want_items || spec->want_profit || source == SRC_LINE_PRODUCT ||
			source == SRC_LINE_SKU || source == SRC_PRODUCT_ATTR)
			scan_lines(spec, set, dict, &pairs);
		if (source == SRC_CUSTOMER)
			scan_customers(spec, set, dict, &pairs);
		if (source == SRC_CALENDAR && spec->dimension != ECP_DIM_NONE)
			add_calendar_values(spec, set, dict, &pairs);
	}

	build_csr(set, &pairs);
	if (pairs.items)
		pfree(pairs.items);
	if (spec->dimension == ECP_DIM_BOUGHT_TOGETHER)
		keep_multi_product_orders(set);

	if (spec->want_dates)
	{
		set->local_date = palloc_extended(sizeof(DateADT) * Max(set->norders, 1),
										  MCXT_ALLOC_HUGE);
		for (int64 o = 0; o < set->norders; o++)
			set->local_date[o] = ecp_local_date(spec->cal, set->orders[o].ordered_at);
	}
	set->dict = dict;
	return set;
}

/*
 * ecp_product_titles
 *		Titles of the given distinct products (NULL for an unknown id),
 *		palloc'd, in the order of ids.
 */
char	  **
ecp_product_titles(const int64 *ids, int n)
{
	MemoryContext caller = CurrentMemoryContext;
	char	  **titles = palloc0(sizeof(char *) * Max(n, 1));
	Datum	   *elems;
	Oid			argtypes[1] = {INT8ARRAYOID};
	Datum		values[1];
	EcpValueDict *pos;

	if (n == 0)
		return titles;
	pos = ecp_dict_create();
	elems = palloc(sizeof(Datum) * n);
	for (int i = 0; i < n; i++)
	{
		elems[i] = Int64GetDatum(ids[i]);
		if (ecp_dict_num(pos, ids[i]) != i)
			elog(ERROR, "product ids are not distinct");
	}
	values[0] = PointerGetDatum(construct_array(elems, n, INT8OID, 8,
												FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
	SPI_connect();
	if (SPI_execute_with_args("SELECT product_id, title FROM ecpower.products"
							  " WHERE product_id OPERATOR(pg_catalog.=) ANY ($1)",
							  1, argtypes, values, NULL, true, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not read ecpower.products");
	for (uint64 i = 0; i < SPI_processed; i++)
	{
		bool		isnull;
		int64		pid = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[i],
													  SPI_tuptable->tupdesc, 1, &isnull));
		char	   *title = SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 2);
		int32		p = ecp_dict_num(pos, pid);

		if (p < n && title != NULL)
			titles[p] = MemoryContextStrdup(caller, title);
	}
	SPI_finish();
	MemoryContextSwitchTo(caller);
	return titles;
}
