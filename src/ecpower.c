/*-------------------------------------------------------------------------
 *
 * ecpower.c
 *	  Module entry point of the ecpower extension.
 *
 * Each concept lives in its own file with its own header, in a folder per
 * layer.  A layer uses only its own headers and those of the layers below
 * it (tools/check_layout.sh checks this):
 *
 *	core/		settings, store-local calendar, money in cents, catalog
 *				helpers (store.c); membership bitmaps and their format
 *				(bitmap.c); growable arrays (arrays.c); the privilege and
 *				row security check of the readers of input tables (access.c)
 *	timeline/	customer keys (customers.c) and the map of them a refresh
 *				keeps (keystore.c), and the counted orders of every
 *				customer: the timeline's input, the module that reads the
 *				order tables (input.c), the order cache that a refresh
 *				keeps (ordercache.c), the chunks a session has checked
 *				(verified.c), what each kept order carries (values.c),
 *				gross profit of orders read outside the cache
 *				(orderprofit.c), the counted-order reader of the KPI
 *				reports (orders.c), the order reader of the feature reports
 *				(fetch.c over fetchutil.c, valuedict.c) and per-customer
 *				summaries (summary.c)
 *	predict/	customer summaries, fits and scores (predict.c), shared
 *				numerics (predict_math.c), the models (models.c over bgnbd.c,
 *				mbgnbd.c, paretonbd.c, gammagamma.c), their comparison and
 *				automatic choice (backtest.c)
 *	segments/	definition language (definition.c, defjson.c), its size
 *				limits (limits.c), one-pass evaluation (evaluate.c over
 *				evalscan.c and evalorders.c), RFM (rfm.c, rfmstore.c),
 *				membership and its history (membership.c)
 *	reports/	the kpis aggregate and KPI row (kpi.c, kpi_report.c), cohorts
 *				(cohort.c), journeys (journey.c), feature reports (report.c)
 *				with the store figures a session keeps (storestats.c),
 *				distributions (distribution.c), bought-together (basket.c)
 *	activation/	the tag-change feed and customer export (activation.c)
 *	refresh/	the refresh: evaluation, RFM, membership and KPI snapshots of
 *				one run (refresh.c)
 *	io/			the CSV reader (csv.c) and the Shopify CSV importers
 *				(shopify.c, shopify_orders.c, shopify_customers.c) with the
 *				upsert they share with the API pull (shopify_upsert.c), HTTPS
 *				(http.c) and the Shopify Admin API connection, pull and tag
 *				push (shopify_conn.c, shopify_bulk.c, shopify_pull.c,
 *				shopify_push.c), the demo generator (demo.c, demostore.c,
 *				demoload.c)
 *
 * src/ecpower.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "fmgr.h"

#include "core/ecpower.h"

PG_MODULE_MAGIC;

void		_PG_init(void);

/*
 * Module load callback.  No module keeps process-wide state or defines a
 * setting yet, so there is nothing to initialise.
 */
void
_PG_init(void)
{
}
