/*-------------------------------------------------------------------------
 *
 * shopify_pull.c
 *	  ecpower._shopify_pull(server): load customers, products, orders and
 *	  line items from the Shopify Admin API (the work of the procedure
 *	  ecpower.shopify_pull(), which logs it in shopify_syncs).
 *
 * Four bulk query operations, one after the other (a shop runs one bulk
 * query of an app at a time): customers, products, orders with their line
 * items (a nested connection: each line item is its own JSONL line whose
 * __parentId is its order's id), and the ids of every order.  The first
 * pull asks for everything; later pulls ask for what was updated since the
 * latest updatedAt the previous pulls saw (updated_at:>=, so an object
 * updated in the same second is pulled again rather than missed).  The
 * order ids find orders deleted in Shopify: an order with a Shopify id
 * (below 2^62, the derived ids of CSV imports are above) that the shop no
 * longer has is deleted, its lines with it.
 *
 * Everything is gathered into ImportStates and written with the CSV
 * importers' upsert (shopify_upsert.c), in the caller's transaction: a
 * pull that fails anywhere writes nothing.
 *
 * src/io/shopify_pull.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "io/shopify_bulk.h"
#include "io/shopify_import.h"
#include "core/ecpower.h"

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/memutils.h"

PG_FUNCTION_INFO_V1(shopify_pull_run);

static const char *const customers_bulk =
"{ customers%s { edges { node {"
" id email createdAt updatedAt tags"
" emailMarketingConsent { marketingState }"
" defaultAddress { city provinceCode countryCodeV2 } } } } }";

static const char *const products_bulk =
"{ products%s { edges { node {"
" id title productType vendor updatedAt } } } }";

static const char *const orders_bulk =
"{ orders%s { edges { node {"
" id name email createdAt updatedAt cancelledAt tags discountCodes sourceName"
" totalPriceSet { shopMoney { amount currencyCode } }"
" totalRefundedSet { shopMoney { amount } }"
" customer { id }"
" billingAddress { city provinceCode countryCodeV2 }"
" customerJourneySummary { firstVisit { source referrerUrl landingPage"
"  utmParameters { source medium campaign } } }"
" lineItems { edges { node {"
"  id sku quantity name"
"  originalUnitPriceSet { shopMoney { amount } }"
"  sellingPlan { sellingPlanId }"
"  variant { id inventoryItem { unitCost { amount } } }"
"  product { id title productType vendor } } } } } } } }";

static const char *const order_ids_bulk =
"{ orders { edges { node { id } } } }";

/* one line of a JSONL result, parsed */
typedef struct JsonLine
{
	JsonbContainer *obj;
	int64		number;			/* 1-based line number */
} JsonLine;

/* a line item waiting for its order's lines to be laid out */
typedef struct PendingLine
{
	ImportOrder *order;
	ImportLine	line;
} PendingLine;

/* what one pull gathers */
typedef struct Pull
{
	ShopifyConn *conn;
	ImportState *customers;		/* the Customers query: authoritative */
	ImportState *orders;		/* orders, lines, products, order customers */
	TimestampTz until[3];		/* latest updatedAt seen: customers, products, orders */
	bool		seen[3];
	PendingLine *pending;
	int			npending;
	int			maxpending;
	int64		deleted;
	MemoryContext linecxt;
} Pull;

/*
 * next_line
 *		Parse the next non-empty line of a JSONL buffer (advancing *pos) in
 *		the pull's line context; false at the end.
 */
static bool
next_line(Pull *pull, char **pos, JsonLine *out, const char *what)
{
	char	   *s = *pos;
	char	   *end;
	MemoryContext old;
	Jsonb	   *doc;
	char		label[128];

	while (*s == '\n' || *s == '\r')
		s++;
	if (*s == '\0')
	{
		*pos = s;
		return false;
	}
	end = strchr(s, '\n');
	if (end == NULL)
		end = s + strlen(s);
	out->number++;				/* of the non-empty lines */
	snprintf(label, sizeof(label), "line %lld of the bulk result of %s",
			 (long long) out->number, what);
	MemoryContextReset(pull->linecxt);
	old = MemoryContextSwitchTo(pull->linecxt);
	doc = ecp_json_parse(s, (int) (end - s), label);
	MemoryContextSwitchTo(old);
	if (!JsonContainerIsObject(&doc->root))
		ereport(ERROR,
				(errcode(ERRCODE_FDW_INVALID_DATA_TYPE),
				 errmsg("%s is not a JSON object", label)));
	out->obj = &doc->root;
	*pos = (*end == '\n') ? end + 1 : end;
	return true;
}

