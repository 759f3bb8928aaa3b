/*
 * lv_dpsgd.c - DP-SGD training of the VAE (see lv_dpsgd.h): Poisson
 * sampling, per-example gradient norms from layer inputs and output
 * gradients ("ghost norms"), clipping folded into one weight-gradient GEMM
 * per layer, Gaussian noise, Adam, spectral projection and a moving
 * average of the weights.
 *
 * A chunk of B rows costs what a minibatch of lv_model_train costs: the
 * forward GEMMs, the input-gradient GEMMs of the backward pass (which
 * leave every layer's output gradients E_l, B x out), and one
 * weight-gradient GEMM per layer, E_l^T diag(c) A_l. The norms and the
 * row scaling are vector loops over the rows.
 */
#include <math.h>
#include <string.h>
#include <cblas.h>

#include "lv_model.h"
#include "lv_nn.h"
#include "lv_dpsgd.h"

#define LV_DPSGD_POWER_ITERS_STEP 2  /* as lv_train.c */
#define LV_DPSGD_POWER_ITERS_INIT 30 /* at initialisation */
#define LV_DPSGD_MAX_ROWS ((int64_t) 1 << 40)
#define LV_DPSGD_MAX_STEPS ((int64_t) 1 << 40)
#define LV_DPSGD_CHUNK_MAX 4096         /* rows per chunk */
#define LV_DPSGD_CHUNK_FLOATS (1 << 24) /* chunk workspace cap, floats */
#define LV_DPSGD_XI_BOUND 4.0           /* |xi_j| <= 4 (privacy.md) */
#define LV_DPSGD_GRAM_BLOCK 64          /* columns per DSYRK of the Gram */
#define LV_DPSGD_BOUND_LAYERS 16        /* layers per network in the bound */
#define LV_DPSGD_BOUND_MARGIN 1e-4      /* float rounding of the passes */
#define LV_TWO32 4294967296.0

/* Workspace of lv_dpsgd_clip_accumulate (opaque in lv_dpsgd.h). */
struct lv_dpsgd_work
{
	int maxB;
	int nenc,
		ndec;               /* layers of the networks */
	lv_mlp_cache enc_cache; /* activations */
	lv_mlp_cache dec_cache;
	float **eenc;  /* per encoder layer: maxB x out output gradients */
	float **edec;  /* per decoder layer */
	float *z;      /* maxB x k */
	double *sq;    /* maxB squared per-example norms */
	double *sqabs; /* maxB bounds on the sums of |terms| of sq (rounding) */
	float *c;      /* maxB clipping factors */
	float *Xb;     /* maxB x d gathered rows */
	int32_t *Tb;   /* maxB x ncols gathered targets */
	float *xi;     /* maxB x k reparameterisation noise */
	int *ustart;   /* maxB + 1 unit boundaries of the current chunk */
	double *gram;  /* scratch of lv_dpsgd_spectral_bound */
	size_t gram_len;
};

/* Everything lv_model_train_dpsgd allocates besides the model's arrays. */
typedef struct lv_dpsgd_state
{
	lv_mlp genc,
		gdec; /* privatised gradients */
	lv_mlp m1enc,
		m2enc,
		m1dec,
		m2dec; /* Adam moments */
	lv_mlp aenc,
		adec; /* EMA accumulators */
	lv_dpsgd_work *work;
	float *pv; /* power-iteration vectors, all layers */
	float *pu; /* power-iteration scratch */
} lv_dpsgd_state;

static int lv_dpsgd_check_args(const lv_model *m, const float *X,
							   const int32_t *T, int64_t n,
							   const lv_dpsgd_config *cfg);
static int lv_dpsgd_chunk_rows(const lv_mlp *enc, const lv_mlp *dec,
							   int64_t n, double q, int64_t umax);
static int64_t lv_dpsgd_max_unit(const lv_dpsgd_config *cfg);
static int lv_dpsgd_state_alloc(lv_dpsgd_state *st, const lv_model *m,
								int maxB);
static void lv_dpsgd_state_free(lv_dpsgd_state *st);
static void lv_dpsgd_project(lv_model *m, const lv_dpsgd_config *cfg,
							 lv_dpsgd_state *st, int iters);
static void lv_dpsgd_discard(lv_model *m);

/* ---------- sampling and noise ---------- */

/*
 * lv_dpsgd_steps returns ceil(epochs / q), a quotient within a relative
 * 1e-9 of an integer counting as that integer; -1 on bad input.
 */
int64_t
lv_dpsgd_steps(int32_t epochs, double q)
{
	double s,
		r;

	if (epochs < 1 || !(q > 0.0) || !(q <= 1.0))
		return -1;
	s = (double) epochs / q;
	if (!(s <= (double) LV_DPSGD_MAX_STEPS))
		return -1;
	r = nearbyint(s);
	if (fabs(s - r) <= 1e-9 * s)
		s = r;
	else
		s = ceil(s);
	if (s < 1.0)
		s = 1.0;
	return (int64_t) s;
}

/*
 * lv_dpsgd_sampler_init starts the Poisson sampler of step t over n rows
 * at rate q: threshold floor(q 2^64) split into two 32-bit words.
 */
void
lv_dpsgd_sampler_init(lv_dpsgd_sampler *p, const uint8_t key[LV_KEY_BYTES],
					  int64_t t, int64_t n, double q)
{
	lv_stream_init(&p->s, key, LV_DOMAIN_TRAIN,
				   LV_DPSGD_STREAM(LV_DPSGD_SAMPLE, t));
	p->n = n;
	p->next = 0;
	p->all = q >= 1.0;
	p->thi = 0;
	p->tlo = 0;
	if (!p->all && q > 0.0)
	{
		double x = q * LV_TWO32; /* exact: a power-of-two scaling */
		double hi = floor(x);

		p->thi = (uint32_t) hi;
		p->tlo = (uint32_t) floor((x - hi) * LV_TWO32); /* both exact */
	}
}

/*
 * lv_dpsgd_sampler_next returns the next selected row (each row decided by
 * u < floor(q 2^64) on a 64-bit u drawn lazily, high word first), or -1
 * when every row has been decided.
 */
int64_t
lv_dpsgd_sampler_next(lv_dpsgd_sampler *p)
{
	while (p->next < p->n)
	{
		int64_t i = p->next++;
		uint32_t u;

		if (p->all)
			return i;
		u = lv_stream_u32(&p->s);
		if (u < p->thi)
			return i;
		if (u == p->thi && lv_stream_u32(&p->s) < p->tlo)
			return i;
	}
	return -1;
}

/* lv_dpsgd_draw_xi writes count standard normals truncated to [-4, 4]. */
void
lv_dpsgd_draw_xi(lv_stream *s, float *xi, size_t count)
{
	size_t i;

	for (i = 0; i < count; i++)
	{
		double g;

		do
			g = lv_stream_gaussian(s);
		while (fabs(g) > LV_DPSGD_XI_BOUND);
		xi[i] = (float) g;
	}
}

/*
 * lv_dpsgd_noise_array replaces each of the n values g by
 * (g + std N(0,1)) * scale (no draws when std is 0).
 */
static void
lv_dpsgd_noise_array(float *g, size_t n, lv_stream *rng, double std,
					 double scale)
{
	size_t i;

	if (std > 0.0)
		for (i = 0; i < n; i++)
			g[i] = (float) (((double) g[i] + std * lv_stream_gaussian(rng)) *
							scale);
	else
		for (i = 0; i < n; i++)
			g[i] = (float) ((double) g[i] * scale);
}

