/*-------------------------------------------------------------------------
 *
 * defjson.c
 *	  The readers of JSON values that the definition parser is built from:
 *	  the JSON path of the value at hand, objects and lists, numbers,
 *	  booleans, text and id lists, dates, periods and comparisons.
 *
 * Each reader checks one value against the definition language and
 * rejects it with SQLSTATE 22023 and a message of the form
 *
 *		invalid segment definition at $.all[2].orders.period.from: ...
 *
 * src/segments/defjson.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "catalog/pg_collation.h"
#include "catalog/pg_type.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/datetime.h"
#include "utils/formatting.h"
#include "utils/numeric.h"

#include "core/arrays.h"
#include "segments/defparse.h"

static const char *const cmp_names[] = {"eq", "ne", "gt", "gte", "lt", "lte"};

/*
 * defp_bad
 *		Reject the definition at the current path.
 */
void
defp_bad(ParseState *ps, const char *fmt,...)
{
	StringInfoData msg;

	initStringInfo(&msg);
	for (;;)
	{
		va_list		args;
		int			needed;

		va_start(args, fmt);
		needed = appendStringInfoVA(&msg, fmt, args);
		va_end(args);
		if (needed == 0)
			break;
		enlargeStringInfo(&msg, needed);
	}
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("invalid segment definition at %s: %s", ps->path.data, msg.data),
			 errhint("See the definition language in the README, section \"Segments\".")));
	pg_unreachable();
}

/* path helpers: push returns the length to pop back to */
int
defp_push_key(ParseState *ps, const char *key)
{
	int			len = ps->path.len;

	appendStringInfo(&ps->path, ".%s", key);
	return len;
}

/* path helper: append "[i]"; returns the length to pop back to */
int
defp_push_index(ParseState *ps, int i)
{
	int			len = ps->path.len;

	appendStringInfo(&ps->path, "[%d]", i);
	return len;
}

/* path helper: truncate the path back to len */
void
defp_pop(ParseState *ps, int len)
{
	ps->path.len = len;
	ps->path.data[len] = '\0';
}

/* is the value a JSON object? */
bool
defp_is_object(JsonbValue *v)
{
	return v->type == jbvBinary && JsonContainerIsObject(v->val.binary.data);
}

/* is the value a JSON array (not a wrapped top-level scalar)? */
bool
defp_is_array(JsonbValue *v)
{
	return v->type == jbvBinary && JsonContainerIsArray(v->val.binary.data) &&
		!JsonContainerIsScalar(v->val.binary.data);
}

/* "a string", "null", ... for messages */
const char *
defp_type_name(JsonbValue *v)
{
	switch (v->type)
	{
		case jbvNull:
			return "null";
		case jbvString:
			return "a string";
		case jbvNumeric:
			return "a number";
		case jbvBool:
			return "a boolean";
		case jbvBinary:
			return defp_is_object(v) ? "an object" : "a list";
		default:
			return "a value";
	}
}

/* the value of a container, unwrapping a top-level scalar */
void
defp_container_value(JsonbContainer *c, JsonbValue *out)
{
	if (JsonContainerIsScalar(c))
	{
		/* a raw scalar is stored as a one-element array */
		JsonbIterator *it = JsonbIteratorInit(c);
		JsonbValue	jv;
		JsonbIteratorToken tok;

		while ((tok = JsonbIteratorNext(&it, &jv, true)) != WJB_DONE)
		{
			if (tok == WJB_ELEM)
				*out = jv;
		}
		return;
	}
	out->type = jbvBinary;
	out->val.binary.data = c;
	out->val.binary.len = 0;
}

/* members of an object value; *n gets their number */
Pair *
defp_object_pairs(ParseState *ps, JsonbValue *v, int *n)
{
	JsonbContainer *c = v->val.binary.data;
	int			size = JsonContainerSize(c);
	Pair	   *pairs = palloc(sizeof(Pair) * Max(size, 1));
	JsonbIterator *it = JsonbIteratorInit(c);
	JsonbValue	jv;
	JsonbIteratorToken tok;
	int			i = 0;

	if (size > ECP_MAX_LIST)
		defp_bad(ps, "more than %d keys", ECP_MAX_LIST);
	while ((tok = JsonbIteratorNext(&it, &jv, true)) != WJB_DONE)
	{
		if (tok == WJB_KEY)
			pairs[i].key = pnstrdup(jv.val.string.val, jv.val.string.len);
		else if (tok == WJB_VALUE)
			pairs[i++].val = jv;
	}
	*n = i;
	return pairs;
}

