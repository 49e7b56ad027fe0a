/*-------------------------------------------------------------------------
 *
 * input.c
 *	  The timeline's input: the one place that reads the order tables.
 *
 * ecpower.orders and ecpower.order_lines are read row by row and handed
 * to the caller's callback (timeline/input.h):
 *
 *	- a sequential scan of the heap, with the caller's SELECT right
 *	  checked first (42501 naming the table), every row deformed once
 *	  (heap_deform_tuple: heap_getattr() per column would walk the tuple
 *	  again for every column after the first variable-length one), and
 *	  CHECK_FOR_INTERRUPTS() every 16k rows;
 *	- the rows of some orders by primary key, and their lines, through
 *	  a cursor over "= ANY ($1)" fetched in batches, so that a large set
 *	  of changed orders never sits in memory at once; the executor checks
 *	  the privileges of that query.
 *
 * The callbacks receive the attribute numbers of the columns the readers
 * use in the row layout delivered: the table's for a scan, the query's
 * select list for a read by key.
 *
 * src/timeline/input.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/heapam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "access/tableam.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"

#include "core/arrays.h"
#include "core/ecpower.h"
#include "timeline/input.h"

/* rows fetched from the cursor of a read by key at a time */
#define BY_KEY_BATCH	8192

/* the columns of a row read by key, orders or lines */
#define BY_KEY_MAX_COLUMNS	((int) ECP_NUM_ORDER_COLUMNS)
StaticAssertDecl((int) ECP_NUM_LINE_COLUMNS <= BY_KEY_MAX_COLUMNS,
				 "a row of lines read by key has more columns than one of orders");

static const char *const order_column_names[ECP_NUM_ORDER_COLUMNS] = {
	[ECP_OC_ORDER_ID] = "order_id",
	[ECP_OC_CUSTOMER_ID] = "customer_id",
	[ECP_OC_ORDERED_AT] = "ordered_at",
	[ECP_OC_TOTAL] = "total",
	[ECP_OC_REFUNDED] = "refunded",
	[ECP_OC_DISCOUNT_CODES] = "discount_codes",
	[ECP_OC_TAGS] = "tags",
	[ECP_OC_SALES_CHANNEL] = "sales_channel",
	[ECP_OC_ACQUISITION_CHANNEL] = "acquisition_channel",
	[ECP_OC_REFERRING_SITE] = "referring_site",
	[ECP_OC_LANDING_SITE] = "landing_site",
	[ECP_OC_UTM_SOURCE] = "utm_source",
	[ECP_OC_UTM_MEDIUM] = "utm_medium",
	[ECP_OC_UTM_CAMPAIGN] = "utm_campaign",
	[ECP_OC_IS_SUBSCRIPTION] = "is_subscription",
	[ECP_OC_CANCELLED_AT] = "cancelled_at",
};

static const char *const line_column_names[ECP_NUM_LINE_COLUMNS] = {
	[ECP_LC_ORDER_ID] = "order_id",
	[ECP_LC_PRODUCT_ID] = "product_id",
	[ECP_LC_SKU] = "sku",
	[ECP_LC_QUANTITY] = "quantity",
	[ECP_LC_UNIT_COST] = "unit_cost",
};

/* one read in progress: orders (ofn) or lines (lfn) */
typedef struct InputRead
{
	EcpOrderRowFn ofn;
	EcpLineRowFn lfn;
	void	   *arg;
	EcpOrderInputCols ocols;
	EcpLineInputCols lcols;
} InputRead;

/* the table a read is of, its column names and their attribute numbers */
static const char *
read_table(InputRead *r, const char *const **names, int *ncols, AttrNumber **att)
{
	if (r->lfn != NULL)
	{
		*names = line_column_names;
		*ncols = ECP_NUM_LINE_COLUMNS;
		*att = r->lcols.att;
		return "order_lines";
	}
	*names = order_column_names;
	*ncols = ECP_NUM_ORDER_COLUMNS;
	*att = r->ocols.att;
	return "orders";
}

/* hand one deformed row to the callback */
static inline void
deliver(InputRead *r, Datum *values, bool *nulls)
{
	if (r->lfn != NULL)
		r->lfn(r->arg, &r->lcols, values, nulls);
	else
		r->ofn(r->arg, &r->ocols, values, nulls);
}

/*
 * ecp_input_order_column
 *		The ECP_OC_* of an orders column by name, or -1 when the readers do
 *		not take that column.
 */
int
ecp_input_order_column(const char *name)
{
	for (int c = 0; c < ECP_NUM_ORDER_COLUMNS; c++)
	{
		if (strcmp(order_column_names[c], name) == 0)
			return c;
	}
	return -1;
}

/* 42501 (naming the table) unless the current user may SELECT it */
static Oid
check_select(const char *name)
{
	Oid			relid = ecp_relid(name);
	AclResult	aclresult;

	aclresult = pg_class_aclcheck(relid, GetUserId(), ACL_SELECT);
	if (aclresult != ACLCHECK_OK)
		aclcheck_error(aclresult, OBJECT_TABLE, get_rel_name(relid));
	return relid;
}

/* an order table opened for a scan, with the caller's SELECT right */
static Relation
open_input(const char *name)
{
	return table_open(check_select(name), AccessShareLock);
}

/*
 * ecp_input_check_orders
 *		Refuse (42501, "permission denied for table orders") unless the
 *		current user may SELECT ecpower.orders: for a reader of the
 *		timeline that reaches the orders through the order cache as well as
 *		through a scan.
 */
void
ecp_input_check_orders(void)
{
	(void) check_select("orders");
}

