/*-------------------------------------------------------------------------
 *
 * demogen.h
 *	  Internal to the demo store generator: its constants, the shape of the
 *	  store (catalogue, places, channels, campaigns), the generator's state,
 *	  and what its three files share.
 *
 *	demo.c		the SQL entry point and the producers of each table's rows
 *	demostore.c	the tables that shape the store, its calendar and catalogue,
 *				and the simulation of one customer's history
 *	demoload.c	the row sink: COPY BINARY encoding and direct heap loading
 *
 * src/io/demogen.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef ECP_DEMOGEN_H
#define ECP_DEMOGEN_H

#include "postgres.h"

#include "access/tableam.h"
#include "executor/executor.h"
#include "lib/stringinfo.h"
#include "utils/rel.h"

#include "core/ecpower.h"
#include "io/demo.h"

/* ------------------------------------------------------------------------
 * The store's fixed calendar and identifiers
 * ------------------------------------------------------------------------
 */
#define DEMO_FIRST_YEAR		2023
#define DEMO_YEARS			3
#define DEMO_NDAYS			1096	/* 2023-01-01 .. 2025-12-31 */
#define DEMO_MAX_CUSTOMERS	10000000
#define DEMO_MAX_ORDERS		80		/* per customer */
#define DEMO_MAX_LINES		4		/* per order */
#define DEMO_MAX_TAGS		6

#define CUSTOMER_ID_BASE	INT64CONST(6000000000000)
#define PRODUCT_ID_BASE		INT64CONST(7000000000000)
#define ORDER_ID_BASE		INT64CONST(5000000000000)
#define VARIANT_ID_BASE		INT64CONST(44000000000000)

#define SECS_PER_DAY		86400
#define COPY_CHUNK			65536	/* bytes of COPY data built per refill */

/* generic weighted choice: every weighted table's rows start with int weight */
static inline int
pick_index(EcpRng *rng, const void *table, int n, size_t stride)
{
	int			total = 0;
	int			r;

	for (int i = 0; i < n; i++)
		total += *(const int *) ((const char *) table + i * stride);
	r = (int) ecp_rng_below(rng, (uint32) total);
	for (int i = 0; i < n; i++)
	{
		r -= *(const int *) ((const char *) table + i * stride);
		if (r < 0)
			return i;
	}
	return n - 1;
}

#define PICK(rng, table) pick_index((rng), (table), lengthof(table), sizeof((table)[0]))

typedef struct WName
{
	int			weight;
	const char *name;
} WName;

/* ------------------------------------------------------------------------
 * The catalogue: product types
 * ------------------------------------------------------------------------
 */
typedef struct ProductType
{
	int			weight;			/* share of customers' favourite type */
	const char *name;
	const char *code;			/* SKU prefix */
	const char *handle;			/* collection handle */
	const char *vendor;			/* specialist vendor (30 % of products) */
	int			catalog_pct;	/* share of the catalogue */
	int			cycle_days;		/* typical repurchase cycle */
	bool		consumable;
	int			price_lo;		/* dollars, first variant */
	int			price_hi;
	int			nvariants;
	const char *variant[4];
	int			variant_pct[4]; /* price of variant, percent of the first */
	const char *base[8];		/* title nouns */
	const char *tag[3];			/* type tags, each on half of the products */
} ProductType;

#define NTYPES 10

#define TYPE_GIFT_CARDS 8

/* ------------------------------------------------------------------------
 * Customers: geography and names
 * ------------------------------------------------------------------------
 */
typedef struct Country
{
	int			weight;
	const char *code;
	int			shipping;		/* cents below the free-shipping threshold */
	int			free_from;		/* free shipping from this subtotal, cents */
} Country;

typedef struct Place
{
	int			weight;
	int			country;		/* index into countries */
	const char *province;
	const char *city;
	int			tax_bp;			/* sales tax added to the total, 1/100 % */
} Place;

/* ------------------------------------------------------------------------
 * Orders: channels, attribution, campaigns, codes
 * ------------------------------------------------------------------------
 */