/*
 * money
 *		An amount of a MoneyBag/MoneyV2 at key (…{ shopMoney { amount } }
 *		or { amount }) in cents; false when absent.
 */
static bool
money(JsonbContainer *c, const char *key, bool bag, int64 *cents,
	  const char *path)
{
	JsonbContainer *m = ecp_json_object(c, key, false, path);
	char	   *amount;

	if (m == NULL)
		return false;
	if (bag)
		m = ecp_json_object(m, "shopMoney", true, psprintf("%s.%s", path, key));
	amount = ecp_json_string(m, "amount", true, psprintf("%s.%s", path, key));
	if (!shp_parse_cents(amount, cents))
		ereport(ERROR,
				(errcode(ERRCODE_FDW_INVALID_DATA_TYPE),
				 errmsg("the Shopify response has \"%s\" at %s.%s.amount where an amount such as \"12.50\" belongs",
						amount, path, key)));
	return true;
}

/*
 * timestamp_at
 *		A DateTime string at key; false when absent or null.
 */
static bool
timestamp_at(ImportState *st, JsonbContainer *c, const char *key,
			 TimestampTz *ts, const char *path)
{
	char	   *s = ecp_json_string(c, key, false, path);

	if (s == NULL)
		return false;
	if (!shp_parse_timestamp(st, s, ts))
		ereport(ERROR,
				(errcode(ERRCODE_FDW_INVALID_DATA_TYPE),
				 errmsg("the Shopify response has \"%s\" at %s.%s where a DateTime belongs",
						s, path, key)));
	return true;
}

/*
 * string_list
 *		A [String!] at key as a text[] ('{}' when absent).
 */
static Datum
string_list(JsonbContainer *c, const char *key, const char *path)
{
	JsonbContainer *a = ecp_json_array(c, key, false, path);
	ArrayBuildState *astate = initArrayResult(TEXTOID, CurrentMemoryContext, false);
	int			i;

	for (i = 0; a != NULL && i < JsonContainerSize(a); i++)
	{
		JsonbValue *v = getIthJsonbValueFromContainer(a, i);

		if (v == NULL || v->type != jbvString)
			ereport(ERROR,
					(errcode(ERRCODE_FDW_INVALID_DATA_TYPE),
					 errmsg("the Shopify response has a value that is not a string in %s.%s",
							path, key)));
		astate = accumArrayResult(astate,
								  PointerGetDatum(cstring_to_text_with_len(v->val.string.val,
																		   v->val.string.len)),
								  false, TEXTOID, CurrentMemoryContext);
	}
	return makeArrayResult(astate, CurrentMemoryContext);
}

/* remember the latest updatedAt of a resource */
static void
saw_update(Pull *pull, int resource, ImportState *st, JsonbContainer *c,
		   const char *path)
{
	TimestampTz ts;

	if (!timestamp_at(st, c, "updatedAt", &ts, path))
		return;
	if (!pull->seen[resource] || ts > pull->until[resource])
		pull->until[resource] = ts;
	pull->seen[resource] = true;
}

/* a lower-cased copy (ASCII), or NULL */
static char *
lower_email(char *email)
{
	if (email == NULL || *email == '\0')
		return NULL;
	shp_ascii_lower(email);
	return email;
}

/*
 * load_customers
 *		The Customers bulk result into pull->customers.
 */