/* lv_dpsgd_noise_mlp applies lv_dpsgd_noise_array to every layer's W, b. */
static void
lv_dpsgd_noise_mlp(lv_mlp *g, lv_stream *rng, double std, double scale)
{
	int l;

	for (l = 0; l < g->nlayers; l++)
	{
		lv_layer *L = &g->layers[l];

		lv_dpsgd_noise_array(L->W, (size_t) L->out * L->in, rng, std, scale);
		lv_dpsgd_noise_array(L->b, (size_t) L->out, rng, std, scale);
	}
}

/* ---------- per-example clipped gradients ---------- */

/* lv_dpsgd_work_new allocates the workspace for chunks of maxB rows. */
lv_dpsgd_work *
lv_dpsgd_work_new(const lv_schema *s, const lv_mlp *enc, const lv_mlp *dec,
				  int maxB)
{
	int d = enc->layers[0].in;
	int k = enc->layers[enc->nlayers - 1].out;
	lv_dpsgd_work *w;
	int l;

	if (maxB < 1)
		return NULL;
	w = lv_calloc(1, sizeof(lv_dpsgd_work));
	if (w == NULL)
		return NULL;
	w->maxB = maxB;
	if (lv_mlp_cache_alloc(&w->enc_cache, enc, maxB) != LV_OK ||
		lv_mlp_cache_alloc(&w->dec_cache, dec, maxB) != LV_OK)
		goto fail;
	w->eenc = lv_calloc((size_t) enc->nlayers, sizeof(float *));
	if (w->eenc == NULL)
		goto fail;
	w->nenc = enc->nlayers;
	w->edec = lv_calloc((size_t) dec->nlayers, sizeof(float *));
	if (w->edec == NULL)
		goto fail;
	w->ndec = dec->nlayers;
	for (l = 0; l < enc->nlayers; l++)
		if ((w->eenc[l] = lv_calloc((size_t) maxB * enc->layers[l].out,
									sizeof(float))) == NULL)
			goto fail;
	for (l = 0; l < dec->nlayers; l++)
		if ((w->edec[l] = lv_calloc((size_t) maxB * dec->layers[l].out,
									sizeof(float))) == NULL)
			goto fail;
	w->z = lv_calloc((size_t) maxB * k, sizeof(float));
	w->sq = lv_calloc((size_t) maxB, sizeof(double));
	w->sqabs = lv_calloc((size_t) maxB, sizeof(double));
	w->c = lv_calloc((size_t) maxB, sizeof(float));
	w->Xb = lv_calloc((size_t) maxB * d, sizeof(float));
	w->Tb = lv_calloc((size_t) maxB * s->ncols, sizeof(int32_t));
	w->xi = lv_calloc((size_t) maxB * k, sizeof(float));
	w->ustart = lv_calloc((size_t) maxB + 1, sizeof(int));
	if (w->z == NULL || w->sq == NULL || w->sqabs == NULL || w->c == NULL || w->Xb == NULL ||
		w->Tb == NULL || w->xi == NULL || w->ustart == NULL)
		goto fail;
	/* Gram scratch for the largest small side of any layer */
	{
		int r,
			rmax = 0;

		for (l = 0; l < enc->nlayers + dec->nlayers; l++)
		{
			const lv_layer *L = l < enc->nlayers ? &enc->layers[l]
												 : &dec->layers[l - enc->nlayers];

			r = L->out < L->in ? L->out : L->in;
			if (r <= LV_DPSGD_GRAM_MAX && r > rmax)
				rmax = r;
		}
		if (rmax > 0)
		{
			w->gram_len = lv_dpsgd_spectral_scratch(rmax);
			w->gram = lv_calloc(w->gram_len, sizeof(double));
			if (w->gram == NULL)
				goto fail;
		}
	}
	return w;

fail:
	lv_dpsgd_work_free(w);
	return NULL;
}

/* lv_dpsgd_work_free releases a workspace (NULL is allowed). */
void
lv_dpsgd_work_free(lv_dpsgd_work *w)
{
	int l;

	if (w == NULL)
		return;
	for (l = 0; l < w->nenc; l++)
		lv_free(w->eenc[l]);
	for (l = 0; l < w->ndec; l++)
		lv_free(w->edec[l]);
	lv_free(w->eenc);
	lv_free(w->edec);
	lv_mlp_cache_free(&w->enc_cache);
	lv_mlp_cache_free(&w->dec_cache);
	lv_free(w->z);
	lv_free(w->sq);
	lv_free(w->sqabs);
	lv_free(w->c);
	lv_free(w->Xb);
	lv_free(w->Tb);
	lv_free(w->xi);
	lv_free(w->ustart);
	lv_free(w->gram);
	lv_free(w);
}

/*
 * lv_dpsgd_backprop fills the output gradients E[l] of layers nlayers-2
 * .. 0 of m from E[nlayers-1] (B rows each): E[l-1] = (E[l] W_l) masked
 * by the ReLU of layer l-1's output; din (if not NULL) = E[0] W_0.
 */
static void
lv_dpsgd_backprop(const lv_mlp *m, const lv_mlp_cache *c, int B, float **E,
				  float *din)
{
	int l;

	for (l = m->nlayers - 1; l > 0; l--)
	{
		const lv_layer *L = &m->layers[l];
		const float *a = c->act[l - 1];
		float *dx = E[l - 1];

		cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, B, L->in,
					L->out, 1.0f, E[l], L->out, L->W, L->in, 0.0f, dx, L->in);
		lv_relu_mask(dx, a, (size_t) B * L->in);
	}
	if (din != NULL)
		cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, B,
					m->layers[0].in, m->layers[0].out, 1.0f, E[0],
					m->layers[0].out, m->layers[0].W, m->layers[0].in, 0.0f,
					din, m->layers[0].in);
}

/*
 * lv_dpsgd_add_sqnorms adds to sq[u] the squared norm of the summed
 * gradient of unit u's rows for every layer of m (input in, activations
 * in c, output gradients E): sum_{i,j in u} (a_i.a_j + 1)(e_i.e_j), the
 * weight part plus the bias part. ustart = NULL: every row is a unit and
 * the term is (||a_r||^2 + 1) ||e_r||^2. The diagonal terms use float dot
 * products (as the row-level path always has), the cross terms double
 * accumulation. sqabs[u] gets (sum_{i in u} sqrt((||a_i||^2 + 1) ||e_i||^2))^2
 * added per layer, which bounds sum_{i,j} |(a_i.a_j + 1)(e_i.e_j)| (Cauchy-
 * Schwarz), the scale of the rounding error of sq (lv_dpsgd_norm_upper).
 */
static void
lv_dpsgd_add_sqnorms(const lv_mlp *m, const float *in, const lv_mlp_cache *c,
					 float *const *E, int B, const int *ustart, int nu,
					 double *sq, double *sqabs)
{
	int l,
		u,
		i,
		j;

	for (l = 0; l < m->nlayers; l++)
	{
		const lv_layer *L = &m->layers[l];
		const float *A = (l == 0) ? in : c->act[l - 1];

		for (u = 0; u < (ustart ? nu : B); u++)
		{
			int lo = ustart ? ustart[u] : u,
				hi = ustart ? ustart[u + 1] : u + 1;
			double acc = 0.0,
				   root = 0.0;

			for (i = lo; i < hi; i++)
			{
				const float *a = A + (size_t) i * L->in;
				const float *e = E[l] + (size_t) i * L->out;
				double na = cblas_sdot(L->in, a, 1, a, 1);
				double ne = cblas_sdot(L->out, e, 1, e, 1);

				acc += (na + 1.0) * ne;
				root += sqrt((na + 1.0) * ne);
				for (j = lo; j < i; j++)
				{
					const float *aj = A + (size_t) j * L->in;
					const float *ej = E[l] + (size_t) j * L->out;

					acc += 2.0 * (cblas_dsdot(L->in, a, 1, aj, 1) + 1.0) *
						   cblas_dsdot(L->out, e, 1, ej, 1);
				}
			}
			sq[u] += acc;
			sqabs[u] += root * root;
		}
	}
}

