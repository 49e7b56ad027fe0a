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
 * idempotent.  RFM of every customer replaces the content of ecpower.rfm.
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

/* rows per INSERT of RFM rows */
#define RFM_CHUNK	50000

PG_FUNCTION_INFO_V1(refresh_compute);
PG_FUNCTION_INFO_V1(refresh_can_commit);

/*
 * ecp_rfm_store
 *		Replace the content of ecpower.rfm with the RFM of every customer
 *		of the evaluation (prospects included), tagged with run_id.
 */
void
ecp_rfm_store(EcpEval *ev, int64 run_id)
{
	MemoryContext chunkcxt;
	MemoryContext old;
	SPIPlanPtr	plan;
	Oid			argtypes[10] = {INT8OID, INT8ARRAYOID, INT4ARRAYOID, INT4ARRAYOID,
	NUMERICARRAYOID, INT2ARRAYOID, INT2ARRAYOID, INT2ARRAYOID, INT2ARRAYOID, TEXTARRAYOID};
	Datum		groups[ECP_RFM_NGROUPS];

	SPI_connect();
	if (SPI_execute("DELETE FROM ecpower.rfm", false, 0) != SPI_OK_DELETE)
		elog(ERROR, "could not delete from ecpower.rfm");
	plan = SPI_prepare("INSERT INTO ecpower.rfm (run_id, customer_id, recency_days,"
					   " order_count, revenue, r, f, m, fm, rfm_group)"
					   " SELECT $1, u.* FROM ROWS FROM (pg_catalog.unnest($2),"
					   " pg_catalog.unnest($3), pg_catalog.unnest($4), pg_catalog.unnest($5),"
					   " pg_catalog.unnest($6), pg_catalog.unnest($7), pg_catalog.unnest($8),"
					   " pg_catalog.unnest($9), pg_catalog.unnest($10)) AS u",
					   10, argtypes);
	if (plan == NULL)
		elog(ERROR, "could not prepare the RFM insert: %s",
			 SPI_result_code_string(SPI_result));

	chunkcxt = AllocSetContextCreate(CurrentMemoryContext, "ecpower rfm chunk",
									 ALLOCSET_DEFAULT_SIZES);
	for (int g = 0; g < ECP_RFM_NGROUPS; g++)
		groups[g] = CStringGetTextDatum(ecp_rfm_group_names[g]);

	for (int32 start = 0; start < ev->ncust; start += RFM_CHUNK)
	{
		int			n = Min(RFM_CHUNK, ev->ncust - start);
		Datum	   *cols[9];
		bool	   *nulls[9];
		Oid			types[9] = {INT8OID, INT4OID, INT4OID, NUMERICOID, INT2OID,
		INT2OID, INT2OID, INT2OID, TEXTOID};
		Datum		values[10];
		int			dims[1];
		int			lbs[1] = {1};

		CHECK_FOR_INTERRUPTS();
		old = MemoryContextSwitchTo(chunkcxt);
		for (int k = 0; k < 9; k++)
		{
			cols[k] = palloc(sizeof(Datum) * n);
			nulls[k] = palloc0(sizeof(bool) * n);
		}
		for (int i = 0; i < n; i++)
		{
			int32		c = start + i;
			const EcpRfm *s = &ev->rfm[c];
			int64		cnt = ev->cust_start[c + 1] - ev->cust_start[c];

			cols[0][i] = Int64GetDatum(ev->cust_id[c]);
			cols[1][i] = Int32GetDatum(cnt > 0 ? ev->recency[c] : 0);
			nulls[1][i] = cnt == 0;
			cols[2][i] = Int32GetDatum((int32) cnt);
			cols[3][i] = ecp_cents_to_numeric(cnt > 0 ? ev->revenue[c] : 0);
			cols[4][i] = Int16GetDatum(s->r);
			cols[5][i] = Int16GetDatum(s->f);
			cols[6][i] = Int16GetDatum(s->m);
			cols[7][i] = Int16GetDatum(s->fm);
			for (int k = 4; k < 8; k++)
				nulls[k][i] = cnt == 0;
			cols[8][i] = groups[s->group];
		}
		values[0] = Int64GetDatum(run_id);
		dims[0] = n;
		for (int k = 0; k < 9; k++)
		{
			int16		typlen;
			bool		typbyval;
			char		typalign;

			get_typlenbyvalalign(types[k], &typlen, &typbyval, &typalign);
			values[k + 1] = PointerGetDatum(construct_md_array(cols[k], nulls[k], 1, dims, lbs,
															   types[k], typlen, typbyval, typalign));
		}
		MemoryContextSwitchTo(old);
		if (SPI_execute_plan(plan, values, NULL, false, 0) != SPI_OK_INSERT)
			elog(ERROR, "could not insert into ecpower.rfm");
		MemoryContextReset(chunkcxt);
	}
	MemoryContextDelete(chunkcxt);
	SPI_finish();
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

	work = AllocSetContextCreate(CurrentMemoryContext, "ecpower refresh",
								 ALLOCSET_DEFAULT_SIZES);
	old = MemoryContextSwitchTo(work);
	prog = ecp_program_build(NULL);
	ev = ecp_eval_run(prog, as_of, true, false);
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
