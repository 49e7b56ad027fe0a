/*-------------------------------------------------------------------------
 *
 * report.c
 *	  ecpower.feature_report(): which products, channels, coupons, tags,
 *	  weekdays ... are most common among a segment's customers in their
 *	  first / second / repeat / latest / any order of a period (README "Feature reports").
 *
 * One fetch of the whole store's selected orders (timeline/fetch.c) serves
 * both figures: the segment's customers per value and the store's (for
 * store_share and lift).  The counting walk visits each customer's
 * selected orders once and counts a value for the customer the first time
 * it meets it: a per-value "last seen customer" stamp replaces a set of
 * customers per value, so the walk is linear in the values carried.
 *
 * Text values are grouped case-insensitively, like the definition
 * language matches them (README "The definition language"): the key is lower(value) and the label
 * the spelling most store customers have.  See README "Feature reports".
 *
 * This file also holds the argument parsing the report functions share.
 *
 * src/reports/report.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_collation.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/date.h"
#include "utils/formatting.h"
#include "utils/memutils.h"
#include "utils/numeric.h"
#include "utils/tuplestore.h"

#include "core/access.h"
#include "reports/report.h"
#include "reports/storestats.h"

PG_FUNCTION_INFO_V1(feature_report);

/* SQL names, indexed by EcpDimension */
static const char *const dimension_names[ECP_NUM_DIMENSIONS] = {
	"product", "product_type", "product_tag", "vendor", "sku",
	"acquisition_channel", "referring_site", "landing_site",
	"utm_source", "utm_medium", "utm_campaign",
	"sales_channel", "order_tag", "discount_code",
	"year_month", "weekday", "hour",
	"customer_tag", "country", "province", "city",
	"bought_together"
};

/* SQL names, indexed by EcpVariant */
static const char *const variant_names[] = {
	"all", "first", "second", "repeat", "latest"
};

static const char *const weekday_labels[8] = {
	"", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"
};

/* ---------------------------------------------------------------------
 * Arguments shared by the report functions
 * ---------------------------------------------------------------------
 */

/*
 * ecp_parse_variant
 *		The variant named by a text argument; 22023 for NULL or unknown.
 */
EcpVariant
ecp_parse_variant(text *variant)
{
	char	   *name;

	if (variant == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("variant must not be null"),
				 errhint("Use one of all, first, second, repeat, latest.")));
	name = text_to_cstring(variant);
	for (int i = 0; i < lengthof(variant_names); i++)
	{
		if (strcmp(name, variant_names[i]) == 0)
			return (EcpVariant) i;
	}
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("unknown variant \"%s\"", name),
			 errhint("Use one of all, first, second, repeat, latest.")));
	return ECP_VARIANT_ALL;		/* keep compiler quiet */
}

/*
 * ecp_parse_dimension
 *		The dimension named by a text argument; 22023 for NULL or unknown.
 */
EcpDimension
ecp_parse_dimension(text *dimension)
{
	char	   *name;

	if (dimension == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("dimension must not be null")));
	name = text_to_cstring(dimension);
	for (int i = 0; i < ECP_NUM_DIMENSIONS; i++)
	{
		if (strcmp(name, dimension_names[i]) == 0)
			return (EcpDimension) i;
	}
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("unknown dimension \"%s\"", name),
			 errhint("Use one of product, product_type, product_tag, vendor, sku, acquisition_channel, referring_site, landing_site, utm_source, utm_medium, utm_campaign, sales_channel, order_tag, discount_code, year_month, weekday, hour, customer_tag, country, province, city, bought_together.")));
	return ECP_DIM_NONE;		/* keep compiler quiet */
}

/* a date as text, for messages */
static char *
date_text(DateADT d)
{
	return DatumGetCString(DirectFunctionCall1(date_out, DateADTGetDatum(d)));
}

/*
 * ecp_parse_period
 *		The optional [from_date, to_date] arguments into spec; 22023 when
 *		from_date > to_date or a bound is infinite.
 */
