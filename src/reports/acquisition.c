/*-------------------------------------------------------------------------
 *
 * acquisition.c
 *	  ecpower.acquisition_report(): how good the customers a channel,
 *	  campaign, coupon, product ... brought in turned out to be
 *	  (docs/analyses.md "Acquisition quality").
 *
 * One fetch (reportdata.c) gives the members' counted orders with the
 * first order selected when it is dated in the period, the values of the
 * dimension on it, every order's store-local date, net amount and gross
 * profit.  One walk over the customers adds each acquired customer's
 * figures to every value group their first order carries.  The spend of
 * the dimension comes from ecpower.acquisition_spend (small: one row per
 * key and day) through SPI; payback days need a second walk, only for the
 * reported values that have spend.
 *
 * This file also holds the value groups shared with nextorder.c.
 *
 * src/reports/acquisition.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_collation.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/date.h"
#include "utils/formatting.h"
#include "utils/numeric.h"
#include "utils/tuplestore.h"

#include "reports/acquisition.h"

PG_FUNCTION_INFO_V1(acquisition_report);

static const char *const weekday_labels[8] = {
	"", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"
};

/* windows of the ltv_Xm columns, in months */
static const int ltv_months[3] = {3, 6, 12};

/* ---------------------------------------------------------------------
 * Value groups
 * ---------------------------------------------------------------------
 */

/*
 * ecp_parse_analysis_dimension
 *		A feature-report dimension other than bought_together; 22023 for
 *		NULL, unknown or bought_together.
 */
EcpDimension
ecp_parse_analysis_dimension(text *dimension)
{
	EcpDimension dim = ecp_parse_dimension(dimension);

	if (dim == ECP_DIM_BOUGHT_TOGETHER)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("dimension \"bought_together\" is not supported here"),
				 errhint("Use product for the products of an order.")));
	return dim;
}

/*
 * ecp_groups_build
 *		Group the fetched values of a dimension: text case-insensitively
 *		(key = lower-case spelling), other values one group each.
 */
EcpGroups *
ecp_groups_build(EcpValueDict *dict, EcpDimension dim)
{
	EcpGroups  *g = palloc0(sizeof(EcpGroups));
	int32		nv = Max(dict->nvalues, 1);

	g->dim = dim;
	g->kind = ecp_dimension_kind(dim);
	g->dict = dict;
	g->group_of = palloc(sizeof(int32) * nv);
	g->exact_count = palloc0(sizeof(int64) * nv);
	g->exact_seen = palloc(sizeof(int32) * nv);
	memset(g->exact_seen, 0xFF, sizeof(int32) * nv);
	if (g->kind == ECP_VALUES_TEXT)
	{
		EcpValueDict *groups = ecp_dict_create();

		for (int32 e = 0; e < dict->nvalues; e++)
		{
			char	   *folded = str_tolower(dict->text[e], dict->textlen[e],
											 DEFAULT_COLLATION_OID);

			g->group_of[e] = ecp_dict_text(groups, folded, strlen(folded));
			pfree(folded);
		}
		g->ngroups = groups->nvalues;
		g->key = groups->text;
		g->num = palloc0(sizeof(int64) * Max(g->ngroups, 1));
	}
	else
	{
		g->ngroups = dict->nvalues;
		g->key = palloc(sizeof(char *) * nv);
		g->num = palloc(sizeof(int64) * nv);
		for (int32 e = 0; e < dict->nvalues; e++)
		{
			int64		v = dict->num[e];

			g->group_of[e] = e;
			g->num[e] = v;
			if (dim == ECP_DIM_YEAR_MONTH)
				g->key[e] = psprintf("%04d-%02d", (int) (v / 12), (int) (v % 12) + 1);
			else
				g->key[e] = psprintf(INT64_FORMAT, v);
		}
	}
	return g;
}

/*
 * ecp_groups_cmp
 *		Report order of two groups: count descending, then the key (as a
 *		number for product ids, months, weekdays and hours, else by bytes).
 */
int
ecp_groups_cmp(const EcpGroups *g, int32 a, int64 count_a, int32 b, int64 count_b)
{
	if (count_a != count_b)
		return count_a > count_b ? -1 : 1;
	if (g->kind != ECP_VALUES_TEXT)
		return (g->num[a] > g->num[b]) - (g->num[a] < g->num[b]);
	return strcmp(g->key[a], g->key[b]);
}

