/*-------------------------------------------------------------------------
 *
 * values.h
 *	  The timeline's values: what each order carries, dictionary-encoded,
 *	  kept beside the order cache (docs/timeline.md).
 *
 * When a refresh writes the order cache it also writes, for the same
 * orders, the values the reports group by:
 *
 *	lines		one entry per order line: product id, sku (dictionary id),
 *				quantity and unit cost;
 *	order text	one entry per (order, value) of each order-level dimension:
 *				acquisition channel, referring site, landing site, UTM
 *				source / medium / campaign, sales channel, order tags,
 *				discount codes (dictionary ids).
 *
 * Entries live in checksummed chunks of ecpower.timeline_values, one run of
 * chunks per group, read in place through the primary key; the text of a
 * dictionary id lives in ecpower.timeline_dict.  Product attributes (type,
 * tags, vendor) and customer attributes are not copied: readers take them
 * from the catalog tables, which are small.  A reader trusts the values
 * only for the orders the order cache holds and that have not changed
 * since (the cache's stale set); it reads the others from the heap.
 *
 * src/timeline/values.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef ECP_VALUES_H
#define ECP_VALUES_H

#include "postgres.h"

/* the groups of values, one run of chunks each */
typedef enum EcpValueGroup
{
	ECP_VG_LINES = 0,
	ECP_VG_ACQUISITION_CHANNEL,
	ECP_VG_REFERRING_SITE,
	ECP_VG_LANDING_SITE,
	ECP_VG_UTM_SOURCE,
	ECP_VG_UTM_MEDIUM,
	ECP_VG_UTM_CAMPAIGN,
	ECP_VG_SALES_CHANNEL,
	ECP_VG_ORDER_TAG,
	ECP_VG_DISCOUNT_CODE
} EcpValueGroup;

#define ECP_VG_COUNT	((int) ECP_VG_DISCOUNT_CODE + 1)

/* one order line as the store keeps it */
typedef struct EcpLineEntry
{
	int64		order_id;
	int64		product_id;		/* valid when has_product */
	int64		cost_cents;		/* unit cost, valid when has_cost */
	int32		sku;			/* dictionary id, -1: none */
	int32		quantity;		/* > 0 */
	bool		has_product;
	bool		has_cost;
} EcpLineEntry;

typedef void (*EcpLineSink) (void *arg, const EcpLineEntry *line);
typedef void (*EcpValueSink) (void *arg, int64 order_id, int32 id);

extern int	ecp_values_group_of_column(const char *column);
extern void ecp_values_build(void);
extern bool ecp_values_usable(void);
extern char **ecp_values_dict(int group, int32 *n);
extern void ecp_values_read_lines(int32 ndict, EcpLineSink sink, void *arg);
extern void ecp_values_read(int group, int32 ndict, EcpValueSink sink, void *arg);

#endif							/* ECP_VALUES_H */