/*
 * ecp_input_orders_expected
 *		How many rows ecpower.orders holds by the planner's estimate, times
 *		'share' (1.0: every order), a little more for growth, and at least
 *		'dflt' ('dflt' when there is no estimate): the initial capacity of
 *		an array of orders.  Checks the SELECT right as a scan does.
 */
int64
ecp_input_orders_expected(int64 dflt, double share)
{
	Relation	rel = open_input("orders");
	double		est = rel->rd_rel->reltuples;

	table_close(rel, AccessShareLock);
	if (est <= 0 || est > 1e9)
		return dflt;
	return Max(dflt, (int64) (est * share * 1.05) + 16);
}

/* a sequential scan of the read's table, every row to its callback */
static void
scan_table(InputRead *r)
{
	const char *const *names;
	int			ncols;
	AttrNumber *att;
	const char *name = read_table(r, &names, &ncols, &att);
	Relation	rel = open_input(name);
	TupleDesc	desc = RelationGetDescr(rel);
	Datum	   *values = palloc(sizeof(Datum) * desc->natts);
	bool	   *nulls = palloc(sizeof(bool) * desc->natts);
	TableScanDesc scan;
	HeapTuple	tup;
	uint64		rows = 0;

	for (int c = 0; c < ncols; c++)
		att[c] = ecp_column_attnum(desc, names[c]);
	scan = table_beginscan(rel, GetActiveSnapshot(), 0, NULL);
	while ((tup = heap_getnext(scan, ForwardScanDirection)) != NULL)
	{
		if ((++rows & 0x3FFF) == 0)
			CHECK_FOR_INTERRUPTS();
		heap_deform_tuple(tup, desc, values, nulls);
		deliver(r, values, nulls);
	}
	table_endscan(scan);
	table_close(rel, AccessShareLock);
	pfree(values);
	pfree(nulls);
}

/*
 * ecp_input_scan_orders
 *		Every row of ecpower.orders (cancelled ones too) to fn, by a
 *		sequential scan under the active snapshot.
 */
void
ecp_input_scan_orders(EcpOrderRowFn fn, void *arg)
{
	InputRead	r = {0};

	r.ofn = fn;
	r.arg = arg;
	scan_table(&r);
}

/*
 * ecp_input_scan_lines
 *		Every row of ecpower.order_lines to fn, by a sequential scan under
 *		the active snapshot.
 */
void
ecp_input_scan_lines(EcpLineRowFn fn, void *arg)
{
	InputRead	r = {0};

	r.lfn = fn;
	r.arg = arg;
	scan_table(&r);
}

/*
 * The rows of the read's table whose order_id is one of ids[0..n-1]: the
 * columns the readers use, through a cursor fetched in batches.
 */
static void
read_by_key(InputRead *r, const int64 *ids, int64 n)
{
	MemoryContext caller = CurrentMemoryContext;
	const char *const *names;
	int			ncols;
	AttrNumber *att;
	const char *name = read_table(r, &names, &ncols, &att);
	StringInfoData sql;
	Oid			argtypes[1] = {INT8ARRAYOID};
	Datum		args[1];
	Datum		values[BY_KEY_MAX_COLUMNS];
	bool		nulls[BY_KEY_MAX_COLUMNS];
	Portal		portal;
	uint64		rows = 0;

	if (n <= 0)
		return;
	initStringInfo(&sql);
	appendStringInfoString(&sql, "SELECT ");
	for (int c = 0; c < ncols; c++)
	{
		appendStringInfo(&sql, "%sr.%s", c > 0 ? ", " : "", names[c]);
		att[c] = (AttrNumber) (c + 1);
	}
	appendStringInfo(&sql, " FROM ecpower.%s AS r"
					 " WHERE r.order_id OPERATOR(pg_catalog.=) ANY ($1)", name);
	args[0] = ecp_id_array(ids, n);

	SPI_connect();
	portal = SPI_cursor_open_with_args(NULL, sql.data, 1, argtypes, args, NULL,
									   true, 0);
	for (;;)
	{
		SPITupleTable *batch;
		uint64		nbatch;

		SPI_cursor_fetch(portal, true, BY_KEY_BATCH);
		batch = SPI_tuptable;
		nbatch = SPI_processed;
		if (nbatch == 0)
			break;
		if (batch->tupdesc->natts != ncols)
			elog(ERROR, "unexpected row of ecpower.%s: %d columns", name,
				 batch->tupdesc->natts);
		/* the callbacks run in the caller's context */
		MemoryContextSwitchTo(caller);
		for (uint64 i = 0; i < nbatch; i++)
		{
			if ((++rows & 0x3FFF) == 0)
				CHECK_FOR_INTERRUPTS();
			heap_deform_tuple(batch->vals[i], batch->tupdesc, values, nulls);
			deliver(r, values, nulls);
		}
		SPI_freetuptable(batch);
	}
	SPI_cursor_close(portal);
	SPI_finish();
	pfree(sql.data);
	pfree(DatumGetPointer(args[0]));
}

/*
 * ecp_input_read_orders
 *		The rows of ecpower.orders with these order ids (cancelled ones
 *		too; ids without a row are skipped) to fn, by primary key.
 */
void
ecp_input_read_orders(const int64 *ids, int64 n, EcpOrderRowFn fn, void *arg)
{
	InputRead	r = {0};

	r.ofn = fn;
	r.arg = arg;
	read_by_key(&r, ids, n);
}

/*
 * ecp_input_read_lines
 *		The rows of ecpower.order_lines of these orders to fn, by the
 *		primary key's leading column.
 */
void
ecp_input_read_lines(const int64 *order_ids, int64 n, EcpLineRowFn fn, void *arg)
{
	InputRead	r = {0};

	r.lfn = fn;
	r.arg = arg;
	read_by_key(&r, order_ids, n);
}
