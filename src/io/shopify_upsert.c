/*-------------------------------------------------------------------------
 *
 * shopify_upsert.c
 *	  Write the rows of one Shopify load (an ImportState) into customers,
 *	  products, orders and order_lines through SPI, in batches of array
 *	  parameters, so that loading the same or overlapping data again
 *	  updates rows instead of duplicating them.  Used by the CSV importers
 *	  and by ecpower.shopify_pull().
 *
 * src/io/shopify_upsert.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "io/shopify_import.h"
#include "core/ecpower.h"

#include "catalog/pg_type.h"
#include "common/int.h"
#include "common/md5.h"
#include "executor/spi.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "pgtime.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/datetime.h"
#include "utils/fmgroids.h"
#include "utils/lsyscache.h"
#include "utils/hsearch.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"

/*
 * shp_spi_check
 *		Turn an unexpected SPI result into an internal error.
 */
void
shp_spi_check(int ret, int expected, const char *what)
{
	if (ret != expected)
		elog(ERROR, "%s failed: %s", what, SPI_result_code_string(ret));
}

/*
 * shp_prepare
 *		SPI_prepare or fail.
 */
SPIPlanPtr
shp_prepare(const char *sql, int nargs, Oid *types)
{
	SPIPlanPtr	plan = SPI_prepare(sql, nargs, types);

	if (plan == NULL)
		elog(ERROR, "SPI_prepare failed: %s", SPI_result_code_string(SPI_result));
	return plan;
}

/*
 * begin_batch
 *		Start writing one batch: check for interrupts and switch to the
 *		per-batch scratch context, emptied first.  Returns the context to
 *		switch back to.
 */
static MemoryContext
begin_batch(ImportState *st)
{
	CHECK_FOR_INTERRUPTS();
	if (st->batchcxt == NULL)
		st->batchcxt = AllocSetContextCreate(CurrentMemoryContext,
											 "shopify batch",
											 ALLOCSET_DEFAULT_SIZES);
	MemoryContextReset(st->batchcxt);
	return MemoryContextSwitchTo(st->batchcxt);
}

/*
 * prepare_batch
 *		Prepare a batch statement: its first ncols parameters are arrays of
 *		the column types, nextra parameters of the extra types follow.
 */
static SPIPlanPtr
prepare_batch(const char *sql, int ncols, const Oid *types, int nextra,
			  const Oid *extra)
{
	Oid			argtypes[MAX_BATCH_COLUMNS + 2];
	int			i;

	Assert(ncols + nextra <= lengthof(argtypes));
	for (i = 0; i < ncols; i++)
		argtypes[i] = get_array_type(types[i]);
	for (i = 0; i < nextra; i++)
		argtypes[ncols + i] = extra[i];
	return shp_prepare(sql, ncols + nextra, argtypes);
}

/*
 * shp_make_array
 *		A one-dimensional array of n values (NULL where nulls[i]).
 */
Datum
shp_make_array(Datum *values, bool *nulls, int n, Oid elemtype)
{
	int16		typlen;
	bool		typbyval;
	char		typalign;
	int			dims[1];
	int			lbs[1] = {1};

	if (n == 0)
		return PointerGetDatum(construct_empty_array(elemtype));
	dims[0] = n;
	get_typlenbyvalalign(elemtype, &typlen, &typbyval, &typalign);
	return PointerGetDatum(construct_md_array(values, nulls, 1, dims, lbs,
											  elemtype, typlen, typbyval,
											  typalign));
}

/*
 * Columns of one batch: values[col][row] and nulls[col][row].
 */
typedef struct Batch
{
	int			ncols;
	int			nrows;
	const Oid  *types;
	Datum	   *values[MAX_BATCH_COLUMNS];
	bool	   *nulls[MAX_BATCH_COLUMNS];
} Batch;

/*
 * batch_start
 *		Room for n rows of the given column types, in the current context.
 */
