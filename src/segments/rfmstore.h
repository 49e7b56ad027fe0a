/*-------------------------------------------------------------------------
 *
 * rfmstore.h
 *	  Storage of the last refresh's RFM (README "RFM") in packed blocks.
 *
 * src/segments/rfmstore.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef ECP_RFMSTORE_H
#define ECP_RFMSTORE_H

#include "postgres.h"

#include "segments/evaluate.h"

extern void ecp_rfm_store(EcpEval *ev, int64 run_id);

#endif							/* ECP_RFMSTORE_H */
