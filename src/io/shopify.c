/*-------------------------------------------------------------------------
 *
 * shopify.c
 *	  Shared parsing of the Shopify loaders: derived ids, CSV header roles,
 *	  field values (amounts, timestamps, lists) and the in-memory rows of
 *	  one load (see shopify_import.h).
 *
 * The CSV importers live in shopify_orders.c and shopify_customers.c, the
 * upsert both they and the Admin API pull use in shopify_upsert.c.
 *
 * src/io/shopify.c
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
 * shp_derived_id_for
 *		ecp_shopify_derived_id() of prefix || value.
 */
int64
shp_derived_id_for(const char *prefix, const char *value)
{
	char	   *key = psprintf("%s%s", prefix, value);
	int64		id = ecp_shopify_derived_id(key, strlen(key));

	pfree(key);
	return id;
}

/*
 * shp_ascii_lower
 *		Lower-case ASCII letters in place (as lower() under COLLATE "C").
 */
void
shp_ascii_lower(char *s)
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
 * shp_read_header
 *		Read the header row and find the field index of every column role
 *		(-1 when the file has none of its names).
 */
void
shp_read_header(ImportState *st, const ColumnSpec *specs, int nroles)
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
 * shp_require_column
 *		A wrong header is 22023: name the missing column and what the file
 *		has instead.  "alt" is an acceptable substitute column or -1.
 */
void
shp_require_column(ImportState *st, const ColumnSpec *specs, int role, int alt,
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
 * shp_bad_value
 *		Report a malformed value (22P02) with its row and column.
 */
void
shp_bad_value(ImportState *st, int role, const char *value, const char *expected)
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
 * shp_missing_value
 *		Report an empty required value (22P02) with its row and column.
 */
void
shp_missing_value(ImportState *st, int role, const char *why)
{
	CsvReader  *r = &st->reader;

	ereport(ERROR,
			(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
			 errmsg("missing value in row %lld, column \"%s\" of the %s",
					(long long) r->row, column_name(st, role), st->what),
			 errdetail("%s", why)));
}

/*
 * shp_get_field
 *		The current row's value for a role, trimmed of surrounding spaces,
 *		or NULL when the file has no such column or the value is empty.
 *		Points into the reader's buffer (valid until the next row).
 */
char *
shp_get_field(ImportState *st, int role)
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
 * shp_keep
 *		A copy of a field value that outlives the row (NULL stays NULL).
 */
char *
shp_keep(const char *s)
{
	return s ? pstrdup(s) : NULL;
}

/*
 * shp_parse_cents
 *		Parse an amount like "125.40", "-3" or "0.5" into cents, rounding
 *		beyond two decimals half away from zero.  False when malformed or
 *		beyond numeric(14,2).
 */
bool
shp_parse_cents(const char *s, int64 *result)
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
 * shp_parse_int64
 *		Parse an optionally signed decimal integer.
 */
bool
shp_parse_int64(const char *s, int64 *result)
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
 * shp_parse_yes_no
 *		Shopify writes yes/no; true/false and 1/0 are accepted too.
 */
bool
shp_parse_yes_no(const char *s, bool *result)
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
 * shp_parse_timestamp
 *		Parse Shopify's "2022-01-11 04:32:31 -0500" (also ISO 8601 forms
 *		with 'T', "Z" or "-05:00", and minutes-only times).  A timestamp
 *		without offset is store-local time.  False when malformed.
 */
bool
shp_parse_timestamp(ImportState *st, const char *s, TimestampTz *result)
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
 * shp_split_list
 *		A comma-separated field ("vip, wholesale") as a text[] of trimmed,
 *		non-empty items; '{}' for NULL.
 */
Datum
shp_split_list(const char *s)
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
 * shp_grow
 *		Make room for one more element in a palloc'd pointer array.
 */
void *
shp_grow(void *array, int count, int *max, Size elsize)
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
 * shp_import_state_create
 *		Set up the reader (none when csv is NULL: an Admin API pull) and
 *		the hash tables of one import.
 */
ImportState *
shp_import_state_create(text *csv, const char *what)
{
	ImportState *st = palloc0(sizeof(ImportState));
	HASHCTL		ctl;

	st->what = what;
	if (csv != NULL)
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
 * shp_check_field_count
 *		Every data row must have as many fields as the header.
 */
void
shp_check_field_count(ImportState *st)
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
 * shp_get_timestamp / get_cents / get_bool
 *		Parse the current row's value of a column, or report it.
 */
bool
shp_get_timestamp(ImportState *st, int role, TimestampTz *result)
{
	char	   *s = shp_get_field(st, role);

	if (s == NULL)
		return false;
	if (!shp_parse_timestamp(st, s, result))
		shp_bad_value(st, role, s, "a timestamp such as \"2024-01-31 14:05:00 -0500\"");
	return true;
}

bool
shp_get_cents(ImportState *st, int role, int64 *result)
{
	char	   *s = shp_get_field(st, role);

	if (s == NULL)
		return false;
	if (!shp_parse_cents(s, result))
		shp_bad_value(st, role, s, "an amount such as \"12.50\" (at most 999999999999.99)");
	return true;
}

int
shp_get_bool(ImportState *st, int role)
{
	char	   *s = shp_get_field(st, role);
	bool		b;

	if (s == NULL)
		return -1;
	if (!shp_parse_yes_no(s, &b))
		shp_bad_value(st, role, s, "\"yes\" or \"no\"");
	return b ? 1 : 0;
}

/*
 * shp_customer_entry
 *		The customer of an identity key, created on first sight.
 */
ImportCustomer *
shp_customer_entry(ImportState *st, int64 key, CustomerKind kind,
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
		c->email = shp_keep(email);
		c->first_at = DT_NOEND;
		c->last_at = DT_NOBEGIN;
		c->loc_at = DT_NOBEGIN;
		c->country = c->province = c->city = NULL;
		c->accepts = -1;
		c->tags = (Datum) 0;
		c->row = st->reader.row;
		c->has_created = false;
		st->customers = shp_grow(st->customers, st->ncustomers, &st->maxcustomers,
							 sizeof(ImportCustomer *));
		st->customers[st->ncustomers++] = c;
	}
	return c;
}
