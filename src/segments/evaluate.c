/*-------------------------------------------------------------------------
 *
 * evaluate.c
 *	  Evaluate compiled segment definitions over the store in one pass.
 *
 * The passes, each a plain sequential scan read with heap_getattr():
 *
 *	1. customers: index every customer (customer_id -> index via simplehash),
 *	   and evaluate customer attribute conditions into per-customer bits;
 *	2. products (only with product keys): per product, which filters its
 *	   attributes satisfy;
 *	3. orders: keep each counted order (not cancelled, ordered_at <= as_of)
 *	   as a 40-byte record plus one bit per FILTER (period, text lists,
 *	   has_discount, subscription, total -- everything but nth and product
 *	   keys); money in int64 cents, the local date from the store calendar;
 *	4. order_lines (only with product keys or the items metric): OR the line
 *	   bits into their order, add quantities;
 *	5. group orders per customer (counting sort) and rank them by
 *	   (ordered_at, order_id);
 *	6. RFM scores when needed (rfm.c);
 *	7. per customer, evaluate every root in dependency order.
 *
 * Text lists match case-insensitively and exactly: every value of every
 * list is lower-cased at compile time and entered in a per-field hash
 * dictionary mapping the value to the set of filters (or customer
 * conditions) listing it; a row's value is lower-cased once and looked up
 * once, whatever the number of segments.
 *
 * Memory: about 40 bytes + 8 per 64 filters per counted order, 8 bytes per
 * order for the grouping, and 40 bytes per customer; nothing is allocated
 * per row except in a scratch context reset every row.
 *
 * src/segments/evaluate.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "access/heapam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "access/tableam.h"
#include "executor/spi.h"
#include "catalog/pg_collation.h"
#include "catalog/pg_type.h"
#include "common/hashfn.h"
#include "common/int.h"
#include "miscadmin.h"
#include "portability/instr_time.h"
#include "funcapi.h"
#include "utils/acl.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/formatting.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"

#include "segments/limits.h"
#include "segments/definition.h"
#include "core/ecpower.h"
#include "segments/evaluate.h"
#include "segments/membership.h"
#include "timeline/ordercache.h"
#include "predict/predict.h"			/* predictions (issue 9) */
#include "segments/rfm.h"

/* int64 -> int32 index hash (customers, products, orders) */
typedef struct IdEntry
{
	int64		id;
	int32		idx;
	char		status;
} IdEntry;

#define SH_PREFIX ecp_idhash
#define SH_ELEMENT_TYPE IdEntry
#define SH_KEY_TYPE int64
#define SH_KEY id
#define SH_HASH_KEY(tb, key) ecp_hash_int64(key)
#define SH_EQUAL(tb, a, b) ((a) == (b))
#define SH_SCOPE static inline
#define SH_DEFINE
#define SH_DECLARE
#include "lib/simplehash.h"

/*
 * A dictionary of lower-cased strings, each mapped to a bit set (over
 * filters or customer conditions).
 */
typedef struct DictEntry
{
	uint32		hash;
	int			len;			/* -1: empty slot */
	const char *s;
	int			slot;			/* index of its bit set */
} DictEntry;

typedef struct Dict
{
	int			mask;			/* capacity - 1 */
	DictEntry  *e;
	int			nwords;
	int			nsets;
	uint64	   *sets;
} Dict;

/* a dictionary for up to nvalues strings, each mapped to nwords words of bits */
static Dict *
dict_create(int nvalues, int nwords)
{
	Dict	   *d = palloc0(sizeof(Dict));
	int			cap = 16;

	while (cap < nvalues * 2)
		cap *= 2;
	d->mask = cap - 1;
	d->e = palloc(sizeof(DictEntry) * cap);
	for (int i = 0; i < cap; i++)
		d->e[i].len = -1;
	d->nwords = nwords;
	d->sets = palloc0(sizeof(uint64) * nwords * Max(nvalues, 1));
	return d;
}

/* map string s (lower-cased) to bit 'bit', adding it if new */
static void
dict_add(Dict *d, const char *s, int len, int bit)
{
	uint32		h = hash_bytes((const unsigned char *) s, len);
	int			i = h & d->mask;

	for (;;)
	{
		DictEntry  *e = &d->e[i];

		if (e->len < 0)
		{
			e->hash = h;
			e->len = len;
			e->s = s;
			e->slot = d->nsets++;
			break;
		}
		if (e->hash == h && e->len == len && memcmp(e->s, s, len) == 0)
			break;
		i = (i + 1) & d->mask;
	}
	d->sets[d->e[i].slot * d->nwords + bit / 64] |= UINT64CONST(1) << (bit % 64);
}

/* bit set of a lower-cased value, or NULL */
static const uint64 *
dict_get(const Dict *d, const char *s, int len)
{
	uint32		h = hash_bytes((const unsigned char *) s, len);
	int			i = h & d->mask;

	for (;;)
	{
		const DictEntry *e = &d->e[i];

		if (e->len < 0)
			return NULL;
		if (e->hash == h && e->len == len && memcmp(e->s, s, len) == 0)
			return d->sets + e->slot * d->nwords;
		i = (i + 1) & d->mask;
	}
}

/*
 * OR into acc the bit set of a text datum (lower-cased here; ASCII in a
 * stack buffer, anything else through str_tolower in the scratch context).
 */
