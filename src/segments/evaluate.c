/*-------------------------------------------------------------------------
 *
 * evaluate.c
 *	  Evaluate compiled segment definitions over the store in one pass.
 *
 * The passes:
 *
 *	1-2. customers and products (evalscan.c);
 *	3-4. counted orders with one bit per FILTER, and their lines, from the
 *	   heap or the order cache (evalorders.c);
 *	5. group orders per customer (counting sort) and rank them by
 *	   (ordered_at, order_id);
 *	6. RFM scores when needed (rfm.c);
 *	7. per customer, evaluate every root in dependency order.
 *
 * Memory: about 48 bytes + 8 per 64 filters per counted order, 8 bytes per
 * order for the grouping, and 40 bytes per customer; nothing is allocated
 * per row except in a scratch context reset every row.
 *
 * src/segments/evaluate.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "funcapi.h"
#include "miscadmin.h"
#include "portability/instr_time.h"
#include "utils/builtins.h"
#include "utils/memutils.h"

#include "core/arrays.h"
#include "core/ecpower.h"
#include "predict/predict.h"
#include "segments/definition.h"
#include "segments/evalscan.h"
#include "segments/evaluate.h"
#include "segments/limits.h"
#include "segments/membership.h"
#include "segments/rfm.h"

/* (ordered_at, order_id) of two order indexes */
static int
cmp_rank(const void *a, const void *b, void *arg)
{
	const EcpOrder *orders = (const EcpOrder *) arg;
	const EcpOrder *x = &orders[*(const int32 *) a];
	const EcpOrder *y = &orders[*(const int32 *) b];

	if (x->ordered_at != y->ordered_at)
		return x->ordered_at < y->ordered_at ? -1 : 1;
	return (x->order_id > y->order_id) - (x->order_id < y->order_id);
}

/* pass 5: group orders per customer and rank them */
static void
group_orders(EcpEval *ev)
{
	int64	   *next;

	ev->cust_start = palloc_extended(sizeof(int64) * (ev->ncust + 1),
									 MCXT_ALLOC_HUGE | MCXT_ALLOC_ZERO);
	ev->ord_idx = palloc_extended(sizeof(int32) * Max(ev->norders, 1), MCXT_ALLOC_HUGE);
	for (int64 i = 0; i < ev->norders; i++)
		ev->cust_start[ev->orders[i].cust + 1]++;
	for (int32 c = 0; c < ev->ncust; c++)
		ev->cust_start[c + 1] += ev->cust_start[c];
	next = palloc_extended(sizeof(int64) * Max(ev->ncust, 1), MCXT_ALLOC_HUGE);
	memcpy(next, ev->cust_start, sizeof(int64) * ev->ncust);
	for (int64 i = 0; i < ev->norders; i++)
		ev->ord_idx[next[ev->orders[i].cust]++] = (int32) i;
	pfree(next);

	for (int32 c = 0; c < ev->ncust; c++)
	{
		int64		s = ev->cust_start[c];
		int64		n = ev->cust_start[c + 1] - s;

		if ((c & 0x3FFF) == 0)
			CHECK_FOR_INTERRUPTS();
		if (n < 2)
			continue;
		if (n <= 8)
		{
			/* insertion sort: most customers have a handful of orders */
			for (int64 i = s + 1; i < s + n; i++)
			{
				int32		v = ev->ord_idx[i];
				int64		j = i;

				while (j > s && cmp_rank(&ev->ord_idx[j - 1], &v, ev->orders) > 0)
				{
					ev->ord_idx[j] = ev->ord_idx[j - 1];
					j--;
				}
				ev->ord_idx[j] = v;
			}
		}
		else
			qsort_arg(ev->ord_idx + s, n, sizeof(int32), cmp_rank, ev->orders);
	}
}

