/*
 * lv_dpsgd.h - DP-SGD training of the VAE (central differential privacy:
 * privacy.md "What the guarantee covers", item 2). No PostgreSQL here.
 *
 * The privacy unit is a row, or, when the caller groups the rows
 * (cfg->unit_start, privacy.md "Users, not rows"), a unit: a set of at
 * most k rows (one person's), which the caller has already bounded to k.
 * Below, "unit" means a row in the row-level mode.
 *
 * One step t (t = 0 .. steps-1) of lv_model_train_dpsgd:
 *   1. Poisson sampling: every unit is selected independently with
 *      probability q (lv_dpsgd_sampler over the units; the realised batch
 *      size varies and may be 0); every row of a selected unit enters the
 *      batch;
 *   2. for every row i, the gradient g_i of its own negative ELBO (the loss
 *      of lv_model_train: head cross-entropies, Bernoulli NULL heads, KL
 *      0.5 ||mu||^2 with posterior sd 1; z = mu + xi with xi truncated to
 *      |xi_j| <= 4) with respect to every parameter of both networks; for
 *      every selected unit u the sum G_u = sum_{i in u} g_i is clipped to
 *      L2 norm C: every row of u is weighted by c_u = min(1, C/||G_u||).
 *      ||G_u|| is computed without materialising any gradient: for a dense
 *      layer with input rows a_i and output-gradient rows e_i,
 *        ||sum_{i in u} e_i a_i^T||_F^2 = sum_{i,j in u} (a_i.a_j)(e_i.e_j),
 *        ||sum_{i in u} e_i||^2        = sum_{i,j in u} e_i.e_j,
 *      summed over layers (for a unit of one row: (||a_i||^2 + 1)
 *      ||e_i||^2); then sum_i c_u(i) dW_i = E^T diag(c) A, one GEMM per
 *      layer;
 *   3. N(0, (sigma C)^2) added to every coordinate of the sum, which is
 *      then divided by the normalizer (below), never by the realised batch
 *      size, so that the noise does not depend on the data;
 *   4. an Adam step, the spectral projection of the layers whose bound is
 *      set, and the update of the moving average (EMA) of the weights.
 * steps = lv_dpsgd_steps(epochs, q). Under add/remove-one neighbours (of
 * units) this is the Poisson-subsampled Gaussian mechanism of
 * lv_accountant.h with sensitivity C, composed over steps: the caller
 * accounts with lv_dpsgd_epsilon(q, sigma, steps, delta, relation) using
 * the same q, sigma and steps; the accountant counts units, so in the unit
 * mode the printed epsilon protects a whole unit. Only the weights are
 * private; the loss statistics in lv_train_result are NOT (see
 * lv_model_train_dpsgd).
 *
 * The normalizer. The noisy sum is divided by cfg->normalizer when it is
 * positive, by q n (n the number of ROWS) when it is 0. Dividing by the
 * exact n makes the released weights a function of the noisy sum AND of
 * n, and n is not covered by the accountant: under add/remove neighbours
 * it changes by one row (by up to k rows in the unit mode), and the
 * scale of the noise in the update, sigma C / (q n), reveals it (an empty
 * batch, for example, releases pure noise of exactly that scale). So in
 * the central mode, where n must stay hidden (privacy.md, "Things that
 * must not happen"), pass a public or DP value, e.g. q n_hat with n_hat a
 * DP estimate of the row count whose cost is accounted separately;
 * normalizer = 0 (q n) is for tests and for modes where n is public.
 *
 * The clip (cfg->clip_mode). LV_CLIP_NORM: C_t = cfg->clip at every step.
 * LV_CLIP_DERIVED (Bethune et al. 2023, "DP-SGD without clipping: the
 * Lipschitz neural network way"; privacy.md "The Lipschitz constraint in
 * the central mode"): at every step t, B_t = lv_dpsgd_grad_bound, an upper
 * bound on ||G_u|| for every possible unit, is computed from the CURRENT
 * weights only (outputs of the previous noisy steps, hence DP, plus the
 * public schema and max_unit_rows: no data is read), and the step clips at
 * and adds noise for C_t = min(cfg->clip, B_t). Clipping at C_t still
 * happens, so the guarantee never rests on the derivation (nor on float
 * rounding): every step is the subsampled Gaussian mechanism with
 * sensitivity C_t and noise sd sigma C_t, i.e. noise multiplier sigma,
 * which is all the accountant needs. cfg->clip may then be +inf (the clip
 * is B_t alone).
 *
 * The derivation of B_t. Notation: ||.|| the L2 norm, s_l an upper bound on
 * the spectral norm of layer l's W (lv_dpsgd_spectral_bound), b_l = ||bias
 * of layer l||. For any per-example loss, a dense layer with input a and
 * output gradient e (the gradient with respect to its pre-activation) has
 * ||dW||_F^2 + ||db||^2 = (||a||^2 + 1) ||e||^2, so
 *     ||g||^2 <= sum over layers of (A_l^2 + 1) E_l^2
 * with A_l >= ||a|| and E_l >= ||e|| for every admissible input. ReLU is
 * 1-Lipschitz with ReLU(0) = 0 and its mask has entries in {0, 1}, so
 * ||ReLU(v)|| <= ||v|| and ||mask * v|| <= ||v||. Then:
 *   inputs:   encoded rows have entries in [0, 1] and norm <= D
 *             (lv_schema_diameter), so A_enc,0 = min(D, sqrt(d));
 *   forward:  A_{l+1} = s_l A_l + b_l through the encoder, so ||mu|| <= M =
 *             A_enc,last; z = mu + xi with |xi_j| <= 4, so ||z|| <= M +
 *             4 sqrt(k) = A_dec,0, and A_{l+1} = s_l A_l + b_l through the
 *             decoder (its last A is not needed);
 *   heads:    the gradient of a softmax cross-entropy with respect to its
 *             logits is p - onehot, ||p - e_t||^2 = sum_{j != t} p_j^2 +
 *             (1 - p_t)^2 <= 2 (1 - p_t)^2 <= 2; a Bernoulli NULL head's is
 *             sigmoid(x) - y, at most 1 in size; a column contributes 2
 *             (categorical, or numeric that is not nullable) or 3 (nullable
 *             numeric: bins and NULL head), so E_dec,last = H = sqrt(sum);
 *   backward: E_{l-1} = s_l E_l through the decoder; dL/dz has norm <= s_0
 *             E_dec,0; the encoder's last output gradient is dL/dz + mu (the
 *             KL term 0.5 ||mu||^2), so E_enc,last = s_0 E_dec,0 + M, and
 *             E_{l-1} = s_l E_l through the encoder.
 * B_ex = sqrt(sum (A_l^2 + 1) E_l^2) (1 + 1e-4) bounds one row's gradient
 * (the margin covers the float rounding of the actual forward and
 * backward passes) and B_t = m B_ex bounds a unit's summed gradient,
 * m = cfg->max_unit_rows (1 in the row-level mode). The bound holds for
 * any targets, any NULL pattern and any x in the domain; it is loose
 * (worst-case alignment at every layer), so it helps only when the
 * spectral bounds (encoder_layer_bound, decoder_layer_bound) are small.
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
								 * of each unit (row) at each step */
	double clip;             /* C > 0: per-unit L2 clipping norm of the
								 * whole (summed) gradient; finite, except
								 * that LV_CLIP_DERIVED allows +inf */
	double noise_multiplier; /* sigma >= 0: noise sd sigma C_t on the
								 * summed clipped gradient (C_t: the clip
								 * of step t, C in LV_CLIP_NORM mode) */
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

	/*
	 * Units (privacy.md "Users, not rows"). NULL: every row is its own unit
	 * (nunits is ignored). Otherwise the caller has sorted the rows by unit:
	 * unit u (0 <= u < nunits) owns rows unit_start[u] .. unit_start[u+1]-1;
	 * unit_start has nunits + 1 entries, unit_start[0] = 0,
	 * unit_start[nunits] = n, strictly increasing (every unit has >= 1
	 * row), and no unit has more than LV_DPSGD_MAX_UNIT_ROWS rows.
	 */
	const int64_t *unit_start;
	int64_t nunits;
	/* > 0: the noisy sum is divided by it; 0: by q n (see above) */
	double normalizer;
	/*
	 * LV_CLIP_NORM (0): clip at cfg->clip; LV_CLIP_DERIVED (1): clip at
	 * min(cfg->clip, B_t) (see above; cfg->clip may be +inf).
	 */
	int32_t clip_mode;
	/*
	 * The public bound k on the rows of a unit (the caller's bounding), in
	 * [0, LV_DPSGD_MAX_UNIT_ROWS]; ignored in the row-level mode. When > 0,
	 * every unit must have at most this many rows (else LV_ERR_ARG).
	 * Required (>= 1) in the unit mode with LV_CLIP_DERIVED: B_t = k B_ex.
	 * Never derive it from the data (the largest unit is not public).
	 */
	int32_t max_unit_rows;
} lv_dpsgd_config;