static void
dict_or_text(const Dict *d, Datum value, uint64 *acc)
{
	text	   *t = (text *) PG_DETOAST_DATUM_PACKED(value);
	const char *s = VARDATA_ANY(t);
	int			len = VARSIZE_ANY_EXHDR(t);
	char		buf[256];
	const char *key = buf;
	const uint64 *set;
	bool		ascii = len <= (int) sizeof(buf);

	for (int i = 0; ascii && i < len; i++)
	{
		char		c = s[i];

		if ((unsigned char) c >= 0x80)
			ascii = false;
		else
			buf[i] = (c >= 'A' && c <= 'Z') ? c + ('a' - 'A') : c;
	}
	if (!ascii)
	{
		key = ecp_lower_text(s, len, &len);
	}
	set = dict_get(d, key, len);
	if (set)
	{
		for (int w = 0; w < d->nwords; w++)
			acc[w] |= set[w];
	}
}

/* OR the sets of every element of a text[] datum */
static void
dict_or_array(const Dict *d, Datum value, uint64 *acc)
{
	ArrayType  *arr = DatumGetArrayTypeP(value);
	Datum	   *elems;
	bool	   *nulls;
	int			n;

	deconstruct_array(arr, TEXTOID, -1, false, TYPALIGN_INT, &elems, &nulls, &n);
	for (int i = 0; i < n; i++)
	{
		if (!nulls[i])
			dict_or_text(d, elems[i], acc);
	}
}

/* bit b of a bit set */
static inline bool
bit_isset(const uint64 *bits, int b)
{
	return (bits[b / 64] >> (b % 64)) & 1;
}

/* set bit b */
static inline void
bit_set(uint64 *bits, int b)
{
	bits[b / 64] |= UINT64CONST(1) << (b % 64);
}

/* clear bit b */
static inline void
bit_clear(uint64 *bits, int b)
{
	bits[b / 64] &= ~(UINT64CONST(1) << (b % 64));
}

/* an ecpower table opened for a scan, with the caller's SELECT right */
static Relation
open_input(const char *name)
{
	Oid			relid = ecp_relid(name);
	AclResult	aclresult;

	aclresult = pg_class_aclcheck(relid, GetUserId(), ACL_SELECT);
	if (aclresult != ACLCHECK_OK)
		aclcheck_error(aclresult, OBJECT_TABLE, get_rel_name(relid));
	return table_open(relid, AccessShareLock);
}

/* attribute number of a column of an input table, by name */
static AttrNumber
attnum(Relation rel, const char *name)
{
	TupleDesc	desc = RelationGetDescr(rel);

	for (int i = 0; i < desc->natts; i++)
	{
		Form_pg_attribute att = TupleDescAttr(desc, i);

		if (!att->attisdropped && strcmp(NameStr(att->attname), name) == 0)
			return att->attnum;
	}
	elog(ERROR, "column \"%s\" of ecpower.%s not found", name,
		 RelationGetRelationName(rel));
	return InvalidAttrNumber;
}

/* a column of the row deformed by next_row() into values/nulls */
#define COLUMN(att)			(values[(att) - 1])
#define COLUMN_NULL(att)	(nulls[(att) - 1])

/*
 * next_row
 *		Fetch the next tuple of a scan and deform all its columns at once
 *		(heap_getattr() per column would walk the tuple again for every
 *		column after the first variable-length one).
 */
static bool
next_row(TableScanDesc scan, TupleDesc desc, Datum *values, bool *nulls)
{
	HeapTuple	tup = heap_getnext(scan, ForwardScanDirection);

	if (tup == NULL)
		return false;
	heap_deform_tuple(tup, desc, values, nulls);
	return true;
}

/* initial capacity for a table's rows: the planner's estimate, or 'dflt' */
static int64
expected_rows(Relation rel, int64 dflt)
{
	double		est = rel->rd_rel->reltuples;

	if (est <= 0 || est > 1e9)
		return dflt;
	return Max(dflt, (int64) (est * 1.05) + 16);
}

/* grow a huge array to hold at least 'need' elements */
static void *
grow(void *p, int64 *cap, int64 need, Size elsize)
{
	int64		newcap = *cap;

	if (need <= *cap)
		return p;
	while (newcap < need)
		newcap *= 2;
	if ((Size) newcap * elsize > MaxAllocHugeSize)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("too many rows for the segment engine")));
	p = repalloc_huge(p, (Size) newcap * elsize);
	*cap = newcap;
	return p;
}

/* qsort comparator of int64 */
static int
cmp_int64(const void *a, const void *b)
{
	int64		x = *(const int64 *) a;
	int64		y = *(const int64 *) b;

	return (x > y) - (x < y);
}

/* bound periods: [lo, hi] local dates */
typedef struct Bound
{
	int32		lo;
	int32		hi;
} Bound;

/* a PERIOD as local dates [lo, hi], relative periods counted back from as_of_date */
static Bound
bind_period(const EcpPeriod *p, DateADT as_of_date)
{
	Bound		b;

	switch (p->kind)
	{
		case ECP_P_RANGE:
			b.lo = p->has_from ? p->from : PG_INT32_MIN;
			b.hi = p->has_to ? p->to : PG_INT32_MAX;
			break;
		case ECP_P_LAST_DAYS:
			b.lo = as_of_date - p->a + 1;
			b.hi = as_of_date;
			break;
		default:
			b.lo = as_of_date - p->b;
			b.hi = as_of_date - p->a;
			break;
	}
	return b;
}