/* one customer during evaluation */
typedef struct CustView
{
	EcpEval    *ev;
	int32		c;
	int			n;				/* counted orders */
	EcpOrder  **o;				/* ranked */
	const uint64 **bits;		/* filter bits of o[i] */
	bool	   *res;			/* results of the roots evaluated so far */
} CustView;

/* COUNT and METRIC leaves */
static bool
eval_orders(const EcpNode *nd, CustView *cv)
{
	int			f = nd->arg;
	int64		count = 0;
	int64		sum = 0;
	int64		items = 0;
	int64		profit = 0;
	bool		costed = true;
	DateADT		first = 0;
	DateADT		last = 0;
	double		v;
	DateADT		asof = cv->ev->as_of_date;

	for (int i = 0; i < cv->n; i++)
	{
		int			seq = i + 1;
		const EcpOrder *o;

		if (nd->has_nth)
		{
			if (nd->nth_latest ? seq != cv->n :
				(seq < nd->nth_lo || (nd->nth_hi > 0 && seq > nd->nth_hi)))
				continue;
		}
		if (!bit_isset(cv->bits[i], f))
			continue;
		o = cv->o[i];
		if (count++ == 0)
			first = o->day;
		last = o->day;
		if (pg_add_s64_overflow(sum, o->net, &sum))
			ereport(ERROR,
					(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
					 errmsg("revenue of customer %lld out of range",
							(long long) cv->ev->cust_id[cv->c])));
		items += o->items;
		if (!o->costed)
			costed = false;
		else if (pg_add_s64_overflow(profit, o->profit, &profit))
			ereport(ERROR,
					(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
					 errmsg("gross profit of customer %lld out of range",
							(long long) cv->ev->cust_id[cv->c])));
	}
	if (nd->kind == ECP_N_COUNT)
		return ecp_cmp_holds(&nd->cmp, (double) count);

	switch (nd->metric)
	{
		case ECP_M_ORDER_COUNT:
			v = (double) count;
			break;
		case ECP_M_TOTAL_SPENT:
			v = (double) sum / 100.0;
			break;
		case ECP_M_ITEMS:
			v = (double) items;
			break;
		case ECP_M_AOV:
			if (count == 0)
				return false;
			v = (double) sum / (100.0 * (double) count);
			break;
		case ECP_M_DAYS_SINCE_FIRST:
			if (count == 0)
				return false;
			v = asof - first;
			break;
		case ECP_M_DAYS_SINCE_LAST:
			if (count == 0)
				return false;
			v = asof - last;
			break;
		case ECP_M_LIFETIME_DAYS:
			if (count == 0)
				return false;
			v = last - first;
			break;
		case ECP_M_GROSS_PROFIT:
			/* NULL when a matching order lacks a cost; 0 without orders */
			if (!costed)
				return false;
			v = (double) profit / 100.0;
			break;
		case ECP_M_GROSS_MARGIN:
			if (!costed || sum == 0)
				return false;
			v = (double) profit / (double) sum;
			break;
		default:
			if (count < 2)
				return false;
			v = (double) (last - first) / (double) (count - 1);
			break;
	}
	return ecp_cmp_holds(&nd->cmp, v);
}

