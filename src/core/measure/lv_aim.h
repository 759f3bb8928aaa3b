/*
 * lv_aim.h - select, measure, generate: AIM's adaptive loop (McKenna,
 * Mullins, Sheldon, Miklau, VLDB 2022) with the Lipschitz VAE's decoder as
 * the generator (lv_genfit.h). No PostgreSQL here.
 *
 * Budget: rho-zCDP for one unit of sens rows (add/remove). Candidates:
 * every column, every pair and (max_k = 3) every triple whose table has at
 * most max_cells cells; workload: every pair, so a candidate r weighs
 * w_r = sum over pairs W of |r n W| (Delta = max w_r).
 *
 *   T = 16 d, sigma = sens sqrt(T / (2 alpha rho)), eps = sqrt(8 (1-alpha) rho / T)
 *   measure every column:  y_c = counts_c + N_Z(0, sigma^2)
 *   fit the decoder to the measurements
 *   repeat until the budget is spent:
 *     if rho - used < 2 (sens^2 / (2 sigma^2) + eps^2 / 8):   (last round)
 *       sigma = sens sqrt(1 / (2 alpha left)), eps = sqrt(8 (1-alpha) left)
 *     select r by the exponential mechanism (eps, sensitivity sens Delta):
 *       score_r = w_r (|| counts_r - n_hat mu_r ||_1 - sqrt(2/pi) sigma cells_r)
 *     measure y_r = counts_r + N_Z(0, sigma^2);  used += eps^2/8 + sens^2/(2 sigma^2)
 *     fit the decoder to every measurement so far (warm start)
 *     if n_hat || mu_r(new) - mu_r(old) ||_1 <= sqrt(2/pi) sigma cells_r:
 *       sigma /= 2, eps *= 2                          (anneal)
 *
 * The exponential mechanism is eps-DP, (eps^2 / 8)-zCDP (Cesar & Rogers
 * 2021); a discrete Gaussian of sd sigma on counts of L2 sensitivity sens is
 * (sens^2 / (2 sigma^2))-zCDP (Canonne, Kamath & Steinke 2020). The rounds
 * are chosen adaptively; their rho add up (zCDP composition, which holds
 * with adaptively chosen parameters as long as the total is fixed in
 * advance: a privacy filter, Whitehouse et al. 2023), and the loop never
 * lets the total pass rho. Every step's parameters are returned so that the
 * caller can store them and an auditor recompute the total.
 */
#ifndef LV_AIM_H
#define LV_AIM_H

#include <stdint.h>
#include "lv_genfit.h"

#define LV_AIM_ALPHA 0.9 /* share of a round's rho that measures */

typedef struct lv_aim_config
{
	double rho;        /* zCDP budget of selection and measurement */
	double sens;       /* rows one unit moves: 1, or unit_rows */
	double n_hat;      /* the DP row count: finite, >= 1 (lipvae_train's floor) */
	int max_k;         /* largest clique: 2 or 3 */
	int64_t max_cells; /* largest table a candidate may have */
	int max_rounds;    /* selection rounds at most (0: 16 d) */
	int latent,
		hidden;
	int prior_points;     /* > 0: the decoder's prior is a mixture of this many
					   * fixed points (lv_prior_set); 0: N(0, I) */
	lv_genfit_config fit; /* steps: per round */
	int final_steps;      /* Adam steps after the last round */
	double final_lr;      /* Adam's rate in those steps; <= 0: fit.lr */
	uint8_t key[LV_KEY_BYTES];
} lv_aim_config;

typedef struct lv_aim_result
{
	int nmeasured;      /* every column, then one per round */
	lv_measurement *ms; /* nmeasured, lv_aim_result_free releases */
	double rho_measure; /* sum of sens^2 / (2 sd^2) */
	double rho_select;  /* sum of eps^2 / 8 */
	double final_loss;
	int candidates;
	int max_measurements; /* public: d + the rounds allowed (the error bounds' union) */
	int prior_points;     /* the decoder's mixture prior (cfg->prior_points) */
	int bound_draws;      /* S of the error bounds: 0 (mu_r exact) or LV_AIM_BOUND_DRAWS */
} lv_aim_result;

/*
 * The workload: AIM's candidates (every column, every pair and with max_k
 * 3 every triple whose table has at most max_cells cells) and the data's
 * counts in each, the only form in which the loop sees the data. Built
 * once (lv_aim_workload_init: zero counts), filled a batch of encoded rows
 * at a time (lv_aim_workload_add: rows are never held, memory is the
 * candidates' cells), then measured (lv_model_fit_aim_counts).
 */
typedef struct lv_aim_workload
{
	const lv_schema *s;
	int ncand;
	lv_clique *cand;
	double *weight; /* w_r */
	int64_t *at;    /* each candidate's counts in cnt */
	double *cnt;
	int64_t total;     /* cells of every candidate */
	int64_t max_cells; /* of the largest */
	int64_t rows;      /* rows counted */
} lv_aim_workload;

/* lv_aim_workload_init lists s's candidates. LV_OK, LV_ERR_ARG or LV_ERR_NOMEM. */
int lv_aim_workload_init(lv_aim_workload *w, const lv_schema *s, int max_k,
						 int64_t max_cells);

