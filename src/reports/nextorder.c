/*-------------------------------------------------------------------------
 *
 * nextorder.c
 *	  ecpower.next_purchases() and ecpower.time_to_next_order(): what
 *	  customers buy in their next order, and how long until they do
 *	  (docs/analyses.md "Next purchases").
 *
 * One fetch (reportdata.c) of the members' counted orders with every
 * order's values and store-local date.  A walk over the customers with at
 * least nth orders pairs the value groups of order nth with those of order
 * nth + 1 (or with "not yet"); each pair keeps its customers' gaps in days
 * for the medians (percentile_cont: linear interpolation between the
 * sorted gaps).
 *
 * src/reports/nextorder.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/fmgrprotos.h"
#include "utils/numeric.h"
#include "utils/tuplestore.h"

#include "reports/acquisition.h"

PG_FUNCTION_INFO_V1(next_purchases);
PG_FUNCTION_INFO_V1(time_to_next_order);

/* a customer's gap, filed under a (from, to) pair or a from value */
typedef struct GapItem
{
	int32		bucket;
	int32		days;
} GapItem;

typedef struct GapList
{
	int64		n;
	int64		cap;
	GapItem    *items;
} GapList;

/* append a gap */
static void
gaps_add(GapList *l, int32 bucket, int32 days)
{
	if (l->n >= l->cap)
	{
		int64		newcap = l->cap ? l->cap * 2 : 4096;

		if ((Size) newcap * sizeof(GapItem) > MaxAllocHugeSize)
			ereport(ERROR,
					(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
					 errmsg("too many customers for a report")));
		l->items = l->items
			? repalloc_huge(l->items, sizeof(GapItem) * newcap)
			: palloc_extended(sizeof(GapItem) * newcap, MCXT_ALLOC_HUGE);
		l->cap = newcap;
	}
	l->items[l->n].bucket = bucket;
	l->items[l->n].days = days;
	l->n++;
}

/* qsort order of gaps: bucket, then days */
static int
cmp_gap(const void *pa, const void *pb)
{
	const GapItem *a = (const GapItem *) pa;
	const GapItem *b = (const GapItem *) pb;

	if (a->bucket != b->bucket)
		return a->bucket < b->bucket ? -1 : 1;
	return (a->days > b->days) - (a->days < b->days);
}

/*
 * Sort the gaps by bucket and days; start[b] .. start[b + 1] are bucket
 * b's (nbuckets + 1 entries).
 */
static int64 *
gaps_group(GapList *l, int32 nbuckets)
{
	int64	   *start = palloc0(sizeof(int64) * ((Size) nbuckets + 1));

	qsort(l->items, l->n, sizeof(GapItem), cmp_gap);
	for (int64 i = 0; i < l->n; i++)
		start[l->items[i].bucket + 1]++;
	for (int32 b = 0; b < nbuckets; b++)
		start[b + 1] += start[b];
	return start;
}

/* percentile_cont(p) of sorted gaps items[lo .. hi) as numeric */
static Datum
percentile(const GapItem *items, int64 lo, int64 hi, double p)
{
	double		pos = p * (double) (hi - lo - 1);
	int64		i = (int64) pos;
	double		frac = pos - (double) i;
	double		v = items[lo + i].days;

	if (frac > 0 && lo + i + 1 < hi)
		v += frac * (double) (items[lo + i + 1].days - items[lo + i].days);
	return DirectFunctionCall1(float8_numeric, Float8GetDatum(v));
}

/* nth from an argument: 22023 for NULL or < 1 */
static int32
parse_nth(FunctionCallInfo fcinfo, int arg)
{
	int32		nth;

	if (PG_ARGISNULL(arg))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("nth must not be null")));
	nth = PG_GETARG_INT32(arg);
	if (nth < 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("nth must be at least 1, not %d", nth)));
	if (nth == PG_INT32_MAX)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("nth must be less than %d", PG_INT32_MAX)));
	return nth;
}

/* ---------------------------------------------------------------------
 * next_purchases
 * ---------------------------------------------------------------------
 */

