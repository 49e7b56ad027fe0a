/*-------------------------------------------------------------------------
 *
 * values.c
 *	  The timeline's values: build them beside the order cache, and read
 *	  them back, checked, for the reports (see values.h).
 *
 * Build (ecp_values_build, called when the order cache is written, in the
 * same transaction): one sequential scan of ecpower.orders emits an entry
 * per (uncancelled order, value) into the chunk of each order-level group;
 * one sequential scan of ecpower.order_lines emits an entry per line.  Text
 * is interned into one dictionary per group as it comes; chunks are
 * streamed out WRITE_BATCH at a time, so memory holds the dictionaries and
 * one batch, not the entries.
 *
 * Read: a group's chunks come through the primary key (grp, chunk), each
 * checked before use -- header, length, CRC-32C, and every entry against
 * the bounds its readers index by (dictionary ids below the dictionary's
 * size, positive quantities, amounts within numeric(14,2)).  A chunk that
 * fails is refused with XX001; it is never read as data.
 *
 * src/timeline/values.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/heapam.h"
#include "access/htup_details.h"
#include "access/stratnum.h"
#include "access/table.h"
#include "access/tableam.h"
#include "catalog/pg_type.h"
#include "common/hashfn.h"
#include "executor/spi.h"
#include "executor/tuptable.h"
#include "miscadmin.h"
#include "port/pg_crc32c.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"

#include "core/arrays.h"
#include "core/ecpower.h"
#include "timeline/fetch.h"
#include "timeline/values.h"
#include "timeline/verified.h"

#define VALUES_MAGIC	0x45435056	/* "ECPV" */
#define VALUES_VERSION	1
#define CHUNK_BYTES		7000		/* a chunk stays inline in a heap page */
#define WRITE_BATCH		512			/* chunks per INSERT */
#define MAX_ABS_CENTS	INT64CONST(100000000000000)

#define LINE_HAS_PRODUCT	0x1
#define LINE_HAS_COST		0x2

typedef struct ValuesHeader
{
	uint32		magic;
	uint16		version;
	uint16		group;
	int32		n;
	uint32		crc;			/* CRC-32C of the entries */
	uint32		reserved;		/* zero */
} ValuesHeader;					/* 20 bytes */

/* entries as stored (packed, read with memcpy) */
typedef struct LineRecord
{
	int64		order_id;
	int64		product_id;
	int64		cost_cents;
	int32		sku;
	int32		quantity;
	uint32		flags;
} LineRecord;

#define LINE_RECORD_SIZE	36
#define TEXT_RECORD_SIZE	12

/* the order-level groups and the orders column each reads */
typedef struct GroupInfo
{
	const char *name;
	const char *column;
	bool		is_array;
} GroupInfo;

static const GroupInfo groups[ECP_VG_COUNT] = {
	[ECP_VG_LINES] = {"lines", NULL, false},
	[ECP_VG_ACQUISITION_CHANNEL] = {"acquisition_channel", "acquisition_channel", false},
	[ECP_VG_REFERRING_SITE] = {"referring_site", "referring_site", false},
	[ECP_VG_LANDING_SITE] = {"landing_site", "landing_site", false},
	[ECP_VG_UTM_SOURCE] = {"utm_source", "utm_source", false},
	[ECP_VG_UTM_MEDIUM] = {"utm_medium", "utm_medium", false},
	[ECP_VG_UTM_CAMPAIGN] = {"utm_campaign", "utm_campaign", false},
	[ECP_VG_SALES_CHANNEL] = {"sales_channel", "sales_channel", false},
	[ECP_VG_ORDER_TAG] = {"order_tag", "tags", true},
	[ECP_VG_DISCOUNT_CODE] = {"discount_code", "discount_codes", true},
};

/*
 * ecp_values_group_of_column
 *		The group holding an orders column's values, or -1.
 */
int
ecp_values_group_of_column(const char *column)
{
	for (int g = ECP_VG_LINES + 1; g < ECP_VG_COUNT; g++)
	{
		if (strcmp(groups[g].column, column) == 0)
			return g;
	}
	return -1;
}

