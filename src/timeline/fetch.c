/*-------------------------------------------------------------------------
 *
 * fetch.c
 *	  The report source: the counted orders of a set of customers, their
 *	  sequence numbers, the orders a variant and period select, and the
 *	  values those orders carry (README "Feature reports").
 *
 * ecp_report_fetch() is the only function of the report engine that reads
 * orders.  It reads the customer timeline (docs/timeline.md) when it is
 * current enough: the orders from the order cache, what they carry from
 * the timeline's values (src/timeline/values.c), and the orders changed
 * since both were written from the heap by primary key.  Otherwise it runs
 * sequential scans in C (no SPI for the big tables):
 *
 *	orders		every counted order of a wanted customer (customer_id is
 *				mapped to the dense ckey); order-level values (channels,
 *				UTM fields, tags, discount codes) are interned on the way
 *				for orders inside the period;
 *	sort		a counting sort by ckey, then each customer's orders by
 *				(ordered_at, order_id): sequence numbers and selection;
 *	order_lines	only when the dimension is a product one, or items or
 *				profits are wanted, and only lines of the orders that
 *				matter (a map of their order ids);
 *	customers	only for the customer dimensions, only customers with a
 *				selected order.
 *
 * Values are interned in an EcpValueDict; a selected order's values are
 * stored in CSR form (vstart/values).  Nothing here counts customers: the
 * reports do that in one walk over the result.
 *
 * src/timeline/fetch.c
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
#include "utils/timestamp.h"

#include "core/arrays.h"
#include "timeline/fetchutil.h"
#include "timeline/fetch.h"
#include "timeline/customers.h"
#include "timeline/input.h"
#include "timeline/ordercache.h"
#include "timeline/values.h"

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

/* the orders part of a fetch in progress */
typedef struct OrderScan
{
	const EcpFetchSpec *spec;
	EcpKeyMap  *customers;
	ScanResult *res;
	EcpValueDict *dict;
	PairList   *pairs;
	TimestampTz lo;
	TimestampTz hi;
	bool		value_is_array;
	MemoryContext rowcxt;
} OrderScan;

/*
 * Keep one uncancelled order when it is counted and its customer wanted,
 * with its order-level values when it lies in [lo, hi) and value is not
 * NULL.  net is read only when amounts are wanted.
 */
static void
order_keep(OrderScan *os, int64 order_id, int32 ckey, TimestampTz at, int64 net,
		   const Datum *value)
{
	const EcpFetchSpec *spec = os->spec;
	ScanResult *res = os->res;
	ScanRecord *o;

	if (at > spec->as_of)
		return;
	if (ckey < 1 || ckey > os->customers->max_ckey || !os->customers->present[ckey])
		return;					/* customer inserted after the key map */
	if (spec->wanted != NULL &&
		(ckey > spec->max_wanted || !spec->wanted[ckey]))
		return;

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
	o->order_id = order_id;
	o->ordered_at = at;
	o->ckey = ckey;
	if (res->net_cents)
		res->net_cents[res->n] = net;

	if (value != NULL && at >= os->lo && at < os->hi)
	{
		MemoryContext old = MemoryContextSwitchTo(os->rowcxt);

		ecp_add_text_values(os->dict, os->pairs, (int32) res->n, *value,
						os->value_is_array);
		MemoryContextSwitchTo(old);
		MemoryContextReset(os->rowcxt);
	}
	res->n++;
}

/* the orders column of the dimension's values, when it is an order-level one */
static const char *
order_value_column(const EcpFetchSpec *spec)
{
	if (spec->dimension != ECP_DIM_NONE &&
		(dim_info[spec->dimension].source == SRC_ORDER_TEXT ||
		 dim_info[spec->dimension].source == SRC_ORDER_ARRAY))
		return dim_info[spec->dimension].column;
	return NULL;
}

