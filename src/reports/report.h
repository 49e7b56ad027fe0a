/*-------------------------------------------------------------------------
 *
 * report.h
 *	  Feature reports, distributions and bought-together pairs (README "Feature reports"):
 *	  the selected orders of a set of customers and the values they carry.
 *
 * Every report works in two steps:
 *
 *	1. ecp_report_fetch() (timeline/fetch.c) reads the counted orders of the
 *	   wanted customers as of the last refresh, numbers each customer's
 *	   orders 1..n by (ordered_at, order_id), marks the orders the variant
 *	   and period select, and attaches to every selected order the values
 *	   of one dimension (interned in an EcpValueDict) and, on request, its
 *	   item count.  This is the only place of the reports that reads
 *	   orders: from the customer timeline when it is current, else from
 *	   the tables (docs/timeline.md).
 *
 *	2. The report walks the result customer by customer and counts each
 *	   value once per customer ("last seen" stamps, no per-value sets).
 *
 * src/reports/report.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef REPORT_H
#define REPORT_H

#include "postgres.h"

#include <roaring/roaring.h>

#include "fmgr.h"

#include "core/ecpower.h"
#include "segments/membership.h"
#include "timeline/fetch.h"

/* report.c: argument parsing shared by the report functions */
extern EcpVariant ecp_parse_variant(text *variant);
extern EcpDimension ecp_parse_dimension(text *dimension);
extern void ecp_parse_period(FunctionCallInfo fcinfo, int from_arg, int to_arg,
							 EcpFetchSpec *spec);

/*
 * The members a report answers for, as of the last refresh.  For the whole
 * store (NULL slug) members is NULL and every fetched customer is a member.
 */
typedef struct EcpReportMembers
{
	EcpRun		run;
	roaring_bitmap_t *members;	/* NULL: the whole store */
	bool	   *is_member;		/* by ckey, max_ckey + 1 entries; NULL: all */
	int32		max_ckey;
	int64		count;			/* |members| (segments only) */
} EcpReportMembers;

extern void ecp_report_resolve_members(text *slug, EcpReportMembers *m);
extern void ecp_report_begin(FunctionCallInfo fcinfo, int slug_arg,
							 bool members_only, EcpReportMembers *m,
							 EcpFetchSpec *spec);
extern Datum ecp_report_ratio(int64 num, int64 den);

/*
 * Denominators (README "Feature reports"): all members for all/first/latest, members with >= 2
 * counted orders for second/repeat.
 */
static inline bool
ecp_variant_counts_repeaters(EcpVariant variant)
{
	return variant == ECP_VARIANT_SECOND || variant == ECP_VARIANT_REPEAT;
}

#endif							/* REPORT_H */