static void
batch_start(Batch *batch, int ncols, const Oid *types, int n)
{
	int			col;

	Assert(ncols <= MAX_BATCH_COLUMNS);
	batch->ncols = ncols;
	batch->nrows = n;
	batch->types = types;
	for (col = 0; col < ncols; col++)
	{
		batch->values[col] = palloc(sizeof(Datum) * Max(n, 1));
		batch->nulls[col] = palloc0(sizeof(bool) * Max(n, 1));
	}
}

/*
 * batch_text
 *		Set a text cell from an optional C string.
 */
static void
batch_text(Batch *batch, int col, int row, const char *s)
{
	batch->nulls[col][row] = (s == NULL);
	batch->values[col][row] = s ? CStringGetTextDatum(s) : (Datum) 0;
}

/*
 * batch_params
 *		The batch's columns as array parameters (params[0 .. ncols-1]).
 */
static void
batch_params(Batch *batch, Datum *params)
{
	int			col;

	for (col = 0; col < batch->ncols; col++)
		params[col] = shp_make_array(batch->values[col], batch->nulls[col],
								 batch->nrows, batch->types[col]);
}

/*
 * run_upsert
 *		Execute a batch upsert whose statement returns (inserted, updated,
 *		conflict) counts, and add them up.  Returns the conflict column:
 *		the first id that should have been new but existed, or 0.
 */
static int64
run_upsert(SPIPlanPtr plan, Datum *params, ImportCounts *counts)
{
	TupleDesc	desc;
	HeapTuple	tup;
	bool		isnull;
	int64		conflict = 0;

	shp_spi_check(SPI_execute_plan(plan, params, NULL, false, 0),
			  SPI_OK_SELECT, "shopify upsert");
	if (SPI_processed != 1)
		elog(ERROR, "shopify upsert returned " UINT64_FORMAT " rows",
			 SPI_processed);
	desc = SPI_tuptable->tupdesc;
	tup = SPI_tuptable->vals[0];
	counts->inserted += DatumGetInt64(SPI_getbinval(tup, desc, 1, &isnull));
	counts->updated += DatumGetInt64(SPI_getbinval(tup, desc, 2, &isnull));
	if (desc->natts >= 3)
	{
		Datum		d = SPI_getbinval(tup, desc, 3, &isnull);

		if (!isnull)
			conflict = DatumGetInt64(d);
	}
	SPI_freetuptable(SPI_tuptable);
	return conflict;
}

/*
 * The batch statements.  Each inserts the rows of its array parameters
 * (in array order, so new customers get their dense keys in file order),
 * updates the rows that exist already, and returns how many rows were
 * inserted and how many updated (a row version with xmax 0 was inserted).
 */
#define COUNT_RESULT \
	"SELECT pg_catalog.count(*) FILTER (WHERE r.inserted), " \
	"       pg_catalog.count(*) FILTER (WHERE NOT r.inserted)"

/* customers seen in an orders export: only fill what is missing */
static const char *const customers_from_orders_sql =
"WITH r AS ("
"  INSERT INTO ecpower.customers AS c "
"    (customer_id, email, created_at, country, province, city, accepts_marketing) "
"  SELECT * FROM ROWS FROM (pg_catalog.unnest($1), pg_catalog.unnest($2), pg_catalog.unnest($3), pg_catalog.unnest($4), pg_catalog.unnest($5), pg_catalog.unnest($6), pg_catalog.unnest($7)) "
"  ON CONFLICT (customer_id) DO UPDATE SET "
"    email = COALESCE(c.email, excluded.email), "
"    created_at = LEAST(c.created_at, excluded.created_at), "
"    country = CASE WHEN c.country IS NULL AND c.province IS NULL AND c.city IS NULL "
"                   THEN excluded.country ELSE c.country END, "
"    province = CASE WHEN c.country IS NULL AND c.province IS NULL AND c.city IS NULL "
"                    THEN excluded.province ELSE c.province END, "
"    city = CASE WHEN c.country IS NULL AND c.province IS NULL AND c.city IS NULL "
"                THEN excluded.city ELSE c.city END "
"  RETURNING c.customer_id, c.xmax OPERATOR(pg_catalog.=) 0 AS inserted) "
COUNT_RESULT ", "
"       pg_catalog.min(r.customer_id) FILTER (WHERE NOT r.inserted "
"           AND r.customer_id OPERATOR(pg_catalog.=) ANY ($8)) "
"FROM r";