static void
load_customers(Pull *pull, char *jsonl)
{
	ImportState *st = pull->customers;
	JsonLine	line = {0};
	char	   *pos = jsonl;
	static const char *path = "$.customer";

	while (next_line(pull, &pos, &line, "customers"))
	{
		int64		id = ecp_shopify_gid(ecp_json_string(line.obj, "id", true, path),
										 "Customer", path);
		char	   *email = lower_email(ecp_json_string(line.obj, "email", false, path));
		ImportCustomer *c = shp_customer_entry(st, id, CK_EXPORT_ID, email);
		JsonbContainer *consent = ecp_json_object(line.obj, "emailMarketingConsent",
												  false, path);
		JsonbContainer *addr = ecp_json_object(line.obj, "defaultAddress", false, path);

		c->customer_id = id;
		c->id_known = true;
		c->email = email ? pstrdup(email) : NULL;
		c->has_created = timestamp_at(st, line.obj, "createdAt", &c->created_at, path);
		c->tags = string_list(line.obj, "tags", path);
		c->accepts = -1;
		if (consent != NULL)
		{
			char	   *state = ecp_json_string(consent, "marketingState", false,
												"$.customer.emailMarketingConsent");

			if (state != NULL)
				c->accepts = strcmp(state, "SUBSCRIBED") == 0 ? 1 : 0;
		}
		c->city = ecp_json_string(addr, "city", false, "$.customer.defaultAddress");
		c->province = ecp_json_string(addr, "provinceCode", false, "$.customer.defaultAddress");
		c->country = ecp_json_string(addr, "countryCodeV2", false, "$.customer.defaultAddress");
		saw_update(pull, 0, st, line.obj, path);
	}
}

/*
 * product_entry
 *		The product of an id in the orders state; title, type and vendor
 *		set on first sight (the Products query comes first).
 */
static ImportProduct *
product_entry(Pull *pull, JsonbContainer *p, const char *path)
{
	ImportState *st = pull->orders;
	int64		id = ecp_shopify_gid(ecp_json_string(p, "id", true, path), "Product", path);
	ImportProduct *prod;
	bool		found;

	prod = hash_search(st->product_hash, &id, HASH_ENTER, &found);
	if (!found)
	{
		char	   *title = ecp_json_string(p, "title", false, path);

		prod->title = title ? title : psprintf("product %lld", (long long) id);
		prod->product_type = ecp_json_string(p, "productType", false, path);
		prod->vendor = ecp_json_string(p, "vendor", false, path);
		if (prod->product_type != NULL && *prod->product_type == '\0')
			prod->product_type = NULL;
		if (prod->vendor != NULL && *prod->vendor == '\0')
			prod->vendor = NULL;
		prod->seen_at = DT_NOBEGIN;
		prod->seen_order = 0;
		st->products = shp_grow(st->products, st->nproducts, &st->maxproducts,
								sizeof(ImportProduct *));
		st->products[st->nproducts++] = prod;
	}
	return prod;
}

/*
 * load_products
 *		The Products bulk result into pull->orders' products.
 */
static void
load_products(Pull *pull, char *jsonl)
{
	JsonLine	line = {0};
	char	   *pos = jsonl;

	while (next_line(pull, &pos, &line, "products"))
	{
		(void) product_entry(pull, line.obj, "$.product");
		saw_update(pull, 1, pull->orders, line.obj, "$.product");
	}
}

/*
 * order_customer
 *		The customer of an order: Shopify's customer when it has one, else
 *		like the CSV importer (by e-mail, else a guest of this order alone).
 */
static ImportCustomer *
order_customer(ImportState *st, JsonbContainer *o, int64 order_id, char *email)
{
	JsonbContainer *cust = ecp_json_object(o, "customer", false, "$.order");
	ImportCustomer *c;

	if (cust != NULL)
	{
		int64		id = ecp_shopify_gid(ecp_json_string(cust, "id", true, "$.order.customer"),
										 "Customer", "$.order.customer.id");

		c = shp_customer_entry(st, id, CK_EXPORT_ID, email);
		c->customer_id = id;
		c->id_known = true;
		return c;
	}
	if (email != NULL)
		return shp_customer_entry(st, shp_derived_id_for("email:", email), CK_EMAIL, email);
	return shp_customer_entry(st, shp_derived_id_for("guest:",
													 psprintf("%lld", (long long) order_id)),
							  CK_GUEST, NULL);
}

