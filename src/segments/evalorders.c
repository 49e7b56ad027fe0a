/*-------------------------------------------------------------------------
 *
 * evalorders.c
 *	  The order passes of an evaluation: every counted order with its filter
 *	  bits, from the heap or from the order cache.
 *
 *	3. orders: keep each counted order (not cancelled, ordered_at <= as_of)
 *	   as a 48-byte record plus one bit per FILTER (period, text lists,
 *	   has_discount, subscription, total -- everything but nth and product
 *	   keys); money in int64 cents, the local date from the store calendar;
 *	4. order_lines (only with product keys, the items or gross profit
 *	   metrics, or for a refresh, whose cache and KPI snapshots hold every
 *	   order's gross profit): OR the line bits into their order, add
 *	   quantities, take the line costs off the gross profit.
 *
 * A refresh reads the order cache instead when it is usable: the cached
 * records and bits, minus the orders changed since, which are read again
 * by primary key with their lines.
 *
 * The rows come from the timeline's input (timeline/input.h), one callback
 * per row: a heap scan of each table, or the changed orders and their
 * lines by primary key.  This file only evaluates them.
 *
 * src/segments/evalorders.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "common/int.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"

#include "core/arrays.h"
#include "core/ecpower.h"
#include "segments/evalscan.h"
#include "timeline/input.h"
#include "timeline/ordercache.h"

/* the orders column of each order-level text field */
static const EcpOrderColumn text_column[ECP_FIRST_PRODUCT_FIELD] = {
	[ECP_TF_ORDER_TAG] = ECP_OC_TAGS,
	[ECP_TF_DISCOUNT_CODE] = ECP_OC_DISCOUNT_CODES,
	[ECP_TF_SALES_CHANNEL] = ECP_OC_SALES_CHANNEL,
	[ECP_TF_ACQUISITION_CHANNEL] = ECP_OC_ACQUISITION_CHANNEL,
	[ECP_TF_REFERRING_SITE] = ECP_OC_REFERRING_SITE,
	[ECP_TF_LANDING_SITE] = ECP_OC_LANDING_SITE,
	[ECP_TF_UTM_SOURCE] = ECP_OC_UTM_SOURCE,
	[ECP_TF_UTM_MEDIUM] = ECP_OC_UTM_MEDIUM,
	[ECP_TF_UTM_CAMPAIGN] = ECP_OC_UTM_CAMPAIGN,
};

/* a column of the row being evaluated (an order or a line) */
#define ROW(col)		ECP_INPUT_VALUE(c, values, col)
#define ROW_NULL(col)	ECP_INPUT_NULL(c, nulls, col)

/*
 * order_row
 *		Row callback of the orders input (arg: the EvalScan): keep one
 *		order row when it is not cancelled and its customer is known: an
 *		EcpOrder and its filter bits, appended to ev->orders.  Orders after
 *		as_of are kept too (the order cache holds every uncancelled order;
 *		finalize_orders() drops them), and the bits are those that do not
 *		depend on as_of: the period of a filter is applied by
 *		finalize_orders().
 */
