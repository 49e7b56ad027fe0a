/*-------------------------------------------------------------------------
 *
 * verified.h
 *	  The chunk tuples this backend has already checked.
 *
 * src/timeline/verified.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef ECP_VERIFIED_H
#define ECP_VERIFIED_H

#include "postgres.h"

#include "access/htup.h"
#include "utils/rel.h"

extern bool ecp_chunk_verified(Relation rel, HeapTuple tup);
extern void ecp_chunk_mark_verified(Relation rel, HeapTuple tup);

#endif							/* ECP_VERIFIED_H */