/*
 * ecp_groups_labels
 *		Labels of n groups: the spelling most counted customers carry (ties:
 *		lowest bytes), the product title, the weekday name, or the key.
 */
char	  **
ecp_groups_labels(EcpGroups *g, const int32 *groups, int n)
{
	char	  **labels = palloc0(sizeof(char *) * Max(n, 1));

	if (g->kind == ECP_VALUES_TEXT)
	{
		int32	   *best = palloc(sizeof(int32) * Max(g->ngroups, 1));
		EcpValueDict *dict = g->dict;

		memset(best, 0xFF, sizeof(int32) * Max(g->ngroups, 1));
		for (int32 e = 0; e < dict->nvalues; e++)
		{
			int32		grp = g->group_of[e];
			int32		b = best[grp];

			if (b < 0 || g->exact_count[e] > g->exact_count[b] ||
				(g->exact_count[e] == g->exact_count[b] &&
				 strcmp(dict->text[e], dict->text[b]) < 0))
				best[grp] = e;
		}
		for (int i = 0; i < n; i++)
			labels[i] = dict->text[best[groups[i]]];
		pfree(best);
	}
	else if (g->kind == ECP_VALUES_PRODUCT)
	{
		int64	   *ids = palloc(sizeof(int64) * Max(n, 1));
		int32	   *pos;
		int64	   *uniq = palloc(sizeof(int64) * Max(n, 1));
		int			nuniq = 0;
		EcpValueDict *seen = ecp_dict_create();
		char	  **titles;

		/* a group may be asked for more than once (next_purchases) */
		pos = palloc(sizeof(int32) * Max(n, 1));
		for (int i = 0; i < n; i++)
		{
			ids[i] = g->num[groups[i]];
			pos[i] = ecp_dict_num(seen, ids[i]);
			if (pos[i] == nuniq)
				uniq[nuniq++] = ids[i];
		}
		titles = ecp_product_titles(uniq, nuniq);
		for (int i = 0; i < n; i++)
			labels[i] = titles[pos[i]];
	}
	else
	{
		for (int i = 0; i < n; i++)
			labels[i] = g->dim == ECP_DIM_WEEKDAY
				? (char *) weekday_labels[g->num[groups[i]]]
				: g->key[groups[i]];
	}
	return labels;
}

/* ---------------------------------------------------------------------
 * acquisition_report
 * ---------------------------------------------------------------------
 */

/* what one value group adds up over the customers it acquired */
typedef struct AcqTotals
{
	int64		customers;
	int64		first_net;		/* cents */
	int64		repeaters;
	int64		f2_eligible;
	int64		f2_hits;
	int64		ltv_eligible[3];
	int64		ltv_net[3];		/* cents */
	int64		net;			/* cents, to date */
	int64		orders;
	int64		profit;			/* cents, to date */
	bool		profit_missing;
	bool		has_spend;
	int64		spend;			/* cents */
	int32		out;			/* output row, or -1 */
} AcqTotals;

/* one acquired customer's figures */
typedef struct AcqCustomer
{
	int64		first_net;
	bool		repeater;
	bool		f2_eligible;
	bool		f2_hit;
	bool		ltv_eligible[3];
	int64		ltv_net[3];
	int64		net;
	int64		orders;
	int64		profit;
	bool		profit_missing;
} AcqCustomer;

static const EcpGroups *sort_groups;
static const AcqTotals *sort_totals;

/* qsort order of output groups */
static int
cmp_acq(const void *pa, const void *pb)
{
	int32		a = *(const int32 *) pa;
	int32		b = *(const int32 *) pb;

	return ecp_groups_cmp(sort_groups, a, sort_totals[a].customers,
						  b, sort_totals[b].customers);
}

/*
 * The spend of a dimension by key (lower case), with spend_date in the
 * period (an open side when a bound is NULL), into the groups' totals.
 */
