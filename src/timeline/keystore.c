/*-------------------------------------------------------------------------
 *
 * keystore.c
 *	  The timeline's customer keys: every customer's (ckey, customer_id) as
 *	  of the last refresh, kept in checksummed chunks, plus the customers
 *	  written since.
 *
 * Every report needs the customers that exist: which keys are in use, the
 * largest key, and the key of a customer id (for orders changed since the
 * refresh).  Reading them from ecpower.customers costs a scan of the whole
 * table, which at a million customers is most of a small report.  So the
 * refresh stores the map it evaluated with (ecp_keys_store), and the
 * statement triggers on customers (src/sql/46_timeline_keys.sql) log the
 * (customer_id, ckey) of every row inserted or deleted since into
 * ecpower.order_changes, beside the changed orders.  A reader
 * (ecp_keymap_load) takes the stored map and looks each logged customer up
 * again by primary key: the map it gets is exactly the one a scan of
 * ecpower.customers would give.  It falls back to that scan when there is
 * no stored map, when the log asks for one (a TRUNCATE, a change of keys,
 * a statement of more than 20,000 customers, ecpower.reset_order_cache())
 * or when more than 20,000 customers were logged.
 *
 * Layout of ecpower.timeline_keys: chunk 0 is the header (KeysHeader);
 * chunks 1..nchunks hold KEYS_PER_CHUNK keys each, key k in chunk
 * k / KEYS_PER_CHUNK + 1: a presence bitmap, then the customer ids.  Each
 * chunk's CRC-32C covers its number and its bytes after the checksum, so a
 * chunk can be neither damaged nor moved unnoticed; a damaged chunk is
 * refused with XX001, never read as data.
 *
 * src/timeline/keystore.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/heapam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "access/tableam.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "port/pg_crc32c.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"

#include "core/arrays.h"
#include "core/ecpower.h"
#include "timeline/customers.h"

#define KEYS_MAGIC		0x4B505345	/* "ESPK" */
#define KEYS_VERSION	1
#define KEYS_PER_CHUNK	960			/* 120 bitmap bytes + 7,680 id bytes */
#define KEYS_MAX_LOGGED 20000		/* more logged customers: scan instead */

typedef struct KeysHeader
{
	uint32		crc;
	uint32		magic;
	uint32		version;
	int32		max_ckey;
	int32		ncustomers;
	int32		nchunks;
} KeysHeader;

typedef struct KeysChunk
{
	uint32		crc;
	int32		first;			/* first key of the chunk */
	int32		n;				/* keys in the chunk */
	/* uint8 present[(n + 7) / 8]; int64 ids[n] (unaligned) */
} KeysChunk;

static inline Size
chunk_size(int32 n)
{
	return sizeof(KeysChunk) + (Size) (n + 7) / 8 + sizeof(int64) * (Size) n;
}

/* the checksum of a chunk: its number, then its bytes after the crc field */
static uint32
keys_crc(int32 chunk, const char *p, Size len)
{
	pg_crc32c	crc;

	INIT_CRC32C(crc);
	COMP_CRC32C(crc, &chunk, sizeof(chunk));
	COMP_CRC32C(crc, p + sizeof(uint32), len - sizeof(uint32));
	FIN_CRC32C(crc);
	return crc;
}

static void
keys_corrupt(int32 chunk, const char *what)
{
	ereport(ERROR,
			(errcode(ERRCODE_DATA_CORRUPTED),
			 errmsg("chunk %d of the ecpower customer keys is corrupt", chunk),
			 errdetail("%s", what),
			 errhint("Run SELECT ecpower.reset_order_cache(); the next refresh rewrites them.")));
}

/* what chunk 0 holds */
typedef enum KeysHeaderState
{
	HEADER_NONE,				/* no stored map */
	HEADER_OTHER,				/* a map of another format version */
	HEADER_DAMAGED,				/* not a sound header: *what says why */
	HEADER_OK
} KeysHeaderState;

