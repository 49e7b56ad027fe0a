/*-------------------------------------------------------------------------
 *
 * shopify.c
 *	  Import Shopify admin CSV exports into the ecpower input tables.
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
 * src/io/shopify.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "io/shopify.h"
#include "io/csv.h"
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
PG_FUNCTION_INFO_V1(import_shopify_customers);

/* numeric(14,2) holds amounts below 10^12 */
#define MAX_CENTS	INT64CONST(99999999999999)

/* rows written per SQL statement, and the most columns of one */
#define BATCH_ROWS			1000
#define MAX_BATCH_COLUMNS	9

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

typedef enum CustomerColumn
{
	CC_ID,
	CC_EMAIL,
	CC_PHONE,
	CC_ACCEPTS,
	CC_CITY,
	CC_PROVINCE,
	CC_COUNTRY,
	CC_TAGS,
	CC_NCOLUMNS
} CustomerColumn;

static const ColumnSpec customer_columns[CC_NCOLUMNS] = {
	[CC_ID] = {"Customer ID", {"customer id", "id"}},
	[CC_EMAIL] = {"Email", {"email"}},
	[CC_PHONE] = {"Phone", {"phone", "default address phone"}},
	[CC_ACCEPTS] = {"Accepts Email Marketing", {"accepts email marketing", "accepts marketing"}},
	[CC_CITY] = {"Default Address City", {"default address city", "city"}},
	[CC_PROVINCE] = {"Default Address Province Code", {"default address province code", "province code", "province"}},
	[CC_COUNTRY] = {"Default Address Country Code", {"default address country code", "country code", "country"}},
	[CC_TAGS] = {"Tags", {"tags"}},
};

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
	int			nrows;			/* line item rows, kept or not */
	int			first_line;		/* its lines: lines[first_line ..] */
	int			nlines;
} ImportOrder;

typedef struct ImportLine
{
	ImportOrder *order;
	int32		line_no;
	ImportProduct *product;
	char	   *sku;
	int32		quantity;
	int64		price;
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


/*
 * ecp_shopify_derived_id
 *		A stable id for a key such as "email:ann@example.com": the first 8
 *		bytes of md5(key), big-endian, with the top two bits set to 01, so
 *		that the id lies in [2^62, 2^63).  In SQL:
 *		(('x' || substr(md5(key), 1, 16))::bit(64)::bigint
 *		 & 4611686018427387903) | 4611686018427387904
 */
int64
ecp_shopify_derived_id(const char *key, size_t len)
{
	uint8		digest[16];
	const char *errstr = NULL;
	uint64		v = 0;
	int			i;

	if (!pg_md5_binary(key, len, digest, &errstr))
		elog(ERROR, "could not compute MD5 hash: %s", errstr);
	for (i = 0; i < 8; i++)
		v = (v << 8) | digest[i];
	return (int64) ((v & (uint64) (ECP_DERIVED_ID_BASE - 1)) |
					(uint64) ECP_DERIVED_ID_BASE);
}

/*
 * derived_id_for
 *		ecp_shopify_derived_id() of prefix || value.
 */
static int64
derived_id_for(const char *prefix, const char *value)
{
	char	   *key = psprintf("%s%s", prefix, value);
	int64		id = ecp_shopify_derived_id(key, strlen(key));

	pfree(key);
	return id;
}

/*
 * ascii_lower
 *		Lower-case ASCII letters in place (as lower() under COLLATE "C").
 */
static void
ascii_lower(char *s)
{
	for (; *s; s++)
		*s = pg_ascii_tolower((unsigned char) *s);
}

/*
 * normalize_header
 *		A palloc'd copy of a header name in lower case with surrounding
 *		spaces removed and inner runs of spaces collapsed to one.
 */
static char *
normalize_header(const char *name)
{
	char	   *out = palloc(strlen(name) + 1);
	char	   *o = out;
	bool		space = false;

	for (; *name; name++)
	{
		if (isspace((unsigned char) *name))
		{
			space = (o != out);
			continue;
		}
		if (space)
			*o++ = ' ';
		space = false;
		*o++ = pg_ascii_tolower((unsigned char) *name);
	}
	*o = '\0';
	return out;
}

/*
 * read_header
 *		Read the header row and find the field index of every column role
 *		(-1 when the file has none of its names).
 */
static void
read_header(ImportState *st, const ColumnSpec *specs, int nroles)
{
	CsvReader  *r = &st->reader;
	char	  **normalized;
	int			role;
	int			i;

	if (!csv_next(r))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("the %s is empty", st->what),
				 errhint("Pass the whole file, header row included.")));

	st->ncolumns = r->nfields;
	st->header = palloc(sizeof(char *) * r->nfields);
	normalized = palloc(sizeof(char *) * r->nfields);
	st->normalized = normalized;
	for (i = 0; i < r->nfields; i++)
	{
		st->header[i] = pstrdup(r->fields[i]);
		normalized[i] = normalize_header(r->fields[i]);
	}

	st->cols = palloc(sizeof(int) * nroles);
	for (role = 0; role < nroles; role++)
	{
		int			alt;

		st->cols[role] = -1;
		for (alt = 0; alt < lengthof(specs[role].names) &&
			 specs[role].names[alt] != NULL && st->cols[role] < 0; alt++)
		{
			for (i = 0; i < r->nfields; i++)
			{
				if (strcmp(normalized[i], specs[role].names[alt]) == 0)
				{
					st->cols[role] = i;
					break;
				}
			}
		}
	}
}

