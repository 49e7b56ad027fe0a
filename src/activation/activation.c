/*-------------------------------------------------------------------------
 *
 * activation.c
 *	  Getting segments back out: the tag-change feed and member_since.
 *
 * Tag sync (README "Shopify import and activation"): every refresh compares, for each segment with a
 * sync_tag, the members it has just stored with the members the feed has
 * announced so far (ecpower.tag_sync_state, a roaring bitmap of
 * customers.ckey per segment), and appends one ecpower.tag_changes row per
 * difference: 'add' for a customer who entered, 'remove' for one who left.
 * Comparing with what was announced, rather than with the previous run,
 * makes the feed exactly one event per real change whatever happens in
 * between: a re-run for the same day announces nothing new, a segment whose
 * sync_tag is set for the first time announces all its members, a renamed
 * tag announces removals under the old tag and additions under the new one,
 * and a segment that is dropped or loses its sync_tag announces removals.
 * It runs inside the refresh's transaction, so the feed and the membership
 * it describes commit (or roll back) together.
 *
 * member_since: the first refreshed day of a member's current unbroken run
 * of membership, found by walking the segment's stored days backwards from
 * the last refresh and dropping members at the first day they are missing.
 *
 * src/activation/activation.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/date.h"
#include "utils/memutils.h"

#include "core/access.h"
#include "core/ecpower.h"
#include "segments/membership.h"
#include "timeline/customers.h"

PG_FUNCTION_INFO_V1(record_tag_changes);
PG_FUNCTION_INFO_V1(segment_member_since);

/* one segment to sync: its current definition and what was announced */
typedef struct SyncTarget
{
	int32		segment_id;
	char	   *slug;			/* current slug, or the announced one */
	char	   *tag;			/* sync_tag now, NULL when no longer synced */
	char	   *announced_tag;	/* tag of the announced members, or NULL */
	bytea	   *announced;		/* announced members, NULL when none */
} SyncTarget;

/*
 * spi_ok
 *		Turn an unexpected SPI result into an internal error.
 */
static void
spi_ok(int ret, int expected, const char *what)
{
	if (ret != expected)
		elog(ERROR, "%s failed: %s", what, SPI_result_code_string(ret));
}

/*
 * text_value
 *		Column n of an SPI result row as a palloc'd C string, or NULL.
 */
static char *
text_value(HeapTuple tup, TupleDesc desc, int n)
{
	return SPI_getvalue(tup, desc, n);
}

/*
 * append_changes
 *		Append one tag_changes row per customer of a bitmap, ascending by
 *		customer_id.  Customers deleted since are skipped.  Returns the
 *		number of rows.
 */
