/*-------------------------------------------------------------------------
 *
 * predict.h
 *	  Predicted customer value: the repeat-purchase summary, the BG/NBD and
 *	  Gamma-Gamma models, and the small numerical toolbox they share.
 *
 * predict.c		one pass over ecpower.orders building each customer's
 *					(x, t_x, T, mean repeat spend); SQL entry points
 * models.c			the three repeat-purchase models behind one interface,
 *					their scalar SQL functions
 * backtest.c		calibration/holdout comparison of the models
 * bgnbd.c			BG/NBD likelihood, fit and conditional expectations
 *					(Fader, Hardie & Lee 2005, "Counting your customers
 *					the easy way"); the MBG/NBD fit shares its likelihood
 * mbgnbd.c			MBG/NBD conditional expectations (Batislam, Denizel &
 *					Filiztekin 2007)
 * paretonbd.c		Pareto/NBD likelihood, fit and conditional
 *					expectations (Schmittlein, Morrison & Colombo 1987;
 *					Fader, Hardie & Lee 2005, "A note on implementing the
 *					Pareto/NBD model in MATLAB")
 * gammagamma.c		Gamma-Gamma spend model (Fader, Hardie & Lee 2005,
 *					"RFM and CLV")
 * predict_math.c	digamma, the Gaussian hypergeometric series, BFGS
 *
 * Times inside C are whole store-local days; a fit in weeks divides them
 * by 7 before the likelihood sees them.
 *
 * src/predict/predict.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef PREDICT_H
#define PREDICT_H

#include "postgres.h"

#include "fmgr.h"
#include "utils/date.h"

/* one customer's repeat-purchase summary (times in days) */
typedef struct RfSummary
{
	int64		customer_id;
	int32		x;				/* distinct purchase days - 1 */
	int32		t_x;			/* first to last purchase day */
	int32		T;				/* first purchase day to as_of_date */
	DateADT		first_day;		/* first purchase day */
	int64		repeat_cents;	/* net spend of the repeat days */
} RfSummary;

/* the summaries of every customer with a counted order */
typedef struct RfSummarySet
{
	RfSummary  *rows;
	int64		n;
	DateADT		as_of_date;
} RfSummarySet;

/* a distinct (x, t_x, T) triple, times in days, with its customer count */
typedef struct RfTriple
{
	int32		x;
	int32		t_x;
	int32		T;
	double		w;
} RfTriple;

/* scoring cache of the Pareto/NBD A0 terms (paretonbd.c) */
typedef struct PnTermCache PnTermCache;

/* the repeat-purchase models, in the order of predict_model_names */
typedef enum PredictModel
{
	MODEL_BGNBD = 0,
	MODEL_MBGNBD,
	MODEL_PARETONBD,
	MODEL_NMODELS
} PredictModel;

extern const char *const predict_model_names[MODEL_NMODELS];

/* objective for the minimiser: value at theta, gradient into grad */
typedef double (*ObjectiveFn) (const double *theta, double *grad, void *arg);

/* fitted parameters and how the fit went */
typedef struct ModelFit
{
	double		params[8];		/* r, alpha, a, b  or  p, q, v */
	int			nparams;
	double		log_likelihood; /* sum over customers, without penalty */
	int64		customers;		/* customers the likelihood covers */
	bool		converged;
	int			iterations;
} ModelFit;


/*
 * Scores a segment condition {"predicted": NAME, <CMP>} can compare, in the
 * order of predicted_field_names.
 */
typedef enum PredictedField
{
	PREDICTED_P_ALIVE = 0,
	PREDICTED_EXPECTED_ORDERS_90D,
	PREDICTED_CLV_365D,
	PREDICTED_DAYS_OVERDUE,
	PREDICTED_NFIELDS
} PredictedField;

/* one customer's stored scores (NaN where the score is NULL) */
typedef struct PredictedScores
{
	int64		customer_id;
	double		v[PREDICTED_NFIELDS];
} PredictedScores;

