/*-------------------------------------------------------------------------
 *
 * storestats.c
 *	  The whole store's figures of a feature report (store customers per
 *	  value, the share's denominator, the label most customers carry), kept
 *	  in this backend while the data they come from is unchanged.
 *
 * A feature report of a segment needs the same figures for the whole store
 * (store_share, lift), which cost a pass over every customer's orders.  A
 * dashboard asks for several segments over the same dimension: the first
 * call computes the store's figures with its own, and the next calls of
 * the session read only the segment's orders and take the store's figures
 * from here.
 *
 * The figures are valid for one refresh run, one snapshot of the change
 * log (its largest id and row count: between refreshes rows are only
 * added, and a refresh starts a new run), one store time zone, and the
 * report's dimension, variant and period.  Dimensions of customer
 * attributes (tags, geography) are not kept: an UPDATE of a customer is not
 * logged.  Nothing is kept or used in a transaction that has written
 * anything, whose own uncommitted log rows other sessions do not see.  At
 * most MAX_KEPT figures are kept, the least recently used going first.
 *
 * src/reports/storestats.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "executor/spi.h"
#include "utils/memutils.h"

#include "core/ecpower.h"
#include "reports/storestats.h"

#define MAX_KEPT 16

static EcpStoreStats *kept[MAX_KEPT];
static uint64 used[MAX_KEPT];
static uint64 use_clock;
static MemoryContext kept_cxt = NULL;

/*
 * ecp_store_stats_key
 *		The key of a report's store figures; false when they are not to be
 *		kept (a dimension of customer attributes, or a transaction that has
 *		written).
 */
bool
ecp_store_stats_key(EcpStoreStatsKey *key, const EcpFetchSpec *spec, const EcpRun *run)
{
	bool		isnull;

	switch (spec->dimension)
	{
		case ECP_DIM_CUSTOMER_TAG:
		case ECP_DIM_COUNTRY:
		case ECP_DIM_PROVINCE:
		case ECP_DIM_CITY:
			return false;
		default:
			break;
	}
	if (TransactionIdIsValid(GetTopTransactionIdIfAny()))
		return false;
	memset(key, 0, sizeof(EcpStoreStatsKey));
	key->dim = spec->dimension;
	key->variant = spec->variant;
	key->has_from = spec->has_from;
	key->has_to = spec->has_to;
	key->from = spec->has_from ? spec->from : 0;
	key->to = spec->has_to ? spec->to : 0;
	key->run_id = run->run_id;
	strlcpy(key->tz, spec->cal->tzname, sizeof(key->tz));

	SPI_connect();
	if (SPI_execute("SELECT pg_catalog.max(c.change_id), pg_catalog.count(*)"
					" FROM ecpower.order_changes AS c", true, 1) != SPI_OK_SELECT ||
		SPI_processed != 1)
		elog(ERROR, "could not read ecpower.order_changes");
	key->log_max = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc,
											   1, &isnull));
	if (isnull)
		key->log_max = 0;
	key->log_count = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc,
												 2, &isnull));
	SPI_finish();
	return true;
}

/*
 * ecp_store_stats_lookup
 *		The kept figures of this key, or NULL.
 */
const EcpStoreStats *
ecp_store_stats_lookup(const EcpStoreStatsKey *key)
{
	for (int i = 0; i < MAX_KEPT; i++)
	{
		if (kept[i] != NULL && memcmp(&kept[i]->key, key, sizeof(EcpStoreStatsKey)) == 0)
		{
			used[i] = ++use_clock;
			return kept[i];
		}
	}
	return NULL;
}

/*
 * ecp_store_stats_new
 *		Empty figures for n groups, in a context of their own (the caller
 *		fills them in key order, then keeps them).
 */
EcpStoreStats *
ecp_store_stats_new(const EcpStoreStatsKey *key, bool is_text, int32 n)
{
	MemoryContext cxt;
	EcpStoreStats *s;

	if (kept_cxt == NULL)
		kept_cxt = AllocSetContextCreate(TopMemoryContext, "ecpower store figures",
										 ALLOCSET_SMALL_SIZES);
	cxt = AllocSetContextCreate(kept_cxt, "ecpower store figures of a report",
								ALLOCSET_DEFAULT_SIZES);
	s = MemoryContextAllocZero(cxt, sizeof(EcpStoreStats));
	s->key = *key;
	s->cxt = cxt;
	s->is_text = is_text;
	s->n = n;
	s->count = MemoryContextAllocZero(cxt, sizeof(int64) * Max(n, 1));
	if (is_text)
	{
		s->text = MemoryContextAllocZero(cxt, sizeof(char *) * Max(n, 1));
		s->label = MemoryContextAllocZero(cxt, sizeof(char *) * Max(n, 1));
	}
	else
		s->num = MemoryContextAllocZero(cxt, sizeof(int64) * Max(n, 1));
	return s;
}

/*
 * ecp_store_stats_keep
 *		Keep filled-in figures (sorted by key), replacing those of the same
 *		key, or a free slot, or the least recently used.
 */
void
ecp_store_stats_keep(EcpStoreStats *stats)
{
	int			slot = 0;

	for (int i = 0; i < MAX_KEPT; i++)
	{
		if (kept[i] != NULL && memcmp(&kept[i]->key, &stats->key, sizeof(EcpStoreStatsKey)) == 0)
		{
			slot = i;			/* the same figures again: replace them */
			break;
		}
		if (kept[i] == NULL)
		{
			slot = i;
			break;
		}
		if (used[i] < used[slot])
			slot = i;
	}
	if (kept[slot] != NULL)
		MemoryContextDelete(kept[slot]->cxt);
	kept[slot] = stats;
	used[slot] = ++use_clock;
}

/*
 * ecp_store_stats_find
 *		The index of a group (by folded text, or by num), or -1.
 */
int32
ecp_store_stats_find(const EcpStoreStats *stats, const char *text, int64 num)
{
	int32		lo = 0;
	int32		hi = stats->n - 1;

	while (lo <= hi)
	{
		int32		mid = lo + (hi - lo) / 2;
		int			c;

		if (stats->is_text)
			c = strcmp(stats->text[mid], text);
		else
			c = (stats->num[mid] > num) - (stats->num[mid] < num);
		if (c == 0)
			return mid;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid - 1;
	}
	return -1;
}