/* lv_gamma returns gamma_n = n u / (1 - n u), Higham's bound for n roundings of unit u. */
static double
lv_gamma(double n, double u)
{
	return n * u < 0.5 ? n * u / (1.0 - n * u) : INFINITY;
}

/*
 * lv_dpsgd_norm_upper returns an upper bound on the exact norm of a
 * gradient whose squared norm was computed as sq by lv_dpsgd_add_sqnorms
 * (vectors of at most nmax entries, at most nterms terms per unit) with
 * sqabs its bound on the sum of |terms|. Error of sq (Higham, Accuracy and
 * Stability, 2002, 3.1): each float dot product of n squares is within
 * gamma_n(2^-24) of its exact value, each double dot product of float
 * products (exact in double) within gamma_n(2^-53) of the sum of |products|,
 * and every term is at most sqrt((||a_i||^2+1)||e_i||^2 (||a_j||^2+1)
 * ||e_j||^2) by Cauchy-Schwarz, so with the double products and sums,
 * |sq - exact| <= rho sqabs, rho = 4 gamma_nmax(2^-24) + 2 gamma_nterms(2^-53)
 * + 2^-45 (4 covers (1+g)^2 - 1 = 2g + g^2 twice over, also for sqabs
 * itself being formed from the rounded dot products). The square root and
 * the last sums are rounded up by two factors 1 + 2^-50.
 */
static double
lv_dpsgd_norm_upper(double sq, double sqabs, double nmax, double nterms)
{
	double rho = 4.0 * lv_gamma(nmax, 0x1p-24) + 2.0 * lv_gamma(nterms, 0x1p-53) +
				 0x1p-45;
	double up = (fmax(sq, 0.0) + rho * sqabs) * (1.0 + 0x1p-50);

	return sqrt(up) * (1.0 + 0x1p-50);
}

/*
 * lv_dpsgd_clip_scale returns the float factor c applied to a vector whose
 * exact norm is at most norm_up so that the clipped vector, as floats, has
 * exact norm <= clip (clip >= 2^-60, see below):
 *   c = 1 when norm_up (1 + 2^-21) <= clip, else c = fl32(clip / (norm_up
 *   (1 + 2^-21))) (< 1 or rounded to 1).
 * Proof. The clipped vector's entries are fl32(c e_k) (one float rounding,
 * relative <= 2^-24) times the unchanged inputs, and materialising a product
 * fl32(x a) rounds once more; c itself is the float rounded down from the
 * double quotient, which exceeds clip / (norm_up (1 + 2^-21)) by at most a
 * factor 1 + 2^-53 (a subnormal c is rounded down too: its relative
 * rounding could otherwise be large). So the norm of the float result is
 * at most
 *   clip (1 + 2^-24)^2 (1 + 2^-53) / (1 + 2^-21) < clip,
 * since (1 + 2^-24)^2 (1 + 2^-53) < 1 + 2^-22.9 < 1 + 2^-21; and when c = 1
 * the entries are only rounded as products, norm <= norm_up (1 + 2^-24) <
 * clip. (Underflow to subnormals adds at most 2^-149 per entry in absolute
 * terms, negligible against the spare 2^-23 clip for clip >= 2^-60 unless
 * activations exceed 2^60.) The margin costs at most a relative 2^-21 of
 * the clipped norm plus the rounding bound of lv_dpsgd_norm_upper.
 */
float
lv_dpsgd_clip_scale(double norm_up, double clip)
{
	double m = norm_up * (1.0 + 0x1p-21);
	float c;

	if (!(m > clip))
		return 1.0f; /* also norm_up NaN: the caller's loss is NaN anyway */
	c = (float) (clip / m);
	if ((double) c > clip / m)
		c = nextafterf(c, 0.0f); /* rounded down, also when subnormal */
	return c;
}

/*
 * lv_dpsgd_clip_vector scales the n floats of v in place so that their
 * exact L2 norm is at most clip (lv_dpsgd_clip_scale): the squared norm is
 * summed in double from exact float squares (error <= gamma_n(2^-53) of
 * it), rounded up, and every entry becomes fl32(c v_i).
 */
void
lv_dpsgd_clip_vector(float *v, size_t n, double clip)
{
	double sq = 0.0;
	float c;
	size_t i;

	for (i = 0; i < n; i++)
		sq += (double) v[i] * (double) v[i];
	sq *= (1.0 + lv_gamma((double) n, 0x1p-53)) * (1.0 + 0x1p-50);
	c = lv_dpsgd_clip_scale(sqrt(sq) * (1.0 + 0x1p-50), clip);
	if (c != 1.0f)
		for (i = 0; i < n; i++)
			v[i] = c * v[i];
}

/*
 * lv_dpsgd_weighted_grad scales row r of every E[l] by cf[r] and writes
 * (or adds, when first is zero) the layer gradients E_l^T A_l and
 * E_l^T 1 into g: one GEMM and one GEMV per layer.
 */
static void
lv_dpsgd_weighted_grad(const lv_mlp *m, const float *in,
					   const lv_mlp_cache *c, float *const *E, const float *cf,
					   int B, lv_mlp *g, int first)
{
	float beta = first ? 0.0f : 1.0f;
	int l,
		r;

	for (l = 0; l < m->nlayers; l++)
	{
		const lv_layer *L = &m->layers[l];
		const float *A = (l == 0) ? in : c->act[l - 1];
		lv_layer *G = &g->layers[l];

		for (r = 0; r < B; r++)
			if (cf[r] != 1.0f)
				cblas_sscal(L->out, cf[r], E[l] + (size_t) r * L->out, 1);
		cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, L->out, L->in, B,
					1.0f, E[l], L->out, A, L->in, beta, G->W, L->in);
		cblas_sgemv(CblasRowMajor, CblasTrans, B, L->out, 1.0f, E[l], L->out,
					c->ones, 1, beta, G->b, 1);
	}
}

/* lv_dpsgd_zero_mlp sets every weight and bias of g to zero. */
static void
lv_dpsgd_zero_mlp(lv_mlp *g)
{
	int l;

	for (l = 0; l < g->nlayers; l++)
	{
		memset(g->layers[l].W, 0,
			   sizeof(float) * (size_t) g->layers[l].out * g->layers[l].in);
		memset(g->layers[l].b, 0, sizeof(float) * (size_t) g->layers[l].out);
	}
}

/* lv_dpsgd_widest returns the largest layer input or output width of enc and dec. */
static double
lv_dpsgd_widest(const lv_mlp *enc, const lv_mlp *dec)
{
	int l,
		m = 1;

	for (l = 0; l < enc->nlayers + dec->nlayers; l++)
	{
		const lv_layer *L = l < enc->nlayers ? &enc->layers[l] : &dec->layers[l - enc->nlayers];

		if (L->in > m)
			m = L->in;
		if (L->out > m)
			m = L->out;
	}
	return (double) m;
}

