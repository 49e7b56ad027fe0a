/*-------------------------------------------------------------------------
 *
 * backtest.c
 *	  Choosing a repeat-purchase model by how well it predicts: fit every
 *	  model on the orders up to a calibration end, predict each of those
 *	  customers' purchases in the holdout period that follows, and compare
 *	  with what they actually bought (ecpower.compare_models).
 *
 * Two scores per model:
 *	- the mean absolute error of per-customer holdout purchases (purchase
 *	  days), |actual - E[Y(h) | x, t_x, T]| averaged over the customers of
 *	  the calibration period;
 *	- the holdout log-likelihood, the log of the probability density of
 *	  what happened in the holdout given the calibration data:
 *	  sum of LL(x, t_x, T at the holdout end) - LL(x, t_x, T at the
 *	  calibration end) over the same customers, with the calibration
 *	  parameters.  (Each model's likelihood is the density of a customer's
 *	  whole purchase history, so the difference is the conditional
 *	  density of the holdout part.)
 *
 * Both summaries come from one read of the customer timeline, the counted
 * orders of every customer (timeline/orders.h, through
 * rf_summarize_orders_split), when the calibration ends with a store-local
 * day, as it always does when derived from the history.
 *
 * src/predict/backtest.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "catalog/pg_type.h"
#include "common/shortest_dec.h"
#include "fmgr.h"
#include "funcapi.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"
#include "utils/timestamp.h"

#include "core/ecpower.h"
#include "predict/predict.h"

/* calibration purchase groups of the comparison: x = 0 .. 6, then 7+ */
#define NGROUPS			8

/* the longest holdout the automatic calibration end leaves */
#define MAX_HOLDOUT_DAYS	365

/* cache of E[Y(h)] numerators per (x, T) */
typedef struct HoEntry
{
	uint64		key;			/* x << 32 | T (days) */
	char		status;
	double		num;
} HoEntry;

#define SH_PREFIX		hocache
#define SH_ELEMENT_TYPE	HoEntry
#define SH_KEY_TYPE		uint64
#define SH_KEY			key
#define SH_HASH_KEY(tb, k)	ecp_hash_int64(k)
#define SH_EQUAL(tb, a, b)	((a) == (b))
#define SH_SCOPE		static inline
#define SH_DECLARE
#define SH_DEFINE
#include "lib/simplehash.h"

/* how one model did */
typedef struct Comparison
{
	ModelFit	fit;
	double		actual;
	double		predicted;
	double		abs_error;
	double		holdout_ll;
	int64		g_customers[NGROUPS];
	int64		g_actual[NGROUPS];
	double		g_predicted[NGROUPS];
} Comparison;

PG_FUNCTION_INFO_V1(compare_models);

/* the end of store-local day `day`: its last microsecond */
static TimestampTz
day_end(EcpCalendar *cal, DateADT day)
{
	return ecp_day_start(cal, day + 1) - 1;
}

/* sum of w * LL over the distinct triples of a summary set */
static double
summary_loglik(PredictModel model, const double *prm, const RfSummarySet *set,
			   double unit)
{
	int64		n;
	int32		max_x,
				max_day;
	RfTriple   *t = rf_collapse_triples(set, &n, &max_x, &max_day);
	PnTermCache *cache = predict_cache_create(model, prm);
	double		ll = 0.0;

	for (int64 i = 0; i < n; i++)
	{
		ll += t[i].w * predict_loglik_one(model, prm, cache, t[i].x, t[i].t_x / unit,
										  t[i].T / unit);
		if ((i & 4095) == 4095)
			CHECK_FOR_INTERRUPTS();
	}
	pfree(t);
	return ll;
}

/*
 * Score a fitted model on the holdout: cal and ho are the summaries at
 * the calibration and holdout ends, both in customer_id order; ho_cal
 * holds the rows of ho whose first purchase falls in the calibration
 * period; h is the holdout length in units.
 */