/* a (from, to) pair; to = -1 is "not yet" */
typedef struct PairKey
{
	int32		from;
	int32		to;
} PairKey;

typedef struct PairSlot
{
	PairKey		key;
	int32		pair;			/* -1: empty */
} PairSlot;

typedef struct PairTable
{
	uint32		nslots;
	PairSlot   *slots;
	int32		npairs;
	int32		cap;
	PairKey    *keys;
	int64	   *customers;
} PairTable;

/* the index of a pair, added when new */
static int32
pair_index(PairTable *t, int32 from, int32 to)
{
	uint32		h;

	if ((uint32) t->npairs * 2 >= t->nslots)
	{
		uint32		n = t->nslots * 2;
		PairSlot   *s = palloc_extended(sizeof(PairSlot) * n, MCXT_ALLOC_HUGE);

		for (uint32 i = 0; i < n; i++)
			s[i].pair = -1;
		for (uint32 i = 0; i < t->nslots; i++)
		{
			if (t->slots[i].pair < 0)
				continue;
			h = ecp_hash_int64(((int64) t->slots[i].key.from << 32) |
							   (uint32) t->slots[i].key.to) & (n - 1);
			while (s[h].pair >= 0)
				h = (h + 1) & (n - 1);
			s[h] = t->slots[i];
		}
		pfree(t->slots);
		t->slots = s;
		t->nslots = n;
	}
	h = ecp_hash_int64(((int64) from << 32) | (uint32) to) & (t->nslots - 1);
	while (t->slots[h].pair >= 0)
	{
		if (t->slots[h].key.from == from && t->slots[h].key.to == to)
			return t->slots[h].pair;
		h = (h + 1) & (t->nslots - 1);
	}
	if (t->npairs >= t->cap)
	{
		t->cap *= 2;
		t->keys = repalloc_huge(t->keys, sizeof(PairKey) * t->cap);
		t->customers = repalloc_huge(t->customers, sizeof(int64) * t->cap);
	}
	t->slots[h].key.from = from;
	t->slots[h].key.to = to;
	t->slots[h].pair = t->npairs;
	t->keys[t->npairs].from = from;
	t->keys[t->npairs].to = to;
	t->customers[t->npairs] = 0;
	return t->npairs++;
}

static const EcpGroups *sort_groups;
static const int64 *sort_counts;
static const PairTable *sort_pairs;
static const int32 *sort_from_rank;

/* qsort order of groups by sort_counts */
static int
cmp_group(const void *pa, const void *pb)
{
	int32		a = *(const int32 *) pa;
	int32		b = *(const int32 *) pb;

	return ecp_groups_cmp(sort_groups, a, sort_counts[a], b, sort_counts[b]);
}

/*
 * qsort order of pairs: from value's report order, then customers
 * descending, then the to key ("not yet" after the values on a tie)
 */
static int
cmp_pair(const void *pa, const void *pb)
{
	const PairKey *a = &sort_pairs->keys[*(const int32 *) pa];
	const PairKey *b = &sort_pairs->keys[*(const int32 *) pb];
	int64		ca = sort_pairs->customers[*(const int32 *) pa];
	int64		cb = sort_pairs->customers[*(const int32 *) pb];

	if (a->from != b->from)
		return sort_from_rank[a->from] < sort_from_rank[b->from] ? -1 : 1;
	if (ca != cb)
		return ca > cb ? -1 : 1;
	if (a->to < 0 || b->to < 0)
		return (a->to < 0) - (b->to < 0);
	return ecp_groups_cmp(sort_groups, a->to, 0, b->to, 0);
}

/*
 * next_purchases(slug text, dimension text, nth int, top int,
 *				  within_days int)
 *	RETURNS TABLE (from_key text, from_label text, to_key text,
 *				   to_label text, customers bigint, share numeric,
 *				   median_days numeric)
 */
