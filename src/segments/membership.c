/*-------------------------------------------------------------------------
 *
 * membership.c
 *	  Roaring-bitmap segment membership, its history, and refresh runs.
 *
 * A segment's members on a refreshed day are a roaring bitmap of dense
 * customer keys (customers.ckey), stored in ecpower.membership.  Daily
 * history of 50 segments over 1,000,000 customers would cost gigabytes a
 * year as full bitmaps, although little changes from one day to the next.
 * So a day is stored either as a keyframe ('f': the bitmap) or as a delta
 * ('d': XOR against the bitmap of an earlier stored day, base_day).  A delta
 * is used while it is less than half the size of the full bitmap and the
 * chain of deltas back to a keyframe is shorter than MAX_DELTA_CHAIN, so a
 * read decodes at most that many small bitmaps.
 *
 * Replacing a stored day (a re-run for the same day) first turns every day
 * stored as a delta against it into a keyframe, so no delta ever points at
 * a bitmap that changed under it.
 *
 * src/segments/membership.c
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
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"

#include "core/access.h"
#include "core/bitmap.h"
#include "core/ecpower.h"
#include "segments/membership.h"
#include "timeline/customers.h"

/* longest run of deltas before a keyframe is written */
#define MAX_DELTA_CHAIN		ECP_MAX_DELTA_CHAIN

PG_FUNCTION_INFO_V1(segment_members_current);
PG_FUNCTION_INFO_V1(segment_members_on_date);
PG_FUNCTION_INFO_V1(customer_segments);
PG_FUNCTION_INFO_V1(customer_segments_on_date);

/*
 * ecp_current_run
 *		The last successful refresh; false when there has been none.
 */
bool
ecp_current_run(EcpRun *run)
{
	bool		found = false;

	SPI_connect();
	if (SPI_execute("SELECT r.run_id, r.as_of, r.as_of_date"
					"  FROM ecpower.refresh_state s"
					"  JOIN ecpower.refresh_runs r"
					"    ON r.run_id OPERATOR(pg_catalog.=) s.current_run_id",
					true, 1) != SPI_OK_SELECT)
		elog(ERROR, "could not read ecpower.refresh_state");
	if (SPI_processed == 1)
	{
		HeapTuple	tup = SPI_tuptable->vals[0];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		bool		isnull;

		run->run_id = DatumGetInt64(SPI_getbinval(tup, desc, 1, &isnull));
		run->as_of = DatumGetTimestampTz(SPI_getbinval(tup, desc, 2, &isnull));
		run->as_of_date = DatumGetDateADT(SPI_getbinval(tup, desc, 3, &isnull));
		found = true;
	}
	SPI_finish();
	return found;
}

/*
 * ecp_require_current_run
 *		Like ecp_current_run, but a store never refreshed is an error.
 */
void
ecp_require_current_run(EcpRun *run)
{
	if (!ecp_current_run(run))
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("ecpower has not been refreshed yet"),
				 errhint("Run CALL ecpower.refresh(); reports answer as of the last successful refresh.")));
}

/*
 * ecp_segment_id
 *		segment_id of a slug; 42704 when there is no such segment.
 */
int32
ecp_segment_id(const char *slug)
{
	Oid			argtypes[1] = {TEXTOID};
	Datum		values[1];
	int32		result = 0;
	bool		found = false;

	values[0] = CStringGetTextDatum(slug);
	SPI_connect();
	if (SPI_execute_with_args("SELECT segment_id FROM ecpower.segments"
							  " WHERE slug OPERATOR(pg_catalog.=) $1",
							  1, argtypes, values, NULL, true, 1) != SPI_OK_SELECT)
		elog(ERROR, "could not read ecpower.segments");
	if (SPI_processed == 1)
	{
		bool		isnull;

		result = DatumGetInt32(SPI_getbinval(SPI_tuptable->vals[0],
											 SPI_tuptable->tupdesc, 1, &isnull));
		found = true;
	}
	SPI_finish();
	if (!found)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("segment \"%s\" does not exist", slug)));
	return result;
}

/* one stored row of ecpower.membership, fetched into the caller's context */
typedef struct StoredDay
{
	bool		found;
	char		kind;
	DateADT		base_day;
	int32		chain;
	bytea	   *members;
} StoredDay;

