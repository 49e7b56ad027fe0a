/*-------------------------------------------------------------------------
 *
 * definition.c
 *	  Parse, validate and compile segment definitions (README "The definition language").
 *
 * The parser walks the jsonb once, keeping the JSON path of the value at
 * hand, and rejects everything the definition language rules out with SQLSTATE 22023 and a
 * message of the form
 *
 *		invalid segment definition at $.all[2].orders.period.from: ...
 *
 * What it accepts is compiled into an EcpProgram (see definition.h): text
 * lists are lower-cased once here, numbers become doubles or int32 day
 * counts, dates become DateADT, and every FILTER gets a slot in the
 * program's filter table so that evaluate.c can test all filters of all
 * segments against an order in one go.
 *
 * The readers of single JSON values (paths, lists, numbers, dates,
 * periods, comparisons) are in defjson.c.
 *
 * Segment references are resolved against the roots already in the
 * program; ecp_program_build() adds the referenced segments first, in
 * dependency order.  ecp_definition_check() is what validate_definition(),
 * create/update_segment() and the deferred reference check on the catalog
 * call: it also checks that referenced segments exist and that no cycle
 * would be created.  The catalog's row trigger checks the syntax only
 * (_segment_definition_syntax), so that a restore may load a segment
 * before the segments it references.
 *
 * src/segments/definition.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "catalog/pg_collation.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/datetime.h"
#include "utils/formatting.h"
#include "utils/jsonb.h"
#include "utils/memutils.h"
#include "utils/numeric.h"

#include "core/arrays.h"
#include "predict/predict.h"
#include "segments/defparse.h"
#include "segments/definition.h"

const char *const ecp_rfm_group_names[ECP_RFM_NGROUPS] = {
	"new", "active", "champions", "promising", "loyal", "needs_attention",
	"almost_lost", "at_risk", "dormant", "previously_loyal", "prospects"
};

const char *const ecp_text_field_names[ECP_NTEXT_FIELDS] = {
	"order_tag", "discount_code", "sales_channel", "acquisition_channel",
	"referring_site", "landing_site", "utm_source", "utm_medium",
	"utm_campaign", "sku", "product_type", "product_tag", "vendor",
	"product_title"
};

static const char *const cust_field_names[ECP_NCUST_FIELDS] = {
	"customer_tag", "country", "province", "city", "email_domain",
	"accepts_marketing", "customer_created"
};

static const char *const metric_names[] = {
	"order_count", "total_spent", "aov", "items", "days_since_first_order",
	"days_since_last_order", "lifetime_days", "avg_interval_days",
	"gross_profit", "gross_margin"
};


static int	parse_rule(ParseState *ps, JsonbValue *v, int depth);

/* grow helpers */
static int
new_node(EcpProgram *prog, EcpNodeKind kind)
{
	EcpNode    *nd;

	if (prog->nnodes == prog->maxnodes)
	{
		prog->maxnodes *= 2;
		prog->nodes = repalloc(prog->nodes, sizeof(EcpNode) * prog->maxnodes);
	}
	nd = &prog->nodes[prog->nnodes];
	memset(nd, 0, sizeof(EcpNode));
	nd->kind = kind;
	nd->arg = -1;
	return prog->nnodes++;
}

/* append an empty FILTER (matching every counted order); returns its index */
static int
new_filter(EcpProgram *prog)
{
	EcpFilter  *f;

	if (prog->nfilters == prog->maxfilters)
	{
		prog->maxfilters *= 2;
		prog->filters = repalloc(prog->filters, sizeof(EcpFilter) * prog->maxfilters);
	}
	f = &prog->filters[prog->nfilters];
	memset(f, 0, sizeof(EcpFilter));
	f->has_discount = -1;
	f->subscription = -1;
	return prog->nfilters++;
}

/* append a customer condition of the field; returns its index */
static int
new_cust(EcpProgram *prog, EcpCustField field)
{
	EcpCustCond *c;

	if (prog->ncust == prog->maxcust)
	{
		prog->maxcust *= 2;
		prog->cust = repalloc(prog->cust, sizeof(EcpCustCond) * prog->maxcust);
	}
	c = &prog->cust[prog->ncust];
	memset(c, 0, sizeof(EcpCustCond));
	c->field = field;
	prog->needs_custattrs = true;
	return prog->ncust++;
}

/* EcpTextField of a FILTER key, or -1 */
static int
text_field(const char *key)
{
	for (int i = 0; i < ECP_NTEXT_FIELDS; i++)
	{
		if (strcmp(key, ecp_text_field_names[i]) == 0)
			return i;
	}
	return -1;
}