/* elements of a list value, which must be a non-empty list */
JsonbValue *
defp_list_items(ParseState *ps, JsonbValue *v, int *n, const char *what)
{
	JsonbContainer *c;
	int			size;
	JsonbValue *items;
	JsonbIterator *it;
	JsonbValue	jv;
	JsonbIteratorToken tok;
	int			i = 0;

	if (!defp_is_array(v))
		defp_bad(ps, "expected a list of %s, found %s", what, defp_type_name(v));
	c = v->val.binary.data;
	size = JsonContainerSize(c);
	if (size == 0)
		defp_bad(ps, "empty list; expected at least one %s",
			strcmp(what, "rules") == 0 ? "rule" : "item");
	if (size > ECP_MAX_LIST)
		defp_bad(ps, "list of %d items exceeds the limit of %d", size, ECP_MAX_LIST);
	items = palloc(sizeof(JsonbValue) * size);
	it = JsonbIteratorInit(c);
	while ((tok = JsonbIteratorNext(&it, &jv, true)) != WJB_DONE)
	{
		if (tok == WJB_ELEM)
			items[i++] = jv;
	}
	*n = i;
	return items;
}

/* a jsonb number as double (huge values become +-infinity) */
double
defp_number_value(JsonbValue *v)
{
	char	   *s = DatumGetCString(DirectFunctionCall1(numeric_out,
														NumericGetDatum(v->val.numeric)));

	return strtod(s, NULL);
}

/* a number at the current path, as double */
double
defp_parse_number(ParseState *ps, JsonbValue *v)
{
	if (v->type != jbvNumeric)
		defp_bad(ps, "expected a number, found %s", defp_type_name(v));
	return defp_number_value(v);
}

/* a whole number in [lo, hi] */
int32
defp_read_int(ParseState *ps, JsonbValue *v, int32 lo, int32 hi, const char *what)
{
	double		d;

	if (v->type != jbvNumeric)
		defp_bad(ps, "expected %s, found %s", what, defp_type_name(v));
	d = defp_number_value(v);
	if (d != floor(d))
		defp_bad(ps, "expected %s, found %g", what, d);
	if (d < lo || d > hi)
	{
		if (lo == 0 && d < 0)
			defp_bad(ps, "negative day count %g", d);
		if (lo == 1 && hi == PG_INT32_MAX)
			defp_bad(ps, "sequence numbers start at 1, found %g", d);
		defp_bad(ps, "%g is out of range (%d to %d)", d, lo, hi);
	}
	return (int32) d;
}

/* a boolean at the current path */
bool
defp_read_bool(ParseState *ps, JsonbValue *v)
{
	if (v->type != jbvBool)
		defp_bad(ps, "expected true or false, found %s", defp_type_name(v));
	return v->val.boolean;
}

/*
 * ecp_lower_text
 *		Lower-case a string the way SQL lower() does under the database's
 *		default collation, with an ASCII fast path.  The result is palloc'd.
 */
char *
ecp_lower_text(const char *s, int len, int *outlen)
{
	bool		ascii = true;
	char	   *r;

	for (int i = 0; i < len; i++)
	{
		if ((unsigned char) s[i] >= 0x80)
		{
			ascii = false;
			break;
		}
	}
	if (ascii)
	{
		r = palloc(len + 1);
		for (int i = 0; i < len; i++)
			r[i] = (s[i] >= 'A' && s[i] <= 'Z') ? s[i] + ('a' - 'A') : s[i];
		r[len] = '\0';
	}
	else
		r = str_tolower(s, len, DEFAULT_COLLATION_OID);
	*outlen = strlen(r);
	return r;
}

/* a non-empty list of strings, lower-cased */
void
defp_parse_text_list(ParseState *ps, JsonbValue *v, EcpTextList *out)
{
	int			n;
	JsonbValue *items = defp_list_items(ps, v, &n, "strings");

	out->n = n;
	out->vals = palloc(sizeof(char *) * n);
	out->lens = palloc(sizeof(int) * n);
	for (int i = 0; i < n; i++)
	{
		if (items[i].type != jbvString)
		{
			int			len = defp_push_index(ps, i);

			defp_bad(ps, "expected a string, found %s", defp_type_name(&items[i]));
			defp_pop(ps, len);
		}
		out->vals[i] = ecp_lower_text(items[i].val.string.val,
								  items[i].val.string.len, &out->lens[i]);
	}
}