/* evaluate one RULE node for the customer in cv */
static bool
eval_node(int node, CustView *cv)
{
	EcpProgram *prog = cv->ev->prog;
	const EcpNode *nd = &prog->nodes[node];

	switch (nd->kind)
	{
		case ECP_N_ALL:
			for (int i = 0; i < nd->n; i++)
			{
				if (!eval_node(prog->child[nd->first + i], cv))
					return false;
			}
			return true;
		case ECP_N_ANY:
			for (int i = 0; i < nd->n; i++)
			{
				if (eval_node(prog->child[nd->first + i], cv))
					return true;
			}
			return false;
		case ECP_N_NOT:
			return !eval_node(prog->child[nd->first], cv);
		case ECP_N_COUNT:
		case ECP_N_METRIC:
			return eval_orders(nd, cv);
		case ECP_N_CUSTOMER:
			return bit_isset(cv->ev->cbits + (int64) cv->c * cv->ev->cwords, nd->arg);
		case ECP_N_RFM_GROUP:
			return cv->ev->rfm[cv->c].group == nd->arg;
		case ECP_N_RFM:
			{
				const EcpRfm *s = &cv->ev->rfm[cv->c];
				uint8		sc[3];

				if (s->r == 0)
					return false;
				sc[0] = s->r;
				sc[1] = s->f;
				sc[2] = s->m;
				for (int k = 0; k < 3; k++)
				{
					if (sc[k] < nd->rfm_lo[k] || sc[k] > nd->rfm_hi[k])
						return false;
				}
				return true;
			}
		case ECP_N_SEGMENT:
			return cv->res[nd->arg];
		case ECP_N_PREDICTED:	/* predictions */
			{
				double		v = cv->ev->predicted[(int64) cv->c * PREDICTED_NFIELDS + nd->arg];

				return !isnan(v) && ecp_cmp_holds(&nd->cmp, v);
			}
	}
	elog(ERROR, "unrecognized segment node kind %d", (int) nd->kind);
	return false;
}

/* per-customer measures for RFM: recency and revenue over all counted orders */
static void
customer_measures(EcpEval *ev)
{
	ev->recency = palloc_extended(sizeof(int32) * Max(ev->ncust, 1), MCXT_ALLOC_HUGE);
	ev->revenue = palloc_extended(sizeof(int64) * Max(ev->ncust, 1), MCXT_ALLOC_HUGE);
	for (int32 c = 0; c < ev->ncust; c++)
	{
		int64		s = ev->cust_start[c];
		int64		e = ev->cust_start[c + 1];
		int64		rev = 0;

		ev->recency[c] = 0;
		for (int64 i = s; i < e; i++)
		{
			if (pg_add_s64_overflow(rev, ev->orders[ev->ord_idx[i]].net, &rev))
				ereport(ERROR,
						(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
						 errmsg("revenue of customer %lld out of range",
								(long long) ev->cust_id[c])));
		}
		if (e > s)
			ev->recency[c] = ev->as_of_date - ev->orders[ev->ord_idx[e - 1]].day;
		ev->revenue[c] = rev;
	}
}

/* evaluate the roots of customer c, except those with skip[r] */
static void
eval_customer_roots(EcpEval *ev, int32 c, int n, EcpOrder **o,
					const uint64 **bits, bool *res, const bool *skip)
{
	CustView	cv;

	cv.ev = ev;
	cv.c = c;
	cv.n = n;
	cv.o = o;
	cv.bits = bits;
	cv.res = res;
	for (int r = 0; r < ev->prog->nroots; r++)
	{
		if (skip == NULL || !skip[r])
			res[r] = eval_node(ev->prog->roots[r].node, &cv);
	}
}

/* is node 'target' in the tree under node 'node'? */
static bool
node_in_root(EcpProgram *prog, int node, int target)
{
	const EcpNode *nd = &prog->nodes[node];

	if (node == target)
		return true;
	if (nd->kind == ECP_N_ALL || nd->kind == ECP_N_ANY || nd->kind == ECP_N_NOT)
	{
		for (int i = 0; i < nd->n; i++)
		{
			if (node_in_root(prog, prog->child[nd->first + i], target))
				return true;
		}
	}
	return false;
}

/*
 * ecp_eval_customer
 *		Evaluate every root of the program for one customer whose counted
 *		orders (ranked) and their filter bits are given; res[r] gets the
 *		result of root r.  RFM scores, when the program uses them, must be
 *		in ev->rfm already.
 */
void
ecp_eval_customer(EcpEval *ev, int32 c, int n, EcpOrder **o,
				  const uint64 **bits, bool *res)
{
	CustView	cv;

	cv.ev = ev;
	cv.c = c;
	cv.n = n;
	cv.o = o;
	cv.bits = bits;
	cv.res = res;
	for (int r = 0; r < ev->prog->nroots; r++)
		res[r] = eval_node(ev->prog->roots[r].node, &cv);
}

