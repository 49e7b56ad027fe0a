/*-------------------------------------------------------------------------
 *
 * demoload.c
 *	  The demo generator's row sink: producers describe each row column by
 *	  column; the values are encoded as COPY BINARY rows fed to COPY FROM,
 *	  or formed into tuples written with heap multi-inserts (superusers).
 *
 * src/io/demoload.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <sys/resource.h>

#include "access/htup_details.h"
#include "access/heapam.h"
#include "access/table.h"
#include "access/tableam.h"
#include "catalog/index.h"
#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "commands/copy.h"
#include "executor/executor.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "nodes/makefuncs.h"
#include "optimizer/optimizer.h"
#include "parser/parse_relation.h"
#include "port/pg_bswap.h"
#include "rewrite/rewriteHandler.h"
#include "storage/lmgr.h"
#include "utils/acl.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/datetime.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/rls.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"

#include "core/ecpower.h"
#include "io/demogen.h"

DemoGen    *ecp_demo_active = NULL;

/* ------------------------------------------------------------------------
 * Row sink: producers describe each row column by column; the values are
 * encoded in COPY BINARY format, or stored for a direct heap insert.
 * ------------------------------------------------------------------------
 */
/* network-order integers of the COPY BINARY format */
static inline void
put16(StringInfo b, int16 v)
{
	uint16		n = pg_hton16((uint16) v);

	appendBinaryStringInfoNT(b, (const char *) &n, 2);
}

/* see put16 */
static inline void
put32(StringInfo b, int32 v)
{
	uint32		n = pg_hton32((uint32) v);

	appendBinaryStringInfoNT(b, (const char *) &n, 4);
}

/* see put16 */
static inline void
put64(StringInfo b, int64 v)
{
	uint64		n = pg_hton64((uint64) v);

	appendBinaryStringInfoNT(b, (const char *) &n, 8);
}

/* ends a row (direct loads form and batch the tuple) */
static void direct_row_end(DemoGen *g);

/* the next column of a direct row receives a value */
static inline void
direct_set(DemoGen *g, Datum v, bool isnull)
{
	DirectLoad *dl = g->load;
	int			att = dl->colmap[dl->col++];

	dl->values[att] = v;
	dl->nulls[att] = isnull;
}

/* starts a row: every column of the producer's list follows, in order */
void
demo_row_begin(DemoGen *g)
{
	if (g->use_direct)
	{
		g->load->col = 0;
		memset(g->load->nulls, true, sizeof(bool) * g->load->desc->natts);
		g->load->callercxt = MemoryContextSwitchTo(g->load->batchcxt);
	}
	else
		put16(&g->buf, (int16) g->ncols);
}

void
demo_row_end(DemoGen *g)
{
	if (g->use_direct)
	{
		MemoryContextSwitchTo(g->load->callercxt);
		direct_row_end(g);
	}
}

/* column values: NULL, int8, int4, bool, text (NULL pointer = NULL) */
void
demo_col_null(DemoGen *g)
{
	if (g->use_direct)
		direct_set(g, (Datum) 0, true);
	else
		put32(&g->buf, -1);
}

/* see col_null */
void
demo_col_int8(DemoGen *g, int64 v)
{
	if (g->use_direct)
		direct_set(g, Int64GetDatum(v), false);
	else
	{
		put32(&g->buf, 8);
		put64(&g->buf, v);
	}
}

/* see col_null */
void
demo_col_int4(DemoGen *g, int32 v)
{
	if (g->use_direct)
		direct_set(g, Int32GetDatum(v), false);
	else
	{
		put32(&g->buf, 4);
		put32(&g->buf, v);
	}
}

/* see col_null */
void
demo_col_bool(DemoGen *g, bool v)
{
	if (g->use_direct)
		direct_set(g, BoolGetDatum(v), false);
	else
	{
		put32(&g->buf, 1);
		appendStringInfoCharMacro(&g->buf, v ? 1 : 0);
	}
}

/* see col_null */
void
demo_col_text(DemoGen *g, const char *s)
{
	int			len;

	if (s == NULL)
	{
		demo_col_null(g);
		return;
	}
	len = strlen(s);
	if (g->use_direct)
		direct_set(g, PointerGetDatum(cstring_to_text_with_len(s, len)), false);
	else
	{
		put32(&g->buf, len);
		appendBinaryStringInfoNT(&g->buf, s, len);
	}
}

