/*-------------------------------------------------------------------------
 *
 * ordercache.h
 *	  The refresh's order cache: every uncancelled order as the segment
 *	  engine keeps it, so that a nightly refresh re-reads only the orders
 *	  that changed.
 *
 * A refresh that reads the whole store (the first one, or after a change
 * the cache cannot follow) stores every uncancelled order as its 48-byte
 * EcpOrder record plus the filter bits that do not depend on as_of, in
 * chunks of ecpower.order_cache, tagged with the compiled definitions.
 * Statement triggers on orders and order_lines append the order ids they
 * touch to ecpower.order_changes.  The next refresh with the same tag reads
 * the chunks instead of the heap, re-reads only the logged orders (the
 * "stale" set) by primary key, and evaluates every customer as a full
 * refresh would.  Stale ids accumulate in ecpower.order_cache_state until
 * there are too many; then the chunks are rewritten.
 *
 * src/timeline/ordercache.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef ECP_ORDERCACHE_H
#define ECP_ORDERCACHE_H

#include "postgres.h"

#include "datatype/timestamp.h"
#include "utils/date.h"

#include "core/ecpower.h"

/*
 * One counted order as the segment engine keeps it and the cache stores it
 * (48 bytes); cust is a customer index in memory, a ckey in a chunk.
 * profit is the gross profit, net - sum(quantity * unit_cost) over the
 * order's lines, when costed is 1; costed is 0 (and profit 0) when a line
 * has no unit_cost or no product, or when the profit was not computed (an
 * evaluation that needs no profit; the cache always holds it).
 */
typedef struct EcpOrder
{
	int64		order_id;
	TimestampTz ordered_at;
	int64		net;			/* total - refunded, cents */
	int64		profit;			/* gross profit, cents (when costed) */
	int32		cust;			/* customer index */
	DateADT		day;			/* store-local date */
	int32		items;			/* sum of line quantities (when needed) */
	int32		costed;			/* 1: profit known, 0: unknown */
} EcpOrder;

/*
 * Amounts are numeric(14,2): a net amount or a gross profit in cents is
 * below this in absolute value.
 */
#define ECP_ORDER_MAX_CENTS	INT64CONST(100000000000000)


/* what the refresh found in the cache and the change log */
typedef struct EcpCacheState
{
	bool		usable;			/* chunks match the tag, no rebuild asked */
	int64		nbase;			/* orders in the chunks */
	int64		nchanges;		/* change-log rows seen */
	int64	   *change_ids;
	int64		nstale;			/* order ids to re-read, ascending, unique */
	int64	   *stale;
	uint64	   *stale_filter;	/* ECP_STALE_FILTER_BITS bits over hashed ids */
} EcpCacheState;

#define ECP_STALE_FILTER_BITS	(1 << 20)

/*
 * ecp_cache_is_stale
 *		Is this order changed since the cache was written (to be read from
 *		the heap instead)?  A bit filter answers most ids; a binary search
 *		of the sorted stale ids the rest.  The filter is built by
 *		ecp_cache_open*() when there are stale orders.
 */
static inline bool
ecp_cache_is_stale(const EcpCacheState *st, int64 id)
{
	uint32		h = ecp_hash_int64(id) & (ECP_STALE_FILTER_BITS - 1);
	int64		lo = 0;
	int64		hi = st->nstale - 1;

	if (st->nstale == 0 || !((st->stale_filter[h / 64] >> (h % 64)) & 1))
		return false;
	while (lo <= hi)
	{
		int64		mid = lo + (hi - lo) / 2;

		if (st->stale[mid] < id)
			lo = mid + 1;
		else if (st->stale[mid] > id)
			hi = mid - 1;
		else
			return true;
	}
	return false;
}

/*
 * Called per chunk with its n records (EcpOrder, cust = ckey, unaligned)
 * and their filter bits.
 */
typedef void (*EcpCacheSink) (void *arg, const char *orders, const char *bits,
							  int32 n);

extern char *ecp_cache_tag(int fwords);
extern EcpCacheState *ecp_cache_open(const char *tag);
extern EcpCacheState *ecp_cache_open_orders(const char *tz);
extern void ecp_cache_read(int fwords, EcpCacheSink sink, void *arg);
extern void ecp_cache_write(const char *tag, int fwords, const EcpOrder *orders,
							const uint64 *bits, int64 n, const int32 *ckey_of);
extern void ecp_cache_write_stale(const int64 *stale, int64 n);
extern void ecp_cache_consume(const EcpCacheState *st);

#endif							/* ECP_ORDERCACHE_H */
