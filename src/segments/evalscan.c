/*-------------------------------------------------------------------------
 *
 * evalscan.c
 *	  The first passes of an evaluation: customers and products, and the
 *	  helpers every pass shares (text dictionaries, scans, periods).
 *
 *	1. customers: index every customer (customer_id -> index via simplehash),
 *	   and evaluate customer attribute conditions into per-customer bits;
 *	   the predicted scores of customers when a definition uses them;
 *	2. products (only with product keys): per product, which filters its
 *	   attributes satisfy.
 *
 * Text lists match case-insensitively and exactly: every value of every
 * list is lower-cased at compile time and entered in a per-field hash
 * dictionary mapping the value to the set of filters (or customer
 * conditions) listing it; a row's value is lower-cased once and looked up
 * once, whatever the number of segments.
 *
 * src/segments/evalscan.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/heapam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "access/tableam.h"
#include "catalog/pg_collation.h"
#include "catalog/pg_type.h"
#include "common/hashfn.h"
#include "common/int.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/formatting.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"

#include "core/arrays.h"
#include "core/ecpower.h"
#include "predict/predict.h"
#include "segments/evalscan.h"
#include "segments/membership.h"
#include "timeline/ordercache.h"

/* a dictionary for up to nvalues strings, each mapped to nwords words of bits */
Dict *
evs_dict_create(int nvalues, int nwords)
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
void
evs_dict_add(Dict *d, const char *s, int len, int bit)
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
const uint64 *
evs_dict_get(const Dict *d, const char *s, int len)
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
void
evs_dict_or_text(const Dict *d, Datum value, uint64 *acc)
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
	set = evs_dict_get(d, key, len);
	if (set)
	{
		for (int w = 0; w < d->nwords; w++)
			acc[w] |= set[w];
	}
}

/* OR the sets of every element of a text[] datum */
void
evs_dict_or_array(const Dict *d, Datum value, uint64 *acc)
{
	ArrayType  *arr = DatumGetArrayTypeP(value);
	Datum	   *elems;
	bool	   *nulls;
	int			n;

	deconstruct_array(arr, TEXTOID, -1, false, TYPALIGN_INT, &elems, &nulls, &n);
	for (int i = 0; i < n; i++)
	{
		if (!nulls[i])
			evs_dict_or_text(d, elems[i], acc);
	}
}


/* an ecpower table opened for a scan, with the caller's SELECT right */
Relation
evs_open_input(const char *name)
{
	Oid			relid = ecp_relid(name);
	AclResult	aclresult;

	aclresult = pg_class_aclcheck(relid, GetUserId(), ACL_SELECT);
	if (aclresult != ACLCHECK_OK)
		aclcheck_error(aclresult, OBJECT_TABLE, get_rel_name(relid));
	return table_open(relid, AccessShareLock);
}

/*
 * next_row
 *		Fetch the next tuple of a scan and deform all its columns at once
 *		(heap_getattr() per column would walk the tuple again for every
 *		column after the first variable-length one).
 */
bool
evs_next_row(TableScanDesc scan, TupleDesc desc, Datum *values, bool *nulls)
{
	HeapTuple	tup = heap_getnext(scan, ForwardScanDirection);

	if (tup == NULL)
		return false;
	heap_deform_tuple(tup, desc, values, nulls);
	return true;
}

/* initial capacity for a table's rows: the planner's estimate, or 'dflt' */
int64
evs_expected_rows(Relation rel, int64 dflt)
{
	double		est = rel->rd_rel->reltuples;

	if (est <= 0 || est > 1e9)
		return dflt;
	return Max(dflt, (int64) (est * 1.05) + 16);
}

