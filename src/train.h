/*
 * train.h - the training pipeline's shared state (lipvae_train, train.c):
 * the validated options, the privacy plan that every stage fills in, and
 * each column's state; and the stages, one file each, in the order
 * lipvae_train (train.c) runs them:
 *   train_options.c  the arguments, checked and defaulted
 *   train_plan.c     the privacy plan, the DP row count, per-pass epsilons
 *   train_source.c   the query's columns and rows (SPI, as the caller), units
 *   train_domain.c   bounds and category lists (user, type or DP)
 *   train_measure.c  marginals => 'aim': the domain and the candidates'
 *                    counts, in two passes (no row held)
 *   train_count.c    the second: a GROUP BY that counts the candidates' cells
 *   train_dpsgd.c    fit: DP-SGD (and the tree correction) or non-private
 *   train_aim.c      fit: select, measure, generate (marginals => 'aim')
 *   train_store.c    the catalog row, the row type, the ledger's sources
 */
#ifndef LIPVAE_TRAIN_H
#define LIPVAE_TRAIN_H

#include "postgres.h"

#include "lib/stringinfo.h"
#include "nodes/pg_list.h"
#include "utils/hsearch.h"
#include "utils/jsonb.h"

#include "lipvae.h"
#include "lv_aim.h"

#define LIPVAE_CENTRAL_EPOCHS 30
#define LIPVAE_COUNT_SHARE 0.02       /* of epsilon: the DP row count (central) */
#define LIPVAE_CENTRAL_SHARE 0.75     /* central+latent: DP-SGD's share (measured: eval/results/sweeps.md) */
#define LIPVAE_NAME_LOCK 1818849398   /* advisory lock class of model names ("lipv") */
#define LIPVAE_MARGINALS_SHARE 0.5    /* central: the DP marginals (measured: eval/results/sweeps.md) */
#define LIPVAE_TREE_ONE_WAY_SHARE 0.1 /* of the marginals' mu^2: one-way counts */
#define LIPVAE_TREE_SELECT_SHARE 0.1  /* of the marginals' mu^2: the tree's selection */
#define LIPVAE_MARGINAL_DRAWS 4096    /* prior draws that estimate the model's marginals */
#define LIPVAE_AIM_MAX_CELLS 4096     /* marginals 'aim': largest measured table */
#define LIPVAE_AIM_MAX_K 2            /* marginals 'aim': largest clique measured */
#define LIPVAE_AIM_ROUND_STEPS 200    /* Adam steps after each round (lending_club: 50 tried: the decoder lagged) */
#define LIPVAE_AIM_ROUND_LR 0.005     /* Adam's rate in them (lending_club: 0.002 tried) */
#define LIPVAE_AIM_FINAL_STEPS 2000   /* Adam steps after the last round */
#define LIPVAE_AIM_BATCH 1024         /* prior draws per Adam step (a Gaussian prior) */
#define LIPVAE_AIM_PRIOR_POINTS 1024  /* the decoder's mixture prior (gss_cat eps 100: 0.043 -> 0.028 2-way TVD) */
#define LIPVAE_AIM_MAXENT 1.0         /* kappa_R of the dependence beyond a tree of measured pairs (lv_maxent.h; eps 1: 1 and 3 tried on gss_cat, lending_club) */
#define LIPVAE_AIM_MAXENT_SAMPLES 64  /* points sampled per step for its gradient */
#define LIPVAE_AIM_LR 0.002           /* Adam's rate after the last round (flchain, eps 4: 0.002/0.005/0.01/0.02 tried) */
#define LIPVAE_AIM_BOUND_LAMBDA 0.05  /* the error bounds hold together with probability 0.95 */
#define LIPVAE_MAX_EPSILON 100.0
#define LIPVAE_EXACT_BINS_MAX 128
#define FETCH_BATCH 10000

/* Training options after validation. */
typedef struct TrainOptions
{
	char *model;
	char *query;
	double epsilon;
	double delta;
	int passes;
	int mechanism; /* LV_MECH_* */
	Jsonb *bounds;
	Jsonb *categories;
	List *not_null; /* of char * */
	int epochs;     /* 0 = default */
	int batch;
	int latent;
	int hidden;
	double lr;
	int bins;
	double share;
	bool seeded;
	int64 seed;
	bool replace;
	/* central (DP-SGD) options */
	char *unit;             /* column identifying a person, or NULL */
	int unit_rows;          /* k: rows kept per unit */
	double clip;            /* C */
	int clip_mode;          /* LV_CLIP_* */
	double central_share;   /* composed: DP-SGD's share of the budget */
	double layer_bound;     /* spectral bound of every DP-SGD layer; 0: none */
	double ema;             /* weight moving average of DP-SGD */
	double marginals_share; /* central: share of the DP marginals */
	bool marginals_tree;    /* central: a tree of DP pair marginals too */
	bool marginals_aim;     /* central: select-measure-generate, no DP-SGD */
	bool lr_given;          /* learning_rate was given */
	int unit_att;           /* 0-based attribute of the unit column, or -1 */
	Oid unit_type;
} TrainOptions;

