/*-------------------------------------------------------------------------
 *
 * backfill.c
 *	  Membership history and KPI snapshots for past days (docs/backfill.md).
 *
 * ecpower._backfill_compute(run_id, from_date, to_date) is called by the
 * procedure ecpower.backfill() (src/sql/48_backfill.sql), which owns the
 * argument checks, the refresh lock and the run log.  For every day D of
 * the range it stores what CALL ecpower.refresh(as_of) with as_of = the
 * last microsecond of store-local day D would store as history: every
 * segment's membership for D and the day's KPI snapshots.  It does not
 * touch the current membership, RFM, the tag feed or refresh_state.
 *
 * Days are computed in one forward sweep.  The program is compiled once;
 * every day reads the customers and the order cache again and evaluates
 * every segment whose answer depends on the day (relative periods,
 * days_since_* metrics, RFM, predictions, relative customer_created) for
 * every customer; a segment whose answer depends only on a customer's
 * counted orders is carried from the day before and evaluated only for
 * the customers with an order dated on the new day
 * (ecp_eval_run_carry(), evaluate.c).  Membership is written as XOR deltas
 * against the previous day held in memory, so no stored day is read back,
 * and each day's rows go through one prepared statement.  Stored days after the range that are deltas against a day
 * of the range become keyframes first, so no delta points at a bitmap
 * that changes under it (as ecp_members_store() does for one day).
 *
 * src/refresh/backfill.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "portability/instr_time.h"
#include "utils/builtins.h"
#include "utils/date.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"

#include "core/access.h"
#include "core/bitmap.h"
#include "core/ecpower.h"
#include "reports/kpi.h"
#include "refresh/refresh.h"
#include "segments/definition.h"
#include "segments/evaluate.h"
#include "segments/membership.h"

PG_FUNCTION_INFO_V1(backfill_compute);

/* the delta chain of one segment while the sweep writes it */
typedef struct SegChain
{
	int32		segment_id;
	bool		have_prev;
	DateADT		prev_day;
	int32		prev_chain;
	roaring_bitmap_t *prev;		/* members on prev_day */
} SegChain;

/*
 * end_of_day
 *		The last microsecond of store-local day 'day': the as_of of a
 *		refresh that counts the orders dated up to and including that day.
 */
static TimestampTz
end_of_day(DateADT day)
{
	Oid			argtypes[1] = {DATEOID};
	Datum		args[1];
	TimestampTz result;
	bool		isnull;

	args[0] = DateADTGetDatum(day);
	SPI_connect();
	if (SPI_execute_with_args("SELECT ((($1 OPERATOR(pg_catalog.+) 1)::pg_catalog.timestamp"
							  "         AT TIME ZONE s.store_timezone)"
							  "        OPERATOR(pg_catalog.-) '1 microsecond'::pg_catalog.interval)"
							  "  FROM ecpower.settings AS s",
							  1, argtypes, args, NULL, true, 1) != SPI_OK_SELECT)
		elog(ERROR, "could not read ecpower.settings");
	if (SPI_processed != 1)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("ecpower.settings has no row")));
	result = DatumGetTimestampTz(SPI_getbinval(SPI_tuptable->vals[0],
											   SPI_tuptable->tupdesc, 1, &isnull));
	SPI_finish();
	return result;
}

/*
 * prepare_range
 *		Make room for the days [from, to] of every segment: stored days
 *		after the range that are deltas against a day of it become
 *		keyframes, then the range's stored days are deleted.
 */
