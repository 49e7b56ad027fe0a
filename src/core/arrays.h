/*-------------------------------------------------------------------------
 *
 * arrays.h
 *	  Growable arrays that may pass 1 GB, the int64 comparator, and int8[]
 *	  datums of ids: one copy each for every module.
 *
 * src/core/arrays.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef ECP_ARRAYS_H
#define ECP_ARRAYS_H

#include "postgres.h"

extern int	ecp_cmp_int64(const void *a, const void *b);
extern void *ecp_alloc_array(int64 n, Size elsize, bool zero);
extern void *ecp_grow_array(void *p, int64 *cap, int64 need, Size elsize, bool zero);
extern Datum ecp_id_array(const int64 *ids, int64 n);

#endif							/* ECP_ARRAYS_H */
