/*-------------------------------------------------------------------------
 *
 * demo.c
 *	  ecpower.generate_demo_store(): a deterministic, realistic demo store.
 *
 * The generator fills the four empty input tables (customers, products,
 * orders, order_lines) with what a Shopify direct-to-consumer brand sees:
 * a few hundred products with a long-tailed popularity, customers acquired
 * over three years with a growing trend and seasonal peaks, a minority who
 * buy again on a cycle that depends on what they buy, subscriptions,
 * discount codes, campaign tags, attribution (UTM, referrers, landing
 * pages), refunds and cancellations.  The README's demo section documents
 * every distribution.
 *
 * Determinism.  Each customer is simulated from its own random stream,
 * seeded by (seed, customer number), with xoshiro256** (demo.h) and integer
 * arithmetic only, so the same seed gives the same rows on any machine.  A
 * customer's history can therefore be re-simulated at will: the generator
 * makes one pass per table and re-simulates each customer in every pass
 * instead of keeping millions of orders in memory.
 *
 * Loading.  Customer keys are registered first (timeline/customers.c).  A
 * superuser's call loads as a restore does: tuples formed here, checked
 * against CHECK and NOT NULL, given column defaults, written with heap
 * multi-inserts, no triggers (foreign keys hold by construction), indexes
 * rebuilt at the end in one sort (enforcing the unique ones).  Others go
 * through COPY FROM (BeginCopyFrom fed COPY BINARY rows built here), so
 * permissions, triggers and foreign keys apply as for any COPY; same rows.
 *
 * Ids are numbered in insertion order, so that every index but the one on
 * orders.ordered_at is filled at its right edge: customers in order of
 * acquisition, each customer's orders consecutively and in time order.
 *
 * src/io/demo.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <sys/resource.h>

#include "access/htup_details.h"
#include "access/heapam.h"
#include "access/table.h"
#include "access/tableam.h"
#include "catalog/index.h"
#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "commands/copy.h"
#include "executor/executor.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "nodes/makefuncs.h"
#include "optimizer/optimizer.h"
#include "parser/parse_relation.h"
#include "port/pg_bswap.h"
#include "rewrite/rewriteHandler.h"
#include "storage/lmgr.h"
#include "utils/acl.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/datetime.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/rls.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"

#include "core/ecpower.h"
#include "io/demo.h"
#include "timeline/customers.h"

PG_FUNCTION_INFO_V1(generate_demo_store);

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
static int
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
static const ProductType types[NTYPES] = {
	{24, "Coffee", "COF", "coffee", "Kestrel Roasters", 14, 30, true, 16, 24,
		3, {"12OZ", "2LB", "5LB"}, {100, 260, 560},
		{"House Blend", "Espresso Roast", "Single Origin", "Dark Roast", "Decaf",
		"Cold Brew Blend", "Light Roast", "French Roast"},
	{"organic", "fair-trade", "whole-bean"}},
	{12, "Tea", "TEA", "tea", "Leaf & Kettle", 12, 40, true, 12, 22,
		3, {"TIN", "POUCH", "BULK"}, {100, 180, 400},
		{"Green Tea", "Earl Grey", "Chai", "Chamomile", "Oolong", "Matcha",
		"Rooibos", "Breakfast Tea"},
	{"organic", "loose-leaf", "caffeine-free"}},
	{12, "Supplements", "SUP", "supplements", "Lumen Labs", 10, 30, true, 25, 45,
		2, {"30CT", "90CT"}, {100, 250},
		{"Magnesium", "Collagen Powder", "Vitamin D3", "Sleep Gummies",
		"Ashwagandha", "Omega-3", "Probiotic", "Electrolytes"},
	{"vegan", "third-party-tested", "sugar-free"}},
	{18, "Skincare", "SKN", "skincare", "Juniper Lane", 16, 45, true, 18, 48,
		3, {"30ML", "50ML", "100ML"}, {100, 150, 240},
		{"Face Serum", "Night Cream", "Cleanser", "Lip Balm", "Body Oil",
		"Hand Cream", "Face Mask", "Eye Cream"},
	{"vegan", "fragrance-free", "cruelty-free"}},
	{8, "Candles", "CDL", "candles", "Willow & Pine", 8, 70, false, 24, 38,
		2, {"8OZ", "14OZ"}, {100, 150},
		{"Soy Candle", "Travel Tin", "Reed Diffuser", "Pillar Candle",
		"Wax Melts", "Room Spray", "Taper Set", "Three-Wick Candle"},
	{"soy-wax", "hand-poured", "seasonal"}},
	{12, "Apparel", "APP", "apparel", "Fieldhouse Apparel", 18, 150, false, 28, 88,
		4, {"S", "M", "L", "XL"}, {100, 100, 100, 110},
		{"Crew Sweatshirt", "Tee", "Hoodie", "Beanie", "Joggers", "Socks",
		"Long Sleeve Tee", "Overshirt"},
	{"organic-cotton", "unisex", "made-in-usa"}},
	{4, "Accessories", "ACC", "accessories", "Juniper Lane", 10, 180, false, 15, 60,
		1, {"OS"}, {100},
		{"Tote Bag", "Cap", "Keychain", "Scrunchie", "Notebook", "Enamel Pin",
		"Bandana", "Phone Case"},
	{"gift-idea", "recycled", "limited"}},
	{5, "Drinkware", "DRK", "drinkware", "Harbor Ceramics", 6, 200, false, 18, 42,
		3, {"12OZ", "16OZ", "20OZ"}, {100, 115, 130},
		{"Mug", "Tumbler", "Travel Mug", "Glass Set", "Pour-Over Kit",
		"Water Bottle", "Espresso Cups", "Carafe"},
	{"dishwasher-safe", "handmade", "gift-idea"}},
	{1, "Gift Cards", "GFT", "gift-cards", "Juniper Lane", 1, 300, false, 25, 25,
		3, {"25", "50", "100"}, {100, 200, 400},
		{"Gift Card", "E-Gift Card", "Holiday Gift Card", "Birthday Gift Card",
		"Thank You Gift Card", "Welcome Gift Card", "Team Gift Card", "Gift Card Trio"},
	{"gift-card", "digital", "gift-idea"}},
	{4, "Bundles", "BND", "bundles", "Juniper Lane", 5, 90, false, 45, 90,
		2, {"STD", "LRG"}, {100, 160},
		{"Starter Kit", "Discovery Set", "Gift Box", "Ritual Bundle", "Weekend Kit",
		"Sampler", "Care Package", "Morning Set"},
	{"bundle", "gift-idea", "best-value"}},
};

#define TYPE_GIFT_CARDS 8

static const char *const title_adjectives[20] = {
	"Classic", "Everyday", "Morning", "Midnight", "Golden", "Wild", "Coastal",
	"Alpine", "Harvest", "Velvet", "Cedar", "Sunrise", "Highland", "Meadow",
	"Ember", "Nordic", "Summit", "Orchard", "Driftwood", "Juniper"
};

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

static const Country countries[] = {
	{620, "US", 695, 7500}, {100, "CA", 1295, 10000}, {90, "GB", 1495, 15000},
	{60, "AU", 1995, 15000}, {40, "DE", 1495, 15000}, {30, "FR", 1495, 15000},
	{20, "NL", 1495, 15000}, {20, "JP", 1995, 15000}, {10, "NZ", 1995, 15000},
	{10, "IE", 1495, 15000},
};

typedef struct Place
{
	int			weight;
	int			country;		/* index into countries */
	const char *province;
	const char *city;
	int			tax_bp;			/* sales tax added to the total, 1/100 % */
} Place;

static const Place places[] = {
	{30, 0, "California", "Los Angeles", 950}, {14, 0, "California", "San Francisco", 863},
	{10, 0, "California", "San Diego", 775}, {30, 0, "New York", "New York", 888},
	{12, 0, "New York", "Brooklyn", 888}, {4, 0, "New York", "Buffalo", 875},
	{12, 0, "Texas", "Austin", 825}, {14, 0, "Texas", "Houston", 825},
	{12, 0, "Texas", "Dallas", 825}, {10, 0, "Florida", "Miami", 700},
	{8, 0, "Florida", "Orlando", 650}, {7, 0, "Florida", "Tampa", 750},
	{18, 0, "Illinois", "Chicago", 1025}, {14, 0, "Washington", "Seattle", 1025},
	{10, 0, "Massachusetts", "Boston", 625}, {9, 0, "Colorado", "Denver", 881},
	{9, 0, "Oregon", "Portland", 0}, {9, 0, "Georgia", "Atlanta", 890},
	{9, 0, "Pennsylvania", "Philadelphia", 800}, {5, 0, "Pennsylvania", "Pittsburgh", 700},
	{8, 0, "Arizona", "Phoenix", 860}, {6, 0, "North Carolina", "Charlotte", 725},
	{5, 0, "North Carolina", "Raleigh", 725}, {6, 0, "Minnesota", "Minneapolis", 903},
	{5, 0, "Michigan", "Detroit", 600}, {5, 0, "New Jersey", "Jersey City", 663},
	{5, 0, "Ohio", "Columbus", 750}, {4, 0, "Virginia", "Richmond", 600},
	{5, 0, "Tennessee", "Nashville", 925}, {4, 0, "Utah", "Salt Lake City", 775},
	{40, 1, "Ontario", "Toronto", 1300}, {10, 1, "Ontario", "Ottawa", 1300},
	{20, 1, "Quebec", "Montreal", 1498}, {20, 1, "British Columbia", "Vancouver", 1200},
	{10, 1, "Alberta", "Calgary", 500},
	{50, 2, "England", "London", 0}, {12, 2, "England", "Manchester", 0},
	{8, 2, "England", "Bristol", 0}, {10, 2, "Scotland", "Edinburgh", 0},
	{8, 2, "Scotland", "Glasgow", 0}, {6, 2, "Wales", "Cardiff", 0},
	{45, 3, "New South Wales", "Sydney", 0}, {40, 3, "Victoria", "Melbourne", 0},
	{15, 3, "Queensland", "Brisbane", 0},
	{35, 4, "Berlin", "Berlin", 0}, {30, 4, "Bavaria", "Munich", 0},
	{20, 4, "Hamburg", "Hamburg", 0}, {15, 4, "Hesse", "Frankfurt", 0},
	{60, 5, "Ile-de-France", "Paris", 0}, {25, 5, "Auvergne-Rhone-Alpes", "Lyon", 0},
	{15, 5, "Provence-Alpes-Cote d'Azur", "Marseille", 0},
	{60, 6, "North Holland", "Amsterdam", 0}, {40, 6, "South Holland", "Rotterdam", 0},
	{70, 7, "Tokyo", "Tokyo", 0}, {30, 7, "Osaka", "Osaka", 0},
	{100, 8, "Auckland", "Auckland", 0}, {100, 9, "Dublin", "Dublin", 0},
};

