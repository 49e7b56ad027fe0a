/*-------------------------------------------------------------------------
 *
 * kpi.h
 *	  The KPI table (README "The KPI row"): an accumulator fed one customer at a time.
 *
 * Every KPI is a function of a few sums over customers, except the median
 * gap and the mean over buyers of their own average order value.  The
 * accumulator keeps the sums, a histogram of gaps in days (exact median
 * without sorting) and revenue sums per order count (customer_aov without
 * a division per customer).  The kpis() aggregate and every report that
 * returns KPI columns feed it the same way:
 *
 *	KpiAcc acc;
 *	kpi_acc_init(&acc);
 *	for each customer: kpi_acc_customer(&acc, days, cents, profit, norders);
 *	kpi_acc_values(&acc, values, nulls);	-- KPI_NCOLUMNS columns
 *
 * src/reports/kpi.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef KPI_H
#define KPI_H

#include "postgres.h"

#include "utils/date.h"

#include "segments/membership.h"
#include "timeline/orders.h"

/* columns of the composite type ecpower.kpi, in order */
#define KPI_NCOLUMNS	14

/* gaps up to this many days are counted in the dense histogram */
#define KPI_GAP_DENSE	36600

/* customers with up to this many orders are summed in the dense array */
#define KPI_ORDERS_DENSE	1024

typedef struct KpiAcc
{
	int64		customers;
	int64		buyers;
	int64		orders;
	int64		revenue;		/* cents */
	int64		profit;			/* gross profit of the costed orders, cents */
	int64		uncosted;		/* orders whose gross profit is unknown */
	int64		repeaters;		/* customers with >= 2 orders */
	int64		lifetime_days;	/* sum over buyers of last - first date */
	int64		ngaps;			/* gaps between consecutive orders */
	int64	   *gap_count;		/* gap_count[i]: gaps of i days, i < gap_cap */
	int64		gap_cap;		/* grows up to KPI_GAP_DENSE + 1 */
	int64	   *big_gaps;		/* gaps above KPI_GAP_DENSE, unsorted */
	int64		nbig_gaps;
	int64		big_gaps_cap;
	int64	   *revenue_by_n;	/* [n]: revenue of buyers with n orders, n < n_cap */
	int64		n_cap;			/* grows up to KPI_ORDERS_DENSE + 1 */
	int64	   *big_n;			/* (orders, revenue) pairs of bigger buyers */
	int64		nbig_n;
	int64		big_n_cap;
} KpiAcc;

extern void kpi_acc_init(KpiAcc *acc);
extern void kpi_acc_customer(KpiAcc *acc, const DateADT *days,
							 const int64 *cents, const int64 *profit, int64 n);
extern void kpi_acc_values(KpiAcc *acc, Datum *values, bool *nulls);

/* numeric helpers shared by the reports */
/* KPI snapshots of a refresh run (kpi_report.c) */
extern void ecp_snapshot_kpis(int64 run_id, EcpCountedSet *os, int nseg,
							  const int32 *seg_ids, roaring_bitmap_t **members);
extern void ecp_snapshot_kpis_day(const EcpRun *day_run, EcpCountedSet *os, int nseg,
								  const int32 *seg_ids, roaring_bitmap_t **members);

extern Datum ecp_ratio(Datum num, Datum den, int scale);
extern Datum ecp_int_ratio(int64 num, int64 den, int scale, bool *isnull);
extern Datum ecp_cents_ratio(int64 cents, int64 den, int scale, bool *isnull);

/* kpi_report.c: scaffolding shared by the KPI, cohort and journey functions */
extern roaring_bitmap_t *ecp_report_members(text *slug, EcpRun *run);
extern void ecp_check_date_range(DateADT from, DateADT to);
extern void ecp_slug_array(ArrayType *arr, Datum **elems, bool **enulls, int *n);

#endif							/* KPI_H */