/* FILTER: fills a new filter slot and the nth bounds of node 'nodeidx' */
static int
parse_filter(ParseState *ps, JsonbValue *v, int nodeidx)
{
	EcpProgram *prog = ps->prog;
	int			fidx = new_filter(prog);
	int			n;
	Pair	   *pairs;

	if (!defp_is_object(v))
		defp_bad(ps, "expected a filter object, found %s", defp_type_name(v));
	pairs = defp_object_pairs(ps, v, &n);
	for (int i = 0; i < n; i++)
	{
		const char *key = pairs[i].key;
		JsonbValue *val = &pairs[i].val;
		int			len = defp_push_key(ps, key);
		int			tf = text_field(key);
		EcpFilter  *f = &prog->filters[fidx];

		if (tf >= 0)
		{
			defp_parse_text_list(ps, val, &f->text[tf]);
			f->textkeys |= (uint32) 1 << tf;
		}
		else if (strcmp(key, "period") == 0)
		{
			defp_parse_period(ps, val, &f->period);
			f->has_period = true;
		}
		else if (strcmp(key, "product_id") == 0)
			defp_parse_id_list(ps, val, f);
		else if (strcmp(key, "has_discount") == 0)
			f->has_discount = defp_read_bool(ps, val) ? 1 : 0;
		else if (strcmp(key, "subscription") == 0)
			f->subscription = defp_read_bool(ps, val) ? 1 : 0;
		else if (strcmp(key, "total") == 0)
		{
			defp_parse_cmp(ps, val, &f->total);
			f->has_total = true;
		}
		else if (strcmp(key, "nth") == 0)
		{
			EcpNode    *nd = &prog->nodes[nodeidx];

			nd->has_nth = true;
			if (val->type == jbvString)
			{
				char	   *s = pnstrdup(val->val.string.val, val->val.string.len);

				if (strcmp(s, "first") == 0)
					nd->nth_lo = nd->nth_hi = 1;
				else if (strcmp(s, "second") == 0)
					nd->nth_lo = nd->nth_hi = 2;
				else if (strcmp(s, "repeat") == 0)
				{
					nd->nth_lo = 2;
					nd->nth_hi = 0;
				}
				else if (strcmp(s, "latest") == 0)
					nd->nth_latest = true;
				else
					defp_bad(ps, "unknown nth \"%.100s\"; expected first, second, repeat, latest or [lo, hi]", s);
			}
			else if (defp_is_array(val))
			{
				int			m;
				JsonbValue *items = defp_list_items(ps, val, &m, "bounds");
				int			l2;

				if (m != 2)
					defp_bad(ps, "expected [lo, hi] (two sequence numbers), found a list of %d", m);
				l2 = defp_push_index(ps, 0);
				nd->nth_lo = defp_read_int(ps, &items[0], 1, PG_INT32_MAX, "a sequence number (1 or more)");
				defp_pop(ps, l2);
				l2 = defp_push_index(ps, 1);
				if (items[1].type == jbvNull)
					nd->nth_hi = 0;
				else
				{
					nd->nth_hi = defp_read_int(ps, &items[1], 1, PG_INT32_MAX, "a sequence number (1 or more) or null");
					if (nd->nth_lo > nd->nth_hi)
					{
						defp_pop(ps, l2);
						defp_bad(ps, "nth [%d, %d] has lo greater than hi", nd->nth_lo, nd->nth_hi);
					}
				}
				defp_pop(ps, l2);
			}
			else
				defp_bad(ps, "expected first, second, repeat, latest or [lo, hi], found %s",
					defp_type_name(val));
		}
		else
			defp_bad(ps, "unknown key \"%s\" in a filter", key);
		defp_pop(ps, len);
	}
	return fidx;
}

/* EcpMetric of a metric name, or -1 */
static int
metric_by_name(JsonbValue *v)
{
	for (int i = 0; i < lengthof(metric_names); i++)
	{
		if (strlen(metric_names[i]) == v->val.string.len &&
			memcmp(metric_names[i], v->val.string.val, v->val.string.len) == 0)
			return i;
	}
	return -1;
}

/* is 'key' one of the keys that select a RULE or CONDITION form? */
static bool
is_form_key(const char *key)
{
	static const char *const forms[] = {
		"all", "any", "not", "metric", "orders", "customer_tag", "country",
		"province", "city", "email_domain", "accepts_marketing",
		"customer_created", "rfm_group", "rfm", "segment",
		"predicted"				/* predictions */
	};

	for (int i = 0; i < lengthof(forms); i++)
	{
		if (strcmp(key, forms[i]) == 0)
			return true;
	}
	return false;
}