static const char *const first_names[40] = {
	"olivia", "liam", "emma", "noah", "ava", "oliver", "sophia", "elijah",
	"isabella", "james", "mia", "william", "amelia", "benjamin", "harper",
	"lucas", "evelyn", "henry", "abigail", "theodore", "emily", "jack",
	"ella", "levi", "chloe", "alexander", "grace", "mateo", "zoe", "daniel",
	"nora", "michael", "lily", "samuel", "hannah", "leo", "aria", "owen",
	"yuki", "sofia"
};

static const char *const last_names[40] = {
	"smith", "johnson", "williams", "brown", "jones", "garcia", "miller",
	"davis", "rodriguez", "martinez", "hernandez", "lopez", "wilson",
	"anderson", "thomas", "taylor", "moore", "jackson", "martin", "lee",
	"thompson", "white", "harris", "clark", "lewis", "robinson", "walker",
	"young", "allen", "king", "wright", "scott", "nguyen", "hill", "green",
	"adams", "baker", "nelson", "tanaka", "murphy"
};

static const WName email_domains[] = {
	{40, "example.com"}, {25, "example.net"}, {15, "example.org"},
	{12, "mail.example"}, {8, "inbox.example"},
};

/* ------------------------------------------------------------------------
 * Orders: channels, attribution, campaigns, codes
 * ------------------------------------------------------------------------
 */
enum
{
	SC_WEB, SC_SHOP_APP, SC_POS, SC_TIKTOK, SC_DRAFT, SC_SUBSCRIPTION
};
static const WName sales_channels[] = {
	{800, "web"}, {90, "shop_app"}, {60, "pos"}, {30, "tiktok_shop"},
	{20, "draft_order"}, {0, "subscription"},
};

enum
{
	AC_ORGANIC, AC_PAID_SEARCH, AC_PAID_SOCIAL, AC_EMAIL, AC_SMS, AC_DIRECT,
	AC_REFERRAL, AC_AFFILIATE, AC_INFLUENCER, AC_IN_STORE, AC_SALES_REP,
	AC_SUBSCRIPTION, NACQ
};
static const char *const acq_names[NACQ] = {
	"organic_search", "paid_search", "paid_social", "email", "sms", "direct",
	"referral", "affiliate", "influencer", "in_store", "sales_rep",
	"subscription"
};

/* attribution weights of first orders and of repeat orders (online) */
static const int acq_first[] = {200, 150, 220, 50, 20, 130, 60, 40, 60};
static const int acq_repeat[] = {140, 80, 90, 280, 90, 240, 30, 20, 30};

static const WName search_engines[] = {
	{80, "https://www.google.com/"}, {10, "https://www.bing.com/"},
	{7, "https://duckduckgo.com/"}, {3, "https://search.yahoo.com/"},
};
static const WName social_sources[] = {
	{45, "facebook"}, {35, "instagram"}, {20, "tiktok"},
};
static const char *const social_referrers[] = {
	"https://m.facebook.com/", "https://l.instagram.com/", "https://www.tiktok.com/"
};
static const WName referral_sites[] = {
	{30, "https://www.reddit.com/"}, {25, "https://www.pinterest.com/"},
	{20, "https://reviews.example.org/"}, {15, "https://blog.example.net/"},
	{10, "https://news.example.com/"},
};
static const WName affiliates[] = {
	{60, "shareasale"}, {40, "impact"},
};
static const WName creators[] = {
	{30, "MAYA"}, {25, "JORDAN"}, {20, "PRIYA"}, {15, "ALEX"}, {10, "KENJI"},
};
static const WName creator_sources[] = {
	{50, "instagram"}, {30, "youtube"}, {20, "tiktok"},
};
static const WName email_flows[] = {
	{25, "abandoned_cart"}, {20, "replenishment_reminder"}, {15, "winback"},
	{40, "newsletter"},
};

/* sale campaigns: windows of the calendar with a tag and a code */
enum
{
	CAMP_NONE, CAMP_SPRING, CAMP_SUMMER, CAMP_ANNIVERSARY, CAMP_BFCM,
	CAMP_HOLIDAY, NCAMP
};
static const char *const camp_tag[NCAMP] = {
	NULL, "spring_sale", "summer_sale", "anniversary", "bfcm", "holiday"
};
static const char *const camp_code[NCAMP] = {
	NULL, "SPRING15", "SUMMER20", "THANKYOU20", "BFCM25", "HOLIDAY15"
};
static const int camp_pct[NCAMP] = {0, 15, 20, 20, 25, 15};

/* discount codes outside campaigns */
enum
{
	CODE_NONE, CODE_WELCOME, CODE_COMEBACK, CODE_VIP, CODE_FREESHIP,
	CODE_CREATOR, CODE_CAMPAIGN
};

static const int hour_weights[24] = {
	12, 7, 4, 3, 3, 5, 10, 20, 32, 42, 48, 52,
	56, 54, 52, 52, 54, 58, 64, 72, 78, 74, 56, 30
};

/* customer loyalty classes: share, continue chance after an order, gap */
enum
{
	CL_ONE, CL_OCCASIONAL, CL_REGULAR, CL_LOYAL, NCLASS
};
static const int class_weight[NCLASS] = {4300, 3500, 1650, 550};
static const int class_continue[NCLASS] = {0, 6000, 8500, 9500};
static const int class_gap_pct[NCLASS] = {100, 170, 110, 85};

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
static DemoGen *demo_active = NULL;

/* ------------------------------------------------------------------------
 * Row sink: producers describe each row column by column; the values are
 * encoded in COPY BINARY format, or stored for a direct heap insert.
 * ------------------------------------------------------------------------
 */
/* network-order integers of the COPY BINARY format */
static inline void
put16(StringInfo b, int16 v)
{
	uint16		n = pg_hton16((uint16) v);

	appendBinaryStringInfoNT(b, (const char *) &n, 2);
}

/* see put16 */
static inline void
put32(StringInfo b, int32 v)
{
	uint32		n = pg_hton32((uint32) v);

	appendBinaryStringInfoNT(b, (const char *) &n, 4);
}

/* see put16 */
static inline void
put64(StringInfo b, int64 v)
{
	uint64		n = pg_hton64((uint64) v);

	appendBinaryStringInfoNT(b, (const char *) &n, 8);
}

/* ends a row (direct loads form and batch the tuple) */
static void direct_row_end(DemoGen *g);

/* the next column of a direct row receives a value */
static inline void
direct_set(DemoGen *g, Datum v, bool isnull)
{
	DirectLoad *dl = g->load;
	int			att = dl->colmap[dl->col++];

	dl->values[att] = v;
	dl->nulls[att] = isnull;
}

/* starts a row: every column of the producer's list follows, in order */
static void
row_begin(DemoGen *g)
{
	if (g->use_direct)
	{
		g->load->col = 0;
		memset(g->load->nulls, true, sizeof(bool) * g->load->desc->natts);
		g->load->callercxt = MemoryContextSwitchTo(g->load->batchcxt);
	}
	else
		put16(&g->buf, (int16) g->ncols);
}

static void
row_end(DemoGen *g)
{
	if (g->use_direct)
	{
		MemoryContextSwitchTo(g->load->callercxt);
		direct_row_end(g);
	}
}

/* column values: NULL, int8, int4, bool, text (NULL pointer = NULL) */
static void
col_null(DemoGen *g)
{
	if (g->use_direct)
		direct_set(g, (Datum) 0, true);
	else
		put32(&g->buf, -1);
}

/* see col_null */
static void
col_int8(DemoGen *g, int64 v)
{
	if (g->use_direct)
		direct_set(g, Int64GetDatum(v), false);
	else
	{
		put32(&g->buf, 8);
		put64(&g->buf, v);
	}
}

/* see col_null */
static void
col_int4(DemoGen *g, int32 v)
{
	if (g->use_direct)
		direct_set(g, Int32GetDatum(v), false);
	else
	{
		put32(&g->buf, 4);
		put32(&g->buf, v);
	}
}