static void
order_row(void *arg, const EcpOrderInputCols *c, Datum *values, bool *nulls)
{
	EvalScan   *sc = (EvalScan *) arg;
	EcpEval    *ev = sc->ev;
	EcpProgram *prog = ev->prog;
	int			fw = ev->fwords;
	TimestampTz at;
	int32		cidx;
	EcpOrder   *o;
	uint64	   *ok;
	int64		total,
				refunded;
	int			has_codes = -1;
	int64		n = ev->norders;

	if (!ROW_NULL(ECP_OC_CANCELLED_AT))
		return;
	at = DatumGetTimestampTz(ROW(ECP_OC_ORDERED_AT));
	if (TIMESTAMP_IS_NOEND(at))
		return;					/* never counted */
	if (TIMESTAMP_IS_NOBEGIN(at))
		ereport(ERROR,
				(errcode(ERRCODE_DATETIME_VALUE_OUT_OF_RANGE),
				 errmsg("order %lld has no store-local date: ordered_at is -infinity",
						(long long) DatumGetInt64(ROW(ECP_OC_ORDER_ID))),
				 errhint("Set the order's ordered_at to when it was placed, or cancel it.")));
	cidx = customer_index(sc, DatumGetInt64(ROW(ECP_OC_CUSTOMER_ID)));
	if (cidx < 0)
		return;					/* a customer inserted after our snapshot */

	if (n >= sc->ocap)
	{
		int64		c2 = sc->ocap;

		ev->orders = ecp_grow_array(ev->orders, &c2, n + 1, sizeof(EcpOrder), false);
		c2 = sc->ocap;
		ev->obits = ecp_grow_array(ev->obits, &c2, n + 1, sizeof(uint64) * fw, false);
		sc->ocap = c2;
	}
	o = &ev->orders[n];
	o->order_id = DatumGetInt64(ROW(ECP_OC_ORDER_ID));
	o->ordered_at = at;
	o->cust = cidx;
	o->day = ecp_local_date(ev->cal, at);
	o->items = 0;
	total = ecp_numeric_to_cents(ROW(ECP_OC_TOTAL));
	refunded = ecp_numeric_to_cents(ROW(ECP_OC_REFUNDED));
	if (pg_sub_s64_overflow(total, refunded, &o->net))
		ereport(ERROR,
				(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
				 errmsg("net amount of order %lld out of range", (long long) o->order_id)));
	/* an order without lines: profit = net; its lines take their costs off */
	o->profit = sc->want_profit ? o->net : 0;
	o->costed = sc->want_profit ? 1 : 0;

	ok = ev->obits + n * fw;
	memcpy(ok, sc->all, sizeof(uint64) * fw);
	if (sc->any_text)
	{
		MemoryContext old = MemoryContextSwitchTo(sc->scratch);

		for (int t = 0; t < ECP_FIRST_PRODUCT_FIELD; t++)
		{
			if (sc->dict[t] == NULL)
				continue;
			evs_match_text_field(sc, t, ROW(text_column[t]), ROW_NULL(text_column[t]),
							 t == ECP_TF_ORDER_TAG || t == ECP_TF_DISCOUNT_CODE, ok, sc->acc);
		}
		MemoryContextSwitchTo(old);
		MemoryContextReset(sc->scratch);
	}
	for (int i = 0; i < sc->nscalar; i++)
	{
		int			f = sc->scalar[i];
		EcpFilter  *flt = &prog->filters[f];
		bool		pass = true;

		if (flt->has_discount >= 0)
		{
			if (has_codes < 0)
			{
				MemoryContext old = MemoryContextSwitchTo(sc->scratch);
				ArrayType  *codes = DatumGetArrayTypeP(ROW(ECP_OC_DISCOUNT_CODES));

				has_codes = ArrayGetNItems(ARR_NDIM(codes), ARR_DIMS(codes)) > 0;
				MemoryContextSwitchTo(old);
				MemoryContextReset(sc->scratch);
			}
			pass = has_codes == flt->has_discount;
		}
		if (pass && flt->subscription >= 0)
			pass = DatumGetBool(ROW(ECP_OC_IS_SUBSCRIPTION)) == (flt->subscription == 1);
		if (pass && flt->has_total)
			pass = ecp_cmp_holds(&flt->total, (double) o->net / 100.0);
		if (!pass)
			bit_clear(ok, f);
	}
	ev->norders = n + 1;
	if (ev->norders >= PG_INT32_MAX)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("too many orders for the segment engine")));
}

/*
 * finalize_orders
 *		Keep the counted orders (ordered_at <= as_of) of ev->orders, in
 *		place, and clear the filter bits of orders outside a filter's
 *		period.
 */
