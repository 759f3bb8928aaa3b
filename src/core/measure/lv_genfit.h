/*
 * lv_genfit.h - fitting the decoder, a map from the Gaussian prior to rows,
 * to noisy marginals (GEM, Liu et al. NeurIPS 2021). No PostgreSQL here.
 *
 * The decoder's expected marginal of every measured clique (lv_clique.h)
 * is estimated on a minibatch of prior draws or, for a mixture prior
 * (m->prior_points > 0, as MargNet, Chen et al. 2025, fits its generator on
 * fixed inputs), computed exactly over all its points, so that the
 * gradient carries no Monte Carlo noise and the release draws from the
 * very distribution that was fitted; Adam descends
 *     L = sum_m w_m || mu_m(decoder) - y_m ||_2^2,
 * y_m the measurement's noisy counts over n_hat (raw, may be < 0), w_m = (sd_min / sd_m)^2 (the
 * inverse variance of each measurement, relative). With a mixture prior,
 * plus
 *     lambda_R R(X),  lambda_R = kappa_R sd_min / n_hat
 * (kappa_R = maxent; sd_min / n_hat the noise of one cell as a share of
 * the rows, so that the term matters where the measurements leave the
 * model free): R is the dependence the model has beyond a maximum spanning
 * tree of its measured pairs (lv_maxent.h; the tree is chosen from the
 * previous step's model, so the first step of each call penalises all of
 * TC), so that among decoders that fit the
 * measurements the fit prefers the one of maximum entropy, as
 * private-pgm's estimate does; an exactly fitted mixture otherwise invents
 * dependence among columns no measurement covers.
 * Only DP outputs enter:
 * this is post-processing and costs no privacy. After every step each
 * decoder layer is projected to spectral norm <= layer_bound (when > 0),
 * so that the decoder's Lipschitz constant stays certified.
 */
#ifndef LV_GENFIT_H
#define LV_GENFIT_H

#include <stdint.h>
#include "lv_clique.h"

typedef struct lv_measurement
{
	lv_clique q;
	double *y;         /* q.cells: the noisy counts over n_hat (may be < 0) */
	double sd;         /* noise standard deviation of each count */
	double eps_select; /* the selection's epsilon (0: not selected) */
	double *raw;       /* q.cells: the noisy counts themselves (or NULL) */
	double fit_l1;     /* || raw - n_hat mu(final decoder) ||_1 (lv_aim.h) */
} lv_measurement;

typedef struct lv_genfit_config
{
	int steps;          /* Adam steps */
	int batch;          /* prior draws per step (a mixture prior: all its points) */
	double lr;          /* Adam learning rate */
	double layer_bound; /* per-layer spectral bound; <= 0: none */
	double n_hat;       /* the DP row count (needed when maxent > 0) */
	double maxent;      /* kappa_R >= 0: weight of R (below; a mixture prior only) */
	int maxent_samples; /* S: points sampled per step for R's gradient */
	uint8_t key[LV_KEY_BYTES];
	uint64_t stream; /* the prior draws: (key, TRAIN, stream) */
	int (*interrupted)(void *arg);
	void *arg;
} lv_genfit_config;

/*
 * lv_genfit runs cfg->steps Adam steps on m's decoder (allocated) toward
 * the nm measurements ms. *loss (if not NULL) gets the last step's L.
 * Returns LV_OK, LV_ERR_ARG, LV_ERR_NOMEM or LV_ERR_INTERRUPTED.
 */
int lv_genfit(lv_model *m, const lv_measurement *ms, int nm,
			  const lv_genfit_config *cfg, double *loss);

/*
 * lv_heads_backward turns G (B x o: the gradient with respect to each row's
 * slot probabilities, lv_column_probs) into the gradient with respect to
 * the logits, dlogits (B x o), through the softmax and NULL-sigmoid heads.
 */
void lv_heads_backward(const lv_schema *s, const double *P, const double *G,
					   int B, float *dlogits);

#endif