/* see col_null */
static void
col_bool(DemoGen *g, bool v)
{
	if (g->use_direct)
		direct_set(g, BoolGetDatum(v), false);
	else
	{
		put32(&g->buf, 1);
		appendStringInfoCharMacro(&g->buf, v ? 1 : 0);
	}
}

/* see col_null */
static void
col_text(DemoGen *g, const char *s)
{
	int			len;

	if (s == NULL)
	{
		col_null(g);
		return;
	}
	len = strlen(s);
	if (g->use_direct)
		direct_set(g, PointerGetDatum(cstring_to_text_with_len(s, len)), false);
	else
	{
		put32(&g->buf, len);
		appendBinaryStringInfoNT(&g->buf, s, len);
	}
}

/* a non-negative amount of cents, as numeric(14,2) */
static void
col_cents(DemoGen *g, int64 cents)
{
	int64		units = cents / 100;

	Assert(cents >= 0 && units < INT64CONST(1000000000000));
	if (g->use_direct)
	{
		direct_set(g, ecp_cents_to_numeric(cents), false);
		return;
	}
	/* numeric's send format; numeric_recv strips the leading zero digits */
	put32(&g->buf, 16);
	put16(&g->buf, 4);			/* ndigits */
	put16(&g->buf, 2);			/* weight of the first base-10000 digit */
	put16(&g->buf, 0);			/* sign: positive */
	put16(&g->buf, 2);			/* dscale */
	put16(&g->buf, (int16) (units / 100000000));
	put16(&g->buf, (int16) ((units / 10000) % 10000));
	put16(&g->buf, (int16) (units % 10000));
	put16(&g->buf, (int16) ((cents % 100) * 100));
}

/* a one-dimensional text[] (empty when n = 0) */
static void
col_text_array(DemoGen *g, const char *const *items, int n)
{
	int			len = 12;

	if (g->use_direct)
	{
		Datum		elems[DEMO_MAX_TAGS];

		Assert(n <= DEMO_MAX_TAGS);
		for (int i = 0; i < n; i++)
			elems[i] = PointerGetDatum(cstring_to_text(items[i]));
		direct_set(g, PointerGetDatum(construct_array(elems, n, TEXTOID, -1,
													  false, TYPALIGN_INT)),
				   false);
		return;
	}
	/* array's send format */
	if (n > 0)
		len += 8;
	for (int i = 0; i < n; i++)
		len += 4 + strlen(items[i]);
	put32(&g->buf, len);
	put32(&g->buf, n > 0 ? 1 : 0);	/* ndim */
	put32(&g->buf, 0);			/* no nulls */
	put32(&g->buf, TEXTOID);
	if (n > 0)
	{
		put32(&g->buf, n);		/* dimension */
		put32(&g->buf, 1);		/* lower bound */
	}
	for (int i = 0; i < n; i++)
	{
		int			ilen = strlen(items[i]);

		put32(&g->buf, ilen);
		appendBinaryStringInfoNT(&g->buf, items[i], ilen);
	}
}

/* ------------------------------------------------------------------------
 * Setup: calendar and catalogue
 * ------------------------------------------------------------------------
 */

/* day index of a calendar date */
static int
demo_day(int y, int m, int d)
{
	return date2j(y, m, d) - date2j(DEMO_FIRST_YEAR, 1, 1);
}

/*
 * build_calendar
 *		Store-local day boundaries, the acquisition weight of each day
 *		(linear growth to three times the first day's level, monthly
 *		seasonality, Black Friday / Cyber Monday peak) and sale windows.
 */
static void
build_calendar(DemoGen *g, EcpCalendar *cal)
{
	static const int month_pct[12] = {85, 85, 95, 95, 100, 95, 100, 95, 100, 110, 130, 125};
	DateADT		first = date2j(DEMO_FIRST_YEAR, 1, 1) - POSTGRES_EPOCH_JDATE;
	uint64		cum = 0;

	for (int d = 0; d <= DEMO_NDAYS; d++)
		g->day_start[d] = ecp_day_start(cal, first + d);

	memset(g->day_campaign, 0, sizeof(g->day_campaign));
	for (int y = DEMO_FIRST_YEAR; y < DEMO_FIRST_YEAR + DEMO_YEARS; y++)
	{
		int			nov1 = date2j(y, 11, 1);
		int			thursday;
		int			black_friday;

		/* fourth Thursday of November, then Friday */
		thursday = nov1 + ((4 - j2day(nov1)) + 7) % 7 + 21;
		black_friday = thursday + 1 - date2j(DEMO_FIRST_YEAR, 1, 1);

		for (int d = demo_day(y, 3, 20); d <= demo_day(y, 3, 31); d++)
			g->day_campaign[d] = CAMP_SPRING;
		for (int d = demo_day(y, 7, 10); d <= demo_day(y, 7, 24); d++)
			g->day_campaign[d] = CAMP_SUMMER;
		for (int d = demo_day(y, 9, 10); d <= demo_day(y, 9, 14); d++)
			g->day_campaign[d] = CAMP_ANNIVERSARY;
		for (int d = demo_day(y, 12, 1); d <= demo_day(y, 12, 20); d++)
			g->day_campaign[d] = CAMP_HOLIDAY;
		for (int d = black_friday - 7; d <= black_friday + 3; d++)
			g->day_campaign[d] = CAMP_BFCM;
	}

	for (int d = 0; d < DEMO_NDAYS; d++)
	{
		int			y,
					m,
					dd;
		uint64		w;

		j2date(date2j(DEMO_FIRST_YEAR, 1, 1) + d, &y, &m, &dd);
		g->day_year[d] = y;
		g->day_month[d] = m;
		w = (uint64) (1000 + 2000 * d / (DEMO_NDAYS - 1)) * month_pct[m - 1];
		if (g->day_campaign[d] == CAMP_BFCM)
			w = w * 5 / 2;
		else if (g->day_campaign[d] != CAMP_NONE)
			w = w * 3 / 2;
		cum += w;
		g->day_cum[d] = cum;
	}
}

/* lowercase, hyphenated URL handle of a title */
static void
make_handle(char *dst, size_t size, const char *title)
{
	size_t		n = 0;
	bool		dash = false;

	for (const char *p = title; *p && n + 2 < size; p++)
	{
		char		c = *p;

		if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'))
			dst[n++] = c;
		else if (c >= 'A' && c <= 'Z')
			dst[n++] = c - 'A' + 'a';
		else if (c == '&')
			continue;
		else if (n > 0 && !dash)
		{
			dst[n++] = '-';
			dash = true;
			continue;
		}
		else
			continue;
		dash = false;
	}
	if (n > 0 && dst[n - 1] == '-')
		n--;
	dst[n] = '\0';
}

/*
 * build_catalog
 *		240-400 products split over the types by catalog_pct; popularity
 *		ranks are a seeded shuffle, and a product of rank r is chosen with
 *		weight 1 / (r + 2) (Zipf, exponent 1).
 */
static void
build_catalog(DemoGen *g)
{
	EcpRng		r;
	int			n;
	int			k = 0;
	int		   *perm;
	uint64		cum = 0;

	ecp_rng_seed(&r, g->seed, 0);
	n = 240 + (int) ecp_rng_below(&r, 161);
	g->products = palloc0(sizeof(DemoProduct) * n);

	for (int t = 0; t < NTYPES; t++)
	{
		const ProductType *pt = &types[t];
		int			cnt = (t == TYPE_GIFT_CARDS) ? 3 : n * pt->catalog_pct / 100;

		if (t == NTYPES - 1)
			cnt = n - k;		/* the last type takes the rounding */
		for (int j = 0; j < cnt; j++, k++)
		{
			DemoProduct *p = &g->products[k];
			int			dollars;

			p->type = t;
			p->product_id = PRODUCT_ID_BASE + 1 + k;
			if (t == TYPE_GIFT_CARDS)
				snprintf(p->title, sizeof(p->title), "%s", pt->base[j]);
			else
				snprintf(p->title, sizeof(p->title), "%s %s",
						 title_adjectives[(j / 8 + 3 * t) % 20], pt->base[j % 8]);
			make_handle(p->handle, sizeof(p->handle), p->title);
			snprintf(p->sku_prefix, sizeof(p->sku_prefix), "%s-%04d", pt->code, j + 1);
			p->vendor = ecp_rng_chance(&r, 3000) ? pt->vendor : "Juniper Lane";
			dollars = ecp_rng_range(&r, pt->price_lo, pt->price_hi);
			for (int v = 0; v < pt->nvariants; v++)
			{
				int64		c = (int64) dollars * 100 * pt->variant_pct[v] / 100;

				/* charm pricing: x.95 on two thirds of the non-gift products */
				if (t != TYPE_GIFT_CARDS && (k % 3) != 0)
					c = (c / 100) * 100 - 5;
				p->price[v] = (int) c;
			}
			for (int x = 0; x < 3; x++)
				if (ecp_rng_chance(&r, 5000))
					p->tags[p->ntags++] = pt->tag[x];
			if (pt->consumable)
				p->tags[p->ntags++] = "subscription-eligible";
			if (ecp_rng_chance(&r, 1000))
				p->tags[p->ntags++] = "new";
		}
	}
	g->nproducts = n = k;

	/* popularity: a seeded shuffle gives each product its rank */
	perm = palloc(sizeof(int) * n);
	for (int i = 0; i < n; i++)
		perm[i] = i;
	for (int i = n - 1; i > 0; i--)
	{
		int			j = (int) ecp_rng_below(&r, (uint32) (i + 1));
		int			tmp = perm[i];

		perm[i] = perm[j];
		perm[j] = tmp;
	}
	g->global_cum = palloc(sizeof(uint64) * n);
	for (int rank = 0; rank < n; rank++)
	{
		DemoProduct *p = &g->products[perm[rank]];

		p->rank = rank;
		if (rank < 12 && p->ntags < DEMO_MAX_TAGS)
			p->tags[p->ntags++] = "bestseller";
		cum += (UINT64CONST(1) << 32) / (rank + 2);
		g->global_cum[rank] = cum;
	}

	/* per type: members in rank order, Zipf within the type */
	for (int t = 0; t < NTYPES; t++)
	{
		int			m = 0;

		g->type_members[t] = palloc(sizeof(int) * n);
		g->type_cum[t] = palloc(sizeof(uint64) * n);
		cum = 0;
		for (int rank = 0; rank < n; rank++)
		{
			int			pi = perm[rank];

			if (g->products[pi].type != t)
				continue;
			g->type_members[t][m] = pi;
			cum += (UINT64CONST(1) << 32) / (m + 2);
			g->type_cum[t][m] = cum;
			m++;
		}
		g->type_count[t] = m;
	}
	g->global_rank = perm;
	g->cust = palloc0(sizeof(DemoCustomer));
}