/* a non-negative amount of cents, as numeric(14,2) */
void
demo_col_cents(DemoGen *g, int64 cents)
{
	int64		units = cents / 100;

	Assert(cents >= 0 && units < INT64CONST(1000000000000));
	if (g->use_direct)
	{
		direct_set(g, ecp_cents_to_numeric(cents), false);
		return;
	}
	/* numeric's send format; numeric_recv strips the leading zero digits */
	put32(&g->buf, 16);
	put16(&g->buf, 4);			/* ndigits */
	put16(&g->buf, 2);			/* weight of the first base-10000 digit */
	put16(&g->buf, 0);			/* sign: positive */
	put16(&g->buf, 2);			/* dscale */
	put16(&g->buf, (int16) (units / 100000000));
	put16(&g->buf, (int16) ((units / 10000) % 10000));
	put16(&g->buf, (int16) (units % 10000));
	put16(&g->buf, (int16) ((cents % 100) * 100));
}

/* a one-dimensional text[] (empty when n = 0) */
void
demo_col_text_array(DemoGen *g, const char *const *items, int n)
{
	int			len = 12;

	if (g->use_direct)
	{
		Datum		elems[DEMO_MAX_TAGS];

		Assert(n <= DEMO_MAX_TAGS);
		for (int i = 0; i < n; i++)
			elems[i] = PointerGetDatum(cstring_to_text(items[i]));
		direct_set(g, PointerGetDatum(construct_array(elems, n, TEXTOID, -1,
													  false, TYPALIGN_INT)),
				   false);
		return;
	}
	/* array's send format */
	if (n > 0)
		len += 8;
	for (int i = 0; i < n; i++)
		len += 4 + strlen(items[i]);
	put32(&g->buf, len);
	put32(&g->buf, n > 0 ? 1 : 0);	/* ndim */
	put32(&g->buf, 0);			/* no nulls */
	put32(&g->buf, TEXTOID);
	if (n > 0)
	{
		put32(&g->buf, n);		/* dimension */
		put32(&g->buf, 1);		/* lower bound */
	}
	for (int i = 0; i < n; i++)
	{
		int			ilen = strlen(items[i]);

		put32(&g->buf, ilen);
		appendBinaryStringInfoNT(&g->buf, items[i], ilen);
	}
}

/* ------------------------------------------------------------------------
 * Feeding COPY FROM
 * ------------------------------------------------------------------------
 */

/*
 * demo_copy_source
 *		copy_data_source_cb: hands COPY the next bytes of the binary stream,
 *		building more rows whenever the buffer runs dry.  Returns 0 at the
 *		end of the data.
 */
static int
demo_copy_source(void *outbuf, int minread, int maxread)
{
	DemoGen    *g = ecp_demo_active;
	int			avail;

	if (g == NULL)
		elog(ERROR, "demo store COPY source called outside generate_demo_store");

	if (g->bufpos >= g->buf.len)
	{
		resetStringInfo(&g->buf);
		g->bufpos = 0;
		if (g->done)
			return 0;
		while (g->buf.len < COPY_CHUNK)
		{
			if (!g->producer(g))
			{
				put16(&g->buf, -1); /* file trailer */
				g->done = true;
				break;
			}
		}
	}
	avail = g->buf.len - g->bufpos;
	if (avail > maxread)
		avail = maxread;
	memcpy(outbuf, g->buf.data + g->bufpos, avail);
	g->bufpos += avail;
	return avail;
}

/*
 * copy_table
 *		Loads rows from 'producer' into ecpower.<relname> through COPY FROM,
 *		with the permission checks COPY itself makes.  Columns not listed
 *		get their defaults.  Returns the number of rows loaded.
 */