/* ---------------------------------------------------------------------
 * Build
 * ---------------------------------------------------------------------
 */

/* chunks of every group being written */
typedef struct Writer
{
	SPIPlanPtr	plan;
	MemoryContext batchcxt;
	char	   *buf[ECP_VG_COUNT];	/* entries of the chunk being filled */
	int32		nbuf[ECP_VG_COUNT];
	int32		nchunks[ECP_VG_COUNT];
	Datum		batch[WRITE_BATCH];
	int16		batch_group[WRITE_BATCH];
	int32		batch_chunk[WRITE_BATCH];
	int			nbatch;
	int64		entries;
} Writer;

static inline Size
entry_size(int group)
{
	return group == ECP_VG_LINES ? LINE_RECORD_SIZE : TEXT_RECORD_SIZE;
}

static inline int32
per_chunk(int group)
{
	return (int32) ((CHUNK_BYTES - sizeof(ValuesHeader)) / entry_size(group));
}

/* insert the batched chunks */
static void
writer_flush_batch(Writer *w)
{
	Datum		args[3];
	Datum	   *grp;
	Datum	   *chunk;
	MemoryContext old;

	if (w->nbatch == 0)
		return;
	CHECK_FOR_INTERRUPTS();
	old = MemoryContextSwitchTo(w->batchcxt);
	grp = palloc(sizeof(Datum) * w->nbatch);
	chunk = palloc(sizeof(Datum) * w->nbatch);
	for (int i = 0; i < w->nbatch; i++)
	{
		grp[i] = Int16GetDatum(w->batch_group[i]);
		chunk[i] = Int32GetDatum(w->batch_chunk[i]);
	}
	args[0] = PointerGetDatum(construct_array(grp, w->nbatch, INT2OID, 2, true, TYPALIGN_SHORT));
	args[1] = PointerGetDatum(construct_array(chunk, w->nbatch, INT4OID, 4, true, TYPALIGN_INT));
	args[2] = PointerGetDatum(construct_array(w->batch, w->nbatch, BYTEAOID, -1, false,
											  TYPALIGN_INT));
	MemoryContextSwitchTo(old);
	if (SPI_execute_plan(w->plan, args, NULL, false, 0) != SPI_OK_INSERT)
		elog(ERROR, "could not write ecpower.timeline_values");
	w->nbatch = 0;
	MemoryContextReset(w->batchcxt);
}

/* seal the group's current chunk into the batch */
static void
writer_seal(Writer *w, int group)
{
	int32		n = w->nbuf[group];
	Size		len = sizeof(ValuesHeader) + (Size) n * entry_size(group);
	bytea	   *b;
	ValuesHeader h;

	if (n == 0)
		return;
	b = MemoryContextAlloc(w->batchcxt, VARHDRSZ + len);
	SET_VARSIZE(b, VARHDRSZ + len);
	h.magic = VALUES_MAGIC;
	h.version = VALUES_VERSION;
	h.group = (uint16) group;
	h.n = n;
	h.reserved = 0;
	memcpy(VARDATA(b) + sizeof(h), w->buf[group], (Size) n * entry_size(group));
	INIT_CRC32C(h.crc);
	COMP_CRC32C(h.crc, VARDATA(b) + sizeof(h), len - sizeof(h));
	FIN_CRC32C(h.crc);
	memcpy(VARDATA(b), &h, sizeof(h));
	w->batch[w->nbatch] = PointerGetDatum(b);
	w->batch_group[w->nbatch] = (int16) group;
	w->batch_chunk[w->nbatch] = w->nchunks[group]++;
	w->nbatch++;
	w->nbuf[group] = 0;
	if (w->nbatch == WRITE_BATCH)
		writer_flush_batch(w);
}

/* append one entry (entry_size(group) bytes) to the group's chunk */
static inline void
writer_add(Writer *w, int group, const void *entry)
{
	memcpy(w->buf[group] + (Size) w->nbuf[group] * entry_size(group), entry,
		   entry_size(group));
	w->entries++;
	if (++w->nbuf[group] == per_chunk(group))
		writer_seal(w, group);
}