void
ecp_parse_period(FunctionCallInfo fcinfo, int from_arg, int to_arg,
				 EcpFetchSpec *spec)
{
	spec->has_from = !PG_ARGISNULL(from_arg);
	spec->has_to = !PG_ARGISNULL(to_arg);
	if (spec->has_from)
		spec->from = PG_GETARG_DATEADT(from_arg);
	if (spec->has_to)
		spec->to = PG_GETARG_DATEADT(to_arg);
	if ((spec->has_from && DATE_NOT_FINITE(spec->from)) ||
		(spec->has_to && DATE_NOT_FINITE(spec->to)))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("from_date and to_date must be finite dates"),
				 errhint("Pass NULL for an open bound.")));
	if (spec->has_from && spec->has_to && spec->from > spec->to)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("from_date %s is after to_date %s",
						date_text(spec->from), date_text(spec->to))));
}

/*
 * ecp_report_resolve_members
 *		The members a report answers for: the segment's as of the last
 *		refresh (42704 for an unknown slug), or the whole store for NULL.
 */
void
ecp_report_resolve_members(text *slug, EcpReportMembers *m)
{
	int32		seg = 0;
	char	   *name = NULL;

	memset(m, 0, sizeof(EcpReportMembers));
	if (slug != NULL)
	{
		name = text_to_cstring(slug);
		seg = ecp_segment_id(name);
	}
	ecp_check_input_access(ECP_INPUT_ALL);
	ecp_require_current_run(&m->run);
	if (slug == NULL)
		return;

	m->members = ecp_members_current(seg, name, &m->run);
	m->count = (int64) roaring_bitmap_get_cardinality(m->members);
	m->max_ckey = m->count > 0 ? (int32) roaring_bitmap_maximum(m->members) : 0;
	m->is_member = palloc_extended(sizeof(bool) * ((Size) m->max_ckey + 1),
								   MCXT_ALLOC_HUGE | MCXT_ALLOC_ZERO);
	{
		roaring_uint32_iterator_t it;

		roaring_init_iterator(m->members, &it);
		while (it.has_value)
		{
			m->is_member[it.current_value] = true;
			roaring_advance_uint32_iterator(&it);
		}
	}
}

/*
 * ecp_report_begin
 *		The common start of a report function, after its arguments were
 *		checked: the members (slug in argument slug_arg), a materialized
 *		result set, and the spec's as_of and calendar.  With members_only
 *		the fetch reads the members' orders only.
 */
void
ecp_report_begin(FunctionCallInfo fcinfo, int slug_arg, bool members_only,
				 EcpReportMembers *m, EcpFetchSpec *spec)
{
	ecp_report_resolve_members(PG_ARGISNULL(slug_arg) ? NULL : PG_GETARG_TEXT_PP(slug_arg), m);
	InitMaterializedSRF(fcinfo, MAT_SRF_USE_EXPECTED_DESC);
	spec->as_of = m->run.as_of;
	spec->cal = ecp_store_calendar();
	if (members_only)
	{
		spec->wanted = m->is_member;
		spec->max_wanted = m->max_ckey;
		spec->nwanted = m->count;
	}
}

/*
 * ecp_report_ratio
 *		num / den as numeric, exactly as SQL's num::numeric / den does it;
 *		the caller makes sure den > 0.
 */
Datum
ecp_report_ratio(int64 num, int64 den)
{
	Assert(den > 0);
	return DirectFunctionCall2(numeric_div,
							   NumericGetDatum(int64_to_numeric(num)),
							   NumericGetDatum(int64_to_numeric(den)));
}

/* ---------------------------------------------------------------------
 * feature_report
 * ---------------------------------------------------------------------
 */

/* a value in the running for the top N */
typedef struct Candidate
{
	int32		group;
	int64		customers;
	const char *key;
	int64		num;			/* the value of a non-text key */
} Candidate;

static bool sort_ascending;
static bool sort_numeric;

/*
 * qsort order of candidates: customers (see sort_ascending), then the key:
 * as a number for product ids, months, weekdays and hours (so product 9
 * comes before product 10), by its bytes for text values
 */
static int
cmp_candidate(const void *pa, const void *pb)
{
	const Candidate *a = (const Candidate *) pa;
	const Candidate *b = (const Candidate *) pb;

	if (a->customers != b->customers)
	{
		if (sort_ascending)
			return a->customers < b->customers ? -1 : 1;
		return a->customers > b->customers ? -1 : 1;
	}
	if (sort_numeric)
		return (a->num > b->num) - (a->num < b->num);
	return strcmp(a->key, b->key);
}

