/*-------------------------------------------------------------------------
 *
 * rfm.h
 *	  RFM scores and groups (README "RFM").
 *
 * src/segments/rfm.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef ECP_RFM_H
#define ECP_RFM_H

#include "postgres.h"

#include "segments/evaluate.h"

extern int	ecp_rfm_group(int r, int fm);
extern void ecp_rfm_scores(int32 ncust, const int64 *cust_start,
						   const int32 *recency, const int64 *revenue,
						   EcpRfm *out);

#endif							/* ECP_RFM_H */