/* ------------------------------------------------------------------------
 * Simulation of one customer
 * ------------------------------------------------------------------------
 */

/* first index whose cumulative weight exceeds r */
static int
cum_search(const uint64 *cum, int n, uint64 r)
{
	int			lo = 0;
	int			hi = n - 1;

	while (lo < hi)
	{
		int			mid = (lo + hi) / 2;

		if (cum[mid] > r)
			hi = mid;
		else
			lo = mid + 1;
	}
	return lo;
}

/* a product: 60 % from the favourite type, else from the whole catalogue */
static int
pick_product(DemoGen *g, EcpRng *r, int fav, bool fav_only)
{
	if ((fav_only || ecp_rng_chance(r, 6000)) && g->type_count[fav] > 0)
	{
		int			m = g->type_count[fav];
		uint64		x = ecp_rng_next(r) % g->type_cum[fav][m - 1];

		return g->type_members[fav][cum_search(g->type_cum[fav], m, x)];
	}
	else
	{
		int			n = g->nproducts;
		uint64		x = ecp_rng_next(r) % g->global_cum[n - 1];

		return g->global_rank[cum_search(g->global_cum, n, x)];
	}
}

/* a place: the country by its share, then a city within the country */
static int
pick_place(EcpRng *r)
{
	int			country = PICK(r, countries);
	int			total = 0;
	int			x;

	for (int i = 0; i < (int) lengthof(places); i++)
		if (places[i].country == country)
			total += places[i].weight;
	x = (int) ecp_rng_below(r, (uint32) total);
	for (int i = 0; i < (int) lengthof(places); i++)
	{
		if (places[i].country != country)
			continue;
		x -= places[i].weight;
		if (x < 0)
			return i;
	}
	return 0;					/* not reached */
}

/* seconds after local midnight, following the store's hourly profile */
static int
random_secs(EcpRng *r)
{
	return PICK(r, hour_weights) * 3600 + (int) ecp_rng_below(r, 3600);
}

/* the instant 'secs' after the start of day d, kept inside day d */
static TimestampTz
day_time(DemoGen *g, int d, int secs)
{
	TimestampTz ts = g->day_start[d] + (int64) secs * USECS_PER_SEC;

	if (ts >= g->day_start[d + 1])
		ts = g->day_start[d + 1] - USECS_PER_SEC;
	return ts;
}

typedef enum OrderKind
{
	OK_FIRST, OK_REPEAT, OK_SUB_FIRST, OK_SUB_RECURRING
} OrderKind;

/* the customer's subscription box, repeated by recurring orders */
typedef struct SubBox
{
	int			nlines;
	DemoLine	lines[DEMO_MAX_LINES];
} SubBox;

/* channel, attribution and landing page of an order */
static void
attribute_order(DemoGen *g, DemoCustomer *c, DemoOrder *o, EcpRng *r,
				OrderKind kind)
{
	bool		first = (kind == OK_FIRST || kind == OK_SUB_FIRST);
	int			sc;
	int			acq;

	if (kind == OK_SUB_RECURRING)
		sc = SC_SUBSCRIPTION;
	else if (kind == OK_SUB_FIRST)
		sc = SC_WEB;
	else if (c->home_channel != SC_WEB && ecp_rng_chance(r, 8000))
		sc = c->home_channel;
	else if (ecp_rng_chance(r, 800))
		sc = SC_SHOP_APP;
	else
		sc = SC_WEB;
	o->sales_channel = sc;
	o->landing = 0;
	o->landing_product = -1;
	o->source = 0;
	o->flow = 0;

	switch (sc)
	{
		case SC_SUBSCRIPTION:
			o->acq = AC_SUBSCRIPTION;
			return;
		case SC_POS:
			o->acq = AC_IN_STORE;
			return;
		case SC_DRAFT:
			o->acq = AC_SALES_REP;
			return;
		case SC_TIKTOK:
			acq = ecp_rng_chance(r, 6000) ? AC_PAID_SOCIAL : AC_INFLUENCER;
			break;
		default:
			if (first && c->signup_first && ecp_rng_chance(r, 6000))
				acq = AC_EMAIL;
			else if (first)
				acq = PICK(r, acq_first);
			else
				acq = PICK(r, acq_repeat);
			break;
	}
	o->acq = acq;

	switch (acq)
	{
		case AC_ORGANIC:
			o->source = PICK(r, search_engines);
			o->landing = 1 + (int) ecp_rng_below(r, 3);
			break;
		case AC_PAID_SEARCH:
			o->source = ecp_rng_chance(r, 8800) ? 0 : 1;
			o->flow = ecp_rng_chance(r, 5000) ? 0 : (ecp_rng_chance(r, 6000) ? 1 : 2);
			o->landing = o->flow == 0 ? 1 : (o->flow == 1 ? 2 : 3);
			break;
		case AC_PAID_SOCIAL:
			o->source = sc == SC_TIKTOK ? 2 : PICK(r, social_sources);
			o->flow = first ? 0 : 1;
			o->landing = ecp_rng_chance(r, 7000) ? 2 : 3;
			break;
		case AC_EMAIL:
		case AC_SMS:
			o->flow = first ? -1 : PICK(r, email_flows);
			o->landing = ecp_rng_chance(r, 5000) ? 2 : (ecp_rng_chance(r, 4000) ? 3 : 1);
			break;
		case AC_DIRECT:
			o->landing = ecp_rng_chance(r, 7000) ? 1 : 2;
			break;
		case AC_REFERRAL:
			o->source = PICK(r, referral_sites);
			o->landing = 2;
			break;
		case AC_AFFILIATE:
			o->source = PICK(r, affiliates);
			o->flow = 1 + (int) ecp_rng_below(r, 40);
			o->landing = 2;
			break;
		case AC_INFLUENCER:
			o->source = sc == SC_TIKTOK ? 2 : PICK(r, creator_sources);
			o->flow = c->creator;
			o->landing = 2;
			break;
	}
	if (kind == OK_SUB_FIRST && ecp_rng_chance(r, 5000))
		o->landing = 4;
	if (o->landing == 2)
		o->landing_product = pick_product(g, r, c->fav_type, false);
}

/* discount codes of an order, and their total percentage */
static int
choose_codes(DemoCustomer *c, DemoOrder *o, EcpRng *r, OrderKind kind, int seq,
			 bool *freeship)
{
	int			pct = 0;
	int			code = CODE_NONE;

	o->ncodes = 0;
	*freeship = false;
	if (kind == OK_SUB_RECURRING || o->sales_channel == SC_DRAFT)
		return 0;

	if (o->acq == AC_INFLUENCER && ecp_rng_chance(r, 7500))
		code = CODE_CREATOR;
	else if (o->campaign != CAMP_NONE && ecp_rng_chance(r, 5000))
		code = CODE_CAMPAIGN;
	else if (seq == 1 && ecp_rng_chance(r, c->signup_first ? 5500 : 1200))
		code = CODE_WELCOME;
	else if ((o->acq == AC_EMAIL || o->acq == AC_SMS) && o->flow == 2 &&
			 ecp_rng_chance(r, 6000))
		code = CODE_COMEBACK;
	else if (seq >= 5 && ecp_rng_chance(r, 1000))
		code = CODE_VIP;
	else if (ecp_rng_chance(r, 300))
		code = CODE_FREESHIP;

	if (code == CODE_NONE)
		return 0;
	o->codes[o->ncodes++] = code;
	if (code != CODE_FREESHIP && ecp_rng_chance(r, 600))
		o->codes[o->ncodes++] = CODE_FREESHIP;

	for (int i = 0; i < o->ncodes; i++)
	{
		switch (o->codes[i])
		{
			case CODE_CREATOR:
				pct += 15;
				break;
			case CODE_CAMPAIGN:
				pct += camp_pct[(int) o->campaign];
				break;
			case CODE_WELCOME:
				pct += 10;
				break;
			case CODE_COMEBACK:
				pct += 20;
				break;
			case CODE_VIP:
				pct += 15;
				break;
			case CODE_FREESHIP:
				*freeship = true;
				break;
		}
	}
	return Min(pct, 40);
}