/* index of the root compiled for segment slug, or -1 */
static int
find_root(EcpProgram *prog, const char *slug)
{
	for (int i = 0; i < prog->nroots; i++)
	{
		if (prog->roots[i].slug && strcmp(prog->roots[i].slug, slug) == 0)
			return i;
	}
	return -1;
}

/* a single-form rule: {"key": value} */
static int
parse_single(ParseState *ps, const char *key, JsonbValue *val, int depth)
{
	EcpProgram *prog = ps->prog;
	int			node;

	if (strcmp(key, "all") == 0 || strcmp(key, "any") == 0)
	{
		int			n;
		JsonbValue *items;
		int		   *kids;

		items = defp_list_items(ps, val, &n, "rules");
		kids = palloc(sizeof(int) * n);
		for (int i = 0; i < n; i++)
		{
			int			len = defp_push_index(ps, i);

			kids[i] = parse_rule(ps, &items[i], depth + 1);
			defp_pop(ps, len);
		}
		node = new_node(prog, key[1] == 'l' ? ECP_N_ALL : ECP_N_ANY);
		if (prog->nchild + n > prog->maxchild)
		{
			while (prog->nchild + n > prog->maxchild)
				prog->maxchild *= 2;
			prog->child = repalloc(prog->child, sizeof(int) * prog->maxchild);
		}
		prog->nodes[node].first = prog->nchild;
		prog->nodes[node].n = n;
		memcpy(prog->child + prog->nchild, kids, sizeof(int) * n);
		prog->nchild += n;
		return node;
	}
	if (strcmp(key, "not") == 0)
	{
		int			kid = parse_rule(ps, val, depth + 1);

		node = new_node(prog, ECP_N_NOT);
		if (prog->nchild + 1 > prog->maxchild)
		{
			prog->maxchild *= 2;
			prog->child = repalloc(prog->child, sizeof(int) * prog->maxchild);
		}
		prog->nodes[node].first = prog->nchild;
		prog->nodes[node].n = 1;
		prog->child[prog->nchild++] = kid;
		return node;
	}
	for (int cf = 0; cf < ECP_NCUST_FIELDS; cf++)
	{
		if (strcmp(key, cust_field_names[cf]) == 0)
		{
			int			c = new_cust(prog, (EcpCustField) cf);

			if (cf < ECP_NCUST_TEXT_FIELDS)
				defp_parse_text_list(ps, val, &prog->cust[c].list);
			else if (cf == ECP_CF_ACCEPTS_MARKETING)
				prog->cust[c].flag = defp_read_bool(ps, val);
			else
				defp_parse_period(ps, val, &prog->cust[c].period);
			node = new_node(prog, ECP_N_CUSTOMER);
			prog->nodes[node].arg = c;
			return node;
		}
	}
	if (strcmp(key, "rfm_group") == 0)
	{
		int			g = -1;

		if (val->type != jbvString)
			defp_bad(ps, "expected an RFM group name, found %s", defp_type_name(val));
		for (int i = 0; i < ECP_RFM_NGROUPS; i++)
		{
			if (strlen(ecp_rfm_group_names[i]) == val->val.string.len &&
				memcmp(ecp_rfm_group_names[i], val->val.string.val, val->val.string.len) == 0)
				g = i;
		}
		if (g < 0)
			defp_bad(ps, "unknown RFM group \"%.*s\"",
				Min(val->val.string.len, 100), val->val.string.val);
		node = new_node(prog, ECP_N_RFM_GROUP);
		prog->nodes[node].arg = g;
		prog->needs_rfm = true;
		return node;
	}
	if (strcmp(key, "rfm") == 0)
	{
		int			n;
		Pair	   *pairs;

		if (!defp_is_object(val))
			defp_bad(ps, "expected an object with r, f and/or m, found %s", defp_type_name(val));
		pairs = defp_object_pairs(ps, val, &n);
		if (n == 0)
			defp_bad(ps, "rfm needs at least one of r, f, m");
		node = new_node(prog, ECP_N_RFM);
		for (int k = 0; k < 3; k++)
		{
			prog->nodes[node].rfm_lo[k] = 1;
			prog->nodes[node].rfm_hi[k] = 5;
		}
		for (int i = 0; i < n; i++)
		{
			int			len = defp_push_key(ps, pairs[i].key);
			const char *k = pairs[i].key;
			int			which = strcmp(k, "r") == 0 ? 0 :
				strcmp(k, "f") == 0 ? 1 : strcmp(k, "m") == 0 ? 2 : -1;
			int			m;
			JsonbValue *items;
			int			lo,
						hi,
						l2;

			if (which < 0)
				defp_bad(ps, "unknown key \"%s\" in rfm; expected r, f or m", k);
			items = defp_list_items(ps, &pairs[i].val, &m, "scores");
			if (m != 2)
				defp_bad(ps, "expected [lo, hi] (two scores 1..5), found a list of %d", m);
			l2 = defp_push_index(ps, 0);
			lo = defp_read_int(ps, &items[0], 1, 5, "a score from 1 to 5");
			defp_pop(ps, l2);
			l2 = defp_push_index(ps, 1);
			hi = defp_read_int(ps, &items[1], 1, 5, "a score from 1 to 5");
			defp_pop(ps, l2);
			if (lo > hi)
				defp_bad(ps, "[%d, %d] has lo greater than hi", lo, hi);
			prog->nodes[node].rfm_lo[which] = lo;
			prog->nodes[node].rfm_hi[which] = hi;
			defp_pop(ps, len);
		}
		prog->needs_rfm = true;
		return node;
	}
	if (strcmp(key, "segment") == 0)
	{
		char	   *slug;
		int			r;

		if (val->type != jbvString)
			defp_bad(ps, "expected a segment slug, found %s", defp_type_name(val));
		slug = pnstrdup(val->val.string.val, val->val.string.len);
		r = find_root(prog, slug);
		if (r < 0)
		{
			if (ps->strict)
				defp_bad(ps, "unknown segment \"%.100s\"", slug);
			else
			{
				EcpRef	   *ref = palloc(sizeof(EcpRef));

				ref->slug = slug;
				ref->path = pstrdup(ps->path.data);
				ps->refs = lappend(ps->refs, ref);
			}
		}
		node = new_node(prog, ECP_N_SEGMENT);
		prog->nodes[node].arg = r;
		return node;
	}
	elog(ERROR, "unexpected rule key \"%s\"", key);
	return -1;
}