/*
 * lv_dpsgd_clip_accumulate adds the clipped per-example gradients of B
 * rows to genc and gdec (see lv_dpsgd.h); returns the summed loss.
 */
double
lv_dpsgd_clip_accumulate(const lv_schema *s, const lv_mlp *enc,
						 const lv_mlp *dec, const float *X, const int32_t *T,
						 const float *xi, int B, double clip,
						 lv_dpsgd_work *w, lv_mlp *genc, lv_mlp *gdec,
						 int first, double *norms, double *recon, double *kl)
{
	return lv_dpsgd_clip_accumulate_units(s, enc, dec, X, T, xi, B, NULL, B,
										  clip, w, genc, gdec, first, norms,
										  recon, kl);
}

/*
 * lv_dpsgd_clip_accumulate_units adds the per-unit clipped gradient sums
 * of B rows in nu units to genc and gdec (see lv_dpsgd.h); returns the
 * summed loss.
 */
double
lv_dpsgd_clip_accumulate_units(const lv_schema *s, const lv_mlp *enc,
							   const lv_mlp *dec, const float *X,
							   const int32_t *T, const float *xi, int B,
							   const int *ustart, int nu, double clip,
							   lv_dpsgd_work *w, lv_mlp *genc, lv_mlp *gdec,
							   int first, double *norms, double *recon,
							   double *kl)
{
	int ne = enc->nlayers,
		nd = dec->nlayers;
	int k = enc->layers[ne - 1].out;
	size_t j,
		nk = (size_t) B * k;
	const float *mu;
	float *dmu;
	double rec,
		klsum = 0.0;
	int r,
		u;

	if (B <= 0)
	{
		if (first)
		{
			lv_dpsgd_zero_mlp(genc);
			lv_dpsgd_zero_mlp(gdec);
		}
		if (recon)
			*recon = 0.0;
		if (kl)
			*kl = 0.0;
		return 0.0;
	}
	if (ustart == NULL)
		nu = B;

	/* forward: z = mu(x) + xi, logits = dec(z) */
	lv_mlp_forward(enc, X, B, &w->enc_cache);
	mu = w->enc_cache.act[ne - 1];
	for (j = 0; j < nk; j++)
	{
		w->z[j] = mu[j] + xi[j];
		klsum += (double) mu[j] * mu[j];
	}
	klsum *= 0.5;
	lv_mlp_forward(dec, w->z, B, &w->dec_cache);

	/* output gradients of every layer for each row's own loss (scale 1) */
	rec = lv_heads_loss(s, w->dec_cache.act[nd - 1], T, B, 1.0f,
						w->edec[nd - 1]);
	dmu = w->eenc[ne - 1];
	lv_dpsgd_backprop(dec, &w->dec_cache, B, w->edec, dmu);
	for (j = 0; j < nk; j++)
		dmu[j] += mu[j]; /* KL: d(0.5 ||mu||^2) / d mu */
	lv_dpsgd_backprop(enc, &w->enc_cache, B, w->eenc, NULL);

	/* per-unit norms and clipping factors */
	for (u = 0; u < nu; u++)
	{
		w->sq[u] = 0.0;
		w->sqabs[u] = 0.0;
	}
	lv_dpsgd_add_sqnorms(enc, X, &w->enc_cache, w->eenc, B, ustart, nu,
						 w->sq, w->sqabs);
	lv_dpsgd_add_sqnorms(dec, w->z, &w->dec_cache, w->edec, B, ustart, nu,
						 w->sq, w->sqabs);
	for (u = 0; u < nu; u++)
	{
		/* the cross terms may round a (near) zero sum below 0 */
		double nr = w->sq[u] > 0.0 ? sqrt(w->sq[u]) : 0.0;
		double rows = ustart ? ustart[u + 1] - ustart[u] : 1;
		/* clipped so that the float result's exact norm is <= clip */
		float cu = lv_dpsgd_clip_scale(
			lv_dpsgd_norm_upper(w->sq[u], w->sqabs[u], lv_dpsgd_widest(enc, dec),
								rows * rows * (ne + nd) + 2),
			clip);

		if (norms)
			norms[u] = nr;
		if (ustart == NULL)
			w->c[u] = cu;
		else
			for (r = ustart[u]; r < ustart[u + 1]; r++)
				w->c[r] = cu;
	}

	/* clipped sums: one weight-gradient GEMM per layer */
	lv_dpsgd_weighted_grad(enc, X, &w->enc_cache, w->eenc, w->c, B, genc,
						   first);
	lv_dpsgd_weighted_grad(dec, w->z, &w->dec_cache, w->edec, w->c, B, gdec,
						   first);
	if (recon)
		*recon = rec;
	if (kl)
		*kl = klsum;
	return rec + klsum;
}

/* ---------- the derived clip (LV_CLIP_DERIVED) ---------- */

/* lv_dpsgd_spectral_scratch returns the scratch doubles for r = min side. */
size_t
lv_dpsgd_spectral_scratch(int r)
{
	return (size_t) r * (2 * (size_t) r + LV_DPSGD_GRAM_BLOCK);
}

/*
 * lv_dpsgd_spectral_bound returns an upper bound on ||L->W||_2: the
 * Schatten-8 norm from the Gram matrix in double, or the Frobenius norm
 * (see lv_dpsgd.h).
 */
double
lv_dpsgd_spectral_bound(const lv_layer *L, double *scratch,
						size_t scratch_len)
{
	int out = L->out,
		in = L->in;
	int r = out < in ? out : in;
	size_t i,
		nw = (size_t) out * in;
	double f2 = 0.0,
		   f,
		   inv,
		   fro,
		   t8 = 0.0,
		   s8;
	double *G,
		*G2,
		*blk;
	int a,
		b,
		j0,
		nb;

	for (i = 0; i < nw; i++)
		f2 += (double) L->W[i] * L->W[i];
	if (!isfinite(f2))
		return -1.0;
	if (f2 == 0.0)
		return 0.0;
	f = sqrt(f2);
	fro = f * (1.0 + 1e-9); /* the sum's rounding: far below 1e-9 */
	if (r > LV_DPSGD_GRAM_MAX || scratch == NULL ||
		scratch_len < lv_dpsgd_spectral_scratch(r))
		return fro;

	/* G = V V^T (out <= in) or V^T V, V = W / ||W||_F, in column blocks */
	inv = 1.0 / f;
	G = scratch;
	G2 = G + (size_t) r * r;
	blk = G2 + (size_t) r * r;
	if (out <= in)
		for (j0 = 0; j0 < in; j0 += LV_DPSGD_GRAM_BLOCK)
		{
			nb = in - j0 < LV_DPSGD_GRAM_BLOCK ? in - j0 : LV_DPSGD_GRAM_BLOCK;
			for (a = 0; a < out; a++)
				for (b = 0; b < nb; b++)
					blk[(size_t) a * nb + b] =
						(double) L->W[(size_t) a * in + j0 + b] * inv;
			cblas_dsyrk(CblasRowMajor, CblasUpper, CblasNoTrans, out, nb, 1.0,
						blk, nb, j0 > 0 ? 1.0 : 0.0, G, out);
		}
	else
		for (j0 = 0; j0 < out; j0 += LV_DPSGD_GRAM_BLOCK)
		{
			nb = out - j0 < LV_DPSGD_GRAM_BLOCK ? out - j0 : LV_DPSGD_GRAM_BLOCK;
			for (a = 0; a < nb; a++)
				for (b = 0; b < in; b++)
					blk[(size_t) a * in + b] =
						(double) L->W[(size_t) (j0 + a) * in + b] * inv;
			cblas_dsyrk(CblasRowMajor, CblasUpper, CblasTrans, in, nb, 1.0,
						blk, in, j0 > 0 ? 1.0 : 0.0, G, in);
		}
	for (a = 0; a < r; a++)
		for (b = 0; b < a; b++)
			G[(size_t) a * r + b] = G[(size_t) b * r + a];

	/* G2 = G G^T = G^2 (upper); ||G^2||_F^2 = sum_i (sigma_i / f)^8 */
	cblas_dsyrk(CblasRowMajor, CblasUpper, CblasNoTrans, r, r, 1.0, G, r, 0.0,
				G2, r);
	for (a = 0; a < r; a++)
	{
		t8 += G2[(size_t) a * r + a] * G2[(size_t) a * r + a];
		for (b = a + 1; b < r; b++)
			t8 += 2.0 * G2[(size_t) a * r + b] * G2[(size_t) a * r + b];
	}
	s8 = f * pow(t8, 0.125) * (1.0 + 1e-6);
	if (!(s8 > 0.0) || !isfinite(s8))
		return fro;
	return s8 < fro ? s8 : fro;
}

