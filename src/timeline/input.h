/*-------------------------------------------------------------------------
 *
 * input.h
 *	  The timeline's input: the one place that reads the order tables,
 *	  ecpower.orders and ecpower.order_lines, row by row.
 *
 * Two ways in, each for orders and for lines:
 *
 *	scan		a sequential scan of the heap, for a reader that needs every
 *				row (the refresh rebuilding the order cache, an ad-hoc
 *				evaluation, the gross profit of many orders);
 *	by key		the rows of some orders by primary key, for the orders
 *				changed since the order cache was written (the "stale" set
 *				of timeline/ordercache.h), and their lines.
 *
 * Each row goes to the caller's callback deformed into values/nulls, in a
 * row layout described by the EcpOrderInputCols / EcpLineInputCols passed
 * with it (attribute numbers of the columns the readers use; the layout of
 * a scan is the table's, that of a read by key a query's, so take columns
 * only through the cols given).  Nothing is copied or allocated per row:
 * values point into the tuple, valid until the callback returns.
 *
 *	static void my_row(void *arg, const EcpOrderInputCols *cols,
 *					   Datum *values, bool *nulls)
 *	{
 *		if (!ECP_INPUT_NULL(cols, nulls, ECP_OC_CANCELLED_AT))
 *			return;
 *		... DatumGetInt64(ECP_INPUT_VALUE(cols, values, ECP_OC_ORDER_ID)) ...
 *	}
 *	ecp_input_scan_orders(my_row, &state);
 *
 * src/timeline/input.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef ECP_INPUT_H
#define ECP_INPUT_H

#include "postgres.h"

#include "access/attnum.h"

/* the columns of ecpower.orders its readers use */
typedef enum EcpOrderColumn
{
	ECP_OC_ORDER_ID,
	ECP_OC_CUSTOMER_ID,
	ECP_OC_ORDERED_AT,
	ECP_OC_TOTAL,
	ECP_OC_REFUNDED,
	ECP_OC_DISCOUNT_CODES,
	ECP_OC_TAGS,
	ECP_OC_SALES_CHANNEL,
	ECP_OC_ACQUISITION_CHANNEL,
	ECP_OC_REFERRING_SITE,
	ECP_OC_LANDING_SITE,
	ECP_OC_UTM_SOURCE,
	ECP_OC_UTM_MEDIUM,
	ECP_OC_UTM_CAMPAIGN,
	ECP_OC_IS_SUBSCRIPTION,
	ECP_OC_CANCELLED_AT,
	ECP_NUM_ORDER_COLUMNS
} EcpOrderColumn;

/* the columns of ecpower.order_lines its readers use */
typedef enum EcpLineColumn
{
	ECP_LC_ORDER_ID,
	ECP_LC_PRODUCT_ID,
	ECP_LC_SKU,
	ECP_LC_QUANTITY,
	ECP_LC_UNIT_COST,
	ECP_NUM_LINE_COLUMNS
} EcpLineColumn;

/* attribute numbers (1-based) of the order columns in the rows delivered */
typedef struct EcpOrderInputCols
{
	AttrNumber	att[ECP_NUM_ORDER_COLUMNS];
} EcpOrderInputCols;

/* attribute numbers (1-based) of the line columns in the rows delivered */
typedef struct EcpLineInputCols
{
	AttrNumber	att[ECP_NUM_LINE_COLUMNS];
} EcpLineInputCols;

/* column c (ECP_OC_* or ECP_LC_*) of a delivered row */
#define ECP_INPUT_VALUE(cols, values, c)	((values)[(cols)->att[c] - 1])
#define ECP_INPUT_NULL(cols, nulls, c)		((nulls)[(cols)->att[c] - 1])

/*
 * Row callbacks.  They run in the caller's memory context (anything they
 * allocate outlives the read); a callback may raise an error, which ends
 * the read.
 */
typedef void (*EcpOrderRowFn) (void *arg, const EcpOrderInputCols *cols,
							   Datum *values, bool *nulls);
typedef void (*EcpLineRowFn) (void *arg, const EcpLineInputCols *cols,
							  Datum *values, bool *nulls);

extern int	ecp_input_order_column(const char *name);
extern void ecp_input_check_orders(void);
extern int64 ecp_input_orders_expected(int64 dflt, double share);
extern void ecp_input_scan_orders(EcpOrderRowFn fn, void *arg);
extern void ecp_input_scan_lines(EcpLineRowFn fn, void *arg);
extern void ecp_input_read_orders(const int64 *ids, int64 n, EcpOrderRowFn fn, void *arg);
extern void ecp_input_read_lines(const int64 *order_ids, int64 n, EcpLineRowFn fn, void *arg);

#endif							/* ECP_INPUT_H */