/*
 * lv_aim_workload_add counts n encoded rows T (n x ncols, as lv_encode_row
 * writes them) in every candidate; polls interrupted (if set) every 64
 * candidates. LV_OK, LV_ERR_ARG or LV_ERR_INTERRUPTED (counts partial then).
 */
int lv_aim_workload_add(lv_aim_workload *w, const int32_t *T, int64_t n,
						int (*interrupted)(void *arg), void *arg);

/*
 * lv_aim_workload_add_weighted counts row r of T wt[r] times (a whole
 * number >= 0: distinct rows with their counts, as a GROUP BY returns
 * them); wt NULL: once each. As lv_aim_workload_add.
 */
int lv_aim_workload_add_weighted(lv_aim_workload *w, const int32_t *T,
								 const double *wt, int64_t n,
								 int (*interrupted)(void *arg), void *arg);

/* lv_aim_workload_free releases what w owns. */
void lv_aim_workload_free(lv_aim_workload *w);

/*
 * lv_model_fit_aim_counts sets up m's networks (decoder k -> hidden ->
 * hidden -> heads, encoder unused) and runs the loop above on the counts of
 * w, whose schema must be m->schema. m->key must be set; draws come from
 * cfg->key; cfg->fit.interrupted (if set) is polled while selecting and
 * fitting. Returns LV_OK, LV_ERR_ARG, LV_ERR_NOMEM or LV_ERR_INTERRUPTED
 * (res empty then).
 */
int lv_model_fit_aim_counts(lv_model *m, const lv_aim_workload *w,
							const lv_aim_config *cfg, lv_aim_result *res);

/*
 * lv_model_fit_aim counts the n targets T in a workload of m->schema
 * (cfg->max_k, cfg->max_cells) and runs lv_model_fit_aim_counts on it
 * (the rows held: unit tests and small callers).
 */
int lv_model_fit_aim(lv_model *m, const int32_t *T, int64_t n,
					 const lv_aim_config *cfg, lv_aim_result *res);

/*
 * lv_aim_first_sd returns the noise sd of the first rounds,
 * sens sqrt(16 ncols / (2 alpha rho)): the largest of the loop's (later
 * rounds halve it or spend what is left; a last round whose sd would pass
 * LV_EXACT_MAX_SCALE is not run). lv_model_fit_aim refuses a configuration
 * whose first sd passes it.
 */
double lv_aim_first_sd(const lv_aim_config *cfg, int ncols);

/*
 * Error bounds (AIM's uncertainty quantification, section 5, for the
 * decoder). For a measured clique r of m cells with counts c_r of the n
 * rows, noisy counts y_r = c_r + z_r (z_r discrete Gaussian of sd, which is
 * sd^2-subgaussian: Canonne, Kamath & Steinke 2020), the DP row count
 * n_hat = n + Lap_Z(t) and the decoder's marginal mu_r, computed exactly
 * over a mixture prior's points (mu'_r = mu_r, S = draws = 0: no Monte
 * Carlo term), or estimated by the average mu'_r of S = LV_AIM_BOUND_DRAWS
 * draws of a Gaussian prior:
 *   || c_r - n mu_r ||_1 <= ||z_r||_1 + || y_r - n_hat mu'_r ||_1
 *                           + n_hat || mu'_r - mu_r ||_1 + |n_hat - n|
 * and, simultaneously for every r with probability >= 1 - lambda
 * (lambda/4 shared by the noise terms and lambda/4 by the Monte Carlo terms
 * of at most N measurements, lambda/2 to the count; lr = lambda / (4 N)). N
 * is the public maximum d + rounds, not the number measured: that one
 * depends on the noise (the annealing stops the loop), and a union over a
 * noise-dependent count would not hold:
 *   ||z_r||_1 <= sd sqrt(2 m (m ln 2 + ln(1/lr)))   (Chernoff on sum |z_i|:
 *                E e^(s|z|) <= 2 e^(s^2 sd^2 / 2))
 *   || mu'_r - mu_r ||_1 <= sqrt(m / S) + sqrt(2 ln(1/lr) / S)
 *                (mean of S probability vectors; McDiarmid)
 *   |n_hat - n| <= C = t ln(4 / lambda)       (discrete Laplace tail)
 * so TVD(c_r / n, mu_r) <= (noise + fit_l1 + n_hat mc + C) / (2 (n_hat - C)),
 * fit_l1 = || y_r - n_hat mu'_r ||_1 (lv_measurement): only DP outputs and
 * public constants enter; the bound is post-processing.
 */
#define LV_AIM_BOUND_DRAWS 65536

/*
 * lv_aim_tvd_bound returns that bound for one measurement (rounded up, at
 * most 1: a TVD never exceeds it); NaN when n_hat <= C or on bad input.
 * count_scale is t, nmax is N, draws is S (0: mu_r exact).
 */
double lv_aim_tvd_bound(double sd, int64_t cells, double fit_l1, double n_hat,
						double count_scale, int nmax, double lambda, int draws);

/* lv_aim_result_free releases what res owns. */
void lv_aim_result_free(lv_aim_result *res);

/*
 * lv_aim_rho returns the zCDP rho of the stored steps, recomputed from
 * their parameters: sum of sens^2 / (2 sd^2) + eps_select^2 / 8, rounded up.
 */
double lv_aim_rho(const lv_measurement *ms, int nm, double sens);

#endif