static void
score_holdout(PredictModel model, Comparison *c, const RfSummarySet *cal,
			  const RfSummarySet *ho, const RfSummarySet *ho_cal,
			  double unit, double h)
{
	const double *prm = c->fit.params;
	hocache_hash *hc = hocache_create(CurrentMemoryContext, 1024, NULL);
	PnTermCache *cache = predict_cache_create(model, prm);
	int64		j = 0;

	c->actual = c->predicted = c->abs_error = 0.0;
	memset(c->g_customers, 0, sizeof(c->g_customers));
	memset(c->g_actual, 0, sizeof(c->g_actual));
	memset(c->g_predicted, 0, sizeof(c->g_predicted));

	for (int64 i = 0; i < cal->n; i++)
	{
		const RfSummary *s = &cal->rows[i];
		int32		actual = 0;
		int			g = Min(s->x, NGROUPS - 1);
		bool		found;
		HoEntry    *e;
		double		pred;

		while (j < ho->n && ho->rows[j].customer_id < s->customer_id)
			j++;
		if (j < ho->n && ho->rows[j].customer_id == s->customer_id)
			actual = ho->rows[j].x - s->x;

		e = hocache_insert(hc, ((uint64) (uint32) s->x << 32) | (uint32) s->T,
						   &found);
		if (!found)
			e->num = predict_expected_numerator(model, prm, s->x, s->T / unit, h);
		pred = e->num / (1.0 + exp(predict_log_p_alive_odds(model, prm, cache, s->x,
															 s->t_x / unit,
															 s->T / unit)));

		c->actual += actual;
		c->predicted += pred;
		c->abs_error += fabs(actual - pred);
		c->g_customers[g]++;
		c->g_actual[g] += actual;
		c->g_predicted[g] += pred;
		if ((i & 65535) == 65535)
			CHECK_FOR_INTERRUPTS();
	}
	c->holdout_ll = summary_loglik(model, prm, ho_cal, unit) -
		summary_loglik(model, prm, cal, unit);
	hocache_destroy(hc);
}

/* jsonb of a fit's parameters under their names */
static Datum
params_jsonb(const ModelFit *fit, const char *const *names)
{
	StringInfoData buf;

	initStringInfo(&buf);
	appendStringInfoChar(&buf, '{');
	for (int i = 0; i < fit->nparams; i++)
	{
		char		num[32];

		if (isfinite(fit->params[i]))
			double_to_shortest_decimal_buf(fit->params[i], num);
		else
			strcpy(num, "null");
		appendStringInfo(&buf, "%s\"%s\": %s", i == 0 ? "" : ", ", names[i], num);
	}
	appendStringInfoChar(&buf, '}');
	return DirectFunctionCall1(jsonb_in, CStringGetDatum(buf.data));
}

/* a float8 datum, NULL when not finite */
static Datum
float_or_null(double v, bool *isnull)
{
	*isnull = !isfinite(v);
	return Float8GetDatum(v);
}

/*
 * compare_models(calibration_end timestamptz, holdout_end timestamptz,
 *				  unit text, penalizer float8, refit boolean)
 *		returns setof record
 *		Fit every model to the orders up to calibration_end and score it
 *		on the holdout up to holdout_end.  A NULL calibration_end means
 *		holdout_end minus one third of the history (from the first counted
 *		purchase day), at most 365 days, ending with its store-local day.
 *		One row per model: model, calibration_end, parameters,
 *		log_likelihood, customers, converged, iterations,
 *		holdout_actual, holdout_predicted, holdout_mae,
 *		holdout_log_likelihood, per calibration x (0 .. 6, 7+)
 *		group_customers, group_actual, group_predicted, and selected (the
 *		converged model of lowest holdout_mae).  With refit, two more rows
 *		(calibration_end and the holdout columns NULL): the selected model
 *		and Gamma-Gamma fitted to all the data up to holdout_end, from the
 *		same scan; 22000 when no model converged.
 */
