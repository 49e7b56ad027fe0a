/*-------------------------------------------------------------------------
 *
 * ordercache.c
 *	  Storage of the refresh's order cache and its change log.
 *
 * ecpower.order_cache holds chunks of orders, each a bytea small enough to
 * stay inline in a heap page (STORAGE PLAIN: never compressed or toasted,
 * so a sequential scan reads it in place), laid out as
 *
 *	CacheHeader | EcpOrder[n] (cust holds the customer's ckey) | uint64[n * fwords]
 *
 * in the byte order of the server that wrote it (the cache is not dumped:
 * a restored database starts without one).  ecpower.order_cache_state holds
 * the tag of the definitions the bits were computed for and the order ids
 * whose records are out of date; ecpower.order_changes is appended to by
 * the triggers of src/sql/46_ordercache.sql (an order_id of NULL asks for a
 * rebuild).  Everything here runs inside the refresh's transaction and
 * snapshot, so a change committed while a refresh runs stays in the log for
 * the next one.
 *
 * src/timeline/ordercache.c
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
#include "timeline/ordercache.h"
#include "timeline/verified.h"
#include "timeline/values.h"

#define CACHE_MAGIC		0x45435043	/* "ECPC" */
#define CACHE_VERSION	3
/*
 * A chunk stays inline in an 8 kB page and leaves more than a tenth of it
 * free, so that scans do not try to prune every page they read (heapam
 * prunes pages with less free space than that on every visit).
 */
#define CHUNK_BYTES		7000
#define WRITE_BATCH		1024	/* chunks per INSERT */

StaticAssertDecl(sizeof(EcpOrder) == 48, "EcpOrder must stay 48 bytes");

typedef struct CacheHeader
{
	uint32		magic;
	uint16		version;
	uint16		fwords;
	int32		n;
	uint32		crc;			/* CRC-32C of the records and bits */
	uint32		reserved;		/* zero */
} CacheHeader;					/* 20 bytes: records start 8-aligned after
								 * the 4-byte varlena header */

/*
 * Bounds of a sound record.  Amounts are numeric(14,2), so a net amount or
 * a gross profit in cents is below 10^14 in absolute value; orders are
 * dated between the years 1900 and 3000 (the input tables refuse others).
 */
#define MAX_ABS_CENTS	ECP_ORDER_MAX_CENTS
#define MIN_ORDERED_AT	(-INT64CONST(3155673600) * USECS_PER_SEC)	/* 1900-01-01 */
#define MAX_ORDERED_AT	(INT64CONST(31556995200) * USECS_PER_SEC)	/* 3000-01-01 */

static EcpCacheState *cache_open(const char *tag, const char *tz);

/*
 * ecp_cache_tag
 *		What the cached filter bits depend on: the cache format, the number
 *		of filter words, the store time zone (local dates) and every segment
 *		definition (the compiled program numbers its filters from them).
 *		Product attributes and customer keys are guarded by triggers instead.
 */
char *
ecp_cache_tag(int fwords)
{
	Oid			argtypes[1] = {INT4OID};
	Datum		args[1];
	MemoryContext caller = CurrentMemoryContext;
	char	   *tag;

	args[0] = Int32GetDatum(fwords * 1000 + CACHE_VERSION);
	SPI_connect();
	if (SPI_execute_with_args("SELECT pg_catalog.md5(pg_catalog.concat_ws('|', $1,"
							  " (SELECT s.store_timezone FROM ecpower.settings AS s),"
							  " (SELECT pg_catalog.string_agg(pg_catalog.concat(g.segment_id, '=', g.definition),"
							  "  ';' ORDER BY g.segment_id) FROM ecpower.segments AS g)))",
							  1, argtypes, args, NULL, true, 1) != SPI_OK_SELECT ||
		SPI_processed != 1)
		elog(ERROR, "could not compute the order cache tag");
	tag = MemoryContextStrdup(caller, SPI_getvalue(SPI_tuptable->vals[0],
												   SPI_tuptable->tupdesc, 1));
	SPI_finish();
	return tag;
}

/*
 * ecp_cache_open
 *		Read the cache state and the change log: is the cache usable for
 *		'tag', and which orders must be re-read.  Allocated in the caller's
 *		memory context.
 */
