/*-------------------------------------------------------------------------
 *
 * fetch.h
 *	  The customer timeline as the reports read it: the counted orders of
 *	  a set of customers, in sequence, with the orders a variant and period
 *	  select and the values of one dimension those orders carry
 *	  (docs/timeline.md).
 *
 * ecp_report_fetch() (fetch.c) is the one entry point: it reads the order
 * cache and the timeline's values when they are current, the tables
 * otherwise, and returns an EcpReportSet the reports walk customer by
 * customer.
 *
 * src/timeline/fetch.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef ECP_FETCH_H
#define ECP_FETCH_H

#include "postgres.h"

#include "core/ecpower.h"

/* which of a customer's counted orders a report looks at */
typedef enum EcpVariant
{
	ECP_VARIANT_ALL,			/* every counted order */
	ECP_VARIANT_FIRST,			/* sequence 1 */
	ECP_VARIANT_SECOND,			/* sequence 2 */
	ECP_VARIANT_REPEAT,			/* sequence >= 2 */
	ECP_VARIANT_LATEST			/* sequence n */
} EcpVariant;

/* what a selected order carries (dimension table of README "Feature reports") */
typedef enum EcpDimension
{
	ECP_DIM_NONE = -1,
	ECP_DIM_PRODUCT,
	ECP_DIM_PRODUCT_TYPE,
	ECP_DIM_PRODUCT_TAG,
	ECP_DIM_VENDOR,
	ECP_DIM_SKU,
	ECP_DIM_ACQUISITION_CHANNEL,
	ECP_DIM_REFERRING_SITE,
	ECP_DIM_LANDING_SITE,
	ECP_DIM_UTM_SOURCE,
	ECP_DIM_UTM_MEDIUM,
	ECP_DIM_UTM_CAMPAIGN,
	ECP_DIM_SALES_CHANNEL,
	ECP_DIM_ORDER_TAG,
	ECP_DIM_DISCOUNT_CODE,
	ECP_DIM_YEAR_MONTH,
	ECP_DIM_WEEKDAY,
	ECP_DIM_HOUR,
	ECP_DIM_CUSTOMER_TAG,
	ECP_DIM_COUNTRY,
	ECP_DIM_PROVINCE,
	ECP_DIM_CITY,
	ECP_DIM_BOUGHT_TOGETHER
} EcpDimension;

#define ECP_NUM_DIMENSIONS	((int) ECP_DIM_BOUGHT_TOGETHER + 1)

/* how a dimension's values are represented */
typedef enum EcpValueKind
{
	ECP_VALUES_TEXT,			/* stored text, grouped case-insensitively */
	ECP_VALUES_PRODUCT,			/* product_id; label = title */
	ECP_VALUES_CALENDAR			/* month index, ISO weekday or hour */
} EcpValueKind;

/*
 * Interned values of one dimension: dense ids 0..nvalues-1.  Text values
 * keep their exact stored spelling in text[]; product ids, month indexes,
 * weekdays and hours live in num[].
 */
typedef struct EcpDictSlot
{
	uint32		hash;
	int32		id;				/* -1: empty slot */
} EcpDictSlot;

typedef struct EcpValueDict
{
	int32		nvalues;
	int32		capacity;		/* of text/textlen/num */
	char	  **text;			/* exact spelling (text values), NUL-terminated */
	int32	   *textlen;
	int64	   *num;			/* the number (other values) */
	uint32		nslots;			/* power of two, > 2 * nvalues */
	EcpDictSlot *slots;			/* open addressing, linear probing */
	MemoryContext mcxt;
} EcpValueDict;

/* one counted order of a fetched customer */
typedef struct EcpReportOrder
{
	int64		order_id;
	TimestampTz ordered_at;
	int64		net_cents;		/* total - refunded (want_amount only) */
	int32		ckey;
	int32		seq;			/* 1..n by (ordered_at, order_id) */
	int32		items;			/* sum of line quantities (want_items only) */
	int64		profit_cents;	/* gross profit (want_profit, when has_profit) */
	bool		has_profit;		/* every line has a product and a unit cost */
	bool		selected;		/* picked by variant and period */
} EcpReportOrder;

/* what to fetch */
typedef struct EcpFetchSpec
{
	TimestampTz as_of;			/* counted orders: ordered_at <= as_of */
	const bool *wanted;			/* by ckey, max_wanted + 1 entries; NULL: all */
	int64		nwanted;		/* how many are wanted, when known (0: not) */
	int32		max_wanted;
	EcpVariant	variant;
	bool		has_from;
	bool		has_to;
	DateADT		from;			/* store-local, inclusive */
	DateADT		to;
	EcpDimension dimension;		/* values to attach, or ECP_DIM_NONE */
	bool		want_amount;	/* fill net_cents */
	bool		want_items;		/* fill items */
	bool		want_profit;	/* fill profit_cents / has_profit of every order */
	bool		want_dates;		/* fill local_date[] of every order */
	EcpCalendar *cal;
} EcpFetchSpec;

/*
 * The fetched orders, grouped by customer (ascending ckey), each customer's
 * orders in sequence.  Customer i owns orders[cust_start[i] ..
 * cust_start[i + 1]).  A selected order o carries the value ids
 * values[vstart[o] .. vstart[o + 1]) (possibly repeated).
 */
typedef struct EcpReportSet
{
	int64		norders;
	EcpReportOrder   *orders;
	int32		ncustomers;
	int64	   *cust_start;		/* ncustomers + 1 */
	int32	   *cust_ckey;		/* ncustomers */
	int64	   *vstart;			/* norders + 1 */
	int32	   *values;
	DateADT    *local_date;		/* norders, when want_dates */
	EcpValueDict *dict;
} EcpReportSet;

/* fetch.c, valuedict.c, fetchutil.c */
extern EcpReportSet *ecp_report_fetch(const EcpFetchSpec *spec);
extern EcpValueKind ecp_dimension_kind(EcpDimension dim);
extern EcpValueDict *ecp_dict_create(void);
extern int32 ecp_dict_text(EcpValueDict *d, const char *s, int len);
extern int32 ecp_dict_num(EcpValueDict *d, int64 v);
extern char **ecp_product_titles(const int64 *ids, int n);

#endif							/* ECP_FETCH_H */