static uint64
copy_table(DemoGen *g, Oid relid, const char *const *cols, int ncols,
		   DemoProducer producer)
{
	Relation	rel;
	ParseState *pstate;
	ParseNamespaceItem *nsitem;
	RangeTblEntry *rte;
	List	   *attnames = NIL;
	List	   *options;
	CopyFromState cstate;
	uint64		processed;
	static const char header[] = "PGCOPY\n\377\r\n";

	rel = table_open(relid, RowExclusiveLock);
	pstate = make_parsestate(NULL);
	nsitem = addRangeTableEntryForRelation(pstate, rel, RowExclusiveLock,
										   NULL, false, false);
	rte = nsitem->p_rte;
	rte->requiredPerms = ACL_INSERT;
	for (int i = 0; i < ncols; i++)
	{
		int			attno = attnameAttNum(rel, cols[i], false);

		if (attno == InvalidAttrNumber)
			elog(ERROR, "column \"%s\" of \"%s\" does not exist",
				 cols[i], RelationGetRelationName(rel));
		attnames = lappend(attnames, makeString(pstrdup(cols[i])));
		rte->insertedCols = bms_add_member(rte->insertedCols,
										   attno - FirstLowInvalidHeapAttributeNumber);
	}
	ExecCheckRTPerms(pstate->p_rtable, true);
	if (check_enable_rls(relid, InvalidOid, false) == RLS_ENABLED)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("cannot generate a demo store into \"%s\" with row-level security enabled",
						RelationGetRelationName(rel))));

	options = list_make1(makeDefElem("format", (Node *) makeString("binary"), -1));

	resetStringInfo(&g->buf);
	appendBinaryStringInfoNT(&g->buf, header, sizeof(header));	/* with its \0 */
	put32(&g->buf, 0);			/* flags */
	put32(&g->buf, 0);			/* header extension length */
	g->bufpos = 0;
	g->done = false;
	g->next = 0;
	g->orders_emitted = 0;
	g->npending = 0;
	g->pending_pos = 0;
	g->producer = producer;
	g->ncols = ncols;
	ecp_demo_active = g;

	cstate = BeginCopyFrom(pstate, rel, NULL, NULL, false, demo_copy_source,
						   attnames, options);
	processed = CopyFrom(cstate);
	EndCopyFrom(cstate);
	ecp_demo_active = NULL;
	free_parsestate(pstate);
	table_close(rel, NoLock);
	CommandCounterIncrement();
	return processed;
}

/* ------------------------------------------------------------------------
 * Direct loading (superusers)
 * ------------------------------------------------------------------------
 */

/* writes the batch of formed tuples to the heap */
static void
direct_flush(DirectLoad *dl)
{
	if (dl->nslots == 0)
		return;
	table_multi_insert(dl->rel, dl->slots, dl->nslots, dl->cid,
					   TABLE_INSERT_SKIP_FSM, dl->bistate);
	for (int i = 0; i < dl->nslots; i++)
		ExecClearTuple(dl->slots[i]);
	dl->processed += dl->nslots;
	dl->nslots = 0;
	MemoryContextReset(dl->batchcxt);
	ResetPerTupleExprContext(dl->estate);
}

/* completes a direct row: defaults, tuple, constraints, batching */
static void
direct_row_end(DemoGen *g)
{
	DirectLoad *dl = g->load;
	ExprContext *econtext = GetPerTupleExprContext(dl->estate);
	TupleTableSlot *slot = dl->slots[dl->nslots];
	HeapTuple	tuple;

	Assert(dl->col == dl->ncols);
	for (int i = 0; i < dl->ndefaults; i++)
	{
		int			att = dl->defatt[i];

		dl->values[att] = ExecEvalExprSwitchContext(dl->defexpr[i], econtext,
													&dl->nulls[att]);
	}
	tuple = heap_form_tuple(dl->desc, dl->values, dl->nulls);
	ExecStoreHeapTuple(tuple, slot, true);
	if (dl->check)
		ExecConstraints(dl->rri, slot, dl->estate);
	if (++dl->nslots == DIRECT_BATCH)
		direct_flush(dl);
}

/*
 * direct_begin
 *		Prepares a direct load into an empty table (see direct_end): column
 *		map, defaults of the columns the producer leaves out, constraint
 *		checking, a batch of slots.
 */