/* does node 'node' depend on the day of as_of beyond the counted orders? */
static bool
node_day_relative(EcpProgram *prog, int node, const bool *root_relative)
{
	const EcpNode *nd = &prog->nodes[node];

	switch (nd->kind)
	{
		case ECP_N_ALL:
		case ECP_N_ANY:
		case ECP_N_NOT:
			for (int i = 0; i < nd->n; i++)
			{
				if (node_day_relative(prog, prog->child[nd->first + i], root_relative))
					return true;
			}
			return false;
		case ECP_N_COUNT:
		case ECP_N_METRIC:
			if (nd->kind == ECP_N_METRIC &&
				(nd->metric == ECP_M_DAYS_SINCE_FIRST || nd->metric == ECP_M_DAYS_SINCE_LAST))
				return true;
			return prog->filters[nd->arg].has_period &&
				prog->filters[nd->arg].period.kind != ECP_P_RANGE;
		case ECP_N_CUSTOMER:
			return prog->cust[nd->arg].field == ECP_CF_CREATED &&
				prog->cust[nd->arg].period.kind != ECP_P_RANGE;
		case ECP_N_SEGMENT:
			return root_relative[nd->arg];
		case ECP_N_RFM_GROUP:
		case ECP_N_RFM:
		case ECP_N_PREDICTED:
			return true;
	}
	return true;
}

/*
 * ecp_program_carry_roots
 *		Per root: true when its answer for a customer depends only on the
 *		customer's counted orders and attributes (no period relative to
 *		as_of, no days_since_* metric, no RFM, no prediction, no relative
 *		customer_created), and no root that depends on the day refers to
 *		it.  From one day to the next, such a root's answer changes only
 *		for customers with an order dated on the new day.
 */
bool *
ecp_program_carry_roots(EcpProgram *prog)
{
	bool	   *relative = palloc0(sizeof(bool) * Max(prog->nroots, 1));
	bool	   *needed = palloc0(sizeof(bool) * Max(prog->nroots, 1));
	bool	   *carry = palloc0(sizeof(bool) * Max(prog->nroots, 1));

	/* roots come in dependency order: a root refers only to earlier ones */
	for (int r = 0; r < prog->nroots; r++)
		relative[r] = node_day_relative(prog, prog->roots[r].node, relative);
	for (int r = prog->nroots - 1; r >= 0; r--)
	{
		if (relative[r])
			needed[r] = true;
		if (!needed[r])
			continue;
		/* every root this one refers to is evaluated for every customer */
		for (int k = 0; k < prog->nnodes; k++)
		{
			if (prog->nodes[k].kind == ECP_N_SEGMENT &&
				node_in_root(prog, prog->roots[r].node, k))
				needed[prog->nodes[k].arg] = true;
		}
	}
	for (int r = 0; r < prog->nroots; r++)
		carry[r] = !needed[r];
	pfree(relative);
	pfree(needed);
	return carry;
}

static EcpEval *eval_run(EcpProgram *prog, TimestampTz as_of, bool want_rfm,
						 bool collect_ids, bool use_cache, const bool *carry,
						 roaring_bitmap_t **prev);

/*
 * ecp_eval_run
 *		Evaluate every root of 'prog' as of 'as_of'.  Results (bitmaps of
 *		ckeys per root, and member counts) are allocated in the current
 *		memory context; so is everything else, so callers run this in a
 *		context they delete afterwards.
 */
EcpEval *
ecp_eval_run(EcpProgram *prog, TimestampTz as_of, bool want_rfm, bool collect_ids,
			 bool use_cache)
{
	return eval_run(prog, as_of, want_rfm, collect_ids, use_cache, NULL, NULL);
}