/* one text value of an order */
static void
add_text(Writer *w, EcpValueDict *dict, int group, int64 order_id, Datum value)
{
	text	   *t = (text *) PG_DETOAST_DATUM_PACKED(value);
	int			len = VARSIZE_ANY_EXHDR(t);
	char		entry[TEXT_RECORD_SIZE];
	int32		id;

	if (len == 0)
		return;					/* empty values are not reported */
	id = ecp_dict_text(dict, VARDATA_ANY(t), len);
	memcpy(entry, &order_id, sizeof(int64));
	memcpy(entry + sizeof(int64), &id, sizeof(int32));
	writer_add(w, group, entry);
}

/* every uncancelled order's order-level values */
static void
build_orders(Writer *w, EcpValueDict **dicts)
{
	Relation	rel = table_open(ecp_relid("orders"), AccessShareLock);
	TupleDesc	desc = RelationGetDescr(rel);
	AttrNumber	a_id = ecp_column_attnum(desc, "order_id");
	AttrNumber	a_cancel = ecp_column_attnum(desc, "cancelled_at");
	AttrNumber	att[ECP_VG_COUNT];
	AttrNumber	maxatt = Max(a_id, a_cancel);
	TupleTableSlot *slot = table_slot_create(rel, NULL);
	TableScanDesc scan = table_beginscan(rel, GetActiveSnapshot(), 0, NULL);
	MemoryContext rowcxt = AllocSetContextCreate(CurrentMemoryContext,
												 "ecpower timeline row",
												 ALLOCSET_SMALL_SIZES);
	int64		nrows = 0;

	for (int g = ECP_VG_LINES + 1; g < ECP_VG_COUNT; g++)
	{
		att[g] = ecp_column_attnum(desc, groups[g].column);
		maxatt = Max(maxatt, att[g]);
	}
	while (table_scan_getnextslot(scan, ForwardScanDirection, slot))
	{
		int64		order_id;
		MemoryContext old;

		if ((++nrows & 0xFFFF) == 0)
			CHECK_FOR_INTERRUPTS();
		slot_getsomeattrs(slot, maxatt);
		if (!slot->tts_isnull[a_cancel - 1])
			continue;
		order_id = DatumGetInt64(slot->tts_values[a_id - 1]);
		old = MemoryContextSwitchTo(rowcxt);
		for (int g = ECP_VG_LINES + 1; g < ECP_VG_COUNT; g++)
		{
			Datum		v = slot->tts_values[att[g] - 1];

			if (slot->tts_isnull[att[g] - 1])
				continue;
			if (!groups[g].is_array)
				add_text(w, dicts[g], g, order_id, v);
			else
			{
				ArrayType  *arr = DatumGetArrayTypeP(v);
				Datum	   *elems;
				bool	   *nulls;
				int			n;

				if (ARR_NDIM(arr) == 0)
					continue;
				deconstruct_array(arr, TEXTOID, -1, false, TYPALIGN_INT,
								  &elems, &nulls, &n);
				for (int i = 0; i < n; i++)
				{
					if (!nulls[i])
						add_text(w, dicts[g], g, order_id, elems[i]);
				}
			}
		}
		MemoryContextSwitchTo(old);
		MemoryContextReset(rowcxt);
	}
	table_endscan(scan);
	ExecDropSingleTupleTableSlot(slot);
	table_close(rel, AccessShareLock);
	MemoryContextDelete(rowcxt);
}