/* scan state shared by the passes */
typedef struct EvalScan
{
	EcpEval    *ev;
	MemoryContext scratch;
	ecp_idhash_hash *custhash;	/* customer_id -> index, or: */
	int32	   *custdirect;		/* customer_id - custmin -> index (dense ids) */
	int64		custmin;
	int64		custrange;
	/* filters */
	Bound	   *fperiod;		/* per filter */
	int		   *scalar;			/* filters with period/discount/subscription/total */
	int			nscalar;
	uint64	   *all;			/* all filter bits */
	uint64	   *uses[ECP_NTEXT_FIELDS]; /* filters using each text field */
	Dict	   *dict[ECP_NTEXT_FIELDS];
	uint64	   *prodfilters;	/* filters with a product key */
	uint64	   *prodattr;		/* filters with a product attribute key */
	bool		any_product;
	bool		any_prodattr;
	/* products */
	ecp_idhash_hash *prodhash;
	uint64	   *pbits;
	/* customers */
	Dict	   *cdict[ECP_NCUST_TEXT_FIELDS];
	Bound	   *cperiod;
	/* orders */
	int64		ocap;			/* capacity of ev->orders and ev->obits */
	bool		any_text;		/* a text field of orders is used */
	uint64	   *acc;			/* scratch, fwords words */
	uint64	   *lineok;			/* scratch, fwords words */
	int64		lfrom;			/* order lines are wanted for orders lfrom.. */
	uint64	   *lbits;			/* product bits of those orders, by lines */
} EvalScan;

/* prepare the per-field dictionaries, masks and bound periods of the program */
static void
build_dicts(EvalScan *sc)
{
	EcpEval    *ev = sc->ev;
	EcpProgram *prog = ev->prog;
	int			fw = ev->fwords;

	sc->all = palloc0(sizeof(uint64) * fw);
	sc->prodfilters = palloc0(sizeof(uint64) * fw);
	sc->prodattr = palloc0(sizeof(uint64) * fw);
	sc->fperiod = palloc(sizeof(Bound) * Max(prog->nfilters, 1));
	sc->scalar = palloc(sizeof(int) * Max(prog->nfilters, 1));
	sc->acc = palloc(sizeof(uint64) * fw);
	sc->lineok = palloc(sizeof(uint64) * fw);
	for (int t = 0; t < ECP_NTEXT_FIELDS; t++)
	{
		int			nvals = 0;

		if (!(prog->order_textkeys & ((uint32) 1 << t)))
			continue;
		sc->uses[t] = palloc0(sizeof(uint64) * fw);
		for (int f = 0; f < prog->nfilters; f++)
			nvals += prog->filters[f].text[t].n;
		sc->dict[t] = dict_create(nvals, fw);
		for (int f = 0; f < prog->nfilters; f++)
		{
			EcpTextList *l = &prog->filters[f].text[t];

			if (!(prog->filters[f].textkeys & ((uint32) 1 << t)))
				continue;
			bit_set(sc->uses[t], f);
			for (int i = 0; i < l->n; i++)
				dict_add(sc->dict[t], l->vals[i], l->lens[i], f);
		}
	}
	for (int f = 0; f < prog->nfilters; f++)
	{
		EcpFilter  *flt = &prog->filters[f];

		bit_set(sc->all, f);
		if (ECP_FILTER_HAS_PRODUCT(flt))
		{
			bit_set(sc->prodfilters, f);
			sc->any_product = true;
			if (flt->nproduct_ids > 0 || (flt->textkeys & ~((uint32) 1 << ECP_TF_SKU)) >> ECP_FIRST_PRODUCT_FIELD)
			{
				bit_set(sc->prodattr, f);
				sc->any_prodattr = true;
			}
		}
		if (flt->has_period)
			sc->fperiod[f] = bind_period(&flt->period, ev->as_of_date);
		if (flt->has_discount >= 0 || flt->subscription >= 0 || flt->has_total)
			sc->scalar[sc->nscalar++] = f;
	}
	for (int t = 0; t < ECP_FIRST_PRODUCT_FIELD; t++)
		sc->any_text |= sc->dict[t] != NULL;

	/* customer conditions */
	sc->cperiod = palloc(sizeof(Bound) * Max(prog->ncust, 1));
	for (int t = 0; t < ECP_NCUST_TEXT_FIELDS; t++)
	{
		int			nvals = 0;

		for (int c = 0; c < prog->ncust; c++)
		{
			if (prog->cust[c].field == (EcpCustField) t)
				nvals += prog->cust[c].list.n;
		}
		if (nvals == 0)
			continue;
		sc->cdict[t] = dict_create(nvals, ev->cwords);
		for (int c = 0; c < prog->ncust; c++)
		{
			EcpTextList *l = &prog->cust[c].list;

			if (prog->cust[c].field != (EcpCustField) t)
				continue;
			for (int i = 0; i < l->n; i++)
				dict_add(sc->cdict[t], l->vals[i], l->lens[i], c);
		}
	}
	for (int c = 0; c < prog->ncust; c++)
	{
		if (prog->cust[c].field == ECP_CF_CREATED)
			sc->cperiod[c] = bind_period(&prog->cust[c].period, ev->as_of_date);
	}
}