static StoredDay
fetch_day(int32 segment_id, DateADT day)
{
	MemoryContext caller = CurrentMemoryContext;
	Oid			argtypes[2] = {INT4OID, DATEOID};
	Datum		values[2];
	StoredDay	sd;

	memset(&sd, 0, sizeof(sd));
	values[0] = Int32GetDatum(segment_id);
	values[1] = DateADTGetDatum(day);
	SPI_connect();
	if (SPI_execute_with_args("SELECT kind, base_day, chain, members"
							  "  FROM ecpower.membership"
							  " WHERE segment_id OPERATOR(pg_catalog.=) $1"
							  "   AND day OPERATOR(pg_catalog.=) $2",
							  2, argtypes, values, NULL, true, 1) != SPI_OK_SELECT)
		elog(ERROR, "could not read ecpower.membership");
	if (SPI_processed == 1)
	{
		HeapTuple	tup = SPI_tuptable->vals[0];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		bool		isnull;
		MemoryContext old;

		sd.found = true;
		sd.kind = DatumGetChar(SPI_getbinval(tup, desc, 1, &isnull));
		sd.base_day = DatumGetDateADT(SPI_getbinval(tup, desc, 2, &isnull));
		if (isnull)
			sd.base_day = DATEVAL_NOBEGIN;
		sd.chain = DatumGetInt32(SPI_getbinval(tup, desc, 3, &isnull));
		old = MemoryContextSwitchTo(caller);
		sd.members = DatumGetByteaPCopy(SPI_getbinval(tup, desc, 4, &isnull));
		MemoryContextSwitchTo(old);
	}
	SPI_finish();
	return sd;
}

/* names a row of ecpower.membership in error messages */
static const char *
stored_day_name(int32 segment_id, DateADT day)
{
	return psprintf("ecpower.membership, segment %d, day %s", segment_id,
					DatumGetCString(DirectFunctionCall1(date_out, DateADTGetDatum(day))));
}

/*
 * ecp_members_on
 *		Members of a segment on a stored day, or NULL when that day has no
 *		stored membership.  Follows the delta chain back to its keyframe.
 */
roaring_bitmap_t *
ecp_members_on(int32 segment_id, DateADT day)
{
	StoredDay	sd = fetch_day(segment_id, day);
	roaring_bitmap_t *result;
	int			hops = 0;

	if (!sd.found)
		return NULL;
	result = ecp_bitmap_deserialize(sd.members, stored_day_name(segment_id, day));
	while (sd.kind == 'd')
	{
		DateADT		base = sd.base_day;

		CHECK_FOR_INTERRUPTS();
		if (++hops > MAX_DELTA_CHAIN * 4)
			ereport(ERROR,
					(errcode(ERRCODE_DATA_CORRUPTED),
					 errmsg("membership history of segment %d is corrupted: delta chain too long",
							segment_id)));
		sd = fetch_day(segment_id, base);
		if (!sd.found)
			ereport(ERROR,
					(errcode(ERRCODE_DATA_CORRUPTED),
					 errmsg("membership history of segment %d is corrupted: base day %s is missing",
							segment_id,
							DatumGetCString(DirectFunctionCall1(date_out, DateADTGetDatum(base))))));
		roaring_bitmap_xor_inplace(result,
								   ecp_bitmap_deserialize(sd.members,
														  stored_day_name(segment_id, base)));
	}

	ecp_check_member_keys(result, stored_day_name(segment_id, day));
	return result;
}

/* insert one row of ecpower.membership */
static void
insert_day(int32 segment_id, DateADT day, int64 run_id, int32 count,
		   char kind, DateADT base_day, int32 chain, bytea *members)
{
	Oid			argtypes[8] = {INT4OID, DATEOID, INT8OID, INT4OID, CHAROID,
	DATEOID, INT4OID, BYTEAOID};
	Datum		values[8];
	char		nulls[8] = "        ";

	values[0] = Int32GetDatum(segment_id);
	values[1] = DateADTGetDatum(day);
	values[2] = Int64GetDatum(run_id);
	values[3] = Int32GetDatum(count);
	values[4] = CharGetDatum(kind);
	values[5] = DateADTGetDatum(base_day);
	if (kind == 'f')
		nulls[5] = 'n';
	values[6] = Int32GetDatum(chain);
	values[7] = PointerGetDatum(members);
	if (SPI_execute_with_args("INSERT INTO ecpower.membership"
							  " (segment_id, day, run_id, member_count, kind, base_day, chain, members)"
							  " VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
							  8, argtypes, values, nulls, false, 0) != SPI_OK_INSERT)
		elog(ERROR, "could not write ecpower.membership");
}

