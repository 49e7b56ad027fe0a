/*-------------------------------------------------------------------------
 *
 * predict.c
 *	  Predicted customer value: the repeat-purchase summary of every
 *	  customer from the customer timeline, and the SQL entry points of
 *	  the BG/NBD and Gamma-Gamma models (fit, scoring, scalar formulas).
 *
 * The summary follows the literature (and lifetimes' summary_data_from_
 * transaction_data): purchases are whole store-local days, so several
 * orders on one day are one purchase; x = distinct purchase days - 1,
 * t_x = first to last purchase day, T = first purchase day to as_of_date,
 * and the spend of a purchase is the net amount of its day.  The mean
 * repeat spend excludes the first day, as Gamma-Gamma expects.
 *
 * The summary reads the counted orders the timeline gives every report
 * (src/timeline/orders.c: the order cache and the orders changed since, or
 * a scan of ecpower.orders when there is no cache), grouped by customer and
 * in date order, so one linear walk per customer yields x, t_x, T and the
 * spends.
 *
 * Scoring caches the t_x-free part of E[Y(t)] per distinct (x, T), so
 * the hypergeometric series runs once per (x, T) and horizon, not once
 * per customer.
 *
 * src/predict/predict.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "access/htup_details.h"
#include "access/table.h"
#include "access/tableam.h"
#include "catalog/namespace.h"
#include "catalog/pg_class.h"
#include "catalog/pg_type.h"
#include "common/int.h"
#include "common/shortest_dec.h"
#include "executor/tuptable.h"
#include "fmgr.h"
#include "funcapi.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"
#include "utils/syscache.h"
#include "utils/timestamp.h"

#include "core/access.h"
#include "core/ecpower.h"
#include "predict/predict.h"
#include "timeline/customers.h"
#include "timeline/input.h"
#include "timeline/orders.h"

/* scoring horizons in days: 30, 90, then 12 months of 365/12 days */
#define NHORIZONS		14
#define H_30			0
#define H_90			1
#define H_MONTH(i)		(1 + (i))	/* i = 1 .. 12; month 12 = 365 days */

/* expected next order dates further out than this are NULL */
#define MAX_NEXT_ORDER_DAYS		36525

/* scoring cache: the t_x-free numerators of E[Y(t)] per (x, T) */
typedef struct NumEntry
{
	uint64		key;			/* x << 32 | T (days) */
	char		status;
	double		num[NHORIZONS];
} NumEntry;

#define SH_PREFIX		numcache
#define SH_ELEMENT_TYPE	NumEntry
#define SH_KEY_TYPE		uint64
#define SH_KEY			key
#define SH_HASH_KEY(tb, k)	ecp_hash_int64(k)
#define SH_EQUAL(tb, a, b)	((a) == (b))
#define SH_SCOPE		static inline
#define SH_DECLARE
#define SH_DEFINE
#include "lib/simplehash.h"

const char *const predicted_field_names[PREDICTED_NFIELDS] = {
	"p_alive", "expected_orders_90d", "clv_365d", "days_overdue"
};

PG_FUNCTION_INFO_V1(customer_summary);
PG_FUNCTION_INFO_V1(fit_models);
PG_FUNCTION_INFO_V1(score_customers);
PG_FUNCTION_INFO_V1(bgnbd_expected_purchases_sql);
PG_FUNCTION_INFO_V1(bgnbd_p_alive_sql);
PG_FUNCTION_INFO_V1(bgnbd_log_likelihood_sql);
PG_FUNCTION_INFO_V1(gammagamma_expected_spend_sql);

/*
 * unit_days
 *		Days per time unit: 'day' = 1, 'week' = 7; anything else is an
 *		error (22023).
 */
double
unit_days(const char *unit)
{
	if (strcmp(unit, "day") == 0)
		return 1.0;
	if (strcmp(unit, "week") == 0)
		return 7.0;
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("unknown time unit \"%s\"", unit),
			 errhint("Use \"day\" or \"week\".")));
	return 0.0;					/* keep compiler quiet */
}

