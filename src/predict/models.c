/*-------------------------------------------------------------------------
 *
 * models.c
 *	  The three repeat-purchase models (BG/NBD, MBG/NBD, Pareto/NBD) behind
 *	  one interface: model names, parameter names, the data check, the fit,
 *	  and the per-customer formulas; and the SQL scalar functions
 *	  predict_p_alive, predict_expected_purchases and
 *	  predict_log_likelihood, which take a model name and its parameters as
 *	  stored in ecpower.model_fits.
 *
 * Every model has four parameters: r and alpha of the purchase rate
 * lambda ~ Gamma(r, alpha), then a and b of the dropout probability
 * p ~ Beta(a, b) (BG/NBD, MBG/NBD) or s and beta of the dropout rate
 * mu ~ Gamma(s, beta) (Pareto/NBD).  For each, E[Y(t) | x, t_x, T] is
 * P(alive | x, t_x, T) times a numerator that does not depend on t_x,
 * which scoring caches per (x, T).
 *
 * src/predict/models.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "fmgr.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"

#include "predict/predict.h"

const char *const predict_model_names[MODEL_NMODELS] = {
	"bgnbd", "mbgnbd", "paretonbd"
};

static const char *const beta_geometric_params[4] = {"r", "alpha", "a", "b"};
static const char *const pareto_params[4] = {"r", "alpha", "s", "beta"};

PG_FUNCTION_INFO_V1(predict_p_alive);
PG_FUNCTION_INFO_V1(predict_expected_purchases);
PG_FUNCTION_INFO_V1(predict_log_likelihood);

/*
 * predict_model_by_name
 *		The model called name; anything else (including "auto", which only
 *		fit_predictions understands) is an error, 22023.
 */
PredictModel
predict_model_by_name(const char *name)
{
	for (int m = 0; m < MODEL_NMODELS; m++)
	{
		if (strcmp(name, predict_model_names[m]) == 0)
			return (PredictModel) m;
	}
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("unknown prediction model \"%s\"", name),
			 errhint("Use \"bgnbd\", \"mbgnbd\" or \"paretonbd\".")));
	return MODEL_BGNBD;			/* keep compiler quiet */
}

/* the names of a model's four parameters, in order */
const char *const *
predict_model_param_names(PredictModel model)
{
	return model == MODEL_PARETONBD ? pareto_params : beta_geometric_params;
}

/*
 * predict_check_history
 *		Refuse (22000) summaries too thin to fit a repeat-purchase model:
 *		fewer than PREDICT_MIN_CUSTOMERS customers, or fewer than
 *		PREDICT_MIN_REPEATERS with purchases on more than one day.
 */
void
predict_check_history(const RfSummarySet *set, PredictModel model)
{
	int64		repeaters = 0;

	for (int64 i = 0; i < set->n; i++)
		repeaters += (set->rows[i].x > 0);
	if (set->n < PREDICT_MIN_CUSTOMERS || repeaters < PREDICT_MIN_REPEATERS)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("not enough purchase history to fit the %s model: %lld customers, %lld with repeat purchases",
						predict_model_names[model],
						(long long) set->n, (long long) repeaters),
				 errdetail("The fit needs at least %d customers with a counted order, at least %d of them with purchases on more than one day.",
						   PREDICT_MIN_CUSTOMERS, PREDICT_MIN_REPEATERS),
				 errhint("Use a later as_of, or wait for more orders.")));
}

/*
 * predict_model_fit
 *		Maximum likelihood fit of model to the summaries, times divided by
 *		unit (days per time unit).
 */
void
predict_model_fit(PredictModel model, const RfSummarySet *set, double unit,
				  double penalizer, ModelFit *fit)
{
	switch (model)
	{
		case MODEL_BGNBD:
			bgnbd_fit(set, unit, penalizer, false, fit);
			return;
		case MODEL_MBGNBD:
			bgnbd_fit(set, unit, penalizer, true, fit);
			return;
		case MODEL_PARETONBD:
			paretonbd_fit(set, unit, penalizer, fit);
			return;
		default:
			break;
	}
	elog(ERROR, "unrecognized prediction model %d", (int) model);
}

/*
 * predict_log_p_alive_odds
 *		log((1 - P(alive)) / P(alive)) of a customer under model;
 *		P(alive) = 1 / (1 + exp(result)).
 */
double
predict_log_p_alive_odds(PredictModel model, const double *prm,
						 PnTermCache *cache, double x, double t_x, double T)
{
	switch (model)
	{
		case MODEL_BGNBD:
			return bgnbd_log_p_alive_odds(prm, x, t_x, T);
		case MODEL_MBGNBD:
			return mbgnbd_log_p_alive_odds(prm, x, t_x, T);
		case MODEL_PARETONBD:
			return paretonbd_log_p_alive_odds(prm, cache, x, t_x, T);
		default:
			break;
	}
	elog(ERROR, "unrecognized prediction model %d", (int) model);
	return NAN;
}

/*
 * predict_expected_numerator
 *		E[Y(t) | x, t_x, T] / P(alive | x, t_x, T) under model: expected
 *		purchases in (T, T + t] of a customer known to be alive at T.
 */