static void
finalize_orders(EvalScan *sc)
{
	EcpEval    *ev = sc->ev;
	EcpProgram *prog = ev->prog;
	int			fw = ev->fwords;
	int			nper = 0;
	int		   *per = palloc(sizeof(int) * Max(prog->nfilters, 1));
	int64		j = 0;

	for (int f = 0; f < prog->nfilters; f++)
	{
		if (prog->filters[f].has_period)
			per[nper++] = f;
	}
	for (int64 i = 0; i < ev->norders; i++)
	{
		EcpOrder   *o = &ev->orders[i];
		uint64	   *ok;

		if ((i & 0xFFFF) == 0)
			CHECK_FOR_INTERRUPTS();
		if (o->ordered_at > ev->as_of)
			continue;
		if (j != i)
		{
			ev->orders[j] = *o;
			memcpy(ev->obits + j * fw, ev->obits + i * fw, sizeof(uint64) * fw);
		}
		ok = ev->obits + j * fw;
		for (int k = 0; k < nper; k++)
		{
			int			f = per[k];

			if (ev->orders[j].day < sc->fperiod[f].lo || ev->orders[j].day > sc->fperiod[f].hi)
				bit_clear(ok, f);
		}
		j++;
	}
	ev->norders = j;
	pfree(per);
}

/*
 * Counted orders by order_id, for the order_lines pass: the ids sorted,
 * with each one's index.  Lines usually come in the order of their orders,
 * so a lookup first tries the slot after the previous hit, then bisects;
 * both are far cheaper than probing a hash table of millions of entries.
 */
typedef struct OrderIndex
{
	int64		n;
	int64	   *ids;			/* ascending */
	int32	   *idx;			/* index into ev->orders */
	int64		hint;			/* position of the previous hit */
} OrderIndex;

/* qsort_arg comparator of order indexes by order_id */
static int
cmp_order_id(const void *a, const void *b, void *arg)
{
	const EcpOrder *orders = (const EcpOrder *) arg;
	int64		x = orders[*(const int32 *) a].order_id;
	int64		y = orders[*(const int32 *) b].order_id;

	return (x > y) - (x < y);
}

/* sort orders from..norders-1 by order_id for order_lookup() */
static void
order_index_build(EcpEval *ev, OrderIndex *ix, int64 from)
{
	ix->n = ev->norders - from;
	ix->hint = 0;
	ix->idx = palloc_extended(sizeof(int32) * Max(ix->n, 1), MCXT_ALLOC_HUGE);
	ix->ids = palloc_extended(sizeof(int64) * Max(ix->n, 1), MCXT_ALLOC_HUGE);
	for (int64 i = 0; i < ix->n; i++)
		ix->idx[i] = (int32) (from + i);
	/* orders are often stored in id order; qsort detects presorted input */
	qsort_arg(ix->idx, ix->n, sizeof(int32), cmp_order_id, ev->orders);
	for (int64 i = 0; i < ix->n; i++)
		ix->ids[i] = ev->orders[ix->idx[i]].order_id;
}

