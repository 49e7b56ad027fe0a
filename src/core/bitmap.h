/*-------------------------------------------------------------------------
 *
 * bitmap.h
 *	  Roaring bitmaps of customer keys owned by memory contexts, and their
 *	  stored format.
 *
 * src/core/bitmap.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef ECP_BITMAP_H
#define ECP_BITMAP_H

#include "postgres.h"

#include <roaring/roaring.h>

extern roaring_bitmap_t *ecp_bitmap_create(void);
extern roaring_bitmap_t *ecp_bitmap_own(roaring_bitmap_t *r);
extern uint64 *ecp_bitmap_bits(roaring_bitmap_t *r, int32 nbits);
extern bytea *ecp_bitmap_serialize(roaring_bitmap_t *r);
extern roaring_bitmap_t *ecp_bitmap_deserialize(bytea *b, const char *source);

#endif							/* ECP_BITMAP_H */
