/*-------------------------------------------------------------------------
 *
 * cohort.h
 *	  Acquisition cohorts of a segment's members (README "KPIs, cohorts and journeys").
 *
 * A cohort is the store-local month of a member's first counted order.
 * ecpower.cohorts() returns retention and cumulative LTV per cohort and
 * month offset (long format, for a heat map); ecpower.cohort_summary()
 * returns 3/6/12-month LTV and F2 conversion per cohort, NULL until the
 * window has fully elapsed.
 *
 * src/reports/cohort.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef COHORT_H
#define COHORT_H

#include "postgres.h"

#include "fmgr.h"

extern Datum cohorts(PG_FUNCTION_ARGS);
extern Datum cohort_summary(PG_FUNCTION_ARGS);

#endif							/* COHORT_H */