/*
 * ecp_members_current
 *		Members of a segment on the day of the given (current) run; a segment
 *		created after that run is an error (55000) telling to refresh.
 */
roaring_bitmap_t *
ecp_members_current(int32 segment_id, const char *slug, const EcpRun *run)
{
	roaring_bitmap_t *members = ecp_members_on(segment_id, run->as_of_date);

	if (members == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("segment \"%s\" has not been refreshed yet", slug),
				 errdetail("The last refresh (as of %s) ran before the segment was created.",
						   ecp_date_text(run->as_of_date)),
				 errhint("Run CALL ecpower.refresh().")));
	return members;
}

/*
 * ecp_members_store
 *		Store (or replace) a segment's members for a day.
 *
 * Must run inside the refresh transaction: a reader sees the old or the new
 * day, never a mix, by MVCC.
 */
void
ecp_members_store(int32 segment_id, DateADT day, int64 run_id,
				  roaring_bitmap_t *members)
{
	MemoryContext tmp = AllocSetContextCreate(CurrentMemoryContext,
											  "ecpower membership store",
											  ALLOCSET_DEFAULT_SIZES);
	MemoryContext old = MemoryContextSwitchTo(tmp);
	Oid			argtypes[2] = {INT4OID, DATEOID};
	Datum		values[2];
	int32		count = (int32) roaring_bitmap_get_cardinality(members);
	bytea	   *full = ecp_bitmap_serialize(members);
	bool		have_prev = false;
	DateADT		prev_day = 0;
	int32		prev_chain = 0;
	int			ndeps;
	DateADT    *deps;

	values[0] = Int32GetDatum(segment_id);
	values[1] = DateADTGetDatum(day);

	/* days stored as deltas against this day become keyframes first */
	SPI_connect();
	if (SPI_execute_with_args("SELECT day FROM ecpower.membership"
							  " WHERE segment_id OPERATOR(pg_catalog.=) $1"
							  "   AND base_day OPERATOR(pg_catalog.=) $2",
							  2, argtypes, values, NULL, true, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not read ecpower.membership");
	ndeps = (int) SPI_processed;
	deps = MemoryContextAlloc(tmp, sizeof(DateADT) * Max(ndeps, 1));
	for (int i = 0; i < ndeps; i++)
	{
		bool		isnull;

		deps[i] = DatumGetDateADT(SPI_getbinval(SPI_tuptable->vals[i],
												SPI_tuptable->tupdesc, 1, &isnull));
	}
	SPI_finish();
	MemoryContextSwitchTo(tmp);

	for (int i = 0; i < ndeps; i++)
	{
		roaring_bitmap_t *dep = ecp_members_on(segment_id, deps[i]);
		Oid			uargtypes[3] = {INT4OID, DATEOID, BYTEAOID};
		Datum		uvalues[3];

		uvalues[0] = Int32GetDatum(segment_id);
		uvalues[1] = DateADTGetDatum(deps[i]);
		uvalues[2] = PointerGetDatum(ecp_bitmap_serialize(dep));
		SPI_connect();
		if (SPI_execute_with_args("UPDATE ecpower.membership"
								  "   SET kind = 'f', base_day = NULL, chain = 0, members = $3"
								  " WHERE segment_id OPERATOR(pg_catalog.=) $1"
								  "   AND day OPERATOR(pg_catalog.=) $2",
								  3, uargtypes, uvalues, NULL, false, 0) != SPI_OK_UPDATE)
			elog(ERROR, "could not rewrite ecpower.membership");
		SPI_finish();
		MemoryContextSwitchTo(tmp);
	}

	/* the previous stored day is the delta base */
	SPI_connect();
	if (SPI_execute_with_args("DELETE FROM ecpower.membership"
							  " WHERE segment_id OPERATOR(pg_catalog.=) $1"
							  "   AND day OPERATOR(pg_catalog.=) $2",
							  2, argtypes, values, NULL, false, 0) != SPI_OK_DELETE)
		elog(ERROR, "could not write ecpower.membership");
	if (SPI_execute_with_args("SELECT day, chain FROM ecpower.membership"
							  " WHERE segment_id OPERATOR(pg_catalog.=) $1"
							  "   AND day OPERATOR(pg_catalog.<) $2"
							  " ORDER BY day DESC LIMIT 1",
							  2, argtypes, values, NULL, true, 1) != SPI_OK_SELECT)
		elog(ERROR, "could not read ecpower.membership");
	if (SPI_processed == 1)
	{
		bool		isnull;

		have_prev = true;
		prev_day = DatumGetDateADT(SPI_getbinval(SPI_tuptable->vals[0],
												 SPI_tuptable->tupdesc, 1, &isnull));
		prev_chain = DatumGetInt32(SPI_getbinval(SPI_tuptable->vals[0],
												 SPI_tuptable->tupdesc, 2, &isnull));
	}
	SPI_finish();
	MemoryContextSwitchTo(tmp);

	if (have_prev && prev_chain < MAX_DELTA_CHAIN)
	{
		roaring_bitmap_t *base = ecp_members_on(segment_id, prev_day);
		roaring_bitmap_t *delta = ecp_bitmap_own(roaring_bitmap_xor(base, members));
		bytea	   *dbytes = ecp_bitmap_serialize(delta);

		if (VARSIZE(dbytes) * 2 < VARSIZE(full))
		{
			SPI_connect();
			insert_day(segment_id, day, run_id, count, 'd', prev_day,
					   prev_chain + 1, dbytes);
			SPI_finish();
			MemoryContextSwitchTo(old);
			MemoryContextDelete(tmp);
			return;
		}
	}
	SPI_connect();
	insert_day(segment_id, day, run_id, count, 'f', 0, 0, full);
	SPI_finish();
	MemoryContextSwitchTo(old);
	MemoryContextDelete(tmp);
}

/*
 * ecp_members_delete_segment
 *		Forget a segment's whole membership history.
 */
void
ecp_members_delete_segment(int32 segment_id)
{
	Oid			argtypes[1] = {INT4OID};
	Datum		values[1];

	values[0] = Int32GetDatum(segment_id);
	SPI_connect();
	if (SPI_execute_with_args("DELETE FROM ecpower.membership"
							  " WHERE segment_id OPERATOR(pg_catalog.=) $1",
							  1, argtypes, values, NULL, false, 0) != SPI_OK_DELETE)
		elog(ERROR, "could not delete from ecpower.membership");
	SPI_finish();
}

/* return a sorted id list as SETOF bigint */
static void
return_ids(FunctionCallInfo fcinfo, int64 *ids, int n)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;

	InitMaterializedSRF(fcinfo, MAT_SRF_USE_EXPECTED_DESC);
	for (int i = 0; i < n; i++)
	{
		Datum		value = Int64GetDatum(ids[i]);
		bool		isnull = false;

		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, &value, &isnull);
	}
}