/*
 * add_order
 *		A root line of the Orders result.
 */
static void
add_order(Pull *pull, JsonbContainer *obj)
{
	ImportState *st = pull->orders;
	static const char *path = "$.order";
	int64		id = ecp_shopify_gid(ecp_json_string(obj, "id", true, path), "Order", path);
	char	   *email = lower_email(ecp_json_string(obj, "email", false, path));
	JsonbContainer *total = ecp_json_object(obj, "totalPriceSet", true, path);
	JsonbContainer *journey = ecp_json_object(obj, "customerJourneySummary", false, path);
	JsonbContainer *visit = ecp_json_object(journey, "firstVisit", false,
											"$.order.customerJourneySummary");
	JsonbContainer *utm = ecp_json_object(visit, "utmParameters", false,
										  "$.order.customerJourneySummary.firstVisit");
	JsonbContainer *addr = ecp_json_object(obj, "billingAddress", false, path);
	ImportOrder *o;
	ImportCustomer *c;
	bool		found;

	o = hash_search(st->order_hash, &id, HASH_ENTER, &found);
	if (found)
		ereport(ERROR,
				(errcode(ERRCODE_FDW_INVALID_DATA_TYPE),
				 errmsg("the bulk result of orders has order %lld twice", (long long) id)));
	o->name = ecp_json_string(obj, "name", false, path);
	if (o->name == NULL)
		o->name = psprintf("%lld", (long long) id);
	o->row = st->norders;
	o->nrows = 0;
	o->nlines = 0;
	o->first_line = 0;
	if (!timestamp_at(st, obj, "createdAt", &o->ordered_at, path))
		ereport(ERROR,
				(errcode(ERRCODE_FDW_INVALID_DATA_TYPE),
				 errmsg("the Shopify response has no createdAt for order %lld", (long long) id)));
	(void) money(obj, "totalPriceSet", true, &o->total, path);
	if (o->total < 0)
		ereport(ERROR,
				(errcode(ERRCODE_FDW_INVALID_DATA_TYPE),
				 errmsg("order %lld has a negative total", (long long) id)));
	if (!money(obj, "totalRefundedSet", true, &o->refunded, path))
		o->refunded = 0;
	o->cancelled = timestamp_at(st, obj, "cancelledAt", &o->cancelled_at, path);
	o->discount_codes = string_list(obj, "discountCodes", path);
	o->tags = string_list(obj, "tags", path);
	o->sales_channel = ecp_json_string(obj, "sourceName", false, path);
	o->acquisition_channel = ecp_json_string(visit, "source", false, "$.order.customerJourneySummary.firstVisit");
	o->referring_site = ecp_json_string(visit, "referrerUrl", false, "$.order.customerJourneySummary.firstVisit");
	o->landing_site = ecp_json_string(visit, "landingPage", false, "$.order.customerJourneySummary.firstVisit");
	o->utm_source = ecp_json_string(utm, "source", false, "$.order.customerJourneySummary.firstVisit.utmParameters");
	o->utm_medium = ecp_json_string(utm, "medium", false, "$.order.customerJourneySummary.firstVisit.utmParameters");
	o->utm_campaign = ecp_json_string(utm, "campaign", false, "$.order.customerJourneySummary.firstVisit.utmParameters");
	o->is_subscription = false;
	if (st->currency == NULL)
		st->currency = ecp_json_string(ecp_json_object(total, "shopMoney", true, "$.order.totalPriceSet"),
									   "currencyCode", false, "$.order.totalPriceSet.shopMoney");

	c = order_customer(st, obj, id, email);
	o->customer = c;
	c->first_at = Min(c->first_at, o->ordered_at);
	if (addr != NULL && o->ordered_at >= c->loc_at)
	{
		c->loc_at = o->ordered_at;
		c->city = ecp_json_string(addr, "city", false, "$.order.billingAddress");
		c->province = ecp_json_string(addr, "provinceCode", false, "$.order.billingAddress");
		c->country = ecp_json_string(addr, "countryCodeV2", false, "$.order.billingAddress");
	}
	st->orders = shp_grow(st->orders, st->norders, &st->maxorders, sizeof(ImportOrder *));
	st->orders[st->norders++] = o;
	saw_update(pull, 2, st, obj, path);
}