/*
 * customers of a customers export: the authority on their attributes
 * (tags travel as the text form of a text[], see orders_sql)
 */
static const char *const customers_sql =
"WITH r AS ("
"  INSERT INTO ecpower.customers AS c "
"    (customer_id, email, tags, country, province, city, accepts_marketing, created_at) "
"  SELECT u.customer_id, u.email, CAST(u.tags AS pg_catalog.text[]), "
"         u.country, u.province, u.city, "
"         COALESCE(u.accepts, false), u.created_at "
"    FROM ROWS FROM (pg_catalog.unnest($1), pg_catalog.unnest($2), pg_catalog.unnest($3), pg_catalog.unnest($4), pg_catalog.unnest($5), pg_catalog.unnest($6), pg_catalog.unnest($7), pg_catalog.unnest($8)) "
"         AS u(customer_id, email, tags, country, province, city, accepts, created_at) "
"  ON CONFLICT (customer_id) DO UPDATE SET "
"    email = COALESCE(excluded.email, c.email), "
"    tags = excluded.tags, "
"    country = CASE WHEN excluded.country IS NULL AND excluded.province IS NULL "
"                    AND excluded.city IS NULL THEN c.country ELSE excluded.country END, "
"    province = CASE WHEN excluded.country IS NULL AND excluded.province IS NULL "
"                     AND excluded.city IS NULL THEN c.province ELSE excluded.province END, "
"    city = CASE WHEN excluded.country IS NULL AND excluded.province IS NULL "
"                 AND excluded.city IS NULL THEN c.city ELSE excluded.city END, "
"    accepts_marketing = CASE WHEN excluded.customer_id OPERATOR(pg_catalog.=) ANY ($9) "
"                             THEN c.accepts_marketing ELSE excluded.accepts_marketing END, "
"    created_at = COALESCE(excluded.created_at, c.created_at) "
"  RETURNING c.customer_id, c.xmax OPERATOR(pg_catalog.=) 0 AS inserted) "
COUNT_RESULT ", "
"       pg_catalog.min(r.customer_id) FILTER (WHERE NOT r.inserted "
"           AND r.customer_id OPERATOR(pg_catalog.=) ANY ($10)) "
"FROM r";

static const char *const products_sql =
"WITH r AS ("
"  INSERT INTO ecpower.products AS p (product_id, title, product_type, vendor) "
"  SELECT * FROM ROWS FROM (pg_catalog.unnest($1), pg_catalog.unnest($2), pg_catalog.unnest($3), pg_catalog.unnest($4)) "
"  ON CONFLICT (product_id) DO UPDATE SET "
"    title = excluded.title, "
"    product_type = COALESCE(excluded.product_type, p.product_type), "
"    vendor = COALESCE(excluded.vendor, p.vendor) "
"  RETURNING p.xmax OPERATOR(pg_catalog.=) 0 AS inserted) "
COUNT_RESULT " FROM r";

/*
 * text[] columns travel as their text form (array_out), one per order.
 * The acquisition columns and is_subscription come from the Admin API
 * only ($17 true): a CSV import leaves them as they are.
 */
