/*-------------------------------------------------------------------------
 *
 * shopify_orders.c
 *	  ecpower.import_shopify_orders(): the orders_export.csv of Shopify admin.
 *
 * ecpower.import_shopify_orders(csv text) reads orders_export.csv: one row
 * per line item, the order's own fields (Total, Refunded Amount, Tags ...)
 * filled only on the first row of each order, the following rows of the
 * same order repeating just Name, Email, Created at and the Lineitem
 * columns.  ecpower.import_shopify_customers(csv text) reads
 * customers_export.csv.  Shopify has added, dropped and moved columns in
 * both files over the years, so columns are found by header name (case and
 * spacing ignored), never by position.
 *
 * An import runs in two phases inside the caller's transaction:
 *
 *	1. parse and validate the whole file into memory, grouping the rows
 *	   into orders, customers and products; every malformed value is
 *	   reported here (22P02, naming the row and the column) before any
 *	   table is touched, and a wrong header is 22023;
 *	2. upsert customers, products, orders and lines through SPI, so that
 *	   importing the same or an overlapping export again updates rows
 *	   instead of duplicating them.
 *
 * The orders export carries no customer id and no product id, and old
 * exports no order id; those ids are derived from stable keys (the
 * lower-cased e-mail address, the SKU or line item name, the order name),
 * see ecp_shopify_derived_id() and the README for the exact rules.
 *
 * src/io/shopify_orders.c
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

PG_FUNCTION_INFO_V1(import_shopify_orders);

typedef enum OrderColumn
{
	OC_NAME,
	OC_ID,
	OC_EMAIL,
	OC_PHONE,
	OC_CREATED_AT,
	OC_PAID_AT,
	OC_ACCEPTS,
	OC_CURRENCY,
	OC_TOTAL,
	OC_REFUNDED,
	OC_DISCOUNT,
	OC_TAGS,
	OC_SOURCE,
	OC_CANCELLED_AT,
	OC_QUANTITY,
	OC_LINE_NAME,
	OC_PRICE,
	OC_SKU,
	OC_VENDOR,
	OC_PRODUCT_TYPE,
	OC_BILLING_CITY,
	OC_BILLING_PROVINCE,
	OC_BILLING_COUNTRY,
	OC_SHIPPING_CITY,
	OC_SHIPPING_PROVINCE,
	OC_SHIPPING_COUNTRY,
	OC_NCOLUMNS
} OrderColumn;

static const ColumnSpec order_columns[OC_NCOLUMNS] = {
	[OC_NAME] = {"Name", {"name"}},
	[OC_ID] = {"Id", {"id"}},
	[OC_EMAIL] = {"Email", {"email"}},
	[OC_PHONE] = {"Phone", {"phone"}},
	[OC_CREATED_AT] = {"Created at", {"created at"}},
	[OC_PAID_AT] = {"Paid at", {"paid at"}},
	[OC_ACCEPTS] = {"Accepts Marketing", {"accepts marketing", "accepts email marketing"}},
	[OC_CURRENCY] = {"Currency", {"currency"}},
	[OC_TOTAL] = {"Total", {"total"}},
	[OC_REFUNDED] = {"Refunded Amount", {"refunded amount"}},
	[OC_DISCOUNT] = {"Discount Code", {"discount code", "discount codes"}},
	[OC_TAGS] = {"Tags", {"tags"}},
	[OC_SOURCE] = {"Source", {"source", "source name"}},
	[OC_CANCELLED_AT] = {"Cancelled at", {"cancelled at"}},
	[OC_QUANTITY] = {"Lineitem quantity", {"lineitem quantity"}},
	[OC_LINE_NAME] = {"Lineitem name", {"lineitem name"}},
	[OC_PRICE] = {"Lineitem price", {"lineitem price"}},
	[OC_SKU] = {"Lineitem sku", {"lineitem sku"}},
	[OC_VENDOR] = {"Vendor", {"vendor", "lineitem vendor"}},
	[OC_PRODUCT_TYPE] = {"Lineitem product type", {"lineitem product type", "product type"}},
	[OC_BILLING_CITY] = {"Billing City", {"billing city"}},
	[OC_BILLING_PROVINCE] = {"Billing Province", {"billing province", "billing province code"}},
	[OC_BILLING_COUNTRY] = {"Billing Country", {"billing country", "billing country code"}},
	[OC_SHIPPING_CITY] = {"Shipping City", {"shipping city"}},
	[OC_SHIPPING_PROVINCE] = {"Shipping Province", {"shipping province", "shipping province code"}},
	[OC_SHIPPING_COUNTRY] = {"Shipping Country", {"shipping country", "shipping country code"}},
};

/*
 * order_customer
 *		The customer of an order's first row: by e-mail address, else by
 *		phone number, else a guest customer of this order alone.
 */