/* order lines: 1-4 distinct products, or the subscription box */
static int64
choose_lines(DemoGen *g, DemoCustomer *c, DemoOrder *o, EcpRng *r,
			 OrderKind kind, SubBox *box)
{
	static const int nline_weights[DEMO_MAX_LINES] = {5500, 2700, 1200, 600};
	static const int variant_weights[4] = {55, 28, 12, 5};
	int			want;
	int64		subtotal = 0;

	if (kind == OK_SUB_RECURRING)
	{
		o->nlines = box->nlines;
		memcpy(o->lines, box->lines, sizeof(DemoLine) * box->nlines);
		for (int i = 0; i < o->nlines; i++)
			subtotal += o->lines[i].price * o->lines[i].quantity;
		return subtotal;
	}

	want = (kind == OK_SUB_FIRST) ? 1 + (ecp_rng_chance(r, 2500) ? 1 : 0)
		: 1 + PICK(r, nline_weights);
	o->nlines = 0;
	for (int i = 0; i < want; i++)
	{
		DemoLine   *l = &o->lines[o->nlines];
		const DemoProduct *p;
		const ProductType *pt;
		int			prod = -1;

		for (int attempt = 0; attempt < 4 && prod < 0; attempt++)
		{
			int			cand;
			bool		dup = false;

			if (i == 0 && o->landing_product >= 0 && ecp_rng_chance(r, 7000))
				cand = o->landing_product;
			else
				cand = pick_product(g, r, c->fav_type, kind == OK_SUB_FIRST);
			for (int j = 0; j < o->nlines; j++)
				if (o->lines[j].product == cand)
					dup = true;
			if (!dup)
				prod = cand;
		}
		if (prod < 0)
			break;
		p = &g->products[prod];
		pt = &types[p->type];
		l->product = (int16) prod;
		l->variant = (int16) pick_index(r, variant_weights, pt->nvariants, sizeof(int));
		if (pt->consumable)
		{
			static const int q[5] = {8000, 1400, 400, 150, 50};
			static const int qv[5] = {1, 2, 3, 4, 6};

			l->quantity = qv[PICK(r, q)];
		}
		else
			l->quantity = 1 + PICK(r, ((const int[3]) {9200, 700, 100}));
		l->price = p->price[l->variant];
		if (kind == OK_SUB_FIRST)
			l->price = l->price * 90 / 100; /* subscribe and save 10 % */
		subtotal += l->price * l->quantity;
		o->nlines++;
	}
	if (kind == OK_SUB_FIRST)
	{
		box->nlines = o->nlines;
		memcpy(box->lines, o->lines, sizeof(DemoLine) * o->nlines);
	}
	return subtotal;
}

/*
 * make_order
 *		Appends the customer's next order on day d at 'secs' past midnight:
 *		channel and attribution, codes, lines, amounts, cancellation and
 *		refund.
 */
static void
make_order(DemoGen *g, DemoCustomer *c, EcpRng *r, int d, int secs,
		   OrderKind kind, int seq, SubBox *box)
{
	DemoOrder  *o = &c->orders[c->norders++];
	const Place *pl = &places[c->place];
	const Country *co = &countries[pl->country];
	int64		subtotal;
	int64		after;
	int64		shipping;
	int64		tax;
	int			pct;
	bool		freeship;

	o->day = d;
	o->ordered_at = day_time(g, d, secs);
	o->campaign = g->day_campaign[d];
	o->is_subscription = (kind == OK_SUB_FIRST || kind == OK_SUB_RECURRING);
	o->sub_first = (kind == OK_SUB_FIRST);

	attribute_order(g, c, o, r, kind);
	pct = choose_codes(c, o, r, kind, seq, &freeship);
	o->camp_tagged = o->campaign != CAMP_NONE &&
		((o->ncodes > 0 && o->codes[0] == CODE_CAMPAIGN) || ecp_rng_chance(r, 3000));
	o->gift = !o->is_subscription && ecp_rng_chance(r, 400);

	subtotal = choose_lines(g, c, o, r, kind, box);
	after = subtotal - subtotal * pct / 100;
	shipping = (o->sales_channel == SC_POS || freeship || after >= co->free_from)
		? 0 : co->shipping;
	tax = ((after + shipping) * pl->tax_bp + 5000) / 10000;
	o->total = after + shipping + tax;

	o->cancelled_at = 0;
	o->refunded = 0;
	if (ecp_rng_chance(r, kind == OK_SUB_RECURRING ? 100 : 220))
	{
		TimestampTz end = g->day_start[DEMO_NDAYS] - USECS_PER_SEC;

		o->cancelled_at = o->ordered_at +
			(int64) ecp_rng_range(r, 600, 2 * SECS_PER_DAY) * USECS_PER_SEC;
		if (o->cancelled_at > end)
			o->cancelled_at = Max(end, o->ordered_at);
		if (ecp_rng_chance(r, 8500))
			o->refunded = o->total;
	}
	else
	{
		c->ncounted++;
		if (ecp_rng_chance(r, 550))
		{
			if (ecp_rng_chance(r, 3500))
				o->refunded = o->total;
			else
			{
				const DemoLine *l = &o->lines[ecp_rng_below(r, o->nlines)];

				o->refunded = Min(o->total, l->price);
			}
		}
	}
}

/*
 * simulate_customer
 *		Re-creates customer i (0-based) and its whole order history in
 *		g->cust, from the customer's own random stream.
 */
static void
simulate_customer(DemoGen *g, int64 i)
{
	DemoCustomer *c = g->cust;
	EcpRng		r;
	SubBox		box;
	uint64		pos;
	int			d;
	int			secs;
	int			cls;
	bool		prospect;
	bool		sub_active;
	int			sub_interval;
	int			billing_secs;
	int			seq = 1;
	OrderKind	kind;
	const ProductType *fav;

	ecp_rng_seed(&r, g->seed, (uint64) i + 1);
	c->customer_id = CUSTOMER_ID_BASE + 1 + i;
	c->norders = 0;
	c->ncounted = 0;
	c->place = pick_place(&r);
	c->first_name = (int) ecp_rng_below(&r, lengthof(first_names));
	c->last_name = (int) ecp_rng_below(&r, lengthof(last_names));
	c->email_style = ecp_rng_chance(&r, 150) ? -1 : (int) ecp_rng_below(&r, 3);
	c->email_domain = PICK(&r, email_domains);
	prospect = ecp_rng_chance(&r, 1500);
	c->signup_first = prospect || ecp_rng_chance(&r, 2200);
	c->accepts_marketing = ecp_rng_chance(&r, c->signup_first ? 9200 : 4500);
	c->home_channel = PICK(&r, sales_channels);
	c->wholesale = (c->home_channel == SC_DRAFT);
	c->fav_type = PICK(&r, types);
	c->creator = PICK(&r, creators);
	fav = &types[c->fav_type];
	cls = PICK(&r, class_weight);
	c->subscriber = false;

	/* acquisition day: the customer's quantile of the growth curve */
	pos = (uint64) (2 * i + 1) * g->day_cum[DEMO_NDAYS - 1] / (uint64) (2 * g->ncustomers);
	d = cum_search(g->day_cum, DEMO_NDAYS, pos);
	secs = random_secs(&r);
	if (c->signup_first)
	{
		c->created_at = day_time(g, d, secs);
		if (prospect)
			return;
		d += 1 + (int) ecp_rng_below(&r, 21);
		if (ecp_rng_chance(&r, 5000))
			d += (int) ecp_rng_below(&r, 120);
		secs = random_secs(&r);
	}
	else
		c->created_at = day_time(g, d, secs) -
			(int64) ecp_rng_range(&r, 20, 900) * USECS_PER_SEC;

	if (fav->consumable && c->fav_type != 3 && c->home_channel == SC_WEB)
		c->subscriber = ecp_rng_chance(&r, 1200);
	sub_active = c->subscriber;
	sub_interval = ecp_rng_chance(&r, 7000) ? 28 : 56;
	billing_secs = 9 * 3600 + (int) ecp_rng_below(&r, 3600);
	kind = c->subscriber ? OK_SUB_FIRST : OK_FIRST;

	while (d < DEMO_NDAYS && c->norders < DEMO_MAX_ORDERS)
	{
		int			gap;
		int			noise;

		make_order(g, c, &r, d, secs, kind, seq, &box);
		if (c->orders[c->norders - 1].cancelled_at == 0)
			seq++;
		if (sub_active)
		{
			if (ecp_rng_chance(&r, 9000))
			{
				d += sub_interval;
				secs = billing_secs;
				kind = OK_SUB_RECURRING;
				continue;
			}
			sub_active = false;
		}
		if (!ecp_rng_chance(&r, class_continue[cls]))
			break;
		noise = 400 + (int) ecp_rng_below(&r, 401) + (int) ecp_rng_below(&r, 401) +
			(int) ecp_rng_below(&r, 401);
		gap = fav->cycle_days * class_gap_pct[cls] / 100 * noise / 1000;
		if (ecp_rng_chance(&r, 1200))
			gap *= 2 + (int) ecp_rng_below(&r, 3);	/* a lapse */
		d += Max(gap, 3);
		secs = random_secs(&r);
		kind = OK_REPEAT;
	}
}

