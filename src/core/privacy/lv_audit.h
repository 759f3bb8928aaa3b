/*
 * lv_audit.h - empirical privacy audit of the central mechanism by canary
 * membership inference (privacy.md, "An audit that cannot fail"; issue 5).
 * No PostgreSQL here.
 *
 * The question: do models trained with DP-SGD at a claimed (eps, delta)
 * (add/remove-one) let an attacker tell whether one record, the canary, was
 * in the training set more often than (eps, delta)-DP allows? For
 * neighbouring D and D' = D + canary, every test with true-positive rate TPR
 * (says "member" on a model of D') and false-positive rate FPR (says
 * "member" on a model of D) satisfies
 *     TPR <= e^eps FPR + delta   and   1 - FPR <= e^eps (1 - TPR) + delta,
 * so with a lower confidence bound TPR_lo and an upper bound FPR_hi
 * (Clopper-Pearson, each at level alpha/2, jointly at 1 - alpha)
 *     eps_lb = max(0, log((TPR_lo - delta) / FPR_hi),
 *                     log((1 - FPR_hi - delta) / (1 - TPR_lo)))
 * is a lower bound on the true epsilon with confidence 1 - alpha (Jagielski
 * et al. 2020; Nasr et al. 2021). An audit passes when eps_lb <= eps.
 *
 * The experiment (lv_audit_run): a fixed synthetic table D of categorical
 * columns with strong common structure and a canary that uses a category
 * of the first column that no row of D uses; per trial, a central model
 * (LV_MECH_CENTRAL) trained by lv_model_train_dpsgd on D or on D + canary
 * with a fresh training key, N rows released from the prior with a fresh
 * release key, and the score = the number of released rows equal to the
 * canary (on its first match_cols columns: lv_audit_score), a function of
 * the released rows only. The
 * threshold is chosen on separate calibration trials, then TPR and FPR are
 * counted on fresh evaluation trials. The positive control is the same
 * experiment without noise and without clipping (sigma 0, clip 10^6): it
 * must give eps_lb > eps, else the attack is too weak for the audit to mean
 * anything.
 */
#ifndef LV_AUDIT_H
#define LV_AUDIT_H

#include <stdint.h>
#include "lv_model.h"
#include "lv_dpsgd.h"

/* ---------- statistics ---------- */

/*
 * lv_binom_cdf returns P(X <= k) for X ~ Binomial(n, p): a sum of the
 * terms in log space (lgamma), exact to a few units of rounding for
 * n <= 10^6. 0 for k < 0, 1 for k >= n; NaN for n < 0 or p outside [0, 1].
 */
double lv_binom_cdf(int64_t k, int64_t n, double p);

/*
 * lv_cp_lower returns the one-sided Clopper-Pearson lower confidence bound
 * at level 1 - a on a success probability after k successes in n trials:
 * the p with P(X >= k; p) = a (0 when k = 0), rounded down (bisection that
 * keeps P(X >= k; result) <= a). NaN for bad arguments (n < 1, k outside
 * [0, n], a outside (0, 1)).
 */
double lv_cp_lower(int64_t k, int64_t n, double a);

/*
 * lv_cp_upper returns the one-sided Clopper-Pearson upper bound at level
 * 1 - a: the p with P(X <= k; p) = a (1 when k = n), rounded up. NaN for
 * bad arguments.
 */
double lv_cp_upper(int64_t k, int64_t n, double a);

/*
 * lv_audit_eps_lb returns the lower bound on epsilon above from tp
 * true positives out of npos trials with the canary and fp false positives
 * out of nneg trials without it, at confidence 1 - alpha (TPR_lo and FPR_hi
 * each at level alpha / 2). Writes TPR_lo and FPR_hi when the pointers are
 * not NULL. Never below 0; NaN for bad arguments.
 */
double lv_audit_eps_lb(int64_t tp, int64_t npos, int64_t fp, int64_t nneg,
					   double delta, double alpha, double *tpr_lo,
					   double *fpr_hi);

/*
 * lv_audit_threshold chooses the decision threshold of the rule "member
 * when score > threshold" on calibration scores: in (npos, with the
 * canary) and out (nneg, without). Candidates are -inf and the midpoints of
 * consecutive distinct values of the pooled scores; the chosen one
 * maximises lv_audit_eps_lb on these scores, ties broken by the larger
 * TPR - FPR, then by the smaller threshold. Writes the calibration eps_lb
 * to *eps_cal when not NULL. The inputs are left unchanged.
 */
double lv_audit_threshold(const double *in, int npos, const double *out,
						  int nneg, double delta, double alpha,
						  double *eps_cal);

/* ---------- the canary experiment ---------- */

/* Number of columns of the audit table. */
#define LV_AUDIT_NCOLS 3

/*
 * lv_audit_table fills the schema of the audit table (s->cols from
 * lv_alloc, LV_AUDIT_NCOLS categorical non-nullable columns), rows cells of
 * D (rows x LV_AUDIT_NCOLS, caller's memory) drawn from table_key, and the
 * canary (LV_AUDIT_NCOLS cells). Column a has 4 listed categories of which
 * D uses 0..2 (.5/.3/.2); b copies a with probability .9, else uniform on
 * 0..2; c copies b with probability .9, else uniform on 0..2. The canary is
 * (3, 2, 0): its category of a is used by no row of D. Returns LV_OK or
 * LV_ERR_NOMEM.
 */