/*
 * parse_rule
 *		RULE at the current path; returns its node index.
 */
static int
parse_rule(ParseState *ps, JsonbValue *v, int depth)
{
	EcpProgram *prog = ps->prog;
	int			n;
	Pair	   *pairs;
	const char *form = NULL;
	int			formi = -1;
	int			node;
	bool		metric = false;

	check_stack_depth();
	CHECK_FOR_INTERRUPTS();
	if (depth > ECP_MAX_DEPTH)
		defp_bad(ps, "rules nested deeper than %d levels", ECP_MAX_DEPTH);
	if (!defp_is_object(v))
		defp_bad(ps, "expected a rule object, found %s", defp_type_name(v));
	pairs = defp_object_pairs(ps, v, &n);
	if (n == 0)
		defp_bad(ps, "empty rule; expected all, any, not or a condition");

	/* which form is this?  "metric" wins over "orders" (its optional filter) */
	for (int i = 0; i < n; i++)
	{
		if (strcmp(pairs[i].key, "metric") == 0)
			metric = true;
	}
	for (int i = 0; i < n; i++)
	{
		const char *key = pairs[i].key;

		if (!is_form_key(key))
			continue;
		if (metric && strcmp(key, "orders") == 0)
			continue;
		if (form != NULL)
		{
			int			len = defp_push_key(ps, key);

			defp_bad(ps, "a rule holds exactly one form; found both \"%s\" and \"%s\"",
				form, key);
			defp_pop(ps, len);
		}
		form = key;
		formi = i;
	}
	if (form == NULL)
	{
		int			len = defp_push_key(ps, pairs[0].key);

		defp_bad(ps, "unknown key \"%s\"", pairs[0].key);
		defp_pop(ps, len);
	}

	if (metric)
	{
		Pair	   *cmps = palloc(sizeof(Pair) * n);
		int			ncmp = 0;
		JsonbValue *orders = NULL;
		JsonbValue *mv = &pairs[formi].val;
		int			fidx;
		int			len;

		for (int i = 0; i < n; i++)
		{
			if (i == formi)
				continue;
			if (strcmp(pairs[i].key, "orders") == 0)
				orders = &pairs[i].val;
			else if (defp_is_cmp_key(pairs[i].key))
				cmps[ncmp++] = pairs[i];
			else
			{
				len = defp_push_key(ps, pairs[i].key);
				defp_bad(ps, "unknown key \"%s\" in a metric condition", pairs[i].key);
			}
		}
		node = new_node(prog, ECP_N_METRIC);
		len = defp_push_key(ps, "metric");
		if (mv->type != jbvString)
			defp_bad(ps, "expected a metric name, found %s", defp_type_name(mv));
		if (metric_by_name(mv) < 0)
			defp_bad(ps, "unknown metric \"%.*s\"", Min(mv->val.string.len, 100),
				mv->val.string.val);
		prog->nodes[node].metric = (EcpMetric) metric_by_name(mv);
		defp_pop(ps, len);
		if (ncmp == 0)
			defp_bad(ps, "metric condition needs a comparison (eq, ne, gt, gte, lt, lte or between)");
		defp_parse_cmp_pairs(ps, cmps, ncmp, &prog->nodes[node].cmp);
		if (orders)
		{
			len = defp_push_key(ps, "orders");
			fidx = parse_filter(ps, orders, node);
			defp_pop(ps, len);
		}
		else
			fidx = new_filter(prog);
		prog->nodes[node].arg = fidx;
		if (prog->nodes[node].metric == ECP_M_ITEMS)
			prog->needs_items = prog->needs_lines = true;
		if (prog->nodes[node].metric == ECP_M_GROSS_PROFIT ||
			prog->nodes[node].metric == ECP_M_GROSS_MARGIN)
			prog->needs_profit = true;
		if (ECP_FILTER_HAS_PRODUCT(&prog->filters[fidx]))
			prog->needs_lines = true;
		return node;
	}

	/* predictions: {"predicted": NAME, CMP...} */
	if (strcmp(form, "predicted") == 0)
	{
		Pair	   *cmps = palloc(sizeof(Pair) * n);
		int			ncmp = 0;
		JsonbValue *pv = &pairs[formi].val;
		int			len;

		for (int i = 0; i < n; i++)
		{
			if (i == formi)
				continue;
			if (defp_is_cmp_key(pairs[i].key))
				cmps[ncmp++] = pairs[i];
			else
			{
				len = defp_push_key(ps, pairs[i].key);
				defp_bad(ps, "unknown key \"%s\" in a predicted condition", pairs[i].key);
			}
		}
		node = new_node(prog, ECP_N_PREDICTED);
		len = defp_push_key(ps, "predicted");
		if (pv->type != jbvString)
			defp_bad(ps, "expected p_alive, expected_orders_90d, clv_365d or days_overdue, found %s",
					 defp_type_name(pv));
		prog->nodes[node].arg = predicted_field_by_name(pv->val.string.val,
														pv->val.string.len);
		if (prog->nodes[node].arg < 0)
			defp_bad(ps, "unknown prediction \"%.*s\"; expected p_alive, expected_orders_90d, clv_365d or days_overdue",
				Min(pv->val.string.len, 100), pv->val.string.val);
		defp_pop(ps, len);
		if (ncmp == 0)
			defp_bad(ps, "predicted condition needs a comparison (eq, ne, gt, gte, lt, lte or between)");
		defp_parse_cmp_pairs(ps, cmps, ncmp, &prog->nodes[node].cmp);
		prog->needs_predicted = true;
		return node;
	}

	if (strcmp(form, "orders") == 0)
	{
		JsonbValue *cnt = NULL;
		int			fidx;
		int			len;

		for (int i = 0; i < n; i++)
		{
			if (i == formi)
				continue;
			if (strcmp(pairs[i].key, "count") == 0)
				cnt = &pairs[i].val;
			else
			{
				len = defp_push_key(ps, pairs[i].key);
				if (defp_is_cmp_key(pairs[i].key))
					defp_bad(ps, "comparison keys belong in \"count\" (or use \"metric\")");
				defp_bad(ps, "unknown key \"%s\" in an orders condition", pairs[i].key);
			}
		}
		node = new_node(prog, ECP_N_COUNT);
		len = defp_push_key(ps, "orders");
		fidx = parse_filter(ps, &pairs[formi].val, node);
		defp_pop(ps, len);
		prog->nodes[node].arg = fidx;
		if (cnt)
		{
			len = defp_push_key(ps, "count");
			defp_parse_cmp(ps, cnt, &prog->nodes[node].cmp);
			defp_pop(ps, len);
		}
		else
		{
			prog->nodes[node].cmp.nops = 1;
			prog->nodes[node].cmp.op[0] = ECP_OP_GTE;
			prog->nodes[node].cmp.val[0] = 1;
		}
		if (ECP_FILTER_HAS_PRODUCT(&prog->filters[fidx]))
			prog->needs_lines = true;
		return node;
	}

	/* every other form stands alone */
	if (n > 1)
	{
		for (int i = 0; i < n; i++)
		{
			if (i != formi)
			{
				int			len = defp_push_key(ps, pairs[i].key);

				defp_bad(ps, "unknown key \"%s\" next to \"%s\"", pairs[i].key, form);
				defp_pop(ps, len);
			}
		}
	}
	{
		int			len = defp_push_key(ps, form);

		node = parse_single(ps, form, &pairs[formi].val, depth);
		defp_pop(ps, len);
	}
	return node;
}

