/*-------------------------------------------------------------------------
 *
 * rfm.c
 *	  RFM scores and groups (README "RFM").
 *
 * Over the customers with at least one counted order (N of them), each
 * score is 1 + floor(5 * (rank() - 1) / N) of a measure: R over days since
 * the last order descending (fewer days, higher score), F over the order
 * count and M over net revenue, both ascending.  rank() - 1 of a row is
 * the number of rows ordered strictly before it, so tied customers share
 * the lowest score of their range: in a store where most buyers ordered
 * once, every one-time buyer has F = 1.  With k rows strictly before, the
 * score is 1 + 5k / N in integer division, which is exact.
 *
 * FM = floor((F + M + 1) / 2), and the group comes from the table in
 * README "RFM"; customers without a counted order are "prospects".
 *
 * src/segments/rfm.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "miscadmin.h"
#include "utils/memutils.h"

#include "segments/definition.h"
#include "segments/rfm.h"

/* group ids, as in ecp_rfm_group_names */
enum
{
	G_NEW, G_ACTIVE, G_CHAMPIONS, G_PROMISING, G_LOYAL, G_NEEDS_ATTENTION,
	G_ALMOST_LOST, G_AT_RISK, G_DORMANT, G_PREVIOUSLY_LOYAL
};

/* the RFM grid: rows R = 5 .. 1, columns FM = 1 .. 5 */
static const uint8 rfm_table[5][5] = {
	/* R=5 */ {G_NEW, G_NEW, G_ACTIVE, G_CHAMPIONS, G_CHAMPIONS},
	/* R=4 */ {G_PROMISING, G_PROMISING, G_ACTIVE, G_LOYAL, G_LOYAL},
	/* R=3 */ {G_NEEDS_ATTENTION, G_NEEDS_ATTENTION, G_NEEDS_ATTENTION, G_LOYAL, G_LOYAL},
	/* R=2 */ {G_ALMOST_LOST, G_ALMOST_LOST, G_AT_RISK, G_AT_RISK, G_AT_RISK},
	/* R=1 */ {G_DORMANT, G_DORMANT, G_ALMOST_LOST, G_PREVIOUSLY_LOYAL, G_PREVIOUSLY_LOYAL}
};

/*
 * ecp_rfm_group
 *		Group id (index into ecp_rfm_group_names) of scores r and fm (1..5).
 */
int
ecp_rfm_group(int r, int fm)
{
	Assert(r >= 1 && r <= 5 && fm >= 1 && fm <= 5);
	return rfm_table[5 - r][fm - 1];
}

/* sort keys: (value, customer index) */
typedef struct Keyed
{
	int64		v;
	int32		c;
} Keyed;

/* qsort comparator of Keyed by value */
static int
cmp_keyed(const void *a, const void *b)
{
	const Keyed *x = a;
	const Keyed *y = b;

	return (x->v > y->v) - (x->v < y->v);
}

/*
 * score 'n' keyed customers by 1 + floor(5 * (rank() - 1) / n) over v ascending,
 * writing the score at offset 'which' (0 r, 1 f, 2 m) of out[c]
 */
static void
score(Keyed *keys, int64 n, EcpRfm *out, int which)
{
	int64		i = 0;

	qsort(keys, n, sizeof(Keyed), cmp_keyed);
	while (i < n)
	{
		int64		j = i;
		uint8		s;

		CHECK_FOR_INTERRUPTS();
		while (j + 1 < n && keys[j + 1].v == keys[i].v)
			j++;
		/* rows i..j are peers; i rows are ordered before them */
		s = (uint8) (1 + (5 * i) / n);
		for (int64 k = i; k <= j; k++)
		{
			EcpRfm	   *o = &out[keys[k].c];

			if (which == 0)
				o->r = s;
			else if (which == 1)
				o->f = s;
			else
				o->m = s;
		}
		i = j + 1;
	}
}

/*
 * ecp_rfm_scores
 *		Scores and groups for 'ncust' customers; customer c has
 *		cust_start[c + 1] - cust_start[c] counted orders, recency[c] days
 *		since the last one and revenue[c] net cents.  out[c].r == 0 and
 *		group prospects for customers without a counted order.
 */
void
ecp_rfm_scores(int32 ncust, const int64 *cust_start, const int32 *recency,
			   const int64 *revenue, EcpRfm *out)
{
	Keyed	   *keys = palloc_extended(sizeof(Keyed) * Max(ncust, 1), MCXT_ALLOC_HUGE);
	int64		n;

	for (int which = 0; which < 3; which++)
	{
		n = 0;
		for (int32 c = 0; c < ncust; c++)
		{
			int64		cnt = cust_start[c + 1] - cust_start[c];

			if (cnt == 0)
				continue;
			keys[n].c = c;
			/* R: days descending, so ascending over -days */
			keys[n].v = which == 0 ? -(int64) recency[c] :
				which == 1 ? cnt : revenue[c];
			n++;
		}
		if (n > 0)
			score(keys, n, out, which);
	}
	for (int32 c = 0; c < ncust; c++)
	{
		EcpRfm	   *o = &out[c];

		if (cust_start[c + 1] == cust_start[c])
		{
			memset(o, 0, sizeof(EcpRfm));
			o->group = ECP_RFM_PROSPECTS;
			continue;
		}
		o->fm = (uint8) ((o->f + o->m + 1) / 2);
		o->group = (uint8) ecp_rfm_group(o->r, o->fm);
	}
	pfree(keys);
}