Datum
next_purchases(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	EcpFetchSpec spec;
	EcpReportMembers m;
	EcpDimension dim;
	int32		nth;
	int32		top;
	int32		within = -1;
	EcpReportSet *set;
	EcpGroups  *g;
	int64	   *from_count;
	int32	   *from_seen;
	int32	   *to_seen;
	int32	   *from_rank;
	int32	   *order;
	int32		nfrom = 0;
	PairTable	pt;
	GapList		gaps = {0};
	int64	   *gstart;
	int32	   *rows;
	int32		nrows = 0;
	int32	   *lab_groups;
	char	  **labels;
	int32		nlab = 0;
	int32	   *from_lab;
	int32	   *to_lab;

	/* arguments: everything is checked before any data is read */
	dim = ecp_parse_analysis_dimension(PG_ARGISNULL(1) ? NULL : PG_GETARG_TEXT_PP(1));
	nth = parse_nth(fcinfo, 2);
	if (PG_ARGISNULL(3))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("top must not be null")));
	top = PG_GETARG_INT32(3);
	if (top < 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("top must be at least 1, not %d", top)));
	if (!PG_ARGISNULL(4))
	{
		within = PG_GETARG_INT32(4);
		if (within < 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("within_days must not be negative, not %d", within)));
	}

	memset(&spec, 0, sizeof(spec));
	ecp_report_begin(fcinfo, 0, true, &m, &spec);
	spec.variant = ECP_VARIANT_ALL;
	spec.dimension = dim;
	spec.want_dates = true;
	set = ecp_report_fetch(&spec);
	g = ecp_groups_build(set->dict, dim);

	from_count = palloc0(sizeof(int64) * Max(g->ngroups, 1));
	from_seen = palloc(sizeof(int32) * Max(g->ngroups, 1));
	to_seen = palloc(sizeof(int32) * Max(g->ngroups, 1));
	memset(from_seen, 0xFF, sizeof(int32) * Max(g->ngroups, 1));
	memset(to_seen, 0xFF, sizeof(int32) * Max(g->ngroups, 1));
	memset(&pt, 0, sizeof(pt));
	pt.nslots = 1024;
	pt.slots = palloc(sizeof(PairSlot) * pt.nslots);
	for (uint32 i = 0; i < pt.nslots; i++)
		pt.slots[i].pair = -1;
	pt.cap = 256;
	pt.keys = palloc(sizeof(PairKey) * pt.cap);
	pt.customers = palloc(sizeof(int64) * pt.cap);

	for (int32 c = 0; c < set->ncustomers; c++)
	{
		int32		ckey = set->cust_ckey[c];
		int64		n = set->cust_start[c + 1] - set->cust_start[c];
		int64		on,
					onext;
		bool		has_next;
		int32		days = 0;

		if ((c & 0x3FFF) == 0)
			CHECK_FOR_INTERRUPTS();
		if (m.members != NULL && (ckey > m.max_ckey || !m.is_member[ckey]))
			continue;
		if (n < nth)
			continue;
		on = set->cust_start[c] + nth - 1;
		onext = on + 1;
		has_next = n > nth;
		if (has_next)
		{
			days = set->local_date[onext] - set->local_date[on];
			if (within >= 0 && days > within)
				has_next = false;
		}
		for (int64 k = set->vstart[on]; k < set->vstart[on + 1]; k++)
		{
			int32		e = set->values[k];
			int32		from = g->group_of[e];

			ecp_groups_note(g, e, c);
			if (from_seen[from] == c)
				continue;
			from_seen[from] = c;
			from_count[from]++;
			if (!has_next)
			{
				/* pair_index() may move pt.customers */
				int32		p = pair_index(&pt, from, -1);

				pt.customers[p]++;
				continue;
			}
			for (int64 j = set->vstart[onext]; j < set->vstart[onext + 1]; j++)
			{
				int32		to = g->group_of[set->values[j]];
				int32		p;

				/* to_seen stamps (customer, from) visits: c * ngroups is unique */
				if (to_seen[to] == from)
					continue;
				to_seen[to] = from;
				p = pair_index(&pt, from, to);
				pt.customers[p]++;
				gaps_add(&gaps, p, days);
			}
			/* reset the stamps for the next from value */
			for (int64 j = set->vstart[onext]; j < set->vstart[onext + 1]; j++)
				to_seen[g->group_of[set->values[j]]] = -1;
		}
		if (has_next)
		{
			/* the next order's spellings count for the labels too */
			for (int64 j = set->vstart[onext]; j < set->vstart[onext + 1]; j++)
				ecp_groups_note(g, set->values[j], c);
		}
	}

	/* from values in report order */
	order = palloc(sizeof(int32) * Max(g->ngroups, 1));
	for (int32 grp = 0; grp < g->ngroups; grp++)
	{
		if (from_count[grp] > 0)
			order[nfrom++] = grp;
	}
	sort_groups = g;
	sort_counts = from_count;
	qsort(order, nfrom, sizeof(int32), cmp_group);
	from_rank = palloc(sizeof(int32) * Max(g->ngroups, 1));
	for (int32 i = 0; i < nfrom; i++)
		from_rank[order[i]] = i;

	/* pairs in report order, at most top values per from value */
	gstart = gaps_group(&gaps, pt.npairs);
	rows = palloc(sizeof(int32) * Max(pt.npairs, 1));
	for (int32 p = 0; p < pt.npairs; p++)
		rows[p] = p;
	sort_pairs = &pt;
	sort_from_rank = from_rank;
	qsort(rows, pt.npairs, sizeof(int32), cmp_pair);
	{
		int32		kept = 0;
		int32		last_from = -1;
		int32		nto = 0;

		for (int32 i = 0; i < pt.npairs; i++)
		{
			PairKey    *k = &pt.keys[rows[i]];

			if (k->from != last_from)
			{
				last_from = k->from;
				nto = 0;
			}
			if (k->to >= 0 && nto++ >= top)
				continue;
			rows[kept++] = rows[i];
		}
		nrows = kept;
	}

	/* labels of the groups shown */
	lab_groups = palloc(sizeof(int32) * Max(2 * nrows, 1));
	from_lab = palloc(sizeof(int32) * Max(nrows, 1));
	to_lab = palloc(sizeof(int32) * Max(nrows, 1));
	for (int32 i = 0; i < nrows; i++)
	{
		PairKey    *k = &pt.keys[rows[i]];

		from_lab[i] = nlab;
		lab_groups[nlab++] = k->from;
		to_lab[i] = -1;
		if (k->to >= 0)
		{
			to_lab[i] = nlab;
			lab_groups[nlab++] = k->to;
		}
	}
	labels = ecp_groups_labels(g, lab_groups, nlab);

	for (int32 i = 0; i < nrows; i++)
	{
		int32		p = rows[i];
		PairKey    *k = &pt.keys[p];
		Datum		values[7];
		bool		nulls[7];

		memset(nulls, 0, sizeof(nulls));
		values[0] = CStringGetTextDatum(g->key[k->from]);
		if (labels[from_lab[i]] != NULL)
			values[1] = CStringGetTextDatum(labels[from_lab[i]]);
		else
			nulls[1] = true;
		if (k->to >= 0)
		{
			values[2] = CStringGetTextDatum(g->key[k->to]);
			if (labels[to_lab[i]] != NULL)
				values[3] = CStringGetTextDatum(labels[to_lab[i]]);
			else
				nulls[3] = true;
			values[6] = percentile(gaps.items, gstart[p], gstart[p + 1], 0.5);
		}
		else
		{
			nulls[2] = nulls[3] = true;
			nulls[6] = true;
		}
		values[4] = Int64GetDatum(pt.customers[p]);
		values[5] = DirectFunctionCall2(numeric_round,
										ecp_report_ratio(pt.customers[p],
														 from_count[k->from]),
										Int32GetDatum(4));
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}

