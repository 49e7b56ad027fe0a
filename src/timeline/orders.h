/*-------------------------------------------------------------------------
 *
 * orders.h
 *	  The counted orders of a set of customers, grouped by customer.
 *
 * KPI, cohort, revenue and journey reports all start the same way: fetch
 * the counted orders (not cancelled, ordered_at <= as_of) of some customers
 * as (store-local date, net cents), grouped by customer key and sorted by
 * date within a customer.  The sum of the absolute amounts fits in int64
 * (checked), so any sum of fetched amounts can be taken without overflow.
 * ecp_counted_orders() is the only place that reads ecpower.orders for
 * them: from the refresh's order cache (src/ordercache.c) when it is
 * usable, the orders changed since then read again by primary key, or by
 * a sequential scan.
 *
 *	EcpCountedSet *os = ecp_counted_orders(keys, members, run.as_of, cal);
 *	for each ckey k: orders os->day[os->start[k] .. os->start[k + 1] - 1]
 *
 * src/timeline/orders.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef ORDERS_H
#define ORDERS_H

#include "postgres.h"

#include "utils/array.h"

#include <roaring/roaring.h>

#include "core/ecpower.h"
#include "timeline/customers.h"

/* counted orders, grouped by customer key, ascending dates per customer */
typedef struct EcpCountedSet
{
	EcpKeyMap  *keys;			/* customer_id <-> ckey */
	int32		nkeys;			/* keys->max_ckey + 1 */
	int64	   *start;			/* by ckey: index of its first order; nkeys + 1 */
	DateADT    *day;			/* store-local order date */
	int64	   *cents;			/* net amount (total - refunded) in cents */
	int64	   *profit;			/* gross profit in cents or ECP_PROFIT_UNKNOWN;
								 * NULL when not fetched */
	int64		norders;
	int64		revenue;		/* sum of cents */
	int64		buyers;			/* customers with at least one fetched order */
} EcpCountedSet;

/* the gross profit of an order with a line lacking a unit_cost or product */
#define ECP_PROFIT_UNKNOWN	PG_INT64_MIN

/* a customer set to report on: member keys, ascending */
typedef struct EcpKeySet
{
	uint32	   *keys;
	int64		n;
} EcpKeySet;

extern EcpCountedSet *ecp_counted_orders(EcpKeyMap *keys, roaring_bitmap_t *members,
									   TimestampTz as_of, EcpCalendar *cal);
extern EcpCountedSet *ecp_counted_orders_profit(EcpKeyMap *keys, roaring_bitmap_t *members,
												TimestampTz as_of, EcpCalendar *cal);
extern void ecp_order_set_group(EcpCountedSet *os, int64 n, const int32 *ckey,
								const DateADT *day, const int64 *cents,
								const int64 *profit);
extern void ecp_order_profits(int64 n, const int64 *order_id, const int64 *net,
							  int64 *profit);
extern EcpKeySet ecp_report_keys(EcpCountedSet *os, roaring_bitmap_t *members);
extern void ecp_orders_between(EcpCountedSet *os, uint32 ckey, DateADT from,
							   DateADT to, int64 *lo, int64 *hi);

#endif							/* ORDERS_H */