/*
 * ecp_program_create
 *		An empty program in the current memory context.
 */
EcpProgram *
ecp_program_create(void)
{
	EcpProgram *prog = palloc0(sizeof(EcpProgram));

	prog->maxnodes = 16;
	prog->nodes = palloc(sizeof(EcpNode) * prog->maxnodes);
	prog->maxchild = 16;
	prog->child = palloc(sizeof(int) * prog->maxchild);
	prog->maxfilters = 8;
	prog->filters = palloc(sizeof(EcpFilter) * prog->maxfilters);
	prog->maxcust = 8;
	prog->cust = palloc(sizeof(EcpCustCond) * prog->maxcust);
	prog->maxroots = 8;
	prog->roots = palloc(sizeof(EcpRoot) * prog->maxroots);
	return prog;
}

/* recompute the program-wide summaries after adding a root */
static void
finish_program(EcpProgram *prog)
{
	prog->order_textkeys = 0;
	for (int i = 0; i < prog->nfilters; i++)
		prog->order_textkeys |= prog->filters[i].textkeys;
}

/* compile one definition as a new root; refs collects unresolved references when not strict */
static int
add_root(EcpProgram *prog, Jsonb *def, const char *slug, int32 segment_id,
		 bool strict, List **refs)
{
	ParseState ps;
	JsonbValue	v;
	int			node;
	EcpRoot    *r;

	memset(&ps, 0, sizeof(ps));
	ps.prog = prog;
	ps.strict = strict;
	initStringInfo(&ps.path);
	appendStringInfoChar(&ps.path, '$');
	defp_container_value(&def->root, &v);
	node = parse_rule(&ps, &v, 1);

	if (prog->nroots == prog->maxroots)
	{
		prog->maxroots *= 2;
		prog->roots = repalloc(prog->roots, sizeof(EcpRoot) * prog->maxroots);
	}
	r = &prog->roots[prog->nroots];
	r->slug = slug ? pstrdup(slug) : NULL;
	r->segment_id = segment_id;
	r->node = node;
	finish_program(prog);
	if (refs)
		*refs = ps.refs;
	return prog->nroots++;
}

