/*-------------------------------------------------------------------------
 *
 * journey.c
 *	  ecpower.journey(slugs, from, to) (README "KPIs, cohorts and journeys").
 *
 * Membership on day D is the one stored by the refresh for as_of_date D.
 * Every customer in a listed segment on either day is placed in each listed
 * segment it belongs to on 'from' (or in "none") and likewise on 'to'; each
 * pair of states counts it once and adds its net revenue of counted orders
 * (as of the last refresh) dated in (from, to].
 *
 * src/reports/journey.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"

#include "core/access.h"
#include "core/bitmap.h"
#include "core/ecpower.h"
#include "reports/journey.h"
#include "reports/kpi.h"
#include "segments/membership.h"
#include "timeline/orders.h"

PG_FUNCTION_INFO_V1(journey);

/* most segments one journey lists */
#define MAX_JOURNEY_SEGMENTS	1000

/* 22023 unless a successful refresh ran for the day or a backfill stored it */
static void
require_refreshed_day(DateADT day)
{
	Oid			argtypes[1] = {DATEOID};
	Datum		args[1];
	bool		found;

	args[0] = DateADTGetDatum(day);
	SPI_connect();
	if (SPI_execute_with_args("SELECT 1 FROM ecpower.refresh_runs"
							  " WHERE as_of_date OPERATOR(pg_catalog.=) $1"
							  "   AND status OPERATOR(pg_catalog.=) 'succeeded'"
							  " UNION ALL "
							  "SELECT 1 FROM ecpower.kpi_snapshots AS k"
							  "  JOIN ecpower.refresh_runs AS r"
							  "    ON r.run_id OPERATOR(pg_catalog.=) k.run_id"
							  " WHERE COALESCE(k.segment_id, 0) OPERATOR(pg_catalog.=) 0"
							  "   AND k.day OPERATOR(pg_catalog.=) $1"
							  "   AND r.status OPERATOR(pg_catalog.=) 'backfilled'",
							  1, argtypes, args, NULL, true, 1) != SPI_OK_SELECT)
		elog(ERROR, "could not read ecpower.refresh_runs");
	found = (SPI_processed > 0);
	SPI_finish();
	if (!found)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("no refresh ran for %s", ecp_date_text(day)),
				 errhint("A journey compares membership stored by refreshes; see ecpower.refresh_runs for the refreshed days.")));
}

/* members of a segment on a refreshed day; 22023 when none is stored */
static roaring_bitmap_t *
members_on_day(const char *slug, int32 segment_id, DateADT day)
{
	roaring_bitmap_t *members = ecp_members_on(segment_id, day);

	if (members == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("no membership of segment \"%s\" is stored for %s",
						slug, ecp_date_text(day)),
				 errdetail("The segment did not exist when the refresh for %s ran.",
						   ecp_date_text(day))));
	return members;
}

/*
 * journey(slugs text[], from_date date, to_date date) RETURNS TABLE
 *		(from_slug text, to_slug text, customers bigint, revenue numeric)
 *		Pairs in the order of the slugs array, "none" (NULL) last; pairs
 *		without customers and none -> none are not returned.
 */