/*
 * What a training spends and guarantees: every part of the privacy
 * arithmetic, as stored in the catalog and returned in the summary.
 */
typedef struct PrivacyPlan
{
	const char *mech_name; /* 'central', 'central+latent', 'latent', 'none' */
	char *scope;           /* scope of the guarantee, on every row */
	const char *relation;  /* neighbouring relation; NULL for none */
	const char *spend;     /* ledger total it counts in */
	double eps_pre;        /* preprocessing (bounds, categories, count) */
	double delta_pre;
	double eps_count;   /* part of eps_pre: the DP row count (central) */
	double n_hat;       /* central: the DP row count (0 otherwise) */
	double count_scale; /* its discrete Laplace scale (before rounding up) */
	double eps_sgd;     /* DP-SGD alone, in relation */
	double delta_sgd;
	double q; /* DP-SGD: Poisson rate (over units), noise, clip, steps */
	double sigma;
	double clip;
	double normalizer;
	int64 steps;
	int epochs;
	double mu_marginals;        /* central: GDP parameter of the noisy marginals
						  * (0: none), in relation */
	double marginals_sd;        /* the one-way counts' noise sd */
	double mu_one_way;          /* GDP parameter of the one-way counts */
	int tree_rounds;            /* tree: selection rounds accounted (ncols - 1) */
	double tree_eps_round;      /* tree: epsilon of each selection round */
	double mu_pairs;            /* tree: GDP parameter of the pair counts */
	double pairs_sd;            /* tree: their noise sd */
	int tree_edges;             /* tree: edges chosen */
	double mu_marginals_ledger; /* mu_marginals under replace-one */
	double clip_mean;           /* clip used per step (derived clipping: <= clip) */
	double clip_max;
	int64 bound_steps;  /* steps clipped at the derived bound */
	double delta_rest;  /* composed: delta of the one RDP conversion */
	double eps_release; /* per-record release alone, at its last pass */
	double delta_release;
	double mu1;
	double eps_total; /* the guarantee: of every row (central), of the last
					   * allowed row (per-record, composed) */
	double delta_total;
	double eps_ledger; /* the same guarantee under replace-one */
	double delta_ledger;
	int64 units;            /* unit-level: units kept (owner only) */
	lv_aim_result *aim;     /* marginals 'aim': the measurements, else NULL */
	double aim_rho;         /* their zCDP rho (add/remove), recomputed */
	double aim_rho_ledger;  /* the same under replace-one */
	double rho_domain;      /* aim: the joint domain release's zCDP rho (add/remove) */
	double domain_sd;       /* its noise sd (0: no such release) */
	double domain_tau;      /* its category threshold (0: no categories) */
	double domain_eps_max;  /* the epsilon (either relation) the threshold covers */
	double rho_budget;      /* aim: the zCDP budget after the row count */
	double measure_seconds; /* aim: both passes over the query, and the domain */
	double count_seconds;   /* aim: the second pass alone (the counting GROUP BY) */
} PrivacyPlan;

/* Per-column training state: what the glue learns about each column. */
typedef struct TrainColumn
{
	LipvaeColumn col;
	bool numeric;
	bool not_null;
	bool integer;
	bool have_bounds;
	double lo,
		hi;
	const char *bounds_source;
	const char *categories_source;
	/* categorical raw values: label -> raw id */
	HTAB *raw;
	int nraw;
	char **raw_labels;
	double *raw_counts;
	int raw_cap;
	int *raw_to_cat;
	/* enum: enum value oid -> index */
	Oid *enum_oids;
	int64 nonnull;
	double eps_used;
	double delta_used;
	double noise_sd;       /* the joint domain release's noise sd, or 0 */
	double *domain_counts; /* aim: LV_DOMAIN_NBINS histogram counts, or NULL */
} TrainColumn;

/* json_num appends v as a JSON number (shortest exact form; NaN, inf as strings). */
void json_num(StringInfo s, double v);

/*
 * preprocess fixes the bounds and category lists the user did not give
 * (train_domain.c): per column with pure-DP mechanisms, or, for marginals
 * => 'aim', with one joint discrete Gaussian release (lv_domain.h) whose
 * rho it records in pp->rho_domain (cells unused, NULL: the measure stage
 * counted each column's domain_counts). Sets pp->eps_pre and pp->delta_pre
 * and records every component in components (a JSON array).
 */
void preprocess(TrainColumn *tc, int ncols, lv_cell *cells, int64 n,
				TrainOptions *o, const uint8 *pkey, PrivacyPlan *pp,
				StringInfo components);

/* train.c */
int interrupt_pending(void *arg);
void build_schema(const TrainColumn *tc, int ncols, const TrainOptions *o, lv_schema *schema);