/* pass 1: customers */
static void
scan_customers(EvalScan *sc)
{
	EcpEval    *ev = sc->ev;
	EcpProgram *prog = ev->prog;
	Relation	rel = open_input("customers");
	TupleDesc	desc = RelationGetDescr(rel);
	AttrNumber	a_id = attnum(rel, "customer_id");
	AttrNumber	a_ckey = attnum(rel, "ckey");
	AttrNumber	a_text[ECP_NCUST_TEXT_FIELDS];
	AttrNumber	a_accepts = attnum(rel, "accepts_marketing");
	AttrNumber	a_created = attnum(rel, "created_at");
	TableScanDesc scan;
	Datum	   *values = palloc(sizeof(Datum) * desc->natts);
	bool	   *nulls = palloc(sizeof(bool) * desc->natts);
	int64		cap = expected_rows(rel, 1024);
	int64		n = 0;
	int			cw = ev->cwords;
	uint64	   *acc = palloc(sizeof(uint64) * cw);

	a_text[ECP_CF_TAG] = attnum(rel, "tags");
	a_text[ECP_CF_COUNTRY] = attnum(rel, "country");
	a_text[ECP_CF_PROVINCE] = attnum(rel, "province");
	a_text[ECP_CF_CITY] = attnum(rel, "city");
	a_text[ECP_CF_EMAIL_DOMAIN] = attnum(rel, "email");

	ev->cust_id = palloc_extended(sizeof(int64) * cap, MCXT_ALLOC_HUGE);
	ev->ckey = palloc_extended(sizeof(int32) * cap, MCXT_ALLOC_HUGE);
	ev->cbits = palloc_extended(sizeof(uint64) * cw * cap, MCXT_ALLOC_HUGE);

	scan = table_beginscan(rel, GetActiveSnapshot(), 0, NULL);
	while (next_row(scan, desc, values, nulls))
	{
		MemoryContext old;

		if ((n & 0x3FFF) == 0)
			CHECK_FOR_INTERRUPTS();
		if (n >= cap)
		{
			int64		c2 = cap;

			ev->cust_id = grow(ev->cust_id, &c2, n + 1, sizeof(int64));
			c2 = cap;
			ev->ckey = grow(ev->ckey, &c2, n + 1, sizeof(int32));
			c2 = cap;
			ev->cbits = grow(ev->cbits, &c2, n + 1, sizeof(uint64) * cw);
			cap = c2;
		}
		if (n >= PG_INT32_MAX)
			ereport(ERROR,
					(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
					 errmsg("too many customers for the segment engine")));
		ev->cust_id[n] = DatumGetInt64(COLUMN(a_id));
		ev->ckey[n] = DatumGetInt32(COLUMN(a_ckey));

		memset(acc, 0, sizeof(uint64) * cw);
		if (prog->ncust > 0)
		{
			old = MemoryContextSwitchTo(sc->scratch);
			for (int t = 0; t < ECP_NCUST_TEXT_FIELDS; t++)
			{
				Datum		d = COLUMN(a_text[t]);

				if (sc->cdict[t] == NULL || COLUMN_NULL(a_text[t]))
					continue;
				if (t == ECP_CF_TAG)
					dict_or_array(sc->cdict[t], d, acc);
				else if (t == ECP_CF_EMAIL_DOMAIN)
				{
					text	   *email = DatumGetTextPP(d);
					const char *s = VARDATA_ANY(email);
					int			len = VARSIZE_ANY_EXHDR(email);
					int			at = -1;

					for (int i = 0; i < len; i++)
					{
						if (s[i] == '@')
							at = i;
					}
					if (at >= 0)
						dict_or_text(sc->cdict[t],
									 PointerGetDatum(cstring_to_text_with_len(s + at + 1, len - at - 1)),
									 acc);
				}
				else
					dict_or_text(sc->cdict[t], d, acc);
			}
			for (int c = 0; c < prog->ncust; c++)
			{
				EcpCustCond *cc = &prog->cust[c];

				if (cc->field == ECP_CF_ACCEPTS_MARKETING)
				{
					if (!COLUMN_NULL(a_accepts) &&
						DatumGetBool(COLUMN(a_accepts)) == cc->flag)
						bit_set(acc, c);
				}
				else if (cc->field == ECP_CF_CREATED)
				{
					/* an infinite created_at has no local date: no match */
					if (!COLUMN_NULL(a_created) &&
						!TIMESTAMP_NOT_FINITE(DatumGetTimestampTz(COLUMN(a_created))))
					{
						DateADT		day = ecp_local_date(ev->cal,
														 DatumGetTimestampTz(COLUMN(a_created)));

						if (day >= sc->cperiod[c].lo && day <= sc->cperiod[c].hi)
							bit_set(acc, c);
					}
				}
			}
			MemoryContextSwitchTo(old);
			MemoryContextReset(sc->scratch);
		}
		memcpy(ev->cbits + n * cw, acc, sizeof(uint64) * cw);
		n++;
	}
	table_endscan(scan);
	table_close(rel, AccessShareLock);
	ev->ncust = (int32) n;
}

/*
 * AND into 'ok' the verdict of text field t on one value (a text or, for
 * is_array, a text[] datum; isnull for SQL NULL): a filter using the field
 * passes when the value, or one element, is in its list.  'acc' is scratch
 * of fwords words; call in the scratch memory context.
 */
static void
match_text_field(EvalScan *sc, int t, Datum d, bool isnull, bool is_array,
				 uint64 *ok, uint64 *acc)
{
	int			fw = sc->ev->fwords;

	memset(acc, 0, sizeof(uint64) * fw);
	if (!isnull)
	{
		if (is_array)
			dict_or_array(sc->dict[t], d, acc);
		else
			dict_or_text(sc->dict[t], d, acc);
	}
	for (int w = 0; w < fw; w++)
		ok[w] &= acc[w] | ~sc->uses[t][w];
}

