/*-------------------------------------------------------------------------
 *
 * summary.h
 *	  Per-customer facts of the timeline for the readers that want a few
 *	  figures per customer rather than the orders themselves: counted
 *	  orders, net revenue, first and last instant and store-local days of
 *	  a window of time, and each customer's first order with the values it
 *	  carries.
 *
 * Both read the orders through ecp_report_fetch() (timeline/fetch.h): the
 * order cache and the timeline's values with the orders changed since
 * read again, or a scan of the tables when there is no usable cache.
 *
 *	int64 n;
 *	EcpOrderSummary *s = ecp_order_summaries(ids, nids, after, up_to, &n);
 *	EcpFirstOrder *f = ecp_first_orders(dims, 2, &n);
 *
 * src/timeline/summary.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef ECP_SUMMARY_H
#define ECP_SUMMARY_H

#include "postgres.h"

#include "datatype/timestamp.h"
#include "utils/date.h"

#include "timeline/fetch.h"

/* the counted orders of one customer with after < ordered_at <= up_to */
typedef struct EcpOrderSummary
{
	int64		customer_id;
	int64		orders;			/* at least 1 */
	int64		net_cents;		/* sum of total - refunded, in cents */
	TimestampTz first_at;		/* ordered_at of the first and last of them */
	TimestampTz last_at;
	int64		days;			/* distinct store-local dates among them */
} EcpOrderSummary;

/* values a first order can carry: order-level text dimensions */
#define ECP_FIRST_ORDER_MAX_VALUES	4

/* a customer's first uncancelled order, by (ordered_at, order_id) */
typedef struct EcpFirstOrder
{
	int64		customer_id;
	int64		order_id;
	TimestampTz ordered_at;
	DateADT		day;			/* store-local date */
	char	   *value[ECP_FIRST_ORDER_MAX_VALUES];	/* per dimension asked for;
													 * NULL: none */
} EcpFirstOrder;

extern EcpOrderSummary *ecp_order_summaries(const int64 *customer_ids, int64 nids,
											TimestampTz after, TimestampTz up_to,
											int64 *nrows);
extern EcpFirstOrder *ecp_first_orders(const EcpDimension *dims, int ndims,
									   int64 *nrows);

#endif							/* ECP_SUMMARY_H */