/*
 * segment_members(slug text) RETURNS SETOF bigint
 *		Customer ids in a segment as of the last refresh, ascending.
 */
Datum
segment_members_current(PG_FUNCTION_ARGS)
{
	char	   *slug = text_to_cstring(PG_GETARG_TEXT_PP(0));
	EcpRun		run;
	int32		seg;
	roaring_bitmap_t *members;
	int64	   *ids;
	int			n;

	ecp_check_input_access(ECP_INPUT_CUSTOMERS);
	ecp_require_current_run(&run);
	seg = ecp_segment_id(slug);
	members = ecp_members_current(seg, slug, &run);
	ids = ecp_members_customer_ids(members, &n);
	return_ids(fcinfo, ids, n);
	return (Datum) 0;
}

/*
 * segment_members(slug text, on_date date) RETURNS SETOF bigint
 *		Customer ids in a segment on a refreshed day (point in time).
 */
Datum
segment_members_on_date(PG_FUNCTION_ARGS)
{
	char	   *slug = text_to_cstring(PG_GETARG_TEXT_PP(0));
	DateADT		day = PG_GETARG_DATEADT(1);
	int32		seg;
	roaring_bitmap_t *members;
	int64	   *ids;
	int			n;

	ecp_check_input_access(ECP_INPUT_CUSTOMERS);
	seg = ecp_segment_id(slug);
	members = ecp_members_on(seg, day);
	if (members == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("no membership of segment \"%s\" is stored for %s",
						slug, DatumGetCString(DirectFunctionCall1(date_out, DateADTGetDatum(day)))),
				 errhint("Membership history exists for the days a refresh ran for; see ecpower.refresh_runs.")));
	ids = ecp_members_customer_ids(members, &n);
	return_ids(fcinfo, ids, n);
	return (Datum) 0;
}