/*
 * ecp_program_add
 *		Compile a definition into the program as a new root and return the
 *		root's index.  Segment references must name roots already added.
 */
int
ecp_program_add(EcpProgram *prog, Jsonb *def, const char *slug, int32 segment_id)
{
	return add_root(prog, def, slug, segment_id, true, NULL);
}

/*
 * ecp_definition_references
 *		Validate a definition's syntax and return the segment slugs it
 *		references (List of EcpRef *; use ref_slug()).
 */
List *
ecp_definition_references(Jsonb *def)
{
	MemoryContext tmp = AllocSetContextCreate(CurrentMemoryContext,
											  "ecpower definition",
											  ALLOCSET_SMALL_SIZES);
	MemoryContext old = MemoryContextSwitchTo(tmp);
	List	   *refs = NIL;
	List	   *result = NIL;
	ListCell   *lc;

	add_root(ecp_program_create(), def, NULL, 0, false, &refs);
	MemoryContextSwitchTo(old);
	foreach(lc, refs)
	{
		EcpRef	   *r = lfirst(lc);
		EcpRef	   *copy = palloc(sizeof(EcpRef));

		copy->slug = pstrdup(r->slug);
		copy->path = pstrdup(r->path);
		result = lappend(result, copy);
	}
	MemoryContextDelete(tmp);
	return result;
}

/* catalog of segments: slug, id, definition; loaded through SPI */
typedef struct SegInfo
{
	char	   *slug;
	int32		segment_id;
	Jsonb	   *def;
	List	   *refs;			/* EcpRef * */
	int			state;			/* topological sort: 0 new, 1 on stack, 2 done */
} SegInfo;