/*
 * Index customers by id: a direct table when the ids are dense enough (at
 * most 4 slots per customer), else a hash table.  Orders look their
 * customer up once each, and a random probe into a small dense table is
 * much cheaper than into a hash table.
 */
static void
index_customers(EvalScan *sc)
{
	EcpEval    *ev = sc->ev;
	int64		lo = PG_INT64_MAX;
	int64		hi = PG_INT64_MIN;

	for (int32 c = 0; c < ev->ncust; c++)
	{
		lo = Min(lo, ev->cust_id[c]);
		hi = Max(hi, ev->cust_id[c]);
	}
	if (ev->ncust > 0 && hi - lo >= 0 && hi - lo < (int64) ev->ncust * 4 + 1024)
	{
		sc->custmin = lo;
		sc->custrange = hi - lo + 1;
		sc->custdirect = palloc_extended(sizeof(int32) * sc->custrange, MCXT_ALLOC_HUGE);
		memset(sc->custdirect, 0xFF, sizeof(int32) * sc->custrange);	/* -1 */
		for (int32 c = 0; c < ev->ncust; c++)
			sc->custdirect[ev->cust_id[c] - lo] = c;
		return;
	}
	sc->custhash = ecp_idhash_create(CurrentMemoryContext, Max(1024, ev->ncust + 1), NULL);
	for (int32 c = 0; c < ev->ncust; c++)
	{
		bool		found;
		IdEntry    *e = ecp_idhash_insert(sc->custhash, ev->cust_id[c], &found);

		e->idx = c;
	}
}

/* index of a customer id, or -1 */
static inline int32
customer_index(EvalScan *sc, int64 id)
{
	if (sc->custdirect)
	{
		if (id < sc->custmin || id - sc->custmin >= sc->custrange)
			return -1;
		return sc->custdirect[id - sc->custmin];
	}
	else
	{
		IdEntry    *e = ecp_idhash_lookup(sc->custhash, id);

		return e ? e->idx : -1;
	}
}

/*
 * predictions (issue 9): the stored scores of the last fit_predictions(),
 * PREDICTED_NFIELDS per customer index; NaN for customers without a score.
 */
static void
load_predicted(EvalScan *sc)
{
	EcpEval    *ev = sc->ev;
	int64		n;
	PredictedScores *rows = predicted_scores_load(&n);
	int64		size = (int64) Max(ev->ncust, 1) * PREDICTED_NFIELDS;

	ev->predicted = palloc_extended(sizeof(double) * size, MCXT_ALLOC_HUGE);
	for (int64 i = 0; i < size; i++)
		ev->predicted[i] = NAN;
	for (int64 i = 0; i < n; i++)
	{
		int32		c = customer_index(sc, rows[i].customer_id);

		if (c >= 0)
			memcpy(ev->predicted + (int64) c * PREDICTED_NFIELDS, rows[i].v,
				   sizeof(double) * PREDICTED_NFIELDS);
	}
	pfree(rows);
}

/* pass 2: products */
static void
scan_products(EvalScan *sc)
{
	EcpEval    *ev = sc->ev;
	EcpProgram *prog = ev->prog;
	Relation	rel = open_input("products");
	TupleDesc	desc = RelationGetDescr(rel);
	AttrNumber	a_id = attnum(rel, "product_id");
	AttrNumber	a_attr[ECP_NTEXT_FIELDS];
	TableScanDesc scan;
	Datum	   *values = palloc(sizeof(Datum) * desc->natts);
	bool	   *nulls = palloc(sizeof(bool) * desc->natts);
	int64		cap = 256;
	int64		n = 0;
	int			fw = ev->fwords;
	uint64	   *acc = palloc(sizeof(uint64) * fw);

	memset(a_attr, 0, sizeof(a_attr));
	a_attr[ECP_TF_PRODUCT_TYPE] = attnum(rel, "product_type");
	a_attr[ECP_TF_PRODUCT_TAG] = attnum(rel, "tags");
	a_attr[ECP_TF_VENDOR] = attnum(rel, "vendor");
	a_attr[ECP_TF_PRODUCT_TITLE] = attnum(rel, "title");

	sc->pbits = palloc_extended(sizeof(uint64) * fw * cap, MCXT_ALLOC_HUGE);
	sc->prodhash = ecp_idhash_create(CurrentMemoryContext, 1024, NULL);
	scan = table_beginscan(rel, GetActiveSnapshot(), 0, NULL);
	while (next_row(scan, desc, values, nulls))
	{
		bool		found;
		int64		id;
		IdEntry    *e;
		uint64	   *ok;
		MemoryContext old;

		if ((n & 0x3FFF) == 0)
			CHECK_FOR_INTERRUPTS();
		sc->pbits = grow(sc->pbits, &cap, n + 1, sizeof(uint64) * fw);
		ok = sc->pbits + n * fw;
		memcpy(ok, sc->all, sizeof(uint64) * fw);
		id = DatumGetInt64(COLUMN(a_id));
		e = ecp_idhash_insert(sc->prodhash, id, &found);
		e->idx = (int32) n;

		old = MemoryContextSwitchTo(sc->scratch);
		for (int t = ECP_TF_PRODUCT_TYPE; t < ECP_NTEXT_FIELDS; t++)
		{
			if (sc->dict[t] == NULL)
				continue;
			match_text_field(sc, t, COLUMN(a_attr[t]), COLUMN_NULL(a_attr[t]),
							 t == ECP_TF_PRODUCT_TAG, ok, acc);
		}
		MemoryContextSwitchTo(old);
		MemoryContextReset(sc->scratch);
		for (int f = 0; f < prog->nfilters; f++)
		{
			EcpFilter  *flt = &prog->filters[f];

			if (flt->nproduct_ids > 0 &&
				bsearch(&id, flt->product_ids, flt->nproduct_ids, sizeof(int64),
						cmp_int64) == NULL)
				bit_clear(ok, f);
		}
		n++;
	}
	table_endscan(scan);
	table_close(rel, AccessShareLock);
}