Datum
journey(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	ArrayType  *arr;
	DateADT		from,
				to;
	Datum	   *elems;
	bool	   *enulls;
	int			n;
	char	  **slugs;
	roaring_bitmap_t **on_from;
	roaring_bitmap_t **on_to;
	roaring_bitmap_t *all;
	EcpRun		run;
	EcpCountedSet *os;
	EcpKeySet	ks;
	int64	   *customers;		/* [(n + 1) * (n + 1)], index n = none */
	int64	   *revenue;
	int		   *from_states;
	int		   *to_states;
	uint64	  **bits_from;
	uint64	  **bits_to;

	if (PG_ARGISNULL(0) || PG_ARGISNULL(1) || PG_ARGISNULL(2))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("journey needs slugs, from_date and to_date")));
	arr = PG_GETARG_ARRAYTYPE_P(0);
	from = PG_GETARG_DATEADT(1);
	to = PG_GETARG_DATEADT(2);
	ecp_check_date_range(from, to);
	ecp_slug_array(arr, &elems, &enulls, &n);
	if (n > MAX_JOURNEY_SEGMENTS)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("a journey lists at most %d segments, not %d",
						MAX_JOURNEY_SEGMENTS, n)));

	InitMaterializedSRF(fcinfo, MAT_SRF_USE_EXPECTED_DESC);
	require_refreshed_day(from);
	require_refreshed_day(to);

	slugs = palloc(sizeof(char *) * Max(n, 1));
	on_from = palloc(sizeof(roaring_bitmap_t *) * Max(n, 1));
	on_to = palloc(sizeof(roaring_bitmap_t *) * Max(n, 1));
	all = ecp_bitmap_create();
	for (int i = 0; i < n; i++)
	{
		int32		seg;

		if (enulls[i])
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("slugs must not contain NULL"),
					 errdetail("Customers in none of the listed segments are reported with a NULL slug.")));
		slugs[i] = TextDatumGetCString(elems[i]);
		for (int j = 0; j < i; j++)
			if (strcmp(slugs[i], slugs[j]) == 0)
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("segment \"%s\" is listed twice", slugs[i])));
		seg = ecp_segment_id(slugs[i]);
		on_from[i] = members_on_day(slugs[i], seg, from);
		on_to[i] = members_on_day(slugs[i], seg, to);
		roaring_bitmap_or_inplace(all, on_from[i]);
		roaring_bitmap_or_inplace(all, on_to[i]);
	}

	ecp_check_input_access(ECP_INPUT_ALL);
	ecp_require_current_run(&run);
	os = ecp_counted_orders(ecp_keymap_load(), all, run.as_of, ecp_store_calendar());
	ks = ecp_report_keys(os, all);

	customers = palloc0(sizeof(int64) * (n + 1) * (n + 1));
	revenue = palloc0(sizeof(int64) * (n + 1) * (n + 1));
	from_states = palloc(sizeof(int) * (n + 1));
	to_states = palloc(sizeof(int) * (n + 1));
	/* each day's members as one bit per key: a bit test per customer */
	bits_from = palloc(sizeof(uint64 *) * Max(n, 1));
	bits_to = palloc(sizeof(uint64 *) * Max(n, 1));
	for (int s = 0; s < n; s++)
	{
		bits_from[s] = ecp_bitmap_bits(on_from[s], os->nkeys);
		bits_to[s] = ecp_bitmap_bits(on_to[s], os->nkeys);
	}
	for (int64 i = 0; i < ks.n; i++)
	{
		uint32		k = ks.keys[i];
		int			nfrom = 0;
		int			nto = 0;
		int64		lo,
					hi;
		int64		rev = 0;

		for (int s = 0; s < n; s++)
		{
			if (k < (uint32) os->nkeys && (bits_from[s][k / 64] >> (k % 64)) & 1)
				from_states[nfrom++] = s;
			if (k < (uint32) os->nkeys && (bits_to[s][k / 64] >> (k % 64)) & 1)
				to_states[nto++] = s;
		}
		if (nfrom == 0)
			from_states[nfrom++] = n;
		if (nto == 0)
			to_states[nto++] = n;

		/* orders dated in (from, to] */
		if (from < to)
		{
			ecp_orders_between(os, k, from + 1, to, &lo, &hi);
			for (int64 j = lo; j < hi; j++)
				rev += os->cents[j];
		}
		for (int a = 0; a < nfrom; a++)
			for (int b = 0; b < nto; b++)
			{
				customers[from_states[a] * (n + 1) + to_states[b]]++;
				revenue[from_states[a] * (n + 1) + to_states[b]] += rev;
			}
		if ((i & 0xFFFF) == 0)
			CHECK_FOR_INTERRUPTS();
	}

	for (int a = 0; a <= n; a++)
		for (int b = 0; b <= n; b++)
		{
			Datum		values[4];
			bool		nulls[4] = {false, false, false, false};
			int64		c = customers[a * (n + 1) + b];

			if (c == 0 || (a == n && b == n))
				continue;
			values[0] = a < n ? CStringGetTextDatum(slugs[a]) : (Datum) 0;
			nulls[0] = (a == n);
			values[1] = b < n ? CStringGetTextDatum(slugs[b]) : (Datum) 0;
			nulls[1] = (b == n);
			values[2] = Int64GetDatum(c);
			values[3] = ecp_cents_to_numeric(revenue[a * (n + 1) + b]);
			tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
		}
	return (Datum) 0;
}