/* qsort comparator: summaries by customer_id */
static int
summary_cmp(const void *a, const void *b)
{
	int64		ca = ((const RfSummary *) a)->customer_id;
	int64		cb = ((const RfSummary *) b)->customer_id;

	return (ca > cb) - (ca < cb);
}

/* qsort comparator: scores by customer_id */
static int
scores_cmp(const void *a, const void *b)
{
	int64		ca = ((const PredictedScores *) a)->customer_id;
	int64		cb = ((const PredictedScores *) b)->customer_id;

	return (ca > cb) - (ca < cb);
}

/*
 * rf_summarize_orders
 *		The repeat-purchase summary of every customer with a counted order
 *		as of as_of (not cancelled, ordered_at <= as_of), from the
 *		timeline's counted orders.  The result is allocated in the
 *		caller's memory context, ordered by customer_id.
 */
RfSummarySet *
rf_summarize_orders(TimestampTz as_of)
{
	return rf_summarize_orders_split(as_of, 0, false, NULL);
}

/*
 * rf_auto_calibration_date
 *		The calibration end of a model comparison whose holdout ends on
 *		as_of_date and whose history starts on first_day: as_of_date minus
 *		a third of the history, at most 365 days (whole days, rounded
 *		down).  as_of_date itself when that leaves no holdout.
 */
DateADT
rf_auto_calibration_date(DateADT first_day, DateADT as_of_date)
{
	int32		holdout = Min((as_of_date - first_day) / 3, 365);

	return as_of_date - Max(holdout, 0);
}

/*
 * rf_summarize_orders_split
 *		rf_summarize_orders(as_of) and, when cal_out is not NULL, from the
 *		same scan the (x, t_x, T) of every customer with a purchase day up
 *		to cal_date (the end of that store-local day; with cal_auto, the
 *		rf_auto_calibration_date of the history instead) into *cal_out, in
 *		customer_id order.  The calibration rows carry no spend
 *		(repeat_cents 0): they serve the purchase models only.
 */
RfSummarySet *
rf_summarize_orders_split(TimestampTz as_of, DateADT cal_date, bool cal_auto,
						  RfSummarySet **cal_out)
{
	MemoryContext caller = CurrentMemoryContext;
	MemoryContext work;
	EcpCalendar *cal = ecp_store_calendar();
	EcpKeyMap  *keys;
	EcpCountedSet *os;
	RfSummarySet *set;
	RfSummarySet *cs = NULL;
	int64		n = 0;

	ecp_input_check_orders();

	work = AllocSetContextCreate(CurrentMemoryContext, "ecpower summary",
								 ALLOCSET_DEFAULT_SIZES);
	MemoryContextSwitchTo(work);
	keys = ecp_keymap_load();
	os = ecp_counted_orders(keys, NULL, as_of, cal);
	MemoryContextSwitchTo(caller);

	set = palloc0(sizeof(RfSummarySet));
	set->as_of_date = ecp_local_date(cal, as_of);
	set->rows = palloc_extended(sizeof(RfSummary) * Max(os->buyers, 1), MCXT_ALLOC_HUGE);
	if (cal_out != NULL)
	{
		cs = palloc0(sizeof(RfSummarySet));
		cs->rows = palloc_extended(sizeof(RfSummary) * Max(os->buyers, 1), MCXT_ALLOC_HUGE);
		if (cal_auto)
		{
			DateADT		first = set->as_of_date;

			for (int32 k = 0; k < os->nkeys; k++)
			{
				if (os->start[k + 1] > os->start[k])
					first = Min(first, os->day[os->start[k]]);
			}
			cal_date = rf_auto_calibration_date(first, set->as_of_date);
		}
		cs->as_of_date = cal_date;
	}

	/*
	 * Each customer's counted orders come in date order: orders on one day
	 * are one purchase (x = distinct days - 1), the first day's spend is
	 * not a repeat.
	 */
	for (int32 k = 0; k < os->nkeys; k++)
	{
		int64		lo = os->start[k];
		int64		hi = os->start[k + 1];
		RfSummary  *row;
		int64		total = 0;
		int64		first_cents = 0;
		int32		ndays = 0;
		int32		cal_days = 0;
		DateADT		cal_last = 0;

		if (lo == hi)
			continue;
		if ((k & 0xFFFF) == 0)
			CHECK_FOR_INTERRUPTS();
		for (int64 i = lo; i < hi; i++)
		{
			if (pg_add_s64_overflow(total, os->cents[i], &total))
				ereport(ERROR,
						(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
						 errmsg("net spend of customer %lld is out of range",
								(long long) keys->customer_ids[k])));
			if (os->day[i] == os->day[lo])
				first_cents += os->cents[i];
			if (i == lo || os->day[i] != os->day[i - 1])
			{
				ndays++;
				if (cs != NULL && os->day[i] <= cal_date)
				{
					cal_days++;
					cal_last = os->day[i];
				}
			}
		}
		row = &set->rows[n];
		row->customer_id = keys->customer_ids[k];
		row->x = ndays - 1;
		row->t_x = os->day[hi - 1] - os->day[lo];
		row->T = set->as_of_date - os->day[lo];
		row->first_day = os->day[lo];
		row->repeat_cents = total - first_cents;
		if (cs != NULL && cal_days > 0)
		{
			/* the calibration rows serve the purchase models only: no spend */
			RfSummary  *c = &cs->rows[cs->n++];

			c->customer_id = row->customer_id;
			c->first_day = row->first_day;
			c->repeat_cents = 0;
			c->x = cal_days - 1;
			c->t_x = cal_last - row->first_day;
			c->T = cal_date - row->first_day;
		}
		n++;
	}
	set->n = n;
	MemoryContextDelete(work);

	/* customer_id order: callers' index insertions then append */
	qsort(set->rows, set->n, sizeof(RfSummary), summary_cmp);
	if (cs != NULL)
	{
		qsort(cs->rows, cs->n, sizeof(RfSummary), summary_cmp);
		*cal_out = cs;
	}
	return set;
}