/* every segment of the catalog (slug, id, definition), through SPI */
static SegInfo *
load_segments(int *n)
{
	MemoryContext caller = CurrentMemoryContext;
	SegInfo    *segs;
	int			ret;

	SPI_connect();
	ret = SPI_execute("SELECT slug, segment_id, definition FROM ecpower.segments"
					  " ORDER BY segment_id", true, 0);
	if (ret != SPI_OK_SELECT)
		elog(ERROR, "could not read ecpower.segments: %s", SPI_result_code_string(ret));
	*n = SPI_processed;
	segs = MemoryContextAllocZero(caller, sizeof(SegInfo) * Max(*n, 1));
	for (uint64 i = 0; i < SPI_processed; i++)
	{
		HeapTuple	tup = SPI_tuptable->vals[i];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		bool		isnull;
		Datum		d;
		MemoryContext old;

		old = MemoryContextSwitchTo(caller);
		segs[i].slug = SPI_getvalue(tup, desc, 1);
		segs[i].segment_id = DatumGetInt32(SPI_getbinval(tup, desc, 2, &isnull));
		d = SPI_getbinval(tup, desc, 3, &isnull);
		segs[i].def = isnull ? NULL : DatumGetJsonbPCopy(d);
		MemoryContextSwitchTo(old);
	}
	SPI_finish();
	return segs;
}

/* index of a slug in segs, or -1 */
static int
find_seg(SegInfo *segs, int n, const char *slug)
{
	for (int i = 0; i < n; i++)
	{
		if (strcmp(segs[i].slug, slug) == 0)
			return i;
	}
	return -1;
}

/* does a reference path from segment i reach 'target'? */
static bool
reaches(SegInfo *segs, int n, int i, const char *target, bool *seen)
{
	ListCell   *lc;

	check_stack_depth();
	if (seen[i])
		return false;
	seen[i] = true;
	if (strcmp(segs[i].slug, target) == 0)
		return true;
	if (segs[i].def && segs[i].refs == NIL)
		segs[i].refs = ecp_definition_references(segs[i].def);
	foreach(lc, segs[i].refs)
	{
		int			j = find_seg(segs, n, ((EcpRef *) lfirst(lc))->slug);

		if (j >= 0 && reaches(segs, n, j, target, seen))
			return true;
	}
	return false;
}

/*
 * ecp_definition_check
 *		Full validation of a definition: syntax, referenced segments exist,
 *		and (when the definition belongs to segment 'self_slug') no cycle.
 *		Raises 22023 with the JSON path on the first problem.
 */
void
ecp_definition_check(Jsonb *def, const char *self_slug)
{
	List	   *refs = ecp_definition_references(def);
	SegInfo    *segs;
	int			n;
	ListCell   *lc;

	if (refs == NIL)
		return;
	segs = load_segments(&n);
	foreach(lc, refs)
	{
		EcpRef	   *ref = lfirst(lc);
		int			j;

		if (self_slug && strcmp(ref->slug, self_slug) == 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("invalid segment definition at %s: segment \"%s\" cannot reference itself",
							ref->path, self_slug)));
		j = find_seg(segs, n, ref->slug);
		if (j < 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("invalid segment definition at %s: unknown segment \"%s\"",
							ref->path, ref->slug)));
		if (self_slug)
		{
			bool	   *seen = palloc0(sizeof(bool) * n);

			if (reaches(segs, n, j, self_slug, seen))
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("invalid segment definition at %s: referencing segment \"%s\" creates a cycle back to \"%s\"",
								ref->path, ref->slug, self_slug)));
		}
	}
}

/* add segment i and (first) everything it references */
static void
add_with_deps(EcpProgram *prog, SegInfo *segs, int n, int i)
{
	ListCell   *lc;

	check_stack_depth();
	if (segs[i].state == 2)
		return;
	if (segs[i].state == 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("segment \"%s\" is part of a reference cycle", segs[i].slug)));
	segs[i].state = 1;
	if (segs[i].refs == NIL)
		segs[i].refs = ecp_definition_references(segs[i].def);
	foreach(lc, segs[i].refs)
	{
		EcpRef	   *ref = lfirst(lc);
		int			j = find_seg(segs, n, ref->slug);

		if (j < 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("invalid segment definition of \"%s\" at %s: unknown segment \"%s\"",
							segs[i].slug, ref->path, ref->slug)));
		add_with_deps(prog, segs, n, j);
	}
	ecp_program_add(prog, segs[i].def, segs[i].slug, segs[i].segment_id);
	segs[i].state = 2;
}