static const char *const orders_sql =
"WITH r AS ("
"  INSERT INTO ecpower.orders AS o "
"    (order_id, customer_id, ordered_at, total, refunded, discount_codes, tags, "
"     sales_channel, cancelled_at, acquisition_channel, referring_site, landing_site, "
"     utm_source, utm_medium, utm_campaign, is_subscription) "
"  SELECT u.order_id, u.customer_id, u.ordered_at, u.total, u.refunded, "
"         CAST(u.discount_codes AS pg_catalog.text[]), CAST(u.tags AS pg_catalog.text[]), "
"         u.sales_channel, u.cancelled_at, u.acquisition_channel, u.referring_site, "
"         u.landing_site, u.utm_source, u.utm_medium, u.utm_campaign, "
"         COALESCE(u.is_subscription, false) "
"    FROM ROWS FROM (pg_catalog.unnest($1), pg_catalog.unnest($2), pg_catalog.unnest($3), pg_catalog.unnest($4), pg_catalog.unnest($5), pg_catalog.unnest($6), pg_catalog.unnest($7), pg_catalog.unnest($8), pg_catalog.unnest($9), "
"                    pg_catalog.unnest($10), pg_catalog.unnest($11), pg_catalog.unnest($12), pg_catalog.unnest($13), pg_catalog.unnest($14), pg_catalog.unnest($15), pg_catalog.unnest($16)) "
"         AS u(order_id, customer_id, ordered_at, total, refunded, discount_codes, "
"              tags, sales_channel, cancelled_at, acquisition_channel, referring_site, "
"              landing_site, utm_source, utm_medium, utm_campaign, is_subscription) "
"  ON CONFLICT (order_id) DO UPDATE SET "
"    customer_id = excluded.customer_id, "
"    ordered_at = excluded.ordered_at, "
"    total = excluded.total, "
"    refunded = excluded.refunded, "
"    discount_codes = excluded.discount_codes, "
"    tags = excluded.tags, "
"    sales_channel = excluded.sales_channel, "
"    cancelled_at = excluded.cancelled_at, "
"    acquisition_channel = CASE WHEN $17 THEN excluded.acquisition_channel ELSE o.acquisition_channel END, "
"    referring_site = CASE WHEN $17 THEN excluded.referring_site ELSE o.referring_site END, "
"    landing_site = CASE WHEN $17 THEN excluded.landing_site ELSE o.landing_site END, "
"    utm_source = CASE WHEN $17 THEN excluded.utm_source ELSE o.utm_source END, "
"    utm_medium = CASE WHEN $17 THEN excluded.utm_medium ELSE o.utm_medium END, "
"    utm_campaign = CASE WHEN $17 THEN excluded.utm_campaign ELSE o.utm_campaign END, "
"    is_subscription = CASE WHEN $17 THEN excluded.is_subscription ELSE o.is_subscription END "
"  RETURNING o.xmax OPERATOR(pg_catalog.=) 0 AS inserted) "
COUNT_RESULT " FROM r";

/* a re-imported order loses the lines the export no longer has */
static const char *const prune_lines_sql =
"DELETE FROM ecpower.order_lines AS l "
" WHERE l.order_id OPERATOR(pg_catalog.=) ANY ($1) "
"   AND NOT EXISTS (SELECT FROM ROWS FROM (pg_catalog.unnest($2), pg_catalog.unnest($3)) AS k(order_id, line_no) "
"                    WHERE k.order_id OPERATOR(pg_catalog.=) l.order_id "
"                      AND k.line_no OPERATOR(pg_catalog.=) l.line_no)";

/*
 * a line keeps the first unit cost it was loaded with (the cost when sold);
 * a load without variant or cost (CSV) keeps what the line has
 */
static const char *const lines_sql =
"WITH r AS ("
"  INSERT INTO ecpower.order_lines AS l "
"    (order_id, line_no, product_id, sku, quantity, price, variant_id, unit_cost) "
"  SELECT * FROM ROWS FROM (pg_catalog.unnest($1), pg_catalog.unnest($2), pg_catalog.unnest($3), pg_catalog.unnest($4), pg_catalog.unnest($5), pg_catalog.unnest($6), pg_catalog.unnest($7), pg_catalog.unnest($8)) "
"  ON CONFLICT (order_id, line_no) DO UPDATE SET "
"    product_id = excluded.product_id, "
"    sku = excluded.sku, "
"    quantity = excluded.quantity, "
"    price = excluded.price, "
"    variant_id = COALESCE(excluded.variant_id, l.variant_id), "
"    unit_cost = COALESCE(l.unit_cost, excluded.unit_cost) "
"  RETURNING l.xmax OPERATOR(pg_catalog.=) 0 AS inserted) "
COUNT_RESULT " FROM r";

/*
 * shp_match_emails
 *		Customers already in ecpower.customers keep their customer_id: look
 *		every e-mail of the import up (lower-cased, ASCII) and take the
 *		smallest id of a match.
 */