enum
{
	SC_WEB, SC_SHOP_APP, SC_POS, SC_TIKTOK, SC_DRAFT, SC_SUBSCRIPTION
};

enum
{
	AC_ORGANIC, AC_PAID_SEARCH, AC_PAID_SOCIAL, AC_EMAIL, AC_SMS, AC_DIRECT,
	AC_REFERRAL, AC_AFFILIATE, AC_INFLUENCER, AC_IN_STORE, AC_SALES_REP,
	AC_SUBSCRIPTION, NACQ
};

/* sale campaigns: windows of the calendar with a tag and a code */
enum
{
	CAMP_NONE, CAMP_SPRING, CAMP_SUMMER, CAMP_ANNIVERSARY, CAMP_BFCM,
	CAMP_HOLIDAY, NCAMP
};

/* discount codes outside campaigns */
enum
{
	CODE_NONE, CODE_WELCOME, CODE_COMEBACK, CODE_VIP, CODE_FREESHIP,
	CODE_CREATOR, CODE_CAMPAIGN
};

/* customer loyalty classes: share, continue chance after an order, gap */
enum
{
	CL_ONE, CL_OCCASIONAL, CL_REGULAR, CL_LOYAL, NCLASS
};

/* demostore.c: the tables the producers name values from */
extern const ProductType demo_types[NTYPES];
extern const Country demo_countries[];
extern const Place demo_places[];
extern const char *const demo_first_names[40];
extern const char *const demo_last_names[40];
extern const WName demo_email_domains[];
extern const WName demo_sales_channels[];
extern const char *const demo_acq_names[NACQ];
extern const WName demo_search_engines[];
extern const WName demo_social_sources[];
extern const char *const demo_social_referrers[];
extern const WName demo_referral_sites[];
extern const WName demo_affiliates[];
extern const WName demo_creators[];
extern const WName demo_creator_sources[];
extern const WName demo_email_flows[];
extern const char *const demo_camp_tag[NCAMP];
extern const char *const demo_camp_code[NCAMP];

/* ------------------------------------------------------------------------
 * Generator state
 * ------------------------------------------------------------------------
 */
typedef struct DemoProduct
{
	int			type;
	int			rank;			/* popularity rank, 0 = best seller */
	int64		product_id;
	char		title[48];
	char		handle[56];
	char		sku_prefix[16];
	const char *vendor;
	int			price[4];		/* cents per variant */
	int			ntags;
	const char *tags[DEMO_MAX_TAGS];
} DemoProduct;

typedef struct DemoLine
{
	int16		product;
	int16		variant;
	int32		quantity;
	int64		price;			/* unit price, cents */
} DemoLine;

typedef struct DemoOrder
{
	TimestampTz ordered_at;
	TimestampTz cancelled_at;	/* 0 when not cancelled */
	int64		total;
	int64		refunded;
	int			day;			/* day index of ordered_at */
	int8		sales_channel;
	int8		acq;
	int8		source;			/* index into the channel's source table */
	int8		campaign;		/* CAMP_* of the order's day */
	int8		flow;			/* email flow, paid search kind, creator... */
	int8		landing;		/* 0 none, 1 home, 2 product, 3 collection, 4 subscribe */
	int16		landing_product;
	int8		codes[2];
	int8		ncodes;
	bool		camp_tagged;
	bool		gift;
	bool		is_subscription;
	bool		sub_first;
	int8		nlines;
	DemoLine	lines[DEMO_MAX_LINES];
} DemoOrder;

typedef struct DemoCustomer
{
	int64		customer_id;
	TimestampTz created_at;
	int			place;
	int			first_name;
	int			last_name;
	int			email_style;	/* -1 no email */
	int			email_domain;
	bool		accepts_marketing;
	bool		signup_first;
	bool		subscriber;
	bool		wholesale;
	int			home_channel;
	int			fav_type;
	int			creator;
	int			norders;
	int			ncounted;
	DemoOrder	orders[DEMO_MAX_ORDERS];
} DemoCustomer;