/* a PERIOD as local dates [lo, hi], relative periods counted back from as_of_date */
Bound
evs_bind_period(const EcpPeriod *p, DateADT as_of_date)
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
		sc->dict[t] = evs_dict_create(nvals, fw);
		for (int f = 0; f < prog->nfilters; f++)
		{
			EcpTextList *l = &prog->filters[f].text[t];

			if (!(prog->filters[f].textkeys & ((uint32) 1 << t)))
				continue;
			bit_set(sc->uses[t], f);
			for (int i = 0; i < l->n; i++)
				evs_dict_add(sc->dict[t], l->vals[i], l->lens[i], f);
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
			sc->fperiod[f] = evs_bind_period(&flt->period, ev->as_of_date);
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
		sc->cdict[t] = evs_dict_create(nvals, ev->cwords);
		for (int c = 0; c < prog->ncust; c++)
		{
			EcpTextList *l = &prog->cust[c].list;

			if (prog->cust[c].field != (EcpCustField) t)
				continue;
			for (int i = 0; i < l->n; i++)
				evs_dict_add(sc->cdict[t], l->vals[i], l->lens[i], c);
		}
	}
	for (int c = 0; c < prog->ncust; c++)
	{
		if (prog->cust[c].field == ECP_CF_CREATED)
			sc->cperiod[c] = evs_bind_period(&prog->cust[c].period, ev->as_of_date);
	}
}

