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
 * src/shopify.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "shopify.h"
#include "csv.h"
#include "ecpower.h"

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
#include "utils/hsearch.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"

PG_FUNCTION_INFO_V1(import_shopify_orders);
PG_FUNCTION_INFO_V1(import_shopify_customers);

/* numeric(14,2) holds amounts below 10^12 */
#define MAX_CENTS	INT64CONST(99999999999999)

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
	bool		existed;		/* set while writing */
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

	MemoryContext rowcxt;		/* per-row scratch while writing */

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
	o->existed = false;

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
	if (o->refunded < 0)
		bad_value(st, OC_REFUNDED, get_field(st, OC_REFUNDED), "an amount of at least 0");
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
 * begin_row
 *		Start writing one row: check for interrupts and switch to the
 *		per-row scratch context, emptied first.  Returns the context to
 *		switch back to.
 */
static MemoryContext
begin_row(ImportState *st)
{
	CHECK_FOR_INTERRUPTS();
	if (st->rowcxt == NULL)
		st->rowcxt = AllocSetContextCreate(CurrentMemoryContext,
										   "shopify row",
										   ALLOCSET_SMALL_SIZES);
	MemoryContextReset(st->rowcxt);
	return MemoryContextSwitchTo(st->rowcxt);
}

/*
 * upsert
 *		Execute a prepared INSERT ... ON CONFLICT ... RETURNING inserted
 *		and count the row as inserted or updated.  Returns whether the row
 *		was new.
 */
static bool
upsert(SPIPlanPtr plan, Datum *values, const char *nulls, ImportCounts *counts)
{
	bool		isnull;
	bool		inserted;

	spi_check(SPI_execute_plan(plan, values, nulls, false, 1),
			  SPI_OK_INSERT_RETURNING, "shopify upsert");
	if (SPI_processed != 1)
		elog(ERROR, "shopify upsert returned " UINT64_FORMAT " rows",
			 SPI_processed);
	inserted = DatumGetBool(SPI_getbinval(SPI_tuptable->vals[0],
										  SPI_tuptable->tupdesc, 1, &isnull));
	if (inserted)
		counts->inserted++;
	else
		counts->updated++;
	SPI_freetuptable(SPI_tuptable);
	return inserted;
}

/*
 * prepare
 *		SPI_prepare that keeps nothing beyond the current SPI call.
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
 * text_or_null
 *		Datum and null flag of an optional C string.
 */
static Datum
text_or_null(const char *s, char *null)
{
	*null = s ? ' ' : 'n';
	return s ? CStringGetTextDatum(s) : (Datum) 0;
}

/*
 * match_emails
 *		Customers already in ecpower.customers keep their customer_id: look
 *		every e-mail of the import up (lower-cased, ASCII) and take the
 *		smallest id of a match.
 */