/*
 * lv_dpsgd_mlp_bounds writes an upper bound on the spectral norm (sw) and
 * the bias norm (bn) of every layer of m; returns 0, or -1 on a non-finite
 * weight or too many layers.
 */
static int
lv_dpsgd_mlp_bounds(const lv_mlp *m, lv_dpsgd_work *w, double *sw, double *bn)
{
	int l,
		i;

	if (m->nlayers < 1 || m->nlayers > LV_DPSGD_BOUND_LAYERS)
		return -1;
	for (l = 0; l < m->nlayers; l++)
	{
		const lv_layer *L = &m->layers[l];
		double b2 = 0.0;

		sw[l] = lv_dpsgd_spectral_bound(L, w->gram, w->gram_len);
		for (i = 0; i < L->out; i++)
			b2 += (double) L->b[i] * L->b[i];
		if (sw[l] < 0.0 || !isfinite(b2))
			return -1;
		bn[l] = sqrt(b2) * (1.0 + 1e-9);
	}
	return 0;
}

/*
 * lv_dpsgd_head_bound2 returns the square of the bound H on the norm of
 * one row's gradient with respect to the logits: 2 per softmax head, 1
 * per Bernoulli NULL head.
 */
static double
lv_dpsgd_head_bound2(const lv_schema *s)
{
	double h2 = 0.0;
	int c;

	for (c = 0; c < s->ncols; c++)
	{
		const lv_column *col = &s->cols[c];

		h2 += 2.0;
		if (col->kind == LV_COL_NUMERIC && col->nullable)
			h2 += 1.0;
	}
	return h2;
}

/*
 * lv_dpsgd_grad_bound returns B_t = unit_rows B_ex from the current
 * weights (derivation in lv_dpsgd.h); negative on failure.
 */
double
lv_dpsgd_grad_bound(const lv_schema *s, const lv_mlp *enc, const lv_mlp *dec,
					int32_t unit_rows, lv_dpsgd_work *w)
{
	double swe[LV_DPSGD_BOUND_LAYERS],
		bne[LV_DPSGD_BOUND_LAYERS],
		swd[LV_DPSGD_BOUND_LAYERS],
		bnd[LV_DPSGD_BOUND_LAYERS];
	double ae[LV_DPSGD_BOUND_LAYERS + 1],
		ad[LV_DPSGD_BOUND_LAYERS + 1],
		ee[LV_DPSGD_BOUND_LAYERS],
		ed[LV_DPSGD_BOUND_LAYERS];
	int ne = enc->nlayers,
		nd = dec->nlayers;
	int d = enc->layers[0].in,
		k = enc->layers[ne - 1].out;
	double diam = lv_schema_diameter(s);
	double mu,
		sq = 0.0,
		bound;
	int l;

	if (unit_rows < 1 || lv_dpsgd_mlp_bounds(enc, w, swe, bne) != 0 ||
		lv_dpsgd_mlp_bounds(dec, w, swd, bnd) != 0)
		return -1.0;

	/* forward: bounds on the norms of every layer's input */
	ae[0] = sqrt((double) d) < diam ? sqrt((double) d) : diam;
	for (l = 0; l < ne; l++)
		ae[l + 1] = swe[l] * ae[l] + bne[l];
	mu = ae[ne];
	ad[0] = mu + LV_DPSGD_XI_BOUND * sqrt((double) k);
	for (l = 0; l < nd; l++)
		ad[l + 1] = swd[l] * ad[l] + bnd[l];

	/* backward: bounds on the norms of every layer's output gradient */
	ed[nd - 1] = sqrt(lv_dpsgd_head_bound2(s));
	for (l = nd - 1; l > 0; l--)
		ed[l - 1] = swd[l] * ed[l];
	ee[ne - 1] = swd[0] * ed[0] + mu; /* dL/dz plus the KL's mu */
	for (l = ne - 1; l > 0; l--)
		ee[l - 1] = swe[l] * ee[l];

	for (l = 0; l < ne; l++)
		sq += (ae[l] * ae[l] + 1.0) * ee[l] * ee[l];
	for (l = 0; l < nd; l++)
		sq += (ad[l] * ad[l] + 1.0) * ed[l] * ed[l];
	bound = sqrt(sq) * (1.0 + LV_DPSGD_BOUND_MARGIN) * (double) unit_rows;
	return (bound > 0.0 && isfinite(bound)) ? bound : -1.0;
}

/*
 * lv_dpsgd_step_clip returns the clip of a step: cfg->clip, or in
 * LV_CLIP_DERIVED mode min(cfg->clip, B_t); negative on failure.
 */
double
lv_dpsgd_step_clip(const lv_schema *s, const lv_mlp *enc, const lv_mlp *dec,
				   const lv_dpsgd_config *cfg, lv_dpsgd_work *w, double *bound)
{
	double b;
	int32_t m = 1;

	if (bound)
		*bound = 0.0;
	if (cfg->clip_mode != LV_CLIP_DERIVED)
		return cfg->clip;
	if (cfg->unit_start != NULL)
		m = cfg->max_unit_rows;
	b = lv_dpsgd_grad_bound(s, enc, dec, m, w);
	if (b < 0.0)
		return -1.0;
	if (bound)
		*bound = b;
	return b < cfg->clip ? b : cfg->clip;
}

/* ---------- the privatised gradient of a step ---------- */

static int64_t lv_dpsgd_noisy_grad_step(const lv_schema *s, const lv_mlp *enc,
										const lv_mlp *dec, const float *X,
										const int32_t *T, int64_t n,
										const lv_dpsgd_config *cfg, int64_t t,
										lv_dpsgd_work *w, lv_mlp *genc,
										lv_mlp *gdec, double *loss,
										double *clip_used, double *bound);

/*
 * lv_dpsgd_noisy_grad computes the privatised gradient of step t (see
 * lv_dpsgd.h); returns the realised batch size in rows, -1 when a sampled
 * unit does not fit in the workspace, -2 when the clip fails.
 */
int64_t
lv_dpsgd_noisy_grad(const lv_schema *s, const lv_mlp *enc, const lv_mlp *dec,
					const float *X, const int32_t *T, int64_t n,
					const lv_dpsgd_config *cfg, int64_t t, lv_dpsgd_work *w,
					lv_mlp *genc, lv_mlp *gdec, double *loss)
{
	return lv_dpsgd_noisy_grad_step(s, enc, dec, X, T, n, cfg, t, w, genc,
									gdec, loss, NULL, NULL);
}