/* key text of a non-text value */
static char *
value_key(EcpDimension dim, int64 v)
{
	switch (dim)
	{
		case ECP_DIM_YEAR_MONTH:
			return psprintf("%04d-%02d", (int) (v / 12), (int) (v % 12) + 1);
		default:
			return psprintf(INT64_FORMAT, v);
	}
}

/*
 * best_spellings
 *		For each group of text values, the value most store customers carry
 *		(ties: the lowest bytes); -1 for a group no customer carries.
 */
static int32 *
best_spellings(EcpValueDict *dict, const int32 *group_of, int32 ngroups,
			   const int64 *exact_count)
{
	int32	   *best = palloc(sizeof(int32) * Max(ngroups, 1));

	memset(best, 0xFF, sizeof(int32) * Max(ngroups, 1));
	for (int32 e = 0; e < dict->nvalues; e++)
	{
		int32		g = group_of[e];
		int32		b = best[g];

		if (exact_count[e] == 0)
			continue;
		if (b < 0 || exact_count[e] > exact_count[b] ||
			(exact_count[e] == exact_count[b] &&
			 strcmp(dict->text[e], dict->text[b]) < 0))
			best[g] = e;
	}
	return best;
}

/* sort order of value groups by key, for keep_store_stats() */
static const char *const *sort_texts;
static const int64 *sort_nums;

static int
cmp_group_key(const void *a, const void *b)
{
	int32		x = *(const int32 *) a;
	int32		y = *(const int32 *) b;

	if (sort_texts != NULL)
		return strcmp(sort_texts[x], sort_texts[y]);
	return (sort_nums[x] > sort_nums[y]) - (sort_nums[x] < sort_nums[y]);
}

/*
 * keep_store_stats
 *		Keep the store's figures of a whole-store walk for this session's
 *		next reports over the same data (storestats.c).
 */
static void
keep_store_stats(const EcpStoreStatsKey *key, EcpValueKind kind, EcpValueDict *dict,
				 EcpValueDict *groups, int32 ngroups, const int32 *group_of,
				 const int64 *store_count, const int64 *exact_count, int64 store_den)
{
	bool		is_text = kind == ECP_VALUES_TEXT;
	int32	   *order = palloc(sizeof(int32) * Max(ngroups, 1));
	int32	   *best = is_text ? best_spellings(dict, group_of, ngroups, exact_count) : NULL;
	int32		n = 0;
	EcpStoreStats *s;

	for (int32 g = 0; g < ngroups; g++)
	{
		if (store_count[g] > 0)
			order[n++] = g;
	}
	sort_texts = is_text ? (const char *const *) groups->text : NULL;
	sort_nums = is_text ? NULL : dict->num;
	qsort(order, n, sizeof(int32), cmp_group_key);
	s = ecp_store_stats_new(key, is_text, n);
	s->den = store_den;
	for (int32 i = 0; i < n; i++)
	{
		int32		g = order[i];

		s->count[i] = store_count[g];
		if (is_text)
		{
			s->text[i] = MemoryContextStrdup(s->cxt, groups->text[g]);
			s->label[i] = best[g] >= 0 ? MemoryContextStrdup(s->cxt, dict->text[best[g]]) : NULL;
		}
		else
			s->num[i] = dict->num[g];
	}
	ecp_store_stats_keep(s);
	pfree(order);
	if (best != NULL)
		pfree(best);
}

/*
 * feature_report(slug text, dimension text, variant text, from_date date,
 *				  to_date date, top int, ascending bool)
 *	RETURNS TABLE (rank int, key text, label text, customers bigint,
 *				   share numeric, store_share numeric, lift numeric)
 */
