/*-------------------------------------------------------------------------
 *
 * shopify_import.h
 *	  What the Shopify loaders share: the rows of one load gathered in
 *	  memory (ImportState) and the upsert that writes them.
 *
 * A load runs in two phases inside the caller's transaction: gather and
 * validate everything into an ImportState (the CSV parsers of
 * shopify_orders.c and shopify_customers.c, or the Admin API pull of
 * shopify_pull.c), then upsert customers, products, orders and lines with
 * the rules of shopify_upsert.c, so that loading the same or overlapping
 * data again updates rows instead of duplicating them.
 *
 * src/io/shopify_import.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef ECP_SHOPIFY_IMPORT_H
#define ECP_SHOPIFY_IMPORT_H

#include "postgres.h"

#include "io/csv.h"
#include "io/shopify.h"

#include "executor/spi.h"
#include "fmgr.h"
#include "utils/hsearch.h"
#include "utils/timestamp.h"

/* numeric(14,2) holds amounts below 10^12 */
#define MAX_CENTS	INT64CONST(99999999999999)

/* rows written per SQL statement, and the most columns of one */
#define BATCH_ROWS			1000
#define MAX_BATCH_COLUMNS	17

/*
 * Columns the importers read.  Each role lists the header names Shopify
 * has used for it, preferred first; names are compared after
 * normalize_header() (ASCII lower case, spaces trimmed and collapsed).
 */
typedef struct ColumnSpec
{
	const char *display;		/* as in current exports, for messages */
	const char *names[4];
} ColumnSpec;

/* how a customer was identified */
typedef enum CustomerKind
{
	CK_EMAIL,					/* by lower-cased e-mail address */
	CK_PHONE,					/* no e-mail: by phone number */
	CK_GUEST,					/* neither: one customer per order */
	CK_EXPORT_ID				/* customers export: Customer ID only */
} CustomerKind;

typedef struct ImportCustomer
{
	int64		key;			/* hash key: derived id of the identity */
	int64		customer_id;	/* resolved id */
	CustomerKind kind;
	bool		id_known;		/* matched by e-mail or given by the export */
	char	   *email;			/* lower-cased, or NULL */
	TimestampTz first_at;		/* first order in the file */
	TimestampTz last_at;		/* latest order in the file */
	TimestampTz loc_at;			/* order the location comes from */
	char	   *country;
	char	   *province;
	char	   *city;
	int			accepts;		/* -1 unknown, 0 no, 1 yes */
	Datum		tags;			/* customers export: text[] */
	int64		row;			/* row it was first seen on */
	bool		has_created;	/* Admin API: created_at is known */
	TimestampTz created_at;
} ImportCustomer;

typedef struct ImportProduct
{
	int64		product_id;		/* hash key: derived from SKU or name */
	char	   *title;
	char	   *vendor;
	char	   *product_type;
	TimestampTz seen_at;		/* order the title comes from */
	int64		seen_order;
} ImportProduct;

typedef struct ImportOrder
{
	int64		order_id;		/* hash key */
	char	   *name;
	int64		row;
	ImportCustomer *customer;
	TimestampTz ordered_at;
	bool		cancelled;
	TimestampTz cancelled_at;
	int64		total;
	int64		refunded;
	Datum		discount_codes;
	Datum		tags;
	char	   *sales_channel;
	/* Admin API only (CSV exports do not have them) */
	char	   *acquisition_channel;
	char	   *referring_site;
	char	   *landing_site;
	char	   *utm_source;
	char	   *utm_medium;
	char	   *utm_campaign;
	bool		is_subscription;
	int			nrows;			/* line item rows, kept or not */
	int			first_line;		/* its lines: lines[first_line ..] */
	int			nlines;
} ImportOrder;

typedef struct ImportLine
{
	ImportOrder *order;
	int32		line_no;
	ImportProduct *product;		/* NULL: no product (custom or deleted) */
	char	   *sku;
	int32		quantity;
	int64		price;
	int64		variant_id;		/* 0: unknown */
	bool		has_cost;
	int64		unit_cost;		/* cents */
} ImportLine;

/* counts returned to the caller, one row per table */
typedef struct ImportCounts
{
	int64		inserted;
	int64		updated;
	int64		skipped;
} ImportCounts;

/* one import: the file being read and what has been gathered */
typedef struct ImportState
{
	bool		api;			/* loaded from the Admin API, not a CSV export */
	CsvReader	reader;
	const char *what;			/* "orders export" or "customers export" */
	int			ncolumns;		/* fields in the header */
	char	  **header;			/* header names as written */
	char	  **normalized;		/* and as compared */
	int		   *cols;			/* role -> field index, or -1 */
	pg_tz	   *store_tz;		/* for timestamps without offset */

	HTAB	   *customer_hash;
	ImportCustomer **customers;	/* in order of first appearance */
	int			ncustomers;
	int			maxcustomers;

	HTAB	   *product_hash;
	ImportProduct **products;
	int			nproducts;
	int			maxproducts;

	HTAB	   *order_hash;
	ImportOrder **orders;
	int			norders;
	int			maxorders;

	ImportLine *lines;			/* grouped by order, in file order */
	int			nlines;
	int			maxlines;

	MemoryContext batchcxt;		/* per-batch scratch while writing */

	char	   *currency;		/* first Currency value seen */

	ImportCounts customer_counts;
	ImportCounts product_counts;
	ImportCounts order_counts;
	ImportCounts line_counts;
} ImportState;


/* shopify.c: parsing helpers and the gathered rows */
extern int64 shp_derived_id_for(const char *prefix, const char *value);
extern void shp_ascii_lower(char *s);
extern void shp_read_header(ImportState *st, const ColumnSpec *specs, int nroles);
extern void shp_bad_value(ImportState *st, int role, const char *value, const char *expected) pg_attribute_noreturn();
extern void shp_missing_value(ImportState *st, int role, const char *why) pg_attribute_noreturn();
extern void shp_require_column(ImportState *st, const ColumnSpec *specs, int role, int alt, const char *hint);
extern char *shp_get_field(ImportState *st, int role);
extern char *shp_keep(const char *s);
extern bool shp_parse_cents(const char *s, int64 *result);
extern bool shp_parse_int64(const char *s, int64 *result);
extern bool shp_parse_yes_no(const char *s, bool *result);
extern bool shp_parse_timestamp(ImportState *st, const char *s, TimestampTz *result);
extern Datum shp_split_list(const char *s);
extern void *shp_grow(void *array, int count, int *max, Size elsize);
extern ImportState *shp_import_state_create(text *csv, const char *what);
extern void shp_check_field_count(ImportState *st);
extern bool shp_get_timestamp(ImportState *st, int role, TimestampTz *result);
extern bool shp_get_cents(ImportState *st, int role, int64 *result);
extern int shp_get_bool(ImportState *st, int role);
extern ImportCustomer *shp_customer_entry(ImportState *st, int64 key, CustomerKind kind, const char *email);

/* shopify_upsert.c: writing the gathered rows */
extern void shp_spi_check(int ret, int expected, const char *what);
extern SPIPlanPtr shp_prepare(const char *sql, int nargs, Oid *types);
extern Datum shp_make_array(Datum *values, bool *nulls, int n, Oid elemtype);
extern void shp_match_emails(ImportState *st);
extern void shp_write_customers(ImportState *st, bool from_orders);
extern void shp_write_products(ImportState *st);
extern void shp_write_orders(ImportState *st);
extern void shp_check_currency(ImportState *st);
extern void shp_return_counts(FunctionCallInfo fcinfo, ImportState *st, bool with_orders);

#endif							/* ECP_SHOPIFY_IMPORT_H */
