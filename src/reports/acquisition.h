/*-------------------------------------------------------------------------
 *
 * acquisition.h
 *	  Acquisition quality and next purchases (docs/analyses.md): the value
 *	  groups both reports count customers by.
 *
 * A report fetched with ecp_report_fetch() carries interned values; text
 * values group case-insensitively (the key is the lower-case spelling, the
 * label the spelling most counted customers carry), other values are their
 * own group (product ids, months, weekdays, hours).
 *
 * src/reports/acquisition.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef ACQUISITION_H
#define ACQUISITION_H

#include "reports/report.h"

typedef struct EcpGroups
{
	EcpDimension dim;
	EcpValueKind kind;
	EcpValueDict *dict;			/* the fetched values */
	int32		ngroups;
	int32	   *group_of;		/* by value id */
	char	  **key;			/* by group */
	int64	   *num;			/* by group: the number of a non-text key */
	int64	   *exact_count;	/* by value id: customers counted with it */
	int32	   *exact_seen;		/* by value id: last customer counted */
} EcpGroups;

extern EcpDimension ecp_parse_analysis_dimension(text *dimension);
extern EcpGroups *ecp_groups_build(EcpValueDict *dict, EcpDimension dim);
extern int	ecp_groups_cmp(const EcpGroups *g, int32 a, int64 count_a,
						   int32 b, int64 count_b);
extern char **ecp_groups_labels(EcpGroups *g, const int32 *groups, int n);

/* count value id e for customer c (once per customer), for the labels */
static inline void
ecp_groups_note(EcpGroups *g, int32 e, int32 c)
{
	if (g->exact_seen[e] != c)
	{
		g->exact_seen[e] = c;
		g->exact_count[e]++;
	}
}

#endif							/* ACQUISITION_H */