/*
 * predicted_field_by_name
 *		The PredictedField called name[0..len-1], or -1.
 */
int
predicted_field_by_name(const char *name, int len)
{
	for (int i = 0; i < PREDICTED_NFIELDS; i++)
	{
		if (strlen(predicted_field_names[i]) == len &&
			memcmp(predicted_field_names[i], name, len) == 0)
			return i;
	}
	return -1;
}

/*
 * predicted_scores_load
 *		Every row of ecpower.prediction_scores (the last fit_predictions()),
 *		as customer_id and the scores segment conditions compare, in
 *		customer_id order; *n receives the count.  NULL scores are NaN.
 *		Allocated in the caller's memory context.
 */
PredictedScores *
predicted_scores_load(int64 *n)
{
	Oid			relid;
	Relation	rel;
	TupleTableSlot *slot;
	TableScanDesc scan;
	AclResult	aclresult;
	AttrNumber	a_cust,
				att[PREDICTED_NFIELDS],
				a_max;
	PredictedScores *rows;
	int64		cap = 1024;

	relid = get_relname_relid("prediction_scores", get_namespace_oid("ecpower", false));
	if (!OidIsValid(relid))
		elog(ERROR, "table ecpower.prediction_scores is missing");
	aclresult = pg_class_aclcheck(relid, GetUserId(), ACL_SELECT);
	if (aclresult != ACLCHECK_OK)
		aclcheck_error(aclresult, OBJECT_TABLE, "prediction_scores");
	a_cust = get_attnum(relid, "customer_id");
	a_max = a_cust;
	for (int i = 0; i < PREDICTED_NFIELDS; i++)
	{
		att[i] = get_attnum(relid, predicted_field_names[i]);
		if (att[i] == InvalidAttrNumber)
			elog(ERROR, "column ecpower.prediction_scores.%s is missing",
				 predicted_field_names[i]);
		a_max = Max(a_max, att[i]);
	}

	rows = palloc_extended(sizeof(PredictedScores) * cap, MCXT_ALLOC_HUGE);
	*n = 0;
	rel = table_open(relid, AccessShareLock);
	slot = table_slot_create(rel, NULL);
	scan = table_beginscan(rel, GetActiveSnapshot(), 0, NULL);
	while (table_scan_getnextslot(scan, ForwardScanDirection, slot))
	{
		PredictedScores *row;

		if ((*n & 65535) == 65535)
			CHECK_FOR_INTERRUPTS();
		if (*n == cap)
		{
			cap *= 2;
			if ((Size) cap > MaxAllocHugeSize / sizeof(PredictedScores))
				ereport(ERROR,
						(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
						 errmsg("too many prediction scores: more than %lld", (long long) *n)));
			rows = repalloc_huge(rows, sizeof(PredictedScores) * cap);
		}
		slot_getsomeattrs(slot, a_max);
		row = &rows[(*n)++];
		row->customer_id = DatumGetInt64(slot->tts_values[a_cust - 1]);
		for (int i = 0; i < PREDICTED_NFIELDS; i++)
		{
			Datum		d = slot->tts_values[att[i] - 1];

			if (slot->tts_isnull[att[i] - 1])
				row->v[i] = NAN;
			else if (TupleDescAttr(slot->tts_tupleDescriptor, att[i] - 1)->atttypid == NUMERICOID)
				row->v[i] = ecp_numeric_to_cents(d) / 100.0;
			else if (TupleDescAttr(slot->tts_tupleDescriptor, att[i] - 1)->atttypid == INT4OID)
				row->v[i] = DatumGetInt32(d);
			else
				row->v[i] = DatumGetFloat8(d);
		}
	}
	table_endscan(scan);
	ExecDropSingleTupleTableSlot(slot);
	table_close(rel, AccessShareLock);

	qsort(rows, *n, sizeof(PredictedScores), scores_cmp);
	return rows;
}