void
shp_match_emails(ImportState *st)
{
	Datum	   *emails = palloc(sizeof(Datum) * Max(st->ncustomers, 1));
	Oid			argtypes[1] = {TEXTARRAYOID};
	Datum		values[1];
	SPIPlanPtr	plan;
	uint64		i;
	int			n = 0;

	for (i = 0; i < st->ncustomers; i++)
		if (st->customers[i]->email != NULL)
			emails[n++] = CStringGetTextDatum(st->customers[i]->email);
	if (n == 0)
		return;
	values[0] = shp_make_array(emails, NULL, n, TEXTOID);

	plan = shp_prepare("SELECT f.email, pg_catalog.min(c.customer_id) "
				   "FROM pg_catalog.unnest($1) AS f(email) "
				   "JOIN ecpower.customers AS c "
				   "  ON pg_catalog.lower(pg_catalog.btrim(c.email) COLLATE \"C\") "
				   "     OPERATOR(pg_catalog.=) f.email "
				   "GROUP BY f.email", 1, argtypes);
	shp_spi_check(SPI_execute_plan(plan, values, NULL, true, 0),
			  SPI_OK_SELECT, "customer lookup");
	for (i = 0; i < SPI_processed; i++)
	{
		HeapTuple	tup = SPI_tuptable->vals[i];
		char	   *email = SPI_getvalue(tup, SPI_tuptable->tupdesc, 1);
		bool		isnull;
		int64		id = DatumGetInt64(SPI_getbinval(tup, SPI_tuptable->tupdesc,
													 2, &isnull));
		int64		key = shp_derived_id_for("email:", email);
		ImportCustomer *c = hash_search(st->customer_hash, &key, HASH_FIND, NULL);

		if (c != NULL && c->email != NULL && strcmp(c->email, email) == 0)
		{
			c->customer_id = id;
			c->id_known = true;
		}
	}
	SPI_freetuptable(SPI_tuptable);
}

/*
 * check_distinct_ids
 *		Two customers of one file must not end up with the same id: the
 *		customers export repeats a Customer ID, or two derived ids collide.
 */
static void
check_distinct_ids(ImportState *st)
{
	HASHCTL		ctl;
	HTAB	   *seen;
	int			i;

	memset(&ctl, 0, sizeof(ctl));
	ctl.keysize = sizeof(int64);
	ctl.entrysize = sizeof(ImportCustomer *) + sizeof(int64);
	ctl.hcxt = CurrentMemoryContext;
	seen = hash_create("shopify customer ids", Max(st->ncustomers, 16), &ctl,
					   HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
	for (i = 0; i < st->ncustomers; i++)
	{
		ImportCustomer *c = st->customers[i];
		bool		found;
		char	   *entry = hash_search(seen, &c->customer_id, HASH_ENTER, &found);
		ImportCustomer *other;

		if (!found)
		{
			memcpy(entry + sizeof(int64), &c, sizeof(ImportCustomer *));
			continue;
		}
		memcpy(&other, entry + sizeof(int64), sizeof(ImportCustomer *));
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
				 errmsg("customers in rows %lld and %lld of the %s have the same id " INT64_FORMAT,
						(long long) other->row, (long long) c->row, st->what,
						c->customer_id),
				 errdetail("Their e-mail addresses are \"%s\" and \"%s\".",
						   other->email ? other->email : "",
						   c->email ? c->email : "")));
	}
	hash_destroy(seen);
}

/*
 * report_collision
 *		A derived id that updated a row instead of inserting one belongs to
 *		another customer (md5 prefixes collide, or the row lost its e-mail).
 */
static void
report_collision(ImportState *st, int64 id)
{
	const char *email = "";
	int			i;

	if (id == 0)
		return;
	for (i = 0; i < st->ncustomers; i++)
		if (st->customers[i]->customer_id == id && st->customers[i]->email)
			email = st->customers[i]->email;
	ereport(ERROR,
			(errcode(ERRCODE_UNIQUE_VIOLATION),
			 errmsg("customer id " INT64_FORMAT " derived from e-mail \"%s\" is already used by another customer",
					id, email),
			 errdetail("The id is md5('email:' || the lower-cased address) reduced to [2^62, 2^63), and an existing customer with a different e-mail address has it."),
			 errhint("Give the existing customer its e-mail address back, or insert this customer with an id of your choice first: the importer matches customers by e-mail before deriving ids.")));
}

