/*-------------------------------------------------------------------------
 *
 * customers.c
 *	  Customer keys: the dense internal key (customers.ckey) of every
 *	  customer, and the way back from keys to customer ids.
 *
 * Bitmaps of members, order caches and per-customer arrays are indexed by
 * ckey.  A customer id keeps its key for good: the registry
 * ecpower.customer_keys (src/sql/32_keys.sql) assigns it on first sight and
 * the trigger here copies it into every customers row, so stored history
 * keeps meaning the same customers across reloads (docs/keys-and-history.md).
 * ecp_keymap_scan() reads every customer's pair once (ecp_keymap_load() in
 * keystore.c usually reads the map stored by the last refresh instead);
 * ecp_keymap_ckey()
 * looks a customer id up through a hash table built on first use.
 *
 * src/timeline/customers.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/heapam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "access/tableam.h"
#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "commands/trigger.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "parser/parse_func.h"
#include "utils/array.h"
#include "utils/fmgroids.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"

#include "core/arrays.h"
#include "core/ecpower.h"
#include "timeline/customers.h"

PG_FUNCTION_INFO_V1(customer_key_trigger);

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
 * ecp_keymap_scan
 *		customer_id <-> ckey for every customer, in CurrentMemoryContext.
 *		One sequential scan of ecpower.customers (ecp_keymap_load() reads
 *		the map the last refresh stored instead, when it can).
 */
EcpKeyMap *
ecp_keymap_scan(void)
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
					 errhint("Keys come from ecpower.customer_keys; a load with triggers disabled must copy them from there.")));
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

/*
 * registered_key
 *		The key registered for a customer id, or -1.  Reads the registry's
 *		primary key index with the latest snapshot, which sees every
 *		committed registration and this transaction's own (registrations
 *		are never deleted, so any row found is the answer).
 */
static int32
registered_key(int64 customer_id)
{
	Relation	keys = table_open(ecp_relid("customer_keys"), AccessShareLock);
	Relation	index = index_open(RelationGetPrimaryKeyIndex(keys), AccessShareLock);
	AttrNumber	att_ckey = ecp_column_attnum(RelationGetDescr(keys), "ckey");
	Snapshot	snapshot = RegisterSnapshot(GetLatestSnapshot());
	TupleTableSlot *slot = table_slot_create(keys, NULL);
	IndexScanDesc scan;
	ScanKeyData skey;
	int32		result = -1;

	ScanKeyInit(&skey, 1, BTEqualStrategyNumber, F_INT8EQ, Int64GetDatum(customer_id));
	scan = index_beginscan(keys, index, snapshot, 1, 0);
	index_rescan(scan, &skey, 1, NULL, 0);
	if (index_getnext_slot(scan, ForwardScanDirection, slot))
	{
		bool		isnull;
		Datum		d = slot_getattr(slot, att_ckey, &isnull);

		if (!isnull)
			result = DatumGetInt32(d);
	}
	index_endscan(scan);
	ExecDropSingleTupleTableSlot(slot);
	UnregisterSnapshot(snapshot);
	index_close(index, AccessShareLock);
	table_close(keys, AccessShareLock);
	return result;
}

/*
 * _customer_key() RETURNS trigger
 *		BEFORE INSERT OR UPDATE OF customer_id, ckey on ecpower.customers:
 *		writes the customer id's registered key into ckey, whatever the row
 *		held.  The common case, an id seen before (every upsert and
 *		reload), is one index probe here; a new id is registered by
 *		ecpower._customer_key_register() (src/sql/32_keys.sql), called
 *		directly, which also keeps the key space dense.
 */