/* ---------------------------------------------------------------------
 * time_to_next_order
 * ---------------------------------------------------------------------
 */

/*
 * time_to_next_order(slug text, dimension text, nth int)
 *	RETURNS TABLE (key text, label text, customers bigint, reordered bigint,
 *				   median_days numeric, p25_days numeric, p75_days numeric)
 */
Datum
time_to_next_order(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	EcpFetchSpec spec;
	EcpReportMembers m;
	EcpDimension dim = ECP_DIM_NONE;
	int32		nth;
	EcpReportSet *set;
	EcpGroups  *g = NULL;
	int32		nbuckets;
	int64	   *count;
	int64	   *reordered;
	int32	   *seen;
	GapList		gaps = {0};
	int64	   *gstart;
	int32	   *order;
	int32		nout = 0;
	char	  **labels = NULL;

	if (!PG_ARGISNULL(1))
		dim = ecp_parse_analysis_dimension(PG_GETARG_TEXT_PP(1));
	nth = parse_nth(fcinfo, 2);

	memset(&spec, 0, sizeof(spec));
	ecp_report_begin(fcinfo, 0, true, &m, &spec);
	spec.variant = ECP_VARIANT_ALL;
	spec.dimension = dim;
	spec.want_dates = true;
	set = ecp_report_fetch(&spec);
	if (dim != ECP_DIM_NONE)
		g = ecp_groups_build(set->dict, dim);
	nbuckets = g ? g->ngroups : 1;
	count = palloc0(sizeof(int64) * Max(nbuckets, 1));
	reordered = palloc0(sizeof(int64) * Max(nbuckets, 1));
	seen = palloc(sizeof(int32) * Max(nbuckets, 1));
	memset(seen, 0xFF, sizeof(int32) * Max(nbuckets, 1));

	for (int32 c = 0; c < set->ncustomers; c++)
	{
		int32		ckey = set->cust_ckey[c];
		int64		n = set->cust_start[c + 1] - set->cust_start[c];
		int64		on;
		bool		has_next;
		int32		days = 0;

		if ((c & 0x3FFF) == 0)
			CHECK_FOR_INTERRUPTS();
		if (m.members != NULL && (ckey > m.max_ckey || !m.is_member[ckey]))
			continue;
		if (n < nth)
			continue;
		on = set->cust_start[c] + nth - 1;
		has_next = n > nth;
		if (has_next)
			days = set->local_date[on + 1] - set->local_date[on];
		if (g == NULL)
		{
			count[0]++;
			if (has_next)
			{
				reordered[0]++;
				gaps_add(&gaps, 0, days);
			}
			continue;
		}
		for (int64 k = set->vstart[on]; k < set->vstart[on + 1]; k++)
		{
			int32		e = set->values[k];
			int32		grp = g->group_of[e];

			ecp_groups_note(g, e, c);
			if (seen[grp] == c)
				continue;
			seen[grp] = c;
			count[grp]++;
			if (has_next)
			{
				reordered[grp]++;
				gaps_add(&gaps, grp, days);
			}
		}
	}

	gstart = gaps_group(&gaps, nbuckets);
	order = palloc(sizeof(int32) * Max(nbuckets, 1));
	if (g == NULL)
		order[nout++] = 0;
	else
	{
		for (int32 grp = 0; grp < nbuckets; grp++)
		{
			if (count[grp] > 0)
				order[nout++] = grp;
		}
		sort_groups = g;
		sort_counts = count;
		qsort(order, nout, sizeof(int32), cmp_group);
		labels = ecp_groups_labels(g, order, nout);
	}

	for (int32 i = 0; i < nout; i++)
	{
		int32		b = order[i];
		Datum		values[7];
		bool		nulls[7];

		memset(nulls, 0, sizeof(nulls));
		if (g != NULL)
		{
			values[0] = CStringGetTextDatum(g->key[b]);
			if (labels[i] != NULL)
				values[1] = CStringGetTextDatum(labels[i]);
			else
				nulls[1] = true;
		}
		else
			nulls[0] = nulls[1] = true;
		values[2] = Int64GetDatum(count[b]);
		values[3] = Int64GetDatum(reordered[b]);
		if (reordered[b] > 0)
		{
			values[4] = percentile(gaps.items, gstart[b], gstart[b + 1], 0.5);
			values[5] = percentile(gaps.items, gstart[b], gstart[b + 1], 0.25);
			values[6] = percentile(gaps.items, gstart[b], gstart[b + 1], 0.75);
		}
		else
			nulls[4] = nulls[5] = nulls[6] = true;
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}
