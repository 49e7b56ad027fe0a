/*-------------------------------------------------------------------------
 *
 * limits.h
 *	  Size limits of segment definitions, per definition and per store.
 *
 * src/segments/limits.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef ECP_LIMITS_H
#define ECP_LIMITS_H

#include "postgres.h"

#include "datatype/timestamp.h"
#include "fmgr.h"
#include "utils/jsonb.h"

/*
 * Each order FILTER of a definition costs one bit per order in the
 * refresh's order cache and in its evaluation, so the number of filters is
 * what a definition's cost follows; the text size bounds parsing.
 */
#define ECP_MAX_DEFINITION_FILTERS	100
#define ECP_MAX_STORE_FILTERS		400
#define ECP_MAX_DEFINITION_BYTES	65536
#define ECP_MAX_STORE_BYTES			(1024 * 1024)
#define ECP_MAX_SYNC_TAG_CHARS		255		/* Shopify's tag limit */

extern int	ecp_definition_filters(Jsonb *def);
extern void ecp_check_definition_limits(Jsonb *def);
extern void ecp_adhoc_arguments(FunctionCallInfo fcinfo, Jsonb **def,
								TimestampTz *as_of);

#endif							/* ECP_LIMITS_H */
