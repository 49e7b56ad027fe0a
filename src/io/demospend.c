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

#include "access/xact.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"

#include "io/demospend.h"
#include "timeline/summary.h"

/*
 * ecp_demo_load_spend
 *		Insert the demo store's spend (rows already there are kept); the
 *		number of rows added.  Each customer's first order (day, channel,
 *		campaign) comes from the timeline, which sees the rows the
 *		generator has just loaded in this transaction.
 */
int64
ecp_demo_load_spend(void)
{
	static const EcpDimension dims[2] = {ECP_DIM_ACQUISITION_CHANNEL,
	ECP_DIM_UTM_CAMPAIGN};
	const char *sql =
		"WITH firsts AS ("
		"    SELECT f.day, f.acquisition_channel, f.utm_campaign"
		"      FROM ROWS FROM (pg_catalog.unnest($1::pg_catalog.date[]),"
		"                      pg_catalog.unnest($2::pg_catalog.text[]),"
		"                      pg_catalog.unnest($3::pg_catalog.text[]))"
		"           AS f (day, acquisition_channel, utm_campaign)),"
		" acquired AS ("
		"    SELECT k.dimension, k.key, f.day, pg_catalog.count(*) AS n"
		"      FROM firsts AS f"
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
	Oid			argtypes[3] = {DATEARRAYOID, TEXTARRAYOID, TEXTARRAYOID};
	Datum		args[3];
	EcpFirstOrder *firsts;
	int64		nfirsts;
	Datum	   *days;
	Datum	   *values[2];
	bool	   *nulls[2];
	int			dim1[1];
	int			lb1[1] = {1};
	int64		n;

	/* the loaded rows are visible to a snapshot taken after them */
	CommandCounterIncrement();
	PushCopiedSnapshot(GetActiveSnapshot());
	UpdateActiveSnapshotCommandId();
	firsts = ecp_first_orders(dims, lengthof(dims), &nfirsts);
	PopActiveSnapshot();
	if (nfirsts > (int64) MaxArraySize)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("too many customers for the demo spend: %lld",
						(long long) nfirsts)));

	days = palloc_extended(sizeof(Datum) * Max(nfirsts, 1), MCXT_ALLOC_HUGE);
	for (int d = 0; d < 2; d++)
	{
		values[d] = palloc_extended(sizeof(Datum) * Max(nfirsts, 1), MCXT_ALLOC_HUGE);
		nulls[d] = palloc_extended(sizeof(bool) * Max(nfirsts, 1), MCXT_ALLOC_HUGE);
	}
	for (int64 i = 0; i < nfirsts; i++)
	{
		days[i] = DateADTGetDatum(firsts[i].day);
		for (int d = 0; d < 2; d++)
		{
			nulls[d][i] = firsts[i].value[d] == NULL;
			values[d][i] = nulls[d][i] ? (Datum) 0
				: PointerGetDatum(cstring_to_text(firsts[i].value[d]));
		}
	}
	dim1[0] = (int) nfirsts;
	args[0] = PointerGetDatum(construct_md_array(days, NULL, 1, dim1, lb1, DATEOID,
												 sizeof(DateADT), true, TYPALIGN_INT));
	for (int d = 0; d < 2; d++)
		args[d + 1] = PointerGetDatum(construct_md_array(values[d], nulls[d], 1, dim1, lb1,
														 TEXTOID, -1, false, TYPALIGN_INT));

	SPI_connect();
	if (SPI_execute_with_args(sql, 3, argtypes, args, NULL, false, 0) != SPI_OK_INSERT)
		elog(ERROR, "could not write ecpower.acquisition_spend");
	n = (int64) SPI_processed;
	SPI_finish();
	return n;
}