/* ------------------------------------------------------------------------
 * Row producers: each appends the rows of one customer (or product)
 * ------------------------------------------------------------------------
 */

/* the next customer's row; its tags come from its simulated history */
static bool
produce_customers(DemoGen *g)
{
	DemoCustomer *c = g->cust;
	const Place *pl;
	const char *tags[DEMO_MAX_TAGS];
	int			ntags = 0;
	char		email[128];

	if (g->next >= g->ncustomers)
		return false;
	CHECK_FOR_INTERRUPTS();
	simulate_customer(g, g->next);
	pl = &places[c->place];

	if (c->signup_first && c->accepts_marketing)
		tags[ntags++] = "newsletter";
	if (c->ncounted >= 10)
		tags[ntags++] = "vip";
	if (c->subscriber && c->norders > 0)
		tags[ntags++] = "subscriber";
	if (c->wholesale && c->norders > 0)
		tags[ntags++] = "wholesale";
	if (c->home_channel == SC_POS && c->norders > 0)
		tags[ntags++] = "retail";

	switch (c->email_style)
	{
		case 0:
			snprintf(email, sizeof(email), "%s.%s%lld@%s",
					 first_names[c->first_name], last_names[c->last_name],
					 (long long) (g->next + 1), email_domains[c->email_domain].name);
			break;
		case 1:
			snprintf(email, sizeof(email), "%s%s%lld@%s",
					 first_names[c->first_name], last_names[c->last_name],
					 (long long) (g->next + 1), email_domains[c->email_domain].name);
			break;
		default:
			snprintf(email, sizeof(email), "%c.%s%lld@%s",
					 first_names[c->first_name][0], last_names[c->last_name],
					 (long long) (g->next + 1), email_domains[c->email_domain].name);
			break;
	}

	row_begin(g);
	col_int8(g, c->customer_id);
	col_int4(g, g->ckeys[g->next]);
	col_text(g, c->email_style < 0 ? NULL : email);
	col_int8(g, c->created_at);
	col_text_array(g, tags, ntags);
	col_text(g, countries[pl->country].code);
	col_text(g, pl->province);
	col_text(g, pl->city);
	col_bool(g, c->accepts_marketing);
	row_end(g);

	g->next++;
	return true;
}

/* the next product's row */
static bool
produce_products(DemoGen *g)
{
	const DemoProduct *p;

	if (g->next >= g->nproducts)
		return false;
	p = &g->products[g->next++];
	row_begin(g);
	col_int8(g, p->product_id);
	col_text(g, p->title);
	col_text(g, types[p->type].name);
	col_text(g, p->vendor);
	col_text_array(g, p->tags, p->ntags);
	row_end(g);
	return true;
}

/* utm_campaign of an order, or NULL */
static const char *
utm_campaign(DemoGen *g, const DemoOrder *o, int fav_type, char *dst, size_t size)
{
	int			y = g->day_year[o->day];
	int			m = g->day_month[o->day];
	const char *type_handle;

	type_handle = types[o->landing_product >= 0
						? g->products[o->landing_product].type
						: fav_type].handle;
	switch (o->acq)
	{
		case AC_PAID_SEARCH:
			if (o->flow == 0)
				return "brand_search";
			snprintf(dst, size, "%s_%s", o->flow == 1 ? "shopping" : "nonbrand",
					 type_handle);
			return dst;
		case AC_PAID_SOCIAL:
			if (o->campaign != CAMP_NONE)
				snprintf(dst, size, "%s_%d", camp_tag[(int) o->campaign], y);
			else
				snprintf(dst, size, "%s_%dq%d", o->flow == 0 ? "prospecting" : "retargeting",
						 y, (m + 2) / 3);
			return dst;
		case AC_EMAIL:
		case AC_SMS:
			if (o->flow < 0)
				return "welcome_series";
			if (o->flow == 3)
			{
				if (o->campaign != CAMP_NONE)
					snprintf(dst, size, "%s_%d", camp_tag[(int) o->campaign], y);
				else
					snprintf(dst, size, "newsletter_%d_%02d", y, m);
				return dst;
			}
			return email_flows[(int) o->flow].name;
		case AC_AFFILIATE:
			snprintf(dst, size, "partner_%02d", o->flow);
			return dst;
		case AC_INFLUENCER:
			snprintf(dst, size, "creator_%s", creators[(int) o->flow].name);
			for (char *p = dst; *p; p++)
				if (*p >= 'A' && *p <= 'Z')
					*p += 'a' - 'A';
			return dst;
		default:
			return NULL;
	}
}

/*
 * gather_customer
 *		Collects the orders of the next customer who has any, numbered from
 *		the running order count.  False after the last customer.
 */
static bool
gather_customer(DemoGen *g)
{
	DemoCustomer *c = g->cust;

	g->npending = 0;
	g->pending_pos = 0;
	while (g->next < g->ncustomers)
	{
		CHECK_FOR_INTERRUPTS();
		simulate_customer(g, g->next++);
		for (int j = 0; j < c->norders; j++)
		{
			PendingOrder *co = &g->pending[g->npending++];

			co->order_id = ORDER_ID_BASE + 1 + g->orders_emitted++;
			co->customer_id = c->customer_id;
			co->fav_type = c->fav_type;
			co->creator = c->creator;
			co->o = c->orders[j];
		}
		if (g->npending > 0)
			return true;
	}
	return false;
}

/* the next order's row, with its attribution, codes and tags as text */
static bool
produce_orders(DemoGen *g)
{
	const PendingOrder *co;
	const DemoOrder *o;
	const char *codes[2];
	const char *tags[DEMO_MAX_TAGS];
	char		codebuf[2][24];
	char		tagbuf[32];
	char		campbuf[48];
	char		landing[256];
	int			ntags = 0;
	const char *referrer = NULL;
	const char *source = NULL;
	const char *medium = NULL;
	const char *campaign;

	if (g->pending_pos >= g->npending && !gather_customer(g))
		return false;
	co = &g->pending[g->pending_pos++];
	o = &co->o;

	for (int i = 0; i < o->ncodes; i++)
	{
		switch (o->codes[i])
		{
			case CODE_CREATOR:
				snprintf(codebuf[i], sizeof(codebuf[i]), "%s15",
						 creators[co->creator].name);
				codes[i] = codebuf[i];
				break;
			case CODE_CAMPAIGN:
				codes[i] = camp_code[(int) o->campaign];
				break;
			case CODE_WELCOME:
				codes[i] = "WELCOME10";
				break;
			case CODE_COMEBACK:
				codes[i] = "COMEBACK20";
				break;
			case CODE_VIP:
				codes[i] = "VIP15";
				break;
			default:
				codes[i] = "FREESHIP";
				break;
		}
	}
	if (o->camp_tagged)
	{
		snprintf(tagbuf, sizeof(tagbuf), "%s_%d", camp_tag[(int) o->campaign],
				 g->day_year[o->day]);
		tags[ntags++] = tagbuf;
	}
	if (o->sub_first)
		tags[ntags++] = "subscription_first_order";
	else if (o->is_subscription)
		tags[ntags++] = "subscription_recurring";
	if (o->sales_channel == SC_DRAFT)
		tags[ntags++] = "wholesale";
	if (o->acq == AC_INFLUENCER)
		tags[ntags++] = "influencer";
	if (o->gift)
		tags[ntags++] = "gift";

	switch (o->acq)
	{
		case AC_ORGANIC:
			referrer = search_engines[(int) o->source].name;
			break;
		case AC_PAID_SEARCH:
			referrer = search_engines[(int) o->source].name;
			source = o->source == 0 ? "google" : "bing";
			medium = "cpc";
			break;
		case AC_PAID_SOCIAL:
			referrer = social_referrers[(int) o->source];
			source = social_sources[(int) o->source].name;
			medium = "paid_social";
			break;
		case AC_EMAIL:
			source = "klaviyo";
			medium = "email";
			break;
		case AC_SMS:
			source = "postscript";
			medium = "sms";
			break;
		case AC_REFERRAL:
			referrer = referral_sites[(int) o->source].name;
			break;
		case AC_AFFILIATE:
			referrer = "https://deals.example.com/";
			source = affiliates[(int) o->source].name;
			medium = "affiliate";
			break;
		case AC_INFLUENCER:
			source = creator_sources[(int) o->source].name;
			referrer = o->source == 0 ? "https://l.instagram.com/"
				: (o->source == 1 ? "https://www.youtube.com/" : "https://www.tiktok.com/");
			medium = "influencer";
			break;
	}
	campaign = utm_campaign(g, o, co->fav_type, campbuf, sizeof(campbuf));

	if (o->landing > 0)
	{
		int			len;

		switch (o->landing)
		{
			case 1:
				len = snprintf(landing, sizeof(landing), "/");
				break;
			case 2:
				len = snprintf(landing, sizeof(landing), "/products/%s",
							   g->products[o->landing_product].handle);
				break;
			case 3:
				len = snprintf(landing, sizeof(landing), "/collections/%s",
							   types[co->fav_type].handle);
				break;
			default:
				len = snprintf(landing, sizeof(landing), "/pages/subscribe");
				break;
		}
		if (source != NULL)
			snprintf(landing + len, sizeof(landing) - len,
					 "?utm_source=%s&utm_medium=%s%s%s", source, medium,
					 campaign ? "&utm_campaign=" : "", campaign ? campaign : "");
	}

	row_begin(g);
	col_int8(g, co->order_id);
	col_int8(g, co->customer_id);
	col_int8(g, o->ordered_at);
	col_cents(g, o->total);
	col_cents(g, o->refunded);
	col_text_array(g, codes, o->ncodes);
	col_text_array(g, tags, ntags);
	col_text(g, sales_channels[(int) o->sales_channel].name);
	col_text(g, acq_names[(int) o->acq]);
	col_text(g, referrer);
	col_text(g, o->landing > 0 ? landing : NULL);
	col_text(g, source);
	col_text(g, medium);
	col_text(g, campaign);
	col_bool(g, o->is_subscription);
	if (o->cancelled_at != 0)
		col_int8(g, o->cancelled_at);
	else
		col_null(g);
	row_end(g);
	return true;
}