/*
 * Scan ecpower.orders: the counted orders of wanted customers, and the
 * order-level values of those inside [lo, hi).
 */
static void
scan_orders(OrderScan *os)
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
	const char *vcol = order_value_column(os->spec);
	AttrNumber	maxatt;
	TupleTableSlot *slot = table_slot_create(rel, NULL);
	TableScanDesc scan = table_beginscan(rel, GetActiveSnapshot(), 0, NULL);
	int64		nrows = 0;

	if (vcol != NULL)
		a_value = ecp_column_attnum(desc, vcol);
	/* cancelled_at is read from the null bitmap: no need to deform to it */
	maxatt = Max(Max(Max(a_id, a_cust), Max(a_at, a_total)),
				 Max(a_ref, a_value));

	while (table_scan_getnextslot(scan, ForwardScanDirection, slot))
	{
		Datum	   *v;
		bool	   *isnull;

		if ((++nrows & 0xFFFF) == 0)
			CHECK_FOR_INTERRUPTS();
		if (!heap_attisnull(ExecFetchSlotHeapTuple(slot, false, NULL), a_cancel, desc))
			continue;
		slot_getsomeattrs(slot, maxatt);
		v = slot->tts_values;
		isnull = slot->tts_isnull;
		if (DatumGetTimestampTz(v[a_at - 1]) > os->spec->as_of)
			continue;
		order_keep(os, DatumGetInt64(v[a_id - 1]),
				   ecp_keymap_ckey(os->customers, DatumGetInt64(v[a_cust - 1])),
				   DatumGetTimestampTz(v[a_at - 1]),
				   os->res->net_cents
				   ? ecp_numeric_to_cents(v[a_total - 1]) - ecp_numeric_to_cents(v[a_ref - 1])
				   : 0,
				   a_value != InvalidAttrNumber && !isnull[a_value - 1] ? &v[a_value - 1] : NULL);
	}
	table_endscan(scan);
	ExecDropSingleTupleTableSlot(slot);
	table_close(rel, AccessShareLock);
}

/* ---------------------------------------------------------------------
 * The timeline store: orders from the order cache, values from
 * ecpower.timeline_values, orders changed since read from the heap
 * ---------------------------------------------------------------------
 */

/*
 * Open the store for a fetch: usable when the order cache was built in the
 * store time zone, few orders changed since, and the values belong to it.
 */
static EcpCacheState *
store_open(void)
{
	EcpCacheState *st = ecp_cache_open_orders(ecp_store_timezone());

	if (!st->usable || st->nstale > st->nbase / 4 || !ecp_values_usable())
		return NULL;
	return st;
}

typedef struct StoreOrderScan
{
	OrderScan  *os;
	EcpCacheState *src;
} StoreOrderScan;

/* ecp_cache_read() sink: the counted orders of a chunk */
static void
store_orders_sink(void *arg, const char *orders, const char *bits, int32 n)
{
	StoreOrderScan *ss = (StoreOrderScan *) arg;

	for (int32 i = 0; i < n; i++)
	{
		EcpOrder	o;

		memcpy(&o, orders + (Size) i * sizeof(EcpOrder), sizeof(EcpOrder));
		if (o.ordered_at > ss->os->spec->as_of || ecp_cache_is_stale(ss->src, o.order_id))
			continue;
		/* order-level values come from the store after the sort */
		order_keep(ss->os, o.order_id, o.cust, o.ordered_at, o.net, NULL);
	}
}

/* the changed orders re-read by primary key, and the column of their values */
typedef struct StaleOrderRead
{
	OrderScan  *os;
	int			vcol;			/* ECP_OC_* of the value column, -1: none */
} StaleOrderRead;