Datum
customer_key_trigger(PG_FUNCTION_ARGS)
{
	TriggerData *trigdata = (TriggerData *) fcinfo->context;
	HeapTuple	tuple;
	TupleDesc	desc;
	AttrNumber	att_id;
	int			att_ckey;		/* an int: heap_modify_tuple_by_cols() wants one */
	Datum		id;
	Datum		ckey;
	bool		isnull;
	bool		ckey_null = false;
	int32		key;

	if (!CALLED_AS_TRIGGER(fcinfo) ||
		!TRIGGER_FIRED_BEFORE(trigdata->tg_event) ||
		!TRIGGER_FIRED_FOR_ROW(trigdata->tg_event) ||
		TRIGGER_FIRED_BY_DELETE(trigdata->tg_event) ||
		TRIGGER_FIRED_BY_TRUNCATE(trigdata->tg_event))
		elog(ERROR, "_customer_key() must be a BEFORE INSERT OR UPDATE row trigger");

	tuple = TRIGGER_FIRED_BY_UPDATE(trigdata->tg_event) ?
		trigdata->tg_newtuple : trigdata->tg_trigtuple;
	desc = RelationGetDescr(trigdata->tg_relation);
	att_id = ecp_column_attnum(desc, "customer_id");
	att_ckey = ecp_column_attnum(desc, "ckey");

	/* a NULL id is left to the NOT NULL constraint */
	id = heap_getattr(tuple, att_id, desc, &isnull);
	if (isnull)
		return PointerGetDatum(tuple);

	/*
	 * In replica mode (a restore, a replica applying its origin's rows) a
	 * row that carries a key keeps it: the registry it came from is loaded
	 * or replicated too.  A row without one, as a sync tool writes it, is
	 * given its key as anywhere else.
	 */
	if (SessionReplicationRole == SESSION_REPLICATION_ROLE_REPLICA)
	{
		(void) heap_getattr(tuple, att_ckey, desc, &isnull);
		if (!isnull)
			return PointerGetDatum(tuple);
	}

	key = registered_key(DatumGetInt64(id));
	if (key < 0)
	{
		List	   *name = list_make2(makeString("ecpower"),
									  makeString("_customer_key_register"));
		Oid			argtypes[1] = {INT8OID};
		Oid			fn = LookupFuncName(name, 1, argtypes, false);

		key = DatumGetInt32(OidFunctionCall1(fn, id));
	}

	ckey = heap_getattr(tuple, att_ckey, desc, &isnull);
	if (!isnull && DatumGetInt32(ckey) == key)
		return PointerGetDatum(tuple);
	ckey = Int32GetDatum(key);
	return PointerGetDatum(heap_modify_tuple_by_cols(tuple, desc, 1, &att_ckey,
													 &ckey, &ckey_null));
}

/*
 * ecp_register_customer_keys
 *		Registers the customer ids first_id .. first_id + n - 1 in
 *		ecpower.customer_keys (ids seen before keep their key, new ones take
 *		the next keys in id order) and returns their keys, palloc'd, indexed
 *		by id - first_id.  For loaders that write ecpower.customers without
 *		its triggers.  When the key sequence has run ahead of the registry,
 *		it is first set back as the customers_key trigger does
 *		(src/sql/32_keys.sql), so that the new keys stay dense.
 */