/* the text argument n, or the default when NULL */
static char *
text_arg(FunctionCallInfo fcinfo, int n, const char *dflt)
{
	if (PG_ARGISNULL(n))
		return pstrdup(dflt);
	return text_to_cstring(PG_GETARG_TEXT_PP(n));
}

/* as_of argument n: NULL means now(), infinity is an error */
static TimestampTz
as_of_arg(FunctionCallInfo fcinfo, int n)
{
	TimestampTz as_of;

	if (PG_ARGISNULL(n))
		return GetCurrentTransactionStartTimestamp();
	as_of = PG_GETARG_TIMESTAMPTZ(n);
	if (TIMESTAMP_NOT_FINITE(as_of))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("as_of must be a finite timestamp")));
	return as_of;
}

/* float8 argument n, which must be finite and >= 0 (22023 otherwise) */
static double
nonneg_arg(FunctionCallInfo fcinfo, int n, const char *name, double dflt)
{
	double		v;

	if (PG_ARGISNULL(n))
		return dflt;
	v = PG_GETARG_FLOAT8(n);
	if (!(v >= 0.0) || isinf(v))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s must be a finite number >= 0, not %g", name, v)));
	return v;
}

/* float8 model parameter argument n: finite and > 0 */
static double
param_arg(FunctionCallInfo fcinfo, int n, const char *name)
{
	double		v = PG_GETARG_FLOAT8(n);

	if (!(v > 0.0) || isinf(v))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("model parameter %s must be a finite number > 0, not %g",
						name, v)));
	return v;
}

/* a numeric(…,2) datum of an amount in currency units (rounded to cents) */
static Datum
amount_datum(double amount, bool *isnull)
{
	double		cents = rint(amount * 100.0);

	if (!isfinite(cents) || fabs(cents) > 9.0e17)
	{
		*isnull = true;
		return (Datum) 0;
	}
	*isnull = false;
	return ecp_cents_to_numeric((int64) cents);
}

/* total / n cents as numeric(…,2), rounded half away from zero */
static Datum
mean_cents_datum(int64 total, int32 n)
{
	int64		q = total / n;
	int64		r = total % n;

	if (r > 0 && 2 * r >= n)
		q++;
	else if (r < 0 && -2 * r >= n)
		q--;
	return ecp_cents_to_numeric(q);
}