/* input callback: an order changed since the store was written */
static void
store_stale_order(void *arg, const EcpOrderInputCols *cols, Datum *v, bool *isnull)
{
	StaleOrderRead *sr = (StaleOrderRead *) arg;
	OrderScan  *os = sr->os;

	if (!ECP_INPUT_NULL(cols, isnull, ECP_OC_CANCELLED_AT))
		return;
	order_keep(os, DatumGetInt64(ECP_INPUT_VALUE(cols, v, ECP_OC_ORDER_ID)),
			   ecp_keymap_ckey(os->customers,
							   DatumGetInt64(ECP_INPUT_VALUE(cols, v, ECP_OC_CUSTOMER_ID))),
			   DatumGetTimestampTz(ECP_INPUT_VALUE(cols, v, ECP_OC_ORDERED_AT)),
			   os->res->net_cents
			   ? ecp_numeric_to_cents(ECP_INPUT_VALUE(cols, v, ECP_OC_TOTAL)) -
			   ecp_numeric_to_cents(ECP_INPUT_VALUE(cols, v, ECP_OC_REFUNDED)) : 0,
			   sr->vcol >= 0 && !ECP_INPUT_NULL(cols, isnull, sr->vcol)
			   ? &ECP_INPUT_VALUE(cols, v, sr->vcol) : NULL);
}

/* the counted orders from the cache, the changed ones from the heap */
static void
store_orders(OrderScan *os, EcpCacheState *src)
{
	StoreOrderScan ss = {os, src};
	const char *vcol = order_value_column(os->spec);
	StaleOrderRead sr = {os, -1};

	ecp_cache_read(-1, store_orders_sink, &ss);
	if (src->nstale == 0)
		return;
	if (vcol != NULL && (sr.vcol = ecp_input_order_column(vcol)) < 0)
		elog(ERROR, "orders column \"%s\" is not read by the timeline's input", vcol);
	ecp_input_read_orders(src->stale, src->nstale, store_stale_order, &sr);
}

/* applying lines to the fetched orders */
typedef struct LineApply
{
	const EcpFetchSpec *spec;
	EcpReportSet *set;
	EcpValueDict *dict;
	PairList   *pairs;
	DimSource	source;
	ProductValues *pv;
	IdMap		oi;				/* order_id -> index of an order lines matter to */
	EcpCacheState *src;			/* the store (NULL: the heap) */
	char	  **sku_text;		/* the store's sku dictionary */
	int32	   *sku_id;			/* its ids in dict, -2: not interned yet */
	int32		nsku;
} LineApply;

/*
 * The orders whose lines matter: the selected ones, and every order when
 * profits are wanted.
 */
static void
line_apply_begin(LineApply *la)
{
	EcpReportSet *set = la->set;
	int64	   *ids = palloc_extended(sizeof(int64) * Max(set->norders, 1), MCXT_ALLOC_HUGE);
	int32	   *idx = palloc_extended(sizeof(int32) * Max(set->norders, 1), MCXT_ALLOC_HUGE);
	int64		n = 0;

	if (la->source == SRC_PRODUCT_ATTR)
		la->pv = ecp_load_product_values(dim_info[la->spec->dimension].column,
										  dim_info[la->spec->dimension].is_array, la->dict);
	for (int64 o = 0; o < set->norders; o++)
	{
		if (!set->orders[o].selected && !la->spec->want_profit)
			continue;
		ids[n] = set->orders[o].order_id;
		idx[n++] = (int32) o;
	}
	ecp_idmap_build(&la->oi, ids, idx, n);
	pfree(ids);
	pfree(idx);
}

/*
 * One line of order set->orders[idx]: its quantity, its cost and the
 * product values of the dimension.  sku is the line's sku as an id of
 * dict, -1 when it has none.
 */