/* cfg->clip_mode */
enum
{
	LV_CLIP_NORM = 0,
	LV_CLIP_DERIVED = 1
};

/* The largest unit lv_model_train_dpsgd accepts (rows). */
#define LV_DPSGD_MAX_UNIT_ROWS 4096

/*
 * lv_dpsgd_steps returns the number of steps of epochs expected passes at
 * sampling rate q (over units: every unit is expected to be sampled epochs
 * times): ceil(epochs / q), except that a quotient within a
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
 * sampled row (not unit) over the last ceil(1/q) steps (at most steps).
 * These are computed from the data WITHOUT noise: a diagnostic for the
 * data owner, not covered by the guarantee; never show them to whoever may
 * only see DP output.
 *
 * Returns LV_OK, LV_ERR_ARG (bad argument, including a bad unit_start),
 * LV_ERR_NOMEM, LV_ERR_INTERRUPTED, LV_ERR_NUMERIC (non-finite loss) or
 * LV_ERR_LAPACK;
 * on failure everything allocated is freed and m's networks are left
 * empty. The floating-point environment (flush-to-zero inside the loop) is
 * restored before every callback and before returning.
 */
int lv_model_train_dpsgd(lv_model *m, const float *X, const int32_t *T,
						 int64_t n, const lv_dpsgd_config *cfg,
						 lv_train_result *res);

