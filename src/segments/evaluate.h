/*-------------------------------------------------------------------------
 *
 * evaluate.h
 *	  One-pass evaluation of compiled segment definitions (README "The definition language" and "Refresh, membership and history").
 *
 * ecp_eval_run() reads ecpower.customers once, ecpower.orders once, and
 * ecpower.products / order_lines once each only when a product key or the
 * items metric needs them (the orders and their lines through the
 * timeline's input, timeline/input.h).  Every counted order gets one bit
 * per compiled FILTER; orders are then grouped per customer and ranked by
 * (ordered_at, order_id), and every root of the program is evaluated per
 * customer into a roaring bitmap of customer keys (customers.ckey).
 *
 * The per-customer step (ecp_eval_customer) only needs the customer's
 * sorted order records, so an incremental path can feed it from a cache.
 *
 * src/segments/evaluate.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef ECP_EVALUATE_H
#define ECP_EVALUATE_H

#include "postgres.h"

#include <roaring/roaring.h>

#include "segments/definition.h"
#include "timeline/ordercache.h"
#include "core/ecpower.h"

/* RFM of one customer; r == 0 means no counted order (prospect) */
typedef struct EcpRfm
{
	uint8		r;
	uint8		f;
	uint8		m;
	uint8		fm;
	uint8		group;
} EcpRfm;

/* the evaluation of a program at one as_of */
typedef struct EcpEval
{
	EcpProgram *prog;
	TimestampTz as_of;
	DateADT		as_of_date;
	EcpCalendar *cal;
	bool		want_rfm;		/* compute RFM even if no rule uses it */

	/* customers, by index */
	int32		ncust;
	int64	   *cust_id;
	int32	   *ckey;
	int			cwords;			/* customer condition words per customer */
	uint64	   *cbits;

	/* counted orders; ord_idx lists them grouped by customer and ranked */
	int64		norders;
	EcpOrder   *orders;
	int			fwords;			/* filter words per order */
	uint64	   *obits;
	int64	   *cust_start;		/* ncust + 1 offsets into ord_idx */
	int32	   *ord_idx;		/* indexes into orders (fewer than 2^31) */

	/* per customer measures and RFM */
	int32	   *recency;		/* days since last order (when n > 0) */
	int64	   *revenue;		/* net cents over all counted orders */
	EcpRfm	   *rfm;
	/* predictions: PREDICTED_NFIELDS scores per customer, NaN = none */
	double	   *predicted;

	/* results per root */
	roaring_bitmap_t **members;
	int64	   *counts;
	/* customer ids of the last root's members, when collect_ids */
	bool		collect_ids;
	int64	   *ids;
	int64		nids;
} EcpEval;

extern EcpEval *ecp_eval_run(EcpProgram *prog, TimestampTz as_of,
							 bool want_rfm, bool collect_ids, bool use_cache);

/*
 * Day after day (backfill): roots whose answer depends only on a customer's
 * counted orders are carried from the previous day's members and evaluated
 * only for customers with an order dated on the new day.
 */
extern bool *ecp_program_carry_roots(EcpProgram *prog);
extern EcpEval *ecp_eval_run_carry(EcpProgram *prog, TimestampTz as_of, bool use_cache,
								   const bool *carry, roaring_bitmap_t **prev);

/*
 * The per-customer step: evaluate every root for customer index c from its
 * n counted orders, ranked by (ordered_at, order_id), and their filter bits
 * (ev->fwords words each); res[r] receives root r's result.  ev must carry
 * the program, as_of_date, the customer condition bits (ev->cbits) and,
 * when the program uses RFM, ev->rfm.  An incremental refresh can feed this
 * from cached per-customer profiles instead of ecp_eval_run()'s scans.
 */
extern void ecp_eval_customer(EcpEval *ev, int32 c, int n, EcpOrder **o,
							  const uint64 **bits, bool *res);

#endif							/* ECP_EVALUATE_H */