static void
prepare_range(DateADT from, DateADT to)
{
	MemoryContext caller = CurrentMemoryContext;
	Oid			argtypes[2] = {DATEOID, DATEOID};
	Datum		args[2];
	int			ndeps;
	int32	   *dep_seg;
	DateADT    *dep_day;
	SPIPlanPtr	upd;
	Oid			uargtypes[3] = {INT4OID, DATEOID, BYTEAOID};

	args[0] = DateADTGetDatum(from);
	args[1] = DateADTGetDatum(to);
	SPI_connect();
	if (SPI_execute_with_args("SELECT segment_id, day FROM ecpower.membership"
							  " WHERE day OPERATOR(pg_catalog.>) $2"
							  "   AND base_day OPERATOR(pg_catalog.>=) $1"
							  "   AND base_day OPERATOR(pg_catalog.<=) $2"
							  " ORDER BY segment_id, day",
							  2, argtypes, args, NULL, true, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not read ecpower.membership");
	ndeps = (int) SPI_processed;
	dep_seg = MemoryContextAlloc(caller, sizeof(int32) * Max(ndeps, 1));
	dep_day = MemoryContextAlloc(caller, sizeof(DateADT) * Max(ndeps, 1));
	for (int i = 0; i < ndeps; i++)
	{
		bool		isnull;

		dep_seg[i] = DatumGetInt32(SPI_getbinval(SPI_tuptable->vals[i],
												 SPI_tuptable->tupdesc, 1, &isnull));
		dep_day[i] = DatumGetDateADT(SPI_getbinval(SPI_tuptable->vals[i],
												   SPI_tuptable->tupdesc, 2, &isnull));
	}
	SPI_finish();
	MemoryContextSwitchTo(caller);

	/* read every such day first: later ones may chain through earlier ones */
	{
		bytea	  **bytes = palloc(sizeof(bytea *) * Max(ndeps, 1));

		for (int i = 0; i < ndeps; i++)
		{
			CHECK_FOR_INTERRUPTS();
			bytes[i] = ecp_bitmap_serialize(ecp_members_on(dep_seg[i], dep_day[i]));
		}
		SPI_connect();
		upd = SPI_prepare("UPDATE ecpower.membership"
						  "   SET kind = 'f', base_day = NULL, chain = 0, members = $3"
						  " WHERE segment_id OPERATOR(pg_catalog.=) $1"
						  "   AND day OPERATOR(pg_catalog.=) $2",
						  3, uargtypes);
		if (upd == NULL)
			elog(ERROR, "could not prepare the membership update");
		for (int i = 0; i < ndeps; i++)
		{
			Datum		uvalues[3];

			uvalues[0] = Int32GetDatum(dep_seg[i]);
			uvalues[1] = DateADTGetDatum(dep_day[i]);
			uvalues[2] = PointerGetDatum(bytes[i]);
			if (SPI_execute_plan(upd, uvalues, NULL, false, 0) != SPI_OK_UPDATE)
				elog(ERROR, "could not rewrite ecpower.membership");
		}
		if (SPI_execute_with_args("DELETE FROM ecpower.membership"
								  " WHERE day OPERATOR(pg_catalog.>=) $1"
								  "   AND day OPERATOR(pg_catalog.<=) $2",
								  2, argtypes, args, NULL, false, 0) != SPI_OK_DELETE)
			elog(ERROR, "could not write ecpower.membership");
		SPI_finish();
		MemoryContextSwitchTo(caller);
	}
}

/*
 * chain_start
 *		The last stored day of a segment before 'from', the base of the
 *		first backfilled day when a delta against it is small enough.
 */
static void
chain_start(SegChain *sc, DateADT from)
{
	MemoryContext caller = CurrentMemoryContext;
	Oid			argtypes[2] = {INT4OID, DATEOID};
	Datum		args[2];

	args[0] = Int32GetDatum(sc->segment_id);
	args[1] = DateADTGetDatum(from);
	sc->have_prev = false;
	sc->prev = NULL;
	SPI_connect();
	if (SPI_execute_with_args("SELECT day, chain FROM ecpower.membership"
							  " WHERE segment_id OPERATOR(pg_catalog.=) $1"
							  "   AND day OPERATOR(pg_catalog.<) $2"
							  " ORDER BY day DESC LIMIT 1",
							  2, argtypes, args, NULL, true, 1) != SPI_OK_SELECT)
		elog(ERROR, "could not read ecpower.membership");
	if (SPI_processed == 1)
	{
		bool		isnull;

		sc->have_prev = true;
		sc->prev_day = DatumGetDateADT(SPI_getbinval(SPI_tuptable->vals[0],
													 SPI_tuptable->tupdesc, 1, &isnull));
		sc->prev_chain = DatumGetInt32(SPI_getbinval(SPI_tuptable->vals[0],
													 SPI_tuptable->tupdesc, 2, &isnull));
	}
	SPI_finish();
	MemoryContextSwitchTo(caller);
	if (sc->have_prev)
		sc->prev = ecp_members_on(sc->segment_id, sc->prev_day);
}

/*
 * store_day
 *		Write one segment's members for 'day' through the prepared insert:
 *		an XOR delta against the previous day when it is less than half the
 *		size of the bitmap and the chain is short enough, else a keyframe.
 *		The chain then moves to this day; 'keep' is the context that holds
 *		the bitmap until the next day.
 */
static void
store_day(SPIPlanPtr ins, SegChain *sc, DateADT day, int64 run_id,
		  roaring_bitmap_t *members, MemoryContext keep)
{
	bytea	   *full = ecp_bitmap_serialize(members);
	Datum		values[8];
	char		nulls[8] = "        ";
	char		kind = 'f';
	int32		chain = 0;
	bytea	   *stored = full;
	MemoryContext old;

	if (sc->have_prev && sc->prev_chain < ECP_MAX_DELTA_CHAIN)
	{
		roaring_bitmap_t *delta = ecp_bitmap_own(roaring_bitmap_xor(sc->prev, members));
		bytea	   *dbytes = ecp_bitmap_serialize(delta);

		if (VARSIZE(dbytes) * 2 < VARSIZE(full))
		{
			kind = 'd';
			chain = sc->prev_chain + 1;
			stored = dbytes;
		}
	}
	values[0] = Int32GetDatum(sc->segment_id);
	values[1] = DateADTGetDatum(day);
	values[2] = Int64GetDatum(run_id);
	values[3] = Int32GetDatum((int32) roaring_bitmap_get_cardinality(members));
	values[4] = CharGetDatum(kind);
	values[5] = DateADTGetDatum(sc->prev_day);
	if (kind == 'f')
		nulls[5] = 'n';
	values[6] = Int32GetDatum(chain);
	values[7] = PointerGetDatum(stored);
	if (SPI_execute_plan(ins, values, nulls, false, 0) != SPI_OK_INSERT)
		elog(ERROR, "could not write ecpower.membership");

	old = MemoryContextSwitchTo(keep);
	sc->prev = ecp_bitmap_own(roaring_bitmap_copy(members));
	MemoryContextSwitchTo(old);
	sc->have_prev = true;
	sc->prev_day = day;
	sc->prev_chain = chain;
}

/*
 * _backfill_compute(run_id bigint, from_date date, to_date date,
 *					 OUT days int, OUT segments int, OUT customers int)
 *		Store membership history and KPI snapshots of every segment for
 *		every day of [from_date, to_date], as refreshes at the end of each
 *		day would have.  The caller checked the range, holds the refresh
 *		lock and logged the run.
 */
Datum
backfill_compute(PG_FUNCTION_ARGS)
{
	int64		run_id = PG_GETARG_INT64(0);
	DateADT		from = PG_GETARG_DATEADT(1);
	DateADT		to = PG_GETARG_DATEADT(2);
	MemoryContext work;
	MemoryContext old;
	MemoryContext keep;
	EcpProgram *prog;
	SegChain   *chains;
	roaring_bitmap_t **prev;
	bool	   *carry;
	int32	   *seg_ids;
	SPIPlanPtr	ins;
	Oid			argtypes[8] = {INT4OID, DATEOID, INT8OID, INT4OID, CHAROID,
	DATEOID, INT4OID, BYTEAOID};
	TupleDesc	desc;
	Datum		values[3];
	bool		nulls[3] = {false, false, false};
	int32		nseg;
	int32		ncust = 0;
	instr_time	t;

	if (get_call_result_type(fcinfo, NULL, &desc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");
	if (DATE_NOT_FINITE(from) || DATE_NOT_FINITE(to) || from > to)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid backfill range %s to %s",
						ecp_date_text(from), ecp_date_text(to))));
	ecp_check_input_access(ECP_INPUT_ALL);

	work = AllocSetContextCreate(CurrentMemoryContext, "ecpower backfill",
								 ALLOCSET_DEFAULT_SIZES);
	old = MemoryContextSwitchTo(work);
	INSTR_TIME_SET_CURRENT(t);
	prog = ecp_program_build(NULL);
	nseg = prog->nroots;
	chains = palloc0(sizeof(SegChain) * Max(nseg, 1));
	prev = palloc0(sizeof(roaring_bitmap_t *) * Max(nseg, 1));
	carry = ecp_program_carry_roots(prog);
	seg_ids = palloc(sizeof(int32) * Max(nseg, 1));
	prepare_range(from, to);
	keep = AllocSetContextCreate(work, "ecpower backfill chain", ALLOCSET_DEFAULT_SIZES);
	for (int r = 0; r < nseg; r++)
	{
		MemoryContext o2 = MemoryContextSwitchTo(keep);

		seg_ids[r] = prog->roots[r].segment_id;
		chains[r].segment_id = seg_ids[r];
		chain_start(&chains[r], from);
		MemoryContextSwitchTo(o2);
	}
	ecp_phase_done(&t, "backfill", "preparing the range");

	for (DateADT day = from; day <= to; day++)
	{
		MemoryContext per_day = AllocSetContextCreate(work, "ecpower backfill day",
													  ALLOCSET_DEFAULT_SIZES);
		MemoryContext next_keep = AllocSetContextCreate(work, "ecpower backfill chain",
														ALLOCSET_DEFAULT_SIZES);
		EcpRun		run;
		EcpEval    *ev;

		CHECK_FOR_INTERRUPTS();
		MemoryContextSwitchTo(per_day);
		run.run_id = run_id;
		run.as_of = end_of_day(day);
		run.as_of_date = day;
		if (day == from)
			ev = ecp_eval_run(prog, run.as_of, false, false, true);
		else
		{
			/* the chains hold the members of the day before */
			for (int r = 0; r < nseg; r++)
				prev[r] = chains[r].prev;
			ev = ecp_eval_run_carry(prog, run.as_of, true, carry, prev);
		}
		if (ev->as_of_date != day)
			elog(ERROR, "the end of day %s is on %s", ecp_date_text(day),
				 ecp_date_text(ev->as_of_date));
		SPI_connect();
		ins = SPI_prepare("INSERT INTO ecpower.membership"
						  " (segment_id, day, run_id, member_count, kind, base_day, chain, members)"
						  " VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
						  8, argtypes);
		if (ins == NULL)
			elog(ERROR, "could not prepare the membership insert");
		for (int r = 0; r < nseg; r++)
			store_day(ins, &chains[r], day, run_id, ev->members[r], next_keep);
		SPI_finish();
		MemoryContextSwitchTo(per_day);
		ecp_snapshot_kpis_day(&run, ecp_eval_counted_set(ev), nseg, seg_ids, ev->members);
		ncust = ev->ncust;
		MemoryContextSwitchTo(work);
		MemoryContextDelete(per_day);
		MemoryContextDelete(keep);
		keep = next_keep;
	}
	ecp_phase_done(&t, "backfill", "days");
	MemoryContextSwitchTo(old);
	MemoryContextDelete(work);

	values[0] = Int32GetDatum((int32) (to - from + 1));
	values[1] = Int32GetDatum(nseg);
	values[2] = Int32GetDatum(ncust);
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(BlessTupleDesc(desc), values, nulls)));
}