/*
 * The summary's output columns customer_id, x, t_x, t, monetary_value into
 * values[0..4], nulls[0..4], times divided by unit.
 */
static void
summary_values(const RfSummary *s, double unit, Datum *values, bool *nulls)
{
	values[0] = Int64GetDatum(s->customer_id);
	values[1] = Int32GetDatum(s->x);
	values[2] = Float8GetDatum(s->t_x / unit);
	values[3] = Float8GetDatum(s->T / unit);
	if (s->x > 0)
		values[4] = mean_cents_datum(s->repeat_cents, s->x);
	else
		nulls[4] = true;
}

/*
 * customer_summary(as_of timestamptz, unit text) returns setof record
 *		Every customer's repeat-purchase summary: customer_id, x, t_x, t,
 *		monetary_value (mean net spend of the repeat days, NULL when x = 0),
 *		first_order_date, last_order_date.
 */
Datum
customer_summary(PG_FUNCTION_ARGS)
{
	TimestampTz as_of = as_of_arg(fcinfo, 0);
	char	   *unit_name = text_arg(fcinfo, 1, "day");
	double		unit = unit_days(unit_name);
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	RfSummarySet *set;
	MemoryContext rowcxt,
				old;

	ecp_check_input_access(ECP_INPUT_ALL);
	InitMaterializedSRF(fcinfo, 0);
	set = rf_summarize_orders(as_of);
	rowcxt = AllocSetContextCreate(CurrentMemoryContext, "ecpower summary row",
								   ALLOCSET_SMALL_SIZES);
	for (int64 i = 0; i < set->n; i++)
	{
		RfSummary  *s = &set->rows[i];
		Datum		values[7];
		bool		nulls[7] = {0};

		old = MemoryContextSwitchTo(rowcxt);
		summary_values(s, unit, values, nulls);
		values[5] = DateADTGetDatum(s->first_day);
		values[6] = DateADTGetDatum(s->first_day + s->t_x);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
		MemoryContextSwitchTo(old);
		MemoryContextReset(rowcxt);
	}
	return (Datum) 0;
}

/* append "name": value to a JSON object under construction */
static void
json_param(StringInfo buf, const char *name, double v, bool first)
{
	char		num[32];

	if (isfinite(v))
		double_to_shortest_decimal_buf(v, num);
	else
		strcpy(num, "null");
	appendStringInfo(buf, "%s\"%s\": %s", first ? "" : ", ", name, num);
}

/* emit one fit_models() row */
static void
emit_fit(ReturnSetInfo *rsinfo, const char *model, const ModelFit *fit,
		 const char *const *names)
{
	StringInfoData buf;
	Datum		values[6];
	bool		nulls[6] = {0};

	initStringInfo(&buf);
	appendStringInfoChar(&buf, '{');
	for (int i = 0; i < fit->nparams; i++)
		json_param(&buf, names[i], fit->params[i], i == 0);
	appendStringInfoChar(&buf, '}');

	values[0] = CStringGetTextDatum(model);
	values[1] = DirectFunctionCall1(jsonb_in, CStringGetDatum(buf.data));
	values[2] = Float8GetDatum(fit->log_likelihood);
	nulls[2] = !isfinite(fit->log_likelihood);
	values[3] = Int64GetDatum(fit->customers);
	values[4] = BoolGetDatum(fit->converged);
	values[5] = Int32GetDatum(fit->iterations);
	tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
}

/*
 * fit_models(as_of timestamptz, unit text, penalizer float8,
 *			  spend_model boolean, model text) returns setof record
 *		Fit the repeat-purchase model (bgnbd, mbgnbd or paretonbd; NULL
 *		means bgnbd) and, unless spend_model is false, Gamma-Gamma to the
 *		summaries as of as_of.  Rows: model, parameters jsonb,
 *		log_likelihood, customers, converged, iterations.  Too few
 *		customers (or repeat customers) is an error, 22000; a fit that did
 *		not converge is returned with converged = false.
 */