/* every order line (lines of cancelled orders are never looked up) */
static int64
build_lines(Writer *w, EcpValueDict *skus)
{
	Relation	rel = table_open(ecp_relid("order_lines"), AccessShareLock);
	TupleDesc	desc = RelationGetDescr(rel);
	AttrNumber	a_order = ecp_column_attnum(desc, "order_id");
	AttrNumber	a_product = ecp_column_attnum(desc, "product_id");
	AttrNumber	a_sku = ecp_column_attnum(desc, "sku");
	AttrNumber	a_qty = ecp_column_attnum(desc, "quantity");
	AttrNumber	a_cost = ecp_column_attnum(desc, "unit_cost");
	AttrNumber	maxatt = Max(Max(a_order, a_product), Max(Max(a_sku, a_qty), a_cost));
	TupleTableSlot *slot = table_slot_create(rel, NULL);
	TableScanDesc scan = table_beginscan(rel, GetActiveSnapshot(), 0, NULL);
	MemoryContext rowcxt = AllocSetContextCreate(CurrentMemoryContext,
												 "ecpower timeline line",
												 ALLOCSET_SMALL_SIZES);
	MemoryContext old = MemoryContextSwitchTo(rowcxt);
	int64		nrows = 0;

	while (table_scan_getnextslot(scan, ForwardScanDirection, slot))
	{
		Datum	   *v;
		bool	   *isnull;
		LineRecord	r;
		char		entry[LINE_RECORD_SIZE];

		if ((++nrows & 0x3FF) == 0)
		{
			CHECK_FOR_INTERRUPTS();
			MemoryContextReset(rowcxt);
		}
		slot_getsomeattrs(slot, maxatt);
		v = slot->tts_values;
		isnull = slot->tts_isnull;
		memset(&r, 0, sizeof(r));
		r.order_id = DatumGetInt64(v[a_order - 1]);
		r.quantity = DatumGetInt32(v[a_qty - 1]);
		r.sku = -1;
		if (!isnull[a_product - 1])
		{
			r.product_id = DatumGetInt64(v[a_product - 1]);
			r.flags |= LINE_HAS_PRODUCT;
		}
		if (!isnull[a_cost - 1])
		{
			r.cost_cents = ecp_numeric_to_cents(v[a_cost - 1]);
			r.flags |= LINE_HAS_COST;
		}
		if (!isnull[a_sku - 1])
		{
			text	   *t = (text *) PG_DETOAST_DATUM_PACKED(v[a_sku - 1]);

			if (VARSIZE_ANY_EXHDR(t) > 0)
				r.sku = ecp_dict_text(skus, VARDATA_ANY(t), VARSIZE_ANY_EXHDR(t));
		}
		memcpy(entry, &r.order_id, 8);
		memcpy(entry + 8, &r.product_id, 8);
		memcpy(entry + 16, &r.cost_cents, 8);
		memcpy(entry + 24, &r.sku, 4);
		memcpy(entry + 28, &r.quantity, 4);
		memcpy(entry + 32, &r.flags, 4);
		writer_add(w, ECP_VG_LINES, entry);
	}
	MemoryContextSwitchTo(old);
	MemoryContextDelete(rowcxt);
	table_endscan(scan);
	ExecDropSingleTupleTableSlot(slot);
	table_close(rel, AccessShareLock);
	return nrows;
}

/* store a group's dictionary: ids 0..n-1 */
static void
write_dict(int group, EcpValueDict *in)
{
	Oid			argtypes[2] = {INT2OID, TEXTARRAYOID};
	Datum		args[2];
	Datum	   *elems;

	if (in->nvalues == 0)
		return;
	elems = palloc_extended(sizeof(Datum) * in->nvalues, MCXT_ALLOC_HUGE);
	for (int32 i = 0; i < in->nvalues; i++)
		elems[i] = PointerGetDatum(cstring_to_text_with_len(in->text[i], in->textlen[i]));
	args[0] = Int16GetDatum(group);
	args[1] = PointerGetDatum(construct_array(elems, in->nvalues, TEXTOID, -1, false, TYPALIGN_INT));
	if (SPI_execute_with_args("INSERT INTO ecpower.timeline_dict (grp, id, value)"
							  " SELECT $1, (u.i OPERATOR(pg_catalog.-) 1)::integer, u.v"
							  " FROM pg_catalog.unnest($2) WITH ORDINALITY AS u(v, i)",
							  2, argtypes, args, NULL, false, 0) != SPI_OK_INSERT)
		elog(ERROR, "could not write ecpower.timeline_dict");
}

/*
 * ecp_values_build
 *		Replace the timeline's values with those of the store now, for the
 *		order cache written in this transaction.
 */