EcpCacheState *
ecp_cache_open(const char *tag)
{
	return cache_open(tag, NULL);
}

/*
 * ecp_cache_open_orders
 *		The same for readers of the orders alone (ids, dates, amounts,
 *		customer keys), which do not depend on the definitions: usable when
 *		the cache was built in the store time zone 'tz'.
 */
EcpCacheState *
ecp_cache_open_orders(const char *tz)
{
	return cache_open(NULL, tz);
}

/* ecp_cache_open() (tag) or ecp_cache_open_orders() (tz) */
static EcpCacheState *
cache_open(const char *tag, const char *tz)
{
	MemoryContext caller = CurrentMemoryContext;
	EcpCacheState *st = palloc0(sizeof(EcpCacheState));
	bool		rebuild = false;
	int64		nold = 0;
	int64		cap;

	SPI_connect();
	if (SPI_execute("SELECT tag, orders, stale, timezone, format FROM ecpower.order_cache_state", true, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not read ecpower.order_cache_state");
	if (SPI_processed == 1)
	{
		bool		isnull;
		char	   *t = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);
		char	   *z = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 4);
		Datum		d;

		if (tag != NULL)
			st->usable = t != NULL && strcmp(t, tag) == 0;
		else
			st->usable = z != NULL && strcmp(z, tz) == 0;
		/* chunks of another format are rebuilt, not read */
		if (DatumGetInt32(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 5,
										&isnull)) != CACHE_VERSION)
			st->usable = false;
		st->nbase = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &isnull));
		d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 3, &isnull);
		if (st->usable && !isnull)
		{
			bytea	   *b = DatumGetByteaPP(d);
			Size		len = VARSIZE_ANY_EXHDR(b);

			if (len % sizeof(int64) != 0)
				st->usable = false;
			else
			{
				nold = len / sizeof(int64);
				st->stale = MemoryContextAllocHuge(caller, sizeof(int64) * Max(nold, 1));
				memcpy(st->stale, VARDATA_ANY(b), len);
			}
		}
	}

	/* rows naming a customer are the customer keys' (keystore.c) */
	if (SPI_execute("SELECT change_id, order_id FROM ecpower.order_changes"
					" WHERE ckey IS NULL", true, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not read ecpower.order_changes");
	st->nchanges = (int64) SPI_processed;
	st->change_ids = MemoryContextAllocHuge(caller, sizeof(int64) * Max(st->nchanges, 1));
	cap = nold + st->nchanges;
	if (st->stale == NULL)
		st->stale = MemoryContextAllocHuge(caller, sizeof(int64) * Max(cap, 1));
	else
		st->stale = repalloc_huge(st->stale, sizeof(int64) * Max(cap, 1));
	st->nstale = nold;
	for (uint64 i = 0; i < SPI_processed; i++)
	{
		HeapTuple	tup = SPI_tuptable->vals[i];
		bool		isnull;
		Datum		id;

		if ((i & 0x3FFF) == 0)
			CHECK_FOR_INTERRUPTS();
		st->change_ids[i] = DatumGetInt64(SPI_getbinval(tup, SPI_tuptable->tupdesc, 1, &isnull));
		id = SPI_getbinval(tup, SPI_tuptable->tupdesc, 2, &isnull);
		if (isnull)
			rebuild = true;
		else
			st->stale[st->nstale++] = DatumGetInt64(id);
	}
	SPI_finish();

	if (rebuild || !st->usable)
	{
		st->usable = false;
		st->nstale = 0;
		return st;
	}
	if (st->nstale > 1)
	{
		int64		j = 0;

		qsort(st->stale, st->nstale, sizeof(int64), ecp_cmp_int64);
		for (int64 i = 0; i < st->nstale; i++)
		{
			if (j == 0 || st->stale[j - 1] != st->stale[i])
				st->stale[j++] = st->stale[i];
		}
		st->nstale = j;
	}
	if (st->nstale > 0)
	{
		st->stale_filter = MemoryContextAllocZero(caller, ECP_STALE_FILTER_BITS / 8);
		for (int64 i = 0; i < st->nstale; i++)
		{
			uint32		h = ecp_hash_int64(st->stale[i]) & (ECP_STALE_FILTER_BITS - 1);

			st->stale_filter[h / 64] |= UINT64CONST(1) << (h % 64);
		}
	}
	return st;
}

/* refuse a chunk that is not sound: XX001 naming it */
static void
chunk_corrupt(int32 chunk, const char *what)
{
	ereport(ERROR,
			(errcode(ERRCODE_DATA_CORRUPTED),
			 errmsg("chunk %d of the ecpower order cache is corrupt", chunk),
			 errdetail("%s", what),
			 errhint("Run SELECT ecpower.reset_order_cache(); the next refresh rebuilds it.")));
}

/*
 * chunk_check
 *		Check that len bytes at p are a chunk this code wrote for 'fwords'
 *		filter words: header, length and checksum, and every record within
 *		the bounds that its readers rely on (a positive customer key, a
 *		date that is the store-local date of its instant in a sane range,
 *		an amount that fits numeric(14,2), a non-negative item count, a
 *		gross profit that fits numeric(14,2) when known and is 0 when not).  A
 *		sink may then index arrays by a record's fields after checking the
 *		customer key against its own key map.  Chunks are read in place and
 *		may be unaligned: fields are copied out.
 */
static void
chunk_check(int32 chunk, const char *p, Size len, int fwords, EcpCalendar *cal,
			bool verified)
{
	CacheHeader h;
	Size		recsize = sizeof(EcpOrder) + sizeof(uint64) * Max(fwords, 0);
	pg_crc32c	crc;

	if (len < sizeof(CacheHeader))
		chunk_corrupt(chunk, "It is shorter than its header.");
	memcpy(&h, p, sizeof(CacheHeader));
	if (h.magic != CACHE_MAGIC || h.version != CACHE_VERSION || h.reserved != 0)
		chunk_corrupt(chunk, "Its header is not one of this version.");
	if (fwords < 0 || h.fwords != fwords || h.n < 0 ||
		(Size) h.n > (len - sizeof(CacheHeader)) / recsize ||
		len != sizeof(CacheHeader) + (Size) h.n * recsize)
		chunk_corrupt(chunk, "Its length does not match its header.");
	if (verified)
		return;					/* its bytes passed the rest before */
	INIT_CRC32C(crc);
	COMP_CRC32C(crc, p + sizeof(CacheHeader), len - sizeof(CacheHeader));
	FIN_CRC32C(crc);
	if (crc != h.crc)
		chunk_corrupt(chunk, "Its checksum does not match its contents.");

	for (int32 i = 0; i < h.n; i++)
	{
		EcpOrder	o;

		memcpy(&o, p + sizeof(CacheHeader) + (Size) i * sizeof(EcpOrder), sizeof(EcpOrder));
		if (o.cust < 1)
			chunk_corrupt(chunk, psprintf("Order %lld has customer key %d.",
										  (long long) o.order_id, o.cust));
		if (o.ordered_at < MIN_ORDERED_AT || o.ordered_at >= MAX_ORDERED_AT ||
			o.day != ecp_local_date(cal, o.ordered_at))
			chunk_corrupt(chunk, psprintf("Order %lld has an impossible date.",
										  (long long) o.order_id));
		if (o.net <= -MAX_ABS_CENTS || o.net >= MAX_ABS_CENTS || o.items < 0)
			chunk_corrupt(chunk, psprintf("Order %lld has an impossible amount or item count.",
										  (long long) o.order_id));
		if ((o.costed != 0 && o.costed != 1) ||
			o.profit <= -MAX_ABS_CENTS || o.profit >= MAX_ABS_CENTS ||
			(o.costed == 0 && o.profit != 0))
			chunk_corrupt(chunk, psprintf("Order %lld has an impossible gross profit.",
										  (long long) o.order_id));
	}
}

/*
 * ecp_cache_read
 *		Pass every chunk to 'sink'.  Chunks are stored inline (STORAGE
 *		PLAIN, under a page each), so they are read straight from the
 *		buffer pages by a sequential scan, in no particular order.  A chunk
 *		that does not look like one this code wrote for 'fwords' filter
 *		words (any number when fwords is -1) is an error: the caller has
 *		made sure the cache is usable.  The sink gets each chunk's number of
 *		filter words in *fwords_out when that is not NULL.
 */
void
ecp_cache_read(int fwords, EcpCacheSink sink, void *arg)
{
	int			want = fwords;
	EcpCalendar *cal = ecp_store_calendar();
	Relation	rel = table_open(ecp_relid("order_cache"), AccessShareLock);
	TupleDesc	desc = RelationGetDescr(rel);
	TableScanDesc scan = table_beginscan(rel, GetActiveSnapshot(), 0, NULL);
	HeapTuple	tup;
	int64		rows = 0;

	while ((tup = heap_getnext(scan, ForwardScanDirection)) != NULL)
	{
		bool		isnull;
		Datum		d = heap_getattr(tup, 2, desc, &isnull);
		int32		chunk = DatumGetInt32(heap_getattr(tup, 1, desc, &isnull));
		bytea	   *b = DatumGetByteaPP(d);
		const char *p = VARDATA_ANY(b);
		Size		len = VARSIZE_ANY_EXHDR(b);

		if ((++rows & 0x3FF) == 0)
			CHECK_FOR_INTERRUPTS();
		if (want < 0 && len >= sizeof(CacheHeader))
			fwords = ((const CacheHeader *) p)->fwords;
		{
			bool		verified = ecp_chunk_verified(rel, tup);

			chunk_check(chunk, p, len, fwords, cal, verified);
			if (!verified)
				ecp_chunk_mark_verified(rel, tup);
		}
		sink(arg, p + sizeof(CacheHeader),
			 p + sizeof(CacheHeader) + (Size) ((const CacheHeader *) p)->n * sizeof(EcpOrder),
			 ((const CacheHeader *) p)->n);
		if ((Pointer) b != DatumGetPointer(d))
			pfree(b);
	}
	table_endscan(scan);
	table_close(rel, AccessShareLock);
}

/*
 * ecp_cache_write
 *		Replace the cache with orders[0 .. n-1] (cust is a customer index,
 *		stored as ckey_of[cust]) and their bits, for 'tag', with no stale
 *		orders.  Chunks are sized to stay inline in a heap page; they are
 *		inserted WRITE_BATCH at a time.
 */
void
ecp_cache_write(const char *tag, int fwords, const EcpOrder *orders,
				const uint64 *bits, int64 n, const int32 *ckey_of)
{
	Oid			argtypes[2] = {INT4OID, BYTEAARRAYOID};
	Oid			stypes[4] = {TEXTOID, INT8OID, TEXTOID, INT4OID};
	Datum		sargs[4];
	SPIPlanPtr	plan;
	Size		recsize = sizeof(EcpOrder) + sizeof(uint64) * fwords;
	int32		per_chunk = (int32) Max(1, (CHUNK_BYTES - sizeof(CacheHeader)) / recsize);
	MemoryContext batchcxt;
	Datum	   *batch = palloc(sizeof(Datum) * WRITE_BATCH);
	int			nbatch = 0;
	int32		chunk = 0;

	SPI_connect();
	if (SPI_execute("DELETE FROM ecpower.order_cache", false, 0) != SPI_OK_DELETE ||
		SPI_execute("DELETE FROM ecpower.order_cache_state", false, 0) != SPI_OK_DELETE)
		elog(ERROR, "could not clear the order cache");
	plan = SPI_prepare("INSERT INTO ecpower.order_cache (chunk, data)"
					   " SELECT $1 OPERATOR(pg_catalog.+) u.i::integer, u.d"
					   " FROM pg_catalog.unnest($2) WITH ORDINALITY AS u(d, i)",
					   2, argtypes);
	if (plan == NULL)
		elog(ERROR, "could not prepare the order cache insert");
	batchcxt = AllocSetContextCreate(CurrentMemoryContext, "ecpower order cache batch",
									 ALLOCSET_DEFAULT_SIZES);
	for (int64 start = 0; start < n || nbatch > 0; start += per_chunk)
	{
		if (start < n)
		{
			int32		m = (int32) Min(per_chunk, n - start);
			Size		len = sizeof(CacheHeader) + (Size) m * recsize;
			bytea	   *b = MemoryContextAlloc(batchcxt, VARHDRSZ + len);
			char	   *p = VARDATA(b);
			CacheHeader h;
			EcpOrder   *o;

			SET_VARSIZE(b, VARHDRSZ + len);
			h.magic = CACHE_MAGIC;
			h.version = CACHE_VERSION;
			h.fwords = (uint16) fwords;
			h.n = m;
			h.reserved = 0;
			o = (EcpOrder *) (p + sizeof(h));	/* 24 bytes into a palloc'd block */
			memcpy(o, orders + start, sizeof(EcpOrder) * m);
			for (int32 i = 0; i < m; i++)
				o[i].cust = ckey_of[o[i].cust];
			memcpy(p + sizeof(h) + sizeof(EcpOrder) * m, bits + start * fwords,
				   sizeof(uint64) * fwords * m);
			INIT_CRC32C(h.crc);
			COMP_CRC32C(h.crc, p + sizeof(h), len - sizeof(h));
			FIN_CRC32C(h.crc);
			memcpy(p, &h, sizeof(h));
			batch[nbatch++] = PointerGetDatum(b);
		}
		if (nbatch == WRITE_BATCH || (start + per_chunk >= n && nbatch > 0))
		{
			Datum		args[2];
			MemoryContext old = MemoryContextSwitchTo(batchcxt);

			CHECK_FOR_INTERRUPTS();
			args[0] = Int32GetDatum(chunk - 1);
			args[1] = PointerGetDatum(construct_array(batch, nbatch, BYTEAOID, -1, false,
													  TYPALIGN_INT));
			MemoryContextSwitchTo(old);
			if (SPI_execute_plan(plan, args, NULL, false, 0) != SPI_OK_INSERT)
				elog(ERROR, "could not write the order cache");
			chunk += nbatch;
			nbatch = 0;
			MemoryContextReset(batchcxt);
		}
		if (start >= n)
			break;
	}
	MemoryContextDelete(batchcxt);
	sargs[0] = CStringGetTextDatum(tag);
	sargs[1] = Int64GetDatum(n);
	sargs[2] = CStringGetTextDatum(ecp_store_timezone());
	sargs[3] = Int32GetDatum(CACHE_VERSION);
	if (SPI_execute_with_args("INSERT INTO ecpower.order_cache_state (tag, orders, timezone, format, built_at)"
							  " VALUES ($1, $2, $3, $4, pg_catalog.now())",
							  4, stypes, sargs, NULL, false, 0) != SPI_OK_INSERT)
		elog(ERROR, "could not write ecpower.order_cache_state");
	SPI_finish();

	/* what the cached orders carry, for the reports */
	ecp_values_build();
}

/*
 * ecp_cache_write_stale
 *		Record the orders whose cached records are out of date.
 */
void
ecp_cache_write_stale(const int64 *stale, int64 n)
{
	Oid			argtypes[1] = {BYTEAOID};
	Datum		args[1];
	Size		len = sizeof(int64) * n;
	bytea	   *b;

	if (len > MaxAllocSize - VARHDRSZ)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("too many stale orders in the order cache: %lld", (long long) n),
				 errhint("Run SELECT ecpower.reset_order_cache(); the next refresh rebuilds it.")));
	b = palloc(VARHDRSZ + len);
	SET_VARSIZE(b, VARHDRSZ + len);
	if (n > 0)
		memcpy(VARDATA(b), stale, len);
	args[0] = PointerGetDatum(b);
	SPI_connect();
	if (SPI_execute_with_args("UPDATE ecpower.order_cache_state SET stale = $1",
							  1, argtypes, args, NULL, false, 0) != SPI_OK_UPDATE)
		elog(ERROR, "could not write ecpower.order_cache_state");
	SPI_finish();
	pfree(b);
}

/*
 * ecp_cache_consume
 *		Delete the change-log rows this refresh has taken into account
 *		(exactly those: rows committed after its snapshot stay).
 */
void
ecp_cache_consume(const EcpCacheState *st)
{
	Oid			argtypes[1] = {INT8ARRAYOID};
	Datum		args[1];

	if (st->nchanges == 0)
		return;
	args[0] = ecp_id_array(st->change_ids, st->nchanges);
	SPI_connect();
	if (SPI_execute_with_args("DELETE FROM ecpower.order_changes"
							  " WHERE change_id OPERATOR(pg_catalog.=) ANY ($1)",
							  1, argtypes, args, NULL, false, 0) != SPI_OK_DELETE)
		elog(ERROR, "could not delete from ecpower.order_changes");
	SPI_finish();
}
