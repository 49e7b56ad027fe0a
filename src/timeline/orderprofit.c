/*-------------------------------------------------------------------------
 *
 * orderprofit.c
 *	  Gross profit of orders from their lines (docs/profit.md).
 *
 * An order's gross profit is its net amount minus quantity * unit_cost
 * over its lines; it is unknown when a line has no unit_cost or no
 * product, and equal to the net amount for an order without lines.  The
 * reports take it from the order cache when they can; the orders read
 * from the heap (no usable cache, or changed since it was written) get it
 * here: a few by primary key, many by one sequential scan of order_lines,
 * each line finding its order by bisection in the order ids, sorted.
 *
 * src/timeline/orderprofit.c
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
#include "utils/rel.h"
#include "utils/snapmgr.h"

#include "core/arrays.h"
#include "core/ecpower.h"
#include "timeline/ordercache.h"
#include "timeline/orders.h"

/* fewer orders than this are costed by primary key rather than a scan */
#define BY_KEY_MAX		20000

/* the orders being costed, sorted by id */
typedef struct CostIndex
{
	int64		n;
	int64	   *ids;			/* ascending */
	int64	   *idx;			/* position in the caller's arrays */
	int64	   *profit;			/* the caller's profit array */
	int64		hint;			/* position of the previous hit */
} CostIndex;

/* qsort_arg comparator of positions by order id */
static int
cmp_pos_by_id(const void *a, const void *b, void *arg)
{
	const int64 *ids = (const int64 *) arg;
	int64		x = ids[*(const int64 *) a];
	int64		y = ids[*(const int64 *) b];

	return (x > y) - (x < y);
}

/* position of the order with this id, or -1 */
static inline int64
cost_lookup(CostIndex *ix, int64 id)
{
	int64		lo = 0;
	int64		hi = ix->n - 1;

	if (ix->ids[ix->hint] == id)
		return ix->idx[ix->hint];
	if (ix->hint + 1 < ix->n && ix->ids[ix->hint + 1] == id)
		return ix->idx[++ix->hint];
	while (lo <= hi)
	{
		int64		mid = lo + (hi - lo) / 2;

		if (ix->ids[mid] < id)
			lo = mid + 1;
		else if (ix->ids[mid] > id)
			hi = mid - 1;
		else
		{
			ix->hint = mid;
			return ix->idx[mid];
		}
	}
	return -1;
}

/*
 * one line (order_id, product_id, quantity, unit_cost): take its cost off
 * its order's profit, or make the profit unknown
 */
static void
cost_line(CostIndex *ix, Datum *values, bool *isnull, AttrNumber att_order,
		  AttrNumber att_product, AttrNumber att_qty, AttrNumber att_cost)
{
	int64		order_id = DatumGetInt64(values[att_order - 1]);
	int64		pos = cost_lookup(ix, order_id);
	int64	   *profit;
	int64		cost;

	if (pos < 0)
		return;
	profit = &ix->profit[pos];
	if (*profit == ECP_PROFIT_UNKNOWN)
		return;
	if (isnull[att_cost - 1] || isnull[att_product - 1])
	{
		*profit = ECP_PROFIT_UNKNOWN;
		return;
	}
	if (pg_mul_s64_overflow(ecp_numeric_to_cents(values[att_cost - 1]),
							(int64) DatumGetInt32(values[att_qty - 1]), &cost) ||
		pg_sub_s64_overflow(*profit, cost, profit) ||
		*profit <= -ECP_ORDER_MAX_CENTS || *profit >= ECP_ORDER_MAX_CENTS)
		ereport(ERROR,
				(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
				 errmsg("gross profit of order %lld out of range", (long long) order_id),
				 errdetail("An order's gross profit, net amount minus quantity * unit_cost of its lines, must fit numeric(14,2)."),
				 errhint("Correct the unit_cost or quantity of its lines in ecpower.order_lines.")));
}

/* cost the orders of ix from their lines read by primary key */
static void
cost_by_key(CostIndex *ix)
{
	Oid			argtypes[1] = {INT8ARRAYOID};
	Datum		args[1];

	args[0] = ecp_id_array(ix->ids, ix->n);
	SPI_connect();
	if (SPI_execute_with_args("SELECT l.order_id, l.product_id, l.quantity, l.unit_cost"
							  " FROM ecpower.order_lines AS l"
							  " WHERE l.order_id OPERATOR(pg_catalog.=) ANY ($1)",
							  1, argtypes, args, NULL, true, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not read ecpower.order_lines");
	for (uint64 i = 0; i < SPI_processed; i++)
	{
		Datum		values[4];
		bool		isnull[4];

		if ((i & 0x3FFF) == 0)
			CHECK_FOR_INTERRUPTS();
		heap_deform_tuple(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, values, isnull);
		cost_line(ix, values, isnull, 1, 2, 3, 4);
	}
	SPI_finish();
}

/* cost the orders of ix from a sequential scan of order_lines */
static void
cost_by_scan(CostIndex *ix)
{
	Relation	rel = table_open(ecp_relid("order_lines"), AccessShareLock);
	TupleDesc	desc = RelationGetDescr(rel);
	AttrNumber	att_order = ecp_column_attnum(desc, "order_id");
	AttrNumber	att_product = ecp_column_attnum(desc, "product_id");
	AttrNumber	att_qty = ecp_column_attnum(desc, "quantity");
	AttrNumber	att_cost = ecp_column_attnum(desc, "unit_cost");
	AttrNumber	maxatt = Max(Max(att_order, att_product), Max(att_qty, att_cost));
	TupleTableSlot *slot = table_slot_create(rel, NULL);
	TableScanDesc scan = table_beginscan(rel, GetActiveSnapshot(), 0, NULL);
	uint64		nrows = 0;

	while (table_scan_getnextslot(scan, ForwardScanDirection, slot))
	{
		if ((++nrows & 0xFFFF) == 0)
			CHECK_FOR_INTERRUPTS();
		slot_getsomeattrs(slot, maxatt);
		cost_line(ix, slot->tts_values, slot->tts_isnull, att_order, att_product,
				  att_qty, att_cost);
	}
	table_endscan(scan);
	ExecDropSingleTupleTableSlot(slot);
	table_close(rel, AccessShareLock);
}

/*
 * ecp_order_profits
 *		profit[i] = the gross profit of order order_id[i] whose net amount
 *		is net[i] (cents), or ECP_PROFIT_UNKNOWN; the order ids are unique.
 *		22003 naming the order when a profit leaves numeric(14,2).
 */
void
ecp_order_profits(int64 n, const int64 *order_id, const int64 *net, int64 *profit)
{
	CostIndex	ix;

	if (n <= 0)
		return;
	ix.n = n;
	ix.hint = 0;
	ix.profit = profit;
	ix.idx = ecp_alloc_array(n, sizeof(int64), false);
	ix.ids = ecp_alloc_array(n, sizeof(int64), false);
	for (int64 i = 0; i < n; i++)
	{
		ix.idx[i] = i;
		profit[i] = net[i];		/* an order without lines */
	}
	/* orders are often read in id order; qsort detects presorted input */
	qsort_arg(ix.idx, n, sizeof(int64), cmp_pos_by_id, (void *) order_id);
	for (int64 i = 0; i < n; i++)
		ix.ids[i] = order_id[ix.idx[i]];

	if (n < BY_KEY_MAX)
		cost_by_key(&ix);
	else
		cost_by_scan(&ix);
	pfree(ix.idx);
	pfree(ix.ids);
}
