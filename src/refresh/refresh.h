/*-------------------------------------------------------------------------
 *
 * refresh.h
 *	  The computing step of CALL ecpower.refresh() (README "Refresh, membership and history").
 *
 * The procedure itself (src/sql/47_refresh.sql) owns the lock, the run log
 * and the transactions; ecpower._refresh_compute() evaluates every segment
 * and RFM in one pass and stores membership and RFM for the run.
 *
 * src/refresh/refresh.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef ECP_REFRESH_H
#define ECP_REFRESH_H

#include "postgres.h"

#include "segments/evaluate.h"
#include "segments/rfmstore.h"		/* ecp_rfm_store() */
#include "reports/kpi.h"

/* the counted orders of an evaluation, as the KPI functions read them */
extern EcpCountedSet *ecp_eval_counted_set(EcpEval *ev);

#endif							/* ECP_REFRESH_H */