/*
 * read_header
 *		The stored header into *h, and what it is.  Inside SPI.
 */
static KeysHeaderState
read_header(KeysHeader *h, const char **what)
{
	bool		isnull;
	bytea	   *b;

	if (SPI_execute("SELECT k.data FROM ecpower.timeline_keys AS k WHERE k.chunk OPERATOR(pg_catalog.=) 0",
					true, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not read ecpower.timeline_keys");
	if (SPI_processed != 1)
		return HEADER_NONE;
	b = DatumGetByteaPP(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	if (VARSIZE_ANY_EXHDR(b) != sizeof(KeysHeader))
	{
		*what = "Its length is not that of a header.";
		return HEADER_DAMAGED;
	}
	memcpy(h, VARDATA_ANY(b), sizeof(KeysHeader));
	if (h->magic != KEYS_MAGIC)
	{
		*what = "It is not a header of customer keys.";
		return HEADER_DAMAGED;
	}
	if (h->version != KEYS_VERSION)
		return HEADER_OTHER;
	if (keys_crc(0, (const char *) h, sizeof(KeysHeader)) != h->crc)
	{
		*what = "Its checksum does not match its contents.";
		return HEADER_DAMAGED;
	}
	return HEADER_OK;
}

/*
 * logged_customers
 *		The customers logged since the last refresh (ids and the keys they
 *		had), or false when the log asks for a scan.  Inside SPI.
 */
static bool
logged_customers(int64 **ids, int32 **ckeys, int64 *n)
{
	if (SPI_execute("SELECT c.customer_id, c.ckey FROM ecpower.order_changes AS c"
					" WHERE c.order_id IS NULL", true, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not read ecpower.order_changes");
	*n = 0;
	if (SPI_processed > KEYS_MAX_LOGGED)
		return false;
	*ids = SPI_palloc(sizeof(int64) * Max(SPI_processed, 1));
	*ckeys = SPI_palloc(sizeof(int32) * Max(SPI_processed, 1));
	for (uint64 i = 0; i < SPI_processed; i++)
	{
		bool		id_null;
		bool		key_null;
		Datum		id = SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1, &id_null);
		Datum		key = SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 2, &key_null);

		/* a rebuild of the order cache, or a request for a scan */
		if (id_null || key_null || DatumGetInt32(key) < 1)
			return false;
		(*ids)[*n] = DatumGetInt64(id);
		(*ckeys)[*n] = DatumGetInt32(key);
		(*n)++;
	}
	return true;
}

/* set key k of the map to customer id (growing the arrays as needed) */
static void
map_set(EcpKeyMap *map, int32 *cap, int32 k, int64 id)
{
	if (k >= *cap)
	{
		int32		newcap = *cap;

		while (newcap <= k)
			newcap = (newcap > PG_INT32_MAX / 2) ? PG_INT32_MAX : newcap * 2;
		map->customer_ids = repalloc_huge(map->customer_ids, sizeof(int64) * newcap);
		map->present = repalloc_huge(map->present, sizeof(bool) * newcap);
		memset(map->customer_ids + *cap, 0, sizeof(int64) * (newcap - *cap));
		memset(map->present + *cap, 0, sizeof(bool) * (newcap - *cap));
		*cap = newcap;
	}
	map->customer_ids[k] = id;
	map->present[k] = true;
}

/*
 * read_stored
 *		The stored map into 'map' (arrays allocated in 'cxt'), or false when
 *		there is none of this version.  Inside SPI.
 */
static bool
read_stored(EcpKeyMap *map, int32 *cap, MemoryContext cxt)
{
	KeysHeader	h;
	const char *what = NULL;
	Relation	rel;
	TupleDesc	desc;
	TableScanDesc scan;
	HeapTuple	tup;
	bool	   *seen;
	int32		count = 0;
	int32		largest;

	switch (read_header(&h, &what))
	{
		case HEADER_NONE:
		case HEADER_OTHER:		/* another format: scan; the refresh rewrites */
			return false;
		case HEADER_DAMAGED:
			keys_corrupt(0, what);
			break;
		case HEADER_OK:
			break;
	}

	/* no stored key may exceed the largest registered one */
	largest = ecp_largest_customer_key();
	if (h.max_ckey < 0 || h.max_ckey > largest || h.ncustomers < 0 ||
		h.ncustomers > h.max_ckey ||
		h.nchunks != (h.max_ckey / KEYS_PER_CHUNK) + 1)
		keys_corrupt(0, "Its key range does not match the registered keys.");

	map->max_ckey = h.max_ckey;
	*cap = h.max_ckey + 1;
	map->customer_ids = MemoryContextAllocExtended(cxt, sizeof(int64) * *cap,
												   MCXT_ALLOC_HUGE | MCXT_ALLOC_ZERO);
	map->present = MemoryContextAllocExtended(cxt, sizeof(bool) * *cap,
											  MCXT_ALLOC_HUGE | MCXT_ALLOC_ZERO);
	seen = palloc0(sizeof(bool) * (h.nchunks + 1));

	rel = table_open(ecp_relid("timeline_keys"), AccessShareLock);
	desc = RelationGetDescr(rel);
	scan = table_beginscan(rel, GetActiveSnapshot(), 0, NULL);
	while ((tup = heap_getnext(scan, ForwardScanDirection)) != NULL)
	{
		bool		isnull;
		int32		chunk = DatumGetInt32(heap_getattr(tup, 1, desc, &isnull));
		Datum		d = heap_getattr(tup, 2, desc, &isnull);
		bytea	   *b;
		const char *p;
		Size		len;
		KeysChunk	c;
		const uint8 *bits;
		const char *ids;

		if (chunk == 0)
			continue;
		CHECK_FOR_INTERRUPTS();
		b = DatumGetByteaPP(d);
		p = VARDATA_ANY(b);
		len = VARSIZE_ANY_EXHDR(b);
		if (chunk < 1 || chunk > h.nchunks || seen[chunk])
			keys_corrupt(chunk, "Its number is outside the header's range or repeated.");
		seen[chunk] = true;
		if (len < sizeof(KeysChunk))
			keys_corrupt(chunk, "It is shorter than its header.");
		memcpy(&c, p, sizeof(c));
		if (c.first != (chunk - 1) * KEYS_PER_CHUNK ||
			c.n != Min(KEYS_PER_CHUNK, h.max_ckey + 1 - c.first) ||
			len != chunk_size(c.n))
			keys_corrupt(chunk, "Its key range or length does not match its number.");
		if (keys_crc(chunk, p, len) != c.crc)
			keys_corrupt(chunk, "Its checksum does not match its contents.");
		bits = (const uint8 *) (p + sizeof(KeysChunk));
		ids = p + sizeof(KeysChunk) + (c.n + 7) / 8;
		for (int32 i = 0; i < c.n; i++)
		{
			if (bits[i / 8] & (1 << (i % 8)))
			{
				int32		k = c.first + i;

				if (k == 0)
					keys_corrupt(chunk, "It gives a customer the key 0.");
				memcpy(&map->customer_ids[k], ids + sizeof(int64) * i, sizeof(int64));
				map->present[k] = true;
				count++;
			}
		}
		if ((Pointer) b != DatumGetPointer(d))
			pfree(b);
	}
	table_endscan(scan);
	table_close(rel, AccessShareLock);
	for (int32 i = 1; i <= h.nchunks; i++)
	{
		if (!seen[i])
			keys_corrupt(i, "It is missing.");
	}
	if (count != h.ncustomers)
		keys_corrupt(0, "Its count of customers does not match its chunks.");
	map->ncustomers = count;
	pfree(seen);
	return true;
}

/*
 * ecp_keymap_load
 *		customer_id <-> ckey for every customer, in CurrentMemoryContext:
 *		the map the last refresh stored, with the customers written since
 *		looked up again; a scan of ecpower.customers when that cannot be.
 */
EcpKeyMap *
ecp_keymap_load(void)
{
	MemoryContext cxt = CurrentMemoryContext;
	EcpKeyMap  *map = palloc0(sizeof(EcpKeyMap));
	int32		cap = 0;
	int64	   *ids = NULL;
	int32	   *keys = NULL;
	int64		n = 0;
	bool		ok;

	SPI_connect();
	ok = logged_customers(&ids, &keys, &n) && read_stored(map, &cap, cxt);
	if (ok && n > 0)
	{
		Oid			argtypes[1] = {INT8ARRAYOID};
		Datum		args[1];

		/* the logged customers leave their logged keys ... */
		for (int64 i = 0; i < n; i++)
		{
			if (keys[i] <= map->max_ckey && map->present[keys[i]] &&
				map->customer_ids[keys[i]] == ids[i])
			{
				map->present[keys[i]] = false;
				map->customer_ids[keys[i]] = 0;
			}
		}
		/* ... and take the keys they have now, if they still exist */
		args[0] = ecp_id_array(ids, n);
		if (SPI_execute_with_args("SELECT c.customer_id, c.ckey FROM ecpower.customers AS c"
								  " WHERE c.customer_id OPERATOR(pg_catalog.=) ANY ($1)",
								  1, argtypes, args, NULL, true, 0) != SPI_OK_SELECT)
			elog(ERROR, "could not read ecpower.customers");
		for (uint64 i = 0; i < SPI_processed; i++)
		{
			bool		isnull;
			int64		id = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[i],
														 SPI_tuptable->tupdesc, 1, &isnull));
			int32		k = DatumGetInt32(SPI_getbinval(SPI_tuptable->vals[i],
														SPI_tuptable->tupdesc, 2, &isnull));

			if (k < 1)
				ereport(ERROR,
						(errcode(ERRCODE_DATA_EXCEPTION),
						 errmsg("customer %lld has an invalid internal key %d",
								(long long) id, k),
						 errhint("Keys come from ecpower.customer_keys; a load with triggers disabled must copy them from there.")));
			{
				MemoryContext old = MemoryContextSwitchTo(cxt);

				map_set(map, &cap, k, id);
				MemoryContextSwitchTo(old);
			}
			map->max_ckey = Max(map->max_ckey, k);
		}
		/* recount; the largest key in use may have gone down */
		map->ncustomers = 0;
		for (int32 k = 0; k <= map->max_ckey; k++)
			map->ncustomers += map->present[k];
		while (map->max_ckey > 0 && !map->present[map->max_ckey])
			map->max_ckey--;
	}
	SPI_finish();
	if (!ok)
	{
		if (map->customer_ids != NULL)
			pfree(map->customer_ids);
		if (map->present != NULL)
			pfree(map->present);
		pfree(map);
		return ecp_keymap_scan();
	}
	return map;
}

/*
 * ecp_keys_store
 *		Called by a refresh with the map it evaluated with (read under the
 *		same snapshot as the log): store it and take the logged customers
 *		off the log, unless the stored map is already current.
 */
void
ecp_keys_store(const EcpKeyMap *map)
{
	Oid			argtypes[2] = {INT4OID, BYTEAOID};
	Oid			dtypes[1] = {INT8ARRAYOID};
	SPIPlanPtr	plan;
	int64	   *change_ids;
	int64		nchanges = 0;
	bool		current = false;
	int32		nchunks = map->max_ckey / KEYS_PER_CHUNK + 1;
	MemoryContext cxt;

	SPI_connect();
	/* the log rows about customers (a rebuild is the order cache's) */
	if (SPI_execute("SELECT c.change_id FROM ecpower.order_changes AS c"
					" WHERE c.order_id IS NULL AND c.ckey IS NOT NULL", true, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not read ecpower.order_changes");
	nchanges = (int64) SPI_processed;
	change_ids = palloc(sizeof(int64) * Max(nchanges, 1));
	for (uint64 i = 0; i < SPI_processed; i++)
	{
		bool		isnull;

		change_ids[i] = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[i],
													SPI_tuptable->tupdesc, 1, &isnull));
	}
	if (nchanges == 0)
	{
		/* nothing logged: current when the stored header is this map's */
		KeysHeader	h;
		const char *what;

		current = read_header(&h, &what) == HEADER_OK &&
			h.max_ckey == map->max_ckey && h.ncustomers == map->ncustomers;
	}
	if (current)
	{
		SPI_finish();
		return;
	}

	if (SPI_execute("DELETE FROM ecpower.timeline_keys", false, 0) != SPI_OK_DELETE)
		elog(ERROR, "could not write ecpower.timeline_keys");
	plan = SPI_prepare("INSERT INTO ecpower.timeline_keys (chunk, data) VALUES ($1, $2)",
					   2, argtypes);
	if (plan == NULL)
		elog(ERROR, "could not prepare the customer keys write");
	cxt = AllocSetContextCreate(CurrentMemoryContext, "ecpower keys chunk",
								ALLOCSET_DEFAULT_SIZES);
	for (int32 chunk = 0; chunk <= nchunks; chunk++)
	{
		MemoryContext old = MemoryContextSwitchTo(cxt);
		bytea	   *b;
		Datum		args[2];

		CHECK_FOR_INTERRUPTS();
		if (chunk == 0)
		{
			KeysHeader	h;

			memset(&h, 0, sizeof(h));
			h.magic = KEYS_MAGIC;
			h.version = KEYS_VERSION;
			h.max_ckey = map->max_ckey;
			h.ncustomers = map->ncustomers;
			h.nchunks = nchunks;
			h.crc = keys_crc(0, (const char *) &h, sizeof(h));
			b = palloc(VARHDRSZ + sizeof(h));
			SET_VARSIZE(b, VARHDRSZ + sizeof(h));
			memcpy(VARDATA(b), &h, sizeof(h));
		}
		else
		{
			KeysChunk	c;
			Size		len;
			char	   *p;
			uint8	   *bits;
			char	   *ids;

			c.first = (chunk - 1) * KEYS_PER_CHUNK;
			c.n = Min(KEYS_PER_CHUNK, map->max_ckey + 1 - c.first);
			len = chunk_size(c.n);
			b = palloc0(VARHDRSZ + len);
			SET_VARSIZE(b, VARHDRSZ + len);
			p = VARDATA(b);
			bits = (uint8 *) (p + sizeof(KeysChunk));
			ids = p + sizeof(KeysChunk) + (c.n + 7) / 8;
			for (int32 i = 0; i < c.n; i++)
			{
				int32		k = c.first + i;

				if (k > 0 && map->present[k])
				{
					bits[i / 8] |= 1 << (i % 8);
					memcpy(ids + sizeof(int64) * i, &map->customer_ids[k], sizeof(int64));
				}
			}
			c.crc = 0;
			memcpy(p, &c, sizeof(c));
			c.crc = keys_crc(chunk, p, len);
			memcpy(p, &c, sizeof(c));
		}
		args[0] = Int32GetDatum(chunk);
		args[1] = PointerGetDatum(b);
		MemoryContextSwitchTo(old);
		if (SPI_execute_plan(plan, args, NULL, false, 0) != SPI_OK_INSERT)
			elog(ERROR, "could not write ecpower.timeline_keys");
		MemoryContextReset(cxt);
	}
	MemoryContextDelete(cxt);
	if (nchanges > 0)
	{
		Datum		dargs[1];

		dargs[0] = ecp_id_array(change_ids, nchanges);
		if (SPI_execute_with_args("DELETE FROM ecpower.order_changes"
								  " WHERE change_id OPERATOR(pg_catalog.=) ANY ($1)",
								  1, dtypes, dargs, NULL, false, 0) != SPI_OK_DELETE)
			elog(ERROR, "could not delete from ecpower.order_changes");
	}
	SPI_finish();
}