/* pass 1: customers */
static void
scan_customers(EvalScan *sc)
{
	EcpEval    *ev = sc->ev;
	EcpProgram *prog = ev->prog;
	Relation	rel = evs_open_input("customers");
	TupleDesc	desc = RelationGetDescr(rel);
	AttrNumber	a_id = ecp_column_attnum(RelationGetDescr(rel), "customer_id");
	AttrNumber	a_ckey = ecp_column_attnum(RelationGetDescr(rel), "ckey");
	AttrNumber	a_text[ECP_NCUST_TEXT_FIELDS];
	AttrNumber	a_accepts = ecp_column_attnum(RelationGetDescr(rel), "accepts_marketing");
	AttrNumber	a_created = ecp_column_attnum(RelationGetDescr(rel), "created_at");
	TableScanDesc scan;
	Datum	   *values = palloc(sizeof(Datum) * desc->natts);
	bool	   *nulls = palloc(sizeof(bool) * desc->natts);
	int64		cap = evs_expected_rows(rel, 1024);
	int64		n = 0;
	int			cw = ev->cwords;
	uint64	   *acc = palloc(sizeof(uint64) * cw);

	a_text[ECP_CF_TAG] = ecp_column_attnum(RelationGetDescr(rel), "tags");
	a_text[ECP_CF_COUNTRY] = ecp_column_attnum(RelationGetDescr(rel), "country");
	a_text[ECP_CF_PROVINCE] = ecp_column_attnum(RelationGetDescr(rel), "province");
	a_text[ECP_CF_CITY] = ecp_column_attnum(RelationGetDescr(rel), "city");
	a_text[ECP_CF_EMAIL_DOMAIN] = ecp_column_attnum(RelationGetDescr(rel), "email");

	ev->cust_id = palloc_extended(sizeof(int64) * cap, MCXT_ALLOC_HUGE);
	ev->ckey = palloc_extended(sizeof(int32) * cap, MCXT_ALLOC_HUGE);
	ev->cbits = palloc_extended(sizeof(uint64) * cw * cap, MCXT_ALLOC_HUGE);

	scan = table_beginscan(rel, GetActiveSnapshot(), 0, NULL);
	while (evs_next_row(scan, desc, values, nulls))
	{
		MemoryContext old;

		if ((n & 0x3FFF) == 0)
			CHECK_FOR_INTERRUPTS();
		if (n >= cap)
		{
			int64		c2 = cap;

			ev->cust_id = ecp_grow_array(ev->cust_id, &c2, n + 1, sizeof(int64), false);
			c2 = cap;
			ev->ckey = ecp_grow_array(ev->ckey, &c2, n + 1, sizeof(int32), false);
			c2 = cap;
			ev->cbits = ecp_grow_array(ev->cbits, &c2, n + 1, sizeof(uint64) * cw, false);
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
					evs_dict_or_array(sc->cdict[t], d, acc);
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
						evs_dict_or_text(sc->cdict[t],
									 PointerGetDatum(cstring_to_text_with_len(s + at + 1, len - at - 1)),
									 acc);
				}
				else
					evs_dict_or_text(sc->cdict[t], d, acc);
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
void
evs_match_text_field(EvalScan *sc, int t, Datum d, bool isnull, bool is_array,
					 uint64 *ok, uint64 *acc)
{
	int			fw = sc->ev->fwords;

	memset(acc, 0, sizeof(uint64) * fw);
	if (!isnull)
	{
		if (is_array)
			evs_dict_or_array(sc->dict[t], d, acc);
		else
			evs_dict_or_text(sc->dict[t], d, acc);
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


/*
 * predictions: the stored scores of the last fit_predictions(),
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
	Relation	rel = evs_open_input("products");
	TupleDesc	desc = RelationGetDescr(rel);
	AttrNumber	a_id = ecp_column_attnum(RelationGetDescr(rel), "product_id");
	AttrNumber	a_attr[ECP_NTEXT_FIELDS];
	TableScanDesc scan;
	Datum	   *values = palloc(sizeof(Datum) * desc->natts);
	bool	   *nulls = palloc(sizeof(bool) * desc->natts);
	int64		cap = 256;
	int64		n = 0;
	int			fw = ev->fwords;
	uint64	   *acc = palloc(sizeof(uint64) * fw);

	memset(a_attr, 0, sizeof(a_attr));
	a_attr[ECP_TF_PRODUCT_TYPE] = ecp_column_attnum(RelationGetDescr(rel), "product_type");
	a_attr[ECP_TF_PRODUCT_TAG] = ecp_column_attnum(RelationGetDescr(rel), "tags");
	a_attr[ECP_TF_VENDOR] = ecp_column_attnum(RelationGetDescr(rel), "vendor");
	a_attr[ECP_TF_PRODUCT_TITLE] = ecp_column_attnum(RelationGetDescr(rel), "title");

	sc->pbits = palloc_extended(sizeof(uint64) * fw * cap, MCXT_ALLOC_HUGE);
	sc->prodhash = ecp_idhash_create(CurrentMemoryContext, 1024, NULL);
	scan = table_beginscan(rel, GetActiveSnapshot(), 0, NULL);
	while (evs_next_row(scan, desc, values, nulls))
	{
		bool		found;
		int64		id;
		IdEntry    *e;
		uint64	   *ok;
		MemoryContext old;

		if ((n & 0x3FFF) == 0)
			CHECK_FOR_INTERRUPTS();
		sc->pbits = ecp_grow_array(sc->pbits, &cap, n + 1, sizeof(uint64) * fw, false);
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
			evs_match_text_field(sc, t, COLUMN(a_attr[t]), COLUMN_NULL(a_attr[t]),
							 t == ECP_TF_PRODUCT_TAG, ok, acc);
		}
		MemoryContextSwitchTo(old);
		MemoryContextReset(sc->scratch);
		for (int f = 0; f < prog->nfilters; f++)
		{
			EcpFilter  *flt = &prog->filters[f];

			if (flt->nproduct_ids > 0 &&
				bsearch(&id, flt->product_ids, flt->nproduct_ids, sizeof(int64),
						ecp_cmp_int64) == NULL)
				bit_clear(ok, f);
		}
		n++;
	}
	table_endscan(scan);
	table_close(rel, AccessShareLock);
}

/*
 * evs_load_customers
 *		Passes 1 and 2: the program's dictionaries, every customer with its
 *		condition bits (and predictions when used), and the products when a
 *		filter names a product attribute.
 */
void
evs_load_customers(EvalScan *sc, instr_time *t)
{
	build_dicts(sc);
	scan_customers(sc);
	index_customers(sc);
	ecp_phase_done(t, "evaluation", "customers");
	if (sc->ev->prog->needs_predicted)
	{
		load_predicted(sc);
		ecp_phase_done(t, "evaluation", "predictions");
	}
	if (sc->any_prodattr)
		scan_products(sc);
}
