/*-------------------------------------------------------------------------
 *
 * basket.c
 *	  ecpower.bought_together(): product pairs that a segment's customers
 *	  bought in one selected order (README "Feature reports").
 *
 * For products a < b (by id): n_ab = members with a selected order holding
 * both, n_a = members with a selected order holding a, N = the report
 * denominator (members; members with >= 2 counted orders for second and
 * repeat).  support = n_ab / N, confidence = n_ab / n_a and lift =
 * n_ab * N / (n_a * n_b).
 *
 * One walk over the members' selected orders: each order's distinct
 * products are sorted by id and every pair is counted in a hash table
 * keyed by the two value ids, once per customer (a "last seen" stamp).
 * The titles of the products shown are read in one lookup at the end.
 *
 * src/reports/basket.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "common/int.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/numeric.h"
#include "utils/tuplestore.h"

#include "reports/report.h"

PG_FUNCTION_INFO_V1(bought_together);

/* a pair of product value ids, a's product_id < b's */
typedef struct PairEntry
{
	uint64		key;			/* a << 32 | b */
	int64		customers;
	int32		last_seen;		/* customer index that last counted it */
	char		status;
} PairEntry;

/* murmur3 finaliser of a pair key */
static inline uint32
pair_hash(uint64 key)
{
	key ^= key >> 33;
	key *= UINT64CONST(0xff51afd7ed558ccd);
	key ^= key >> 33;
	key *= UINT64CONST(0xc4ceb9fe1a85ec53);
	key ^= key >> 33;
	return (uint32) key;
}

#define SH_PREFIX pairtab
#define SH_ELEMENT_TYPE PairEntry
#define SH_KEY_TYPE uint64
#define SH_KEY key
#define SH_HASH_KEY(tb, k) pair_hash(k)
#define SH_EQUAL(tb, a, b) ((a) == (b))
#define SH_SCOPE static inline
#define SH_DEFINE
#define SH_DECLARE
#include "lib/simplehash.h"

/* a pair in the output order */
typedef struct RankedPair
{
	int64		product_a;
	int64		product_b;
	int32		a;				/* value ids, then positions in the titles */
	int32		b;
	int64		n_a;			/* members with a selected order holding a */
	int64		n_b;
	int64		customers;
} RankedPair;

/* output order: customers descending, then product_a, product_b */
static int
cmp_ranked(const void *pa, const void *pb)
{
	const RankedPair *x = (const RankedPair *) pa;
	const RankedPair *y = (const RankedPair *) pb;

	if (x->customers != y->customers)
		return x->customers > y->customers ? -1 : 1;
	if (x->product_a != y->product_a)
		return x->product_a < y->product_a ? -1 : 1;
	if (x->product_b != y->product_b)
		return x->product_b < y->product_b ? -1 : 1;
	return 0;
}

/* the product ids of the value ids, for cmp_value_by_num() */
static const int64 *sort_nums;

/* qsort order of value ids: by their product ids */
static int
cmp_value_by_num(const void *pa, const void *pb)
{
	int64		x = sort_nums[*(const int32 *) pa];
	int64		y = sort_nums[*(const int32 *) pb];

	return (x > y) - (x < y);
}

/* n * m as numeric, without int64 overflow */
static Datum
numeric_product(int64 n, int64 m)
{
	int64		r;

	if (!pg_mul_s64_overflow(n, m, &r))
		return NumericGetDatum(int64_to_numeric(r));
	return DirectFunctionCall2(numeric_mul,
							   NumericGetDatum(int64_to_numeric(n)),
							   NumericGetDatum(int64_to_numeric(m)));
}

/*
 * bought_together(slug text, top int, variant text, from_date date,
 *				   to_date date)
 *	RETURNS TABLE (rank int, product_a bigint, label_a text,
 *				   product_b bigint, label_b text, customers bigint,
 *				   support numeric, confidence numeric, lift numeric)
 *
 * label_a and label_b are the products' titles (NULL for a product id
 * ecpower.products does not hold).
 */