/*
 * measure_aim (train_measure.c) runs the domain stage and the measurement
 * of marginals => 'aim': the domain's histograms and the row count from a
 * first pass, then preprocess, the DP row count and the schema, then every
 * candidate's counts in w from a second pass (or both from the held rows
 * with unit => ..., grouped by bound_units: pp->units). Returns the rows.
 */
int64 measure_aim(LipvaeQuery *lq, const LipvaeSources *src, TrainColumn *tc, int ncols,
				  TrainOptions *o, const uint8 *pkey, PrivacyPlan *pp, StringInfo components,
				  lv_schema *schema, lv_aim_workload *w);

/*
 * count_candidates (train_count.c) fills w's counts with one GROUP BY over
 * the training query, run as the caller (plan checked against src), and
 * clipped[i] and values[i] of each column. Returns the rows counted.
 */
/*
 * count_domain (train_count.c) is the first pass without unit: one GROUP BY
 * over the training query, run as the caller, counts each column's
 * non-NULL values, the domain histogram of each column that has one, each
 * text column's labels, and the rows (checked by check_rows), which it
 * returns.
 */
int64 count_domain(const LipvaeQuery *lq, const LipvaeSources *src, TrainColumn *tc, int ncols,
				   const TrainOptions *o);
int64 count_candidates(const LipvaeQuery *lq, const LipvaeSources *src, const TrainColumn *tc,
					   int ncols, const TrainOptions *o, lv_aim_workload *w, int64 *clipped,
					   int64 *values);

/* train_store.c */
void report_multiplicity(const LipvaeSources *src, double eps, double delta);
void append_sources(StringInfo s, const LipvaeSources *src, double eps, double delta);
void append_settings(StringInfo j, const TrainOptions *o, const PrivacyPlan *pp);
void existing_model(const char *name, bool replace, bool *exists);
Oid store_model(TrainOptions *o, PrivacyPlan *pp, TrainColumn *tc, int ncols,
				bool exists, const char *columns_json, const char *settings_json,
				const char *preprocess_json, const char *training_json,
				lv_model *m, int64 n, double diameter, bytea *blob);

/* train_plan.c */
void describe_plan(TrainOptions *o, PrivacyPlan *pp);
void dp_row_count(TrainOptions *o, PrivacyPlan *pp, int64 n, const uint8 *key,
				  StringInfo components);
double pass_epsilon(const PrivacyPlan *pp, int64 pass);
double composed_mu1(const PrivacyPlan *pp, int passes, double eps, double delta);
void plan_marginals(const TrainOptions *o, PrivacyPlan *pp, int ncols);

/* train_source.c */
lv_cell *bound_units(TrainColumn *tc, int ncols, lv_cell *cells, uint64 *uh, int64 *n,
					 int k, const uint8 *key, int64 **unit_start, int64 *nunits);
TrainColumn *describe_columns(TupleDesc desc, TrainOptions *o, int *ncols);
lv_cell *read_rows(LipvaeQuery *lq, TrainColumn *tc, int ncols, TrainOptions *o,
				   uint64 **units, int64 *nrows);
/* raw_category returns the raw id of a text label (added if new), and adds count to its count. */
int raw_category(TrainColumn *t, const char *s, double count);
/* check_rows refuses a training set of fewer than two rows or an all-NULL column. */
void check_rows(const TrainColumn *tc, int ncols, int64 n);
/* refuse_null reports a NULL in a column declared not_null. */
void refuse_null(const TrainColumn *t) pg_attribute_noreturn();
typedef void (*RowSink)(void *arg, lv_cell *rows, const uint64 *units, int64 n);
int64 scan_rows(LipvaeQuery *lq, TrainColumn *tc, int ncols, TrainOptions *o,
				bool first, RowSink sink, void *arg);

/* train_dpsgd.c */
void train_plain(TrainOptions *o, PrivacyPlan *pp, lv_model *m, const float *X,
				 const int32 *T, int64 n, double diameter, const uint8 *tkey,
				 lv_train_result *res);
void train_dpsgd(TrainOptions *o, PrivacyPlan *pp, lv_model *m, const float *X,
				 const int32 *T, int64 n, const int64 *unit_start, int64 nunits,
				 double diameter, const uint8 *tkey, lv_train_result *res);

/* train_aim.c */
void train_aim(TrainOptions *o, PrivacyPlan *pp, lv_model *m,
			   const lv_aim_workload *w, const uint8 *tkey, lv_train_result *res);
void append_aim(StringInfo j, const PrivacyPlan *pp, const TrainColumn *tc);

/* train_options.c */
void bad_option(const char *name, const char *detail, const char *hint) pg_attribute_noreturn();
void parse_options(FunctionCallInfo fcinfo, TrainOptions *o);

/* train_domain.c */
void apply_user_settings(TrainColumn *tc, int ncols, TrainOptions *o);
void warn_clipped_share(TrainColumn *t, int64 out, int64 m);
#endif