/* the columns of ecpower.orders the evaluator reads, in some row layout */
typedef struct OrderCols
{
	AttrNumber	id;
	AttrNumber	cust;
	AttrNumber	at;
	AttrNumber	total;
	AttrNumber	refunded;
	AttrNumber	codes;
	AttrNumber	sub;
	AttrNumber	cancelled;
	AttrNumber	text[ECP_FIRST_PRODUCT_FIELD];
} OrderCols;

/* attribute numbers of the order columns in a row descriptor */
static void
order_cols(TupleDesc desc, OrderCols *c)
{
	c->id = ecp_column_attnum(desc, "order_id");
	c->cust = ecp_column_attnum(desc, "customer_id");
	c->at = ecp_column_attnum(desc, "ordered_at");
	c->total = ecp_column_attnum(desc, "total");
	c->refunded = ecp_column_attnum(desc, "refunded");
	c->codes = ecp_column_attnum(desc, "discount_codes");
	c->sub = ecp_column_attnum(desc, "is_subscription");
	c->cancelled = ecp_column_attnum(desc, "cancelled_at");
	c->text[ECP_TF_ORDER_TAG] = ecp_column_attnum(desc, "tags");
	c->text[ECP_TF_DISCOUNT_CODE] = c->codes;
	c->text[ECP_TF_SALES_CHANNEL] = ecp_column_attnum(desc, "sales_channel");
	c->text[ECP_TF_ACQUISITION_CHANNEL] = ecp_column_attnum(desc, "acquisition_channel");
	c->text[ECP_TF_REFERRING_SITE] = ecp_column_attnum(desc, "referring_site");
	c->text[ECP_TF_LANDING_SITE] = ecp_column_attnum(desc, "landing_site");
	c->text[ECP_TF_UTM_SOURCE] = ecp_column_attnum(desc, "utm_source");
	c->text[ECP_TF_UTM_MEDIUM] = ecp_column_attnum(desc, "utm_medium");
	c->text[ECP_TF_UTM_CAMPAIGN] = ecp_column_attnum(desc, "utm_campaign");
}

/*
 * order_row
 *		Keep one order row (deformed into values/nulls) when it is not
 *		cancelled and its customer is known: an EcpOrder and its filter
 *		bits, appended to ev->orders.  Orders after as_of are kept too (the
 *		order cache holds every uncancelled order; finalize_orders() drops
 *		them), and the bits are those that do not depend on as_of: the
 *		period of a filter is applied by finalize_orders().
 */