static int64
append_changes(roaring_bitmap_t *members, const char *tag, const char *action,
			   const char *slug, TimestampTz changed_at)
{
	Oid			argtypes[5] = {INT8ARRAYOID, TEXTOID, TEXTOID, TEXTOID,
	TIMESTAMPTZOID};
	Datum		values[5];
	Datum	   *elems;
	int64	   *ids;
	int			n;
	int			i;

	if (roaring_bitmap_is_empty(members))
		return 0;
	ids = ecp_members_customer_ids(members, &n);
	if (n == 0)
		return 0;
	elems = palloc(sizeof(Datum) * n);
	for (i = 0; i < n; i++)
		elems[i] = Int64GetDatum(ids[i]);
	values[0] = PointerGetDatum(construct_array(elems, n, INT8OID, sizeof(int64),
												FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
	values[1] = CStringGetTextDatum(tag);
	values[2] = CStringGetTextDatum(action);
	values[3] = CStringGetTextDatum(slug);
	values[4] = TimestampTzGetDatum(changed_at);
	spi_ok(SPI_execute_with_args("INSERT INTO ecpower.tag_changes "
								 "  (customer_id, tag, action, slug, changed_at) "
								 "SELECT u.customer_id, $2, $3, $4, $5 "
								 "  FROM pg_catalog.unnest($1) WITH ORDINALITY AS u(customer_id, n) "
								 " ORDER BY u.n",
								 5, argtypes, values, NULL, false, 0),
		   SPI_OK_INSERT, "tag change insert");
	return (int64) SPI_processed;
}

/*
 * sync_one
 *		Announce the changes of one segment and remember what was announced.
 */
static int64
sync_one(SyncTarget *t, EcpRun *run)
{
	roaring_bitmap_t *now = NULL;
	roaring_bitmap_t *before;
	int64		written = 0;

	if (t->tag != NULL)
	{
		now = ecp_members_on(t->segment_id, run->as_of_date);
		if (now == NULL)
			return 0;			/* not evaluated by this run: nothing known */
	}
	if (t->announced != NULL)
	{
		char	   *source = psprintf("ecpower.tag_sync_state, segment %d (tag \"%s\")",
									  t->segment_id, t->announced_tag);

		before = ecp_bitmap_deserialize(t->announced, source);
		ecp_check_member_keys(before, source);
	}
	else
		before = ecp_bitmap_create();

	if (now != NULL && t->announced_tag != NULL &&
		strcmp(t->tag, t->announced_tag) == 0)
	{
		/* same tag: the differences */
		written += append_changes(ecp_bitmap_own(roaring_bitmap_andnot(before, now)),
								  t->tag, "remove", t->slug, run->as_of);
		written += append_changes(ecp_bitmap_own(roaring_bitmap_andnot(now, before)),
								  t->tag, "add", t->slug, run->as_of);
	}
	else
	{
		/* new, renamed or no longer synced: all of the old off, the new on */
		if (t->announced_tag != NULL)
			written += append_changes(before, t->announced_tag, "remove",
									  t->slug, run->as_of);
		if (now != NULL)
			written += append_changes(now, t->tag, "add", t->slug, run->as_of);
	}

	if (now == NULL)
	{
		Oid			argtypes[1] = {INT4OID};
		Datum		values[1] = {Int32GetDatum(t->segment_id)};

		spi_ok(SPI_execute_with_args("DELETE FROM ecpower.tag_sync_state "
									 " WHERE segment_id OPERATOR(pg_catalog.=) $1",
									 1, argtypes, values, NULL, false, 0),
			   SPI_OK_DELETE, "tag sync state delete");
	}
	else
	{
		Oid			argtypes[5] = {INT4OID, TEXTOID, TEXTOID, INT8OID, BYTEAOID};
		Datum		values[5];

		values[0] = Int32GetDatum(t->segment_id);
		values[1] = CStringGetTextDatum(t->slug);
		values[2] = CStringGetTextDatum(t->tag);
		values[3] = Int64GetDatum(run->run_id);
		values[4] = PointerGetDatum(ecp_bitmap_serialize(now));
		spi_ok(SPI_execute_with_args("INSERT INTO ecpower.tag_sync_state AS s "
									 "  (segment_id, slug, tag, run_id, members) "
									 "VALUES ($1, $2, $3, $4, $5) "
									 "ON CONFLICT (segment_id) DO UPDATE SET "
									 "  slug = excluded.slug, tag = excluded.tag, "
									 "  run_id = excluded.run_id, members = excluded.members",
									 5, argtypes, values, NULL, false, 0),
			   SPI_OK_INSERT, "tag sync state upsert");
	}
	return written;
}

/*
 * record_tag_changes(run_id bigint) RETURNS bigint
 *		Called by refresh after it stored the run's membership, in the same
 *		transaction: append the tag-change feed for every synced segment
 *		(and every segment that was synced until now).  Returns the number
 *		of events appended.
 */
Datum
record_tag_changes(PG_FUNCTION_ARGS)
{
	EcpRun		run;
	SyncTarget *targets;
	int			ntargets;
	int64		written = 0;
	Oid			argtypes[1] = {INT8OID};
	Datum		values[1];
	MemoryContext fncxt = CurrentMemoryContext;
	MemoryContext segcxt;
	int			i;

	run.run_id = PG_GETARG_INT64(0);
	values[0] = Int64GetDatum(run.run_id);

	SPI_connect();
	spi_ok(SPI_execute_with_args("SELECT as_of, as_of_date FROM ecpower.refresh_runs "
								 " WHERE run_id OPERATOR(pg_catalog.=) $1",
								 1, argtypes, values, NULL, true, 1),
		   SPI_OK_SELECT, "refresh run lookup");
	if (SPI_processed != 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("refresh run " INT64_FORMAT " does not exist", run.run_id)));
	{
		bool		isnull;

		run.as_of = DatumGetTimestampTz(SPI_getbinval(SPI_tuptable->vals[0],
													  SPI_tuptable->tupdesc, 1, &isnull));
		run.as_of_date = DatumGetDateADT(SPI_getbinval(SPI_tuptable->vals[0],
													   SPI_tuptable->tupdesc, 2, &isnull));
	}

	/* synced segments and announced state, in slug order */
	spi_ok(SPI_execute("SELECT x.* FROM ("
					   "  SELECT COALESCE(g.segment_id, s.segment_id) AS segment_id, "
					   "         COALESCE(g.slug, s.slug) AS slug, g.sync_tag, s.tag, s.members "
					   "    FROM (SELECT segment_id, slug, sync_tag FROM ecpower.segments "
					   "           WHERE sync_tag IS NOT NULL) AS g "
					   "    FULL JOIN ecpower.tag_sync_state AS s "
					   "      ON s.segment_id OPERATOR(pg_catalog.=) g.segment_id) AS x "
					   " ORDER BY x.slug COLLATE \"C\", x.segment_id",
					   true, 0),
		   SPI_OK_SELECT, "synced segment lookup");
	ntargets = (int) SPI_processed;
	targets = MemoryContextAlloc(fncxt, sizeof(SyncTarget) * Max(ntargets, 1));
	for (i = 0; i < ntargets; i++)
	{
		HeapTuple	tup = SPI_tuptable->vals[i];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		MemoryContext old = MemoryContextSwitchTo(fncxt);
		bool		isnull;
		Datum		d;

		targets[i].segment_id = DatumGetInt32(SPI_getbinval(tup, desc, 1, &isnull));
		targets[i].slug = text_value(tup, desc, 2);
		targets[i].tag = text_value(tup, desc, 3);
		targets[i].announced_tag = text_value(tup, desc, 4);
		d = SPI_getbinval(tup, desc, 5, &isnull);
		targets[i].announced = isnull ? NULL : DatumGetByteaPCopy(d);
		MemoryContextSwitchTo(old);
	}

	segcxt = AllocSetContextCreate(CurrentMemoryContext, "tag sync segment",
								   ALLOCSET_DEFAULT_SIZES);
	for (i = 0; i < ntargets; i++)
	{
		MemoryContext old;

		CHECK_FOR_INTERRUPTS();
		old = MemoryContextSwitchTo(segcxt);
		written += sync_one(&targets[i], &run);
		MemoryContextSwitchTo(old);
		MemoryContextReset(segcxt);
	}
	SPI_finish();
	PG_RETURN_INT64(written);
}

/*
 * segment_member_since(slug text) RETURNS TABLE (customer_id bigint,
 * member_since date)
 *		The members of a segment as of the last refresh, with the first
 *		refreshed day of their current unbroken membership: walking the
 *		segment's stored days backwards, a member's run ends at the first
 *		day the member is missing from.
 */
Datum
segment_member_since(PG_FUNCTION_ARGS)
{
	char	   *slug = text_to_cstring(PG_GETARG_TEXT_PP(0));
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	EcpRun		run;
	int32		seg;
	roaring_bitmap_t *members;
	roaring_bitmap_t *remaining;
	EcpKeyMap  *map;
	DateADT    *since;
	DateADT		later;
	DateADT    *days;
	int			ndays;
	Oid			argtypes[2] = {INT4OID, DATEOID};
	Datum		values[2];
	roaring_uint32_iterator_t it;
	int			i;

	InitMaterializedSRF(fcinfo, 0);
	ecp_check_input_access(ECP_INPUT_CUSTOMERS);
	ecp_require_current_run(&run);
	seg = ecp_segment_id(slug);
	members = ecp_members_on(seg, run.as_of_date);
	if (members == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("segment \"%s\" has not been refreshed yet", slug),
				 errhint("Run CALL ecpower.refresh().")));

	/* the earlier stored days, latest first */
	values[0] = Int32GetDatum(seg);
	values[1] = DateADTGetDatum(run.as_of_date);
	SPI_connect();
	spi_ok(SPI_execute_with_args("SELECT day FROM ecpower.membership "
								 " WHERE segment_id OPERATOR(pg_catalog.=) $1 "
								 "   AND day OPERATOR(pg_catalog.<) $2 "
								 " ORDER BY day DESC",
								 2, argtypes, values, NULL, true, 0),
		   SPI_OK_SELECT, "membership day lookup");
	ndays = (int) SPI_processed;
	days = MemoryContextAlloc(rsinfo->econtext->ecxt_per_query_memory,
							  sizeof(DateADT) * Max(ndays, 1));
	for (i = 0; i < ndays; i++)
	{
		bool		isnull;

		days[i] = DatumGetDateADT(SPI_getbinval(SPI_tuptable->vals[i],
												SPI_tuptable->tupdesc, 1, &isnull));
	}
	SPI_finish();

	map = ecp_keymap_load();
	since = palloc_extended(sizeof(DateADT) * ((Size) map->max_ckey + 1),
							MCXT_ALLOC_HUGE | MCXT_ALLOC_ZERO);

	/* members who drop out on a day were members since the day after */
	remaining = ecp_bitmap_own(roaring_bitmap_copy(members));
	later = run.as_of_date;
	for (i = 0; i < ndays && !roaring_bitmap_is_empty(remaining); i++)
	{
		roaring_bitmap_t *then = ecp_members_on(seg, days[i]);
		roaring_bitmap_t *dropped;

		CHECK_FOR_INTERRUPTS();
		if (then == NULL)
			continue;
		dropped = roaring_bitmap_andnot(remaining, then);
		roaring_init_iterator(dropped, &it);
		for (; it.has_value; roaring_advance_uint32_iterator(&it))
			if (it.current_value <= (uint32) map->max_ckey)
				since[it.current_value] = later;
		roaring_bitmap_free(dropped);
		roaring_bitmap_and_inplace(remaining, then);
		later = days[i];
	}
	roaring_init_iterator(remaining, &it);
	for (; it.has_value; roaring_advance_uint32_iterator(&it))
		if (it.current_value <= (uint32) map->max_ckey)
			since[it.current_value] = later;

	roaring_init_iterator(members, &it);
	for (; it.has_value; roaring_advance_uint32_iterator(&it))
	{
		Datum		row[2];
		bool		nulls[2] = {false, false};
		uint32		ckey = it.current_value;

		if (ckey > (uint32) map->max_ckey || !map->present[ckey])
			continue;			/* deleted since */
		row[0] = Int64GetDatum(map->customer_ids[ckey]);
		row[1] = DateADTGetDatum(since[ckey]);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, row, nulls);
	}
	return (Datum) 0;
}