static void
line_apply(LineApply *la, int32 idx, bool has_product, int64 pid, int32 sku,
		   int32 quantity, bool has_cost, int64 cost_cents)
{
	EcpReportOrder *ord = &la->set->orders[idx];

	if (la->spec->want_profit && ord->has_profit)
	{
		int64		cost;

		if (!has_product || !has_cost)
			ord->has_profit = false;
		else if (pg_mul_s64_overflow(cost_cents, quantity, &cost) ||
				 pg_sub_s64_overflow(ord->profit_cents, cost, &ord->profit_cents))
			ereport(ERROR,
					(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
					 errmsg("gross profit of order %lld out of range",
							(long long) ord->order_id)));
	}
	if (!ord->selected)
		return;
	if (la->spec->want_items &&
		pg_add_s32_overflow(ord->items, quantity, &ord->items))
		ereport(ERROR,
				(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
				 errmsg("item count of order %lld out of range",
						(long long) ord->order_id)));

	switch (la->source)
	{
		case SRC_LINE_PRODUCT:
			if (has_product)
				ecp_pairs_add(la->pairs, idx, ecp_dict_num(la->dict, pid));
			break;
		case SRC_LINE_SKU:
			if (sku >= 0)
				ecp_pairs_add(la->pairs, idx, sku);
			break;
		case SRC_PRODUCT_ATTR:
			if (has_product)
			{
				ProductValues *pv = la->pv;
				uint32		j = ecp_hash_int64(pid) & (pv->ids->nslots - 1);

				/* look up without inserting */
				while (pv->ids->slots[j].id >= 0)
				{
					int32		p = pv->ids->slots[j].id;

					if (pv->ids->num[p] == pid)
					{
						for (int64 k = pv->start[p]; k < pv->start[p + 1]; k++)
							ecp_pairs_add(la->pairs, idx, pv->values[k]);
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

/* a line row from the heap: order_id, product_id, sku, quantity, unit_cost */
static void
line_row(LineApply *la, int32 idx, const Datum *v, const bool *isnull)
{
	int32		sku = -1;

	if (la->source == SRC_LINE_SKU && !isnull[2] && la->set->orders[idx].selected)
	{
		text	   *t = (text *) PG_DETOAST_DATUM_PACKED(v[2]);

		if (VARSIZE_ANY_EXHDR(t) > 0)
			sku = ecp_dict_text(la->dict, VARDATA_ANY(t), VARSIZE_ANY_EXHDR(t));
	}
	line_apply(la, idx, !isnull[1], isnull[1] ? 0 : DatumGetInt64(v[1]), sku,
			   DatumGetInt32(v[3]), !isnull[4],
			   isnull[4] ? 0 : ecp_numeric_to_cents(v[4]));
}

/*
 * Scan ecpower.order_lines for the orders lines matter to: item counts,
 * costs and the product values of the dimension.
 */
static void
scan_lines(LineApply *la)
{
	Relation	rel;
	TupleDesc	desc;
	AttrNumber	att[5];
	AttrNumber	maxatt = 0;
	TupleTableSlot *slot;
	TableScanDesc scan;
	int64		nrows = 0;
	int64		last_order = 0;
	int32		last_idx = -1;
	static const char *const cols[5] = {"order_id", "product_id", "sku", "quantity", "unit_cost"};

	rel = table_open(ecp_relid("order_lines"), AccessShareLock);
	desc = RelationGetDescr(rel);
	for (int i = 0; i < 5; i++)
	{
		att[i] = ecp_column_attnum(desc, cols[i]);
		maxatt = Max(maxatt, att[i]);
	}
	slot = table_slot_create(rel, NULL);
	scan = table_beginscan(rel, GetActiveSnapshot(), 0, NULL);

	while (table_scan_getnextslot(scan, ForwardScanDirection, slot))
	{
		Datum		v[5];
		bool		isnull[5];

		if ((++nrows & 0xFFFF) == 0)
			CHECK_FOR_INTERRUPTS();
		slot_getsomeattrs(slot, maxatt);
		/* lines of an order are usually stored together */
		if (nrows == 1 || DatumGetInt64(slot->tts_values[att[0] - 1]) != last_order)
		{
			last_order = DatumGetInt64(slot->tts_values[att[0] - 1]);
			last_idx = ecp_idmap_lookup(&la->oi, last_order);
		}
		if (last_idx < 0)
			continue;
		for (int i = 0; i < 5; i++)
		{
			v[i] = slot->tts_values[att[i] - 1];
			isnull[i] = slot->tts_isnull[att[i] - 1];
		}
		line_row(la, last_idx, v, isnull);
	}
	table_endscan(scan);
	ExecDropSingleTupleTableSlot(slot);
	table_close(rel, AccessShareLock);
}

/* ecp_values_read_lines() sink */
static void
store_line_sink(void *arg, const EcpLineEntry *line)
{
	LineApply  *la = (LineApply *) arg;
	int32		idx = ecp_idmap_lookup(&la->oi, line->order_id);
	int32		sku = -1;

	if (idx < 0 || ecp_cache_is_stale(la->src, line->order_id))
		return;
	if (la->source == SRC_LINE_SKU && line->sku >= 0 && la->set->orders[idx].selected)
	{
		if (la->sku_id[line->sku] == -2)
			la->sku_id[line->sku] = ecp_dict_text(la->dict, la->sku_text[line->sku],
												  strlen(la->sku_text[line->sku]));
		sku = la->sku_id[line->sku];
	}
	line_apply(la, idx, line->has_product, line->product_id, sku, line->quantity,
			   line->has_cost, line->cost_cents);
}

/*
 * input callback: a line of an order changed since the store was written,
 * to line_row() in its column order (order_id, product_id, sku, quantity,
 * unit_cost)
 */
static void
store_stale_line(void *arg, const EcpLineInputCols *cols, Datum *values, bool *nulls)
{
	LineApply  *la = (LineApply *) arg;
	static const EcpLineColumn order[5] = {
		ECP_LC_ORDER_ID, ECP_LC_PRODUCT_ID, ECP_LC_SKU, ECP_LC_QUANTITY, ECP_LC_UNIT_COST
	};
	Datum		v[5];
	bool		isnull[5];
	int32		idx;

	idx = ecp_idmap_lookup(&la->oi, DatumGetInt64(ECP_INPUT_VALUE(cols, values, ECP_LC_ORDER_ID)));
	if (idx < 0)
		return;
	for (int i = 0; i < 5; i++)
	{
		v[i] = ECP_INPUT_VALUE(cols, values, order[i]);
		isnull[i] = ECP_INPUT_NULL(cols, nulls, order[i]);
	}
	line_row(la, idx, v, isnull);
}

/* the lines from the store, those of changed orders from the heap */
static void
store_lines(LineApply *la)
{
	la->sku_text = ecp_values_dict(ECP_VG_LINES, &la->nsku);
	la->sku_id = palloc_extended(sizeof(int32) * Max(la->nsku, 1), MCXT_ALLOC_HUGE);
	for (int32 i = 0; i < la->nsku; i++)
		la->sku_id[i] = -2;
	ecp_values_read_lines(la->nsku, store_line_sink, la);
	if (la->src->nstale == 0)
		return;
	ecp_input_read_lines(la->src->stale, la->src->nstale, store_stale_line, la);
}

/* order-level values of the unchanged selected orders, from the store */
typedef struct StoreValues
{
	LineApply  *la;
	int32	   *id;				/* store id -> dict id, -2: not interned yet */
	char	  **text;
} StoreValues;

/* ecp_values_read() sink */
static void
store_value_sink(void *arg, int64 order_id, int32 id)
{
	StoreValues *sv = (StoreValues *) arg;
	int32		idx = ecp_idmap_lookup(&sv->la->oi, order_id);

	if (idx < 0 || !sv->la->set->orders[idx].selected || ecp_cache_is_stale(sv->la->src, order_id))
		return;
	if (sv->id[id] == -2)
		sv->id[id] = ecp_dict_text(sv->la->dict, sv->text[id], strlen(sv->text[id]));
	ecp_pairs_add(sv->la->pairs, idx, sv->id[id]);
}

static void
store_order_values(LineApply *la)
{
	StoreValues sv;
	int32		n;
	int			group = ecp_values_group_of_column(dim_info[la->spec->dimension].column);

	if (group < 0)
		elog(ERROR, "no timeline group for dimension %d", (int) la->spec->dimension);
	sv.la = la;
	sv.text = ecp_values_dict(group, &n);
	sv.id = palloc_extended(sizeof(int32) * Max(n, 1), MCXT_ALLOC_HUGE);
	for (int32 i = 0; i < n; i++)
		sv.id[i] = -2;
	ecp_values_read(group, n, store_value_sink, &sv);
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

			ecp_add_text_values(dict, &cpairs, cust_of_ckey[ckey] - 1,
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
				ecp_pairs_add(pairs, (int32) o, cvalues[k]);
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
		ecp_pairs_add(pairs, (int32) o, ecp_dict_num(dict, v));
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
	EcpCacheState *src;

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
	src = store_open();
	{
		OrderScan	os;
		const char *vcol = order_value_column(spec);

		os.spec = spec;
		os.customers = customers;
		os.res = &scan;
		os.dict = dict;
		os.pairs = &pairs;
		os.lo = lo;
		os.hi = hi;
		os.value_is_array = vcol != NULL && dim_info[spec->dimension].is_array;
		os.rowcxt = AllocSetContextCreate(CurrentMemoryContext, "ecpower report row",
										  ALLOCSET_SMALL_SIZES);
		/*
		 * Room for the orders expected, so that the arrays rarely regrow:
		 * every order for the store, three times the members' share of the
		 * customers for a segment (pages never touched cost nothing).
		 */
		scan.cap = 1024;
		if (spec->wanted == NULL || spec->nwanted > 0)
			scan.cap = ecp_input_orders_expected(1024, spec->wanted == NULL ? 1.0 :
												 Min(1.0, 3.0 * spec->nwanted /
													 Max(customers->ncustomers, 1)));
		scan.orders = palloc_extended(sizeof(ScanRecord) * scan.cap, MCXT_ALLOC_HUGE);
		if (spec->want_amount || spec->want_profit)
			scan.net_cents = palloc_extended(sizeof(int64) * scan.cap, MCXT_ALLOC_HUGE);
		if (src != NULL)
			store_orders(&os, src);
		else
			scan_orders(&os);
		MemoryContextDelete(os.rowcxt);
		elog(DEBUG1, "ecpower report: %lld orders from %s", (long long) scan.n,
			 src != NULL ? "the timeline store" : "a scan of ecpower.orders");
	}

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
		o->profit_cents = o->net_cents;
		o->has_profit = spec->want_profit;
		o->items = 0;
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
			ecp_sort_report_orders(set->orders + start, n);
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
		LineApply	la;

		memset(&la, 0, sizeof(la));
		la.spec = spec;
		la.set = set;
		la.dict = dict;
		la.pairs = &pairs;
		la.source = source;
		la.src = src;
		if (spec->want_items || spec->want_profit || source == SRC_LINE_PRODUCT ||
			source == SRC_LINE_SKU || source == SRC_PRODUCT_ATTR ||
			(src != NULL && (source == SRC_ORDER_TEXT || source == SRC_ORDER_ARRAY)))
		{
			line_apply_begin(&la);
			if (src != NULL && (source == SRC_ORDER_TEXT || source == SRC_ORDER_ARRAY))
				store_order_values(&la);
			if (spec->want_items || spec->want_profit || source == SRC_LINE_PRODUCT ||
				source == SRC_LINE_SKU || source == SRC_PRODUCT_ATTR)
			{
				if (src != NULL)
					store_lines(&la);
				else
					scan_lines(&la);
			}
		}
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