static ImportCustomer *
order_customer(ImportState *st, int64 order_id)
{
	char	   *email = shp_get_field(st, OC_EMAIL);
	char	   *phone;

	if (email != NULL)
	{
		char	   *lower = pstrdup(email);
		ImportCustomer *c;

		shp_ascii_lower(lower);
		c = shp_customer_entry(st, shp_derived_id_for("email:", lower), CK_EMAIL,
						   lower);
		pfree(lower);
		return c;
	}
	phone = shp_get_field(st, OC_PHONE);
	if (phone != NULL)
		return shp_customer_entry(st, shp_derived_id_for("phone:", phone), CK_PHONE,
							  NULL);
	{
		char		digits[MAXINT8LEN + 1];

		pg_lltoa(order_id, digits);
		return shp_customer_entry(st, shp_derived_id_for("guest:", digits), CK_GUEST,
							  NULL);
	}
}

/*
 * order_id_from_name
 *		Exports without an Id column: the digits of the order name ("#1001"
 *		-> 1001), or a derived id when the name has no digits or too many.
 */
static int64
order_id_from_name(const char *name)
{
	int64		v = 0;
	int			ndigits = 0;
	const char *s;

	for (s = name; *s; s++)
	{
		if (!isdigit((unsigned char) *s))
			continue;
		if (++ndigits > 18)
			break;
		v = v * 10 + (*s - '0');
	}
	if (ndigits == 0 || ndigits > 18)
		return shp_derived_id_for("order:", name);
	return v;
}

/*
 * start_order
 *		The first row of an order: read the order-level fields.
 */