int lv_audit_table(const uint8_t table_key[LV_KEY_BYTES], int rows,
				   lv_schema *s, lv_cell *cells, lv_cell *canary);

/*
 * lv_audit_score returns the number of the count released rows (count x
 * ncols cells) equal to the canary on its first match_cols columns (every
 * column when match_cols is 0 or >= ncols): categories compared, NULL
 * matches only NULL, numeric values compared exactly.
 */
int lv_audit_score(const lv_schema *s, const lv_cell *rows, int count,
				   const lv_cell *canary, int match_cols);

/* What lv_audit_run trains (lv_audit_config.control). */
enum
{
	LV_AUDIT_PRIVATE = 0,        /* DP-SGD with the sigma of (epsilon, delta) */
	LV_AUDIT_CONTROL = 1,        /* positive control: sigma 0, clip 10^6 */
	LV_AUDIT_CONTROL_CLIPPED = 2 /* sigma 0, the configured clip (what a
								  * lost noise term would give) */
};

typedef struct lv_audit_config
{
	uint8_t key[LV_KEY_BYTES]; /* every table, training and release key
								 * derives from it */
	int32_t rows;              /* rows of D (D + canary has rows + 1) */
	double epsilon;            /* claimed epsilon (add/remove-one) */
	double delta;
	int32_t control;      /* LV_AUDIT_* */
	int32_t calib_trials; /* per side (with / without the canary) */
	int32_t eval_trials;  /* per side */
	int32_t release_rows; /* N rows released per model */
	double alpha;         /* 1 - confidence of eps_lb */
	int32_t match_cols;   /* score: rows equal to the canary on the first
						   * match_cols columns (0: all) */
	/*
	 * Training: used as given (row-level mode) except noise_multiplier
	 * and train_key, set per trial, clip (10^6 for LV_AUDIT_CONTROL), and
	 * normalizer, which becomes q rows when it is 0: the same for D and
	 * D + canary, so that the row count is no signal.
	 */
	lv_dpsgd_config train;
	/*
	 * The marginal correction of lipvae's central default (lv_marginals.h,
	 * lv_tree.h), on top of DP-SGD: marginals_share of epsilon (0: none,
	 * DP-SGD alone) goes to the marginals' GDP parameter mu, composed with
	 * DP-SGD in RDP (lv_dpsgd_gaussian_mu), split in mu^2 between the
	 * one-way counts (one_way_share), and, with tree set, the selection
	 * (select_share) and the pair counts (the rest), as src/train.c does.
	 * The controls measure them without noise.
	 */
	double marginals_share;
	int32_t tree;
	double one_way_share;
	double select_share;
} lv_audit_config;

typedef struct lv_audit_result
{
	int64_t steps;        /* DP-SGD steps of one training */
	double sigma;         /* noise multiplier used (0 for the control) */
	double eps_accounted; /* lv_dpsgd_epsilon of the private setting */
	double threshold;     /* from the calibration trials */
	double eps_cal;       /* eps_lb on the calibration trials */
	int32_t tp,           /* evaluation: models of D + canary flagged */
		fp;               /* models of D flagged */
	double tpr_lo,
		fpr_hi;
	double eps_lb; /* the audit's lower bound (evaluation trials) */
	double mean_in,
		mean_out;        /* mean evaluation scores with / without the canary */
	double mu_marginals; /* the marginals' GDP parameter (0: none) */
	double one_way_sd;   /* their one-way counts' noise sd */
	double eps_round;    /* the tree's selection, per round */
	double pairs_sd;     /* its pair counts' noise sd */
} lv_audit_result;

/*
 * lv_audit_trial trains one central model with noise multiplier sigma on
 * the first cfg->rows rows of X, T (D; with_canary = 0) or on all
 * cfg->rows + 1 (D + canary; with_canary = 1), X and T holding the encoded
 * rows of D followed by the canary, with the training key of (phase,
 * with_canary, trial) derived from cfg->key; releases cfg->release_rows
 * rows with the matching release key and writes their score
 * (lv_audit_score against canary) to *score. With cfg->marginals_share,
 * the one-way (and tree) correction follows training, with the noise of
 * plan (one_way_sd, eps_round, pairs_sd). The clip of cfg->train is
 * replaced by 10^6 when cfg->control is LV_AUDIT_CONTROL. Returns LV_OK or
 * an error of training or release.
 */
int lv_audit_trial(const lv_audit_config *cfg, const lv_schema *s,
				   const float *X, const int32_t *T, const lv_cell *canary,
				   double sigma, const lv_audit_result *plan, int phase,
				   int with_canary, int trial, double *score);

/*
 * lv_audit_run runs the whole audit of cfg: the table and the canary,
 * sigma = lv_dpsgd_sigma(q, steps, epsilon, delta, add/remove) (0 for the
 * control), calib_trials trials per side to choose the threshold, then
 * eval_trials per side for TPR, FPR and eps_lb. Scores of the evaluation
 * trials go to scores_in / scores_out (eval_trials each) when not NULL.
 * Returns LV_OK, LV_ERR_ARG (bad configuration, or no sigma reaches the
 * claimed epsilon), or an error of training or release.
 */
int lv_audit_run(const lv_audit_config *cfg, lv_audit_result *res,
				 double *scores_in, double *scores_out);

#endif