/*
 * fresh_ids
 *		The ids of customers [from, to) that must be new rows: derived from
 *		an e-mail address that matched no existing customer.
 */
static Datum
fresh_ids(ImportState *st, int from, int to)
{
	Datum	   *ids = palloc(sizeof(Datum) * Max(to - from, 1));
	int			n = 0;
	int			i;

	for (i = from; i < to; i++)
		if (st->customers[i]->kind == CK_EMAIL && !st->customers[i]->id_known)
			ids[n++] = Int64GetDatum(st->customers[i]->customer_id);
	return shp_make_array(ids, NULL, n, INT8OID);
}

/*
 * shp_write_customers
 *		Upsert the import's customers in batches: from an orders export
 *		(from_orders) only filling what is missing, from a customers export
 *		as the authority on e-mail, tags, location and consent.
 */
void
shp_write_customers(ImportState *st, bool from_orders)
{
	static const Oid order_types[7] = {INT8OID, TEXTOID, TIMESTAMPTZOID,
	TEXTOID, TEXTOID, TEXTOID, BOOLOID};
	static const Oid export_types[8] = {INT8OID, TEXTOID, TEXTOID,
	TEXTOID, TEXTOID, TEXTOID, BOOLOID, TIMESTAMPTZOID};
	static const Oid id_arrays[2] = {INT8ARRAYOID, INT8ARRAYOID};
	const Oid  *types = from_orders ? order_types : export_types;
	SPIPlanPtr	plan;
	int			from;
	int			i;
	int			ncols = from_orders ? 7 : 8;

	check_distinct_ids(st);
	/* the columns, then one or two arrays of ids */
	plan = prepare_batch(from_orders ? customers_from_orders_sql : customers_sql,
						 ncols, types, from_orders ? 1 : 2, id_arrays);

	for (from = 0; from < st->ncustomers; from += BATCH_ROWS)
	{
		int			to = Min(from + BATCH_ROWS, st->ncustomers);
		MemoryContext oldcxt = begin_batch(st);
		Datum		params[10];
		Datum	   *unknown_consent = palloc(sizeof(Datum) * (to - from));
		int			nunknown = 0;
		Batch		batch;

		batch_start(&batch, ncols, types, to - from);
		for (i = from; i < to; i++)
		{
			ImportCustomer *c = st->customers[i];
			int			row = i - from;

			batch.values[0][row] = Int64GetDatum(c->customer_id);
			batch_text(&batch, 1, row, c->email);
			if (from_orders)
				batch.values[2][row] = TimestampTzGetDatum(c->first_at);
			else
				batch_text(&batch, 2, row,
						   OidOutputFunctionCall(F_ARRAY_OUT, c->tags));
			batch_text(&batch, 3, row, c->country);
			batch_text(&batch, 4, row, c->province);
			batch_text(&batch, 5, row, c->city);
			batch.values[6][row] = BoolGetDatum(c->accepts > 0);
			if (c->accepts < 0)
				unknown_consent[nunknown++] = Int64GetDatum(c->customer_id);
			if (!from_orders)
			{
				batch.values[7][row] = TimestampTzGetDatum(c->created_at);
				batch.nulls[7][row] = !c->has_created;
			}
		}
		batch_params(&batch, params);
		if (from_orders)
			params[7] = fresh_ids(st, from, to);
		else
		{
			params[8] = shp_make_array(unknown_consent, NULL, nunknown, INT8OID);
			params[9] = fresh_ids(st, from, to);
		}
		report_collision(st, run_upsert(plan, params, &st->customer_counts));
		MemoryContextSwitchTo(oldcxt);
	}
}

/*
 * shp_write_products
 *		Upsert the products of an orders export: title and vendor as on the
 *		latest order; product_type only when the export has such a column.
 */
