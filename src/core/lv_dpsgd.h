/*
 * lv_dpsgd.h - DP-SGD training of the VAE (central differential privacy:
 * privacy.md "What the guarantee covers", item 2). No PostgreSQL here.
 *
 * One step t (t = 0 .. steps-1) of lv_model_train_dpsgd:
 *   1. Poisson sampling: every row is selected independently with
 *      probability q (lv_dpsgd_sampler; the realised batch size varies and
 *      may be 0);
 *   2. for every selected row i, the gradient g_i of its own negative ELBO
 *      (the loss of lv_model_train: head cross-entropies, Bernoulli NULL
 *      heads, KL 0.5 ||mu||^2 with posterior sd 1; z = mu + xi with xi
 *      truncated to |xi_j| <= 4) with respect to every parameter of both
 *      networks, clipped to L2 norm C: c_i g_i with c_i = min(1, C/||g_i||).
 *      ||g_i|| is computed without materialising g_i: for a dense layer
 *      with input row a_i and output-gradient row e_i, ||dW_i||_F^2 =
 *      ||a_i||^2 ||e_i||^2 and ||db_i||^2 = ||e_i||^2, summed over layers;
 *      then sum_i c_i dW_i = E^T diag(c) A, one GEMM per layer;
 *   3. N(0, (sigma C)^2) added to every coordinate of the sum, which is
 *      then divided by the expected batch size q n (never by the realised
 *      one, so the noise does not depend on the data);
 *   4. an Adam step, the spectral projection of the layers whose bound is
 *      set, and the update of the moving average (EMA) of the weights.
 * steps = lv_dpsgd_steps(epochs, q). Under add/remove-one neighbours this
 * is the Poisson-subsampled Gaussian mechanism of lv_accountant.h with
 * sensitivity C, composed over steps: the caller accounts with
 * lv_dpsgd_epsilon(q, sigma, steps, delta, relation) using the same q,
 * sigma and steps. Only the weights are private; the loss statistics in
 * lv_train_result are NOT (see lv_model_train_dpsgd).
 *
 * Randomness: ChaCha20 streams of cfg->train_key in LV_DOMAIN_TRAIN at the
 * indices LV_DPSGD_STREAM(purpose, step), disjoint from those of
 * lv_model_train (0, 1, 2). The DP noise is only as secret as train_key:
 * it must be fresh (pg_strong_random) and never stored or shown.
 */
#ifndef LV_DPSGD_H
#define LV_DPSGD_H

#include <stdint.h>
#include "lv_model.h"

typedef struct lv_dpsgd_config
{
	int32_t epochs;          /* expected passes: steps = lv_dpsgd_steps */
	double sample_rate;      /* q in (0, 1]: Poisson sampling probability
								 * of each row at each step */
	double clip;             /* C > 0: per-example L2 clipping norm of
								 * the whole gradient */
	double noise_multiplier; /* sigma >= 0: noise sd sigma C on the summed
								 * clipped gradient */
	int32_t latent;
	int32_t hidden;
	double lr;                  /* Adam learning rate */
	double ema;                 /* in [0, 1): generation uses the moving
								 * average of the weights with this decay
								 * (bias-corrected); 0: the last weights */
	double encoder_layer_bound; /* per-layer spectral bounds; <= 0: none */
	double decoder_layer_bound;
	uint8_t train_key[LV_KEY_BYTES]; /* secret, fresh: see above */
	/* polled after every step; nonzero return stops with INTERRUPTED */
	int (*interrupted)(void *arg);
	void *interrupted_arg;
} lv_dpsgd_config;

/*
 * lv_dpsgd_steps returns the number of steps of epochs expected passes at
 * sampling rate q: ceil(epochs / q), except that a quotient within a
 * relative 1e-9 of an integer counts as that integer (so 30 / 0.03 is
 * 1000, not 1001). The caller must account for exactly this number.
 * Returns -1 for epochs < 1, q outside (0, 1] or more than 2^40 steps.
 */
int64_t lv_dpsgd_steps(int32_t epochs, double q);

/*
 * lv_model_train_dpsgd fits model m (schema set by the caller; mechanism,
 * passes, key and mu1 are left untouched) on n encoded rows X (n x d) with
 * targets T (n x ncols) by DP-SGD as described above, with the networks of
 * lv_model_train (d -> hidden -> hidden -> latent, latent -> hidden ->
 * hidden -> output, ReLU). Every layer of the encoder is projected to
 * spectral norm <= encoder_layer_bound and every decoder layer to <=
 * decoder_layer_bound after each step when the bound is positive (the EMA
 * is a convex combination of projected weights, so it keeps the bounds up
 * to the power-iteration error). On return enc/dec hold the EMA weights
 * (the last weights when ema = 0), noise_sd = 1, lipschitz_target =
 * encoder_layer_bound^3 (0 without a bound), lipschitz_certified =
 * lv_model_certify (for information), and no per-row data: nrows = 0,
 * center = means = NULL (generation decodes z ~ N(0, I)).
 *
 * res (if not NULL) gets epochs_run = epochs and the mean loss parts per
 * sampled row over the last ceil(1/q) steps (at most steps). These are
 * computed from the data WITHOUT noise: a diagnostic for the data owner,
 * not covered by the guarantee; never show them to whoever may only see
 * DP output.
 *
 * Returns LV_OK, LV_ERR_ARG (bad argument), LV_ERR_NOMEM,
 * LV_ERR_INTERRUPTED, LV_ERR_NUMERIC (non-finite loss) or LV_ERR_LAPACK;
 * on failure everything allocated is freed and m's networks are left
 * empty. The floating-point environment (flush-to-zero inside the loop) is
 * restored before every callback and before returning.
 */
