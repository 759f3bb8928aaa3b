/*
 * lv_marginals.h - DP one-way marginals and the correction of a trained
 * decoder toward them. No PostgreSQL here.
 *
 * A DP-SGD-trained decoder at small epsilon gets even the one-way
 * distributions of its columns wrong (noisy gradients, few steps). The
 * correction spends a share of the central budget on the one-way marginals
 * of every decoder head (the Gaussian mechanism on the slot counts), then
 * shifts the biases of the decoder's output layer so that the model's
 * expected marginal under the prior matches the noisy one: post-processing
 * of two DP outputs (the weights and the noisy counts), so it costs nothing
 * beyond the counts, which the caller composes with DP-SGD in RDP.
 *
 * Slots, per column in order (the layout of the decoder's heads):
 *   numeric:     nbins bins of the non-NULL values, then, if nullable, a
 *                NULL slot;
 *   categorical: lv_column_slots (listed, other, and NULL if nullable).
 * One row adds 1 to exactly one slot of every column, so adding or
 * removing a row moves the count vector by sqrt(ncols) in L2 (a unit of at
 * most k rows: k sqrt(ncols); replacing a row: sqrt(2 ncols)).
 */
#ifndef LV_MARGINALS_H
#define LV_MARGINALS_H

#include <stdint.h>
#include "lv_model.h"

/* lv_marginal_width returns the number of slots of a schema. */
int lv_marginal_width(const lv_schema *s);

/*
 * lv_marginal_counts sets counts (lv_marginal_width entries) to the slot
 * counts of the n targets T (n x ncols: numeric bin or -1 for NULL,
 * categorical slot), as lv_encode_row writes them.
 */
void lv_marginal_counts(const lv_schema *s, const int32_t *T, int64_t n,
						double *counts);

/*
 * lv_marginal_noise adds exact discrete Gaussian noise N_Z(0, sigma'^2) to
 * each of the w integer counts (|count| < 2^53), drawn in order from s,
 * sigma'^2 >= sd^2 the variance rounded up to a dyadic rational (relative
 * excess <= 2^-30). Integer counts get integer noise (no floating-point
 * lattice to attack, no tail cut); the independent coordinates on counts of
 * L2 sensitivity D are (D^2 / (2 sd^2))-zCDP (Canonne, Kamath & Steinke
 * 2020, Thm 14), i.e. Renyi DP alpha mu^2 / 2 with mu = D / sd at every
 * order alpha: the RDP curve the accountant composes for mu-GDP Gaussians,
 * so accounting at the nominal sd overstates the loss. (The continuous
 * Gaussian's exact GDP / (eps, delta) profile does NOT carry over: convert
 * these releases through RDP only.) sd = 0 adds nothing (the audit's
 * noiseless control). Returns LV_OK, or LV_ERR_ARG (sd out of {0} and
 * [2^-15, 2^30], a non-integer count) / LV_ERR_NUMERIC, with every count
 * set to 0.
 */
int lv_marginal_noise(double *counts, int w, double sd, lv_stream *s);

/*
 * lv_marginal_normalise writes the distribution of w noisy counts to p:
 * clamped at 0, a floor of 1e-4 of the mass spread over the slots, summing
 * to 1. Returns the clamped mass (0 when every count is <= 0: uniform).
 */
double lv_marginal_normalise(const double *counts, int w, double *p);

/*
 * lv_model_fit_marginals shifts the biases of m's last decoder layer so
 * that the model's expected one-way marginals under the prior (the mean of
 * each head's softmax, or sigmoid for a NULL head, over nsamples draws of
 * z ~ N(0, noise_sd^2 I) from the (key, TRAIN, LV_MARGINALS_STREAM) stream)
 * match the target marginals given by noisy_counts (clamped at 0 and
 * normalised per column, numeric bins among the non-NULL values, with a
 * floor of 1e-4 of a column's mass so that no slot becomes impossible):
 * iters fixed-point steps b += log(target / model) per slot (the logit
 * difference for a NULL head), each step's change clamped to [-4, 4].
 * Columns are independent given z, so each head converges on its own.
 * Returns LV_OK, LV_ERR_ARG or LV_ERR_NOMEM (m unchanged on error).
 */
int lv_model_fit_marginals(lv_model *m, const double *noisy_counts,
						   int nsamples, int iters,
						   const uint8_t key[LV_KEY_BYTES]);

/*
 * lv_prior_set writes the latent points first .. first+S-1 of m's mixture
 * prior (S x k): point i is k Gaussians of sd noise_sd from the (m->key,
 * PRIOR_SET, i) stream, the same in the fit and in the release.
 */
void lv_prior_set(const lv_model *m, int64_t first, int S, float *z);

/*
 * lv_prior_logits decodes S draws z ~ N(0, noise_sd^2 I) of m's prior from
 * the (key, TRAIN, stream) stream into L (S x lv_schema_output_dim); for a
 * mixture prior (m->prior_points > 0) S must be prior_points and L gets
 * every point once, in order (the prior itself, exactly; key and stream
 * unused). Returns LV_OK, LV_ERR_ARG or LV_ERR_NOMEM.
 */
int lv_prior_logits(const lv_model *m, int S, const uint8_t key[LV_KEY_BYTES],
					uint64_t stream, float *L);

/* The stream index of lv_model_fit_marginals's prior draws. */
#define LV_MARGINALS_STREAM ((uint64_t) 0x6d61726731ULL) /* "marg1" */

#endif