/*
 * lv_dpsgd_noisy_grad_step is lv_dpsgd_noisy_grad that also returns the
 * clip C_t it used (noise sd sigma C_t) and B_t (0 in LV_CLIP_NORM mode).
 */
static int64_t
lv_dpsgd_noisy_grad_step(const lv_schema *s, const lv_mlp *enc,
						 const lv_mlp *dec, const float *X, const int32_t *T,
						 int64_t n, const lv_dpsgd_config *cfg, int64_t t,
						 lv_dpsgd_work *w, lv_mlp *genc, lv_mlp *gdec,
						 double *loss, double *clip_used, double *bound)
{
	int d = enc->layers[0].in;
	int k = enc->layers[enc->nlayers - 1].out;
	int ncols = s->ncols;
	const int64_t *us = cfg->unit_start;
	int64_t nunits = us ? cfg->nunits : n;
	lv_dpsgd_sampler smp;
	lv_stream rxi,
		rnoise;
	int64_t u,
		i,
		total = 0;
	int B = 0,
		nu = 0,
		first = 1;
	double sum[3] = {0.0, 0.0, 0.0};
	double clip = lv_dpsgd_step_clip(s, enc, dec, cfg, w, bound);
	double std = cfg->noise_multiplier * clip;
	double scale = cfg->normalizer > 0.0
					   ? 1.0 / cfg->normalizer
					   : 1.0 / (cfg->sample_rate * (double) n);

	if (clip_used)
		*clip_used = clip;
	if (!(clip > 0.0))
		return -2;
	lv_dpsgd_sampler_init(&smp, cfg->train_key, t, nunits, cfg->sample_rate);
	lv_stream_init(&rxi, cfg->train_key, LV_DOMAIN_TRAIN,
				   LV_DPSGD_STREAM(LV_DPSGD_XI, t));
	w->ustart[0] = 0;
	for (;;)
	{
		int64_t lo = 0,
				hi = 0;

		u = lv_dpsgd_sampler_next(&smp);
		if (u >= 0)
		{
			lo = us ? us[u] : u;
			hi = us ? us[u + 1] : u + 1;
			if (hi - lo > w->maxB)
				return -1;
		}
		/* a chunk is full, or the unit would not fit: clip and add it */
		if ((u >= 0 && B + (hi - lo) > w->maxB) ||
			(u < 0 && (B > 0 || first)))
		{
			double rec,
				kl;

			sum[0] += lv_dpsgd_clip_accumulate_units(
				s, enc, dec, w->Xb, w->Tb, w->xi, B, us ? w->ustart : NULL,
				nu, clip, w, genc, gdec, first, NULL, &rec, &kl);
			sum[1] += rec;
			sum[2] += kl;
			first = 0;
			B = 0;
			nu = 0;
		}
		if (u < 0)
			break;
		for (i = lo; i < hi; i++)
		{
			memcpy(w->Xb + (size_t) B * d, X + (size_t) i * d,
				   sizeof(float) * d);
			memcpy(w->Tb + (size_t) B * ncols, T + (size_t) i * ncols,
				   sizeof(int32_t) * ncols);
			lv_dpsgd_draw_xi(&rxi, w->xi + (size_t) B * k, (size_t) k);
			B++;
			total++;
		}
		w->ustart[++nu] = B;
	}

	lv_stream_init(&rnoise, cfg->train_key, LV_DOMAIN_TRAIN,
				   LV_DPSGD_STREAM(LV_DPSGD_NOISE, t));
	lv_dpsgd_noise_mlp(genc, &rnoise, std, scale);
	lv_dpsgd_noise_mlp(gdec, &rnoise, std, scale);
	if (loss)
		memcpy(loss, sum, sizeof(sum));
	return total;
}

/* ---------- training ---------- */

/* lv_dpsgd_ema_update sets acc = decay acc + (1 - decay) w, layer by layer. */
static void
lv_dpsgd_ema_update(lv_mlp *acc, const lv_mlp *w, float decay)
{
	float c = 1.0f - decay;
	int l;

	for (l = 0; l < w->nlayers; l++)
	{
		const lv_layer *L = &w->layers[l];
		lv_layer *A = &acc->layers[l];
		size_t i,
			nw = (size_t) L->out * L->in;

		for (i = 0; i < nw; i++)
			A->W[i] = decay * A->W[i] + c * L->W[i];
		for (i = 0; i < (size_t) L->out; i++)
			A->b[i] = decay * A->b[i] + c * L->b[i];
	}
}

/* lv_dpsgd_ema_store sets w = acc * f (the bias-corrected average). */
static void
lv_dpsgd_ema_store(lv_mlp *w, const lv_mlp *acc, double f)
{
	int l;

	for (l = 0; l < w->nlayers; l++)
	{
		lv_layer *L = &w->layers[l];
		const lv_layer *A = &acc->layers[l];
		size_t i,
			nw = (size_t) L->out * L->in;

		for (i = 0; i < nw; i++)
			L->W[i] = (float) (A->W[i] * f);
		for (i = 0; i < (size_t) L->out; i++)
			L->b[i] = (float) (A->b[i] * f);
	}
}

/* lv_model_train_dpsgd fits m by DP-SGD (see lv_dpsgd.h). */
int
lv_model_train_dpsgd(lv_model *m, const float *X, const int32_t *T,
					 int64_t n, const lv_dpsgd_config *cfg,
					 lv_train_result *res)
{
	return lv_model_train_dpsgd_report(m, X, T, n, cfg, res, NULL);
}

/*
 * lv_model_train_dpsgd_report fits m by DP-SGD and reports the clips used
 * (see lv_dpsgd.h). On failure the networks are released and every
 * allocation freed; the floating-point environment is always restored.
 */