void
ecp_values_build(void)
{
	MemoryContext cxt = AllocSetContextCreate(CurrentMemoryContext,
											  "ecpower timeline values",
											  ALLOCSET_DEFAULT_SIZES);
	MemoryContext old = MemoryContextSwitchTo(cxt);
	Writer	   *w = palloc0(sizeof(Writer));
	EcpValueDict *dicts[ECP_VG_COUNT];
	Oid			argtypes[3] = {INT2ARRAYOID, INT4ARRAYOID, BYTEAARRAYOID};
	Oid			stypes[3] = {INT4OID, INT8OID, INT8OID};
	Datum		sargs[3];
	int64		nlines;

	for (int g = 0; g < ECP_VG_COUNT; g++)
	{
		dicts[g] = ecp_dict_create();
		w->buf[g] = palloc(CHUNK_BYTES);
	}
	w->batchcxt = AllocSetContextCreate(cxt, "ecpower timeline batch",
										ALLOCSET_DEFAULT_SIZES);
	SPI_connect();
	if (SPI_execute("DELETE FROM ecpower.timeline_values", false, 0) != SPI_OK_DELETE ||
		SPI_execute("DELETE FROM ecpower.timeline_dict", false, 0) != SPI_OK_DELETE ||
		SPI_execute("DELETE FROM ecpower.timeline_state", false, 0) != SPI_OK_DELETE)
		elog(ERROR, "could not clear the ecpower timeline values");
	w->plan = SPI_prepare("INSERT INTO ecpower.timeline_values (grp, chunk, data)"
						  " SELECT u.g, u.c, u.d"
						  " FROM ROWS FROM (pg_catalog.unnest($1), pg_catalog.unnest($2),"
						  " pg_catalog.unnest($3)) AS u(g, c, d)",
						  3, argtypes);
	if (w->plan == NULL)
		elog(ERROR, "could not prepare the ecpower timeline insert");

	build_orders(w, dicts);
	nlines = build_lines(w, dicts[ECP_VG_LINES]);
	for (int g = 0; g < ECP_VG_COUNT; g++)
		writer_seal(w, g);
	writer_flush_batch(w);
	for (int g = 0; g < ECP_VG_COUNT; g++)
		write_dict(g, dicts[g]);

	sargs[0] = Int32GetDatum(VALUES_VERSION);
	sargs[1] = Int64GetDatum(w->entries);
	sargs[2] = Int64GetDatum(nlines);
	if (SPI_execute_with_args("INSERT INTO ecpower.timeline_state"
							  " (format, entries, lines, cache_built_at, built_at)"
							  " SELECT $1, $2, $3, c.built_at, pg_catalog.clock_timestamp()"
							  " FROM ecpower.order_cache_state AS c",
							  3, stypes, sargs, NULL, false, 0) != SPI_OK_INSERT)
		elog(ERROR, "could not write ecpower.timeline_state");
	SPI_finish();
	MemoryContextSwitchTo(old);
	MemoryContextDelete(cxt);
}

/* ---------------------------------------------------------------------
 * Read
 * ---------------------------------------------------------------------
 */

/*
 * ecp_values_usable
 *		Were the values built for the order cache as it stands, in this
 *		format?
 */
