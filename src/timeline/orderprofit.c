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
 * here: a few by primary key, many by one sequential scan of order_lines
 * (both from the timeline's input, timeline/input.h), each line finding
 * its order by bisection in the order ids, sorted.
 *
 * src/timeline/orderprofit.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "common/int.h"

#include "core/arrays.h"
#include "core/ecpower.h"
#include "timeline/input.h"
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
 * Line callback of the timeline's input (arg: the CostIndex): take a
 * line's cost off its order's profit, or make the profit unknown.
 */
static void
cost_line(void *arg, const EcpLineInputCols *cols, Datum *values, bool *isnull)
{
	CostIndex  *ix = (CostIndex *) arg;
	int64		order_id = DatumGetInt64(ECP_INPUT_VALUE(cols, values, ECP_LC_ORDER_ID));
	int64		pos = cost_lookup(ix, order_id);
	int64	   *profit;
	int64		cost;

	if (pos < 0)
		return;
	profit = &ix->profit[pos];
	if (*profit == ECP_PROFIT_UNKNOWN)
		return;
	if (ECP_INPUT_NULL(cols, isnull, ECP_LC_UNIT_COST) ||
		ECP_INPUT_NULL(cols, isnull, ECP_LC_PRODUCT_ID))
	{
		*profit = ECP_PROFIT_UNKNOWN;
		return;
	}
	if (pg_mul_s64_overflow(ecp_numeric_to_cents(ECP_INPUT_VALUE(cols, values, ECP_LC_UNIT_COST)),
							(int64) DatumGetInt32(ECP_INPUT_VALUE(cols, values, ECP_LC_QUANTITY)),
							&cost) ||
		pg_sub_s64_overflow(*profit, cost, profit) ||
		*profit <= -ECP_ORDER_MAX_CENTS || *profit >= ECP_ORDER_MAX_CENTS)
		ereport(ERROR,
				(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
				 errmsg("gross profit of order %lld out of range", (long long) order_id),
				 errdetail("An order's gross profit, net amount minus quantity * unit_cost of its lines, must fit numeric(14,2)."),
				 errhint("Correct the unit_cost or quantity of its lines in ecpower.order_lines.")));
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
		ecp_input_read_lines(ix.ids, n, cost_line, &ix);
	else
		ecp_input_scan_lines(cost_line, &ix);
	pfree(ix.idx);
	pfree(ix.ids);
}