Datum
feature_report(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	EcpFetchSpec spec;
	EcpReportMembers m;
	EcpDimension dim;
	EcpValueKind kind;
	int32		top;
	bool		ascending;
	EcpReportSet *set;
	EcpValueDict *dict;
	EcpValueDict *groups = NULL;
	int32		ngroups;
	int32	   *group_of;
	int64	   *seg_count;
	int64	   *store_count;
	int32	   *group_seen;
	int64	   *exact_count = NULL;
	int32	   *exact_seen = NULL;
	int64		seg_den = 0;
	int64		store_den = 0;
	Candidate  *cand;
	int32		ncand = 0;
	int32		nout;
	char	  **labels;
	EcpStoreStatsKey skey;
	bool		keep;
	const EcpStoreStats *stats = NULL;
	int32	   *stats_idx = NULL;

	/* arguments: everything is checked before any data is read */
	dim = ecp_parse_dimension(PG_ARGISNULL(1) ? NULL : PG_GETARG_TEXT_PP(1));
	memset(&spec, 0, sizeof(spec));
	spec.variant = ecp_parse_variant(PG_ARGISNULL(2) ? NULL : PG_GETARG_TEXT_PP(2));
	ecp_parse_period(fcinfo, 3, 4, &spec);
	if (PG_ARGISNULL(5))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("top must not be null")));
	top = PG_GETARG_INT32(5);
	if (top < 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("top must be at least 1, not %d", top)));
	ascending = PG_ARGISNULL(6) ? false : PG_GETARG_BOOL(6);

	/*
	 * The whole store's selected orders: the segment is a subset.  When
	 * this session already has the store's figures for the same data, the
	 * segment's orders are enough (storestats.c).
	 */
	ecp_report_begin(fcinfo, 0, false, &m, &spec);
	spec.dimension = dim;
	keep = ecp_store_stats_key(&skey, &spec, &m.run);
	if (keep && m.members != NULL)
		stats = ecp_store_stats_lookup(&skey);
	elog(DEBUG1, "ecpower feature report: %s",
		 stats != NULL ? "the store's figures kept by this session" : "a pass over the whole store");
	if (stats != NULL)
	{
		spec.wanted = m.is_member;
		spec.max_wanted = m.max_ckey;
		spec.nwanted = m.count;
	}
	set = ecp_report_fetch(&spec);
	dict = set->dict;
	kind = ecp_dimension_kind(dim);

	/* text values group case-insensitively; others are their own group */
	group_of = palloc_extended(sizeof(int32) * Max(dict->nvalues, 1), MCXT_ALLOC_HUGE);
	if (kind == ECP_VALUES_TEXT)
	{
		groups = ecp_dict_create();
		for (int32 e = 0; e < dict->nvalues; e++)
		{
			char	   *folded = str_tolower(dict->text[e], dict->textlen[e],
											 DEFAULT_COLLATION_OID);

			group_of[e] = ecp_dict_text(groups, folded, strlen(folded));
			pfree(folded);
		}
		ngroups = groups->nvalues;
		exact_count = palloc0(sizeof(int64) * Max(dict->nvalues, 1));
		exact_seen = palloc_extended(sizeof(int32) * Max(dict->nvalues, 1),
									 MCXT_ALLOC_HUGE);
		memset(exact_seen, 0xFF, sizeof(int32) * Max(dict->nvalues, 1));
	}
	else
	{
		for (int32 e = 0; e < dict->nvalues; e++)
			group_of[e] = e;
		ngroups = dict->nvalues;
	}
	seg_count = palloc0(sizeof(int64) * Max(ngroups, 1));
	store_count = palloc0(sizeof(int64) * Max(ngroups, 1));
	group_seen = palloc(sizeof(int32) * Max(ngroups, 1));
	memset(group_seen, 0xFF, sizeof(int32) * Max(ngroups, 1));

	/* the counting walk */
	for (int32 c = 0; c < set->ncustomers; c++)
	{
		int32		ckey = set->cust_ckey[c];
		int64		n = set->cust_start[c + 1] - set->cust_start[c];
		bool		member = m.members == NULL ||
			(ckey <= m.max_ckey && m.is_member[ckey]);

		if ((c & 0x3FFF) == 0)
			CHECK_FOR_INTERRUPTS();

		/* denominators (README "Feature reports") */
		if (!ecp_variant_counts_repeaters(spec.variant) || n >= 2)
		{
			store_den++;
			seg_den += member;
		}

		for (int64 o = set->cust_start[c]; o < set->cust_start[c + 1]; o++)
		{
			for (int64 k = set->vstart[o]; k < set->vstart[o + 1]; k++)
			{
				int32		e = set->values[k];
				int32		g = group_of[e];

				if (group_seen[g] != c)
				{
					group_seen[g] = c;
					store_count[g]++;
					seg_count[g] += member;
				}
				if (exact_seen != NULL && exact_seen[e] != c)
				{
					exact_seen[e] = c;
					exact_count[e]++;
				}
			}
		}
	}
	if (m.members != NULL && !ecp_variant_counts_repeaters(spec.variant))
		seg_den = m.count;		/* members without counted orders count too */

	if (stats != NULL)
	{
		/* the store's figures, by value group */
		store_den = stats->den;
		stats_idx = palloc(sizeof(int32) * Max(ngroups, 1));
		for (int32 g = 0; g < ngroups; g++)
		{
			stats_idx[g] = seg_count[g] == 0 ? -1 :
				ecp_store_stats_find(stats, kind == ECP_VALUES_TEXT ? groups->text[g] : NULL,
									 kind == ECP_VALUES_TEXT ? 0 : dict->num[g]);
			store_count[g] = stats_idx[g] >= 0 ? stats->count[stats_idx[g]] : 0;
		}
	}
	else if (keep)
		keep_store_stats(&skey, kind, dict, groups, ngroups, group_of, store_count,
						 exact_count, store_den);

	/* rank the values the segment's customers carry */
	cand = palloc(sizeof(Candidate) * Max(ngroups, 1));
	for (int32 g = 0; g < ngroups; g++)
	{
		if (seg_count[g] == 0)
			continue;
		cand[ncand].group = g;
		cand[ncand].customers = seg_count[g];
		cand[ncand].key = kind == ECP_VALUES_TEXT
			? groups->text[g] : value_key(dim, dict->num[g]);
		cand[ncand].num = kind == ECP_VALUES_TEXT ? 0 : dict->num[g];
		ncand++;
	}
	sort_ascending = ascending;
	sort_numeric = kind != ECP_VALUES_TEXT;
	qsort(cand, ncand, sizeof(Candidate), cmp_candidate);
	nout = Min(ncand, top);

	/* labels */
	labels = palloc0(sizeof(char *) * Max(nout, 1));
	if (kind == ECP_VALUES_TEXT)
	{
		if (stats != NULL)
		{
			for (int32 i = 0; i < nout; i++)
			{
				int32		si = stats_idx[cand[i].group];

				labels[i] = si >= 0 ? stats->label[si] : NULL;
			}
		}
		else
		{
			int32	   *best = best_spellings(dict, group_of, ngroups, exact_count);

			for (int32 i = 0; i < nout; i++)
				labels[i] = dict->text[best[cand[i].group]];
		}
	}
	else if (kind == ECP_VALUES_PRODUCT)
	{
		int64	   *ids = palloc(sizeof(int64) * Max(nout, 1));

		for (int32 i = 0; i < nout; i++)
			ids[i] = dict->num[cand[i].group];
		labels = ecp_product_titles(ids, nout);
	}
	else
	{
		for (int32 i = 0; i < nout; i++)
			labels[i] = dim == ECP_DIM_WEEKDAY
				? (char *) weekday_labels[dict->num[cand[i].group]]
				: (char *) cand[i].key;
	}

	for (int32 i = 0; i < nout; i++)
	{
		Datum		values[7];
		bool		nulls[7] = {false, false, false, false, false, false, false};
		int64		sc = store_count[cand[i].group];

		values[0] = Int32GetDatum(i + 1);
		values[1] = CStringGetTextDatum(cand[i].key);
		if (labels[i] != NULL)
			values[2] = CStringGetTextDatum(labels[i]);
		else
			nulls[2] = true;
		values[3] = Int64GetDatum(cand[i].customers);
		if (seg_den > 0)
			values[4] = ecp_report_ratio(cand[i].customers, seg_den);
		else
			nulls[4] = true;
		if (store_den > 0)
			values[5] = ecp_report_ratio(sc, store_den);
		else
			nulls[5] = true;
		if (!nulls[4] && !nulls[5] && sc > 0)
			values[6] = DirectFunctionCall2(numeric_div, values[4], values[5]);
		else
			nulls[6] = true;
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}
