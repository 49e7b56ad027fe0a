/*-------------------------------------------------------------------------
 *
 * demospend.h
 *	  Marketing spend of the demo store (docs/analyses.md "The demo store's
 *	  spend").
 *
 * src/io/demospend.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef ECPOWER_DEMOSPEND_H
#define ECPOWER_DEMOSPEND_H

#include "postgres.h"

extern int64 ecp_demo_load_spend(void);

#endif							/* ECPOWER_DEMOSPEND_H */