Datum
compare_models(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	TimestampTz ho_end;
	TimestampTz cal_end;
	double		unit;
	double		penalizer = 0.0;
	double		h;
	EcpCalendar *cal;
	RfSummarySet *hoset,
			   *calset,
				hocal;
	int64		repeaters = 0;
	bool		refit = !PG_ARGISNULL(4) && PG_GETARG_BOOL(4);
	Comparison	cmp[MODEL_NMODELS];
	double		mae[MODEL_NMODELS];
	int			chosen = -1;

	if (PG_ARGISNULL(1))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("holdout_end must not be NULL")));
	ho_end = PG_GETARG_TIMESTAMPTZ(1);
	if (TIMESTAMP_NOT_FINITE(ho_end))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("holdout_end must be a finite timestamp")));
	unit = unit_days(PG_ARGISNULL(2) ? "day" : text_to_cstring(PG_GETARG_TEXT_PP(2)));
	if (!PG_ARGISNULL(3))
	{
		penalizer = PG_GETARG_FLOAT8(3);
		if (!(penalizer >= 0.0) || isinf(penalizer))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("penalizer must be a finite number >= 0, not %g",
							penalizer)));
	}

	InitMaterializedSRF(fcinfo, 0);
	cal = ecp_store_calendar();

	if (PG_ARGISNULL(0))
	{
		hoset = rf_summarize_orders_split(ho_end, 0, true, &calset);
		if (calset->as_of_date >= hoset->as_of_date)
		{
			DateADT		first = hoset->as_of_date;

			for (int64 i = 0; i < hoset->n; i++)
				first = Min(first, hoset->rows[i].first_day);
			ereport(ERROR,
					(errcode(ERRCODE_DATA_EXCEPTION),
					 errmsg("not enough purchase history to compare models: %d days of orders",
							hoset->as_of_date - first),
					 errdetail("A third of the history is held out to score the models; it must be at least one day."),
					 errhint("Name a model, for example model => 'bgnbd', or wait for more orders.")));
		}
		cal_end = day_end(cal, calset->as_of_date);
	}
	else
	{
		DateADT		cal_date;

		cal_end = PG_GETARG_TIMESTAMPTZ(0);
		if (TIMESTAMP_NOT_FINITE(cal_end) ||
			ecp_local_date(cal, cal_end) >= ecp_local_date(cal, ho_end))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("holdout end %s must be on a later store-local day than calibration end %s",
							timestamptz_to_str(ho_end),
							timestamptz_to_str(cal_end)),
					 errhint("The models are fitted up to the calibration end and scored on the days after it.")));
		cal_date = ecp_local_date(cal, cal_end);
		if (cal_end == day_end(cal, cal_date))
			hoset = rf_summarize_orders_split(ho_end, cal_date, false, &calset);
		else
		{
			/* a calibration end within a day: its own scan */
			hoset = rf_summarize_orders(ho_end);
			calset = rf_summarize_orders(cal_end);
		}
	}

	h = (hoset->as_of_date - calset->as_of_date) / unit;
	for (int64 i = 0; i < calset->n; i++)
		repeaters += (calset->rows[i].x > 0);
	if (calset->n < PREDICT_MIN_CUSTOMERS || repeaters < PREDICT_MIN_REPEATERS)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("not enough purchase history up to the calibration end %s to compare models: %lld customers, %lld with repeat purchases",
						timestamptz_to_str(cal_end), (long long) calset->n,
						(long long) repeaters),
				 errdetail("Each fit needs at least %d customers with a counted order, at least %d of them with purchases on more than one day.",
						   PREDICT_MIN_CUSTOMERS, PREDICT_MIN_REPEATERS),
				 errhint("Use an earlier calibration end or a later holdout end, or name a model, for example model => 'bgnbd'.")));

	/* the holdout summaries of the calibration customers */
	hocal.as_of_date = hoset->as_of_date;
	hocal.rows = palloc_extended(sizeof(RfSummary) * Max(hoset->n, 1),
								 MCXT_ALLOC_HUGE);
	hocal.n = 0;
	for (int64 i = 0; i < hoset->n; i++)
	{
		if (hoset->rows[i].first_day <= calset->as_of_date)
			hocal.rows[hocal.n++] = hoset->rows[i];
	}

	for (int m = 0; m < MODEL_NMODELS; m++)
	{
		predict_model_fit((PredictModel) m, calset, unit, penalizer, &cmp[m].fit);
		score_holdout((PredictModel) m, &cmp[m], calset, hoset, &hocal, unit, h);
		mae[m] = cmp[m].abs_error / Max(calset->n, 1);
		if (cmp[m].fit.converged && isfinite(mae[m]) &&
			(chosen < 0 || mae[m] < mae[chosen]))
			chosen = m;
	}

	for (int m = 0; m < MODEL_NMODELS; m++)
	{
		Comparison *c = &cmp[m];
		Datum		values[15];
		bool		nulls[15] = {0};
		Datum		gc[NGROUPS],
					ga[NGROUPS],
					gp[NGROUPS];

		for (int g = 0; g < NGROUPS; g++)
		{
			gc[g] = Int64GetDatum(c->g_customers[g]);
			ga[g] = Int64GetDatum(c->g_actual[g]);
			gp[g] = Float8GetDatum(c->g_predicted[g]);
		}
		values[0] = CStringGetTextDatum(predict_model_names[m]);
		values[1] = TimestampTzGetDatum(cal_end);
		values[2] = params_jsonb(&c->fit, predict_model_param_names((PredictModel) m));
		values[3] = float_or_null(c->fit.log_likelihood, &nulls[3]);
		values[4] = Int64GetDatum(c->fit.customers);
		values[5] = BoolGetDatum(c->fit.converged);
		values[6] = Int32GetDatum(c->fit.iterations);
		values[7] = Int64GetDatum((int64) c->actual);
		values[8] = float_or_null(c->predicted, &nulls[8]);
		values[9] = float_or_null(mae[m], &nulls[9]);
		values[10] = float_or_null(c->holdout_ll, &nulls[10]);
		values[11] = PointerGetDatum(construct_array(gc, NGROUPS, INT8OID, 8,
													 FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
		values[12] = PointerGetDatum(construct_array(ga, NGROUPS, INT8OID, 8,
													 FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
		values[13] = PointerGetDatum(construct_array(gp, NGROUPS, FLOAT8OID, 8,
													 FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
		values[14] = BoolGetDatum(m == chosen);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}

	if (refit)
	{
		static const char *const gg_names[] = {"p", "q", "v"};
		ModelFit	fits[2];

		if (chosen < 0)
			ereport(ERROR,
					(errcode(ERRCODE_DATA_EXCEPTION),
					 errmsg("no prediction model could be fitted to the calibration period up to %s",
							timestamptz_to_str(cal_end)),
					 errdetail("None of the bgnbd, mbgnbd and paretonbd fits converged."),
					 errhint("Try a small penalizer such as 0.001, or name a model.")));
		/* the selected model and Gamma-Gamma on all data to holdout_end */
		predict_model_fit((PredictModel) chosen, hoset, unit, penalizer, &fits[0]);
		gammagamma_fit(hoset, penalizer, &fits[1]);
		if (fits[1].customers < PREDICT_MIN_REPEATERS)
			ereport(ERROR,
					(errcode(ERRCODE_DATA_EXCEPTION),
					 errmsg("not enough repeat purchases to fit the Gamma-Gamma model: %lld customers with positive repeat spend",
							(long long) fits[1].customers),
					 errdetail("The fit needs at least %d customers with repeat purchases of positive net amount.",
							   PREDICT_MIN_REPEATERS)));
		for (int k = 0; k < 2; k++)
		{
			Datum		values[15];
			bool		nulls[15];

			for (int i = 0; i < 15; i++)
				nulls[i] = true;
			values[0] = CStringGetTextDatum(k == 0 ? predict_model_names[chosen] : "gammagamma");
			values[2] = params_jsonb(&fits[k], k == 0 ?
									 predict_model_param_names((PredictModel) chosen) :
									 gg_names);
			values[3] = float_or_null(fits[k].log_likelihood, &nulls[3]);
			values[4] = Int64GetDatum(fits[k].customers);
			values[5] = BoolGetDatum(fits[k].converged);
			values[6] = Int32GetDatum(fits[k].iterations);
			nulls[0] = nulls[2] = nulls[4] = nulls[5] = nulls[6] = false;
			tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
		}
	}
	return (Datum) 0;
}