/*
 * ecp_program_build
 *		Compile either every segment of the catalog (adhoc == NULL), in
 *		dependency order, or one ad-hoc definition preceded by the segments
 *		it references (transitively).  Returns the program; the ad-hoc
 *		definition, if any, is the last root.
 */
EcpProgram *
ecp_program_build(Jsonb *adhoc)
{
	EcpProgram *prog = ecp_program_create();
	SegInfo    *segs;
	int			n;

	if (adhoc)
	{
		List	   *refs = ecp_definition_references(adhoc);
		ListCell   *lc;

		if (refs != NIL)
		{
			segs = load_segments(&n);
			foreach(lc, refs)
			{
				EcpRef	   *ref = lfirst(lc);
				int			j = find_seg(segs, n, ref->slug);

				if (j < 0)
					ereport(ERROR,
							(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
							 errmsg("invalid segment definition at %s: unknown segment \"%s\"",
									ref->path, ref->slug)));
				add_with_deps(prog, segs, n, j);
			}
		}
		ecp_program_add(prog, adhoc, NULL, 0);
		return prog;
	}

	segs = load_segments(&n);
	for (int i = 0; i < n; i++)
		add_with_deps(prog, segs, n, i);
	return prog;
}

/*
 * ecp_cmp_holds
 *		Does value v satisfy the CMP?
 */
bool
ecp_cmp_holds(const EcpCmp *cmp, double v)
{
	for (int i = 0; i < cmp->nops; i++)
	{
		double		b = cmp->val[i];
		bool		ok;

		switch (cmp->op[i])
		{
			case ECP_OP_EQ:
				ok = v == b;
				break;
			case ECP_OP_NE:
				ok = v != b;
				break;
			case ECP_OP_GT:
				ok = v > b;
				break;
			case ECP_OP_GTE:
				ok = v >= b;
				break;
			case ECP_OP_LT:
				ok = v < b;
				break;
			default:
				ok = v <= b;
				break;
		}
		if (!ok)
			return false;
	}
	return true;
}

PG_FUNCTION_INFO_V1(validate_definition);
PG_FUNCTION_INFO_V1(segment_definition_check);
PG_FUNCTION_INFO_V1(segment_definition_syntax);
PG_FUNCTION_INFO_V1(definition_references);

/*
 * validate_definition(definition jsonb) RETURNS void
 *		Raise the first problem of a definition (22023 with its JSON path).
 */
Datum
validate_definition(PG_FUNCTION_ARGS)
{
	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid segment definition at $: expected a rule object, found null")));
	ecp_definition_check(PG_GETARG_JSONB_P(0), NULL);
	PG_RETURN_VOID();
}

/*
 * _segment_definition_check(definition jsonb, slug text) RETURNS void
 *		Validation of the definition of segment 'slug': also rejects
 *		references that would close a cycle.  Called by update_segment() and
 *		by the deferred constraint trigger on ecpower.segments, so no
 *		invalid definition is ever committed.
 */
Datum
segment_definition_check(PG_FUNCTION_ARGS)
{
	char	   *slug = PG_ARGISNULL(1) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(1));

	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid segment definition at $: expected a rule object, found null")));
	ecp_definition_check(PG_GETARG_JSONB_P(0), slug);
	PG_RETURN_VOID();
}

/*
 * _segment_definition_syntax(definition jsonb) RETURNS void
 *		Syntax-only validation of a stored definition: everything but the
 *		segment references, which are not looked up (no catalog access).
 *		Called by the row trigger on ecpower.segments; the references are
 *		checked at commit by a deferred constraint trigger, when every row
 *		of a restore is loaded.
 */
Datum
segment_definition_syntax(PG_FUNCTION_ARGS)
{
	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid segment definition at $: expected a rule object, found null")));
	(void) ecp_definition_references(PG_GETARG_JSONB_P(0));
	PG_RETURN_VOID();
}

/*
 * _definition_references(definition jsonb) RETURNS text[]
 *		Slugs of the segments a (syntactically valid) definition references.
 */
Datum
definition_references(PG_FUNCTION_ARGS)
{
	List	   *refs = ecp_definition_references(PG_GETARG_JSONB_P(0));
	Datum	   *elems = palloc(sizeof(Datum) * Max(list_length(refs), 1));
	int			n = 0;
	ListCell   *lc;

	foreach(lc, refs)
		elems[n++] = CStringGetTextDatum(((EcpRef *) lfirst(lc))->slug);
	PG_RETURN_ARRAYTYPE_P(construct_array(elems, n, TEXTOID, -1, false, TYPALIGN_INT));
}