static ImportOrder *
start_order(ImportState *st, const char *name)
{
	ImportOrder *o;
	ImportCustomer *c;
	int64		order_id;
	char	   *s;
	bool		found;
	int			accepts;
	int			loc_city = OC_BILLING_CITY;
	int			loc_province = OC_BILLING_PROVINCE;
	int			loc_country = OC_BILLING_COUNTRY;

	s = shp_get_field(st, OC_ID);
	if (s != NULL)
	{
		if (!shp_parse_int64(s, &order_id) || order_id <= 0)
			shp_bad_value(st, OC_ID, s, "a positive whole number");
	}
	else
		order_id = order_id_from_name(name);

	o = hash_search(st->order_hash, &order_id, HASH_ENTER, &found);
	if (found)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
				 errmsg("order \"%s\" in row %lld of the %s repeats order \"%s\" of row %lld",
						name, (long long) st->reader.row, st->what,
						o->name, (long long) o->row),
				 errdetail("Both rows start an order with id " INT64_FORMAT "; an order's line items are on consecutive rows.",
						   order_id),
				 errhint("Import each export file with its own call instead of concatenating files.")));
	o->name = pstrdup(name);
	o->row = st->reader.row;
	o->nrows = 0;
	o->first_line = st->nlines;
	o->nlines = 0;

	if (!shp_get_timestamp(st, OC_CREATED_AT, &o->ordered_at) &&
		!shp_get_timestamp(st, OC_PAID_AT, &o->ordered_at))
		shp_missing_value(st, st->cols[OC_CREATED_AT] >= 0 ? OC_CREATED_AT : OC_PAID_AT,
					  "The first row of each order needs its creation time.");
	if (!shp_get_cents(st, OC_TOTAL, &o->total))
		shp_missing_value(st, OC_TOTAL, "The first row of each order carries the order's Total.");
	if (o->total < 0)
		shp_bad_value(st, OC_TOTAL, shp_get_field(st, OC_TOTAL), "an amount of at least 0");
	if (!shp_get_cents(st, OC_REFUNDED, &o->refunded))
		o->refunded = 0;
	if (o->refunded < 0 || o->refunded > o->total)
		shp_bad_value(st, OC_REFUNDED, shp_get_field(st, OC_REFUNDED),
					  "an amount from 0 to the order's Total");
	o->cancelled = shp_get_timestamp(st, OC_CANCELLED_AT, &o->cancelled_at);
	o->discount_codes = shp_split_list(shp_get_field(st, OC_DISCOUNT));
	o->tags = shp_split_list(shp_get_field(st, OC_TAGS));
	o->sales_channel = shp_keep(shp_get_field(st, OC_SOURCE));
	o->acquisition_channel = o->referring_site = o->landing_site = NULL;
	o->utm_source = o->utm_medium = o->utm_campaign = NULL;
	o->is_subscription = false;
	accepts = shp_get_bool(st, OC_ACCEPTS);
	if (st->currency == NULL)
		st->currency = shp_keep(shp_get_field(st, OC_CURRENCY));

	/* the customer, with location and consent from their latest order */
	c = order_customer(st, order_id);
	o->customer = c;
	c->first_at = Min(c->first_at, o->ordered_at);
	if (o->ordered_at >= c->last_at)
	{
		c->last_at = o->ordered_at;
		if (accepts >= 0)
			c->accepts = accepts;
	}
	if (shp_get_field(st, OC_BILLING_CITY) == NULL &&
		shp_get_field(st, OC_BILLING_PROVINCE) == NULL &&
		shp_get_field(st, OC_BILLING_COUNTRY) == NULL)
	{
		loc_city = OC_SHIPPING_CITY;
		loc_province = OC_SHIPPING_PROVINCE;
		loc_country = OC_SHIPPING_COUNTRY;
	}
	if ((shp_get_field(st, loc_city) || shp_get_field(st, loc_province) ||
		 shp_get_field(st, loc_country)) && o->ordered_at >= c->loc_at)
	{
		c->loc_at = o->ordered_at;
		c->city = shp_keep(shp_get_field(st, loc_city));
		c->province = shp_keep(shp_get_field(st, loc_province));
		c->country = shp_keep(shp_get_field(st, loc_country));
	}

	st->orders = shp_grow(st->orders, st->norders, &st->maxorders,
					  sizeof(ImportOrder *));
	st->orders[st->norders++] = o;
	return o;
}

/*
 * add_line
 *		The line item of the current row, if it has one.
 */
