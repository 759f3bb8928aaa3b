/*
 * lv_nn.h - dense layers over minibatches (cblas_sgemm), Adam, spectral
 * projection and the exact spectral-norm certificate. No PostgreSQL here.
 * Internal to the core: the glue layer uses lv_model.h only.
 */
#ifndef LV_NN_H
#define LV_NN_H

#include "lv_model.h"

/*
 * lv_mlp_infer runs m on B rows of in (B x m->layers[0].in, row-major) and
 * writes out (B x last layer's out). scratch must hold 2 * B * maxwidth
 * floats, maxwidth the widest layer output. ReLU between layers.
 */
void lv_mlp_infer(const lv_mlp *m, const float *in, int B, float *out,
				  float *scratch);

/* lv_mlp_max_width returns the widest layer output of m. */
int lv_mlp_max_width(const lv_mlp *m);

/*
 * lv_spectral_norm_exact returns the largest singular value of the out x in
 * float matrix W computed by LAPACK dgesvd in double precision (negative on
 * failure).
 */
double lv_spectral_norm_exact(const float *W, int out, int in);

/* lv_mlp_alloc allocates the layers of an MLP with widths[0..nlayers]. */
int lv_mlp_alloc(lv_mlp *m, int nlayers, const int *widths);

/* lv_mlp_free releases an MLP's layers. */
void lv_mlp_free(lv_mlp *m);

/* ---------- internal helpers of the core (not for the glue) ---------- */

/* Encoding layout (lv_schema.c). */
int lv_schema_check(const lv_schema *s);
int lv_schema_uniform_ints(const lv_schema *s);
int lv_column_binned_int(const lv_column *c);
int lv_column_slots(const lv_column *c);
int lv_column_in_width(const lv_column *c);
int lv_column_out_width(const lv_column *c);
int lv_numeric_bin(const lv_column *c, double v);

/*
 * Training cache of an MLP over minibatches of up to maxB rows: act[l]
 * holds layer l's output (after the ReLU for all but the last layer), d0/d1
 * the backpropagated gradients.
 */
typedef struct lv_mlp_cache
{
	int maxB;
	int nlayers;
	float **act; /* nlayers arrays of maxB x layers[l].out */
	float *d0,
		*d1;     /* maxB x maxwidth each */
	float *ones; /* maxB ones (bias gradients by sgemv) */
} lv_mlp_cache;

int lv_mlp_cache_alloc(lv_mlp_cache *c, const lv_mlp *m, int maxB);
void lv_mlp_cache_free(lv_mlp_cache *c);

/* lv_mlp_forward runs B rows through m; the output is c->act[nlayers-1]. */
void lv_mlp_forward(const lv_mlp *m, const float *in, int B,
					lv_mlp_cache *c);

/*
 * lv_mlp_backward takes dout (B x output, the gradient at the last layer's
 * output) after lv_mlp_forward on the same in, writes the parameter
 * gradients into grad (same shapes as m, overwritten) and, if din is not
 * NULL, the gradient with respect to in (B x input).
 */
void lv_mlp_backward(const lv_mlp *m, const float *in, int B,
					 lv_mlp_cache *c, const float *dout, lv_mlp *grad,
					 float *din);

/* lv_mlp_alloc_like allocates zeroed layers with the shapes of m. */
int lv_mlp_alloc_like(lv_mlp *dst, const lv_mlp *m);

/* lv_mlp_init_xavier fills W with Xavier-uniform values and zeroes b. */
void lv_mlp_init_xavier(lv_mlp *m, lv_stream *rng);

/*
 * lv_adam_step applies one Adam step (PyTorch's formulation, bias
 * corrected; t counts steps from 1) to every parameter of m.
 */
void lv_adam_step(lv_mlp *m, const lv_mlp *grad, lv_mlp *m1, lv_mlp *m2,
				  double lr, double beta1, double beta2, double eps,
				  int64_t t);

/*
 * lv_power_iterate runs iters power iterations on layer L with the
 * persistent unit vector v (L->in) and scratch u (L->out); returns the
 * estimate of ||W||_2 (a lower bound up to rounding).
 */
double lv_power_iterate(const lv_layer *L, float *v, float *u, int iters);

/*
 * lv_spectral_project estimates ||W||_2 by power iteration and, if the
 * estimate exceeds bound, scales W by bound / estimate; entries with
 * |w| < 1e-30 are flushed to zero. Returns the estimate before scaling.
 */
double lv_spectral_project(lv_layer *L, float *v, float *u, int iters,
						   double bound);

/* lv_mlp_flush_tiny sets every weight with |w| < 1e-30 to zero. */
void lv_mlp_flush_tiny(lv_mlp *m);

/*
 * lv_heads_loss computes the summed reconstruction loss of B rows of
 * logits against targets T (B x ncols) and writes scale times its
 * gradient with respect to the logits into dlogits (B x output dim).
 */
double lv_heads_loss(const lv_schema *s, const float *logits,
					 const int32_t *T, int B, float scale,
					 float *dlogits);

/* Workspace of one VAE minibatch step (lv_train.c). */
typedef struct lv_vae_work
{
	int maxB;
	lv_mlp_cache enc_cache;
	lv_mlp_cache dec_cache;
	float *z;       /* maxB x k */
	float *dlogits; /* maxB x output dim */
	float *dz;      /* maxB x k */
} lv_vae_work;

int lv_vae_work_alloc(lv_vae_work *w, const lv_mlp *enc,
					  const lv_mlp *dec, int maxB);
void lv_vae_work_free(lv_vae_work *w);

/*
 * lv_vae_grad computes the mean negative ELBO of B rows X (B x d) with
 * targets T, z = mu(x) + xi (xi: B x k), and the gradients of that mean
 * with respect to every parameter into genc and gdec. recon and kl (if
 * not NULL) receive the summed parts. Returns the mean loss.
 */
double lv_vae_grad(const lv_schema *s, const lv_mlp *enc,
				   const lv_mlp *dec, const float *X, const int32_t *T,
				   const float *xi, int B, lv_vae_work *w, lv_mlp *genc,
				   lv_mlp *gdec, double *recon, double *kl);

/* ---- shared by the training loops (lv_train.c, lv_dpsgd.c) ---- */

/* lv_fp_enter sets flush-to-zero and denormals-are-zero; returns the old state. */
unsigned int lv_fp_enter(void);

/* lv_fp_leave restores the floating-point state saved by lv_fp_enter. */
void lv_fp_leave(unsigned int saved);

/*
 * lv_poll_callback calls an interruption callback (if any) with the caller's
 * floating-point state restored; returns nonzero to stop.
 */
int lv_poll_callback(int (*cb)(void *), void *arg, unsigned int saved);

/* lv_relu_mask zeroes g[i] where the ReLU output a[i] is not positive. */
void lv_relu_mask(float *g, const float *a, size_t n);

/* lv_max_float returns the largest of l[0..n), n >= 1 (exact, vectorised). */
float lv_max_float(const float *l, int n);

#endif