/*
 * header_list
 *		The header names joined with ", " for error details (shortened).
 */
static char *
header_list(ImportState *st)
{
	StringInfoData buf;
	int			i;

	initStringInfo(&buf);
	for (i = 0; i < st->ncolumns; i++)
	{
		if (buf.len > 200)
		{
			appendStringInfo(&buf, " and %d more", st->ncolumns - i);
			break;
		}
		appendStringInfo(&buf, "%s\"%s\"", i > 0 ? ", " : "", st->header[i]);
	}
	return buf.data;
}

/*
 * require_column
 *		A wrong header is 22023: name the missing column and what the file
 *		has instead.  "alt" is an acceptable substitute column or -1.
 */
static void
require_column(ImportState *st, const ColumnSpec *specs, int role, int alt,
			   const char *hint)
{
	if (st->cols[role] >= 0 || (alt >= 0 && st->cols[alt] >= 0))
		return;
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("the header row of the %s has no column \"%s\"",
					st->what, specs[role].display),
			 errdetail("The header row has %d columns: %s.",
					   st->ncolumns, header_list(st)),
			 errhint("%s", hint)));
}

/*
 * column_name
 *		The header of a role's column as written in the file.
 */
static const char *
column_name(ImportState *st, int role)
{
	return st->header[st->cols[role]];
}

/*
 * bad_value
 *		Report a malformed value (22P02) with its row and column.
 */
static void
pg_attribute_noreturn()
bad_value(ImportState *st, int role, const char *value, const char *expected)
{
	CsvReader  *r = &st->reader;

	ereport(ERROR,
			(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
			 errmsg("invalid value \"%s\" in row %lld, column \"%s\" of the %s",
					value, (long long) r->row, column_name(st, role), st->what),
			 errdetail("Expected %s.", expected),
			 r->row_line != r->row ?
			 errcontext("row %lld starts on line %lld of the file",
						(long long) r->row, (long long) r->row_line) : 0));
}

/*
 * missing_value
 *		Report an empty required value (22P02) with its row and column.
 */
static void
pg_attribute_noreturn()
missing_value(ImportState *st, int role, const char *why)
{
	CsvReader  *r = &st->reader;

	ereport(ERROR,
			(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
			 errmsg("missing value in row %lld, column \"%s\" of the %s",
					(long long) r->row, column_name(st, role), st->what),
			 errdetail("%s", why)));
}

/*
 * get_field
 *		The current row's value for a role, trimmed of surrounding spaces,
 *		or NULL when the file has no such column or the value is empty.
 *		Points into the reader's buffer (valid until the next row).
 */
static char *
get_field(ImportState *st, int role)
{
	int			idx = st->cols[role];
	char	   *s;
	char	   *end;

	if (idx < 0)
		return NULL;
	s = st->reader.fields[idx];
	while (isspace((unsigned char) *s))
		s++;
	end = s + strlen(s);
	while (end > s && isspace((unsigned char) end[-1]))
		end--;
	*end = '\0';
	return *s ? s : NULL;
}

/*
 * keep
 *		A copy of a field value that outlives the row (NULL stays NULL).
 */
static char *
keep(const char *s)
{
	return s ? pstrdup(s) : NULL;
}

/*
 * parse_cents
 *		Parse an amount like "125.40", "-3" or "0.5" into cents, rounding
 *		beyond two decimals half away from zero.  False when malformed or
 *		beyond numeric(14,2).
 */
static bool
parse_cents(const char *s, int64 *result)
{
	bool		neg = false;
	int64		units = 0;
	int64		cents;
	int			frac = 0;
	int			ndigits = 0;

	if (*s == '-' || *s == '+')
		neg = (*s++ == '-');
	for (; isdigit((unsigned char) *s); s++, ndigits++)
	{
		units = units * 10 + (*s - '0');
		if (units > MAX_CENTS / 100)
			return false;
	}
	if (*s == '.')
	{
		int			nfrac = 0;

		for (s++; isdigit((unsigned char) *s); s++, nfrac++, ndigits++)
		{
			if (nfrac < 2)
				frac = frac * 10 + (*s - '0');
			else if (nfrac == 2 && *s >= '5')
				frac++;			/* 0.995 -> 100 */
		}
		if (nfrac == 1)
			frac *= 10;
	}
	if (*s != '\0' || ndigits == 0)
		return false;
	cents = units * 100 + frac;
	if (cents > MAX_CENTS)
		return false;
	*result = neg ? -cents : cents;
	return true;
}

/*
 * parse_int64
 *		Parse an optionally signed decimal integer.
 */
static bool
parse_int64(const char *s, int64 *result)
{
	bool		neg = false;
	int64		v = 0;

	if (*s == '-' || *s == '+')
		neg = (*s++ == '-');
	if (!isdigit((unsigned char) *s))
		return false;
	for (; isdigit((unsigned char) *s); s++)
	{
		if (pg_mul_s64_overflow(v, 10, &v) ||
			pg_add_s64_overflow(v, *s - '0', &v))
			return false;
	}
	if (*s != '\0')
		return false;
	*result = neg ? -v : v;
	return true;
}

/*
 * parse_yes_no
 *		Shopify writes yes/no; true/false and 1/0 are accepted too.
 */