static void
order_row(EvalScan *sc, const OrderCols *c, Datum *values, bool *nulls)
{
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

	if (!COLUMN_NULL(c->cancelled))
		return;
	at = DatumGetTimestampTz(COLUMN(c->at));
	if (TIMESTAMP_IS_NOEND(at))
		return;					/* never counted */
	if (TIMESTAMP_IS_NOBEGIN(at))
		ereport(ERROR,
				(errcode(ERRCODE_DATETIME_VALUE_OUT_OF_RANGE),
				 errmsg("order %lld has no store-local date: ordered_at is -infinity",
						(long long) DatumGetInt64(COLUMN(c->id))),
				 errhint("Set the order's ordered_at to when it was placed, or cancel it.")));
	cidx = customer_index(sc, DatumGetInt64(COLUMN(c->cust)));
	if (cidx < 0)
		return;					/* a customer inserted after our snapshot */

	if (n >= sc->ocap)
	{
		int64		c2 = sc->ocap;

		ev->orders = grow(ev->orders, &c2, n + 1, sizeof(EcpOrder));
		c2 = sc->ocap;
		ev->obits = grow(ev->obits, &c2, n + 1, sizeof(uint64) * fw);
		sc->ocap = c2;
	}
	o = &ev->orders[n];
	o->order_id = DatumGetInt64(COLUMN(c->id));
	o->ordered_at = at;
	o->cust = cidx;
	o->day = ecp_local_date(ev->cal, at);
	o->items = 0;
	o->pad = 0;
	total = ecp_numeric_to_cents(COLUMN(c->total));
	refunded = ecp_numeric_to_cents(COLUMN(c->refunded));
	if (pg_sub_s64_overflow(total, refunded, &o->net))
		ereport(ERROR,
				(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
				 errmsg("net amount of order %lld out of range", (long long) o->order_id)));

	ok = ev->obits + n * fw;
	memcpy(ok, sc->all, sizeof(uint64) * fw);
	if (sc->any_text)
	{
		MemoryContext old = MemoryContextSwitchTo(sc->scratch);

		for (int t = 0; t < ECP_FIRST_PRODUCT_FIELD; t++)
		{
			if (sc->dict[t] == NULL)
				continue;
			match_text_field(sc, t, COLUMN(c->text[t]), COLUMN_NULL(c->text[t]),
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
				ArrayType  *codes = DatumGetArrayTypeP(COLUMN(c->codes));

				has_codes = ArrayGetNItems(ARR_NDIM(codes), ARR_DIMS(codes)) > 0;
				MemoryContextSwitchTo(old);
				MemoryContextReset(sc->scratch);
			}
			pass = has_codes == flt->has_discount;
		}
		if (pass && flt->subscription >= 0)
			pass = DatumGetBool(COLUMN(c->sub)) == (flt->subscription == 1);
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

/* pass 3: every uncancelled order, from the heap */
static void
scan_orders(EvalScan *sc)
{
	Relation	rel = open_input("orders");
	TupleDesc	desc = RelationGetDescr(rel);
	OrderCols	cols;
	TableScanDesc scan;
	Datum	   *values = palloc(sizeof(Datum) * desc->natts);
	bool	   *nulls = palloc(sizeof(bool) * desc->natts);
	int64		rows = 0;

	order_cols(desc, &cols);
	scan = table_beginscan(rel, GetActiveSnapshot(), 0, NULL);
	while (next_row(scan, desc, values, nulls))
	{
		if ((++rows & 0x3FFF) == 0)
			CHECK_FOR_INTERRUPTS();
		order_row(sc, &cols, values, nulls);
	}
	table_endscan(scan);
	table_close(rel, AccessShareLock);
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

/* the columns of ecpower.order_lines the evaluator reads */
typedef struct LineCols
{
	AttrNumber	order;
	AttrNumber	product;
	AttrNumber	sku;
	AttrNumber	qty;
} LineCols;

/* attribute numbers of the line columns in a row descriptor */
static void
line_cols(TupleDesc desc, LineCols *c)
{
	c->order = ecp_column_attnum(desc, "order_id");
	c->product = ecp_column_attnum(desc, "product_id");
	c->sku = ecp_column_attnum(desc, "sku");
	c->qty = ecp_column_attnum(desc, "quantity");
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

/* one order line: OR its product bits into its order, add its quantity */
static void
line_row(EvalScan *sc, OrderIndex *ix, const LineCols *c, Datum *values, bool *nulls)
{
	EcpEval    *ev = sc->ev;
	int			fw = ev->fwords;
	int32		idx = order_lookup(ix, DatumGetInt64(COLUMN(c->order)));

	if (idx < 0)
		return;					/* not a wanted order */
	if (ev->prog->needs_items)
	{
		int32		q = DatumGetInt32(COLUMN(c->qty));

		if (pg_add_s32_overflow(ev->orders[idx].items, q, &ev->orders[idx].items))
			ereport(ERROR,
					(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
					 errmsg("item count of order %lld out of range",
							(long long) ev->orders[idx].order_id)));
	}
	if (sc->any_product)
	{
		IdEntry    *pe = (COLUMN_NULL(c->product) || sc->prodhash == NULL) ? NULL :
			ecp_idhash_lookup(sc->prodhash, DatumGetInt64(COLUMN(c->product)));
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

			match_text_field(sc, ECP_TF_SKU, COLUMN(c->sku), COLUMN_NULL(c->sku),
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

/* pass 4: order lines, from the heap */
static void
scan_lines(EvalScan *sc, OrderIndex *ix)
{
	Relation	rel = open_input("order_lines");
	TupleDesc	desc = RelationGetDescr(rel);
	LineCols	cols;
	TableScanDesc scan;
	Datum	   *values = palloc(sizeof(Datum) * desc->natts);
	bool	   *nulls = palloc(sizeof(bool) * desc->natts);
	int64		rows = 0;

	line_cols(desc, &cols);
	scan = table_beginscan(rel, GetActiveSnapshot(), 0, NULL);
	while (next_row(scan, desc, values, nulls))
	{
		if ((++rows & 0x3FFF) == 0)
			CHECK_FOR_INTERRUPTS();
		line_row(sc, ix, &cols, values, nulls);
	}
	table_endscan(scan);
	table_close(rel, AccessShareLock);
}

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
		case ECP_N_PREDICTED:	/* predictions (issue 9) */
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

/* the order cache being loaded into ev->orders */
typedef struct CacheLoad
{
	EvalScan   *sc;
	int32	   *cust_of_ckey;	/* ckey -> customer index, -1 for none */
	int32		nckeys;
	ecp_idhash_hash *stale;		/* orders to skip (re-read from the heap) */
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

		ev->orders = grow(ev->orders, &c2, k + n, sizeof(EcpOrder));
		c2 = cl->sc->ocap;
		ev->obits = grow(ev->obits, &c2, k + n, sizeof(uint64) * fw);
		cl->sc->ocap = c2;
	}
	for (int32 i = 0; i < n; i++)
	{
		EcpOrder   *o = &ev->orders[k];

		memcpy(o, orders + (Size) i * sizeof(EcpOrder), sizeof(EcpOrder));
		if (cl->stale != NULL && ecp_idhash_lookup(cl->stale, o->order_id) != NULL)
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
	Oid			argtypes[1] = {INT8ARRAYOID};
	Datum		args[1];
	OrderCols	ocols;

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
	if (st->nstale > 0)
	{
		cl.stale = ecp_idhash_create(CurrentMemoryContext, Max(1024, st->nstale * 2), NULL);
		for (int64 i = 0; i < st->nstale; i++)
		{
			bool		found;

			ecp_idhash_insert(cl.stale, st->stale[i], &found);
		}
	}
	ecp_cache_read(ev->fwords, cache_sink, &cl);
	pfree(cl.cust_of_ckey);
	if (cl.stale)
		ecp_idhash_destroy(cl.stale);
	if (st->nstale == 0)
		return;

	/* the stale orders, as they are now */
	from = ev->norders;
	args[0] = ecp_id_array(st->stale, st->nstale);
	SPI_connect();
	if (SPI_execute_with_args("SELECT o.* FROM ecpower.orders AS o"
							  " WHERE o.order_id OPERATOR(pg_catalog.=) ANY ($1)",
							  1, argtypes, args, NULL, true, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not read ecpower.orders");
	if (SPI_processed > 0)
	{
		TupleDesc	desc = SPI_tuptable->tupdesc;
		Datum	   *values = palloc(sizeof(Datum) * desc->natts);
		bool	   *nulls = palloc(sizeof(bool) * desc->natts);

		order_cols(desc, &ocols);
		for (uint64 i = 0; i < SPI_processed; i++)
		{
			if ((i & 0x3FFF) == 0)
				CHECK_FOR_INTERRUPTS();
			heap_deform_tuple(SPI_tuptable->vals[i], desc, values, nulls);
			order_row(sc, &ocols, values, nulls);
		}
	}
	SPI_freetuptable(SPI_tuptable);

	/* and their lines */
	if (ev->prog->needs_lines && ev->norders > from)
	{
		OrderIndex	ix;
		LineCols	lcols;

		lines_begin(sc, from);
		order_index_build(ev, &ix, from);
		if (SPI_execute_with_args("SELECT l.* FROM ecpower.order_lines AS l"
								  " WHERE l.order_id OPERATOR(pg_catalog.=) ANY ($1)",
								  1, argtypes, args, NULL, true, 0) != SPI_OK_SELECT)
			elog(ERROR, "could not read ecpower.order_lines");
		if (SPI_processed > 0)
		{
			TupleDesc	desc = SPI_tuptable->tupdesc;
			Datum	   *values = palloc(sizeof(Datum) * desc->natts);
			bool	   *nulls = palloc(sizeof(bool) * desc->natts);

			line_cols(desc, &lcols);
			for (uint64 i = 0; i < SPI_processed; i++)
			{
				if ((i & 0x3FFF) == 0)
					CHECK_FOR_INTERRUPTS();
				heap_deform_tuple(SPI_tuptable->vals[i], desc, values, nulls);
				line_row(sc, &ix, &lcols, values, nulls);
			}
		}
		lines_end(sc);
		pfree(ix.ids);
		pfree(ix.idx);
	}
	SPI_finish();
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

	sc->ocap = 4096;
	{
		Relation	rel = open_input("orders");

		sc->ocap = expected_rows(rel, 4096);
		table_close(rel, AccessShareLock);
	}
	ev->orders = palloc_extended(sizeof(EcpOrder) * sc->ocap, MCXT_ALLOC_HUGE);
	ev->obits = palloc_extended(sizeof(uint64) * ev->fwords * sc->ocap, MCXT_ALLOC_HUGE);
	scan_orders(sc);
	ecp_phase_done(t, "evaluation", "orders");
	if (ev->prog->needs_lines)
	{
		OrderIndex	ix;

		lines_begin(sc, 0);
		order_index_build(ev, &ix, 0);
		scan_lines(sc, &ix);
		lines_end(sc);
		pfree(ix.ids);
		pfree(ix.idx);
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
	build_dicts(&sc);

	scan_customers(&sc);
	index_customers(&sc);
	ecp_phase_done(&t, "evaluation", "customers");
	if (prog->needs_predicted)	/* predictions (issue 9) */
	{
		load_predicted(&sc);
		ecp_phase_done(&t, "evaluation", "predictions");
	}
	if (sc.any_prodattr)
		scan_products(&sc);
	load_orders(&sc, use_cache, &t);
	finalize_orders(&sc);
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
		ev->members[r] = ecp_bitmap_create();
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
		ecp_eval_customer(ev, c, n, obuf, bbuf, res);
		for (int r = 0; r < prog->nroots; r++)
		{
			if (res[r])
			{
				roaring_bitmap_add(ev->members[r], (uint32) ev->ckey[c]);
				ev->counts[r]++;
			}
		}
		if (collect_ids && last >= 0 && res[last])
		{
			ev->ids = grow(ev->ids, &idcap, ev->nids + 1, sizeof(int64));
			ev->ids[ev->nids++] = ev->cust_id[c];
		}
	}
	for (int r = 0; r < prog->nroots; r++)
		roaring_bitmap_run_optimize(ev->members[r]);
	ecp_phase_done(&t, "evaluation", "evaluation");
	elog(DEBUG1, "ecpower evaluation: %d customers, " INT64_FORMAT " counted orders, "
		 "%d roots, %d filters, %d customer conditions, %zu kB of memory",
		 ev->ncust, ev->norders, prog->nroots, prog->nfilters, prog->ncust,
		 MemoryContextMemAllocated(CurrentMemoryContext, true) / 1024);
	if (collect_ids)
		qsort(ev->ids, ev->nids, sizeof(int64), cmp_int64);
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