/* a non-empty list of integer product ids, sorted */
void
defp_parse_id_list(ParseState *ps, JsonbValue *v, EcpFilter *f)
{
	int			n;
	JsonbValue *items = defp_list_items(ps, v, &n, "integers");

	f->product_ids = palloc(sizeof(int64) * n);
	for (int i = 0; i < n; i++)
	{
		int			len = defp_push_index(ps, i);
		char	   *s;
		double		d;
		int64		id;

		if (items[i].type != jbvNumeric)
			defp_bad(ps, "expected an integer, found %s", defp_type_name(&items[i]));
		s = DatumGetCString(DirectFunctionCall1(numeric_out,
												NumericGetDatum(items[i].val.numeric)));
		d = strtod(s, NULL);
		if (d != floor(d) || fabs(d) > 9.2e18)
			defp_bad(ps, "expected an integer, found %s", s);
		id = (int64) d;
		if (fabs(d) >= 9007199254740992.0)
		{
			/* beyond exact doubles: parse the digits */
			errno = 0;
			id = strtoll(s, NULL, 10);
			if (errno != 0)
				defp_bad(ps, "expected an integer, found %s", s);
		}
		f->product_ids[i] = id;
		defp_pop(ps, len);
	}
	qsort(f->product_ids, n, sizeof(int64), ecp_cmp_int64);
	f->nproduct_ids = n;
}

/* strict YYYY-MM-DD */
DateADT
defp_parse_date(ParseState *ps, JsonbValue *v)
{
	const char *s;
	int			y,
				m,
				d;

	if (v->type != jbvString)
		defp_bad(ps, "expected a date (YYYY-MM-DD), found %s", defp_type_name(v));
	s = v->val.string.val;
	if (v->val.string.len != 10 || s[4] != '-' || s[7] != '-')
		goto malformed;
	for (int i = 0; i < 10; i++)
	{
		if (i != 4 && i != 7 && (s[i] < '0' || s[i] > '9'))
			goto malformed;
	}
	y = (s[0] - '0') * 1000 + (s[1] - '0') * 100 + (s[2] - '0') * 10 + (s[3] - '0');
	m = (s[5] - '0') * 10 + (s[6] - '0');
	d = (s[8] - '0') * 10 + (s[9] - '0');
	if (y < 1 || m < 1 || m > 12 || d < 1 || d > day_tab[isleap(y)][m - 1])
		goto malformed;
	return date2j(y, m, d) - POSTGRES_EPOCH_JDATE;

malformed:
	defp_bad(ps, "\"%.*s\" is not a date (YYYY-MM-DD)",
		Min(v->val.string.len, 100), v->val.string.val);
}

/* PERIOD */
void
defp_parse_period(ParseState *ps, JsonbValue *v, EcpPeriod *p)
{
	int			n;
	Pair	   *pairs;
	bool		range = false,
				last = false,
				ago = false;

	if (!defp_is_object(v))
		defp_bad(ps, "expected a period object, found %s", defp_type_name(v));
	pairs = defp_object_pairs(ps, v, &n);
	if (n == 0)
		defp_bad(ps, "empty period; expected from/to, last_days or days_ago");
	memset(p, 0, sizeof(*p));
	for (int i = 0; i < n; i++)
	{
		int			len = defp_push_key(ps, pairs[i].key);

		if (strcmp(pairs[i].key, "from") == 0)
		{
			p->from = defp_parse_date(ps, &pairs[i].val);
			p->has_from = range = true;
		}
		else if (strcmp(pairs[i].key, "to") == 0)
		{
			p->to = defp_parse_date(ps, &pairs[i].val);
			p->has_to = range = true;
		}
		else if (strcmp(pairs[i].key, "last_days") == 0)
		{
			p->a = defp_read_int(ps, &pairs[i].val, 0, 1000000, "a whole number of days");
			last = true;
		}
		else if (strcmp(pairs[i].key, "days_ago") == 0)
		{
			int			m;
			JsonbValue *items = defp_list_items(ps, &pairs[i].val, &m, "two day counts");
			int			l2;

			if (m != 2)
				defp_bad(ps, "expected [a, b] (two day counts), found a list of %d", m);
			l2 = defp_push_index(ps, 0);
			p->a = defp_read_int(ps, &items[0], 0, 1000000, "a whole number of days");
			defp_pop(ps, l2);
			l2 = defp_push_index(ps, 1);
			p->b = defp_read_int(ps, &items[1], 0, 1000000, "a whole number of days");
			defp_pop(ps, l2);
			if (p->a > p->b)
				defp_bad(ps, "days_ago [%d, %d] has a greater than b", p->a, p->b);
			ago = true;
		}
		else
			defp_bad(ps, "unknown key \"%s\" in a period", pairs[i].key);
		defp_pop(ps, len);
	}
	if ((int) range + (int) last + (int) ago > 1)
		defp_bad(ps, "a period holds exactly one of from/to, last_days or days_ago");
	if (range)
	{
		p->kind = ECP_P_RANGE;
		if (p->has_from && p->has_to && p->from > p->to)
		{
			int			len = defp_push_key(ps, "from");

			defp_bad(ps, "from %s is after to %s",
				DatumGetCString(DirectFunctionCall1(date_out, DateADTGetDatum(p->from))),
				DatumGetCString(DirectFunctionCall1(date_out, DateADTGetDatum(p->to))));
			defp_pop(ps, len);
		}
	}
	else if (last)
		p->kind = ECP_P_LAST_DAYS;
	else
		p->kind = ECP_P_DAYS_AGO;
}