Datum
fit_models(PG_FUNCTION_ARGS)
{
	static const char *const gg_names[] = {"p", "q", "v"};
	TimestampTz as_of = as_of_arg(fcinfo, 0);
	char	   *unit_name = text_arg(fcinfo, 1, "day");
	double		unit = unit_days(unit_name);
	double		penalizer = nonneg_arg(fcinfo, 2, "penalizer", 0.0);
	bool		spend_model = PG_ARGISNULL(3) ? true : PG_GETARG_BOOL(3);
	PredictModel model = predict_model_by_name(text_arg(fcinfo, 4, "bgnbd"));
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	RfSummarySet *set;
	ModelFit	bg,
				gg;

	ecp_check_input_access(ECP_INPUT_ALL);
	InitMaterializedSRF(fcinfo, 0);
	set = rf_summarize_orders(as_of);
	predict_check_history(set, model);

	predict_model_fit(model, set, unit, penalizer, &bg);
	emit_fit(rsinfo, predict_model_names[model], &bg,
			 predict_model_param_names(model));

	if (spend_model)
	{
		gammagamma_fit(set, penalizer, &gg);
		if (gg.customers < PREDICT_MIN_REPEATERS)
			ereport(ERROR,
					(errcode(ERRCODE_DATA_EXCEPTION),
					 errmsg("not enough repeat purchases to fit the Gamma-Gamma model: %lld customers with positive repeat spend",
							(long long) gg.customers),
					 errdetail("The fit needs at least %d customers with repeat purchases of positive net amount.",
							   PREDICT_MIN_REPEATERS)));
		emit_fit(rsinfo, "gammagamma", &gg, gg_names);
	}
	return (Datum) 0;
}

/* the E[Y(t)] numerators of a (x, T) pair for every horizon, cached */
static const double *
cached_numerators(numcache_hash *nc, PredictModel model, const double *bg,
				  double unit, int32 x, int32 T)
{
	bool		found;
	NumEntry   *e = numcache_insert(nc, ((uint64) (uint32) x << 32) | (uint32) T,
									&found);

	if (!found)
	{
		e->num[H_30] = predict_expected_numerator(model, bg, x, T / unit,
												  30.0 / unit);
		e->num[H_90] = predict_expected_numerator(model, bg, x, T / unit,
												  90.0 / unit);
		for (int m = 1; m <= 12; m++)
			e->num[H_MONTH(m)] = predict_expected_numerator(model, bg, x, T / unit,
															365.0 * m / 12.0 / unit);
	}
	return e->num;
}

/*
 * score_customers(as_of, unit, r, alpha, a, b, p, q, v, discount_rate,
 *				   model) returns setof record
 *		Score every customer with the given repeat-purchase model (bgnbd,
 *		mbgnbd or paretonbd; for paretonbd a and b carry s and beta), its
 *		parameters in unit, and Gamma-Gamma parameters: customer_id, x,
 *		t_x, t, monetary_value, p_alive, expected_orders_30d/_90d/_365d,
 *		expected_avg_spend, clv_365d (12 months of 365/12 days, each
 *		month's expected purchases times expected spend, discounted by
 *		(1 + discount_rate)^month), expected_next_order_date (the last
 *		purchase day plus the median time between purchases at the
 *		customer's posterior purchase rate, rounded up to whole days; NULL
 *		beyond 100 years) and days_overdue (as_of_date minus that date).
 *		Gamma-Gamma parameters may be NULL: spend and CLV are then NULL.
 */