/* the lines of one order */
static void
emit_lines(DemoGen *g, const PendingOrder *co)
{
	for (int i = 0; i < co->o.nlines; i++)
	{
		const DemoLine *l = &co->o.lines[i];
		const DemoProduct *p = &g->products[l->product];
		char		sku[32];

		snprintf(sku, sizeof(sku), "%s-%s", p->sku_prefix,
				 types[p->type].variant[l->variant]);
		row_begin(g);
		col_int8(g, co->order_id);
		col_int4(g, i + 1);
		col_int8(g, p->product_id);
		col_int8(g, VARIANT_ID_BASE + (int64) l->product * 10 + l->variant + 1);
		col_text(g, sku);
		col_int4(g, l->quantity);
		col_cents(g, l->price);
		row_end(g);
	}
}

/* the lines of the next order */
static bool
produce_lines(DemoGen *g)
{
	if (g->pending_pos >= g->npending && !gather_customer(g))
		return false;
	emit_lines(g, &g->pending[g->pending_pos++]);
	return true;
}

/* ------------------------------------------------------------------------
 * Feeding COPY FROM
 * ------------------------------------------------------------------------
 */

/*
 * demo_copy_source
 *		copy_data_source_cb: hands COPY the next bytes of the binary stream,
 *		building more rows whenever the buffer runs dry.  Returns 0 at the
 *		end of the data.
 */
static int
demo_copy_source(void *outbuf, int minread, int maxread)
{
	DemoGen    *g = demo_active;
	int			avail;

	if (g == NULL)
		elog(ERROR, "demo store COPY source called outside generate_demo_store");

	if (g->bufpos >= g->buf.len)
	{
		resetStringInfo(&g->buf);
		g->bufpos = 0;
		if (g->done)
			return 0;
		while (g->buf.len < COPY_CHUNK)
		{
			if (!g->producer(g))
			{
				put16(&g->buf, -1); /* file trailer */
				g->done = true;
				break;
			}
		}
	}
	avail = g->buf.len - g->bufpos;
	if (avail > maxread)
		avail = maxread;
	memcpy(outbuf, g->buf.data + g->bufpos, avail);
	g->bufpos += avail;
	return avail;
}

/*
 * copy_table
 *		Loads rows from 'producer' into ecpower.<relname> through COPY FROM,
 *		with the permission checks COPY itself makes.  Columns not listed
 *		get their defaults.  Returns the number of rows loaded.
 */
static uint64
copy_table(DemoGen *g, Oid relid, const char *const *cols, int ncols,
		   DemoProducer producer)
{
	Relation	rel;
	ParseState *pstate;
	ParseNamespaceItem *nsitem;
	RangeTblEntry *rte;
	List	   *attnames = NIL;
	List	   *options;
	CopyFromState cstate;
	uint64		processed;
	static const char header[] = "PGCOPY\n\377\r\n";

	rel = table_open(relid, RowExclusiveLock);
	pstate = make_parsestate(NULL);
	nsitem = addRangeTableEntryForRelation(pstate, rel, RowExclusiveLock,
										   NULL, false, false);
	rte = nsitem->p_rte;
	rte->requiredPerms = ACL_INSERT;
	for (int i = 0; i < ncols; i++)
	{
		int			attno = attnameAttNum(rel, cols[i], false);

		if (attno == InvalidAttrNumber)
			elog(ERROR, "column \"%s\" of \"%s\" does not exist",
				 cols[i], RelationGetRelationName(rel));
		attnames = lappend(attnames, makeString(pstrdup(cols[i])));
		rte->insertedCols = bms_add_member(rte->insertedCols,
										   attno - FirstLowInvalidHeapAttributeNumber);
	}
	ExecCheckRTPerms(pstate->p_rtable, true);
	if (check_enable_rls(relid, InvalidOid, false) == RLS_ENABLED)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("cannot generate a demo store into \"%s\" with row-level security enabled",
						RelationGetRelationName(rel))));

	options = list_make1(makeDefElem("format", (Node *) makeString("binary"), -1));

	resetStringInfo(&g->buf);
	appendBinaryStringInfoNT(&g->buf, header, sizeof(header));	/* with its \0 */
	put32(&g->buf, 0);			/* flags */
	put32(&g->buf, 0);			/* header extension length */
	g->bufpos = 0;
	g->done = false;
	g->next = 0;
	g->orders_emitted = 0;
	g->npending = 0;
	g->pending_pos = 0;
	g->producer = producer;
	g->ncols = ncols;
	demo_active = g;

	cstate = BeginCopyFrom(pstate, rel, NULL, NULL, false, demo_copy_source,
						   attnames, options);
	processed = CopyFrom(cstate);
	EndCopyFrom(cstate);
	demo_active = NULL;
	free_parsestate(pstate);
	table_close(rel, NoLock);
	CommandCounterIncrement();
	return processed;
}

/* ------------------------------------------------------------------------
 * Direct loading (superusers)
 * ------------------------------------------------------------------------
 */

/* writes the batch of formed tuples to the heap */
static void
direct_flush(DirectLoad *dl)
{
	if (dl->nslots == 0)
		return;
	table_multi_insert(dl->rel, dl->slots, dl->nslots, dl->cid,
					   TABLE_INSERT_SKIP_FSM, dl->bistate);
	for (int i = 0; i < dl->nslots; i++)
		ExecClearTuple(dl->slots[i]);
	dl->processed += dl->nslots;
	dl->nslots = 0;
	MemoryContextReset(dl->batchcxt);
	ResetPerTupleExprContext(dl->estate);
}

/* completes a direct row: defaults, tuple, constraints, batching */
static void
direct_row_end(DemoGen *g)
{
	DirectLoad *dl = g->load;
	ExprContext *econtext = GetPerTupleExprContext(dl->estate);
	TupleTableSlot *slot = dl->slots[dl->nslots];
	HeapTuple	tuple;

	Assert(dl->col == dl->ncols);
	for (int i = 0; i < dl->ndefaults; i++)
	{
		int			att = dl->defatt[i];

		dl->values[att] = ExecEvalExprSwitchContext(dl->defexpr[i], econtext,
													&dl->nulls[att]);
	}
	tuple = heap_form_tuple(dl->desc, dl->values, dl->nulls);
	ExecStoreHeapTuple(tuple, slot, true);
	if (dl->check)
		ExecConstraints(dl->rri, slot, dl->estate);
	if (++dl->nslots == DIRECT_BATCH)
		direct_flush(dl);
}

/*
 * direct_begin
 *		Prepares a direct load into an empty table (see direct_end): column
 *		map, defaults of the columns the producer leaves out, constraint
 *		checking, a batch of slots.
 */
static DirectLoad *
direct_begin(Oid relid, const char *const *cols, int ncols)
{
	DirectLoad *dl = palloc0(sizeof(DirectLoad));
	TupleDesc	desc;
	bool	   *listed;

	dl->rel = table_open(relid, RowExclusiveLock);
	dl->desc = desc = RelationGetDescr(dl->rel);
	dl->ncols = ncols;
	dl->colmap = palloc(sizeof(int) * ncols);
	listed = palloc0(sizeof(bool) * desc->natts);
	for (int i = 0; i < ncols; i++)
	{
		int			attno = attnameAttNum(dl->rel, cols[i], false);

		if (attno <= 0)
			elog(ERROR, "column \"%s\" of \"%s\" does not exist",
				 cols[i], RelationGetRelationName(dl->rel));
		dl->colmap[i] = attno - 1;
		listed[attno - 1] = true;
	}
	dl->values = palloc(sizeof(Datum) * desc->natts);
	dl->nulls = palloc(sizeof(bool) * desc->natts);
	dl->defatt = palloc(sizeof(int) * desc->natts);
	dl->defexpr = palloc(sizeof(ExprState *) * desc->natts);
	for (int a = 0; a < desc->natts; a++)
	{
		Expr	   *defexpr;

		if (listed[a] || TupleDescAttr(desc, a)->attisdropped)
			continue;
		defexpr = (Expr *) build_column_default(dl->rel, a + 1);
		if (defexpr == NULL)
			continue;
		defexpr = expression_planner(defexpr);
		dl->defexpr[dl->ndefaults] = ExecInitExpr(defexpr, NULL);
		dl->defatt[dl->ndefaults++] = a;
	}
	dl->estate = CreateExecutorState();
	dl->rri = makeNode(ResultRelInfo);
	InitResultRelInfo(dl->rri, dl->rel, 0, NULL, 0);
	dl->check = desc->constr != NULL &&
		(desc->constr->has_not_null || desc->constr->num_check > 0);
	for (int i = 0; i < DIRECT_BATCH; i++)
		dl->slots[i] = MakeSingleTupleTableSlot(desc, &TTSOpsHeapTuple);

	/* a ring of buffers, as COPY uses: the load does not flush the cache */
	dl->bistate = GetBulkInsertState();
	dl->cid = GetCurrentCommandId(true);
	/* a keeper block that holds a whole batch: resets free nothing */
	dl->batchcxt = AllocSetContextCreate(CurrentMemoryContext,
										 "demo store batch",
										 4 * 1024 * 1024, 4 * 1024 * 1024,
										 8 * 1024 * 1024);
	return dl;
}

