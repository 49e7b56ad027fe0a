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
 * src/refresh/refresh.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "common/int.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "portability/instr_time.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"

#include "core/access.h"
#include "segments/definition.h"
#include "core/ecpower.h"
#include "segments/evaluate.h"
#include "reports/kpi.h"
#include "segments/membership.h"
#include "timeline/customers.h"
#include "refresh/refresh.h"

PG_FUNCTION_INFO_V1(refresh_compute);
PG_FUNCTION_INFO_V1(refresh_can_commit);

/*
 * ecp_eval_counted_set
 *		The counted orders an evaluation holds, grouped by customer key, as
 *		the KPI functions read them (kpi_report.c), without reading them
 *		again.
 */
EcpCountedSet *
ecp_eval_counted_set(EcpEval *ev)
{
	EcpKeyMap  *keys = palloc0(sizeof(EcpKeyMap));
	EcpCountedSet *os = palloc0(sizeof(EcpCountedSet));
	int32	   *ckey = palloc_extended(sizeof(int32) * Max(ev->norders, 1), MCXT_ALLOC_HUGE);
	DateADT    *day = palloc_extended(sizeof(DateADT) * Max(ev->norders, 1), MCXT_ALLOC_HUGE);
	int64	   *cents = palloc_extended(sizeof(int64) * Max(ev->norders, 1), MCXT_ALLOC_HUGE);
	int64	   *profit = palloc_extended(sizeof(int64) * Max(ev->norders, 1), MCXT_ALLOC_HUGE);
	int64		abs_total = 0;

	for (int32 c = 0; c < ev->ncust; c++)
		keys->max_ckey = Max(keys->max_ckey, ev->ckey[c]);
	keys->ncustomers = ev->ncust;
	keys->customer_ids = palloc_extended(sizeof(int64) * (keys->max_ckey + 1),
										 MCXT_ALLOC_HUGE | MCXT_ALLOC_ZERO);
	keys->present = palloc_extended(sizeof(bool) * (keys->max_ckey + 1),
									MCXT_ALLOC_HUGE | MCXT_ALLOC_ZERO);
	for (int32 c = 0; c < ev->ncust; c++)
	{
		keys->customer_ids[ev->ckey[c]] = ev->cust_id[c];
		keys->present[ev->ckey[c]] = true;
	}
	os->keys = keys;
	os->nkeys = keys->max_ckey + 1;
	for (int64 i = 0; i < ev->norders; i++)
	{
		const EcpOrder *o = &ev->orders[i];

		ckey[i] = ev->ckey[o->cust];
		day[i] = o->day;
		cents[i] = o->net;
		profit[i] = o->costed ? o->profit : ECP_PROFIT_UNKNOWN;
		/* as ecp_counted_orders(): every sum of these amounts is in range */
		if (pg_add_s64_overflow(abs_total, o->net < 0 ? -o->net : o->net, &abs_total))
			ereport(ERROR,
					(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
					 errmsg("total of order amounts out of range")));
		os->revenue += o->net;
	}
	ecp_order_set_group(os, ev->norders, ckey, day, cents, profit);
	pfree(ckey);
	pfree(day);
	pfree(cents);
	pfree(profit);
	return os;
}

/*
 * snapshot_from_eval
 *		Take the run's KPI snapshots (kpi_report.c) from the orders and the
 *		membership the evaluation holds, without reading them again.
 */
static void
snapshot_from_eval(EcpEval *ev, EcpCountedSet *os, int64 run_id)
{
	int32	   *seg_ids = palloc(sizeof(int32) * Max(ev->prog->nroots, 1));

	for (int r = 0; r < ev->prog->nroots; r++)
		seg_ids[r] = ev->prog->roots[r].segment_id;
	ecp_snapshot_kpis(run_id, os, ev->prog->nroots, seg_ids, ev->members);
}

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
	ecp_check_input_access(ECP_INPUT_ALL);

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
	{
		EcpCountedSet *os = ecp_eval_counted_set(ev);

		snapshot_from_eval(ev, os, run_id);
		ecp_phase_done(&t, "refresh", "KPI snapshots");
		/* the customers evaluated, for the readers' key map */
		ecp_keys_store(os->keys);
		ecp_phase_done(&t, "refresh", "customer keys");
	}
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