/*
 * What lv_model_train_dpsgd_report reports about the clip. Every C_t is a
 * function of the weights before step t (DP outputs), the public schema,
 * max_unit_rows and cfg->clip, so unlike lv_train_result these values are
 * post-processing of the DP output and may be shown.
 */
typedef struct lv_dpsgd_report
{
	int64_t steps;       /* steps run */
	double clip_mean;    /* mean of C_t over the steps run */
	double clip_min;     /* smallest C_t */
	double clip_max;     /* largest C_t */
	double clip_last;    /* C_t of the last step */
	int64_t bound_steps; /* steps where B_t < cfg->clip (C_t = B_t) */
} lv_dpsgd_report;

/*
 * lv_model_train_dpsgd_report is lv_model_train_dpsgd that also fills rep
 * (if not NULL; zeroed first, filled when LV_OK is returned). Noise at step
 * t is always sigma C_t.
 */
int lv_model_train_dpsgd_report(lv_model *m, const float *X,
								const int32_t *T, int64_t n,
								const lv_dpsgd_config *cfg,
								lv_train_result *res, lv_dpsgd_report *rep);

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

/*
 * Poisson sampler of one step: the selected items (rows, or units in the
 * unit mode) in increasing order.
 */
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
 * lv_dpsgd_sampler_init starts the sampler of step t over n items (rows or
 * units) at rate q (stream (train_key, TRAIN,
 * LV_DPSGD_STREAM(LV_DPSGD_SAMPLE, t))). Item i is selected with probability floor(q 2^64) / 2^64 (q exactly for q = 1;
 * otherwise less than 2^-64 below q, so accounting with q overstates the
 * loss), decided by one 32-bit draw per item (a second only when the first
 * equals the top word of the threshold).
 */