void
shp_write_products(ImportState *st)
{
	static const Oid types[4] = {INT8OID, TEXTOID, TEXTOID, TEXTOID};
	SPIPlanPtr	plan;
	int			from;
	int			i;

	plan = prepare_batch(products_sql, 4, types, 0, NULL);

	for (from = 0; from < st->nproducts; from += BATCH_ROWS)
	{
		int			to = Min(from + BATCH_ROWS, st->nproducts);
		MemoryContext oldcxt = begin_batch(st);
		Datum		params[4];
		Batch		batch;

		batch_start(&batch, 4, types, to - from);
		for (i = from; i < to; i++)
		{
			ImportProduct *p = st->products[i];
			int			row = i - from;

			batch.values[0][row] = Int64GetDatum(p->product_id);
			batch_text(&batch, 1, row, p->title);
			batch_text(&batch, 2, row, p->product_type);
			batch_text(&batch, 3, row, p->vendor);
		}
		batch_params(&batch, params);
		run_upsert(plan, params, &st->product_counts);
		MemoryContextSwitchTo(oldcxt);
	}
}

/*
 * write_order_lines
 *		Replace the lines of orders [from, to): delete the lines the export
 *		no longer has, then upsert the export's.  The orders' lines are the
 *		contiguous range of st->lines starting at the first one's.
 */
static void
write_order_lines(ImportState *st, SPIPlanPtr prune_plan, SPIPlanPtr line_plan,
				  int from, int to)
{
	static const Oid types[8] = {INT8OID, INT4OID, INT8OID, TEXTOID, INT4OID,
	NUMERICOID, INT8OID, NUMERICOID};
	int			first = st->orders[from]->first_line;
	int			last = st->orders[to - 1]->first_line + st->orders[to - 1]->nlines;
	Datum	   *order_ids = palloc(sizeof(Datum) * (to - from));
	Datum		params[8];
	Batch		batch;
	int			i;

	batch_start(&batch, 8, types, last - first);
	for (i = first; i < last; i++)
	{
		ImportLine *line = &st->lines[i];
		int			row = i - first;

		batch.values[0][row] = Int64GetDatum(line->order->order_id);
		batch.values[1][row] = Int32GetDatum(line->line_no);
		batch.values[2][row] = Int64GetDatum(line->product ? line->product->product_id : 0);
		batch.nulls[2][row] = (line->product == NULL);
		batch_text(&batch, 3, row, line->sku);
		batch.values[4][row] = Int32GetDatum(line->quantity);
		batch.values[5][row] = ecp_cents_to_numeric(line->price);
		batch.values[6][row] = Int64GetDatum(line->variant_id);
		batch.nulls[6][row] = (line->variant_id == 0);
		batch.values[7][row] = line->has_cost ? ecp_cents_to_numeric(line->unit_cost) : (Datum) 0;
		batch.nulls[7][row] = !line->has_cost;
	}
	batch_params(&batch, params);

	for (i = from; i < to; i++)
		order_ids[i - from] = Int64GetDatum(st->orders[i]->order_id);
	{
		Datum		prune[3];

		prune[0] = shp_make_array(order_ids, NULL, to - from, INT8OID);
		prune[1] = params[0];
		prune[2] = params[1];
		shp_spi_check(SPI_execute_plan(prune_plan, prune, NULL, false, 0),
				  SPI_OK_DELETE, "line prune");
	}
	if (last > first)
		run_upsert(line_plan, params, &st->line_counts);
}

/*
 * shp_write_orders
 *		Upsert the orders in batches, each followed by its lines.
 */