/*
 * ecp_eval_run_carry
 *		Like ecp_eval_run, the day after an evaluation whose members were
 *		'prev' (as_of exactly one store-local day later, same store): roots
 *		with carry[r] (ecp_program_carry_roots) start from prev[r], and only
 *		customers with a counted order dated on the new day are evaluated
 *		for them; every other root is evaluated for every customer.
 */
EcpEval *
ecp_eval_run_carry(EcpProgram *prog, TimestampTz as_of, bool use_cache,
				   const bool *carry, roaring_bitmap_t **prev)
{
	return eval_run(prog, as_of, false, false, use_cache, carry, prev);
}

static EcpEval *
eval_run(EcpProgram *prog, TimestampTz as_of, bool want_rfm, bool collect_ids,
		 bool use_cache, const bool *carry, roaring_bitmap_t **prev)
{
	EcpEval    *ev = palloc0(sizeof(EcpEval));
	EvalScan	sc;
	int64		maxn = 0;
	EcpOrder  **obuf;
	const uint64 **bbuf;
	bool	   *res;
	int64		idcap = 1024;
	int			last = prog->nroots - 1;
	instr_time	t;

	INSTR_TIME_SET_CURRENT(t);
	ev->prog = prog;
	ev->as_of = as_of;
	ev->cal = ecp_store_calendar();
	ev->as_of_date = ecp_local_date(ev->cal, as_of);
	ev->want_rfm = want_rfm;
	ev->collect_ids = collect_ids;
	ev->fwords = Max(1, (prog->nfilters + 63) / 64);
	ev->cwords = Max(1, (prog->ncust + 63) / 64);

	memset(&sc, 0, sizeof(sc));
	sc.ev = ev;
	sc.scratch = AllocSetContextCreate(CurrentMemoryContext, "ecpower row scratch",
									   ALLOCSET_DEFAULT_SIZES);
	evs_load_customers(&sc, &t);
	evs_load_orders(&sc, use_cache, &t);
	if (sc.custhash)
		ecp_idhash_destroy(sc.custhash);
	group_orders(ev);
	ecp_phase_done(&t, "evaluation", "grouping");

	ev->rfm = palloc_extended(sizeof(EcpRfm) * Max(ev->ncust, 1),
							  MCXT_ALLOC_HUGE | MCXT_ALLOC_ZERO);
	if (prog->needs_rfm || want_rfm)
	{
		customer_measures(ev);
		ecp_rfm_scores(ev->ncust, ev->cust_start, ev->recency, ev->revenue, ev->rfm);
		ecp_phase_done(&t, "evaluation", "rfm");
	}

	/* per customer: every root, in dependency order */
	ev->members = palloc(sizeof(roaring_bitmap_t *) * Max(prog->nroots, 1));
	ev->counts = palloc0(sizeof(int64) * Max(prog->nroots, 1));
	for (int r = 0; r < prog->nroots; r++)
	{
		if (carry && carry[r])
			ev->members[r] = ecp_bitmap_own(roaring_bitmap_copy(prev[r]));
		else
			ev->members[r] = ecp_bitmap_create();
	}
	for (int32 c = 0; c < ev->ncust; c++)
		maxn = Max(maxn, ev->cust_start[c + 1] - ev->cust_start[c]);
	obuf = palloc_extended(sizeof(EcpOrder *) * Max(maxn, 1), MCXT_ALLOC_HUGE);
	bbuf = palloc_extended(sizeof(uint64 *) * Max(maxn, 1), MCXT_ALLOC_HUGE);
	res = palloc(sizeof(bool) * Max(prog->nroots, 1));
	if (collect_ids)
		ev->ids = palloc_extended(sizeof(int64) * idcap, MCXT_ALLOC_HUGE);

	for (int32 c = 0; c < ev->ncust; c++)
	{
		int64		s = ev->cust_start[c];
		int			n = (int) (ev->cust_start[c + 1] - s);

		if ((c & 0x3FFF) == 0)
			CHECK_FOR_INTERRUPTS();
		for (int i = 0; i < n; i++)
		{
			int64		oi = ev->ord_idx[s + i];

			obuf[i] = &ev->orders[oi];
			bbuf[i] = ev->obits + oi * ev->fwords;
		}
		if (carry)
		{
			/* an order dated today: the carried roots are evaluated too */
			bool		dirty = n > 0 && obuf[n - 1]->day == ev->as_of_date;

			eval_customer_roots(ev, c, n, obuf, bbuf, res, dirty ? NULL : carry);
			for (int r = 0; r < prog->nroots; r++)
			{
				if (carry[r])
				{
					if (!dirty)
						continue;
					if (res[r])
						roaring_bitmap_add(ev->members[r], (uint32) ev->ckey[c]);
					else
						roaring_bitmap_remove(ev->members[r], (uint32) ev->ckey[c]);
				}
				else if (res[r])
				{
					roaring_bitmap_add(ev->members[r], (uint32) ev->ckey[c]);
					ev->counts[r]++;
				}
			}
		}
		else
		{
			ecp_eval_customer(ev, c, n, obuf, bbuf, res);
			for (int r = 0; r < prog->nroots; r++)
			{
				if (res[r])
				{
					roaring_bitmap_add(ev->members[r], (uint32) ev->ckey[c]);
					ev->counts[r]++;
				}
			}
		}
		if (collect_ids && last >= 0 && res[last])
		{
			ev->ids = ecp_grow_array(ev->ids, &idcap, ev->nids + 1, sizeof(int64), false);
			ev->ids[ev->nids++] = ev->cust_id[c];
		}
	}
	for (int r = 0; r < prog->nroots; r++)
	{
		if (carry && carry[r])
			ev->counts[r] = (int64) roaring_bitmap_get_cardinality(ev->members[r]);
		roaring_bitmap_run_optimize(ev->members[r]);
	}
	ecp_phase_done(&t, "evaluation", "evaluation");
	elog(DEBUG1, "ecpower evaluation: %d customers, " INT64_FORMAT " counted orders, "
		 "%d roots, %d filters, %d customer conditions, %zu kB of memory",
		 ev->ncust, ev->norders, prog->nroots, prog->nfilters, prog->ncust,
		 MemoryContextMemAllocated(CurrentMemoryContext, true) / 1024);
	if (collect_ids)
		qsort(ev->ids, ev->nids, sizeof(int64), ecp_cmp_int64);
	MemoryContextDelete(sc.scratch);
	return ev;
}

