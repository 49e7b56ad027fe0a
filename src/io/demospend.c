/*-------------------------------------------------------------------------
 *
 * demospend.c
 *	  Daily marketing spend for the demo store, loaded into
 *	  ecpower.acquisition_spend by ecpower.generate_demo_store()
 *	  (docs/analyses.md "The demo store's spend").
 *
 * The spend follows the customers each paid acquisition channel and UTM
 * campaign brought in: every day of a key's active span (its first to its
 * last acquisition) costs a per-customer rate times the key's acquisitions
 * of the week around that day (7-day average), times a deterministic
 * +-25 % daily wobble (OPERATOR() calls below all share one precedence,
 * hence the parentheses).  Rates are typical DTC costs per acquired customer:
 * paid social 80 (prospecting 90, retargeting 40, seasonal sales 55), paid
 * search 45 (brand search 25, shopping 60, non-brand 85), influencers 95,
 * affiliates 35, email and SMS a few units for the sending platform; organic, direct, referral and in-store acquisitions
 * cost nothing.  Money is in the store currency.  The same store gives the
 * same spend, byte for byte.
 *
 * src/io/demospend.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "executor/spi.h"

#include "io/demospend.h"

/*
 * ecp_demo_load_spend
 *		Insert the demo store's spend (rows already there are kept); the
 *		number of rows added.
 */
int64
ecp_demo_load_spend(void)
{
	const char *sql =
		"WITH firsts AS ("
		"    SELECT DISTINCT ON (o.customer_id) o.customer_id, o.ordered_at,"
		"           o.acquisition_channel, o.utm_campaign"
		"      FROM ecpower.orders AS o"
		"     WHERE o.cancelled_at IS NULL"
		"     ORDER BY o.customer_id, o.ordered_at, o.order_id),"
		" acquired AS ("
		"    SELECT k.dimension, k.key,"
		"           (f.ordered_at AT TIME ZONE st.store_timezone)::pg_catalog.date AS day,"
		"           pg_catalog.count(*) AS n"
		"      FROM firsts AS f CROSS JOIN ecpower.settings AS st"
		"     CROSS JOIN LATERAL (VALUES ('acquisition_channel', f.acquisition_channel),"
		"                                ('utm_campaign', f.utm_campaign)) AS k (dimension, key)"
		"     WHERE k.key IS NOT NULL"
		"     GROUP BY 1, 2, 3),"
		" rates AS ("
		"    SELECT a.dimension, a.key, pg_catalog.min(a.day) AS lo, pg_catalog.max(a.day) AS hi,"
		"           CASE WHEN a.dimension OPERATOR(pg_catalog.=) 'acquisition_channel' THEN"
		"                CASE a.key WHEN 'paid_social' THEN 80 WHEN 'paid_search' THEN 45"
		"                           WHEN 'influencer' THEN 95 WHEN 'affiliate' THEN 35"
		"                           WHEN 'email' THEN 4 WHEN 'sms' THEN 6 ELSE 0 END"
		"                WHEN a.key OPERATOR(pg_catalog.=) 'brand_search' THEN 25"
		"                WHEN a.key OPERATOR(pg_catalog.~~) 'shopping\\_%' THEN 60"
		"                WHEN a.key OPERATOR(pg_catalog.~~) 'nonbrand\\_%' THEN 85"
		"                WHEN a.key OPERATOR(pg_catalog.~~) 'prospecting\\_%' THEN 90"
		"                WHEN a.key OPERATOR(pg_catalog.~~) 'retargeting\\_%' THEN 40"
		"                WHEN a.key OPERATOR(pg_catalog.~~) 'creator\\_%' THEN 95"
		"                WHEN a.key OPERATOR(pg_catalog.~~) 'partner\\_%' THEN 35"
		"                WHEN a.key OPERATOR(pg_catalog.~~) 'newsletter\\_%' THEN 2"
		"                WHEN a.key OPERATOR(pg_catalog.~) '_[0-9]{4}$' THEN 55"
		"                ELSE 3 END AS rate"
		"      FROM acquired AS a GROUP BY 1, 2),"
		" daily AS ("
		"    SELECT r.dimension, r.key, d.day::pg_catalog.date AS day, r.rate,"
		"           pg_catalog.sum(COALESCE(a.n, 0)) OVER ("
		"               PARTITION BY r.dimension, r.key ORDER BY d.day"
		"               ROWS BETWEEN 3 PRECEDING AND 3 FOLLOWING) AS week"
		"      FROM rates AS r"
		"     CROSS JOIN LATERAL pg_catalog.generate_series(r.lo::pg_catalog.timestamp,"
		"                                                   r.hi::pg_catalog.timestamp,"
		"                                                   '1 day') AS d (day)"
		"      LEFT JOIN acquired AS a ON a.dimension OPERATOR(pg_catalog.=) r.dimension"
		"                             AND a.key OPERATOR(pg_catalog.=) r.key"
		"                             AND a.day OPERATOR(pg_catalog.=) d.day::pg_catalog.date"
		"     WHERE r.rate OPERATOR(pg_catalog.>) 0)"
		" INSERT INTO ecpower.acquisition_spend (dimension, key, spend_date, amount)"
		" SELECT x.dimension, x.key, x.day, x.amount"
		"   FROM (SELECT dl.dimension, dl.key, dl.day,"
		"                pg_catalog.round(((dl.rate OPERATOR(pg_catalog.*) dl.week)"
		"                                  OPERATOR(pg_catalog./) 7.0)"
		"                    OPERATOR(pg_catalog.*) (0.75 OPERATOR(pg_catalog.+)"
		"                        ((pg_catalog.hashtext(dl.key OPERATOR(pg_catalog.||) dl.day::pg_catalog.text)"
		"                          OPERATOR(pg_catalog.&) 1023) OPERATOR(pg_catalog./) 2046.0)), 2) AS amount"
		"           FROM daily AS dl) AS x"
		"  WHERE x.amount OPERATOR(pg_catalog.>) 0"
		" ON CONFLICT DO NOTHING";
	int64		n;

	SPI_connect();
	if (SPI_execute(sql, false, 0) != SPI_OK_INSERT)
		elog(ERROR, "could not write ecpower.acquisition_spend");
	n = (int64) SPI_processed;
	SPI_finish();
	return n;
}