bool
ecp_values_usable(void)
{
	bool		usable = false;

	SPI_connect();
	if (SPI_execute("SELECT v.format OPERATOR(pg_catalog.=) " CppAsString2(VALUES_VERSION)
					" AND v.cache_built_at OPERATOR(pg_catalog.=) c.built_at"
					" FROM ecpower.timeline_state AS v, ecpower.order_cache_state AS c",
					true, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not read ecpower.timeline_state");
	if (SPI_processed == 1)
	{
		bool		isnull;
		Datum		d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);

		usable = !isnull && DatumGetBool(d);
	}
	SPI_finish();
	return usable;
}

/*
 * ecp_values_dict
 *		The text of every dictionary id of a group (ids 0..*n-1), palloc'd
 *		in the caller's context.  The ids must be dense: anything else is a
 *		damaged dictionary.
 */
char	  **
ecp_values_dict(int group, int32 *n)
{
	MemoryContext caller = CurrentMemoryContext;
	Oid			argtypes[1] = {INT2OID};
	Datum		args[1];
	char	  **texts;

	args[0] = Int16GetDatum(group);
	SPI_connect();
	if (SPI_execute_with_args("SELECT id, value FROM ecpower.timeline_dict"
							  " WHERE grp OPERATOR(pg_catalog.=) $1 ORDER BY id",
							  1, argtypes, args, NULL, true, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not read ecpower.timeline_dict");
	texts = MemoryContextAllocHuge(caller, sizeof(char *) * Max(SPI_processed, 1));
	for (uint64 i = 0; i < SPI_processed; i++)
	{
		bool		isnull;
		int32		id = DatumGetInt32(SPI_getbinval(SPI_tuptable->vals[i],
													 SPI_tuptable->tupdesc, 1, &isnull));
		Datum		v = SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 2, &isnull);

		if (id != (int32) i || isnull)
			ereport(ERROR,
					(errcode(ERRCODE_DATA_CORRUPTED),
					 errmsg("the ecpower timeline dictionary of %s is corrupt",
							groups[group].name),
					 errdetail("Its ids are not 0..%lld.", (long long) SPI_processed - 1),
					 errhint("Run SELECT ecpower.reset_order_cache(); the next refresh rebuilds it.")));
		texts[i] = MemoryContextStrdup(caller, TextDatumGetCString(v));
	}
	*n = (int32) SPI_processed;
	SPI_finish();
	return texts;
}

/* refuse a chunk that is not sound: XX001 naming it */
static void
values_corrupt(int group, int32 chunk, const char *what)
{
	ereport(ERROR,
			(errcode(ERRCODE_DATA_CORRUPTED),
			 errmsg("chunk %d of the ecpower timeline values (%s) is corrupt",
					chunk, groups[group].name),
			 errdetail("%s", what),
			 errhint("Run SELECT ecpower.reset_order_cache(); the next refresh rebuilds it.")));
}

/* check header, length and checksum; the number of entries */
static int32
values_check(int group, int32 chunk, const char *p, Size len, bool verified)
{
	ValuesHeader h;
	pg_crc32c	crc;

	if (len < sizeof(ValuesHeader))
		values_corrupt(group, chunk, "It is shorter than its header.");
	memcpy(&h, p, sizeof(h));
	if (h.magic != VALUES_MAGIC || h.version != VALUES_VERSION || h.reserved != 0 ||
		h.group != (uint16) group)
		values_corrupt(group, chunk, "Its header is not one of this version and group.");
	if (h.n < 0 || (Size) h.n > (len - sizeof(h)) / entry_size(group) ||
		len != sizeof(h) + (Size) h.n * entry_size(group))
		values_corrupt(group, chunk, "Its length does not match its header.");
	if (verified)
		return h.n;				/* its bytes passed the checksum before */
	INIT_CRC32C(crc);
	COMP_CRC32C(crc, p + sizeof(h), len - sizeof(h));
	FIN_CRC32C(crc);
	if (crc != h.crc)
		values_corrupt(group, chunk, "Its checksum does not match its contents.");
	return h.n;
}

typedef void (*ChunkFn) (int group, int32 chunk, const char *entries, int32 n,
						 int32 ndict, void *sink, void *arg);

/* pass every chunk of a group, in chunk order, to fn */
static void
read_group(int group, int32 ndict, ChunkFn fn, void *sink, void *arg)
{
	Relation	rel = table_open(ecp_relid("timeline_values"), AccessShareLock);
	TupleDesc	desc = RelationGetDescr(rel);
	Oid			index = ecp_relid("timeline_values_pkey");
	ScanKeyData key;
	SysScanDesc sd;
	HeapTuple	tup;
	int64		rows = 0;

	ScanKeyInit(&key, 1, BTEqualStrategyNumber, F_INT2EQ, Int16GetDatum((int16) group));
	sd = systable_beginscan(rel, index, true, GetActiveSnapshot(), 1, &key);
	while ((tup = systable_getnext(sd)) != NULL)
	{
		bool		isnull;
		int32		chunk = DatumGetInt32(heap_getattr(tup, 2, desc, &isnull));
		Datum		d = heap_getattr(tup, 3, desc, &isnull);
		bytea	   *b;
		int32		n;

		if ((++rows & 0x3FF) == 0)
			CHECK_FOR_INTERRUPTS();
		if (isnull)
			values_corrupt(group, chunk, "It is NULL.");
		b = DatumGetByteaPP(d);
		{
			bool		verified = ecp_chunk_verified(rel, tup);

			n = values_check(group, chunk, VARDATA_ANY(b), VARSIZE_ANY_EXHDR(b), verified);
			if (!verified)
				ecp_chunk_mark_verified(rel, tup);
		}
		fn(group, chunk, VARDATA_ANY(b) + sizeof(ValuesHeader), n, ndict, sink, arg);
		if ((Pointer) b != DatumGetPointer(d))
			pfree(b);
	}
	systable_endscan(sd);
	table_close(rel, AccessShareLock);
}

/* a lines chunk: check each entry, then pass it on */
static void
lines_chunk(int group, int32 chunk, const char *p, int32 n, int32 ndict,
			void *sink, void *arg)
{
	EcpLineSink fn = (EcpLineSink) sink;

	for (int32 i = 0; i < n; i++)
	{
		const char *e = p + (Size) i * LINE_RECORD_SIZE;
		EcpLineEntry line;
		uint32		flags;

		memcpy(&line.order_id, e, 8);
		memcpy(&line.product_id, e + 8, 8);
		memcpy(&line.cost_cents, e + 16, 8);
		memcpy(&line.sku, e + 24, 4);
		memcpy(&line.quantity, e + 28, 4);
		memcpy(&flags, e + 32, 4);
		if ((flags & ~(LINE_HAS_PRODUCT | LINE_HAS_COST)) != 0 ||
			line.quantity <= 0 || line.sku < -1 || line.sku >= ndict ||
			line.cost_cents <= -MAX_ABS_CENTS || line.cost_cents >= MAX_ABS_CENTS)
			values_corrupt(group, chunk,
						   psprintf("A line of order %lld is out of bounds.",
									(long long) line.order_id));
		line.has_product = (flags & LINE_HAS_PRODUCT) != 0;
		line.has_cost = (flags & LINE_HAS_COST) != 0;
		fn(arg, &line);
	}
}

/* a text chunk: check each entry, then pass it on */
static void
text_chunk(int group, int32 chunk, const char *p, int32 n, int32 ndict,
		   void *sink, void *arg)
{
	EcpValueSink fn = (EcpValueSink) sink;

	for (int32 i = 0; i < n; i++)
	{
		int64		order_id;
		int32		id;

		memcpy(&order_id, p + (Size) i * TEXT_RECORD_SIZE, 8);
		memcpy(&id, p + (Size) i * TEXT_RECORD_SIZE + 8, 4);
		if (id < 0 || id >= ndict)
			values_corrupt(group, chunk,
						   psprintf("A value of order %lld is out of bounds.",
									(long long) order_id));
		fn(arg, order_id, id);
	}
}

/*
 * ecp_values_read_lines
 *		Pass every stored line to 'sink', checked against a sku dictionary
 *		of ndict ids (from ecp_values_dict(ECP_VG_LINES, ...)).
 */
void
ecp_values_read_lines(int32 ndict, EcpLineSink sink, void *arg)
{
	read_group(ECP_VG_LINES, ndict, lines_chunk, (void *) sink, arg);
}

/*
 * ecp_values_read
 *		Pass every stored (order, value id) of an order-level group to
 *		'sink', checked against its dictionary of ndict ids.
 */
void
ecp_values_read(int group, int32 ndict, EcpValueSink sink, void *arg)
{
	Assert(group > ECP_VG_LINES && group < ECP_VG_COUNT);
	read_group(group, ndict, text_chunk, (void *) sink, arg);
}