static void
add_line(ImportState *st, ImportOrder *o)
{
	char	   *title = shp_get_field(st, OC_LINE_NAME);
	char	   *sku = shp_get_field(st, OC_SKU);
	char	   *qty_text;
	int64		quantity;
	int64		price;
	ImportProduct *p;
	ImportLine *line;
	int64		product_id;
	bool		found;

	o->nrows++;
	qty_text = shp_get_field(st, OC_QUANTITY);
	if (title == NULL && sku == NULL && qty_text == NULL &&
		shp_get_field(st, OC_PRICE) == NULL)
		return;					/* a row without line item */

	if (qty_text == NULL)
		shp_missing_value(st, OC_QUANTITY, "Every line item needs a quantity.");
	if (!shp_parse_int64(qty_text, &quantity) || quantity > PG_INT32_MAX ||
		quantity < PG_INT32_MIN)
		shp_bad_value(st, OC_QUANTITY, qty_text, "a whole number");
	if (!shp_get_cents(st, OC_PRICE, &price))
		shp_missing_value(st, OC_PRICE, "Every line item needs a price.");
	if (price < 0)
		shp_bad_value(st, OC_PRICE, shp_get_field(st, OC_PRICE), "an amount of at least 0");
	if (quantity <= 0)
	{
		st->line_counts.skipped++;
		return;
	}

	/* the product: by SKU, else by line item name */
	product_id = sku ? shp_derived_id_for("sku:", sku) : shp_derived_id_for("name:", title);
	p = hash_search(st->product_hash, &product_id, HASH_ENTER, &found);
	if (!found)
	{
		p->seen_at = DT_NOBEGIN;
		p->seen_order = 0;
		st->products = shp_grow(st->products, st->nproducts, &st->maxproducts,
							sizeof(ImportProduct *));
		st->products[st->nproducts++] = p;
	}
	/* title and vendor as on the latest order */
	if (!found || o->ordered_at > p->seen_at ||
		(o->ordered_at == p->seen_at && o->order_id > p->seen_order))
	{
		p->seen_at = o->ordered_at;
		p->seen_order = o->order_id;
		p->title = shp_keep(title ? title : sku);
		p->vendor = shp_keep(shp_get_field(st, OC_VENDOR));
		p->product_type = shp_keep(shp_get_field(st, OC_PRODUCT_TYPE));
	}

	st->lines = shp_grow(st->lines, st->nlines, &st->maxlines, sizeof(ImportLine));
	line = &st->lines[st->nlines++];
	o->nlines++;
	line->order = o;
	line->line_no = o->nrows;
	line->product = p;
	line->sku = shp_keep(sku);
	line->quantity = (int32) quantity;
	line->price = price;
	line->variant_id = 0;
	line->has_cost = false;
}

/*
 * parse_orders
 *		Phase 1 of the orders import: read and validate the whole file.
 */
static void
parse_orders(ImportState *st)
{
	static const char *hint =
		"ecpower.import_shopify_orders() reads the orders_export.csv file of Shopify admin; customers_export.csv goes to ecpower.import_shopify_customers().";
	ImportOrder *current = NULL;

	shp_read_header(st, order_columns, OC_NCOLUMNS);
	shp_require_column(st, order_columns, OC_NAME, -1, hint);
	shp_require_column(st, order_columns, OC_TOTAL, -1, hint);
	shp_require_column(st, order_columns, OC_CREATED_AT, OC_PAID_AT, hint);
	shp_require_column(st, order_columns, OC_QUANTITY, -1, hint);
	shp_require_column(st, order_columns, OC_LINE_NAME, -1, hint);
	shp_require_column(st, order_columns, OC_PRICE, -1, hint);

	while (csv_next(&st->reader))
	{
		char	   *name;

		shp_check_field_count(st);
		name = shp_get_field(st, OC_NAME);
		if (name == NULL)
			shp_missing_value(st, OC_NAME, "Every row names its order (e.g. \"#1001\").");
		if (current == NULL || strcmp(name, current->name) != 0)
			current = start_order(st, name);
		add_line(st, current);
	}
}

/*
 * import_shopify_orders(csv text) RETURNS TABLE (kind, inserted, updated,
 * skipped)
 *		Load a Shopify orders_export.csv.  See the file header.
 */
Datum
import_shopify_orders(PG_FUNCTION_ARGS)
{
	text	   *csv = PG_GETARG_TEXT_PP(0);
	MemoryContext importcxt;
	MemoryContext oldcxt;
	ImportState *st;

	InitMaterializedSRF(fcinfo, 0);
	importcxt = AllocSetContextCreate(CurrentMemoryContext, "shopify import",
									  ALLOCSET_DEFAULT_SIZES);
	oldcxt = MemoryContextSwitchTo(importcxt);

	st = shp_import_state_create(csv, "orders export");
	parse_orders(st);

	SPI_connect();
	shp_check_currency(st);
	shp_match_emails(st);
	shp_write_customers(st, true);
	shp_write_products(st);
	shp_write_orders(st);
	SPI_finish();

	MemoryContextSwitchTo(oldcxt);
	shp_return_counts(fcinfo, st, true);
	MemoryContextDelete(importcxt);
	PG_RETURN_NULL();
}
