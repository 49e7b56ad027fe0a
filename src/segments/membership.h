/*-------------------------------------------------------------------------
 *
 * membership.h
 *	  Customer keys, roaring-bitmap segment membership and refresh runs.
 *
 * Membership is a set of dense customer keys (ecpower.customers.ckey)
 * stored per segment and refreshed day in ecpower.membership.  Every other
 * module reads members through this API:
 *
 *	EcpRun run;
 *	ecp_require_current_run(&run);				-- the last successful refresh
 *	seg = ecp_segment_id(slug);					-- 42704 when unknown
 *	members = ecp_members_on(seg, run.as_of_date);	-- NULL: day not stored
 *
 * Bitmaps are CRoaring objects allocated with malloc.  Every bitmap this API
 * returns is owned by CurrentMemoryContext and freed when that context is
 * reset or deleted (also on error); never roaring_bitmap_free() one.  Wrap
 * bitmaps made by CRoaring calls (roaring_bitmap_or() ...) in
 * ecp_bitmap_own() right away.
 *
 * src/segments/membership.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef MEMBERSHIP_H
#define MEMBERSHIP_H

#include "postgres.h"

#include <roaring/roaring.h>

#include "utils/date.h"
#include "utils/timestamp.h"

#include "core/bitmap.h"
#include "timeline/customers.h"

/* longest run of XOR deltas before a keyframe is stored (membership.c) */
#define ECP_MAX_DELTA_CHAIN		30

/* a refresh run */
typedef struct EcpRun
{
	int64		run_id;
	TimestampTz as_of;
	DateADT		as_of_date;
} EcpRun;

/* refresh runs */
extern bool ecp_current_run(EcpRun *run);
extern void ecp_require_current_run(EcpRun *run);

/* segments and their membership */
extern int32 ecp_segment_id(const char *slug);
extern roaring_bitmap_t *ecp_members_on(int32 segment_id, DateADT day);
extern roaring_bitmap_t *ecp_members_current(int32 segment_id, const char *slug,
											   const EcpRun *run);
extern void ecp_members_store(int32 segment_id, DateADT day, int64 run_id,
							  roaring_bitmap_t *members);
extern void ecp_members_delete_segment(int32 segment_id);

#endif							/* MEMBERSHIP_H */
