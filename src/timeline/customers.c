/*-------------------------------------------------------------------------
 *
 * customers.c
 *	  Customer keys: the dense internal key (customers.ckey) of every
 *	  customer, and the way back from keys to customer ids.
 *
 * Bitmaps of members, order caches and per-customer arrays are indexed by
 * ckey.  ecp_keymap_load() reads every customer's pair once;
 * ecp_keymap_ckey() looks a customer id up through a hash table built on
 * first use.
 *
 * src/timeline/customers.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/heapam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "access/tableam.h"
#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"

#include "core/ecpower.h"
#include "timeline/customers.h"

/* customer_id -> ckey hash table */
typedef struct KeyEntry
{
	int64		customer_id;
	int32		ckey;
	char		status;
} KeyEntry;

#define SH_PREFIX ecp_keyhash
#define SH_ELEMENT_TYPE KeyEntry
#define SH_KEY_TYPE int64
#define SH_KEY customer_id
#define SH_HASH_KEY(tb, key) ecp_hash_int64(key)
#define SH_EQUAL(tb, a, b) ((a) == (b))
#define SH_SCOPE static inline
#define SH_DEFINE
#define SH_DECLARE
#include "lib/simplehash.h"

/*
 * ecp_keymap_load
 *		customer_id <-> ckey for every customer, in CurrentMemoryContext.
 *		One sequential scan of ecpower.customers.
 */
EcpKeyMap *
ecp_keymap_load(void)
{
	EcpKeyMap  *map = palloc0(sizeof(EcpKeyMap));
	Relation	rel;
	TupleDesc	desc;
	AttrNumber	att_id;
	AttrNumber	att_ckey;
	TableScanDesc scan;
	HeapTuple	tup;
	int32		cap = 1024;
	uint64		nrows = 0;

	rel = table_open(ecp_relid("customers"), AccessShareLock);
	desc = RelationGetDescr(rel);
	att_id = ecp_column_attnum(desc, "customer_id");
	att_ckey = ecp_column_attnum(desc, "ckey");

	map->customer_ids = palloc0(sizeof(int64) * cap);
	map->present = palloc0(sizeof(bool) * cap);

	scan = table_beginscan(rel, GetActiveSnapshot(), 0, NULL);
	while ((tup = heap_getnext(scan, ForwardScanDirection)) != NULL)
	{
		bool		isnull;
		int64		id;
		int32		ckey;
		if ((++nrows & 0xFFFF) == 0)
			CHECK_FOR_INTERRUPTS();

		id = DatumGetInt64(heap_getattr(tup, att_id, desc, &isnull));
		ckey = DatumGetInt32(heap_getattr(tup, att_ckey, desc, &isnull));
		if (ckey < 1)
			ereport(ERROR,
					(errcode(ERRCODE_DATA_EXCEPTION),
					 errmsg("customer %lld has an invalid internal key %d",
							(long long) id, ckey),
					 errhint("Do not set ecpower.customers.ckey by hand; let its default assign it.")));
		if (ckey >= cap)
		{
			int32		newcap = cap;

			while (newcap <= ckey)
				newcap = (newcap > PG_INT32_MAX / 2) ? PG_INT32_MAX : newcap * 2;
			if ((Size) newcap * sizeof(int64) > MaxAllocSize)
				map->customer_ids = repalloc_huge(map->customer_ids, sizeof(int64) * newcap);
			else
				map->customer_ids = repalloc(map->customer_ids, sizeof(int64) * newcap);
			map->present = repalloc_huge(map->present, sizeof(bool) * newcap);
			memset(map->customer_ids + cap, 0, sizeof(int64) * (newcap - cap));
			memset(map->present + cap, 0, sizeof(bool) * (newcap - cap));
			cap = newcap;
		}
		map->customer_ids[ckey] = id;
		map->present[ckey] = true;
		map->max_ckey = Max(map->max_ckey, ckey);
		map->ncustomers++;
	}
	table_endscan(scan);
	table_close(rel, AccessShareLock);
	return map;
}

/*
 * ecp_keymap_ckey
 *		ckey of a customer, or -1 when there is no such customer.
 */
int32
ecp_keymap_ckey(EcpKeyMap *map, int64 customer_id)
{
	KeyEntry   *e;

	/* built on first use: readers of the order cache never need it */
	if (map->hash == NULL)
	{
		map->hash = ecp_keyhash_create(GetMemoryChunkContext(map),
									   Max(1024, (uint32) map->ncustomers + 1), NULL);
		for (int32 k = 0; k <= map->max_ckey; k++)
		{
			bool		found;

			if (!map->present[k])
				continue;
			e = ecp_keyhash_insert(map->hash, map->customer_ids[k], &found);
			e->ckey = k;
		}
	}
	e = ecp_keyhash_lookup(map->hash, customer_id);

	return e ? e->ckey : -1;
}

static int
cmp_int64(const void *a, const void *b)
{
	int64		x = *(const int64 *) a;
	int64		y = *(const int64 *) b;

	return (x > y) - (x < y);
}

/*
 * ecp_members_customer_ids
 *		The customer ids of a bitmap's members, ascending, palloc'd.
 *		Small sets are looked up through the ckey index; large ones by one
 *		scan of ecpower.customers.  Keys of deleted customers are skipped.
 */
int64 *
ecp_members_customer_ids(roaring_bitmap_t *members, int *count)
{
	uint64		card = roaring_bitmap_get_cardinality(members);
	int64	   *ids;
	int			n = 0;

	if (card > MaxAllocHugeSize / sizeof(int64))
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("too many members: %llu", (unsigned long long) card)));
	ids = palloc_extended(sizeof(int64) * Max(card, 1), MCXT_ALLOC_HUGE);

	if (card <= 20000)
	{
		MemoryContext caller = CurrentMemoryContext;
		uint32	   *keys = palloc(sizeof(uint32) * Max(card, 1));
		Datum	   *elems = palloc(sizeof(Datum) * Max(card, 1));
		ArrayType  *arr;
		Oid			argtypes[1] = {INT4ARRAYOID};
		Datum		values[1];

		roaring_bitmap_to_uint32_array(members, keys);
		for (uint64 i = 0; i < card; i++)
			elems[i] = Int32GetDatum((int32) keys[i]);
		arr = construct_array(elems, (int) card, INT4OID, 4, true, TYPALIGN_INT);
		values[0] = PointerGetDatum(arr);

		SPI_connect();
		if (SPI_execute_with_args("SELECT customer_id FROM ecpower.customers"
								  " WHERE ckey OPERATOR(pg_catalog.=) ANY ($1)",
								  1, argtypes, values, NULL, true, 0) != SPI_OK_SELECT)
			elog(ERROR, "could not look up segment members");
		for (uint64 i = 0; i < SPI_processed; i++)
		{
			bool		isnull;

			ids[n++] = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[i],
												   SPI_tuptable->tupdesc, 1, &isnull));
		}
		SPI_finish();
		MemoryContextSwitchTo(caller);
	}
	else
	{
		EcpKeyMap  *map = ecp_keymap_load();
		roaring_uint32_iterator_t it;

		roaring_init_iterator(members, &it);
		while (it.has_value)
		{
			if (it.current_value <= (uint32) map->max_ckey && map->present[it.current_value])
				ids[n++] = map->customer_ids[it.current_value];
			roaring_advance_uint32_iterator(&it);
		}
	}
	qsort(ids, n, sizeof(int64), cmp_int64);
	*count = n;
	return ids;
}