/* index of the counted order with this id, or -1 */
static inline int32
order_lookup(OrderIndex *ix, int64 id)
{
	int64		lo = 0;
	int64		hi = ix->n - 1;

	if (ix->n == 0)
		return -1;
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
 * line_cost
 *		Take a line's cost (quantity * unit_cost) off its order's gross
 *		profit; a line without a unit_cost or a product leaves the order's
 *		profit unknown.  22003 naming the order when the profit leaves the
 *		range of numeric(14,2).
 */
static void
line_cost(EcpOrder *o, const EcpLineInputCols *c, Datum *values, bool *nulls)
{
	int64		cost;

	if (!o->costed)
		return;
	if (ROW_NULL(ECP_LC_UNIT_COST) || ROW_NULL(ECP_LC_PRODUCT_ID))
	{
		o->costed = 0;
		o->profit = 0;
		return;
	}
	if (pg_mul_s64_overflow(ecp_numeric_to_cents(ROW(ECP_LC_UNIT_COST)),
							(int64) DatumGetInt32(ROW(ECP_LC_QUANTITY)), &cost) ||
		pg_sub_s64_overflow(o->profit, cost, &o->profit) ||
		o->profit <= -ECP_ORDER_MAX_CENTS || o->profit >= ECP_ORDER_MAX_CENTS)
		ereport(ERROR,
				(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
				 errmsg("gross profit of order %lld out of range", (long long) o->order_id),
				 errdetail("An order's gross profit, net amount minus quantity * unit_cost of its lines, must fit numeric(14,2)."),
				 errhint("Correct the unit_cost or quantity of its lines in ecpower.order_lines.")));
}

/* start collecting lines of orders sc->lfrom.. (after their orders) */
static void
lines_begin(EvalScan *sc, int64 from)
{
	EcpEval    *ev = sc->ev;

	sc->lfrom = from;
	sc->lbits = NULL;
	if (sc->any_product)
		sc->lbits = palloc_extended(sizeof(uint64) * ev->fwords * Max(ev->norders - from, 1),
									MCXT_ALLOC_HUGE | MCXT_ALLOC_ZERO);
}

/* the lines input of an evaluation: the orders they are wanted for */
typedef struct LineRead
{
	EvalScan   *sc;
	OrderIndex *ix;
} LineRead;

/*
 * Row callback of the lines input (arg: a LineRead): OR a line's product
 * bits into its order, add its quantity, take its cost off the profit.
 */
static void
line_row(void *arg, const EcpLineInputCols *c, Datum *values, bool *nulls)
{
	EvalScan   *sc = ((LineRead *) arg)->sc;
	OrderIndex *ix = ((LineRead *) arg)->ix;
	EcpEval    *ev = sc->ev;
	int			fw = ev->fwords;
	int32		idx = order_lookup(ix, DatumGetInt64(ROW(ECP_LC_ORDER_ID)));

	if (idx < 0)
		return;					/* not a wanted order */
	if (sc->want_profit)
		line_cost(&ev->orders[idx], c, values, nulls);
	if (ev->prog->needs_items)
	{
		int32		q = DatumGetInt32(ROW(ECP_LC_QUANTITY));

		if (pg_add_s32_overflow(ev->orders[idx].items, q, &ev->orders[idx].items))
			ereport(ERROR,
					(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
					 errmsg("item count of order %lld out of range",
							(long long) ev->orders[idx].order_id)));
	}
	if (sc->any_product)
	{
		IdEntry    *pe = (ROW_NULL(ECP_LC_PRODUCT_ID) || sc->prodhash == NULL) ? NULL :
			ecp_idhash_lookup(sc->prodhash, DatumGetInt64(ROW(ECP_LC_PRODUCT_ID)));
		uint64	   *ob = sc->lbits + (int64) (idx - sc->lfrom) * fw;
		uint64	   *lineok = sc->lineok;

		if (pe != NULL)
			memcpy(lineok, sc->pbits + (int64) pe->idx * fw, sizeof(uint64) * fw);
		else
		{
			for (int w = 0; w < fw; w++)
				lineok[w] = ~sc->prodattr[w];
		}
		if (sc->dict[ECP_TF_SKU] != NULL)
		{
			MemoryContext old = MemoryContextSwitchTo(sc->scratch);

			evs_match_text_field(sc, ECP_TF_SKU, ROW(ECP_LC_SKU), ROW_NULL(ECP_LC_SKU),
							 false, lineok, sc->acc);
			MemoryContextSwitchTo(old);
			MemoryContextReset(sc->scratch);
		}
		for (int w = 0; w < fw; w++)
			ob[w] |= lineok[w] & sc->prodfilters[w];
	}
}

/* the product filters of orders lfrom.. pass only when a line passed */
static void
lines_end(EvalScan *sc)
{
	EcpEval    *ev = sc->ev;
	int			fw = ev->fwords;

	if (sc->lbits == NULL)
		return;
	for (int64 i = sc->lfrom; i < ev->norders; i++)
	{
		uint64	   *ok = ev->obits + i * fw;
		uint64	   *lb = sc->lbits + (i - sc->lfrom) * fw;

		for (int w = 0; w < fw; w++)
			ok[w] &= lb[w] | ~sc->prodfilters[w];
	}
	pfree(sc->lbits);
	sc->lbits = NULL;
}

/*
 * Pass 4 for orders from..norders-1: their lines, from a heap scan (all)
 * or by primary key (the orders 'ids', n of them).
 */
static void
load_lines(EvalScan *sc, int64 from, const int64 *ids, int64 n)
{
	OrderIndex	ix;
	LineRead	lr = {sc, &ix};

	lines_begin(sc, from);
	order_index_build(sc->ev, &ix, from);
	if (ids == NULL)
		ecp_input_scan_lines(line_row, &lr);
	else
		ecp_input_read_lines(ids, n, line_row, &lr);
	lines_end(sc);
	pfree(ix.ids);
	pfree(ix.idx);
}

/* the order cache being loaded into ev->orders */
typedef struct CacheLoad
{
	EvalScan   *sc;
	int32	   *cust_of_ckey;	/* ckey -> customer index, -1 for none */
	int32		nckeys;
	const EcpCacheState *st;	/* its stale orders are re-read from the heap */
} CacheLoad;

/* ecp_cache_read() sink: append a chunk's orders that are not stale */
static void
cache_sink(void *arg, const char *orders, const char *bits, int32 n)
{
	CacheLoad  *cl = (CacheLoad *) arg;
	EcpEval    *ev = cl->sc->ev;
	int			fw = ev->fwords;
	int64		k = ev->norders;

	if (k + n > cl->sc->ocap)
	{
		int64		c2 = cl->sc->ocap;

		ev->orders = ecp_grow_array(ev->orders, &c2, k + n, sizeof(EcpOrder), false);
		c2 = cl->sc->ocap;
		ev->obits = ecp_grow_array(ev->obits, &c2, k + n, sizeof(uint64) * fw, false);
		cl->sc->ocap = c2;
	}
	for (int32 i = 0; i < n; i++)
	{
		EcpOrder   *o = &ev->orders[k];

		memcpy(o, orders + (Size) i * sizeof(EcpOrder), sizeof(EcpOrder));
		if (ecp_cache_is_stale(cl->st, o->order_id))
			continue;
		if (o->cust < 0 || o->cust >= cl->nckeys || cl->cust_of_ckey[o->cust] < 0)
			ereport(ERROR,
					(errcode(ERRCODE_DATA_CORRUPTED),
					 errmsg("the ecpower order cache holds order %lld of a customer key (%d) that does not exist",
							(long long) o->order_id, o->cust),
					 errhint("Run SELECT ecpower.reset_order_cache(); the next refresh rebuilds it.")));
		o->cust = cl->cust_of_ckey[o->cust];
		memcpy(ev->obits + k * fw, bits + (Size) i * fw * sizeof(uint64), sizeof(uint64) * fw);
		k++;
	}
	ev->norders = k;
}

/*
 * load_orders_cached
 *		Fill ev->orders from the order cache, minus its stale orders, which
 *		are read again (with their lines) by primary key.
 */
static void
load_orders_cached(EvalScan *sc, const EcpCacheState *st)
{
	EcpEval    *ev = sc->ev;
	CacheLoad	cl;
	int64		from;

	memset(&cl, 0, sizeof(cl));
	cl.sc = sc;
	for (int32 c = 0; c < ev->ncust; c++)
		cl.nckeys = Max(cl.nckeys, ev->ckey[c] + 1);
	cl.cust_of_ckey = palloc_extended(sizeof(int32) * Max(cl.nckeys, 1), MCXT_ALLOC_HUGE);
	memset(cl.cust_of_ckey, 0xFF, sizeof(int32) * Max(cl.nckeys, 1));	/* -1 */
	for (int32 c = 0; c < ev->ncust; c++)
	{
		if (ev->ckey[c] >= 0)
			cl.cust_of_ckey[ev->ckey[c]] = c;
	}
	cl.st = st;
	ecp_cache_read(ev->fwords, cache_sink, &cl);
	pfree(cl.cust_of_ckey);
	if (st->nstale == 0)
		return;

	/* the stale orders, as they are now, and their lines */
	from = ev->norders;
	ecp_input_read_orders(st->stale, st->nstale, order_row, sc);
	if ((ev->prog->needs_lines || sc->want_profit) && ev->norders > from)
		load_lines(sc, from, st->stale, st->nstale);
}

/*
 * load_orders
 *		Every uncancelled order of a known customer into ev->orders, with
 *		the filter bits that do not depend on as_of: from the heap, or, for
 *		a refresh (use_cache), from the order cache when it is usable.  A
 *		refresh then brings the cache up to date, in its transaction.
 */
static void
load_orders(EvalScan *sc, bool use_cache, instr_time *t)
{
	EcpEval    *ev = sc->ev;
	char	   *tag = NULL;
	EcpCacheState *st = NULL;

	/* the cache and the refresh's KPI snapshots hold every order's profit */
	sc->want_profit = use_cache || ev->prog->needs_profit;
	if (use_cache)
	{
		tag = ecp_cache_tag(ev->fwords);
		st = ecp_cache_open(tag);
	}
	if (st != NULL && st->usable)
	{
		sc->ocap = Max(st->nbase + st->nstale, 1024);
		ev->orders = palloc_extended(sizeof(EcpOrder) * sc->ocap, MCXT_ALLOC_HUGE);
		ev->obits = palloc_extended(sizeof(uint64) * ev->fwords * sc->ocap, MCXT_ALLOC_HUGE);
		load_orders_cached(sc, st);
		ecp_phase_done(t, "evaluation", "orders from the order cache");
		elog(DEBUG1, "ecpower evaluation: %lld orders re-read, %lld change-log rows",
			 (long long) st->nstale, (long long) st->nchanges);
		if (st->nstale > Max(INT64CONST(50000), st->nbase / 20))
			ecp_cache_write(tag, ev->fwords, ev->orders, ev->obits, ev->norders, ev->ckey);
		else if (st->nchanges > 0)
			ecp_cache_write_stale(st->stale, st->nstale);
		ecp_cache_consume(st);
		ecp_phase_done(t, "evaluation", "order cache update");
		return;
	}

	sc->ocap = ecp_input_orders_expected(4096, 1.0);
	ev->orders = palloc_extended(sizeof(EcpOrder) * sc->ocap, MCXT_ALLOC_HUGE);
	ev->obits = palloc_extended(sizeof(uint64) * ev->fwords * sc->ocap, MCXT_ALLOC_HUGE);
	ecp_input_scan_orders(order_row, sc);
	ecp_phase_done(t, "evaluation", "orders");
	if (ev->prog->needs_lines || sc->want_profit)
	{
		load_lines(sc, 0, NULL, 0);
		ecp_phase_done(t, "evaluation", "order_lines");
	}
	if (st != NULL)
	{
		ecp_cache_write(tag, ev->fwords, ev->orders, ev->obits, ev->norders, ev->ckey);
		ecp_cache_consume(st);
		ecp_phase_done(t, "evaluation", "order cache write");
	}
}

/*
 * evs_load_orders
 *		Passes 3 and 4: every counted order of the indexed customers, with
 *		its filter bits.
 */
void
evs_load_orders(EvalScan *sc, bool use_cache, instr_time *t)
{
	load_orders(sc, use_cache, t);
	finalize_orders(sc);
}