static void
load_spend(EcpDimension dim, const char *dimname, const EcpFetchSpec *spec,
		   EcpGroups *g, AcqTotals *tot)
{
	MemoryContext caller = CurrentMemoryContext;
	Oid			argtypes[3] = {TEXTOID, DATEOID, DATEOID};
	Datum		values[3];
	char		nulls[3] = {' ', ' ', ' '};
	EcpValueDict *keys = ecp_dict_create();
	int32	   *group_of_key;

	/* group keys, to find a spend key's group */
	for (int32 grp = 0; grp < g->ngroups; grp++)
		ecp_dict_text(keys, g->key[grp], strlen(g->key[grp]));
	group_of_key = palloc(sizeof(int32) * Max(keys->nvalues, 1));
	for (int32 grp = 0; grp < g->ngroups; grp++)
		group_of_key[grp] = grp;

	values[0] = CStringGetTextDatum(dimname);
	values[1] = DateADTGetDatum(spec->from);
	values[2] = DateADTGetDatum(spec->to);
	if (!spec->has_from)
		nulls[1] = 'n';
	if (!spec->has_to)
		nulls[2] = 'n';
	SPI_connect();
	if (SPI_execute_with_args("SELECT pg_catalog.lower(s.key), pg_catalog.sum(s.amount)"
							  "  FROM ecpower.acquisition_spend AS s"
							  " WHERE s.dimension OPERATOR(pg_catalog.=) $1"
							  "   AND ($2 IS NULL OR s.spend_date OPERATOR(pg_catalog.>=) $2)"
							  "   AND ($3 IS NULL OR s.spend_date OPERATOR(pg_catalog.<=) $3)"
							  " GROUP BY 1",
							  3, argtypes, values, nulls, true, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not read ecpower.acquisition_spend");
	for (uint64 i = 0; i < SPI_processed; i++)
	{
		HeapTuple	tup = SPI_tuptable->vals[i];
		char	   *key = SPI_getvalue(tup, SPI_tuptable->tupdesc, 1);
		bool		isnull;
		Datum		amount = SPI_getbinval(tup, SPI_tuptable->tupdesc, 2, &isnull);
		int32		before = keys->nvalues;
		int32		k;

		if (key == NULL || isnull)
			continue;
		k = ecp_dict_text(keys, key, strlen(key));
		if (k >= before)
			continue;			/* spend on a key that acquired nobody */
		tot[group_of_key[k]].has_spend = true;
		tot[group_of_key[k]].spend = ecp_numeric_to_cents(amount);
	}
	SPI_finish();
	MemoryContextSwitchTo(caller);
}

/* round a numeric to some decimals */
static Datum
round_numeric(Datum num, int decimals)
{
	return DirectFunctionCall2(numeric_round, num, Int32GetDatum(decimals));
}

/* cents / count, in currency units, rounded to 2 decimals */
static Datum
money_mean(int64 cents, int64 count)
{
	return round_numeric(ecp_report_ratio(cents, count * 100), 2);
}

/* a customer's figures from their fetched orders */
static void
customer_figures(const EcpReportSet *set, int32 c, DateADT as_of_date,
				 AcqCustomer *f)
{
	int64		o0 = set->cust_start[c];
	int64		end = set->cust_start[c + 1];
	DateADT		first = set->local_date[o0];
	DateADT		ends[3];

	memset(f, 0, sizeof(AcqCustomer));
	f->first_net = set->orders[o0].net_cents;
	f->orders = end - o0;
	f->repeater = f->orders >= 2;
	f->f2_eligible = first + 90 <= as_of_date;
	f->f2_hit = f->repeater && set->local_date[o0 + 1] <= first + 90;
	for (int w = 0; w < 3; w++)
	{
		ends[w] = ecp_add_months(first, ltv_months[w]);
		f->ltv_eligible[w] = ends[w] <= as_of_date;
	}
	for (int64 o = o0; o < end; o++)
	{
		const EcpReportOrder *ord = &set->orders[o];

		f->net += ord->net_cents;
		for (int w = 0; w < 3; w++)
		{
			if (set->local_date[o] < ends[w])
				f->ltv_net[w] += ord->net_cents;
		}
		if (ord->has_profit)
			f->profit += ord->profit_cents;
		else
			f->profit_missing = true;
	}
}

/*
 * Payback days of the output groups with spend: the population's profit
 * (net amount for an order without cost) per day since the first order,
 * cumulated until it reaches the spend (mean profit >= cac).
 */
static void
payback_days(const EcpReportSet *set, EcpGroups *g, AcqTotals *tot,
			 const bool *acquired, DateADT min_first, DateADT as_of_date,
			 const int32 *outg, int nout, int32 *result)
{
	int32		ndays = as_of_date - min_first + 1;
	int64	  **hist = palloc0(sizeof(int64 *) * Max(nout, 1));
	int32	   *seen = palloc(sizeof(int32) * Max(g->ngroups, 1));
	bool		any = false;

	for (int i = 0; i < nout; i++)
	{
		result[i] = -1;
		if (tot[outg[i]].has_spend)
		{
			hist[i] = palloc0(sizeof(int64) * Max(ndays, 1));
			any = true;
		}
	}
	if (!any)
		return;
	memset(seen, 0xFF, sizeof(int32) * Max(g->ngroups, 1));
	for (int32 c = 0; c < set->ncustomers; c++)
	{
		int64		o0 = set->cust_start[c];

		if (!acquired[c])
			continue;
		if ((c & 0x3FFF) == 0)
			CHECK_FOR_INTERRUPTS();
		for (int64 k = set->vstart[o0]; k < set->vstart[o0 + 1]; k++)
		{
			int32		grp = g->group_of[set->values[k]];
			int32		i = tot[grp].out;

			if (seen[grp] == c || i < 0 || hist[i] == NULL)
				continue;
			seen[grp] = c;
			for (int64 o = o0; o < set->cust_start[c + 1]; o++)
			{
				const EcpReportOrder *ord = &set->orders[o];
				int32		d = set->local_date[o] - set->local_date[o0];

				if (d >= 0 && d < ndays)
					hist[i][d] += ord->has_profit ? ord->profit_cents : ord->net_cents;
			}
		}
	}
	for (int i = 0; i < nout; i++)
	{
		int64		cum = 0;

		if (hist[i] == NULL)
			continue;
		for (int32 d = 0; d < ndays; d++)
		{
			cum += hist[i][d];
			if (cum >= tot[outg[i]].spend)
			{
				result[i] = d;
				break;
			}
		}
	}
}

/*
 * acquisition_report(dimension text, slug text, from_date date,
 *					  to_date date, top int)
 *	RETURNS TABLE (rank int, key text, label text, customers bigint,
 *				   share numeric, first_aov numeric, repeat_rate numeric,
 *				   f2_rate_90d numeric, ltv_3m numeric, ltv_6m numeric,
 *				   ltv_12m numeric, ltv numeric, avg_orders numeric,
 *				   gross_profit_ltv numeric, cac numeric,
 *				   ltv_12m_to_cac numeric, payback_days int)
 */
Datum
acquisition_report(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	EcpFetchSpec spec;
	EcpReportMembers m;
	EcpDimension dim;
	char	   *dimname;
	int32		top;
	EcpReportSet *set;
	EcpGroups  *g;
	AcqTotals  *tot;
	int32	   *seen;
	bool	   *acquired;
	int64		population = 0;
	DateADT		as_of_date;
	DateADT		min_first = DATEVAL_NOEND;
	int32	   *outg;
	int32		ncand = 0;
	int32		nout;
	char	  **labels;
	int32	   *payback;

	/* arguments: everything is checked before any data is read */
	dim = ecp_parse_analysis_dimension(PG_ARGISNULL(0) ? NULL : PG_GETARG_TEXT_PP(0));
	dimname = text_to_cstring(PG_GETARG_TEXT_PP(0));
	memset(&spec, 0, sizeof(spec));
	ecp_parse_period(fcinfo, 2, 3, &spec);
	if (PG_ARGISNULL(4))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("top must not be null")));
	top = PG_GETARG_INT32(4);
	if (top < 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("top must be at least 1, not %d", top)));

	ecp_report_begin(fcinfo, 1, true, &m, &spec);
	as_of_date = m.run.as_of_date;
	spec.variant = ECP_VARIANT_FIRST;
	spec.dimension = dim;
	spec.want_amount = true;
	spec.want_dates = true;
	spec.want_profit = true;
	set = ecp_report_fetch(&spec);
	g = ecp_groups_build(set->dict, dim);

	tot = palloc0(sizeof(AcqTotals) * Max(g->ngroups, 1));
	seen = palloc(sizeof(int32) * Max(g->ngroups, 1));
	memset(seen, 0xFF, sizeof(int32) * Max(g->ngroups, 1));
	acquired = palloc0(sizeof(bool) * Max(set->ncustomers, 1));

	/* one walk: each acquired customer into every group of the first order */
	for (int32 c = 0; c < set->ncustomers; c++)
	{
		int32		ckey = set->cust_ckey[c];
		int64		o0 = set->cust_start[c];
		AcqCustomer f;

		if ((c & 0x3FFF) == 0)
			CHECK_FOR_INTERRUPTS();
		if (m.members != NULL && (ckey > m.max_ckey || !m.is_member[ckey]))
			continue;
		if (!set->orders[o0].selected)
			continue;			/* first order outside the period */
		acquired[c] = true;
		population++;
		min_first = Min(min_first, set->local_date[o0]);
		if (set->vstart[o0] == set->vstart[o0 + 1])
			continue;
		customer_figures(set, c, as_of_date, &f);
		for (int64 k = set->vstart[o0]; k < set->vstart[o0 + 1]; k++)
		{
			int32		e = set->values[k];
			int32		grp = g->group_of[e];
			AcqTotals  *t = &tot[grp];

			ecp_groups_note(g, e, c);
			if (seen[grp] == c)
				continue;
			seen[grp] = c;
			t->customers++;
			t->first_net += f.first_net;
			t->repeaters += f.repeater;
			t->f2_eligible += f.f2_eligible;
			t->f2_hits += f.f2_eligible && f.f2_hit;
			for (int w = 0; w < 3; w++)
			{
				if (f.ltv_eligible[w])
				{
					t->ltv_eligible[w]++;
					t->ltv_net[w] += f.ltv_net[w];
				}
			}
			t->net += f.net;
			t->orders += f.orders;
			t->profit += f.profit;
			t->profit_missing |= f.profit_missing;
		}
	}

	/* the reported groups */
	outg = palloc(sizeof(int32) * Max(g->ngroups, 1));
	for (int32 grp = 0; grp < g->ngroups; grp++)
	{
		tot[grp].out = -1;
		if (tot[grp].customers > 0)
			outg[ncand++] = grp;
	}
	sort_groups = g;
	sort_totals = tot;
	qsort(outg, ncand, sizeof(int32), cmp_acq);
	nout = Min(ncand, top);
	for (int i = 0; i < nout; i++)
		tot[outg[i]].out = i;

	load_spend(dim, dimname, &spec, g, tot);
	payback = palloc(sizeof(int32) * Max(nout, 1));
	payback_days(set, g, tot, acquired, min_first, as_of_date, outg, nout, payback);
	labels = ecp_groups_labels(g, outg, nout);

	for (int i = 0; i < nout; i++)
	{
		AcqTotals  *t = &tot[outg[i]];
		Datum		values[17];
		bool		nulls[17];
		Datum		ltv12 = (Datum) 0;
		Datum		cac = (Datum) 0;

		memset(nulls, 0, sizeof(nulls));
		values[0] = Int32GetDatum(i + 1);
		values[1] = CStringGetTextDatum(g->key[outg[i]]);
		if (labels[i] != NULL)
			values[2] = CStringGetTextDatum(labels[i]);
		else
			nulls[2] = true;
		values[3] = Int64GetDatum(t->customers);
		values[4] = round_numeric(ecp_report_ratio(t->customers, population), 4);
		values[5] = money_mean(t->first_net, t->customers);
		values[6] = round_numeric(ecp_report_ratio(t->repeaters, t->customers), 4);
		if (t->f2_eligible > 0)
			values[7] = round_numeric(ecp_report_ratio(t->f2_hits, t->f2_eligible), 4);
		else
			nulls[7] = true;
		for (int w = 0; w < 3; w++)
		{
			if (t->ltv_eligible[w] > 0)
				values[8 + w] = money_mean(t->ltv_net[w], t->ltv_eligible[w]);
			else
				nulls[8 + w] = true;
		}
		if (t->ltv_eligible[2] > 0)
			ltv12 = ecp_report_ratio(t->ltv_net[2], t->ltv_eligible[2] * 100);
		values[11] = money_mean(t->net, t->customers);
		values[12] = round_numeric(ecp_report_ratio(t->orders, t->customers), 4);
		if (!t->profit_missing)
			values[13] = money_mean(t->profit, t->customers);
		else
			nulls[13] = true;
		if (t->has_spend)
		{
			cac = ecp_report_ratio(t->spend, t->customers * 100);
			values[14] = round_numeric(cac, 2);
		}
		else
			nulls[14] = true;
		if (t->has_spend && t->spend > 0 && t->ltv_eligible[2] > 0)
			values[15] = round_numeric(DirectFunctionCall2(numeric_div, ltv12, cac), 4);
		else
			nulls[15] = true;
		if (payback[i] >= 0)
			values[16] = Int32GetDatum(payback[i]);
		else
			nulls[16] = true;
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}