PG_FUNCTION_INFO_V1(evaluate_definition);

/*
 * evaluate(definition jsonb, as_of timestamptz) RETURNS SETOF bigint
 *		Customer ids matching a definition as of 'as_of', ascending, live
 *		(nothing is stored).  Referenced segments are evaluated live too.
 */
Datum
evaluate_definition(PG_FUNCTION_ARGS)
{
	Jsonb	   *def;
	TimestampTz as_of;
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	MemoryContext work;
	MemoryContext old;
	EcpProgram *prog;
	EcpEval    *ev;

	ecp_adhoc_arguments(fcinfo, &def, &as_of);
	InitMaterializedSRF(fcinfo, MAT_SRF_USE_EXPECTED_DESC);
	work = AllocSetContextCreate(CurrentMemoryContext, "ecpower evaluate",
								 ALLOCSET_DEFAULT_SIZES);
	old = MemoryContextSwitchTo(work);
	prog = ecp_program_build(def);
	ev = ecp_eval_run(prog, as_of, false, true, false);
	MemoryContextSwitchTo(old);
	for (int64 i = 0; i < ev->nids; i++)
	{
		Datum		value = Int64GetDatum(ev->ids[i]);
		bool		isnull = false;

		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, &value, &isnull);
	}
	MemoryContextDelete(work);
	return (Datum) 0;
}
