/*-------------------------------------------------------------------------
 *
 * journey.h
 *	  Transitions of customers between segments from one refreshed day to
 *	  another (README "KPIs, cohorts and journeys"), for a Sankey diagram.
 *
 * src/reports/journey.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef JOURNEY_H
#define JOURNEY_H

#include "postgres.h"

#include "fmgr.h"

extern Datum journey(PG_FUNCTION_ARGS);

#endif							/* JOURNEY_H */