/*
 * direct_end
 *		Finishes a direct load: writes the last batch, then rebuilds every
 *		index of the table in one sort (REINDEX, which also enforces the
 *		unique ones).  Returns the number of rows loaded.
 */
static uint64
direct_end(DirectLoad *dl)
{
	Oid			relid = RelationGetRelid(dl->rel);
	ReindexParams params = {0};

	direct_flush(dl);
	FreeBulkInsertState(dl->bistate);
	table_finish_bulk_insert(dl->rel, TABLE_INSERT_SKIP_FSM);
	for (int i = 0; i < DIRECT_BATCH; i++)
		ExecDropSingleTupleTableSlot(dl->slots[i]);
	FreeExecutorState(dl->estate);
	MemoryContextDelete(dl->batchcxt);
	table_close(dl->rel, NoLock);

	CommandCounterIncrement();
	(void) reindex_relation(relid, REINDEX_REL_CHECK_CONSTRAINTS, &params);
	CommandCounterIncrement();
	return dl->processed;
}

/*
 * direct_table
 *		Loads rows from 'producer' into an empty table as a restore with
 *		triggers disabled does (superusers only): heap multi-inserts of rows
 *		checked against the table's constraints, column defaults evaluated,
 *		no triggers, indexes rebuilt at the end.
 */
static uint64
direct_table(DemoGen *g, Oid relid, const char *const *cols, int ncols,
			 DemoProducer producer)
{
	uint64		processed;

	g->load = direct_begin(relid, cols, ncols);
	g->next = 0;
	g->orders_emitted = 0;
	g->npending = 0;
	g->pending_pos = 0;

	while (producer(g))
		;

	processed = direct_end(g->load);
	g->load = NULL;
	return processed;
}

/* loads one table by the path chosen for this call; DEBUG1 reports costs */
static uint64
load_table(DemoGen *g, Oid relid, const char *const *cols, int ncols,
		   DemoProducer producer)
{
	TimestampTz start = GetCurrentTimestamp();
	struct rusage ru0,
				ru1;
	uint64		processed;

	getrusage(RUSAGE_SELF, &ru0);
	if (g->use_direct)
		processed = direct_table(g, relid, cols, ncols, producer);
	else
		processed = copy_table(g, relid, cols, ncols, producer);
	getrusage(RUSAGE_SELF, &ru1);
	elog(DEBUG1, "generate_demo_store: " UINT64_FORMAT " rows into %s (%s) in %ld ms, cpu %ld ms",
		 processed, get_rel_name(relid), g->use_direct ? "direct" : "copy",
		 (long) ((GetCurrentTimestamp() - start) / 1000),
		 (long) ((ru1.ru_utime.tv_sec - ru0.ru_utime.tv_sec +
				  ru1.ru_stime.tv_sec - ru0.ru_stime.tv_sec) * 1000 +
				 (ru1.ru_utime.tv_usec - ru0.ru_utime.tv_usec +
				  ru1.ru_stime.tv_usec - ru0.ru_stime.tv_usec) / 1000));
	return processed;
}

/* ------------------------------------------------------------------------
 * SQL entry point
 * ------------------------------------------------------------------------
 */

/* OID of ecpower.<name>, locked against concurrent writers, checked empty */
static Oid
open_empty_table(Oid nsp, const char *name)
{
	Oid			relid = get_relname_relid(name, nsp);
	Relation	rel;
	TableScanDesc scan;
	TupleTableSlot *slot;
	bool		found;

	if (!OidIsValid(relid))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("relation \"ecpower.%s\" does not exist", name)));

	/* self-conflicting: a second generator waits, readers do not */
	rel = table_open(relid, ShareRowExclusiveLock);
	scan = table_beginscan(rel, GetActiveSnapshot(), 0, NULL);
	slot = table_slot_create(rel, NULL);
	found = table_scan_getnextslot(scan, ForwardScanDirection, slot);
	ExecDropSingleTupleTableSlot(slot);
	table_endscan(scan);
	table_close(rel, NoLock);

	if (found)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("table \"ecpower.%s\" is not empty", name),
				 errdetail("generate_demo_store() only fills empty input tables."),
				 errhint("Remove the store's data first, for example with TRUNCATE ecpower.order_lines, ecpower.orders, ecpower.products, ecpower.customers RESTART IDENTITY.")));
	return relid;
}

/* does the table have stored generated columns? */
static bool
has_generated_columns(Oid relid)
{
	Relation	rel = table_open(relid, NoLock);
	bool		result;

	result = rel->rd_att->constr != NULL && rel->rd_att->constr->has_generated_stored;
	table_close(rel, NoLock);
	return result;
}

/*
 * generate_demo_store(customers int, seed int)
 *		Fills the empty input tables with a deterministic demo store and
 *		returns the number of rows loaded into each table.
 */
Datum
generate_demo_store(PG_FUNCTION_ARGS)
{
	static const char *const customer_cols[] = {
		"customer_id", "ckey", "email", "created_at", "tags", "country",
		"province", "city", "accepts_marketing"
	};
	static const char *const product_cols[] = {
		"product_id", "title", "product_type", "vendor", "tags"
	};
	static const char *const order_cols[] = {
		"order_id", "customer_id", "ordered_at", "total", "refunded",
		"discount_codes", "tags", "sales_channel", "acquisition_channel",
		"referring_site", "landing_site", "utm_source", "utm_medium",
		"utm_campaign", "is_subscription", "cancelled_at"
	};
	static const char *const line_cols[] = {
		"order_id", "line_no", "product_id", "variant_id", "sku", "quantity",
		"price"
	};
	int32		ncustomers;
	int32		seed;
	Oid			nsp;
	Oid			rel_customers,
				rel_products,
				rel_orders,
				rel_lines;
	DemoGen    *g;
	TupleDesc	tupdesc;
	Datum		values[4];
	bool		nulls[4] = {false, false, false, false};

	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("customers must not be null")));
	if (PG_ARGISNULL(1))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("seed must not be null")));
	ncustomers = PG_GETARG_INT32(0);
	seed = PG_GETARG_INT32(1);
	if (ncustomers < 1 || ncustomers > DEMO_MAX_CUSTOMERS)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("customers must be between 1 and %d, not %d",
						DEMO_MAX_CUSTOMERS, ncustomers)));
	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");

	PreventCommandIfReadOnly("generate_demo_store()");

	nsp = get_namespace_oid("ecpower", false);
	rel_customers = open_empty_table(nsp, "customers");
	rel_products = open_empty_table(nsp, "products");
	rel_orders = open_empty_table(nsp, "orders");
	rel_lines = open_empty_table(nsp, "order_lines");

	g = palloc0(sizeof(DemoGen));
	g->seed = (uint64) (int64) seed;
	g->ncustomers = ncustomers;
	build_calendar(g, ecp_store_calendar());
	build_catalog(g);
	initStringInfo(&g->buf);
	g->pending = palloc(sizeof(PendingOrder) * DEMO_MAX_ORDERS);

	/*
	 * Superusers load like a restore (direct heap inserts, no triggers,
	 * indexes rebuilt at the end); everyone else goes through COPY with
	 * every trigger and foreign-key check.  Both give the same rows.  A
	 * stored generated column added by the user needs the executor: COPY.
	 */
	g->use_direct = superuser() &&
		!has_generated_columns(rel_customers) &&
		!has_generated_columns(rel_products) &&
		!has_generated_columns(rel_orders) &&
		!has_generated_columns(rel_lines);

	g->ckeys = ecp_register_customer_keys(CUSTOMER_ID_BASE + 1, ncustomers);
	values[0] = Int64GetDatum((int64) load_table(g, rel_customers, customer_cols,
												 lengthof(customer_cols),
												 produce_customers));
	values[1] = Int64GetDatum((int64) load_table(g, rel_products, product_cols,
												 lengthof(product_cols),
												 produce_products));
	values[2] = Int64GetDatum((int64) load_table(g, rel_orders, order_cols,
												 lengthof(order_cols),
												 produce_orders));
	values[3] = Int64GetDatum((int64) load_table(g, rel_lines, line_cols,
												 lengthof(line_cols),
												 produce_lines));

	/*
	 * The direct load fires no trigger: ask the next refresh to rebuild the
	 * order cache (src/sql/46_ordercache.sql), when this version has one.
	 */
	if (OidIsValid(get_relname_relid("order_changes", nsp)))
	{
		SPI_connect();
		if (SPI_execute("INSERT INTO ecpower.order_changes (order_id) VALUES (NULL)",
						false, 0) != SPI_OK_INSERT)
			elog(ERROR, "could not write ecpower.order_changes");
		SPI_finish();
	}

	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(BlessTupleDesc(tupdesc),
													  values, nulls)));
}