static bool
parse_yes_no(const char *s, bool *result)
{
	if (pg_strcasecmp(s, "yes") == 0 || pg_strcasecmp(s, "true") == 0 ||
		strcmp(s, "1") == 0 || pg_strcasecmp(s, "y") == 0)
		*result = true;
	else if (pg_strcasecmp(s, "no") == 0 || pg_strcasecmp(s, "false") == 0 ||
			 strcmp(s, "0") == 0 || pg_strcasecmp(s, "n") == 0)
		*result = false;
	else
		return false;
	return true;
}

/*
 * parse_digits
 *		Read exactly n digits at *s into *value and advance.
 */
static bool
parse_digits(const char **s, int n, int *value)
{
	int			v = 0;

	for (; n > 0; n--, (*s)++)
	{
		if (!isdigit((unsigned char) **s))
			return false;
		v = v * 10 + (**s - '0');
	}
	*value = v;
	return true;
}

/*
 * parse_timestamp
 *		Parse Shopify's "2022-01-11 04:32:31 -0500" (also ISO 8601 forms
 *		with 'T', "Z" or "-05:00", and minutes-only times).  A timestamp
 *		without offset is store-local time.  False when malformed.
 */
static bool
parse_timestamp(ImportState *st, const char *s, TimestampTz *result)
{
	struct pg_tm tm;
	fsec_t		fsec = 0;
	int			tz = 0;
	bool		has_zone = true;
	Timestamp	ts;

	memset(&tm, 0, sizeof(tm));
	if (!parse_digits(&s, 4, &tm.tm_year) || *s++ != '-' ||
		!parse_digits(&s, 2, &tm.tm_mon) || *s++ != '-' ||
		!parse_digits(&s, 2, &tm.tm_mday))
		return false;
	if (tm.tm_mon < 1 || tm.tm_mon > 12 || tm.tm_mday < 1 ||
		tm.tm_mday > day_tab[isleap(tm.tm_year)][tm.tm_mon - 1])
		return false;
	if (*s == ' ' || *s == 'T')
	{
		s++;
		if (!parse_digits(&s, 2, &tm.tm_hour) || *s++ != ':' ||
			!parse_digits(&s, 2, &tm.tm_min))
			return false;
		if (*s == ':')
		{
			s++;
			if (!parse_digits(&s, 2, &tm.tm_sec))
				return false;
			if (*s == '.')
			{
				int			scale = 100000;

				for (s++; isdigit((unsigned char) *s); s++, scale /= 10)
					fsec += (*s - '0') * scale;
			}
		}
		if (tm.tm_hour > 23 || tm.tm_min > 59 || tm.tm_sec > 59)
			return false;
	}
	while (*s == ' ')
		s++;
	if (*s == '\0')
		has_zone = false;
	else if (strcmp(s, "Z") == 0 || strcmp(s, "UTC") == 0)
		tz = 0;
	else if (*s == '+' || *s == '-')
	{
		int			sign = (*s++ == '-') ? -1 : 1;
		int			hh;
		int			mm = 0;

		if (!parse_digits(&s, 2, &hh))
			return false;
		if (*s == ':')
			s++;
		if (*s != '\0' && !parse_digits(&s, 2, &mm))
			return false;
		if (*s != '\0' || hh > 15 || mm > 59)
			return false;
		/* PostgreSQL counts offsets in seconds west of UTC */
		tz = -sign * (hh * SECS_PER_HOUR + mm * SECS_PER_MINUTE);
	}
	else
		return false;

	if (!has_zone)
	{
		if (st->store_tz == NULL)
		{
			char	   *name = ecp_store_timezone();

			st->store_tz = pg_tzset(name);
			if (st->store_tz == NULL)
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("store time zone \"%s\" is not recognized", name)));
		}
		tz = DetermineTimeZoneOffset(&tm, st->store_tz);
	}
	if (tm2timestamp(&tm, fsec, &tz, &ts) != 0 || !IS_VALID_TIMESTAMP(ts))
		return false;
	*result = ts;
	return true;
}

/*
 * split_list
 *		A comma-separated field ("vip, wholesale") as a text[] of trimmed,
 *		non-empty items; '{}' for NULL.
 */
static Datum
split_list(const char *s)
{
	ArrayBuildState *astate = initArrayResult(TEXTOID, CurrentMemoryContext,
											  false);

	while (s != NULL && *s)
	{
		const char *end = strchr(s, ',');
		const char *stop = end ? end : s + strlen(s);
		const char *a = s;
		const char *b = stop;

		while (a < b && isspace((unsigned char) *a))
			a++;
		while (b > a && isspace((unsigned char) b[-1]))
			b--;
		if (b > a)
			astate = accumArrayResult(astate,
									  PointerGetDatum(cstring_to_text_with_len(a, b - a)),
									  false, TEXTOID, CurrentMemoryContext);
		s = end ? end + 1 : stop;
	}
	return makeArrayResult(astate, CurrentMemoryContext);
}

/*
 * grow
 *		Make room for one more element in a palloc'd pointer array.
 */
static void *
grow(void *array, int count, int *max, Size elsize)
{
	if (count < *max)
		return array;
	if (*max >= PG_INT32_MAX / 2 || (Size) *max * 2 * elsize >= MaxAllocHugeSize)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("too many rows in one Shopify import")));
	*max = (*max == 0) ? 256 : *max * 2;
	if (array == NULL)
		return MemoryContextAllocHuge(CurrentMemoryContext, (Size) *max * elsize);
	return repalloc_huge(array, (Size) *max * elsize);
}

/*
 * import_state_create
 *		Set up the reader and the hash tables of one import.
 */