static void
match_emails(ImportState *st)
{
	ArrayBuildState *astate = initArrayResult(TEXTOID, CurrentMemoryContext, false);
	Oid			argtypes[1] = {TEXTARRAYOID};
	Datum		values[1];
	SPIPlanPtr	plan;
	uint64		i;
	int			n = 0;

	for (i = 0; i < st->ncustomers; i++)
	{
		if (st->customers[i]->email == NULL)
			continue;
		astate = accumArrayResult(astate,
								  CStringGetTextDatum(st->customers[i]->email),
								  false, TEXTOID, CurrentMemoryContext);
		n++;
	}
	if (n == 0)
		return;
	values[0] = makeArrayResult(astate, CurrentMemoryContext);

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
 * check_collision
 *		A derived id that updated a row instead of inserting one belongs to
 *		another customer (md5 prefixes collide, or the row lost its e-mail).
 */
static void
check_collision(ImportCustomer *c, bool inserted)
{
	if (inserted || c->kind != CK_EMAIL || c->id_known)
		return;
	ereport(ERROR,
			(errcode(ERRCODE_UNIQUE_VIOLATION),
			 errmsg("customer id " INT64_FORMAT " derived from e-mail \"%s\" is already used by another customer",
					c->customer_id, c->email),
			 errdetail("The id is derived from md5('email:' || the lower-cased address) and an existing customer with a different e-mail address has it."),
			 errhint("Give the existing customer its e-mail address back, or insert this customer with an id of your choice first; the importer matches customers by e-mail before deriving ids.")));
}

/*
 * write_customers_from_orders
 *		Upsert the customers of an orders export.  The orders export only
 *		fills what is missing: an existing customer keeps its e-mail,
 *		location and consent; created_at becomes the earliest known time.
 */
static void
write_customers_from_orders(ImportState *st)
{
	Oid			argtypes[7] = {INT8OID, TEXTOID, TIMESTAMPTZOID, TEXTOID,
	TEXTOID, TEXTOID, BOOLOID};
	SPIPlanPtr	plan;
	int			i;

	plan = prepare("INSERT INTO ecpower.customers AS c "
				   "  (customer_id, email, created_at, country, province, city, accepts_marketing) "
				   "VALUES ($1, $2, $3, $4, $5, $6, $7) "
				   "ON CONFLICT (customer_id) DO UPDATE SET "
				   "  email = COALESCE(c.email, excluded.email), "
				   "  created_at = LEAST(c.created_at, excluded.created_at), "
				   "  country = CASE WHEN c.country IS NULL AND c.province IS NULL AND c.city IS NULL "
				   "                 THEN excluded.country ELSE c.country END, "
				   "  province = CASE WHEN c.country IS NULL AND c.province IS NULL AND c.city IS NULL "
				   "                  THEN excluded.province ELSE c.province END, "
				   "  city = CASE WHEN c.country IS NULL AND c.province IS NULL AND c.city IS NULL "
				   "              THEN excluded.city ELSE c.city END "
				   "RETURNING c.xmax OPERATOR(pg_catalog.=) 0", 7, argtypes);

	for (i = 0; i < st->ncustomers; i++)
	{
		ImportCustomer *c = st->customers[i];
		Datum		values[7];
		char		nulls[7];

		MemoryContext oldcxt = begin_row(st);

		values[0] = Int64GetDatum(c->customer_id);
		nulls[0] = ' ';
		values[1] = text_or_null(c->email, &nulls[1]);
		values[2] = TimestampTzGetDatum(c->first_at);
		nulls[2] = ' ';
		values[3] = text_or_null(c->country, &nulls[3]);
		values[4] = text_or_null(c->province, &nulls[4]);
		values[5] = text_or_null(c->city, &nulls[5]);
		values[6] = BoolGetDatum(c->accepts > 0);
		nulls[6] = ' ';
		check_collision(c, upsert(plan, values, nulls, &st->customer_counts));
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
	Oid			argtypes[4] = {INT8OID, TEXTOID, TEXTOID, TEXTOID};
	SPIPlanPtr	plan;
	int			i;

	plan = prepare("INSERT INTO ecpower.products AS p "
				   "  (product_id, title, product_type, vendor) "
				   "VALUES ($1, $2, $3, $4) "
				   "ON CONFLICT (product_id) DO UPDATE SET "
				   "  title = excluded.title, "
				   "  product_type = COALESCE(excluded.product_type, p.product_type), "
				   "  vendor = COALESCE(excluded.vendor, p.vendor) "
				   "RETURNING p.xmax OPERATOR(pg_catalog.=) 0", 4, argtypes);

	for (i = 0; i < st->nproducts; i++)
	{
		ImportProduct *p = st->products[i];
		Datum		values[4];
		char		nulls[4] = {' ', ' ', ' ', ' '};

		MemoryContext oldcxt = begin_row(st);

		values[0] = Int64GetDatum(p->product_id);
		values[1] = CStringGetTextDatum(p->title);
		values[2] = text_or_null(p->product_type, &nulls[2]);
		values[3] = text_or_null(p->vendor, &nulls[3]);
		upsert(plan, values, nulls, &st->product_counts);
		MemoryContextSwitchTo(oldcxt);
	}
}

/*
 * write_orders
 *		Upsert the orders, then their lines.  A re-imported order replaces
 *		its lines: lines whose number the export no longer has are deleted.
 */
static void
write_orders(ImportState *st)
{
	Oid			order_types[9] = {INT8OID, INT8OID, TIMESTAMPTZOID, NUMERICOID,
		NUMERICOID, TEXTARRAYOID, TEXTARRAYOID, TEXTOID, TIMESTAMPTZOID};
	Oid			line_types[6] = {INT8OID, INT4OID, INT8OID, TEXTOID, INT4OID,
	NUMERICOID};
	Oid			prune_types[2] = {INT8OID, INT4ARRAYOID};
	SPIPlanPtr	order_plan;
	SPIPlanPtr	line_plan;
	SPIPlanPtr	prune_plan;
	int			i;

	order_plan = prepare("INSERT INTO ecpower.orders AS o "
						 "  (order_id, customer_id, ordered_at, total, refunded, "
						 "   discount_codes, tags, sales_channel, cancelled_at) "
						 "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) "
						 "ON CONFLICT (order_id) DO UPDATE SET "
						 "  customer_id = excluded.customer_id, "
						 "  ordered_at = excluded.ordered_at, "
						 "  total = excluded.total, "
						 "  refunded = excluded.refunded, "
						 "  discount_codes = excluded.discount_codes, "
						 "  tags = excluded.tags, "
						 "  sales_channel = excluded.sales_channel, "
						 "  cancelled_at = excluded.cancelled_at "
						 "RETURNING o.xmax OPERATOR(pg_catalog.=) 0", 9, order_types);
	line_plan = prepare("INSERT INTO ecpower.order_lines AS l "
						"  (order_id, line_no, product_id, sku, quantity, price) "
						"VALUES ($1, $2, $3, $4, $5, $6) "
						"ON CONFLICT (order_id, line_no) DO UPDATE SET "
						"  product_id = excluded.product_id, "
						"  sku = excluded.sku, "
						"  quantity = excluded.quantity, "
						"  price = excluded.price "
						"RETURNING l.xmax OPERATOR(pg_catalog.=) 0", 6, line_types);
	prune_plan = prepare("DELETE FROM ecpower.order_lines "
						 "WHERE order_id OPERATOR(pg_catalog.=) $1 "
						 "  AND NOT (line_no OPERATOR(pg_catalog.=) ANY ($2))",
						 2, prune_types);

	for (i = 0; i < st->norders; i++)
	{
		ImportOrder *o = st->orders[i];
		Datum		values[9];
		char		nulls[9] = {' ', ' ', ' ', ' ', ' ', ' ', ' ', ' ', ' '};
		MemoryContext oldcxt = begin_row(st);
		int			j;

		values[0] = Int64GetDatum(o->order_id);
		values[1] = Int64GetDatum(o->customer->customer_id);
		values[2] = TimestampTzGetDatum(o->ordered_at);
		values[3] = ecp_cents_to_numeric(o->total);
		values[4] = ecp_cents_to_numeric(o->refunded);
		values[5] = o->discount_codes;
		values[6] = o->tags;
		values[7] = text_or_null(o->sales_channel, &nulls[7]);
		values[8] = TimestampTzGetDatum(o->cancelled_at);
		nulls[8] = o->cancelled ? ' ' : 'n';
		o->existed = !upsert(order_plan, values, nulls, &st->order_counts);

		if (o->existed)
		{
			/* a re-imported order: delete the lines it no longer has */
			Datum	   *nos = palloc(sizeof(Datum) * Max(o->nlines, 1));
			Datum		prune[2];

			for (j = 0; j < o->nlines; j++)
				nos[j] = Int32GetDatum(st->lines[o->first_line + j].line_no);
			prune[0] = Int64GetDatum(o->order_id);
			prune[1] = PointerGetDatum(construct_array(nos, o->nlines, INT4OID,
													   sizeof(int32), true,
													   TYPALIGN_INT));
			spi_check(SPI_execute_plan(prune_plan, prune, NULL, false, 0),
					  SPI_OK_DELETE, "line prune");
		}
		MemoryContextSwitchTo(oldcxt);
	}

	for (i = 0; i < st->nlines; i++)
	{
		ImportLine *line = &st->lines[i];
		Datum		values[6];
		char		nulls[6] = {' ', ' ', ' ', ' ', ' ', ' '};
		MemoryContext oldcxt = begin_row(st);

		values[0] = Int64GetDatum(line->order->order_id);
		values[1] = Int32GetDatum(line->line_no);
		values[2] = Int64GetDatum(line->product->product_id);
		values[3] = text_or_null(line->sku, &nulls[3]);
		values[4] = Int32GetDatum(line->quantity);
		values[5] = ecp_cents_to_numeric(line->price);
		upsert(line_plan, values, nulls, &st->line_counts);
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
	write_customers_from_orders(st);
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
		/* a later row for the same customer wins */
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
 * write_customers
 *		Upsert the rows of a customers export, which is the authority on
 *		e-mail, tags, location and consent.
 */
static void
write_customers(ImportState *st)
{
	Oid			argtypes[7] = {INT8OID, TEXTOID, TEXTARRAYOID, TEXTOID,
	TEXTOID, TEXTOID, BOOLOID};
	SPIPlanPtr	plan;
	int			i;

	plan = prepare("INSERT INTO ecpower.customers AS c "
				   "  (customer_id, email, tags, country, province, city, accepts_marketing) "
				   "VALUES ($1, $2, $3, $4, $5, $6, COALESCE($7, false)) "
				   "ON CONFLICT (customer_id) DO UPDATE SET "
				   "  email = COALESCE(excluded.email, c.email), "
				   "  tags = excluded.tags, "
				   "  country = CASE WHEN $4 IS NULL AND $5 IS NULL AND $6 IS NULL "
				   "                 THEN c.country ELSE excluded.country END, "
				   "  province = CASE WHEN $4 IS NULL AND $5 IS NULL AND $6 IS NULL "
				   "                  THEN c.province ELSE excluded.province END, "
				   "  city = CASE WHEN $4 IS NULL AND $5 IS NULL AND $6 IS NULL "
				   "              THEN c.city ELSE excluded.city END, "
				   "  accepts_marketing = COALESCE($7, c.accepts_marketing) "
				   "RETURNING c.xmax OPERATOR(pg_catalog.=) 0", 7, argtypes);

	for (i = 0; i < st->ncustomers; i++)
	{
		ImportCustomer *c = st->customers[i];
		Datum		values[7];
		char		nulls[7] = {' ', ' ', ' ', ' ', ' ', ' ', ' '};

		MemoryContext oldcxt = begin_row(st);

		values[0] = Int64GetDatum(c->customer_id);
		values[1] = text_or_null(c->email, &nulls[1]);
		values[2] = c->tags;
		values[3] = text_or_null(c->country, &nulls[3]);
		values[4] = text_or_null(c->province, &nulls[4]);
		values[5] = text_or_null(c->city, &nulls[5]);
		values[6] = BoolGetDatum(c->accepts > 0);
		nulls[6] = c->accepts < 0 ? 'n' : ' ';
		check_collision(c, upsert(plan, values, nulls, &st->customer_counts));
		MemoryContextSwitchTo(oldcxt);
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
	write_customers(st);
	SPI_finish();

	MemoryContextSwitchTo(oldcxt);
	return_counts(fcinfo, st, false);
	MemoryContextDelete(importcxt);
	PG_RETURN_NULL();
}