int32 *
ecp_register_customer_keys(int64 first_id, int32 n)
{
	MemoryContext caller = CurrentMemoryContext;
	Oid			argtypes[2] = {INT8OID, INT8OID};
	Datum		values[2];
	int32	   *keys;
	bool		isnull;

	Assert(n > 0);
	keys = palloc_extended(sizeof(int32) * n, MCXT_ALLOC_HUGE);
	values[0] = Int64GetDatum(first_id);
	values[1] = Int64GetDatum(first_id + n - 1);
	SPI_connect();
	if (SPI_execute("SELECT pg_catalog.pg_sequence_last_value('ecpower.customer_key_seq'::pg_catalog.regclass)"
					"  OPERATOR(pg_catalog.>) (m OPERATOR(pg_catalog.+) 1"
					"    OPERATOR(pg_catalog.+) GREATEST(1024, m OPERATOR(pg_catalog./) 8))"
					"  FROM (SELECT COALESCE(pg_catalog.max(k.ckey), 0)::int8 AS m"
					"          FROM ecpower.customer_keys AS k) AS s",
					true, 1) != SPI_OK_SELECT || SPI_processed != 1)
		elog(ERROR, "could not read the customer key sequence");
	if (DatumGetBool(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull)) &&
		!isnull)
	{
		if (SPI_execute("LOCK TABLE ecpower.customer_keys IN SHARE ROW EXCLUSIVE MODE",
						false, 0) != SPI_OK_UTILITY ||
			SPI_execute("SELECT pg_catalog.setval('ecpower.customer_key_seq'::pg_catalog.regclass,"
						"  COALESCE(pg_catalog.max(k.ckey), 0)::int8 OPERATOR(pg_catalog.+) 1, false)"
						"  FROM ecpower.customer_keys AS k",
						false, 0) != SPI_OK_SELECT)
			elog(ERROR, "could not set back the customer key sequence");
	}
	if (SPI_execute_with_args("INSERT INTO ecpower.customer_keys AS k (customer_id, ckey)"
							  " SELECT i, pg_catalog.nextval('ecpower.customer_key_seq'::pg_catalog.regclass)"
							  "   FROM pg_catalog.generate_series($1, $2) AS i"
							  "  WHERE NOT EXISTS (SELECT FROM ecpower.customer_keys AS o"
							  "                     WHERE o.customer_id OPERATOR(pg_catalog.=) i)"
							  "  ORDER BY i"
							  " ON CONFLICT (customer_id) DO NOTHING",
							  2, argtypes, values, NULL, false, 0) != SPI_OK_INSERT)
		elog(ERROR, "could not register customer keys");
	if (SPI_execute_with_args("SELECT k.ckey FROM ecpower.customer_keys AS k"
							  " WHERE k.customer_id OPERATOR(pg_catalog.>=) $1"
							  "   AND k.customer_id OPERATOR(pg_catalog.<=) $2"
							  " ORDER BY k.customer_id",
							  2, argtypes, values, NULL, false, 0) != SPI_OK_SELECT ||
		SPI_processed != (uint64) n)
		elog(ERROR, "could not read registered customer keys");
	for (int32 i = 0; i < n; i++)
	{
		keys[i] = DatumGetInt32(SPI_getbinval(SPI_tuptable->vals[i],
											  SPI_tuptable->tupdesc, 1, &isnull));
	}
	SPI_finish();
	MemoryContextSwitchTo(caller);
	return keys;
}

/*
 * ecp_largest_customer_key
 *		The largest registered customer key (0 when none): no stored bitmap
 *		can hold a larger one.  Registered keys are never deleted, so this
 *		only grows.
 */
int32
ecp_largest_customer_key(void)
{
	int32		result = 0;
	bool		isnull;

	SPI_connect();
	if (SPI_execute("SELECT pg_catalog.max(k.ckey) FROM ecpower.customer_keys AS k",
					true, 1) != SPI_OK_SELECT || SPI_processed != 1)
		elog(ERROR, "could not read ecpower.customer_keys");
	result = DatumGetInt32(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	if (isnull)
		result = 0;
	SPI_finish();
	return result;
}

/*
 * ecp_check_member_keys
 *		Raises data_corrupted, naming 'source', when a stored bitmap holds a
 *		key above the largest registered one: readers size arrays by the
 *		largest member, so such a key is refused before any is sized.
 */
void
ecp_check_member_keys(roaring_bitmap_t *members, const char *source)
{
	uint32		largest;
	int32		registered;

	if (roaring_bitmap_is_empty(members))
		return;
	largest = roaring_bitmap_maximum(members);
	registered = ecp_largest_customer_key();
	if (largest > (uint32) registered)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("invalid bitmap in %s", source),
				 errdetail("It holds customer key %u; the largest registered key is %d.",
						   largest, registered)));
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
	qsort(ids, n, sizeof(int64), ecp_cmp_int64);
	*count = n;
	return ids;
}
