/*-------------------------------------------------------------------------
 *
 * refresh.c
 *	  Evaluate every segment and RFM for a refresh run and store them.
 *
 * ecpower._refresh_compute(run_id, as_of) is called by the refresh
 * procedure inside the transaction that also flips ecpower.refresh_state,
 * so readers see the previous or the new membership and RFM, never a mix.
 * All segments are compiled into one program (dependency order) and
 * evaluated in one pass over the orders (evaluate.c); each segment's
 * bitmap goes to ecp_members_store() (membership.c), which replaces the
 * day if it was stored before, so a re-run for the same as_of_date is
 * idempotent.  ecp_rfm_store() (rfmstore.c) replaces the stored RFM of
 * every customer.
 *
 * src/refresh.c
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
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"

#include "definition.h"
#include "ecpower.h"
#include "evaluate.h"
#include "membership.h"
#include "refresh.h"

PG_FUNCTION_INFO_V1(refresh_compute);
PG_FUNCTION_INFO_V1(refresh_can_commit);

/*
 * _refresh_compute(run_id bigint, as_of timestamptz,
 *					OUT segments int, OUT customers int)
 *		Evaluate every segment and RFM as of 'as_of' and store membership
 *		for the run's as_of_date and RFM.  The caller holds the refresh lock
 *		and commits (or not) together with the run's bookkeeping.
 */
Datum
refresh_compute(PG_FUNCTION_ARGS)
{
	int64		run_id = PG_GETARG_INT64(0);
	TimestampTz as_of = PG_GETARG_TIMESTAMPTZ(1);
	MemoryContext work;
	MemoryContext old;
	EcpProgram *prog;
	EcpEval    *ev;
	TupleDesc	desc;
	Datum		values[2];
	bool		nulls[2] = {false, false};
	int32		nseg;
	int32		ncust;
	instr_time	t;

	if (get_call_result_type(fcinfo, NULL, &desc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");
	if (TIMESTAMP_NOT_FINITE(as_of))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("as_of must be a finite timestamp")));

	work = AllocSetContextCreate(CurrentMemoryContext, "ecpower refresh",
								 ALLOCSET_DEFAULT_SIZES);
	old = MemoryContextSwitchTo(work);
	prog = ecp_program_build(NULL);
	ev = ecp_eval_run(prog, as_of, true, false, true);
	INSTR_TIME_SET_CURRENT(t);
	for (int r = 0; r < prog->nroots; r++)
	{
		CHECK_FOR_INTERRUPTS();
		ecp_members_store(prog->roots[r].segment_id, ev->as_of_date, run_id,
						  ev->members[r]);
	}
	ecp_phase_done(&t, "refresh", "storing membership");
	ecp_rfm_store(ev, run_id);
	ecp_phase_done(&t, "refresh", "storing RFM");
	nseg = prog->nroots;
	ncust = ev->ncust;
	MemoryContextSwitchTo(old);
	MemoryContextDelete(work);

	values[0] = Int32GetDatum(nseg);
	values[1] = Int32GetDatum(ncust);
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(BlessTupleDesc(desc), values, nulls)));
}

/*
 * _refresh_can_commit() RETURNS bool
 *		Can the calling procedure COMMIT?  True when the refresh procedure
 *		was called by a top-level CALL (psql, pg_cron) or a DO block; false
 *		inside a transaction block or when called from a function, where it
 *		must run in the caller's transaction.  The procedure's own SPI
 *		connection records this (it is nonatomic only when COMMIT is
 *		allowed), and we run inside it while the procedure executes us.
 */
Datum
refresh_can_commit(PG_FUNCTION_ARGS)
{
	PG_RETURN_BOOL(SPI_inside_nonatomic_context());
}