static ImportState *
import_state_create(text *csv, const char *what)
{
	ImportState *st = palloc0(sizeof(ImportState));
	HASHCTL		ctl;

	st->what = what;
	csv_init(&st->reader, VARDATA_ANY(csv), VARSIZE_ANY_EXHDR(csv), what);

	memset(&ctl, 0, sizeof(ctl));
	ctl.keysize = sizeof(int64);
	ctl.hcxt = CurrentMemoryContext;
	ctl.entrysize = sizeof(ImportCustomer);
	st->customer_hash = hash_create("shopify customers", 1024, &ctl,
									HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
	ctl.entrysize = sizeof(ImportProduct);
	st->product_hash = hash_create("shopify products", 1024, &ctl,
								   HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
	ctl.entrysize = sizeof(ImportOrder);
	st->order_hash = hash_create("shopify orders", 1024, &ctl,
								 HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
	return st;
}

/*
 * check_field_count
 *		Every data row must have as many fields as the header.
 */
static void
check_field_count(ImportState *st)
{
	CsvReader  *r = &st->reader;

	if (r->nfields != st->ncolumns)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
				 errmsg("row %lld of the %s has %d fields but the header has %d",
						(long long) r->row, st->what, r->nfields, st->ncolumns),
				 errdetail("Row %lld starts on line %lld of the file.",
						   (long long) r->row, (long long) r->row_line),
				 errhint("A field containing a comma, a quote or a line break must be enclosed in double quotes.")));
}

/*
 * get_timestamp / get_cents / get_bool
 *		Parse the current row's value of a column, or report it.
 */
static bool
get_timestamp(ImportState *st, int role, TimestampTz *result)
{
	char	   *s = get_field(st, role);

	if (s == NULL)
		return false;
	if (!parse_timestamp(st, s, result))
		bad_value(st, role, s, "a timestamp such as \"2024-01-31 14:05:00 -0500\"");
	return true;
}

static bool
get_cents(ImportState *st, int role, int64 *result)
{
	char	   *s = get_field(st, role);

	if (s == NULL)
		return false;
	if (!parse_cents(s, result))
		bad_value(st, role, s, "an amount such as \"12.50\" (at most 999999999999.99)");
	return true;
}

static int
get_bool(ImportState *st, int role)
{
	char	   *s = get_field(st, role);
	bool		b;

	if (s == NULL)
		return -1;
	if (!parse_yes_no(s, &b))
		bad_value(st, role, s, "\"yes\" or \"no\"");
	return b ? 1 : 0;
}

/*
 * customer_entry
 *		The customer of an identity key, created on first sight.
 */
static ImportCustomer *
customer_entry(ImportState *st, int64 key, CustomerKind kind,
			   const char *email)
{
	ImportCustomer *c;
	bool		found;

	c = hash_search(st->customer_hash, &key, HASH_ENTER, &found);
	if (!found)
	{
		c->customer_id = key;
		c->kind = kind;
		c->id_known = false;
		c->email = keep(email);
		c->first_at = DT_NOEND;
		c->last_at = DT_NOBEGIN;
		c->loc_at = DT_NOBEGIN;
		c->country = c->province = c->city = NULL;
		c->accepts = -1;
		c->tags = (Datum) 0;
		c->row = st->reader.row;
		st->customers = grow(st->customers, st->ncustomers, &st->maxcustomers,
							 sizeof(ImportCustomer *));
		st->customers[st->ncustomers++] = c;
	}
	return c;
}

/*
 * order_customer
 *		The customer of an order's first row: by e-mail address, else by
 *		phone number, else a guest customer of this order alone.
 */
static ImportCustomer *
order_customer(ImportState *st, int64 order_id)
{
	char	   *email = get_field(st, OC_EMAIL);
	char	   *phone;

	if (email != NULL)
	{
		char	   *lower = pstrdup(email);
		ImportCustomer *c;

		ascii_lower(lower);
		c = customer_entry(st, derived_id_for("email:", lower), CK_EMAIL,
						   lower);
		pfree(lower);
		return c;
	}
	phone = get_field(st, OC_PHONE);
	if (phone != NULL)
		return customer_entry(st, derived_id_for("phone:", phone), CK_PHONE,
							  NULL);
	{
		char		digits[MAXINT8LEN + 1];

		pg_lltoa(order_id, digits);
		return customer_entry(st, derived_id_for("guest:", digits), CK_GUEST,
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
		return derived_id_for("order:", name);
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

	s = get_field(st, OC_ID);
	if (s != NULL)
	{
		if (!parse_int64(s, &order_id) || order_id <= 0)
			bad_value(st, OC_ID, s, "a positive whole number");
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

	if (!get_timestamp(st, OC_CREATED_AT, &o->ordered_at) &&
		!get_timestamp(st, OC_PAID_AT, &o->ordered_at))
		missing_value(st, st->cols[OC_CREATED_AT] >= 0 ? OC_CREATED_AT : OC_PAID_AT,
					  "The first row of each order needs its creation time.");
	if (!get_cents(st, OC_TOTAL, &o->total))
		missing_value(st, OC_TOTAL, "The first row of each order carries the order's Total.");
	if (o->total < 0)
		bad_value(st, OC_TOTAL, get_field(st, OC_TOTAL), "an amount of at least 0");
	if (!get_cents(st, OC_REFUNDED, &o->refunded))
		o->refunded = 0;
	if (o->refunded < 0 || o->refunded > o->total)
		bad_value(st, OC_REFUNDED, get_field(st, OC_REFUNDED),
				  "an amount from 0 to the order's Total");
	o->cancelled = get_timestamp(st, OC_CANCELLED_AT, &o->cancelled_at);
	o->discount_codes = split_list(get_field(st, OC_DISCOUNT));
	o->tags = split_list(get_field(st, OC_TAGS));
	o->sales_channel = keep(get_field(st, OC_SOURCE));
	accepts = get_bool(st, OC_ACCEPTS);
	if (st->currency == NULL)
		st->currency = keep(get_field(st, OC_CURRENCY));

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
	if (get_field(st, OC_BILLING_CITY) == NULL &&
		get_field(st, OC_BILLING_PROVINCE) == NULL &&
		get_field(st, OC_BILLING_COUNTRY) == NULL)
	{
		loc_city = OC_SHIPPING_CITY;
		loc_province = OC_SHIPPING_PROVINCE;
		loc_country = OC_SHIPPING_COUNTRY;
	}
	if ((get_field(st, loc_city) || get_field(st, loc_province) ||
		 get_field(st, loc_country)) && o->ordered_at >= c->loc_at)
	{
		c->loc_at = o->ordered_at;
		c->city = keep(get_field(st, loc_city));
		c->province = keep(get_field(st, loc_province));
		c->country = keep(get_field(st, loc_country));
	}

	st->orders = grow(st->orders, st->norders, &st->maxorders,
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
	char	   *title = get_field(st, OC_LINE_NAME);
	char	   *sku = get_field(st, OC_SKU);
	char	   *qty_text;
	int64		quantity;
	int64		price;
	ImportProduct *p;
	ImportLine *line;
	int64		product_id;
	bool		found;

	o->nrows++;
	qty_text = get_field(st, OC_QUANTITY);
	if (title == NULL && sku == NULL && qty_text == NULL &&
		get_field(st, OC_PRICE) == NULL)
		return;					/* a row without line item */

	if (qty_text == NULL)
		missing_value(st, OC_QUANTITY, "Every line item needs a quantity.");
	if (!parse_int64(qty_text, &quantity) || quantity > PG_INT32_MAX ||
		quantity < PG_INT32_MIN)
		bad_value(st, OC_QUANTITY, qty_text, "a whole number");
	if (!get_cents(st, OC_PRICE, &price))
		missing_value(st, OC_PRICE, "Every line item needs a price.");
	if (price < 0)
		bad_value(st, OC_PRICE, get_field(st, OC_PRICE), "an amount of at least 0");
	if (quantity <= 0)
	{
		st->line_counts.skipped++;
		return;
	}

	/* the product: by SKU, else by line item name */
	product_id = sku ? derived_id_for("sku:", sku) : derived_id_for("name:", title);
	p = hash_search(st->product_hash, &product_id, HASH_ENTER, &found);
	if (!found)
	{
		p->seen_at = DT_NOBEGIN;
		p->seen_order = 0;
		st->products = grow(st->products, st->nproducts, &st->maxproducts,
							sizeof(ImportProduct *));
		st->products[st->nproducts++] = p;
	}
	/* title and vendor as on the latest order */
	if (!found || o->ordered_at > p->seen_at ||
		(o->ordered_at == p->seen_at && o->order_id > p->seen_order))
	{
		p->seen_at = o->ordered_at;
		p->seen_order = o->order_id;
		p->title = keep(title ? title : sku);
		p->vendor = keep(get_field(st, OC_VENDOR));
		p->product_type = keep(get_field(st, OC_PRODUCT_TYPE));
	}

	st->lines = grow(st->lines, st->nlines, &st->maxlines, sizeof(ImportLine));
	line = &st->lines[st->nlines++];
	o->nlines++;
	line->order = o;
	line->line_no = o->nrows;
	line->product = p;
	line->sku = keep(sku);
	line->quantity = (int32) quantity;
	line->price = price;
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

	read_header(st, order_columns, OC_NCOLUMNS);
	require_column(st, order_columns, OC_NAME, -1, hint);
	require_column(st, order_columns, OC_TOTAL, -1, hint);
	require_column(st, order_columns, OC_CREATED_AT, OC_PAID_AT, hint);
	require_column(st, order_columns, OC_QUANTITY, -1, hint);
	require_column(st, order_columns, OC_LINE_NAME, -1, hint);
	require_column(st, order_columns, OC_PRICE, -1, hint);

	while (csv_next(&st->reader))
	{
		char	   *name;

		check_field_count(st);
		name = get_field(st, OC_NAME);
		if (name == NULL)
			missing_value(st, OC_NAME, "Every row names its order (e.g. \"#1001\").");
		if (current == NULL || strcmp(name, current->name) != 0)
			current = start_order(st, name);
		add_line(st, current);
	}
}

/*
 * spi_check
 *		Turn an unexpected SPI result into an internal error.
 */
static void
spi_check(int ret, int expected, const char *what)
{
	if (ret != expected)
		elog(ERROR, "%s failed: %s", what, SPI_result_code_string(ret));
}

/*
 * prepare
 *		SPI_prepare or fail.
 */
static SPIPlanPtr
prepare(const char *sql, int nargs, Oid *types)
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
	return prepare(sql, ncols + nextra, argtypes);
}

/*
 * make_array
 *		A one-dimensional array of n values (NULL where nulls[i]).
 */
static Datum
make_array(Datum *values, bool *nulls, int n, Oid elemtype)
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
		params[col] = make_array(batch->values[col], batch->nulls[col],
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

	spi_check(SPI_execute_plan(plan, params, NULL, false, 0),
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
"    (customer_id, email, tags, country, province, city, accepts_marketing) "
"  SELECT u.customer_id, u.email, CAST(u.tags AS pg_catalog.text[]), "
"         u.country, u.province, u.city, "
"         COALESCE(u.accepts, false) "
"    FROM ROWS FROM (pg_catalog.unnest($1), pg_catalog.unnest($2), pg_catalog.unnest($3), pg_catalog.unnest($4), pg_catalog.unnest($5), pg_catalog.unnest($6), pg_catalog.unnest($7)) "
"         AS u(customer_id, email, tags, country, province, city, accepts) "
"  ON CONFLICT (customer_id) DO UPDATE SET "
"    email = COALESCE(excluded.email, c.email), "
"    tags = excluded.tags, "
"    country = CASE WHEN excluded.country IS NULL AND excluded.province IS NULL "
"                    AND excluded.city IS NULL THEN c.country ELSE excluded.country END, "
"    province = CASE WHEN excluded.country IS NULL AND excluded.province IS NULL "
"                     AND excluded.city IS NULL THEN c.province ELSE excluded.province END, "
"    city = CASE WHEN excluded.country IS NULL AND excluded.province IS NULL "
"                 AND excluded.city IS NULL THEN c.city ELSE excluded.city END, "
"    accepts_marketing = CASE WHEN excluded.customer_id OPERATOR(pg_catalog.=) ANY ($8) "
"                             THEN c.accepts_marketing ELSE excluded.accepts_marketing END "
"  RETURNING c.customer_id, c.xmax OPERATOR(pg_catalog.=) 0 AS inserted) "
COUNT_RESULT ", "
"       pg_catalog.min(r.customer_id) FILTER (WHERE NOT r.inserted "
"           AND r.customer_id OPERATOR(pg_catalog.=) ANY ($9)) "
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

/* text[] columns travel as their text form (array_out), one per order */
static const char *const orders_sql =
"WITH r AS ("
"  INSERT INTO ecpower.orders AS o "
"    (order_id, customer_id, ordered_at, total, refunded, discount_codes, tags, "
"     sales_channel, cancelled_at) "
"  SELECT u.order_id, u.customer_id, u.ordered_at, u.total, u.refunded, "
"         CAST(u.discount_codes AS pg_catalog.text[]), CAST(u.tags AS pg_catalog.text[]), "
"         u.sales_channel, u.cancelled_at "
"    FROM ROWS FROM (pg_catalog.unnest($1), pg_catalog.unnest($2), pg_catalog.unnest($3), pg_catalog.unnest($4), pg_catalog.unnest($5), pg_catalog.unnest($6), pg_catalog.unnest($7), pg_catalog.unnest($8), pg_catalog.unnest($9)) "
"         AS u(order_id, customer_id, ordered_at, total, refunded, discount_codes, "
"              tags, sales_channel, cancelled_at) "
"  ON CONFLICT (order_id) DO UPDATE SET "
"    customer_id = excluded.customer_id, "
"    ordered_at = excluded.ordered_at, "
"    total = excluded.total, "
"    refunded = excluded.refunded, "
"    discount_codes = excluded.discount_codes, "
"    tags = excluded.tags, "
"    sales_channel = excluded.sales_channel, "
"    cancelled_at = excluded.cancelled_at "
"  RETURNING o.xmax OPERATOR(pg_catalog.=) 0 AS inserted) "
COUNT_RESULT " FROM r";

/* a re-imported order loses the lines the export no longer has */
static const char *const prune_lines_sql =
"DELETE FROM ecpower.order_lines AS l "
" WHERE l.order_id OPERATOR(pg_catalog.=) ANY ($1) "
"   AND NOT EXISTS (SELECT FROM ROWS FROM (pg_catalog.unnest($2), pg_catalog.unnest($3)) AS k(order_id, line_no) "
"                    WHERE k.order_id OPERATOR(pg_catalog.=) l.order_id "
"                      AND k.line_no OPERATOR(pg_catalog.=) l.line_no)";

static const char *const lines_sql =
"WITH r AS ("
"  INSERT INTO ecpower.order_lines AS l "
"    (order_id, line_no, product_id, sku, quantity, price) "
"  SELECT * FROM ROWS FROM (pg_catalog.unnest($1), pg_catalog.unnest($2), pg_catalog.unnest($3), pg_catalog.unnest($4), pg_catalog.unnest($5), pg_catalog.unnest($6)) "
"  ON CONFLICT (order_id, line_no) DO UPDATE SET "
"    product_id = excluded.product_id, "
"    sku = excluded.sku, "
"    quantity = excluded.quantity, "
"    price = excluded.price "
"  RETURNING l.xmax OPERATOR(pg_catalog.=) 0 AS inserted) "
COUNT_RESULT " FROM r";

/*
 * match_emails
 *		Customers already in ecpower.customers keep their customer_id: look
 *		every e-mail of the import up (lower-cased, ASCII) and take the
 *		smallest id of a match.
 */
static void
match_emails(ImportState *st)
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
	values[0] = make_array(emails, NULL, n, TEXTOID);

	plan = prepare("SELECT f.email, pg_catalog.min(c.customer_id) "
				   "FROM pg_catalog.unnest($1) AS f(email) "
				   "JOIN ecpower.customers AS c "
				   "  ON pg_catalog.lower(pg_catalog.btrim(c.email) COLLATE \"C\") "
				   "     OPERATOR(pg_catalog.=) f.email "
				   "GROUP BY f.email", 1, argtypes);
	spi_check(SPI_execute_plan(plan, values, NULL, true, 0),
			  SPI_OK_SELECT, "customer lookup");
	for (i = 0; i < SPI_processed; i++)
	{
		HeapTuple	tup = SPI_tuptable->vals[i];
		char	   *email = SPI_getvalue(tup, SPI_tuptable->tupdesc, 1);
		bool		isnull;
		int64		id = DatumGetInt64(SPI_getbinval(tup, SPI_tuptable->tupdesc,
													 2, &isnull));
		int64		key = derived_id_for("email:", email);
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
	return make_array(ids, NULL, n, INT8OID);
}

/*
 * write_customers
 *		Upsert the import's customers in batches: from an orders export
 *		(from_orders) only filling what is missing, from a customers export
 *		as the authority on e-mail, tags, location and consent.
 */
static void
write_customers(ImportState *st, bool from_orders)
{
	static const Oid order_types[7] = {INT8OID, TEXTOID, TIMESTAMPTZOID,
	TEXTOID, TEXTOID, TEXTOID, BOOLOID};
	static const Oid export_types[7] = {INT8OID, TEXTOID, TEXTOID,
	TEXTOID, TEXTOID, TEXTOID, BOOLOID};
	static const Oid id_arrays[2] = {INT8ARRAYOID, INT8ARRAYOID};
	const Oid  *types = from_orders ? order_types : export_types;
	SPIPlanPtr	plan;
	int			from;
	int			i;

	check_distinct_ids(st);
	/* seven columns, then one or two arrays of ids */
	plan = prepare_batch(from_orders ? customers_from_orders_sql : customers_sql,
						 7, types, from_orders ? 1 : 2, id_arrays);

	for (from = 0; from < st->ncustomers; from += BATCH_ROWS)
	{
		int			to = Min(from + BATCH_ROWS, st->ncustomers);
		MemoryContext oldcxt = begin_batch(st);
		Datum		params[9];
		Datum	   *unknown_consent = palloc(sizeof(Datum) * (to - from));
		int			nunknown = 0;
		Batch		batch;

		batch_start(&batch, 7, types, to - from);
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
		}
		batch_params(&batch, params);
		if (from_orders)
			params[7] = fresh_ids(st, from, to);
		else
		{
			params[7] = make_array(unknown_consent, NULL, nunknown, INT8OID);
			params[8] = fresh_ids(st, from, to);
		}
		report_collision(st, run_upsert(plan, params, &st->customer_counts));
		MemoryContextSwitchTo(oldcxt);
	}
}

/*
 * write_products
 *		Upsert the products of an orders export: title and vendor as on the
 *		latest order; product_type only when the export has such a column.
 */
static void
write_products(ImportState *st)
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
	static const Oid types[6] = {INT8OID, INT4OID, INT8OID, TEXTOID, INT4OID,
	NUMERICOID};
	int			first = st->orders[from]->first_line;
	int			last = st->orders[to - 1]->first_line + st->orders[to - 1]->nlines;
	Datum	   *order_ids = palloc(sizeof(Datum) * (to - from));
	Datum		params[6];
	Batch		batch;
	int			i;

	batch_start(&batch, 6, types, last - first);
	for (i = first; i < last; i++)
	{
		ImportLine *line = &st->lines[i];
		int			row = i - first;

		batch.values[0][row] = Int64GetDatum(line->order->order_id);
		batch.values[1][row] = Int32GetDatum(line->line_no);
		batch.values[2][row] = Int64GetDatum(line->product->product_id);
		batch_text(&batch, 3, row, line->sku);
		batch.values[4][row] = Int32GetDatum(line->quantity);
		batch.values[5][row] = ecp_cents_to_numeric(line->price);
	}
	batch_params(&batch, params);

	for (i = from; i < to; i++)
		order_ids[i - from] = Int64GetDatum(st->orders[i]->order_id);
	{
		Datum		prune[3];

		prune[0] = make_array(order_ids, NULL, to - from, INT8OID);
		prune[1] = params[0];
		prune[2] = params[1];
		spi_check(SPI_execute_plan(prune_plan, prune, NULL, false, 0),
				  SPI_OK_DELETE, "line prune");
	}
	if (last > first)
		run_upsert(line_plan, params, &st->line_counts);
}

/*
 * write_orders
 *		Upsert the orders in batches, each followed by its lines.
 */
static void
write_orders(ImportState *st)
{
	static const Oid types[9] = {INT8OID, INT8OID, TIMESTAMPTZOID,
		NUMERICOID, NUMERICOID, TEXTOID, TEXTOID, TEXTOID, TIMESTAMPTZOID};
	static const Oid line_types[6] = {INT8OID, INT4OID, INT8OID, TEXTOID,
	INT4OID, NUMERICOID};
	static const Oid prune_types[3] = {INT8OID, INT8OID, INT4OID};
	SPIPlanPtr	order_plan;
	SPIPlanPtr	line_plan;
	SPIPlanPtr	prune_plan;
	int			from;
	int			i;

	order_plan = prepare_batch(orders_sql, 9, types, 0, NULL);
	line_plan = prepare_batch(lines_sql, 6, line_types, 0, NULL);
	prune_plan = prepare_batch(prune_lines_sql, 3, prune_types, 0, NULL);

	for (from = 0; from < st->norders; from += BATCH_ROWS)
	{
		int			to = Min(from + BATCH_ROWS, st->norders);
		MemoryContext oldcxt = begin_batch(st);
		Datum		params[9];
		Batch		batch;

		batch_start(&batch, 9, types, to - from);
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
		}
		batch_params(&batch, params);
		run_upsert(order_plan, params, &st->order_counts);
		write_order_lines(st, prune_plan, line_plan, from, to);
		MemoryContextSwitchTo(oldcxt);
	}
}

/*
 * check_currency
 *		Warn when the export's currency is not the store's.
 */
static void
check_currency(ImportState *st)
{
	char	   *store;

	if (st->currency == NULL)
		return;
	spi_check(SPI_execute("SELECT currency FROM ecpower.settings LIMIT 1",
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
 * return_counts
 *		Emit the summary rows (table, inserted, updated, skipped).
 */
static void
return_counts(FunctionCallInfo fcinfo, ImportState *st, bool with_orders)
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

	st = import_state_create(csv, "orders export");
	parse_orders(st);

	SPI_connect();
	check_currency(st);
	match_emails(st);
	write_customers(st, true);
	write_products(st);
	write_orders(st);
	SPI_finish();

	MemoryContextSwitchTo(oldcxt);
	return_counts(fcinfo, st, true);
	MemoryContextDelete(importcxt);
	PG_RETURN_NULL();
}

/*
 * parse_customers
 *		Phase 1 of the customers import: read and validate the whole file.
 *		Rows with neither Customer ID nor e-mail are skipped (counted).
 */
static void
parse_customers(ImportState *st)
{
	static const char *hint =
		"ecpower.import_shopify_customers() reads the customers_export.csv file of Shopify admin; orders_export.csv goes to ecpower.import_shopify_orders().";

	read_header(st, customer_columns, CC_NCOLUMNS);
	require_column(st, customer_columns, CC_EMAIL, CC_ID, hint);
	if (st->cols[CC_ID] < 0)
	{
		/* an orders export has Email too: refuse it */
		int			i;

		for (i = 0; i < st->ncolumns; i++)
			if (strcmp(st->normalized[i], "lineitem name") == 0)
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("the %s has a column \"%s\": this is an orders export",
								st->what, st->header[i]),
						 errhint("%s", hint)));
	}

	while (csv_next(&st->reader))
	{
		ImportCustomer *c;
		char	   *email;
		char	   *id_text;
		int64		export_id = 0;
		int			accepts;
		int			known = st->ncustomers;

		check_field_count(st);
		id_text = get_field(st, CC_ID);
		if (id_text != NULL &&
			(!parse_int64(id_text, &export_id) || export_id <= 0))
			bad_value(st, CC_ID, id_text, "a positive whole number");
		accepts = get_bool(st, CC_ACCEPTS);
		email = keep(get_field(st, CC_EMAIL));
		if (email != NULL)
		{
			ascii_lower(email);
			c = customer_entry(st, derived_id_for("email:", email), CK_EMAIL,
							   email);
		}
		else if (id_text != NULL)
			c = customer_entry(st, derived_id_for("id:", id_text),
							   CK_EXPORT_ID, NULL);
		else
		{
			st->customer_counts.skipped++;
			continue;
		}
		/* a later row for the same customer wins: say so, count it */
		if (st->ncustomers == known)
		{
			ereport(NOTICE,
					(errmsg("row %lld of the customers export is the customer of row %lld, whose values it replaces",
							(long long) st->reader.row, (long long) c->row),
					 email ? errdetail("E-mail addresses are matched without regard to case: \"%s\".", email) : 0));
			st->customer_counts.skipped++;
		}
		if (id_text != NULL)
			c->customer_id = export_id;
		c->accepts = accepts;
		c->city = keep(get_field(st, CC_CITY));
		c->province = keep(get_field(st, CC_PROVINCE));
		c->country = keep(get_field(st, CC_COUNTRY));
		c->tags = split_list(get_field(st, CC_TAGS));
	}
}

/*
 * import_shopify_customers(csv text) RETURNS TABLE (kind, inserted,
 * updated, skipped)
 *		Load a Shopify customers_export.csv (old or current header).
 *		Customers are matched by e-mail first, then by Customer ID; new
 *		ones take the export's Customer ID, or a derived id when the export
 *		has none.
 */
Datum
import_shopify_customers(PG_FUNCTION_ARGS)
{
	text	   *csv = PG_GETARG_TEXT_PP(0);
	MemoryContext importcxt;
	MemoryContext oldcxt;
	ImportState *st;
	int			i;

	InitMaterializedSRF(fcinfo, 0);
	importcxt = AllocSetContextCreate(CurrentMemoryContext, "shopify import",
									  ALLOCSET_DEFAULT_SIZES);
	oldcxt = MemoryContextSwitchTo(importcxt);

	st = import_state_create(csv, "customers export");
	parse_customers(st);

	SPI_connect();
	/* an export id counts as a match: derived-id collisions do not apply */
	for (i = 0; i < st->ncustomers; i++)
		if (st->customers[i]->customer_id != st->customers[i]->key)
			st->customers[i]->id_known = true;
	match_emails(st);
	write_customers(st, false);
	SPI_finish();

	MemoryContextSwitchTo(oldcxt);
	return_counts(fcinfo, st, false);
	MemoryContextDelete(importcxt);
	PG_RETURN_NULL();
}