void lv_dpsgd_sampler_init(lv_dpsgd_sampler *p,
						   const uint8_t key[LV_KEY_BYTES], int64_t t,
						   int64_t n, double q);

/* lv_dpsgd_sampler_next returns the next selected item, or -1 at the end. */
int64_t lv_dpsgd_sampler_next(lv_dpsgd_sampler *p);

/*
 * lv_dpsgd_draw_xi writes count standard normals truncated to [-4, 4]
 * (rejection: a draw outside is replaced by the next one) from s into xi.
 */
void lv_dpsgd_draw_xi(lv_stream *s, float *xi, size_t count);

/*
 * Workspace of the per-example clipped gradients of chunks of up to maxB
 * rows (opaque: activations, every layer's output gradients, gathered
 * rows, targets, latent noise, unit boundaries, and the Gram scratch of
 * lv_dpsgd_spectral_bound for every layer whose smaller side is at most
 * LV_DPSGD_GRAM_MAX: at most about 4.5 MB).
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
 * lv_dpsgd_clip_scale returns the float factor (1, or below 1) that clips a
 * vector whose exact L2 norm is at most norm_up so that the clipped vector
 * held in floats, even with its entries multiplied once more in float, has
 * exact norm <= clip: a margin of 1 + 2^-21 over the float roundings (proof
 * in lv_dpsgd.c). Without it a norm of 1.0000000877 C was measured.
 */
float lv_dpsgd_clip_scale(double norm_up, double clip);

/*
 * lv_dpsgd_clip_vector scales the n floats of v in place so that their
 * exact L2 norm (as computed in double or better) is at most clip > 2^-60.
 */
void lv_dpsgd_clip_vector(float *v, size_t n, double clip);

/*
 * lv_dpsgd_clip_accumulate computes, for B <= maxB rows X (B x d) with
 * targets T and noise xi (B x k), the per-example gradients of the
 * per-example negative ELBO, their norms by the identity above (into norms
 * if not NULL; clip = +inf disables clipping), and adds sum_i c_i g_i to
 * genc and gdec (overwrites them when first is nonzero; B = 0 then zeroes
 * them). recon and kl (if not NULL) receive the summed loss parts. Returns
 * the summed loss. Every row is a unit: lv_dpsgd_clip_accumulate_units
 * with ustart = NULL.
 */
double lv_dpsgd_clip_accumulate(const lv_schema *s, const lv_mlp *enc,
								const lv_mlp *dec, const float *X,
								const int32_t *T, const float *xi, int B,
								double clip, lv_dpsgd_work *w, lv_mlp *genc,
								lv_mlp *gdec, int first, double *norms,
								double *recon, double *kl);

/*
 * lv_dpsgd_clip_accumulate_units is lv_dpsgd_clip_accumulate with the B
 * rows grouped into nu units: unit u owns rows ustart[u] .. ustart[u+1]-1
 * (ustart: nu + 1 entries, ustart[0] = 0, ustart[nu] = B, strictly
 * increasing). norms (nu entries, if not NULL) receives ||G_u||, the norm
 * of the sum of the unit's per-example gradients, and every row of u is
 * weighted by c_u = lv_dpsgd_clip_scale(upper bound of ||G_u|| from the
 * rounding error of the norm computation, clip): about min(1, clip /
 * ||G_u||) less a relative 2^-21 and that bound, so that c_u G_u in floats
 * has norm <= clip exactly. ustart = NULL: every row is a
 * unit (nu = B), bit-identical to the row-level computation.
 */
double lv_dpsgd_clip_accumulate_units(const lv_schema *s, const lv_mlp *enc,
									  const lv_mlp *dec, const float *X,
									  const int32_t *T, const float *xi,
									  int B, const int *ustart, int nu,
									  double clip, lv_dpsgd_work *w,
									  lv_mlp *genc, lv_mlp *gdec, int first,
									  double *norms, double *recon,
									  double *kl);