double
predict_expected_numerator(PredictModel model, const double *prm, double x,
						   double T, double t)
{
	switch (model)
	{
		case MODEL_BGNBD:
			return bgnbd_expected_numerator(prm, x, T, t);
		case MODEL_MBGNBD:
			return mbgnbd_expected_numerator(prm, x, T, t);
		case MODEL_PARETONBD:
			return paretonbd_expected_numerator(prm, x, T, t);
		default:
			break;
	}
	elog(ERROR, "unrecognized prediction model %d", (int) model);
	return NAN;
}

/*
 * predict_cache_create
 *		A cache for scoring many customers with the same model and
 *		parameters (predict_log_p_alive_odds, predict_loglik_one); NULL when
 *		the model needs none.
 */
PnTermCache *
predict_cache_create(PredictModel model, const double *prm)
{
	return model == MODEL_PARETONBD ? paretonbd_cache_create(prm) : NULL;
}

/* one customer's log-likelihood under model (cache as above, or NULL) */
double
predict_loglik_one(PredictModel model, const double *prm, PnTermCache *cache,
				   double x, double t_x, double T)
{
	switch (model)
	{
		case MODEL_BGNBD:
			return bgnbd_loglik_one(prm, x, t_x, T);
		case MODEL_MBGNBD:
			return mbgnbd_loglik_one(prm, x, t_x, T);
		case MODEL_PARETONBD:
			return paretonbd_loglik_one(prm, cache, x, t_x, T);
		default:
			break;
	}
	elog(ERROR, "unrecognized prediction model %d", (int) model);
	return NAN;
}

/*
 * The model named by argument 0 and its four parameters from the jsonb
 * argument 1 (keys as in ecpower.model_fits.parameters), each a finite
 * number > 0 (22023 otherwise).
 */
static PredictModel
model_args(FunctionCallInfo fcinfo, double *prm)
{
	char	   *name = text_to_cstring(PG_GETARG_TEXT_PP(0));
	PredictModel model = predict_model_by_name(name);
	Jsonb	   *jb = PG_GETARG_JSONB_P(1);
	const char *const *names = predict_model_param_names(model);

	if (!JB_ROOT_IS_OBJECT(jb))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("parameters of model %s must be a JSON object", name),
				 errhint("Pass {\"%s\": ..., \"%s\": ..., \"%s\": ..., \"%s\": ...}, as in ecpower.model_fits.parameters.",
						 names[0], names[1], names[2], names[3])));
	for (int i = 0; i < 4; i++)
	{
		JsonbValue	v;

		if (getKeyJsonValueFromContainer(&jb->root, names[i], strlen(names[i]),
										 &v) == NULL || v.type != jbvNumeric)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("parameter \"%s\" of model %s is missing or not a number",
							names[i], name),
					 errhint("Pass {\"%s\": ..., \"%s\": ..., \"%s\": ..., \"%s\": ...}, as in ecpower.model_fits.parameters.",
							 names[0], names[1], names[2], names[3])));
		prm[i] = DatumGetFloat8(DirectFunctionCall1(numeric_float8,
													NumericGetDatum(v.val.numeric)));
		if (!(prm[i] > 0.0) || isinf(prm[i]))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("model parameter %s must be a finite number > 0, not %g",
							names[i], prm[i])));
	}
	return model;
}

/*
 * predict_p_alive(model text, parameters jsonb, x, t_x, "T") returns float8
 *		P(alive | x, t_x, T) under the model.
 */
Datum
predict_p_alive(PG_FUNCTION_ARGS)
{
	double		prm[4],
				x,
				t_x,
				T;
	PredictModel model = model_args(fcinfo, prm);
	double		odds;

	rf_args(fcinfo, 2, &x, &t_x, &T);
	odds = predict_log_p_alive_odds(model, prm, NULL, x, t_x, T);
	if (isnan(odds))
		PG_RETURN_NULL();		/* the series could not be summed */
	PG_RETURN_FLOAT8(1.0 / (1.0 + exp(odds)));
}

/*
 * predict_expected_purchases(model text, parameters jsonb, t, x, t_x, "T")
 *		returns float8
 *		E[Y(t) | x, t_x, T]: expected purchases in the next t time units;
 *		NULL when a hypergeometric series cannot be summed.
 */
Datum
predict_expected_purchases(PG_FUNCTION_ARGS)
{
	double		prm[4],
				x,
				t_x,
				T;
	PredictModel model = model_args(fcinfo, prm);
	double		t = PG_GETARG_FLOAT8(2);
	double		result;

	rf_args(fcinfo, 3, &x, &t_x, &T);
	if (!(t >= 0) || isinf(t))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("t must be a finite number >= 0, not %g", t)));
	result = predict_expected_numerator(model, prm, x, T, t) /
		(1.0 + exp(predict_log_p_alive_odds(model, prm, NULL, x, t_x, T)));
	if (!isfinite(result))
		PG_RETURN_NULL();
	PG_RETURN_FLOAT8(result);
}

/*
 * predict_log_likelihood(model text, parameters jsonb, x, t_x, "T")
 *		returns float8
 *		One customer's log-likelihood under the model; NULL when a
 *		hypergeometric series cannot be summed.
 */
Datum
predict_log_likelihood(PG_FUNCTION_ARGS)
{
	double		prm[4],
				x,
				t_x,
				T;
	PredictModel model = model_args(fcinfo, prm);
	double		result;

	rf_args(fcinfo, 2, &x, &t_x, &T);
	result = predict_loglik_one(model, prm, NULL, x, t_x, T);
	if (isnan(result))
		PG_RETURN_NULL();
	PG_RETURN_FLOAT8(result);
}