/*
 * segments_of_customer
 *		Put the slugs of the segments whose stored membership for 'day'
 *		holds the customer into the SRF result.  Returns false when no
 *		segment has membership stored for that day.
 */
static bool
segments_of_customer(FunctionCallInfo fcinfo, int64 customer_id, DateADT day)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	MemoryContext caller = CurrentMemoryContext;
	int32		ckey = -1;
	int			nseg;
	int32	   *seg_ids;
	char	  **slugs;
	bool		stored = false;
	Oid			argtypes[1] = {INT8OID};
	Datum		values[1];

	values[0] = Int64GetDatum(customer_id);
	SPI_connect();
	if (SPI_execute_with_args("SELECT ckey FROM ecpower.customers"
							  " WHERE customer_id OPERATOR(pg_catalog.=) $1",
							  1, argtypes, values, NULL, true, 1) != SPI_OK_SELECT)
		elog(ERROR, "could not read ecpower.customers");
	if (SPI_processed == 1)
	{
		bool		isnull;

		ckey = DatumGetInt32(SPI_getbinval(SPI_tuptable->vals[0],
										   SPI_tuptable->tupdesc, 1, &isnull));
	}
	if (SPI_execute("SELECT segment_id, slug FROM ecpower.segments"
					" ORDER BY slug COLLATE \"C\"", true, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not read ecpower.segments");
	nseg = (int) SPI_processed;
	seg_ids = MemoryContextAlloc(caller, sizeof(int32) * Max(nseg, 1));
	slugs = MemoryContextAlloc(caller, sizeof(char *) * Max(nseg, 1));
	for (int i = 0; i < nseg; i++)
	{
		bool		isnull;
		char	   *s;

		seg_ids[i] = DatumGetInt32(SPI_getbinval(SPI_tuptable->vals[i],
												 SPI_tuptable->tupdesc, 1, &isnull));
		s = SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 2);
		slugs[i] = MemoryContextStrdup(caller, s);
	}
	SPI_finish();
	MemoryContextSwitchTo(caller);

	for (int i = 0; i < nseg; i++)
	{
		roaring_bitmap_t *members = ecp_members_on(seg_ids[i], day);

		if (members == NULL)
			continue;
		stored = true;
		if (ckey >= 0 && roaring_bitmap_contains(members, (uint32) ckey))
		{
			Datum		value = CStringGetTextDatum(slugs[i]);
			bool		isnull = false;

			tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, &value, &isnull);
		}
	}
	return stored;
}

/*
 * customer_segments(customer_id bigint) RETURNS SETOF text
 *		Slugs of the segments a customer is in as of the last refresh.
 */
Datum
customer_segments(PG_FUNCTION_ARGS)
{
	int64		customer_id = PG_GETARG_INT64(0);
	EcpRun		run;

	InitMaterializedSRF(fcinfo, MAT_SRF_USE_EXPECTED_DESC);
	ecp_check_input_access(ECP_INPUT_CUSTOMERS);
	if (!ecp_current_run(&run))
		return (Datum) 0;
	(void) segments_of_customer(fcinfo, customer_id, run.as_of_date);
	return (Datum) 0;
}

/*
 * customer_segments(customer_id bigint, on_date date) RETURNS SETOF text
 *		Slugs of the segments a customer was in on a stored day (refreshed
 *		or backfilled); 22023 when no membership is stored for that day.
 */
Datum
customer_segments_on_date(PG_FUNCTION_ARGS)
{
	int64		customer_id = PG_GETARG_INT64(0);
	DateADT		day = PG_GETARG_DATEADT(1);

	InitMaterializedSRF(fcinfo, MAT_SRF_USE_EXPECTED_DESC);
	ecp_check_input_access(ECP_INPUT_CUSTOMERS);
	if (!segments_of_customer(fcinfo, customer_id, day))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("no membership is stored for %s",
						DatumGetCString(DirectFunctionCall1(date_out, DateADTGetDatum(day)))),
				 errhint("Membership history exists for the days a refresh ran for and the days ecpower.backfill() stored; see ecpower.refresh_runs.")));
	return (Datum) 0;
}