Datum
score_customers(PG_FUNCTION_ARGS)
{
	TimestampTz as_of = as_of_arg(fcinfo, 0);
	char	   *unit_name = text_arg(fcinfo, 1, "day");
	double		unit = unit_days(unit_name);
	PredictModel model = predict_model_by_name(text_arg(fcinfo, 10, "bgnbd"));
	const char *const *names = predict_model_param_names(model);
	double		bg[4],
				gg[3];
	bool		have_gg;
	double		discount;
	double		disc[13];
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	RfSummarySet *set;
	numcache_hash *nc;
	PnTermCache *cache;
	MemoryContext rowcxt,
				old;

	for (int i = 0; i < 4; i++)
	{
		if (PG_ARGISNULL(2 + i))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("%s parameter %s must not be NULL",
							predict_model_names[model], names[i])));
		bg[i] = param_arg(fcinfo, 2 + i, names[i]);
	}
	have_gg = !PG_ARGISNULL(6) && !PG_ARGISNULL(7) && !PG_ARGISNULL(8);
	if (have_gg)
	{
		gg[0] = param_arg(fcinfo, 6, "p");
		gg[1] = param_arg(fcinfo, 7, "q");
		gg[2] = param_arg(fcinfo, 8, "v");
	}
	discount = nonneg_arg(fcinfo, 9, "discount_rate", 0.01);
	disc[0] = 1.0;
	for (int m = 1; m <= 12; m++)
		disc[m] = disc[m - 1] / (1.0 + discount);

	ecp_check_input_access(ECP_INPUT_ALL);
	InitMaterializedSRF(fcinfo, 0);
	set = rf_summarize_orders(as_of);
	nc = numcache_create(CurrentMemoryContext, 1024, NULL);
	cache = predict_cache_create(model, bg);
	rowcxt = AllocSetContextCreate(CurrentMemoryContext, "ecpower score row",
								   ALLOCSET_SMALL_SIZES);

	for (int64 i = 0; i < set->n; i++)
	{
		RfSummary  *s = &set->rows[i];
		const double *num = cached_numerators(nc, model, bg, unit, s->x, s->T);
		double		odds = predict_log_p_alive_odds(model, bg, cache, s->x,
													s->t_x / unit, s->T / unit);
		double		p_alive = 1.0 / (1.0 + exp(odds));
		double		mean_spend = s->x > 0 ? (double) s->repeat_cents / s->x / 100.0 : 0.0;
		double		gap;
		Datum		values[13];
		bool		nulls[13] = {0};

		if ((i & 65535) == 65535)
			CHECK_FOR_INTERRUPTS();
		old = MemoryContextSwitchTo(rowcxt);
		summary_values(s, unit, values, nulls);
		values[5] = Float8GetDatum(p_alive);
		nulls[5] = isnan(p_alive);
		values[6] = Float8GetDatum(num[H_30] * p_alive);
		values[7] = Float8GetDatum(num[H_90] * p_alive);
		values[8] = Float8GetDatum(num[H_MONTH(12)] * p_alive);
		nulls[6] = !isfinite(num[H_30] * p_alive);
		nulls[7] = !isfinite(num[H_90] * p_alive);
		nulls[8] = !isfinite(num[H_MONTH(12)] * p_alive);

		nulls[9] = nulls[10] = true;
		if (have_gg)
		{
			double		spend = gammagamma_expected_spend(gg, s->x, mean_spend);
			double		clv = 0.0;

			if (isfinite(spend))
			{
				values[9] = amount_datum(spend, &nulls[9]);
				for (int m = 1; m <= 12; m++)
				{
					double		prev = m == 1 ? 0.0 : num[H_MONTH(m - 1)];

					clv += (num[H_MONTH(m)] - prev) * p_alive * spend * disc[m];
				}
				values[10] = amount_datum(clv, &nulls[10]);
			}
		}

		/*
		 * The median gap between purchases at the posterior rate
		 * Gamma(r + x, alpha + T) of a customer still active: (alpha + T)
		 * (2^(1/(r + x)) - 1), counted from the last purchase day.
		 */
		gap = (bg[1] + s->T / unit) * expm1(M_LN2 / (bg[0] + s->x)) * unit;
		if (isfinite(gap) && gap < MAX_NEXT_ORDER_DAYS)
		{
			int32		due = s->first_day + s->t_x + (int32) ceil(gap - 1e-9);

			values[11] = DateADTGetDatum(due);
			values[12] = Int32GetDatum(set->as_of_date - due);
		}
		else
			nulls[11] = nulls[12] = true;

		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
		MemoryContextSwitchTo(old);
		MemoryContextReset(rowcxt);
	}
	return (Datum) 0;
}

