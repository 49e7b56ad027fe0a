/*-------------------------------------------------------------------------
 *
 * evalscan.h
 *	  Internal to the segment engine: the state of the input passes of an
 *	  evaluation (evalscan.c: customers and products; evalorders.c: orders,
 *	  lines and the order cache) and the helpers they share.
 *
 * Only src/segments/evaluate.c, evalscan.c and evalorders.c include this.
 *
 * src/segments/evalscan.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef ECP_EVALSCAN_H
#define ECP_EVALSCAN_H

#include "postgres.h"

#include "access/tableam.h"
#include "portability/instr_time.h"
#include "utils/rel.h"

#include "core/ecpower.h"
#include "segments/definition.h"
#include "segments/evaluate.h"

/* int64 -> int32 index hash (customers, products, orders) */
typedef struct IdEntry
{
	int64		id;
	int32		idx;
	char		status;
} IdEntry;

#define SH_PREFIX ecp_idhash
#define SH_ELEMENT_TYPE IdEntry
#define SH_KEY_TYPE int64
#define SH_KEY id
#define SH_HASH_KEY(tb, key) ecp_hash_int64(key)
#define SH_EQUAL(tb, a, b) ((a) == (b))
#define SH_SCOPE static inline
#define SH_DEFINE
#define SH_DECLARE
#include "lib/simplehash.h"

/*
 * A dictionary of lower-cased strings, each mapped to a bit set (over
 * filters or customer conditions).
 */
typedef struct DictEntry
{
	uint32		hash;
	int			len;			/* -1: empty slot */
	const char *s;
	int			slot;			/* index of its bit set */
} DictEntry;

typedef struct Dict
{
	int			mask;			/* capacity - 1 */
	DictEntry  *e;
	int			nwords;
	int			nsets;
	uint64	   *sets;
} Dict;

/* bit b of a bit set */
static inline bool
bit_isset(const uint64 *bits, int b)
{
	return (bits[b / 64] >> (b % 64)) & 1;
}

/* set bit b */
static inline void
bit_set(uint64 *bits, int b)
{
	bits[b / 64] |= UINT64CONST(1) << (b % 64);
}

/* clear bit b */
static inline void
bit_clear(uint64 *bits, int b)
{
	bits[b / 64] &= ~(UINT64CONST(1) << (b % 64));
}

/* a column of the row deformed by next_row() into values/nulls */
#define COLUMN(att)			(values[(att) - 1])
#define COLUMN_NULL(att)	(nulls[(att) - 1])

/* bound periods: [lo, hi] local dates */
typedef struct Bound
{
	int32		lo;
	int32		hi;
} Bound;

/* scan state shared by the passes */
typedef struct EvalScan
{
	EcpEval    *ev;
	MemoryContext scratch;
	ecp_idhash_hash *custhash;	/* customer_id -> index, or: */
	int32	   *custdirect;		/* customer_id - custmin -> index (dense ids) */
	int64		custmin;
	int64		custrange;
	/* filters */
	Bound	   *fperiod;		/* per filter */
	int		   *scalar;			/* filters with period/discount/subscription/total */
	int			nscalar;
	uint64	   *all;			/* all filter bits */
	uint64	   *uses[ECP_NTEXT_FIELDS]; /* filters using each text field */
	Dict	   *dict[ECP_NTEXT_FIELDS];
	uint64	   *prodfilters;	/* filters with a product key */
	uint64	   *prodattr;		/* filters with a product attribute key */
	bool		any_product;
	bool		any_prodattr;
	/* products */
	ecp_idhash_hash *prodhash;
	uint64	   *pbits;
	/* customers */
	Dict	   *cdict[ECP_NCUST_TEXT_FIELDS];
	Bound	   *cperiod;
	/* orders */
	int64		ocap;			/* capacity of ev->orders and ev->obits */
	bool		want_profit;	/* gross profit of every order (lines read) */
	bool		any_text;		/* a text field of orders is used */
	uint64	   *acc;			/* scratch, fwords words */
	uint64	   *lineok;			/* scratch, fwords words */
	int64		lfrom;			/* order lines are wanted for orders lfrom.. */
	uint64	   *lbits;			/* product bits of those orders, by lines */
} EvalScan;

/* index of a customer id, or -1 */
static inline int32
customer_index(EvalScan *sc, int64 id)
{
	if (sc->custdirect)
	{
		if (id < sc->custmin || id - sc->custmin >= sc->custrange)
			return -1;
		return sc->custdirect[id - sc->custmin];
	}
	else
	{
		IdEntry    *e = ecp_idhash_lookup(sc->custhash, id);

		return e ? e->idx : -1;
	}
}

/* evalscan.c: helpers shared by the passes */
extern Dict *evs_dict_create(int nvalues, int nwords);
extern void evs_dict_add(Dict *d, const char *s, int len, int bit);
extern const uint64 *evs_dict_get(const Dict *d, const char *s, int len);
extern void evs_dict_or_text(const Dict *d, Datum value, uint64 *acc);
extern void evs_dict_or_array(const Dict *d, Datum value, uint64 *acc);
extern Relation evs_open_input(const char *name);
extern bool evs_next_row(TableScanDesc scan, TupleDesc desc, Datum *values, bool *nulls);
extern int64 evs_expected_rows(Relation rel, int64 dflt);
extern Bound evs_bind_period(const EcpPeriod *p, DateADT as_of_date);
extern void evs_match_text_field(EvalScan *sc, int t, Datum d, bool isnull, bool is_array,
								 uint64 *ok, uint64 *acc);

/* the passes, in order */
extern void evs_load_customers(EvalScan *sc, instr_time *t);	/* evalscan.c */
extern void evs_load_orders(EvalScan *sc, bool use_cache, instr_time *t);	/* evalorders.c */

#endif							/* ECP_EVALSCAN_H */
