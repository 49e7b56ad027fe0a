/*-------------------------------------------------------------------------
 *
 * demostore.c
 *	  The shape of the demo store: product types, places, names, channels,
 *	  attribution sources and campaigns; its calendar and catalogue; and
 *	  the simulation of one customer's history from its own random stream.
 *
 * src/io/demostore.c
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
#include "io/demogen.h"

const ProductType demo_types[NTYPES] = {
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
static const char *const title_adjectives[20] = {
	"Classic", "Everyday", "Morning", "Midnight", "Golden", "Wild", "Coastal",
	"Alpine", "Harvest", "Velvet", "Cedar", "Sunrise", "Highland", "Meadow",
	"Ember", "Nordic", "Summit", "Orchard", "Driftwood", "Juniper"
};
const Country demo_countries[] = {
	{620, "US", 695, 7500}, {100, "CA", 1295, 10000}, {90, "GB", 1495, 15000},
	{60, "AU", 1995, 15000}, {40, "DE", 1495, 15000}, {30, "FR", 1495, 15000},
	{20, "NL", 1495, 15000}, {20, "JP", 1995, 15000}, {10, "NZ", 1995, 15000},
	{10, "IE", 1495, 15000},
};
const Place demo_places[] = {
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
const char *const demo_first_names[40] = {
	"olivia", "liam", "emma", "noah", "ava", "oliver", "sophia", "elijah",
	"isabella", "james", "mia", "william", "amelia", "benjamin", "harper",
	"lucas", "evelyn", "henry", "abigail", "theodore", "emily", "jack",
	"ella", "levi", "chloe", "alexander", "grace", "mateo", "zoe", "daniel",
	"nora", "michael", "lily", "samuel", "hannah", "leo", "aria", "owen",
	"yuki", "sofia"
};
const char *const demo_last_names[40] = {
	"smith", "johnson", "williams", "brown", "jones", "garcia", "miller",
	"davis", "rodriguez", "martinez", "hernandez", "lopez", "wilson",
	"anderson", "thomas", "taylor", "moore", "jackson", "martin", "lee",
	"thompson", "white", "harris", "clark", "lewis", "robinson", "walker",
	"young", "allen", "king", "wright", "scott", "nguyen", "hill", "green",
	"adams", "baker", "nelson", "tanaka", "murphy"
};
const WName demo_email_domains[] = {
	{40, "example.com"}, {25, "example.net"}, {15, "example.org"},
	{12, "mail.example"}, {8, "inbox.example"},
};
const WName demo_sales_channels[] = {
	{800, "web"}, {90, "shop_app"}, {60, "pos"}, {30, "tiktok_shop"},
	{20, "draft_order"}, {0, "subscription"},
};
const char *const demo_acq_names[NACQ] = {
	"organic_search", "paid_search", "paid_social", "email", "sms", "direct",
	"referral", "affiliate", "influencer", "in_store", "sales_rep",
	"subscription"
};
/* attribution weights of first orders and of repeat orders (online) */
static const int acq_first[] = {200, 150, 220, 50, 20, 130, 60, 40, 60};
static const int acq_repeat[] = {140, 80, 90, 280, 90, 240, 30, 20, 30};
const WName demo_search_engines[] = {
	{80, "https://www.google.com/"}, {10, "https://www.bing.com/"},
	{7, "https://duckduckgo.com/"}, {3, "https://search.yahoo.com/"},
};
const WName demo_social_sources[] = {
	{45, "facebook"}, {35, "instagram"}, {20, "tiktok"},
};
const char *const demo_social_referrers[] = {
	"https://m.facebook.com/", "https://l.instagram.com/", "https://www.tiktok.com/"
};
const WName demo_referral_sites[] = {
	{30, "https://www.reddit.com/"}, {25, "https://www.pinterest.com/"},
	{20, "https://reviews.example.org/"}, {15, "https://blog.example.net/"},
	{10, "https://news.example.com/"},
};
const WName demo_affiliates[] = {
	{60, "shareasale"}, {40, "impact"},
};
const WName demo_creators[] = {
	{30, "MAYA"}, {25, "JORDAN"}, {20, "PRIYA"}, {15, "ALEX"}, {10, "KENJI"},
};
const WName demo_creator_sources[] = {
	{50, "instagram"}, {30, "youtube"}, {20, "tiktok"},
};
const WName demo_email_flows[] = {
	{25, "abandoned_cart"}, {20, "replenishment_reminder"}, {15, "winback"},
	{40, "newsletter"},
};
const char *const demo_camp_tag[NCAMP] = {
	NULL, "spring_sale", "summer_sale", "anniversary", "bfcm", "holiday"
};
const char *const demo_camp_code[NCAMP] = {
	NULL, "SPRING15", "SUMMER20", "THANKYOU20", "BFCM25", "HOLIDAY15"
};
static const int camp_pct[NCAMP] = {0, 15, 20, 20, 25, 15};
static const int hour_weights[24] = {
	12, 7, 4, 3, 3, 5, 10, 20, 32, 42, 48, 52,
	56, 54, 52, 52, 54, 58, 64, 72, 78, 74, 56, 30
};
static const int class_weight[NCLASS] = {4300, 3500, 1650, 550};
static const int class_continue[NCLASS] = {0, 6000, 8500, 9500};
static const int class_gap_pct[NCLASS] = {100, 170, 110, 85};

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
void
demo_build_calendar(DemoGen *g, EcpCalendar *cal)
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
void
demo_build_catalog(DemoGen *g)
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
		const ProductType *pt = &demo_types[t];
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
	int			country = PICK(r, demo_countries);
	int			total = 0;
	int			x;

	for (int i = 0; i < (int) lengthof(demo_places); i++)
		if (demo_places[i].country == country)
			total += demo_places[i].weight;
	x = (int) ecp_rng_below(r, (uint32) total);
	for (int i = 0; i < (int) lengthof(demo_places); i++)
	{
		if (demo_places[i].country != country)
			continue;
		x -= demo_places[i].weight;
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
			o->source = PICK(r, demo_search_engines);
			o->landing = 1 + (int) ecp_rng_below(r, 3);
			break;
		case AC_PAID_SEARCH:
			o->source = ecp_rng_chance(r, 8800) ? 0 : 1;
			o->flow = ecp_rng_chance(r, 5000) ? 0 : (ecp_rng_chance(r, 6000) ? 1 : 2);
			o->landing = o->flow == 0 ? 1 : (o->flow == 1 ? 2 : 3);
			break;
		case AC_PAID_SOCIAL:
			o->source = sc == SC_TIKTOK ? 2 : PICK(r, demo_social_sources);
			o->flow = first ? 0 : 1;
			o->landing = ecp_rng_chance(r, 7000) ? 2 : 3;
			break;
		case AC_EMAIL:
		case AC_SMS:
			o->flow = first ? -1 : PICK(r, demo_email_flows);
			o->landing = ecp_rng_chance(r, 5000) ? 2 : (ecp_rng_chance(r, 4000) ? 3 : 1);
			break;
		case AC_DIRECT:
			o->landing = ecp_rng_chance(r, 7000) ? 1 : 2;
			break;
		case AC_REFERRAL:
			o->source = PICK(r, demo_referral_sites);
			o->landing = 2;
			break;
		case AC_AFFILIATE:
			o->source = PICK(r, demo_affiliates);
			o->flow = 1 + (int) ecp_rng_below(r, 40);
			o->landing = 2;
			break;
		case AC_INFLUENCER:
			o->source = sc == SC_TIKTOK ? 2 : PICK(r, demo_creator_sources);
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
		pt = &demo_types[p->type];
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
	const Place *pl = &demo_places[c->place];
	const Country *co = &demo_countries[pl->country];
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
void
demo_simulate_customer(DemoGen *g, int64 i)
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
	c->first_name = (int) ecp_rng_below(&r, lengthof(demo_first_names));
	c->last_name = (int) ecp_rng_below(&r, lengthof(demo_last_names));
	c->email_style = ecp_rng_chance(&r, 150) ? -1 : (int) ecp_rng_below(&r, 3);
	c->email_domain = PICK(&r, demo_email_domains);
	prospect = ecp_rng_chance(&r, 1500);
	c->signup_first = prospect || ecp_rng_chance(&r, 2200);
	c->accepts_marketing = ecp_rng_chance(&r, c->signup_first ? 9200 : 4500);
	c->home_channel = PICK(&r, demo_sales_channels);
	c->wholesale = (c->home_channel == SC_DRAFT);
	c->fav_type = PICK(&r, demo_types);
	c->creator = PICK(&r, demo_creators);
	fav = &demo_types[c->fav_type];
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