Datum
bought_together(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	EcpFetchSpec spec;
	EcpReportMembers m;
	EcpReportSet *set;
	EcpValueDict *dict;
	int32		top;
	int64		den = 0;
	int64	   *single;
	int32	   *single_seen;
	pairtab_hash *pairs;
	pairtab_iterator it;
	PairEntry  *pe;
	RankedPair *ranked;
	int64		nranked = 0;
	int32	   *buf;
	int64		bufcap = 64;
	int64		nout;
	EcpValueDict *shown;
	char	  **titles;

	if (PG_ARGISNULL(1))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("top must not be null")));
	top = PG_GETARG_INT32(1);
	if (top < 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("top must be at least 1, not %d", top)));
	memset(&spec, 0, sizeof(spec));
	spec.variant = ecp_parse_variant(PG_ARGISNULL(2) ? NULL : PG_GETARG_TEXT_PP(2));
	ecp_parse_period(fcinfo, 3, 4, &spec);

	ecp_report_begin(fcinfo, 0, true, &m, &spec);
	spec.dimension = ECP_DIM_PRODUCT;
	set = ecp_report_fetch(&spec);
	dict = set->dict;

	single = palloc0(sizeof(int64) * Max(dict->nvalues, 1));
	single_seen = palloc(sizeof(int32) * Max(dict->nvalues, 1));
	memset(single_seen, 0xFF, sizeof(int32) * Max(dict->nvalues, 1));
	pairs = pairtab_create(CurrentMemoryContext, 1024, NULL);
	buf = palloc(sizeof(int32) * bufcap);
	sort_nums = dict->num;

	for (int32 c = 0; c < set->ncustomers; c++)
	{
		int64		n = set->cust_start[c + 1] - set->cust_start[c];

		if ((c & 0x3FFF) == 0)
			CHECK_FOR_INTERRUPTS();
		if (!ecp_variant_counts_repeaters(spec.variant) || n >= 2)
			den++;

		for (int64 o = set->cust_start[c]; o < set->cust_start[c + 1]; o++)
		{
			int64		nv = set->vstart[o + 1] - set->vstart[o];
			int64		nd = 0;

			if (nv == 0)
				continue;
			if (nv > bufcap)
			{
				bufcap = nv;
				if ((Size) bufcap * sizeof(int32) > MaxAllocSize)
					ereport(ERROR,
							(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
							 errmsg("order %lld has too many lines",
									(long long) set->orders[o].order_id)));
				buf = repalloc(buf, sizeof(int32) * bufcap);
			}
			memcpy(buf, set->values + set->vstart[o], sizeof(int32) * nv);
			qsort(buf, nv, sizeof(int32), cmp_value_by_num);
			for (int64 k = 0; k < nv; k++)
			{
				if (nd == 0 || buf[nd - 1] != buf[k])
					buf[nd++] = buf[k];
			}
			for (int64 i = 0; i < nd; i++)
			{
				if (single_seen[buf[i]] != c)
				{
					single_seen[buf[i]] = c;
					single[buf[i]]++;
				}
				for (int64 j = i + 1; j < nd; j++)
				{
					uint64		key = ((uint64) (uint32) buf[i] << 32) | (uint32) buf[j];
					bool		found;

					pe = pairtab_insert(pairs, key, &found);
					if (!found)
					{
						pe->customers = 0;
						pe->last_seen = -1;
					}
					if (pe->last_seen != c)
					{
						pe->last_seen = c;
						pe->customers++;
					}
				}
			}
		}
	}
	if (m.members != NULL && !ecp_variant_counts_repeaters(spec.variant))
		den = m.count;			/* members without counted orders count too */

	ranked = palloc_extended(sizeof(RankedPair) * Max(pairs->members, 1), MCXT_ALLOC_HUGE);
	pairtab_start_iterate(pairs, &it);
	while ((pe = pairtab_iterate(pairs, &it)) != NULL)
	{
		RankedPair *r = &ranked[nranked++];

		r->a = (int32) (pe->key >> 32);
		r->b = (int32) (pe->key & 0xFFFFFFFF);
		r->product_a = dict->num[r->a];
		r->product_b = dict->num[r->b];
		r->n_a = single[r->a];
		r->n_b = single[r->b];
		r->customers = pe->customers;
	}
	qsort(ranked, nranked, sizeof(RankedPair), cmp_ranked);
	nout = Min(nranked, (int64) top);

	/* titles of the distinct products of the output rows, in one lookup */
	shown = ecp_dict_create();
	for (int64 i = 0; i < nout; i++)
	{
		ranked[i].a = ecp_dict_num(shown, ranked[i].product_a);
		ranked[i].b = ecp_dict_num(shown, ranked[i].product_b);
	}
	titles = ecp_product_titles(shown->num, shown->nvalues);

	for (int64 i = 0; i < nout; i++)
	{
		RankedPair *r = &ranked[i];
		Datum		values[9];
		bool		nulls[9] = {false, false, false, false, false, false, false, false, false};

		values[0] = Int32GetDatum((int32) i + 1);
		values[1] = Int64GetDatum(r->product_a);
		if (titles[r->a] != NULL)
			values[2] = CStringGetTextDatum(titles[r->a]);
		else
			nulls[2] = true;
		values[3] = Int64GetDatum(r->product_b);
		if (titles[r->b] != NULL)
			values[4] = CStringGetTextDatum(titles[r->b]);
		else
			nulls[4] = true;
		values[5] = Int64GetDatum(r->customers);
		if (den > 0)
		{
			values[6] = ecp_report_ratio(r->customers, den);
			values[8] = DirectFunctionCall2(numeric_div,
											numeric_product(r->customers, den),
											numeric_product(r->n_a, r->n_b));
		}
		else
		{
			nulls[6] = true;
			nulls[8] = true;
		}
		values[7] = ecp_report_ratio(r->customers, r->n_a);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}
