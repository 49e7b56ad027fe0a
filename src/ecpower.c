/*-------------------------------------------------------------------------
 *
 * ecpower.c
 *	  Module entry point of the ecpower extension.
 *
 * Each concept lives in its own file with its own header; _PG_init only
 * calls their initialisers.  Where to look:
 *
 *	store.c			settings, store-local calendar, money in cents
 *	membership.c	customer keys, membership bitmaps and history, runs
 *	definition.c	segment definition language: parse, validate, compile
 *	evaluate.c		one-pass evaluation of every segment
 *	rfm.c			RFM scores and groups
 *	refresh.c		the refresh procedure's C side
 *	kpi.c			the kpis aggregate; kpi_report.c, orders.c: segment KPIs
 *	cohort.c, journey.c	cohorts and journeys
 *	report.c, reportdata.c, distribution.c, basket.c	feature reports
 *	csv.c, shopify.c, activation.c	Shopify import, tag feed, export
 *	predict.c, bgnbd.c, gammagamma.c, predict_math.c	predicted value
 *	demo.c			deterministic demo store generator
 *
 * src/ecpower.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "fmgr.h"

#include "ecpower.h"

PG_MODULE_MAGIC;

void		_PG_init(void);

/*
 * Module load callback
 */
void
_PG_init(void)
{
}