/* an order waiting to be emitted, with what emitting needs */
typedef struct PendingOrder
{
	int64		order_id;
	int64		customer_id;
	int			fav_type;
	int			creator;
	DemoOrder	o;
} PendingOrder;

#define DIRECT_BATCH 1000		/* tuples per heap multi-insert */

/*
 * A direct load into one table: rows are formed here, checked against the
 * table's CHECK and NOT NULL constraints, given their column defaults and
 * written with heap multi-inserts; indexes are rebuilt at the end.
 */
typedef struct DirectLoad
{
	Relation	rel;
	TupleDesc	desc;
	int			ncols;			/* columns the producer fills */
	int		   *colmap;			/* producer column -> attribute index */
	int			ndefaults;
	int		   *defatt;			/* attribute index of each default */
	ExprState **defexpr;
	EState	   *estate;
	ResultRelInfo *rri;
	bool		check;			/* the table has constraints to check */
	Datum	   *values;
	bool	   *nulls;
	int			col;			/* next producer column of the row */
	TupleTableSlot *slots[DIRECT_BATCH];
	int			nslots;
	BulkInsertState bistate;
	CommandId	cid;
	MemoryContext batchcxt;		/* tuples of the batch being built */
	MemoryContext callercxt;	/* context to return to at row end */
	uint64		processed;
} DirectLoad;

typedef struct DemoGen DemoGen;
typedef bool (*DemoProducer) (DemoGen *g);

struct DemoGen
{
	uint64		seed;
	int64		ncustomers;

	/* calendar */
	TimestampTz day_start[DEMO_NDAYS + 1];
	uint64		day_cum[DEMO_NDAYS];	/* cumulative acquisition weight */
	int8		day_campaign[DEMO_NDAYS];
	int			day_year[DEMO_NDAYS];
	int			day_month[DEMO_NDAYS];

	/* catalogue */
	int			nproducts;
	DemoProduct *products;
	int		   *global_rank;	/* product index of each popularity rank */
	uint64	   *global_cum;		/* Zipf over popularity rank */
	int			type_count[NTYPES];
	int		   *type_members[NTYPES];	/* product indexes, by rank */
	uint64	   *type_cum[NTYPES];

	/* the customer being simulated */
	DemoCustomer *cust;
	int32	   *ckeys;			/* registered key of each customer number */

	/* the orders of the customer being emitted */
	PendingOrder *pending;
	int			npending;
	int			pending_pos;	/* next order to emit */
	int64		orders_emitted;	/* order ids handed out in this pass */

	DemoProducer producer;
	int			ncols;			/* columns per row */
	int64		next;			/* next customer or product to emit */

	/* rows go straight to the heap (superusers), or to a COPY BINARY stream */
	bool		use_direct;
	StringInfoData buf;			/* COPY: data not yet handed to COPY */
	int			bufpos;
	bool		done;
	DirectLoad *load;			/* direct: the table being loaded */
};

/* the generator feeding the COPY in progress (callbacks have no argument) */
extern DemoGen *ecp_demo_active;

/* demostore.c */
extern void demo_build_calendar(DemoGen *g, EcpCalendar *cal);
extern void demo_build_catalog(DemoGen *g);
extern void demo_simulate_customer(DemoGen *g, int64 i);

/* demoload.c */
extern void demo_row_begin(DemoGen *g);
extern void demo_row_end(DemoGen *g);
extern void demo_col_null(DemoGen *g);
extern void demo_col_int8(DemoGen *g, int64 v);
extern void demo_col_int4(DemoGen *g, int32 v);
extern void demo_col_bool(DemoGen *g, bool v);
extern void demo_col_text(DemoGen *g, const char *s);
extern void demo_col_cents(DemoGen *g, int64 cents);
extern void demo_col_text_array(DemoGen *g, const char *const *items, int n);
extern uint64 demo_load_table(DemoGen *g, Oid relid, const char *const *cols, int ncols, 		   DemoProducer producer);

#endif							/* ECP_DEMOGEN_H */
