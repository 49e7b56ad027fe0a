/*-------------------------------------------------------------------------
 *
 * definition.h
 *	  Segment definitions (README "The definition language"): the jsonb language parsed, validated
 *	  and compiled into a compact program that evaluate.c runs.
 *
 * A program holds any number of compiled definitions ("roots"), so the
 * refresh compiles every segment into one program and evaluates them all
 * in a single pass over the orders.  Order FILTERs are collected in one
 * table (each order gets one bit per filter), customer attribute conditions
 * in another (one bit per customer), and the boolean structure is a tree of
 * EcpNodes whose leaves point into those tables.
 *
 * Relative periods (last_days, days_ago) are kept unresolved; evaluate.c
 * binds them to dates once as_of is known, so a compiled program can be
 * evaluated at any as_of.
 *
 * src/segments/definition.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef ECP_DEFINITION_H
#define ECP_DEFINITION_H

#include "postgres.h"

#include "nodes/pg_list.h"
#include "utils/date.h"
#include "utils/jsonb.h"

/* limits of the definition language */
#define ECP_MAX_DEPTH		32		/* RULE nesting */
#define ECP_MAX_LIST		10000	/* items in any list */

/* text-valued FILTER keys (order fields, then product and line fields) */
typedef enum EcpTextField
{
	ECP_TF_ORDER_TAG = 0,
	ECP_TF_DISCOUNT_CODE,
	ECP_TF_SALES_CHANNEL,
	ECP_TF_ACQUISITION_CHANNEL,
	ECP_TF_REFERRING_SITE,
	ECP_TF_LANDING_SITE,
	ECP_TF_UTM_SOURCE,
	ECP_TF_UTM_MEDIUM,
	ECP_TF_UTM_CAMPAIGN,
	/* product and line fields: "at least one line of the order matches" */
	ECP_TF_SKU,
	ECP_TF_PRODUCT_TYPE,
	ECP_TF_PRODUCT_TAG,
	ECP_TF_VENDOR,
	ECP_TF_PRODUCT_TITLE,
	ECP_NTEXT_FIELDS
} EcpTextField;

#define ECP_FIRST_PRODUCT_FIELD ECP_TF_SKU

/* customer attribute conditions */
typedef enum EcpCustField
{
	ECP_CF_TAG = 0,
	ECP_CF_COUNTRY,
	ECP_CF_PROVINCE,
	ECP_CF_CITY,
	ECP_CF_EMAIL_DOMAIN,
	ECP_CF_ACCEPTS_MARKETING,
	ECP_CF_CREATED,
	ECP_NCUST_FIELDS
} EcpCustField;

#define ECP_NCUST_TEXT_FIELDS (ECP_CF_EMAIL_DOMAIN + 1)

typedef enum EcpMetric
{
	ECP_M_ORDER_COUNT = 0,
	ECP_M_TOTAL_SPENT,
	ECP_M_AOV,
	ECP_M_ITEMS,
	ECP_M_DAYS_SINCE_FIRST,
	ECP_M_DAYS_SINCE_LAST,
	ECP_M_LIFETIME_DAYS,
	ECP_M_AVG_INTERVAL_DAYS,
	ECP_M_GROSS_PROFIT,
	ECP_M_GROSS_MARGIN
} EcpMetric;

typedef enum EcpNodeKind
{
	ECP_N_ALL,
	ECP_N_ANY,
	ECP_N_NOT,
	ECP_N_COUNT,				/* {"orders": FILTER, "count": CMP} */
	ECP_N_METRIC,				/* {"metric": M, CMP..., "orders": FILTER} */
	ECP_N_CUSTOMER,				/* customer attribute condition */
	ECP_N_RFM_GROUP,
	ECP_N_RFM,
	ECP_N_SEGMENT,				/* member of another root */
	ECP_N_PREDICTED				/* predictions: {"predicted": NAME,
								 * CMP...}; arg = PredictedField */
} EcpNodeKind;

/* comparison operators of a CMP */
typedef enum EcpCmpOp
{
	ECP_OP_EQ,
	ECP_OP_NE,
	ECP_OP_GT,
	ECP_OP_GTE,
	ECP_OP_LT,
	ECP_OP_LTE
} EcpCmpOp;

/* CMP: one or two comparisons, ANDed; "between" is gte + lte */
typedef struct EcpCmp
{
	int			nops;
	EcpCmpOp	op[2];
	double		val[2];
} EcpCmp;