/*
 * lv_dpsgd_noisy_grad computes the privatised gradient of step t into genc
 * and gdec: sampling of the units (rows when cfg->unit_start is NULL; n is
 * the number of rows either way), noise xi (drawn row after row in sample
 * order, the rows of a unit in order, by lv_dpsgd_draw_xi from the
 * (TRAIN, LV_DPSGD_STREAM(LV_DPSGD_XI, t)) stream), the per-unit clipped
 * sum over chunks of at most the workspace's maxB rows (a chunk never
 * splits a unit), then (sum + N(0, (sigma C)^2)) / normalizer (q n when
 * cfg->normalizer is 0) with the noise drawn coordinate after coordinate
 * (encoder then decoder, each layer's W then b) by lv_stream_gaussian from
 * (TRAIN, LV_DPSGD_STREAM(LV_DPSGD_NOISE, t)). loss (if not NULL) gets the
 * summed loss parts {total, recon, kl}. C is the step's clip C_t =
 * lv_dpsgd_step_clip (cfg->clip in LV_CLIP_NORM mode). Returns the
 * realised batch size in rows, -1 when a sampled unit has more than maxB
 * rows, -2 when C_t cannot be computed (non-finite weights); genc and gdec
 * are then meaningless. The arguments are not validated
 * (lv_model_train_dpsgd does that).
 */
int64_t lv_dpsgd_noisy_grad(const lv_schema *s, const lv_mlp *enc,
							const lv_mlp *dec, const float *X,
							const int32_t *T, int64_t n,
							const lv_dpsgd_config *cfg, int64_t t,
							lv_dpsgd_work *w, lv_mlp *genc, lv_mlp *gdec,
							double *loss);

/*
 * lv_dpsgd_spectral_bound returns an upper bound on the largest singular
 * value of L->W (out x in), exact arithmetic aside: the Schatten-8 norm
 * (sum_i sigma_i^8)^(1/8) = ||G^2||_F^(1/4), G the Gram matrix of the
 * smaller side of W / ||W||_F (r x r, r = min(out, in)), computed in double
 * (two DSYRK, about r^2 max(out, in) + r^3 flops), times (1 + 1e-6) for
 * the rounding. It exceeds ||W||_2 by at most the factor r^(1/8) (1.8 for
 * r = 128), much less when a few singular values dominate. When r >
 * LV_DPSGD_GRAM_MAX or scratch holds fewer than
 * lv_dpsgd_spectral_scratch(r) doubles, the Frobenius norm (times
 * (1 + 1e-9)) instead. 0 for a zero matrix; negative for non-finite
 * entries. Power iteration is never used here: it gives lower bounds.
 */
#define LV_DPSGD_GRAM_MAX 512
double lv_dpsgd_spectral_bound(const lv_layer *L, double *scratch,
							   size_t scratch_len);

/* lv_dpsgd_spectral_scratch returns the scratch doubles for r = min side. */
size_t lv_dpsgd_spectral_scratch(int r);

/*
 * lv_dpsgd_grad_bound returns B_t = unit_rows B_ex (derivation above) for
 * the networks enc and dec on schema s, with the workspace's scratch for
 * the spectral bounds; negative when a weight is not finite, unit_rows <
 * 1 or the bound overflows.
 */
double lv_dpsgd_grad_bound(const lv_schema *s, const lv_mlp *enc,
						   const lv_mlp *dec, int32_t unit_rows,
						   lv_dpsgd_work *w);

/*
 * lv_dpsgd_step_clip returns the clip C_t of a step on the current
 * networks: cfg->clip (LV_CLIP_NORM) or min(cfg->clip, B_t)
 * (LV_CLIP_DERIVED, B_t from lv_dpsgd_grad_bound with m = max_unit_rows
 * in the unit mode, else 1); bound (if not NULL) gets B_t (0 in
 * LV_CLIP_NORM mode). Negative when B_t cannot be computed.
 */
double lv_dpsgd_step_clip(const lv_schema *s, const lv_mlp *enc,
						  const lv_mlp *dec, const lv_dpsgd_config *cfg,
						  lv_dpsgd_work *w, double *bound);

#endif
