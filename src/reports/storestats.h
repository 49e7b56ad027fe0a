/*-------------------------------------------------------------------------
 *
 * storestats.h
 *	  The whole store's figures of a feature report, kept in this backend
 *	  while the data they come from is unchanged.
 *
 * src/reports/storestats.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef ECP_STORESTATS_H
#define ECP_STORESTATS_H

#include "postgres.h"

#include "reports/report.h"

/* what a feature report's store figures depend on */
typedef struct EcpStoreStatsKey
{
	EcpDimension dim;
	EcpVariant	variant;
	bool		has_from;
	bool		has_to;
	DateADT		from;
	DateADT		to;
	int64		run_id;			/* the refresh the report answers for */
	int64		log_max;		/* the change log as this snapshot sees it */
	int64		log_count;
	char		tz[TZ_STRLEN_MAX + 1];	/* the store time zone */
} EcpStoreStatsKey;

/* per value group: store customers and the label they carry most */
typedef struct EcpStoreStats
{
	EcpStoreStatsKey key;
	MemoryContext cxt;
	bool		is_text;
	int64		den;			/* the share's denominator */
	int32		n;				/* groups, sorted by text or num */
	char	  **text;			/* is_text: folded key */
	int64	   *num;			/* !is_text: numeric key */
	int64	   *count;
	char	  **label;			/* is_text: the spelling most customers carry */
} EcpStoreStats;

extern bool ecp_store_stats_key(EcpStoreStatsKey *key, const EcpFetchSpec *spec,
								const EcpRun *run);
extern const EcpStoreStats *ecp_store_stats_lookup(const EcpStoreStatsKey *key);
extern EcpStoreStats *ecp_store_stats_new(const EcpStoreStatsKey *key, bool is_text,
										  int32 n);
extern void ecp_store_stats_keep(EcpStoreStats *stats);
extern int32 ecp_store_stats_find(const EcpStoreStats *stats, const char *text,
								  int64 num);

#endif							/* ECP_STORESTATS_H */