/* the four BG/NBD parameters from arguments 0..3 */
static void
bg_params(FunctionCallInfo fcinfo, double *prm)
{
	static const char *const names[] = {"r", "alpha", "a", "b"};

	for (int i = 0; i < 4; i++)
		prm[i] = param_arg(fcinfo, i, names[i]);
}

/*
 * rf_args
 *		A customer's (x, t_x, T) from arguments n..n+2, validated (22023).
 */
void
rf_args(FunctionCallInfo fcinfo, int n, double *x, double *t_x, double *T)
{
	*x = PG_GETARG_FLOAT8(n);
	*t_x = PG_GETARG_FLOAT8(n + 1);
	*T = PG_GETARG_FLOAT8(n + 2);
	if (!(*x >= 0) || *x != floor(*x) || isinf(*x))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("x must be a whole number >= 0, not %g", *x)));
	if (!(*t_x >= 0) || !(*T >= *t_x) || isinf(*T))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("need 0 <= t_x <= T, not t_x = %g, T = %g", *t_x, *T)));
	if (*x > 0 && *t_x == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("t_x must be positive when x > 0")));
}

/*
 * bgnbd_expected_purchases(r, alpha, a, b, t, x, t_x, T) returns float8
 *		E[Y(t) | x, t_x, T], the paper's (10); NULL when the hypergeometric
 *		series cannot be summed (argument too close to 1).
 */
Datum
bgnbd_expected_purchases_sql(PG_FUNCTION_ARGS)
{
	double		prm[4],
				x,
				t_x,
				T;
	double		t = PG_GETARG_FLOAT8(4);
	double		result;

	bg_params(fcinfo, prm);
	rf_args(fcinfo, 5, &x, &t_x, &T);
	if (!(t >= 0) || isinf(t))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("t must be a finite number >= 0, not %g", t)));
	result = bgnbd_expected_purchases(prm, t, x, t_x, T);
	if (!isfinite(result))
		PG_RETURN_NULL();		/* the series could not be summed */
	PG_RETURN_FLOAT8(result);
}

/*
 * bgnbd_p_alive(r, alpha, a, b, x, t_x, T) returns float8
 *		P(alive | x, t_x, T), the paper's (13); 1 when x = 0.
 */
Datum
bgnbd_p_alive_sql(PG_FUNCTION_ARGS)
{
	double		prm[4],
				x,
				t_x,
				T;

	bg_params(fcinfo, prm);
	rf_args(fcinfo, 4, &x, &t_x, &T);
	PG_RETURN_FLOAT8(1.0 / (1.0 + exp(bgnbd_log_p_alive_odds(prm, x, t_x, T))));
}

/*
 * bgnbd_log_likelihood(r, alpha, a, b, x, t_x, T) returns float8
 *		One customer's log-likelihood, the paper's (6).
 */
Datum
bgnbd_log_likelihood_sql(PG_FUNCTION_ARGS)
{
	double		prm[4],
				x,
				t_x,
				T;

	bg_params(fcinfo, prm);
	rf_args(fcinfo, 4, &x, &t_x, &T);
	PG_RETURN_FLOAT8(bgnbd_loglik_one(prm, x, t_x, T));
}

/*
 * gammagamma_expected_spend(p, q, v, x, mean_spend) returns float8
 *		E[M | x, mean_spend]: expected spend per purchase; NULL when q <= 1.
 */
Datum
gammagamma_expected_spend_sql(PG_FUNCTION_ARGS)
{
	double		prm[3];
	double		x = PG_GETARG_FLOAT8(3);
	double		m = PG_GETARG_FLOAT8(4);
	double		r;

	prm[0] = param_arg(fcinfo, 0, "p");
	prm[1] = param_arg(fcinfo, 1, "q");
	prm[2] = param_arg(fcinfo, 2, "v");
	if (!(x >= 0) || isinf(x))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("x must be a finite number >= 0, not %g", x)));
	r = gammagamma_expected_spend(prm, x, m);
	if (isnan(r))
		PG_RETURN_NULL();
	PG_RETURN_FLOAT8(r);
}