static DirectLoad *
direct_begin(Oid relid, const char *const *cols, int ncols)
{
	DirectLoad *dl = palloc0(sizeof(DirectLoad));
	TupleDesc	desc;
	bool	   *listed;

	dl->rel = table_open(relid, RowExclusiveLock);
	dl->desc = desc = RelationGetDescr(dl->rel);
	dl->ncols = ncols;
	dl->colmap = palloc(sizeof(int) * ncols);
	listed = palloc0(sizeof(bool) * desc->natts);
	for (int i = 0; i < ncols; i++)
	{
		int			attno = attnameAttNum(dl->rel, cols[i], false);

		if (attno <= 0)
			elog(ERROR, "column \"%s\" of \"%s\" does not exist",
				 cols[i], RelationGetRelationName(dl->rel));
		dl->colmap[i] = attno - 1;
		listed[attno - 1] = true;
	}
	dl->values = palloc(sizeof(Datum) * desc->natts);
	dl->nulls = palloc(sizeof(bool) * desc->natts);
	dl->defatt = palloc(sizeof(int) * desc->natts);
	dl->defexpr = palloc(sizeof(ExprState *) * desc->natts);
	for (int a = 0; a < desc->natts; a++)
	{
		Expr	   *defexpr;

		if (listed[a] || TupleDescAttr(desc, a)->attisdropped)
			continue;
		defexpr = (Expr *) build_column_default(dl->rel, a + 1);
		if (defexpr == NULL)
			continue;
		defexpr = expression_planner(defexpr);
		dl->defexpr[dl->ndefaults] = ExecInitExpr(defexpr, NULL);
		dl->defatt[dl->ndefaults++] = a;
	}
	dl->estate = CreateExecutorState();
	dl->rri = makeNode(ResultRelInfo);
	InitResultRelInfo(dl->rri, dl->rel, 0, NULL, 0);
	dl->check = desc->constr != NULL &&
		(desc->constr->has_not_null || desc->constr->num_check > 0);
	for (int i = 0; i < DIRECT_BATCH; i++)
		dl->slots[i] = MakeSingleTupleTableSlot(desc, &TTSOpsHeapTuple);

	/* a ring of buffers, as COPY uses: the load does not flush the cache */
	dl->bistate = GetBulkInsertState();
	dl->cid = GetCurrentCommandId(true);
	/* a keeper block that holds a whole batch: resets free nothing */
	dl->batchcxt = AllocSetContextCreate(CurrentMemoryContext,
										 "demo store batch",
										 4 * 1024 * 1024, 4 * 1024 * 1024,
										 8 * 1024 * 1024);
	return dl;
}

/*
 * direct_end
 *		Finishes a direct load: writes the last batch, then rebuilds every
 *		index of the table in one sort (REINDEX, which also enforces the
 *		unique ones).  Returns the number of rows loaded.
 */
static uint64
direct_end(DirectLoad *dl)
{
	Oid			relid = RelationGetRelid(dl->rel);
	ReindexParams params = {0};

	direct_flush(dl);
	FreeBulkInsertState(dl->bistate);
	table_finish_bulk_insert(dl->rel, TABLE_INSERT_SKIP_FSM);
	for (int i = 0; i < DIRECT_BATCH; i++)
		ExecDropSingleTupleTableSlot(dl->slots[i]);
	FreeExecutorState(dl->estate);
	MemoryContextDelete(dl->batchcxt);
	table_close(dl->rel, NoLock);

	CommandCounterIncrement();
	(void) reindex_relation(relid, REINDEX_REL_CHECK_CONSTRAINTS, &params);
	CommandCounterIncrement();
	return dl->processed;
}

/*
 * direct_table
 *		Loads rows from 'producer' into an empty table as a restore with
 *		triggers disabled does (superusers only): heap multi-inserts of rows
 *		checked against the table's constraints, column defaults evaluated,
 *		no triggers, indexes rebuilt at the end.
 */
static uint64
direct_table(DemoGen *g, Oid relid, const char *const *cols, int ncols,
			 DemoProducer producer)
{
	uint64		processed;

	g->load = direct_begin(relid, cols, ncols);
	g->next = 0;
	g->orders_emitted = 0;
	g->npending = 0;
	g->pending_pos = 0;

	while (producer(g))
		;

	processed = direct_end(g->load);
	g->load = NULL;
	return processed;
}

/* loads one table by the path chosen for this call; DEBUG1 reports costs */
uint64
demo_load_table(DemoGen *g, Oid relid, const char *const *cols, int ncols,
		   DemoProducer producer)
{
	TimestampTz start = GetCurrentTimestamp();
	struct rusage ru0,
				ru1;
	uint64		processed;

	getrusage(RUSAGE_SELF, &ru0);
	if (g->use_direct)
		processed = direct_table(g, relid, cols, ncols, producer);
	else
		processed = copy_table(g, relid, cols, ncols, producer);
	getrusage(RUSAGE_SELF, &ru1);
	elog(DEBUG1, "generate_demo_store: " UINT64_FORMAT " rows into %s (%s) in %ld ms, cpu %ld ms",
		 processed, get_rel_name(relid), g->use_direct ? "direct" : "copy",
		 (long) ((GetCurrentTimestamp() - start) / 1000),
		 (long) ((ru1.ru_utime.tv_sec - ru0.ru_utime.tv_sec +
				  ru1.ru_stime.tv_sec - ru0.ru_stime.tv_sec) * 1000 +
				 (ru1.ru_utime.tv_usec - ru0.ru_utime.tv_usec +
				  ru1.ru_stime.tv_usec - ru0.ru_stime.tv_usec) / 1000));
	return processed;
}
