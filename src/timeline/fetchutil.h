/*-------------------------------------------------------------------------
 *
 * fetchutil.h
 *	  Building blocks of the report source (fetch.c): value pairs
 *	  before CSR, an id -> index map, the order of a customer's orders,
 *	  and product attribute values.
 *
 * src/timeline/fetchutil.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef ECP_FETCHUTIL_H
#define ECP_FETCHUTIL_H

#include "postgres.h"

#include "core/ecpower.h"
#include "timeline/fetch.h"

/*
 * Id lookups use a direct array over [min_id, max_id] when the ids are
 * dense enough: at most 8 slots per id plus DIRECT_SLACK, and never more
 * than DIRECT_MAX slots (4 bytes each).  Real stores number customers and
 * orders from sequences and store lines next to their orders, so the array
 * is read nearly in sequence, unlike a hash table.
 */
#define DIRECT_SLACK	(INT64CONST(1) << 20)
#define DIRECT_MAX		(INT64CONST(1) << 25)

/* (order index, value id): a value carried by an order, before CSR */
typedef struct ValuePair
{
	int32		order;
	int32		value;
} ValuePair;

typedef struct PairList
{
	int64		n;
	int64		cap;
	ValuePair  *items;
	MemoryContext mcxt;			/* where items lives */
} PairList;

/*
 * An int64 id -> int32 value map, built once and then only read: customer
 * ids -> ckey, order ids -> index of a selected order.  Ids are usually
 * dense (sequences), so a direct array over [min_id, max_id] is used when
 * that is not much larger than a hash table (see DIRECT_SLACK); else open
 * addressing with linear probing.
 */
typedef struct IdSlot
{
	int64		id;
	int32		value;			/* -1: empty */
} IdSlot;

typedef struct IdMap
{
	int64		min_id;
	int64		range;			/* direct array length; 0: hash table */
	int32	   *direct;
	uint32		nslots;
	IdSlot	   *slots;
	uint64	   *filter;			/* hash table: one bit per hash, set for every id */
	uint32		fmask;			/* filter bits - 1 */
} IdMap;


/*
 * Products: product_id -> the values of one attribute (CSR), for the
 * product_type / product_tag / vendor dimensions.  The products table is
 * small (a catalog), so SPI is fine here.
 */
typedef struct ProductValues
{
	EcpValueDict *ids;			/* product_id -> product index */
	int64	   *start;			/* per product index */
	int32	   *values;
} ProductValues;

extern void ecp_pairs_add(PairList *pl, int32 order, int32 value);
extern void ecp_add_text_values(EcpValueDict *dict, PairList *pl, int32 order,
								Datum value, bool is_array);
extern void ecp_idmap_build(IdMap *m, const int64 *ids, const int32 *values, int64 n);
extern void ecp_sort_report_orders(EcpReportOrder *o, int64 n);
extern ProductValues *ecp_load_product_values(const char *column, bool is_array,
											  EcpValueDict *dict);

/* the value of an id, or -1 */
static inline int32
ecp_idmap_lookup(const IdMap *m, int64 id)
{
	uint32		h;
	uint32		f;
	uint32		j;

	if (m->direct != NULL)
	{
		uint64		off = (uint64) id - (uint64) m->min_id;

		return off < (uint64) m->range ? m->direct[off] : -1;
	}
	h = ecp_hash_int64(id);
	f = ((h >> 13) | (h << 19)) & m->fmask;
	if ((m->filter[f / 64] & (UINT64CONST(1) << (f % 64))) == 0)
		return -1;				/* most ids asked for are not there */
	j = h & (m->nslots - 1);
	while (m->slots[j].value >= 0)
	{
		if (m->slots[j].id == id)
			return m->slots[j].value;
		j = (j + 1) & (m->nslots - 1);
	}
	return -1;
}

#endif							/* ECP_FETCHUTIL_H */