void
shp_write_orders(ImportState *st)
{
	static const Oid types[16] = {INT8OID, INT8OID, TIMESTAMPTZOID,
		NUMERICOID, NUMERICOID, TEXTOID, TEXTOID, TEXTOID, TIMESTAMPTZOID,
		TEXTOID, TEXTOID, TEXTOID, TEXTOID, TEXTOID, TEXTOID, BOOLOID};
	static const Oid api_flag[1] = {BOOLOID};
	static const Oid line_types[8] = {INT8OID, INT4OID, INT8OID, TEXTOID,
	INT4OID, NUMERICOID, INT8OID, NUMERICOID};
	static const Oid prune_types[3] = {INT8OID, INT8OID, INT4OID};
	SPIPlanPtr	order_plan;
	SPIPlanPtr	line_plan;
	SPIPlanPtr	prune_plan;
	int			from;
	int			i;

	order_plan = prepare_batch(orders_sql, 16, types, 1, api_flag);
	line_plan = prepare_batch(lines_sql, 8, line_types, 0, NULL);
	prune_plan = prepare_batch(prune_lines_sql, 3, prune_types, 0, NULL);

	for (from = 0; from < st->norders; from += BATCH_ROWS)
	{
		int			to = Min(from + BATCH_ROWS, st->norders);
		MemoryContext oldcxt = begin_batch(st);
		Datum		params[17];
		Batch		batch;

		batch_start(&batch, 16, types, to - from);
		for (i = from; i < to; i++)
		{
			ImportOrder *o = st->orders[i];
			int			row = i - from;

			batch.values[0][row] = Int64GetDatum(o->order_id);
			batch.values[1][row] = Int64GetDatum(o->customer->customer_id);
			batch.values[2][row] = TimestampTzGetDatum(o->ordered_at);
			batch.values[3][row] = ecp_cents_to_numeric(o->total);
			batch.values[4][row] = ecp_cents_to_numeric(o->refunded);
			batch_text(&batch, 5, row,
					   OidOutputFunctionCall(F_ARRAY_OUT, o->discount_codes));
			batch_text(&batch, 6, row, OidOutputFunctionCall(F_ARRAY_OUT, o->tags));
			batch_text(&batch, 7, row, o->sales_channel);
			batch.values[8][row] = TimestampTzGetDatum(o->cancelled_at);
			batch.nulls[8][row] = !o->cancelled;
			batch_text(&batch, 9, row, o->acquisition_channel);
			batch_text(&batch, 10, row, o->referring_site);
			batch_text(&batch, 11, row, o->landing_site);
			batch_text(&batch, 12, row, o->utm_source);
			batch_text(&batch, 13, row, o->utm_medium);
			batch_text(&batch, 14, row, o->utm_campaign);
			batch.values[15][row] = BoolGetDatum(o->is_subscription);
			batch.nulls[15][row] = !st->api;
		}
		batch_params(&batch, params);
		params[16] = BoolGetDatum(st->api);
		run_upsert(order_plan, params, &st->order_counts);
		write_order_lines(st, prune_plan, line_plan, from, to);
		MemoryContextSwitchTo(oldcxt);
	}
}

/*
 * shp_check_currency
 *		Warn when the export's currency is not the store's.
 */
void
shp_check_currency(ImportState *st)
{
	char	   *store;

	if (st->currency == NULL)
		return;
	shp_spi_check(SPI_execute("SELECT currency FROM ecpower.settings LIMIT 1",
						  true, 1), SPI_OK_SELECT, "settings lookup");
	if (SPI_processed != 1)
		return;
	store = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);
	if (store != NULL && pg_strcasecmp(store, st->currency) != 0)
		ereport(WARNING,
				(errmsg("the %s is in %s but the store currency is %s",
						st->what, st->currency, store),
				 errhint("Amounts are imported as they are; set ecpower.settings.currency to match.")));
	SPI_freetuptable(SPI_tuptable);
}

/*
 * shp_return_counts
 *		Emit the summary rows (table, inserted, updated, skipped).
 */
void
shp_return_counts(FunctionCallInfo fcinfo, ImportState *st, bool with_orders)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	static const char *names[4] = {"customers", "products", "orders", "order_lines"};
	ImportCounts *counts[4];
	int			i;

	counts[0] = &st->customer_counts;
	counts[1] = &st->product_counts;
	counts[2] = &st->order_counts;
	counts[3] = &st->line_counts;
	for (i = 0; i < (with_orders ? 4 : 1); i++)
	{
		Datum		values[4];
		bool		nulls[4] = {false, false, false, false};

		values[0] = CStringGetTextDatum(names[i]);
		values[1] = Int64GetDatum(counts[i]->inserted);
		values[2] = Int64GetDatum(counts[i]->updated);
		values[3] = Int64GetDatum(counts[i]->skipped);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
}
