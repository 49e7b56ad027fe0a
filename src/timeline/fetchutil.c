/*-------------------------------------------------------------------------
 *
 * fetchutil.c
 *	  Building blocks of the report source (see fetchutil.h).
 *
 * src/timeline/fetchutil.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/memutils.h"

#include "timeline/fetchutil.h"

/* append (order, value) to a pair list, growing it by doubling */
void
ecp_pairs_add(PairList *pl, int32 order, int32 value)
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
void
ecp_add_text_values(EcpValueDict *dict, PairList *pl, int32 order,
				Datum value, bool is_array)
{
	if (!is_array)
	{
		text	   *t = (text *) PG_DETOAST_DATUM_PACKED(value);
		int			len = VARSIZE_ANY_EXHDR(t);

		if (len > 0)
			ecp_pairs_add(pl, order, ecp_dict_text(dict, VARDATA_ANY(t), len));
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
				ecp_add_text_values(dict, pl, order, elems[i], false);
		}
		pfree(elems);
		pfree(nulls);
	}
}

/* build an IdMap of n (id, value) pairs with distinct ids */
void
ecp_idmap_build(IdMap *m, const int64 *ids, const int32 *values, int64 n)
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
	/* a filter of 8 bits per id, so that a miss rarely touches the table */
	m->fmask = 1 << 16;
	while (m->fmask < (uint64) n * 8 && m->fmask < (UINT64CONST(1) << 31))
		m->fmask *= 2;
	m->filter = palloc_extended(m->fmask / 8, MCXT_ALLOC_HUGE | MCXT_ALLOC_ZERO);
	m->fmask -= 1;
	for (int64 i = 0; i < n; i++)
	{
		uint32		h = ecp_hash_int64(ids[i]);
		uint32		f = ((h >> 13) | (h << 19)) & m->fmask;
		uint32		j = h & (m->nslots - 1);

		m->filter[f / 64] |= UINT64CONST(1) << (f % 64);

		while (m->slots[j].value >= 0)
			j = (j + 1) & (m->nslots - 1);
		m->slots[j].id = ids[i];
		m->slots[j].value = values[i];
	}
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
void
ecp_sort_report_orders(EcpReportOrder *o, int64 n)
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

/* the products' values of a product attribute dimension */
ProductValues *
ecp_load_product_values(const char *column, bool is_array, EcpValueDict *dict)
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
			 column, column);
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

		ecp_add_text_values(dict, &pl, idx, val, is_array);
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