int lv_model_train_dpsgd(lv_model *m, const float *X, const int32_t *T,
						 int64_t n, const lv_dpsgd_config *cfg,
						 lv_train_result *res);

/* ---------- internals (exposed for the unit tests) ---------- */

/* Stream purposes; the index of a stream is LV_DPSGD_STREAM(purpose, t). */
enum
{
	LV_DPSGD_INIT = 0x101,   /* weights and power-iteration vectors (t = 0) */
	LV_DPSGD_SAMPLE = 0x102, /* Poisson sampling of step t */
	LV_DPSGD_XI = 0x103,     /* reparameterisation noise of step t */
	LV_DPSGD_NOISE = 0x104   /* Gaussian noise of step t */
};
#define LV_DPSGD_STREAM(purpose, t) \
	(((uint64_t) (purpose) << 48) | (uint64_t) (t))

/* Poisson sampler of one step: the selected rows in increasing order. */
typedef struct lv_dpsgd_sampler
{
	lv_stream s;
	int64_t n;
	int64_t next; /* next row to decide */
	uint32_t thi,
		tlo; /* floor(q 2^64) = thi 2^32 + tlo */
	int all; /* q = 1 */
} lv_dpsgd_sampler;

/*
 * lv_dpsgd_sampler_init starts the sampler of step t over n rows at rate q
 * (stream (train_key, TRAIN, LV_DPSGD_STREAM(LV_DPSGD_SAMPLE, t))). Row i
 * is selected with probability floor(q 2^64) / 2^64 (q exactly for q = 1;
 * otherwise less than 2^-64 below q, so accounting with q overstates the
 * loss), decided by one 32-bit draw per row (a second only when the first
 * equals the top word of the threshold).
 */
void lv_dpsgd_sampler_init(lv_dpsgd_sampler *p,
						   const uint8_t key[LV_KEY_BYTES], int64_t t,
						   int64_t n, double q);

/* lv_dpsgd_sampler_next returns the next selected row, or -1 at the end. */
int64_t lv_dpsgd_sampler_next(lv_dpsgd_sampler *p);

/*
 * lv_dpsgd_draw_xi writes count standard normals truncated to [-4, 4]
 * (rejection: a draw outside is replaced by the next one) from s into xi.
 */
void lv_dpsgd_draw_xi(lv_stream *s, float *xi, size_t count);

/*
 * Workspace of the per-example clipped gradients of chunks of up to maxB
 * rows (opaque: activations, every layer's output gradients, gathered
 * rows, targets and latent noise).
 */
typedef struct lv_dpsgd_work lv_dpsgd_work;

/*
 * lv_dpsgd_work_new allocates a workspace for the networks enc and dec (of
 * lv_model_train's shapes) and chunks of up to maxB rows; NULL when out of
 * memory or maxB < 1.
 */
lv_dpsgd_work *lv_dpsgd_work_new(const lv_schema *s, const lv_mlp *enc,
								 const lv_mlp *dec, int maxB);

/* lv_dpsgd_work_free releases a workspace (NULL is allowed). */
void lv_dpsgd_work_free(lv_dpsgd_work *w);

/*
 * lv_dpsgd_clip_accumulate computes, for B <= maxB rows X (B x d) with
 * targets T and noise xi (B x k), the per-example gradients of the
 * per-example negative ELBO, their norms by the identity above (into norms
 * if not NULL; clip = +inf disables clipping), and adds sum_i c_i g_i to
 * genc and gdec (overwrites them when first is nonzero; B = 0 then zeroes
 * them). recon and kl (if not NULL) receive the summed loss parts. Returns
 * the summed loss.
 */
double lv_dpsgd_clip_accumulate(const lv_schema *s, const lv_mlp *enc,
								const lv_mlp *dec, const float *X,
								const int32_t *T, const float *xi, int B,
								double clip, lv_dpsgd_work *w, lv_mlp *genc,
								lv_mlp *gdec, int first, double *norms,
								double *recon, double *kl);

/*
 * lv_dpsgd_noisy_grad computes the privatised gradient of step t into genc
 * and gdec: sampling, noise xi (drawn row after row in sample order by
 * lv_dpsgd_draw_xi from the (TRAIN, LV_DPSGD_STREAM(LV_DPSGD_XI, t))
 * stream), the clipped sum over chunks of the workspace's maxB rows, then
 * (sum + N(0, (sigma C)^2)) / (q n) with the noise drawn coordinate after
 * coordinate (encoder then decoder, each layer's W then b) by
 * lv_stream_gaussian from (TRAIN, LV_DPSGD_STREAM(LV_DPSGD_NOISE, t)).
 * loss (if not NULL) gets the summed loss parts {total, recon, kl}.
 * Returns the realised batch size.
 */
int64_t lv_dpsgd_noisy_grad(const lv_schema *s, const lv_mlp *enc,
							const lv_mlp *dec, const float *X,
							const int32_t *T, int64_t n,
							const lv_dpsgd_config *cfg, int64_t t,
							lv_dpsgd_work *w, lv_mlp *genc, lv_mlp *gdec,
							double *loss);

#endif
