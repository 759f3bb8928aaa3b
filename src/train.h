/*
 * train.h - the training pipeline's shared state (lipvae_train, train.c):
 * the validated options, the privacy plan that every stage fills in, and
 * each column's state; and the stages that live in their own files:
 *   train_domain.c  public bounds and category lists (user, type or DP)
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

#define LIPVAE_COUNT_SHARE 0.02 /* of epsilon: the DP row count (central) */

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
	int64 units;           /* unit-level: units kept (owner only) */
	lv_aim_result *aim;    /* marginals 'aim': the measurements, else NULL */
	double aim_rho;        /* their zCDP rho (add/remove), recomputed */
	double aim_rho_ledger; /* the same under replace-one */
	double rho_domain;     /* aim: the joint domain release's zCDP rho (add/remove) */
	double domain_sd;      /* its noise sd (0: no such release) */
	double domain_tau;     /* its category threshold (0: no categories) */
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
	double noise_sd; /* the joint domain release's noise sd, or 0 */
} TrainColumn;

/* json_num appends v as a JSON number (shortest exact form; NaN, inf as strings). */
void json_num(StringInfo s, double v);

/*
 * preprocess fixes the bounds and category lists the user did not give
 * (train_domain.c): per column with pure-DP mechanisms, or, for marginals
 * => 'aim', with one joint discrete Gaussian release (lv_domain.h) whose
 * rho it records in pp->rho_domain. Sets pp->eps_pre and pp->delta_pre and
 * records every component in components (a JSON array).
 */
void preprocess(TrainColumn *tc, int ncols, lv_cell *cells, int64 n,
				TrainOptions *o, const uint8 *pkey, PrivacyPlan *pp,
				StringInfo components);

/* domain_eps_max is the largest epsilon (either relation) the joint domain
 * release's category threshold covers (lv_domain.h): 4 epsilon + 1. */
double domain_eps_max(const TrainOptions *o);

#endif