/*
 * add_line_item
 *		A child line of the Orders result: a line item of its __parentId.
 */
static void
add_line_item(Pull *pull, JsonbContainer *obj, const char *parent)
{
	ImportState *st = pull->orders;
	static const char *path = "$.lineItem";
	int64		order_id = ecp_shopify_gid(parent, "Order", "$.lineItem.__parentId");
	ImportOrder *o = hash_search(st->order_hash, &order_id, HASH_FIND, NULL);
	JsonbContainer *variant = ecp_json_object(obj, "variant", false, path);
	JsonbContainer *product = ecp_json_object(obj, "product", false, path);
	JsonbContainer *inventory;
	double		quantity;
	PendingLine *p;

	if (o == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_FDW_INVALID_DATA_TYPE),
				 errmsg("the bulk result of orders has a line item of order %lld before the order",
						(long long) order_id)));
	o->nrows++;
	quantity = ecp_json_number(obj, "quantity", true, path);
	if (quantity != floor(quantity) || quantity > PG_INT32_MAX)
		ereport(ERROR,
				(errcode(ERRCODE_FDW_INVALID_DATA_TYPE),
				 errmsg("the Shopify response has quantity %g for a line item of order %lld",
						quantity, (long long) order_id)));
	if (ecp_json_object(obj, "sellingPlan", false, path) != NULL)
		o->is_subscription = true;
	if (quantity <= 0)
	{
		st->line_counts.skipped++;
		return;
	}

	pull->pending = shp_grow(pull->pending, pull->npending, &pull->maxpending,
							 sizeof(PendingLine));
	p = &pull->pending[pull->npending++];
	memset(p, 0, sizeof(PendingLine));
	p->order = o;
	p->line.order = o;
	p->line.line_no = o->nrows;
	p->line.sku = ecp_json_string(obj, "sku", false, path);
	if (p->line.sku != NULL && *p->line.sku == '\0')
		p->line.sku = NULL;
	p->line.quantity = (int32) quantity;
	if (!money(obj, "originalUnitPriceSet", true, &p->line.price, path))
		ereport(ERROR,
				(errcode(ERRCODE_FDW_INVALID_DATA_TYPE),
				 errmsg("the Shopify response has no originalUnitPriceSet for a line item of order %lld",
						(long long) order_id)));
	if (variant != NULL)
	{
		p->line.variant_id = ecp_shopify_gid(ecp_json_string(variant, "id", true, "$.lineItem.variant"),
											 "ProductVariant", "$.lineItem.variant.id");
		inventory = ecp_json_object(variant, "inventoryItem", false, "$.lineItem.variant");
		p->line.has_cost = money(inventory, "unitCost", false, &p->line.unit_cost,
								 "$.lineItem.variant.inventoryItem");
	}
	p->line.product = product ? product_entry(pull, product, "$.lineItem.product") : NULL;
}

/*
 * load_orders
 *		The Orders bulk result (orders and their line items) into
 *		pull->orders, each order's lines contiguous in line-item order.
 */
static void
load_orders(Pull *pull, char *jsonl)
{
	ImportState *st = pull->orders;
	JsonLine	line = {0};
	char	   *pos = jsonl;
	int		   *next;
	int			i;

	while (next_line(pull, &pos, &line, "orders"))
	{
		char	   *parent = ecp_json_string(line.obj, "__parentId", false, "$");

		if (parent == NULL)
			add_order(pull, line.obj);
		else
			add_line_item(pull, line.obj, parent);
	}

	/* lay the lines out by order */
	for (i = 0; i < pull->npending; i++)
		pull->pending[i].order->nlines++;
	next = palloc(sizeof(int) * Max(st->norders, 1));
	st->nlines = 0;
	for (i = 0; i < st->norders; i++)
	{
		st->orders[i]->first_line = st->nlines;
		next[i] = st->nlines;
		st->nlines += st->orders[i]->nlines;
	}
	st->maxlines = Max(st->nlines, 1);
	st->lines = MemoryContextAllocHuge(CurrentMemoryContext,
									   sizeof(ImportLine) * st->maxlines);
	for (i = 0; i < pull->npending; i++)
		st->lines[next[pull->pending[i].order->row]++] = pull->pending[i].line;
}