extern const char *const predicted_field_names[PREDICTED_NFIELDS];

/* minimum data a fit needs */
#define PREDICT_MIN_CUSTOMERS		10
#define PREDICT_MIN_REPEATERS		3

/* predict.c */
extern RfSummarySet *rf_summarize_orders(TimestampTz as_of);
extern RfSummarySet *rf_summarize_orders_split(TimestampTz as_of,
											   DateADT cal_date, bool cal_auto,
											   RfSummarySet **cal_out);
extern DateADT rf_auto_calibration_date(DateADT first_day, DateADT as_of_date);
extern double unit_days(const char *unit);
extern int	predicted_field_by_name(const char *name, int len);
extern PredictedScores *predicted_scores_load(int64 *n);
extern void rf_args(FunctionCallInfo fcinfo, int n, double *x, double *t_x,
					double *T);

/* predict_math.c */
extern double ecp_digamma(double x);
extern double ecp_log_hyp2f1(double a, double b, double c, double z);
extern int	ecp_minimize(ObjectiveFn fn, void *arg, double *theta, int n,
						 int max_iter, double gtol, bool *converged);
extern void ecp_fit_model(ObjectiveFn fn, void *arg, int n,
						  const double *starts, int nstarts, double penalizer,
						  double total_w, ModelFit *fit);

/* models.c */
extern PredictModel predict_model_by_name(const char *name);
extern const char *const *predict_model_param_names(PredictModel model);
extern void predict_check_history(const RfSummarySet *set, PredictModel model);
extern void predict_model_fit(PredictModel model, const RfSummarySet *set,
							  double unit, double penalizer, ModelFit *fit);
extern double predict_log_p_alive_odds(PredictModel model, const double *prm,
									   PnTermCache *cache, double x, double t_x,
									   double T);
extern double predict_expected_numerator(PredictModel model, const double *prm,
										 double x, double T, double t);
extern double predict_loglik_one(PredictModel model, const double *prm,
								 PnTermCache *cache, double x, double t_x,
								 double T);
extern PnTermCache *predict_cache_create(PredictModel model, const double *prm);

/* bgnbd.c */
extern RfTriple *rf_collapse_triples(const RfSummarySet *set, int64 *ntriples,
									 int32 *max_x, int32 *max_day);
extern void bgnbd_fit(const RfSummarySet *set, double unit, double penalizer,
					  bool modified, ModelFit *fit);
extern double bgnbd_log_p_alive_odds(const double *prm, double x,
									 double t_x, double T);
extern double bgnbd_expected_numerator(const double *prm, double x,
									   double T, double t);
extern double bgnbd_expected_purchases(const double *prm, double t,
									   double x, double t_x, double T);
extern double bgnbd_loglik_one(const double *prm, double x, double t_x,
							   double T);

/* mbgnbd.c */
extern double mbgnbd_log_p_alive_odds(const double *prm, double x,
									  double t_x, double T);
extern double mbgnbd_expected_numerator(const double *prm, double x,
										double T, double t);
extern double mbgnbd_loglik_one(const double *prm, double x, double t_x,
								double T);

/* paretonbd.c */
extern void paretonbd_fit(const RfSummarySet *set, double unit,
						  double penalizer, ModelFit *fit);
extern PnTermCache *paretonbd_cache_create(const double *prm);
extern double paretonbd_log_p_alive_odds(const double *prm, PnTermCache *cache,
										 double x, double t_x, double T);
extern double paretonbd_expected_numerator(const double *prm, double x,
										   double T, double t);
extern double paretonbd_loglik_one(const double *prm, PnTermCache *cache,
								   double x, double t_x, double T);

/* gammagamma.c */
extern void gammagamma_fit(const RfSummarySet *set, double penalizer,
						   ModelFit *fit);
extern double gammagamma_expected_spend(const double *prm, double x,
										double mean_spend);

#endif							/* PREDICT_H */
