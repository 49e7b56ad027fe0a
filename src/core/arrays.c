/*-------------------------------------------------------------------------
 *
 * arrays.c
 *	  Growable arrays that may pass 1 GB, the int64 comparator, and int8[]
 *	  datums of ids.
 *
 * Per-order and per-customer arrays of a large store pass MaxAllocSize
 * (1 GB); these helpers allocate them huge-capable in the current memory
 * context and turn an impossible size into a clean 54000 error instead of
 * an allocation failure.
 *
 * src/core/arrays.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "utils/array.h"
#include "utils/memutils.h"

#include "core/arrays.h"

/* 54000 unless n elements of elsize bytes can be allocated */
static Size
array_bytes(int64 n, Size elsize)
{
	if (n < 0 || (Size) n > MaxAllocHugeSize / elsize)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("cannot allocate an array of %lld elements of %zu bytes",
						(long long) n, elsize)));
	return (Size) n * elsize;
}

/*
 * ecp_cmp_int64
 *		qsort() comparator of int64, ascending.
 */
int
ecp_cmp_int64(const void *a, const void *b)
{
	int64		x = *(const int64 *) a;
	int64		y = *(const int64 *) b;

	return (x > y) - (x < y);
}

/*
 * ecp_alloc_array
 *		An array of n elements (at least one) in the current memory
 *		context, zeroed when asked.
 */
void *
ecp_alloc_array(int64 n, Size elsize, bool zero)
{
	Size		bytes = array_bytes(Max(n, 1), elsize);

	return palloc_extended(bytes, MCXT_ALLOC_HUGE | (zero ? MCXT_ALLOC_ZERO : 0));
}

/*
 * ecp_grow_array
 *		Make the array p of *cap elements hold at least 'need' elements,
 *		doubling its capacity (from 16 at least); p may be NULL with *cap
 *		0.  New elements are zeroed when asked.  Returns the array, which
 *		may have moved, and sets *cap.
 */
void *
ecp_grow_array(void *p, int64 *cap, int64 need, Size elsize, bool zero)
{
	int64		newcap = Max(*cap, 16);

	if (p != NULL && need <= *cap)
		return p;
	while (newcap < need)
		newcap = newcap > PG_INT64_MAX / 2 ? need : newcap * 2;
	if (p == NULL)
		p = ecp_alloc_array(newcap, elsize, zero);
	else
	{
		p = repalloc_huge(p, array_bytes(newcap, elsize));
		if (zero)
			memset((char *) p + (Size) *cap * elsize, 0, (Size) (newcap - *cap) * elsize);
	}
	*cap = newcap;
	return p;
}

/*
 * ecp_id_array
 *		An int8[] datum of n ids, for "= ANY ($1)" lookups by key.
 */
Datum
ecp_id_array(const int64 *ids, int64 n)
{
	if (n > PG_INT32_MAX)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("cannot look up %lld ids at once", (long long) n)));
	return PointerGetDatum(construct_array(unconstify(Datum *, (const Datum *) ids), (int) n,
										   INT8OID, sizeof(int64), true, TYPALIGN_DOUBLE));
}