/* index of a comparison key in cmp_names, or -1 */
int
defp_cmp_op(const char *key)
{
	for (int i = 0; i < lengthof(cmp_names); i++)
	{
		if (strcmp(key, cmp_names[i]) == 0)
			return i;
	}
	return -1;
}

/*
 * Parse CMP keys from 'pairs' (those for which defp_cmp_op() or "between"
 * matches; the caller has rejected every other key).
 */
void
defp_parse_cmp_pairs(ParseState *ps, Pair *pairs, int n, EcpCmp *cmp)
{
	bool		between = false;

	cmp->nops = 0;
	for (int i = 0; i < n; i++)
	{
		int			len = defp_push_key(ps, pairs[i].key);
		int			op = defp_cmp_op(pairs[i].key);

		if (op >= 0)
		{
			if (cmp->nops >= 2)
				defp_bad(ps, "a comparison holds one or two of eq, ne, gt, gte, lt, lte, or between alone");
			cmp->op[cmp->nops] = (EcpCmpOp) op;
			cmp->val[cmp->nops++] = defp_parse_number(ps, &pairs[i].val);
		}
		else if (strcmp(pairs[i].key, "between") == 0)
		{
			int			m;
			JsonbValue *items;
			int			l2;

			if (!defp_is_array(&pairs[i].val))
				defp_bad(ps, "expected [lo, hi] (two numbers), found %s", defp_type_name(&pairs[i].val));
			items = defp_list_items(ps, &pairs[i].val, &m, "numbers");
			if (m != 2)
				defp_bad(ps, "expected [lo, hi] (exactly two numbers), found a list of %d", m);
			for (int k = 0; k < 2; k++)
			{
				l2 = defp_push_index(ps, k);
				cmp->op[k] = k == 0 ? ECP_OP_GTE : ECP_OP_LTE;
				cmp->val[k] = defp_parse_number(ps, &items[k]);
				defp_pop(ps, l2);
			}
			between = true;
		}
		else
			elog(ERROR, "unexpected comparison key \"%s\"", pairs[i].key);
		defp_pop(ps, len);
	}
	if (between)
	{
		if (n != 1)
			defp_bad(ps, "\"between\" cannot be combined with other comparisons");
		cmp->nops = 2;
	}
	if (cmp->nops == 0 && !between)
		defp_bad(ps, "comparison needs one of eq, ne, gt, gte, lt, lte or between");
}

/* is key a CMP key (eq, ne, gt, gte, lt, lte, between)? */
bool
defp_is_cmp_key(const char *key)
{
	return defp_cmp_op(key) >= 0 || strcmp(key, "between") == 0;
}

/* CMP given as an object */
void
defp_parse_cmp(ParseState *ps, JsonbValue *v, EcpCmp *cmp)
{
	int			n;
	Pair	   *pairs;

	if (!defp_is_object(v))
		defp_bad(ps, "expected a comparison object, found %s", defp_type_name(v));
	pairs = defp_object_pairs(ps, v, &n);
	for (int i = 0; i < n; i++)
	{
		if (!defp_is_cmp_key(pairs[i].key))
		{
			int			len = defp_push_key(ps, pairs[i].key);

			defp_bad(ps, "unknown key \"%s\" in a comparison", pairs[i].key);
			defp_pop(ps, len);
		}
	}
	if (n == 0)
		defp_bad(ps, "comparison needs one of eq, ne, gt, gte, lt, lte or between");
	defp_parse_cmp_pairs(ps, pairs, n, cmp);
}