typedef enum EcpPeriodKind
{
	ECP_P_RANGE,				/* from/to, either may be absent */
	ECP_P_LAST_DAYS,			/* as_of_date - n < date <= as_of_date */
	ECP_P_DAYS_AGO				/* as_of_date - b <= date <= as_of_date - a */
} EcpPeriodKind;

/* PERIOD before binding to an as_of_date */
typedef struct EcpPeriod
{
	EcpPeriodKind kind;
	bool		has_from;
	bool		has_to;
	DateADT		from;
	DateADT		to;
	int32		a;				/* last_days n, or days_ago a */
	int32		b;				/* days_ago b */
} EcpPeriod;

/* a list of lower-cased strings */
typedef struct EcpTextList
{
	int			n;
	char	  **vals;
	int		   *lens;
} EcpTextList;

/* one compiled FILTER (everything but nth, which is kept on the node) */
typedef struct EcpFilter
{
	uint32		textkeys;		/* bit i set: text[i] given */
	EcpTextList text[ECP_NTEXT_FIELDS];
	int			nproduct_ids;	/* > 0: product_id given (sorted ids) */
	int64	   *product_ids;
	bool		has_period;
	EcpPeriod	period;
	int8		has_discount;	/* -1 absent, else 0/1 */
	int8		subscription;	/* -1 absent, else 0/1 */
	bool		has_total;
	EcpCmp		total;
} EcpFilter;

#define ECP_FILTER_HAS_PRODUCT(f) \
	((f)->nproduct_ids > 0 || ((f)->textkeys >> ECP_FIRST_PRODUCT_FIELD) != 0)

/* one compiled customer attribute condition */
typedef struct EcpCustCond
{
	EcpCustField field;
	EcpTextList list;			/* text conditions */
	bool		flag;			/* accepts_marketing */
	EcpPeriod	period;			/* customer_created */
} EcpCustCond;

/* one node of a compiled RULE tree */
typedef struct EcpNode
{
	EcpNodeKind kind;
	int			first;			/* children: prog->child[first .. first+n-1] */
	int			n;
	int			arg;			/* filter, customer condition, root, or group */
	EcpMetric	metric;
	EcpCmp		cmp;
	/* nth of the FILTER: sequence number in [nth_lo, nth_hi]; 0 = unbounded */
	bool		has_nth;
	bool		nth_latest;
	int32		nth_lo;
	int32		nth_hi;
	/* rfm: bounds per r, f, m (1..5) */
	int8		rfm_lo[3];
	int8		rfm_hi[3];
} EcpNode;

/* a compiled definition */
typedef struct EcpRoot
{
	char	   *slug;			/* NULL for an ad-hoc definition */
	int32		segment_id;		/* 0 for an ad-hoc definition */
	int			node;
} EcpRoot;

typedef struct EcpProgram
{
	int			nnodes;
	int			maxnodes;
	EcpNode    *nodes;
	int			nchild;
	int			maxchild;
	int		   *child;
	int			nfilters;
	int			maxfilters;
	EcpFilter  *filters;
	int			ncust;
	int			maxcust;
	EcpCustCond *cust;
	int			nroots;
	int			maxroots;
	EcpRoot    *roots;
	/* what evaluation needs to read */
	bool		needs_lines;	/* a product key or the items metric */
	bool		needs_items;
	bool		needs_profit;	/* the gross_profit or gross_margin metric */
	bool		needs_rfm;
	bool		needs_predicted;	/* predictions */
	bool		needs_custattrs;
	uint32		order_textkeys; /* union over filters */
} EcpProgram;

/* RFM groups (README "RFM"), in the order of ecp_rfm_group_names */
#define ECP_RFM_NGROUPS 11
#define ECP_RFM_PROSPECTS 10
extern const char *const ecp_rfm_group_names[ECP_RFM_NGROUPS];

extern const char *const ecp_text_field_names[ECP_NTEXT_FIELDS];

extern EcpProgram *ecp_program_create(void);
extern int	ecp_program_add(EcpProgram *prog, Jsonb *def, const char *slug,
							int32 segment_id);
extern List *ecp_definition_references(Jsonb *def);
extern void ecp_definition_check(Jsonb *def, const char *self_slug);
extern EcpProgram *ecp_program_build(Jsonb *adhoc);
extern char *ecp_lower_text(const char *s, int len, int *outlen);
extern bool ecp_cmp_holds(const EcpCmp *cmp, double v);

#endif							/* ECP_DEFINITION_H */