int
lv_model_train_dpsgd_report(lv_model *m, const float *X, const int32_t *T,
							int64_t n, const lv_dpsgd_config *cfg,
							lv_train_result *res, lv_dpsgd_report *rep)
{
	lv_dpsgd_report rp;
	lv_dpsgd_state st;
	lv_stream rinit;
	int enc_w[4],
		dec_w[4];
	int rc,
		maxB,
		l;
	int64_t steps,
		t,
		window,
		win_rows = 0;
	double win[3] = {0.0, 0.0, 0.0};
	double cert;
	unsigned int saved_fp;

	memset(&rp, 0, sizeof(rp));
	if (rep)
		*rep = rp;
	if ((rc = lv_dpsgd_check_args(m, X, T, n, cfg)) != LV_OK)
		return rc;
	steps = lv_dpsgd_steps(cfg->epochs, cfg->sample_rate);
	window = (int64_t) ceil(1.0 / cfg->sample_rate);
	if (window > steps)
		window = steps;

	m->enc.nlayers = 0;
	m->enc.layers = NULL;
	m->dec.nlayers = 0;
	m->dec.layers = NULL;
	m->center = NULL;
	m->means = NULL;
	m->nrows = 0;
	m->prior_points = 0; /* DP-SGD fits the decoder to the Gaussian prior */
	m->latent = cfg->latent;
	m->hidden = cfg->hidden;
	m->noise_sd = 1.0;
	m->lipschitz_target = cfg->encoder_layer_bound > 0.0
							  ? pow(cfg->encoder_layer_bound, 3.0)
							  : 0.0;
	m->lipschitz_certified = 0.0;

	enc_w[0] = lv_schema_input_dim(&m->schema);
	enc_w[1] = cfg->hidden;
	enc_w[2] = cfg->hidden;
	enc_w[3] = cfg->latent;
	dec_w[0] = cfg->latent;
	dec_w[1] = cfg->hidden;
	dec_w[2] = cfg->hidden;
	dec_w[3] = lv_schema_output_dim(&m->schema);
	memset(&st, 0, sizeof(st));
	if ((rc = lv_mlp_alloc(&m->enc, 3, enc_w)) != LV_OK ||
		(rc = lv_mlp_alloc(&m->dec, 3, dec_w)) != LV_OK)
	{
		lv_dpsgd_discard(m);
		return rc;
	}
	maxB = lv_dpsgd_chunk_rows(&m->enc, &m->dec, n, cfg->sample_rate,
							   lv_dpsgd_max_unit(cfg));
	if ((rc = lv_dpsgd_state_alloc(&st, m, maxB)) != LV_OK)
	{
		lv_dpsgd_state_free(&st);
		lv_dpsgd_discard(m);
		return rc;
	}

	/* initialisation: weights, power-iteration vectors (as lv_train.c) */
	lv_stream_init(&rinit, cfg->train_key, LV_DOMAIN_TRAIN,
				   LV_DPSGD_STREAM(LV_DPSGD_INIT, 0));
	lv_mlp_init_xavier(&m->enc, &rinit);
	lv_mlp_init_xavier(&m->dec, &rinit);
	{
		int off = 0;

		for (l = 0; l < 6; l++)
		{
			const lv_layer *L = l < 3 ? &m->enc.layers[l] : &m->dec.layers[l - 3];
			double ss = 0.0;
			int i;

			for (i = 0; i < L->in; i++)
			{
				st.pv[off + i] = (float) lv_stream_gaussian(&rinit);
				ss += (double) st.pv[off + i] * st.pv[off + i];
			}
			ss = ss > 0.0 ? 1.0 / sqrt(ss) : 0.0;
			for (i = 0; i < L->in; i++)
				st.pv[off + i] *= (float) ss;
			off += L->in;
		}
	}

	saved_fp = lv_fp_enter();
	lv_dpsgd_project(m, cfg, &st, LV_DPSGD_POWER_ITERS_INIT);
	for (t = 0; t < steps; t++)
	{
		double loss[3],
			clip_t,
			bound_t;
		int64_t B;

		B = lv_dpsgd_noisy_grad_step(&m->schema, &m->enc, &m->dec, X, T, n,
									 cfg, t, st.work, &st.genc, &st.gdec, loss,
									 &clip_t, &bound_t);
		if (B < 0)
		{
			/* -1 is not reached: maxB holds the largest unit */
			rc = B == -2 ? LV_ERR_NUMERIC : LV_ERR_ARG;
			break;
		}
		rp.clip_mean += clip_t;
		rp.clip_min = t == 0 || clip_t < rp.clip_min ? clip_t : rp.clip_min;
		rp.clip_max = clip_t > rp.clip_max ? clip_t : rp.clip_max;
		rp.clip_last = clip_t;
		if (cfg->clip_mode == LV_CLIP_DERIVED && bound_t < cfg->clip)
			rp.bound_steps++;
		rp.steps++;
		if (!isfinite(loss[0]))
		{
			rc = LV_ERR_NUMERIC;
			break;
		}
		if (t >= steps - window)
		{
			win[0] += loss[0];
			win[1] += loss[1];
			win[2] += loss[2];
			win_rows += B;
		}
		lv_adam_step(&m->enc, &st.genc, &st.m1enc, &st.m2enc, cfg->lr, 0.9,
					 0.999, 1e-8, t + 1);
		lv_adam_step(&m->dec, &st.gdec, &st.m1dec, &st.m2dec, cfg->lr, 0.9,
					 0.999, 1e-8, t + 1);
		lv_dpsgd_project(m, cfg, &st, LV_DPSGD_POWER_ITERS_STEP);
		if (cfg->ema > 0.0)
		{
			lv_dpsgd_ema_update(&st.aenc, &m->enc, (float) cfg->ema);
			lv_dpsgd_ema_update(&st.adec, &m->dec, (float) cfg->ema);
		}
		if (lv_poll_callback(cfg->interrupted, cfg->interrupted_arg, saved_fp))
		{
			rc = LV_ERR_INTERRUPTED;
			break;
		}
	}
	if (rc == LV_OK && cfg->ema > 0.0)
	{
		/* bias correction: the weights of the average sum to 1 */
		double f = 1.0 / -expm1((double) steps * log((double) (float) cfg->ema));

		lv_dpsgd_ema_store(&m->enc, &st.aenc, f);
		lv_dpsgd_ema_store(&m->dec, &st.adec, f);
	}
	lv_fp_leave(saved_fp);
	lv_dpsgd_state_free(&st);
	if (rc != LV_OK)
	{
		lv_dpsgd_discard(m);
		return rc;
	}

	lv_mlp_flush_tiny(&m->enc);
	lv_mlp_flush_tiny(&m->dec);
	cert = lv_model_certify(m);
	if (cert < 0.0)
	{
		lv_dpsgd_discard(m);
		return LV_ERR_LAPACK;
	}
	m->lipschitz_certified = cert;

	if (res)
	{
		res->epochs_run = cfg->epochs;
		res->final_loss = win_rows > 0 ? win[0] / (double) win_rows : 0.0;
		res->final_recon = win_rows > 0 ? win[1] / (double) win_rows : 0.0;
		res->final_kl = win_rows > 0 ? win[2] / (double) win_rows : 0.0;
	}
	if (rep)
	{
		rp.clip_mean /= (double) rp.steps;
		*rep = rp;
	}
	return LV_OK;
}

/* ---------- helpers ---------- */

/* lv_dpsgd_check_args validates the arguments of lv_model_train_dpsgd. */
static int
lv_dpsgd_check_args(const lv_model *m, const float *X, const int32_t *T,
					int64_t n, const lv_dpsgd_config *cfg)
{
	int d,
		ncols,
		c;
	int64_t i;

	if (m == NULL || X == NULL || T == NULL || cfg == NULL)
		return LV_ERR_ARG;
	if (lv_schema_check(&m->schema) != LV_OK)
		return LV_ERR_ARG;
	if (n < 1 || n > LV_DPSGD_MAX_ROWS)
		return LV_ERR_ARG;
	if (cfg->epochs < 1 ||
		!(cfg->sample_rate > 0.0 && cfg->sample_rate <= 1.0) ||
		!(cfg->clip > 0.0) ||
		(cfg->clip_mode != LV_CLIP_NORM && cfg->clip_mode != LV_CLIP_DERIVED) ||
		(cfg->clip_mode == LV_CLIP_NORM && !isfinite(cfg->clip)) ||
		cfg->max_unit_rows < 0 ||
		cfg->max_unit_rows > LV_DPSGD_MAX_UNIT_ROWS ||
		!isfinite(cfg->noise_multiplier) || !(cfg->noise_multiplier >= 0.0) ||
		cfg->latent < 1 || cfg->latent > 256 ||
		cfg->hidden < 1 || cfg->hidden > 4096 ||
		!isfinite(cfg->lr) || !(cfg->lr > 0.0) ||
		!(cfg->ema >= 0.0 && cfg->ema < 1.0) ||
		!isfinite(cfg->encoder_layer_bound) ||
		!isfinite(cfg->decoder_layer_bound) ||
		!isfinite(cfg->normalizer) || !(cfg->normalizer >= 0.0))
		return LV_ERR_ARG;
	if (cfg->unit_start != NULL)
	{
		const int64_t *us = cfg->unit_start;

		if (cfg->nunits < 1 || cfg->nunits > n || us[0] != 0 ||
			us[cfg->nunits] != n)
			return LV_ERR_ARG;
		if (cfg->clip_mode == LV_CLIP_DERIVED && cfg->max_unit_rows < 1)
			return LV_ERR_ARG;
		for (i = 0; i < cfg->nunits; i++)
			if (!(us[i + 1] > us[i]) ||
				us[i + 1] - us[i] > LV_DPSGD_MAX_UNIT_ROWS ||
				(cfg->max_unit_rows > 0 &&
				 us[i + 1] - us[i] > cfg->max_unit_rows))
				return LV_ERR_ARG;
	}
	if (lv_dpsgd_steps(cfg->epochs, cfg->sample_rate) < 1)
		return LV_ERR_ARG;
	d = lv_schema_input_dim(&m->schema);
	ncols = m->schema.ncols;
	for (i = 0; i < n * d; i++)
		if (!isfinite(X[i]))
			return LV_ERR_ARG;
	for (i = 0; i < n; i++)
	{
		for (c = 0; c < ncols; c++)
		{
			const lv_column *col = &m->schema.cols[c];
			int32_t t = T[i * ncols + c];

			if (col->kind == LV_COL_NUMERIC)
			{
				if (t < -1 || t >= col->nbins)
					return LV_ERR_ARG;
			}
			else if (t < 0 || t >= lv_column_slots(col))
				return LV_ERR_ARG;
		}
	}
	return LV_OK;
}