/*
 * sweep_deleted
 *		Delete the orders with Shopify ids that the shop no longer has.
 */
static void
sweep_deleted(Pull *pull, char *jsonl)
{
	JsonLine	line = {0};
	char	   *pos = jsonl;
	Datum	   *ids = NULL;
	int			n = 0;
	int			max = 0;
	Datum		param;
	Oid			argtypes[1] = {INT8ARRAYOID};
	SPIPlanPtr	plan;

	while (next_line(pull, &pos, &line, "order ids"))
	{
		ids = shp_grow(ids, n, &max, sizeof(Datum));
		ids[n++] = Int64GetDatum(ecp_shopify_gid(ecp_json_string(line.obj, "id", true, "$.order"),
												 "Order", "$.order.id"));
	}
	param = shp_make_array(ids, NULL, n, INT8OID);
	plan = shp_prepare("DELETE FROM ecpower.orders AS o "
					   " WHERE o.order_id OPERATOR(pg_catalog.<) 4611686018427387904 "
					   "   AND NOT EXISTS (SELECT FROM pg_catalog.unnest($1) AS k(id) "
					   "                    WHERE k.id OPERATOR(pg_catalog.=) o.order_id)",
					   1, argtypes);
	shp_spi_check(SPI_execute_plan(plan, &param, NULL, false, 0),
				  SPI_OK_DELETE, "deleted order sweep");
	pull->deleted = (int64) SPI_processed;
}

/*
 * read_state
 *		Lock the server's state row (55P03 when another pull holds it) and
 *		read how far earlier pulls got.
 */
static void
read_state(const char *server, char *filters[3])
{
	Oid			argtypes[1] = {TEXTOID};
	Datum		arg = CStringGetTextDatum(server);
	SPIPlanPtr	plan;
	int			i;

	plan = shp_prepare("INSERT INTO ecpower.shopify_state (server) VALUES ($1) "
					   "ON CONFLICT DO NOTHING", 1, argtypes);
	shp_spi_check(SPI_execute_plan(plan, &arg, NULL, false, 0), SPI_OK_INSERT, "state");
	plan = shp_prepare("SELECT FROM ecpower.shopify_state AS s "
					   " WHERE s.server OPERATOR(pg_catalog.=) $1 FOR UPDATE NOWAIT",
					   1, argtypes);
	shp_spi_check(SPI_execute_plan(plan, &arg, NULL, false, 0), SPI_OK_SELECT, "state lock");
	plan = shp_prepare("SELECT pg_catalog.to_char(u AT TIME ZONE 'UTC', "
					   "                          'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') "
					   "  FROM ecpower.shopify_state AS s, "
					   "       LATERAL (VALUES (1, s.customers_until), (2, s.products_until), "
					   "                       (3, s.orders_until)) AS v(k, u) "
					   " WHERE s.server OPERATOR(pg_catalog.=) $1 ORDER BY v.k", 1, argtypes);
	shp_spi_check(SPI_execute_plan(plan, &arg, NULL, false, 0), SPI_OK_SELECT, "state");
	for (i = 0; i < 3; i++)
	{
		char	   *v = (i < SPI_processed) ?
			SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1) : NULL;

		filters[i] = v ? psprintf("(query: \"updated_at:>='%s'\")", v) : "";
	}
}

/*
 * save_state
 *		Record the latest updatedAt seen per resource.
 */