/*
 * lv_dpsgd_max_unit returns the number of rows of the largest unit (1 in
 * the row-level mode). Used only to size the chunks.
 */
static int64_t
lv_dpsgd_max_unit(const lv_dpsgd_config *cfg)
{
	int64_t u,
		mx = 1;

	if (cfg->unit_start == NULL)
		return 1;
	for (u = 0; u < cfg->nunits; u++)
		if (cfg->unit_start[u + 1] - cfg->unit_start[u] > mx)
			mx = cfg->unit_start[u + 1] - cfg->unit_start[u];
	return mx;
}

/*
 * lv_dpsgd_chunk_rows returns the rows per chunk: the expected batch q n
 * plus four standard deviations (at most sqrt(q (1-q) n umax) with units
 * of at most umax rows; a larger batch takes several chunks) plus umax, at
 * most n, at most LV_DPSGD_CHUNK_MAX and within LV_DPSGD_CHUNK_FLOATS of
 * workspace, but never below umax (a chunk holds every unit whole).
 */
static int
lv_dpsgd_chunk_rows(const lv_mlp *enc, const lv_mlp *dec, int64_t n,
					double q, int64_t umax)
{
	double e = q * (double) n;
	double b = ceil(e + 4.0 * sqrt(e * (1.0 - q) * (double) umax) +
					(double) umax);
	double per_row = 2.0 * (enc->layers[0].in + enc->layers[2].out);
	double cap;
	int l;

	for (l = 0; l < 3; l++)
		per_row += 4.0 * (enc->layers[l].out + dec->layers[l].out);
	cap = floor(LV_DPSGD_CHUNK_FLOATS / per_row);
	if (cap > LV_DPSGD_CHUNK_MAX)
		cap = LV_DPSGD_CHUNK_MAX;
	if (cap < 64)
		cap = 64;
	if (b > cap)
		b = cap;
	if (b > (double) n)
		b = (double) n;
	if (b < (double) umax)
		b = (double) umax;
	if (b < 1.0)
		b = 1.0;
	return (int) b;
}

/* lv_dpsgd_state_alloc allocates gradients, moments, EMA and workspace. */
static int
lv_dpsgd_state_alloc(lv_dpsgd_state *st, const lv_model *m, int maxB)
{
	size_t nv = 0,
		   nu = 0;
	int l,
		rc;

	if ((rc = lv_mlp_alloc_like(&st->genc, &m->enc)) != LV_OK ||
		(rc = lv_mlp_alloc_like(&st->gdec, &m->dec)) != LV_OK ||
		(rc = lv_mlp_alloc_like(&st->m1enc, &m->enc)) != LV_OK ||
		(rc = lv_mlp_alloc_like(&st->m2enc, &m->enc)) != LV_OK ||
		(rc = lv_mlp_alloc_like(&st->m1dec, &m->dec)) != LV_OK ||
		(rc = lv_mlp_alloc_like(&st->m2dec, &m->dec)) != LV_OK ||
		(rc = lv_mlp_alloc_like(&st->aenc, &m->enc)) != LV_OK ||
		(rc = lv_mlp_alloc_like(&st->adec, &m->dec)) != LV_OK)
		return rc;
	st->work = lv_dpsgd_work_new(&m->schema, &m->enc, &m->dec, maxB);
	if (st->work == NULL)
		return LV_ERR_NOMEM;
	for (l = 0; l < 3; l++)
	{
		nv += (size_t) m->enc.layers[l].in + m->dec.layers[l].in;
		if ((size_t) m->enc.layers[l].out > nu)
			nu = (size_t) m->enc.layers[l].out;
		if ((size_t) m->dec.layers[l].out > nu)
			nu = (size_t) m->dec.layers[l].out;
	}
	st->pv = lv_calloc(nv, sizeof(float));
	st->pu = lv_calloc(nu, sizeof(float));
	if (st->pv == NULL || st->pu == NULL)
		return LV_ERR_NOMEM;
	return LV_OK;
}

/* lv_dpsgd_state_free releases what lv_dpsgd_state_alloc allocated. */
static void
lv_dpsgd_state_free(lv_dpsgd_state *st)
{
	lv_mlp_free(&st->genc);
	lv_mlp_free(&st->gdec);
	lv_mlp_free(&st->m1enc);
	lv_mlp_free(&st->m2enc);
	lv_mlp_free(&st->m1dec);
	lv_mlp_free(&st->m2dec);
	lv_mlp_free(&st->aenc);
	lv_mlp_free(&st->adec);
	lv_dpsgd_work_free(st->work);
	lv_free(st->pv);
	lv_free(st->pu);
	memset(st, 0, sizeof(*st));
}

/*
 * lv_dpsgd_project projects every encoder layer to spectral norm <=
 * encoder_layer_bound and every decoder layer to <= decoder_layer_bound
 * (power iteration, lv_spectral_project) when the bound is positive.
 */
static void
lv_dpsgd_project(lv_model *m, const lv_dpsgd_config *cfg, lv_dpsgd_state *st,
				 int iters)
{
	size_t off = 0;
	int l;

	for (l = 0; l < m->enc.nlayers; l++)
	{
		if (cfg->encoder_layer_bound > 0.0)
			lv_spectral_project(&m->enc.layers[l], st->pv + off, st->pu, iters,
								cfg->encoder_layer_bound);
		off += m->enc.layers[l].in;
	}
	for (l = 0; l < m->dec.nlayers; l++)
	{
		if (cfg->decoder_layer_bound > 0.0)
			lv_spectral_project(&m->dec.layers[l], st->pv + off, st->pu, iters,
								cfg->decoder_layer_bound);
		off += m->dec.layers[l].in;
	}
}

/*
 * lv_dpsgd_discard releases the networks of m and leaves the trained
 * fields empty.
 */
static void
lv_dpsgd_discard(lv_model *m)
{
	lv_mlp_free(&m->enc);
	lv_mlp_free(&m->dec);
	m->center = NULL;
	m->means = NULL;
	m->nrows = 0;
	m->lipschitz_certified = 0.0;
}