static void
save_state(Pull *pull, const char *server)
{
	Oid			argtypes[4] = {TEXTOID, TIMESTAMPTZOID, TIMESTAMPTZOID, TIMESTAMPTZOID};
	Datum		args[4];
	char		nulls[4] = {' ', ' ', ' ', ' '};
	SPIPlanPtr	plan;
	int			i;

	args[0] = CStringGetTextDatum(server);
	for (i = 0; i < 3; i++)
	{
		args[i + 1] = TimestampTzGetDatum(pull->until[i]);
		nulls[i + 1] = pull->seen[i] ? ' ' : 'n';
	}
	plan = shp_prepare("UPDATE ecpower.shopify_state AS s SET "
					   "  customers_until = COALESCE(GREATEST(s.customers_until, $2), s.customers_until, $2), "
					   "  products_until = COALESCE(GREATEST(s.products_until, $3), s.products_until, $3), "
					   "  orders_until = COALESCE(GREATEST(s.orders_until, $4), s.orders_until, $4), "
					   "  pulled_at = pg_catalog.now() "
					   " WHERE s.server OPERATOR(pg_catalog.=) $1", 4, argtypes);
	shp_spi_check(SPI_execute_plan(plan, args, nulls, false, 0), SPI_OK_UPDATE, "state update");
}

/*
 * shopify_pull_run(server text) RETURNS bigint
 *		One pull in the caller's transaction; returns the rows inserted,
 *		updated or deleted.
 */
Datum
shopify_pull_run(PG_FUNCTION_ARGS)
{
	char	   *server = text_to_cstring(PG_GETARG_TEXT_PP(0));
	MemoryContext pullcxt;
	MemoryContext oldcxt;
	Pull		pull;
	char	   *filters[3];
	char	   *jsonl;
	int64		nobjects;
	int64		rows;
	ImportState *all[2];
	int			i;

	pullcxt = AllocSetContextCreate(CurrentMemoryContext, "shopify pull",
									ALLOCSET_DEFAULT_SIZES);
	oldcxt = MemoryContextSwitchTo(pullcxt);
	memset(&pull, 0, sizeof(pull));
	pull.conn = ecp_shopify_connect(server);
	pull.linecxt = AllocSetContextCreate(pullcxt, "shopify pull line",
										 ALLOCSET_DEFAULT_SIZES);
	pull.customers = shp_import_state_create(NULL, "Shopify customers");
	pull.orders = shp_import_state_create(NULL, "Shopify orders");
	pull.customers->api = pull.orders->api = true;

	SPI_connect();
	read_state(server, filters);

	jsonl = ecp_shopify_bulk_query(pull.conn, psprintf(customers_bulk, filters[0]),
								   "customers", &nobjects);
	load_customers(&pull, jsonl);
	pfree(jsonl);
	jsonl = ecp_shopify_bulk_query(pull.conn, psprintf(products_bulk, filters[1]),
								   "products", &nobjects);
	load_products(&pull, jsonl);
	pfree(jsonl);
	jsonl = ecp_shopify_bulk_query(pull.conn, psprintf(orders_bulk, filters[2]),
								   "orders", &nobjects);
	load_orders(&pull, jsonl);
	pfree(jsonl);

	shp_check_currency(pull.orders);
	shp_write_customers(pull.customers, false);
	shp_match_emails(pull.orders);
	shp_write_customers(pull.orders, true);
	shp_write_products(pull.orders);
	shp_write_orders(pull.orders);

	jsonl = ecp_shopify_bulk_query(pull.conn, order_ids_bulk, "order ids", &nobjects);
	sweep_deleted(&pull, jsonl);
	save_state(&pull, server);
	SPI_finish();

	rows = pull.deleted;
	all[0] = pull.customers;
	all[1] = pull.orders;
	for (i = 0; i < 2; i++)
	{
		ImportState *st = all[i];

		rows += st->customer_counts.inserted + st->customer_counts.updated +
			st->product_counts.inserted + st->product_counts.updated +
			st->order_counts.inserted + st->order_counts.updated +
			st->line_counts.inserted + st->line_counts.updated;
	}
	ereport(DEBUG1,
			(errmsg_internal("shopify pull of \"%s\": %lld requests, %lld throttled, %lld orders deleted",
							 server, (long long) pull.conn->requests,
							 (long long) pull.conn->throttled, (long long) pull.deleted)));
	MemoryContextSwitchTo(oldcxt);
	MemoryContextDelete(pullcxt);
	PG_RETURN_INT64(rows);
}
